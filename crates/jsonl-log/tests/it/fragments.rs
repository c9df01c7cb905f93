//! A writer killed mid-record leaves a fragment; every later append closes it off (or moves it
//! aside) first, so the fragment costs only itself and the next record is intact.

use std::io::Write;

use dotdir_jsonl_log::{FragmentPolicy, LineProblemKind, LineStyle, Log, LogOptions};

const TORN: &[u8] = b"{\"id\": 1}\n{\"id\": 2, \"par";

#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn plant(path: &std::path::Path, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn close_off_makes_the_fragment_a_line_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log<serde_json::Value> = Log::with_options(
        dir.path().join("log.jsonl"),
        LogOptions::new().format(LineStyle::Python).fragments(FragmentPolicy::CloseOff),
    );
    plant(log.path(), TORN);
    let appended = log.append(&serde_json::json!({"id": 3})).unwrap();
    assert_eq!(appended.fragment.map(|f| (f.offset, f.len)), Some((10, 14)));
    assert_eq!(appended.offset, 25);
    assert_eq!(
        std::fs::read(log.path()).unwrap(),
        b"{\"id\": 1}\n{\"id\": 2, \"par\n{\"id\": 3}\n"
    );
    let scan = log.read().unwrap();
    assert_eq!(scan.records.len(), 2);
    assert_eq!(scan.problems.len(), 1);
    let problem = &scan.problems[0];
    assert!(matches!(problem.kind, LineProblemKind::Malformed { .. }));
    assert_eq!((problem.line, problem.offset, problem.len), (Some(2), 10, 14));
    // A clean tail: the next append finds nothing to close.
    assert_eq!(log.append(&serde_json::json!({"id": 4})).unwrap().fragment, None);
}

#[test]
fn move_aside_keeps_the_log_clean() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log<serde_json::Value> = Log::with_options(
        dir.path().join("log.jsonl"),
        LogOptions::new().format(LineStyle::Python).fragments(FragmentPolicy::MoveAside),
    );
    plant(log.path(), TORN);
    let appended = log.append(&serde_json::json!({"id": 3})).unwrap();
    assert_eq!(appended.offset, 10);
    assert!(appended.fragment.is_some());
    assert_eq!(std::fs::read(log.path()).unwrap(), b"{\"id\": 1}\n{\"id\": 3}\n");
    assert_eq!(std::fs::read(log.corrupt_path()).unwrap(), b"{\"id\": 2, \"par\n");
    assert_eq!(log.read_strict().unwrap().records.len(), 2);
}

#[test]
fn a_fragment_at_the_very_start_is_handled() {
    for policy in [FragmentPolicy::CloseOff, FragmentPolicy::MoveAside] {
        let dir = tempfile::tempdir().unwrap();
        let log: Log<u64> =
            Log::with_options(dir.path().join("log.jsonl"), LogOptions::new().fragments(policy));
        plant(log.path(), b"12");
        let appended = log.append(&7).unwrap();
        assert_eq!(appended.fragment.map(|f| (f.offset, f.len)), Some((0, 2)), "{policy:?}");
        assert_eq!(log.last(1).unwrap().values(), vec![7], "{policy:?}");
    }
}

/// A torn number is still a number: only a checksum tells it from a record.
#[test]
fn only_checksummed_lines_detect_a_fragment_that_parses() {
    let dir = tempfile::tempdir().unwrap();
    for (format, expected) in
        [(LineStyle::Compact, vec![12_345, 12, 7]), (LineStyle::Checksummed, vec![12_345, 7])]
    {
        let path = dir.path().join(format!("{format:?}.jsonl"));
        let log: Log<u64> = Log::with_options(&path, LogOptions::new().format(format));
        log.append(&12_345).unwrap();
        // A writer of 12345 killed after the first two bytes of its line.
        let line = std::fs::read(&path).unwrap();
        plant(&path, &line[..2]);
        log.append(&7).unwrap();
        let scan = log.read().unwrap();
        assert_eq!(scan.corrupt().count(), 3 - expected.len(), "{format:?}");
        assert_eq!(scan.values(), expected, "{format:?}");
    }
}

/// A reader that read into a torn fragment with a full read (the fragment ran past its chunk)
/// while a move-aside append truncated the fragment away and wrote records in its place: the
/// reader must see those records, never the fragment's first bytes glued to a later record's
/// last ones (which parsed as a wrong record and hid the records in between: the "reader saw
/// writer N skip" of `kill::sigkill_move_aside_compact`).
#[test]
fn a_reader_never_glues_a_moved_aside_fragment_it_read_with_a_full_read() {
    use crate::Stamp;
    use dotdir_jsonl_log::Line;

    let dir = tempfile::tempdir().unwrap();
    let log: Log<Stamp> = Log::with_options(
        dir.path().join("log.jsonl"),
        LogOptions::new().format(LineStyle::Compact).fragments(FragmentPolicy::MoveAside),
    );
    let first = Stamp::new(1, 0, 200);
    log.append(&first).unwrap();
    // Writer 2 was killed 80,000 bytes into a 100,000-byte record: more than one read chunk.
    let mut torn = serde_json::to_vec(&Stamp::new(2, 0, 100_000)).unwrap();
    torn.truncate(80_000);
    plant(log.path(), &torn);

    let mut reader = log.records().unwrap();
    let Some(Ok(Line::Record(record))) = reader.next() else { panic!("the first record") };
    assert_eq!(record.value, first);
    // The reader has read a full chunk ending inside the fragment; now a peer appends.
    let (short, long) = (Stamp::new(3, 0, 200), Stamp::new(3, 1, 100_000));
    let appended = log.append_batch([&short, &long]).unwrap();
    assert_eq!(appended.fragment.map(|f| (f.offset, f.len)), Some((200, 80_000)));

    let rest: Vec<Stamp> = reader
        .map(|entry| match entry.unwrap() {
            Line::Record(record) => record.value,
            Line::Problem(problem) => panic!("the reader saw a problem: {problem}"),
        })
        .collect();
    assert!(rest == [short, long], "the reader saw {} records, not the two appended", rest.len());
}
