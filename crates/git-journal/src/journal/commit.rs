//! Committing: staging paths (added, modified, deleted, untracked), building the tree from
//! HEAD's, committing with retries, under the journal's lock and intent record.

use crate::IoError;
use std::{
    fs, io,
    path::{Path, PathBuf},
    thread,
    time::Instant,
};

use dotdir_atomic_store::WriteOptions;
use git2::{ErrorCode, Repository, Signature};

use super::{Excluded, Journal, RelPath, head_commit};
use crate::{
    CommitId, Error, Identity, Result, Step, gitdir,
    recovery::intent::{self, Phase},
    tree::{Edit, apply_edits},
};

/// How the paths of a mutation are staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Staging {
    /// As they are in the working tree: added, modified or deleted.
    WorkTree,
    /// Removed from the index and the tree whatever the working tree holds (`git rm --cached`).
    Untrack,
}

impl Staging {
    /// The paths the intent record names. Recovery commits a dead writer's paths as they are
    /// in the working tree, which would re-add an untracked file: an untrack records none.
    fn intent(self, rels: &[RelPath]) -> &[RelPath] {
        match self {
            Staging::WorkTree => rels,
            Staging::Untrack => &[],
        }
    }
}

/// What a path is in the working tree, decided under the lock.
enum Change {
    /// A file or symbolic link to stage.
    Upsert(RelPath),
    /// Gone from the working tree: remove it (and anything under it) from the tree.
    Delete(RelPath),
}

impl Journal {
    /// Commits the current state of one path: a file added or modified, a file or directory
    /// deleted, or every file under a directory (excluded files under it are skipped).
    ///
    /// `Ok(None)` when HEAD already has exactly that content: no empty commit is made. An
    /// excluded path is an [`Error::Excluded`] and nothing is staged.
    pub fn commit_path(&self, path: impl AsRef<Path>, message: &str) -> Result<Option<CommitId>> {
        self.commit_paths(&[path.as_ref()], message)
    }

    /// Commits the current state of several paths in one commit (see [`Journal::commit_path`]).
    /// If any path is excluded or invalid, nothing is committed.
    ///
    /// The cost depends on the paths and the directories that hold them, not on the number of
    /// other files or the length of the history: each named file is hashed, the trees on its
    /// path are rewritten, and the index is read (when another process changed it) and written.
    pub fn commit_paths<P: AsRef<Path>>(
        &self,
        paths: &[P],
        message: &str,
    ) -> Result<Option<CommitId>> {
        let rels = self.validate_all(paths)?;
        self.mutate(&rels, message, |_| Ok(()))
    }

    /// Atomically writes `bytes` to `path` (through `dotdir-atomic-store` with `options`) and
    /// commits it, both under the journal's lock, so concurrent writers of one file each get
    /// their own commit. An excluded path is refused before anything is written.
    pub fn write(
        &self,
        path: impl AsRef<Path>,
        bytes: &[u8],
        options: &WriteOptions,
        message: &str,
    ) -> Result<Option<CommitId>> {
        let rel = self.validate(path.as_ref())?;
        let target = self.dir.join(&rel);
        self.mutate(std::slice::from_ref(&rel), message, |_| {
            let _ = dotdir_atomic_store::write(&target, bytes, options)?;
            Ok(())
        })
    }

    /// Deletes the file at `path` (when present; a symlink is removed, never followed) and
    /// commits the deletion. The removal is durable (`dotdir_atomic_store::remove`: unlink,
    /// then fsync the directory) before the commit is made.
    pub fn remove(&self, path: impl AsRef<Path>, message: &str) -> Result<Option<CommitId>> {
        let rel = self.validate(path.as_ref())?;
        let target = self.dir.join(&rel);
        self.mutate(std::slice::from_ref(&rel), message, |_| {
            let _ = dotdir_atomic_store::remove(&target, self.options.durability)?;
            Ok(())
        })
    }

