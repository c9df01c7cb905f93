//! The lock itself: its configuration ([`PidLock`]) and the held guard ([`PidGuard`]).
//!
//! Each verb is a module: `acquire` takes the lock (and claims the record in this process),
//! `judge` decides whether a record names a live holder, `probe` says who holds the lock without
//! taking it, and `release` republishes and releases the record through the guard.

mod acquire;
mod judge;
mod probe;
mod release;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use dotdir_atomic_store::{Durability, LockFile};

use self::acquire::Registration;
pub use self::{
    judge::Previous,
    probe::{Holder, probe},
};
use crate::{Program, RecordFormat, Result, process, record::Identity};

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
    ///
    /// [`Error::Held`]: crate::Error::Held
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
