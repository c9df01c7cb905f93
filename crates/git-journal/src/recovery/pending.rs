//! [`DeferringJournal`]: a [`Journal`] whose commits are never lost.
//!
//! A change is made first and committed second, so a commit can fail after its change is on
//! disk (a full disk, a foreign `index.lock`, an I/O error). Such a commit is never forgotten:
//! it is recorded in `.git/dotdir-pending-commits.json` (its message and paths) and made again,
//! with the same message, before the next commit of any `DeferringJournal` of the directory and
//! when one is opened. The record lives in the git directory, so it is never tracked and never
//! part of the work tree.
//!
//! A writer killed between its change and its commit leaves no record. Opening therefore also
//! lists what differs from HEAD and is not excluded, and the first commit of the opened journal
//! commits it too: its own paths with its own message (a call retried after a crash keeps its
//! message; a deletion beside one of its paths, the other half of a rename, goes with it), the
//! rest after it as [`RECOVERED_MESSAGE`].

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
};

use dotdir_atomic_store::{Document, Durability, WriteOptions, lock, read, remove};
use serde::{Deserialize, Serialize};

use crate::{CommitId, Error, Journal, JournalOptions, Result};

/// The message of the commit that makes changes found uncommitted at open (a writer killed
/// between its change and its commit, or a file changed by hand).
pub const RECOVERED_MESSAGE: &str = "dotdir: commit changes left uncommitted";

/// The record of commits that failed after their change was made, in the git directory.
pub const PENDING_COMMITS_FILE: &str = "dotdir-pending-commits.json";

/// The largest pending record read.
const MAX_PENDING: u64 = 16 * 1024 * 1024;

/// What is wrong with the pending-commit record of the repository at `git_dir`: not a regular
/// file (a directory, a FIFO, a symlink), unreadable, or not a list of pending commits. `None`
/// when it is absent or sound. Never blocks (a FIFO is not opened for a blocking read).
pub fn pending_record_damage(git_dir: &Path) -> Option<String> {
    load(&git_dir.join(PENDING_COMMITS_FILE)).err()
}

/// Moves a damaged pending-commit record aside, to `dotdir-pending-commits.json.corrupt` in
/// the git directory (whatever it is: a rename, nothing read, nothing deleted), so that the
/// journal works again; the changes it named are recovered by scanning what differs from HEAD
/// ([`Journal::commit_all_changed`]). Returns where it went; `None` when it was sound or absent.
pub fn set_aside_pending_record(git_dir: &Path) -> Result<Option<PathBuf>> {
    let path = git_dir.join(PENDING_COMMITS_FILE);
    if load(&path).is_ok() {
        return Ok(None);
    }
    let _guard = lock(&path)?;
    let aside = (0u32..)
        .map(|n| match n {
            0 => git_dir.join(format!("{PENDING_COMMITS_FILE}.corrupt")),
            n => git_dir.join(format!("{PENDING_COMMITS_FILE}.{n}.corrupt")),
        })
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or_else(|| git_dir.join(format!("{PENDING_COMMITS_FILE}.corrupt")));
    fs::rename(&path, &aside).map_err(crate::IoError::on(crate::Step::SetAsideRecord, &path))?;
    Ok(Some(aside))
}

/// The pending commits recorded at `path` (none when absent), or what is wrong with the record.
fn load(path: &Path) -> std::result::Result<Vec<PendingCommit>, String> {
    let bytes = match read(path, MAX_PENDING) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(Vec::new()),
        Err(error) => return Err(dotdir_atomic_store::error_chain(&error)),
    };
    serde_json::from_slice(&bytes).map_err(|e| format!("not a list of pending commits ({e})"))
}

/// One commit to make again: its message and its paths (relative, `/`-separated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PendingCommit {
    message: String,
    paths: Vec<String>,
}

/// A [`Journal`] whose failed commits are deferred, never lost (see the module docs).
///
/// ```
/// # fn main() -> Result<(), dotdir_git_journal::Error> {
/// # let tmp = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::Durability;
/// use dotdir_git_journal::{DeferringJournal, JournalOptions};
///
/// let options = JournalOptions::new().identity_from_git_config(false);
/// let journal = DeferringJournal::open(tmp.path(), options, Durability::Full)?;
/// std::fs::write(tmp.path().join("notes.md"), "hi\n").unwrap();
/// assert!(journal.commit_paths(&["notes.md".as_ref()], "add notes")?.is_some());
/// assert!(journal.deferred()?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DeferringJournal {
    journal: Journal,
    /// `.git/dotdir-pending-commits.json`.
    pending: PathBuf,
    durability: Durability,
    /// What differed from HEAD at open, committed with this journal's first commit.
    left_uncommitted: Mutex<Vec<String>>,
}

