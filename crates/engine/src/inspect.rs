//! Classifies a data directory against a declared [`Layout`]: every file, directory and
//! symlink with the entry that describes it (role, secrecy, git tracking, backup, retention),
//! or why the layout does not know it. `dotdir inspect`, `dotdir check` and `dotdir backup` all
//! start from this walk.
//!
//! ```
//! # fn main() -> Result<(), dotdir_engine::Error> {
//! use dotdir_engine::{Entry, Format, Layout, inspect};
//! const NOTES: Layout = Layout::new(
//!     "notes",
//!     "a notes app",
//!     &[Entry::file("notes/*.md", Format::Text, "a note")],
//! );
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir(dir.path().join("notes")).unwrap();
//! std::fs::write(dir.path().join("notes/a.md"), "hello").unwrap();
//! std::fs::write(dir.path().join("stray.bin"), "?").unwrap();
//! let tree = inspect::inspect(dir.path(), &NOTES)?;
//! let roles: Vec<_> = tree.nodes.iter().map(|n| (n.relative.as_str(), n.role.label())).collect();
//! assert_eq!(roles, [("notes", "container"), ("notes/a.md", "declared"), ("stray.bin", "unknown")]);
//! # Ok(()) }
//! ```

use crate::IoError;
use crate::Step;
use std::{
    collections::HashMap,
    ffi::OsStr,
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
};

use crate::{Backup, Entry, Error, Git, Kind, Layout};
use dotdir_git_journal::glob_match;

pub use crate::fit::{Fit, enclosing, fit, home_dirs, is_home_or_root};

/// What kind of filesystem object a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// A socket, fifo or device.
    Other,
}

impl NodeKind {
    /// `file`, `dir`, `symlink` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::File => "file",
            NodeKind::Dir => "dir",
            NodeKind::Symlink => "symlink",
            NodeKind::Other => "other",
        }
    }
}

/// Why a node is where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// Described by a declared entry ([`Node::entry`]).
    Declared,
    /// A directory the layout does not declare but that holds declared entries (`state/`).
    Container,
    /// The git repository (`.git/`), not descended into.
    GitDir,
    /// The `.gitignore` derived from the layout.
    Gitignore,
    /// A temporary file left by a writer (dotdir's `.<name>.<pid>.<rand>.dotdir-tmp`, or
    /// Python's `tmpXXXXXXXX.tmp`).
    Temp {
        /// The writer, when the name records it.
        writer_pid: Option<u32>,
        /// The pid namespace that pid is counted in, when the name records it.
        writer_ns: Option<u64>,
    },
    /// A sidecar lock file (`<name>.lock`) of a read-modify-write.
    LockSidecar,
    /// Bytes set aside by `dotdir check --fix` (`<name>.corrupt`).
    SetAside,
    /// Something the layout does not know.
    Unknown,
}

impl Role {
    /// A short stable label: `declared`, `container`, `git`, `gitignore`, `temp`, `lock`,
    /// `set-aside`, `unknown`.
    pub fn label(self) -> &'static str {
        match self {
            Role::Declared => "declared",
            Role::Container => "container",
            Role::GitDir => "git",
            Role::Gitignore => "gitignore",
            Role::Temp { .. } => "temp",
            Role::LockSidecar => "lock",
            Role::SetAside => "set-aside",
            Role::Unknown => "unknown",
        }
    }
}

