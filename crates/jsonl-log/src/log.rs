//! The log: locked single-write appends, fragment handling, durability, rewrite and repair.

use crate::IoError;
use std::{
    ffi::OsString,
    fs::{self, DirBuilder, File, OpenOptions},
    io::{self, Write},
    marker::PhantomData,
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{Durability, LockFile};
use parking_lot::Mutex;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    Error, Format, Problem, ProblemKind, Result, Step,
    read::{self, LineScanner, READ_CHUNK, RawLine, Records, Scan, StrictRecords, is_blank},
};

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
    pub format: Format,
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
            format: Format::default(),
            durability: Durability::default(),
            sync_every: 1,
            max_record: DEFAULT_MAX_RECORD,
            fragments: FragmentPolicy::default(),
            mode: 0o666,
        }
    }
}

impl LogOptions {
    /// The defaults: [`Format::Compact`], [`Durability::Full`] syncing every append, 1 MiB records,
    /// [`FragmentPolicy::CloseOff`], mode `0o666`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`LogOptions::format`].
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
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

/// Where an append put its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// The offset of the first appended line.
    pub offset: u64,
    /// The offset just past the last appended line.
    pub end: u64,
    /// How many records were appended.
    pub records: usize,
    /// The torn fragment this append found at the end of the log and closed off or moved aside.
    pub fragment: Option<Fragment>,
}

/// A torn fragment an append found at the end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fragment {
    /// The offset of its first byte.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// What [`Log::retain`] or [`Log::repair`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Rewrite {
    /// Records kept.
    pub kept: u64,
    /// Records the predicate removed.
    pub removed: u64,
    /// Of the records kept, those over [`LogOptions::max_record`]: valid, so kept as they are
    /// (parsed as a stream, never read whole into a typed value).
    pub oversized: u64,
    /// Blank lines dropped.
    pub blank: u64,
    /// Corrupt lines and the torn tail, copied to `<log>.corrupt` and dropped from the log.
    pub quarantined: Vec<Problem>,
    /// Whether the log was replaced through atomic-store (otherwise it was untouched, or only a
    /// torn tail was truncated).
    pub rewritten: bool,
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

impl<T: DeserializeOwned> Log<T> {
    /// A lenient streaming reader over the whole log, in constant memory.
    pub fn records(&self) -> Result<Records<T>> {
        self.records_from(0)
    }

    /// A lenient streaming reader from `offset`, which must be the start of a line: 0, or an
    /// offset a previous read returned ([`Records::next_offset`], [`Scan::next_offset`],
    /// [`Record::end`](crate::Record::end)). Line numbers in problems count from there. An offset
    /// past the end is [`Error::OffsetPastEnd`]: the log was rewritten since.
    pub fn records_from(&self, offset: u64) -> Result<Records<T>> {
        Records::open(&self.path, self.options.format, self.options.max_record, offset)
    }

    /// A strict streaming reader over the whole log (see [`StrictRecords`]).
    pub fn strict_records(&self) -> Result<StrictRecords<T>> {
        Ok(self.records()?.strict())
    }

    /// Reads the whole log leniently into memory: every record, every skipped line. A missing log
    /// is empty.
    pub fn read(&self) -> Result<Scan<T>> {
        self.read_from(0)
    }

    /// Reads leniently from `offset` (see [`Log::records_from`]) to the end: the records appended
    /// since, and the offset to resume from next time. Only complete lines are passed over: a
    /// record still being written is read by the next call.
    pub fn read_from(&self, offset: u64) -> Result<Scan<T>> {
        read::collect(self.records_from(offset)?)
    }

    /// Reads the whole log strictly: the first corrupt line is [`Error::Corrupt`]; an unterminated
    /// last line is not an error and is reported in [`Scan::problems`].
    pub fn read_strict(&self) -> Result<Scan<T>> {
        let mut strict = self.strict_records()?;
        let records = (&mut strict).collect::<Result<Vec<_>>>()?;
        Ok(Scan {
            records,
            problems: strict.torn_tail().cloned().into_iter().collect(),
            next_offset: strict.next_offset(),
        })
    }

    /// The last `count` records (leniently), read backwards in chunks without reading the rest of
    /// the file. Corrupt lines met on the way are reported (with `line: None`) and do not count.
    pub fn last(&self, count: usize) -> Result<Scan<T>> {
        read::last(&self.path, self.options.format, self.options.max_record, count)
    }

