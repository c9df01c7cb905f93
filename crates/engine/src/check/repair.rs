//! The repairs of `check --fix`: each one loses nothing.

use super::*;
#[allow(unused_imports)]
use crate::IoError;

pub(super) fn apply(
    root: &Path,
    path: &Path,
    layout: &Layout,
    action: &Action,
    options: &Options,
) -> Result<String, Error> {
    match action {
        Action::Tighten { to } => {
            fs::set_permissions(path, fs::Permissions::from_mode(*to)).map_err(|source| {
                Error::Io(IoError { step: "change the mode of", path: path.to_path_buf(), source })
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
        Action::WriteGitignore => {
            // The journal's own block, as every writer of the layout keeps it (lines outside
            // it are kept), committed when the repository tracks `.gitignore`.
            let journal = open_journal(root, layout)
                .map_err(|source| Error::Git { path: root.to_path_buf(), source })?;
            let _ = journal
                .sync_gitignore()
                .map_err(|source| Error::Git { path: root.to_path_buf(), source })?;
            // Verified with git's own ignore stack, never claimed: a nested `.gitignore` or
            // git's configuration can still un-ignore a secret.
            let secrets: Vec<String> = layout
                .secrets()
                .filter_map(|e| sample_path(e.pattern.trim_start_matches('/')))
                .collect();
            for rel in secrets {
                if layout.entry_for(&rel).is_some_and(|e| e.secret)
                    && !journal.is_ignored(&rel).unwrap_or(false)
                {
                    return Err(Error::Unverified {
                        path: root.join(&rel),
                        message: format!(
                            "git still does not ignore it after .gitignore was rewritten: `git -C {} check-ignore -v --no-index {rel}` names the line that un-ignores it; remove that line",
                            root.display()
                        ),
                    });
                }
            }
            Ok("wrote the layout's block at the end of .gitignore".to_owned())
        }
        Action::CommitChanged => {
            let git_error = |source| Error::Git { path: root.to_path_buf(), source };
            let journal = open_journal(root, layout).map_err(git_error)?;
            let changed = journal.uncommitted().map_err(git_error)?;
            let _ = journal
                .commit_all_changed("dotdir check --fix: commit changes an interrupted write left")
                .map_err(git_error)?;
            Ok(format!(
                "committed {}",
                super::plural(changed.len(), "uncommitted path", "uncommitted paths")
            ))
        }
        Action::SetAsideRecord => {
            let git_error = |source| Error::Git { path: root.to_path_buf(), source };
            let aside = dotdir_git_journal::set_aside_pending_record(&root.join(".git"))
                .map_err(git_error)?;
            let journal = open_journal(root, layout).map_err(git_error)?;
            let changed = journal.uncommitted().map_err(git_error)?;
            let _ = journal
                .commit_all_changed("dotdir check --fix: commit what a damaged record named")
                .map_err(git_error)?;
            Ok(format!(
                "moved the damaged record aside ({}) and committed {} found by scanning",
                aside.map(|p| file_name(&p)).unwrap_or_default(),
                super::plural(changed.len(), "changed path", "changed paths")
            ))
        }
        Action::Untrack => {
            let untracked = untrack(root, layout, &[path.to_path_buf()])?;
            if let Some(still) = untracked.still_tracked.first() {
                return Err(Error::Unverified {
                    path: root.join(still),
                    message: "still tracked after `git rm --cached`".to_owned(),
                });
            }
            Ok(untracked.describe(layout, path.strip_prefix(root).unwrap_or(path)))
        }
    }
}

/// What one batched [`untrack`] did.
pub(super) struct Untracked {
    /// How many paths the commit untracked (`None`: nothing needed a commit).
    pub(super) committed: Option<usize>,
    /// The paths (relative) git's index or HEAD still holds afterwards.
    pub(super) still_tracked: Vec<PathBuf>,
}

impl Untracked {
    /// The repair line of one of the untracked paths.
    pub(super) fn describe(&self, layout: &Layout, rel: &Path) -> String {
        let secret = is_secret(layout, &rel.to_string_lossy());
        let mut what = match self.committed {
            Some(1) => "removed from git's index and committed (the file is kept)".to_owned(),
            Some(n) => format!(
                "removed from git's index, in one commit with the other {} (the file is kept)",
                super::plural(n - 1, "path", "paths")
            ),
            None => "no longer tracked by git".to_owned(),
        };
        if secret {
            what.push_str("; its old content stays in the history: rotate the secret");
        }
        what
    }
}

/// Removes `paths` (absolute, inside `root`) from git's index in one commit (`git rm --cached`;
/// the files stay), then re-reads git's index and HEAD: what is still tracked is named, never
/// claimed untracked.
pub(super) fn untrack(root: &Path, layout: &Layout, paths: &[PathBuf]) -> Result<Untracked, Error> {
    let git_error = |source| Error::Git { path: root.to_path_buf(), source };
    let journal = open_journal(root, layout).map_err(git_error)?;
    let rels: Vec<PathBuf> =
        paths.iter().map(|p| p.strip_prefix(root).unwrap_or(p).to_path_buf()).collect();
    let message = match rels.as_slice() {
        [one] => format!("untrack {}", one.display()),
        _ => {
            let mut message = format!(
                "dotdir check --fix: untrack {} git should not track\n",
                super::plural(rels.len(), "path", "paths")
            );
            for rel in &rels {
                message.push_str(&format!("\n{}", rel.display()));
            }
            message
        }
    };
    let commit = journal.untrack(paths, &message).map_err(git_error)?;
    let audit = journal.audit().map_err(git_error)?;
    let still_tracked = rels.iter().filter(|rel| audit.contains(rel)).cloned().collect();
    Ok(Untracked { committed: commit.map(|_| rels.len()), still_tracked })
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