/// The contents of a directory that is summarised instead of listed (a re-creatable cache,
/// an unknown directory, `.git`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Files below the directory (at any depth).
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// One file, directory or symlink of the data directory.
#[derive(Debug, Clone)]
pub struct Node {
    /// The path relative to the data directory, `/`-separated (lossy for non-UTF-8 names).
    pub relative: String,
    /// The full path.
    pub path: PathBuf,
    /// Depth below the data directory (top-level entries are 1).
    pub depth: usize,
    /// File, directory, symlink.
    pub kind: NodeKind,
    /// Size in bytes (files), or the link's own size.
    pub size: u64,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// Last modification, seconds since the epoch.
    pub modified: i64,
    /// Why the node is here.
    pub role: Role,
    /// The entry that describes it (for [`Role::Declared`], and for set-aside files and lock
    /// sidecars the entry of the file they belong to).
    pub entry: Option<&'static Entry>,
    /// The declared entry matched this path itself, not through a declared parent directory.
    pub direct: bool,
    /// For a directory whose contents are not listed: what is inside.
    pub summary: Option<Summary>,
    /// For a symlink: where it points.
    pub link_target: Option<PathBuf>,
    /// Why the node cannot be read by this process (a directory that cannot be listed, a file
    /// that cannot be opened), when it cannot: the walk goes on past it.
    pub unreadable: Option<String>,
}

impl Node {
    /// Whether the node is a secret (declared secret, or inside a secret directory).
    pub fn is_secret(&self) -> bool {
        self.entry.is_some_and(|e| e.secret)
    }

    /// The node's kind does not match its entry's (a declared file that is a directory, a
    /// secret that is a symlink, …).
    pub fn wrong_kind(&self) -> bool {
        let Some(entry) = self.entry else { return false };
        if self.role != Role::Declared {
            return false;
        }
        match entry.kind {
            // A `**` pattern also matches the directories that hold its files.
            Kind::File => {
                self.kind != NodeKind::File
                    && !(self.kind == NodeKind::Dir && entry.pattern.contains("**"))
            }
            Kind::Symlink => self.direct && self.kind != NodeKind::Symlink,
            // A declared directory's own path must be a directory; what is below it may be
            // anything except a symlink that leads out of a secret.
            Kind::Dir => {
                if self.is_dir_itself(entry) {
                    self.kind != NodeKind::Dir
                } else {
                    entry.secret && self.kind == NodeKind::Symlink
                }
            }
        }
    }

    fn is_dir_itself(&self, entry: &Entry) -> bool {
        self.direct && glob_match(dir_pattern(entry.pattern), &self.relative)
    }

    /// Whether `dotdir backup` keeps this node's content (files only; directories are implied).
    pub fn backed_up(&self) -> bool {
        let keep = |e: &Entry| e.backup == Backup::Keep && !e.secret;
        match self.role {
            Role::Declared => self.kind == NodeKind::File && self.entry.is_some_and(keep),
            // Salvaged bytes: kept, never a secret's. A path the layout does not know stays out
            // (deny by default: `backup` lists it as undeclared).
            Role::SetAside => self.kind == NodeKind::File && !self.entry.is_some_and(|e| e.secret),
            Role::Gitignore => self.kind == NodeKind::File,
            _ => false,
        }
    }

    /// Whether git should track this node according to the layout.
    pub fn tracked(&self) -> bool {
        match self.role {
            Role::Declared => self.entry.is_some_and(|e| e.git == Git::Tracked && !e.secret),
            Role::Gitignore => true,
            _ => false,
        }
    }
}

/// A classified data directory.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The data directory.
    pub root: PathBuf,
    /// The layout it was classified against.
    pub layout: Layout,
    /// Every node, in walk order (a directory before its contents, names sorted).
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The nodes the layout does not know.
    pub fn unknown(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.role == Role::Unknown)
    }

    /// Whether the data directory is a git repository (has a `.git`).
    pub fn has_git(&self) -> bool {
        self.nodes.iter().any(|n| n.role == Role::GitDir)
    }

    /// Total size of the files (including summarised directories).
    pub fn total_bytes(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| match (n.kind, n.summary) {
                (_, Some(s)) => s.bytes,
                (NodeKind::File, None) => n.size,
                _ => 0,
            })
            .sum()
    }
}

