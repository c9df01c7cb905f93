//! Streaming readers: forward in constant memory (lenient and strict), from a byte offset, and the
//! last N records by reading backwards.

use crate::IoError;
use std::{
    fs::File,
    io,
    marker::PhantomData,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use serde::de::DeserializeOwned;

use crate::{Error, LineProblem, LineProblemKind, LineStyle, Result, Step};

/// The size of one read: lines are assembled from reads of this size.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// A decoded record and where its line is.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<T> {
    /// The record.
    pub value: T,
    /// The byte offset of the line's first byte.
    pub offset: u64,
    /// The byte offset just past the line's newline: where the next line starts.
    pub end: u64,
}

/// One item of a lenient read: a record, or a line that is not one.
#[derive(Debug, Clone, PartialEq)]
pub enum Line<T> {
    /// A line that decoded.
    Record(Record<T>),
    /// A line that did not, skipped.
    Problem(LineProblem),
}

/// The result of a collecting read: the records, the skipped lines, and where to resume.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan<T> {
    /// The records, in file order.
    pub records: Vec<Record<T>>,
    /// The lines that were skipped, in file order; an unterminated last line is reported last as
    /// [`LineProblemKind::TornTail`].
    pub problems: Vec<LineProblem>,
    /// The offset just past the last complete line (never inside a torn tail): pass it to
    /// [`Log::read_from`](crate::Log::read_from) to read what is appended later.
    pub next_offset: u64,
}

impl<T> Scan<T> {
    /// The records' values, in file order.
    pub fn values(self) -> Vec<T> {
        self.records.into_iter().map(|record| record.value).collect()
    }

    /// The unterminated last line, when there is one.
    pub fn torn_tail(&self) -> Option<&LineProblem> {
        self.problems.iter().find(|problem| problem.is_torn_tail())
    }

    /// The skipped lines that are corrupt (everything but the torn tail).
    pub fn corrupt(&self) -> impl Iterator<Item = &LineProblem> {
        self.problems.iter().filter(|problem| !problem.is_torn_tail())
    }
}

/// One line as the scanner found it. The bytes of a complete line are in the scanner's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawLine {
    /// A newline-terminated line of at most the cap.
    Complete { offset: u64, len: u64 },
    /// A newline-terminated line longer than the cap; its bytes were skipped, not kept.
    Oversized { offset: u64, len: u64 },
    /// Bytes at the end of the file with no newline after them.
    Unterminated { offset: u64, len: u64 },
}

/// How often a line is read again from its start before the scanner stops at it (as an
/// unterminated line, for the next read to pick up). One reread always suffices while writers keep
/// the rule below; the bound only keeps a file rewritten in place by others from holding it.
const MAX_REREADS: u32 = 4;

/// Splits a file into lines without ever holding more than `cap` bytes of one line.
///
/// Writers change bytes already in the file only after its last newline: a torn fragment is
/// truncated away and a record appended in its place ([`crate::FragmentPolicy::MoveAside`]), and a
/// rewrite replaces the file with a new inode. So once a newline has been seen at some position,
/// every byte before it is fixed, and a read that starts later sees them as they stay. Neither a
/// `pread` nor a series of them is atomic with a truncation and an append, though: a line whose
/// bytes were read before its newline was known to be there may hold the first bytes of a
/// fragment that has since been replaced, glued to the last bytes of the record that replaced it
/// (which can parse as a valid but wrong record, and hides every record in between). Whatever
/// chunk the bytes came from — a short read at the end of the file, a full read that ended inside
/// a fragment, one read that the kernel copied page by page while the fragment was replaced.
///
/// The scanner therefore keeps `stable`, the end of the bytes known fixed (found at open by the
/// last newline before the file's size then, and moved past the last newline of every read), and
/// believes a line only when it ends below the `stable` of the read its first bytes came from;
/// any other line is read again from its start, by reads that now all start after its newline
/// was seen.
#[derive(Debug)]
pub(crate) struct LineScanner {
    file: File,
    chunk: Box<[u8]>,
    /// The first unconsumed byte of `chunk`.
    head: usize,
    /// The end of the valid bytes of `chunk`.
    tail: usize,
    /// The file offset of `chunk[tail]`: where the next read starts.
    next_read: u64,
    /// The file offset of `chunk[head]`.
    offset: u64,
    /// Every byte before this offset lies before a newline seen in the file, and so is fixed.
    stable: u64,
    /// `stable` as it was when the read that filled `chunk` started: the bytes of `chunk` below
    /// it are as they stay.
    chunk_stable: u64,
    cap: u64,
    line: Vec<u8>,
}

