//! `Journal::untrack` is `git rm --cached -r`: paths leave the index and the next tree, the files
//! stay on disk, excluded paths are accepted, and the journal's removal is durable and never
//! follows a symlink.

use std::{fs, os::unix::fs::symlink, path::Path};

use dotdir_git_journal::{Error, Journal};
use dotdir_test_support::{git, git_output};

use crate::common::{assert_fsck_clean, options};

fn tracked(root: &Path) -> Vec<String> {
    git(root, &["ls-files"]).lines().map(str::to_owned).collect()
}

#[test]
fn a_force_added_secret_is_untracked_and_kept_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let journal = Journal::open(root, options()).unwrap();
    fs::create_dir_all(root.join("state")).unwrap();
    fs::write(root.join("state/token.json"), "s3cr3t").unwrap();
    fs::write(root.join("state/credentials.json"), "client").unwrap();
    fs::write(root.join("notes.md"), "kept").unwrap();
    git(root, &["add", "-f", "state/token.json", "state/credentials.json", "notes.md"]);
    git(root, &["commit", "-q", "-m", "oops"]);
    assert_eq!(journal.audit().unwrap().len(), 2);
    // Staging an excluded path is refused; untracking it is not.
    assert!(matches!(journal.commit_path("state/token.json", "x"), Err(Error::Excluded { .. })));

    let commit = journal
        .untrack(&["state/token.json", "state/credentials.json"], "untrack secrets")
        .unwrap();
    assert!(commit.is_some());
    assert_eq!(journal.head().unwrap(), commit);
    assert_eq!(journal.audit().unwrap(), Vec::<std::path::PathBuf>::new());
    assert_eq!(tracked(root), [".gitignore", "notes.md"]);
    assert!(!git_output(root, &["cat-file", "-e", "HEAD:state/token.json"]).status.success());
    assert_eq!(git(root, &["show", "HEAD:notes.md"]), "kept");
    assert_eq!(fs::read_to_string(root.join("state/token.json")).unwrap(), "s3cr3t");
    assert_eq!(fs::read_to_string(root.join("state/credentials.json")).unwrap(), "client");
    assert_eq!(git(root, &["log", "-1", "--format=%s"]).trim(), "untrack secrets");
    // git agrees: nothing staged, and the ignored secrets do not show up as untracked.
    assert_eq!(git(root, &["status", "--porcelain"]), "");
    // Again: nothing is tracked any more, so no empty commit.
    assert_eq!(journal.untrack(&["state/token.json"], "again").unwrap(), None);
    assert_fsck_clean(root);
}

#[test]
fn a_directory_is_untracked_recursively_and_invalid_paths_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let journal = Journal::open(root, options()).unwrap();
    fs::create_dir_all(root.join("cache/deep")).unwrap();
    fs::write(root.join("cache/a"), "a").unwrap();
    fs::write(root.join("cache/deep/b"), "b").unwrap();
    let added = journal.commit_path("cache", "add cache").unwrap();
    assert!(added.is_some());
    assert!(journal.untrack(&["cache", "../outside"], "bad").is_err());
    assert!(journal.untrack(&[".git/config"], "bad").is_err());
    assert_eq!(journal.head().unwrap(), added, "an invalid path: nothing is committed");
    assert_eq!(tracked(root), [".gitignore", "cache/a", "cache/deep/b"]);

    assert!(journal.untrack(&["cache"], "untrack cache").unwrap().is_some());
    assert_eq!(tracked(root), [".gitignore"]);
    assert!(root.join("cache/deep/b").exists());
    assert_eq!(journal.untrack(&["never/was"], "nothing").unwrap(), None);
    assert_fsck_clean(root);
}

#[test]
fn remove_deletes_a_symlink_not_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = dir.path();
    let journal = Journal::open(root, options()).unwrap();
    let precious = outside.path().join("precious");
    fs::write(&precious, "keep me").unwrap();
    symlink(&precious, root.join("link.md")).unwrap();
    assert!(journal.commit_path("link.md", "add link").unwrap().is_some());
    assert!(journal.remove("link.md", "remove link").unwrap().is_some());
    assert!(fs::symlink_metadata(root.join("link.md")).is_err());
    assert_eq!(fs::read_to_string(&precious).unwrap(), "keep me");
    assert!(!git_output(root, &["cat-file", "-e", "HEAD:link.md"]).status.success());
}
