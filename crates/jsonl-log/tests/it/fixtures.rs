//! The real files ollim-bot wrote: `typical` reads back exactly and is reproduced byte for byte by
//! appends in the Python format; `hazards` (blank line, unknown field, torn last line) gives two
//! records and one torn-tail report, and no error in lenient or strict mode.

use std::path::{Path, PathBuf};

use dotdir_jsonl_log::{LineProblemKind, LineStyle, Log, LogOptions};
use serde::{Deserialize, Serialize};

/// ollim-bot's `SessionEvent`, keys in its order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SessionEvent {
    session_id: String,
    event: String,
    timestamp: String,
    parent_session_id: Option<String>,
}

fn event(id: &str, event: &str, timestamp: &str, parent: Option<&str>) -> SessionEvent {
    SessionEvent {
        session_id: id.into(),
        event: event.into(),
        timestamp: timestamp.into(),
        parent_session_id: parent.map(Into::into),
    }
}

/// The `session_history.jsonl` of a fixture set (`typical`, `hazards`).
fn data(set: &str) -> PathBuf {
    dotdir_test_support::fixtures::ollim_bot_file(&format!("{set}/state/session_history.jsonl"))
}

fn python_log(path: &Path) -> Log<SessionEvent> {
    Log::with_options(path, LogOptions::new().format(LineStyle::Python))
}

fn typical_events() -> Vec<SessionEvent> {
    vec![
        event("sess-main-1", "created", "2026-11-21T14:02:00.779085-08:00", None),
        event("sess-fork-1", "bg_fork", "2026-11-21T14:02:00.786160-08:00", Some("sess-main-1")),
        event("sess-main-2", "compacted", "2026-11-21T14:02:00.793183-08:00", Some("sess-main-1")),
        event("sess-main-2", "swapped", "2026-11-21T14:02:00.800947-08:00", Some("sess-main-2")),
        event("sess-iso-1", "isolated_bg", "2026-11-21T14:02:00.807909-08:00", None),
    ]
}

#[test]
fn typical_gives_the_exact_records() {
    let log = python_log(&data("typical"));
    let scan = log.read().unwrap();
    assert_eq!(scan.problems, vec![]);
    assert_eq!(scan.next_offset, std::fs::metadata(log.path()).unwrap().len());
    assert_eq!(scan.values(), typical_events());
    assert_eq!(log.read_strict().unwrap().values(), typical_events());
}

#[test]
fn python_appends_reproduce_typical_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let log = python_log(&dir.path().join("state/session_history.jsonl"));
    let events = typical_events();
    log.append(&events[0]).unwrap();
    log.append_batch(&events[1..]).unwrap();
    assert_eq!(std::fs::read(log.path()).unwrap(), std::fs::read(data("typical")).unwrap());
}

#[test]
fn hazards_gives_two_records_and_one_torn_tail_without_error() {
    let path = data("hazards");
    let bytes = std::fs::read(&path).unwrap();
    let log = python_log(&path);
    let scan = log.read().unwrap();
    assert_eq!(
        scan.records.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        vec![
            event("s1", "created", "2026-02-24T10:00:00-08:00", None),
            event("s2", "compacted", "2026-02-24T11:00:00-08:00", Some("s1")),
        ]
    );
    assert_eq!(scan.problems.len(), 1, "{:?}", scan.problems);
    let torn = scan.torn_tail().unwrap();
    assert_eq!(torn.kind, LineProblemKind::TornTail);
    assert_eq!(torn.line, Some(4), "line 2 is blank, line 3 has an unknown field");
    assert_eq!(&bytes[torn.offset as usize..], b"{\"session_id\": \"s3\", \"ev");
    assert_eq!(torn.len, 24);
    // The torn tail is not passed over: a reader resumes at its start.
    assert_eq!(scan.next_offset, torn.offset);

    // Strict mode has nothing to complain about either: the torn tail is a crash artifact.
    let strict = log.read_strict().unwrap();
    assert_eq!(strict.records.len(), 2);
    assert_eq!(strict.torn_tail(), Some(torn));
}

#[test]
fn hazards_unknown_field_survives_a_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session_history.jsonl");
    std::fs::copy(data("hazards"), &path).unwrap();
    let log = python_log(&path);
    let report = log.retain(|e| e.session_id != "s1").unwrap();
    assert_eq!((report.kept, report.removed, report.blank), (1, 1, 1));
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"session_id\": \"s2\", \"event\": \"compacted\", \"timestamp\": \"2026-02-24T11:00:00-08:00\", \"parent_session_id\": \"s1\", \"extra\": 1}\n"
    );
    assert_eq!(
        std::fs::read_to_string(log.corrupt_path()).unwrap(),
        "{\"session_id\": \"s3\", \"ev\n"
    );
}
