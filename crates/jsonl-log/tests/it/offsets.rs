//! Reading from a byte offset: the records appended since, and the next offset, which never passes
//! over an unterminated line.

use std::io::Write;

use dotdir_jsonl_log::{Durability, Error, LineProblemKind, Log, LogOptions};

fn log(dir: &tempfile::TempDir) -> Log<u64> {
    Log::with_options(
        dir.path().join("numbers.jsonl"),
        LogOptions::new().durability(Durability::None),
    )
}

#[test]
fn resume_from_the_high_water_mark() {
    let dir = tempfile::tempdir().unwrap();
    let log = log(&dir);
    assert_eq!(log.read().unwrap().next_offset, 0, "a missing log is empty");
    for n in 0..3 {
        log.append(&n).unwrap();
    }
    let first = log.read_from(0).unwrap();
    assert_eq!(first.records.iter().map(|r| r.value).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(first.next_offset, 6);
    assert_eq!(first.records[1].offset, 2);
    assert_eq!(first.records[1].end, 4);

    let appended = log.append_batch(&[3, 4]).unwrap();
    assert_eq!((appended.offset, appended.end, appended.records), (6, 10, 2));
    let second = log.read_from(first.next_offset).unwrap();
    assert_eq!(second.values(), vec![3, 4]);

    // Nothing new: the same offset comes back.
    let third = log.read_from(10).unwrap();
    assert!(third.records.is_empty() && third.problems.is_empty());
    assert_eq!(third.next_offset, 10);

    // Any record's end is a valid place to resume.
    assert_eq!(log.read_from(first.records[0].end).unwrap().values(), vec![1, 2, 3, 4]);
}

#[test]
fn a_record_in_progress_is_read_by_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let log = log(&dir);
    log.append(&1).unwrap();
    let mut raw = std::fs::OpenOptions::new().append(true).open(log.path()).unwrap();
    raw.write_all(b"12").unwrap();
    let scan = log.read_from(0).unwrap();
    assert_eq!(scan.next_offset, 2, "the unterminated `12` is not passed over");
    assert_eq!(scan.values(), vec![1]);

    let scan = log.read_from(2).unwrap();
    assert!(scan.records.is_empty());
    assert_eq!(scan.problems.len(), 1);
    assert_eq!(
        (scan.problems[0].kind.clone(), scan.problems[0].offset),
        (LineProblemKind::TornTail, 2)
    );
    assert_eq!(scan.next_offset, 2);

    raw.write_all(b"34\n").unwrap();
    let scan = log.read_from(2).unwrap();
    assert_eq!(scan.next_offset, 7);
    assert_eq!(scan.values(), vec![1234]);
}

#[test]
fn streaming_reader_reports_next_offset_as_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let log = log(&dir);
    log.append_batch(&[10, 20, 30]).unwrap();
    let mut records = log.records_from(3).unwrap();
    let first = records.next().unwrap().unwrap();
    assert!(
        matches!(first, dotdir_jsonl_log::Line::Record(ref r) if r.value == 20 && r.offset == 3)
    );
    assert_eq!(records.next_offset(), 6);
    assert!(records.next().is_some());
    assert!(records.next().is_none());
    assert_eq!(records.next_offset(), 9);
}

#[test]
fn an_offset_past_the_end_means_the_log_was_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let log = log(&dir);
    log.append_batch(&[1, 2, 3, 4]).unwrap();
    let checkpoint = log.read().unwrap().next_offset;
    let _ = log.retain(|&n| n < 2).unwrap();
    match log.read_from(checkpoint) {
        Err(Error::OffsetPastEnd { offset, len, .. }) => assert_eq!((offset, len), (8, 2)),
        other => panic!("expected OffsetPastEnd, got {other:?}"),
    }
    let missing: Log<u64> = Log::new(dir.path().join("missing.jsonl"));
    assert!(matches!(missing.read_from(5), Err(Error::OffsetPastEnd { len: 0, .. })));
}
