//! The on-disk data directory of local agent applications: the ollim-bot and omicos layouts,
//! assembled from the dotdir crates.
//!
//! - [`omicos`]: the omicos global home ([`omicos::GlobalHome`], [`omicos::HOME_LAYOUT`]) and
//!   workspace data directories ([`omicos::Workspace`], [`omicos::WORKSPACE_LAYOUT`]).
//! - [`ollim`]: the whole ollim-bot data directory (`~/.ollim-bot`, `$OLLIM_DATA_DIR`):
//!   [`ollim::LAYOUT`] and the [`ollim::DataDir`] handle with every typed file, git tracking as
//!   the seed's table says, and the `state/` write guard ([`ollim::StateGuard`]).
//! - Layouts are data: [`Layout`] and [`Entry`] (kind, [`Format`], secrecy, [`Git`] tracking,
//!   [`Backup`] policy, retention, [`Validator`]); the journal's exclusion list and with it
//!   `.gitignore` ([`Layout::journal_exclusions`]), `dotdir check`, `inspect` and `backup` are
//!   derived from them. A downstream crate declares its
//!   own layout the same way (`examples/downstream_layout.rs`).
//! - Every member crate, re-exported: [`atomic_store`], [`pidlock`], [`jsonl_log`],
//!   [`ping_bucket`], [`frontmatter`], [`git_journal`].
//!
//! # Example
//! ```
//! use dotdir::{Git, ollim::LAYOUT};
//!
//! let token = LAYOUT.entry_for("state/token.json").unwrap();
//! assert!(token.secret && token.git == Git::Excluded);
//! assert_eq!(LAYOUT.entry_for("routines/morning.md").unwrap().git, Git::Tracked);
//! assert!(LAYOUT.journal_exclusions().is_excluded("state/token.json".as_ref()));
//! ```
//!
//! # Limitations
//! - Linux is the tested platform (Unix only: modes, `flock`, `/proc`).
//! - Layout patterns are globs over `/`-separated relative paths, matched case-sensitively.

pub mod archive;
pub mod backup;
pub mod check;
mod decl;
mod error;
pub mod inspect;
pub mod ollim;
pub mod omicos;

pub use dotdir_atomic_store as atomic_store;
pub use dotdir_frontmatter as frontmatter;
pub use dotdir_git_journal as git_journal;
pub use dotdir_jsonl_log as jsonl_log;
pub use dotdir_pidlock as pidlock;
pub use dotdir_ping_bucket as ping_bucket;

pub use dotdir_git_journal::glob_match;

/// `error` and every cause under it, joined by `: ` — each cause once, as the CLI prints them
/// (every error type of the workspace keeps its cause in `source()`, never in its message).
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

pub use crate::error::Error;

pub use crate::decl::{Backup, Entry, Format, Git, Kind, Layout, Severity, Validator};
