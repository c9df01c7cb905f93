//! YAML-front-matter spec files (routines, reminders, webhooks, skills) and the directories that
//! hold them, read and written so that no spec is ever silently lost.
//!
//! A spec file is `---`, YAML front matter, `---`, then a markdown body. This crate reads the
//! files ollim-bot writes and writes files ollim-bot (PyYAML `safe_load`) reads back to the same
//! values, while fixing what the reference gets wrong: strings are escaped (a `"` no longer makes
//! a routine vanish), the front matter is only recognised at the start of the file, the body is
//! kept exactly, a changed message renames the file instead of duplicating it, a corrupt file is
//! reported instead of aborting a listing, and polling an unchanged directory reads no file.
//!
//! # Main types
//! - [`Spec`]: a serde struct stored as a spec file (its `id`, and the string field that holds
//!   the body). [`parse`]/[`parse_with`] read bytes into a [`SpecFile<T>`] (the typed spec plus
//!   the unknown keys, [`Extra`]); [`render`] writes it back. Keys are kebab-case on write and
//!   kebab or snake case on read; fields equal to their default are omitted; values the
//!   reference reads loosely (`id: 12345678`, `allow_ping: no`) are accepted and normalised.
//! - [`split`]: the strict splitter (optional BOM, LF or CRLF, `---` lines at the start only).
//! - [`Limits`]: size, nesting and alias caps checked on the raw bytes before the YAML parser
//!   runs, so a hostile file is rejected in microseconds with bounded memory.
//! - [`SpecDir<T>`]: a directory of slug-named files ([`slugify`]); get, list, write and remove
//!   by id, all writes through `dotdir-atomic-store` under a directory lock; a [`Listing`] of
//!   entries and [`SpecProblem`]s, cached by file stamps. A spec file that cannot be read (`EIO`,
//!   `EACCES`) is a problem to a listing, and makes a write or removal by id fail
//!   ([`Error::UnreadableEntry`]) rather than act as if the id were absent (a get too, when no
//!   readable file holds the id).
//! - [`SkillDir<T>`]: `skills/<name>/SKILL.md`, names confined to the directory.
//! - [`Error`] and [`ParseError`] (file, line, column, [`Reason`]).
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir_frontmatter::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! use dotdir_frontmatter::{Spec, SpecDir};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
//! #[serde(rename_all = "kebab-case")]
//! struct Routine {
//!     id: String,
//!     message: String, // the markdown body
//!     cron: String,
//!     #[serde(default)]
//!     description: String,
//!     #[serde(default)]
//!     allowed_tools: Option<Vec<String>>,
//! }
//! impl Spec for Routine {
//!     fn id(&self) -> &str { &self.id }
//! }
//!
//! let routines = SpecDir::<Routine>::new(dir.path().join("routines"));
//! let mut routine = Routine {
//!     id: "a1b2c3d4".into(),
//!     message: "Morning check-in".into(),
//!     cron: "30 8 * * *".into(),
//!     description: r#"Say "hi""#.into(),
//!     allowed_tools: None,
//! };
//! let saved = routines.write(&routine)?;
//! assert!(saved.path.ends_with("routines/morning-check-in.md"));
//! assert_eq!(
//!     std::fs::read_to_string(&saved.path).unwrap(),
//!     "---\nid: \"a1b2c3d4\"\ncron: \"30 8 * * *\"\ndescription: \"Say \\\"hi\\\"\"\n---\nMorning check-in\n",
//! );
//!
//! // A changed message renames the file: still one file for the id.
//! routine.message = "Evening check-in".into();
//! let saved = routines.write(&routine)?;
//! assert_eq!(saved.removed.len(), 1);
//! let listing = routines.list()?;
//! assert_eq!(listing.entries.len(), 1);
//! assert_eq!(listing.get("a1b2c3d4").unwrap().spec, routine);
//! # Ok(()) }
//! ```
//!
//! # Limitations
//! - The YAML backend is `serde_yaml` 0.9 (archived upstream), kept private to one module so it
//!   can be swapped. It reads YAML 1.2: `yes`/`no` are strings to it; this crate turns them into
//!   bools only where the spec type wants a bool.
//! - Comments and the original quoting of a file are not kept: a changed spec is rewritten in
//!   the reference's layout (an unchanged one is not rewritten at all).
//! - Unknown keys come back as JSON-shaped values ([`Extra`]): YAML tags are dropped, infinite
//!   and NaN floats and integers beyond 64 bits are refused.
//! - The body is kept exactly (the reference strips it); a message with leading or trailing
//!   whitespace therefore reads back stripped in the reference only.
//! - The listing cache trusts a file's size, times and inode; a file rewritten in place within
//!   20 ms (2 s on filesystems without sub-second times) of being read is read again next time.
//! - A write trusts the directory's modification time to know which file holds an id: a file
//!   edited in place to take another spec's id, or one created by a writer that does not take
//!   the directory lock within the same timestamp tick as our last write, is seen by the next
//!   [`SpecDir::list`] (which checks every entry), not necessarily by the next write.
//! - The alias cap counts aliases, not anchors. Raising it above zero leaves an alias bomb to
//!   `serde_yaml`'s repetition limit, which is slower (about 0.1 s for a 0.5 KiB bomb).
//! - A write or removal by id needs every spec file of the directory readable: one unreadable
//!   file (any id could be in it) blocks writes and removals of every id, and gets of every id
//!   no readable file holds, until it is readable again or removed. Corrupt files and files over the size cap do not block (they are left
//!   alone, as corrupt files always are), nor do symlinks and non-files: a symbolic link in a
//!   spec directory is reported and never followed, so a spec a person linked in from elsewhere
//!   is not read (move the file itself into the directory).
//! - Unix only; Linux is the tested platform.

mod dir;
mod emit;
mod error;
mod guard;
mod lenient;
mod skills;
mod slug;
mod spec;
mod split;
mod yaml;

pub use crate::{
    dir::{DirOptions, ListedSpec, Listing, Saved, SpecDir},
    error::{Error, ParseError, Reason, Result, SpecProblem},
    guard::Limits,
    skills::{SKILL_FILE, SkillDir},
    slug::{EMPTY_SLUG, MAX_SLUG, file_stem, slugify},
    spec::{Extra, MAX_KEY_CHARS, Spec, SpecFile, parse, parse_with, parse_yaml, render},
    split::{Split, split},
};
pub use dotdir_atomic_store::IoError;
