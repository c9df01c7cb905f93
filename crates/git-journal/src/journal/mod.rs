//! The journal: the [`Journal`] value, its paths and their validation, and the reads that need
//! no commit. Each verb is a module: `open` (opening or initialising the repository in exactly
//! the data directory, and `.gitignore`), `commit` (staging, committing, untracking, the
//! mutation every commit takes).

mod commit;
mod open;

use std::{
    fmt, fs,
    path::{Component, Path, PathBuf},
};

use git2::{ErrorCode, Repository};
use parking_lot::Mutex;

pub(crate) use self::commit::Staging;
use crate::{Error, Exclusions, JournalOptions, Result, Step, gitdir, push::AutoPush};

/// The id of a commit (a SHA-1 object id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(pub(crate) git2::Oid);

impl CommitId {
    /// Parses a full 40-digit hexadecimal id.
    pub fn from_hex(hex: &str) -> Option<CommitId> {
        (hex.len() == 40).then(|| git2::Oid::from_str(hex).ok().map(CommitId)).flatten()
    }

    /// The 20 bytes of the id.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitId({})", self.0)
    }
}

/// An auto-committing journal over one directory's git repository.
///
/// Every mutating call holds an in-process mutex and the journal's cross-process `flock`, so
/// threads and processes that share the directory commit one after another, each on top of the
/// last: the history stays linear. See the crate documentation for crash recovery.
pub struct Journal {
    dir: PathBuf,
    /// The directory as the caller named it (made absolute), for absolute paths built from it.
    given_dir: PathBuf,
    git_dir: PathBuf,
    pub(crate) options: JournalOptions,
    repo: Mutex<Repository>,
    auto_push: AutoPush,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("dir", &self.dir)
            .field("git_dir", &self.git_dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A validated path relative to the journal's directory, `/`-separated.
pub(crate) type RelPath = String;

/// Whether a path may be excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Excluded {
    /// An excluded path is an error (every call that stages).
    Refused,
    /// An excluded path is fine (untracking only removes).
    Allowed,
}

impl Journal {
    /// The directory (the top of the work tree), with symbolic links resolved.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The git directory (`<dir>/.git`).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    pub(crate) fn repo(&self) -> &Mutex<Repository> {
        &self.repo
    }

    /// The exclusion list in force.
    pub fn exclusions(&self) -> &Exclusions {
        &self.options.exclusions
    }

    /// The commit HEAD points to; `None` before the first commit.
    pub fn head(&self) -> Result<Option<CommitId>> {
        let repo = self.repo.lock();
        Ok(head_commit(&repo, &self.git_dir)?.map(|commit| CommitId(commit.id())))
    }

