//! Commit time against the number of tracked files: the cost depends on the changed path, not
//! on the repository (the index is read and written whole, as `git add` does; that part grows).

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use dotdir_atomic_store::WriteOptions;
use dotdir_git_journal::Journal;

use crate::common::{assert_status_clean, git_ok, options};

/// A repository of `files` tracked files in directories of 100, made with the `git` command line.
fn repository(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..files {
        let sub = dir.path().join(format!("d{:03}", i / 100));
        if i % 100 == 0 {
            fs::create_dir_all(&sub).unwrap();
        }
        fs::write(sub.join(format!("f{i:05}.md")), format!("file {i}\n")).unwrap();
    }
    git_ok(dir.path(), &["init", "-q", "-b", "main"]);
    git_ok(dir.path(), &["add", "-A"]);
    git_ok(dir.path(), &["commit", "-q", "-m", "fixture"]);
    dir
}

/// Median time of `rounds` one-file write-and-commit calls.
fn median_commit(root: &Path, rounds: usize) -> Duration {
    let journal = Journal::open(root, options()).unwrap();
    let mut times: Vec<Duration> = (0..rounds)
        .map(|i| {
            let started = Instant::now();
            let id = journal
                .write(
                    "d000/f00000.md",
                    format!("change {i}\n").as_bytes(),
                    &WriteOptions::new().durability(dotdir_atomic_store::Durability::None),
                    "change",
                )
                .unwrap();
            assert!(id.is_some());
            started.elapsed()
        })
        .collect();
    times.sort();
    assert_status_clean(root);
    times[rounds / 2]
}

#[test]
fn commit_time_from_10_to_10000_tracked_files() {
    let small = repository(10);
    let large = repository(10_000);
    let small_time = median_commit(small.path(), 15);
    let large_time = median_commit(large.path(), 15);
    let ratio = large_time.as_secs_f64() / small_time.as_secs_f64();
    println!(
        "journal: one-file commit, median of 15 (debug build, no fsync): 10 files {small_time:.2?}, \
         10,000 files {large_time:.2?} ({ratio:.1}x for 1000x the files)"
    );
    // Linear work would be ~1000x; only the index read/write grows with the repository.
    assert!(ratio < 100.0, "commit time grew {ratio:.1}x from 10 to 10,000 files");
}
