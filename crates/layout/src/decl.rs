//! Declared layouts: every entry of a data directory as data — path pattern, kind, format,
//! secrecy, git tracking, backup policy, retention — from which `.gitignore`, the journal's
//! exclusion list, `dotdir check`, `dotdir inspect` and `dotdir backup` are derived.

use std::{path::Path, time::Duration};

/// What kind of filesystem object an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
}

/// How an entry's content is encoded; decides which checks apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// One JSON document.
    Json,
    /// JSON Lines, append-only.
    Jsonl,
    /// Markdown with YAML front matter.
    Spec,
    /// A pid lock record (pid on the first line, then payload lines).
    PidRecord,
    /// Free text (markdown, logs, a raw string).
    Text,
    /// Opaque bytes (downloads, uploads, caches): never parsed.
    Opaque,
}

/// Whether git tracks an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Git {
    /// Committed by the journal on every write.
    Tracked,
    /// Listed in `.gitignore` and refused by the journal even when asked.
    Excluded,
}

/// Whether `dotdir backup` keeps an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backup {
    /// User data: backed up.
    Keep,
    /// Re-creatable (a cache, an environment, a symlink): skipped.
    Recreatable,
    /// Ephemeral state (a pid file, a TTL map): skipped.
    Ephemeral,
    /// A secret: never backed up, never leaked.
    Never,
}

/// How much a problem matters, as `git fsck` and compilers grade theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// An expected state the application handles itself (records past their retention awaiting
    /// the application's pruning, paths the layout does not declare).
    Notice,
    /// Hygiene the application survives (a stale lock, a leftover temporary file, a `.gitignore`
    /// without the layout's exclusions).
    Warning,
    /// Data unreadable, at risk or leaking (torn or corrupt data, a secret's mode, a tracked
    /// secret, duplicate ids, a bad workspace id, a path of the wrong type).
    Error,
}

impl Severity {
    /// The stable lowercase name (`notice`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A content check for an entry: the problem kind it reports (`corrupt-json`,
/// `bad-workspace-id`, …), its severity, and the check itself, which explains what is wrong.
#[derive(Debug, Clone, Copy)]
pub struct Validator {
    /// The stable problem kind reported when the check fails.
    pub problem: &'static str,
    /// How much a failure matters.
    pub severity: Severity,
    /// Returns a one-line reason when the content is not valid.
    pub check: fn(&[u8]) -> Result<(), String>,
}

/// One declared entry of a layout.
///
/// Patterns are relative to the data directory, `/`-separated; `*` matches within one path
/// component, `**` matches any number of components. Entries are built with `const fn`s so a
/// layout can be a `const`.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The path or pattern, relative to the data directory.
    pub pattern: &'static str,
    /// File, directory or symlink.
    pub kind: Kind,
    /// How the content is encoded.
    pub format: Format,
    /// A secret: mode `0o600` (directories `0o700`), never committed, never backed up.
    pub secret: bool,
    /// Git tracking.
    pub git: Git,
    /// Backup policy.
    pub backup: Backup,
    /// Records older than this are expired (pruned on read by the layout's code).
    pub retention: Option<Duration>,
    /// One line for people: what the entry is.
    pub description: &'static str,
    /// A shape check beyond the format (a typed JSON state file, a workspace id).
    pub validator: Option<Validator>,
}

impl Entry {
    /// A tracked, backed-up file.
    pub const fn file(pattern: &'static str, format: Format, description: &'static str) -> Self {
        Self {
            pattern,
            kind: Kind::File,
            format,
            secret: false,
            git: Git::Tracked,
            backup: Backup::Keep,
            retention: None,
            description,
            validator: None,
        }
    }

    /// A tracked, backed-up directory.
    pub const fn dir(pattern: &'static str, description: &'static str) -> Self {
        Self { kind: Kind::Dir, ..Self::file(pattern, Format::Opaque, description) }
    }

