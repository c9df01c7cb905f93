//! Taking a file out of the way: the durable removal, and the set-aside of a file for a person
//! to read (`<name>.corrupt`).

use crate::IoError;
use std::{
    fs::{self, OpenOptions},
    io,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use crate::{
    Error, Result, Step,
    dir::{parent_of, sync_dir},
    write::{AtomicFile, Created, Durability, Mode, WriteOptions},
};

/// Removes the file (or symlink) at `path`, then syncs its directory when `durability` is
/// [`Durability::Full`], so the removal survives a power cut once the call returns.
///
/// `unlink(2)` never follows a symlink: a symlink at `path` is removed itself, its target is
/// untouched. Returns `Ok(false)` when nothing was there (or a parent is not a directory); a
/// directory at `path` is [`Error::NotAFile`].
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::{remove, write, Durability, WriteOptions};
/// let path = dir.path().join("reminder.md");
/// let _ = write(&path, b"x", &WriteOptions::new())?;
/// assert!(remove(&path, Durability::Full)?);
/// assert!(!remove(&path, Durability::Full)?);
/// # Ok(()) }
/// ```
pub fn remove(path: &Path, durability: Durability) -> Result<bool> {
    let dir = parent_of(path)?;
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory =>
        {
            return Ok(false);
        }
        Err(source) => {
            let is_dir = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
            if is_dir {
                return Err(Error::NotAFile { path: path.to_path_buf() });
            }
            return Err(Error::Io(IoError {
                step: Step::Remove,
                path: path.to_path_buf(),
                source,
            }));
        }
    }
    if durability == Durability::Full {
        sync_dir(dir, path)?;
    }
    Ok(true)
}

/// Sets a file aside for a person to read: copies it to the first free `<name>.corrupt`,
/// `<name>.1.corrupt`, … (create-only, `0o600`: an earlier copy is never replaced, and bad data
/// may hold a secret's bytes), then removes it with `durability`. Returns the copy, or `None`
/// when there was no file. Safe to retry: a failure before the removal leaves the file in
/// place (and at worst a copy a retry does not reuse), one after it has nothing left to do.
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let tmp = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::{Durability, set_aside};
/// let state = tmp.path().join("state.json");
/// std::fs::write(&state, b"{torn").unwrap();
/// let aside = set_aside(&state, Durability::Full)?.unwrap();
/// assert!(aside.ends_with("state.json.corrupt") && !state.exists());
/// # Ok(()) }
/// ```
pub fn set_aside(path: &Path, durability: Durability) -> Result<Option<PathBuf>> {
    let options = WriteOptions::new().mode(Mode::Exact(0o600)).durability(durability);
    for n in 0u32..=u32::MAX {
        // Opened afresh for each name: the copy is streamed, whatever the file's size.
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        let opened = OpenOptions::new().read(true).custom_flags(flags.bits() as i32).open(path);
        let mut source = match opened {
            Ok(file) if !file.metadata().is_ok_and(|m| m.is_file()) => {
                return Err(Error::NotAFile { path: path.to_path_buf() });
            }
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io(IoError {
                    step: Step::Read,
                    path: path.to_path_buf(),
                    source,
                }));
            }
        };
        let mut aside = path.as_os_str().to_owned();
        aside.push(if n == 0 { ".corrupt".to_owned() } else { format!(".{n}.corrupt") });
        let aside = PathBuf::from(aside);
        let mut copy = AtomicFile::create(&aside, &options)?;
        io::copy(&mut source, &mut copy).map_err(IoError::on(Step::Write, &aside))?;
        if copy.commit_new()? == Created::New {
            let _ = remove(path, durability)?;
            return Ok(Some(aside));
        }
    }
    Err(Error::Io(IoError {
        step: Step::CreateTemp,
        path: path.to_path_buf(),
        source: io::Error::other("every .corrupt name is taken"),
    }))
}
