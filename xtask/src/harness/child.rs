//! The child-process side of the harnesses: spawning `cargo xtask`'s own binary in a child role,
//! and the protocol of the fault-injection child (`xtask faults-child <op> <dir>`, driven by
//! `faults`, `accounts` and `hostile`): the child arms the `LD_PRELOAD` shim just before the call
//! under test and reports through its exit code.

use std::{
    fs,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicBool, Ordering},
};

use anyhow::Result;

use super::{
    ops::Op,
    snapshot::{Snapshot, snapshot},
};

/// A command running this very binary (`current_exe()`) in a child `role` (`faults-child`,
/// `hostile-child`, `torture-child`); the role's own arguments follow.
pub(crate) fn xtask(role: &str) -> Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    let _ = command.arg(role);
    Ok(command)
}

/// Exit code of a child whose operation returned `Err`.
pub(crate) const EXIT_ERR: i32 = 3;
/// Exit code of a child whose setup (before arming) failed.
pub(crate) const EXIT_SETUP: i32 = 4;

static ARMED: AtomicBool = AtomicBool::new(false);
static CHILD_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Arms the shim: from now on intercepted calls are counted (and the k-th fails). Without the
/// shim this is a failed `open` of a path that does not exist.
///
/// First the child records the directory as it is now (after its own setup, such as taking a
/// lock): that is the old version the parent compares with.
pub(crate) fn arm() {
    if let (Some(dir), Some(out)) = (CHILD_DIR.get(), std::env::var_os("DOTDIR_FAULT_OLD"))
        && let Ok(snap) = snapshot(dir, Some(std::process::id()))
    {
        let _ = serde_json::to_vec(&snap).map(|bytes| fs::write(out, bytes));
    }
    ARMED.store(true, Ordering::SeqCst);
    let _ = fs::File::open("/dotdir-fault/arm");
}

/// Disarms the shim: calls after the one under test are neither counted nor failed.
pub(crate) fn disarm() {
    let _ = fs::File::open("/dotdir-fault/disarm");
}

/// Whether the child armed the shim before its operation returned (an `Err` before that is a
/// failed setup).
pub(crate) fn armed() -> bool {
    ARMED.load(Ordering::SeqCst)
}

/// Records the child's directory: [`arm`] snapshots it as the old version.
pub(crate) fn set_dir(dir: &Path) {
    let _ = CHILD_DIR.set(dir.to_path_buf());
}

/// One child run, as the parent saw it.
pub(crate) struct Run {
    /// 0 Ok, 3 Err, anything else a violation.
    pub(crate) outcome: Outcome,
    pub(crate) hit: Option<String>,
    pub(crate) calls: Option<usize>,
    pub(crate) output: Output,
    pub(crate) pid: u32,
    /// The directory as the child saw it just before arming.
    pub(crate) old: Option<Snapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// How a child ended.
pub(crate) enum Outcome {
    Ok,
    Err,
    Setup,
    Crash,
}

/// Runs `op` on `dir` in a fault child, with the shim (library, k, errno) if given; `report` is
/// the shim's report file.
pub(crate) fn spawn(
    op: &Op,
    dir: &Path,
    shim: Option<(&Path, usize, i32)>,
    report: &Path,
) -> Result<Run> {
    let _ = fs::remove_file(report);
    let old = report.with_extension("old");
    let _ = fs::remove_file(&old);
    let home = dir.join(".faults-home");
    let mut command = xtask("faults-child")?;
    command
        .arg(op.name)
        .arg(dir)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("DOTDIR_FAULT_REPORT", report)
        .env("DOTDIR_FAULT_OLD", &old)
        .env_remove("LD_PRELOAD");
    if let Some((library, k, errno)) = shim {
        command
            .env("LD_PRELOAD", library)
            .env("DOTDIR_FAULT_K", k.to_string())
            .env("DOTDIR_FAULT_ERRNO", errno.to_string());
    }
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let output = child.wait_with_output()?;
    let outcome = match (output.status.code(), output.status.signal()) {
        (Some(0), _) => Outcome::Ok,
        (Some(EXIT_ERR), _) => Outcome::Err,
        (Some(EXIT_SETUP), _) => Outcome::Setup,
        _ => Outcome::Crash,
    };
    let lines = fs::read_to_string(report).unwrap_or_default();
    let hit = lines.lines().find(|l| l.starts_with("hit ")).map(str::to_owned);
    let calls =
        lines.lines().find_map(|l| l.strip_prefix("calls ")).and_then(|n| n.trim().parse().ok());
    let old = fs::read(&old).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    Ok(Run { outcome, hit, calls, output, pid, old })
}

/// A run's exit status and stderr, for a report.
pub(crate) fn describe(run: &Run) -> String {
    format!(
        "exit {} ({:?}); stderr: {}",
        run.output.status,
        run.outcome,
        String::from_utf8_lossy(&run.output.stderr).trim()
    )
}
