//! A downstream app on dotdir's public API: the data directory of
//! [Claude Code](https://docs.anthropic.com/en/docs/claude-code/settings), `~/.claude` (or
//! `$CLAUDE_CONFIG_DIR`), declared once in [`LAYOUT`] and typed in [`ClaudeDir`]. Its
//! `claude-data` binary is `dotdir_cli::Cli` with this layout: `inspect`, `check [--fix]`,
//! `backup`, `restore`, `init`.
//!
//! What the layout says, from Claude Code's documentation
//! (<https://code.claude.com/docs/en/claude-directory>: `~/.claude`, `CLAUDE_CONFIG_DIR`, the
//! files a person edits, and "transcripts, prompt history, file snapshots, caches, and logs")
//! and published surveys of the directory on disk (`projects/<path with / and . as ->/<session>.jsonl`,
//! `backups/`, `sessions/`, `tasks/`, `paste-cache/`, `telemetry/`):
//! - `settings.json`, `settings.local.json` (user settings), `CLAUDE.md` (user memory),
//!   `commands/*.md` (slash commands), `agents/*.md` (subagents): a person's own configuration,
//!   kept in git and in backups.
//! - `.credentials.json` (the OAuth tokens on Linux): a secret — `0600`, never committed, never
//!   backed up.
//! - `projects/<project>/<session>.jsonl`: the session transcripts, JSON Lines, one directory
//!   per working directory (its path with every character but letters, digits and `-` turned
//!   into `-`: [`project_dir_name`]). Backed up, not committed (large, and they hold whatever
//!   was pasted into a session).
//! - `history.jsonl` (prompt history), `file-history/`, `plans/`, `backups/` (Claude Code's own
//!   copies of `~/.claude.json`): the app's records, backed up, not committed.
//! - `statsig/`, `plugins/`, `local/`, `cache/`, `paste-cache/`: caches and installs,
//!   re-creatable; `todos/`, `tasks/`, `sessions/`, `shell-snapshots/`, `ide/`, `session-env/`,
//!   `debug/`, `telemetry/`: ephemeral.
//!
//! Claude Code also keeps a shared `~/.claude.json` *beside* the directory, which concurrent
//! sessions rewrite without a lock — a well-known way to lose configuration (reported again and
//! again: anthropics/claude-code#3117, #28922 "reported 8 times since June 2025", #29198, with
//! hundreds of `backups/.claude.json.corrupted.<ms>` files a day).
//! [`shared_config`] reads and updates it atomically under a lock, so writers that go through
//! it never lose each other's change; since Claude Code itself takes no lock, it refuses to
//! write while Claude Code runs ([`SharedConfig::update`]).
//!
//! # Example
//! ```
//! use claude_data::{ClaudeDir, project_dir_name};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let claude = ClaudeDir::at(dir.path());
//! claude.update_settings(|s| { s.insert("model".into(), "opus".into()); }).unwrap();
//! assert_eq!(claude.settings().unwrap()["model"], "opus");
//! assert_eq!(project_dir_name("/home/u/my.proj".as_ref()), "-home-u-my-proj");
//! ```
//!
//! # Limitations
//! - The layout follows the documented files and what current versions write; a newer Claude
//!   Code may add paths, which `check` reports as `unknown-entry` notices (never errors).
//! - Transcript records are read as JSON values; their schema is Claude Code's and changes.

use std::path::{Path, PathBuf};

use dotdir_atomic_store::{Document, JsonStyle, WriteOptions};
use dotdir_engine::{Backup, Entry, Format, Layout, Location, Program};
use dotdir_jsonl_log::{Log, Scan};
use serde_json::{Map, Value};

/// The result of this crate's typed access.
pub type Result<T> = std::result::Result<T, Error>;

/// What typed access can fail with: the member crate's error, kept as it is.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A read or atomic write of a JSON document failed.
    Store(dotdir_atomic_store::Error),
    /// A transcript could not be read.
    Log(dotdir_jsonl_log::Error),
    /// Refused: Claude Code is running on the directory, or whether it is cannot be told
    /// (what was seen, or why).
    AppRunning(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Store(_) => f.write_str("a Claude Code document could not be read or written"),
            Error::Log(_) => f.write_str("a Claude Code transcript could not be read"),
            Error::AppRunning(why) => write!(f, "{why}: nothing was changed (stop it first)"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Store(e) => Some(e),
            Error::Log(e) => Some(e),
            Error::AppRunning(_) => None,
        }
    }
}

