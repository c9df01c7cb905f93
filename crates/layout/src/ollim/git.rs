//! Git tracking of the data directory on `dotdir-git-journal`: the repository is initialised
//! in the data directory itself on first use, the exclusion list (and `.gitignore`) is derived
//! from [`crate::ollim::LAYOUT`], and commit messages are the reference's.
//!
//! A change is made first and committed second, so a commit can fail after its change is on
//! disk. Such a commit is never forgotten: it is recorded in `.git/dotdir-pending-commits.json`
//! (its message and paths) and made again, with the same message, before the next commit of
//! any [`crate::ollim::DataDir`] of the directory and when one is opened. The record lives in the
//! git directory, so it is never tracked and never part of the work tree.
//!
//! A writer killed between its change and its commit leaves no record. Opening a directory
//! therefore also lists what differs from HEAD and is not excluded, and the first commit of the
//! opened directory commits it too: its own paths with its own message (a call retried after a
//! crash keeps its message), the rest after it as [`RECOVERED_MESSAGE`]. After a crash the next
//! process that writes finishes the history; a directory the reference app wrote is adopted by
//! the first write.

use std::{
    fs, io,
    path::Path,
    sync::{Mutex, PoisonError},
};

use dotdir_atomic_store::{Document, Durability, WriteOptions, lock, read, remove};
use dotdir_git_journal::{CommitId, Journal, JournalOptions};
use serde::{Deserialize, Serialize};

use crate::ollim::{Error, LAYOUT, Result};

/// The message of the commit that brings `.gitignore` up to date.
pub const GITIGNORE_MESSAGE: &str = "update .gitignore";

/// The message of the commit an open makes of changes left uncommitted (a writer killed
/// between its change and its commit, or a file changed by hand).
pub const RECOVERED_MESSAGE: &str = "dotdir: commit changes left uncommitted";

/// The record of commits that failed after their change was made, in the git directory.
pub(crate) const PENDING_COMMITS_FILE: &str = "dotdir-pending-commits.json";

/// The largest pending record read.
const MAX_PENDING: u64 = 16 * 1024 * 1024;

/// One commit to make again: its message and its paths (relative, `/`-separated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PendingCommit {
    message: String,
    paths: Vec<String>,
}

/// The repository of a data directory.
#[derive(Debug)]
pub(crate) struct Tracker {
    journal: Journal,
    /// `.git/dotdir-pending-commits.json`.
    pending: std::path::PathBuf,
    durability: Durability,
    /// What differed from HEAD at open, committed with this process's first commit.
    left_uncommitted: Mutex<Vec<String>>,
}

impl Tracker {
    /// Opens (or initialises) the repository and makes the commits a failed call left pending.
    pub(crate) fn open(
        root: &Path,
        identity_from_git_config: bool,
        durability: Durability,
    ) -> Result<Self> {
        let mut options = JournalOptions::new()
            .exclusions(LAYOUT.journal_exclusions())
            .identity_from_git_config(identity_from_git_config);
        options.gitignore_message = GITIGNORE_MESSAGE.to_owned();
        let journal = Journal::open(root, options)?;
        let pending = journal.git_dir().join(PENDING_COMMITS_FILE);
        let tracker = Self { journal, pending, durability, left_uncommitted: Mutex::default() };
        tracker.settle()?;
        // Best effort: an unreadable status leaves the changes to `check --fix`.
        *tracker.left_uncommitted.lock().unwrap_or_else(PoisonError::into_inner) =
            tracker.journal.uncommitted().unwrap_or_default();
        Ok(tracker)
    }