    /// Stops tracking `paths` — what `git rm --cached -r` does: each path (a directory: every
    /// file under it) is removed from the index and from the new commit's tree, and the files
    /// stay on disk untouched. Unlike every other call this accepts excluded paths, since it
    /// only ever removes them: it is how a secret someone force-added (`git add -f`, reported
    /// by [`Journal::audit`]) leaves the index. Their earlier content stays in the history:
    /// rotate such a secret.
    ///
    /// `Ok(None)` when none of the paths was tracked (no empty commit). If any path is invalid
    /// (outside the directory, inside `.git`, not UTF-8), nothing is changed. A process killed
    /// during the call leaves the paths tracked or untracked, never re-added; calling again
    /// finishes the job.
    pub fn untrack<P: AsRef<Path>>(&self, paths: &[P], message: &str) -> Result<Option<CommitId>> {
        let mut rels = Vec::with_capacity(paths.len());
        for path in paths {
            let rel = self.validate_path(path.as_ref(), Excluded::Allowed)?;
            if !rels.contains(&rel) {
                rels.push(rel);
            }
        }
        self.mutate_as(&rels, message, Staging::Untrack, |_| Ok(()))
    }

    /// The one path every mutation takes: the in-process mutex, the journal's flock, recovery
    /// of a dead writer, the intent record, `before` (the write itself), the commit with
    /// retries, and the removal of the intent record.
    pub(crate) fn mutate(
        &self,
        rels: &[RelPath],
        message: &str,
        before: impl FnOnce(&Repository) -> Result<()>,
    ) -> Result<Option<CommitId>> {
        self.mutate_as(rels, message, Staging::WorkTree, before)
    }

    /// [`Journal::mutate`], staging `rels` as `staging` says.
    fn mutate_as(
        &self,
        rels: &[RelPath],
        message: &str,
        staging: Staging,
        before: impl FnOnce(&Repository) -> Result<()>,
    ) -> Result<Option<CommitId>> {
        let repo = self.repo.lock();
        let _flock = dotdir_atomic_store::lock(&self.git_dir.join(intent::LOCK_BASE))?;
        // Before anything is written (the caller's file, the recovery of a dead writer).
        gitdir::check_write_paths(&repo, &self.git_dir)?;
        self.recover(&repo)?;
        intent::write_intent(&self.git_dir, Phase::Commit, message, staging.intent(rels))?;
        let result =
            before(&repo).and_then(|()| self.commit_with_retry(&repo, rels, message, staging));
        if result.is_err() {
            // Leave nothing half-staged in memory; the next call rereads the index.
            if let Ok(mut index) = repo.index() {
                let _ = index.read(true);
            }
        }
        // The work is done or failed cleanly (libgit2 removes its own locks on error).
        intent::clear_intent(&self.git_dir)?;
        drop(repo);
        if let (Ok(Some(_)), Some(remote)) = (&result, &self.options.auto_push) {
            self.auto_push.request(&self.dir, &self.git_dir, &self.options, remote);
        }
        result
    }

    pub(crate) fn commit_with_retry(
        &self,
        repo: &Repository,
        rels: &[RelPath],
        message: &str,
        staging: Staging,
    ) -> Result<Option<CommitId>> {
        let retry = self.options.retry;
        let started = Instant::now();
        let mut backoff = retry.first_backoff;
        loop {
            let error = match self.try_commit(repo, rels, message, staging) {
                Ok(id) => return Ok(id),
                Err(error) => error,
            };
            let Error::Git { source, .. } = &error else { return Err(error) };
            if !matches!(source.code(), ErrorCode::Locked | ErrorCode::Modified) {
                return Err(error);
            }
            let waited = started.elapsed();
            if waited >= retry.max_wait {
                let Error::Git { source, .. } = error else { return Err(error) };
                return Err(Error::Locked {
                    lock: lock_named_in(&source, &self.git_dir),
                    waited,
                    source,
                });
            }
            // Whatever libgit2 locked in this attempt it released when it failed; while we
            // sleep, a lock file that appears is someone else's.
            if let Ok(mut index) = repo.index() {
                let _ = index.read(true);
            }
            intent::write_intent(&self.git_dir, Phase::Wait, message, staging.intent(rels))?;
            let jitter = backoff.mul_f64(0.5 + fastrand::f64());
            thread::sleep(jitter.min(retry.max_wait.saturating_sub(waited)));
            backoff = (backoff * 2).min(retry.max_backoff);
            // A `git` killed while we waited may have left its lock behind for good.
            let _ = intent::recover(repo, &self.git_dir, self.options.foreign_lock_timeout)?;
            intent::write_intent(&self.git_dir, Phase::Commit, message, staging.intent(rels))?;
        }
    }

