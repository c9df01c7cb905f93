//! Acquire, probe, republish and release: the lock itself.

use crate::IoError;
use std::{
    ffi::OsString,
    fs::{self, File, OpenOptions},
    io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use dotdir_atomic_store::{Durability, LockFile, WriteOptions};

use crate::{
    Error, Program, RecordFormat, Result, Step,
    process::{self, LockTable, ProcessInfo},
    record::{self, Identity, OnDisk},
    stamp::Stamp,
};

/// How many times an acquire re-opens the lock file when the lock changed hands under it (it was
/// released between `try_lock` and the look-up of its holder, or the lock file was replaced).
const REOPEN_TRIES: usize = 8;

/// The longest pause between two attempts of [`PidLock::acquire_timeout`].
const MAX_POLL: Duration = Duration::from_millis(20);

/// The configuration of one pid lock: where the record is, how it is laid out, and which program
/// a holder that takes no OS lock must be running to count.
///
/// Building one touches nothing on disk. See the crate docs for the protocol.
#[derive(Debug, Clone)]
pub struct PidLock {
    path: PathBuf,
    program: Option<String>,
    launched: Option<Program>,
    format: RecordFormat,
    payload: Vec<String>,
    durability: Durability,
}

impl PidLock {
    /// A lock whose record is `path` (its OS lock is on `<path>.lock`), in the
    /// [`RecordFormat::Lines`] format, with no program name and no initial payload.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            program: None,
            launched: None,
            format: RecordFormat::default(),
            payload: Vec::new(),
            durability: Durability::None,
        }
    }

    /// The program a lock-less holder must be running: a record naming a live process counts as
    /// held only when `/proc/<pid>/cmdline` contains `name` (ollim-bot's rule, `"ollim-bot"`).
    ///
    /// Without a program name, any live process named by a record that this crate did not stamp
    /// counts as a holder (fail closed: a reused pid then blocks until it exits).
    #[must_use]
    pub fn program(mut self, name: impl Into<String>) -> Self {
        self.program = Some(name.into());
        self
    }

    /// The program a lock-less holder must be running, in any of its launch forms
    /// ([`Program::matches`]): `python -m ollim_bot.main` is the bot although its command line
    /// lacks `ollim-bot`. With [`PidLock::program`] too, either rule makes a holder.
    #[must_use]
    pub fn launched_as(mut self, program: Program) -> Self {
        self.launched = Some(program);
        self
    }

    /// Whether a command line is the holder's program: `None` when no program is configured.
    fn identifies(&self, cmdline: &[u8]) -> Option<bool> {
        if self.program.is_none() && self.launched.is_none() {
            return None;
        }
        let by_name = self.program.as_deref().is_some_and(|p| process::cmdline_matches(cmdline, p));
        Some(by_name || self.launched.is_some_and(|p| p.matches_cmdline(cmdline)))
    }

    /// The record layout.
    #[must_use]
    pub fn format(mut self, format: RecordFormat) -> Self {
        self.format = format;
        self
    }

    /// Payload lines published with the pid at acquire (for example a port known in advance).
    #[must_use]
    pub fn payload<I, S>(mut self, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.payload = lines.into_iter().map(Into::into).collect();
        self
    }

    /// How each publish of the record is made durable (atomic-store's policy). `None` by
    /// default: after a power cut every recorded pid is dead anyway, and a record left empty or
    /// torn by one is treated as stale, so the fsyncs buy nothing but start-up latency.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// The record path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sidecar file that carries the OS lock: `<path>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        dotdir_atomic_store::lock_path(&self.path)
    }

    /// Takes the lock now or fails with [`Error::Held`] naming the holder's pid and the path.
    ///
    /// A stale record (dead pid, reused pid, pid 0 or negative, empty or corrupt file, or this very
    /// process after an `exec`) is reclaimed; [`PidGuard::previous`] says which.
    pub fn acquire(&self) -> Result<PidGuard> {
        self.attempt()
    }

    /// Takes the lock, waiting up to `timeout` for the holder to go away; then fails as
    /// [`PidLock::acquire`] does. Other errors are returned at once.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<PidGuard> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            match self.attempt() {
                Err(e) if e.is_held() => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(e);
                    }
                    std::thread::sleep(pause.min(deadline - now));
                    pause = (pause * 2).min(MAX_POLL);
                }
                other => return other,
            }
        }
    }

    /// Who holds the lock, without taking it and without writing anything.
    ///
    /// `Ok(None)` when nobody does (no record, or a corrupt one, and no OS lock). A record naming
    /// a process is reported even when that process is gone or unrelated (`running == false`), so
    /// a caller can tell "stale" from "absent".
    pub fn probe(&self) -> Result<Option<Holder>> {
        let lock_path = self.lock_path();
        record::refuse_special(&self.path)?;
        record::refuse_special(&lock_path)?;
        let record = record::read_record(&self.path)?;
        let lock_file = record::open_no_follow(
            &lock_path,
            Step::OpenLock,
            OpenOptions::new().read(true),
            rustix::fs::OFlags::NONBLOCK,
        )?
        .map(|(file, _)| file);
        let record_pid = record.as_ref().and_then(|r| r.parsed.valid_pid());
        let (locked, owner) = match &lock_file {
            None => (false, None),
            Some(file) => lock_state(file, &lock_path)?,
        };
        if locked {
            let pid = owner.or(record_pid);
            let payload = match (&record, pid) {
                (Some(r), Some(pid)) if record_pid == Some(pid) => r.parsed.payload().to_vec(),
                _ => Vec::new(),
            };
            return Ok(Some(Holder { pid, payload, alive: true, locked: true, running: true }));
        }
        let (Some(record), Some(pid)) = (&record, record_pid) else { return Ok(None) };
        let stamp = lock_file.as_ref().and_then(Stamp::read);
        let info = process::inspect(pid);
        let verdict = classify(
            Some(record),
            stamp.as_ref(),
            std::process::id(),
            process::boot_id().as_deref(),
            |cmdline| self.identifies(cmdline),
            |_| info.clone(),
        );
        Ok(Some(Holder {
            pid: Some(pid),
            payload: record.parsed.payload().to_vec(),
            alive: info.alive,
            locked: false,
            running: matches!(verdict, Verdict::Held(_)),
        }))
    }

    fn attempt(&self) -> Result<PidGuard> {
        let path = &self.path;
        let lock_path = self.lock_path();
        let Some(parent) = parent_of(path) else {
            return Err(Error::InvalidPath { path: path.clone() });
        };
        record::refuse_special(path)?;
        let file = self.lock_file(&lock_path)?;
        let me = std::process::id();
        let registration = Registration::new(parent, path).ok_or_else(|| Error::Held {
            path: path.clone(),
            pid: Some(me),
            locked: true,
        })?;
        let record = record::read_record(path)?;
        let stamp = Stamp::read(file.file());
        let boot_id = process::boot_id();
        let verdict = classify(
            record.as_ref(),
            stamp.as_ref(),
            me,
            boot_id.as_deref(),
            |cmdline| self.identifies(cmdline),
            process::inspect,
        );
        let previous = match verdict {
            Verdict::Held(pid) => {
                return Err(Error::Held { path: path.clone(), pid: Some(pid), locked: false });
            }
            Verdict::Free(previous) => previous,
        };
        let mut guard = PidGuard {
            file: Some(file),
            _registration: Some(registration),
            path: path.clone(),
            lock_path,
            format: self.format,
            durability: self.durability,
            pid: me,
            start_time: process::own_start_time(),
            boot_id,
            payload: Vec::new(),
            published: None,
            previous,
        };
        guard.publish(&self.payload)?;
        // Temporary files of publishers killed mid-write; best effort, only dead writers' files.
        let _ = dotdir_atomic_store::sweep_temps(parent, path.file_name());
        Ok(guard)
    }

    /// Opens (creating the directory if needed) the lock file and takes the OS lock on it, or says
    /// who holds it.
    ///
    /// The open is atomic-store's [`LockFile`] — `O_NOFOLLOW | O_CLOEXEC`, `0o600`, never
    /// truncated (the stamp lives in it), a symlink or a non-file refused — the very file
    /// `dotdir_atomic_store::lock` takes.
    fn lock_file(&self, lock_path: &Path) -> Result<LockFile> {
        for _ in 0..REOPEN_TRIES {
            let file = LockFile::open(lock_path).map_err(|e| lock_file_error(e, Step::OpenLock))?;
            if !file.try_lock().map_err(|e| lock_file_error(e, Step::Lock))? {
                let meta = file.file().metadata().map_err(IoError::on(Step::Stat, lock_path))?;
                match process::lock_table(meta.dev(), meta.ino()) {
                    LockTable::HeldBy(pid) => return Err(self.held_by(Some(pid), true)),
                    // Released between our try and the look-up: try again.
                    LockTable::Free => continue,
                    LockTable::Unavailable => {
                        return Err(self.held_by(self.recorded_pid(), true));
                    }
                }
            }
            // BSD flopen(3): the lock counts only if the path still names the file we locked
            // (someone may have deleted or replaced the lock file while we opened it).
            if file.is_current().map_err(|e| lock_file_error(e, Step::Stat))? {
                return Ok(file);
            }
        }
        Err(self.held_by(self.recorded_pid(), true))
    }

    fn recorded_pid(&self) -> Option<u32> {
        record::read_record(&self.path).ok().flatten().and_then(|r| r.parsed.valid_pid())
    }

    fn held_by(&self, pid: Option<u32>, locked: bool) -> Error {
        Error::Held { path: self.path.clone(), pid, locked }
    }
}

