//! Several processes spending from one budget: the cross-process read-modify-write never grants
//! more than there is. The test binary spawns itself as the children (`DOTDIR_CHILD`).
//!
//! `DOTDIR_PING_BUCKET_PROCS` (default 8) and `DOTDIR_PING_BUCKET_TRIES` (default 1,000 per
//! process) size the run.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use dotdir_ping_bucket::PingBudget;
use jiff::tz::TimeZone;

const CHILD_ROLE: &str = "ping-bucket-try-use";
const TEST_NAME: &str = "concurrency::processes_grant_exactly_the_capacity";
const CAPACITY: u32 = 100;
/// About 8,000 years per ping: no refill during the test.
const RATE: u32 = u32::MAX;

fn knob(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn budget(path: &Path) -> PingBudget {
    PingBudget::new(path, TimeZone::UTC).defaults(CAPACITY, RATE).unwrap()
}

/// The child: wait for the start signal, try `tries` times, print the number of grants.
fn child() {
    let path = PathBuf::from(std::env::var("DOTDIR_PING_BUCKET_PATH").unwrap());
    let go = PathBuf::from(std::env::var("DOTDIR_PING_BUCKET_GO").unwrap());
    let tries = knob("DOTDIR_PING_BUCKET_TRIES", 1000);
    let budget = budget(&path);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !go.exists() {
        assert!(Instant::now() < deadline, "no start signal");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut grants = 0u32;
    for _ in 0..tries {
        if budget.try_use().unwrap() {
            grants += 1;
        }
    }
    println!("grants={grants}");
}

#[test]
fn processes_grant_exactly_the_capacity() {
    if std::env::var("DOTDIR_CHILD").as_deref() == Ok(CHILD_ROLE) {
        child();
        return;
    }
    let procs = knob("DOTDIR_PING_BUCKET_PROCS", 8);
    let tries = knob("DOTDIR_PING_BUCKET_TRIES", 1000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/ping_budget.json");
    let go = dir.path().join("go");
    let state = budget(&path).reset().unwrap();
    assert_eq!(state.available(), f64::from(CAPACITY));

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..procs)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", TEST_NAME, "--nocapture", "--test-threads", "1"])
                .env("DOTDIR_CHILD", CHILD_ROLE)
                .env("DOTDIR_PING_BUCKET_PATH", &path)
                .env("DOTDIR_PING_BUCKET_GO", &go)
                .env("DOTDIR_PING_BUCKET_TRIES", tries.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    std::fs::write(&go, b"").unwrap();
    let mut per_child = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // libtest prints "test … ... " before the child's output on the same line.
        let grants: u32 = stdout
            .split("grants=")
            .nth(1)
            .unwrap_or_else(|| panic!("no grants in {stdout}"))
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap();
        per_child.push(grants);
    }
    let elapsed = started.elapsed();
    let total: u32 = per_child.iter().sum();
    println!(
        "{procs} procs × {tries} try_use = {} attempts, {total} grants {per_child:?}, {elapsed:.2?}",
        procs * tries
    );
    assert_eq!(total, CAPACITY.min(procs * tries), "grants per process: {per_child:?}");
    let state = budget(&path).state().unwrap();
    assert_eq!(state.daily_used(), total, "every grant is persisted");
    assert!(state.available() < 1.0, "{}", state.available());
}

#[test]
fn try_use_waits_for_the_sidecar_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ping_budget.json");
    let guard = dotdir_atomic_store::lock(&path).unwrap();
    assert!(guard.path().ends_with("ping_budget.json.lock"));
    let (done, finished) = std::sync::mpsc::channel();
    let spender = {
        let path = path.clone();
        std::thread::spawn(move || {
            let granted = budget(&path).try_use().unwrap();
            done.send(granted).unwrap();
        })
    };
    assert!(
        finished.recv_timeout(Duration::from_millis(300)).is_err(),
        "try_use must not proceed while another holder has the lock"
    );
    assert!(!path.exists());
    drop(guard);
    assert!(finished.recv_timeout(Duration::from_secs(10)).unwrap());
    spender.join().unwrap();
    assert_eq!(budget(&path).state().unwrap().daily_used(), 1);
}