impl LineScanner {
    /// A scanner of `file` from `offset`; `len` is the file's size, as found when it was opened.
    pub(crate) fn new(file: File, offset: u64, len: u64, cap: u64) -> io::Result<Self> {
        let stable = match last_newline_in(&file, offset, len)? {
            Some(newline) => newline + 1,
            None => offset,
        };
        Ok(Self {
            file,
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            head: 0,
            tail: 0,
            next_read: offset,
            offset,
            stable,
            chunk_stable: stable,
            cap,
            line: Vec::new(),
        })
    }

    /// The bytes of the last [`RawLine::Complete`] line, without its newline.
    pub(crate) fn line(&self) -> &[u8] {
        &self.line
    }

    fn refill(&mut self) -> io::Result<usize> {
        loop {
            self.chunk_stable = self.stable;
            match self.file.read_at(&mut self.chunk, self.next_read) {
                Ok(read) => {
                    // A newline read was in the file: every byte before it is fixed from now on.
                    if let Some(newline) = memchr::memrchr(b'\n', &self.chunk[..read]) {
                        self.stable = self.stable.max(self.next_read + newline as u64 + 1);
                    }
                    self.head = 0;
                    self.tail = read;
                    self.next_read += read as u64;
                    return Ok(read);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    fn rewind(&mut self, offset: u64) {
        self.head = 0;
        self.tail = 0;
        self.next_read = offset;
        self.offset = offset;
    }

    pub(crate) fn next_line(&mut self) -> io::Result<Option<RawLine>> {
        let start = self.offset;
        let mut rereads = 0;
        'attempt: loop {
            self.line.clear();
            let mut len: u64 = 0;
            let mut oversized = false;
            // The `stable` of the read the line's first bytes come from (the current chunk's, or
            // the next read's when the chunk is used up).
            let mut believed_below = None;
            loop {
                if self.head == self.tail && self.refill()? == 0 {
                    return Ok((len > 0).then_some(RawLine::Unterminated { offset: start, len }));
                }
                let believed_below = *believed_below.get_or_insert(self.chunk_stable);
                let available = &self.chunk[self.head..self.tail];
                let newline = memchr::memchr(b'\n', available);
                let piece = newline.unwrap_or(available.len());
                if !oversized {
                    if (self.line.len() + piece) as u64 > self.cap {
                        oversized = true;
                        self.line.clear();
                    } else {
                        self.line.extend_from_slice(&available[..piece]);
                    }
                }
                len += piece as u64;
                let consumed = piece + usize::from(newline.is_some());
                self.head += consumed;
                self.offset += consumed as u64;
                if newline.is_none() {
                    continue;
                }
                if start + len >= believed_below {
                    // Some of its bytes were read before its newline was known: read it again.
                    self.rewind(start);
                    rereads += 1;
                    if rereads > MAX_REREADS {
                        return Ok(Some(RawLine::Unterminated { offset: start, len }));
                    }
                    continue 'attempt;
                }
                return Ok(Some(if oversized {
                    RawLine::Oversized { offset: start, len }
                } else {
                    RawLine::Complete { offset: start, len }
                }));
            }
        }
    }
}

/// The position of the last `\n` in `[from, end)` of `file`, scanning backwards in chunks.
pub(crate) fn last_newline_in(file: &File, from: u64, end: u64) -> io::Result<Option<u64>> {
    let mut chunk =
        vec![0u8; READ_CHUNK.min(usize::try_from(end.saturating_sub(from)).unwrap_or(READ_CHUNK))];
    let mut position = end;
    while position > from {
        let start = position.saturating_sub(chunk.len() as u64).max(from);
        let len = (position - start) as usize;
        file.read_exact_at(&mut chunk[..len], start)?;
        if let Some(index) = memchr::memrchr(b'\n', &chunk[..len]) {
            return Ok(Some(start + index as u64));
        }
        position = start;
    }
    Ok(None)
}

pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Opens `path` for reading at `offset`; `None` when the file does not exist and `offset` is 0.
pub(crate) fn open_at(path: &Path, offset: u64) -> Result<Option<(File, u64)>> {
    // Without following a symlink or blocking on a FIFO; the fstat below refuses a FIFO.
    let file = match dotdir_atomic_store::open_regular(path) {
        Ok(file) => file,
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Error::NotAFile { path: path.to_path_buf() });
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound && offset == 0 => return Ok(None),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(Error::OffsetPastEnd { path: path.to_path_buf(), offset, len: 0 });
        }
        Err(source) => {
            return Err(Error::Io(IoError { step: Step::Read, path: path.to_path_buf(), source }));
        }
    };
    let meta = file.metadata().map_err(IoError::on(Step::Stat, path))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_path_buf() });
    }
    if offset > meta.len() {
        return Err(Error::OffsetPastEnd { path: path.to_path_buf(), offset, len: meta.len() });
    }
    Ok(Some((file, meta.len())))
}

