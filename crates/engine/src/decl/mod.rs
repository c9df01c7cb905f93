//! Declared layouts: every entry of a data directory as data — path pattern, kind, format,
//! secrecy, git tracking, backup policy, retention — from which `.gitignore`, the journal's
//! exclusion list, `dotdir check`, `dotdir inspect` and `dotdir backup` are derived.

mod entry;
mod location;

use std::path::Path;

use dotdir_atomic_store::{Durability, WriteOptions};
use dotdir_pidlock::Program;

use self::entry::sample_of;
pub use self::{
    entry::{AppLock, Backup, Entry, Finding, Format, Git, Kind, Severity, Sidecar, Validator},
    location::{Fingerprint, Location},
};

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
