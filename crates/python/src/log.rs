//! `dotdir.Log`: an append-only JSON Lines log (crate `dotdir-jsonl-log`).

use std::path::PathBuf;

use dotdir::jsonl_log::{self, LineProblem, LineProblemKind, LineStyle, LogOptions, Scan};
use pyo3::{exceptions::PyValueError, prelude::*, types::PyList};
use serde_json::Value;

use crate::{
    convert::{to_json, to_py},
    document::durability,
    errors::{Failure, detached},
};

/// A problem as the Python layer builds its `LogProblem`: kind, line, offset, length, message.
pub(crate) type ProblemTuple = (&'static str, Option<u64>, u64, u64, String);

pub(crate) fn problem_tuple(problem: &LineProblem) -> ProblemTuple {
    let kind = match problem.kind {
        LineProblemKind::Malformed { .. } => "malformed",
        LineProblemKind::Mismatch { .. } => "mismatch",
        LineProblemKind::Checksum => "checksum",
        LineProblemKind::Oversized => "oversized",
        LineProblemKind::TornTail => "torn_tail",
        _ => "other",
    };
    (kind, problem.line, problem.offset, problem.len, problem.to_string())
}

/// A scan as `(records, problems, next_offset)`.
pub(crate) fn scan_tuple<'py, T>(
    py: Python<'py>,
    scan: &Scan<T>,
    to_python: impl Fn(Python<'py>, &T) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyList>, Vec<ProblemTuple>, u64)> {
    let records = PyList::empty(py);
    for record in &scan.records {
        records.append(to_python(py, &record.value)?)?;
    }
    Ok((records, scan.problems.iter().map(problem_tuple).collect(), scan.next_offset))
}

fn parse_format(format: &str) -> PyResult<LineStyle> {
    match format {
        "python" => Ok(LineStyle::Python),
        "compact" => Ok(LineStyle::Compact),
        "checksummed" => Ok(LineStyle::Checksummed),
        other => Err(PyValueError::new_err(format!(
            "unknown format {other:?}: expected \"python\", \"compact\" or \"checksummed\""
        ))),
    }
}

/// The native half of `dotdir.Log` (the Python class wraps reads into `Records`).
#[pyclass(module = "dotdir._native", subclass, frozen)]
#[derive(Debug)]
pub(crate) struct Log {
    log: jsonl_log::Log<Value>,
}

type ScanResult<'py> = PyResult<(Bound<'py, PyList>, Vec<ProblemTuple>, u64)>;

#[pymethods]
impl Log {
    #[new]
    #[pyo3(signature = (path, *, durable = true, format = "python", mode = 0o666))]
    fn new(path: PathBuf, durable: bool, format: &str, mode: u32) -> PyResult<Self> {
        let options = LogOptions::new()
            .format(parse_format(format)?)
            .durability(durability(durable))
            .mode(mode);
        Ok(Log { log: jsonl_log::Log::with_options(path, options) })
    }

    /// The log's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.log.path().to_path_buf()
    }

    /// Appends one record as one line in one `write(2)`, under the log's cross-process lock;
    /// returns the byte offset of its line.
    fn append(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<u64> {
        let value = to_json(record)?;
        detached(py, || self.log.append(&value).map(|a| a.offset).map_err(Failure::from))
    }

    /// Appends several records in one `write(2)`; returns the offset of the first.
    fn append_many(&self, py: Python<'_>, records: Vec<Bound<'_, PyAny>>) -> PyResult<u64> {
        let values: Vec<Value> = records.iter().map(to_json).collect::<PyResult<_>>()?;
        detached(py, || self.log.append_batch(&values).map(|a| a.offset).map_err(Failure::from))
    }

    fn _read<'py>(&self, py: Python<'py>) -> ScanResult<'py> {
        let scan = detached(py, || self.log.read().map_err(Failure::from))?;
        scan_tuple(py, &scan, to_py)
    }

    fn _read_from<'py>(&self, py: Python<'py>, offset: u64) -> ScanResult<'py> {
        let scan = detached(py, || self.log.read_from(offset).map_err(Failure::from))?;
        scan_tuple(py, &scan, to_py)
    }

    fn _tail<'py>(&self, py: Python<'py>, count: usize) -> ScanResult<'py> {
        let scan = detached(py, || self.log.last(count).map_err(Failure::from))?;
        scan_tuple(py, &scan, to_py)
    }

    /// Moves torn and corrupt lines to `<log>.corrupt`: `(kept, quarantined problems,
    /// rewritten)`.
    fn _repair(&self, py: Python<'_>) -> PyResult<(u64, Vec<ProblemTuple>, bool)> {
        let rewrite = detached(py, || self.log.repair().map_err(Failure::from))?;
        Ok((
            rewrite.kept,
            rewrite.quarantined.iter().map(problem_tuple).collect(),
            rewrite.rewritten,
        ))
    }

    /// Flushes appends not yet synced (with `durable=True` every append already is).
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, || self.log.sync().map_err(Failure::from))
    }
}
