//! The paths inside the git directory that a commit writes through, checked for symbolic links
//! before each commit: libgit2 follows a symbolic link at a reflog (it appends through it), at a
//! loose ref, at the index (its lock file is made next to the link's target) and at a directory
//! of the object store, so one planted there would make a commit write outside the data
//! directory.

use crate::IoError;
use std::{
    fs, io,
    path::{Component, Path, PathBuf},
};

use git2::Repository;

use crate::{Error, Result, Step};

/// How many symbolic references are followed from HEAD (git's own limit is 5).
const MAX_SYMREF_DEPTH: usize = 5;

/// Refuses with [`Error::SymlinkInGitDir`] when a file or directory a commit writes through is a
/// symbolic link: `HEAD`, the ref HEAD points to (each symbolic ref on the way) and every
/// directory above it under `refs/`, their reflogs under `logs/` and those directories, the
/// index, and the object store (`objects/` and each directory in it). Paths that do not exist
/// yet are fine: libgit2 creates real files and directories there. Call it under the journal's
/// lock; a process that plants a link between this check and the commit (it can write to the
/// git directory, so it can do anything to it) is not defended against.
pub(crate) fn check_write_paths(repo: &Repository, git_dir: &Path) -> Result<()> {
    // HEAD first: it is read (through libgit2) to find the branch.
    refuse_symlinks(git_dir, &["HEAD", "index", "objects"].map(PathBuf::from))?;
    let mut paths = Vec::new();
    for name in updated_refs(repo) {
        paths.push(Path::new("logs").join(&name));
        paths.push(PathBuf::from(name));
    }
    refuse_symlinks(git_dir, &paths)?;
    let objects = git_dir.join("objects");
    let entries = match fs::read_dir(&objects) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(IoError::on(Step::List, &objects)(e).into()),
    };
    for entry in entries {
        let entry = entry.map_err(IoError::on(Step::List, &objects))?;
        let kind = entry.file_type().map_err(IoError::on(Step::Inspect, entry.path()))?;
        if kind.is_symlink() {
            return Err(Error::SymlinkInGitDir { path: entry.path() });
        }
    }
    Ok(())
}

/// The refs a commit on HEAD writes, relative to the git directory: HEAD, then each ref of the
/// symbolic chain it starts (`refs/heads/main`). Names that are not plain relative paths are
/// left out (libgit2 refuses them itself).
fn updated_refs(repo: &Repository) -> Vec<String> {
    let mut names = vec!["HEAD".to_owned()];
    let mut current = "HEAD".to_owned();
    for _ in 0..MAX_SYMREF_DEPTH {
        let Ok(reference) = repo.find_reference(&current) else { break };
        let Ok(Some(target)) = reference.symbolic_target() else { break };
        let plain = Path::new(target).components().all(|c| matches!(c, Component::Normal(_)));
        if !plain || names.iter().any(|n| n == target) {
            break;
        }
        names.push(target.to_owned());
        current = target.to_owned();
    }
    names
}

/// Checks each path (relative to `git_dir`) and every directory above it inside `git_dir`.
fn refuse_symlinks(git_dir: &Path, paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        let mut current = git_dir.to_path_buf();
        for component in path.components() {
            current.push(component);
            match fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::SymlinkInGitDir { path: current });
                }
                Ok(_) => {}
                // Missing (libgit2 creates it), or under something that is not a directory.
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || e.kind() == io::ErrorKind::NotADirectory =>
                {
                    break;
                }
                Err(e) => return Err(IoError::on(Step::Inspect, &current)(e).into()),
            }
        }
    }
    Ok(())
}

/// Refuses a FIFO, socket or device where git reads a file while judging what it ignores or
/// what changed: libgit2 opens them with a blocking `open(2)`, so one FIFO would hang every
/// later call. Looks at the top `.gitignore`, `.git/info/exclude`, `.git/HEAD`, `.git/config`
/// and `.git/index`, and with `nested` at every `.gitignore` below the top (one `readdir` per
/// directory, no `stat` but for entries named `.gitignore`; nested repositories are skipped).
pub(crate) fn refuse_special_files(dir: &Path, git_dir: &Path, nested: bool) -> Result<()> {
    let mut paths = vec![dir.join(".gitignore")];
    paths.extend(["info/exclude", "HEAD", "config", "index"].map(|p| git_dir.join(p)));
    for path in &paths {
        refuse_special(path)?;
    }
    if nested {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            let Ok(entries) = fs::read_dir(&current) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() && name != ".git" {
                    stack.push(entry.path());
                } else if name == ".gitignore" && current != dir {
                    refuse_special(&entry.path())?;
                }
            }
        }
    }
    Ok(())
}

fn refuse_special(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let kind = meta.file_type();
            if kind.is_fifo() || kind.is_socket() || kind.is_block_device() || kind.is_char_device()
            {
                return Err(Error::InvalidPath {
                    path: path.to_path_buf(),
                    reason: "a FIFO, socket or device where git reads a file: git would block on it; remove it",
                });
            }
            Ok(())
        }
        Err(_) => Ok(()),
    }
}
