//! The backup archive: a `.tar.gz` with one top-level folder (the layout's name) holding the
//! [`backup::select`](crate::backup::select)ed files under their exact names (raw bytes, never
//! re-encoded) with their modes, and a manifest, `<top>/.dotdir-backup.json` (the last entry),
//! with every file's size, mode and SHA-256 and the paths left out.
//!
//! - [`write()`] streams the archive into a temporary file next to the target (mode 0600 from
//!   creation), reads it back against the manifest, and only then gives it its name; an existing
//!   file is replaced only when asked.
//! - [`verify`] reads an archive and checks every file against the manifest.
//! - [`restore`] verifies the archive, extracts it into a staging directory beside the target
//!   (checking every digest again), and moves it into place: into a new or empty directory, or,
//!   when forced, after moving the existing one aside (never while its application runs).
//!
//! ```
//! # fn main() -> Result<(), dotdir_engine::Error> {
//! use dotdir_engine::{Entry, Format, Layout, archive, backup, check};
//! const APP: Layout = Layout::new(
//!     "app",
//!     "an app",
//!     &[
//!         Entry::file("token.json", Format::Json, "an API token").secret(),
//!         Entry::file("notes/*.md", Format::Text, "a note"),
//!     ],
//! );
//! let tmp = tempfile::tempdir().unwrap();
//! let dir = tmp.path().join("data");
//! std::fs::create_dir_all(dir.join("notes")).unwrap();
//! std::fs::write(dir.join("notes/a.md"), "hello").unwrap();
//! std::fs::write(dir.join("token.json"), "\"s3cr3t\"").unwrap();
//!
//! let out = tmp.path().join("app.tar.gz");
//! let written = archive::write(&backup::select(&dir, &APP)?, &out, false, &mut |_| {})?;
//! assert_eq!(written.files, 1);
//! assert_eq!(archive::verify(&out)?.files.len(), 1);
//!
//! let restored = archive::restore(&out, &tmp.path().join("copy"), &APP, &check::Options::default(), false)?;
//! assert_eq!(std::fs::read(tmp.path().join("copy/notes/a.md")).unwrap(), b"hello");
//! assert_eq!(restored.secrets, ["token.json"]); // to re-create: never archived
//! # Ok(()) }
//! ```

mod manifest;
mod read;
mod restore;
mod write;

use std::{io, path::Path};

use crate::{Error, IoError, Step};

pub use self::{
    manifest::{LeftOut, Manifest, ManifestFile},
    read::{check_members, verify, verify_with_progress},
    restore::{Restored, restore, restore_with_progress},
    write::{Archived, write},
};

/// Set when the process is asked to stop (a command registers SIGINT and SIGTERM on it):
/// [`write()`] and [`restore`] then stop at their next read, remove what they had written (the
/// temporary archive, the staging directory) and return an error that says so.
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    static FLAG: std::sync::LazyLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
        std::sync::LazyLock::new(Default::default);
    FLAG.clone()
}

/// Whether [`interrupt_flag`] is set.
pub fn interrupted() -> bool {
    interrupt_flag().load(std::sync::atomic::Ordering::Relaxed)
}

/// The manifest's name inside the top-level folder.
pub const MANIFEST: &str = ".dotdir-backup.json";

/// The most members an archive may hold (a bomb of empty files is refused before it fills an
/// inode table). The environment variable [`MAX_MEMBERS_ENV`] may lower it, never raise it.
pub const MAX_MEMBERS: u64 = 1_000_000;
/// `DOTDIR_ARCHIVE_MAX_MEMBERS`: a lower bound on members than [`MAX_MEMBERS`] (a person
/// restoring on a small filesystem; the hostile harness, which cannot generate a million
/// members quickly). A value above [`MAX_MEMBERS`] or not a number is ignored.
pub const MAX_MEMBERS_ENV: &str = "DOTDIR_ARCHIVE_MAX_MEMBERS";

/// [`MAX_MEMBERS`], or the lower bound [`MAX_MEMBERS_ENV`] sets.
pub fn max_members() -> u64 {
    std::env::var(MAX_MEMBERS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(MAX_MEMBERS, |n| n.min(MAX_MEMBERS))
}
/// The most bytes an archive may expand to.
pub const MAX_TOTAL_BYTES: u64 = 256 << 30;
/// The highest expansion ratio (bytes out per compressed byte read) past the first
/// [`RATIO_GRACE_BYTES`]: deflate's own ceiling is about 1,032 (a stream of one repeated
/// byte), which real data reaches only in short runs.
pub const MAX_RATIO: u64 = 1000;
/// Bytes an archive may expand to before [`MAX_RATIO`] is enforced.
pub const RATIO_GRACE_BYTES: u64 = 256 << 20;

/// The mode a restored file or directory gets: the archive's bits without setuid, setgid,
/// sticky, group-write or world-write, within what its entry declares (`0o600`/`0o700` for a
/// private or secret entry). An archive's mode never adds a permission.
pub fn restored_mode(mode: u32, declared: Option<u32>) -> u32 {
    mode & 0o755 & declared.unwrap_or(0o777)
}

fn archive_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Archive { path: path.to_path_buf(), message: message.into() }
}

fn io_error<'a>(step: Step, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io(IoError { step, path: path.to_path_buf(), source })
}
