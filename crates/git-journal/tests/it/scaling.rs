//! Commit time against the number of tracked files: the cost depends on the changed path, not
//! on the repository (the index is read and written whole, as `git add` does; that part grows).

use std::{
    io::Write,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use dotdir_git_journal::Journal;
use dotdir_test_support::{git, git_command};

use crate::common::{no_fsync, options};

/// A repository of `files` tracked files in directories of 100 (one commit made with
/// `git fast-import`, the index filled with `git read-tree`; the other files need not exist on
/// disk for a one-file commit).
fn repository(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let mut stream = String::from("blob\nmark :1\ndata 5\nfile\n\n");
    stream.push_str(
        "commit refs/heads/main\ncommitter Fixture <f@test.invalid> 0 +0000\ndata 7\nfixture\n",
    );
    for i in 0..files {
        stream.push_str(&format!("M 100644 :1 d{:03}/f{i:05}.md\n", i / 100));
    }
    stream.push('\n');
    let mut import = git_command(dir.path())
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    import.stdin.take().unwrap().write_all(stream.as_bytes()).unwrap();
    assert!(import.wait().unwrap().success());
    git(dir.path(), &["read-tree", "HEAD"]);
    assert_eq!(git(dir.path(), &["ls-files"]).lines().count(), files);
    dir
}

/// Median time of `rounds` one-file write-and-commit calls.
fn median_commit(root: &Path, rounds: usize) -> Duration {
    let journal = Journal::open(root, options().manage_gitignore(false)).unwrap();
    let mut times: Vec<Duration> = (0..rounds)
        .map(|i| {
            let started = Instant::now();
            let id = journal
                .write("d000/f00000.md", format!("change {i}\n").as_bytes(), &no_fsync(), "change")
                .unwrap();
            assert!(id.is_some());
            started.elapsed()
        })
        .collect();
    times.sort();
    // Each commit changed exactly that file on top of the previous one.
    let changed = git(root, &["diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD"]);
    assert_eq!(changed, "d000/f00000.md\n");
    assert_eq!(git(root, &["diff", "--cached", "--name-only"]), "", "the index matches HEAD");
    times[rounds / 2]
}

#[test]
fn commit_time_from_10_to_10000_tracked_files() {
    let small = repository(10);
    let large = repository(10_000);
    let small_time = median_commit(small.path(), 9);
    let large_time = median_commit(large.path(), 9);
    let ratio = large_time.as_secs_f64() / small_time.as_secs_f64();
    println!(
        "journal: one-file commit, median of 9 (this build's profile, no fsync): 10 files {small_time:.2?}, \
         10,000 files {large_time:.2?} ({ratio:.1}x for 1000x the files)"
    );
    // Linear work would be ~1000x; only the index read/write grows with the repository.
    assert!(ratio < 100.0, "commit time grew {ratio:.1}x from 10 to 10,000 files");
}
