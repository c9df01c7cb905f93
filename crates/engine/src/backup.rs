//! Which files of a data directory a backup keeps, from the layout's backup rules, and the
//! archive itself ([`crate::archive`]: write, verify, restore).
//!
//! Deny by default: what goes in is what the layout declares and does not mark re-creatable,
//! ephemeral or never — declared user data and salvaged `.corrupt` files (the only copy of
//! those bytes). Paths the layout does not know stay out and are listed
//! ([`SkipReason::Undeclared`]): an unknown `.env` or `token.json.bak` is reported, never
//! shipped. Secrets, a file sharing its inode with a secret (a hard link), re-creatable caches,
//! ephemeral state, temporary and lock files, and `.git` stay out: the journal's history may
//! hold a secret committed before it was untracked, and a backup never carries one (move
//! history with git itself).
//!
//! ```
//! # fn main() -> Result<(), dotdir_engine::Error> {
//! use dotdir_engine::{Backup, Entry, Format, Layout, backup};
//! const APP: Layout = Layout::new(
//!     "app",
//!     "an app",
//!     &[
//!         Entry::file("token.json", Format::Json, "an API token").secret(),
//!         Entry::dir("cache", "a cache").backup(Backup::Recreatable),
//!         Entry::file("notes/*.md", Format::Text, "a note"),
//!     ],
//! );
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir_all(dir.path().join("notes")).unwrap();
//! std::fs::create_dir_all(dir.path().join("cache")).unwrap();
//! std::fs::write(dir.path().join("notes/a.md"), "hello").unwrap();
//! std::fs::write(dir.path().join("cache/blob"), "re-creatable").unwrap();
//! std::fs::write(dir.path().join("token.json"), "\"s3cr3t\"").unwrap();
//!
//! let selection = backup::select(dir.path(), &APP)?;
//! let kept: Vec<_> = selection.files.iter().map(|f| f.relative.as_str()).collect();
//! assert_eq!(kept, ["notes/a.md"]);
//! # Ok(()) }
//! ```

use std::{
    collections::HashSet,
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use crate::{
    Backup, Error, Layout,
    inspect::{self, Node, NodeKind, Role, Tree, dir_pattern},
};

/// Why a path stays out of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A secret: never backed up, never leaked.
    Secret,
    /// Re-creatable (a cache, an environment, a symlink).
    Recreatable,
    /// Ephemeral state (a pid record, a TTL map).
    Ephemeral,
    /// It cannot be read by this process.
    Unreadable,
    /// Git's own files (history may hold what the exclusion list forbids).
    Git,
    /// A temporary or lock file.
    Transient,
    /// A path the layout does not declare: reported, never shipped.
    Undeclared,
}

impl SkipReason {
    /// A short label: `secret`, `re-creatable`, `ephemeral`, `unreadable`, `git`, `transient`,
    /// `undeclared`.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Secret => "secret",
            SkipReason::Recreatable => "re-creatable",
            SkipReason::Ephemeral => "ephemeral",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Git => "git",
            SkipReason::Transient => "transient",
            SkipReason::Undeclared => "undeclared",
        }
    }
}

/// A file that goes into the backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The path relative to the data directory, `/`-separated, for people (lossy when the
    /// name is not UTF-8).
    pub relative: String,
    /// The exact relative path, byte for byte: its name in the archive.
    pub name: PathBuf,
    /// An append-only log (JSON Lines): archived up to its last complete line, so a record
    /// being appended while the backup reads (or a crash's torn tail) never goes in as data.
    pub complete_lines: bool,
    /// The full path.
    pub path: PathBuf,
    /// Size in bytes when it was selected.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Last modification, seconds since the epoch.
    pub modified: i64,
}

/// A path that stays out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The path relative to the data directory.
    pub relative: String,
    /// Why it is skipped.
    pub reason: SkipReason,
}

/// What a backup of a data directory contains.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The data directory.
    pub root: PathBuf,
    /// The layout's name.
    pub layout: &'static str,
    /// The files that go in, in walk order.
    pub files: Vec<Selected>,
    /// The top-most paths that stay out (a skipped directory stands for its contents).
    pub skipped: Vec<Skipped>,
}

