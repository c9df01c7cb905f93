//! Taking the lock: the OS lock on the sidecar, the verdict on the record, the first publish, and
//! this process's own claim on the record.

use std::{
    ffi::OsString,
    fs, io,
    os::unix::fs::MetadataExt,
    path::Path,
    sync::{Mutex, PoisonError},
};

use dotdir_atomic_store::LockFile;

use super::{
    PidGuard, PidLock,
    judge::{Verdict, classify},
};
use crate::{
    Error, IoError, Result, Step,
    process::{self, LockTable},
    record,
    stamp::Stamp,
};

/// How many times an acquire re-opens the lock file when the lock changed hands under it (it was
/// released between `try_lock` and the look-up of its holder, or the lock file was replaced).
const REOPEN_TRIES: usize = 8;

impl PidLock {
    pub(super) fn attempt(&self) -> Result<PidGuard> {
        let path = &self.path;
        let lock_path = self.lock_path();
        let Some(parent) = parent_of(path) else {
            return Err(Error::InvalidPath { path: path.clone() });
        };
        record::refuse_special(path)?;
        let file = self.lock_file(&lock_path)?;
        let me = std::process::id();
        let registration = Registration::new(parent, path).ok_or_else(|| Error::Held {
            path: path.clone(),
            pid: Some(me),
            locked: true,
        })?;
        let record = record::read_record(path)?;
        let stamp = Stamp::read(file.file());
        let boot_id = process::boot_id();
        let verdict = classify(
            record.as_ref(),
            stamp.as_ref(),
            me,
            boot_id.as_deref(),
            |cmdline| self.identifies(cmdline),
            process::inspect,
        );
        let previous = match verdict {
            Verdict::Held(pid) => {
                return Err(Error::Held { path: path.clone(), pid: Some(pid), locked: false });
            }
            Verdict::Free(previous) => previous,
        };
        let mut guard = PidGuard {
            file: Some(file),
            _registration: Some(registration),
            path: path.clone(),
            lock_path,
            format: self.format,
            durability: self.durability,
            pid: me,
            start_time: process::own_start_time(),
            boot_id,
            payload: Vec::new(),
            published: None,
            previous,
        };
        guard.publish(&self.payload)?;
        // Temporary files of publishers killed mid-write; best effort, only dead writers' files.
        let _ = dotdir_atomic_store::sweep_temps(parent, path.file_name());
        Ok(guard)
    }

    /// Opens (creating the directory if needed) the lock file and takes the OS lock on it, or says
    /// who holds it.
    ///
    /// The open is atomic-store's [`LockFile`] — `O_NOFOLLOW | O_CLOEXEC`, `0o600`, never
    /// truncated (the stamp lives in it), a symlink or a non-file refused — the very file
    /// `dotdir_atomic_store::lock` takes.
    fn lock_file(&self, lock_path: &Path) -> Result<LockFile> {
        for _ in 0..REOPEN_TRIES {
            let file = LockFile::open(lock_path).map_err(|e| lock_file_error(e, Step::OpenLock))?;
            if !file.try_lock().map_err(|e| lock_file_error(e, Step::Lock))? {
                let meta = file.file().metadata().map_err(IoError::on(Step::Stat, lock_path))?;
                match process::lock_table(meta.dev(), meta.ino()) {
                    LockTable::HeldBy(pid) => return Err(self.held_by(Some(pid), true)),
                    // Released between our try and the look-up: try again.
                    LockTable::Free => continue,
                    LockTable::Unavailable => {
                        return Err(self.held_by(self.recorded_pid(), true));
                    }
                }
            }
            // BSD flopen(3): the lock counts only if the path still names the file we locked
            // (someone may have deleted or replaced the lock file while we opened it).
            if file.is_current().map_err(|e| lock_file_error(e, Step::Stat))? {
                return Ok(file);
            }
        }
        Err(self.held_by(self.recorded_pid(), true))
    }

    fn recorded_pid(&self) -> Option<u32> {
        record::read_record(&self.path).ok().flatten().and_then(|r| r.parsed.valid_pid())
    }

    fn held_by(&self, pid: Option<u32>, locked: bool) -> Error {
        Error::Held { path: self.path.clone(), pid, locked }
    }
}

/// The records guarded in this process: (directory device, directory inode, file name).
///
/// `flock` already excludes two guards of one process, as long as both lock the same lock file.
/// This list covers the one case it cannot: a lock file deleted by hand while a guard holds it.
/// The next acquire then locks a new inode and finds its own pid in the record, which would
/// otherwise read as "left over by an exec" ([`Previous::Own`](super::Previous::Own)).
static HELD_HERE: Mutex<Vec<(u64, u64, OsString)>> = Mutex::new(Vec::new());

/// This process's claim on a record; withdrawn on drop.
#[derive(Debug)]
pub(super) struct Registration((u64, u64, OsString));

impl Registration {
    /// Claims the record, or `None` when a guard of this process already holds it. A directory
    /// that cannot be inspected is claimed by path alone.
    fn new(parent: &Path, path: &Path) -> Option<Registration> {
        let name = path.file_name().map(OsString::from).unwrap_or_default();
        let key = match fs::metadata(parent) {
            Ok(meta) => (meta.dev(), meta.ino(), name),
            Err(_) => (0, 0, path.as_os_str().to_owned()),
        };
        let mut held = HELD_HERE.lock().unwrap_or_else(PoisonError::into_inner);
        if held.contains(&key) {
            return None;
        }
        held.push(key.clone());
        Some(Registration(key))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut held = HELD_HERE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = held.iter().position(|key| *key == self.0) {
            held.swap_remove(at);
        }
    }
}

/// An error of atomic-store's [`LockFile`] in this crate's terms (`step` for a failed system
/// call, unless it was creating the directory or inspecting the path).
pub(super) fn lock_file_error(error: dotdir_atomic_store::Error, step: Step) -> Error {
    use dotdir_atomic_store::{Error as StoreError, Step as StoreStep};
    match error {
        StoreError::Symlink { path } => Error::Symlink { path },
        StoreError::NotAFile { path } => Error::NotAFile { path },
        StoreError::InvalidPath { path } => Error::InvalidPath { path },
        StoreError::Io(IoError { step: store_step, path, source }) => {
            let step = match store_step {
                StoreStep::CreateDir => Step::CreateDir,
                StoreStep::Stat => Step::Stat,
                _ => step,
            };
            Error::Io(IoError { step, path, source })
        }
        other => Error::Io(IoError {
            step,
            path: other.path().to_path_buf(),
            source: io::Error::other(other),
        }),
    }
}

fn parent_of(path: &Path) -> Option<&Path> {
    path.file_name()?;
    let parent = path.parent()?;
    Some(if parent.as_os_str().is_empty() { Path::new(".") } else { parent })
}
