//! Listing and looking up: a fresh look at the directory, reading only the files that changed.

use dotdir_atomic_store::Step;
use std::{
    collections::{BTreeMap, HashMap},
    ffi::OsString,
    fs, io,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
    sync::{Arc, atomic::Ordering},
    time::SystemTime,
};

use dotdir_atomic_store as store;

use super::{Cached, ListedSpec, Listing, Parsed, SpecDir, Stamp, dir_stamp};
use crate::{
    IoError,
    error::{Error, Result, SpecProblem},
    spec::{Spec, SpecFile, parse_at},
};

impl<T: Spec> SpecDir<T> {
    /// Every spec in the directory, in file-name order, with the problems of the entries that
    /// were skipped. A missing directory is empty. Only a directory that cannot be listed at all
    /// is an error.
    ///
    /// When no `*.md` entry changed (same names, sizes, times and inodes) since the last call,
    /// the previous listing is returned as it is: the call costs one `readdir` and one `stat`
    /// per entry, and reads no file.
    pub fn list(&self) -> Result<Arc<Listing<T>>> {
        Ok(self.scan()?.0)
    }

    /// [`SpecDir::list`], and the entries that could not be read and might hold any id (see
    /// [`might_hold_an_id`]): a write or removal by id must not act as if they did not exist.
    fn scan(&self) -> Result<(Arc<Listing<T>>, Vec<Unreadable>)> {
        let mut cache = self.cache.lock();
        let before = dir_stamp(&self.dir);
        let scanned = match scan_dir(&self.dir) {
            Ok(scanned) => scanned,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                cache.files.clear();
                cache.dir_stamp = None;
                let empty = Arc::new(Listing { entries: Vec::new(), problems: Vec::new() });
                cache.last = Some(Arc::clone(&empty));
                return Ok((empty, Vec::new()));
            }
            Err(source) => {
                return Err(Error::Io(IoError {
                    step: Step::ListDir,
                    path: self.dir.clone(),
                    source,
                }));
            }
        };

        // Fast path: every entry is a cached, settled file with the same stamp.
        if let Some(last) = &cache.last
            && scanned.len() == cache.files.len()
            && scanned.iter().all(|(name, meta)| {
                let Ok(meta) = meta else { return false };
                cache
                    .files
                    .get(name)
                    .is_some_and(|c| c.settled && meta.is_file() && c.stamp == Stamp::of(meta))
            })
        {
            let last = Arc::clone(last);
            cache.dir_stamp = before;
            return Ok((last, Vec::new()));
        }

        let mut fresh: HashMap<OsString, Cached<T>> = HashMap::with_capacity(scanned.len());
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        let mut unreadable = Vec::new();
        for (name, meta) in scanned {
            let path = self.dir.join(&name);
            let meta = match meta {
                Ok(meta) if meta.is_file() => meta,
                Ok(meta) => {
                    let what = if meta.file_type().is_symlink() {
                        "a symbolic link: never followed, move the file itself here"
                    } else {
                        "not a regular file"
                    };
                    let source = io::Error::new(io::ErrorKind::InvalidInput, what);
                    let error = Error::Io(IoError { step: Step::Read, path: path.clone(), source });
                    problems.push(SpecProblem::Unreadable { path, error });
                    continue;
                }
                Err(source) => {
                    let error = Error::Io(IoError { step: Step::Read, path: path.clone(), source });
                    if let Some(source) = might_hold_an_id(&error) {
                        unreadable.push(Unreadable { path: path.clone(), source });
                    }
                    problems.push(SpecProblem::Unreadable { path, error });
                    continue;
                }
            };
            let stamp = Stamp::of(&meta);
            let cached = match cache.files.remove(&name) {
                Some(cached) if cached.stamp == stamp && cached.settled => cached,
                _ => {
                    let read_at = SystemTime::now();
                    match self.load(&path) {
                        Ok(parsed) => Cached { stamp, settled: stamp.is_settled(read_at), parsed },
                        Err(error) => {
                            if let Some(source) = might_hold_an_id(&error) {
                                unreadable.push(Unreadable { path: path.clone(), source });
                            }
                            problems.push(SpecProblem::Unreadable { path, error });
                            continue;
                        }
                    }
                }
            };
            match &cached.parsed {
                Parsed::Ok(entry) => entries.push(Arc::clone(entry)),
                Parsed::Corrupt(error) => problems.push(SpecProblem::Corrupt(error.clone())),
            }
            fresh.insert(name, cached);
        }
        let complete = problems.iter().all(|p| matches!(p, SpecProblem::Corrupt(_)));
        cache.files = fresh;
        cache.dir_stamp = if complete { before } else { None };

