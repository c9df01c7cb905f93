//! The one error type of the ollim-bot layout: every variant names what failed and the path.

use crate::IoError;
use std::path::PathBuf;

/// Everything that can go wrong in [`crate::ollim`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `OLLIM_DATA_DIR` (or the home directory) does not give a usable absolute path.
    #[error("invalid data directory {value:?} from {source_name}: {reason}")]
    DataDir {
        /// Where the value came from (`OLLIM_DATA_DIR`, `HOME`).
        source_name: &'static str,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A write, read or lock of a file failed.
    #[error(transparent)]
    Store(#[from] dotdir_atomic_store::Error),
    /// The session history log failed.
    #[error(transparent)]
    Log(#[from] dotdir_jsonl_log::Error),
    /// The single-instance lock failed.
    #[error(transparent)]
    Pid(#[from] dotdir_pidlock::Error),
    /// The ping budget failed.
    #[error(transparent)]
    Budget(#[from] dotdir_ping_bucket::Error),
    /// Git tracking failed.
    #[error(transparent)]
    Git(#[from] dotdir_git_journal::Error),
    /// A spec file or directory failed.
    #[error(transparent)]
    Spec(#[from] dotdir_frontmatter::Error),
    /// The data directory's handle failed ([`dotdir_engine::Dir`]).
    #[error(transparent)]
    Layout(dotdir_engine::Error),
    /// A filesystem operation outside atomic-store failed.
    #[error(transparent)]
    Io(#[from] IoError<dotdir_engine::Step>),
    /// A directory of the layout (`state/`, `routines/`, `downloads/`, …, or one on the way to
    /// it) is a symbolic link or not a directory: a write through it could land outside the
    /// data directory, so nothing is written.
    #[error(
        "{} is a symbolic link or not a directory: the data directory's subdirectories must be real directories",
        path.display()
    )]
    NotADirectory {
        /// The offending path.
        path: PathBuf,
    },
    /// The directory is not an ollim-bot data directory and will not become one: the user's
    /// home directory (or `/`), or an existing directory that holds what the layout does not
    /// declare and none of its fingerprint ([`crate::Layout::fingerprint`]).
    #[error("{} is not an ollim-bot data directory: {reason}; nothing was written", path.display())]
    NotADataDirectory {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file has content the layout does not accept.
    #[error("{} is invalid: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A value given by a caller was refused (an unknown config key, a bad value, an unsafe
    /// name).
    #[error("{what}: {reason}")]
    Refused {
        /// What was refused (`config key model_main`, `reflection item id`, …).
        what: String,
        /// Why.
        reason: String,
    },
    /// The time zone could not be found.
    #[error("unknown time zone {name:?}: {reason}")]
    TimeZone {
        /// The requested zone.
        name: String,
        /// jiff's explanation.
        reason: String,
    },
}

impl Error {
    pub(crate) fn refused(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Refused { what: what.into(), reason: reason.into() }
    }
}

/// `Result` with the ollim layout's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<dotdir_engine::Error> for Error {
    /// The handle's errors as this crate's own: a link on the way is [`Error::NotADirectory`],
    /// a failed write [`Error::Store`], a system call [`Error::Io`].
    fn from(error: dotdir_engine::Error) -> Self {
        match error {
            dotdir_engine::Error::NotADirectory { path } => Error::NotADirectory { path },
            dotdir_engine::Error::Store { source, .. } => Error::Store(source),
            dotdir_engine::Error::Io(source) => Error::Io(source),
            refused @ (dotdir_engine::Error::Undeclared { .. }
            | dotdir_engine::Error::NotASecret { .. }) => {
                Error::Refused { what: "the write".to_owned(), reason: refused.to_string() }
            }
            other => Error::Layout(other),
        }
    }
}
