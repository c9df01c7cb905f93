//! Integration tests of dotdir-pidlock: formats, probe, symlinks, start races, kills, restarts.

// clippy.toml allows unwrap in `#[test]` functions only; the child roles and helpers are tests too.
#![expect(clippy::unwrap_used, reason = "test helpers: a failing unwrap says where")]

mod basics;
mod multiprocess;
mod restart;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// The role this process plays when a test spawned it as a child.
pub(crate) fn child_role() -> Option<String> {
    std::env::var("DOTDIR_CHILD").ok()
}

/// A command that re-runs this test binary as a child playing `role` inside the test `test`
/// (a full path such as `multiprocess::start_race`).
pub(crate) fn child(test: &str, role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary has a path"));
    command.args([test, "--exact", "--nocapture", "--test-threads=1"]).env("DOTDIR_CHILD", role);
    command
}

/// How much work the slow tests do: `DOTDIR_SCALE` multiplies the CI default.
pub(crate) fn scale(ci_default: usize) -> usize {
    let factor: f64 =
        std::env::var("DOTDIR_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((ci_default as f64) * factor).max(1.0) as usize
}

/// An environment variable a child needs.
pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set for the child"))
}

/// Waits until `path` exists (a child's "ready" marker), at most `limit`.
pub(crate) fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} did not appear within {limit:?}", path.display());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Writes a marker or result file for the parent (rename, so the parent never reads half).
pub(crate) fn report(path: &Path, text: &str) {
    let temp = PathBuf::from(format!("{}.tmp{}", path.display(), std::process::id()));
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// The state letter of a live process in `/proc/<pid>/stat`, and its pending-signal masks.
pub(crate) fn proc_state(pid: u32) -> (char, String) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let state = stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let pending = status
        .lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .collect::<Vec<_>>()
        .join(" ");
    (state, pending)
}

/// A string in this test binary's cmdline (its file name): the "program" of holders it spawns.
pub(crate) fn test_program() -> String {
    let exe = std::env::current_exe().unwrap();
    exe.file_name().unwrap().to_string_lossy().into_owned()
}

/// Serialises the heavy multi-process tests of this binary, so that the timings one of them
/// measures are not inflated by the eight starters of another on a two-core machine.
pub(crate) fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
