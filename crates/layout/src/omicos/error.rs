//! The error type of the omicos layouts: every variant names the path and what failed.

use crate::IoError;
use std::path::PathBuf;

/// Everything that can go wrong in [`crate::omicos`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A write, read or lock of the atomic store failed (the error names the step and the path).
    #[error(transparent)]
    Store(#[from] dotdir_atomic_store::Error),
    /// The daemon lock (`serve.pid`) could not be taken or read; [`Error::is_held`] says whether
    /// another daemon runs.
    #[error(transparent)]
    Pidlock(#[from] dotdir_pidlock::Error),
    /// A write the layout refuses: a path it does not declare as a file, or a secret where it
    /// declares none ([`dotdir_engine::Dir`]). Nothing was written.
    #[error(transparent)]
    Layout(dotdir_engine::Error),
    /// A filesystem step outside the atomic store failed (creating a directory, renaming a
    /// backup aside, listing a directory).
    #[error(transparent)]
    Io(#[from] IoError<dotdir_engine::Step>),
    /// A directory of the layout (the data directory or the home, `conversations/<id>/`,
    /// `trajectories/`, `tool_outputs/`, …, or one on the way to it) is a symbolic link or not
    /// a directory: a write through it could land outside, so nothing is written.
    #[error(
        "{} is a symbolic link or not a directory: the data directory and its subdirectories must be real directories",
        path.display()
    )]
    NotADirectory {
        /// The offending path.
        path: PathBuf,
    },
    /// The home or workspace data directory is the user's home directory (or `/`): never a
    /// data directory, so nothing is written there.
    #[error("{} is the home directory (or /), never an omicos data directory; nothing was written", path.display())]
    NotADataDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// `workspace_id` (or a `workspace_id.<user>.bak`) exists but is not 32 lowercase hex
    /// digits. It is reported, never replaced.
    #[error("{} is not a valid workspace id: {reason}", path.display())]
    BadWorkspaceId {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A name that becomes a path component (a conversation id, an owner id, a device id, a
    /// session id, an OAuth provider) is empty, too long, hidden or contains a separator.
    #[error("invalid {what} {name:?}: {reason}")]
    InvalidName {
        /// What the name is (`conversation id`, `owner id`, …).
        what: &'static str,
        /// The rejected name.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// A conversation with this id exists already.
    #[error("conversation {id} already exists at {}", path.display())]
    ConversationExists {
        /// The conversation id.
        id: String,
        /// Its directory.
        path: PathBuf,
    },
    /// No conversation with this id exists.
    #[error("no conversation {id} at {}", path.display())]
    NoSuchConversation {
        /// The conversation id.
        id: String,
        /// The directory that was looked for.
        path: PathBuf,
    },
    /// The login credentials carry no user id, so the account cannot be told apart.
    #[error("the login credentials for {} carry no user id", path.display())]
    NoUserId {
        /// The workspace data directory.
        path: PathBuf,
    },
    /// An append-only log failed (the error names the file and the step).
    #[error(transparent)]
    Log(#[from] dotdir_jsonl_log::Error),
    /// Neither `OMICOS_LOCAL_HOME` nor a home directory is known.
    #[error("cannot locate the omicos home: OMICOS_LOCAL_HOME and HOME are both unset")]
    NoHome,
}

impl Error {
    /// Whether the error says another daemon holds the workspace's `serve.pid`.
    pub fn is_held(&self) -> bool {
        matches!(self, Error::Pidlock(e) if e.is_held())
    }
}

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<dotdir_engine::Error> for Error {
    /// The handle's errors as this crate's own: a link on the way is [`Error::NotADirectory`],
    /// a failed write [`Error::Store`], a system call [`Error::Io`].
    fn from(error: dotdir_engine::Error) -> Self {
        match error {
            dotdir_engine::Error::NotADirectory { path } => Error::NotADirectory { path },
            dotdir_engine::Error::Store { source, .. } => Error::Store(source),
            dotdir_engine::Error::Io(source) => Error::Io(source),
            other => Error::Layout(other),
        }
    }
}
