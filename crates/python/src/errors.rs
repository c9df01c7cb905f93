//! Rust errors as Python exceptions: every dotdir error becomes a [`Failure`] (built without the
//! GIL, inside the released section), raised as one of the classes of `dotdir._errors`, with
//! `.path`, `.step` and the whole cause chain as its message. A secret's bytes never reach a
//! message: the crates redact them at the source (atomic-store's `redacted`), and no message
//! here quotes a file's content.

use std::path::{Path, PathBuf};

use dotdir::{
    atomic_store, engine, error_chain, git_journal, jsonl_log, ollim, pidlock, ping_bucket,
};
use pyo3::{prelude::*, types::PyDict};

/// A failure on its way to Python: the exception class (by name in `dotdir._errors`), the
/// message, and the attributes.
#[derive(Debug)]
pub(crate) struct Failure {
    kind: &'static str,
    message: String,
    path: Option<PathBuf>,
    step: Option<String>,
    pid: Option<u32>,
    errno: Option<i32>,
}

/// `Result` with a [`Failure`].
pub(crate) type Fallible<T> = Result<T, Failure>;

impl Failure {
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Failure { kind, message: message.into(), path: None, step: None, pid: None, errno: None }
    }

    fn at(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    fn step(mut self, step: impl std::fmt::Debug) -> Self {
        self.step = Some(snake(&format!("{step:?}")));
        self
    }

    fn io(mut self, error: &std::io::Error) -> Self {
        self.errno = error.raw_os_error();
        self
    }

    /// The Python exception.
    pub(crate) fn into_py(self, py: Python<'_>) -> PyErr {
        match self.raise(py) {
            Ok(error) | Err(error) => error,
        }
    }

    fn raise(self, py: Python<'_>) -> Result<PyErr, PyErr> {
        let module = py.import("dotdir._errors")?;
        let class = module.getattr(self.kind)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("path", self.path.as_ref().map(|p| p.to_string_lossy().into_owned()))?;
        kwargs.set_item("step", self.step)?;
        if let Some(pid) = self.pid {
            kwargs.set_item("pid", pid)?;
        }
        if let Some(errno) = self.errno {
            kwargs.set_item("errno", errno)?;
        }
        let instance = class.call((self.message,), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    }
}

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> PyErr {
        Python::attach(|py| failure.into_py(py))
    }
}

/// `SyncDir` → `sync_dir`.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

