//! `state/fork_messages.json` and `state/inquiries.json`: small JSON state with a 7-day TTL.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One record of `state/fork_messages.json`: a Discord message that belongs to a fork.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForkMessage {
    /// The Discord message snowflake.
    pub message_id: u64,
    /// The fork's Agent SDK session id.
    pub fork_session_id: String,
    /// The session the fork branched from.
    pub parent_session_id: Option<String>,
    /// Unix time of the record (`time.time()`), for the TTL.
    pub ts: f64,
}

/// What a reply-to-fork lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForkLookup {
    /// A live record: the fork's session id.
    Found(String),
    /// Only records older than the TTL.
    Expired,
    /// No record for that message.
    Unknown,
}

/// One entry of `state/inquiries.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inquiry {
    /// The prompt sent to the agent when the button is pressed.
    pub prompt: String,
    /// Unix time of registration; an entry without it counts as expired (the reference's `0`).
    #[serde(default)]
    pub ts: f64,
}

/// The content of `state/inquiries.json`: 8-hex keys in file order (a repeated key keeps its
/// first place and its last value, as Python's `json.load` does).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Inquiries(pub IndexMap<String, Inquiry>);

impl Inquiries {
    /// The entry for `key`.
    pub fn get(&self, key: &str) -> Option<&Inquiry> {
        self.0.get(key)
    }

    /// Inserts or replaces (in place) the entry for `key`.
    pub fn insert(&mut self, key: String, inquiry: Inquiry) {
        self.0.insert(key, inquiry);
    }

    /// Removes and returns the entry for `key`, keeping the others in order.
    pub fn remove(&mut self, key: &str) -> Option<Inquiry> {
        self.0.shift_remove(key)
    }

    /// Drops the entries with `ts <= cutoff`; returns how many were dropped.
    pub fn prune(&mut self, cutoff: f64) -> usize {
        let before = self.0.len();
        self.0.retain(|_, v| v.ts > cutoff);
        before - self.0.len()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether `key` has the reference's shape: 8 lowercase hex digits.
pub fn is_inquiry_key(key: &str) -> bool {
    key.len() == 8 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(crate) fn validate_fork_messages(content: &[u8]) -> Result<(), String> {
    let records: Vec<ForkMessage> = serde_json::from_slice(content).map_err(|e| e.to_string())?;
    if let Some(bad) = records.iter().find(|r| !r.ts.is_finite()) {
        return Err(format!("message {} has a non-finite ts", bad.message_id));
    }
    Ok(())
}

pub(crate) fn validate_inquiries(content: &[u8]) -> Result<(), String> {
    let inquiries: Inquiries = serde_json::from_slice(content).map_err(|e| e.to_string())?;
    match inquiries.0.iter().find(|(k, _)| !is_inquiry_key(k)) {
        Some((key, _)) => Err(format!("key {key:?} is not 8 lowercase hex digits")),
        None => Ok(()),
    }
}
