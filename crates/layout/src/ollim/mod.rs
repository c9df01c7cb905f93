//! The ollim-bot data directory (`~/.ollim-bot`, or `$OLLIM_DATA_DIR`), declared as data
//! ([`LAYOUT`]) and typed file by file.
//!
//! Formats are byte-compatible with the Python reference (`json.dumps` separators and ASCII
//! escaping, no trailing newline, raw `sessions.json`). Quirks that files on disk depend on are
//! kept; the ones that lose data are fixed, each said where it is fixed.

mod budget;
mod clock;
mod config;
mod datadir;
mod error;
mod extras;
mod git;
mod guard;
mod history;
mod layout;
mod names;
mod paths;
mod pid;
mod profile;
mod sessions;
mod specs;
mod state;
mod ttl;
mod updates;

pub use self::{
    clock::{
        Clock, FakeClock, SystemClock, configured_time_zone, isoformat, time_zone,
        timestamp_from_unix, unix_seconds,
    },
    config::{CONFIG_KEYS, RuntimeConfig},
    datadir::{DataDir, Options},
    error::{Error, Result},
    extras::{DOWNLOADS_DIR, REFLECTIONS_DIR, reflection_file_name},
    git::{GITIGNORE_MESSAGE, exclusions as git_exclusions},
    guard::{Location, StateGuard, WRITE_TOOLS, blocked_message},
    history::SessionHistory,
    layout::{LAYOUT, TTL},
    names::{
        FALLBACK_DOWNLOAD_NAME, MAX_DOWNLOAD_NAME, is_safe_item_id, numbered_name,
        sanitize_download_name,
    },
    paths::{DATA_DIR_VAR, DEFAULT_DIR_NAME, STATE_DIR_NAME, data_dir_from, resolve_data_dir},
    pid::PROGRAM,
    profile::{
        AgentTemplate, BUNDLED_AGENTS, IDENTITY_FILE, IDENTITY_TEMPLATE, Names, SKILLS_LINK_TARGET,
        SdkLayoutReport, USER_FILE,
    },
    sessions::{SessionEvent, SessionEventKind, parse_session_id},
    specs::{Reminder, Routine, Skill, Webhook, new_id},
    state::files,
    ttl::{ForkLookup, ForkMessage, Inquiries, Inquiry, is_inquiry_key},
    updates::{MAX_PENDING_UPDATES, PendingUpdate, push_capped, sentinel_count, sentinel_message},
};
