//! Append-only JSON Lines logs that survive crashes and concurrent writers: one append is one
//! complete line in one `write(2)`, appenders in threads and processes never interleave, a torn
//! record costs only itself, and readers report what they skip instead of failing.
//!
//! # Main types
//! - [`Log<T>`]: a log of serde records at a path, with [`LogOptions`]: the line [`LineStyle`]
//!   ([`LineStyle::Python`] for files shared with ollim-bot, [`LineStyle::Compact`], or
//!   [`LineStyle::Checksummed`] with a CRC-32 per record), the [`Durability`] of appends (synced,
//!   with [`LogOptions::sync_every`] for group commit, or not), the record cap (1 MiB) and the [`FragmentPolicy`].
//! - Appending: [`Log::append`] and [`Log::append_batch`] take an in-process mutex and an
//!   exclusive `flock` on `<log>.lock` (the lock of [`dotdir_atomic_store::lock`]), check whether a
//!   killed writer left the file ending mid-record and close that fragment off first, then write
//!   one buffer to an `O_APPEND` descriptor and sync as the policy says.
//! - Reading, without a lock and in constant memory: [`Log::records`] (lenient: every bad line is
//!   an [`Line::Problem`] with its line number and byte offset) and [`Log::strict_records`] (the
//!   first corrupt line is [`Error::Corrupt`]); an unterminated last line is a
//!   [`LineProblemKind::TornTail`], never an error. [`Log::read_from`] reads what was appended after
//!   an offset and returns the next one; [`Log::last`] reads the last N records backwards.
//! - Maintenance under the append lock: [`Log::retain`] removes records through an atomic replace
//!   (atomic-store); [`Log::repair`] moves torn and corrupt lines to `<log>.corrupt`.
//! - [`Error`] names the failed [`Step`] and the path.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir_jsonl_log::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! use dotdir_jsonl_log::{LineStyle, Log, LogOptions};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct SessionEvent { session_id: String, event: String }
//!
//! let path = dir.path().join("state/session_history.jsonl");
//! let log: Log<SessionEvent> = Log::with_options(&path, LogOptions::new().format(LineStyle::Python));
//! let event = |id: &str, event: &str| SessionEvent { session_id: id.into(), event: event.into() };
//! log.append(&event("s1", "created"))?;
//! let checkpoint = log.read()?.next_offset;
//! log.append(&event("s2", "compacted"))?;
//! assert_eq!(
//!     std::fs::read_to_string(&path).unwrap(),
//!     "{\"session_id\": \"s1\", \"event\": \"created\"}\n\
//!      {\"session_id\": \"s2\", \"event\": \"compacted\"}\n"
//! );
//!
//! // A crash mid-append leaves a torn last line: readers report it, they do not fail.
//! std::fs::OpenOptions::new().append(true).open(&path).unwrap()
//!     .write_all(b"{\"session_id\": \"s3\", \"ev").unwrap();
//! # use std::io::Write;
//! let since = log.read_from(checkpoint)?;
//! assert_eq!(since.records.len(), 1);
//! assert!(since.torn_tail().is_some());
//! assert_eq!(log.last(1)?.values(), vec![event("s2", "compacted")]);
//!
//! // The next append starts on a line of its own; repair moves the fragment aside.
//! log.append(&event("s4", "cleared"))?;
//! assert_eq!(log.read()?.corrupt().count(), 1);
//! assert_eq!(log.repair()?.quarantined.len(), 1);
//! assert_eq!(log.read_strict()?.records.len(), 3);
//! # Ok(()) }
//! ```
//!
//! # Limitations
//! - Unix only; Linux is the tested platform. The lock is advisory (`flock(2)`): it orders
//!   processes that use this crate. The Python reference appends without a lock; its appends do
//!   not interleave with ours (one `write(2)` each on `O_APPEND`), but they can land between our
//!   fragment check and our write. Not for NFS, where `O_APPEND` is not atomic.
//! - The append lock is taken for every append (one `flock` pair, one `lstat` and one one-byte
//!   `pread` per call): that is what lets a live writer notice a fragment a dead peer left.
//! - Readers take no lock, so a tailing reader sees a record in progress as a torn tail until its
//!   write completes; [`Log::read_from`] never passes over it.
//! - [`Log::retain`] and [`Log::repair`] (when it has corrupt lines to drop) build the new content
//!   in memory and give the log a new inode; a reader's saved offset may then point past the end
//!   ([`Error::OffsetPastEnd`]) or into the middle of a line.
//! - The log itself must be a regular file: a symlink at its path is refused on append, and one
//!   at `<log>.corrupt` makes quarantining (repair, retain, [`FragmentPolicy::MoveAside`]) fail.
//! - Quarantining copies the whole `<log>.corrupt` into a new file (a cost linear in its size)
//!   so that a failure never leaves it torn. The copy is stamped with the log's modification
//!   time: lines that an earlier, failed call already quarantined are recognised by that stamp
//!   (and by the sidecar ending with exactly those lines), so a retry does not copy them twice.
//!   On a filesystem with coarse timestamps, the same bytes torn again and repaired within the
//!   same timestamp tick as the log's last change before the previous repair are quarantined
//!   once, not twice (Linux 6.13+ gives tmpfs, ext4, xfs and btrfs fine-grained times here).
//! - No rotation: one log is one file.

mod error;
mod format;
mod log;
mod problem;
mod read;

/// atomic-store's durability policy, the one every dotdir crate takes.
pub use dotdir_atomic_store::Durability;

pub use crate::{
    error::{Error, Result, Step},
    format::LineStyle,
    log::{Appended, DEFAULT_MAX_RECORD, Fragment, FragmentPolicy, Log, LogOptions, Rewrite},
    problem::{LineProblem, LineProblemKind},
    read::{Line, Record, Records, Scan, StrictRecords},
};
pub use dotdir_atomic_store::IoError;
