//! Auto-commit every write of a data directory into its own git repository, in-process (libgit2,
//! no `git` subprocess), with an exclusion list that secrets cannot slip past.
//!
//! # Main types
//! - [`Journal`]: opens or initialises the repository in exactly the data directory (never an
//!   ancestor's), keeps `.gitignore` in step with the exclusion list, and commits:
//!   [`Journal::write`] (atomic write through `dotdir-atomic-store`, then commit),
//!   [`Journal::remove`], [`Journal::commit_path`] / [`Journal::commit_paths`] (additions,
//!   modifications, deletions, in time that depends on the paths, not on the repository or its
//!   history) and [`Journal::commit_all_changed`]; [`Journal::untrack`] (`git rm --cached`, the
//!   one call that accepts excluded paths, to take a force-added secret out of the index).
//!   Nothing to commit is `Ok(None)`, never an empty commit. History: [`Journal::log_path`], [`Journal::read_at`], [`Journal::restore`]
//!   (undo). [`Journal::push`] to another repository (libgit2).
//! - Off the machine: [`audit_outgoing`] / [`Journal::audit_outgoing`] list every excluded path,
//!   and every blob whose bytes are a secret file's ([`JournalOptions::secrets`],
//!   [`SecretBlobs`]), in the commits a push would send, judged against the refs the
//!   destination advertises (`git ls-remote` on each push URL), never against local tracking
//!   refs; [`Journal::push_with_git`] audits, then pushes with the user's `git` (every
//!   transport, their credentials; refused with [`Error::Leaks`], or
//!   [`Error::DestinationUnknown`] when the destination cannot be listed);
//!   [`JournalOptions::auto_push`] pushes in the background after commits, never blocking one;
//!   [`push_status`] is the outcome of the last push. [`redact_url`]: credentials in a URL are
//!   never printed or recorded.
//! - [`DeferringJournal`]: a journal whose commits are never lost — a commit that fails after
//!   its change is on disk is recorded and made by the next commit or open, and what a killed
//!   writer left uncommitted is committed by the first commit after open.
//! - [`Exclusions`]: gitignore-style globs checked in code before anything is staged: an
//!   excluded path is an [`Error::Excluded`], even when a caller names it (libgit2's explicit add
//!   ignores `.gitignore`, so `.gitignore` alone would not keep a secret out).
//! - [`JournalOptions`]: the exclusion list, the fallback [`Identity`] (commits never fail for
//!   a missing `user.name`), the [`RetryPolicy`] for locks held by other processes, the fsync
//!   switch ([`set_fsync_gitdir`], process-wide).
//! - [`Error`]: every variant names the path and what failed.
//!
//! # Concurrency and crashes
//! Each mutation holds an in-process mutex and a cross-process `flock` on
//! `.git/dotdir-journal.lock`, so writers commit one after another and history stays linear.
//! A lock file held by a live `git` command (a person running `git status`) is retried with
//! backoff for up to [`RetryPolicy::max_wait`]. While committing, a writer keeps an intent
//! record in the git directory; the next writer that finds one knows (it holds the `flock` the
//! kernel released) that its author died mid-commit, removes the `index.lock` and ref locks that
//! author created, and commits the author's paths again with its message. So a `SIGKILL` at any
//! point never blocks the next commit and never needs a person to delete a lock.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir_git_journal::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! use dotdir_atomic_store::WriteOptions;
//! use dotdir_git_journal::{Error, Exclusions, Journal, JournalOptions};
//!
//! let exclusions = Exclusions::new(["state/token.json", "state/*.pid", ".claude/agents/*.md"])?;
//! let journal = Journal::open(dir.path(), JournalOptions::new().exclusions(exclusions))?;
//!
//! let first = journal.write("routines/x.md", b"---\nid: x\n---\n", &WriteOptions::new(), "add routine x")?;
//! assert!(first.is_some());
//! // The same content again: nothing to commit, no empty commit.
//! assert_eq!(journal.commit_path("routines/x.md", "again")?, None);
//!
//! // A secret is refused even when asked for by name.
//! std::fs::create_dir_all(dir.path().join("state")).unwrap();
//! std::fs::write(dir.path().join("state/token.json"), "s3cr3t").unwrap();
//! assert!(matches!(journal.commit_path("state/token.json", "oops"), Err(Error::Excluded { .. })));
//!
//! journal.remove("routines/x.md", "remove routine x")?;
//! let log = journal.log_path("routines/x.md", None)?;
//! assert_eq!(log.iter().map(|c| c.message.as_str()).collect::<Vec<_>>(), ["remove routine x", "add routine x"]);
//!
//! // Undo the removal.
//! journal.restore("routines/x.md", &log[1].id, "restore routine x")?;
//! assert_eq!(std::fs::read(dir.path().join("routines/x.md")).unwrap(), b"---\nid: x\n---\n");
//! # Ok(()) }
//! ```
//!
//! # Limitations
//! - Linux is the tested platform (Unix only: modes, `flock`, `/proc/stat` for the boot time).
//! - Exclusion globs are matched case-sensitively and byte-wise: on a case-insensitive file
//!   system `State/Token.json` is a different path to the list (a push still refuses it when
//!   its bytes are a current secret's: [`JournalOptions::secrets`]). Negated patterns (`!x`)
//!   are not supported.
//! - The push audit compares blobs with the secrets' *current* bytes, as git would hash them
//!   unfiltered: an older version of a secret, a secret larger than [`SECRET_SIZE_LIMIT`], or a
//!   copy stored through a clean filter or with other line endings is caught by path only.
//! - The push audit is judged against what the destination advertised to `git ls-remote` just
//!   before `git push`: refs deleted there in between, or refs a server shows to a fetch but
//!   hides from a push (`receive.hideRefs`, a `remote.<name>.receivepack` that serves another
//!   repository), let `git push` send commits the audit skipped.
//! - "Provably stale" holds for locks created by journal writers (intent record + `flock`).
//!   A lock of a foreign `git` command is removed only when older than the boot or than
//!   [`JournalOptions::foreign_lock_timeout`] (an age rule). The one residual race: a foreign
//!   `git` that creates a lock within the same few milliseconds in which a journal writer is
//!   killed mid-commit can lose that lock to the next writer.
//! - The commit updates the branch HEAD points to with libgit2's check that the tip is still
//!   the parent; that check is atomic with respect to other journal writers (the `flock`), not
//!   to a foreign `git` committing at the same instant (that case is retried as a conflict).
//! - Each commit reads the index when another process changed it and rewrites it: that part is
//!   linear in the number of tracked files (about a megabyte for 10,000 files), as it is for
//!   `git add`. The tree work and the hashing depend only on the changed paths.
//! - The fsync switch is process-wide (libgit2's global option), and with it off a power cut
//!   can lose recent commits (never corrupt the work tree files, which `dotdir-atomic-store`
//!   writes).
//! - libgit2 follows symbolic links inside the git directory (it appends a reflog through
//!   one, writes a loose ref or the index at a link's target), so before each commit, under its
//!   lock, the journal checks what the commit writes through — `HEAD`, the branch's ref and the
//!   directories above it, their reflogs under `logs/`, the index, `objects/` and each
//!   directory in it — and refuses with [`Error::SymlinkInGitDir`] when one is a symbolic link
//!   (reflogs stay on: `git log -g` keeps working). A link planted between that check and the
//!   commit, by a process that can write the git directory anyway, is not defended against;
//!   `.git` itself being a symbolic link (or a `gitdir:` file) is followed, as a symlinked
//!   directory inside the data directory is. Refs [`Journal::push`] may update (a named
//!   remote's tracking refs) are not checked.
//! - Commits are signed by nobody; hooks are not run; line-ending and `.gitattributes` filters
//!   apply as libgit2 applies them.

