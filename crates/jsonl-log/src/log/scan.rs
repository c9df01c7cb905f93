//! Reading the log without a lock: streaming readers, whole reads, the last records.

use serde::de::DeserializeOwned;

use super::Log;
use crate::{
    LineProblem, LineProblemKind, Result,
    read::{self, Records, Scan, StrictRecords},
};

impl<T: DeserializeOwned> Log<T> {
    /// A lenient streaming reader over the whole log, in constant memory.
    pub fn records(&self) -> Result<Records<T>> {
        self.records_from(0)
    }

    /// A lenient streaming reader from `offset`, which must be the start of a line: 0, or an
    /// offset a previous read returned ([`Records::next_offset`], [`Scan::next_offset`],
    /// [`Record::end`](crate::Record::end)). Line numbers in problems count from there. An offset
    /// past the end is [`Error::OffsetPastEnd`]: the log was rewritten since.
    ///
    /// [`Error::OffsetPastEnd`]: crate::Error::OffsetPastEnd
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
    ///
    /// [`Error::Corrupt`]: crate::Error::Corrupt
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

    /// Whether the line `problem` points at is one valid record after all, parsed as a stream in
    /// constant memory: true for a [`LineProblemKind::Oversized`] line that holds valid JSON (the
    /// record cap guards memory; it is not a validity rule). Always false for other problems.
    pub fn is_valid_oversized(&self, problem: &LineProblem) -> Result<bool> {
        if problem.kind != LineProblemKind::Oversized {
            return Ok(false);
        }
        let Some((file, _)) = read::open_at(&self.path, 0)? else { return Ok(false) };
        Ok(self.options.format.is_valid_stream(&file, problem.offset, problem.len))
    }
}
