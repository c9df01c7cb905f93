//! `SpecDir<T>`: one directory of slug-named spec files, keyed by the `id` in their front matter.
//!
//! This module holds the directory, its options, its entries and the cache of parsed files; each
//! verb is a module: `scan` lists and looks up, `write` saves a spec, `remove` removes one.

mod remove;
mod scan;
mod write;

use std::{
    collections::HashMap,
    ffi::OsString,
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use dotdir_atomic_store::Durability;
use parking_lot::Mutex;

pub use self::write::Saved;
use crate::{
    error::{Error, ParseError, Result, SpecProblem},
    guard::Limits,
    spec::{Extra, Spec},
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
pub struct ListedSpec<T> {
    /// The file.
    pub path: PathBuf,
    /// The typed spec.
    pub spec: T,
    /// Its unknown front-matter keys.
    pub extra: Extra,
}

impl<T: Spec> ListedSpec<T> {
    /// The id in the front matter.
    pub fn id(&self) -> &str {
        self.spec.id()
    }
}

/// A listing: every spec that parsed, in file-name order, and every entry that did not.
#[derive(Debug)]
pub struct Listing<T> {
    /// Parsed specs, in file-name (byte) order, the reference's order.
    pub entries: Vec<Arc<ListedSpec<T>>>,
    /// Corrupt or unreadable entries and duplicate ids, each skipped (duplicates stay listed).
    pub problems: Vec<SpecProblem>,
}

impl<T: Spec> Listing<T> {
    /// The first entry (in file-name order) with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<ListedSpec<T>>> {
        self.entries.iter().find(|e| e.spec.id() == id)
    }
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
    Ok(Arc<ListedSpec<T>>),
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
