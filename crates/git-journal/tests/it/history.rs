//! The log of one path, a file's content at a commit, and undo.

use std::{fs, os::unix::fs::PermissionsExt};

use dotdir_atomic_store::WriteOptions;
use dotdir_git_journal::{CommitId, Journal};
use dotdir_test_support::git;

use crate::common::{assert_status_clean, options};

#[test]
fn log_lists_the_commits_that_touched_a_path_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let write = WriteOptions::new();
    let a1 = journal.write("routines/a.md", b"1", &write, "add routine a").unwrap().unwrap();
    journal.write("routines/b.md", b"1", &write, "add routine b").unwrap();
    let a2 = journal.write("routines/a.md", b"2", &write, "edit routine a").unwrap().unwrap();
    journal.write("routines/b.md", b"2", &write, "edit routine b").unwrap();
    let a3 = journal.remove("routines/a.md", "remove routine a").unwrap().unwrap();

    let log = journal.log_path("routines/a.md", None).unwrap();
    let got: Vec<(CommitId, &str)> = log.iter().map(|c| (c.id, c.message.as_str())).collect();
    assert_eq!(got, [(a3, "remove routine a"), (a2, "edit routine a"), (a1, "add routine a")]);
    assert_eq!(log[0].author_name, "Journal Test");
    assert_eq!(log[0].author_email, "journal@test.invalid");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    assert!((now - log[0].time).abs() < 600, "{} vs {now}", log[0].time);
    // The same answer as the command line.
    let cli = git(dir.path(), &["log", "--format=%H", "--", "routines/a.md"]);
    let ours: Vec<String> = log.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(cli.lines().collect::<Vec<_>>(), ours);
    // A directory, and a limit.
    assert_eq!(journal.log_path("routines", None).unwrap().len(), 5);
    assert_eq!(journal.log_path("routines", Some(2)).unwrap().len(), 2);
    assert!(journal.log_path("never", None).unwrap().is_empty());

    assert_eq!(journal.read_at(&a1, "routines/a.md").unwrap().unwrap(), b"1");
    assert_eq!(journal.read_at(&a2, "routines/a.md").unwrap().unwrap(), b"2");
    assert_eq!(journal.read_at(&a3, "routines/a.md").unwrap(), None);
    assert_eq!(CommitId::from_hex(&a1.to_string()), Some(a1));
    assert_eq!(CommitId::from_hex("abc"), None);
}

#[test]
fn restore_is_an_undo_commit() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let write = WriteOptions::new();
    let first =
        journal.write("reminders/r.md", b"first", &write, "add reminder r").unwrap().unwrap();
    let second =
        journal.write("reminders/r.md", b"second", &write, "edit reminder r").unwrap().unwrap();
    let undo = journal.restore("reminders/r.md", &first, "undo edit").unwrap().unwrap();
    assert_eq!(fs::read(dir.path().join("reminders/r.md")).unwrap(), b"first");
    assert_eq!(git(dir.path(), &["show", "HEAD:reminders/r.md"]), "first");
    assert_eq!(git(dir.path(), &["log", "-1", "--format=%s"]), "undo edit\n");
    // Restoring the same content again: nothing to commit.
    assert_eq!(journal.restore("reminders/r.md", &first, "again").unwrap(), None);
    // Restoring from before the file existed deletes it.
    let gitignore_commit = journal.log_path(".gitignore", None).unwrap()[0].id;
    journal.restore("reminders/r.md", &gitignore_commit, "undo add").unwrap().unwrap();
    assert!(!dir.path().join("reminders/r.md").exists());
    // And back.
    journal.restore("reminders/r.md", &second, "redo").unwrap().unwrap();
    assert_eq!(fs::read(dir.path().join("reminders/r.md")).unwrap(), b"second");
    assert_ne!(undo, second);
    assert_status_clean(dir.path());
}

#[test]
fn restore_keeps_the_executable_bit() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let script = dir.path().join("hooks/run.sh");
    fs::create_dir_all(script.parent().unwrap()).unwrap();
    fs::write(&script, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let id = journal.commit_path("hooks/run.sh", "add hook").unwrap().unwrap();
    fs::remove_file(&script).unwrap();
    journal.commit_path("hooks/run.sh", "remove hook").unwrap();
    journal.restore("hooks/run.sh", &id, "restore hook").unwrap();
    assert_eq!(fs::metadata(&script).unwrap().permissions().mode() & 0o777, 0o755);
    assert_status_clean(dir.path());
}
