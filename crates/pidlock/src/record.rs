//! The readable record: its two byte-exact layouts, the lenient parser, and a no-follow read.

use crate::IoError;
use std::{
    fs::{File, OpenOptions},
    io::{self, Read},
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::Path,
};

use crate::{Error, Result, Step};

/// The largest record read; anything larger is corrupt (and therefore stale), never allocated.
pub(crate) const MAX_RECORD: u64 = 4096;

/// How the record is laid out on disk. Both layouts are byte-exact with the files the reference
/// applications write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecordFormat {
    /// The bare decimal pid, no newline, no payload: ollim-bot's `state/bot.pid`
    /// (`PID_FILE.write_text(str(os.getpid()))`).
    BarePid,
    /// The pid, then one payload line each, every line ending in `\n`: omicos' `serve.pid`
    /// (`<pid>\n<port>\n`). With no payload the record is `<pid>\n`. The default.
    #[default]
    Lines,
}

impl RecordFormat {
    /// The bytes of a record naming `pid` with `payload`.
    pub fn encode<S: AsRef<str>>(self, path: &Path, pid: u32, payload: &[S]) -> Result<Vec<u8>> {
        let invalid = |reason| Error::InvalidPayload { path: path.to_path_buf(), reason };
        match self {
            RecordFormat::BarePid if payload.is_empty() => Ok(pid.to_string().into_bytes()),
            RecordFormat::BarePid => Err(invalid("the bare-pid format has no payload lines")),
            RecordFormat::Lines => {
                let mut out = format!("{pid}\n");
                for line in payload {
                    let line = line.as_ref();
                    if line.contains('\n') {
                        return Err(invalid("a payload line contains a newline"));
                    }
                    out.push_str(line);
                    out.push('\n');
                }
                Ok(out.into_bytes())
            }
        }
    }
}

/// A record as read from disk, whatever wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// The first line is an integer (surrounding whitespace allowed, as Python's
    /// `int(text.strip())`); it may still be zero, negative or out of range.
    Pid { pid: i64, payload: Vec<String> },
    /// Empty, not UTF-8, not an integer, or too large.
    Corrupt,
}

impl Parsed {
    /// The pid, when it can name a process (`1..=i32::MAX`).
    pub(crate) fn valid_pid(&self) -> Option<u32> {
        match self {
            Parsed::Pid { pid, .. } if *pid > 0 && *pid <= i64::from(i32::MAX) => {
                u32::try_from(*pid).ok()
            }
            _ => None,
        }
    }

    pub(crate) fn payload(&self) -> &[String] {
        match self {
            Parsed::Pid { payload, .. } => payload,
            Parsed::Corrupt => &[],
        }
    }
}

/// Parses either layout: the pid on the first line, payload lines after it (one trailing newline
/// ends the last line; it does not add an empty one).
pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let Ok(text) = std::str::from_utf8(bytes) else { return Parsed::Corrupt };
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("").trim();
    match first.parse::<i64>() {
        Ok(pid) => Parsed::Pid { pid, payload: lines.map(str::to_owned).collect() },
        Err(_) => Parsed::Corrupt,
    }
}

/// Which file a record is: used to tell "the record we published" from "a file someone else wrote
/// since" (the Python bot rewrites in place, which changes the times and maybe the size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) size: u64,
    pub(crate) mtime: (i64, i64),
    pub(crate) ctime: (i64, i64),
}

impl Identity {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// A record read from disk, with the identity of the file it came from.
#[derive(Debug, Clone)]
pub(crate) struct OnDisk {
    pub(crate) parsed: Parsed,
    pub(crate) identity: Identity,
}

/// Refuses a symlink or a non-file at `path` (a missing path is fine).
pub(crate) fn refuse_special(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(Error::Symlink { path: path.to_path_buf() })
        }
        Ok(meta) if !meta.is_file() => Err(Error::NotAFile { path: path.to_path_buf() }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => {
            Err(Error::Io(IoError { step: Step::Stat, path: path.to_path_buf(), source }))
        }
    }
}

/// Opens `path` without following a symlink at its last component: `ELOOP` becomes
/// [`Error::Symlink`], a non-regular file [`Error::NotAFile`]. Returns the file and its metadata;
/// `Ok(None)` when missing (unless `create`).
pub(crate) fn open_no_follow(
    path: &Path,
    step: Step,
    options: &mut OpenOptions,
    extra: rustix::fs::OFlags,
) -> Result<Option<(File, std::fs::Metadata)>> {
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC | extra;
    let file = match options.custom_flags(flags.bits() as i32).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(Error::Symlink { path: path.to_path_buf() });
        }
        Err(source) => return Err(Error::Io(IoError { step, path: path.to_path_buf(), source })),
    };
    let meta = file.metadata().map_err(IoError::on(Step::Stat, path))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_path_buf() });
    }
    Ok(Some((file, meta)))
}

/// Reads and parses the record. `Ok(None)` when there is none; a symlink is refused.
pub(crate) fn read_record(path: &Path) -> Result<Option<OnDisk>> {
    // O_NONBLOCK: a FIFO planted at the path must not hang the open (it is then refused as not
    // a regular file).
    let nonblock = rustix::fs::OFlags::NONBLOCK;
    let Some((file, meta)) =
        open_no_follow(path, Step::ReadRecord, OpenOptions::new().read(true), nonblock)?
    else {
        return Ok(None);
    };
    let identity = Identity::of(&meta);
    if meta.len() > MAX_RECORD {
        return Ok(Some(OnDisk { parsed: Parsed::Corrupt, identity }));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&file)
        .take(MAX_RECORD + 1)
        .read_to_end(&mut bytes)
        .map_err(IoError::on(Step::ReadRecord, path))?;
    let parsed = if bytes.len() as u64 > MAX_RECORD { Parsed::Corrupt } else { parse(&bytes) };
    Ok(Some(OnDisk { parsed, identity }))
}

#[cfg(test)]
mod tests;
