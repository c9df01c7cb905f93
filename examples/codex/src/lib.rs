//! A fourth real application on dotdir's public API, declared and nothing else: the data
//! directory of [OpenAI Codex CLI](https://developers.openai.com/codex/config-file), `~/.codex`
//! (or `$CODEX_HOME`). The whole app is [`LAYOUT`]; its `codex-data` binary is
//! `dotdir_cli::Cli` with it (`inspect`, `check [--fix]`, `backup`, `restore`, `init`), and
//! every rule follows from the declaration: formats checked with line and column, secrets
//! `0600` and never in a backup, caches left out of backups, history never rewritten while
//! Codex holds its lock.
//!
//! What the layout says, from Codex's documentation (`CODEX_HOME`, `config.toml`,
//! `AGENTS.md`, custom prompts, skills, rules) and published surveys of the directory:
//! - `config.toml` (TOML; profiles are its `[profiles.<name>]` tables) and any other
//!   top-level `*.toml` (`managed_config.toml`, a profile kept apart): a person's
//!   configuration, checked as TOML.
//! - `auth.json` (an API key or ChatGPT tokens), `.credentials.json`: secrets — `0600`, never
//!   backed up.
//! - `history.jsonl` (prompt history, `{"session_id","ts","text"}`): Codex appends it under
//!   its own `flock`, so a repair takes the same lock and waits for none.
//! - `sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl`, `archived_sessions/rollout-*.jsonl`:
//!   the session transcripts (JSON Lines; `.jsonl.zst` when compressed); `session_index.jsonl`
//!   the thread names.
//! - `prompts/*.md`: custom prompts, Markdown whose front matter (`description`,
//!   `argument-hint`) is optional; `AGENTS.md`: global instructions; `skills/<name>/SKILL.md`
//!   (front matter `name` and `description` required) with `agents/openai.yaml` (YAML);
//!   `rules/*.rules`: command rules.
//! - `log/`: logs, ephemeral; `state_*.sqlite` (and its `-wal`, `-shm`): an index Codex
//!   rebuilds from the rollouts — a re-creatable cache, never in a backup.
//!
//! The layout declares no `.git`: Codex keeps no journal, so `init` makes no repository and
//! the command offers no `push` or `clone`; the directory moves with `backup` + `restore`.
//!
//! # Example
//! ```
//! use codex_data::LAYOUT;
//! use dotdir_engine::check;
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("config.toml"), "model = \"o3\"\n[profiles\n").unwrap();
//! let report = check::check(dir.path(), &LAYOUT, &check::Options::default()).unwrap();
//! assert_eq!(report.problems[0].line, Some(2));
//! ```
//!
//! # Limitations
//! - The layout follows the documented files and what current versions write; a newer Codex
//!   may add paths, which `check` reports as `unknown-entry` notices (never errors).
//! - Project-level `.codex/` folders inside repositories are not this layout's.

use dotdir_engine::{AppLock, Backup, Entry, Format, Layout, Location, Program};

const fn cache(pattern: &'static str, description: &'static str) -> Entry {
    Entry::file(pattern, Format::Opaque, description).untracked().backup(Backup::Recreatable)
}

const fn ephemeral(pattern: &'static str, description: &'static str) -> Entry {
    Entry::file(pattern, Format::Opaque, description).untracked().backup(Backup::Ephemeral)
}

/// `~/.codex`, declared entry by entry (specific before general).
pub const LAYOUT: Layout = Layout::new(
    "codex",
    "the data directory of OpenAI Codex CLI (~/.codex, or $CODEX_HOME)",
    &[
        Entry::file("auth.json", Format::Json, "the login: an API key or ChatGPT tokens").secret(),
        Entry::file(".credentials.json", Format::Json, "credentials kept in a file").secret(),
        Entry::file("config.toml", Format::Toml, "configuration: model, profiles, MCP servers"),
        Entry::file("*.toml", Format::Toml, "another configuration layer or profile"),
        Entry::file("AGENTS.md", Format::Markdown, "global instructions for every session"),
        Entry::file("AGENTS.override.md", Format::Markdown, "instructions that replace AGENTS.md"),
        Entry::dir("prompts", "custom prompts (slash commands)"),
        Entry::file(
            "prompts/*.md",
            Format::Markdown,
            "a custom prompt (optional front matter: description, argument-hint)",
        ),
        Entry::dir("skills", "skills: a folder each"),
        Entry::file("skills/*/SKILL.md", Format::Spec, "a skill (front matter: name, description)")
            .advise("give the skill front matter with `name` and `description`, or Codex skips it"),
        Entry::file("skills/*/agents/openai.yaml", Format::Yaml, "a skill's metadata for Codex"),
        Entry::file("skills/**", Format::Opaque, "a skill's scripts and references"),
        Entry::dir("rules", "command rules (execution policy)"),
        Entry::file("rules/*.rules", Format::Text, "a rule file"),
        Entry::file("history.jsonl", Format::Jsonl, "prompt history: session_id, ts, text")
            .locked_by_app(AppLock::Flock),
        Entry::file("session_index.jsonl", Format::Jsonl, "thread names; the last entry wins"),
        Entry::dir("sessions", "session rollouts, by date"),
        Entry::dir("sessions/*", "a year"),
        Entry::dir("sessions/*/*", "a month"),
        Entry::dir("sessions/*/*/*", "a day"),
        Entry::file("sessions/*/*/*/rollout-*.jsonl", Format::Jsonl, "a session rollout"),
        Entry::file("sessions/*/*/*/rollout-*.jsonl.zst", Format::Opaque, "a compressed rollout"),
        Entry::dir("archived_sessions", "archived rollouts (codex archive)"),
        Entry::file("archived_sessions/rollout-*.jsonl", Format::Jsonl, "an archived rollout"),
        Entry::file("archived_sessions/rollout-*.jsonl.zst", Format::Opaque, "a compressed one"),
        Entry::dir("log", "logs").untracked().backup(Backup::Ephemeral),
        ephemeral("log/**", "a log (codex-tui.log)"),
        cache("*.sqlite", "the state index, rebuilt from the rollouts"),
        cache("*.sqlite-wal", "the state index's write-ahead log"),
        cache("*.sqlite-shm", "the state index's shared memory"),
        ephemeral("version.json", "the update check's record"),
    ],
)
.located(Location::Home { name: ".codex", env: Some("CODEX_HOME") })
.launched_as(Program::named("codex").modules(&["@openai/codex"]))
.fingerprint_any(&["config.toml", "auth.json", "history.jsonl", "sessions/"]);