    /// A symlink: not tracked, re-creatable.
    pub const fn symlink(pattern: &'static str, description: &'static str) -> Self {
        Self {
            kind: Kind::Symlink,
            git: Git::Excluded,
            backup: Backup::Recreatable,
            ..Self::file(pattern, Format::Opaque, description)
        }
    }

    /// Marks the entry secret: mode `0o600`/`0o700`, excluded from git, never backed up.
    pub const fn secret(self) -> Self {
        Self { secret: true, git: Git::Excluded, backup: Backup::Never, ..self }
    }

    /// Excludes the entry from git.
    pub const fn untracked(self) -> Self {
        Self { git: Git::Excluded, ..self }
    }

    /// Sets the backup policy.
    pub const fn backup(self, backup: Backup) -> Self {
        Self { backup, ..self }
    }

    /// Sets the retention (TTL) of the entry's records.
    pub const fn retention(self, ttl: Duration) -> Self {
        Self { retention: Some(ttl), ..self }
    }

    /// Adds a content check; a failure is a `problem` of [`Severity::Error`].
    pub const fn validate(
        self,
        problem: &'static str,
        check: fn(&[u8]) -> Result<(), String>,
    ) -> Self {
        self.validate_as(problem, Severity::Error, check)
    }

    /// Adds a content check whose failure is a `problem` of `severity` (a
    /// [`Severity::Warning`] for content the application survives).
    pub const fn validate_as(
        self,
        problem: &'static str,
        severity: Severity,
        check: fn(&[u8]) -> Result<(), String>,
    ) -> Self {
        Self { validator: Some(Validator { problem, severity, check }), ..self }
    }

    /// Whether `relative` (a `/`-separated path inside the data directory) matches this entry.
    pub fn matches(&self, relative: &str) -> bool {
        glob_match(self.pattern, relative)
    }

    /// The mode a file or directory of this entry should have, when the layout fixes one.
    pub const fn required_mode(&self) -> Option<u32> {
        match (self.secret, self.kind) {
            (true, Kind::Dir) => Some(0o700),
            (true, _) => Some(0o600),
            _ => None,
        }
    }
}

/// A declared layout: a name and its entries. The first matching entry describes a path, so
/// list specific entries before general ones.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Short name (`ollim-bot`, `omicos-home`, `omicos-workspace`, …).
    pub name: &'static str,
    /// One line for people.
    pub description: &'static str,
    /// Every entry, specific before general.
    pub entries: &'static [Entry],
}

/// Lines every derived `.gitignore` carries: dotdir's own temporary and lock files.
pub const ALWAYS_IGNORED: &[&str] = &[".*.dotdir-tmp", "*.lock", "*.corrupt"];

