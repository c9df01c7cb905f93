//! The push audit is judged against what the destination holds (never the local tracking refs)
//! and by a secret's content (never only by path), and no credential in a URL is ever shown.

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use dotdir_git_journal::{Error, Journal, Leak, SecretBlobs};
use dotdir_test_support::{git, git_output};

use crate::common::options;

/// The bytes of the token in these tests: they must never appear in an error or a record.
const TOKEN: &[u8] = b"{\"token\": \"CANARY-7f3a9c-not-for-git\"}";
const CANARY: &str = "CANARY-7f3a9c";

/// Waits up to 30 s for `done`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A new empty bare repository at `path` (created, or emptied and created again).
fn bare(path: &Path) {
    if path.exists() {
        fs::remove_dir_all(path).unwrap();
    }
    fs::create_dir_all(path).unwrap();
    git(path, &["init", "-q", "--bare", "-b", "main"]);
}

/// Whether the bare repository at `path` has no reference and no object at all.
fn assert_untouched(path: &Path) {
    let refs = git(path, &["for-each-ref"]);
    assert_eq!(refs, "", "the destination got references");
    let objects = git(path, &["count-objects", "-v"]);
    for line in objects.lines() {
        if let Some(count) = line.strip_prefix("count: ").or_else(|| line.strip_prefix("in-pack: "))
        {
            assert_eq!(count, "0", "the destination got objects:\n{objects}");
        }
    }
}

/// A person commits the token with git itself, then untracks it: it stays in the history.
fn commit_token_by_hand(dir: &Path) {
    fs::create_dir_all(dir.join("state")).unwrap();
    fs::write(dir.join("state/token.json"), TOKEN).unwrap();
    git(dir, &["add", "-f", "state/token.json"]);
    git(dir, &["commit", "-qm", "oops"]);
    git(dir, &["rm", "-q", "--cached", "state/token.json"]);
    git(dir, &["commit", "-qm", "untrack"]);
}

/// The refusal names `path`, is typed, and never shows the token.
fn assert_refused(error: &Error, path: &str) {
    let Error::Leaks { leaks, .. } = error else { panic!("not a refusal: {error}") };
    assert!(leaks.iter().any(|l| l.path == path), "{path} not named: {leaks:?}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(CANARY), "the token is shown: {shown}");
}

#[test]
fn a_clone_pushed_to_a_new_empty_remote_is_audited_in_full() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    fs::create_dir_all(&source).unwrap();
    git(&source, &["init", "-q", "-b", "main"]);
    fs::create_dir_all(source.join("routines")).unwrap();
    fs::write(source.join("routines/a.md"), "a").unwrap();
    git(&source, &["add", "routines/a.md"]);
    git(&source, &["commit", "-qm", "a"]);
    commit_token_by_hand(&source);
    let dir = tmp.path().join("clone");
    git(tmp.path(), &["clone", "-q", source.to_str().unwrap(), dir.to_str().unwrap()]);
    // The clone's tracking refs hold the whole history; the new remote holds nothing.
    let empty = tmp.path().join("empty.git");
    bare(&empty);
    let journal = Journal::open(&dir, options()).unwrap();
    journal.set_remote_url("origin", empty.to_str().unwrap()).unwrap();

    let error = journal.push_with_git("origin", false).unwrap_err();
    assert_refused(&error, "state/token.json");
    assert_untouched(&empty);
    let status = dotdir_git_journal::push_status(&dir.join(".git")).unwrap();
    assert!(!status.ok && status.error.contains("state/token.json"), "{status:?}");
}

#[test]
fn a_remote_deleted_and_created_again_is_audited_in_full() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let remote = tmp.path().join("r.git");
    bare(&remote);
    let journal = Journal::open(&dir, options()).unwrap();
    journal.set_remote_url("origin", remote.to_str().unwrap()).unwrap();
    commit_token_by_hand(&dir);
    // Pushed by hand once (the token reached R then); R is then deleted and re-created empty.
    git(&dir, &["push", "-q", "origin", "main"]);
    bare(&remote);
    journal.write("routines/a.md", b"a", &crate::common::no_fsync(), "add a").unwrap();

    let error = journal.push_with_git("origin", false).unwrap_err();
    assert_refused(&error, "state/token.json");
    assert_untouched(&remote);
    // The background push judges the same way.
    let background = Journal::open(&dir, options().auto_push("origin")).unwrap();
    fs::remove_file(dir.join(".git").join(dotdir_git_journal::PUSH_STATUS_FILE)).unwrap();
    background.write("routines/a.md", b"b", &crate::common::no_fsync(), "edit a").unwrap();
    eventually("the background refusal is recorded", || {
        dotdir_git_journal::push_status(&dir.join(".git"))
            .is_some_and(|s| !s.ok && s.error.contains("state/token.json"))
    });
    assert_untouched(&remote);
}

