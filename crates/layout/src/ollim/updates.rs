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

impl PendingUpdate {
    /// How many updates this entry stands for when it is the cap's sentinel ("(3 earlier
    /// update(s) omitted — cap reached)"); `None` for an ordinary update.
    pub fn omitted(&self) -> Option<usize> {
        sentinel_count(&self.message)
    }
}

/// The sentinel message for `dropped` omitted updates (the dash is U+2014).
pub(crate) fn sentinel_message(dropped: usize) -> String {
    format!("({dropped} earlier update(s) omitted \u{2014} cap reached)")
}

/// The count in a sentinel message, or `None` when `message` is not a sentinel.
pub(crate) fn sentinel_count(message: &str) -> Option<usize> {
    let rest = message.strip_prefix('(')?;
    let rest = rest.strip_suffix(" earlier update(s) omitted \u{2014} cap reached)")?;
    rest.parse().ok()
}

/// Appends `update` and applies the cap as the reference does — drop the oldest so that a
/// sentinel plus the newest 9 remain — except that an older sentinel that is dropped adds its own
/// count, so the total is never undercounted (the reference's miscount is fixed).
pub(crate) fn push_capped(list: &mut Vec<PendingUpdate>, update: PendingUpdate) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The pure cap rule, for a list built by hand: 25 pushes keep a sentinel counting the 16
    /// dropped and the newest 9.
    #[test]
    fn the_cap_keeps_a_sentinel_that_counts_every_dropped_update() {
        let mut list: Vec<PendingUpdate> = Vec::new();
        for i in 0..25 {
            push_capped(&mut list, PendingUpdate { ts: String::new(), message: format!("m{i}") });
        }
        assert_eq!(list.len(), MAX_PENDING_UPDATES);
        assert_eq!(list[0].message, sentinel_message(16));
        assert_eq!(list[0].omitted(), Some(16));
        assert_eq!(list[1].message, "m16");
        assert_eq!(list[1].omitted(), None);
    }
}
