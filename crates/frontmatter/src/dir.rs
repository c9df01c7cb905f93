//! `SpecDir<T>`: one directory of slug-named spec files, keyed by the `id` in their front matter.

use crate::IoError;
use std::{
    collections::{BTreeMap, HashMap},
    ffi::{OsStr, OsString},
    fs, io,
    os::unix::{ffi::OsStrExt, fs::MetadataExt},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use dotdir_atomic_store::{self as store, Durability, WriteOptions, Written};
use parking_lot::Mutex;

use crate::{
    error::{Error, ParseError, Problem, Result},
    guard::Limits,
    slug::file_stem,
    spec::{Extra, Spec, SpecFile, parse_at, render_parts},
};

/// Options of a [`SpecDir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirOptions {
    /// Caps applied to every file read.
    pub limits: Limits,
    /// How durable each write and removal is (default: fully durable).
    pub durability: Durability,
}

/// One parsed spec file of a directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    /// The file.
    pub path: PathBuf,
    /// The typed spec.
    pub spec: T,
    /// Its unknown front-matter keys.
    pub extra: Extra,
}

impl<T: Spec> Entry<T> {
    /// The id in the front matter.
    pub fn id(&self) -> &str {
        self.spec.id()
    }
}

/// A listing: every spec that parsed, in file-name order, and every entry that did not.
#[derive(Debug)]
pub struct Listing<T> {
    /// Parsed specs, in file-name (byte) order, the reference's order.
    pub entries: Vec<Arc<Entry<T>>>,
    /// Corrupt or unreadable entries and duplicate ids, each skipped (duplicates stay listed).
    pub problems: Vec<Problem>,
}

impl<T: Spec> Listing<T> {
    /// The first entry (in file-name order) with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<Entry<T>>> {
        self.entries.iter().find(|e| e.spec.id() == id)
    }
}

/// What a [`SpecDir::write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The file that now holds the spec.
    pub path: PathBuf,
    /// Whether the bytes were written, or were already there.
    pub written: Written,
    /// Other files with the same id that were removed (the old name after a message change,
    /// duplicates left by the reference).
    pub removed: Vec<PathBuf>,
}

/// The identity of a file version: if none of these changed, its content did not either
/// (writes through atomic-store change the inode; in-place edits change size, mtime or ctime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        Self {
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    /// A file changed within the timestamp granularity of `read_at` may change again without a
    /// new stamp (a "racy" entry, as git calls it): such an entry is read again next time.
    fn is_settled(&self, read_at: SystemTime) -> bool {
        let coarse = self.mtime.1 == 0 && self.ctime.1 == 0;
        let margin = if coarse { Duration::from_secs(2) } else { Duration::from_millis(20) };
        let changed = self.mtime.max(self.ctime);
        let changed = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(changed.0).unwrap_or(0))
            + Duration::from_nanos(u64::try_from(changed.1).unwrap_or(0));
        changed + margin < read_at
    }
}

#[derive(Debug)]
enum Parsed<T> {
    Ok(Arc<Entry<T>>),
    Corrupt(ParseError),
}

#[derive(Debug)]
struct Cached<T> {
    stamp: Stamp,
    settled: bool,
    parsed: Parsed<T>,
}

#[derive(Debug)]
struct Cache<T> {
    files: HashMap<OsString, Cached<T>>,
    last: Option<Arc<Listing<T>>>,
    /// The directory's stamp when `files` was last known to match it.
    dir_stamp: Option<DirStamp>,
}

/// The directory's inode and modification time: any entry added, removed or renamed changes it.
type DirStamp = (u64, u64, i64, i64);

fn dir_stamp(dir: &Path) -> Option<DirStamp> {
    let meta = fs::metadata(dir).ok()?;
    Some((meta.dev(), meta.ino(), meta.mtime(), meta.mtime_nsec()))
}

