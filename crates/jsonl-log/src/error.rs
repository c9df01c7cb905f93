//! The one error type of the crate: every variant names the path, and I/O errors the step.

use crate::IoError;
use std::{fmt, io, path::PathBuf};

use crate::LineProblem;

/// The step of an append, read or rewrite that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Creating a missing parent directory.
    CreateDir,
    /// Opening the log (or its sidecar) for appending.
    Open,
    /// Opening or taking the sidecar lock `<log>.lock`.
    Lock,
    /// Releasing the sidecar lock.
    Unlock,
    /// Inspecting the log (`lstat`, `fstat`).
    Stat,
    /// Reading the log.
    Read,
    /// Writing a record (or closing off a torn fragment).
    Write,
    /// `fdatasync` of the log.
    Sync,
    /// Truncating a torn tail or a failed partial write.
    Truncate,
    /// Copying a torn or corrupt line into the `<log>.corrupt` sidecar.
    Quarantine,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::CreateDir => "create the directory of",
            Step::Open => "open",
            Step::Lock => "lock",
            Step::Unlock => "unlock",
            Step::Stat => "inspect",
            Step::Read => "read",
            Step::Write => "append to",
            Step::Sync => "fdatasync",
            Step::Truncate => "truncate",
            Step::Quarantine => "quarantine corrupt lines of",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error(transparent)]
    Io(#[from] IoError<Step>),
    /// A record could not be serialised (for example a map with non-string keys).
    #[error("cannot serialise a record for {}", path.display())]
    Encode {
        /// The log.
        path: PathBuf,
        /// serde_json's description.
        #[source]
        source: serde_json::Error,
    },
    /// A record is larger than the log's record cap; nothing was written.
    #[error("a record of {len} bytes is larger than the limit of {limit} bytes of {}", path.display())]
    TooLarge {
        /// The log.
        path: PathBuf,
        /// The size of the serialised line, newline included.
        len: u64,
        /// The configured cap.
        limit: u64,
    },
    /// A strict read met a corrupt line.
    #[error("{} is corrupt: {problem}", path.display())]
    Corrupt {
        /// The log.
        path: PathBuf,
        /// What is wrong and where.
        problem: LineProblem,
    },
    /// A read started past the end of the log: the log was rewritten or truncated since the
    /// offset was taken. Start again from 0.
    #[error("offset {offset} is past the end ({len} bytes) of {}: the log was rewritten", path.display())]
    OffsetPastEnd {
        /// The log.
        path: PathBuf,
        /// The offset asked for.
        offset: u64,
        /// The current length of the log.
        len: u64,
    },
    /// The log exists and is not a regular file (a directory, a symlink, a device).
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The offending path.
        path: PathBuf,
    },
    /// A rewrite through atomic-store failed (the error names the step and the path).
    #[error("rewrite failed")]
    Rewrite(#[from] dotdir_atomic_store::Error),
}

impl Error {
    /// The path the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Io(IoError { path, .. })
            | Error::Encode { path, .. }
            | Error::TooLarge { path, .. }
            | Error::Corrupt { path, .. }
            | Error::OffsetPastEnd { path, .. }
            | Error::NotAFile { path } => path,
            Error::Rewrite(inner) => inner.path(),
        }
    }

    /// The underlying OS error, when there is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Io(IoError { source, .. }) => Some(source),
            Error::Rewrite(inner) => inner.io_error(),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