/// The records guarded in this process: (directory device, directory inode, file name).
///
/// `flock` already excludes two guards of one process, as long as both lock the same lock file.
/// This list covers the one case it cannot: a lock file deleted by hand while a guard holds it.
/// The next acquire then locks a new inode and finds its own pid in the record, which would
/// otherwise read as "left over by an exec" ([`Previous::Own`]).
static HELD_HERE: Mutex<Vec<(u64, u64, OsString)>> = Mutex::new(Vec::new());

/// This process's claim on a record; withdrawn on drop.
#[derive(Debug)]
struct Registration((u64, u64, OsString));

impl Registration {
    /// Claims the record, or `None` when a guard of this process already holds it. A directory
    /// that cannot be inspected is claimed by path alone.
    fn new(parent: &Path, path: &Path) -> Option<Registration> {
        let name = path.file_name().map(OsString::from).unwrap_or_default();
        let key = match fs::metadata(parent) {
            Ok(meta) => (meta.dev(), meta.ino(), name),
            Err(_) => (0, 0, path.as_os_str().to_owned()),
        };
        let mut held = HELD_HERE.lock().unwrap_or_else(PoisonError::into_inner);
        if held.contains(&key) {
            return None;
        }
        held.push(key.clone());
        Some(Registration(key))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut held = HELD_HERE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = held.iter().position(|key| *key == self.0) {
            held.swap_remove(at);
        }
    }
}