    /// Excluded and undeclared paths that git tracks anyway (in HEAD's tree or in the index),
    /// for example a secret a person force-added with `git add -f`, or a file a `git add -A`
    /// picked up. The journal never stages them, but their earlier content is in the history:
    /// a caller should report them. Scans the whole tree.
    pub fn audit(&self) -> Result<Vec<PathBuf>> {
        let repo = self.repo.lock();
        let mut found = std::collections::BTreeSet::new();
        if let Some(commit) = head_commit(&repo, &self.git_dir)? {
            let tree = commit.tree().map_err(Error::libgit2(Step::ReadHistory, &self.git_dir))?;
            tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
                if let Ok(name) = entry.name() {
                    let path = format!("{root}{name}");
                    let is_tree = entry.kind() == Some(git2::ObjectType::Tree);
                    if self.options.exclusions.matching(&path).is_some()
                        || (!is_tree && !self.options.exclusions.is_declared(&path))
                    {
                        found.insert(PathBuf::from(path));
                        return git2::TreeWalkResult::Skip;
                    }
                }
                git2::TreeWalkResult::Ok
            })
            .map_err(Error::libgit2(Step::ReadHistory, &self.git_dir))?;
        }
        let mut index = repo.index().map_err(Error::libgit2(Step::ReadIndex, &self.git_dir))?;
        index.read(false).map_err(Error::libgit2(Step::ReadIndex, &self.git_dir))?;
        for entry in index.iter() {
            let path = String::from_utf8_lossy(&entry.path).into_owned();
            if !self.options.exclusions.allows(&path) {
                found.insert(PathBuf::from(path));
            }
        }
        Ok(found.into_iter().collect())
    }

    /// Whether git itself ignores `rel` (a `/`-separated path inside the directory), judged by
    /// its whole ignore stack as `git check-ignore` does: `.gitignore` files at every level
    /// with their negations, `.git/info/exclude` and `core.excludesFile`. What the journal
    /// refuses is refused in code whatever this says; this tells whether the `git` command
    /// line (`git add -A`, the real application) would pick the path up.
    pub fn is_ignored(&self, rel: &str) -> Result<bool> {
        gitdir::refuse_special_files(&self.dir, &self.git_dir, false)?;
        let repo = self.repo.lock();
        repo.is_path_ignored(rel).map_err(Error::libgit2(Step::Status, &self.git_dir))
    }

    /// Checks a path and turns it into a `/`-separated path relative to the directory. An
    /// excluded path is [`Error::Excluded`].
    pub(crate) fn validate(&self, path: &Path) -> Result<RelPath> {
        self.validate_path(path, Excluded::Refused)
    }

    fn validate_path(&self, path: &Path, excluded: Excluded) -> Result<RelPath> {
        let invalid = |reason| Error::InvalidPath { path: path.to_path_buf(), reason };
        let relative = if path.is_absolute() {
            path.strip_prefix(&self.dir)
                .or_else(|_| path.strip_prefix(&self.given_dir))
                .map_err(|_| invalid("outside the journal's directory"))?
        } else {
            path
        };
        let mut components = Vec::new();
        for component in relative.components() {
            match component {
                Component::Normal(name) => {
                    let name = name.to_str().ok_or_else(|| invalid("not UTF-8"))?;
                    if name.eq_ignore_ascii_case(".git") {
                        return Err(invalid("inside a git directory"));
                    }
                    if name.contains(['\n', '\r', '\\']) {
                        return Err(invalid("contains a line break or a backslash"));
                    }
                    components.push(name);
                }
                Component::CurDir => {}
                _ => return Err(invalid("has a `..` or root component")),
            }
        }
        if components.is_empty() {
            return Err(invalid("names the directory itself"));
        }
        let rel = components.join("/");
        if excluded == Excluded::Refused {
            if let Some(pattern) = self.options.exclusions.matching(&rel) {
                let pattern = pattern.to_owned();
                return Err(Error::Excluded { path: PathBuf::from(rel), pattern });
            }
            // A directory is walked file by file (each one judged then); anything else must
            // be declared.
            let is_dir = fs::symlink_metadata(self.dir.join(&rel)).is_ok_and(|m| m.is_dir());
            if !is_dir && !self.options.exclusions.is_declared(&rel) {
                return Err(Error::Undeclared { path: PathBuf::from(rel) });
            }
        }
        // A path through a symbolic link would make git read outside the directory.
        let mut prefix = self.dir.clone();
        for (depth, name) in components.iter().enumerate().take(components.len() - 1) {
            prefix.push(name);
            match fs::symlink_metadata(&prefix) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::BeyondSymlink {
                        path: PathBuf::from(&rel),
                        link: PathBuf::from(components[..=depth].join("/")),
                    });
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(rel)
    }

    fn validate_all<P: AsRef<Path>>(&self, paths: &[P]) -> Result<Vec<RelPath>> {
        let mut rels = Vec::with_capacity(paths.len());
        for path in paths {
            let rel = self.validate(path.as_ref())?;
            if !rels.contains(&rel) {
                rels.push(rel);
            }
        }
        Ok(rels)
    }
}

/// The commit HEAD points to, `None` on an unborn branch.
pub(crate) fn head_commit<'r>(
    repo: &'r Repository,
    git_dir: &Path,
) -> Result<Option<git2::Commit<'r>>> {
    match repo.head() {
        Ok(head) => {
            head.peel_to_commit().map(Some).map_err(Error::libgit2(Step::ReadHistory, git_dir))
        }
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(Error::libgit2(Step::ReadHistory, git_dir)(e)),
    }
}
