//! The declaration of the ollim-bot data directory: every entry of `~/.ollim-bot` with its kind,
//! format, secrecy, git tracking (the seed's "Git tracking" table), backup policy and retention.

use std::time::Duration;

use crate::{
    Backup, Entry, Format, Layout, Location,
    ollim::{DATA_DIR_VAR, DEFAULT_DIR_NAME, LAUNCHED_AS},
};

/// The problem kind of a JSON state file with the wrong shape — the stable kind `dotdir check`
/// also reports for one that does not parse (the message says which file and what is wrong).
const CORRUPT_JSON: &str = "corrupt-json";

/// Seven days: the TTL of `state/fork_messages.json` and `state/inquiries.json`.
pub const TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The ollim-bot data directory, declared entry by entry (specific before general).
///
/// Git tracking follows the seed's table exactly: the state files other than
/// `session_history.jsonl`, the two secrets, `.claude/agents/*.md` and the `.claude/skills`
/// symlink are never committed; everything else the bot or its agent writes is.
pub const LAYOUT: Layout = Layout::new(
    "ollim-bot",
    "the data directory of ollim-bot (~/.ollim-bot, or $OLLIM_DATA_DIR)",
    ENTRIES,
)
.located(Location::Home { name: DEFAULT_DIR_NAME, env: Some(DATA_DIR_VAR) })
.launched_as(LAUNCHED_AS)
.root_may_be_a_link()
// `state/` is made by the bot's first start (its pid lock) and by `DataDir::open`; beside it, one
// sign of use only ollim-bot leaves: its spec directories, the doc symlinks
// `_ensure_sdk_layout` creates at every start, or a state file of its own. Never `.claude/`,
// which a home directory holds too (Claude Code's).
.fingerprint(&["state/"])
.fingerprint_any(&[
    "routines/",
    "reminders/",
    "webhooks/",
    "routine-reminder-spec.md",
    "webhook-spec.md",
    "state/bot.pid",
    "state/sessions.json",
    "state/session_history.jsonl",
    "state/config.json",
]);

