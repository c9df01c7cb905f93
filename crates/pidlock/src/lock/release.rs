//! The held guard's verbs: republishing the record, and releasing the lock (removing the record
//! only while it is still ours).

use std::{fs, io, path::Path};

use dotdir_atomic_store::WriteOptions;

use super::{PidGuard, acquire::lock_file_error, judge::Previous};
use crate::{
    Error, IoError, Result, Step,
    record::{self, Identity},
    stamp::Stamp,
};

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
    ///
    /// [`PidLock::acquire`]: super::PidLock::acquire
    pub fn release_keep_record(mut self) -> Result<()> {
        self.release_inner(false)
    }

    pub(super) fn publish<S: AsRef<str>>(&mut self, payload: &[S]) -> Result<()> {
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
