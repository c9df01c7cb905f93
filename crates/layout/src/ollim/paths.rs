//! Where the data directory is: `$OLLIM_DATA_DIR`, else `~/.ollim-bot`.

use std::{
    ffi::OsStr,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use crate::ollim::{Error, Result};

/// The environment variable that relocates the data directory.
pub const DATA_DIR_VAR: &str = "OLLIM_DATA_DIR";

/// The name of the data directory under the home directory.
pub const DEFAULT_DIR_NAME: &str = ".ollim-bot";

/// The `state/` subdirectory.
pub const STATE_DIR_NAME: &str = "state";

/// The data directory from the process environment: `$OLLIM_DATA_DIR`, else `$HOME/.ollim-bot`.
/// See [`data_dir_from`] for the rules.
pub fn resolve_data_dir() -> Result<PathBuf> {
    let ollim = std::env::var_os(DATA_DIR_VAR);
    let home = std::env::var_os("HOME");
    data_dir_from(ollim.as_deref(), home.as_deref())
}

/// The data directory given the values of `OLLIM_DATA_DIR` and `HOME`.
///
/// - `OLLIM_DATA_DIR` set: it must be an absolute path; `~` and `~/…` are expanded with `HOME`
///   (a shell does it for unquoted values, a systemd unit or `.env` file does not). An empty,
///   blank or relative value is an error, never silently the current directory.
/// - Otherwise `HOME` must be set to an absolute path, and the directory is `$HOME/.ollim-bot`.
pub fn data_dir_from(ollim_data_dir: Option<&OsStr>, home: Option<&OsStr>) -> Result<PathBuf> {
    let refuse = |source_name, value: &OsStr, reason| Error::DataDir {
        source_name,
        value: value.to_string_lossy().into_owned(),
        reason,
    };
    let home_dir = || -> Result<PathBuf> {
        let home = home.ok_or_else(|| refuse("HOME", OsStr::new(""), "HOME is not set"))?;
        if home.as_bytes().iter().all(u8::is_ascii_whitespace) {
            return Err(refuse("HOME", home, "HOME is empty"));
        }
        if !Path::new(home).is_absolute() {
            return Err(refuse("HOME", home, "HOME must be an absolute path"));
        }
        Ok(PathBuf::from(home))
    };
    let Some(value) = ollim_data_dir else {
        return Ok(home_dir()?.join(DEFAULT_DIR_NAME));
    };
    let bytes = value.as_bytes();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(refuse(
            DATA_DIR_VAR,
            value,
            "the value is empty; unset it to use ~/.ollim-bot",
        ));
    }
    if bytes.contains(&0) {
        return Err(refuse(DATA_DIR_VAR, value, "the value contains a NUL byte"));
    }
    let path = if bytes == b"~" {
        home_dir()?
    } else if let Some(rest) = bytes.strip_prefix(b"~/") {
        home_dir()?.join(OsStr::from_bytes(rest))
    } else {
        PathBuf::from(value)
    };
    if !path.is_absolute() {
        return Err(refuse(
            DATA_DIR_VAR,
            value,
            "must be an absolute path (a relative one would depend on the working directory)",
        ));
    }
    Ok(path)
}