fn message(error: &(dyn std::error::Error + 'static)) -> String {
    error_chain(error)
}

impl From<atomic_store::Error> for Failure {
    fn from(error: atomic_store::Error) -> Self {
        let text = message(&error);
        let base = |kind| Failure::new(kind, text.clone()).at(error.path());
        match &error {
            atomic_store::Error::Io(io) => base("IoFailure").step(io.step).io(&io.source),
            atomic_store::Error::Symlink { .. } => base("SecretRefused"),
            atomic_store::Error::NotAFile { .. } => base("NotAFile"),
            atomic_store::Error::TooLarge { .. } => base("TooLarge"),
            atomic_store::Error::Decode { .. } => base("CorruptDocument"),
            atomic_store::Error::Encode { .. } => base("EncodeError"),
            atomic_store::Error::InvalidPath { .. } => base("InvalidPath"),
            _ => base("Error"),
        }
    }
}

impl From<jsonl_log::Error> for Failure {
    fn from(error: jsonl_log::Error) -> Self {
        let text = message(&error);
        let base = |kind| Failure::new(kind, text.clone()).at(error.path());
        match error {
            jsonl_log::Error::Io(ref io) => base("IoFailure").step(io.step).io(&io.source),
            jsonl_log::Error::Encode { .. } => base("EncodeError"),
            jsonl_log::Error::TooLarge { .. } => base("TooLarge"),
            jsonl_log::Error::Corrupt { .. } => base("CorruptDocument"),
            jsonl_log::Error::OffsetPastEnd { .. } => base("OffsetPastEnd"),
            jsonl_log::Error::NotAFile { .. } => base("NotAFile"),
            jsonl_log::Error::Rewrite(inner) => Failure { message: text, ..inner.into() },
            _ => base("Error"),
        }
    }
}

impl From<pidlock::Error> for Failure {
    fn from(error: pidlock::Error) -> Self {
        let text = message(&error);
        let base = |kind| Failure::new(kind, text.clone()).at(error.path());
        match error {
            pidlock::Error::Held { pid, .. } => Failure { pid, ..base("AlreadyRunning") },
            pidlock::Error::Io(ref io) => base("IoFailure").step(io.step).io(&io.source),
            pidlock::Error::Publish { source, .. } => Failure { message: text, ..source.into() },
            pidlock::Error::Symlink { .. } => base("SecretRefused"),
            pidlock::Error::NotAFile { .. } => base("NotAFile"),
            _ => base("Error"),
        }
    }
}

impl From<git_journal::Error> for Failure {
    fn from(error: git_journal::Error) -> Self {
        let text = message(&error);
        let base = |kind| Failure::new(kind, text.clone());
        match error {
            git_journal::Error::Excluded { ref path, .. } => base("SecretRefused").at(path),
            git_journal::Error::Undeclared { ref path } => base("Undeclared").at(path),
            git_journal::Error::InvalidPath { ref path, .. } => base("InvalidPath").at(path),
            git_journal::Error::BeyondSymlink { ref path, .. } => base("InvalidPath").at(path),
            git_journal::Error::SymlinkInGitDir { ref path } => base("GitFailure").at(path),
            git_journal::Error::InvalidPattern { .. } => base("InvalidValue"),
            git_journal::Error::NotAWorkTree { ref dir, .. } => base("GitFailure").at(dir),
            git_journal::Error::Locked { ref lock, .. } => base("Locked").at(lock),
            git_journal::Error::Git { step, ref path, .. } => {
                base("GitFailure").at(path).step(step)
            }
            git_journal::Error::Io(ref io) => {
                base("IoFailure").at(&io.path).step(io.step).io(&io.source)
            }
            git_journal::Error::Store(inner) => Failure { message: text, ..inner.into() },
            _ => base("GitFailure"),
        }
    }
}

impl From<ping_bucket::Error> for Failure {
    fn from(error: ping_bucket::Error) -> Self {
        let text = message(&error);
        let path = error.path().map(Path::to_path_buf);
        let base = |kind| Failure { path: path.clone(), ..Failure::new(kind, text.clone()) };
        match error {
            ping_bucket::Error::Store { source, .. } => Failure { message: text, ..source.into() },
            ping_bucket::Error::Corrupt { .. }
            | ping_bucket::Error::Foreign { .. }
            | ping_bucket::Error::InvalidState { .. } => base("CorruptDocument"),
            ping_bucket::Error::InvalidSetting { .. }
            | ping_bucket::Error::UnknownTimeZone { .. } => base("InvalidValue"),
            _ => base("Error"),
        }
    }
}

impl From<engine::Error> for Failure {
    fn from(error: engine::Error) -> Self {
        let text = message(&error);
        match error {
            engine::Error::Io(ref io) => {
                Failure::new("IoFailure", text.clone()).at(&io.path).step(io.step).io(&io.source)
            }
            engine::Error::NotADirectory { ref path } => {
                Failure::new("NotADataDirectory", text.clone()).at(path)
            }
            _ => Failure::new("Error", text),
        }
    }
}

impl From<dotdir::frontmatter::Error> for Failure {
    fn from(error: dotdir::frontmatter::Error) -> Self {
        let text = message(&error);
        Failure::new("Error", text)
    }
}

impl From<ollim::Error> for Failure {
    fn from(error: ollim::Error) -> Self {
        let text = message(&error);
        let with_text = |failure: Failure| Failure { message: text.clone(), ..failure };
        match error {
            ollim::Error::Store(inner) => with_text(inner.into()),
            ollim::Error::Log(inner) => with_text(inner.into()),
            ollim::Error::Pid(inner) => with_text(inner.into()),
            ollim::Error::Budget(inner) => with_text(inner.into()),
            ollim::Error::Git(inner) => with_text(inner.into()),
            ollim::Error::Spec(inner) => with_text(inner.into()),
            ollim::Error::Io(ref io) => {
                Failure::new("IoFailure", text.clone()).at(&io.path).step(io.step).io(&io.source)
            }
            ollim::Error::NotADirectory { ref path }
            | ollim::Error::NotADataDirectory { ref path, .. } => {
                Failure::new("NotADataDirectory", text.clone()).at(path)
            }
            ollim::Error::Invalid { ref path, .. } => {
                Failure::new("CorruptDocument", text.clone()).at(path)
            }
            ollim::Error::Refused { .. } | ollim::Error::TimeZone { .. } => {
                Failure::new("InvalidValue", text)
            }
            _ => Failure::new("Error", text),
        }
    }
}

/// Runs `work` with the GIL released (other Python threads run meanwhile) and raises its
/// failure as the matching Python exception.
pub(crate) fn detached<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Fallible<T> + Send,
{
    py.detach(work).map_err(|failure| failure.into_py(py))
}