/// A directory of spec files of one kind (`routines/`, `reminders/`, `webhooks/`).
///
/// File names are the reference's slug of the body ([`slugify`](crate::slugify)), `-2`, `-3`, …
/// on collision, `untitled.md` for a body without letters or digits; the `id` in the front
/// matter is authoritative. Every write goes through `dotdir-atomic-store` under the directory's
/// lock (`<dir>/.spec.lock`), so concurrent writers in several processes never pick the same
/// name or leave two files with one id.
///
/// Listing keeps the parsed entries: a repeated [`SpecDir::list`] of an unchanged directory
/// reads the directory and `stat`s each `*.md` entry, and reads no file.
#[derive(Debug)]
pub struct SpecDir<T> {
    dir: PathBuf,
    options: DirOptions,
    cache: Mutex<Cache<T>>,
    files_read: AtomicU64,
}

const LOCK_STEM: &str = ".spec";
const MAX_SUFFIX: usize = 100_000;

impl<T: Spec> SpecDir<T> {
    /// The spec directory at `dir` (which need not exist yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_options(dir, DirOptions::default())
    }

    /// The spec directory at `dir` with explicit options.
    pub fn with_options(dir: impl Into<PathBuf>, options: DirOptions) -> Self {
        Self {
            dir: dir.into(),
            options,
            cache: Mutex::new(Cache { files: HashMap::new(), last: None, dir_stamp: None }),
            files_read: AtomicU64::new(0),
        }
    }

    /// How many files this `SpecDir` has read and parsed so far (a repeated listing of an
    /// unchanged directory adds none).
    pub fn files_read(&self) -> u64 {
        self.files_read.load(Ordering::Relaxed)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

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
                    step: "list directory",
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
                    let error = Error::Io(IoError { step: "read", path: path.clone(), source });
                    problems.push(Problem::Unreadable { path, error });
                    continue;
                }
                Err(source) => {
                    let error = Error::Io(IoError { step: "read", path: path.clone(), source });
                    if let Some(source) = might_hold_an_id(&error) {
                        unreadable.push(Unreadable { path: path.clone(), source });
                    }
                    problems.push(Problem::Unreadable { path, error });
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
                            problems.push(Problem::Unreadable { path, error });
                            continue;
                        }
                    }
                }
            };
            match &cached.parsed {
                Parsed::Ok(entry) => entries.push(Arc::clone(entry)),
                Parsed::Corrupt(error) => problems.push(Problem::Corrupt(error.clone())),
            }
            fresh.insert(name, cached);
        }
        let complete = problems.iter().all(|p| matches!(p, Problem::Corrupt(_)));
        cache.files = fresh;
        cache.dir_stamp = if complete { before } else { None };

        let mut by_id: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
        for entry in &entries {
            by_id.entry(entry.spec.id()).or_default().push(entry.path.clone());
        }
        for (id, paths) in by_id {
            if paths.len() > 1 {
                problems.push(Problem::DuplicateId { id: id.to_owned(), paths });
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
                step: "read",
                path: path.to_path_buf(),
                source: io::ErrorKind::NotFound.into(),
            })
        })?;
        match parse_at::<T>(&bytes, &self.options.limits, path) {
            Ok(SpecFile { spec, extra }) => {
                Ok(Parsed::Ok(Arc::new(Entry { path: path.to_path_buf(), spec, extra })))
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
    pub fn get(&self, id: &str) -> Result<Option<Arc<Entry<T>>>> {
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

    /// Writes `spec`, keeping the unknown keys of the file that holds its id now.
    ///
    /// See [`SpecDir::write_file`] for where it goes.
    pub fn write(&self, spec: &T) -> Result<Saved> {
        self.save(spec, None)
    }

    /// Writes a spec with explicit unknown keys.
    ///
    /// The file is `<slug>.md`, or the first `<slug>-N.md` (N = 2, 3, …) that is free or
    /// already holds this id; if the file holding the id already has a name of that family, it
    /// keeps it. Any other file with the same id is removed afterwards, so a changed message
    /// renames the spec instead of duplicating it. Identical bytes are not rewritten.
    ///
    /// A spec file of the directory that cannot be read (an I/O error such as `EIO` or
    /// `EACCES`, not a corrupt or oversized file) might hold the id, and writing around it could
    /// leave two files with one id: the write is then [`Error::UnreadableEntry`] and changes
    /// nothing. Listing still reports such an entry as a [`Problem::Unreadable`] and goes on.
    pub fn write_file(&self, file: &SpecFile<T>) -> Result<Saved> {
        self.save(&file.spec, Some(&file.extra))
    }

    fn save(&self, spec: &T, extra: Option<&Extra>) -> Result<Saved> {
        let id = spec.id();
        if id.is_empty() {
            return Err(Error::InvalidName {
                dir: self.dir.clone(),
                name: String::new(),
                reason: "a spec needs a non-empty id",
            });
        }
        let _lock = store::lock(&self.dir.join(LOCK_STEM))?;
        let holders = self.holders(id, "write")?;
        let extra = match extra {
            Some(extra) => extra.clone(),
            None => holders.first().map(|e| e.extra.clone()).unwrap_or_default(),
        };
        let (text, body) =
            render_parts(spec, &extra).map_err(|e| with_encode_path(e, &self.dir))?;
        let stem = file_stem(&body);

        // What each file holding the id renders to now, and its body.
        let current: Vec<Option<(String, String)>> =
            holders.iter().map(|e| render_parts(&e.spec, &e.extra).ok()).collect();
        // An unchanged spec stays where it is, byte for byte (even a hand-written file in
        // another layout, or the reference's hidden `.md`). Otherwise a holder keeps its name when
        // the name still fits the message, or when the message did not change and the name is not
        // hidden (a hand-named `github-pr.md` stays); a changed message renames.
        let unchanged = holders
            .iter()
            .zip(&current)
            .find(|(_, now)| now.as_ref().is_some_and(|(old_text, _)| *old_text == text));
        let kept = unchanged
            .or_else(|| {
                holders
                    .iter()
                    .zip(&current)
                    .find(|(e, _)| e.path.file_name().is_some_and(|n| in_family(n, &stem)))
            })
            .or_else(|| {
                holders.iter().zip(&current).find(|(e, now)| {
                    let hidden = e.path.file_name().is_some_and(|n| n.as_bytes().starts_with(b"."));
                    !hidden && now.as_ref().is_some_and(|(_, old_body)| *old_body == body)
                })
            })
            .map(|(e, _)| e.path.clone());
        let target = match kept {
            Some(path) => path,
            None => self.free_name(&stem)?,
        };
        let written = if unchanged.is_some() {
            Written::Unchanged
        } else {
            let options =
                WriteOptions::new().durability(self.options.durability).skip_unchanged(true);
            store::write(&target, text.as_bytes(), &options)?
        };
        let mut removed = Vec::new();
        for holder in &holders {
            if holder.path != target {
                let _ = store::remove(&holder.path, self.options.durability)?;
                removed.push(holder.path.clone());
            }
        }
        if written == Written::Replaced || !removed.is_empty() {
            self.note_write(&target, text.as_bytes(), &removed);
        }
        Ok(Saved { path: target, written, removed })
    }

    /// The first of `<stem>.md`, `<stem>-2.md`, … that does not exist (a file of that family
    /// holding the id was already chosen by the caller).
    fn free_name(&self, stem: &str) -> Result<PathBuf> {
        for n in 1..=MAX_SUFFIX {
            let name = if n == 1 { format!("{stem}.md") } else { format!("{stem}-{n}.md") };
            let path = self.dir.join(&name);
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(path),
                Err(source) => return Err(Error::Io(IoError { step: "inspect", path, source })),
                Ok(_) => {}
            }
        }
        Err(Error::InvalidName {
            dir: self.dir.clone(),
            name: stem.to_owned(),
            reason: "every numbered variant of this file name is taken",
        })
    }

    /// The files holding `id`, in name order, from a fresh look at the directory under its lock:
    /// never the cached listing, whose directory stamp cannot see another process's rename in
    /// the same timestamp tick (ext2, ext4 before Linux 6.13). Files whose own stamp is
    /// unchanged and settled are not read again. An entry that could not be read and might hold
    /// the id is [`Error::UnreadableEntry`] (for `action`).
    fn holders(&self, id: &str, action: &'static str) -> Result<Vec<Arc<Entry<T>>>> {
        let (listing, unreadable) = self.scan()?;
        if let Some(Unreadable { path, source }) = unreadable.into_iter().next() {
            return Err(Error::UnreadableEntry { action, id: id.to_owned(), path, source });
        }
        Ok(listing.entries.iter().filter(|e| e.spec.id() == id).cloned().collect())
    }

    /// Brings the cache up to date with a write of ours (made under the directory lock).
    fn note_write(&self, target: &Path, bytes: &[u8], removed: &[PathBuf]) {
        let mut cache = self.cache.lock();
        cache.last = None;
        for path in removed {
            if let Some(name) = path.file_name() {
                cache.files.remove(name);
            }
        }
        let Some(name) = target.file_name() else { return };
        let meta = fs::metadata(target);
        let parsed = parse_at::<T>(bytes, &self.options.limits, target);
        match (meta, parsed) {
            (Ok(meta), Ok(SpecFile { spec, extra })) => {
                let stamp = Stamp::of(&meta);
                let settled = stamp.is_settled(SystemTime::now());
                let entry = Arc::new(Entry { path: target.to_path_buf(), spec, extra });
                cache
                    .files
                    .insert(name.to_owned(), Cached { stamp, settled, parsed: Parsed::Ok(entry) });
                cache.dir_stamp = dir_stamp(&self.dir);
            }
            _ => {
                cache.files.remove(name);
                cache.dir_stamp = None;
            }
        }
    }

    /// Removes every file whose front matter carries `id`; returns the removed files (empty
    /// when none did, or when the directory does not exist). Corrupt files are left alone.
    ///
    /// A spec file that cannot be read (an I/O error such as `EIO` or `EACCES`) might hold the
    /// id: the removal is then [`Error::UnreadableEntry`] and removes nothing, rather than
    /// reporting success while the spec stays. So is a write: see [`SpecDir::write_file`].
    pub fn remove(&self, id: &str) -> Result<Vec<PathBuf>> {
        match fs::metadata(&self.dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Ok(Vec::new()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io(IoError { step: "inspect", path: self.dir.clone(), source }));
            }
        }
        let _lock = store::lock(&self.dir.join(LOCK_STEM))?;
        let mut removed = Vec::new();
        for entry in self.holders(id, "remove")? {
            let _ = store::remove(&entry.path, self.options.durability)?;
            removed.push(entry.path.clone());
        }
        if !removed.is_empty() {
            let mut cache = self.cache.lock();
            cache.last = None;
            for path in &removed {
                if let Some(name) = path.file_name() {
                    cache.files.remove(name);
                }
            }
            cache.dir_stamp = dir_stamp(&self.dir);
        }
        Ok(removed)
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

fn with_encode_path(error: Error, dir: &Path) -> Error {
    match error {
        Error::Encode { reason, .. } => Error::Encode { path: dir.to_path_buf(), reason },
        other => other,
    }
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

/// Whether `name` is `<stem>.md` or `<stem>-N.md` with N ≥ 2.
fn in_family(name: &OsStr, stem: &str) -> bool {
    let Some(rest) = name.as_bytes().strip_suffix(b".md") else { return false };
    let Some(rest) = rest.strip_prefix(stem.as_bytes()) else { return false };
    if rest.is_empty() {
        return true;
    }
    let Some(digits) = rest.strip_prefix(b"-") else { return false };
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && digits[0] != b'0'
        && digits != b"1"
}

/// Refuses a name that could escape its directory or hide: empty, `.`/`..`-led, with `/`, `\`,
/// NUL or a control character, or longer than a file name may be.
pub(crate) fn check_name(dir: &Path, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.starts_with('.') {
        Some("it starts with `.` (hidden, `.` or `..`)")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if name.chars().any(char::is_control) {
        Some("it contains a NUL or control character")
    } else if name.len() > 200 {
        Some("it is longer than 200 bytes")
    } else {
        None
    };
    match reason {
        Some(reason) => {
            Err(Error::InvalidName { dir: dir.to_path_buf(), name: name.to_owned(), reason })
        }
        None => Ok(()),
    }
}
