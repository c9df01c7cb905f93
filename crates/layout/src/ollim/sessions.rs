//! `state/sessions.json` (the current session id, a raw string) and the session lifecycle
//! events of `state/session_history.jsonl`, with the reference's created/compacted detection.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The eight session lifecycle events, spelled as the reference writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionEventKind {
    /// A new main session (no id was saved before).
    Created,
    /// The main session id changed (SDK compaction); parent = the old id.
    Compacted,
    /// The client was swapped (`/model`, …); parent = the previous id.
    Swapped,
    /// The main session was cleared.
    Cleared,
    /// An interactive fork of the main session; parent = the main id.
    InteractiveFork,
    /// A background fork; parent = the main id.
    BgFork,
    /// An isolated background run; no parent.
    IsolatedBg,
    /// The bot is restarting (update).
    Restarting,
}

impl SessionEventKind {
    /// Every event kind, in the reference's order.
    pub const ALL: [SessionEventKind; 8] = [
        Self::Created,
        Self::Compacted,
        Self::Swapped,
        Self::Cleared,
        Self::InteractiveFork,
        Self::BgFork,
        Self::IsolatedBg,
        Self::Restarting,
    ];

    /// The name written in the file (`created`, `bg_fork`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Compacted => "compacted",
            Self::Swapped => "swapped",
            Self::Cleared => "cleared",
            Self::InteractiveFork => "interactive_fork",
            Self::BgFork => "bg_fork",
            Self::IsolatedBg => "isolated_bg",
            Self::Restarting => "restarting",
        }
    }
}

impl fmt::Display for SessionEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionEventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown session event {s:?}"))
    }
}

/// One line of `state/session_history.jsonl`, keys in the reference's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// The Agent SDK session id.
    pub session_id: String,
    /// What happened.
    pub event: SessionEventKind,
    /// ISO 8601 in the configured time zone (Python `isoformat()`).
    pub timestamp: String,
    /// The parent session (compacted, swapped and fork events), else `null`.
    pub parent_session_id: Option<String>,
}

/// The session id held by the content of `state/sessions.json`: the stripped text, or `None`
/// when it is empty or is the legacy JSON form (starts with `{`), as the reference reads it.
pub fn parse_session_id(content: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(content);
    let id = text.trim();
    (!id.is_empty() && !id.starts_with('{')).then(|| id.to_owned())
}

/// The layout's validator for `state/sessions.json`.
pub(crate) fn validate_session_file(content: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(content).map_err(|e| format!("not UTF-8: {e}"))?;
    let id = text.trim();
    if id.starts_with('{') {
        return Err("legacy JSON form: ignored, the next session id replaces it".to_owned());
    }
    if id.is_empty() {
        return Err("empty session id".to_owned());
    }
    if id.chars().any(char::is_control) {
        return Err("session id contains control characters".to_owned());
    }
    Ok(())
}