    /// Removes every record for which `keep` returns false, under the append lock, by an atomic
    /// replace through atomic-store. Kept lines are copied byte for byte (unknown fields and the
    /// exact layout survive); blank lines are dropped; corrupt lines and a torn tail are copied to
    /// [`Log::corrupt_path`] first, never silently lost.
    ///
    /// The whole kept content is built in memory. The log gets a new inode: readers holding an
    /// offset get [`Error::OffsetPastEnd`] when it shrank below it, and should start again.
    pub fn retain(&self, mut keep: impl FnMut(&T) -> bool) -> Result<Rewrite> {
        self.with_lock(|state| self.rewrite_locked(state, Some(&mut keep)))
    }

    /// Whether the line `problem` points at is one valid record after all, parsed as a stream in
    /// constant memory: true for a [`ProblemKind::Oversized`] line that holds valid JSON (the
    /// record cap guards memory; it is not a validity rule). Always false for other problems.
    pub fn is_valid_oversized(&self, problem: &Problem) -> Result<bool> {
        if problem.kind != ProblemKind::Oversized {
            return Ok(false);
        }
        let Some((file, _)) = read::open_at(&self.path, 0)? else { return Ok(false) };
        Ok(self.options.format.is_valid_stream(&file, problem.offset, problem.len))
    }

    /// Makes every line of the log parse, under the append lock: a torn tail alone is copied to
    /// [`Log::corrupt_path`] and truncated away; corrupt lines in the middle are copied there and
    /// the log is rewritten without them (as [`Log::retain`] does), blank lines dropped and
    /// counted. A valid record over the record cap stays. A clean log is not touched.
    pub fn repair(&self) -> Result<Rewrite> {
        self.with_lock(|state| self.rewrite_locked(state, None))
    }

    fn rewrite_locked(
        &self,
        state: &mut State,
        mut keep: Option<&mut dyn FnMut(&T) -> bool>,
    ) -> Result<Rewrite> {
        let mut report = Rewrite::default();
        let Some((file, len)) = read::open_at(&self.path, 0)? else { return Ok(report) };
        let source = file.try_clone().map_err(IoError::on(Step::Read, &self.path))?;
        let mut scanner = LineScanner::new(file, 0, len, self.options.max_record)
            .map_err(IoError::on(Step::Read, &self.path))?;
        let mut kept = Vec::new();
        let mut line_number = 0;
        while let Some(raw) = scanner.next_line().map_err(IoError::on(Step::Read, &self.path))? {
            line_number += 1;
            let problem =
                |kind, offset, len| Problem { kind, line: Some(line_number), offset, len };
            match raw {
                RawLine::Complete { offset, len } => {
                    let bytes = scanner.line();
                    if is_blank(bytes) {
                        report.blank += 1;
                        continue;
                    }
                    match self.options.format.decode::<T>(bytes) {
                        Ok(value) => {
                            if keep.as_mut().is_none_or(|keep| keep(&value)) {
                                kept.extend_from_slice(bytes);
                                kept.push(b'\n');
                                report.kept += 1;
                            } else {
                                report.removed += 1;
                            }
                        }
                        Err(kind) => report.quarantined.push(problem(kind, offset, len)),
                    }
                }
                // The cap guards memory, it is not a validity rule: a parseable record over it
                // stays (no predicate can judge it without reading it whole).
                RawLine::Oversized { offset, len }
                    if self.options.format.is_valid_stream(&source, offset, len) =>
                {
                    let start = kept.len();
                    kept.resize(start + usize::try_from(len).unwrap_or(usize::MAX), 0);
                    std::os::unix::fs::FileExt::read_exact_at(&source, &mut kept[start..], offset)
                        .map_err(IoError::on(Step::Read, &self.path))?;
                    kept.push(b'\n');
                    report.kept += 1;
                    report.oversized += 1;
                }
                RawLine::Oversized { offset, len } => {
                    report.quarantined.push(problem(ProblemKind::Oversized, offset, len));
                }
                RawLine::Unterminated { offset, len } => {
                    report.quarantined.push(problem(ProblemKind::TornTail, offset, len));
                }
            }
        }
        let only_torn_tail = report.removed == 0
            && report.blank == 0
            && report.quarantined.iter().all(Problem::is_torn_tail);
        if keep.is_none() && only_torn_tail {
            if let Some(tail) = report.quarantined.first() {
                self.quarantine(&source, &[(tail.offset, tail.len)])?;
                let file = OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&self.path)
                    .map_err(IoError::on(Step::Truncate, &self.path))?;
                file.set_len(tail.offset).map_err(IoError::on(Step::Truncate, &self.path))?;
                if self.options.group_size().is_some() {
                    file.sync_data().map_err(IoError::on(Step::Sync, &self.path))?;
                }
            }
            return Ok(report);
        }
        let ranges: Vec<_> = report.quarantined.iter().map(|p| (p.offset, p.len)).collect();
        self.quarantine(&source, &ranges)?;
        let options = dotdir_atomic_store::WriteOptions::new().durability(self.options.durability);
        let _ = dotdir_atomic_store::write(&self.path, &kept, &options)?;
        state.append = None;
        report.rewritten = true;
        Ok(report)
    }
}

