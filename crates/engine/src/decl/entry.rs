//! One entry of a layout: its pattern, kind, format, secrecy, git tracking, backup policy,
//! retention, validator and the application's own lock.

use std::time::Duration;

use dotdir_atomic_store::{Durability, Mode, WriteOptions};

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
    /// Markdown whose YAML front matter is optional (a prompt, a slash command): checked only
    /// when it opens with `---`.
    Markdown,
    /// One YAML document (a configuration file a person edits): must parse.
    Yaml,
    /// One TOML document (Codex's `config.toml`): must parse.
    Toml,
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
    /// secret, duplicate ids, a path of the wrong type, a failed validator).
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

/// A content check for an entry: the problem kind it reports (`corrupt-json`, or a kind of the
/// layout's own such as omicos' `bad-workspace-id`), its severity, what a person should do
/// about a failure, and the check itself, which explains what is wrong.
#[derive(Debug, Clone, Copy)]
pub struct Validator {
    /// The stable problem kind reported when the check fails.
    pub problem: &'static str,
    /// How much a failure matters.
    pub severity: Severity,
    /// What a person should do about a failure; `None` takes the advice of the problem kind.
    pub advice: Option<&'static str>,
    /// Returns what is wrong when the content is not valid: a one-line reason, and where
    /// when the check knows ([`Finding::at`]).
    pub check: fn(&[u8]) -> Result<(), Finding>,
}

/// What a [`Validator`] found wrong: a one-line reason and, when the check can tell, the line
/// and column (1-based) it is at. A plain `String` converts into a finding with no position.
///
/// ```
/// use dotdir_engine::Finding;
///
/// fn check(bytes: &[u8]) -> Result<(), Finding> {
///     match bytes.iter().position(|&b| b == b'\t') {
///         Some(at) => Err(Finding::at("a tab", 1, at as u64 + 1)),
///         None => Ok(()),
///     }
/// }
/// assert_eq!(check(b"a\tb").unwrap_err().column, Some(2));
/// let plain: Finding = String::from("not an object").into();
/// assert_eq!(plain.line, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// What is wrong, in one line.
    pub reason: String,
    /// The 1-based line it is at, when known.
    pub line: Option<u64>,
    /// The 1-based column it is at, when known.
    pub column: Option<u64>,
}

impl Finding {
    /// A finding at `line` and `column` (1-based).
    pub fn at(reason: impl Into<String>, line: u64, column: u64) -> Self {
        Self { reason: reason.into(), line: Some(line), column: Some(column) }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " (line {line}, column {column})"),
            (Some(line), None) => write!(f, " (line {line})"),
            _ => Ok(()),
        }
    }
}

impl From<String> for Finding {
    fn from(reason: String) -> Self {
        Self { reason, line: None, column: None }
    }
}

impl From<&str> for Finding {
    fn from(reason: &str) -> Self {
        reason.to_owned().into()
    }
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
    /// Only its owner may read it (`0o600`, directories `0o700`), as its writers create it:
    /// secrets, and state the application keeps private without it being a secret (ollim-bot's
    /// state files, which the reference writes through `mkstemp`). See [`Entry::write_mode`].
    pub private: bool,
    /// The application creates it itself, with content of its own (a nested data directory):
    /// `dotdir init` leaves it alone. See [`Layout::initial_dirs`](super::Layout::initial_dirs).
    pub created_by_app: bool,
    /// The application locks the file itself before it rewrites it ([`Entry::locked_by_app`]):
    /// a repair takes the same lock, without waiting, and is refused while it is held.
    pub app_lock: Option<AppLock>,
    /// What a person should do when the file is wrong ([`Entry::advise`]), in place of the
    /// engine's general advice for its finding.
    pub advice: Option<&'static str>,
}

/// A path `pattern` matches: each wildcard replaced by a plain name (`sessions/*/*.jsonl` →
/// `sessions/x/x.jsonl`, `[ab]` → `a`), and each `**` by `deep` (`x`, or `x/x/x`).
pub(super) fn sample_of(pattern: &str, deep: &str) -> String {
    let mut sample = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                let mut double = false;
                while chars.peek() == Some(&'*') {
                    chars.next();
                    double = true;
                }
                sample.push_str(if double { deep } else { "x" });
            }
            '?' => sample.push('x'),
            '[' => {
                let mut first = None;
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if first.is_none() && c != '!' && c != '^' {
                        first = Some(c);
                    }
                }
                sample.push(first.unwrap_or('x'));
            }
            c => sample.push(c),
        }
    }
    sample
}

/// One of dotdir's own files beside a declared one ([`Layout::sidecar_of`](super::Layout::sidecar_of)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sidecar {
    /// `<file>.lock` (or a spec directory's `.spec.lock`): the lock of a read-modify-write.
    Lock,
    /// `<file>.corrupt`: bytes `check --fix` set aside for a person to read.
    SetAside,
}