impl Layout {
    /// The entry describing `relative` (a path inside the data directory, `/`-separated),
    /// or `None` for a path the layout does not know.
    pub fn entry_for(&self, relative: &str) -> Option<&'static Entry> {
        self.entries.iter().find(|entry| entry.matches(relative))
    }

    /// Like [`Layout::entry_for`], for a path relative to the data directory.
    pub fn entry_for_path(&self, relative: &Path) -> Option<&'static Entry> {
        let joined: Vec<_> =
            relative.components().map(|c| c.as_os_str().to_string_lossy()).collect();
        self.entry_for(&joined.join("/"))
    }

    /// The patterns git must never see (secrets, ephemeral and local state), for the journal's
    /// exclusion list.
    pub fn git_exclusions(&self) -> Vec<&'static str> {
        let declared = self.entries.iter().filter(|e| e.git == Git::Excluded).map(|e| e.pattern);
        ALWAYS_IGNORED.iter().copied().chain(declared).collect()
    }

    /// Like [`Layout::git_exclusions`], with each declared pattern anchored at the top of the
    /// directory (`/state/token.json`, `/.claude`), as a gitignore line or a
    /// `dotdir-git-journal` exclusion reads it; the [`ALWAYS_IGNORED`] patterns stay floating
    /// (they apply at any depth).
    pub fn anchored_git_exclusions(&self) -> Vec<String> {
        let declared = self
            .entries
            .iter()
            .filter(|e| e.git == Git::Excluded)
            .map(|e| format!("/{}", e.pattern.trim_start_matches('/')));
        ALWAYS_IGNORED.iter().map(|p| (*p).to_owned()).chain(declared).collect()
    }

    /// The `.gitignore` derived from the declaration: anchored patterns for the excluded entries.
    pub fn gitignore(&self) -> String {
        let mut out =
            format!("# Generated by dotdir from the {} layout. Do not edit.\n", self.name);
        for pattern in ALWAYS_IGNORED {
            out.push_str(pattern);
            out.push('\n');
        }
        for entry in self.entries.iter().filter(|e| e.git == Git::Excluded) {
            out.push('/');
            out.push_str(entry.pattern);
            if entry.kind == Kind::Dir {
                out.push('/');
            }
            out.push('\n');
        }
        out
    }

    /// The directories `dotdir init` creates, with their modes: the layout's literal top-level
    /// directories that hold user data (`0o755`) or secrets (`0o700`). Caches, hidden SDK folders
    /// and the nested omicos cli data directory are left to the application.
    pub fn initial_dirs(&self) -> Vec<(&'static str, u32)> {
        self.entries
            .iter()
            .filter(|e| e.kind == Kind::Dir)
            .filter(|e| !e.pattern.contains(['*', '?', '/', '[']) && !e.pattern.starts_with('.'))
            .filter(|e| e.pattern != "cli")
            .filter(|e| e.secret || e.backup == Backup::Keep)
            .map(|e| (e.pattern, if e.secret { 0o700 } else { 0o755 }))
            .collect()
    }

    /// The entries that are secrets.
    pub fn secrets(&self) -> impl Iterator<Item = &'static Entry> {
        self.entries.iter().filter(|e| e.secret)
    }
}

/// Glob match of `/`-separated paths: `*` and `?` within one component, `**` across components.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    match_components(&pattern, &path)
}

fn match_components(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_components(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((head, tail)) => {
                match_component(first.as_bytes(), head.as_bytes()) && match_components(rest, tail)
            }
            None => false,
        },
    }
}

fn match_component(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| match_component(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && match_component(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && match_component(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, path: &str, expected: bool) {
        assert_eq!(glob_match(pattern, path), expected, "{pattern} vs {path}");
    }

    #[test]
    fn globs() {
        check("state/token.json", "state/token.json", true);
        check("state/token.json", "state/token.jsonx", false);
        check("routines/*.md", "routines/a.md", true);
        check("routines/*.md", "routines/x/a.md", false);
        check("trajectories/*/turn_*.jsonl", "trajectories/u1/turn_ab.jsonl", true);
        check("conversations/**", "conversations/a/outputs/x.png", true);
        check("conversations/**", "conversations", true);
        check("cloud_login.json.*.bak", "cloud_login.json.alice.bak", true);
        check("a/?.md", "a/b.md", true);
        check("a/?.md", "a/bc.md", false);
    }

    const LAYOUT: Layout = Layout {
        name: "example",
        description: "an example",
        entries: &[
            Entry::file("state/token.json", Format::Json, "a token").secret(),
            Entry::dir("cache", "a cache").backup(Backup::Recreatable).untracked(),
            Entry::file("notes/*.md", Format::Text, "notes"),
        ],
    };

    #[test]
    fn derived_gitignore_and_lookup() {
        assert_eq!(
            LAYOUT.gitignore(),
            "# Generated by dotdir from the example layout. Do not edit.\n.*.dotdir-tmp\n*.lock\n*.corrupt\n/state/token.json\n/cache/\n"
        );
        assert_eq!(LAYOUT.entry_for("notes/a.md").map(|e| e.description), Some("notes"));
        assert!(LAYOUT.entry_for("notes/a.txt").is_none());
        assert_eq!(
            LAYOUT.entry_for("state/token.json").and_then(Entry::required_mode),
            Some(0o600)
        );
        assert_eq!(LAYOUT.secrets().count(), 1);
        // `cache` is re-creatable: only directories holding user data or secrets are created.
        assert!(LAYOUT.initial_dirs().is_empty());
    }
}
