//! `dotdir.check` and the built-in layouts by name.

use std::path::PathBuf;

use dotdir::{LAYOUTS, Layout, check as engine_check, inspect};
use pyo3::{exceptions::PyValueError, prelude::*};

use crate::errors::{Failure, Fallible, detached};

/// A built-in layout by its name (`ollim-bot`, `omicos-home`, `omicos-workspace`).
pub(crate) fn layout_named(name: &str) -> PyResult<&'static Layout> {
    LAYOUTS.iter().copied().find(|layout| layout.name == name).ok_or_else(|| {
        let names: Vec<&str> = LAYOUTS.iter().map(|l| l.name).collect();
        PyValueError::new_err(format!("unknown layout {name:?}: expected one of {names:?}"))
    })
}

/// A check problem as the Python layer builds its `Problem`: kind, severity, path, message,
/// line, fixable, advice.
pub(crate) type ProblemTuple = (String, String, String, String, Option<u64>, bool, String);

fn problem_tuple(problem: &engine_check::Problem) -> ProblemTuple {
    (
        problem.kind.as_str().to_owned(),
        problem.severity.as_str().to_owned(),
        problem.path.clone(),
        problem.message.clone(),
        problem.line,
        problem.fixable,
        problem.advice.to_owned(),
    )
}

/// The names of the built-in layouts.
#[pyfunction]
pub(crate) fn layouts() -> Vec<&'static str> {
    LAYOUTS.iter().map(|l| l.name).collect()
}

/// The name of the built-in layout `dir` is a data directory of, or `None`.
#[pyfunction]
pub(crate) fn detect(py: Python<'_>, dir: PathBuf) -> Option<&'static str> {
    py.detach(|| inspect::detect(&dir, &LAYOUTS).map(|l| l.name))
}

/// `(layout name, problems)` of `dir`; with `fix`, the safe repairs run first and the problems
/// are those left after them.
#[pyfunction]
#[pyo3(signature = (dir, layout = None, fix = false, assume_stopped = false))]
pub(crate) fn check(
    py: Python<'_>,
    dir: PathBuf,
    layout: Option<&str>,
    fix: bool,
    assume_stopped: bool,
) -> PyResult<(&'static str, Vec<ProblemTuple>)> {
    let forced = layout.map(layout_named).transpose()?;
    let options = engine_check::Options::default().assume_stopped(assume_stopped);
    check_with(py, dir, forced, fix, options)
}

/// [`check`] with its options.
pub(crate) fn check_with(
    py: Python<'_>,
    dir: PathBuf,
    forced: Option<&'static Layout>,
    fix: bool,
    options: engine_check::Options,
) -> PyResult<(&'static str, Vec<ProblemTuple>)> {
    detached(py, || -> Fallible<_> {
        if !dir.is_dir() {
            return Err(Failure::new(
                "NotADataDirectory",
                format!("{} is not a directory", dir.display()),
            ));
        }
        let layout = match forced {
            Some(layout) => layout,
            None => inspect::detect(&dir, &LAYOUTS).ok_or_else(|| {
                Failure::new(
                    "NotADataDirectory",
                    format!(
                        "{} is not a data directory of a built-in layout (pass layout=...)",
                        dir.display()
                    ),
                )
            })?,
        };
        if fix {
            let _ = engine_check::fix(&dir, layout, &options)?;
        }
        let report = engine_check::check(&dir, layout, &options)?;
        Ok((layout.name, report.problems.iter().map(problem_tuple).collect()))
    })
}
