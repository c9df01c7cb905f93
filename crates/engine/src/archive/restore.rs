//! Restoring an archive into a new or empty directory: staged beside it, verified, then moved into place.

use crate::IoError;
use crate::Step;
use std::{
    collections::BTreeMap,
    fs::{self, File, OpenOptions},
    io::{self, BufWriter, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    time::{Duration, UNIX_EPOCH},
};

use super::{
    archive_error, io_error,
    manifest::{Hashing, Manifest},
    read::{Item, check_members, compare, read_archive, verify_with_progress},
    restored_mode,
};

use crate::{Error, Layout, backup::SkipReason, check};

/// What [`restore`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Restored {
    /// Files restored, each checked against its digest.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// Where the directory that was there before went (with `force`).
    pub moved_aside: Option<PathBuf>,
    /// The secrets that were never archived: to re-create (log in again, OAuth, …).
    pub secrets: Vec<String>,
    /// The directory written: the target, or the directory it links to (the link stays).
    pub dir: PathBuf,
    /// What killed writers had left beside it (staging directories of killed restores, temporary
    /// files no live writer holds), removed under the restore's lock.
    pub swept: Vec<crate::leftover::Leftover>,
}

/// Restores `archive` into `dir`, read with `layout`: verifies it, extracts it into a staging
/// directory beside `dir` (every digest checked again), then moves it into place.
///
/// `dir` must not exist or be empty; a non-empty `dir` is moved aside first (to
/// `<dir>.before-restore-<n>`, nothing deleted) only with `force`, and never while the
/// application that owns it runs (its pid record held). Safe to repeat after a crash: the
/// staging directory is rebuilt, and `dir` is either what it was or the complete restore.
pub fn restore(
    archive: &Path,
    dir: &Path,
    layout: &Layout,
    options: &check::Options,
    force: bool,
) -> Result<Restored, Error> {
    restore_with_progress(archive, dir, layout, options, force, &mut |_| {})
}

