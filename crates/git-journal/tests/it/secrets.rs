//! The secret canary: with `state/token.json` holding a unique string, every journal operation
//! runs and every object in `.git` (and in the pushed remote) is scanned: zero hits.

use std::{fs, path::Path};

use dotdir_atomic_store::{Document, WriteOptions};
use dotdir_git_journal::{Error, Journal};
use dotdir_test_support::{git, git_output};

use crate::common::{assert_fsck_clean, options};

fn canary(tag: &str) -> String {
    format!("{tag}-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Occurrences of `needle` in every object of the repository at `git_dir`, decompressed, and in
/// every file under it read raw (index, reflogs, refs, config, our intent record).
fn hits(repo: &Path, needle: &str) -> usize {
    let out = git_output(repo, &["cat-file", "--batch-all-objects", "--batch"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let objects = count(&out.stdout, needle.as_bytes());
    let mut raw = 0;
    let git_dir = if repo.join(".git").exists() { repo.join(".git") } else { repo.to_path_buf() };
    let mut stack = vec![git_dir];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                raw += count(&fs::read(&path).unwrap(), needle.as_bytes());
            }
        }
    }
    objects + raw
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

fn excluded(result: Result<Option<dotdir_git_journal::CommitId>, Error>, what: &str) {
    match result {
        Err(Error::Excluded { path, .. }) => assert!(path.starts_with("state"), "{what}: {path:?}"),
        other => panic!("{what}: expected Error::Excluded, got {other:?}"),
    }
}

#[test]
fn the_token_never_reaches_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let secret = canary("TOKEN");
    // The secret exists before the repository does.
    let token = Document::<serde_json::Value>::new(root.join("state/token.json"))
        .options(WriteOptions::secret());
    let _ = token.write(&serde_json::json!({ "token": secret })).unwrap();
    fs::write(root.join("state/credentials.json"), format!("{{\"client_secret\": \"{secret}\"}}"))
        .unwrap();

    let journal = Journal::open(root, options()).unwrap();
    let write = WriteOptions::new();
    let first = journal.write("routines/a.md", b"a", &write, "add routine a").unwrap().unwrap();
    journal
        .write("state/session_history.jsonl", b"{}\n", &write, "session started: 12345678")
        .unwrap();

    // Explicit requests for the secret, every way of naming it.
    excluded(journal.commit_path("state/token.json", "leak"), "commit_path");
    excluded(journal.commit_path(journal.dir().join("state/token.json"), "leak"), "absolute path");
    excluded(journal.commit_path("./state//token.json", "leak"), "unnormalised path");
    excluded(journal.commit_paths(&["routines/a.md", "state/token.json"], "leak"), "batch");
    excluded(journal.write("state/token.json", secret.as_bytes(), &write, "leak"), "write");
    excluded(journal.remove("state/token.json", "leak"), "remove");
    excluded(journal.restore("state/token.json", &first, "leak"), "restore");
    assert!(matches!(journal.log_path("state/token.json", None), Err(Error::Excluded { .. })));
    assert!(matches!(journal.read_at(&first, "state/token.json"), Err(Error::Excluded { .. })));
    // None of those touched the file.
    assert!(fs::read_to_string(root.join("state/token.json")).unwrap().contains(&secret));
    assert!(root.join("state/token.json").exists());

    // A directory that holds the secret: its other files are committed, the secret skipped.
    fs::write(root.join("state/reflections.jsonl"), "{}\n").unwrap();
    journal.commit_path("state", "commit the state directory").unwrap();
    // Everything that changed, as a person's `git add -A` would see it.
    fs::write(root.join("routines/a.md"), "a2").unwrap();
    fs::write(
        root.join("state/token.json"),
        format!("{{\"token\": \"{secret}\", \"refreshed\": true}}"),
    )
    .unwrap();
    journal.commit_all_changed("everything").unwrap();
    journal.sync_gitignore().unwrap();
    assert_eq!(journal.audit().unwrap(), Vec::<std::path::PathBuf>::new());
    let log = journal.log_path("routines/a.md", None).unwrap();
    journal.restore("routines/a.md", &log.last().unwrap().id, "undo").unwrap();
    journal.push(remote.path().to_str().unwrap()).unwrap();

    // The git command line's own `add -A` respects the .gitignore we wrote.
    git(root, &["add", "-A"]);
    let staged = git(root, &["ls-files"]);
    assert!(!staged.contains("token.json") && !staged.contains("credentials.json"), "{staged}");
    assert!(staged.contains("state/reflections.jsonl"), "{staged}");

    assert_eq!(hits(root, &secret), 0, "the canary is in the repository");
    assert_eq!(hits(remote.path(), &secret), 0, "the canary is in the pushed remote");
    assert_fsck_clean(root);
}

#[test]
fn the_scan_finds_a_canary_that_was_committed() {
    // Negative control: the scanner does find a string that reached an object.
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let control = canary("CONTROL");
    journal.write("notes.txt", control.as_bytes(), &WriteOptions::new(), "control").unwrap();
    assert!(hits(dir.path(), &control) >= 1);
    // …even once it is only in a packfile.
    git(dir.path(), &["gc", "-q", "--prune=now"]);
    assert!(hits(dir.path(), &control) >= 1);
}

#[test]
fn a_force_tracked_secret_is_reported_and_never_updated() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let journal = Journal::open(root, options()).unwrap();
    // A person force-adds the token with the command line.
    fs::create_dir_all(root.join("state")).unwrap();
    fs::write(root.join("state/token.json"), "old-token").unwrap();
    git(root, &["add", "-f", "state/token.json"]);
    git(root, &["commit", "-q", "-m", "oops"]);
    assert_eq!(journal.audit().unwrap(), [Path::new("state/token.json")]);
    // The token changes; the journal commits everything else but never the new token.
    let secret = canary("NEWTOKEN");
    fs::write(root.join("state/token.json"), &secret).unwrap();
    fs::write(root.join("other.txt"), "x").unwrap();
    journal.commit_all_changed("everything").unwrap();
    assert!(journal.commit_path("state/token.json", "leak").is_err());
    assert_eq!(git(root, &["show", "HEAD:state/token.json"]), "old-token");
    assert_eq!(git(root, &["show", "HEAD:other.txt"]), "x");
    assert_eq!(hits(root, &secret), 0);
    // git still sees the tracked file as modified: the journal did not hide the problem.
    assert!(
        git_output(root, &["status", "--porcelain"]).stdout.starts_with(b" M state/token.json")
    );
}
