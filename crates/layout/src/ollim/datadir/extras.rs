//! Files the bot and its agent add at the root: `downloads/` (sanitised names, `-2`, `-3` on
//! collision), `reflections/<item-id>/<timestamp>.md`, and the auto-commit hook for agent-written
//! markdown.

use std::{
    fs,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{write, write_new};
use jiff::{Timestamp, tz::TimeZone};

use crate::ollim::{
    DataDir, Error, Result, StateGuard, is_safe_item_id, numbered_name, sanitize_download_name,
};

/// The attachments directory.
pub const DOWNLOADS_DIR: &str = "downloads";
/// The reflections directory.
pub const REFLECTIONS_DIR: &str = "reflections";

/// The file name of a reflection written at `ts`: `2026-04-08T07-02-00Z.md` (UTC).
pub fn reflection_file_name(ts: Timestamp) -> String {
    let utc = ts.to_zoned(TimeZone::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z.md",
        utc.year(),
        utc.month(),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

impl DataDir {
    /// Saves an attachment under `downloads/` and commits it: the name is sanitised
    /// ([`sanitize_download_name`]) and, when taken, becomes `name-2.ext`, `name-3.ext`, … The
    /// name is claimed by the write itself (`write_new`: an exclusive create that never
    /// replaces), so two savers never pick the same name and no file is ever overwritten.
    /// Returns the path written.
    pub fn save_download(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let dir = self.dir.real_dir(DOWNLOADS_DIR)?;
        let safe = sanitize_download_name(name);
        let options = self.dir.write_options(dir.join(&safe));
        let mut n = 1u32;
        let file_name = loop {
            let candidate = numbered_name(&safe, n);
            let path = dir.join(&candidate);
            let created = self.change(
                std::slice::from_ref(&path),
                &format!("download {candidate}"),
                || write_new(&path, bytes, &options),
                || fs::symlink_metadata(&path).is_ok(),
            )?;
            if created.is_new() {
                break candidate;
            }
            if n == u32::MAX {
                return Err(Error::refused(format!("download {safe}"), "no free name"));
            }
            n += 1;
        };
        let path = dir.join(&file_name);
        self.commit(&format!("{DOWNLOADS_DIR}/{file_name}"), &format!("download {file_name}"))?;
        Ok(path)
    }

    /// The path of the reflection of `item_id` written at `ts`:
    /// `reflections/<item-id>/<%Y-%m-%dT%H-%M-%SZ>.md` (the parent directory is created). An
    /// `item_id` that is not a plain slug (`../x`, empty, hidden) is refused.
    pub fn reflection_path(&self, item_id: &str, ts: Timestamp) -> Result<PathBuf> {
        if !is_safe_item_id(item_id) {
            return Err(Error::refused(
                format!("reflection item id {item_id:?}"),
                "not a plain slug",
            ));
        }
        let dir = self.dir.real_dir(Path::new(REFLECTIONS_DIR).join(item_id))?;
        dotdir_atomic_store::create_dirs(&dir, 0o777, self.options.durability)?;
        Ok(dir.join(reflection_file_name(ts)))
    }

    /// Writes a reflection of `item_id` stamped now and commits it (as the agent's write would
    /// be: `auto: write reflections/<id>/<name>`).
    pub fn write_reflection(&self, item_id: &str, text: &str) -> Result<PathBuf> {
        let now = self.clock.now();
        let path = self.reflection_path(item_id, now)?;
        let _ = write(&path, text.as_bytes(), &self.dir.write_options(&path))?;
        let rel = format!("{REFLECTIONS_DIR}/{item_id}/{}", reflection_file_name(now));
        self.commit(&rel, &format!("auto: write {rel}"))?;
        Ok(path)
    }

    /// The reference's `PostToolUse` auto-commit for `Write`/`Edit`: a `*.md` file that
    /// resolves inside the data directory (relative paths from the data directory) and that the
    /// layout tracks is committed as `auto: {tool lowercased} {relative path}`. Returns whether
    /// a commit was made; anything else (outside, excluded, not markdown) is left alone.
    pub fn auto_commit(&self, tool: &str, file_path: &Path) -> Result<bool> {
        if self.journal.is_none() {
            return Ok(false);
        }
        let guard = StateGuard::new(self.dir.root())?;
        let absolute = if file_path.is_absolute() {
            file_path.to_path_buf()
        } else {
            guard.root().join(file_path)
        };
        let Ok(resolved) = fs::canonicalize(&absolute) else { return Ok(false) };
        let Ok(rel) = resolved.strip_prefix(guard.root()) else { return Ok(false) };
        let Some(rel) = rel.to_str().map(str::to_owned) else { return Ok(false) };
        let tracked = self.options.layout.journal_exclusions().allows(&rel);
        if !rel.ends_with(".md") || !tracked {
            return Ok(false);
        }
        self.commit(&rel, &format!("auto: {} {rel}", tool.to_lowercase()))?;
        Ok(true)
    }
}
