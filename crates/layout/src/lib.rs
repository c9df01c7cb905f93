//! The on-disk data directory of local agent applications: the ollim-bot and omicos layouts,
//! assembled from the dotdir crates.
//!
//! - [`omicos`]: the omicos global home ([`omicos::GlobalHome`], [`omicos::HOME_LAYOUT`]) and
//!   workspace data directories ([`omicos::Workspace`], [`omicos::WORKSPACE_LAYOUT`]).
//! - [`ollim`]: the whole ollim-bot data directory (`~/.ollim-bot`, `$OLLIM_DATA_DIR`):
//!   [`ollim::LAYOUT`] and the [`ollim::DataDir`] handle with every typed file, git tracking as
//!   the seed's table says, and the `state/` write guard ([`ollim::StateGuard`]).
//! - Layouts are data: [`Layout`] and [`Entry`] (kind, [`Format`], secrecy, [`Git`] tracking,
//!   [`Backup`] policy, retention, [`Validator`]), from which the generic engine
//!   ([`engine`], crate `dotdir-engine`, re-exported here: [`check`], [`inspect`], [`backup`],
//!   [`archive`]) derives `.gitignore`, `check`, `inspect`, `backup` and `restore`. A
//!   downstream app declares its own layout the same way (`examples/downstream`).
//! - Every member crate, re-exported: [`atomic_store`], [`pidlock`], [`jsonl_log`],
//!   [`ping_bucket`], [`frontmatter`], [`git_journal`], [`engine`].
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

pub mod ollim;
pub mod omicos;

pub use dotdir_atomic_store as atomic_store;
pub use dotdir_engine as engine;
pub use dotdir_frontmatter as frontmatter;
pub use dotdir_git_journal as git_journal;
pub use dotdir_jsonl_log as jsonl_log;
pub use dotdir_pidlock as pidlock;
pub use dotdir_ping_bucket as ping_bucket;

pub use dotdir_atomic_store::IoError;
pub use dotdir_engine::{
    Backup, Dir, Entry, Error, Fingerprint, Format, Git, Kind, Layout, Location, Severity,
    Validator, archive, backup, check, error_chain, inspect,
};
pub use dotdir_git_journal::glob_match;

/// The layouts this crate declares, for tools that serve them all (the `dotdir` command):
/// ollim-bot's, omicos' home and omicos' workspace.
pub const LAYOUTS: [&Layout; 3] = [&ollim::LAYOUT, &omicos::HOME_LAYOUT, &omicos::WORKSPACE_LAYOUT];
