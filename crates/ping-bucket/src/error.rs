//! The one error type of the crate: what failed, and the state file it was about.

use std::path::{Path, PathBuf};

/// Everything that can go wrong with a ping budget.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, locking or writing the state file failed (the inner error names the step).
    #[error("ping budget {}", path.display())]
    Store {
        /// The state file.
        path: PathBuf,
        /// atomic-store's error, which names the failed step.
        #[source]
        source: dotdir_atomic_store::Error,
    },
    /// The state file is not valid JSON (a torn or hand-damaged file). It is left as it is; call
    /// [`crate::PingBudget::reset`] to replace it with defaults.
    #[error("ping budget {} is corrupt (not valid JSON)", path.display())]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// serde_json's description, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The state file is valid JSON but not a ping budget: a key is missing, unknown or of the
    /// wrong type. It is left as it is; call [`crate::PingBudget::reset`] to replace it.
    #[error("{} is not a ping budget state file", path.display())]
    Foreign {
        /// The state file.
        path: PathBuf,
        /// serde_json's description of the mismatch.
        #[source]
        source: serde_json::Error,
    },
    /// The state file has the right shape but a value this crate refuses: a capacity or rate
    /// below 1, a counter out of range, a `last_refill` without a UTC offset.
    #[error("ping budget {} has an invalid {field}: {reason}", path.display())]
    InvalidState {
        /// The state file.
        path: PathBuf,
        /// The key in the file.
        field: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// A setting passed by the caller is out of range (a capacity or refill rate of 0).
    #[error("invalid ping budget {setting} {value}: it must be at least 1")]
    InvalidSetting {
        /// `capacity` or `refill_rate_minutes`.
        setting: &'static str,
        /// The refused value.
        value: i64,
    },
    /// A time zone name (`OLLIM_TIMEZONE`) is not in the time zone database.
    #[error("unknown time zone {name:?}")]
    UnknownTimeZone {
        /// The name as given.
        name: String,
        /// jiff's description.
        #[source]
        source: jiff::Error,
    },
}

impl Error {
    /// The state file the error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Store { path, .. }
            | Error::Corrupt { path, .. }
            | Error::Foreign { path, .. }
            | Error::InvalidState { path, .. } => Some(path),
            Error::InvalidSetting { .. } | Error::UnknownTimeZone { .. } => None,
        }
    }

    /// True when the state file exists but cannot be used as it is ([`Error::Corrupt`],
    /// [`Error::Foreign`], [`Error::InvalidState`]): the case [`crate::PingBudget::reset`] is for.
    pub fn is_bad_state_file(&self) -> bool {
        matches!(self, Error::Corrupt { .. } | Error::Foreign { .. } | Error::InvalidState { .. })
    }

    /// Maps an atomic-store error, telling a corrupt file from a foreign one.
    pub(crate) fn from_store(path: &Path, source: dotdir_atomic_store::Error) -> Error {
        match source {
            dotdir_atomic_store::Error::Decode { source, .. } => {
                if source.is_data() {
                    Error::Foreign { path: path.to_owned(), source }
                } else {
                    Error::Corrupt { path: path.to_owned(), source }
                }
            }
            source => Error::Store { path: path.to_owned(), source },
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