        let mut by_id: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
        for entry in &entries {
            by_id.entry(entry.spec.id()).or_default().push(entry.path.clone());
        }
        for (id, paths) in by_id {
            if paths.len() > 1 {
                problems.push(SpecProblem::DuplicateId { id: id.to_owned(), paths });
            }
        }
        let listing = Arc::new(Listing { entries, problems });
        // A listing with unreadable entries is not reused: they are retried next time.
        cache.last = complete.then(|| Arc::clone(&listing));
        Ok((listing, unreadable))
    }

    /// Reads and parses one file; a parse failure is a value, a read failure an error.
    fn load(&self, path: &Path) -> Result<Parsed<T>> {
        self.files_read.fetch_add(1, Ordering::Relaxed);
        let limit = self.options.limits.max_file_bytes as u64;
        // Never through a symbolic link (planted in place of the file), never blocking.
        let bytes = store::read(path, limit)?.ok_or_else(|| {
            Error::Io(IoError {
                step: Step::Read,
                path: path.to_path_buf(),
                source: io::ErrorKind::NotFound.into(),
            })
        })?;
        match parse_at::<T>(&bytes, &self.options.limits, path) {
            Ok(SpecFile { spec, extra }) => {
                Ok(Parsed::Ok(Arc::new(ListedSpec { path: path.to_path_buf(), spec, extra })))
            }
            Err(Error::Parse(error)) => Ok(Parsed::Corrupt(error)),
            Err(other) => Err(other),
        }
    }

    /// The spec with this id (the first file in name order if several carry it).
    ///
    /// `Ok(None)` means no file holds the id: when no readable file does but a spec file cannot
    /// be read (an I/O error such as `EIO` or `EACCES`), it might, and the answer is
    /// [`Error::UnreadableEntry`] instead.
    pub fn get(&self, id: &str) -> Result<Option<Arc<ListedSpec<T>>>> {
        let (listing, unreadable) = self.scan()?;
        if let Some(entry) = listing.get(id) {
            return Ok(Some(Arc::clone(entry)));
        }
        match unreadable.into_iter().next() {
            Some(Unreadable { path, source }) => {
                Err(Error::UnreadableEntry { action: "get", id: id.to_owned(), path, source })
            }
            None => Ok(None),
        }
    }

    /// The files holding `id`, in name order, from a fresh look at the directory under its lock:
    /// never the cached listing, whose directory stamp cannot see another process's rename in
    /// the same timestamp tick (ext2, ext4 before Linux 6.13). Files whose own stamp is
    /// unchanged and settled are not read again. An entry that could not be read and might hold
    /// the id is [`Error::UnreadableEntry`] (for `action`).
    pub(super) fn holders(
        &self,
        id: &str,
        action: &'static str,
    ) -> Result<Vec<Arc<ListedSpec<T>>>> {
        let (listing, unreadable) = self.scan()?;
        if let Some(Unreadable { path, source }) = unreadable.into_iter().next() {
            return Err(Error::UnreadableEntry { action, id: id.to_owned(), path, source });
        }
        Ok(listing.entries.iter().filter(|e| e.spec.id() == id).cloned().collect())
    }
}

/// A spec file that could not be read and might hold any id.
#[derive(Debug)]
struct Unreadable {
    path: PathBuf,
    source: io::Error,
}

/// Whether an entry that failed to read might still hold a spec (and so any id), and the OS
/// error to report for it. Not when it is gone (`ENOENT`: removed since the `readdir`, or a
/// dangling symlink) or is not a regular file, nor when it was read and refused (over the size
/// cap: skipped like a corrupt file); any other I/O error (`EIO`, `EACCES`, a symlink loop, …)
/// leaves its content unknown.
fn might_hold_an_id(error: &Error) -> Option<io::Error> {
    let source = match error {
        Error::Io(IoError { source, .. }) => source,
        Error::Store(store::Error::Io(IoError { source, .. })) => source,
        Error::Store(store::Error::TooLarge { .. } | store::Error::NotAFile { .. }) => return None,
        other => return Some(io::Error::other(other.to_string())),
    };
    if source.kind() == io::ErrorKind::NotFound {
        return None;
    }
    Some(match source.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(source.kind(), source.to_string()),
    })
}

/// The `*.md` entries of the directory (hidden `.md` included, as the reference's glob), in
/// byte order, each with its own metadata (`lstat`: a symbolic link is never followed, and is
/// reported as not a regular file).
fn scan_dir(dir: &Path) -> io::Result<Vec<(OsString, io::Result<fs::Metadata>)>> {
    let mut scanned = Vec::new();
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        if !name.as_bytes().ends_with(b".md") {
            continue;
        }
        scanned.push((name, entry.metadata()));
    }
    scanned.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(scanned)
}
