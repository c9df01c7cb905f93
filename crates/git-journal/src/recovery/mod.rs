//! Finishing what a dead writer started: three records, each covering what the one before it
//! cannot see, read in this order when a directory is opened.
//!
//! 1. **The intent record** (`intent`, `.git/dotdir-journal.intent`) covers a writer killed
//!    *inside* a commit. Every mutation writes it under the journal's `flock`, before it touches
//!    the index, an object or a ref, and removes it when the commit is done or failed cleanly.
//!    It is read first, by the first mutation after [`Journal::open`](crate::Journal::open)
//!    (the `.gitignore` commit of the open itself, when one is due), under the `flock` and before
//!    that mutation writes its own record: the dead writer's lock files and temporary objects
//!    are removed and its paths are committed again with its message. Should that commit fail,
//!    the record is rewritten (in the phase that claims no lock file) and the next mutation
//!    tries again: the dead writer's paths stay in this record.
//! 2. **The pending-commits file** (`pending`, [`PENDING_COMMITS_FILE`]) covers a commit that
//!    *returned* an error after its change was on disk (a full disk, a foreign `index.lock`):
//!    [`DeferringJournal`] records it instead of losing it. It is read second, by
//!    [`DeferringJournal::open`] right after [`Journal::open`](crate::Journal::open) and before
//!    each commit ([`DeferringJournal::settle`]): its commits are made again oldest first, each
//!    one a mutation, so any intent record is finished before them. A commit that fails again
//!    stays recorded for the next attempt; one refused for good (its path became excluded) is
//!    dropped. A damaged file is skipped, never a lock-out: its paths are on disk and
//!    uncommitted, so the scan below finds them ([`set_aside_pending_record`] moves it aside).
//! 3. **The scan at open** (`scan`, [`Journal::uncommitted`](crate::Journal::uncommitted))
//!    covers what no record names: a writer killed *between* its change and its commit (it
//!    wrote no intent and deferred nothing), or a file changed by hand. It runs last, in
//!    [`DeferringJournal::open`] once the pending commits are made, so it sees only what the
//!    two records left: what differs from HEAD and is not excluded. The first commit of the
//!    opened journal commits it (a deletion beside its own paths with its message, the rest
//!    as [`RECOVERED_MESSAGE`]); should that fail, it is deferred to the pending-commits file.
//!    [`Journal::commit_all_changed`](crate::Journal::commit_all_changed) is the same scan,
//!    committed at once.

pub(crate) mod intent;
mod pending;
mod scan;

pub use self::pending::{
    DeferringJournal, PENDING_COMMITS_FILE, RECOVERED_MESSAGE, pending_record_damage,
    set_aside_pending_record,
};
