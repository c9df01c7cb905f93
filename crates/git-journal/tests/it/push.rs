//! Pushing the journal to a bare repository on the same machine.

use std::fs;

use dotdir_atomic_store::WriteOptions;
use dotdir_git_journal::{Error, Journal};
use dotdir_test_support::git;

use crate::common::options;

#[test]
fn push_to_a_bare_repository_then_refuse_a_non_fast_forward() {
    let dir = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = remote.path().to_str().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    journal.write("routines/a.md", b"a", &WriteOptions::new(), "add routine a").unwrap();
    journal.push(url).unwrap();
    assert_eq!(git(remote.path(), &["rev-parse", "main"]), git(dir.path(), &["rev-parse", "HEAD"]));
    // Again, after another commit, through a configured remote name.
    git(dir.path(), &["remote", "add", "backup", url]);
    journal.write("routines/a.md", b"b", &WriteOptions::new(), "edit routine a").unwrap();
    journal.push("backup").unwrap();
    assert_eq!(git(remote.path(), &["log", "-1", "--format=%s", "main"]), "edit routine a\n");

    // Another machine pushed meanwhile: our push is not a fast-forward and is refused.
    let other = tempfile::tempdir().unwrap();
    git(other.path(), &["clone", "-q", url, "."]);
    fs::write(other.path().join("other.txt"), "o").unwrap();
    git(other.path(), &["add", "other.txt"]);
    git(other.path(), &["commit", "-q", "-m", "other machine"]);
    git(other.path(), &["push", "-q", "origin", "main"]);
    journal.write("routines/a.md", b"c", &WriteOptions::new(), "edit again").unwrap();
    let err = journal.push(url).unwrap_err();
    assert!(matches!(err, Error::PushRejected { .. }), "{err}");
    assert_eq!(git(remote.path(), &["log", "-1", "--format=%s", "main"]), "other machine\n");
}

/// Waits up to 30 s for `done`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn auto_push_sends_commits_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let journal = Journal::open(dir.path(), options().auto_push("origin")).unwrap();
    journal.set_remote_url("origin", remote.path().to_str().unwrap()).unwrap();
    for i in 0..3 {
        let text = format!("v{i}");
        journal.write("routines/a.md", text.as_bytes(), &WriteOptions::new(), &text).unwrap();
    }
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    eventually("the remote has the last commit", || {
        dotdir_test_support::git_output(remote.path(), &["rev-parse", "main"]).stdout
            == head.as_bytes()
    });
    eventually("the push is recorded", || {
        dotdir_git_journal::push_status(&dir.path().join(".git")).is_some_and(|s| s.ok)
    });
}

#[test]
fn auto_push_to_an_unreachable_remote_never_fails_a_commit_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let journal = Journal::open(dir.path(), options().auto_push("origin")).unwrap();
    journal.set_remote_url("origin", &format!("git://127.0.0.1:{port}/x.git")).unwrap();
    for i in 0..5 {
        let text = format!("v{i}");
        assert!(
            journal.write("routines/a.md", text.as_bytes(), &WriteOptions::new(), &text).is_ok()
        );
    }
    eventually("the failure is recorded", || {
        dotdir_git_journal::push_status(&dir.path().join(".git"))
            .is_some_and(|s| !s.ok && !s.error.is_empty())
    });
}

#[test]
fn no_push_sends_a_history_that_holds_an_excluded_path() {
    let dir = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let journal = Journal::open(dir.path(), options().auto_push("origin")).unwrap();
    journal.set_remote_url("origin", remote.path().to_str().unwrap()).unwrap();
    // A person commits the token with git itself, then untracks it.
    fs::create_dir_all(dir.path().join("state")).unwrap();
    fs::write(dir.path().join("state/token.json"), "\"s3cr3t\"").unwrap();
    git(dir.path(), &["add", "-f", "state/token.json"]);
    git(dir.path(), &["commit", "-qm", "oops"]);
    git(dir.path(), &["rm", "-q", "--cached", "state/token.json"]);
    git(dir.path(), &["commit", "-qm", "untrack"]);
    let leaks = journal.audit_outgoing("origin", false).unwrap();
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    assert_eq!((leaks[0].path.as_str(), leaks[0].summary.as_str()), ("state/token.json", "oops"));
    let err = journal.push_with_git("origin", false).unwrap_err();
    assert!(matches!(err, Error::Leaks { .. }), "{err}");
    // The background push refuses it too.
    journal.write("routines/a.md", b"a", &WriteOptions::new(), "add a").unwrap();
    eventually("the refusal is recorded", || {
        dotdir_git_journal::push_status(&dir.path().join(".git"))
            .is_some_and(|s| !s.ok && s.error.contains("refusing"))
    });
    // (The journal's own first commit, `.gitignore`, may have gone out before the token.)
    let sent = git(remote.path(), &["log", "--all", "--name-only", "--format=%s"]);
    assert!(!sent.contains("state/token.json") && !sent.contains("oops"), "{sent}");
}
