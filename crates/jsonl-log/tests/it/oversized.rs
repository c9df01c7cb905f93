//! The record cap: a record over it is refused on write (nothing written); a line over it is
//! reported on read without being allocated whole, and reading resumes at the next line.

use std::io::Write;

use dotdir_jsonl_log::{DEFAULT_MAX_RECORD, Error, Log, LogOptions, ProblemKind};

use crate::alloc::peak_during;

const MIB: usize = 1024 * 1024;

#[test]
fn a_record_over_the_cap_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log<String> =
        Log::with_options(dir.path().join("log.jsonl"), LogOptions::new().max_record(100));
    log.append(&"a".repeat(98)).unwrap(); // 100 bytes with the quotes: at the cap
    let before = std::fs::read(log.path()).unwrap();
    match log.append_batch(&["ok".to_owned(), "a".repeat(99)]) {
        Err(Error::TooLarge { len, limit, .. }) => assert_eq!((len, limit), (102, 100)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(std::fs::read(log.path()).unwrap(), before, "a refused batch writes nothing");
    assert_eq!(DEFAULT_MAX_RECORD, MIB as u64);
}

#[test]
fn an_oversized_line_is_skipped_without_allocating_it() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log<u64> = Log::new(dir.path().join("log.jsonl"));
    let mut raw = std::fs::File::create(log.path()).unwrap();
    raw.write_all(b"1\n").unwrap();
    let huge = vec![b'9'; 16 * MIB];
    raw.write_all(&huge).unwrap();
    raw.write_all(b"\n2\n").unwrap();
    drop(raw);

    let (scan, peak) = peak_during(|| log.read().unwrap());
    assert_eq!(scan.values(), vec![1, 2]);
    let (scan, _) = peak_during(|| log.read().unwrap());
    assert_eq!(scan.problems.len(), 1);
    let problem = &scan.problems[0];
    assert_eq!(
        (problem.kind.clone(), problem.line, problem.offset),
        (ProblemKind::Oversized, Some(2), 2)
    );
    assert_eq!(problem.len, 16 * MIB as u64);
    assert!(peak < 2 * MIB + 256 * 1024, "a forward read allocated {peak} bytes for a 16 MiB line");

    let (last, peak) = peak_during(|| log.last(2).unwrap());
    assert_eq!(last.values(), vec![1, 2]);
    assert!(peak < 2 * MIB, "a backward read allocated {peak} bytes for a 16 MiB line");

    assert!(matches!(
        log.read_strict(),
        Err(Error::Corrupt { problem, .. }) if problem.kind == ProblemKind::Oversized
    ));

    // Negative control: the counter does see a whole-file read.
    let (_, peak) = peak_during(|| std::fs::read(log.path()).unwrap());
    assert!(peak > 16 * MIB, "the allocation counter missed a 16 MiB read ({peak})");
}

#[test]
fn a_newline_free_file_is_one_torn_tail_read_in_constant_memory() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log<u64> = Log::new(dir.path().join("log.jsonl"));
    std::fs::write(log.path(), vec![b'x'; 32 * MIB]).unwrap();
    let (scan, peak) = peak_during(|| log.read().unwrap());
    assert!(scan.records.is_empty());
    assert_eq!(scan.problems.len(), 1);
    assert!(scan.problems[0].is_torn_tail());
    assert_eq!(scan.problems[0].len, 32 * MIB as u64);
    assert_eq!(scan.next_offset, 0);
    assert!(peak < 2 * MIB + 256 * 1024, "read allocated {peak} bytes");
}
