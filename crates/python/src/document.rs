//! `dotdir.Document`: a JSON document on disk, written atomically and durably, updated under a
//! cross-process lock.

use std::path::PathBuf;

use dotdir::atomic_store::{self, Document as Doc, Durability, JsonStyle, WriteOptions};
use pyo3::{exceptions::PyValueError, prelude::*};
use serde_json::Value;

use crate::{
    convert::{to_json, to_py},
    errors::{Failure, detached},
};

/// The JSON layout named by `style`.
pub(crate) fn parse_style(style: &str) -> PyResult<JsonStyle> {
    match style {
        "python" => Ok(JsonStyle::Python),
        "compact" => Ok(JsonStyle::Compact),
        "pretty" => Ok(JsonStyle::Pretty),
        other => Err(PyValueError::new_err(format!(
            "unknown style {other:?}: expected \"python\", \"compact\" or \"pretty\""
        ))),
    }
}

pub(crate) fn durability(durable: bool) -> Durability {
    if durable { Durability::Full } else { Durability::None }
}

/// A JSON document at a path (see the package documentation).
#[pyclass(module = "dotdir._native", subclass, frozen)]
#[derive(Debug)]
pub(crate) struct Document {
    doc: Doc<Value>,
    secret: bool,
}

#[pymethods]
impl Document {
    #[new]
    #[pyo3(signature = (path, *, secret = false, style = "python", durable = true))]
    fn new(path: PathBuf, secret: bool, style: &str, durable: bool) -> PyResult<Self> {
        let options = if secret { WriteOptions::secret() } else { WriteOptions::new() };
        let doc = Doc::new(path)
            .style(parse_style(style)?)
            .options(options.durability(durability(durable)));
        Ok(Document { doc, secret })
    }

    /// The document's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.doc.path().to_path_buf()
    }

    /// Whether the document is a secret (mode 0600, never through a symlink).
    #[getter]
    fn secret(&self) -> bool {
        self.secret
    }

    /// The current value; `default` when the file does not exist.
    #[pyo3(signature = (default = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let value = detached(py, || self.doc.read().map_err(Failure::from))?;
        match value {
            Some(value) => to_py(py, &value),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    /// Atomically replaces the document with `value`.
    fn write(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = to_json(value)?;
        detached(py, || self.doc.write(&value).map(drop).map_err(Failure::from))
    }

    /// Read-modify-write under the document's cross-process lock: calls `fn(current)` (the
    /// current value, `default` when the file is missing or holds `null`) and writes what it
    /// returns. Returns the new value. An exception raised by `fn` leaves the file untouched
    /// and propagates.
    #[pyo3(signature = (function, default = None))]
    fn update<'py>(
        &self,
        py: Python<'py>,
        function: Py<PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let outcome = py.detach(|| {
            self.doc.try_update(|value: &mut Value| {
                Python::attach(|py| -> PyResult<Py<PyAny>> {
                    let current = if value.is_null() {
                        match &default {
                            Some(default) => default.bind(py).clone(),
                            None => py.None().into_bound(py),
                        }
                    } else {
                        to_py(py, value)?
                    };
                    let new = function.bind(py).call1((current,))?;
                    *value = to_json(&new)?;
                    Ok(new.unbind())
                })
            })
        });
        match outcome {
            Ok(Ok(new)) => Ok(new.into_bound(py)),
            Ok(Err(error)) => Err(error),
            Err(error) => Err(Failure::from(error).into_py(py)),
        }
    }

    /// Removes the document (durably); returns whether it existed.
    fn remove(&self, py: Python<'_>) -> PyResult<bool> {
        let durability = self.doc.write_options().durability;
        detached(py, || atomic_store::remove(self.doc.path(), durability).map_err(Failure::from))
    }

    fn __repr__(&self) -> String {
        format!(
            "Document({:?}, secret={})",
            self.doc.path(),
            if self.secret { "True" } else { "False" }
        )
    }
}

/// `atomic_write(path, data, *, mode=None, durable=True)`: the durable atomic replace of
/// `dotdir-atomic-store` (temporary file, fsync, rename, fsync of the directory). `mode` is an
/// exact mode (`0o600`) that holds from the moment the temporary file exists; `None` keeps the
/// old file's mode.
#[pyfunction]
#[pyo3(signature = (path, data, *, mode = None, durable = true))]
pub(crate) fn atomic_write(
    py: Python<'_>,
    path: PathBuf,
    data: Vec<u8>,
    mode: Option<u32>,
    durable: bool,
) -> PyResult<()> {
    let mut options = WriteOptions::new().durability(durability(durable));
    if let Some(mode) = mode {
        if mode > 0o7777 {
            return Err(PyValueError::new_err(format!("invalid mode {mode:#o}")));
        }
        options = options.mode(atomic_store::Mode::Exact(mode));
    }
    detached(py, || atomic_store::write(&path, &data, &options).map(drop).map_err(Failure::from))
}

/// `remove(path, *, durable=True)`: unlinks `path` (a symlink itself, never its target) and
/// syncs its directory; returns whether it existed.
#[pyfunction]
#[pyo3(signature = (path, *, durable = true))]
pub(crate) fn remove(py: Python<'_>, path: PathBuf, durable: bool) -> PyResult<bool> {
    detached(py, || atomic_store::remove(&path, durability(durable)).map_err(Failure::from))
}

/// The cross-process lock of a file (`flock` on its `<name>.lock` sidecar, the lock
/// `Document.update` and `Log.append` take), as a context manager.
#[pyclass(module = "dotdir._native", frozen)]
#[derive(Debug)]
pub(crate) struct FileLock {
    path: PathBuf,
    guard: std::sync::Mutex<Option<atomic_store::LockGuard>>,
}

#[pymethods]
impl FileLock {
    #[new]
    fn new(path: PathBuf) -> Self {
        FileLock { path, guard: std::sync::Mutex::new(None) }
    }

    /// Takes the lock, waiting for it (with the GIL released).
    fn acquire(&self, py: Python<'_>) -> PyResult<()> {
        let guard = detached(py, || atomic_store::lock(&self.path).map_err(Failure::from))?;
        *self.guard.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(guard);
        Ok(())
    }

    /// Releases the lock (nothing when it is not held).
    fn release(&self) {
        drop(self.guard.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().acquire(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.release();
        false
    }
}
