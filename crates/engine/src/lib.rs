//! Declare the layout of a data directory once — every file and folder with its format,
//! secrecy, git tracking, backup policy and retention — and get, from that declaration alone,
//! the tools a person needs to look after the directory: inspect it, check it, repair it
//! without losing a byte, back it up and restore it.
//!
//! This is the generic engine under the `dotdir` facade and the `dotdir` command. It knows no
//! application: the ollim-bot and omicos layouts (crate `dotdir`) and any downstream layout are
//! the same kind of value, a `const` [`Layout`].
//!
//! - The declaration: [`Layout`] (entries, default [`Location`], owning program) and [`Entry`]
//!   ([`Kind`], [`Format`], secrecy, [`Git`] tracking, [`Backup`] policy, retention, a
//!   [`Validator`] of the layout's own). The journal's exclusion list, and with it
//!   `.gitignore`, is derived from it ([`Layout::journal_exclusions`]). Every parseable
//!   [`Format`] is parsed by `check` — JSON, JSON Lines, YAML, TOML, specs and Markdown's
//!   optional front matter, with line and column — and [`Layout::lint`] names an entry an
//!   earlier one shadows.
//! - [`Dir`]: one data directory under its layout — the handle every typed writer builds on:
//!   its symbolic-link policy, each path's mode and write options, declared and secret writes,
//!   `init`, and the journal's options.
//! - [`live`]: whether the owning application runs, told by the OS (launch forms, pid
//!   namespaces, open files), never by a pid record alone.
//! - [`inspect`]: the annotated tree of a directory, and which layout a directory follows
//!   ([`inspect::detect`], [`inspect::recognise`]). **A directory must fit its layout (its
//!   declared [`Fingerprint`], not `$HOME`) before anything writes to it**: [`inspect::fit`]
//!   says what is missing and what is foreign, [`inspect::is_home_or_root`] what is never a
//!   data directory, and [`inspect::enclosing`] which data directory a path lies inside.
//! - [`check`]: every problem the declaration can detect, graded by [`Severity`], and
//!   [`check::fix`], the repairs that lose nothing — refused while the owning application runs
//!   when they would race it.
//! - [`backup`] and [`archive`]: what to keep (never a secret), a verified `.tar.gz` with a
//!   SHA-256 manifest, and [`archive::restore`] into a new or empty directory.
//! - One error type, [`Error`], whose causes are kept as `source()`.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir_engine::Error> {
//! use dotdir_engine::{Entry, Format, Layout, Location, check};
//! use std::os::unix::fs::PermissionsExt;
//!
//! const APP: Layout = Layout::new(
//!     "app",
//!     "an app's data directory",
//!     &[
//!         Entry::file("token.json", Format::Json, "an API token").secret(),
//!         Entry::file("notes/*.md", Format::Text, "a note"),
//!     ],
//! )
//! .located(Location::Home { name: ".app", env: Some("APP_DIR") });
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("token.json"), "\"s3cr3t\"").unwrap();
//! std::fs::set_permissions(dir.path().join("token.json"), std::fs::Permissions::from_mode(0o644))
//!     .unwrap();
//! let report = check::check(dir.path(), &APP, &check::Options::default())?;
//! assert_eq!(report.problems[0].kind.as_str(), "secret-mode");
//! check::fix(dir.path(), &APP, &check::Options::default())?;
//! assert!(check::check(dir.path(), &APP, &check::Options::default())?.problems.is_empty());
//! # Ok(()) }
//! ```
//!
//! # Features
//! - `git` (default): the git journal — `check`'s history findings and repairs,
//!   `Layout::journal_options`, `Dir::journal`. Without it the engine builds no libgit2.
//!
//! # Limitations
//! - Linux is the tested platform (Unix only: modes, `flock`, `/proc`).
//! - Patterns are globs over `/`-separated relative paths, matched case-sensitively.
//! - The engine checks formats and declared validators; what a record *means* belongs to the
//!   application's typed access (the `dotdir` facade for ollim-bot and omicos).

pub mod archive;
pub mod backup;
pub mod check;
mod decl;
mod dir;
mod error;
mod fit;
pub mod inspect;
pub mod leftover;
pub mod live;

pub use crate::{
    decl::{
        AppLock, Backup, Entry, Finding, Fingerprint, Format, Git, Kind, Layout, Location,
        Severity, Sidecar, Validator,
    },
    dir::Dir,
    error::{Error, Step},
};
pub use dotdir_atomic_store::{IoError, error_chain};
pub use dotdir_pidlock::Program;
