//! `dotdir.PidLock`: the single-instance lock (crate `dotdir-pidlock`) as a context manager.

use std::{
    path::PathBuf,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use dotdir::pidlock::{self, PidGuard, RecordFormat};
use pyo3::{exceptions::PyValueError, prelude::*, types::PyTuple};

use crate::errors::{Failure, detached};

/// The single-instance lock of a directory (see the package documentation).
#[pyclass(module = "dotdir._native", subclass, frozen)]
#[derive(Debug)]
pub(crate) struct PidLock {
    lock: pidlock::PidLock,
    guard: Mutex<Option<PidGuard>>,
}

impl PidLock {
    pub(crate) fn from_config(lock: pidlock::PidLock) -> Self {
        PidLock { lock, guard: Mutex::new(None) }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<PidGuard>> {
        self.guard.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl PidLock {
    /// The lock record `dir/name` (its OS lock is on `dir/name.lock`). `program`: a record
    /// written by a holder that takes no OS lock (the Python ollim-bot) counts only when that
    /// process's command line contains it. `format`: `"bare"` (the bare pid, ollim-bot's
    /// `bot.pid`) or `"lines"` (`<pid>\n`).
    #[new]
    #[pyo3(signature = (dir, *, name = "bot.pid", program = None, format = "bare"))]
    fn new(dir: PathBuf, name: &str, program: Option<String>, format: &str) -> PyResult<Self> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(PyValueError::new_err(format!("invalid lock name {name:?}")));
        }
        let format = match format {
            "bare" => RecordFormat::BarePid,
            "lines" => RecordFormat::Lines,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown format {other:?}: expected \"bare\" or \"lines\""
                )));
            }
        };
        let mut lock = pidlock::PidLock::new(dir.join(name)).format(format);
        if let Some(program) = program {
            lock = lock.program(program);
        }
        Ok(PidLock::from_config(lock))
    }

    /// The record's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.lock.path().to_path_buf()
    }

    /// Whether this object holds the lock.
    #[getter]
    fn held(&self) -> bool {
        self.slot().is_some()
    }

    /// Takes the lock. Fails at once with `AlreadyRunning` (naming the holder's pid) unless
    /// `timeout` seconds are given to wait. Taking it twice through one object is a no-op.
    #[pyo3(signature = (timeout = None))]
    fn acquire(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        if self.held() {
            return Ok(());
        }
        let wait = match timeout {
            Some(t) if t.is_finite() && t >= 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => return Err(PyValueError::new_err(format!("invalid timeout {t}"))),
            None => None,
        };
        let guard = detached(py, || {
            match wait {
                Some(wait) => self.lock.acquire_timeout(wait),
                None => self.lock.acquire(),
            }
            .map_err(Failure::from)
        })?;
        *self.slot() = Some(guard);
        Ok(())
    }

    /// Releases the lock (removing the record if it is still ours); nothing when not held.
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        let guard = self.slot().take();
        match guard {
            Some(guard) => detached(py, || guard.release().map_err(Failure::from)),
            None => Ok(()),
        }
    }

    /// The pid of the process that holds the lock now, or `None`.
    fn holder(&self, py: Python<'_>) -> PyResult<Option<u32>> {
        let holder = detached(py, || self.lock.probe().map_err(Failure::from))?;
        Ok(holder.filter(|h| h.running).and_then(|h| h.pid))
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().acquire(slf.py(), None)?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.release(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "PidLock({:?}, held={})",
            self.lock.path(),
            if self.held() { "True" } else { "False" }
        )
    }
}