impl<T: Serialize> Log<T> {
    /// Appends one record as one line in one `write(2)`, under the append lock, and returns once
    /// the [`Durability`] policy is met. A record longer than [`LogOptions::max_record`] is
    /// [`Error::TooLarge`] and nothing is written.
    pub fn append(&self, value: &T) -> Result<Appended> {
        self.append_batch(std::slice::from_ref(value))
    }

    /// Appends several records in one `write(2)` and (with a syncing [`Durability`]) one
    /// `fdatasync`. Each record is still a line of its own; a crash during the write may keep a
    /// prefix of the batch. An empty batch writes nothing.
    pub fn append_batch<'a>(&self, values: impl IntoIterator<Item = &'a T>) -> Result<Appended>
    where
        T: 'a,
    {
        let mut buffer = Vec::new();
        let mut records = 0;
        for value in values {
            let start = buffer.len();
            self.options
                .format
                .encode(value, &mut buffer)
                .map_err(|source| Error::Encode { path: self.path.clone(), source })?;
            let len = (buffer.len() - start) as u64;
            if len - 1 > self.options.max_record {
                return Err(Error::TooLarge {
                    path: self.path.clone(),
                    len,
                    limit: self.options.max_record,
                });
            }
            records += 1;
        }
        if records == 0 {
            return Ok(Appended { offset: 0, end: 0, records, fragment: None });
        }
        self.with_lock(|state| {
            let size = self.appender(state)?;
            let appender = state.append.as_ref().expect("appender() opened the descriptor");
            let (offset, fragment) = self.close_fragment(&appender.file, size)?;
            if let Err(source) = write_all(&appender.file, &buffer) {
                // Take back a partial write so that it does not become a corrupt line; if that
                // fails too, the next append closes it off.
                let _ = appender.file.set_len(offset);
                return Err(Error::Io(IoError {
                    step: Step::Write,
                    path: self.path.clone(),
                    source,
                }));
            }
            if let Some(group) = self.options.group_size() {
                state.unsynced = state.unsynced.saturating_add(records as u32);
                if state.unsynced >= group {
                    if let Err(source) = appender.file.sync_data() {
                        // Not known to be durable: take the records back (when nothing was
                        // appended after them by a writer that takes no lock), so that the
                        // `Err` means "not appended" and a retry does not append them twice.
                        let end = offset + buffer.len() as u64;
                        if appender.file.metadata().is_ok_and(|m| m.len() == end) {
                            let _ = appender.file.set_len(offset);
                        }
                        return Err(Error::Io(IoError {
                            step: Step::Sync,
                            path: self.path.clone(),
                            source,
                        }));
                    }
                    state.unsynced = 0;
                }
            }
            Ok(Appended { offset, end: offset + buffer.len() as u64, records, fragment })
        })
    }
}

impl<T> Log<T> {
    /// Runs `locked` under the in-process mutex and the exclusive `flock` on `<log>.lock`. The
    /// mutex is needed because `flock` belongs to an open file description: threads sharing the
    /// one descriptor would not exclude each other.
    fn with_lock<R>(&self, locked: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        let mut state = self.state.lock();
        let lock = match state.lock.take() {
            Some(lock) => lock,
            None => self.open_lock()?,
        };
        // An interrupted wait is resumed by `LockFile::lock`.
        lock.lock().map_err(|e| lock_error(Step::Lock, e))?;
        let result = locked(&mut state);
        match lock.unlock() {
            Ok(()) => state.lock = Some(lock),
            // Closing the descriptor (dropping `lock`) releases the lock in any case.
            Err(e) => return Err(lock_error(Step::Unlock, e)),
        }
        result
    }

