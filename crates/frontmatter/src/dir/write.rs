//! Saving a spec: choosing its file name, writing it, removing its other copies.

use dotdir_atomic_store::Step;
use std::{
    ffi::OsStr,
    fs, io,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use dotdir_atomic_store::{self as store, WriteOptions, Written};

use super::{Cached, LOCK_STEM, ListedSpec, Parsed, SpecDir, Stamp, dir_stamp};
use crate::{
    IoError,
    error::{Error, Result},
    slug::file_stem,
    spec::{Extra, Spec, SpecFile, parse_at, render_parts},
};

const MAX_SUFFIX: usize = 100_000;

/// What a [`SpecDir::write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The file that now holds the spec.
    pub path: PathBuf,
    /// Whether the bytes were written, or were already there.
    pub written: Written,
    /// Other files with the same id that were removed (the old name after a message change,
    /// duplicates left by the reference).
    pub removed: Vec<PathBuf>,
}

impl<T: Spec> SpecDir<T> {
    /// Writes `spec`, keeping the unknown keys of the file that holds its id now.
    ///
    /// See [`SpecDir::write_file`] for where it goes.
    pub fn write(&self, spec: &T) -> Result<Saved> {
        self.save(spec, None)
    }

    /// Writes a spec with explicit unknown keys.
    ///
    /// The file is `<slug>.md`, or the first `<slug>-N.md` (N = 2, 3, …) that is free or
    /// already holds this id; if the file holding the id already has a name of that family, it
    /// keeps it. Any other file with the same id is removed afterwards, so a changed message
    /// renames the spec instead of duplicating it. Identical bytes are not rewritten.
    ///
    /// A spec file of the directory that cannot be read (an I/O error such as `EIO` or
    /// `EACCES`, not a corrupt or oversized file) might hold the id, and writing around it could
    /// leave two files with one id: the write is then [`Error::UnreadableEntry`] and changes
    /// nothing. Listing still reports such an entry as a [`SpecProblem::Unreadable`] and goes on.
    ///
    /// [`SpecProblem::Unreadable`]: crate::SpecProblem::Unreadable
    pub fn write_file(&self, file: &SpecFile<T>) -> Result<Saved> {
        self.save(&file.spec, Some(&file.extra))
    }

    fn save(&self, spec: &T, extra: Option<&Extra>) -> Result<Saved> {
        let id = spec.id();
        if id.is_empty() {
            return Err(Error::InvalidName {
                dir: self.dir.clone(),
                name: String::new(),
                reason: "a spec needs a non-empty id",
            });
        }
        let _lock = store::lock(&self.dir.join(LOCK_STEM))?;
        let holders = self.holders(id, "write")?;
        let extra = match extra {
            Some(extra) => extra.clone(),
            None => holders.first().map(|e| e.extra.clone()).unwrap_or_default(),
        };
        let (text, body) =
            render_parts(spec, &extra).map_err(|e| with_encode_path(e, &self.dir))?;
        let stem = file_stem(&body);

        // What each file holding the id renders to now, and its body.
        let current: Vec<Option<(String, String)>> =
            holders.iter().map(|e| render_parts(&e.spec, &e.extra).ok()).collect();
        // An unchanged spec stays where it is, byte for byte (even a hand-written file in
        // another layout, or the reference's hidden `.md`). Otherwise a holder keeps its name when
        // the name still fits the message, or when the message did not change and the name is not
        // hidden (a hand-named `github-pr.md` stays); a changed message renames.
        let unchanged = holders
            .iter()
            .zip(&current)
            .find(|(_, now)| now.as_ref().is_some_and(|(old_text, _)| *old_text == text));
        let kept = unchanged
            .or_else(|| {
                holders
                    .iter()
                    .zip(&current)
                    .find(|(e, _)| e.path.file_name().is_some_and(|n| in_family(n, &stem)))
            })
            .or_else(|| {
                holders.iter().zip(&current).find(|(e, now)| {
                    let hidden = e.path.file_name().is_some_and(|n| n.as_bytes().starts_with(b"."));
                    !hidden && now.as_ref().is_some_and(|(_, old_body)| *old_body == body)
                })
            })
            .map(|(e, _)| e.path.clone());
        let target = match kept {
            Some(path) => path,
            None => self.free_name(&stem)?,
        };
        let written = if unchanged.is_some() {
            Written::Unchanged
        } else {
            let options =
                WriteOptions::new().durability(self.options.durability).skip_unchanged(true);
            store::write(&target, text.as_bytes(), &options)?
        };
        let mut removed = Vec::new();
        for holder in &holders {
            if holder.path != target {
                let _ = store::remove(&holder.path, self.options.durability)?;
                removed.push(holder.path.clone());
            }
        }
        if written == Written::Replaced || !removed.is_empty() {
            self.note_write(&target, text.as_bytes(), &removed);
        }
        Ok(Saved { path: target, written, removed })
    }

    /// The first of `<stem>.md`, `<stem>-2.md`, … that does not exist (a file of that family
    /// holding the id was already chosen by the caller).
    fn free_name(&self, stem: &str) -> Result<PathBuf> {
        for n in 1..=MAX_SUFFIX {
            let name = if n == 1 { format!("{stem}.md") } else { format!("{stem}-{n}.md") };
            let path = self.dir.join(&name);
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(path),
                Err(source) => return Err(Error::Io(IoError { step: Step::Stat, path, source })),
                Ok(_) => {}
            }
        }
        Err(Error::InvalidName {
            dir: self.dir.clone(),
            name: stem.to_owned(),
            reason: "every numbered variant of this file name is taken",
        })
    }

    /// Brings the cache up to date with a write of ours (made under the directory lock).
    fn note_write(&self, target: &Path, bytes: &[u8], removed: &[PathBuf]) {
        let mut cache = self.cache.lock();
        cache.last = None;
        for path in removed {
            if let Some(name) = path.file_name() {
                cache.files.remove(name);
            }
        }
        let Some(name) = target.file_name() else { return };
        let meta = fs::metadata(target);
        let parsed = parse_at::<T>(bytes, &self.options.limits, target);
        match (meta, parsed) {
            (Ok(meta), Ok(SpecFile { spec, extra })) => {
                let stamp = Stamp::of(&meta);
                let settled = stamp.is_settled(SystemTime::now());
                let entry = Arc::new(ListedSpec { path: target.to_path_buf(), spec, extra });
                cache
                    .files
                    .insert(name.to_owned(), Cached { stamp, settled, parsed: Parsed::Ok(entry) });
                cache.dir_stamp = dir_stamp(&self.dir);
            }
            _ => {
                cache.files.remove(name);
                cache.dir_stamp = None;
            }
        }
    }
}

fn with_encode_path(error: Error, dir: &Path) -> Error {
    match error {
        Error::Encode { reason, .. } => Error::Encode { path: dir.to_path_buf(), reason },
        other => other,
    }
}

/// Whether `name` is `<stem>.md` or `<stem>-N.md` with N ≥ 2.
fn in_family(name: &OsStr, stem: &str) -> bool {
    let Some(rest) = name.as_bytes().strip_suffix(b".md") else { return false };
    let Some(rest) = rest.strip_prefix(stem.as_bytes()) else { return false };
    if rest.is_empty() {
        return true;
    }
    let Some(digits) = rest.strip_prefix(b"-") else { return false };
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && digits[0] != b'0'
        && digits != b"1"
}
