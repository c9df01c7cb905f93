//! Who holds the lock, without taking it and without writing anything.

use std::{
    fs::{self, File, OpenOptions},
    os::unix::fs::MetadataExt,
    path::Path,
};

use super::{
    PidLock,
    judge::{Verdict, classify},
};
use crate::{
    Error, IoError, Result, Step,
    process::{self, LockTable},
    record,
    stamp::Stamp,
};

impl PidLock {
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
