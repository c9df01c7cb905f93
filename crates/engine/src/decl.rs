//! Declared layouts: every entry of a data directory as data — path pattern, kind, format,
//! secrecy, git tracking, backup policy, retention — from which `.gitignore`, the journal's
//! exclusion list, `dotdir check`, `dotdir inspect` and `dotdir backup` are derived.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use dotdir_atomic_store::{Durability, Mode, WriteOptions};
use dotdir_pidlock::Program;

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
    /// Only its owner may read it (`0o600`, directories `0o700`), as its writers create it:
    /// secrets, and state the application keeps private without it being a secret (ollim-bot's
    /// state files, which the reference writes through `mkstemp`). See [`Entry::write_mode`].
    pub private: bool,
    /// The application creates it itself, with content of its own (a nested data directory):
    /// `dotdir init` leaves it alone. See [`Layout::initial_dirs`].
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
fn sample_of(pattern: &str, deep: &str) -> String {
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

/// One of dotdir's own files beside a declared one ([`Layout::sidecar_of`]).
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

/// Where a layout's data directory lives when nobody names it, and the directory name by which
/// a tool recognises one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// In the user's home: `$env` when it is set (the directory itself), else `$HOME/<name>`
    /// (`~/.ollim-bot`, `~/.omicos`, `~/.claude`).
    Home {
        /// The directory's name in the home.
        name: &'static str,
        /// A variable that names the directory itself, overriding the default.
        env: Option<&'static str>,
    },
    /// In a project: `$env/<name>` when `env` is set (the project root), else `./<name>` in
    /// the current directory (`<workspace>/.omicos`).
    Project {
        /// The directory's name in the project.
        name: &'static str,
        /// A variable that names the project root.
        env: Option<&'static str>,
    },
    /// No default location: the directory is always named.
    Anywhere,
}

impl Location {
    /// The default directory, from the environment; `None` for [`Location::Anywhere`] or when
    /// `$HOME` is unset.
    pub fn default_dir(&self) -> Option<PathBuf> {
        self.dir_in(|name| std::env::var_os(name))
    }

    /// The default directory in an environment `var` looks names up in (another process's,
    /// read from `/proc/<pid>/environ`); relative to that process's working directory when
    /// relative.
    pub fn dir_in(&self, var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
        let var = |name: Option<&str>| var(name?).filter(|v| !v.is_empty()).map(PathBuf::from);
        match *self {
            Location::Home { name, env } => {
                var(env).or_else(|| var(Some("HOME")).map(|home| home.join(name)))
            }
            Location::Project { name, env } => {
                Some(var(env).unwrap_or_else(|| PathBuf::from(".")).join(name))
            }
            Location::Anywhere => None,
        }
    }

    /// The directory name a data directory of this layout has (`.ollim-bot`), if it has one.
    pub const fn dir_name(&self) -> Option<&'static str> {
        match *self {
            Location::Home { name, .. } | Location::Project { name, .. } => Some(name),
            Location::Anywhere => None,
        }
    }

    /// How people are told where it is: `$OLLIM_DATA_DIR or ~/.ollim-bot`.
    pub fn describe(&self) -> String {
        match *self {
            Location::Home { name, env: Some(env) } => format!("${env} or ~/{name}"),
            Location::Home { name, env: None } => format!("~/{name}"),
            Location::Project { name, env: Some(env) } => format!("${env}/{name} or ./{name}"),
            Location::Project { name, env: None } => format!("./{name}"),
            Location::Anywhere => "anywhere (always named)".to_owned(),
        }
    }
}

/// What must be present for a directory to be one of a layout's own: a data directory must fit
/// its layout before anything writes to it (`check --fix`, `init` over an existing directory,
/// `restore --force`, `clone`, `backup`), so a dotfiles repository at `$HOME` that holds a
/// `.claude/` is never taken for ollim-bot's directory.
///
/// Paths are relative, `/`-separated and literal (no globs). One ending in `/` must be a
/// directory; any other must exist and not be a directory (a file or a symlink). A directory
/// fits when **every** path of [`Fingerprint::all`] is there and, when [`Fingerprint::any`] is
/// not empty, **at least one** of its paths. Pick what the application always creates (its
/// state directory, its id file), never what a home directory may hold as well.
///
/// A layout that declares none gets a derived one: at least one of its literal top-level
/// entries (other than `.git` and `.gitignore`) — so an empty or foreign directory still fits
/// nothing. See [`crate::inspect::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fingerprint {
    /// Every one of these must be present.
    pub all: &'static [&'static str],
    /// At least one of these must be present (ignored when empty).
    pub any: &'static [&'static str],
}

