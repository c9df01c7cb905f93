//! The cross-process lock on a sidecar file that rename never replaces.

use crate::IoError;
use std::{
    ffi::OsString,
    fs::{File, OpenOptions, TryLockError},
    io,
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use crate::{
    Error, Result, Step,
    dir::{create_dirs, parent_of},
};

/// An exclusive lock on `<path>.lock`, held until dropped.
///
/// The lock is `flock(2)` (std's [`File::lock`]) on a sidecar file that is never renamed over, so
/// every process locks the same inode — locking the target itself would not work, because each
/// atomic replace gives the target a new inode. The kernel releases it when the holder dies, so
/// there is never a stale lock to clean up. The sidecar file is empty and left in place.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard {
    file: LockFile,
}

impl LockGuard {
    /// The sidecar lock file.
    pub fn path(&self) -> &Path {
        self.file.path()
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
    let file = LockFile::sidecar(path)?;
    file.lock()?;
    Ok(LockGuard { file })
}

/// Takes the lock if it is free; `Ok(None)` when another holder has it.
pub fn try_lock(path: &Path) -> Result<Option<LockGuard>> {
    let file = LockFile::sidecar(path)?;
    Ok(file.try_lock()?.then_some(LockGuard { file }))
}

/// An open lock file, kept open to be locked and unlocked many times — for a caller that holds
/// the lock for a process's life (a pid lock) or takes it around each operation without
/// reopening the file (a log's appends).
///
/// It is opened (and created `0o600` when missing, with missing parent directories) with
/// `O_NOFOLLOW | O_CLOEXEC`: a symlink at the path is [`Error::Symlink`], never followed, and
/// anything but a regular file is [`Error::NotAFile`]; an existing file is never truncated, so a
/// holder may keep a note in it. These are the flags [`lock`] uses, so a `LockFile` on
/// [`lock_path`]`(target)` excludes [`lock`]`(target)` and the other way round.
///
/// `flock(2)` belongs to the open file description: two `LockFile`s (two opens) exclude each
/// other even in one process, but threads sharing one `LockFile` do not — guard it with a mutex.
/// Closing it (dropping) releases the lock.
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::LockFile;
/// let holder = LockFile::sidecar(&dir.path().join("log.jsonl"))?;
/// let other = LockFile::open(dir.path().join("log.jsonl.lock"))?;
/// for _ in 0..3 {
///     holder.lock()?;
///     assert!(!other.try_lock()?, "held by the first open");
///     holder.unlock()?;
/// }
/// assert!(other.try_lock()?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LockFile {
    file: File,
    path: PathBuf,
    device: u64,
    inode: u64,
}

impl LockFile {
    /// Opens (creating it if needed) the lock file at exactly `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<LockFile> {
        let path = path.into();
        create_dirs(parent_of(&path)?, 0o777, crate::Durability::Full)?;
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(
                rustix::fs::OFlags::NOFOLLOW.bits() as i32
                    | rustix::fs::OFlags::CLOEXEC.bits() as i32,
            )
            .open(&path);
        let file = match opened {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                return Err(Error::Symlink { path });
            }
            Err(source) => return Err(Error::Io(IoError { step: Step::Lock, path, source })),
        };
        let meta = file.metadata().map_err(IoError::on(Step::Lock, &path))?;
        if !meta.is_file() {
            return Err(Error::NotAFile { path });
        }
        Ok(LockFile { file, path, device: meta.dev(), inode: meta.ino() })
    }

    /// Opens the sidecar lock file of `target`, [`lock_path`]`(target)`: the file [`lock`]
    /// takes.
    pub fn sidecar(target: &Path) -> Result<LockFile> {
        parent_of(target)?;
        LockFile::open(lock_path(target))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open lock file (to keep a note in it, or to `fstat` it).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Takes the exclusive lock, waiting as long as needed (an interrupted wait is resumed).
    pub fn lock(&self) -> Result<()> {
        loop {
            match self.file.lock() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io(IoError {
                        step: Step::Lock,
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
        }
    }

    /// Takes the exclusive lock if it is free; `Ok(false)` when another open file description
    /// holds it.
    pub fn try_lock(&self) -> Result<bool> {
        match self.file.try_lock() {
            Ok(()) => Ok(true),
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(source)) => {
                Err(Error::Io(IoError { step: Step::Lock, path: self.path.clone(), source }))
            }
        }
    }

    /// Releases the lock (dropping the `LockFile` releases it too).
    pub fn unlock(&self) -> Result<()> {
        self.file.unlock().map_err(|e| Error::from(IoError::on(Step::Lock, &self.path)(e)))
    }

    /// Whether the path still names the file this `LockFile` has open. After taking the lock, a
    /// caller that must not split the lock checks this (BSD `flopen(3)`): someone may have
    /// deleted or replaced the lock file in between, and then reopens.
    pub fn is_current(&self) -> Result<bool> {
        match std::fs::symlink_metadata(&self.path) {
            Ok(now) => Ok(now.dev() == self.device && now.ino() == self.inode),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => {
                Err(Error::Io(IoError { step: Step::Stat, path: self.path.clone(), source }))
            }
        }
    }
}
