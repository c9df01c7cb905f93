//! Durable atomic file replacement, typed JSON documents and cross-process read-modify-write: the
//! write primitive under every file of every dotdir layout.
//!
//! A write never leaves a torn file: the new bytes go to a temporary file in the target's
//! directory, which is synced, renamed over the target, and the directory is synced — the only
//! sequence that survives both a killed process and a power cut on ext4, xfs and btrfs.
//!
//! # Main types
//! - [`write()`] with [`WriteOptions`]: [`Durability`] (full, file only, none), [`Mode`] (keep the old
//!   mode, or an exact mode such as `0o600` that holds from the moment the temporary file exists,
//!   whatever the umask), and skip-if-unchanged. [`Batch`] is the fourth durability policy: many
//!   files, each synced and each directory synced once, at commit.
//! - [`write_new`]: create only — the same staging, published with `link(2)` so an existing file
//!   (or symlink) is never replaced; of racing creators exactly one gets [`Created::New`].
//! - [`AtomicFile`]: the same temporary file written as a stream ([`std::io::Write`]), published
//!   by [`AtomicFile::commit`] (or [`AtomicFile::commit_new`]), discarded when dropped.
//! - [`remove`]: unlink (a symlink itself, never its target), then sync the directory.
//! - [`Document<T>`]: a typed JSON document (serde) with [`JsonStyle::Python`], byte for byte what
//!   Python's `json.dumps(obj)` writes; [`Document::update`] is a read-modify-write under a
//!   cross-process [`lock`] on a sidecar `<name>.lock` that rename never replaces. [`LockFile`]
//!   is that lock file kept open, to lock and unlock many times (pid locks, log appends).
//! - [`sweep_temps`] removes temporary files left by killed writers (only when no live writer
//!   holds them open: no clock is consulted). A process's first write into a directory sweeps
//!   that directory the same way (bounded, best effort), so leftovers never pile up in any
//!   directory that is written. [`read`] reads with a size cap.
//! - [`Error`] names the failed [`Step`] and the path.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir_atomic_store::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! use dotdir_atomic_store::{Document, JsonStyle, WriteOptions};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Serialize, Deserialize)]
//! struct Budget { capacity: u32, available: f64 }
//!
//! let budget: Document<Budget> =
//!     Document::open(dir.path().join("state/ping_budget.json"))?.style(JsonStyle::Python);
//! budget.update(|b| { b.capacity = 5; b.available = 3.0; })?;
//! assert_eq!(budget.read_bytes()?.unwrap(), br#"{"capacity": 5, "available": 3.0}"#);
//!
//! // A secret: 0600 from creation, a planted symlink is refused.
//! let token = Document::<String>::new(dir.path().join("state/token.json"))
//!     .options(WriteOptions::secret());
//! let _ = token.write(&"s3cr3t".to_owned())?;
//! # Ok(()) }
//! ```
//!
//! # Limitations
//! - Unix only; Linux is the tested platform (the syscall order is checked under `strace`).
//! - The lock is advisory (`flock(2)`): it orders processes that use this crate, not others.
//! - A [`Batch`] is durable and per-file atomic, not a multi-file transaction.
//! - [`write_new`] needs hard links or `renameat2(RENAME_NOREPLACE)` (every Linux native
//!   filesystem; not vfat or exFAT); a crash between its link and the removal of the temporary
//!   name leaves a temporary file that [`sweep_temps`] removes.
//! - A symlink at a plain target is replaced by the new file, not followed; for a secret it is
//!   refused.
//! - Python compatibility covers `json.dumps` defaults; NaN and infinities are written as `null`
//!   (serde_json refuses them), and integers beyond 64 bits are not supported.

mod aside;
mod dir;
mod error;
mod json;
mod lock;
mod python;
mod read;
mod temp;
mod write;

pub use crate::{
    aside::{remove, set_aside},
    dir::{create_dirs, create_private_dir, first_non_directory, sync_dir},
    error::{Error, IoError, Result, Step, error_chain},
    json::{DEFAULT_MAX_DOCUMENT, Document, JsonStyle, redacted, to_json_bytes},
    lock::{LockFile, LockGuard, lock, lock_path, try_lock},
    read::{open_regular, open_regular_following, read},
    temp::{
        TempFile, filesystem_now, find_temps, in_initial_pid_namespace, namespace_pids,
        own_pid_namespace, pid_namespace, process_alive, sweep_temps,
    },
    write::{
        AtomicFile, Batch, Created, Durability, Mode, WriteOptions, Written, write, write_new,
    },
};