/// Walks `root` and classifies every node against `layout`. Symlinks are never followed;
/// `.git`, re-creatable directories and unknown directories are summarised, not listed.
pub fn inspect(root: &Path, layout: &Layout) -> Result<Tree, Error> {
    let meta = fs::metadata(root).map_err(|source| {
        Error::Io(IoError { step: Step::Open, path: root.to_path_buf(), source })
    })?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory { path: root.to_path_buf() });
    }
    let mut nodes = Vec::new();
    walk(root, "", 1, None, layout, &mut nodes)?;
    Ok(Tree { root: root.to_path_buf(), layout: *layout, nodes })
}

fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    inherited: Option<&'static Entry>,
    layout: &Layout,
    nodes: &mut Vec<Node>,
) -> Result<(), Error> {
    let temps: HashMap<PathBuf, (u32, Option<u64>)> = dotdir_atomic_store::find_temps(dir, None)
        .map_err(|source| Error::Store { path: dir.to_path_buf(), source })?
        .into_iter()
        .map(|t| (t.path, (t.writer_pid, t.writer_ns)))
        .collect();
    let mut children = read_dir_sorted(dir)?;
    children.sort();
    for name in children {
        let path = dir.join(&name);
        let relative = format!("{prefix}{}", name.to_string_lossy());
        let Ok(meta) = fs::symlink_metadata(&path) else {
            // Removed while we walked.
            continue;
        };
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            NodeKind::Symlink
        } else if file_type.is_dir() {
            NodeKind::Dir
        } else if file_type.is_file() {
            NodeKind::File
        } else {
            NodeKind::Other
        };
        let direct = layout.entry_for(&relative);
        let entry = direct.or(inherited);
        let role = classify(&name, &relative, depth, kind, entry, &temps, &path, layout);
        let entry = match role {
            Role::Declared => entry,
            // A lock is described by dotdir's own entry; bytes set aside keep their file's
            // (a secret's copy stays a secret).
            Role::LockSidecar => Some(crate::Sidecar::Lock.entry()),
            Role::SetAside => sidecar(&relative, &path, layout)
                .and_then(|(_, base)| layout.entry_for(base))
                .or(inherited),
            _ => None,
        };
        let mut node = Node {
            relative: relative.clone(),
            path: path.clone(),
            depth,
            kind,
            size: meta.len(),
            mode: meta.permissions().mode() & 0o7777,
            modified: meta.mtime(),
            role,
            entry,
            direct: direct.is_some() && role == Role::Declared,
            summary: None,
            link_target: None,
            unreadable: None,
        };
        if kind == NodeKind::File
            && let Err(error) = dotdir_atomic_store::open_regular(&path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            node.unreadable = Some(error.to_string());
        }
        if kind == NodeKind::Symlink {
            node.link_target = fs::read_link(&path).ok();
        }
        let summarise = kind == NodeKind::Dir
            && match role {
                Role::GitDir | Role::Unknown => true,
                Role::Declared => entry.is_some_and(|e| e.backup == Backup::Recreatable),
                _ => false,
            };
        // A directory where the layout declares a file: its contents are not the entry's.
        let summarise = summarise || (kind == NodeKind::Dir && node.wrong_kind());
        if summarise {
            node.summary = Some(summarise_dir(&path));
        }
        let descend = kind == NodeKind::Dir && !summarise;
        nodes.push(node);
        if descend {
            // A declared directory owns its contents, unless the layout declares what goes
            // inside it (then anything else there is unknown).
            let inherit = match role {
                Role::Declared
                    if !layout.all_entries().any(|e| could_contain(e.pattern, &relative)) =>
                {
                    entry
                }
                _ => None,
            };
            let index = nodes.len() - 1;
            match walk(&path, &format!("{relative}/"), depth + 1, inherit, layout, nodes) {
                Ok(()) => {}
                // This directory cannot be listed: reported on its node, the walk goes on.
                Err(Error::Io(IoError { source, path: failed, .. })) if failed == path => {
                    nodes[index].unreadable = Some(source.to_string());
                }
                Err(Error::Store { source, path: failed }) if failed == path => {
                    nodes[index].unreadable = Some(crate::error_chain(&source));
                }
                Err(other) => return Err(other),
            }
        }
    }
    Ok(())
}

