//! `state/session_history.jsonl` on `dotdir-jsonl-log`: appends in the reference's Python line
//! format, each event committed as `session {event}: {id[:8]}`.

use dotdir_jsonl_log::{LineProblem, LineStyle, Log, LogOptions};

use crate::ollim::{DataDir, Result, SessionEvent, SessionEventKind, files};

/// The session history as read: the events, and the lines that were skipped (a torn last line
/// after a crash, a corrupt line) — reported, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionHistory {
    /// The events in file order.
    pub events: Vec<SessionEvent>,
    /// The skipped lines.
    pub problems: Vec<LineProblem>,
}

impl DataDir {
    /// The history log (Python format, appends under the log's cross-process lock).
    pub fn session_log(&self) -> Log<SessionEvent> {
        Log::with_options(
            self.state_dir().join(files::SESSION_HISTORY),
            LogOptions::new().format(LineStyle::Python).durability(self.options.durability),
        )
    }

    /// Appends one lifecycle event stamped now, and commits the log with the reference's
    /// message `session {event}: {session_id[:8]}`.
    pub fn log_session_event(
        &self,
        event: SessionEventKind,
        session_id: &str,
        parent_session_id: Option<&str>,
    ) -> Result<SessionEvent> {
        self.check_state_dir()?;
        let record = SessionEvent {
            session_id: session_id.to_owned(),
            event,
            timestamp: self.now_iso(),
            parent_session_id: parent_session_id.map(str::to_owned),
        };
        let _ = self.session_log().append(&record)?;
        let short: String = session_id.chars().take(8).collect();
        self.commit(
            &format!("state/{}", files::SESSION_HISTORY),
            &format!("session {event}: {short}"),
        )?;
        Ok(record)
    }

    /// Every event, with skipped lines reported (the reference raised on a torn line).
    pub fn session_history(&self) -> Result<SessionHistory> {
        let scan = self.session_log().read()?;
        let problems = scan.problems.clone();
        Ok(SessionHistory { events: scan.values(), problems })
    }

    /// When the current main session started: the timestamp of the last `created` event, read
    /// backwards from the end of the log (the reference read the whole file).
    pub fn session_start_time(&self) -> Result<Option<jiff::Timestamp>> {
        let log = self.session_log();
        let mut count = 16;
        loop {
            let scan = log.last(count)?;
            let found =
                scan.records.iter().rev().find(|r| r.value.event == SessionEventKind::Created);
            if let Some(record) = found {
                return Ok(parse_iso(&record.value.timestamp));
            }
            if scan.records.len() < count {
                return Ok(None);
            }
            count *= 4;
        }
    }
}

/// Parses a Python `isoformat()` timestamp with an offset (`None` for a naive or bad one).
pub(crate) fn parse_iso(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok()
}