impl Selection {
    /// Total size of the selected files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Selects the files of `root` that a backup keeps under `layout`'s rules.
pub fn select(root: &Path, layout: &Layout) -> Result<Selection, Error> {
    Ok(select_tree(&inspect::inspect(root, layout)?))
}

/// Selects from an already classified tree.
pub fn select_tree(tree: &Tree) -> Selection {
    let mut files = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    // A hard link to a secret is the secret under another name.
    let secret_inodes: HashSet<(u64, u64)> = tree
        .nodes
        .iter()
        .filter(|n| {
            n.kind == NodeKind::File && (n.is_secret() || under_secret(&n.relative, &tree.layout))
        })
        .filter_map(|n| fs::symlink_metadata(&n.path).ok().map(|m| (m.dev(), m.ino())))
        .collect();
    for node in &tree.nodes {
        // A skipped directory stands for everything below it.
        if skipped.iter().any(|s| node.relative.starts_with(&format!("{}/", s.relative))) {
            continue;
        }
        let keep = |path: &Path,
                    relative: String,
                    files: &mut Vec<Selected>,
                    skipped: &mut Vec<Skipped>| {
            let Ok(meta) = fs::symlink_metadata(path) else { return };
            if meta.nlink() > 1 && secret_inodes.contains(&(meta.dev(), meta.ino())) {
                skipped.push(Skipped { relative, reason: SkipReason::Secret });
                return;
            }
            files.push(Selected {
                relative,
                name: path.strip_prefix(&tree.root).unwrap_or(path).to_path_buf(),
                complete_lines: node.entry.is_some_and(|e| e.format == crate::Format::Jsonl),
                path: path.to_path_buf(),
                size: meta.len(),
                mode: meta.mode() & 0o7777,
                modified: meta.mtime(),
            });
        };
        match decide(node, &tree.layout) {
            Decision::Keep => keep(&node.path, node.relative.clone(), &mut files, &mut skipped),
            Decision::Descend => {}
            Decision::Skip(reason) => {
                skipped.push(Skipped { relative: node.relative.clone(), reason });
            }
        }
    }
    Selection { root: tree.root.clone(), layout: tree.layout.name, files, skipped }
}

enum Decision {
    Keep,
    Descend,
    Skip(SkipReason),
}

fn decide(node: &Node, layout: &Layout) -> Decision {
    // Defence in depth: whatever entry matched first, a path any secret pattern covers never
    // goes in.
    if node.is_secret() || under_secret(&node.relative, layout) {
        return Decision::Skip(SkipReason::Secret);
    }
    if node.unreadable.is_some() {
        return Decision::Skip(SkipReason::Unreadable);
    }
    if node.kind == NodeKind::Symlink {
        return Decision::Skip(SkipReason::Recreatable);
    }
    match (node.role, node.kind) {
        (Role::GitDir, _) => return Decision::Skip(SkipReason::Git),
        (Role::Temp { .. } | Role::LockSidecar, _) => {
            return Decision::Skip(SkipReason::Transient);
        }
        (Role::Unknown, _) => return Decision::Skip(SkipReason::Undeclared),
        // Salvaged bytes: the only copy of what `--fix` set aside.
        (Role::SetAside, NodeKind::File) => return Decision::Keep,
        (Role::Container, _) => return Decision::Descend,
        _ => {}
    }
    match node.entry.map(|e| e.backup) {
        Some(Backup::Recreatable) => return Decision::Skip(SkipReason::Recreatable),
        Some(Backup::Ephemeral) => return Decision::Skip(SkipReason::Ephemeral),
        Some(Backup::Never) => return Decision::Skip(SkipReason::Secret),
        _ => {}
    }
    match node.kind {
        NodeKind::Dir => Decision::Descend,
        NodeKind::File if node.backed_up() => Decision::Keep,
        NodeKind::File => Decision::Skip(SkipReason::Ephemeral),
        _ => Decision::Skip(SkipReason::Transient),
    }
}

fn under_secret(relative: &str, layout: &Layout) -> bool {
    let base = relative.strip_suffix(".corrupt").unwrap_or(relative);
    layout.secrets().any(|secret| {
        secret.matches(base)
            || secret.matches(relative)
            || (secret.kind == crate::Kind::Dir && is_below(dir_pattern(secret.pattern), base))
    })
}

/// Whether `relative` lies below a directory matching `pattern`.
fn is_below(pattern: &str, relative: &str) -> bool {
    let mut prefix = String::new();
    for component in relative.split('/') {
        if !prefix.is_empty() && dotdir_git_journal::glob_match(pattern, &prefix) {
            return true;
        }
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(component);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_secret_dirs() {
        assert!(is_below("oauth", "oauth/codex.json"));
        assert!(is_below("a/*", "a/b/c"));
        assert!(!is_below("oauth", "oauth"));
        assert!(!is_below("oauth", "oauthx/a"));
    }
}
