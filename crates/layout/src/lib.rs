//! The on-disk data directory of local agent applications: the ollim-bot and omicos layouts,
//! assembled from the dotdir crates.
//!
//! - [`omicos`]: the omicos global home ([`omicos::GlobalHome`], [`omicos::HOME_LAYOUT`]) and
//!   workspace data directories ([`omicos::Workspace`], [`omicos::WORKSPACE_LAYOUT`]).
//!
//! **Work in progress.** The layout declaration ([`Layout`], [`Entry`]) exists; the ollim-bot and
//! omicos layouts come with issues #8 and #9.

pub mod backup;
pub mod check;
mod decl;
pub mod inspect;
pub mod ollim;
pub mod omicos;

pub use dotdir_atomic_store as atomic_store;
pub use dotdir_frontmatter as frontmatter;
pub use dotdir_git_journal as git_journal;
pub use dotdir_jsonl_log as jsonl_log;
pub use dotdir_pidlock as pidlock;
pub use dotdir_ping_bucket as ping_bucket;

pub use crate::decl::{
    ALWAYS_IGNORED, Backup, Entry, Format, Git, Kind, Layout, Validator, glob_match,
};