const fn ephemeral(pattern: &'static str, description: &'static str) -> Entry {
    Entry::file(pattern, Format::Opaque, description).untracked().backup(Backup::Ephemeral)
}

const fn cache(pattern: &'static str, description: &'static str) -> Entry {
    Entry::file(pattern, Format::Opaque, description).untracked().backup(Backup::Recreatable)
}

/// `~/.claude`, declared entry by entry (specific before general).
pub const LAYOUT: Layout = Layout::new(
    "claude-code",
    "the data directory of Claude Code (~/.claude, or $CLAUDE_CONFIG_DIR)",
    &[
        Entry::dir(".git/**", "git history of the configuration (dotdir init)").untracked(),
        Entry::file(".gitignore", Format::Text, "derived from this layout"),
        Entry::file(".credentials.json", Format::Json, "OAuth tokens (Linux)").secret(),
        Entry::file("settings.json", Format::Json, "user settings: permissions, hooks, env, model"),
        Entry::file("settings.local.json", Format::Json, "user settings not shared"),
        Entry::file("CLAUDE.md", Format::Text, "user memory: instructions for every project"),
        Entry::dir("commands", "custom slash commands"),
        Entry::file(
            "commands/**",
            Format::Markdown,
            "a slash command (markdown, optional front matter)",
        ),
        Entry::dir("agents", "custom subagents"),
        Entry::file(
            "agents/*.md",
            Format::Markdown,
            "a subagent (front matter: name, description, tools)",
        ),
        Entry::dir("skills", "skills: a folder each, with SKILL.md and its scripts"),
        Entry::file("skills/**", Format::Opaque, "a skill's files"),
        Entry::dir("rules", "rules loaded into every session"),
        Entry::file("rules/**", Format::Text, "a rule"),
        Entry::dir("plans", "plan-mode documents").untracked(),
        Entry::file("plans/**", Format::Text, "a plan").untracked(),
        Entry::dir("backups", "Claude Code's own rolling copies of ~/.claude.json")
            .untracked()
            .backup(Backup::Never),
        // Copies of `.claude.json`, whose MCP server `env` and `headers` may hold API keys:
        // never committed, never in a backup (the mode is Claude Code's, so not enforced).
        Entry::file("backups/**", Format::Opaque, "a copy of ~/.claude.json (backup or corrupted)")
            .untracked()
            .backup(Backup::Never),
        Entry::file(
            ".claude.json",
            Format::Json,
            "the shared state file, here when CLAUDE_CONFIG_DIR is set",
        )
        .untracked()
        .backup(Backup::Never),
        Entry::dir("output-styles", "custom output styles"),
        Entry::file("output-styles/**", Format::Text, "an output style"),
        Entry::dir("themes", "custom themes"),
        Entry::file("themes/**", Format::Opaque, "a theme"),
        Entry::file("keybindings.json", Format::Json, "key bindings"),
        Entry::dir("projects", "session transcripts, one directory per working directory")
            .untracked(),
        Entry::dir("projects/*", "one working directory's sessions").untracked(),
        Entry::file("projects/*/*.jsonl", Format::Jsonl, "a session transcript").untracked(),
        Entry::file("projects/**", Format::Opaque, "a session's other files").untracked(),
        Entry::file("history.jsonl", Format::Jsonl, "prompt history").untracked(),
        Entry::dir("todos", "per-session todo lists").untracked().backup(Backup::Ephemeral),
        ephemeral("todos/**", "a session's todo list"),
        Entry::dir("tasks", "per-session task tracking").untracked().backup(Backup::Ephemeral),
        ephemeral("tasks/**", "a session's tasks"),
        Entry::dir("sessions", "the running sessions (a record per pid)")
            .untracked()
            .backup(Backup::Ephemeral),
        ephemeral("sessions/**", "a running session's record"),
        Entry::dir("file-history", "checkpoints of edited files").untracked(),
        Entry::file("file-history/**", Format::Opaque, "a checkpoint").untracked(),
        Entry::dir("statsig", "feature-flag cache").untracked().backup(Backup::Recreatable),
        cache("statsig/**", "feature-flag cache"),
        Entry::dir("plugins", "installed plugins").untracked().backup(Backup::Recreatable),
        cache("plugins/**", "an installed plugin"),
        Entry::dir("cache", "cached assets (changelog, …)").untracked().backup(Backup::Recreatable),
        cache("cache/**", "a cached asset"),
        Entry::dir("paste-cache", "pasted content, by hash")
            .untracked()
            .backup(Backup::Recreatable),
        cache("paste-cache/**", "a pasted blob"),
        cache("stats-cache.json", "aggregated usage statistics"),
        cache("mcp-needs-auth-cache.json", "MCP servers waiting for authentication"),
        Entry::dir("telemetry", "usage telemetry").untracked().backup(Backup::Ephemeral),
        ephemeral("telemetry/**", "telemetry data"),
        Entry::dir("local", "a local install of Claude Code")
            .untracked()
            .backup(Backup::Recreatable),
        cache("local/**", "the local install"),
        Entry::dir("shell-snapshots", "shell environment snapshots")
            .untracked()
            .backup(Backup::Ephemeral),
        ephemeral("shell-snapshots/**", "a shell snapshot"),
        // `ide/<port>.lock`: the app's own lock files, each holding a local auth token — a
        // secret (never committed, never backed up, `0600`), not a dotdir sidecar.
        Entry::dir("ide", "IDE connection lock files").secret(),
        Entry::file("ide/**", Format::Opaque, "an IDE connection (holds a local auth token)")
            .secret(),
        Entry::dir("logs", "logs of older versions").untracked().backup(Backup::Ephemeral),
        ephemeral("logs/**", "a log"),
        Entry::dir("session-env", "per-session environment").untracked().backup(Backup::Ephemeral),
        ephemeral("session-env/**", "a session's environment"),
        Entry::dir("debug", "debug logs").untracked().backup(Backup::Ephemeral),
        ephemeral("debug/**", "a debug log"),
    ],
)
.located(Location::Home { name: ".claude", env: Some("CLAUDE_CONFIG_DIR") })
// The native install's `claude`, or the npm package run by node.
.launched_as(Program::named("claude").modules(&["claude-code"]))
// `projects/` holds every session's transcript (and `init` makes it); beside it one file or
// folder only Claude Code keeps. Not `CLAUDE.md` or `settings.json`: a project's root
// and its `.claude/` hold those too.
.fingerprint(&["projects/"])
.fingerprint_any(&[
    "history.jsonl",
    ".credentials.json",
    "file-history/",
    "plans/",
    "statsig/",
    "todos/",
    "shell-snapshots/",
    "session-env/",
]);