    /// Opens `<log>.lock` (`O_NOFOLLOW`, `0o600`, never truncated) through atomic-store's
    /// [`LockFile`], after creating the log's directory with the log's directory mode.
    fn open_lock(&self) -> Result<LockFile> {
        let parent = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let dir_mode = if self.options.mode & 0o077 == 0 { 0o700 } else { 0o777 };
        DirBuilder::new()
            .recursive(true)
            .mode(dir_mode)
            .create(parent)
            .map_err(IoError::on(Step::CreateDir, &self.path))?;
        LockFile::sidecar(&self.path).map_err(|e| lock_error(Step::Lock, e))
    }

    /// Makes sure `state.append` is open on the inode now at the path (a rewrite replaces it, a
    /// peer may have removed it) and returns the log's size. Called under the lock.
    fn appender(&self, state: &mut State) -> Result<u64> {
        let current = match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_file() => Some(meta),
            Ok(_) => return Err(Error::NotAFile { path: self.path.clone() }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::Io(IoError {
                    step: Step::Stat,
                    path: self.path.clone(),
                    source,
                }));
            }
        };
        if let (Some(appender), Some(meta)) = (&state.append, &current)
            && appender.device == meta.dev()
            && appender.inode == meta.ino()
        {
            return Ok(meta.len());
        }
        state.append = None;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(self.options.mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path)
            .map_err(IoError::on(Step::Open, &self.path))?;
        let meta = file.metadata().map_err(IoError::on(Step::Stat, &self.path))?;
        if !meta.is_file() {
            return Err(Error::NotAFile { path: self.path.clone() });
        }
        if current.is_none() && self.options.group_size().is_some() {
            // A new name is durable only once its directory is synced.
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                let dir = File::open(parent).map_err(IoError::on(Step::Sync, parent))?;
                dir.sync_all().map_err(IoError::on(Step::Sync, parent))?;
            }
        }
        let size = meta.len();
        state.append = Some(Appender { file, device: meta.dev(), inode: meta.ino() });
        Ok(size)
    }

    /// If the log ends inside a record, closes the fragment off or moves it aside (per the
    /// policy). Returns the offset the next line will start at and the fragment found.
    fn close_fragment(&self, file: &File, size: u64) -> Result<(u64, Option<Fragment>)> {
        if size == 0 {
            return Ok((0, None));
        }
        let mut last = [0u8];
        read::read_exact_at(file, &mut last, size - 1, &self.path)?;
        if last[0] == b'\n' {
            return Ok((size, None));
        }
        let start = read::last_newline_in(file, 0, size)
            .map_err(IoError::on(Step::Read, &self.path))?
            .map_or(0, |newline| newline + 1);
        let fragment = Fragment { offset: start, len: size - start };
        match self.options.fragments {
            FragmentPolicy::CloseOff => {
                write_all(file, b"\n").map_err(IoError::on(Step::Write, &self.path))?;
                Ok((size + 1, Some(fragment)))
            }
            FragmentPolicy::MoveAside => {
                self.quarantine(file, &[(start, size - start)])?;
                file.set_len(start).map_err(IoError::on(Step::Truncate, &self.path))?;
                Ok((start, Some(fragment)))
            }
        }
    }

    /// Appends each `(offset, len)` range of `source` to `<log>.corrupt` as a line of its own,
    /// atomically, before the caller drops the ranges from the log: the sidecar's current content
    /// and the new lines are streamed into a temporary file that atomic-store syncs (unless
    /// durability is `None`) and renames over the sidecar. A failure leaves the sidecar exactly as
    /// it was, never a torn copy; a sidecar that ends mid-line (written by an older version) gets
    /// its fragment closed off with a `\n` first.
    ///
    /// The published sidecar carries the log's modification time. A sidecar that still carries
    /// the log's current modification time and already ends with exactly these lines was written
    /// by an earlier call that failed after publishing it and before changing the log (any change
    /// to the log since would have moved its time): the lines are not copied again, so a retry
    /// after a failure quarantines each line once.
    fn quarantine(&self, source: &File, ranges: &[(u64, u64)]) -> Result<()> {
        if ranges.is_empty() {
            return Ok(());
        }
        let path = self.corrupt_path();
        let log_mtime = source
            .metadata()
            .and_then(|meta| meta.modified())
            .map_err(IoError::on(Step::Stat, &self.path))?;
        let existing = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(file) => {
                let meta = file.metadata().map_err(IoError::on(Step::Quarantine, &path))?;
                if !meta.is_file() {
                    return Err(Error::NotAFile { path });
                }
                Some((file, meta))
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(Error::Io(IoError { step: Step::Quarantine, path, source })),
        };
        if let Some((file, meta)) = &existing
            && meta.modified().ok() == Some(log_mtime)
            && self.ends_with_lines(file, meta.len(), &path, source, ranges)?
        {
            return Ok(());
        }
        // The set-aside lines are the log's bytes: never more readable than the log itself
        // (a private log's torn tail must not become world-readable).
        let log_mode = source.metadata().map_err(IoError::on(Step::Stat, &self.path))?.mode();
        let mode = match self.options.mode {
            0o666 => dotdir_atomic_store::Mode::Exact(log_mode & 0o666),
            bits => dotdir_atomic_store::Mode::Exact(bits & 0o666 & log_mode),
        };
        let options =
            dotdir_atomic_store::WriteOptions::new().durability(self.options.durability).mode(mode);
        let staged = dotdir_atomic_store::AtomicFile::create(&path, &options)?;
        let mut out = staged.as_file();
        if let Some((file, _)) = &existing {
            let copied =
                io::copy(&mut &*file, &mut out).map_err(IoError::on(Step::Quarantine, &path))?;
            if copied > 0 {
                let mut last = [0u8];
                read::read_exact_at(file, &mut last, copied - 1, &path)?;
                if last[0] != b'\n' {
                    write_all(out, b"\n").map_err(IoError::on(Step::Quarantine, &path))?;
                }
            }
        }
        let mut chunk = vec![0u8; READ_CHUNK];
        for &(offset, len) in ranges {
            let mut copied = 0;
            while copied < len {
                let piece = (len - copied).min(READ_CHUNK as u64) as usize;
                read::read_exact_at(source, &mut chunk[..piece], offset + copied, &self.path)?;
                write_all(out, &chunk[..piece]).map_err(IoError::on(Step::Quarantine, &path))?;
                copied += piece as u64;
            }
            write_all(out, b"\n").map_err(IoError::on(Step::Quarantine, &path))?;
        }
        out.set_modified(log_mtime).map_err(IoError::on(Step::Quarantine, &path))?;
        let _ = staged.commit()?;
        Ok(())
    }

    /// Whether `sidecar` (`len` bytes at `path`) ends with exactly the lines a
    /// [`Log::quarantine`] of `ranges` would append.
    fn ends_with_lines(
        &self,
        sidecar: &File,
        len: u64,
        path: &Path,
        source: &File,
        ranges: &[(u64, u64)],
    ) -> Result<bool> {
        let appended: u64 = ranges.iter().map(|&(_, range_len)| range_len + 1).sum();
        let Some(mut position) = len.checked_sub(appended) else { return Ok(false) };
        let mut ours = vec![0u8; READ_CHUNK];
        let mut theirs = vec![0u8; READ_CHUNK];
        for &(offset, range_len) in ranges {
            let mut compared = 0;
            while compared < range_len {
                let piece = (range_len - compared).min(READ_CHUNK as u64) as usize;
                read::read_exact_at(source, &mut ours[..piece], offset + compared, &self.path)?;
                read::read_exact_at(sidecar, &mut theirs[..piece], position, path)?;
                if ours[..piece] != theirs[..piece] {
                    return Ok(false);
                }
                compared += piece as u64;
                position += piece as u64;
            }
            read::read_exact_at(sidecar, &mut theirs[..1], position, path)?;
            if theirs[0] != b'\n' {
                return Ok(false);
            }
            position += 1;
        }
        Ok(true)
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

fn write_all(mut file: &File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)
}

/// An error of atomic-store's [`LockFile`] in this crate's terms: the step and the path stay, a
/// symlink planted at the lock is the `ELOOP` the open met.
fn lock_error(step: Step, error: dotdir_atomic_store::Error) -> Error {
    match error {
        dotdir_atomic_store::Error::Io(IoError { path, source, .. }) => {
            Error::Io(IoError { step, path, source })
        }
        dotdir_atomic_store::Error::Symlink { path } => {
            Error::Io(IoError { step, path, source: io::Error::from_raw_os_error(libc::ELOOP) })
        }
        dotdir_atomic_store::Error::NotAFile { path } => Error::NotAFile { path },
        other => Error::Rewrite(other),
    }
}
