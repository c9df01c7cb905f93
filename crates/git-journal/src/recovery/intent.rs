//! Crash recovery: the intent record a writer keeps while it commits, and the removal of lock
//! files whose owner is provably gone.
//!
//! Every journal write runs under the journal's own `flock` (`.git/dotdir-journal.lock`), which
//! the kernel releases when its holder dies. Before it touches the index, an object or a ref, a
//! writer records its intent (`.git/dotdir-journal.intent`: pid, phase, message, paths) and
//! removes the record when the commit is done or has failed cleanly. So when a writer holds the
//! flock and finds an intent record, the writer that made it is dead and died inside a commit:
//! - a libgit2 lock file (`index.lock`, `HEAD.lock`, the branch's ref `.lock`) created at or
//!   after the record, while that writer was in its commit phase, is its lock: removed;
//! - libgit2's temporary object files created after the record are removed too;
//! - the paths it was committing are committed again with its message, so an interrupted
//!   `write` is finished by the next writer (a no-op when the dead writer got as far as the ref).
//!
//! Lock files not proven ours are left alone, except one older than the last boot (no process
//! survives a reboot) or older than [`crate::JournalOptions::foreign_lock_timeout`] (a `git`
//! command killed by its user; an age rule, off when the option is `None`). The age is measured
//! on the filesystem's clock ([`dotdir_atomic_store::filesystem_now`]), not the process's: a
//! process whose clock differs from the one that stamped the lock (an NFS server's, a faked one)
//! does not take a live `git`'s fresh lock for an old one.

use crate::IoError;
use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use dotdir_atomic_store::{Durability, JsonStyle, WriteOptions};
use git2::Repository;
use serde_json::{Value, json};

use crate::{
    Journal, Result, Step,
    journal::{RelPath, Staging},
};

/// The file name of the intent record inside the git directory.
pub(crate) const INTENT_FILE: &str = "dotdir-journal.intent";
/// The base name of the journal's flock inside the git directory (`.lock` is appended).
pub(crate) const LOCK_BASE: &str = "dotdir-journal";

/// What a writer was doing when it recorded its intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Creating objects, the index and refs: lock files created now are the writer's.
    Commit,
    /// Sleeping before a retry because another process holds a lock: any lock file that
    /// appears now is someone else's.
    Wait,
}

/// An intent record read back from disk.
#[derive(Debug, Clone)]
pub(crate) struct Intent {
    pub(crate) phase: Phase,
    pub(crate) message: String,
    pub(crate) paths: Vec<String>,
}

pub(crate) fn write_intent(
    git_dir: &Path,
    phase: Phase,
    message: &str,
    paths: &[String],
) -> Result<()> {
    let record = json!({
        "pid": std::process::id(),
        "phase": match phase { Phase::Commit => "commit", Phase::Wait => "wait" },
        "message": message,
        "paths": paths,
    });
    let path = git_dir.join(INTENT_FILE);
    let bytes = dotdir_atomic_store::to_json_bytes(&record, JsonStyle::Compact)
        .map_err(|source| dotdir_atomic_store::Error::Encode { path: path.clone(), source })?;
    // Only a killed process has to be survived: after a power cut no writer is alive, and the
    // boot-time rule below covers the lock files.
    let _ = dotdir_atomic_store::write(
        &path,
        &bytes,
        &WriteOptions::new().durability(Durability::None),
    )?;
    Ok(())
}

pub(crate) fn clear_intent(git_dir: &Path) -> Result<()> {
    let path = git_dir.join(INTENT_FILE);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(IoError::on(Step::RemoveIntent, path)(e).into())
        }
        _ => Ok(()),
    }
}

/// Reads the intent record left by a dead writer, with its mtime. A record that does not parse
/// (it cannot be torn, but a person may have edited it) still proves a dead writer; it then
/// names no paths.
fn read_intent(git_dir: &Path) -> Result<Option<(Intent, SystemTime)>> {
    let path = git_dir.join(INTENT_FILE);
    let mtime = match fs::symlink_metadata(&path) {
        Ok(meta) => meta.modified().map_err(IoError::on(Step::InspectIntent, &path))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IoError::on(Step::InspectIntent, &path)(e).into()),
    };
    let bytes = dotdir_atomic_store::read(&path, 16 * 1024 * 1024)?.unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let phase = match value.get("phase").and_then(Value::as_str) {
        Some("wait") => Phase::Wait,
        _ => Phase::Commit,
    };
    let message = value.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
    let paths = value
        .get("paths")
        .and_then(Value::as_array)
        .map(|paths| paths.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Some((Intent { phase, message, paths }, mtime)))
}

