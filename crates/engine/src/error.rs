//! The error of `check`, `inspect`, `backup` and the archive: what stopped them (problems in
//! the data are `check::Problem`s, not errors). Each cause is kept as its `source()`.

use crate::IoError;
use std::path::PathBuf;

use dotdir_atomic_store as store;

/// Everything that can stop a check, a repair pass or a backup selection (problems in the data
/// are [`Problem`](crate::check::Problem)s, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error(transparent)]
    Io(#[from] IoError<&'static str>),
    /// The data directory is not a directory.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The offending path.
        path: PathBuf,
    },
    /// A write of a path the layout does not declare as a file ([`crate::Dir::write_declared`]):
    /// nothing was written.
    #[error("refusing to write {}: the {layout} layout declares no such file", path.display())]
    Undeclared {
        /// The path.
        path: PathBuf,
        /// The layout's name.
        layout: &'static str,
    },
    /// A secret written where the layout declares no secret ([`crate::Dir::write_secret`]):
    /// nothing was written, so no secret lands where a backup or the journal carries it.
    #[error("refusing to write a secret to {}: the {layout} layout does not declare it secret", path.display())]
    NotASecret {
        /// The path.
        path: PathBuf,
        /// The layout's name.
        layout: &'static str,
    },
    /// A pid lock could not be probed or reclaimed.
    #[error("cannot reclaim the lock {}", path.display())]
    Lock {
        /// The pid record.
        path: PathBuf,
        /// What the lock crate said.
        #[source]
        source: dotdir_pidlock::Error,
    },
    /// A JSON Lines log could not be read or repaired.
    #[error("cannot repair {}", path.display())]
    Log {
        /// The log.
        path: PathBuf,
        /// What the log crate said.
        #[source]
        source: dotdir_jsonl_log::Error,
    },
    /// The data directory's git repository could not be read or committed to.
    #[error("git failed on {}", path.display())]
    Git {
        /// The path (or the data directory).
        path: PathBuf,
        /// What the journal crate said.
        #[source]
        source: dotdir_git_journal::Error,
    },
    /// A repair ran but a second look finds its problem still there.
    #[error("the repair of {} did not take: {message}", path.display())]
    Unverified {
        /// The path repaired.
        path: PathBuf,
        /// What is still wrong.
        message: String,
    },
    /// A backup archive is not what it should be (corrupt, not a dotdir backup, a digest that
    /// does not match), or a restore or backup target is refused.
    #[error("{}: {message}", path.display())]
    Archive {
        /// The archive or the directory.
        path: PathBuf,
        /// What is wrong, and what to do.
        message: String,
    },
    /// A read or write through `dotdir-atomic-store` failed.
    #[error("cannot read or write {}", path.display())]
    Store {
        /// The path the operation was about.
        path: PathBuf,
        /// The store's error (it names the step).
        #[source]
        source: store::Error,
    },
}
