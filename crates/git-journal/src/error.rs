//! The one error type of the crate: every variant names what failed and the path.

use crate::IoError;
use std::{fmt, path::PathBuf};

/// The operation that failed (a git operation, or a filesystem step around one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Opening the repository.
    Open,
    /// Initialising the repository.
    Init,
    /// Reading the index (`.git/index`).
    ReadIndex,
    /// Staging a path (hashing the file, updating its index entry).
    Stage,
    /// Writing the index.
    WriteIndex,
    /// Reading HEAD, a commit or a tree.
    ReadHistory,
    /// Writing a tree object.
    WriteTree,
    /// Creating the commit and moving the branch.
    Commit,
    /// Reading the working tree status.
    Status,
    /// Pushing to a remote.
    Push,
    /// Setting a process-wide libgit2 option.
    SetOption,
    /// Listing a directory.
    List,
    /// Reading a path's metadata.
    Inspect,
    /// Creating the work tree's directory.
    CreateDir,
    /// Resolving a directory to its canonical path.
    Resolve,
    /// Locking the work tree's directory to initialise its repository.
    LockInit,
    /// Removing a repository whose initialisation was interrupted.
    RemoveAbandonedInit,
    /// Restricting the permissions of the git directory.
    RestrictMode,
    /// Removing the intent record of a finished commit.
    RemoveIntent,
    /// Reading the age of the intent record.
    InspectIntent,
    /// Removing a lock file whose holder is gone.
    RemoveStaleLock,
    /// Moving a damaged record of the journal aside.
    SetAsideRecord,
    /// Reading a secret file to compare its content with what a push would send.
    ReadSecret,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Open => "open the repository",
            Step::Init => "initialise the repository",
            Step::ReadIndex => "read the index",
            Step::Stage => "stage",
            Step::WriteIndex => "write the index",
            Step::ReadHistory => "read the history",
            Step::WriteTree => "write a tree",
            Step::Commit => "commit",
            Step::Status => "read the status",
            Step::Push => "push",
            Step::SetOption => "set a libgit2 option",
            Step::List => "list",
            Step::Inspect => "inspect",
            Step::CreateDir => "create the directory",
            Step::Resolve => "resolve",
            Step::LockInit => "lock the directory to initialise its repository",
            Step::RemoveAbandonedInit => "remove the abandoned initialisation",
            Step::RestrictMode => "restrict the permissions of",
            Step::RemoveIntent => "remove the intent record",
            Step::InspectIntent => "inspect the intent record",
            Step::RemoveStaleLock => "remove the stale lock",
            Step::SetAsideRecord => "move aside the damaged record",
            Step::ReadSecret => "read the secret",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller asked to stage a path the exclusion list forbids. Nothing was staged.
    #[error("refusing to commit {}: it matches the exclusion pattern `{pattern}`", path.display())]
    Excluded {
        /// The path, relative to the journal's directory.
        path: PathBuf,
        /// The pattern that matched.
        pattern: String,
    },
    /// The caller asked to stage a path the allow-list does not declare
    /// ([`crate::Exclusions::allow_only`]): only declared files are ever committed. Nothing was
    /// staged.
    #[error(
        "refusing to commit {}: the layout does not declare it (only declared files are tracked)",
        path.display()
    )]
    Undeclared {
        /// The path, relative to the journal's directory.
        path: PathBuf,
    },
    /// A path is not a usable path inside the journal's directory.
    #[error("invalid path {}: {reason}", path.display())]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A path goes through a symbolic link inside the directory (`a/link/file`); git would not
    /// stage it and the journal refuses to follow it.
    #[error("{} lies beyond the symbolic link {}", path.display(), link.display())]
    BeyondSymlink {
        /// The path, relative to the journal's directory.
        path: PathBuf,
        /// The symbolic link, relative to the journal's directory.
        link: PathBuf,
    },
    /// A file or directory inside the git directory that a commit writes through (`HEAD`, the
    /// branch's ref, a reflog under `logs/`, the index, a directory of `objects/`) is a symbolic
    /// link: libgit2 would follow it and write outside the data directory. Nothing was written
    /// or committed; remove the link (`git` itself does not create such links).
    #[error("refusing to commit: {} is a symbolic link, and a commit would write through it", path.display())]
    SymlinkInGitDir {
        /// The symbolic link.
        path: PathBuf,
    },
    /// An exclusion pattern is invalid.
    #[error("invalid exclusion pattern `{pattern}`: {reason}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The directory is not the top of a non-bare git work tree.
    #[error("{} is not the top of a git work tree: {reason}", dir.display())]
    NotAWorkTree {
        /// The journal's directory.
        dir: PathBuf,
        /// What was found instead.
        reason: String,
    },
    #[cfg(feature = "libgit2")]
    /// A lock file (`index.lock`, a ref's `.lock`) stayed held by another process for the whole
    /// retry budget. A lock whose owner is provably gone is removed instead (see the crate docs).
    #[error("{} is held by another process (waited {waited:?})", lock.display())]
    Locked {
        /// The lock file (or the git directory when libgit2 did not say which).
        lock: PathBuf,
        /// How long the journal retried.
        waited: std::time::Duration,
        /// libgit2's last error.
        #[source]
        source: git2::Error,
    },
    #[cfg(feature = "libgit2")]
    /// A libgit2 operation failed.
    #[error("failed to {step} {}", path.display())]
    Git {
        /// The operation.
        step: Step,
        /// The path it worked on (a file in the journal, or the repository).
        path: PathBuf,
        /// libgit2's error.
        #[source]
        source: git2::Error,
    },
    /// The remote refused the push of a reference (for example not a fast-forward).
    #[error("{remote} rejected {reference}: {message}")]
    PushRejected {
        /// The remote's name or URL (credentials dropped: [`crate::redact_url`]).
        remote: String,
        /// The reference that was refused.
        reference: String,
        /// The remote's reason (`git`'s stderr, every URL in it redacted).
        message: String,
    },
    #[cfg(feature = "libgit2")]
    /// A push was refused before anything left: commits it would send hold paths the exclusion
    /// list refuses (a secret, ephemeral state), or a blob whose content is a secret file's.
    #[error("{}", leaks_message(remote, leaks))]
    Leaks {
        /// The remote (credentials dropped: [`crate::redact_url`]).
        remote: String,
        /// Every excluded path found, oldest commit first (never empty).
        leaks: Vec<crate::Leak>,
    },
    /// The destination of a push could not be asked which commits it holds (`git ls-remote`
    /// failed: unreachable, no such repository or remote, refused credentials), so what the
    /// push would send cannot be audited: nothing was sent.
    #[error("cannot list what {url} (remote {remote}) holds, so nothing was sent: {message}")]
    DestinationUnknown {
        /// The remote's name (credentials dropped).
        remote: String,
        /// The URL that was asked (credentials dropped: [`crate::redact_url`]).
        url: String,
        /// What went wrong (`git`'s stderr, every URL in it redacted).
        message: String,
    },
    /// A `git` command run without a terminal (the background push, or a push or listing with
    /// `interactive` off) was killed, with the processes it started, before it finished: it ran
    /// past [`crate::JournalOptions::git_timeout`], or the last journal of its directory in this
    /// process was dropped. Whatever it had not sent was not sent.
    #[error("`git {command}` {reason}, and was killed")]
    GitStopped {
        /// The `git` subcommand (`push`, `ls-remote`, `remote`).
        command: String,
        /// Why it was killed.
        reason: GitStop,
    },
    #[cfg(feature = "libgit2")]
    /// A repository whose checkout would hold a symlink out of the directory or a `.git` entry
    /// ([`crate::audit_checkout`]); nothing of it may be checked out.
    #[error("{}", hostile_message(entries))]
    HostileTree {
        /// Every such entry, in tree order.
        entries: Vec<crate::Hostile>,
    },
    /// A file system operation outside `dotdir-atomic-store` failed.
    #[error(transparent)]
    Io(#[from] IoError<Step>),
    /// The record of deferred commits (`.git/dotdir-pending-commits.json`) does not parse.
    #[error("{} is not a record of deferred commits: {reason}", path.display())]
    InvalidRecord {
        /// The record.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// A write through `dotdir-atomic-store` failed (the file, `.gitignore`, the intent record).
    #[error(transparent)]
    Store(#[from] dotdir_atomic_store::Error),
}

impl Error {
    #[cfg(feature = "libgit2")]
    pub(crate) fn libgit2(
        step: Step,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(git2::Error) -> Error {
        let path = path.into();
        move |source| Error::Git { step, path, source }
    }

    /// Whether the error is a lock held by someone else (a retry later may succeed).
    pub fn is_locked(&self) -> bool {
        #[cfg(feature = "libgit2")]
        let locked = matches!(self, Error::Locked { .. });
        #[cfg(not(feature = "libgit2"))]
        let locked = false;
        locked
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The message of [`Error::Leaks`]: the first excluded path and the way out. A blob equal to a
/// secret is named by its path and the secret's path, never by its bytes.
#[cfg(feature = "libgit2")]
fn leaks_message(remote: &str, leaks: &[crate::Leak]) -> String {
    let Some(first) = leaks.first() else {
        return format!("refusing to push to {remote}: nothing was sent");
    };
    let what = match &first.same_as {
        Some(secret) => format!("{} (the content of the secret {secret})", first.path),
        None => first.path.clone(),
    };
    format!(
        "refusing to push to {remote}: {} excluded path(s) or secret content(s) in the history to send, first {what} in commit {} ({:?}); nothing was sent. Rewrite that history without them (for example `git filter-repo --invert-paths --path <path>`), rotate any secret among them, then push again",
        leaks.len(),
        first.commit.chars().take(12).collect::<String>(),
        first.summary
    )
}

/// Why a `git` command was killed ([`Error::GitStopped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GitStop {
    /// It ran longer than [`crate::JournalOptions::git_timeout`].
    TimedOut(std::time::Duration),
    /// The journal that started it was closed (dropped) while it ran.
    Interrupted,
}

impl std::fmt::Display for GitStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitStop::TimedOut(after) => write!(f, "timed out after {} s", after.as_secs_f64()),
            GitStop::Interrupted => f.write_str("was interrupted (its journal was closed)"),
        }
    }
}

#[cfg(feature = "libgit2")]
fn hostile_message(entries: &[crate::Hostile]) -> String {
    let listed: Vec<String> = entries.iter().map(ToString::to_string).collect();
    format!("the repository's tree holds what no checkout may: {}", listed.join("; "))
}
