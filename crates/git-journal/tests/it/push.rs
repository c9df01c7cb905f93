//! Pushing the journal to a bare repository on the same machine.

use std::fs;

use dotdir_atomic_store::WriteOptions;
use dotdir_git_journal::{Error, Journal};

use crate::common::{git_ok, options};

#[test]
fn push_to_a_bare_repository_then_refuse_a_non_fast_forward() {
    let dir = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    git_ok(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = remote.path().to_str().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    journal.write("routines/a.md", b"a", &WriteOptions::new(), "add routine a").unwrap();
    journal.push(url).unwrap();
    assert_eq!(
        git_ok(remote.path(), &["rev-parse", "main"]),
        git_ok(dir.path(), &["rev-parse", "HEAD"])
    );
    // Again, after another commit, through a configured remote name.
    git_ok(dir.path(), &["remote", "add", "backup", url]);
    journal.write("routines/a.md", b"b", &WriteOptions::new(), "edit routine a").unwrap();
    journal.push("backup").unwrap();
    assert_eq!(git_ok(remote.path(), &["log", "-1", "--format=%s", "main"]), "edit routine a\n");

    // Another machine pushed meanwhile: our push is not a fast-forward and is refused.
    let other = tempfile::tempdir().unwrap();
    git_ok(other.path(), &["clone", "-q", url, "."]);
    fs::write(other.path().join("other.txt"), "o").unwrap();
    git_ok(other.path(), &["add", "other.txt"]);
    git_ok(other.path(), &["commit", "-q", "-m", "other machine"]);
    git_ok(other.path(), &["push", "-q", "origin", "main"]);
    journal.write("routines/a.md", b"c", &WriteOptions::new(), "edit again").unwrap();
    let err = journal.push(url).unwrap_err();
    assert!(matches!(err, Error::PushRejected { .. }), "{err}");
    assert_eq!(git_ok(remote.path(), &["log", "-1", "--format=%s", "main"]), "other machine\n");
}
