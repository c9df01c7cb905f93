//! The `state/` write guard: whether a path an agent tool wants to write lies inside `state/`,
//! with `..` and symlinks resolved the way the kernel will resolve them at write time.

use crate::IoError;
use dotdir_engine::Step;
use std::{
    collections::VecDeque,
    ffi::OsString,
    fs,
    os::unix::{ffi::OsStrExt, fs::MetadataExt},
    path::{Component, Path, PathBuf},
};

use crate::ollim::{Result, paths::STATE_DIR_NAME};

/// Where a path lands once resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Landing {
    /// Inside `state/` (or `state/` itself, or a hard link to a file in it, or a case or
    /// invisible-character variant of the name `state`).
    State,
    /// Inside the data directory, outside `state/`.
    Data,
    /// Outside the data directory.
    Outside,
    /// Cannot be resolved safely (a symlink loop, a NUL byte, an empty path): treat as protected.
    Unresolvable,
}

/// The deny message of the reference for a write into `state/`.
pub fn blocked_message(tool: &str) -> String {
    format!("{tool} to state/ is blocked \u{2014} system files are write-protected")
}

/// The tools whose `file_path` input writes a file.
pub const WRITE_TOOLS: [&str; 4] = ["Write", "Edit", "MultiEdit", "NotebookEdit"];

/// The guard of one data directory.
///
/// Fixes the reference's gaps: a relative path resolves against the data directory (not the
/// process's working directory), a missing path is a denial (not a crash), `MultiEdit` and
/// `NotebookEdit` are covered, `STATE`/`St\u{200b}ate` variants are refused (a case-insensitive
/// or HFS+-style file system would map them to `state/`), and a hard link to a state file is
/// recognised by its inode.
#[derive(Debug, Clone)]
pub struct StateGuard {
    root: PathBuf,
    state: PathBuf,
}

const MAX_SYMLINKS: usize = 40;

impl StateGuard {
    /// The guard of the data directory `data_dir`, which must exist.
    pub fn new(data_dir: &Path) -> Result<Self> {
        let root = fs::canonicalize(data_dir).map_err(IoError::on(Step::Resolve, data_dir))?;
        let state = root.join(STATE_DIR_NAME);
        Ok(Self { root, state })
    }

    /// The resolved data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether a write to `path` must be refused: it lands in `state/`, or it cannot be resolved.
    pub fn is_protected(&self, path: &Path) -> bool {
        matches!(self.locate(path), Landing::State | Landing::Unresolvable)
    }

    /// Decides a tool call: `Ok(())` to let it through, `Err(message)` with the reference's deny
    /// message when it would write into `state/`. Tools that do not write files pass.
    pub fn check_tool(&self, tool: &str, file_path: Option<&str>) -> Result<(), String> {
        if !WRITE_TOOLS.contains(&tool) {
            return Ok(());
        }
        match file_path {
            None => Err(format!("{tool} without a file_path is blocked")),
            Some(path) if self.is_protected(Path::new(path)) => Err(blocked_message(tool)),
            Some(_) => Ok(()),
        }
    }

    /// Where `path` lands: relative paths are taken from the data directory; `..` and symlinks
    /// are resolved component by component (a missing tail is appended as it is, like Python's
    /// non-strict `resolve`).
    pub fn locate(&self, path: &Path) -> Landing {
        if path.as_os_str().is_empty() || path.as_os_str().as_bytes().contains(&0) {
            return Landing::Unresolvable;
        }
        let Some(resolved) = resolve(&self.root, path) else { return Landing::Unresolvable };
        let Ok(inside) = resolved.strip_prefix(&self.root) else { return Landing::Outside };
        let first = inside.components().next();
        if let Some(Component::Normal(name)) = first
            && folds_to_state(name.as_bytes())
        {
            return Landing::State;
        }
        if self.is_hard_link_into_state(&resolved) {
            return Landing::State;
        }
        Landing::Data
    }

    fn is_hard_link_into_state(&self, path: &Path) -> bool {
        let Ok(meta) = fs::symlink_metadata(path) else { return false };
        if !meta.is_file() || meta.nlink() < 2 {
            return false;
        }
        let mut pending = vec![(self.state.clone(), 0)];
        while let Some((dir, depth)) = pending.pop() {
            let Ok(entries) = fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let Ok(m) = entry.metadata() else { continue };
                if m.dev() == meta.dev() && m.ino() == meta.ino() {
                    return true;
                }
                if m.is_dir() && depth < 8 {
                    pending.push((entry.path(), depth + 1));
                }
            }
        }
        false
    }
}

/// `state` compared after ASCII case folding and without default-ignorable code points.
fn folds_to_state(name: &[u8]) -> bool {
    let Ok(name) = std::str::from_utf8(name) else { return false };
    let folded: String = name
        .chars()
        .filter(|c| !crate::ollim::names::is_default_ignorable(*c))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    folded == STATE_DIR_NAME
}

/// Resolves `path` (relative to `root` unless absolute) through symlinks; `None` on a loop.
fn resolve(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut pending: VecDeque<OsString> = VecDeque::new();
    let mut resolved = if path.is_absolute() { PathBuf::from("/") } else { root.to_path_buf() };
    push_front(&mut pending, path);
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        match part.as_bytes() {
            b"" | b"." => {}
            b"/" => resolved = PathBuf::from("/"),
            b".." => {
                resolved.pop();
            }
            _ => {
                let candidate = resolved.join(&part);
                match fs::symlink_metadata(&candidate) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        links += 1;
                        if links > MAX_SYMLINKS {
                            return None;
                        }
                        let target = fs::read_link(&candidate).ok()?;
                        // An absolute target starts with `/`, which resets the walk.
                        push_front(&mut pending, &target);
                    }
                    _ => resolved = candidate,
                }
            }
        }
    }
    Some(resolved)
}

/// Pushes the components of `path` at the front of `pending`, in order (`/` for the root).
fn push_front(pending: &mut VecDeque<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .map(|c| match c {
            Component::RootDir | Component::Prefix(_) => OsString::from("/"),
            Component::CurDir => OsString::from("."),
            Component::ParentDir => OsString::from(".."),
            Component::Normal(name) => name.to_owned(),
        })
        .collect();
    for part in parts.into_iter().rev() {
        pending.push_front(part);
    }
}