/// Who holds a lock, as [`probe`] and [`PidLock::probe`] see it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Holder {
    /// The holder's pid: the OS lock's owner (from `/proc/locks`) when locked, else the record's.
    /// `None` only for a holder that took the OS lock and has not published yet, on a system
    /// without `/proc/locks`.
    pub pid: Option<u32>,
    /// The record's payload lines (for example the port), when the record names the holder.
    pub payload: Vec<String>,
    /// A process with that pid exists (and is not a zombie). It may be an unrelated process that
    /// reused the pid: see `running`.
    pub alive: bool,
    /// The OS lock is held (by a process using this crate).
    pub locked: bool,
    /// An acquire now would fail: the OS lock is held, or the record names a live process that
    /// passes the identity checks (program name, start time). Attach to it instead of starting.
    pub running: bool,
}

impl Holder {
    /// The first payload line, parsed as a port (omicos' `serve.pid`).
    pub fn port(&self) -> Option<u16> {
        self.payload.first()?.trim().parse().ok()
    }
}

/// Who holds the lock at `path` (the record; the OS lock is on `<path>.lock`), with no program
/// check. Same as `PidLock::new(path).probe()`.
pub fn probe(path: &Path) -> Result<Option<Holder>> {
    PidLock::new(path).probe()
}

/// What an acquire found in the record and replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Previous {
    /// No record.
    Missing,
    /// An empty, non-numeric, non-UTF-8 or oversized record.
    Corrupt,
    /// A pid that cannot name a process: zero, negative or out of range (the Python bot counts
    /// `0` and `-1` as running; this crate does not).
    InvalidPid(i64),
    /// A pid with no live process (or a zombie), or a stamp from an earlier boot.
    Dead(u32),
    /// A live pid that is not the recorded holder: its cmdline lacks the program name, or its
    /// start time differs from the stamp.
    Reused(u32),
    /// This very process: a record kept across `exec`, or by [`PidGuard::release_keep_record`].
    Own(u32),
}

