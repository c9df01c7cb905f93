//! The crate's error type, the position-carrying parse error, and the problems a listing reports.

use crate::IoError;
use std::{
    fmt, io,
    path::{Path, PathBuf},
};

/// Why a spec file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The file is larger than [`Limits::max_file_bytes`](crate::Limits::max_file_bytes).
    FileTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The front matter is larger than
    /// [`Limits::max_front_matter_bytes`](crate::Limits::max_front_matter_bytes).
    FrontMatterTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The file is not valid UTF-8.
    NotUtf8,
    /// The file does not start with a `---` line (after an optional BOM).
    MissingFrontMatter,
    /// The opening `---` line has no closing `---` line.
    Unclosed,
    /// The YAML nests deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    TooDeep {
        /// The cap on nesting levels.
        limit: usize,
    },
    /// The YAML uses more aliases (`*name`) than
    /// [`Limits::max_aliases`](crate::Limits::max_aliases) allows.
    TooManyAliases {
        /// The cap on aliases.
        limit: usize,
    },
    /// The YAML does not parse; the backend's description.
    Yaml(String),
    /// The same key appears twice in one mapping.
    DuplicateKey(String),
    /// A mapping key is longer than [`MAX_KEY_CHARS`](crate::MAX_KEY_CHARS) characters: written
    /// back quoted and escaped it could exceed YAML's 1,024-character limit for keys, and the
    /// saved file would no longer parse.
    KeyTooLong {
        /// The first characters of the key.
        start: String,
    },
    /// The front matter is not a mapping (a list, a scalar).
    NotAMapping,
    /// A field has the wrong type or a required field is missing; `key` is the front-matter key
    /// (`None` for a missing field or a problem of the whole mapping).
    Field {
        /// The key whose value is wrong, as it is spelled in the file.
        key: Option<String>,
        /// serde's description.
        message: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::FileTooLarge { limit } => write!(f, "file is larger than {limit} bytes"),
            Reason::FrontMatterTooLarge { limit } => {
                write!(f, "front matter is larger than {limit} bytes")
            }
            Reason::NotUtf8 => f.write_str("file is not valid UTF-8"),
            Reason::MissingFrontMatter => {
                f.write_str("missing front matter: the file must start with a `---` line")
            }
            Reason::Unclosed => f.write_str("front matter is not closed by a `---` line"),
            Reason::TooDeep { limit } => write!(f, "YAML nests deeper than {limit} levels"),
            Reason::TooManyAliases { limit } => write!(
                f,
                "YAML uses more than {limit} aliases (`*name`); a value starting with `*`, \
                 such as a cron expression, must be quoted"
            ),
            Reason::Yaml(message) => write!(f, "invalid YAML: {message}"),
            Reason::DuplicateKey(key) => write!(f, "duplicate key `{key}`"),
            Reason::KeyTooLong { start } => {
                write!(f, "a key longer than {} characters (`{start}…`)", crate::MAX_KEY_CHARS)
            }
            Reason::NotAMapping => f.write_str("front matter is not a mapping"),
            Reason::Field { key: Some(key), message } => write!(f, "field `{key}`: {message}"),
            Reason::Field { key: None, message } => f.write_str(message),
        }
    }
}

/// A spec file that does not parse: the file, the 1-based line and column, and the reason.
///
/// Parsing from bytes (not from a file) leaves `path` empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file (empty when the input did not come from a file).
    pub path: PathBuf,
    /// 1-based line in the whole file (not in the front matter).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub reason: Reason,
}

impl ParseError {
    pub(crate) fn new(line: usize, column: usize, reason: Reason) -> Self {
        Self { path: PathBuf::new(), line, column, reason }
    }

    pub(crate) fn at(mut self, path: &Path) -> Self {
        self.path = path.to_path_buf();
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.as_os_str().is_empty() {
            "<input>".into()
        } else {
            self.path.display().to_string()
        };
        write!(f, "{path}:{}:{}: {}", self.line, self.column, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A spec file does not parse (file, line, column, reason).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Reading or listing failed.
    #[error(transparent)]
    Io(#[from] IoError<dotdir_atomic_store::Step>),
    /// An atomic write, lock or capped read through `dotdir-atomic-store` failed.
    #[error(transparent)]
    Store(#[from] dotdir_atomic_store::Error),
    /// A skill name or a spec id that cannot name a file safely (`..`, `/`, empty, hidden, NUL).
    #[error("refusing the name {name:?} for {}: {reason}", dir.display())]
    InvalidName {
        /// The directory the name was meant for.
        dir: PathBuf,
        /// The refused name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A write or removal by id met a spec file it could not read (an I/O error such as `EIO`
    /// or `EACCES`, not a corrupt file): that file might hold the id, so going on could leave
    /// two files with one id, or report a removal while the spec stays. Nothing was changed. A
    /// get returns it when no readable file holds the id (the unreadable one might). A listing
    /// reports the same entry as [`SpecProblem::Unreadable`].
    #[error("cannot {action} the spec {id:?}: {} could not be read and might hold it", path.display())]
    UnreadableEntry {
        /// `"get"`, `"write"` or `"remove"`.
        action: &'static str,
        /// The id being written or removed.
        id: String,
        /// The entry that could not be read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The spec type cannot be used as front matter (it does not serialise as a mapping, the body
    /// field is not a string, a value cannot be represented).
    #[error("cannot write a spec to {}: {reason}", path.display())]
    Encode {
        /// The target file (empty when rendering to bytes).
        path: PathBuf,
        /// What could not be represented.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something wrong with one entry of a directory; the listing skips the entry and goes on.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpecProblem {
    /// The file does not parse.
    Corrupt(ParseError),
    /// The entry could not be read (permissions, a directory named `x.md`, a dangling symlink, a
    /// file over the size cap).
    Unreadable {
        /// The entry.
        path: PathBuf,
        /// Why.
        error: Error,
    },
    /// Several files carry the same `id`; all of them are listed, in file-name order.
    DuplicateId {
        /// The shared id.
        id: String,
        /// The files, in file-name order.
        paths: Vec<PathBuf>,
    },
    /// A skill whose front-matter `name` differs from its directory (listed all the same).
    NameMismatch {
        /// The `SKILL.md` file.
        path: PathBuf,
        /// The name in its front matter.
        name: String,
    },
}

impl SpecProblem {
    /// The file the problem is about (the first file for a duplicate id).
    pub fn path(&self) -> &Path {
        match self {
            SpecProblem::Corrupt(e) => &e.path,
            SpecProblem::Unreadable { path, .. } | SpecProblem::NameMismatch { path, .. } => path,
            SpecProblem::DuplicateId { paths, .. } => paths.first().map_or(Path::new(""), |p| p),
        }
    }
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecProblem::Corrupt(e) => write!(f, "skipping corrupt file {e}"),
            SpecProblem::Unreadable { path, error } => {
                write!(f, "skipping unreadable entry {}: {error}", path.display())
            }
            SpecProblem::DuplicateId { id, paths } => {
                write!(f, "id {id:?} is used by {} files:", paths.len())?;
                for path in paths {
                    write!(f, " {}", path.display())?;
                }
                Ok(())
            }
            SpecProblem::NameMismatch { path, name } => {
                write!(f, "{} names the skill {name:?}, not its directory", path.display())
            }
        }
    }
}