const ENTRIES: &[Entry] = &[
    // git's own directory: holds the history of the tracked files (never a secret, because the
    // journal refuses to stage one).
    Entry::dir(".git/**", "git repository of the data directory (auto-commit history)").untracked(),
    Entry::file(".gitignore", Format::Text, "ignore list derived from this layout"),
    // dotdir's own sidecars (`<file>.lock`, `<file>.corrupt`) are known by their exact names
    // beside a declared file, never by a pattern (see `dotdir_engine::inspect::sidecar`).
    // Profile and agent-facing files at the root.
    Entry::file("IDENTITY.md", Format::Text, "bot persona (bootstrapped once, never overwritten)"),
    Entry::file("USER.md", Format::Text, "context about the user (user-created, optional)"),
    Entry::file("tool-policy.yaml", Format::Yaml, "optional YAML tool policy overrides")
        .validate("corrupt-yaml", super::policy::validate_tool_policy),
    Entry::symlink("routine-reminder-spec.md", "link to the routine/reminder spec (reference bot)"),
    Entry::symlink("webhook-spec.md", "link to the webhook spec (reference bot)"),
    // Saved attachments.
    Entry::dir("downloads", "saved non-image Discord attachments"),
    Entry::file(
        "downloads/**",
        Format::Opaque,
        "a saved attachment (sanitised name, -2/-3 on collision)",
    ),
    // Spec directories.
    Entry::dir("routines", "recurring routine specs"),
    Entry::file("routines/*.md", Format::Spec, "a routine (YAML front matter + prompt)"),
    Entry::dir("reminders", "one-shot and chained reminder specs"),
    Entry::file("reminders/*.md", Format::Spec, "a reminder (deleted after it fires)"),
    Entry::dir("webhooks", "webhook endpoint specs"),
    Entry::file("webhooks/*.md", Format::Spec, "a webhook spec (JSON Schema fields + template)"),
    Entry::dir("skills", "reusable instruction sets"),
    Entry::dir("skills/*", "one skill"),
    Entry::file("skills/*/SKILL.md", Format::Spec, "a skill (name, description, instructions)"),
    Entry::file("skills/*/**", Format::Opaque, "a supporting file of a skill"),
    Entry::dir("reflections", "per-job execution traces of background forks"),
    Entry::dir("reflections/*", "the traces of one routine, reminder or webhook"),
    Entry::file("reflections/*/*.md", Format::Text, "one trace, named <UTC timestamp>.md"),
    // The Agent SDK layout: infrastructure written at startup, never committed.
    Entry::dir(".claude", "Agent SDK project layout").untracked(),
    Entry::dir(".claude/agents", "subagent specs for SDK discovery").untracked(),
    Entry::file(
        ".claude/agents/*.md",
        Format::Spec,
        "bundled subagent spec (copied once, user edits persist)",
    )
    .untracked(),
    Entry::symlink(".claude/skills", "symlink -> ../skills (SDK skill discovery)"),
    Entry::file(".claude/settings.json", Format::Json, "Agent SDK project settings").untracked(),
    // Infrastructure state.
    Entry::dir("state", "infrastructure state, write-protected from agent tools").private(),
    Entry::file("state/bot.pid", Format::PidRecord, "pid of the running bot (single instance)")
        .untracked()
        .backup(Backup::Ephemeral),
    Entry::file("state/credentials.json", Format::Json, "Google OAuth client credentials").secret(),
    Entry::file("state/token.json", Format::Json, "Google OAuth token").secret(),
    Entry::file("state/google_auth_revoked", Format::Opaque, "marker: Google access was revoked")
        .untracked(),
    Entry::file("state/sessions.json", Format::Text, "current Agent SDK session id (raw string)")
        .private()
        .untracked()
        .validate_as("bad-session-id", crate::Severity::Warning, |bytes| {
            super::sessions::validate_session_file(bytes).map_err(Into::into)
        }),
    Entry::file(
        "state/session_history.jsonl",
        Format::Jsonl,
        "append-only session lifecycle events (committed on every event)",
    ),
    Entry::file(
        "state/pending_updates.json",
        Format::Json,
        "background fork updates queued for the main session (max 10)",
    )
    .private()
    .untracked()
    .backup(Backup::Ephemeral)
    .validate(CORRUPT_JSON, |bytes| {
        super::updates::validate_pending_updates(bytes)
            .map_err(|e| format!("pending_updates.json: {e}").into())
    }),
    Entry::file("state/inquiries.json", Format::Json, "button inquiry prompts (7-day TTL)")
        .private()
        .untracked()
        .backup(Backup::Ephemeral)
        .retention(TTL)
        .validate(CORRUPT_JSON, |bytes| {
            super::ttl::validate_inquiries(bytes).map_err(|e| format!("inquiries.json: {e}").into())
        }),
    Entry::file(
        "state/fork_messages.json",
        Format::Json,
        "Discord message -> fork session mapping (7-day TTL)",
    )
    .private()
    .untracked()
    .backup(Backup::Ephemeral)
    .retention(TTL)
    .validate(CORRUPT_JSON, |bytes| {
        super::ttl::validate_fork_messages(bytes)
            .map_err(|e| format!("fork_messages.json: {e}").into())
    }),
    Entry::file("state/config.json", Format::Json, "runtime configuration (the ten /config keys)")
        .private()
        .untracked()
        .validate(CORRUPT_JSON, |bytes| {
            super::config::validate_config(bytes).map_err(|e| format!("config.json: {e}").into())
        }),
    Entry::file("state/ping_budget.json", Format::Json, "ping budget token bucket (ephemeral)")
        .private()
        .untracked()
        .backup(Backup::Ephemeral)
        // ping-bucket's message already names the file.
        .validate(CORRUPT_JSON, |bytes| {
            super::datadir::budget::validate_budget(bytes).map_err(Into::into)
        }),
    // Agent-written notes at the root are committed by the auto-commit hook.
    Entry::file("*.md", Format::Text, "a note written by the agent"),
];