    /// One attempt: stage each path in the index, build the new tree from HEAD's tree, write
    /// the index, commit.
    fn try_commit(
        &self,
        repo: &Repository,
        rels: &[RelPath],
        message: &str,
        staging: Staging,
    ) -> Result<Option<CommitId>> {
        let git_dir = &self.git_dir;
        let mut index = repo.index().map_err(Error::libgit2(Step::ReadIndex, git_dir))?;
        index.read(false).map_err(Error::libgit2(Step::ReadIndex, git_dir))?;
        let head = head_commit(repo, git_dir)?;
        let base = match &head {
            Some(commit) => {
                Some(commit.tree().map_err(Error::libgit2(Step::ReadHistory, git_dir))?)
            }
            None => None,
        };
        let mut changes = Vec::new();
        for rel in rels {
            match staging {
                Staging::WorkTree => self.classify(rel, &mut changes)?,
                Staging::Untrack => changes.push(Change::Delete(rel.clone())),
            }
        }
        let mut edits = Vec::with_capacity(changes.len());
        let mut index_dirty = false;
        for change in &changes {
            match change {
                Change::Upsert(rel) => {
                    let path = Path::new(rel);
                    let before = index.get_path(path, 0);
                    add_path_stable(&mut index, path, &self.dir.join(path))
                        .map_err(Error::libgit2(Step::Stage, rel))?;
                    let entry = index.get_path(path, 0).ok_or_else(|| Error::Git {
                        step: Step::Stage,
                        path: rel.into(),
                        source: git2::Error::from_str("the staged entry is missing from the index"),
                    })?;
                    index_dirty |= before.is_none_or(|before| !same_entry(&before, &entry));
                    edits.push(Edit {
                        path: rel.clone(),
                        entry: Some((entry.id, entry.mode as i32)),
                    });
                }
                Change::Delete(rel) => {
                    let path = Path::new(rel);
                    if index.get_path(path, 0).is_some() {
                        index.remove_path(path).map_err(Error::libgit2(Step::Stage, rel))?;
                        index_dirty = true;
                    }
                    let count = index.len();
                    index.remove_dir(path, 0).map_err(Error::libgit2(Step::Stage, rel))?;
                    index_dirty |= index.len() != count;
                    edits.push(Edit { path: rel.clone(), entry: None });
                }
            }
        }
        let tree_id = match apply_edits(repo, base.as_ref(), &edits)? {
            Some(id) => id,
            None => repo
                .treebuilder(None)
                .and_then(|builder| builder.write())
                .map_err(Error::libgit2(Step::WriteTree, git_dir))?,
        };
        if index_dirty {
            index.write().map_err(Error::libgit2(Step::WriteIndex, git_dir.join("index")))?;
        }
        let unchanged = match &base {
            Some(base) => base.id() == tree_id,
            None => edits.iter().all(|edit| edit.entry.is_none()),
        };
        if unchanged {
            return Ok(None);
        }
        let tree = repo.find_tree(tree_id).map_err(Error::libgit2(Step::WriteTree, git_dir))?;
        let signature = self.signature(repo)?;
        let parents: Vec<&git2::Commit<'_>> = head.iter().collect();
        let id = repo
            .commit(Some("HEAD"), &signature, &signature, message, &tree, &parents)
            .map_err(Error::libgit2(Step::Commit, git_dir))?;
        Ok(Some(CommitId(id)))
    }

