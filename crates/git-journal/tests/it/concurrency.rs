//! Many writers on one repository: processes, threads, and a person's `git status` loop.

use std::{
    collections::BTreeSet,
    path::Path,
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use dotdir_atomic_store::WriteOptions;
use dotdir_git_journal::Journal;
use dotdir_test_support::git_output;

use crate::common::{
    assert_fsck_clean, assert_status_clean, child, child_role, history, knob, options,
};

/// Child role `hammer`, played by the test that spawned it: `DOTDIR_COMMITS` writes of its own
/// file, each its own commit.
#[allow(clippy::print_stdout, clippy::unwrap_used, reason = "a test's child role")]
fn hammer() {
    let dir = std::env::var("DOTDIR_DIR").unwrap();
    let index: usize = std::env::var("DOTDIR_INDEX").unwrap().parse().unwrap();
    let commits: usize = std::env::var("DOTDIR_COMMITS").unwrap().parse().unwrap();
    let journal = Journal::open(&dir, options()).unwrap();
    for i in 0..commits {
        let id = journal
            .write(
                format!("writers/w{index}.txt"),
                format!("{index} {i}\n").as_bytes(),
                &crate::common::no_fsync(),
                &format!("hammer {index} {i}"),
            )
            .unwrap_or_else(|e| panic!("writer {index} commit {i}: {e}"));
        assert!(id.is_some(), "writer {index} commit {i} made no commit");
    }
}

/// Every expected subject exactly once, the history linear, the tree right, fsck clean.
fn check_history(dir: &Path, expected: &BTreeSet<String>, extra: usize) {
    let history = history(dir);
    assert_eq!(history.len(), expected.len() + extra, "commits reachable from HEAD");
    let subjects: BTreeSet<String> = history.iter().map(|(s, _)| s.clone()).collect();
    let missing: Vec<_> = expected.difference(&subjects).collect();
    assert!(missing.is_empty(), "commits missing from HEAD's history: {missing:?}");
    for (subject, parents) in &history {
        assert!(*parents <= 1, "{subject} is a merge: the history is not linear");
    }
    assert_eq!(history.iter().filter(|(_, parents)| *parents == 0).count(), 1, "one root commit");
    assert_status_clean(dir);
    assert_fsck_clean(dir);
}

#[test]
fn processes_commit_concurrently_with_a_linear_history() {
    if child_role().as_deref() == Some("hammer") {
        return hammer();
    }
    let procs = knob("DOTDIR_JOURNAL_PROCS", 8);
    let commits = knob("DOTDIR_JOURNAL_COMMITS", 40);
    let dir = tempfile::tempdir().unwrap();
    drop(Journal::open(dir.path(), options()).unwrap());
    let started = Instant::now();
    let mut children: Vec<_> = (0..procs)
        .map(|index| {
            child("concurrency::processes_commit_concurrently_with_a_linear_history", "hammer")
                .env("DOTDIR_DIR", dir.path())
                .env("DOTDIR_INDEX", index.to_string())
                .env("DOTDIR_COMMITS", commits.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // A person runs `git status` all along: it takes index.lock to refresh the index.
    let mut status_runs = 0;
    while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        let _ = git_output(dir.path(), &["status", "--porcelain"]);
        status_runs += 1;
        thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    for (index, mut c) in children.into_iter().enumerate() {
        let status = c.wait().unwrap();
        assert!(status.success(), "writer {index} failed: {status}");
    }
    let expected: BTreeSet<String> =
        (0..procs).flat_map(|k| (0..commits).map(move |i| format!("hammer {k} {i}"))).collect();
    check_history(dir.path(), &expected, 1);
    println!(
        "journal: {procs} processes x {commits} commits = {} commits in {elapsed:.2?} ({:.2?} per commit), \
         {status_runs} concurrent `git status` runs, 0 lost, linear, fsck clean",
        procs * commits,
        elapsed / (procs * commits) as u32
    );
}

#[test]
fn processes_initialise_one_fresh_directory_together() {
    if child_role().as_deref() == Some("hammer") {
        return hammer();
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let children: Vec<_> = (0..4)
        .map(|index| {
            child("concurrency::processes_initialise_one_fresh_directory_together", "hammer")
                .env("DOTDIR_DIR", &data)
                .env("DOTDIR_INDEX", index.to_string())
                .env("DOTDIR_COMMITS", "3")
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for (index, mut c) in children.into_iter().enumerate() {
        let status = c.wait().unwrap();
        assert!(status.success(), "writer {index} failed: {status}");
    }
    let expected: BTreeSet<String> =
        (0..4).flat_map(|k| (0..3).map(move |i| format!("hammer {k} {i}"))).collect();
    // Exactly one `.gitignore` commit: the others found it up to date.
    check_history(&data, &expected, 1);
}

#[test]
fn threads_and_several_journals_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let shared = Arc::new(Journal::open(dir.path(), options()).unwrap());
    let second = Arc::new(Journal::open(dir.path(), options()).unwrap());
    let per_thread = 20;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let journal = if t % 2 == 0 { Arc::clone(&shared) } else { Arc::clone(&second) };
            thread::spawn(move || {
                for i in 0..per_thread {
                    let id = journal
                        .write(
                            format!("t{t}.txt"),
                            format!("{t} {i}").as_bytes(),
                            &WriteOptions::new(),
                            &format!("thread {t} {i}"),
                        )
                        .unwrap();
                    assert!(id.is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let expected: BTreeSet<String> =
        (0..4).flat_map(|t| (0..per_thread).map(move |i| format!("thread {t} {i}"))).collect();
    check_history(dir.path(), &expected, 1);
}

#[test]
fn a_foreign_lock_held_briefly_is_waited_for() {
    // A live `git` holds index.lock for 200 ms: the commit waits and succeeds.
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let lock = journal.git_dir().join("index.lock");
    std::fs::write(&lock, "").unwrap();
    let releaser = {
        let lock = lock.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            std::fs::remove_file(lock).unwrap();
        })
    };
    let started = Instant::now();
    let id = journal.write("a.txt", b"a", &WriteOptions::new(), "after the lock").unwrap();
    assert!(id.is_some());
    assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());
    releaser.join().unwrap();
    assert_status_clean(dir.path());
}

#[test]
fn a_foreign_lock_held_too_long_is_a_typed_error_and_never_removed() {
    let dir = tempfile::tempdir().unwrap();
    let retry = dotdir_git_journal::RetryPolicy {
        max_wait: Duration::from_millis(150),
        ..Default::default()
    };
    let journal = Journal::open(dir.path(), options().retry(retry)).unwrap();
    let lock = journal.git_dir().join("index.lock");
    std::fs::write(&lock, "held by a live git").unwrap();
    let err = journal.write("a.txt", b"a", &WriteOptions::new(), "blocked").unwrap_err();
    assert!(err.is_locked(), "{err}");
    match &err {
        dotdir_git_journal::Error::Locked { lock: named, waited, .. } => {
            assert_eq!(named.file_name(), lock.file_name());
            assert!(*waited >= Duration::from_millis(150));
        }
        other => panic!("{other}"),
    }
    // The lock is someone else's and fresh: it is still there, with its content.
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), "held by a live git");
    // Once it is released, the next call commits the file written by the failed call.
    std::fs::remove_file(&lock).unwrap();
    assert!(journal.commit_path("a.txt", "after").unwrap().is_some());
}