impl Fingerprint {
    /// Whether the layout declared no fingerprint (it gets the derived one).
    pub const fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }
}

/// A declared layout: a name, its entries, where it lives and which program owns it. The first
/// matching entry describes a path, so list specific entries before general ones. Built with
/// `const fn`s so a layout can be a `const`:
///
/// ```
/// use dotdir_engine::{Entry, Format, Layout, Location};
///
/// const NOTES: Layout = Layout::new(
///     "notes",
///     "a notes app",
///     &[Entry::file("notes/*.md", Format::Text, "a note")],
/// )
/// .located(Location::Home { name: ".notes", env: Some("NOTES_DIR") })
/// .run_by("notes-app")
/// // What the app always creates: a directory of its own is recognised by it.
/// .fingerprint(&["notes/"]);
/// assert_eq!(NOTES.location.dir_name(), Some(".notes"));
/// assert_eq!(NOTES.fingerprint.all, ["notes/"]);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Layout {
    /// Short name (`ollim-bot`, `omicos-home`, `omicos-workspace`, …).
    pub name: &'static str,
    /// One line for people.
    pub description: &'static str,
    /// Every entry, specific before general.
    pub entries: &'static [Entry],
    /// Where its data directory lives by default.
    pub location: Location,
    /// The program that owns the directory, in every form it is launched
    /// ([`Layout::run_by`], [`Layout::launched_as`]). A repair that races the application, and
    /// `restore --force`, are refused while a process of it runs on this directory, holds its
    /// pid record, or — whatever the program — keeps a file open inside the directory (see
    /// [`live`](crate::live) for exactly what is detected). `None`: only the pid records it
    /// declares and the processes using the directory count.
    pub program: Option<Program>,
    /// What must be present for a directory to be one of this layout's own
    /// ([`Layout::fingerprint`], [`Layout::fingerprint_any`]); empty: derived from the entries.
    pub fingerprint: Fingerprint,
    /// The layout this one extends ([`Layout::extend`]): its entries come after
    /// [`Layout::entries`]'s own.
    pub extends: Option<&'static Layout>,
    /// Whether the data directory itself may be a symbolic link ([`Layout::root_may_be_a_link`]):
    /// a person who moved it to another disk and left a link. No: a link there is refused by
    /// every writer ([`crate::Dir::real_dir`]). Nothing below the root may ever be a link.
    pub root_link: bool,
}

/// Every entry of a layout, its own first, then those of the layout it extends
/// ([`Layout::all_entries`]).
#[derive(Debug, Clone)]
pub struct Entries {
    current: std::slice::Iter<'static, Entry>,
    next: Option<&'static Layout>,
}

impl Iterator for Entries {
    type Item = &'static Entry;

    fn next(&mut self) -> Option<&'static Entry> {
        loop {
            if let Some(entry) = self.current.next() {
                return Some(entry);
            }
            let layout = self.next.take()?;
            self.current = layout.entries.iter();
            self.next = layout.extends;
        }
    }
}

impl Layout {
    /// A layout with no default location and no program.
    pub const fn new(
        name: &'static str,
        description: &'static str,
        entries: &'static [Entry],
    ) -> Self {
        Self {
            name,
            description,
            entries,
            location: Location::Anywhere,
            program: None,
            fingerprint: Fingerprint { all: &[], any: &[] },
            extends: None,
            root_link: false,
        }
    }

    /// Lets the data directory itself be a symbolic link (see [`Layout::root_link`]): for a
    /// directory only its user creates (`~/.ollim-bot`), not one inside a workspace an agent
    /// writes to, where a planted link would take the writes elsewhere.
    pub const fn root_may_be_a_link(self) -> Self {
        Self { root_link: true, ..self }
    }