#[test]
fn a_pushurl_to_another_repository_is_judged_by_that_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let full = tmp.path().join("full.git");
    let empty = tmp.path().join("empty.git");
    bare(&full);
    bare(&empty);
    let journal = Journal::open(&dir, options()).unwrap();
    journal.set_remote_url("origin", full.to_str().unwrap()).unwrap();
    commit_token_by_hand(&dir);
    git(&dir, &["push", "-q", "origin", "main"]);
    git(&dir, &["fetch", "-q", "origin"]);
    // `url` holds everything, but pushes go to `pushurl`, which holds nothing.
    git(&dir, &["config", "remote.origin.pushurl", empty.to_str().unwrap()]);

    let error = journal.push_with_git("origin", false).unwrap_err();
    assert_refused(&error, "state/token.json");
    assert_untouched(&empty);
    // The same through a pushInsteadOf rule that sends pushes to the empty repository.
    git(&dir, &["config", "--unset", "remote.origin.pushurl"]);
    let alias = format!("file://{}", full.display());
    journal.set_remote_url("origin", &alias).unwrap();
    let rule = format!("url.{}.pushInsteadOf", empty.display());
    git(&dir, &["config", &rule, &alias]);
    let error = journal.push_with_git("origin", false).unwrap_err();
    assert_refused(&error, "state/token.json");
    assert_untouched(&empty);
}

#[test]
fn a_destination_that_holds_the_old_history_is_sent_only_the_new_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let remote = tmp.path().join("r.git");
    bare(&remote);
    let journal = Journal::open(&dir, options()).unwrap();
    journal.set_remote_url("origin", remote.to_str().unwrap()).unwrap();
    commit_token_by_hand(&dir);
    git(&dir, &["push", "-q", "origin", "main"]);
    // The destination already has the token (rotate it!); a clean commit on top goes out.
    git(&dir, &["update-ref", "-d", "refs/remotes/origin/main"]);
    journal.write("routines/a.md", b"a", &crate::common::no_fsync(), "add a").unwrap();
    assert_eq!(journal.audit_outgoing("origin", false).unwrap(), Vec::<Leak>::new());
    journal.push_with_git("origin", false).unwrap();
    assert_eq!(
        git(&remote, &["rev-parse", "main"]),
        git(&dir, &["rev-parse", "HEAD"]),
        "the push did not arrive"
    );
}

#[test]
fn a_destination_that_cannot_be_listed_gets_nothing_and_the_error_is_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let journal = Journal::open(&dir, options()).unwrap();
    journal.write("routines/a.md", b"a", &crate::common::no_fsync(), "add a").unwrap();
    journal.set_remote_url("origin", tmp.path().join("missing.git").to_str().unwrap()).unwrap();
    let error = journal.push_with_git("origin", false).unwrap_err();
    assert!(matches!(error, Error::DestinationUnknown { .. }), "{error}");
    assert!(!tmp.path().join("missing.git").exists());
    let error = journal.push_with_git("nowhere", false).unwrap_err();
    assert!(matches!(error, Error::DestinationUnknown { .. }), "{error}");
    let status = dotdir_git_journal::push_status(&dir.join(".git")).unwrap();
    assert!(!status.ok && status.error.contains("nothing was sent"), "{status:?}");
}

#[test]
fn a_copy_of_a_secret_under_another_path_is_refused_by_its_content() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let remote = tmp.path().join("r.git");
    bare(&remote);
    let secrets = ["state/token.json", "state/credentials.json"];
    let journal = Journal::open(&dir, options().secrets(secrets)).unwrap();
    journal.set_remote_url("origin", remote.to_str().unwrap()).unwrap();
    fs::create_dir_all(dir.join("state")).unwrap();
    fs::write(dir.join("state/token.json"), TOKEN).unwrap();
    // Copies committed by hand, under paths no exclusion names.
    fs::write(dir.join("state/token.json.bak"), TOKEN).unwrap();
    git(&dir, &["add", "-f", "state/token.json.bak"]);
    git(&dir, &["commit", "-qm", "backup"]);
    fs::create_dir_all(dir.join("State")).unwrap();
    fs::write(dir.join("State/Token.json"), TOKEN).unwrap();
    git(&dir, &["add", "-f", "State/Token.json"]);
    git(&dir, &["commit", "-qm", "case"]);

    let error = journal.push_with_git("origin", false).unwrap_err();
    let Error::Leaks { leaks, .. } = &error else { panic!("not a refusal: {error}") };
    let mut found: Vec<(&str, Option<&str>)> =
        leaks.iter().map(|l| (l.path.as_str(), l.same_as.as_deref())).collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            ("State/Token.json", Some("state/token.json")),
            ("state/token.json.bak", Some("state/token.json"))
        ]
    );
    let shown = format!("{error} {error:?} {}", dotdir_atomic_store::error_chain(&error));
    assert!(shown.contains("state/token.json") && !shown.contains(CANARY), "{shown}");
    assert_untouched(&remote);
    // libgit2's push audits the same way.
    let error = journal.push(remote.to_str().unwrap()).unwrap_err();
    assert_refused(&error, "state/token.json.bak");
    assert_untouched(&remote);
    // And the background push.
    let background = Journal::open(&dir, options().secrets(secrets).auto_push("origin")).unwrap();
    background.write("routines/a.md", b"a", &crate::common::no_fsync(), "add a").unwrap();
    eventually("the background refusal is recorded", || {
        dotdir_git_journal::push_status(&dir.join(".git"))
            .is_some_and(|s| !s.ok && s.error.contains("state/token.json.bak"))
    });
    let record = fs::read(dir.join(".git").join(dotdir_git_journal::PUSH_STATUS_FILE)).unwrap();
    assert!(!String::from_utf8_lossy(&record).contains(CANARY));
    assert_untouched(&remote);
}

