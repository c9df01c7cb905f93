//! The one error type of the crate: every variant names the step that failed and the path.

use std::{fmt, io, path::PathBuf};

/// The step of a write, read or lock that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Creating a missing parent directory.
    CreateDir,
    /// Creating the temporary file next to the target.
    CreateTemp,
    /// Writing the bytes into the temporary file.
    Write,
    /// Setting the final mode on the temporary file.
    SetMode,
    /// `fsync` of the temporary file.
    SyncFile,
    /// Renaming the temporary file over the target.
    Rename,
    /// Publishing the temporary file without replacing (`link(2)`, or `renameat2` with
    /// `RENAME_NOREPLACE`).
    Link,
    /// Removing the target ([`crate::remove`]).
    Remove,
    /// `fsync` of the directory that holds the target.
    SyncDir,
    /// Reading the target.
    Read,
    /// Inspecting the target (`lstat`).
    Stat,
    /// Opening or taking the sidecar lock.
    Lock,
    /// Removing a leftover temporary file.
    RemoveTemp,
    /// Listing a directory.
    ListDir,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::CreateDir => "create directory",
            Step::CreateTemp => "create temporary file for",
            Step::Write => "write temporary file for",
            Step::SetMode => "set the mode of the temporary file for",
            Step::SyncFile => "fsync temporary file for",
            Step::Rename => "rename temporary file over",
            Step::Link => "link temporary file without replacing",
            Step::Remove => "remove",
            Step::SyncDir => "fsync directory of",
            Step::Read => "read",
            Step::Stat => "inspect",
            Step::Lock => "lock",
            Step::RemoveTemp => "remove temporary file",
            Step::ListDir => "list directory",
        })
    }
}

/// A system call on a path failed: what was being done, the path it was done to, and the
/// operating system's error — kept as `source()`, never repeated in the message. Every dotdir
/// crate's error holds one in its `Io` variant, with the crate's own step type (an enum, or
/// `&'static str`).
///
/// ```
/// use dotdir_atomic_store::{IoError, Step};
///
/// let error = std::fs::read("/nonexistent/x").map_err(IoError::on(Step::Read, "/nonexistent/x"));
/// let error = error.unwrap_err();
/// assert_eq!(error.to_string(), "failed to read /nonexistent/x");
/// assert_eq!(error.source.kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Debug, thiserror::Error)]
#[error("failed to {step} {}", path.display())]
pub struct IoError<S> {
    /// The step that failed.
    pub step: S,
    /// The path the step worked on (for a write: the target, not the temporary file, unless
    /// the step is about the temporary file itself).
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

impl<S> IoError<S> {
    /// For `map_err`: wraps the OS error of `step` on `path`.
    pub fn on(step: S, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| IoError { step, path, source }
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error(transparent)]
    Io(#[from] IoError<Step>),
    /// The target is a symlink and the write policy refuses to replace or follow it.
    #[error("refusing to write {} through a symlink (secrets are never written through links)", path.display())]
    Symlink {
        /// The path that is a symlink.
        path: PathBuf,
    },
    /// The target exists and is not a regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The offending path.
        path: PathBuf,
    },
    /// A file is larger than the configured cap.
    #[error("{} is larger than the limit of {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The configured cap in bytes.
        limit: u64,
    },
    /// A JSON document does not parse or does not have the expected shape.
    #[error("{} is not a valid document", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// serde_json's description, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be serialised (for example a map with non-string keys).
    #[error("cannot serialise the document for {}", path.display())]
    Encode {
        /// The target file.
        path: PathBuf,
        /// serde_json's description.
        #[source]
        source: serde_json::Error,
    },
    /// The path has no file name (`/`, `..`) or no parent directory.
    #[error("{} does not name a file", path.display())]
    InvalidPath {
        /// The offending path.
        path: PathBuf,
    },
}

impl Error {
    /// The path the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Io(IoError { path, .. })
            | Error::Symlink { path }
            | Error::NotAFile { path }
            | Error::TooLarge { path, .. }
            | Error::Decode { path, .. }
            | Error::Encode { path, .. }
            | Error::InvalidPath { path } => path,
        }
    }

    /// The underlying OS error, when there is one (to check for `NotFound`, `StorageFull`, …).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Io(IoError { source, .. }) => Some(source),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `error` and every cause under it, joined by `: ` — each cause once, as the CLI prints them
/// (every error type of the workspace keeps its cause in `source()`, never in its message).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}
