//! The scan at open: what differs from HEAD and is not excluded, which no record names (a writer
//! killed between its change and its commit, a file changed by hand).

use std::path::Path;

use git2::Repository;

use crate::{CommitId, Error, Journal, Result, Step, gitdir, journal::RelPath};

impl Journal {
    /// Commits everything that differs from HEAD (new, modified and deleted files), except
    /// excluded paths, which are skipped silently. Unlike the other calls this scans the whole
    /// working tree (libgit2's status), so its cost grows with the repository.
    pub fn commit_all_changed(&self, message: &str) -> Result<Option<CommitId>> {
        let rels = self.uncommitted_rels()?;
        if rels.is_empty() {
            return Ok(None);
        }
        self.mutate(&rels, message, |_| Ok(()))
    }

    /// The paths that differ from HEAD (modified, new or deleted) and that the journal would
    /// commit, excluded paths left out: what a writer killed between its write and its commit
    /// left behind. Scans the whole working tree (libgit2's status); writes nothing.
    pub fn uncommitted(&self) -> Result<Vec<String>> {
        self.uncommitted_rels()
    }

    fn uncommitted_rels(&self) -> Result<Vec<RelPath>> {
        let paths = {
            let repo = self.repo().lock();
            changed_paths(&repo, self.dir())?
        };
        Ok(paths.into_iter().filter_map(|path| self.validate(Path::new(&path)).ok()).collect())
    }
}

/// The paths that differ between HEAD, the index and the working tree (libgit2 status).
fn changed_paths(repo: &Repository, dir: &Path) -> Result<Vec<String>> {
    gitdir::refuse_special_files(dir, repo.path(), true)?;
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true)
        .renames_head_to_index(false)
        .renames_index_to_workdir(false);
    let statuses = repo.statuses(Some(&mut options)).map_err(Error::libgit2(Step::Status, dir))?;
    Ok(statuses
        .iter()
        .filter(|entry| entry.status() != git2::Status::CURRENT && !entry.status().is_ignored())
        .filter_map(|entry| entry.path().ok().map(str::to_owned))
        .collect())
}