/// The name of a working directory's folder under `projects/`: every character but ASCII
/// letters, digits and `-` becomes `-` (`/home/u/my.proj` → `-home-u-my-proj`). Claude Code cuts
/// a name over 200 characters and appends a hash of the path, which this does not reproduce:
/// for such a path, find the folder by the `cwd` field of its transcripts.
pub fn project_dir_name(cwd: &Path) -> String {
    cwd.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect()
}

/// `.claude.json` in `dir` — the home (`~/.claude.json`), or the data directory itself when
/// `CLAUDE_CONFIG_DIR` moves it — read and updated atomically, under a lock every writer
/// through this function shares. Its MCP server settings may hold API keys: a write keeps the
/// file's mode, a new file is `0600`.
///
/// **Claude Code itself takes no lock**, so no writer can be safe beside a running session:
/// each side's read-modify-write overwrites what the other wrote since its read. Measured with
/// an unlocked peer doing Claude Code's rewrite (`shared_config_beside_an_unlocked_peer`, in
/// this crate's tests: 300 updates each side, printed on every run; one run on 2 cores lost 15 of
/// ours and 32 of the peer's), *both* sides lose keys —
/// the peer's losses are not ours to prevent. So [`SharedConfig::update`] refuses while Claude
/// Code runs on the directory, or while that cannot be told ([`dotdir_engine::live`]: a
/// `claude` process whose default directory is this one, or any process working in it), with
/// [`Error::AppRunning`]; [`SharedConfig::beside_running_app`] is the explicit opt-in.
pub fn shared_config(dir: &Path) -> SharedConfig {
    let path = dir.join(".claude.json");
    let options = if path.exists() { WriteOptions::new() } else { WriteOptions::secret() };
    // `~/.claude.json` belongs to `~/.claude`; with `CLAUDE_CONFIG_DIR`, both are `dir`.
    let data_dir = match dir.join(".claude") {
        nested if nested.is_dir() => nested,
        _ => dir.to_path_buf(),
    };
    SharedConfig {
        document: Document::new(path).style(JsonStyle::Pretty).options(options),
        data_dir,
        beside_running_app: false,
    }
}

