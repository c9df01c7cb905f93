//! Test helpers shared by the dotdir crates' integration tests (not published): the
//! child-process protocol, the size knobs, the `git` command line ([`git`]), file modes
//! ([`mode`], [`set_mode`]) and the committed fixture trees ([`fixtures`]).
//!
//! A multi-process test spawns copies of its own test binary. Each child runs only the test
//! that spawned it ([`child`]), and that test plays the child's part when [`child_role`] says
//! so. The role never makes a test pass on its own: the child exits the process, and only the
//! parent's run is counted.
//!
//! ```no_run
//! use dotdir_test_support::{child, child_role};
//! # fn test() {
//! if child_role().as_deref() == Some("writer") {
//!     // … the child's work …
//!     std::process::exit(0);
//! }
//! let status = child("module::this_test", "writer").status().unwrap();
//! assert!(status.success());
//! # }
//! ```

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly where they are used")]

pub mod fixtures;
mod git;
mod mode;

pub use git::{EMAIL, GitFailed, NAME, git, git_command, git_output, git_with_input, try_git};
pub use mode::{mode, set_mode};

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// The environment variable that names a child's role.
pub const CHILD_ROLE: &str = "DOTDIR_CHILD";

/// The role this process plays when a test spawned it as a child.
pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ROLE).ok()
}

/// A command that re-runs this test binary as a child playing `role` inside the test `test`
/// (a full path such as `multiprocess::start_race`), with its output shown.
pub fn child(test: &str, role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary has a path"));
    command.args([test, "--exact", "--nocapture", "--test-threads=1"]).env(CHILD_ROLE, role);
    command
}

/// An environment variable the parent set for the child.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set for the child"))
}

/// How much work the slow tests do: `DOTDIR_SCALE` multiplies the CI default.
pub fn scale(ci_default: usize) -> usize {
    let factor: f64 =
        std::env::var("DOTDIR_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((ci_default as f64) * factor).max(1.0) as usize
}

/// A size knob from the environment variable `name`, else `default`.
pub fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Waits until `path` exists (a child's "ready" marker), at most `limit`.
pub fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} did not appear within {limit:?}", path.display());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Writes a marker or result file for the parent (by rename, so the parent never reads half).
pub fn report(path: &Path, text: &str) {
    let temp = PathBuf::from(format!("{}.tmp{}", path.display(), std::process::id()));
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}