#[expect(clippy::too_many_arguments, reason = "one private classification step")]
fn classify(
    name: &OsStr,
    relative: &str,
    depth: usize,
    kind: NodeKind,
    entry: Option<&'static Entry>,
    temps: &HashMap<PathBuf, (u32, Option<u64>)>,
    path: &Path,
    layout: &Layout,
) -> Role {
    if let Some(&(pid, ns)) = temps.get(path) {
        return Role::Temp { writer_pid: Some(pid), writer_ns: ns };
    }
    let name = name.to_string_lossy();
    if kind == NodeKind::File && is_python_temp(&name) {
        return Role::Temp { writer_pid: None, writer_ns: None };
    }
    if depth == 1 && name == ".git" {
        return Role::GitDir;
    }
    if kind == NodeKind::File
        && let Some((role, _)) = sidecar(relative, path, layout)
    {
        return role;
    }
    if entry.is_some() {
        return Role::Declared;
    }
    if depth == 1 && name == ".gitignore" {
        return Role::Gitignore;
    }
    if kind == NodeKind::Dir && layout.all_entries().any(|e| could_contain(e.pattern, relative)) {
        return Role::Container;
    }
    Role::Unknown
}

/// Whether the file `relative` is one of dotdir's own sidecars ([`Layout::sidecar_of`]), and
/// the declared path it belongs to. A lock beside a file declared by a wildcard pattern counts
/// only while that file exists (Claude Code's `ide/<port>.lock` is not the lock of an
/// `ide/<port>`); a pid record's lock, declared by its exact name, outlives the record.
pub(crate) fn sidecar<'a>(
    relative: &'a str,
    path: &Path,
    layout: &Layout,
) -> Option<(Role, &'a str)> {
    let (sidecar, base) = layout.sidecar_of(relative)?;
    match sidecar {
        crate::Sidecar::SetAside => Some((Role::SetAside, base)),
        crate::Sidecar::Lock => {
            let entry =
                layout.all_entries().find(|e| e.matches(base) && e.kind != Kind::Symlink)?;
            let literal = !entry.pattern.contains(['*', '?', '[']);
            let exists = path.parent().is_some_and(|dir| {
                Path::new(base).file_name().is_some_and(|name| dir.join(name).exists())
            });
            (literal || exists || entry.kind == Kind::Dir).then_some((Role::LockSidecar, base))
        }
    }
}

/// Python's `tempfile.mkstemp(suffix=".tmp")`: `tmp` + 8 characters + `.tmp`.
fn is_python_temp(name: &str) -> bool {
    name.len() == 15
        && name.starts_with("tmp")
        && name.ends_with(".tmp")
        && name[3..11].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether a path matching `pattern` could lie strictly below the directory `dir`. A pattern
/// that starts with `**` (a lock sidecar anywhere) declares no directory of its own.
pub(crate) fn could_contain(pattern: &str, dir: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    if pattern.first() == Some(&"**") {
        return false;
    }
    let dir: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    for (i, component) in dir.iter().enumerate() {
        match pattern.get(i) {
            None => return false,
            Some(&"**") => return true,
            Some(p) if glob_match(p, component) => {}
            Some(_) => return false,
        }
    }
    pattern.len() > dir.len()
}

/// A directory entry's pattern without a trailing `/**`.
pub(crate) fn dir_pattern(pattern: &str) -> &str {
    pattern.strip_suffix("/**").unwrap_or(pattern)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<std::ffi::OsString>, Error> {
    let entries = fs::read_dir(dir).map_err(|source| {
        Error::Io(IoError { step: Step::ListDir, path: dir.to_path_buf(), source })
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| {
            Error::Io(IoError { step: Step::ListDir, path: dir.to_path_buf(), source })
        })?;
        names.push(entry.file_name());
    }
    Ok(names)
}

fn summarise_dir(dir: &Path) -> Summary {
    let mut summary = Summary::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                summary.files += 1;
                summary.bytes += meta.len();
            }
        }
    }
    summary
}

