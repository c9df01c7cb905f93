//! Restarts: 1,000 acquire/publish/release cycles under a concurrent reader, and `exec`.

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use dotdir_pidlock::{PidLock, Previous};

use crate::{child, child_role, env, heavy, report, scale, test_program, wait_for};

/// What a reader saw: complete records, missing files, and anything else (empty or partial).
#[derive(Debug, Default)]
struct Seen {
    complete: usize,
    missing: usize,
    bad: Vec<Vec<u8>>,
}

fn is_complete(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else { return false };
    let Some(body) = text.strip_suffix('\n') else { return false };
    let lines: Vec<&str> = body.split('\n').collect();
    matches!(lines.len(), 1 | 2)
        && lines.iter().all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads the record until `stop` exists; creates `torn` at the first empty or partial read.
fn read_loop(path: &Path, stop: &Path, torn: &Path) -> Seen {
    let mut seen = Seen::default();
    let mut round = 0u64;
    loop {
        round += 1;
        if round.is_multiple_of(16) && stop.exists() {
            return seen;
        }
        match std::fs::read(path) {
            Ok(bytes) if is_complete(&bytes) => seen.complete += 1,
            Ok(bytes) => {
                if seen.bad.is_empty() {
                    std::fs::write(torn, &bytes).unwrap();
                }
                seen.bad.push(bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => seen.missing += 1,
            Err(e) => panic!("read failed: {e}"),
        }
        // Leave the writer some CPU on a busy two-core machine.
        std::thread::sleep(Duration::from_micros(50));
    }
}

fn reader_child() {
    let path = PathBuf::from(env("DOTDIR_PATH"));
    let stop = PathBuf::from(env("DOTDIR_STOP"));
    report(Path::new(&env("DOTDIR_READY")), "ready");
    let seen = read_loop(&path, &stop, Path::new(&env("DOTDIR_TORN")));
    report(
        Path::new(&env("DOTDIR_RESULT")),
        &format!("{} {} {}", seen.complete, seen.missing, seen.bad.len()),
    );
}

/// Calls `writer` (with the path of the reader's "seen torn" marker) until it returns `false`,
/// while a reader process reads the record; returns (complete, missing, bad) reads.
fn with_reader(
    dir: &Path,
    path: &Path,
    mut writer: impl FnMut(&Path) -> bool,
) -> (usize, usize, usize) {
    let (ready, stop, result) = (dir.join("ready"), dir.join("stop"), dir.join("result"));
    let torn = dir.join("torn");
    let mut reader = child("restart::restart_cycles_never_show_a_torn_record", "reader")
        .env("DOTDIR_PATH", path)
        .env("DOTDIR_STOP", &stop)
        .env("DOTDIR_READY", &ready)
        .env("DOTDIR_RESULT", &result)
        .env("DOTDIR_TORN", &torn)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&ready, Duration::from_secs(60));
    while writer(&torn) {}
    std::fs::write(&stop, b"").unwrap();
    assert!(reader.wait().unwrap().success());
    let text = std::fs::read_to_string(&result).unwrap();
    let counts: Vec<usize> = text.split(' ').map(|n| n.parse().unwrap()).collect();
    (counts[0], counts[1], counts[2])
}

#[test]
fn restart_cycles_never_show_a_torn_record() {
    if child_role().as_deref() == Some("reader") {
        return reader_child();
    }
    let _serial = heavy();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".omicos/serve.pid");
    let cycles = scale(1000);
    let lock = PidLock::new(&path);
    let mut done = 0;
    let start = Instant::now();
    let (complete, missing, bad) = with_reader(dir.path(), &path, |_| {
        let mut guard = lock.acquire().unwrap();
        guard.set_payload(&[(8000 + done % 1000).to_string()]).unwrap();
        guard.release().unwrap();
        done += 1;
        done < cycles
    });
    println!(
        "restart cycles: {cycles} acquire/set_payload/release cycles in {:?}; concurrent reader: \
         {complete} complete records, {missing} absent, {bad} empty or partial",
        start.elapsed()
    );
    assert_eq!(bad, 0);
    assert!(complete > 0, "the reader saw no record at all: the test proves nothing");
}

#[test]
fn negative_control_in_place_writes_are_seen_torn() {
    // The same reader catches Python's `write_text` (truncate, then write): the test above can
    // fail.
    if child_role().as_deref() == Some("reader") {
        return reader_child();
    }
    let _serial = heavy();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    std::fs::write(&path, b"1\n2\n").unwrap();
    let start = Instant::now();
    let mut writes = 0u64;
    let (_, _, bad) = with_reader(dir.path(), &path, |torn| {
        for _ in 0..100 {
            std::fs::write(&path, format!("{}\n{}\n", 100_000 + writes, 8000 + writes % 1000))
                .unwrap();
            writes += 1;
        }
        // Until the reader has seen a torn record, bounded in time.
        !torn.exists() && start.elapsed() < Duration::from_secs(20)
    });
    println!("negative control: {writes} in-place writes, reader saw {bad} empty or partial reads");
    assert!(bad > 0, "in-place writes were never seen torn: the reader cannot fail");
}

/// First image: acquire, publish, then exec itself with the guard alive.
fn exec_child() {
    let path = PathBuf::from(env("DOTDIR_PATH"));
    let mut guard = PidLock::new(&path).program(test_program()).acquire().unwrap();
    guard.set_payload(&["before-exec"]).unwrap();
    let err = child("restart::exec_restart_keeps_the_lock", "after-exec")
        .env("DOTDIR_PATH", &path)
        .env("DOTDIR_RESULT", env("DOTDIR_RESULT"))
        .exec();
    panic!("exec failed: {err}");
}

/// Second image (same pid): the record still names it; acquire takes over.
fn after_exec_child() {
    let path = PathBuf::from(env("DOTDIR_PATH"));
    let before = std::fs::read_to_string(&path).unwrap();
    let mut guard = PidLock::new(&path).program(test_program()).acquire().unwrap();
    assert_eq!(guard.previous(), Previous::Own(std::process::id()));
    guard.set_payload(&["after-exec"]).unwrap();
    report(
        Path::new(&env("DOTDIR_RESULT")),
        &format!("{} {}", std::process::id(), before.replace('\n', "|")),
    );
    guard.release().unwrap();
}

#[test]
fn exec_restart_keeps_the_lock() {
    match child_role().as_deref() {
        Some("exec") => return exec_child(),
        Some("after-exec") => return after_exec_child(),
        _ => {}
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    let result = dir.path().join("result");
    let status = child("restart::exec_restart_keeps_the_lock", "exec")
        .env("DOTDIR_PATH", &path)
        .env("DOTDIR_RESULT", &result)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = status.id();
    let mut status = status;
    assert!(status.wait().unwrap().success());
    let text = std::fs::read_to_string(&result).unwrap();
    assert_eq!(text, format!("{pid} {pid}|before-exec|"));
    assert!(!path.exists(), "the second image released and removed its record");
}
