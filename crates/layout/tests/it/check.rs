//! `dotdir::check`, `dotdir::inspect` and `dotdir::backup` on throwaway layouts: the machinery is
//! driven by the declaration alone.

#![allow(clippy::unwrap_used, reason = "test helpers: a failing unwrap says where")]

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use dotdir::{
    Backup, Entry, Format, Layout, backup,
    check::{self, Options, ProblemKind},
    inspect::{self, Role},
};

const APP: Layout = Layout::new(
    "app",
    "a throwaway layout",
    &[
        Entry::file("notes/*.md", Format::Spec, "a note"),
        // Declared after a general entry on purpose: backup still never takes it.
        Entry::dir("vault", "a directory of secrets").secret(),
        Entry::file("data/*.json", Format::Json, "user data"),
        Entry::file("data/api-key.json", Format::Json, "an API key").secret(),
        Entry::file("log.jsonl", Format::Jsonl, "a log"),
        Entry::dir("cache", "a cache").backup(Backup::Recreatable).untracked(),
        Entry::file("state.json", Format::Json, "state").validate("bad-state", |bytes| {
            if bytes.starts_with(b"{") { Ok(()) } else { Err("not an object".to_owned()) }
        }),
    ],
);

fn write(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn kinds(root: &Path) -> Vec<(String, String)> {
    check::check(root, &APP, &Options::default())
        .unwrap()
        .problems
        .iter()
        .map(|p| (p.kind.as_str().to_owned(), p.path.clone()))
        .collect()
}

#[test]
fn backup_never_takes_a_secret_even_when_a_general_entry_matches_first() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data/a.json", b"{}");
    write(dir.path(), "data/api-key.json", b"\"k\"");
    write(dir.path(), "vault/x", b"s");
    write(dir.path(), "cache/blob", b"c");
    write(dir.path(), "stray", b"?");
    let selection = backup::select(dir.path(), &APP).unwrap();
    let files: Vec<&str> = selection.files.iter().map(|f| f.relative.as_str()).collect();
    // Deny by default: a path the layout does not know stays out, listed as undeclared.
    assert_eq!(files, ["data/a.json"]);
    let skipped: Vec<(&str, &str)> =
        selection.skipped.iter().map(|s| (s.relative.as_str(), s.reason.label())).collect();
    assert_eq!(
        skipped,
        [
            ("cache", "re-creatable"),
            ("data/api-key.json", "secret"),
            ("stray", "undeclared"),
            ("vault", "secret")
        ]
    );
}

#[test]
fn validators_unknown_entries_and_wrong_kinds() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state.json", b"[1]");
    write(dir.path(), "notes/a.md", b"---\nid: a\n---\nhello\n");
    write(dir.path(), "notes/b.md/x", b"a directory named like a note");
    write(dir.path(), "notes/c.txt", b"?");
    assert_eq!(
        kinds(dir.path()),
        [
            // Errors first (by path), then the notice.
            ("wrong-kind".to_owned(), "notes/b.md".to_owned()),
            ("bad-state".to_owned(), "state.json".to_owned()),
            ("unknown-entry".to_owned(), "notes/c.txt".to_owned()),
        ]
    );
    assert_eq!(ProblemKind::from_name("bad-state"), ProblemKind::Other("bad-state"));
}

#[test]
fn corrupt_jsonl_in_the_middle_is_set_aside_and_good_lines_kept_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "log.jsonl", b"{\"a\": 1}\n{oops\n{\"b\":   2}\n{\"c\"");
    assert_eq!(
        kinds(dir.path()),
        [
            ("corrupt-jsonl".to_owned(), "log.jsonl".to_owned()),
            ("torn-jsonl".to_owned(), "log.jsonl".to_owned())
        ]
    );
    let fixed = check::fix(dir.path(), &APP, &Options::default()).unwrap();
    assert_eq!(fixed.repairs.len(), 1, "one repair for both problems of the file");
    assert_eq!(fs::read(dir.path().join("log.jsonl")).unwrap(), b"{\"a\": 1}\n{\"b\":   2}\n");
    assert_eq!(fs::read(dir.path().join("log.jsonl.corrupt")).unwrap(), b"{oops\n{\"c\"\n");
    assert!(kinds(dir.path()).is_empty());
    // The set-aside bytes are user data: a backup keeps them.
    let selection = backup::select(dir.path(), &APP).unwrap();
    let files: Vec<&str> = selection.files.iter().map(|f| f.relative.as_str()).collect();
    assert_eq!(files, ["log.jsonl", "log.jsonl.corrupt"]);
}

