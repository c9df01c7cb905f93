//! Crashes: writers killed with SIGKILL at random points, stale locks of dead writers, and old
//! locks of foreign `git` commands.

use std::{
    collections::BTreeMap,
    fs,
    io::{BufRead, BufReader},
    path::Path,
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use dotdir_atomic_store::WriteOptions;
use dotdir_git_journal::{Journal, RetryPolicy};
use dotdir_test_support::git;

use crate::common::{
    assert_fsck_clean, assert_status_clean, child, child_role, knob, no_fsync, options,
};

const KILLED_TEST: &str = "crash::sigkill_at_random_points_never_blocks_the_next_commit";

/// Child role `killed-writer` (of [`KILLED_TEST`]): writes and removes files under `k<round>/`
/// until killed, and reports each acknowledged operation on stdout after the call returned.
#[allow(clippy::print_stdout, clippy::unwrap_used, reason = "a test's child role")]
fn killed_writer() {
    let dir = std::env::var("DOTDIR_DIR").unwrap();
    let round: usize = std::env::var("DOTDIR_ROUND").unwrap().parse().unwrap();
    let journal = Journal::open(&dir, options()).unwrap();
    println!("ready");
    for i in 0.. {
        match operation(round, i) {
            (path, None) => {
                journal.remove(&path, &format!("remove {path}")).unwrap();
                println!("ack {i}");
            }
            (path, Some(content)) => {
                let id = journal
                    .write(&path, content.as_bytes(), &no_fsync(), &format!("write {path}"))
                    .unwrap();
                assert!(id.is_some());
                println!("ack {i}");
            }
        }
    }
}

/// The `i`-th operation of the writer of `round`: a write of a new file (path and content), or
/// every fourth time the removal of the file written three operations before.
fn operation(round: usize, i: usize) -> (String, Option<String>) {
    if i % 4 == 3 {
        (format!("k{round}/f{}.txt", i - 3), None)
    } else {
        (format!("k{round}/f{i}.txt"), Some(format!("{round}-{i}")))
    }
}

/// The content of `rel` in HEAD's tree, read with git2 directly.
fn head_content(dir: &Path, rel: &str) -> Option<String> {
    let repo = git2::Repository::open(dir).unwrap();
    let tree = repo.head().unwrap().peel_to_tree().unwrap();
    let entry = tree.get_path(Path::new(rel)).ok()?;
    let blob = repo.find_blob(entry.id()).unwrap();
    Some(String::from_utf8(blob.content().to_vec()).unwrap())
}

#[test]
fn sigkill_at_random_points_never_blocks_the_next_commit() {
    if child_role().as_deref() == Some("killed-writer") {
        return killed_writer();
    }
    let target = knob("DOTDIR_JOURNAL_KILL_COMMITS", 200);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    drop(Journal::open(root, options()).unwrap());
    let git_dir = root.join(".git");
    // The state every acknowledged operation left, and the paths whose last operation was cut.
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    let (mut acked, mut rounds) = (0, 0);
    let (mut left_index_lock, mut left_ref_lock, mut left_intent, mut in_flight_applied) =
        (0, 0, 0, 0);
    // Time between acknowledgements, to aim the kills inside commits whatever the machine's load.
    let mut per_op = Duration::from_millis(20);
    let started = Instant::now();
    while (acked < target || rounds < 20) && rounds < 400 {
        let mut writer = child(KILLED_TEST, "killed-writer")
            .env("DOTDIR_DIR", root)
            .env("DOTDIR_ROUND", rounds.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
        let mut last_ack: Option<usize> = None;
        if rounds % 8 == 7 {
            // Now and then, kill it while it is still starting or opening the repository.
            thread::sleep(Duration::from_millis(fastrand::u64(0..20)));
        } else {
            // Let it acknowledge a few operations, then kill it at a random point of the next.
            let wait_for = fastrand::usize(0..10);
            let mut last = Instant::now();
            for line in lines.by_ref() {
                let line = line.unwrap();
                if let Some(i) = line.strip_prefix("ack ") {
                    last_ack = Some(i.parse().unwrap());
                    per_op = (per_op * 7 + last.elapsed()) / 8;
                    last = Instant::now();
                }
                if line == "ready" {
                    last = Instant::now();
                }
                if (line == "ready" && wait_for == 0) || last_ack.is_some_and(|i| i + 1 >= wait_for)
                {
                    break;
                }
            }
            thread::sleep(per_op.mul_f64(fastrand::f64() * 1.2));
        }
        writer.kill().unwrap();
        writer.wait().unwrap();
        for line in lines {
            if let Some(i) = line.unwrap().strip_prefix("ack ") {
                last_ack = Some(i.parse().unwrap());
            }
        }
        let done = last_ack.map_or(0, |i| i + 1);
        for i in 0..done {
            let (path, content) = operation(rounds, i);
            expected.insert(path, content);
        }
        acked += done;
        left_index_lock += usize::from(git_dir.join("index.lock").exists());
        left_ref_lock += usize::from(git_dir.join("refs/heads/main.lock").exists());
        left_intent += usize::from(git_dir.join("dotdir-journal.intent").exists());

        // The next writer, with no human action: its first call commits.
        let journal = Journal::open(root, options()).unwrap();
        let marker = journal.write(
            "marker.txt",
            rounds.to_string().as_bytes(),
            &no_fsync(),
            &format!("marker {rounds}"),
        );
        assert!(
            matches!(marker, Ok(Some(_))),
            "round {rounds}: the next commit failed: {marker:?}"
        );
        drop(journal);
        // Every acknowledged operation is in HEAD. The one the kill cut may or may not be (it
        // was never acknowledged); if its file change happened, recovery committed it.
        let (cut_path, cut_content) = operation(rounds, done);
        for i in 0..done {
            let (path, _) = operation(rounds, i);
            let head = head_content(root, &path);
            if path == cut_path && head == cut_content {
                continue;
            }
            assert_eq!(head, expected[&path], "round {rounds}: acknowledged {path} is not in HEAD");
        }
        let head = head_content(root, &cut_path);
        if head == cut_content && expected.get(&cut_path) != Some(&cut_content) {
            in_flight_applied += 1;
            expected.insert(cut_path, cut_content);
        }
        // Nothing is left over: no stray change, no lock, no intent, a sound repository.
        assert_status_clean(root);
        assert_fsck_clean(root);
        assert!(!git_dir.join("index.lock").exists());
        assert!(!git_dir.join("dotdir-journal.intent").exists());
        let temps: Vec<_> = std::fs::read_dir(&git_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".dotdir-tmp"))
            .collect();
        assert!(temps.is_empty(), "round {rounds}: temporary files left in .git: {temps:?}");
        rounds += 1;
    }
    for (path, content) in &expected {
        assert_eq!(
            &head_content(root, path),
            content,
            "acknowledged {path} is not in HEAD at the end"
        );
    }
    assert_eq!(
        git(root, &["rev-list", "--max-parents=0", "--count", "HEAD"]),
        "1\n",
        "one root commit"
    );
    assert_eq!(git(root, &["rev-list", "--min-parents=2", "--count", "HEAD"]), "0\n", "no merges");
    let commits = git(root, &["rev-list", "--count", "HEAD"]);
    println!(
        "journal: {rounds} SIGKILLs over {acked} acknowledged operations ({} commits in all) in {:.1?}: \
         killed writers left index.lock {left_index_lock}x, a ref lock {left_ref_lock}x, an intent record \
         {left_intent}x, an interrupted operation finished by recovery {in_flight_applied}x; next commit \
         succeeded {rounds}/{rounds}, 0 acknowledged operations missing, status clean and fsck clean after each kill",
        commits.trim(),
        started.elapsed()
    );
    assert!(acked >= target, "only {acked} acknowledged operations in {rounds} rounds");
}

/// Writes the intent record a writer killed mid-commit leaves behind (the format is internal;
/// this test pins it).
fn plant_intent(git_dir: &Path, paths: &[&str], message: &str) {
    let record =
        serde_json::json!({ "pid": 1, "phase": "commit", "message": message, "paths": paths });
    fs::write(git_dir.join("dotdir-journal.intent"), record.to_string()).unwrap();
}

#[test]
fn locks_of_a_dead_writer_are_removed_and_its_commit_finished() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let journal = Journal::open(root, options()).unwrap();
    let git_dir = journal.git_dir().to_path_buf();
    // The dead writer had written its file, recorded its intent, and taken both locks.
    fs::create_dir_all(root.join("routines")).unwrap();
    fs::write(root.join("routines/dead.md"), "dead writer's content").unwrap();
    plant_intent(&git_dir, &["routines/dead.md"], "add routine dead");
    thread::sleep(Duration::from_millis(20));
    fs::write(git_dir.join("index.lock"), "").unwrap();
    fs::write(git_dir.join("refs/heads/main.lock"), "").unwrap();
    fs::write(git_dir.join("objects/tmp_object_git2_abc"), "partial").unwrap();

    journal
        .write("routines/next.md", b"next", &WriteOptions::new(), "add routine next")
        .unwrap()
        .unwrap();
    let log = git(root, &["log", "--format=%s"]);
    assert_eq!(log, "add routine next\nadd routine dead\njournal: update .gitignore\n");
    assert_eq!(git(root, &["show", "HEAD:routines/dead.md"]), "dead writer's content");
    for leftover in [
        "index.lock",
        "refs/heads/main.lock",
        "objects/tmp_object_git2_abc",
        "dotdir-journal.intent",
    ] {
        assert!(!git_dir.join(leftover).exists(), "{leftover} is still there");
    }
    assert_status_clean(root);
    assert_fsck_clean(root);
}