/// A lenient streaming reader: yields every record and every skipped line, in file order, holding
/// at most one line (of at most the record cap) in memory. Made by
/// [`Log::records`](crate::Log::records) and [`Log::records_from`](crate::Log::records_from).
///
/// An `Err` item is an I/O error, after which the iterator ends; bad lines are
/// [`Line::Problem`]s. Blank lines are skipped silently.
#[derive(Debug)]
pub struct Records<T> {
    path: PathBuf,
    format: LineStyle,
    scanner: Option<LineScanner>,
    line: u64,
    next_offset: u64,
    _type: PhantomData<fn() -> T>,
}

impl<T> Records<T> {
    pub(crate) fn open(path: &Path, format: LineStyle, cap: u64, offset: u64) -> Result<Self> {
        let scanner = match open_at(path, offset)? {
            Some((file, len)) => Some(
                LineScanner::new(file, offset, len, cap).map_err(IoError::on(Step::Read, path))?,
            ),
            None => None,
        };
        Ok(Self {
            path: path.to_path_buf(),
            format,
            scanner,
            line: 0,
            next_offset: offset,
            _type: PhantomData,
        })
    }

    /// The offset just past the last complete line read so far (a torn tail is not passed over):
    /// where a later read should resume.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// Turns this reader into a strict one: the first corrupt line is an error.
    pub fn strict(self) -> StrictRecords<T> {
        StrictRecords { inner: self, torn_tail: None, failed: false }
    }
}

impl<T: DeserializeOwned> Iterator for Records<T> {
    type Item = Result<Line<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let scanner = self.scanner.as_mut()?;
            let raw = match scanner.next_line() {
                Ok(Some(raw)) => raw,
                Ok(None) => {
                    self.scanner = None;
                    return None;
                }
                Err(source) => {
                    self.scanner = None;
                    return Some(Err(Error::Io(IoError {
                        step: Step::Read,
                        path: self.path.clone(),
                        source,
                    })));
                }
            };
            self.line += 1;
            let problem =
                |kind, offset, len| LineProblem { kind, line: Some(self.line), offset, len };
            let entry = match raw {
                RawLine::Complete { offset, len } => {
                    self.next_offset = offset + len + 1;
                    let bytes = scanner.line();
                    if is_blank(bytes) {
                        continue;
                    }
                    match self.format.decode(bytes) {
                        Ok(value) => Line::Record(Record { value, offset, end: self.next_offset }),
                        Err(kind) => Line::Problem(problem(kind, offset, len)),
                    }
                }
                RawLine::Oversized { offset, len } => {
                    self.next_offset = offset + len + 1;
                    Line::Problem(problem(LineProblemKind::Oversized, offset, len))
                }
                RawLine::Unterminated { offset, len } => {
                    self.scanner = None;
                    Line::Problem(problem(LineProblemKind::TornTail, offset, len))
                }
            };
            return Some(Ok(entry));
        }
    }
}

/// A strict streaming reader: yields records; the first corrupt line (a malformed, mismatched,
/// checksum-failing or oversized newline-terminated line) is an [`Error::Corrupt`], after which
/// the iterator ends. An unterminated last line is not an error — it is what every crash and
/// every in-progress append leaves — it ends the iteration and is kept in
/// [`StrictRecords::torn_tail`].
#[derive(Debug)]
pub struct StrictRecords<T> {
    inner: Records<T>,
    torn_tail: Option<LineProblem>,
    failed: bool,
}

impl<T> StrictRecords<T> {
    /// The unterminated last line, once the iteration reached it.
    pub fn torn_tail(&self) -> Option<&LineProblem> {
        self.torn_tail.as_ref()
    }

    /// See [`Records::next_offset`].
    pub fn next_offset(&self) -> u64 {
        self.inner.next_offset()
    }
}

