//! The harness library under the tasks: child processes ([`child`]), `LD_PRELOAD` shims
//! ([`preload`]), scratch directories and loop-mounted filesystems ([`scratch`]), the public write
//! operations the fault harnesses drive ([`ops`]) and the directory snapshots they compare
//! ([`snapshot`]). The tasks (`faults`, `accounts`, `hostile`, `torture`, `powercut`, `coarse`,
//! `fuzz`, `python`, `bench`) are thin on top.

use std::path::{Path, PathBuf};

pub(crate) mod child;
pub(crate) mod ops;
pub(crate) mod preload;
pub(crate) mod scratch;
pub(crate) mod snapshot;

/// What a task that depends on the machine did: ran, or could not run (the reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TaskOutcome {
    /// It ran (and passed: a failure is an `Err`).
    Ran,
    /// It could not run here: a missing tool, no root, no loop device.
    Skipped(String),
}

/// The cargo target directory (`CARGO_TARGET_DIR`, else `<workspace>/target`).
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("target"), |root| root.join("target")),
    }
}