/// The verdict on a record, taken while holding the OS lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Stale: reclaim it.
    Free(Previous),
    /// A live holder that takes no OS lock (or one of ours between `exec` and re-acquire).
    Held(u32),
}

/// Judges a record. Reclaims only on proof: whatever cannot be checked counts as held.
pub(crate) fn classify(
    record: Option<&OnDisk>,
    stamp: Option<&Stamp>,
    me: u32,
    boot_id: Option<&str>,
    is_program: impl Fn(&[u8]) -> Option<bool>,
    inspect: impl FnOnce(u32) -> ProcessInfo,
) -> Verdict {
    let Some(record) = record else { return Verdict::Free(Previous::Missing) };
    let raw = match &record.parsed {
        record::Parsed::Corrupt => return Verdict::Free(Previous::Corrupt),
        record::Parsed::Pid { pid, .. } => *pid,
    };
    let Some(pid) = record.parsed.valid_pid() else {
        return Verdict::Free(Previous::InvalidPid(raw));
    };
    if pid == me {
        return Verdict::Free(Previous::Own(pid));
    }
    // The stamp speaks only for the record file it describes.
    let stamp = stamp.filter(|s| s.pid == pid && s.record == record.identity);
    if let (Some(stamp), Some(boot_id)) = (stamp, boot_id)
        && stamp.boot_id != boot_id
    {
        return Verdict::Free(Previous::Dead(pid));
    }
    let info = inspect(pid);
    if !info.alive {
        return Verdict::Free(Previous::Dead(pid));
    }
    if let Some(cmdline) = &info.cmdline
        && is_program(cmdline) == Some(false)
    {
        return Verdict::Free(Previous::Reused(pid));
    }
    if let (Some(stamp), Some(start_time)) = (stamp, info.start_time)
        && stamp.start_time != start_time
    {
        return Verdict::Free(Previous::Reused(pid));
    }
    Verdict::Held(pid)
}

/// Whether the lock file is locked, and by whom.
fn lock_state(file: &File, lock_path: &Path) -> Result<(bool, Option<u32>)> {
    let meta = file.metadata().map_err(IoError::on(Step::Stat, lock_path))?;
    match process::lock_table(meta.dev(), meta.ino()) {
        LockTable::HeldBy(pid) => Ok((true, Some(pid))),
        LockTable::Free => Ok((false, None)),
        // No lock table: test by taking a shared lock for an instant.
        LockTable::Unavailable => match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                Ok((false, None))
            }
            Err(fs::TryLockError::WouldBlock) => Ok((true, None)),
            Err(fs::TryLockError::Error(source)) => {
                Err(Error::Io(IoError { step: Step::Lock, path: lock_path.to_path_buf(), source }))
            }
        },
    }
}

/// An error of atomic-store's [`LockFile`] in this crate's terms (`step` for a failed system
/// call, unless it was creating the directory or inspecting the path).
fn lock_file_error(error: dotdir_atomic_store::Error, step: Step) -> Error {
    use dotdir_atomic_store::{Error as StoreError, Step as StoreStep};
    match error {
        StoreError::Symlink { path } => Error::Symlink { path },
        StoreError::NotAFile { path } => Error::NotAFile { path },
        StoreError::InvalidPath { path } => Error::InvalidPath { path },
        StoreError::Io(IoError { step: store_step, path, source }) => {
            let step = match store_step {
                StoreStep::CreateDir => Step::CreateDir,
                StoreStep::Stat => Step::Stat,
                _ => step,
            };
            Error::Io(IoError { step, path, source })
        }
        other => Error::Io(IoError {
            step,
            path: other.path().to_path_buf(),
            source: io::Error::other(other),
        }),
    }
}

fn parent_of(path: &Path) -> Option<&Path> {
    path.file_name()?;
    let parent = path.parent()?;
    Some(if parent.as_os_str().is_empty() { Path::new(".") } else { parent })
}

/// The held lock. Dropping it removes the record (only if it is still ours) and releases the OS
/// lock; [`PidGuard::release`] does the same and reports errors.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct PidGuard {
    file: Option<LockFile>,
    _registration: Option<Registration>,
    path: PathBuf,
    lock_path: PathBuf,
    format: RecordFormat,
    durability: Durability,
    pid: u32,
    start_time: Option<u64>,
    boot_id: Option<String>,
    payload: Vec<String>,
    published: Option<Identity>,
    previous: Previous,
}

