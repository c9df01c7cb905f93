//! git-journal: commit one changed file in repositories of 10, 1,000 and 10,000 tracked files
//! with 10,000 commits of history, beside the reference's way (`git add <file>` + `git commit -m`
//! subprocesses) and the floor (a plain git2 `add_path` + `write_tree` + `commit`).
//!
//! The repositories are built once per run with `git fast-import` (seconds, not minutes), in
//! directories of 100 files. All three contenders commit to the same repository one after the
//! other; changing the file is set-up, outside the timing. `gc.auto` is 0 so that a `git commit`
//! never starts a collection in the middle of the measurement. The journal uses its defaults
//! (libgit2's fsync of the git directory on, as the ollim layout has it); that switch is
//! process-wide, so the git2 floor fsyncs the same objects, index and ref. The `git` command
//! line keeps git's own defaults (`core.fsync`: packs and refs, not loose objects or the index).
//!
//! The `_nosync` groups repeat the measurement with libgit2's fsync switched off for the journal
//! and the floor (the `git` command line unchanged): the cost of the commit itself, without the
//! five or six `fsync`s that dominate on a disk where one takes about a millisecond.
//!
//! `DOTDIR_BENCH_HISTORY` sets the number of commits of history (default 10,000).

use std::{
    fmt::Write as _,
    io::Write as _,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dotdir_git_journal::{Journal, JournalOptions};

const CHANGED: &str = "d000/f00000.md";

fn file_path(i: usize) -> String {
    format!("d{:03}/f{i:05}.md", i / 100)
}

/// A `git` command in `dir` that reads no user or system configuration.
fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    command
}