/// [`restore`], telling `progress` the bytes as they are verified and then extracted (each
/// file's size counts twice).
pub fn restore_with_progress(
    archive: &Path,
    dir: &Path,
    layout: &Layout,
    options: &check::Options,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored, Error> {
    let manifest = verify_with_progress(archive, &mut *progress)?;
    if manifest.layout != layout.name {
        return Err(archive_error(
            archive,
            format!("is a backup of the {} layout, not {}", manifest.layout, layout.name),
        ));
    }
    check_members(archive, &manifest, layout)?;
    let dir = resolve_target(&std::path::absolute(dir).map_err(io_error(Step::Resolve, dir))?)?;
    let (parent, name) = match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) => (parent.to_path_buf(), name.to_owned()),
        _ => return Err(archive_error(&dir, "cannot restore into a filesystem root")),
    };
    let occupied = match fs::read_dir(&dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(Error::Io(IoError { step: Step::Open, path: dir.clone(), source }));
        }
    };
    if occupied {
        if let Some(running) = check::running_in(&dir, layout, options)? {
            let what = match running.is_seen() {
                true => "stop it first, then restore",
                false => "if it is stopped, say so (--assume-stopped) and restore again",
            };
            return Err(archive_error(&dir, format!("{running}: {what}; nothing was moved")));
        }
        if !force {
            return Err(archive_error(
                &dir,
                "is not empty: restore into a new directory, or pass --force to move it aside first",
            ));
        }
    }
    store_dirs(&parent, 0o777)?;
    let staging = parent.join(crate::leftover::staging_name(&name));
    // One restore at a time into this parent directory (its own `flock`: no lock file is left
    // beside the user's directories). Under it, every staging directory here is a killed
    // restore's, and every temporary file no live writer holds is a killed writer's: removed,
    // and named in `Restored::swept`.
    let parent_lock = File::open(&parent).map_err(io_error(Step::Open, &parent))?;
    parent_lock.lock().map_err(io_error(Step::Lock, &parent))?;
    let swept = crate::leftover::sweep_locked(&parent)?;
    // From here on, every error removes the staging directory (and puts back what was moved).
    let empty_mode = (!occupied)
        .then(|| fs::symlink_metadata(&dir).ok())
        .flatten()
        .map(|m| m.permissions().mode() & 0o7777);
    let mut moved_aside = None;
    let placed = (|| {
        store_dirs(&staging, 0o700)?;
        let (files, bytes, mut dir_modes) =
            extract(archive, &manifest, &staging, layout, progress)?;
        // Directory modes last (deepest first), so a read-only directory did not block its
        // files.
        dir_modes.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
        for (relative, mode) in dir_modes {
            let path = staging.join(&relative);
            let declared = layout.entry_for_path(&relative).and_then(crate::Entry::write_mode);
            fail_point(Step::SetMode).map_err(io_error(Step::SetMode, &path))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(restored_mode(mode, declared)))
                .map_err(io_error(Step::SetMode, &path))?;
        }
        let mode = fs::metadata(&dir).ok().map_or(0o700, |m| m.permissions().mode() & 0o777);
        fail_point(Step::SetMode).map_err(io_error(Step::SetMode, &staging))?;
        fs::set_permissions(&staging, fs::Permissions::from_mode(restored_mode(mode, None)))
            .map_err(io_error(Step::SetMode, &staging))?;
        fail_point(Step::Sync).map_err(io_error(Step::Sync, &staging))?;
        sync_dir(&staging)?;
        if occupied {
            let aside = (1..)
                .map(|n| {
                    let mut aside = name.clone();
                    aside.push(format!(".before-restore-{n}"));
                    parent.join(aside)
                })
                .find(|p| fs::symlink_metadata(p).is_err())
                .unwrap_or_else(|| parent.join("before-restore"));
            fail_point(Step::MoveAside).map_err(io_error(Step::MoveAside, &dir))?;
            fs::rename(&dir, &aside).map_err(io_error(Step::MoveAside, &dir))?;
            moved_aside = Some(aside);
        } else if fs::symlink_metadata(&dir).is_ok() {
            fail_point(Step::ReplaceEmptyDir).map_err(io_error(Step::ReplaceEmptyDir, &dir))?;
            fs::remove_dir(&dir).map_err(io_error(Step::ReplaceEmptyDir, &dir))?;
        }
        fail_point(Step::MoveIntoPlace).map_err(io_error(Step::MoveIntoPlace, &dir))?;
        fs::rename(&staging, &dir).map_err(io_error(Step::MoveIntoPlace, &dir))?;
        Ok((files, bytes))
    })();
    let (files, bytes) = match placed {
        Ok(done) => done,
        Err(error) => {
            // Put back what was there: the directory moved aside, or the empty one removed.
            if let Some(aside) = &moved_aside {
                let _ = fs::rename(aside, &dir);
            } else if let Some(mode) = empty_mode
                && fs::symlink_metadata(&dir).is_err()
            {
                let _ = std::os::unix::fs::DirBuilderExt::mode(&mut fs::DirBuilder::new(), mode)
                    .create(&dir);
            }
            let _ = fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    sync_dir(&parent)?;
    drop(parent_lock);
    let secrets = manifest
        .left_out
        .iter()
        .filter(|l| l.reason == SkipReason::Secret.label())
        .map(|l| l.path.clone())
        .collect();
    Ok(Restored { files, bytes, moved_aside, secrets, dir, swept })
}

/// The directory a restore into `dir` writes: `dir` itself, or, when `dir` is a symlink, the
/// directory it points to (the staging is built beside that directory and renamed into its
/// place; the link stays). A link to nothing, or to something not a directory, is refused
/// before anything is extracted.
fn resolve_target(dir: &Path) -> Result<PathBuf, Error> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = fs::canonicalize(dir).map_err(|e| {
                archive_error(
                    dir,
                    format!(
                        "is a symlink to a directory that does not exist ({e}): create the directory it points to, or restore into another path"
                    ),
                )
            })?;
            if !fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
                return Err(archive_error(
                    dir,
                    format!(
                        "is a symlink to {}, which is not a directory: refused",
                        target.display()
                    ),
                ));
            }
            Ok(target)
        }
        _ => Ok(dir.to_path_buf()),
    }
}

#[cfg(test)]
thread_local! {
    /// The step of a restore that fails (tests of the staging's removal on every error).
    static FAIL_AT: std::cell::Cell<Option<Step>> = const { std::cell::Cell::new(None) };
}

/// Fails at `step` when a test asked for it; nothing otherwise.
#[cfg(test)]
fn fail_point(step: Step) -> io::Result<()> {
    if FAIL_AT.with(|f| f.get()) == Some(step) {
        return Err(io::Error::other(format!("injected failure at {step}")));
    }
    Ok(())
}

#[cfg(not(test))]
#[inline(always)]
fn fail_point(_step: Step) -> io::Result<()> {
    Ok(())
}

type Extracted = (usize, u64, Vec<(PathBuf, u32)>);

/// Creates `dir` and its missing ancestors durably (restored modes are applied at the end).
fn store_dirs(dir: &Path, mode: u32) -> Result<(), Error> {
    dotdir_atomic_store::create_dirs(dir, mode, dotdir_atomic_store::Durability::Full)
        .map_err(|source| Error::Store { path: dir.to_path_buf(), source })
}

