//! `audit_checkout`: the entries of a repository's HEAD tree that no checkout may hold, judged
//! from the object database before anything is written.

use std::path::Path;

use dotdir_git_journal::{Error, HostileKind, audit_checkout, refuse_hostile_checkout};
use std::process::Stdio;

/// Runs `git args…` in `dir` with `input` on stdin; its stdout, trimmed.
fn git_in(dir: &Path, args: &[&str], input: &[u8]) -> String {
    use std::io::Write;
    let mut child = dotdir_test_support::git_command(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "git {args:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Commits a tree of `(path, mode, content)` entries as HEAD of a new repository at `dir`,
/// with git's plumbing (`mktree` writes the `.git` entries libgit2 refuses to build, as a
/// hostile server's git would).
fn commit_tree(dir: &Path, entries: &[(&str, &str, &str)]) {
    fn build(dir: &Path, entries: &[(Vec<&str>, &str, &str)]) -> String {
        let mut names: Vec<&str> = entries.iter().map(|(path, _, _)| path[0]).collect();
        names.sort_unstable();
        names.dedup();
        let mut listing = String::new();
        for name in names {
            let here: Vec<_> = entries.iter().filter(|(path, _, _)| path[0] == name).collect();
            let line = if let [(path, mode, content)] = here[..]
                && path.len() == 1
            {
                let blob = git_in(dir, &["hash-object", "-w", "--stdin"], content.as_bytes());
                format!("{mode} blob {blob}\t{name}\n")
            } else {
                let below: Vec<_> = here
                    .iter()
                    .map(|(path, mode, content)| (path[1..].to_vec(), *mode, *content))
                    .collect();
                format!("040000 tree {}\t{name}\n", build(dir, &below))
            };
            listing.push_str(&line);
        }
        git_in(dir, &["mktree"], listing.as_bytes())
    }
    dotdir_test_support::git(dir, &["init", "-q"]);
    let split: Vec<_> = entries
        .iter()
        .map(|(path, mode, content)| (path.split('/').collect(), *mode, *content))
        .collect();
    let tree = build(dir, &split);
    let commit = git_in(dir, &["commit-tree", &tree, "-m", "hostile"], b"");
    dotdir_test_support::git(dir, &["update-ref", "HEAD", &commit]);
}

const FILE: &str = "100644";
const LINK: &str = "120000";

#[test]
fn links_that_leave_and_git_entries_are_found_and_links_inside_are_not() {
    let dir = tempfile::tempdir().unwrap();
    commit_tree(
        dir.path(),
        &[
            ("routines/x.md", FILE, "x"),
            ("state/a.json", FILE, "{}"),
            // Inside: to a file, up one level, to the top itself.
            ("a", LINK, "routines/x.md"),
            ("routines/up", LINK, "../state/a.json"),
            ("deep/link", LINK, ".."),
            // Out: absolute, climbing above the top, `..` after a link (`deep/link` is the top).
            ("abs", LINK, "/etc"),
            ("routines/esc", LINK, "../../x"),
            ("through", LINK, "deep/link/.."),
            // `.git` in any spelling, at any depth, of any kind.
            ("sub/.Git/config", FILE, "[core]"),
            ("state/.git", FILE, "gitdir: /elsewhere"),
            ("x/GIT~1", LINK, "y"),
        ],
    );
    let found = audit_checkout(dir.path()).unwrap();
    let mut links: Vec<&str> = found
        .iter()
        .filter(|h| matches!(h.kind, HostileKind::EscapingSymlink { .. }))
        .map(|h| h.path.as_str())
        .collect();
    links.sort_unstable();
    assert_eq!(links, ["abs", "routines/esc", "through"], "{found:?}");
    let mut gits: Vec<&str> =
        found.iter().filter(|h| h.kind == HostileKind::GitEntry).map(|h| h.path.as_str()).collect();
    gits.sort_unstable();
    assert_eq!(gits, ["state/.git", "sub/.Git", "x/GIT~1"], "{found:?}");
    let err = refuse_hostile_checkout(dir.path()).unwrap_err();
    assert!(matches!(&err, Error::HostileTree { entries } if entries.len() == 6), "{err}");
    assert!(err.to_string().contains("abs is a symlink that points out of the directory"), "{err}");
}

#[test]
fn a_clean_tree_and_an_unborn_head_hold_nothing_hostile() {
    let dir = tempfile::tempdir().unwrap();
    dotdir_test_support::git(dir.path(), &["init", "-q"]);
    assert_eq!(audit_checkout(dir.path()).unwrap(), []);
    commit_tree(dir.path(), &[("routines/x.md", FILE, "x"), ("a", LINK, "routines")]);
    assert_eq!(audit_checkout(dir.path()).unwrap(), []);
    refuse_hostile_checkout(dir.path()).unwrap();
}