/// Picks the layout among `candidates` that `dir` is a data directory of, by what it holds: only
/// a layout whose fingerprint `dir` fits ([`fit`]) can be chosen — a directory without any
/// layout's fingerprint, a home directory and `/` are nothing — and among several, the one
/// that declares the most of its top-level names, provided it declares at least one more than
/// every other. `None` when nothing fits or two layouts fit equally well.
pub fn detect<'a>(dir: &Path, candidates: &[&'a Layout]) -> Option<&'a Layout> {
    let candidates: Vec<&'a Layout> = candidates
        .iter()
        .copied()
        .filter(|layout| fit(dir, layout).is_ok_and(|f| f.fits()))
        .collect();
    if let [only] = candidates[..] {
        return Some(only);
    }
    let names: Vec<String> = read_dir_sorted(dir)
        .ok()?
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n != ".git" && n != ".gitignore")
        .collect();
    let score = |layout: &Layout| -> usize {
        names
            .iter()
            .filter(|name| {
                layout.entry_for(name).is_some()
                    || layout.all_entries().any(|e| could_contain(e.pattern, name))
            })
            .count()
    };
    let mut scores: Vec<(usize, usize)> =
        candidates.iter().enumerate().map(|(i, l)| (score(l), i)).collect();
    scores.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scores.as_slice() {
        [(best, i), rest @ ..] if *best > 0 && rest.first().is_none_or(|(s, _)| s < best) => {
            Some(candidates[*i])
        }
        _ => None,
    }
}

/// The layout among `candidates` whose data directory is named like `dir` (`.ollim-bot`, or
/// `.ollim-bot-test`: the name may go on after a `-` or `.`). Where several share the name
/// (omicos' home and workspace are both `.omicos`), the one whose default location is `dir`
/// wins, then a project layout (a `.omicos` elsewhere than the home is a workspace's). `.` and
/// `..` are resolved first.
pub fn by_name<'a>(dir: &Path, candidates: &[&'a Layout]) -> Option<&'a Layout> {
    let dir = dir.canonicalize().ok()?;
    let file_name = dir.file_name()?.to_string_lossy().into_owned();
    let named: Vec<&'a Layout> = candidates
        .iter()
        .copied()
        .filter(|layout| {
            layout.location.dir_name().is_some_and(|name| {
                file_name.strip_prefix(name).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('-') || rest.starts_with('.')
                })
            })
        })
        .collect();
    let at_default = |layout: &&&'a Layout| {
        layout.location.default_dir().and_then(|d| d.canonicalize().ok()).as_deref()
            == Some(dir.as_path())
    };
    let project = |layout: &&&'a Layout| matches!(layout.location, crate::Location::Project { .. });
    named
        .iter()
        .find(at_default)
        .or_else(|| named.iter().find(project))
        .or_else(|| named.first())
        .copied()
}

/// The layout `dir` follows: by what it holds ([`detect`]: its fingerprint), else by its name
/// ([`by_name`]). A layout found by name alone may still not fit: a command that writes checks
/// [`fit`] first.
pub fn recognise<'a>(dir: &Path, candidates: &[&'a Layout]) -> Option<&'a Layout> {
    detect(dir, candidates).or_else(|| by_name(dir, candidates))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment() {
        assert!(could_contain("state/token.json", "state"));
        assert!(!could_contain("state/token.json", "stat"));
        assert!(!could_contain("state/token.json", "state/token.json"));
        assert!(could_contain("trajectories/*/turn_*.jsonl", "trajectories/abc"));
        assert!(could_contain("conversations/**", "conversations/a/b"));
        assert!(!could_contain("routines/*.md", "routines/sub"));
        assert!(!could_contain("**/*.lock", "anything"));
        assert!(is_python_temp("tmpab12cd_4.tmp"));
        assert!(!is_python_temp("tmpab12cd_4.tmpx"));
    }
}
