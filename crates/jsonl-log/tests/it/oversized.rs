//! The record cap: a record over it is refused on write (nothing written); a line over it is
//! reported on read without being allocated whole, and reading resumes at the next line.

use std::io::Write;

use proptest::prelude::*;

use dotdir_jsonl_log::{DEFAULT_MAX_RECORD, Error, LineProblemKind, Log, LogOptions};

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
        (LineProblemKind::Oversized, Some(2), 2)
    );
    assert_eq!(problem.len, 16 * MIB as u64);
    assert!(peak < 2 * MIB + 256 * 1024, "a forward read allocated {peak} bytes for a 16 MiB line");

    let (last, peak) = peak_during(|| log.last(2).unwrap());
    assert_eq!(last.values(), vec![1, 2]);
    assert!(peak < 2 * MIB, "a backward read allocated {peak} bytes for a 16 MiB line");

    assert!(matches!(
        log.read_strict(),
        Err(Error::Corrupt { problem, .. }) if problem.kind == LineProblemKind::Oversized
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

/// One line of a generated log.
#[derive(Debug, Clone)]
enum Line {
    /// A valid record padded to about this many bytes (some over the 1 MiB cap).
    Valid(usize),
    /// A line that does not parse.
    Corrupt(usize),
    /// An empty or whitespace-only line.
    Blank(bool),
}

fn line_bytes(line: &Line, index: usize) -> Vec<u8> {
    match line {
        Line::Valid(size) => {
            format!("{{\"n\":{index},\"pad\":\"{}\"}}", "v".repeat(*size)).into_bytes()
        }
        Line::Corrupt(size) => {
            format!("{{\"n\":{index},\"broken {}", "c".repeat(*size)).into_bytes()
        }
        Line::Blank(spaces) => {
            if *spaces {
                b"  ".to_vec()
            } else {
                Vec::new()
            }
        }
    }
}

fn size() -> impl Strategy<Value = usize> {
    // Mostly small, sometimes up to 3 MB: a pasted CSV in one record.
    prop_oneof![4 => 0usize..200, 1 => 0usize..3_000_000]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// After `repair`, every parseable record is still in the log, in order, byte for byte
    /// (over the record cap too); every other line is in `.corrupt`, byte for byte, in order;
    /// the blank lines are counted, never silently dropped.
    #[test]
    fn repair_keeps_every_parseable_record_and_sets_aside_the_rest_byte_for_byte(
        lines in proptest::collection::vec(
            prop_oneof![
                3 => size().prop_map(Line::Valid),
                1 => size().prop_map(Line::Corrupt),
                1 => proptest::bool::ANY.prop_map(Line::Blank),
            ],
            0..12,
        ),
        torn in proptest::option::of(0usize..5_000),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let log: Log<serde_json::Value> = Log::new(dir.path().join("log.jsonl"));
        let (mut file, mut kept, mut set_aside, mut blank) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for (index, line) in lines.iter().enumerate() {
            let bytes = line_bytes(line, index);
            file.extend_from_slice(&bytes);
            file.push(b'\n');
            match line {
                Line::Valid(_) => { kept.extend_from_slice(&bytes); kept.push(b'\n'); }
                Line::Corrupt(_) => { set_aside.extend_from_slice(&bytes); set_aside.push(b'\n'); }
                Line::Blank(_) => blank += 1,
            }
        }
        if let Some(torn) = torn {
            let tail = format!("{{\"torn\":\"{}", "t".repeat(torn)).into_bytes();
            file.extend_from_slice(&tail);
            set_aside.extend_from_slice(&tail);
            set_aside.push(b'\n');
        }
        std::fs::write(log.path(), &file).unwrap();

        let rewrite = log.repair().unwrap();
        let kept_file = std::fs::read(log.path()).unwrap();
        prop_assert!(kept_file == kept, "the log holds exactly the parseable records");
        let corrupt = std::fs::read(log.corrupt_path()).unwrap_or_default();
        prop_assert!(corrupt == set_aside, "the sidecar holds exactly the other lines");
        if !set_aside.is_empty() || blank > 0 {
            prop_assert_eq!(rewrite.blank, blank);
        }
        prop_assert_eq!(
            rewrite.kept as usize,
            lines.iter().filter(|l| matches!(l, Line::Valid(_))).count()
        );
    }
}
