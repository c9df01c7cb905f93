//! One instance per data directory: an OS-held pid lock with a readable, atomically published
//! record, that interoperates with holders that take no lock and never leaves a stale-lock trap.
//!
//! # Main types
//! - [`PidLock`]: the configuration (record path, [`RecordFormat`], program name, initial payload).
//!   [`PidLock::acquire`] fails at once, [`PidLock::acquire_timeout`] waits; both return a
//!   [`PidGuard`] or [`Error::Held`] naming the holder's pid and the path.
//! - [`PidGuard`]: holds the lock. [`PidGuard::set_payload`] republishes the record (the port, once
//!   bound); dropping it (or [`PidGuard::release`]) removes the record only if it is still ours;
//!   [`PidGuard::release_keep_record`] is for `exec` restarts. [`PidGuard::previous`] says what
//!   stale record was reclaimed ([`Previous`]).
//! - [`probe`] / [`PidLock::probe`]: who holds it ([`Holder`]: pid, payload, alive, locked,
//!   running), so a second `serve` can attach to the first instead of failing.
//! - [`Program`]: an application in every form it is launched (console script, `python -m
//!   module`, a module's script, `uv run`, a node package, declared renamed binaries);
//!   [`PidLock::launched_as`] counts any of them as the holder.
//! - [`scan::ProcessTable`]: one read of `/proc` — every process's pids in each pid namespace,
//!   user, command line, working directory and open files — for telling whether an application
//!   uses a directory (`dotdir_engine::live`).
//!
//! # The protocol
//! 1. **The OS lock is on a sidecar, `<record>.lock`**, held with `flock(2)` (std's
//!    [`File::try_lock`](std::fs::File::try_lock)) for the life of the guard — the same file
//!    `dotdir_atomic_store::lock` uses. It is never renamed over and never unlinked, so every
//!    process locks the same inode (the record itself gets a new inode at each atomic publish, so
//!    locking it would not work). It is opened once per acquire as atomic-store's
//!    [`LockFile`](dotdir_atomic_store::LockFile) (`O_NOFOLLOW | O_CLOEXEC`, `0o600`): `flock`
//!    belongs to an open file description, so two guards in one process (two threads) exclude each
//!    other too. After locking, the path is checked to still name the locked inode (BSD
//!    `flopen(3)`); and should the lock file be deleted by hand while held, the next starter locks
//!    a new inode but still finds the record naming a live holder (another process: step 2; this
//!    process: a list of the records its guards hold), so the lock does not split. The kernel
//!    drops the lock the instant the holder dies: a SIGKILLed holder leaves nothing to clean up,
//!    and a reused pid can never keep the lock alive.
//! 2. **Holding the lock, the starter judges the record** (so exactly one starter judges at a
//!    time, and a stale record is reclaimed by exactly one of them). The record is stale — and
//!    replaced — when it is missing, empty, corrupt, names pid 0, a negative or out-of-range pid,
//!    this very process (an `exec` restart), a dead process or a zombie, or a live process that
//!    is not the holder: its `/proc/<pid>/cmdline` lacks the configured [program](PidLock::program)
//!    (a reused pid), or its start time differs from the stamp. Otherwise the record names a live
//!    holder that takes no OS lock — the Python ollim-bot — and the acquire fails with
//!    [`Error::Held`] (`locked: false`). Whatever cannot be checked counts as held: the lock
//!    reclaims only on proof.
//! 3. **The record is published with `dotdir_atomic_store::write`** (temporary file and rename), so
//!    a reader sees the previous record or the new one, never an empty or half-written one. The
//!    formats are byte-exact: [`RecordFormat::BarePid`] is `bot.pid` (`12345`, no newline),
//!    [`RecordFormat::Lines`] is `serve.pid` (`12345\n8765\n`).
//! 4. **The holder stamp.** The formats leave no room for a start-time token, so the holder writes
//!    one line into the lock file instead: its pid, its start time (`/proc/<pid>/stat` field 22,
//!    unchanged by `exec`), the boot id, and the identity (device, inode, size, times) of the record
//!    file it published. A later starter uses the stamp only for that very record file: then a
//!    holder that was SIGKILLed and whose pid was reused — even by a process whose cmdline contains
//!    the program name (`vim ~/.ollim-bot/…`, another bot on another data directory) — is told
//!    apart by its start time, and a holder in the middle of an `exec` restart (same start time)
//!    is left alone.
//! 5. **The loser learns the winner's pid** from the kernel's lock table (`/proc/locks`), which is
//!    right even before the winner has published its record; the record is the fallback.
//! 6. **Release** removes the record only when it is still the file this guard published and
//!    still names this process, then unlocks. A record rewritten by a lock-less holder since is
//!    left alone.
//!
//! **Restarting with `exec`.** The lock descriptor is close-on-exec, so `exec` releases the OS
//! lock (and runs no destructor, so the record stays, naming the same pid). The new image calls
//! [`PidLock::acquire`], finds its own pid ([`Previous::Own`]) and takes over. A starter that comes
//! in between holds the OS lock but sees a live process with the stamped start time and fails with
//! [`Error::Held`]. [`PidGuard::release_keep_record`] does the same explicitly. (ollim-bot deletes
//! `bot.pid` before `execv`; with this crate that is unnecessary.)
//!
//! **No signals.** Liveness, start time and cmdline come from `/proc`; only where `/proc` is not
//! mounted does the crate fall back to `kill(pid, 0)`, which sends nothing. A pid read from a file
//! is never signalled (systemd's CVE-2018-16888 lesson).
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir_pidlock::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! use dotdir_pidlock::{PidLock, RecordFormat};
//!
//! let path = dir.path().join(".omicos/serve.pid");
//! let lock = PidLock::new(&path).format(RecordFormat::Lines).program("omicos");
//! let mut guard = lock.acquire()?;
//! guard.set_payload(&["8765"])?; // once the port is bound
//! let me = std::process::id();
//! assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{me}\n8765\n"));
//!
//! // A second `serve` asks who is running, and on which port, instead of failing.
//! let holder = dotdir_pidlock::probe(&path)?.expect("someone holds it");
//! assert!(holder.locked && holder.running);
//! assert_eq!((holder.pid, holder.port()), (Some(me), Some(8765)));
//!
//! // Acquiring again fails at once, naming the holder.
//! let err = lock.acquire().unwrap_err();
//! assert_eq!(err.holder_pid(), Some(me));
//!
//! drop(guard); // removes the record: it is still ours
//! assert!(!path.exists());
//! # Ok(()) }
//! ```
//!
//! # Limitations
//! - Unix only; Linux is the tested platform. Without `/proc` (other Unixes) liveness falls back
//!   to `kill(pid, 0)`, the cmdline and start-time checks are skipped (fail closed: a live pid
//!   counts as held), and a loser names the holder from the record only.
//! - The lock is advisory (`flock(2)`): it orders processes that use this crate. The Python bot
//!   takes no lock, so a Python bot starting at the very moment a Rust starter publishes can
//!   still race (its own check-then-write race); the Rust side never reclaims a record naming a
//!   live matching process.
//! - `flock` on NFS is emulated with byte-range locks and can be lost silently after a server or
//!   lease problem; keep data directories on local filesystems.
//! - [`PidLock`] judges a record in its own pid namespace: a record written in a container names
//!   a pid this namespace calls something else, and `acquire` judges that. Before rewriting a
//!   directory, `dotdir_engine::live` matches the record against every process's `NSpid`.
//! - [`PidLock::program`] is ollim-bot's substring match over the whole cmdline: an editor open on
//!   a file under `~/.ollim-bot/` counts as "running" for a record this crate did not stamp
//!   (it fails closed).
//! - Only the last path component is checked for symlinks (a data directory reached through a
//!   symlinked parent is fine).

mod error;
mod lock;
mod process;
mod program;
mod record;
pub mod scan;
mod stamp;

/// atomic-store's durability policy, the one every dotdir crate takes ([`PidLock::durability`]).
pub use dotdir_atomic_store::Durability;

pub use crate::{
    error::{Error, Result, Step},
    lock::{Holder, PidGuard, PidLock, Previous, probe},
    program::Program,
    record::RecordFormat,
};
pub use dotdir_atomic_store::IoError;
