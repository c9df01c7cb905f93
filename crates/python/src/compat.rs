//! The native half of `dotdir.compat.ollim_storage`: commits through an in-process journal per
//! repository, with ollim-bot's exclusion list and allow-list, and no `.gitignore` written (the
//! reference writes none, and the compatibility layer leaves the same files on disk).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

use dotdir::{
    git_journal::{Journal, JournalOptions},
    ollim,
};
use pyo3::prelude::*;

use crate::errors::{Failure, Fallible, detached};

/// One journal per repository for the life of the process (opening one costs a repository
/// open and an index read; a commit then costs only its paths).
fn journals() -> &'static Mutex<HashMap<PathBuf, Arc<Journal>>> {
    static JOURNALS: OnceLock<Mutex<HashMap<PathBuf, Arc<Journal>>>> = OnceLock::new();
    JOURNALS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn journal(repo: &Path) -> Fallible<Arc<Journal>> {
    let mut cache = journals().lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(journal) = cache.get(repo) {
        return Ok(Arc::clone(journal));
    }
    let options = JournalOptions::new()
        .exclusions(ollim::LAYOUT.journal_exclusions())
        .manage_gitignore(false);
    let journal = Arc::new(Journal::open(repo, options)?);
    let _ = cache.insert(repo.to_path_buf(), Arc::clone(&journal));
    Ok(journal)
}

/// Commits the current state of `rel` (added, changed or deleted) in the repository at
/// `repo`, with ollim-bot's exclusion list and allow-list. Returns the commit id, or `None`
/// when nothing changed. Raises `SecretRefused` / `Undeclared` for a path the list refuses.
#[pyfunction]
pub(crate) fn journal_commit(
    py: Python<'_>,
    repo: PathBuf,
    rel: PathBuf,
    message: &str,
) -> PyResult<Option<String>> {
    detached(py, || {
        let journal = journal(&repo)?;
        Ok(journal.commit_path(&rel, message)?.map(|id| id.to_string()))
    })
}

/// Forgets the cached journals (for tests that delete repositories).
#[pyfunction]
pub(crate) fn forget_journals() {
    journals().lock().unwrap_or_else(PoisonError::into_inner).clear();
}

impl From<std::convert::Infallible> for Failure {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