impl DeferringJournal {
    /// Opens (or initialises) the repository, makes the commits a failed call left pending and
    /// lists what differs from HEAD (committed by the first commit). `durability` is that of
    /// the pending record.
    pub fn open(
        dir: impl AsRef<Path>,
        options: JournalOptions,
        durability: Durability,
    ) -> Result<Self> {
        let journal = Journal::open(dir, options)?;
        let pending = journal.git_dir().join(PENDING_COMMITS_FILE);
        let deferring = Self { journal, pending, durability, left_uncommitted: Mutex::default() };
        deferring.settle()?;
        // Best effort: an unreadable status leaves the changes to `commit_all_changed`.
        *deferring.left_uncommitted.lock().unwrap_or_else(PoisonError::into_inner) =
            deferring.journal.uncommitted().unwrap_or_default();
        Ok(deferring)
    }

    /// Commits `paths` (relative to the directory) in one commit, after the pending ones. When
    /// the commit fails (or a pending one does) for a reason a later attempt may not meet — an
    /// I/O error, a foreign `index.lock` — it is deferred: recorded as pending, to be made by
    /// the next commit or open, and `Ok(None)` is returned, because the change it records is
    /// on disk and a caller retrying the change would make it twice. Only when even the record
    /// cannot be written is the error returned. A refused path (excluded, outside the
    /// directory, beyond a symlink) is an error and is not recorded.
    pub fn commit_paths(&self, paths: &[&Path], message: &str) -> Result<Option<CommitId>> {
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
            self.journal.commit_paths(&paths, message)
        });
        let retry = match &result {
            Ok(_) => false,
            Err(error) => may_succeed_later(error),
        };
        let deferred = retry && self.defer(&paths, message);
        if !rest.is_empty() && self.journal.commit_paths(&rest, RECOVERED_MESSAGE).is_err() {
            let _ = self.defer(&rest, RECOVERED_MESSAGE);
        }
        if deferred { Ok(None) } else { result }
    }

    /// Records a commit of `paths` with `message` as pending, when it cannot be made now (a
    /// change that failed may have taken effect). Best effort: when even the record cannot be
    /// written (a full disk), the change stays uncommitted until
    /// [`Journal::commit_all_changed`]; the caller returns the error that says why.
    /// Returns whether the record was written.
    pub fn defer(&self, paths: &[&Path], message: &str) -> bool {
        if paths.is_empty() {
            return true;
        }
        let paths = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        self.record(PendingCommit { message: message.to_owned(), paths }).is_ok()
    }

    /// Makes the pending commits, oldest first, each with its own message (nothing is
    /// committed twice: a path HEAD already has makes no commit). A pending commit refused for
    /// good (its path became excluded) is dropped. Cheap when there is none: one `lstat`.
    pub fn settle(&self) -> Result<()> {
        match fs::symlink_metadata(&self.pending) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            _ => {}
        }
        let _guard = lock(&self.pending)?;
        // A damaged record never locks the application out: what it named is on disk and
        // uncommitted, so the scan at open (and `commit_all_changed`) finds it; the record stays
        // for `dotdir check` to report and `--fix` to set aside ([`set_aside_pending_record`]).
        let Ok(mut list) = load(&self.pending) else { return Ok(()) };
        if list.is_empty() && fs::symlink_metadata(&self.pending).is_err() {
            return Ok(());
        }
        while let Some(next) = list.first() {
            match self.journal.commit_paths(&next.paths, &next.message) {
                Ok(_) => {}
                Err(error) if !may_succeed_later(&error) => {}
                Err(error) => {
                    let document: Document<Vec<PendingCommit>> =
                        Document::new(&self.pending).options(self.write_options());
                    let _ = document.write(&list)?;
                    return Err(error);
                }
            }
            let _ = list.remove(0);
        }
        let _ = remove(&self.pending, self.durability)?;
        Ok(())
    }

    /// The messages of the commits deferred so far, oldest first. A damaged record is an
    /// [`Error::InvalidRecord`] ([`pending_record_damage`] says what is wrong).
    pub fn deferred(&self) -> Result<Vec<String>> {
        let list = load(&self.pending)
            .map_err(|reason| Error::InvalidRecord { path: self.pending.clone(), reason })?;
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

    /// The journal underneath (history, restore, push, `commit_all_changed`).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}

/// Whether a failed commit may succeed when made again: not when the journal refused a path.
fn may_succeed_later(error: &Error) -> bool {
    !matches!(
        error,
        Error::Excluded { .. }
            | Error::InvalidPath { .. }
            | Error::BeyondSymlink { .. }
            | Error::InvalidPattern { .. }
            | Error::NotAWorkTree { .. }
    )
}
