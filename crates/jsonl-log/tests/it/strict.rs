//! Strict reading fails on the first corrupt line, with its line number and byte offset; lenient
//! reading skips and counts the same lines; unknown fields and blank lines never fail either.

use dotdir_jsonl_log::{Error, Line, LineProblemKind, LineStyle, Log, LogOptions};
use serde::Deserialize;

#[derive(Debug, PartialEq, Deserialize)]
struct Event {
    id: u32,
}

#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn log_with(dir: &tempfile::TempDir, content: &[u8], format: LineStyle) -> Log<Event> {
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, content).unwrap();
    Log::with_options(path, LogOptions::new().format(format))
}

const CONTENT: &[u8] = b"{\"id\": 1, \"new_field\": {\"x\": [1]}}\n\n{\"id\": 2}\n{\"id\": \"three\"}\n{\"id\"\n{\"id\": 4}\n";

#[test]
fn strict_stops_at_the_first_corrupt_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, CONTENT, LineStyle::Compact);
    let mut strict = log.strict_records().unwrap();
    assert_eq!(strict.next().unwrap().unwrap().value, Event { id: 1 });
    assert_eq!(strict.next().unwrap().unwrap().value, Event { id: 2 });
    match strict.next().unwrap() {
        Err(Error::Corrupt { problem, path }) => {
            assert_eq!(path, log.path());
            assert_eq!(problem.line, Some(4));
            assert_eq!(problem.offset, 46);
            assert_eq!(problem.len, 15);
            assert!(matches!(problem.kind, LineProblemKind::Mismatch { .. }), "{problem}");
        }
        other => panic!("expected a corrupt-line error, got {other:?}"),
    }
    assert!(strict.next().is_none(), "the strict reader ends after an error");
    let error = log.read_strict().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} is corrupt: line 4 at byte 46 (15 bytes): not a valid record (invalid type: string \"three\", expected u32 at line 1 column 14)",
            log.path().display()
        )
    );
}

#[test]
fn lenient_skips_and_reports_each_corrupt_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, CONTENT, LineStyle::Compact);
    let scan = log.read().unwrap();
    assert_eq!(scan.records.iter().map(|r| r.value.id).collect::<Vec<_>>(), vec![1, 2, 4]);
    let positions: Vec<_> = scan.problems.iter().map(|p| (p.line, p.offset, p.len)).collect();
    assert_eq!(positions, vec![(Some(4), 46, 15), (Some(5), 62, 5)]);
    assert!(matches!(scan.problems[1].kind, LineProblemKind::Malformed { .. }));
    assert!(scan.torn_tail().is_none());
    assert_eq!(scan.next_offset, CONTENT.len() as u64);
    // The streaming reader yields the same, in file order.
    let kinds: Vec<_> = log
        .records()
        .unwrap()
        .map(|entry| match entry.unwrap() {
            Line::Record(_) => "record",
            Line::Problem(_) => "problem",
        })
        .collect();
    assert_eq!(kinds, ["record", "record", "problem", "problem", "record"]);
}

#[test]
fn checksummed_logs_reject_lines_without_a_valid_crc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let writer: Log<serde_json::Value> =
        Log::with_options(&path, LogOptions::new().format(LineStyle::Checksummed));
    writer.append(&serde_json::json!({"id": 1})).unwrap();
    let line = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        line,
        format!(
            "{{\"crc32\":\"{:08x}\",\"record\":{{\"id\":1}}}}\n",
            crc32fast::hash(b"{\"id\":1}")
        )
    );
    // A plain line, and a line whose record was changed without updating the CRC.
    let forged = line.replace("\"id\":1", "\"id\":7");
    std::fs::write(&path, format!("{line}{{\"id\": 2}}\n{forged}")).unwrap();
    let log: Log<Event> =
        Log::with_options(&path, LogOptions::new().format(LineStyle::Checksummed));
    let scan = log.read().unwrap();
    assert_eq!(scan.values(), vec![Event { id: 1 }]);
    let scan = log.read().unwrap();
    assert_eq!(
        scan.problems.iter().map(|p| p.kind.clone()).collect::<Vec<_>>(),
        vec![LineProblemKind::Checksum; 2]
    );
    assert!(
        matches!(log.read_strict(), Err(Error::Corrupt { problem, .. }) if problem.line == Some(2))
    );
}
