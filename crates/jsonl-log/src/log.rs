//! The log: its options, the [`Log`] value and its state; each verb is a module: `append`
//! (locked single-write appends, fragment handling, durability), `scan` (reads without a lock),
//! `rewrite` (retain and repair under the append lock).

mod append;
mod rewrite;
mod scan;

use crate::IoError;
use std::{
    ffi::OsString,
    fs::File,
    marker::PhantomData,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{Durability, LockFile};
use parking_lot::Mutex;

pub use self::{
    append::{Appended, Fragment},
    rewrite::Rewrite,
};
use crate::{LineStyle, Result, Step};

/// The default record cap: 1 MiB per line. Longer records are refused on write and reported (not
/// read into memory) on read.
pub const DEFAULT_MAX_RECORD: u64 = 1024 * 1024;

/// What an append does when the log ends in the middle of a record — the fragment a writer left
/// when it was killed during its `write(2)` (a SIGKILL can tear even one write on Linux).
///
/// Either way the next record starts on a line of its own, so a torn record costs only itself and
/// a reader resynchronises at the next line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FragmentPolicy {
    /// Append a `\n` after the fragment: it becomes a corrupt line of its own, which readers report
    /// with its line number and offset and [`Log::repair`] later moves to `<log>.corrupt`. The
    /// default, because bytes once written never change under a concurrent reader: a tailing
    /// reader can never see the start of a fragment glued to the end of a later record (which
    /// could parse as a valid but wrong record in the plain formats), and an appender that takes
    /// no lock (the Python reference) is never cut short.
    #[default]
    CloseOff,
    /// Copy the fragment to `<log>.corrupt` and truncate it away before appending: the log stays
    /// clean without a [`Log::repair`]. The forward readers of this crate believe a line only
    /// once its bytes were read after its newline was known to be in the file (and read it again
    /// otherwise), so they never glue the fragment's first bytes to the record that replaced it;
    /// other readers (and, in a narrow race, [`Log::last`]) may.
    /// An appender that takes no lock (the Python reference) may lose the record it is writing at
    /// that moment.
    MoveAside,
}

/// How a [`Log`] writes and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogOptions {
    /// The line format.
    pub format: LineStyle,
    /// Whether appends are synced (`fdatasync`) before they return — atomic-store's policy, the
    /// one every crate takes: [`Durability::Full`] (the default) and [`Durability::FileOnly`]
    /// sync (every [`LogOptions::sync_every`] records); [`Durability::None`] never does (except
    /// on [`Log::sync`]): a returned append then survives a killed process, not a power cut.
    /// Rewrites (`retain`, `repair`) use the same policy.
    pub durability: Durability,
    /// With a syncing durability, `fdatasync` once every `n` appended records (counted per
    /// [`Log`] value), on [`Log::sync`], and when the log is dropped — group commit: after a
    /// power cut at most the last `n - 1` returned records of this process may be lost. `1`
    /// (the default; `0` counts as `1`) syncs every append (one per [`Log::append_batch`]).
    pub sync_every: u32,
    /// The longest line in bytes (without its newline) written or read; see [`DEFAULT_MAX_RECORD`].
    pub max_record: u64,
    /// What an append does with a torn fragment at the end of the log.
    pub fragments: FragmentPolicy,
    /// The permission bits a new log is created with, before the umask: `0o666` by default,
    /// `0o600` for logs that hold secrets (missing parent directories are then created `0o700`).
    /// The `.corrupt` sidecar, replaced through atomic-store, gets the log's own mode (within
    /// these bits): set-aside bytes are never more readable than the log they came from.
    pub mode: u32,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            format: LineStyle::default(),
            durability: Durability::default(),
            sync_every: 1,
            max_record: DEFAULT_MAX_RECORD,
            fragments: FragmentPolicy::default(),
            mode: 0o666,
        }
    }
}

impl LogOptions {
    /// The defaults: [`LineStyle::Compact`], [`Durability::Full`] syncing every append, 1 MiB records,
    /// [`FragmentPolicy::CloseOff`], mode `0o666`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`LogOptions::format`].
    #[must_use]
    pub fn format(mut self, format: LineStyle) -> Self {
        self.format = format;
        self
    }

    /// Sets [`LogOptions::durability`].
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets [`LogOptions::sync_every`].
    #[must_use]
    pub fn sync_every(mut self, records: u32) -> Self {
        self.sync_every = records;
        self
    }

    /// Sets [`LogOptions::max_record`].
    #[must_use]
    pub fn max_record(mut self, bytes: u64) -> Self {
        self.max_record = bytes;
        self
    }

    /// Sets [`LogOptions::fragments`].
    #[must_use]
    pub fn fragments(mut self, policy: FragmentPolicy) -> Self {
        self.fragments = policy;
        self
    }

    /// Sets [`LogOptions::mode`].
    #[must_use]
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    fn group_size(&self) -> Option<u32> {
        (self.durability != Durability::None).then_some(self.sync_every.max(1))
    }
}

/// An append-only JSON Lines log of `T` records at a path.
///
/// Appends from threads (sharing one `Log`) and from processes (each with its own `Log` on the
/// same path) never interleave: each is one `write(2)` of complete lines on an `O_APPEND`
/// descriptor, under an in-process mutex and an exclusive `flock(2)` on the sidecar
/// `<log>.lock` — the same lock [`dotdir_atomic_store::lock`] takes, so rewrites through
/// atomic-store exclude appends too. Reads take no lock. See the crate docs for an example.
#[derive(Debug)]
pub struct Log<T = serde_json::Value> {
    path: PathBuf,
    options: LogOptions,
    state: Mutex<State>,
    _type: PhantomData<fn(T) -> T>,
}

#[derive(Debug, Default)]
struct State {
    /// The sidecar lock file, kept open between appends.
    lock: Option<LockFile>,
    /// The descriptor appends go to, with the inode it was opened on.
    append: Option<Appender>,
    /// Records appended since the last `fdatasync`.
    unsynced: u32,
}

#[derive(Debug)]
struct Appender {
    file: File,
    device: u64,
    inode: u64,
}

impl<T> Log<T> {
    /// A log at `path` with the default [`LogOptions`]. Touches nothing on disk: the file, its
    /// parent directories and `<path>.lock` are created by the first append.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_options(path, LogOptions::default())
    }

    /// A log at `path` with `options`. Touches nothing on disk.
    pub fn with_options(path: impl Into<PathBuf>, options: LogOptions) -> Self {
        Self { path: path.into(), options, state: Mutex::default(), _type: PhantomData }
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log's options.
    pub fn options(&self) -> &LogOptions {
        &self.options
    }

    /// The sidecar that torn fragments and corrupt lines are moved to: `<log>.corrupt`. Each
    /// quarantined line is copied byte for byte and ends with a `\n`. Lines are added by an
    /// atomic replace (a new inode each time, never a torn copy), and a retry after a failure
    /// does not add them twice.
    pub fn corrupt_path(&self) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(".corrupt");
        PathBuf::from(name)
    }

    /// `fdatasync` of everything this `Log` appended so far (for [`LogOptions::sync_every`] and
    /// [`Durability::None`]).
    pub fn sync(&self) -> Result<()> {
        let mut state = self.state.lock();
        if let Some(appender) = &state.append {
            appender.file.sync_data().map_err(IoError::on(Step::Sync, &self.path))?;
        }
        state.unsynced = 0;
        Ok(())
    }
}

impl<T> Drop for Log<T> {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if state.unsynced > 0
            && let Some(appender) = &state.append
        {
            // Best effort: `Log::sync` is the way to see the error.
            let _ = appender.file.sync_data();
        }
    }
}