impl Sidecar {
    /// The entry that describes it: a lock is private, never committed and re-creatable; bytes
    /// set aside are never committed and are backed up (their only copy).
    pub const fn entry(self) -> &'static Entry {
        const LOCK: Entry =
            Entry::file("<file>.lock", Format::Opaque, "dotdir's lock of a read-modify-write")
                .private()
                .untracked()
                .backup(Backup::Recreatable);
        const SET_ASIDE: Entry = Entry::file(
            "<file>.corrupt",
            Format::Opaque,
            "a corrupt file moved aside for a person to read",
        )
        .untracked();
        match self {
            Sidecar::Lock => &LOCK,
            Sidecar::SetAside => &SET_ASIDE,
        }
    }
}

/// How an application locks a file of its own ([`Entry::locked_by_app`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppLock {
    /// `flock(2)` on the file itself: Rust's `File::lock`/`try_lock` (Codex's
    /// `history.jsonl`), Python's `fcntl.flock`.
    Flock,
    /// A POSIX record lock on the whole file (`fcntl(F_SETLK)`, Python's `fcntl.lockf`). Such a
    /// lock belongs to the process and is dropped when it closes *any* descriptor of the file,
    /// so dotdir holds it only until the repair first closes the file.
    Fcntl,
    /// `flock(2)` on a lock file of the application's own beside it, `<file><suffix>` (Python's
    /// `filelock.FileLock("<file>.lock")`). A missing lock file is created, `0600`, to be held.
    LockFile(&'static str),
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
            private: false,
            created_by_app: false,
            app_lock: None,
            advice: None,
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
        Self { secret: true, private: true, git: Git::Excluded, backup: Backup::Never, ..self }
    }

    /// Marks the entry private: written `0o600` (directories `0o700`) whatever the umask, but
    /// not a secret — git and backups follow the entry's other settings, and `check` does not
    /// require the mode of a file another program wrote.
    pub const fn private(self) -> Self {
        Self { private: true, ..self }
    }

    /// Declares that the application locks the file itself, and how: before a repair rewrites
    /// it, dotdir takes the same lock without waiting, refuses while the application holds it,
    /// and releases it after.
    ///
    /// ```
    /// use dotdir_engine::{AppLock, Entry, Format};
    ///
    /// // Codex locks its prompt history with `File::try_lock`.
    /// const HISTORY: Entry = Entry::file("history.jsonl", Format::Jsonl, "prompt history")
    ///     .locked_by_app(AppLock::Flock);
    /// assert_eq!(HISTORY.app_lock, Some(AppLock::Flock));
    /// ```
    pub const fn locked_by_app(self, lock: AppLock) -> Self {
        Self { app_lock: Some(lock), ..self }
    }

    /// Leaves the entry to the application: `dotdir init` does not create it.
    pub const fn created_by_app(self) -> Self {
        Self { created_by_app: true, ..self }
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
        check: fn(&[u8]) -> Result<(), Finding>,
    ) -> Self {
        self.validate_as(problem, Severity::Error, check)
    }

    /// Adds a content check whose failure is a `problem` of `severity` (a
    /// [`Severity::Warning`] for content the application survives).
    pub const fn validate_as(
        self,
        problem: &'static str,
        severity: Severity,
        check: fn(&[u8]) -> Result<(), Finding>,
    ) -> Self {
        Self { validator: Some(Validator { problem, severity, advice: None, check }), ..self }
    }

    /// Says what a person should do when the file is wrong — its format does not parse, a
    /// spec lacks its front matter, the entry's validator fails: the advice of the layout, not
    /// the engine's general one (`give the skill front matter with name and description`).
    pub const fn advise(self, advice: &'static str) -> Self {
        let validator = match self.validator {
            Some(v) => Some(Validator { advice: Some(advice), ..v }),
            None => None,
        };
        Self { advice: Some(advice), validator, ..self }
    }

    /// Whether `relative` (a `/`-separated path inside the data directory) matches this entry.
    pub fn matches(&self, relative: &str) -> bool {
        dotdir_git_journal::glob_match(self.pattern, relative)
    }

    /// The mode this entry's writers give a file or directory they create: `0o600` (`0o700`)
    /// for a private or secret entry; `None`, the umask's default, otherwise.
    pub const fn write_mode(&self) -> Option<u32> {
        match (self.private, self.kind) {
            (true, Kind::Dir) => Some(0o700),
            (true, _) => Some(0o600),
            _ => None,
        }
    }

    /// The write options of this entry's writers: [`Entry::write_mode`] exactly when it has
    /// one (whatever the umask, whatever the old file's mode), the old mode kept otherwise, and
    /// `durability`.
    pub fn write_options(&self, durability: Durability) -> WriteOptions {
        let options = WriteOptions::new().durability(durability);
        match self.write_mode() {
            Some(mode) => options.mode(Mode::Exact(mode)),
            None => options,
        }
    }

    /// The mode a file or directory of this entry must have, which `check` enforces: a
    /// secret's.
    pub const fn required_mode(&self) -> Option<u32> {
        match (self.secret, self.kind) {
            (true, Kind::Dir) => Some(0o700),
            (true, _) => Some(0o600),
            _ => None,
        }
    }
}