/// `.claude.json`, updated only while Claude Code is stopped ([`shared_config`]).
#[derive(Debug, Clone)]
pub struct SharedConfig {
    document: Document<Map<String, Value>>,
    data_dir: PathBuf,
    beside_running_app: bool,
}

impl SharedConfig {
    /// The file's content (`None` when there is none).
    pub fn read(&self) -> Result<Option<Map<String, Value>>> {
        self.document.read().map_err(Error::Store)
    }

    /// Changes the file in place under the lock every writer through [`shared_config`] shares;
    /// refused with [`Error::AppRunning`] while Claude Code runs (or that cannot be told),
    /// unless [`SharedConfig::beside_running_app`].
    pub fn update<R>(&self, change: impl FnOnce(&mut Map<String, Value>) -> R) -> Result<R> {
        if !self.beside_running_app {
            let program = LAYOUT.program;
            match dotdir_engine::live::liveness(&self.data_dir, &LAYOUT, &[], program) {
                dotdir_engine::live::Liveness::Stopped => {}
                dotdir_engine::live::Liveness::Live(seen) => {
                    return Err(Error::AppRunning(format!("Claude Code is running: {seen}")));
                }
                dotdir_engine::live::Liveness::Unknown(why) => {
                    return Err(Error::AppRunning(format!(
                        "whether Claude Code is running cannot be told: {why}"
                    )));
                }
            }
        }
        self.document.update(change).map_err(Error::Store)
    }

    /// Updates even while Claude Code runs, accepting that its next rewrite may drop this
    /// change and that this one may drop a change of its own made since our read.
    #[must_use]
    pub fn beside_running_app(mut self) -> Self {
        self.beside_running_app = true;
        self
    }
}

/// A Claude Code data directory: the engine's handle ([`dotdir_engine::Dir`]) on [`LAYOUT`],
/// so every document it writes gets the mode its entry declares.
#[derive(Debug, Clone)]
pub struct ClaudeDir {
    dir: dotdir_engine::Dir,
}

impl ClaudeDir {
    /// The directory at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { dir: dotdir_engine::Dir::new(root, &LAYOUT) }
    }

    /// The directory where Claude Code keeps it: `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
    pub fn locate() -> Option<Self> {
        LAYOUT.location.default_dir().map(Self::at)
    }

    /// Its path.
    pub fn root(&self) -> &Path {
        self.dir.root()
    }

    fn settings_document(&self) -> Document<Map<String, Value>> {
        self.dir.document("settings.json").style(JsonStyle::Pretty)
    }

    /// `settings.json` (empty when there is none). A file that does not parse is an error,
    /// never an empty map.
    pub fn settings(&self) -> Result<Map<String, Value>> {
        Ok(self.settings_document().read().map_err(Error::Store)?.unwrap_or_default())
    }

    /// Changes `settings.json` in place: read, `change`, atomic replace, under a lock, so
    /// concurrent updaters never lose each other's change; keys it does not touch stay as
    /// they are, in their order.
    pub fn update_settings<R>(
        &self,
        change: impl FnOnce(&mut Map<String, Value>) -> R,
    ) -> Result<R> {
        self.settings_document().update(change).map_err(Error::Store)
    }

    /// The transcript of `session` in the project of `cwd`, read tolerantly: the line a killed
    /// session left half-written is reported in [`Scan::problems`], never an error.
    pub fn transcript(&self, cwd: &Path, session: &str) -> Result<Scan<Value>> {
        let path =
            self.dir.path("projects").join(project_dir_name(cwd)).join(format!("{session}.jsonl"));
        Log::<Value>::new(path).read().map_err(Error::Log)
    }
}
