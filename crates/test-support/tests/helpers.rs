//! The `git` and mode helpers: hermetic, fixed identity, loud on failure.

#![allow(clippy::unwrap_used, reason = "tests unwrap")]

use std::fs;

use dotdir_test_support::{EMAIL, NAME, git, git_output, git_with_input, mode, set_mode};

#[test]
fn git_commits_as_the_fixed_identity_and_returns_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    fs::write(dir.join("a.txt"), "a\n").unwrap();
    git(dir, &["add", "a.txt"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    let log = git(dir, &["log", "-1", "--format=%an <%ae> %cn <%ce> %s"]);
    assert_eq!(log, format!("{NAME} <{EMAIL}> {NAME} <{EMAIL}> first\n"));
    let blob = git_with_input(dir, &["hash-object", "--stdin"], b"a\n");
    assert_eq!(blob.trim(), git(dir, &["rev-parse", "HEAD:a.txt"]).trim());
}

#[test]
fn a_failing_git_command_panics_and_git_output_reports_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert!(!git_output(dir, &["rev-parse", "--verify", "HEAD"]).status.success());
    let panic = std::panic::catch_unwind(|| git(dir, &["no-such-subcommand"])).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("no-such-subcommand"), "{message}");
}

#[test]
fn modes_read_and_set_the_permission_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = dir.join("f");
    fs::write(&file, "").unwrap();
    set_mode(&file, 0o640);
    assert_eq!(mode(&file), 0o640);
    set_mode(&file, 0o4755);
    assert_eq!(mode(&file), 0o4755, "the special bits are kept");
    std::os::unix::fs::symlink(&file, dir.join("link")).unwrap();
    assert_eq!(mode(&dir.join("link")), 0o777, "a symbolic link is not followed");
}
