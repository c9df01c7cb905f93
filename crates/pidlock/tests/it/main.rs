//! Integration tests of dotdir-pidlock: formats, probe, symlinks, start races, kills, restarts.

// clippy.toml allows unwrap in `#[test]` functions only; the child roles and helpers are tests too.
#![expect(clippy::unwrap_used, reason = "test helpers: a failing unwrap says where")]

mod basics;
mod multiprocess;
mod restart;

pub(crate) use dotdir_test_support::{child, child_role, env, report, scale, wait_for};

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