    /// Commits `paths` (relative to the directory) in one commit, after the pending ones. When
    /// the commit fails (or a pending one does) for a reason a later attempt may not meet — an
    /// I/O error, a foreign `index.lock` — it is deferred: recorded as pending, to be made by
    /// the next commit or open, and `Ok(None)` is returned, because the change it records is
    /// on disk and a caller retrying the change would make it twice. Only when even the record
    /// cannot be written is the error returned. A refused path (excluded, outside the
    /// directory, beyond a symlink) is an error and is not recorded.
    pub(crate) fn commit_paths(&self, paths: &[&Path], message: &str) -> Result<Option<CommitId>> {
        // What differed from HEAD at open goes with this process's first commit: a deletion
        // beside one of its paths in this commit (the other half of a rename a killed writer
        // started, so a retried save commits as one clean save does), the rest after it.
        let left = std::mem::take(
            &mut *self.left_uncommitted.lock().unwrap_or_else(PoisonError::into_inner),
        );
        let (beside, rest): (Vec<&Path>, Vec<&Path>) =
            left.iter().map(Path::new).filter(|path| !paths.contains(path)).partition(|path| {
                fs::symlink_metadata(self.journal.dir().join(path)).is_err()
                    && paths.iter().any(|own| own.parent() == path.parent())
            });
        let paths: Vec<&Path> = paths.iter().copied().chain(beside).collect();
        let result = self.settle().and_then(|()| {
            if paths.is_empty() {
                return Ok(None);
            }
            self.journal.commit_paths(&paths, message).map_err(Error::from)
        });
        let retry = match &result {
            Ok(_) => false,
            Err(Error::Git(error)) => may_succeed_later(error),
            Err(_) => true,
        };
        let deferred = retry && self.remember(&paths, message);
        if (result.is_ok() || deferred)
            && !rest.is_empty()
            && self.journal.commit_paths(&rest, RECOVERED_MESSAGE).is_err()
        {
            let _ = self.remember(&rest, RECOVERED_MESSAGE);
        }
        if deferred { Ok(None) } else { result }
    }

    /// Records a commit of `paths` with `message` as pending, when it cannot be made now (a
    /// change that failed may have taken effect). Best effort: when even the record cannot be
    /// written (a full disk), the change stays uncommitted until
    /// `DataDir::commit_all_changed`; the caller returns the error that says why.
    /// Returns whether the record was written.
    pub(crate) fn remember(&self, paths: &[&Path], message: &str) -> bool {
        if paths.is_empty() {
            return true;
        }
        let paths = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        self.record(PendingCommit { message: message.to_owned(), paths }).is_ok()
    }

    /// Makes the pending commits, oldest first, each with its own message (nothing is
    /// committed twice: a path HEAD already has makes no commit). A pending commit refused for
    /// good (its path became excluded) is dropped. Cheap when there is none: one `lstat`.
    pub(crate) fn settle(&self) -> Result<()> {
        match fs::symlink_metadata(&self.pending) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            _ => {}
        }
        let _guard = lock(&self.pending)?;
        let Some(bytes) = read(&self.pending, MAX_PENDING)? else { return Ok(()) };
        let mut list: Vec<PendingCommit> =
            serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
                path: self.pending.clone(),
                reason: format!(
                    "not a list of pending commits ({e}); remove it and run commit_all_changed"
                ),
            })?;
        while let Some(next) = list.first() {
            match self.journal.commit_paths(&next.paths, &next.message) {
                Ok(_) => {}
                Err(error) if !may_succeed_later(&error) => {}
                Err(error) => {
                    let document: Document<Vec<PendingCommit>> =
                        Document::new(&self.pending).options(self.write_options());
                    let _ = document.write(&list)?;
                    return Err(error.into());
                }
            }
            let _ = list.remove(0);
        }
        let _ = remove(&self.pending, self.durability)?;
        Ok(())
    }

    /// The messages of the commits deferred so far, oldest first.
    pub(crate) fn pending(&self) -> Result<Vec<String>> {
        let Some(bytes) = read(&self.pending, MAX_PENDING)? else { return Ok(Vec::new()) };
        let list: Vec<PendingCommit> =
            serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
                path: self.pending.clone(),
                reason: format!("not a list of pending commits ({e})"),
            })?;
        Ok(list.into_iter().map(|c| c.message).collect())
    }

    /// Appends `commit` to the pending record.
    fn record(&self, commit: PendingCommit) -> Result<()> {
        let document: Document<Vec<PendingCommit>> =
            Document::new(&self.pending).options(self.write_options());
        document.update(|list| {
            if !list.contains(&commit) {
                list.push(commit);
            }
        })?;
        Ok(())
    }

    fn write_options(&self) -> WriteOptions {
        WriteOptions::new().durability(self.durability)
    }

    pub(crate) fn journal(&self) -> &Journal {
        &self.journal
    }
}

/// Whether a failed commit may succeed when made again: not when the journal refused a path.
fn may_succeed_later(error: &dotdir_git_journal::Error) -> bool {
    use dotdir_git_journal::Error as E;
    !matches!(
        error,
        E::Excluded { .. }
            | E::InvalidPath { .. }
            | E::BeyondSymlink { .. }
            | E::InvalidPattern { .. }
            | E::NotAWorkTree { .. }
    )
}