#[cfg(feature = "libgit2")]
mod checkout;
mod error;
mod exclude;
#[cfg(feature = "libgit2")]
mod fsync;
#[cfg(feature = "libgit2")]
mod gitdir;
#[cfg(feature = "libgit2")]
mod history;
#[cfg(feature = "libgit2")]
mod journal;
#[cfg(feature = "libgit2")]
mod options;
#[cfg(feature = "libgit2")]
mod push;
#[cfg(feature = "libgit2")]
mod recovery;
mod redact;
#[cfg(feature = "libgit2")]
mod secrets;
#[cfg(feature = "libgit2")]
mod tree;

#[cfg(feature = "libgit2")]
pub use crate::{
    checkout::{Hostile, HostileKind, audit_checkout, refuse_hostile_checkout},
    fsync::{fsync_gitdir_enabled, set_fsync_gitdir},
    history::CommitInfo,
    journal::{CommitId, Journal},
    options::{Identity, JournalOptions, RetryPolicy},
    push::{
        Leak, PUSH_STATUS_FILE, PushStatus, UNDECLARED, audit_history, audit_outgoing,
        paths_in_recent_history, push_status,
    },
    recovery::{
        DeferringJournal, PENDING_COMMITS_FILE, RECOVERED_MESSAGE, pending_record_damage,
        set_aside_pending_record,
    },
    secrets::{SECRET_SIZE_LIMIT, SecretBlobs},
};
pub use crate::{
    error::{Error, GitStop, Result, Step},
    exclude::{BUILTIN_EXCLUSIONS, Exclusions, glob_match},
    redact::{redact_text, redact_url},
};
pub use dotdir_atomic_store::{Durability, IoError};
