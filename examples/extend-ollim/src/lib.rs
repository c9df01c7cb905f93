//! How a downstream crate adds files of its own to ollim-bot's data directory, on dotdir's
//! public API only: a plugin keeps an API token and notes under `plugins/`.
//!
//! [`LAYOUT`] is ollim-bot's layout with two entries in front ([`Layout::extend`]), and every
//! rule derived from the declaration follows it: the token is a secret (`0600` whatever the
//! umask, never committed, never backed up, ignored by git itself), the notes are tracked, and
//! anything else under `plugins/` is refused. The typed handle takes the extension
//! ([`ollim::Options::layout`]) and keeps every ollim-bot operation.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir::ollim::Error> {
//! let dir = tempfile::tempdir().unwrap();
//! let root = dir.path().join(".ollim-bot");
//! let token = extend_ollim::install(&root, "slack", "xoxb-123")?;
//! assert!(!token.tracked);
//! use std::os::unix::fs::PermissionsExt;
//! let mode = std::fs::metadata(root.join("plugins/slack.json")).unwrap().permissions().mode();
//! assert_eq!(mode & 0o777, 0o600);
//! # Ok(()) }
//! ```
//!
//! # Limitations
//! - A plugin name must be a plain file name (letters, digits, `-`, `_`): the entries declare
//!   `plugins/*.json`, so a nested path is refused.

use std::path::{Path, PathBuf};

use dotdir::{Entry, Format, Layout, ollim};

/// ollim-bot's layout with the plugins' files in front of it.
pub const LAYOUT: Layout = Layout::extend(
    &ollim::LAYOUT,
    &[
        Entry::file("plugins/*.json", Format::Json, "a plugin's API token").secret(),
        Entry::file("plugins/*.md", Format::Markdown, "a plugin's notes"),
    ],
);

/// What [`install`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The token's path.
    pub token: PathBuf,
    /// Whether git tracks it (never, for a secret).
    pub tracked: bool,
    /// The routine saved through the extended handle.
    pub routine: PathBuf,
}

/// Creates or opens `root` as an ollim-bot directory with [`LAYOUT`], writes the plugin's
/// token (`plugins/<plugin>.json`, a secret) and saves a routine that posts its digest (a
/// tracked spec, committed).
pub fn install(root: &Path, plugin: &str, token: &str) -> Result<Installed, ollim::Error> {
    let zone = ollim::time_zone("UTC").or_else(|_| ollim::configured_time_zone())?;
    let options = ollim::Options::new().time_zone(zone).layout(&LAYOUT);
    let data = ollim::DataDir::open(root, options)?;
    let relative = format!("plugins/{plugin}.json");
    let bytes = serde_json::to_vec_pretty(&serde_json::json!({ "token": token }))
        .unwrap_or_else(|_| b"{}".to_vec());
    let tracked = data.write_declared(&relative, &bytes, &format!("add the {plugin} plugin"))?;
    let routine =
        data.save_routine(&ollim::Routine::new("0 8 * * *", &format!("Post the {plugin} digest")))?;
    Ok(Installed { token: root.join(relative), tracked, routine })
}
