//! Rewriting under the append lock: [`Log::retain`] and [`Log::repair`], and the quarantine of
//! torn and corrupt lines to `<log>.corrupt`.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::Path,
};

use serde::de::DeserializeOwned;

use super::{Log, State, append::write_all};
use crate::{
    Error, IoError, LineProblem, LineProblemKind, Result, Step,
    read::{self, LineScanner, READ_CHUNK, RawLine, is_blank},
};

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
    ///
    /// [`LogOptions::max_record`]: super::LogOptions::max_record
    pub oversized: u64,
    /// Blank lines dropped.
    pub blank: u64,
    /// Corrupt lines and the torn tail, copied to `<log>.corrupt` and dropped from the log.
    pub quarantined: Vec<LineProblem>,
    /// Whether the log was replaced through atomic-store (otherwise it was untouched, or only a
    /// torn tail was truncated).
    pub rewritten: bool,
}

impl<T: DeserializeOwned> Log<T> {
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
                |kind, offset, len| LineProblem { kind, line: Some(line_number), offset, len };
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
                    report.quarantined.push(problem(LineProblemKind::Oversized, offset, len));
                }
                RawLine::Unterminated { offset, len } => {
                    report.quarantined.push(problem(LineProblemKind::TornTail, offset, len));
                }
            }
        }
        let only_torn_tail = report.removed == 0
            && report.blank == 0
            && report.quarantined.iter().all(LineProblem::is_torn_tail);
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

impl<T> Log<T> {
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
    pub(super) fn quarantine(&self, source: &File, ranges: &[(u64, u64)]) -> Result<()> {
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
