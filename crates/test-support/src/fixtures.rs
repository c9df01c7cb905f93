//! The committed fixture trees, one copy each for every crate's tests.

use std::path::{Path, PathBuf};

/// The ollim-bot fixture tree: files the real ollim-bot wrote, in two sets, `typical/` and
/// `hazards/` (each a data directory: `state/`, `routines/`, …). A byte-identical copy of
/// the shared fixtures (a test of this crate holds it so, by their recorded digests). Tests
/// copy what they change: the tree is never written.
pub fn ollim_bot() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ollim-bot")
}

/// A file or directory of the ollim-bot fixture tree, by its path relative to it
/// (`typical/state/ping_budget.json`).
pub fn ollim_bot_file(relative: &str) -> PathBuf {
    let path = ollim_bot().join(relative);
    assert!(path.exists(), "no fixture {}", path.display());
    path
}
