//! `dotdir.Journal`: in-process git commits of a data directory (crate `dotdir-git-journal`),
//! with its exclusion list and allow-list enforced in code.

use std::path::PathBuf;

use dotdir::{
    atomic_store::WriteOptions,
    git_journal::{self, Exclusions, JournalOptions},
};
use pyo3::{exceptions::PyValueError, prelude::*};

use crate::{
    document::durability,
    errors::{Failure, Fallible, detached},
    layouts::layout_named,
};

/// Paths as one string or a sequence of them.
#[derive(Debug, FromPyObject)]
pub(crate) enum Paths {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl Paths {
    fn into_vec(self) -> Vec<PathBuf> {
        match self {
            Paths::One(path) => vec![path],
            Paths::Many(paths) => paths,
        }
    }
}

/// The git journal of a directory (see the package documentation).
#[pyclass(module = "dotdir._native", subclass, frozen)]
#[derive(Debug)]
pub(crate) struct Journal {
    journal: git_journal::Journal,
}

fn exclusions(
    patterns: Option<Vec<String>>,
    allow: Option<Vec<String>>,
    layout: Option<&str>,
) -> PyResult<Exclusions> {
    let mut exclusions = match layout {
        Some(name) => layout_named(name)?.journal_exclusions(),
        None => Exclusions::builtin(),
    };
    let invalid = |e: git_journal::Error| PyValueError::new_err(e.to_string());
    for pattern in patterns.unwrap_or_default() {
        exclusions.add(&pattern).map_err(invalid)?;
    }
    if let Some(allow) = allow {
        exclusions = exclusions.allow_only(allow).map_err(invalid)?;
    }
    Ok(exclusions)
}

fn commit_id(id: Option<git_journal::CommitId>) -> Option<String> {
    id.map(|id| id.to_string())
}

#[pymethods]
impl Journal {
    /// Opens (initialising if needed) the repository in exactly `dir`. `exclusions`: glob
    /// patterns never committed (added to the built-in ones); `allow`: when given, only the
    /// files these patterns match may be committed (deny by default); `layout`: start from a
    /// layout's list (`"ollim-bot"`). `gitignore`: keep `.gitignore` in step with the list.
    #[new]
    #[pyo3(signature = (dir, exclusions = None, *, allow = None, layout = None, gitignore = true, durable = true))]
    fn new(
        py: Python<'_>,
        dir: PathBuf,
        exclusions: Option<Vec<String>>,
        allow: Option<Vec<String>>,
        layout: Option<&str>,
        gitignore: bool,
        durable: bool,
    ) -> PyResult<Self> {
        let options = JournalOptions::new()
            .exclusions(self::exclusions(exclusions, allow, layout)?)
            .manage_gitignore(gitignore)
            .durability(durability(durable));
        let journal =
            detached(py, || git_journal::Journal::open(&dir, options).map_err(Failure::from))?;
        Ok(Journal { journal })
    }

    /// The directory.
    #[getter]
    fn dir(&self) -> PathBuf {
        self.journal.dir().to_path_buf()
    }

    /// Commits the current state of `paths` (relative to the directory, or absolute inside
    /// it): additions, changes and deletions, in one commit. Returns the commit id, or `None`
    /// when nothing changed. An excluded path raises `SecretRefused`, an undeclared one
    /// `Undeclared`; nothing is committed then.
    fn commit(&self, py: Python<'_>, paths: Paths, message: &str) -> PyResult<Option<String>> {
        let paths = self.relative(paths.into_vec())?;
        detached(py, || {
            self.journal.commit_paths(&paths, message).map(commit_id).map_err(Failure::from)
        })
    }

    /// Writes `data` to `path` atomically and durably, then commits it.
    #[pyo3(signature = (path, data, message, *, secret = false))]
    fn write(
        &self,
        py: Python<'_>,
        path: PathBuf,
        data: Vec<u8>,
        message: &str,
        secret: bool,
    ) -> PyResult<Option<String>> {
        let path = self.relative(vec![path])?.remove(0);
        let options = if secret { WriteOptions::secret() } else { WriteOptions::new() };
        detached(py, || {
            self.journal
                .write(&path, &data, &options, message)
                .map(commit_id)
                .map_err(Failure::from)
        })
    }

    /// Removes `path` and commits the deletion.
    fn remove(&self, py: Python<'_>, path: PathBuf, message: &str) -> PyResult<Option<String>> {
        let path = self.relative(vec![path])?.remove(0);
        detached(py, || self.journal.remove(&path, message).map(commit_id).map_err(Failure::from))
    }

    /// Commits every changed file the list allows.
    fn commit_all_changed(&self, py: Python<'_>, message: &str) -> PyResult<Option<String>> {
        detached(py, || {
            self.journal.commit_all_changed(message).map(commit_id).map_err(Failure::from)
        })
    }

    /// The allowed files that differ from the last commit.
    fn uncommitted(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        detached(py, || self.journal.uncommitted().map_err(Failure::from))
    }

    /// The id of the last commit, or `None` in an empty repository.
    fn head(&self, py: Python<'_>) -> PyResult<Option<String>> {
        detached(py, || self.journal.head().map(commit_id).map_err(Failure::from))
    }

    /// Whether `path` may be committed (not excluded, and declared when there is an
    /// allow-list).
    fn allows(&self, path: &str) -> bool {
        self.journal.exclusions().allows(path.trim_start_matches('/'))
    }

    /// The messages of the commits that touched `path`, newest first.
    fn log(&self, py: Python<'_>, path: PathBuf) -> PyResult<Vec<String>> {
        let path = self.relative(vec![path])?.remove(0);
        let commits: Fallible<Vec<String>> = py.detach(|| {
            self.journal
                .log_path(&path, None)
                .map(|log| log.into_iter().map(|c| c.message).collect())
                .map_err(Failure::from)
        });
        commits.map_err(|f| f.into_py(py))
    }
}

impl Journal {
    /// Absolute paths inside the directory made relative (as the journal wants them).
    fn relative(&self, paths: Vec<PathBuf>) -> PyResult<Vec<PathBuf>> {
        paths
            .into_iter()
            .map(|path| {
                if path.is_absolute() {
                    path.strip_prefix(self.journal.dir()).map(PathBuf::from).map_err(|_| {
                        PyValueError::new_err(format!(
                            "{} is not inside {}",
                            path.display(),
                            self.journal.dir().display()
                        ))
                    })
                } else {
                    Ok(path)
                }
            })
            .collect()
    }
}