#[test]
fn secret_directory_contents_are_tightened() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vault/key", b"s");
    fs::set_permissions(dir.path().join("vault/key"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(dir.path().join("vault"), fs::Permissions::from_mode(0o750)).unwrap();
    assert_eq!(
        kinds(dir.path()),
        [
            ("secret-mode".to_owned(), "vault".to_owned()),
            ("secret-mode".to_owned(), "vault/key".to_owned())
        ]
    );
    let _ = check::fix(dir.path(), &APP, &Options::default()).unwrap();
    let mode = |p: &str| fs::metadata(dir.path().join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode("vault"), mode("vault/key")), (0o700, 0o600));
}

#[test]
fn detection_needs_a_clear_winner() {
    const OTHER: Layout = Layout::new(
        "other",
        "another layout",
        &[Entry::dir("cache", "a cache"), Entry::file("other.json", Format::Json, "x")],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cache/x", b"");
    assert!(inspect::detect(dir.path(), &[&APP, &OTHER]).is_none(), "a tie");
    write(dir.path(), "notes/a.md", b"---\nid: a\n---\n");
    assert_eq!(inspect::detect(dir.path(), &[&APP, &OTHER]).map(|l| l.name), Some("app"));
    let tree = inspect::inspect(dir.path(), &APP).unwrap();
    assert_eq!(tree.nodes.iter().find(|n| n.relative == "notes").unwrap().role, Role::Container);
}

/// Runs the real `git` CLI in `dir`, reading no user or system configuration; returns stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Human")
        .env("GIT_AUTHOR_EMAIL", "human@test.invalid")
        .env("GIT_COMMITTER_NAME", "Human")
        .env("GIT_COMMITTER_EMAIL", "human@test.invalid")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_force_added_secret_is_untracked_by_fix_and_a_second_check_says_it_is_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "data/a.json", b"{}");
    write(root, "data/api-key.json", b"\"k-123\"");
    fs::set_permissions(root.join("data/api-key.json"), fs::Permissions::from_mode(0o600)).unwrap();
    write(root, ".gitignore", APP.journal_exclusions().gitignore_block().as_bytes());
    git(root, &["init", "-q"]);
    git(root, &["add", ".gitignore", "data/a.json"]);
    git(root, &["add", "-f", "data/api-key.json"]);
    git(root, &["commit", "-q", "-m", "a person force-adds the key"]);
    assert_eq!(kinds(root), [("tracked-secret".to_owned(), "data/api-key.json".to_owned())]);
    let report = check::check(root, &APP, &Options::default()).unwrap();
    assert!(report.problems[0].fixable);
    assert!(report.problems[0].kind.advice().contains("dotdir check --fix"));

    let fixed = check::fix(root, &APP, &Options::default()).unwrap();
    assert_eq!(fixed.failures, []);
    assert_eq!(fixed.repairs.len(), 1);
    assert_eq!(fixed.repairs[0].kind, ProblemKind::TrackedSecret);
    assert!(fixed.repairs[0].action.contains("rotate"), "{}", fixed.repairs[0].action);
    assert_eq!(git(root, &["ls-files"]), ".gitignore\ndata/a.json\n");
    assert_eq!(git(root, &["log", "-1", "--format=%s %an"]), "untrack data/api-key.json dotdir\n");
    assert_eq!(fs::read(root.join("data/api-key.json")).unwrap(), b"\"k-123\"", "the file stays");
    assert_eq!(git(root, &["status", "--porcelain"]), "", "nothing left staged or untracked");
    // What no repair undoes is said: the key is in the history, to rotate.
    assert_eq!(
        kinds(root),
        [("secret-in-history".to_owned(), "data/api-key.json".to_owned())],
        "a second check finds nothing else"
    );
    // Nothing left to do: a second fix repairs nothing.
    assert_eq!(check::fix(root, &APP, &Options::default()).unwrap().repairs, []);
}
