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

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error("failed to {step} {}", path.display())]
    Io {
        /// The step that failed.
        step: Step,
        /// The path the step worked on (the target, not the temporary file, unless the step is
        /// about the temporary file itself).
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
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
    pub(crate) fn io(step: Step, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { step, path, source }
    }

    /// The path the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Io { path, .. }
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
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
