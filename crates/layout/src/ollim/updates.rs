//! `state/pending_updates.json`: background fork summaries queued for the main session, capped
//! at 10 with a sentinel entry counting what was dropped.

use serde::{Deserialize, Serialize};

/// The most entries the file holds (the reference's `MAX_PENDING_UPDATES`).
pub const MAX_PENDING_UPDATES: usize = 10;

/// One queued update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpdate {
    /// ISO 8601 in the configured time zone.
    pub ts: String,
    /// The summary from the background fork.
    pub message: String,
}

/// The sentinel message for `dropped` omitted updates (the dash is U+2014).
pub fn sentinel_message(dropped: usize) -> String {
    format!("({dropped} earlier update(s) omitted \u{2014} cap reached)")
}

/// The count in a sentinel message, or `None` when `message` is not a sentinel.
pub fn sentinel_count(message: &str) -> Option<usize> {
    let rest = message.strip_prefix('(')?;
    let rest = rest.strip_suffix(" earlier update(s) omitted \u{2014} cap reached)")?;
    rest.parse().ok()
}

/// Appends `update` and applies the cap as the reference does — drop the oldest so that a
/// sentinel plus the newest 9 remain — except that an older sentinel that is dropped adds its own
/// count, so the total is never undercounted (the reference's miscount is fixed).
pub fn push_capped(list: &mut Vec<PendingUpdate>, update: PendingUpdate) {
    let ts = update.ts.clone();
    list.push(update);
    if list.len() <= MAX_PENDING_UPDATES {
        return;
    }
    let drop = list.len() - (MAX_PENDING_UPDATES - 1);
    let dropped: usize = list.drain(..drop).map(|u| sentinel_count(&u.message).unwrap_or(1)).sum();
    list.insert(0, PendingUpdate { ts, message: sentinel_message(dropped) });
}

pub(crate) fn validate_pending_updates(content: &[u8]) -> Result<(), String> {
    let list: Vec<PendingUpdate> = serde_json::from_slice(content).map_err(|e| e.to_string())?;
    if list.len() > MAX_PENDING_UPDATES {
        return Err(format!("{} entries, more than the cap of {MAX_PENDING_UPDATES}", list.len()));
    }
    Ok(())
}
