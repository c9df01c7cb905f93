//! The on-disk data directory of local agent applications: the ollim-bot and omicos layouts,
//! assembled from the dotdir crates.
//!
//! **Work in progress.** For now the facade re-exports the member crates that exist; the layout
//! declarations and the ollim-bot and omicos layouts come with issues #8 and #9.

pub use dotdir_atomic_store as atomic_store;