    /// Decides what `rel` is in the working tree and appends the changes it means.
    fn classify(&self, rel: &RelPath, changes: &mut Vec<Change>) -> Result<()> {
        let full = self.dir.join(rel);
        let meta = match fs::symlink_metadata(&full) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => {
                // ENOTDIR: a parent is now a file; the path is gone either way.
                changes.push(Change::Delete(rel.clone()));
                return Ok(());
            }
            Err(e) => return Err(IoError::on(Step::Inspect, full)(e).into()),
        };
        let kind = meta.file_type();
        if kind.is_file() || kind.is_symlink() {
            changes.push(Change::Upsert(rel.clone()));
        } else if kind.is_dir() {
            // The directory replaces whatever was tracked there: drop it, then add every file.
            changes.push(Change::Delete(rel.clone()));
            self.walk(&full, rel, changes)?;
        } else {
            return Err(Error::InvalidPath {
                path: rel.into(),
                reason: "not a regular file, symbolic link or directory",
            });
        }
        Ok(())
    }

    fn walk(&self, dir: &Path, rel: &str, changes: &mut Vec<Change>) -> Result<()> {
        let entries = fs::read_dir(dir).map_err(IoError::on(Step::List, dir))?;
        let mut names: Vec<_> = entries
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<io::Result<_>>()
            .map_err(IoError::on(Step::List, dir))?;
        names.sort();
        for name in names {
            let Some(name) = name.to_str() else { continue };
            let child_rel = format!("{rel}/{name}");
            // Nested repositories, excluded and unnameable paths are not the caller's request.
            if name.eq_ignore_ascii_case(".git")
                || name.contains(['\n', '\r', '\\'])
                || self.options.exclusions.matching(&child_rel).is_some()
            {
                continue;
            }
            let child = dir.join(name);
            let Ok(meta) = fs::symlink_metadata(&child) else { continue };
            let kind = meta.file_type();
            if kind.is_file() || kind.is_symlink() {
                if self.options.exclusions.is_declared(&child_rel) {
                    changes.push(Change::Upsert(child_rel));
                }
            } else if kind.is_dir() && !child.join(".git").exists() {
                self.walk(&child, &child_rel, changes)?;
            }
        }
        Ok(())
    }

    fn signature(&self, repo: &Repository) -> Result<Signature<'static>> {
        if self.options.identity_from_git_config
            && let Ok(signature) = repo.signature()
        {
            return Ok(signature);
        }
        let Identity { name, email } = &self.options.identity;
        Signature::now(name, email).map_err(Error::libgit2(Step::Commit, &self.git_dir))
    }
}

fn same_entry(a: &git2::IndexEntry, b: &git2::IndexEntry) -> bool {
    a.id == b.id
        && a.mode == b.mode
        && a.file_size == b.file_size
        && a.ino == b.ino
        && a.mtime == b.mtime
        && a.ctime == b.ctime
}

/// The lock file libgit2's error is about: the index, or the file its message names
/// (`failed to lock file '<path>' for writing`).
fn lock_named_in(error: &git2::Error, git_dir: &Path) -> PathBuf {
    let message = error.message();
    if error.class() == git2::ErrorClass::Index || message.contains("index is locked") {
        return git_dir.join("index.lock");
    }
    message
        .split('\'')
        .nth(1)
        .filter(|path| path.ends_with(".lock"))
        .map(PathBuf::from)
        .unwrap_or_else(|| git_dir.to_path_buf())
}

/// `index.add_path`, again when the file changed while libgit2 read it (an append-only log
/// written by another process: "failed to read file into stream"). A file that keeps changing
/// is an error after a few tries.
fn add_path_stable(
    index: &mut git2::Index,
    path: &Path,
    full: &Path,
) -> std::result::Result<(), git2::Error> {
    use std::os::unix::fs::MetadataExt;
    let stamp =
        || fs::symlink_metadata(full).ok().map(|m| (m.len(), m.mtime(), m.mtime_nsec(), m.ino()));
    let mut tries = 0;
    loop {
        let before = stamp();
        match index.add_path(path) {
            Err(_) if tries < 16 && stamp() != before => tries += 1,
            other => return other,
        }
    }
}
