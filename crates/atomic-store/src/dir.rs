//! Directories: creating them (durably, privately), syncing them, and the real-directory guard.

use crate::IoError;
use std::{
    fs::{self, File, Permissions},
    io,
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::{Path, PathBuf},
};

use crate::{Error, Result, Step, write::Durability};

pub(crate) fn parent_of(path: &Path) -> Result<&Path> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(_)) => {
            Ok(if parent.as_os_str().is_empty() { Path::new(".") } else { parent })
        }
        _ => Err(Error::InvalidPath { path: path.to_path_buf() }),
    }
}

/// Creates `dir` and its missing ancestors with `mode` (less the umask, as `mkdir(2)` does);
/// unless `durability` is [`Durability::None`], syncs the parent of each directory it created
/// so the new names survive a power cut. An existing directory is left as it is. A file or a
/// dangling symlink where a directory should be is an error.
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let tmp = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::{Durability, create_dirs};
/// let dir = tmp.path().join("a/b/c");
/// create_dirs(&dir, 0o755, Durability::Full)?;
/// assert!(dir.is_dir());
/// # Ok(()) }
/// ```
pub fn create_dirs(dir: &Path, mode: u32, durability: Durability) -> Result<()> {
    let durable = durability != Durability::None;
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cursor = dir;
    while !cursor.as_os_str().is_empty() && !cursor.exists() {
        missing.push(cursor);
        match cursor.parent() {
            Some(parent) => cursor = parent,
            None => break,
        }
    }
    for created in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(mode).create(created) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && created.is_dir() => continue,
            Err(source) => {
                return Err(Error::Io(IoError {
                    step: Step::CreateDir,
                    path: created.to_path_buf(),
                    source,
                }));
            }
        }
        if durable {
            sync_dir(parent_of(created).unwrap_or(Path::new(".")), created)?;
        }
    }
    Ok(())
}

/// The real-directory guard: the first directory on the way from `root` (excluded: a data
/// directory may be reached through a symbolic link) down to `dir` (included) that exists and
/// is not a real directory — a symbolic link, which a write would follow out of the data
/// directory, or a file. `None` when every existing one is a directory (missing ones are
/// created as real directories by the write that needs them). A `dir` outside `root` is not
/// checked. A layout calls it before writing under one of its directories: only the layout
/// knows where the data directory's root is (a write alone never follows its last component).
///
/// ```
/// # let tmp = tempfile::tempdir().unwrap();
/// # let root = tmp.path();
/// std::fs::create_dir(root.join("state")).unwrap();
/// std::os::unix::fs::symlink("/etc", root.join("routines")).unwrap();
/// use dotdir_atomic_store::first_non_directory;
/// assert_eq!(first_non_directory(root, &root.join("state/new")).unwrap(), None);
/// assert_eq!(first_non_directory(root, &root.join("routines")).unwrap(), Some(root.join("routines")));
/// ```
pub fn first_non_directory(root: &Path, dir: &Path) -> io::Result<Option<PathBuf>> {
    let Ok(relative) = dir.strip_prefix(root) else { return Ok(None) };
    let mut current = root.to_path_buf();
    for component in relative.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Ok(Some(current)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Creates `dir` (and missing ancestors) as `0o700`, or takes group and other permissions away
/// from an existing directory: a directory that holds secrets. A symlink or a file at `dir` is
/// an error ([`Step::CreateDir`]), never followed.
pub fn create_private_dir(dir: &Path, durability: Durability) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                fs::set_permissions(dir, Permissions::from_mode(mode & !0o077))
                    .map_err(IoError::on(Step::SetMode, dir))?;
            }
            Ok(())
        }
        Ok(_) => Err(Error::Io(IoError {
            step: Step::CreateDir,
            path: dir.to_path_buf(),
            source: io::Error::other("not a directory (a symlink or a file is refused)"),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_dirs(dir, 0o700, durability),
        Err(source) => {
            Err(Error::Io(IoError { step: Step::CreateDir, path: dir.to_path_buf(), source }))
        }
    }
}

/// fsyncs the directory `dir`, so that the names created, renamed or removed in it survive a
/// power cut; an error names `target` (the file whose entry it makes durable, or `dir`).
/// `EINVAL` (filesystems that cannot sync a directory: some FUSE, SMB and VirtualBox shares) is
/// not an error: there is nothing more the process can do.
pub fn sync_dir(dir: &Path, target: &Path) -> Result<()> {
    let handle = File::open(dir).map_err(IoError::on(Step::SyncDir, target))?;
    match handle.sync_all() {
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => Ok(()),
        other => other.map_err(|e| Error::from(IoError::on(Step::SyncDir, target)(e))),
    }
}