    /// `base` with `entries` of a downstream crate's own in front of its entries (so they win
    /// over its general ones): same name, location, program and fingerprint. Every derived rule follows the
    /// extension — the journal's allow-list and exclusions, `.gitignore`, modes, `check`,
    /// `backup` — and the typed handles take it (`dotdir::ollim::Options::layout`):
    ///
    /// ```
    /// use dotdir_engine::{Entry, Format, Layout};
    ///
    /// const BASE: Layout =
    ///     Layout::new("app", "an app", &[Entry::file("notes/*.md", Format::Text, "a note")]);
    /// const EXTENDED: Layout = Layout::extend(
    ///     &BASE,
    ///     &[Entry::file("plugins/*.json", Format::Json, "a plugin's token").secret()],
    /// );
    /// assert!(EXTENDED.entry_for("plugins/a.json").is_some_and(|e| e.secret));
    /// assert!(EXTENDED.entry_for("notes/a.md").is_some());
    /// assert!(!EXTENDED.journal_exclusions().allows("plugins/a.json"));
    /// ```
    pub const fn extend(base: &'static Layout, entries: &'static [Entry]) -> Self {
        Self { entries, extends: Some(base), ..*base }
    }

    /// Every entry: the layout's own, then those of the layout it extends.
    pub fn all_entries(&self) -> Entries {
        Entries { current: self.entries.iter(), next: self.extends }
    }

    /// Sets where the data directory lives by default.
    pub const fn located(self, location: Location) -> Self {
        Self { location, ..self }
    }

    /// Sets the program that owns the directory by its executable or console-script name
    /// ([`Layout::program`]); [`Layout::launched_as`] declares its other launch forms.
    pub const fn run_by(self, program: &'static str) -> Self {
        Self { program: Some(Program::named(program)), ..self }
    }

    /// Declares every form the owning program is launched in: its names, aliases (a renamed
    /// binary) and Python modules or node packages ([`Program`]):
    ///
    /// ```
    /// use dotdir_engine::{Layout, Program};
    ///
    /// const BOT: Layout = Layout::new("bot", "a bot", &[])
    ///     .launched_as(Program::named("ollim-bot").modules(&["ollim_bot"]));
    /// assert!(BOT.program.unwrap().matches(&["python3", "-m", "ollim_bot.main"]));
    /// ```
    pub const fn launched_as(self, program: Program) -> Self {
        Self { program: Some(program), ..self }
    }