#[test]
fn a_lock_older_than_the_dead_writers_intent_is_not_its_to_remove() {
    // index.lock existed before the dead writer recorded its intent: a live foreign `git` holds
    // it, so it stays, and the commit reports the lock after its retry budget.
    let dir = tempfile::tempdir().unwrap();
    let retry = RetryPolicy { max_wait: Duration::from_millis(100), ..Default::default() };
    let journal = Journal::open(dir.path(), options().retry(retry)).unwrap();
    let git_dir = journal.git_dir().to_path_buf();
    fs::write(git_dir.join("index.lock"), "foreign").unwrap();
    thread::sleep(Duration::from_millis(20));
    plant_intent(&git_dir, &[], "nothing");
    let err = journal.write("a.txt", b"a", &WriteOptions::new(), "a").unwrap_err();
    assert!(err.is_locked(), "{err}");
    assert_eq!(fs::read_to_string(git_dir.join("index.lock")).unwrap(), "foreign");

    // A writer that died while *waiting* for a foreign lock held none: nothing is removed.
    fs::remove_file(git_dir.join("index.lock")).unwrap();
    let waiting = serde_json::json!({ "pid": 1, "phase": "wait", "message": "m", "paths": [] });
    fs::write(git_dir.join("dotdir-journal.intent"), waiting.to_string()).unwrap();
    thread::sleep(Duration::from_millis(20));
    fs::write(git_dir.join("refs/heads/main.lock"), "foreign, newer than the record").unwrap();
    let err = journal.write("a.txt", b"a", &WriteOptions::new(), "a").unwrap_err();
    assert!(err.is_locked(), "{err}");
    assert!(git_dir.join("refs/heads/main.lock").exists());
}

