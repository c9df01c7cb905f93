//! The background push against a remote that accepts and never answers (a blackholed port): its
//! `git` children are killed and reaped when the journal is dropped and when they run past the
//! timeout, one push runs at a time per directory, and nothing outlives the process.

use std::{
    net::TcpListener,
    path::Path,
    time::{Duration, Instant},
};

use dotdir_git_journal::{Journal, push_status};
use dotdir_test_support::{child, child_role, env, report};

use crate::common::{no_fsync, options};

/// The threads of this process named `dotdir-auto-push` (the kernel keeps 15 bytes of a name).
fn auto_push_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == &"dotdir-auto-push"[..15])
        .count()
}

/// `(pid, ppid, comm)` of every process.
fn processes() -> Vec<(u32, u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = stat[open + 1..close].to_owned();
        let ppid = stat[close + 1..].split_whitespace().nth(1).and_then(|p| p.parse().ok());
        found.push((pid, ppid.unwrap_or(0), comm));
    }
    found
}

/// The `git` children of this process (running or not yet reaped).
fn git_children() -> usize {
    let me = std::process::id();
    processes().iter().filter(|(_, ppid, comm)| *ppid == me && comm == "git").count()
}

/// The `git ls-remote <url>` children of this process: the command that waits for the remote's
/// answer (not `ls-remote --get-url`, which only resolves the URL and exits).
fn stuck_listings() -> usize {
    let me = std::process::id();
    processes()
        .iter()
        .filter(|(pid, ppid, comm)| {
            let line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let line = String::from_utf8_lossy(&line);
            *ppid == me
                && comm == "git"
                && line.contains("ls-remote")
                && !line.contains("--get-url")
        })
        .count()
}

/// The processes anywhere whose command line names `dir` (`git -C <dir> …`).
fn processes_naming(dir: &Path) -> usize {
    let needle = dir.as_os_str().as_encoded_bytes();
    processes()
        .iter()
        .filter(|(pid, _, _)| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| line.windows(needle.len()).any(|w| w == needle))
        })
        .count()
}

/// Waits up to `limit` for `done`; whether it happened.
fn within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if done() {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A journal of `dir` that pushes in the background to a remote that never answers.
fn blackholed(dir: &Path, port: &str) -> Journal {
    let journal = Journal::open(dir, options().auto_push("origin")).unwrap();
    journal.set_remote_url("origin", &format!("git://127.0.0.1:{port}/x.git")).unwrap();
    journal
}

/// The child: 10 open/commit/drop cycles, each with its push stuck in `git`, then two journals
/// of one directory at once, then a journal left to the end of the process with its push stuck.
fn cycles() {
    let (dir, port) = (env("DOTDIR_DIR"), env("DOTDIR_PORT"));
    let dir = Path::new(&dir);
    for cycle in 0..10 {
        let journal = blackholed(dir, &port);
        let text = format!("cycle {cycle}");
        journal.write("routines/a.md", text.as_bytes(), &no_fsync(), &text).unwrap();
        assert!(within(Duration::from_secs(30), || stuck_listings() == 1), "no push started");
        drop(journal);
        // Dropped: the push was killed, reaped and recorded as interrupted.
        assert_eq!(git_children(), 0, "cycle {cycle}: a git child outlived its journal");
        let status = push_status(&dir.join(".git")).unwrap();
        assert!(!status.ok && status.error.contains("interrupted"), "{status:?}");
    }
    // Two journals of one directory: one push at a time, ended only with the last journal.
    let (first, second) = (blackholed(dir, &port), blackholed(dir, &port));
    first.write("routines/a.md", b"first", &no_fsync(), "first").unwrap();
    second.write("routines/b.md", b"second", &no_fsync(), "second").unwrap();
    assert!(within(Duration::from_secs(30), || stuck_listings() == 1), "no push started");
    for _ in 0..25 {
        assert!(git_children() <= 1, "two pushes of one directory at once");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(first);
    assert_eq!(stuck_listings(), 1, "the other journal's push was killed");
    assert_eq!(auto_push_threads(), 1);
    drop(second);
    let (threads, gits) = (auto_push_threads(), git_children());
    report(&dir.join("counts"), &format!("{threads} {gits}"));
    // Last: a journal still open when the process ends normally, its push stuck.
    let last = blackholed(dir, &port);
    last.write("routines/a.md", b"last", &no_fsync(), "last").unwrap();
    assert!(within(Duration::from_secs(30), || stuck_listings() == 1), "no push started");
    report(&dir.join("stuck"), "");
}

#[test]
fn a_stuck_background_push_ends_with_its_journal_and_its_process() {
    if child_role().as_deref() == Some("cycles") {
        return cycles();
    }
    // Accepts connections (the kernel's backlog) and never answers.
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blackhole.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let output =
        child("auto_push::a_stuck_background_push_ends_with_its_journal_and_its_process", "cycles")
            .env("DOTDIR_DIR", dir.path())
            .env("DOTDIR_PORT", port.to_string())
            .output()
            .unwrap();
    assert!(
        output.status.success(),
        "the child failed: {}",
        String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr)
    );
    let counts = std::fs::read_to_string(dir.path().join("counts")).unwrap();
    assert_eq!(counts, "0 0", "dotdir-auto-push threads and git children after the drops");
    assert!(dir.path().join("stuck").exists(), "the last push never started");
    // The child has exited: nothing it started still runs, reparented or not.
    let canonical = dir.path().canonicalize().unwrap();
    assert!(
        within(Duration::from_secs(10), || processes_naming(&canonical) == 0),
        "a git process outlived the process that started it"
    );
    drop(blackhole);
}

#[test]
fn a_background_push_past_its_timeout_is_killed_and_recorded() {
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blackhole.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(
        dir.path(),
        options().auto_push("origin").git_timeout(Some(Duration::from_millis(300))),
    )
    .unwrap();
    journal.set_remote_url("origin", &format!("git://127.0.0.1:{port}/x.git")).unwrap();
    journal.write("routines/a.md", b"a", &no_fsync(), "add a").unwrap();
    // The journal is still open: the timeout, not a drop, ended the push.
    assert!(
        within(Duration::from_secs(30), || push_status(&dir.path().join(".git"))
            .is_some_and(|s| !s.ok && s.error.contains("timed out"))),
        "no timed-out push recorded: {:?}",
        push_status(&dir.path().join(".git"))
    );
    drop(journal);
    drop(blackhole);
}
