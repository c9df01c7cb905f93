//! Typed JSON documents: read, write and cross-process read-modify-write.

use crate::IoError;
use std::{
    ffi::OsStr,
    marker::PhantomData,
    path::{Path, PathBuf},
};

use serde::{Serialize, de::DeserializeOwned};

use crate::{
    Error, Result, Step, WriteOptions, Written, dir::parent_of, lock, python::PythonFormatter,
    read, sweep_temps, write,
};

/// The largest document read by default: 16 MiB. A larger file is an error, not an allocation.
pub const DEFAULT_MAX_DOCUMENT: u64 = 16 * 1024 * 1024;

/// How a document is laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JsonStyle {
    /// Byte for byte what Python's `json.dumps(obj)` writes (see the crate docs): for files shared
    /// with a Python implementation.
    Python,
    /// serde_json's compact form, no trailing newline.
    Compact,
    /// Two-space indentation and a trailing newline, for people who read the file.
    #[default]
    Pretty,
}

/// Serialises `value` in `style`.
pub fn to_json_bytes<T: Serialize + ?Sized>(
    value: &T,
    style: JsonStyle,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    match style {
        JsonStyle::Python => {
            value.serialize(&mut serde_json::Serializer::with_formatter(
                &mut out,
                PythonFormatter,
            ))?;
        }
        JsonStyle::Compact => serde_json::to_writer(&mut out, value)?,
        JsonStyle::Pretty => {
            serde_json::to_writer_pretty(&mut out, value)?;
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// A typed JSON document at a path: how it is laid out, how it is written, how large it may be.
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::{Document, JsonStyle};
/// let counter: Document<u64> = Document::open(dir.path().join("counter.json"))?.style(JsonStyle::Python);
/// assert_eq!(counter.update(|n| { *n += 1; *n })?, 1);
/// assert_eq!(counter.read()?, Some(1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Document<T> {
    path: PathBuf,
    style: JsonStyle,
    options: WriteOptions,
    max_size: u64,
    _type: PhantomData<fn() -> T>,
}

impl<T> Document<T> {
    /// A document at `path` with the default style ([`JsonStyle::Pretty`]), durable writes and the
    /// default size cap. Touches nothing on disk.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            style: JsonStyle::default(),
            options: WriteOptions::default(),
            max_size: DEFAULT_MAX_DOCUMENT,
            _type: PhantomData,
        }
    }

    /// Like [`Document::new`], and sweeps temporary files a killed writer left next to it.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let document = Self::new(path);
        document.sweep_temps()?;
        Ok(document)
    }

    /// Sets the on-disk layout.
    #[must_use]
    pub fn style(mut self, style: JsonStyle) -> Self {
        self.style = style;
        self
    }

    /// Sets the write options (durability, mode, skip-unchanged).
    #[must_use]
    pub fn options(mut self, options: WriteOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the largest size read, in bytes.
    #[must_use]
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// The document's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options its writes use.
    pub fn write_options(&self) -> &WriteOptions {
        &self.options
    }

    /// Removes abandoned temporary files of this document (see [`sweep_temps`]).
    pub fn sweep_temps(&self) -> Result<Vec<PathBuf>> {
        sweep_temps(parent_of(&self.path)?, self.path.file_name().map(OsStr::new))
    }

    /// The current content as raw bytes; `None` when the file does not exist.
    pub fn read_bytes(&self) -> Result<Option<Vec<u8>>> {
        read(&self.path, self.max_size)
    }
}

impl<T: DeserializeOwned> Document<T> {
    /// Reads and decodes the document; `None` when the file does not exist. Content that does not
    /// parse, is not UTF-8, nests deeper than 128 levels or exceeds the size cap is an error.
    pub fn read(&self) -> Result<Option<T>> {
        let Some(bytes) = self.read_bytes()? else { return Ok(None) };
        self.decode(&bytes).map(Some)
    }

    fn decode(&self, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|source| Error::Decode {
            path: self.path.clone(),
            // serde echoes the offending value ("invalid type: string \"t0ken\""): a secret's
            // error says where and what kind of mistake, never what.
            source: if self.options.mode.is_secret() { redacted(&source) } else { source },
        })
    }
}

/// `error` without any of the document's content: its kind, line and column only. For errors
/// about secret documents, which would otherwise echo a value (serde's "invalid type: string
/// \"…\"").
pub fn redacted(error: &serde_json::Error) -> serde_json::Error {
    use serde::de::Error as _;
    let what = match error.classify() {
        serde_json::error::Category::Io => "cannot be read",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Data => "has a field of the wrong type, value or name",
        serde_json::error::Category::Eof => "ends early",
    };
    serde_json::Error::custom(format!(
        "{what} at line {} column {} (the value is not shown: the file is a secret)",
        error.line(),
        error.column()
    ))
}

impl<T: Serialize> Document<T> {
    /// Atomically replaces the document with `value`.
    pub fn write(&self, value: &T) -> Result<Written> {
        let bytes = to_json_bytes(value, self.style)
            .map_err(|source| Error::Encode { path: self.path.clone(), source })?;
        write(&self.path, &bytes, &self.options)
    }
}

impl<T: Serialize + DeserializeOwned + Default> Document<T> {
    /// Read-modify-write under the document's cross-process lock ([`lock`]): reads the current
    /// value (the default when the file is missing), lets `change` modify it, writes it back when
    /// it changed, and returns what `change` returned. Concurrent updaters in any process never
    /// lose each other's update. A document that does not decode is an error, never reset.
    ///
    /// An `Err` means the document was not changed — a write that fails after its file was
    /// renamed into place (syncing the directory) is undone — so retrying is always safe.
    pub fn update<R>(&self, change: impl FnOnce(&mut T) -> R) -> Result<R> {
        self.try_update(|value| Ok::<R, std::convert::Infallible>(change(value))).map(|r| match r {
            Ok(r) => r,
        })
    }

    /// Like [`Document::update`], but `change` may refuse: when it returns `Err`, nothing is
    /// written and the error is handed back in the inner `Result`.
    pub fn try_update<R, E>(
        &self,
        change: impl FnOnce(&mut T) -> Result<R, E>,
    ) -> Result<Result<R, E>> {
        let _guard = lock(&self.path)?;
        let original = self.read_bytes()?;
        let mut value = match &original {
            Some(bytes) => self.decode(bytes)?,
            None => T::default(),
        };
        let outcome = match change(&mut value) {
            Ok(outcome) => outcome,
            Err(refused) => return Ok(Err(refused)),
        };
        let bytes = to_json_bytes(&value, self.style)
            .map_err(|source| Error::Encode { path: self.path.clone(), source })?;
        if original.as_deref() != Some(bytes.as_slice())
            && let Err(error) = write(&self.path, &bytes, &self.options)
        {
            self.undo(original.as_deref(), &error);
            return Err(error);
        }
        Ok(Ok(outcome))
    }

    /// After a write that failed syncing the directory, when the new file may already be in
    /// place, puts the original back (best effort, still under the lock): an `Err` from an
    /// update then means "not changed", so retrying it never applies the change twice.
    fn undo(&self, original: Option<&[u8]>, error: &Error) {
        if !matches!(error, Error::Io(IoError { step: Step::SyncDir, .. })) {
            return;
        }
        let _ = match original {
            Some(bytes) => write(&self.path, bytes, &self.options).map(|_| ()),
            None => crate::remove(&self.path, self.options.durability).map(|_| ()),
        };
    }
}