fn extract(
    archive: &Path,
    manifest: &Manifest,
    staging: &Path,
    layout: &Layout,
    progress: &mut dyn FnMut(u64),
) -> Result<Extracted, Error> {
    let mut found = BTreeMap::new();
    let mut dirs = Vec::new();
    let mut bytes = 0;
    let again = read_archive(archive, |item, content| {
        match item {
            Item::Dir { name, mode } => {
                let path = staging.join(name);
                store_dirs(&path, 0o700)?;
                dirs.push((name.clone(), *mode));
            }
            Item::File { name, mode, mtime } => {
                let path = staging.join(name);
                if let Some(parent) = path.parent() {
                    store_dirs(parent, 0o700)?;
                }
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(&path)
                    .map_err(io_error(Step::Create, &path))?;
                let mut hashing = Hashing::new(content, &mut *progress);
                let mut writer = BufWriter::new(&file);
                let size =
                    io::copy(&mut hashing, &mut writer).map_err(io_error(Step::Write, &path))?;
                writer.flush().map_err(io_error(Step::Write, &path))?;
                drop(writer);
                let declared = layout.entry_for_path(name).and_then(crate::Entry::write_mode);
                file.set_permissions(fs::Permissions::from_mode(restored_mode(*mode, declared)))
                    .map_err(io_error(Step::SetMode, &path))?;
                let _ = file.set_modified(UNIX_EPOCH + Duration::from_secs(*mtime));
                file.sync_all().map_err(io_error(Step::Sync, &path))?;
                bytes += size;
                found.insert(name.clone(), (size, *mode, hashing.finish()));
            }
            Item::Manifest => {}
        }
        Ok(())
    })?;
    if again != *manifest {
        return Err(archive_error(archive, "changed between its verification and its restore"));
    }
    compare(archive, manifest, &found)?;
    for (name, _) in &dirs {
        sync_dir(&staging.join(name))?;
    }
    Ok((found.len(), bytes, dirs))
}

/// [`dotdir_atomic_store::sync_dir`], as this module's error.
fn sync_dir(dir: &Path) -> Result<(), Error> {
    dotdir_atomic_store::sync_dir(dir, dir)
        .map_err(|source| Error::Store { path: dir.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::archive::write;
    use crate::{Entry, Format};

    const APP: Layout = Layout::new(
        "app",
        "an app",
        &[Entry::dir("notes", "notes"), Entry::file("notes/*.md", Format::Text, "a note")],
    );

    fn archive_of(root: &Path) -> PathBuf {
        let dir = root.join("data");
        fs::create_dir_all(dir.join("notes")).unwrap();
        fs::write(dir.join("notes/a.md"), "hello").unwrap();
        let out = root.join("app.tar.gz");
        let _ =
            write(&crate::backup::select(&dir, &APP).unwrap(), &out, false, &mut |_| {}).unwrap();
        out
    }

    fn names(dir: &Path) -> BTreeSet<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Every step after the staging directory exists fails in turn: the error comes back, the
    /// staging directory is gone, and the target is as it was (moved-aside content put back).
    #[test]
    fn every_error_after_staging_removes_it_and_keeps_the_target() {
        let steps = [
            Step::SetMode,
            Step::Sync,
            Step::MoveAside,
            Step::ReplaceEmptyDir,
            Step::MoveIntoPlace,
        ];
        let mut failed = 0;
        for step in steps {
            for occupied in [false, true] {
                let tmp = tempfile::tempdir().unwrap();
                let out = archive_of(tmp.path());
                let target = tmp.path().join("copy");
                fs::create_dir(&target).unwrap();
                if occupied {
                    fs::write(target.join("mine"), "kept").unwrap();
                }
                let before = names(tmp.path());
                FAIL_AT.with(|f| f.set(Some(step)));
                let result = restore(&out, &target, &APP, &check::Options::default(), true);
                FAIL_AT.with(|f| f.set(None));
                let reached = !matches!(
                    (step, occupied),
                    (Step::MoveAside, false) | (Step::ReplaceEmptyDir, true)
                );
                if !reached {
                    assert!(result.is_ok(), "{step}: not on this path, the restore succeeds");
                    continue;
                }
                failed += 1;
                let error = crate::error_chain(&result.expect_err(&step.to_string()));
                assert!(error.contains("injected failure"), "{step}: {error}");
                assert_eq!(names(tmp.path()), before, "{step} (occupied: {occupied})");
                assert!(!tmp.path().join(".copy.dotdir-restore").exists(), "{step}");
                let inside = names(&target);
                let expected: BTreeSet<String> =
                    if occupied { ["mine".to_owned()].into() } else { BTreeSet::new() };
                assert_eq!(inside, expected, "{step}: the target is as it was");
            }
        }
        assert_eq!(failed, 8);
    }

    #[test]
    fn a_restore_into_a_symlink_writes_the_directory_it_points_to() {
        let tmp = tempfile::tempdir().unwrap();
        let out = archive_of(tmp.path());
        let real = tmp.path().join("disk/real");
        fs::create_dir_all(&real).unwrap();
        let link = tmp.path().join("home/.app");
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let restored = restore(&out, &link, &APP, &check::Options::default(), false).unwrap();
        assert_eq!(restored.dir, fs::canonicalize(&real).unwrap());
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(link.join("notes/a.md")).unwrap(), b"hello");
        assert_eq!(names(tmp.path().join("disk").as_path()), ["real".to_owned()].into());
        assert_eq!(names(tmp.path().join("home").as_path()), [".app".to_owned()].into());

        let dangling = tmp.path().join("home/.gone");
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), &dangling).unwrap();
        let error = restore(&out, &dangling, &APP, &check::Options::default(), false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not exist"), "{error}");
        assert_eq!(
            names(tmp.path().join("home").as_path()),
            [".app".to_owned(), ".gone".to_owned()].into()
        );
    }
}
