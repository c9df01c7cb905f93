//! The ollim-bot data directory (`~/.ollim-bot`, or `$OLLIM_DATA_DIR`): declared as data
//! ([`LAYOUT`]) and typed file by file behind one handle, [`DataDir`].
//!
//! # Main types
//! - [`LAYOUT`]: every entry of the seed's tree — kind, format, secrecy, git tracking exactly
//!   as the seed's table, backup policy, the 7-day [`TTL`], validators for the JSON state files.
//! - [`DataDir`]: opens or creates the directory (`state/` is `0o700`), initialises git in it on
//!   first use (through `dotdir-git-journal`, exclusion list and `.gitignore` derived from
//!   [`LAYOUT`]), and gives the typed files: [`DataDir::save_session_id`] (the
//!   `created`/`compacted` detection), [`DataDir::log_session_event`] (`dotdir-jsonl-log`,
//!   Python format), [`DataDir::record_fork_messages`], [`DataDir::register_inquiry`],
//!   [`DataDir::append_update`], [`DataDir::set_config`], [`DataDir::ping_budget`]
//!   (`dotdir-ping-bucket`), [`DataDir::lock_instance`] (`dotdir-pidlock`, bare pid, the
//!   `ollim-bot` command-line rule), [`DataDir::save_routine`], [`DataDir::fire_reminder`],
//!   [`DataDir::webhooks`], [`DataDir::skills`] (`dotdir-frontmatter`),
//!   [`DataDir::save_download`], [`DataDir::write_reflection`], [`DataDir::bootstrap_identity`],
//!   [`DataDir::ensure_sdk_layout`], [`DataDir::auto_commit`].
//! - [`StateGuard`]: whether a path an agent tool wants to write lands in `state/`.
//! - [`resolve_data_dir`], [`sanitize_download_name`], [`RuntimeConfig`], [`Routine`],
//!   [`Reminder`], [`Webhook`], [`Skill`], [`SessionEvent`], [`ForkMessage`], [`Inquiries`],
//!   [`PendingUpdate`]. Errors: [`Error`].
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir::ollim::Error> {
//! # let tmp = tempfile::tempdir().unwrap();
//! use dotdir::ollim::{DataDir, Names, Options, Routine, SessionEventKind, StateGuard};
//!
//! let dd = DataDir::open(tmp.path().join(".ollim-bot"), Options::new().git_identity_from_config(false))?;
//! let _running = dd.lock_instance()?; // state/bot.pid, released on drop
//! dd.ensure_sdk_layout(&Names::new("Julian", "ollim"))?;
//! dd.save_session_id("sess-1")?; // logs `created`, committed as "session created: sess-1"
//! dd.save_routine(&Routine::new("30 8 * * 1-5", "Morning check-in"))?; // "add routine <id>"
//! assert!(dd.ping_budget().try_use()?);
//! let key = dd.register_inquiry("agent:Plan tomorrow?")?;
//! assert_eq!(dd.pop_inquiry(&key)?.as_deref(), Some("agent:Plan tomorrow?"));
//! assert_eq!(dd.session_history()?.events[0].event, SessionEventKind::Created);
//!
//! // The tool-permission hook of the agent:
//! let guard = StateGuard::new(dd.root())?;
//! assert!(guard.check_tool("Write", Some("state/config.json")).is_err());
//! assert!(guard.check_tool("Write", Some("routines/new.md")).is_ok());
//! # Ok(()) }
//! ```
//!
//! # Compatibility with the Python reference
//! Files stay byte-compatible where files on disk depend on it: `json.dumps` separators and
//! ASCII escaping without a trailing newline, the raw `sessions.json`, the JSONL line layout,
//! the front-matter layout and slugs, `bot.pid` as a bare pid, the `(N earlier update(s)
//! omitted — cap reached)` sentinel, the commit messages. Fixed where the reference loses data
//! or safety:
//! - writes are durable (fsync) and the state files are read-modify-written under
//!   cross-process locks (the reference used none, or an in-process `asyncio.Lock`);
//! - the pending-updates sentinel counts a dropped older sentinel (no undercount);
//! - an inquiry key collision picks another key instead of overwriting;
//! - a torn last line of the history is reported, not fatal; expired fork records and
//!   inquiries are filtered on every read (the file is pruned on the next write);
//! - config values of the wrong JSON type are an error naming the file; only ASCII digits are
//!   digits; `OLLIM_DATA_DIR` must be absolute (`~/` is expanded), never silently relative;
//! - git never commits into an ancestor's repository, a `.gitignore` keeps secrets and state
//!   out, and the journal refuses excluded paths even when asked;
//! - the guard resolves relative paths from the data directory (not the process's working
//!   directory), covers `MultiEdit`/`NotebookEdit`, refuses a missing path, case and
//!   invisible-character variants of `state`, and hard links into `state/`;
//! - agent templates and `IDENTITY.md` are written atomically (never a half-written file);
//! - a layout directory (`state/`, `routines/`, `downloads/`, `.git/`, …) replaced by a
//!   symbolic link is refused ([`Error::NotADirectory`]) at open and before each write under
//!   it, so no write follows it out of the data directory (the data directory itself may be
//!   reached through a link);
//! - every `Err` is safe to retry (no duplicate event, record, file or commit): a write that
//!   fails after its change is on disk undoes it, and a commit that fails after its change is
//!   deferred — the call returns `Ok`, the commit is made later with its own message (recorded
//!   in `.git/dotdir-pending-commits.json`, listed by [`DataDir::pending_commits`]);
//! - a fired reminder's follow-up is saved before the reminder is removed.
//!
//! Kept as the reference does it: `session_history.jsonl` is committed on every event (the
//! seed's table), expired entries stay on disk until the next write, `downloads/` and
//! `reflections/` are tracked (the seed's "all other files").
//!
//! # Limitations
//! - The guard decides from the file system at call time: a symlink created between the
//!   decision and the write is not seen (the agent cannot create one in `state/`).
//! - Download names are not NFC-normalised (no Unicode tables); look-alikes of `/`, `\`, `.`,
//!   `:` and invisible characters are mapped or removed instead.
//! - `IDENTITY.md` and agent templates are created under a lock shared by dotdir writers; a
//!   person editing the same file in that millisecond is not excluded (no `RENAME_NOREPLACE`
//!   in `dotdir-atomic-store` yet).

mod clock;
mod config;
mod datadir;
mod error;
mod git;
mod guard;
mod layout;
mod names;
mod paths;
mod policy;
mod profile;
mod sessions;
mod specs;
mod ttl;
mod updates;

pub use self::{
    clock::{
        Clock, FakeClock, SystemClock, configured_time_zone, isoformat, time_zone,
        timestamp_from_unix, unix_seconds,
    },
    config::{CONFIG_KEYS, RuntimeConfig},
    datadir::extras::{DOWNLOADS_DIR, REFLECTIONS_DIR, reflection_file_name},
    datadir::history::SessionHistory,
    datadir::pid::{LAUNCHED_AS, PROGRAM},
    datadir::state::files,
    datadir::{DataDir, Options},
    error::{Error, Result},
    git::GITIGNORE_MESSAGE,
    guard::{Landing, StateGuard, WRITE_TOOLS, blocked_message},
    layout::{LAYOUT, TTL},
    names::{FALLBACK_DOWNLOAD_NAME, MAX_DOWNLOAD_NAME, numbered_name, sanitize_download_name},
    paths::{DATA_DIR_VAR, DEFAULT_DIR_NAME, STATE_DIR_NAME, data_dir_from, resolve_data_dir},
    policy::{BgForks, DEFAULT_BG_TOOLS, MainSession, TOOL_POLICY_FILE, ToolPolicy},
    profile::{
        AgentTemplate, BUNDLED_AGENTS, IDENTITY_FILE, IDENTITY_TEMPLATE, Names, SKILLS_LINK_TARGET,
        SdkLayoutReport, USER_FILE,
    },
    sessions::{SessionEvent, SessionEventKind, parse_session_id},
    specs::{Reminder, Routine, Skill, Webhook},
    ttl::{ForkLookup, ForkMessage, Inquiries, Inquiry, is_inquiry_key},
    updates::{MAX_PENDING_UPDATES, PendingUpdate},
};
use self::{names::is_safe_item_id, updates::push_capped};
pub use indexmap::IndexMap;
