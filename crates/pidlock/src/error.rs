//! The one error type of the crate: every variant names the path, and what failed.

use crate::IoError;
use std::{fmt, path::PathBuf};

/// The step of an acquire, probe, publish or release that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Creating the directory that holds the record.
    CreateDir,
    /// Opening (or creating) the sidecar lock file.
    OpenLock,
    /// Taking the OS lock on the sidecar lock file.
    Lock,
    /// Inspecting a path (`lstat`/`fstat`).
    Stat,
    /// Reading the record.
    ReadRecord,
    /// Writing the holder stamp into the sidecar lock file.
    WriteStamp,
    /// Removing the record on release.
    RemoveRecord,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::CreateDir => "create the directory of",
            Step::OpenLock => "open the lock file",
            Step::Lock => "lock",
            Step::Stat => "inspect",
            Step::ReadRecord => "read the record",
            Step::WriteStamp => "write the holder stamp into",
            Step::RemoveRecord => "remove the record",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process holds the lock: the OS lock (`locked`), or a record naming a live process
    /// that takes no OS lock (the Python bot) and passes the identity checks.
    #[error("{}", held_message(path, *pid, *locked))]
    Held {
        /// The record path.
        path: PathBuf,
        /// The holder's pid, when it is known (a holder that has taken the OS lock but not yet
        /// published its record, on a system without `/proc/locks`, is anonymous).
        pid: Option<u32>,
        /// Whether the holder holds the OS lock (`false`: a holder that takes no OS lock).
        locked: bool,
    },
    /// A system call failed.
    #[error(transparent)]
    Io(#[from] IoError<Step>),
    /// The atomic publish of the record failed.
    #[error("failed to publish the record {}", path.display())]
    Publish {
        /// The record path.
        path: PathBuf,
        /// atomic-store's error (it names the step: temp file, fsync, rename, …).
        #[source]
        source: dotdir_atomic_store::Error,
    },
    /// A symlink is planted at the record or the lock file path; it is refused, never followed.
    #[error("refusing to use {} because it is a symlink", path.display())]
    Symlink {
        /// The path that is a symlink.
        path: PathBuf,
    },
    /// The record or lock file path exists and is not a regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The offending path.
        path: PathBuf,
    },
    /// The payload cannot be written in the record format (a newline inside a line, or any
    /// payload in the bare-pid format).
    #[error("invalid payload for {}: {reason}", path.display())]
    InvalidPayload {
        /// The record path.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The path has no file name (`/`, `..`).
    #[error("{} does not name a file", path.display())]
    InvalidPath {
        /// The offending path.
        path: PathBuf,
    },
}

fn held_message(path: &std::path::Path, pid: Option<u32>, locked: bool) -> String {
    let holder = match pid {
        Some(pid) => format!("pid {pid}"),
        None => "a process that has not published its pid yet".to_owned(),
    };
    let how = if locked { "" } else { " (a running instance that takes no OS lock)" };
    format!("{} is held by {holder}{how}", path.display())
}

impl Error {
    /// The path the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Held { path, .. }
            | Error::Io(IoError { path, .. })
            | Error::Publish { path, .. }
            | Error::Symlink { path }
            | Error::NotAFile { path }
            | Error::InvalidPayload { path, .. }
            | Error::InvalidPath { path } => path,
        }
    }

    /// Whether the error says "another instance holds it" (as opposed to a failure).
    pub fn is_held(&self) -> bool {
        matches!(self, Error::Held { .. })
    }

    /// The holder's pid, for [`Error::Held`].
    pub fn holder_pid(&self) -> Option<u32> {
        match self {
            Error::Held { pid, .. } => *pid,
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