fn git_ok(dir: &Path, args: &[&str]) {
    let out = git(dir).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// The fast-import stream: one commit adding `files` files, then `history - 1` commits that
/// each change one of them.
fn fast_import_stream(files: usize, history: usize) -> Vec<u8> {
    let mut stream = String::with_capacity(files * 80 + history * 200);
    let data = |stream: &mut String, text: &str| {
        let _ = write!(stream, "data {}\n{text}\n", text.len());
    };
    for commit in 0..history {
        let _ = writeln!(stream, "commit refs/heads/main");
        let _ = writeln!(
            stream,
            "committer Bench <bench@test.invalid> {} +0000",
            1_700_000_000 + commit
        );
        if commit == 0 {
            data(&mut stream, "initial import");
            for i in 0..files {
                let _ = writeln!(stream, "M 100644 inline {}", file_path(i));
                data(&mut stream, &format!("file {i}\n"));
            }
        } else {
            let i = commit % files;
            data(&mut stream, &format!("edit {}", file_path(i)));
            let _ = writeln!(stream, "M 100644 inline {}", file_path(i));
            data(&mut stream, &format!("file {i} revision {commit}\n"));
        }
    }
    stream.into_bytes()
}

/// A repository of `files` tracked files and `history` commits, checked out.
fn repository(parent: &Path, files: usize, history: usize) -> std::path::PathBuf {
    let dir = parent.join(format!("repo-{files}"));
    std::fs::create_dir_all(&dir).expect("create repo dir");
    git_ok(&dir, &["init", "-q", "-b", "main"]);
    git_ok(&dir, &["config", "user.name", "Bench"]);
    git_ok(&dir, &["config", "user.email", "bench@test.invalid"]);
    git_ok(&dir, &["config", "gc.auto", "0"]);
    let mut import = git(&dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    import
        .stdin
        .take()
        .expect("piped")
        .write_all(&fast_import_stream(files, history))
        .expect("feed fast-import");
    assert!(import.wait().expect("wait").success(), "git fast-import failed");
    git_ok(&dir, &["reset", "-q", "--hard", "main"]);
    dir
}

fn commit_one(c: &mut Criterion) {
    let history = std::env::var("DOTDIR_BENCH_HISTORY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000usize);
    let temp = tempfile::tempdir_in(".").expect("a temp dir on the disk under test");
    let sizes = [10usize, 1_000, 10_000];
    let repositories: Vec<_> =
        sizes.iter().map(|&files| repository(temp.path(), files, history)).collect();
    for fsync in [true, false] {
        dotdir_git_journal::set_fsync_gitdir(fsync).expect("libgit2 fsync switch");
        for (&files, dir) in sizes.iter().zip(&repositories) {
            let suffix = if fsync { "" } else { "_nosync" };
            commit_group(c, &format!("journal_commit_1_of_{files}{suffix}"), dir, fsync);
        }
    }
}

fn commit_group(c: &mut Criterion, name: &str, dir: &Path, fsync: bool) {
    let target = dir.join(CHANGED);
    let mut revision = 0u64;
    let mut change = || {
        revision += 1;
        std::fs::write(&target, format!("changed {revision}\n")).expect("change the file");
    };

    let mut group = dotdir_benches::group(c, name, Duration::from_secs(3), 10);

    let journal = Journal::open(
        dir,
        JournalOptions::new().durability(if fsync {
            dotdir_atomic_store::Durability::Full
        } else {
            dotdir_atomic_store::Durability::None
        }),
    )
    .expect("open journal");
    group.bench_function("ours", |b| {
        b.iter_batched(
            &mut change,
            |()| {
                let id = journal.commit_path(CHANGED, "auto: write d000/f00000.md");
                assert!(id.expect("commit").is_some());
            },
            BatchSize::PerIteration,
        )
    });
    drop(journal);

    group.bench_function("peer:git-cli", |b| {
        b.iter_batched(
            &mut change,
            |()| {
                git_ok(dir, &["add", CHANGED]);
                git_ok(dir, &["commit", "-q", "-m", "auto: write d000/f00000.md"]);
            },
            BatchSize::PerIteration,
        )
    });

    let repo = git2::Repository::open(dir).expect("open with git2");
    let signature = git2::Signature::now("Bench", "bench@test.invalid").expect("signature");
    group.bench_function("floor", |b| {
        b.iter_batched(
            &mut change,
            |()| {
                let mut index = repo.index().expect("index");
                index.add_path(Path::new(CHANGED)).expect("add_path");
                index.write().expect("write index");
                let tree_id = index.write_tree().expect("write_tree");
                let tree = repo.find_tree(tree_id).expect("tree");
                let parent = repo.head().expect("head").peel_to_commit().expect("commit");
                let _ = repo
                    .commit(
                        Some("HEAD"),
                        &signature,
                        &signature,
                        "auto: write d000/f00000.md",
                        &tree,
                        &[&parent],
                    )
                    .expect("commit");
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// A commit with the background push on, to a remote that accepts connections and never
/// answers (a blackholed port: a listener that never accepts), against the same commit without
/// it (the floor). The push must cost the committer nothing but a wake-up.
fn commit_with_auto_push(c: &mut Criterion) {
    let temp = tempfile::tempdir_in(".").expect("a temp dir on the disk under test");
    let dir = repository(temp.path(), 10, 100);
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").expect("a blackhole listener");
    let port = blackhole.local_addr().expect("its port").port();
    let options = || JournalOptions::new().durability(dotdir_atomic_store::Durability::None);
    let plain = Journal::open(&dir, options()).expect("open journal");
    let pushing = Journal::open(&dir, options().auto_push("blackhole")).expect("open journal");
    pushing
        .set_remote_url("blackhole", &format!("git://127.0.0.1:{port}/x.git"))
        .expect("remember the remote");
    let target = dir.join(CHANGED);
    let mut revision = 0u64;
    // One commit of `journal`, timed.
    let mut commit = |journal: &Journal| {
        revision += 1;
        std::fs::write(&target, format!("changed {revision}\n")).expect("change the file");
        let started = std::time::Instant::now();
        let id = journal.commit_path(CHANGED, "auto: write d000/f00000.md");
        let took = started.elapsed();
        assert!(id.expect("commit").is_some());
        took
    };
    // A fresh repository gets faster for seconds (the disk writes back what building it
    // dirtied): settle first, so the order of the two functions does not decide the ratio.
    let settling = std::time::Instant::now();
    while settling.elapsed() < Duration::from_secs(10) {
        let _ = commit(&plain);
        let _ = commit(&pushing);
    }
    let mut group =
        dotdir_benches::group(c, "journal_commit_auto_push_blackholed", Duration::from_secs(3), 10);
    // Paired: every iteration commits once with each journal and times one of them, so both
    // functions see the same disk (its writeback drifts over a run) and differ only in what
    // they time.
    let mut paired = |name: &str, timed: &Journal, other: &Journal| {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let _ = commit(other);
                        commit(timed)
                    })
                    .sum()
            })
        });
    };
    paired("ours", &pushing, &plain);
    paired("floor", &plain, &pushing);
    group.finish();
    drop((plain, pushing, blackhole));
}

criterion_group!(benches, commit_one, commit_with_auto_push);
criterion_main!(benches);