    /// Declares the paths that must **all** be present for a directory to be this layout's
    /// ([`Fingerprint::all`]; `dir/` for a directory). Combine with
    /// [`Layout::fingerprint_any`]:
    ///
    /// ```
    /// use dotdir_engine::{Entry, Format, Layout};
    ///
    /// const BOT: Layout = Layout::new("bot", "a bot", &[
    ///     Entry::dir("state", "the bot's state"),
    ///     Entry::file("state/bot.pid", Format::PidRecord, "its pid"),
    ///     Entry::file("routines/*.md", Format::Spec, "a routine"),
    /// ])
    /// .fingerprint(&["state/"])                          // always created at start-up
    /// .fingerprint_any(&["state/bot.pid", "routines/"]); // and one sign of use
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// assert!(!dotdir_engine::inspect::fit(dir.path(), &BOT).unwrap().fits());
    /// std::fs::create_dir_all(dir.path().join("state")).unwrap();
    /// std::fs::create_dir_all(dir.path().join("routines")).unwrap();
    /// assert!(dotdir_engine::inspect::fit(dir.path(), &BOT).unwrap().fits());
    /// ```
    pub const fn fingerprint(self, all: &'static [&'static str]) -> Self {
        Self { fingerprint: Fingerprint { all, any: self.fingerprint.any }, ..self }
    }

    /// Declares paths of which **at least one** must be present ([`Fingerprint::any`]).
    pub const fn fingerprint_any(self, any: &'static [&'static str]) -> Self {
        Self { fingerprint: Fingerprint { all: self.fingerprint.all, any }, ..self }
    }

    /// The fingerprint a directory must fit: the declared one, or, when the layout declares
    /// none, at least one of its literal top-level entries other than `.git` and `.gitignore`
    /// (directories as `name/`). Returns `(all, any)`.
    pub fn fingerprint_paths(&self) -> (Vec<String>, Vec<String>) {
        if !self.fingerprint.is_empty() {
            let owned = |paths: &[&str]| paths.iter().map(|p| (*p).to_owned()).collect();
            return (owned(self.fingerprint.all), owned(self.fingerprint.any));
        }
        let any = self
            .all_entries()
            .filter(|e| !e.pattern.contains(['*', '?', '[', '/']))
            .filter(|e| e.pattern != ".git" && e.pattern != ".gitignore")
            .map(|e| match e.kind {
                Kind::Dir => format!("{}/", e.pattern),
                _ => e.pattern.to_owned(),
            })
            .collect();
        (Vec::new(), any)
    }

    /// The entry describing `relative` (a path inside the data directory, `/`-separated),
    /// or `None` for a path the layout does not know.
    pub fn entry_for(&self, relative: &str) -> Option<&'static Entry> {
        // A declared file wins; a sidecar is a file, so it wins over a directory pattern.
        let direct = self.all_entries().find(|entry| entry.matches(relative));
        match direct {
            Some(entry) if entry.kind != Kind::Dir => Some(entry),
            _ => self.sidecar_of(relative).map(|(sidecar, _)| sidecar.entry()).or(direct),
        }
    }

    /// The mistakes in this declaration, one line each; empty for a sound layout. The first
    /// matching entry describes a path, so an entry whose paths an earlier one already matches
    /// is never reached: a `sessions/**` directory entry declared before
    /// `sessions/*/*.jsonl` swallows the transcripts (and their torn lines go unreported).
    ///
    /// ```
    /// use dotdir_engine::{Entry, Format, Layout};
    ///
    /// const SHADOWED: Layout = Layout::new("app", "an app", &[
    ///     Entry::dir("sessions/**", "sessions"),
    ///     Entry::file("sessions/*/*.jsonl", Format::Jsonl, "a transcript"),
    /// ]);
    /// assert_eq!(SHADOWED.lint().len(), 1);
    /// const SOUND: Layout = Layout::new("app", "an app", &[
    ///     Entry::file("sessions/*/*.jsonl", Format::Jsonl, "a transcript"),
    ///     Entry::dir("sessions/**", "sessions"),
    /// ]);
    /// assert_eq!(SOUND.lint(), Vec::<String>::new());
    /// ```
    pub fn lint(&self) -> Vec<String> {
        let entries: Vec<&Entry> = self.all_entries().collect();
        let mut found = Vec::new();
        for (j, later) in entries.iter().enumerate() {
            // Unreachable when each of its sample paths (a `**` both shallow and deep) is
            // matched by an earlier entry.
            let samples = [sample_of(later.pattern, "x"), sample_of(later.pattern, "x/x/x")];
            let shadows: Vec<&&Entry> = samples
                .iter()
                .filter_map(|sample| entries[..j].iter().find(|e| e.matches(sample)))
                .collect();
            if shadows.len() == samples.len() {
                found.push(format!(
                    "`{}` ({}) is never reached: `{}`, declared before it, matches its paths ({}); declare the specific entry first",
                    later.pattern, later.description, shadows[0].pattern, samples[0]
                ));
            }
            // dotdir's sidecars are classified before any entry, by exact name beside what
            // they belong to ([`Layout::sidecar_of`]); a catch-all for them is a mistake that
            // also claims the application's own files of that name.
            let stem = [".lock", ".corrupt"].iter().find_map(|s| later.pattern.strip_suffix(s));
            if stem.is_some_and(|stem| stem.chars().all(|c| matches!(c, '*' | '/'))) {
                found.push(format!(
                    "`{}` ({}) declares dotdir's own sidecars by hand: they are recognised before every entry, by exact name beside the file they belong to; remove it",
                    later.pattern, later.description
                ));
            }
        }
        found
    }

    /// Whether `relative` is one of dotdir's own sidecars, by the exact names dotdir gives them
    /// beside what the layout declares — never by a bare `*.lock` pattern (Claude Code's
    /// `ide/<port>.lock` is the application's own, and holds a token) — and the declared path
    /// it belongs to:
    /// - `<file>.lock`: the lock of a read-modify-write or a pid record's lock;
    /// - `<dir>/.spec.lock`: a spec directory's lock;
    /// - `<file>.corrupt`, `<file>.<n>.corrupt`: bytes `check --fix` set aside.
    pub fn sidecar_of<'a>(&self, relative: &'a str) -> Option<(Sidecar, &'a str)> {
        let declared =
            |path: &str, kind: Kind| self.all_entries().any(|e| e.kind == kind && e.matches(path));
        if let Some(base) = relative.strip_suffix(".lock") {
            if declared(base, Kind::File) {
                return Some((Sidecar::Lock, base));
            }
            let dir = base.strip_suffix(".spec")?;
            let dir = match dir {
                "" => return None,
                dir => dir.strip_suffix('/')?,
            };
            return declared(dir, Kind::Dir).then_some((Sidecar::Lock, dir));
        }
        let stem = relative.strip_suffix(".corrupt")?;
        let numbered = match stem.rsplit_once('.') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Some(base),
            _ => None,
        };
        [Some(stem), numbered]
            .into_iter()
            .flatten()
            .find(|base| declared(base, Kind::File))
            .map(|base| (Sidecar::SetAside, base))
    }

    /// The write options of `relative` (a path in the data directory): its entry's
    /// ([`Entry::write_options`]), or the plain ones for a path the layout does not declare.
    /// Every writer of a layout's typed access takes its options here, so the declaration
    /// decides each file's mode.
    pub fn write_options(&self, relative: &Path, durability: Durability) -> WriteOptions {
        match self.entry_for_path(relative) {
            Some(entry) => entry.write_options(durability),
            None => WriteOptions::new().durability(durability),
        }
    }

    /// Like [`Layout::entry_for`], for a path relative to the data directory.
    pub fn entry_for_path(&self, relative: &Path) -> Option<&'static Entry> {
        let joined: Vec<_> =
            relative.components().map(|c| c.as_os_str().to_string_lossy()).collect();
        self.entry_for(&joined.join("/"))
    }

    /// The journal's exclusion list for this layout — the one conversion from a declaration to
    /// what git may see. It denies by default: only the files of [`Git::Tracked`] entries
    /// (file and symlink entries, and directory entries that reach into their content with
    /// `**`) are allowed, so an undeclared file (`.env`, `state/token.json.bak`) is never
    /// committed. Every [`Git::Excluded`] entry is excluded, anchored at the top of the
    /// directory (`/state/token.json`, `/.claude`), plus `dotdir-git-journal`'s built-in
    /// patterns (temporary, lock, pid and `.corrupt` files, at any depth); an exclusion wins
    /// over an allowed pattern. The journal enforces it in code and writes it as its block of
    /// `.gitignore`. Patterns for `.git` itself are left out (git never tracks its own
    /// directory).
    pub fn journal_exclusions(&self) -> dotdir_git_journal::Exclusions {
        let mut exclusions = dotdir_git_journal::Exclusions::builtin();
        let allowed = self
            .all_entries()
            .filter(|e| e.git == Git::Tracked)
            .filter(|e| e.kind != Kind::Dir || e.pattern.split('/').any(|s| s == "**"))
            .map(|e| e.pattern);
        if let Ok(deny_by_default) = exclusions.clone().allow_only(allowed) {
            exclusions = deny_by_default;
        }
        for entry in self.all_entries().filter(|e| e.git == Git::Excluded) {
            let pattern = entry.pattern.trim_start_matches('/');
            if pattern == ".git" || pattern.starts_with(".git/") {
                continue;
            }
            // The patterns of a `const` layout are checked by its tests (a pattern the journal
            // cannot read would be one no exclusion enforces).
            let _ = exclusions.add(&format!("/{pattern}"));
        }
        exclusions
    }

    /// The journal's options for this layout, to start every `JournalOptions` from: the
    /// exclusions ([`Layout::journal_exclusions`]) and the secrets (the pattern of every
    /// [`Entry::secret`] entry), whose current contents a push refuses under any path. The
    /// other settings are the journal's defaults.
    #[cfg(feature = "git")]
    pub fn journal_options(&self) -> dotdir_git_journal::JournalOptions {
        dotdir_git_journal::JournalOptions::new()
            .exclusions(self.journal_exclusions())
            .secrets(self.secrets().map(|e| e.pattern.trim_start_matches('/')))
    }

    /// The directories `dotdir init` creates, with their modes: the layout's literal top-level
    /// directories that hold user data (`0o755`) or secrets (`0o700`). Caches, hidden SDK folders
    /// and what the application creates itself ([`Entry::created_by_app`]) are left to it.
    pub fn initial_dirs(&self) -> Vec<(&'static str, u32)> {
        self.all_entries()
            .filter(|e| e.kind == Kind::Dir)
            .filter(|e| !e.pattern.contains(['*', '?', '/', '[']) && !e.pattern.starts_with('.'))
            .filter(|e| !e.created_by_app)
            .filter(|e| e.secret || e.backup == Backup::Keep)
            .map(|e| (e.pattern, e.write_mode().unwrap_or(0o755)))
            .collect()
    }

    /// Whether the layout keeps a git journal (it declares `.git`): the directory can be pushed
    /// and cloned with git; a layout without one moves with `backup` and `restore`.
    pub fn has_journal(&self) -> bool {
        self.entry_for(".git").is_some()
    }

    /// The entries that are secrets.
    pub fn secrets(&self) -> impl Iterator<Item = &'static Entry> + use<> {
        self.all_entries().filter(|e| e.secret)
    }

    /// The entries git does not carry but a backup does: untracked, not secret, kept
    /// ([`Backup::Keep`]) — the user's settings and state a `push` + `clone` leaves behind and
    /// `backup` + `restore` moves (ollim-bot's `state/config.json`, `state/sessions.json`, its
    /// edited agent specs).
    pub fn not_in_git(&self) -> impl Iterator<Item = &'static Entry> {
        self.all_entries().filter(|e| {
            e.git == Git::Excluded && !e.secret && e.backup == Backup::Keep && e.kind == Kind::File
        })
    }

    /// The files git never carries and `root` lacks, to re-create on a new machine (log in
    /// again, start the application): every literal secret or ephemeral entry that is not there.
    pub fn to_recreate(&self, root: &Path) -> Vec<&'static Entry> {
        self.all_entries()
            .filter(|e| e.secret || e.backup == Backup::Ephemeral)
            .filter(|e| !e.pattern.contains(['*', '?', '[']) && !root.join(e.pattern).exists())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, path: &str, expected: bool) {
        assert_eq!(dotdir_git_journal::glob_match(pattern, path), expected, "{pattern} vs {path}");
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

    const LAYOUT: Layout = Layout::new(
        "example",
        "an example",
        &[
            Entry::file("state/token.json", Format::Json, "a token").secret(),
            Entry::dir("cache", "a cache").backup(Backup::Recreatable).untracked(),
            Entry::file("notes/*.md", Format::Text, "notes"),
        ],
    );

    #[test]
    fn derived_exclusions_and_lookup() {
        let exclusions = LAYOUT.journal_exclusions();
        let patterns: Vec<&str> = exclusions.patterns().collect();
        assert_eq!(
            patterns,
            [dotdir_git_journal::BUILTIN_EXCLUSIONS, &["/state/token.json", "/cache"]].concat()
        );
        assert_eq!(LAYOUT.entry_for("notes/a.md").map(|e| e.description), Some("notes"));
        assert!(LAYOUT.entry_for("notes/a.txt").is_none());
        assert_eq!(
            LAYOUT.entry_for("state/token.json").and_then(Entry::required_mode),
            Some(0o600)
        );
        assert_eq!(LAYOUT.secrets().count(), 1);
        // The journal's options carry both: the exclusions, and the secrets a push refuses by
        // content.
        let options = LAYOUT.journal_options();
        assert_eq!(options.exclusions, exclusions);
        assert_eq!(options.secrets, ["state/token.json"]);
        let empty = std::env::temp_dir().join("dotdir-decl-test-nonexistent-root");
        let recreate: Vec<&str> = LAYOUT.to_recreate(&empty).iter().map(|e| e.pattern).collect();
        assert_eq!(recreate, ["state/token.json"]);
        // `cache` is re-creatable: only directories holding user data or secrets are created.
        assert!(LAYOUT.initial_dirs().is_empty());
    }
}
