//! The last N records, read backwards in chunks, agree with a full forward read for every N, with
//! lines that cross chunk boundaries, corrupt lines, oversized lines and a torn tail.

use std::io::Write;

use dotdir_jsonl_log::{Durability, LineProblemKind, Log, LogOptions};

use crate::Stamp;

/// Line lengths that put boundaries everywhere relative to the 64 KiB read chunk.
fn sizes() -> impl Iterator<Item = usize> {
    [200, 4097, 65_536, 70_001, 30, 131_073, 65_535, 1_000].into_iter().cycle()
}

#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn check_against_forward(log: &Log<Stamp>) {
    let forward = log.read().unwrap();
    let total = forward.records.len();
    for n in 0..=total + 2 {
        let last = log.last(n).unwrap();
        let expected = &forward.records[total.saturating_sub(n)..];
        assert_eq!(last.records, expected, "last({n})");
        assert_eq!(last.next_offset, forward.next_offset, "last({n}) next_offset");
        if n > total {
            // The whole file was read: the same problems (without line numbers).
            let strip = |p: &dotdir_jsonl_log::LineProblem| (p.kind.clone(), p.offset, p.len);
            assert_eq!(
                last.problems.iter().map(strip).collect::<Vec<_>>(),
                forward.problems.iter().map(strip).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn last_n_matches_a_forward_read() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log<Stamp> = Log::with_options(
        dir.path().join("log.jsonl"),
        LogOptions::new().durability(Durability::None).max_record(100_000),
    );
    assert!(log.last(3).unwrap().records.is_empty(), "a missing log has no records");
    for (seq, size) in sizes().take(12).enumerate() {
        if size <= 100_000 {
            log.append(&Stamp::new(1, seq as u64, size)).unwrap();
        } else {
            // Oversized lines can only be planted by someone else.
            let mut raw = std::fs::OpenOptions::new().append(true).open(log.path()).unwrap();
            let mut line = serde_json::to_vec(&Stamp::new(1, seq as u64, size)).unwrap();
            line.push(b'\n');
            raw.write_all(&line).unwrap();
        }
    }
    check_against_forward(&log);
    let last = log.last(2).unwrap();
    assert_eq!(last.records.iter().map(|r| r.value.seq).collect::<Vec<_>>(), vec![10, 11]);

    // A corrupt line, blank lines and a torn tail.
    let mut raw = std::fs::OpenOptions::new().append(true).open(log.path()).unwrap();
    raw.write_all(b"{\"writer\":1,\"se\n\n  \n").unwrap();
    log.append(&Stamp::new(2, 0, 500)).unwrap();
    raw.write_all(b"{\"writer\":2,\"seq\":1").unwrap();
    check_against_forward(&log);
    let last = log.last(1).unwrap();
    assert_eq!(last.records.len(), 1);
    assert_eq!(last.records[0].value, Stamp::new(2, 0, 500));
    assert_eq!(last.problems.len(), 1);
    assert_eq!(last.problems[0].kind, LineProblemKind::TornTail);
    let last = log.last(2).unwrap();
    assert_eq!(last.records[0].value.seq, 11);
    assert!(matches!(last.problems[0].kind, LineProblemKind::Malformed { .. }));
    assert_eq!(last.problems[0].line, None);
}

#[test]
fn a_file_without_any_newline_is_one_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log<u64> = Log::new(dir.path().join("log.jsonl"));
    std::fs::write(log.path(), vec![b'7'; 200_000]).unwrap();
    let last = log.last(5).unwrap();
    assert!(last.records.is_empty());
    assert_eq!(last.problems.len(), 1);
    assert_eq!((last.problems[0].offset, last.problems[0].len), (0, 200_000));
    assert!(last.problems[0].is_torn_tail());
    assert_eq!(last.next_offset, 0);
}

#[test]
fn last_reads_only_the_end_of_a_large_log() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log<u64> = Log::with_options(
        dir.path().join("log.jsonl"),
        LogOptions::new().durability(Durability::None),
    );
    // Garbage in the head of the file that a forward read would have to report.
    std::fs::write(log.path(), b"not json\n".repeat(100_000)).unwrap();
    log.append_batch(&[1, 2, 3]).unwrap();
    let last = log.last(3).unwrap();
    assert_eq!(last.values(), vec![1, 2, 3]);
    let last = log.last(4).unwrap();
    assert_eq!(last.records.len(), 3);
    assert_eq!(last.problems.len(), 100_000, "every garbage line is reported once");
    assert_eq!(log.read().unwrap().corrupt().count(), 100_000);
}