#[test]
fn a_fifo_or_a_symlink_at_a_secret_path_is_neither_read_nor_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let remote = tmp.path().join("r.git");
    bare(&remote);
    let secrets = ["state/token.json", "state/credentials.json"];
    let journal = Journal::open(&dir, options().secrets(secrets)).unwrap();
    journal.set_remote_url("origin", remote.to_str().unwrap()).unwrap();
    journal.write("routines/a.md", b"tracked", &crate::common::no_fsync(), "add a").unwrap();
    fs::create_dir_all(dir.join("state")).unwrap();
    // Opening a FIFO for reading blocks until a writer comes, unless non-blocking.
    let made = std::process::Command::new("mkfifo").arg(dir.join("state/token.json")).status();
    assert!(made.unwrap().success());
    // A link to a tracked file: followed, its content would count as a secret's.
    std::os::unix::fs::symlink("../routines/a.md", dir.join("state/credentials.json")).unwrap();

    assert!(journal.secret_blobs().unwrap().is_empty());
    journal.push_with_git("origin", false).unwrap();
    assert_eq!(git(&remote, &["rev-parse", "main"]), git(&dir, &["rev-parse", "HEAD"]));
}

#[test]
fn secret_blobs_cover_globs_and_directories_and_skip_empty_files_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, bytes) in [
        ("oauth/a/b.json", &b"one"[..]),
        ("state/t.json", b"two"),
        ("state/empty.json", b""),
        ("deep/k/key.pem", b"three"),
        ("elsewhere/x.json", b"four"),
        (".git/key.pem", b"five"),
    ] {
        fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        fs::write(root.join(path), bytes).unwrap();
    }
    std::os::unix::fs::symlink(root.join("elsewhere"), root.join("oauth/linked")).unwrap();
    let patterns = ["oauth", "/state/*.json", "**/key.pem", "missing/*.json"];
    let blobs = SecretBlobs::from_work_tree(root, &patterns).unwrap();
    let mut expected = SecretBlobs::new();
    expected.insert("oauth/a/b.json", "oauth", b"one");
    expected.insert("state/t.json", "/state/*.json", b"two");
    expected.insert("deep/k/key.pem", "**/key.pem", b"three");
    assert_eq!(blobs, expected);
    assert_eq!(blobs.len(), 3);
}

#[test]
fn git_stderr_relayed_in_a_rejection_has_no_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let remote = tmp.path().join("r.git");
    bare(&remote);
    let hook = remote.join("hooks/pre-receive");
    fs::write(
        &hook,
        format!("#!/bin/sh\necho 'mirror at https://x-access-token:{CANARY}@example.invalid/m.git failed' >&2\nexit 1\n"),
    )
    .unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let journal = Journal::open(&dir, options()).unwrap();
    journal.set_remote_url("origin", remote.to_str().unwrap()).unwrap();
    journal.write("routines/a.md", b"a", &crate::common::no_fsync(), "add a").unwrap();

    let error = journal.push_with_git("origin", false).unwrap_err();
    let Error::PushRejected { message, .. } = &error else { panic!("not rejected: {error}") };
    assert!(message.contains("https://example.invalid/m.git"), "{message}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(CANARY), "{shown}");
    let record = fs::read(dir.join(".git").join(dotdir_git_journal::PUSH_STATUS_FILE)).unwrap();
    assert!(!String::from_utf8_lossy(&record).contains(CANARY));
    assert!(git_output(&remote, &["rev-parse", "--verify", "-q", "main"]).stdout.is_empty());
}

#[test]
fn credentials_in_a_remote_url_are_never_in_an_error_or_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let journal = Journal::open(&dir, options()).unwrap();
    journal.write("routines/a.md", b"a", &crate::common::no_fsync(), "add a").unwrap();
    for url in [
        format!("https://x-access-token:{CANARY}@127.0.0.1:9/x.git"),
        format!("ssh://user:{CANARY}@127.0.0.1:9/x.git"),
    ] {
        journal.set_remote_url("origin", &url).unwrap();
        let error = journal.push_with_git("origin", false).unwrap_err();
        let shown = format!("{error} {error:?} {}", dotdir_atomic_store::error_chain(&error));
        assert!(shown.contains("127.0.0.1:9") && !shown.contains(CANARY), "{shown}");
        let record = fs::read(dir.join(".git").join(dotdir_git_journal::PUSH_STATUS_FILE)).unwrap();
        assert!(!String::from_utf8_lossy(&record).contains(CANARY));
        // libgit2's push says the same without them.
        let error = journal.push(&url).unwrap_err();
        let shown = format!("{error} {error:?} {}", dotdir_atomic_store::error_chain(&error));
        assert!(!shown.contains(CANARY), "{shown}");
    }
}
