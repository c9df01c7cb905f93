//! What a killed backup or restore leaves behind, found and removed only on proof that its
//! writer is gone.
//!
//! - A killed `backup` leaves its temporary archive, `.<archive>.<pid>.<rand>.dotdir-tmp`, beside
//!   `--out`. It is dead when no live process with that pid holds it open
//!   ([`dotdir_atomic_store::TempFile::in_flight`]: its pid and `/proc/<pid>/fd`, no clock).
//! - A killed `restore` leaves its staging directory, `.<dir>.dotdir-restore`, beside the
//!   target. Every restore holds `flock` on that parent directory from before it creates the
//!   staging until it has renamed it into place: a `try_lock` that succeeds proves no restore
//!   runs there, so every staging directory in it is dead. The lock is held while they are
//!   removed, so no restore can start in between.
//!
//! [`find`] only looks; [`sweep`] removes what [`find`] would list and returns it, for the
//! command to name each one.
//!
//! ```
//! # fn main() -> Result<(), dotdir_engine::Error> {
//! use dotdir_engine::leftover;
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir(dir.path().join(".data.dotdir-restore")).unwrap();
//! std::fs::write(dir.path().join(".data.dotdir-restore/a"), "partial").unwrap();
//! let found = leftover::find(dir.path(), None)?;
//! assert_eq!(found[0].kind, leftover::LeftoverKind::RestoreStaging);
//! assert_eq!(found[0].bytes, 7);
//! assert_eq!(leftover::sweep(dir.path(), None)?.len(), 1);
//! assert!(!dir.path().join(".data.dotdir-restore").exists());
//! # Ok(()) }
//! ```

use crate::IoError;
use crate::Step;
use std::{
    ffi::{OsStr, OsString},
    fs::{self, File},
    io,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use crate::Error;

/// The suffix of a restore's staging directory: `.<dir>.dotdir-restore`.
pub const STAGING_SUFFIX: &str = ".dotdir-restore";

/// The staging directory a restore into `<parent>/<name>` uses: `<parent>/.<name>.dotdir-restore`.
pub fn staging_name(name: &OsStr) -> OsString {
    let mut staging = OsString::from(".");
    staging.push(name);
    staging.push(STAGING_SUFFIX);
    staging
}

/// What kind of leftover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeftoverKind {
    /// A killed backup's temporary archive (`.<name>.tar.gz.<pid>.<rand>.dotdir-tmp`).
    PartialArchive,
    /// Another killed writer's temporary file (`.<name>.<pid>.<rand>.dotdir-tmp`).
    Temp,
    /// A killed restore's staging directory (`.<dir>.dotdir-restore`).
    RestoreStaging,
}

impl LeftoverKind {
    /// What it is, for people: "a partial archive a killed backup left", ….
    pub fn describe(self) -> &'static str {
        match self {
            LeftoverKind::PartialArchive => "a partial archive a killed backup left",
            LeftoverKind::Temp => "a temporary file a killed writer left",
            LeftoverKind::RestoreStaging => "a partial copy a killed restore left",
        }
    }
}

/// One leftover of a dead writer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Leftover {
    /// Its path.
    pub path: PathBuf,
    /// What it is.
    pub kind: LeftoverKind,
    /// Its size (for a staging directory, the sum of the sizes of the files in it).
    pub bytes: u64,
}

/// The leftovers of dead writers directly in `dir`: temporary files no live writer holds, and
/// staging directories when no restore holds the lock on `dir`. With `only`, staging
/// directories for that name only (`.<only>.dotdir-restore`) and no temporary files. Nothing
/// is removed.
pub fn find(dir: &Path, only: Option<&OsStr>) -> Result<Vec<Leftover>, Error> {
    let Some(_lock) = try_lock(dir)? else { return find_unlocked(dir, only, false) };
    find_unlocked(dir, only, true)
}

/// Removes what [`find`] lists (holding the lock on `dir` while staging directories go) and
/// returns what it removed. A leftover removed meanwhile by another sweeper is not listed.
pub fn sweep(dir: &Path, only: Option<&OsStr>) -> Result<Vec<Leftover>, Error> {
    let lock = try_lock(dir)?;
    sweep_found(find_unlocked(dir, only, lock.is_some())?)
}

/// [`sweep`] by a process that already holds the lock on `dir` (a restore).
pub(crate) fn sweep_locked(dir: &Path) -> Result<Vec<Leftover>, Error> {
    sweep_found(find_unlocked(dir, None, true)?)
}

fn sweep_found(found: Vec<Leftover>) -> Result<Vec<Leftover>, Error> {
    let mut removed = Vec::new();
    for leftover in found {
        let result = match leftover.kind {
            LeftoverKind::RestoreStaging => fs::remove_dir_all(&leftover.path),
            LeftoverKind::PartialArchive | LeftoverKind::Temp => fs::remove_file(&leftover.path),
        };
        match result {
            Ok(()) => removed.push(leftover),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Io(IoError {
                    step: Step::RemoveLeftover,
                    path: leftover.path,
                    source,
                }));
            }
        }
    }
    Ok(removed)
}

/// `flock` on `dir` if no one holds it (`None` when a restore does). A missing directory holds
/// nothing.
fn try_lock(dir: &Path) -> Result<Option<File>, Error> {
    let handle = match File::open(dir) {
        Ok(handle) => handle,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io(IoError { step: Step::Open, path: dir.to_path_buf(), source }));
        }
    };
    match handle.try_lock() {
        Ok(()) => Ok(Some(handle)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(source)) => {
            Err(Error::Io(IoError { step: Step::Lock, path: dir.to_path_buf(), source }))
        }
    }
}

