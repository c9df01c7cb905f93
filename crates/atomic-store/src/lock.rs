//! The cross-process lock on a sidecar file that rename never replaces.

use std::{
    ffi::OsString,
    fs::{File, OpenOptions},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use crate::{Error, Result, Step, write::create_dirs, write::parent_of};

/// An exclusive lock on `<path>.lock`, held until dropped.
///
/// The lock is `flock(2)` (std's [`File::lock`]) on a sidecar file that is never renamed over, so
/// every process locks the same inode — locking the target itself would not work, because each
/// atomic replace gives the target a new inode. The kernel releases it when the holder dies, so
/// there is never a stale lock to clean up. The sidecar file is empty and left in place.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard {
    _file: File,
    path: PathBuf,
}

impl LockGuard {
    /// The sidecar lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The sidecar lock file of `path`: `<path>.lock`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock that guards read-modify-writes of `path`, waiting as long as needed.
pub fn lock(path: &Path) -> Result<LockGuard> {
    let (file, lock) = open_lock_file(path)?;
    file.lock().map_err(Error::io(Step::Lock, &lock))?;
    Ok(LockGuard { _file: file, path: lock })
}

/// Takes the lock if it is free; `Ok(None)` when another holder has it.
pub fn try_lock(path: &Path) -> Result<Option<LockGuard>> {
    let (file, lock) = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(LockGuard { _file: file, path: lock })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => {
            Err(Error::Io { step: Step::Lock, path: lock, source })
        }
    }
}

fn open_lock_file(path: &Path) -> Result<(File, PathBuf)> {
    let lock = lock_path(path);
    create_dirs(parent_of(path)?, 0o777, true)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(
            rustix::fs::OFlags::NOFOLLOW.bits() as i32 | rustix::fs::OFlags::CLOEXEC.bits() as i32,
        )
        .open(&lock)
        .map_err(Error::io(Step::Lock, &lock))?;
    Ok((file, lock))
}