impl<T: DeserializeOwned> Iterator for StrictRecords<T> {
    type Item = Result<Record<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.inner.next()? {
            Ok(Line::Record(record)) => Some(Ok(record)),
            Ok(Line::Problem(problem)) if problem.is_torn_tail() => {
                self.torn_tail = Some(problem);
                None
            }
            Ok(Line::Problem(problem)) => {
                self.failed = true;
                Some(Err(Error::Corrupt { path: self.inner.path.clone(), problem }))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

/// Collects a lenient read.
pub(crate) fn collect<T: DeserializeOwned>(mut records: Records<T>) -> Result<Scan<T>> {
    let mut scan = Scan { records: Vec::new(), problems: Vec::new(), next_offset: 0 };
    for entry in &mut records {
        match entry? {
            Line::Record(record) => scan.records.push(record),
            Line::Problem(problem) => scan.problems.push(problem),
        }
    }
    scan.next_offset = records.next_offset();
    Ok(scan)
}

/// The last `count` records of `path`, found by reading backwards in chunks: the cost is the size
/// of those records (plus any corrupt lines among them), not the size of the file.
pub(crate) fn last<T: DeserializeOwned>(
    path: &Path,
    format: LineStyle,
    cap: u64,
    count: usize,
) -> Result<Scan<T>> {
    let mut backwards = Backwards {
        path,
        format,
        cap,
        records: Vec::new(),
        problems: Vec::new(),
        chunk: vec![0; READ_CHUNK],
        chunk_start: 0,
        chunk_len: 0,
    };
    let Some((file, len)) = open_at(path, 0)? else {
        return Ok(Scan { records: Vec::new(), problems: Vec::new(), next_offset: 0 });
    };
    let mut next_offset = 0;
    // The end (the position of its newline) of the line being scanned for; `None` until the last
    // newline of the file is found.
    let mut line_end: Option<u64> = None;
    let mut position = len;
    while position > 0 && (line_end.is_none() || backwards.records.len() < count) {
        backwards.chunk_start = position.saturating_sub(READ_CHUNK as u64);
        backwards.chunk_len = (position - backwards.chunk_start) as usize;
        let (start, chunk_len) = (backwards.chunk_start, backwards.chunk_len);
        read_exact_at(&file, &mut backwards.chunk[..chunk_len], start, path)?;
        let mut searched = chunk_len;
        while let Some(index) = memchr::memrchr(b'\n', &backwards.chunk[..searched]) {
            let newline = start + index as u64;
            match line_end {
                None => {
                    next_offset = newline + 1;
                    if newline + 1 < len {
                        backwards.problems.push(LineProblem {
                            kind: LineProblemKind::TornTail,
                            line: None,
                            offset: newline + 1,
                            len: len - newline - 1,
                        });
                    }
                }
                Some(end) => backwards.line(&file, newline + 1, end)?,
            }
            line_end = Some(newline);
            searched = index;
            if backwards.records.len() >= count {
                break;
            }
        }
        position = start;
    }
    if position == 0 {
        match line_end {
            Some(end) if backwards.records.len() < count => backwards.line(&file, 0, end)?,
            None if len > 0 => backwards.problems.push(LineProblem {
                kind: LineProblemKind::TornTail,
                line: None,
                offset: 0,
                len,
            }),
            _ => {}
        }
    }
    let Backwards { mut records, mut problems, .. } = backwards;
    records.reverse();
    problems.reverse();
    Ok(Scan { records, problems, next_offset })
}

struct Backwards<'a, T> {
    path: &'a Path,
    format: LineStyle,
    cap: u64,
    records: Vec<Record<T>>,
    problems: Vec<LineProblem>,
    chunk: Vec<u8>,
    chunk_start: u64,
    chunk_len: usize,
}

impl<T: DeserializeOwned> Backwards<'_, T> {
    /// Decodes the line `[start, end)` (`end` is the position of its newline).
    fn line(&mut self, file: &File, start: u64, end: u64) -> Result<()> {
        let len = end - start;
        let problem = |kind| LineProblem { kind, line: None, offset: start, len };
        if len > self.cap {
            self.problems.push(problem(LineProblemKind::Oversized));
            return Ok(());
        }
        let chunk_end = self.chunk_start + self.chunk_len as u64;
        let owned;
        let bytes = if start >= self.chunk_start && end <= chunk_end {
            &self.chunk[(start - self.chunk_start) as usize..(end - self.chunk_start) as usize]
        } else {
            let mut buffer = vec![0; len as usize];
            read_exact_at(file, &mut buffer, start, self.path)?;
            owned = buffer;
            &owned[..]
        };
        if is_blank(bytes) {
            return Ok(());
        }
        match self.format.decode(bytes) {
            Ok(value) => self.records.push(Record { value, offset: start, end: end + 1 }),
            Err(kind) => self.problems.push(problem(kind)),
        }
        Ok(())
    }
}

pub(crate) fn read_exact_at(
    file: &File,
    buffer: &mut [u8],
    offset: u64,
    path: &Path,
) -> Result<()> {
    file.read_exact_at(buffer, offset).map_err(|e| Error::from(IoError::on(Step::Read, path)(e)))
}
