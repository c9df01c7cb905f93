//! Python bindings of dotdir: the `dotdir` package (PyO3, built by maturin as an abi3 wheel for
//! CPython 3.9 and newer).
//!
//! `pip install ./crates/python` builds and installs it. This crate is its native half, the
//! module `dotdir._native`; the package's Python half (`python/dotdir`) re-exports it with the
//! records, exceptions, type stubs and the drop-in for ollim-bot's `storage.py`.
//!
//! # Main types (Python names)
//! - `Document(path, *, secret=False, style="python")`: a JSON document of plain JSON values,
//!   written through `dotdir-atomic-store` (temporary file, fsync, rename, fsync of the
//!   directory); `update(fn)` is a read-modify-write under the cross-process lock.
//! - `Log(path, *, durable=True)`: `dotdir-jsonl-log`, one locked `write(2)` per record;
//!   reads report torn and corrupt lines as `problems` instead of failing.
//! - `PidLock(dir)`: `dotdir-pidlock` as a context manager; `AlreadyRunning` names the holder.
//! - `Journal(dir, exclusions=...)`: `dotdir-git-journal`, in-process commits with the
//!   exclusion list and allow-list enforced in code.
//! - `PingBucket(path)`: `dotdir-ping-bucket`, ollim-bot's ping budget.
//! - `check(dir, layout=None, fix=False)`: `dotdir-engine`'s check (and safe repairs).
//! - `ollim.DataDir(path)`: the facade's typed ollim-bot directory.
//! - `compat.ollim_storage`: ollim-bot's `storage.py`, same functions, same bytes on disk.
//! - Errors: `dotdir.Error` and its subclasses, with `.path` and `.step`.
//!
//! Every call that touches the disk releases the GIL (`Python::detach`), so other Python
//! threads run while one waits on `fsync` or a lock.
//!
//! # Building
//! `pyo3/extension-module` is enabled by maturin only (`pyproject.toml`): a plain
//! `cargo build` or `cargo clippy` of the workspace builds this crate (as an rlib and a cdylib
//! linked against libpython) without Python headers beyond the interpreter itself. It has no
//! Rust tests; its tests are pytest's (`crates/python/tests`), run by `cargo xtask python`.
//!
//! # Limitations
//! - Linux is the tested platform (as for every dotdir crate).
//! - Values are the plain JSON types; integers beyond 64 bits, NaN and infinities are refused.
//! - `Document.update` calls the Python function with the file's lock held: a function that
//!   blocks holds every other updater of that file.
//! - The compatibility layer keeps the reference's file formats, including its front-matter
//!   writer that does not escape quotes (byte-identical output is the point); new code should
//!   use `ollim.DataDir`, whose writer escapes.

mod budget;
mod compat;
mod convert;
mod document;
mod errors;
mod journal;
mod layouts;
mod log;
mod ollim;
mod pidlock;

use pyo3::prelude::*;

/// The native module `dotdir._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<document::Document>()?;
    m.add_class::<document::FileLock>()?;
    m.add_class::<log::Log>()?;
    m.add_class::<pidlock::PidLock>()?;
    m.add_class::<journal::Journal>()?;
    m.add_class::<budget::PingBucket>()?;
    m.add_class::<ollim::DataDir>()?;
    m.add_function(wrap_pyfunction!(document::atomic_write, m)?)?;
    m.add_function(wrap_pyfunction!(document::remove, m)?)?;
    m.add_function(wrap_pyfunction!(layouts::check, m)?)?;
    m.add_function(wrap_pyfunction!(layouts::detect, m)?)?;
    m.add_function(wrap_pyfunction!(layouts::layouts, m)?)?;
    m.add_function(wrap_pyfunction!(compat::journal_commit, m)?)?;
    m.add_function(wrap_pyfunction!(compat::forget_journals, m)?)?;
    m.add("OLLIM", ollim::constants(m.py())?)?;
    Ok(())
}
