//! Integration tests of dotdir-atomic-store: concurrency, syscall order, modes, kills, Python bytes.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test helpers fail loudly and tests print what they measured"
)]

mod basics;
mod kill;
mod modes;
mod multiprocess;
mod publish;
mod python_compat;
mod syscalls;

use std::process::Command;

/// The role this process plays when a test spawned it as a child.
pub(crate) fn child_role() -> Option<String> {
    std::env::var("DOTDIR_CHILD").ok()
}

/// A command that re-runs this test binary as a child playing `role` inside the test `test`
/// (a full path such as `multiprocess::counter_with_lock`).
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
