//! The ollim-bot data directory (`~/.ollim-bot`, or `$OLLIM_DATA_DIR`), declared as data
//! ([`LAYOUT`]) and typed file by file.
//!
//! Formats are byte-compatible with the Python reference (`json.dumps` separators and ASCII
//! escaping, no trailing newline, raw `sessions.json`). Quirks that files on disk depend on are
//! kept; the ones that lose data are fixed, each said where it is fixed.

mod budget;
mod clock;
mod config;
mod error;
mod layout;
mod sessions;
mod ttl;
mod updates;

pub use self::{
    clock::{
        Clock, FixedClock, SystemClock, configured_time_zone, isoformat, time_zone,
        timestamp_from_unix, unix_seconds,
    },
    config::{CONFIG_KEYS, RuntimeConfig},
    error::{Error, Result},
    layout::{LAYOUT, TTL},
    sessions::{SessionEvent, SessionEventKind, parse_session_id},
    ttl::{ForkLookup, ForkMessage, Inquiries, Inquiry, is_inquiry_key},
    updates::{MAX_PENDING_UPDATES, PendingUpdate, push_capped, sentinel_count, sentinel_message},
};
