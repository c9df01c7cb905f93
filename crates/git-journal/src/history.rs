//! History queries: the commits that touched a path, a file's content at a commit, and undo.

use std::path::Path;

use dotdir_atomic_store::{Mode, WriteOptions};
use git2::{ObjectType, Oid, Sort, Tree};

use crate::{CommitId, Error, Journal, Result, Step, journal::head_commit};

/// One commit of a path's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit.
    pub id: CommitId,
    /// The full message.
    pub message: String,
    /// The author's name.
    pub author_name: String,
    /// The author's email.
    pub author_email: String,
    /// When it was committed, in seconds since the Unix epoch.
    pub time: i64,
    /// The committer's UTC offset, in minutes.
    pub offset_minutes: i32,
}

impl Journal {
    /// The commits reachable from HEAD that changed `path` (a file or a directory), newest
    /// first, at most `limit` of them (`None`: all). A commit changed the path when its entry
    /// differs from the entry in every parent (git's default history simplification).
    ///
    /// The cost grows with the length of the history walked (one tree lookup per commit and
    /// path component).
    pub fn log_path(
        &self,
        path: impl AsRef<Path>,
        limit: Option<usize>,
    ) -> Result<Vec<CommitInfo>> {
        let rel = self.validate_for_reading(path.as_ref())?;
        let repo = self.repo().lock();
        let git = Error::libgit2;
        let git_dir = self.git_dir();
        let mut found = Vec::new();
        if head_commit(&repo, git_dir)?.is_none() {
            return Ok(found);
        }
        let mut walk = repo.revwalk().map_err(git(Step::ReadHistory, git_dir))?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
            .map_err(git(Step::ReadHistory, git_dir))?;
        walk.push_head().map_err(git(Step::ReadHistory, git_dir))?;
        for id in walk {
            if limit.is_some_and(|limit| found.len() >= limit) {
                break;
            }
            let id = id.map_err(git(Step::ReadHistory, git_dir))?;
            let commit = repo.find_commit(id).map_err(git(Step::ReadHistory, git_dir))?;
            let tree = commit.tree().map_err(git(Step::ReadHistory, git_dir))?;
            let entry = entry_id(&tree, &rel);
            let changed = if commit.parent_count() == 0 {
                entry.is_some()
            } else {
                commit.parents().all(|parent| {
                    let parent_entry = parent.tree().ok().and_then(|tree| entry_id(&tree, &rel));
                    parent_entry != entry
                })
            };
            if changed {
                let author = commit.author();
                found.push(CommitInfo {
                    id: CommitId(id),
                    message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
                    author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
                    author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
                    time: commit.time().seconds(),
                    offset_minutes: commit.time().offset_minutes(),
                });
            }
        }
        Ok(found)
    }

    /// The content of the file at `path` in `commit`; `None` when the path did not exist there.
    /// An excluded path is an [`Error::Excluded`] (its history is never read back either).
    pub fn read_at(&self, commit: &CommitId, path: impl AsRef<Path>) -> Result<Option<Vec<u8>>> {
        let rel = self.validate_for_reading(path.as_ref())?;
        let repo = self.repo().lock();
        Ok(blob_at(&repo, self.git_dir(), commit.0, &rel)?.map(|(bytes, _)| bytes))
    }

    /// Undo: puts the file at `path` back to its content in `commit` (through
    /// `dotdir-atomic-store`; an executable file gets mode `0o755`) and commits that as a new
    /// commit with `message`. When the path did not exist in `commit`, the file is deleted and
    /// the deletion committed. `Ok(None)` when the file already had that content.
    pub fn restore(
        &self,
        path: impl AsRef<Path>,
        commit: &CommitId,
        message: &str,
    ) -> Result<Option<CommitId>> {
        let rel = self.validate(path.as_ref())?;
        let target = self.dir().join(&rel);
        let git_dir = self.git_dir().to_path_buf();
        self.mutate(std::slice::from_ref(&rel), message, |repo| {
            match blob_at(repo, &git_dir, commit.0, &rel)? {
                Some((bytes, mode)) => {
                    let options = WriteOptions::new().durability(self.options.durability);
                    let options =
                        if mode == 0o100755 { options.mode(Mode::Exact(0o755)) } else { options };
                    let _ = dotdir_atomic_store::write(&target, &bytes, &options)?;
                }
                None => {
                    let _ = dotdir_atomic_store::remove(&target, self.options.durability)?;
                }
            }
            Ok(())
        })
    }

    fn validate_for_reading(&self, path: &Path) -> Result<String> {
        self.validate(path)
    }
}

fn entry_id(tree: &Tree<'_>, rel: &str) -> Option<Oid> {
    tree.get_path(Path::new(rel)).ok().map(|entry| entry.id())
}

/// The blob at `rel` in `commit` and its file mode.
fn blob_at(
    repo: &git2::Repository,
    git_dir: &Path,
    commit: Oid,
    rel: &str,
) -> Result<Option<(Vec<u8>, i32)>> {
    let commit = repo.find_commit(commit).map_err(Error::libgit2(Step::ReadHistory, git_dir))?;
    let tree = commit.tree().map_err(Error::libgit2(Step::ReadHistory, git_dir))?;
    let entry = match tree.get_path(Path::new(rel)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(Error::libgit2(Step::ReadHistory, rel)(e)),
    };
    if entry.kind() != Some(ObjectType::Blob) || entry.filemode() == 0o120000 {
        return Err(Error::InvalidPath {
            path: rel.into(),
            reason: "not a regular file in that commit (a directory, a link or a submodule)",
        });
    }
    let blob = repo.find_blob(entry.id()).map_err(Error::libgit2(Step::ReadHistory, rel))?;
    Ok(Some((blob.content().to_vec(), entry.filemode())))
}