/// The lock files libgit2 takes for a journal commit.
fn candidate_locks(repo: &Repository, git_dir: &Path) -> Vec<PathBuf> {
    let mut locks = vec![git_dir.join("index.lock"), git_dir.join("HEAD.lock")];
    if let Ok(head) = repo.find_reference("HEAD")
        && let Ok(Some(target)) = head.symbolic_target()
        && target.starts_with("refs/")
        && !target.split('/').any(|c| c == ".." || c.is_empty())
    {
        locks.push(git_dir.join(format!("{target}.lock")));
    }
    locks
}

/// What [`recover`] found and did.
#[derive(Debug, Default)]
pub(crate) struct Recovery {
    /// The dead writer's intent, when there was one (the record is removed by the caller once
    /// its paths are committed again).
    pub(crate) intent: Option<Intent>,
}

/// Removes provably stale lock files and returns the dead writer's intent, if any. Must be
/// called with the journal's flock held.
pub(crate) fn recover(
    repo: &Repository,
    git_dir: &Path,
    foreign_lock_timeout: Option<Duration>,
) -> Result<Recovery> {
    let intent = read_intent(git_dir)?;
    let ours_since = intent
        .as_ref()
        .and_then(|(intent, mtime)| (intent.phase == Phase::Commit).then_some(*mtime));
    // A lock's age is measured on the clock that stamped it (the filesystem's), read once and
    // only when a foreign lock is there to be judged.
    let mut now = None;
    for lock in candidate_locks(repo, git_dir) {
        let Ok(meta) = fs::symlink_metadata(&lock) else { continue };
        let Ok(mtime) = meta.modified() else { continue };
        let ours = ours_since.is_some_and(|since| mtime >= since);
        let before_boot = boot_time().is_some_and(|boot| mtime < boot);
        let too_old = !ours
            && !before_boot
            && foreign_lock_timeout.is_some_and(|timeout| {
                let now = *now.get_or_insert_with(|| {
                    dotdir_atomic_store::filesystem_now(git_dir)
                        .unwrap_or_else(|_| SystemTime::now())
                });
                now.duration_since(mtime).is_ok_and(|age| age > timeout)
            });
        if ours || before_boot || too_old {
            remove_if_present(&lock)?;
        }
    }
    if let Some(since) = ours_since {
        sweep_temporary_objects(&git_dir.join("objects"), since)?;
    }
    Ok(Recovery { intent: intent.map(|(intent, _)| intent) })
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(IoError::on(Step::RemoveStaleLock, path)(e).into())
        }
        _ => Ok(()),
    }
}

/// libgit2 writes a loose object to `objects/tmp_object…` and renames it into place.
fn sweep_temporary_objects(objects: &Path, since: SystemTime) -> Result<()> {
    let entries = match fs::read_dir(objects) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(IoError::on(Step::List, objects)(e).into()),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("tmp_object") {
            continue;
        }
        let fresh = entry.metadata().and_then(|m| m.modified()).is_ok_and(|mtime| mtime >= since);
        if fresh {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// When the running kernel booted (Linux: `btime` in `/proc/stat`).
fn boot_time() -> Option<SystemTime> {
    static BOOT: OnceLock<Option<SystemTime>> = OnceLock::new();
    *BOOT.get_or_init(|| {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        let seconds: u64 =
            stat.lines().find_map(|line| line.strip_prefix("btime "))?.trim().parse().ok()?;
        // One second of slack: btime is rounded.
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds.saturating_sub(1)))
    })
}

impl Journal {
    /// Removes provably stale locks and finishes the commit of a dead writer.
    pub(crate) fn recover(&self, repo: &Repository) -> Result<()> {
        let recovery = recover(repo, self.git_dir(), self.options.foreign_lock_timeout)?;
        let Some(intent) = recovery.intent else { return Ok(()) };
        let rels: Vec<RelPath> =
            intent.paths.iter().filter_map(|path| self.validate(Path::new(path)).ok()).collect();
        if !rels.is_empty()
            && let Err(error) =
                self.commit_with_retry(repo, &rels, &intent.message, Staging::WorkTree)
        {
            // Keep the dead writer's paths for the next attempt, in the phase that claims no
            // lock file: whatever is locked now is someone else's.
            write_intent(self.git_dir(), Phase::Wait, &intent.message, &rels)?;
            return Err(error);
        }
        clear_intent(self.git_dir())
    }
}
