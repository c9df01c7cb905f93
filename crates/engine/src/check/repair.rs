//! The repairs of `check --fix`: each one loses nothing.

use crate::Step;
use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::Path,
    time::{Duration, SystemTime},
};

use dotdir_atomic_store::{self as store, JsonStyle};
use serde_json::Value;

use super::{
    Options,
    content::{cutoff, is_expired, pid_lock},
    problem::Action,
};
use crate::{Error, IoError, Layout};

pub(super) fn apply(
    root: &Path,
    path: &Path,
    layout: &Layout,
    action: &Action,
    options: &Options,
) -> Result<String, Error> {
    #[cfg(not(feature = "git"))]
    let _ = (root, layout);
    match action {
        Action::Tighten { to } => {
            fs::set_permissions(path, fs::Permissions::from_mode(*to)).map_err(|source| {
                Error::Io(IoError { step: Step::SetMode, path: path.to_path_buf(), source })
            })?;
            Ok(format!("mode set to {to:04o}"))
        }
        Action::RemoveStaleLock => {
            // Reclaim under the OS lock, as a starter would, then release: the stale record is
            // judged and removed by exactly one process, never while a holder runs.
            let guard = pid_lock(path, options)
                .acquire()
                .map_err(|source| Error::Lock { path: path.to_path_buf(), source })?;
            let previous = match guard.previous() {
                dotdir_pidlock::Previous::Dead(pid) => format!("pid {pid} was gone"),
                dotdir_pidlock::Previous::Reused(pid) => {
                    format!("pid {pid} belonged to another program")
                }
                dotdir_pidlock::Previous::InvalidPid(pid) => format!("{pid} is not a pid"),
                dotdir_pidlock::Previous::Corrupt => "the record was corrupt".to_owned(),
                _ => "the record was stale".to_owned(),
            };
            guard.release().map_err(|source| Error::Lock { path: path.to_path_buf(), source })?;
            Ok(format!("reclaimed the stale lock ({previous}) and removed the record"))
        }
        Action::RemoveTemp => {
            let bytes = fs::symlink_metadata(path).map(|m| m.len()).unwrap_or(0);
            let _ = store::remove(path, store::Durability::Full)
                .map_err(|source| Error::Store { path: path.to_path_buf(), source })?;
            Ok(format!(
                "removed the abandoned temporary file a killed writer left: {} ({bytes} bytes)",
                path.display()
            ))
        }
        Action::RemoveStaging { bytes } => {
            // Judged again under the lock every restore holds on the parent directory.
            let (parent, name) = match (path.parent(), path.file_name()) {
                (Some(parent), Some(name)) => (parent, name),
                _ => return Err(Error::NotADirectory { path: path.to_path_buf() }),
            };
            use std::os::unix::ffi::OsStrExt;
            let target = std::ffi::OsStr::from_bytes(
                name.as_bytes()
                    .strip_prefix(b".")
                    .and_then(|n| n.strip_suffix(crate::leftover::STAGING_SUFFIX.as_bytes()))
                    .unwrap_or_default(),
            );
            let removed = crate::leftover::sweep(parent, Some(target))?;
            if !removed.iter().any(|l| l.path == path) {
                return Err(Error::Unverified {
                    path: path.to_path_buf(),
                    message: "not removed: a restore runs in its directory now".to_owned(),
                });
            }
            Ok(format!(
                "removed a partial copy a killed restore left: {} ({bytes} bytes)",
                path.display()
            ))
        }
        Action::SetAsideLines => set_aside_lines(path),
        Action::Prune { ttl } => prune(path, options.now, *ttl),
        #[cfg(feature = "git")]
        Action::WriteGitignore
        | Action::CommitChanged
        | Action::SetAsideRecord
        | Action::Untrack => super::git::repair(root, path, layout, action),
    }
}

/// Moves the torn tail and corrupt lines of a JSON Lines file to `<name>.corrupt` through the
/// log's own repair (under its append lock), keeping every good line byte for byte.
pub(super) fn set_aside_lines(path: &Path) -> Result<String, Error> {
    let log = dotdir_jsonl_log::Log::<Value>::new(path);
    let rewrite = log.repair().map_err(|source| Error::Log { path: path.to_path_buf(), source })?;
    let bytes: u64 = rewrite.quarantined.iter().map(|p| p.len).sum();
    let mut what = format!(
        "moved {} ({}) to {}; {} kept",
        super::plural(rewrite.quarantined.len(), "line", "lines"),
        super::plural(bytes, "byte", "bytes"),
        file_name(&log.corrupt_path()),
        super::plural(rewrite.kept, "record", "records")
    );
    if rewrite.blank > 0 {
        what.push_str(&format!(
            "; dropped {}",
            super::plural(rewrite.blank, "blank line", "blank lines")
        ));
    }
    Ok(what)
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

pub(super) fn prune(path: &Path, now: SystemTime, ttl: Duration) -> Result<String, Error> {
    let bytes = store::read(path, store::DEFAULT_MAX_DOCUMENT)
        .map_err(|source| Error::Store { path: path.to_path_buf(), source })?
        .unwrap_or_default();
    let style = guess_style(&bytes);
    let document = store::Document::<Value>::new(path).style(style);
    let cutoff = cutoff(now, ttl);
    let removed = document
        .update(|value| match value {
            Value::Array(records) => {
                let before = records.len();
                records.retain(|r| !is_expired(r, cutoff));
                before - records.len()
            }
            Value::Object(map) => {
                let before = map.len();
                map.retain(|_, r| !is_expired(r, cutoff));
                before - map.len()
            }
            _ => 0,
        })
        .map_err(|source| Error::Store { path: path.to_path_buf(), source })?;
    Ok(format!("pruned {}", super::plural(removed, "expired record", "expired records")))
}

/// The style an existing JSON file was written in, so a rewrite keeps it.
pub(super) fn guess_style(bytes: &[u8]) -> JsonStyle {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("\n  ") {
        JsonStyle::Pretty
    } else if text.contains(", ") || text.contains(": ") {
        JsonStyle::Python
    } else {
        JsonStyle::Compact
    }
}
