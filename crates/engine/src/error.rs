//! The error of `check`, `inspect`, `backup` and the archive: what stopped them (problems in
//! the data are `check::Problem`s, not errors). Each cause is kept as its `source()`.

use crate::IoError;
use std::{fmt, path::PathBuf};

use dotdir_atomic_store as store;

/// Everything that can stop a check, a repair pass or a backup selection (problems in the data
/// are [`Problem`](crate::check::Problem)s, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error(transparent)]
    Io(#[from] IoError<Step>),
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

/// The system call of an [`Error::Io`]: what was being done to its path. The engine's
/// vocabulary, shared by the typed handles of the `dotdir` facade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Opening a directory or a file (the data directory, an archive, a lock's directory).
    Open,
    /// Listing a directory.
    ListDir,
    /// Reading a path's metadata.
    Inspect,
    /// Resolving a path to an absolute or canonical one (or the working directory).
    Resolve,
    /// Locking a directory (a restore's lock on the parent).
    Lock,
    /// Reading a file.
    Read,
    /// Writing a file (an archive, a restored file).
    Write,
    /// Creating a file that must not exist yet.
    Create,
    /// Creating a file without replacing one that appeared meanwhile.
    CreateNew,
    /// Changing a file's or directory's mode.
    SetMode,
    /// Syncing a file or a directory to disk.
    Sync,
    /// Renaming a file aside.
    Rename,
    /// Moving the directory that was there aside (a forced restore).
    MoveAside,
    /// Removing the empty directory a restore replaces.
    ReplaceEmptyDir,
    /// Moving the restored directory into place.
    MoveIntoPlace,
    /// Removing what a killed writer left.
    RemoveLeftover,
    /// Reading a symbolic link.
    ReadLink,
    /// Creating a symbolic link.
    CreateSymlink,
    /// Reading random bytes (a new id).
    ReadRandom,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Open => "open",
            Step::ListDir => "list directory",
            Step::Inspect => "inspect",
            Step::Resolve => "resolve the path of",
            Step::Lock => "lock",
            Step::Read => "read",
            Step::Write => "write",
            Step::Create => "create",
            Step::CreateNew => "create without replacing",
            Step::SetMode => "set the mode of",
            Step::Sync => "sync",
            Step::Rename => "rename",
            Step::MoveAside => "move aside",
            Step::ReplaceEmptyDir => "replace the empty directory",
            Step::MoveIntoPlace => "move the restored directory to",
            Step::RemoveLeftover => "remove the leftover",
            Step::ReadLink => "read the symbolic link",
            Step::CreateSymlink => "create the symbolic link",
            Step::ReadRandom => "read random bytes from",
        })
    }
}
