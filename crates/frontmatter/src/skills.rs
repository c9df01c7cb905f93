//! `SkillDir<T>`: `skills/<name>/SKILL.md`, one directory per skill, names confined to the
//! directory.

use crate::IoError;
use dotdir_atomic_store::Step;
use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::Arc,
};

use dotdir_atomic_store::{self as store, WriteOptions};

use crate::{
    dir::{DirOptions, ListedSpec, Listing, Saved, check_name},
    error::{Error, Result, SpecProblem},
    spec::{Extra, Spec, SpecFile, parse_at, render_parts},
};

/// The file name of a skill inside its directory.
pub const SKILL_FILE: &str = "SKILL.md";

/// The skills directory: `<dir>/<name>/SKILL.md`, where the skill's name is its
/// [`Spec::id`].
///
/// A name that could leave the directory or hide (empty, `.`, `..`, hidden, with `/`, `\`, NUL
/// or control characters) is refused with [`Error::InvalidName`], and so is a skill directory
/// that is a symlink (the reference's `read_skill` refuses those too, while its `list_skills`
/// listed them).
#[derive(Debug, Clone)]
pub struct SkillDir<T> {
    dir: PathBuf,
    options: DirOptions,
    _spec: std::marker::PhantomData<fn() -> T>,
}

impl<T: Spec> SkillDir<T> {
    /// The skills directory at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_options(dir, DirOptions::default())
    }

    /// The skills directory at `dir` with explicit options.
    pub fn with_options(dir: impl Into<PathBuf>, options: DirOptions) -> Self {
        Self { dir: dir.into(), options, _spec: std::marker::PhantomData }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<name>/SKILL.md`, after checking that `name` stays inside the directory.
    pub fn skill_path(&self, name: &str) -> Result<PathBuf> {
        check_name(&self.dir, name)?;
        let skill_dir = self.dir.join(name);
        match fs::symlink_metadata(&skill_dir) {
            Ok(meta) if meta.file_type().is_symlink() => Err(Error::InvalidName {
                dir: self.dir.clone(),
                name: name.to_owned(),
                reason: "the skill directory is a symlink",
            }),
            _ => Ok(skill_dir.join(SKILL_FILE)),
        }
    }

    /// The skill `name`; `Ok(None)` when it does not exist.
    pub fn get(&self, name: &str) -> Result<Option<SpecFile<T>>> {
        let path = self.skill_path(name)?;
        let limit = self.options.limits.max_file_bytes as u64;
        match store::read(&path, limit)? {
            Some(bytes) => parse_at(&bytes, &self.options.limits, &path).map(Some),
            None => Ok(None),
        }
    }

    /// Every skill, in directory-name order. Entries that are not directories are ignored;
    /// symlinked, unreadable and corrupt skills are reported and skipped; a skill whose `name`
    /// differs from its directory is listed and reported.
    pub fn list(&self) -> Result<Listing<T>> {
        let mut listing = Listing { entries: Vec::new(), problems: Vec::new() };
        let read = match fs::read_dir(&self.dir) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(listing),
            Err(source) => {
                return Err(Error::Io(IoError {
                    step: Step::ListDir,
                    path: self.dir.clone(),
                    source,
                }));
            }
        };
        let mut names: Vec<_> = read.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let skill_dir = self.dir.join(&name);
            let Ok(meta) = fs::symlink_metadata(&skill_dir) else { continue };
            let path = skill_dir.join(SKILL_FILE);
            let Some(name) = name.to_str().filter(|n| check_name(&self.dir, n).is_ok()) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                let error = Error::InvalidName {
                    dir: self.dir.clone(),
                    name: name.to_owned(),
                    reason: "the skill directory is a symlink",
                };
                listing.problems.push(SpecProblem::Unreadable { path: skill_dir, error });
                continue;
            }
            if !meta.is_dir() {
                continue;
            }
            let limit = self.options.limits.max_file_bytes as u64;
            let bytes = match store::read(&path, limit) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    let source = io::ErrorKind::NotFound.into();
                    let error = Error::Io(IoError { step: Step::Read, path: path.clone(), source });
                    listing.problems.push(SpecProblem::Unreadable { path, error });
                    continue;
                }
                Err(error) => {
                    listing.problems.push(SpecProblem::Unreadable { path, error: error.into() });
                    continue;
                }
            };
            match parse_at::<T>(&bytes, &self.options.limits, &path) {
                Ok(SpecFile { spec, extra }) => {
                    if spec.id() != name {
                        listing.problems.push(SpecProblem::NameMismatch {
                            path: path.clone(),
                            name: spec.id().to_owned(),
                        });
                    }
                    listing.entries.push(Arc::new(ListedSpec { path, spec, extra }));
                }
                Err(Error::Parse(error)) => listing.problems.push(SpecProblem::Corrupt(error)),
                Err(error) => return Err(error),
            }
        }
        Ok(listing)
    }

    /// Writes the skill into `<dir>/<id>/SKILL.md`, keeping the unknown keys of the file there.
    pub fn write(&self, spec: &T) -> Result<Saved> {
        let path = self.skill_path(spec.id())?;
        let extra = match self.get(spec.id()) {
            Ok(Some(existing)) => existing.extra,
            _ => Extra::new(),
        };
        self.save(spec, &extra, path)
    }

    /// Writes the skill with explicit unknown keys.
    pub fn write_file(&self, file: &SpecFile<T>) -> Result<Saved> {
        let path = self.skill_path(file.spec.id())?;
        self.save(&file.spec, &file.extra, path)
    }

    fn save(&self, spec: &T, extra: &Extra, path: PathBuf) -> Result<Saved> {
        let (text, _) = render_parts(spec, extra)?;
        let options = WriteOptions::new().durability(self.options.durability).skip_unchanged(true);
        let written = store::write(&path, text.as_bytes(), &options)?;
        Ok(Saved { path, written, removed: Vec::new() })
    }

    /// Removes `<dir>/<name>/SKILL.md`, and the skill directory if nothing else is left in it.
    /// Returns whether the skill existed.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let path = self.skill_path(name)?;
        if !store::remove(&path, self.options.durability)? {
            return Ok(false);
        }
        // Only an empty directory goes; a skill's other files are the user's.
        let _ = fs::remove_dir(self.dir.join(name));
        Ok(true)
    }
}
