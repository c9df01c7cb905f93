//! Appending: locked single-write appends, the torn fragment a killed writer left, durability.

use std::{
    fs::{self, DirBuilder, File, OpenOptions},
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt},
    path::Path,
};

use dotdir_atomic_store::LockFile;
use serde::Serialize;

use super::{Appender, FragmentPolicy, Log, State};
use crate::{Error, IoError, Result, Step, read};

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

impl<T: Serialize> Log<T> {
    /// Appends one record as one line in one `write(2)`, under the append lock, and returns once
    /// the [`Durability`] policy is met. A record longer than [`LogOptions::max_record`] is
    /// [`Error::TooLarge`] and nothing is written.
    ///
    /// [`Durability`]: dotdir_atomic_store::Durability
    /// [`LogOptions::max_record`]: super::LogOptions::max_record
    pub fn append(&self, value: &T) -> Result<Appended> {
        self.append_batch(std::slice::from_ref(value))
    }

    /// Appends several records in one `write(2)` and (with a syncing [`Durability`]) one
    /// `fdatasync`. Each record is still a line of its own; a crash during the write may keep a
    /// prefix of the batch. An empty batch writes nothing.
    ///
    /// [`Durability`]: dotdir_atomic_store::Durability
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
    pub(super) fn with_lock<R>(&self, locked: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
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
}

pub(super) fn write_all(mut file: &File, bytes: &[u8]) -> io::Result<()> {
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