impl PidGuard {
    /// The pid the record names (this process).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The record path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sidecar lock file.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// The payload lines currently published.
    pub fn payload(&self) -> &[String] {
        &self.payload
    }

    /// What the acquire found and replaced.
    pub fn previous(&self) -> Previous {
        self.previous
    }

    /// Republishes the record with new payload lines (for example the port, once bound). The
    /// replace is atomic: a reader sees the old record or the new one, never a torn one.
    pub fn set_payload<S: AsRef<str>>(&mut self, payload: &[S]) -> Result<()> {
        self.publish(payload)
    }

    /// Removes the record if it still names this process, then releases the OS lock.
    pub fn release(mut self) -> Result<()> {
        self.release_inner(true)
    }

    /// Releases the OS lock and leaves the record in place, naming this process: for an `exec`
    /// restart. The new image's [`PidLock::acquire`] finds its own pid ([`Previous::Own`]) and
    /// takes over; a starter that comes in between sees a live process with the stamped start
    /// time (which `exec` keeps) and fails with [`Error::Held`].
    ///
    /// A plain `exec` with the guard alive does the same: the lock file descriptor is
    /// close-on-exec, so the kernel releases the lock, and no destructor runs.
    pub fn release_keep_record(mut self) -> Result<()> {
        self.release_inner(false)
    }

    fn publish<S: AsRef<str>>(&mut self, payload: &[S]) -> Result<()> {
        let bytes = self.format.encode(&self.path, self.pid, payload)?;
        let Some(file) = &self.file else {
            return Err(self.gone());
        };
        record::refuse_special(&self.path)?;
        let options = WriteOptions::new().durability(self.durability);
        let _replaced = dotdir_atomic_store::write(&self.path, &bytes, &options)
            .map_err(|source| Error::Publish { path: self.path.clone(), source })?;
        let meta = fs::symlink_metadata(&self.path).map_err(IoError::on(Step::Stat, &self.path))?;
        let identity = Identity::of(&meta);
        self.published = Some(identity);
        self.payload = payload.iter().map(|s| s.as_ref().to_owned()).collect();
        let written = match (self.start_time, &self.boot_id) {
            (Some(start_time), Some(boot_id)) => {
                Stamp { pid: self.pid, start_time, boot_id: boot_id.clone(), record: identity }
                    .write(file.file())
            }
            // Without /proc there is nothing to stamp; clear any older stamp.
            _ => file.file().set_len(0),
        };
        written.map_err(|e| Error::from(IoError::on(Step::WriteStamp, &self.lock_path)(e)))
    }

    fn gone(&self) -> Error {
        Error::Io(IoError {
            step: Step::Lock,
            path: self.lock_path.clone(),
            source: io::Error::other("the guard was already released"),
        })
    }

    fn release_inner(&mut self, remove: bool) -> Result<()> {
        let Some(file) = self.file.take() else { return Ok(()) };
        let removed = if remove { self.remove_if_ours() } else { Ok(()) };
        // Unlock explicitly: a child forked without exec shares the descriptor and would
        // otherwise keep the lock alive.
        let unlocked = file.unlock().map_err(|e| lock_file_error(e, Step::Lock));
        drop(file);
        self._registration = None;
        removed.and(unlocked)
    }

    /// Removes the record only if it is still the file we published, naming us: a record
    /// rewritten by a lock-less holder (the Python bot) since is left alone.
    fn remove_if_ours(&self) -> Result<()> {
        let Some(published) = self.published else { return Ok(()) };
        let Some(current) = record::read_record(&self.path)? else { return Ok(()) };
        let same_file =
            current.identity.dev == published.dev && current.identity.ino == published.ino;
        if !same_file || current.parsed.valid_pid() != Some(self.pid) {
            return Ok(());
        }
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::Io(IoError {
                step: Step::RemoveRecord,
                path: self.path.clone(),
                source: e,
            })),
            _ => Ok(()),
        }
    }
}

impl Drop for PidGuard {
    fn drop(&mut self) {
        // Best effort; `release` reports the same errors.
        let _ = self.release_inner(true);
    }
}

#[cfg(test)]
mod tests;