#[test]
fn a_foreign_lock_older_than_the_timeout_is_removed() {
    // A `git` killed by its user left index.lock: removed once older than the timeout.
    let dir = tempfile::tempdir().unwrap();
    let options = options().foreign_lock_timeout(Some(Duration::from_millis(100)));
    let journal = Journal::open(dir.path(), options).unwrap();
    let lock = journal.git_dir().join("index.lock");
    fs::write(&lock, "").unwrap();
    thread::sleep(Duration::from_millis(150));
    assert!(journal.write("a.txt", b"a", &WriteOptions::new(), "a").unwrap().is_some());
    assert!(!lock.exists());
    assert_status_clean(dir.path());
}

const FSYNC_TEST: &str = "crash::the_fsync_switch_turns_on_in_a_process_and_commits_work";

/// Child role `fsync` (of [`FSYNC_TEST`]): the default options turn libgit2's fsync on
/// (process-wide, hence a child), and commits still work; `DOTDIR_FSYNC=off` keeps it off for
/// comparison.
#[allow(clippy::print_stdout, clippy::unwrap_used, reason = "a test's child role")]
fn fsync_writer() {
    let on = std::env::var("DOTDIR_FSYNC").as_deref() != Ok("off");
    assert!(!dotdir_git_journal::fsync_gitdir_enabled());
    let dir = std::env::var("DOTDIR_DIR").unwrap();
    let journal = Journal::open(
        &dir,
        options().durability(if on {
            dotdir_git_journal::Durability::Full
        } else {
            dotdir_git_journal::Durability::None
        }),
    )
    .unwrap();
    assert_eq!(dotdir_git_journal::fsync_gitdir_enabled(), on);
    for i in 0..3 {
        assert!(
            journal
                .write("a.txt", format!("{i}").as_bytes(), &no_fsync(), "fsynced")
                .unwrap()
                .is_some()
        );
    }
}

#[test]
fn the_fsync_switch_turns_on_in_a_process_and_commits_work() {
    if child_role().as_deref() == Some("fsync") {
        return fsync_writer();
    }
    let dir = tempfile::tempdir().unwrap();
    let status = child(FSYNC_TEST, "fsync")
        .env("DOTDIR_DIR", dir.path())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(git(dir.path(), &["rev-list", "--count", "HEAD"]), "4\n");
    assert_fsck_clean(dir.path());
}
