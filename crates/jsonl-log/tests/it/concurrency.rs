//! Many appenders at once — threads sharing a `Log`, threads with their own `Log`, and 8 processes
//! — with mixed record sizes and a tailing reader: nothing lost, nothing interleaved, each
//! writer's order kept, no corrupt line ever seen.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use dotdir_jsonl_log::{Durability, Line, Log, LogOptions};

use crate::{RawStamp, RawStamps, Stamp, child, child_role, scale};

/// The line length of record `seq`: mostly 200 B, some 4 KiB + 1, a few 64 KiB.
pub(crate) fn line_len(seq: u64) -> usize {
    match seq % 20 {
        0 => 65_536,
        1..=4 => 4_097,
        _ => 200,
    }
}

/// Checks one writer's records as a reader meets them: in order, none missing, byte-exact.
#[derive(Debug, Default)]
struct Expect {
    next: BTreeMap<u32, u64>,
    records: u64,
    bytes: u64,
}

impl Expect {
    fn record(&mut self, record: &dotdir_jsonl_log::Record<Stamp>) {
        let stamp = &record.value;
        let next = self.next.entry(stamp.writer).or_default();
        assert_eq!(stamp.seq, *next, "writer {} out of order or lost a record", stamp.writer);
        *next += 1;
        let len = line_len(stamp.seq);
        assert!(stamp.is_intact(len), "writer {} record {} is not intact", stamp.writer, stamp.seq);
        assert_eq!(
            record.end - record.offset,
            len as u64,
            "line of {}/{} has the wrong length",
            stamp.writer,
            stamp.seq
        );
        self.records += 1;
        self.bytes += len as u64;
    }
}

#[test]
fn eight_processes_with_a_tailing_reader() {
    if let Some(role) = child_role() {
        assert_eq!(role, "appender");
        let path = std::env::var("DOTDIR_LOG").unwrap();
        let writer: u32 = std::env::var("DOTDIR_WRITER").unwrap().parse().unwrap();
        let count: u64 = std::env::var("DOTDIR_COUNT").unwrap().parse().unwrap();
        let log: Log<RawStamp> =
            Log::with_options(path, LogOptions::new().durability(Durability::None));
        let mut stamps = RawStamps::default();
        for seq in 0..count {
            log.append(&stamps.stamp(writer, seq, line_len(seq))).unwrap();
        }
        return;
    }
    let writers = 8u32;
    let count = scale(5_000) as u64;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let started = Instant::now();
    let mut children: Vec<_> = (0..writers)
        .map(|writer| {
            child("concurrency::eight_processes_with_a_tailing_reader", "appender")
                .env("DOTDIR_LOG", &path)
                .env("DOTDIR_WRITER", writer.to_string())
                .env("DOTDIR_COUNT", count.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let log: Log<Stamp> = Log::new(&path);
    let mut expect = Expect::default();
    let (mut offset, mut polls, mut in_progress) = (0, 0u64, 0u64);
    loop {
        let finished = children.iter_mut().all(|c| c.try_wait().unwrap().is_some());
        let mut records = log.records_from(offset).unwrap();
        let before = expect.records;
        for entry in &mut records {
            match entry.unwrap() {
                Line::Record(record) => expect.record(&record),
                Line::Problem(problem) if problem.is_torn_tail() => in_progress += 1,
                Line::Problem(problem) => panic!("the reader saw a corrupt line: {problem}"),
            }
        }
        offset = records.next_offset();
        polls += 1;
        if finished {
            break;
        }
        if expect.records == before {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let elapsed = started.elapsed();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer failed");
    }
    assert_eq!(expect.next, (0..writers).map(|w| (w, count)).collect::<BTreeMap<_, _>>());
    assert_eq!(expect.records, u64::from(writers) * count);
    assert_eq!(
        offset,
        std::fs::metadata(&path).unwrap().len(),
        "bytes the reader never accounted for"
    );
    println!(
        "{writers} processes x {count} = {} records ({} MB), 0 lost, 0 interleaved, 0 corrupt; \
         {elapsed:.1?}; tailing reader: {polls} polls, {in_progress} records seen in progress",
        expect.records,
        expect.bytes / 1_000_000
    );
}

#[test]
fn threads_sharing_and_not_sharing_a_log_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let count = scale(1_000) as u64;
    let options = LogOptions::new().durability(Durability::None);
    let shared: Arc<Log<Stamp>> = Arc::new(Log::with_options(&path, options));
    let threads: Vec<_> = (0..8u32)
        .map(|writer| {
            // Half the threads share one `Log` (one lock descriptor: the mutex must order them),
            // half have their own (their own descriptors: `flock` orders them).
            let log = if writer % 2 == 0 {
                Arc::clone(&shared)
            } else {
                Arc::new(Log::with_options(&path, options))
            };
            std::thread::spawn(move || {
                for seq in 0..count {
                    log.append(&Stamp::new(writer, seq, line_len(seq))).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let mut expect = Expect::default();
    for record in log_records(&shared) {
        expect.record(&record);
    }
    assert_eq!(expect.records, 8 * count);
}

#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn log_records(log: &Log<Stamp>) -> Vec<dotdir_jsonl_log::Record<Stamp>> {
    let scan = log.read_strict().unwrap();
    assert!(scan.problems.is_empty());
    scan.records
}

#[test]
fn group_and_every_append_durability_write_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut contents = Vec::new();
    for (name, durability, every) in [
        ("every", Durability::Full, 1),
        ("group", Durability::Full, 3),
        ("file-only", Durability::FileOnly, 1),
        ("none", Durability::None, 1),
    ] {
        let log: Log<u64> = Log::with_options(
            dir.path().join(format!("{name}.jsonl")),
            LogOptions::new().durability(durability).sync_every(every),
        );
        for n in 0..10 {
            log.append(&n).unwrap();
        }
        log.append_batch(&[10, 11]).unwrap();
        log.sync().unwrap();
        contents.push(std::fs::read(log.path()).unwrap());
    }
    assert_eq!(contents[0], (0..12).map(|n| format!("{n}\n")).collect::<String>().into_bytes());
    assert!(contents.iter().all(|c| *c == contents[0]));
}