fn find_unlocked(
    dir: &Path,
    only: Option<&OsStr>,
    staging_dead: bool,
) -> Result<Vec<Leftover>, Error> {
    let mut found = Vec::new();
    if only.is_none() {
        let temps = dotdir_atomic_store::find_temps(dir, None)
            .map_err(|source| Error::Store { path: dir.to_path_buf(), source })?;
        for temp in temps {
            if temp.in_flight() {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(&temp.path) else { continue };
            if !meta.is_file() {
                continue;
            }
            let name = temp.path.file_name().map(OsStr::as_bytes).unwrap_or_default();
            let archive = [".tar.gz.", ".tgz."]
                .iter()
                .any(|s| name.windows(s.len()).any(|w| w == s.as_bytes()));
            let kind = if archive { LeftoverKind::PartialArchive } else { LeftoverKind::Temp };
            found.push(Leftover { path: temp.path, kind, bytes: meta.len() });
        }
    }
    if !staging_dead {
        return Ok(found);
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(source) => {
            return Err(Error::Io(IoError {
                step: Step::ListDir,
                path: dir.to_path_buf(),
                source,
            }));
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| {
            Error::Io(IoError { step: Step::ListDir, path: dir.into(), source })
        })?;
        let name = entry.file_name();
        let wanted = match only {
            Some(only) => name == staging_name(only),
            None => {
                let bytes = name.as_bytes();
                bytes.len() > 1 + STAGING_SUFFIX.len()
                    && bytes.starts_with(b".")
                    && bytes.ends_with(STAGING_SUFFIX.as_bytes())
            }
        };
        if !wanted {
            continue;
        }
        let path = entry.path();
        // Only a real directory: a symlink or file of that name is no staging of ours.
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let bytes = size_of_tree(&path);
        found.push(Leftover { path, kind: LeftoverKind::RestoreStaging, bytes });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// The total size of the files under `dir` (links not followed, unreadable parts skipped).
fn size_of_tree(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                total += meta.len();
            }
        }
    }
    total
}

/// The staging directories a killed restore left beside the data directory `root`: beside it
/// as named and, when it is a symlink or lies under one, beside the directory it resolves to.
pub fn beside(root: &Path) -> Result<Vec<Leftover>, Error> {
    let mut found = Vec::new();
    for (parent, name) in places(root) {
        for leftover in find(&parent, Some(&name))? {
            if !found.contains(&leftover) {
                found.push(leftover);
            }
        }
    }
    Ok(found)
}

/// The directories `restore --force` moved aside beside `root` (`<name>.before-restore-<n>`),
/// with the sizes of the files in them: each may hold secrets and state the backup did not.
/// Never removed by dotdir.
pub fn previous_dirs(root: &Path) -> Vec<(PathBuf, u64)> {
    let mut found = Vec::new();
    for (parent, name) in places(root) {
        let mut prefix = name.as_bytes().to_vec();
        prefix.extend_from_slice(b".before-restore-");
        let Ok(entries) = fs::read_dir(&parent) else { continue };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(n) = file_name.as_bytes().strip_prefix(prefix.as_slice()) else { continue };
            let path = entry.path();
            if n.is_empty()
                || !n.iter().all(u8::is_ascii_digit)
                || !path.symlink_metadata().is_ok_and(|m| m.is_dir())
                || found.iter().any(|(p, _)| p == &path)
            {
                continue;
            }
            let bytes = size_of_tree(&path);
            found.push((path, bytes));
        }
    }
    found.sort();
    found
}

/// `(parent, name)` of `root` as given (made absolute) and as resolved.
fn places(root: &Path) -> Vec<(PathBuf, OsString)> {
    let mut places: Vec<(PathBuf, OsString)> = Vec::new();
    for path in [std::path::absolute(root).ok(), fs::canonicalize(root).ok()].into_iter().flatten()
    {
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            let place = (parent.to_path_buf(), name.to_owned());
            if !places.contains(&place) {
                places.push(place);
            }
        }
    }
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_writers_temp_is_found_and_a_live_ones_is_not() {
        let dir = tempfile::tempdir().unwrap();
        // A pid above the kernel's maximum (2^22) never runs.
        let dead = dir.path().join(".a.tar.gz.4194304.0badf00d.dotdir-tmp");
        fs::write(&dead, "partial").unwrap();
        // This process holds its own temp open: in flight.
        let live = dir.path().join(format!(".b.tar.gz.{}.0badf00d.dotdir-tmp", std::process::id()));
        let _held = File::create(&live).unwrap();
        let found = find(dir.path(), None).unwrap();
        assert_eq!(
            found,
            [Leftover { path: dead.clone(), kind: LeftoverKind::PartialArchive, bytes: 7 }]
        );
        assert_eq!(sweep(dir.path(), None).unwrap().len(), 1);
        assert!(!dead.exists());
        assert!(live.exists());
    }

    #[test]
    fn a_staging_under_a_held_lock_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join(staging_name(OsStr::new("data")));
        fs::create_dir(&staging).unwrap();
        let holder = File::open(dir.path()).unwrap();
        holder.lock().unwrap();
        assert!(find(dir.path(), None).unwrap().is_empty());
        assert!(sweep(dir.path(), None).unwrap().is_empty());
        assert!(staging.exists());
        holder.unlock().unwrap();
        assert_eq!(sweep(dir.path(), Some(OsStr::new("other"))).unwrap(), []);
        assert_eq!(sweep(dir.path(), Some(OsStr::new("data"))).unwrap().len(), 1);
        assert!(!staging.exists());
    }
}
