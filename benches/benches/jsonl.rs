//! JSON Lines: appends without fsync (vs serde-jsonlines; floor: one raw `write` of the
//! pre-serialised line on an `O_APPEND` descriptor), durable appends (vs serde-jsonlines +
//! `sync_data`; floor: `write` + `fdatasync`), and a full scan of a 100 MB log into typed records
//! (vs serde-jsonlines' `json_lines`; floor: reading the file in large chunks and counting
//! newlines).
//!
//! The peer appends through `JsonLinesWriter<BufWriter<File>>` and flushes after each record: one
//! `write(2)` per record, the cheapest way a serde-jsonlines user gets each record into the file
//! when `append` returns (the writer itself never flushes).
//!
//! `DOTDIR_BENCH_SCAN_MB` sets the size of the scanned log (default 100).

use std::{
    fs::{File, OpenOptions},
    hint::black_box,
    io::{BufWriter, Read, Write},
    path::Path,
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group, criterion_main};
use dotdir_jsonl_log::{Durability, Line, Log, LogOptions};
use serde::{Deserialize, Serialize};
use serde_jsonlines::JsonLinesWriter;

/// A trajectory-style event: a few short fields and a text of varying length (about 300 bytes
/// per line on average).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Event {
    seq: u64,
    session_id: String,
    event: String,
    timestamp: String,
    #[serde(default)]
    parent_session_id: Option<String>,
    text: String,
    tokens: u32,
}

fn event(seq: u64) -> Event {
    let words = ["alpha", "beta", "gamma", "delta", "epsilon", "\"quoted\"", "naïve", "zeta"];
    let len = 20 + (seq * 7919 % 50) as usize;
    let text: Vec<&str> = (0..len).map(|i| words[(seq as usize + i) % words.len()]).collect();
    Event {
        seq,
        session_id: format!("{:032x}", seq.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        event: ["created", "compacted", "forked", "cleared"][(seq % 4) as usize].to_owned(),
        timestamp: format!("2026-11-21T14:{:02}:{:02}.817516-08:00", seq / 60 % 60, seq % 60),
        parent_session_id: seq.is_multiple_of(3).then(|| format!("{seq:016x}")),
        text: text.join(" "),
        tokens: (seq % 4096) as u32,
    }
}

/// Files past this size are emptied between timed runs, outside the timing.
const MAX_APPEND_LOG: u64 = 64 * 1024 * 1024;

fn append_file(path: &Path) -> File {
    OpenOptions::new().create(true).append(true).open(path).expect("open for append")
}

/// Times `iters` calls of `append`, then empties the file (untimed) when it has grown large.
fn timed_appends(path: &Path, iters: u64, mut append: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        append();
    }
    let elapsed = started.elapsed();
    if std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) > MAX_APPEND_LOG {
        OpenOptions::new().write(true).open(path).expect("open").set_len(0).expect("truncate");
    }
    elapsed
}

fn appends(c: &mut Criterion) {
    let record = event(42);
    let mut line = serde_json::to_vec(&record).expect("serialisable");
    line.push(b'\n');
    for (group_name, durable) in [("jsonl_append_buffered", false), ("jsonl_append_durable", true)]
    {
        let dir = tempfile::tempdir_in(".").expect("a temp dir on the disk under test");
        let mut group = dotdir_benches::group(c, group_name, Duration::from_secs(3), 100);

        let ours_path = dir.path().join("ours.jsonl");
        let durability = if durable { Durability::Full } else { Durability::None };
        let log: Log<Event> =
            Log::with_options(&ours_path, LogOptions::new().durability(durability));
        log.append(&record).expect("first append opens the log");
        group.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                timed_appends(&ours_path, iters, || {
                    log.append(black_box(&record)).expect("append");
                })
            })
        });

        let peer_path = dir.path().join("peer.jsonl");
        let mut writer = JsonLinesWriter::new(BufWriter::new(append_file(&peer_path)));
        group.bench_function("peer:serde-jsonlines", |b| {
            b.iter_custom(|iters| {
                timed_appends(&peer_path, iters, || {
                    writer.write(black_box(&record)).expect("write");
                    writer.flush().expect("flush");
                    if durable {
                        writer.get_ref().get_ref().sync_data().expect("fdatasync");
                    }
                })
            })
        });

        let floor_path = dir.path().join("floor.jsonl");
        let mut floor = append_file(&floor_path);
        group.bench_function("floor", |b| {
            b.iter_custom(|iters| {
                timed_appends(&floor_path, iters, || {
                    floor.write_all(black_box(&line)).expect("write");
                    if durable {
                        floor.sync_data().expect("fdatasync");
                    }
                })
            })
        });
        group.finish();
    }
}

/// Writes a log of about `megabytes` MB of [`Event`] lines; returns the number of records.
fn generate_log(path: &Path, megabytes: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create log"));
    let mut written = 0u64;
    let mut records = 0u64;
    while written < megabytes * 1_000_000 {
        let mut bytes = serde_json::to_vec(&event(records)).expect("serialisable");
        bytes.push(b'\n');
        out.write_all(&bytes).expect("write");
        written += bytes.len() as u64;
        records += 1;
    }
    out.flush().expect("flush");
    records
}

fn full_scan(c: &mut Criterion) {
    let megabytes =
        std::env::var("DOTDIR_BENCH_SCAN_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(100u64);
    let dir = tempfile::tempdir_in(".").expect("a temp dir on the disk under test");
    let path = dir.path().join("scan.jsonl");
    let records = generate_log(&path, megabytes);

    let mut group = dotdir_benches::group(c, "jsonl_full_scan", Duration::from_secs(5), 10);

    let log: Log<Event> = Log::new(&path);
    group.bench_function("ours", |b| {
        b.iter(|| {
            let mut count = 0u64;
            for entry in log.records().expect("open") {
                match entry.expect("read") {
                    Line::Record(record) => {
                        black_box(&record.value);
                        count += 1;
                    }
                    Line::Problem(problem) => panic!("unexpected problem {problem}"),
                }
            }
            assert_eq!(count, records);
        })
    });

    group.bench_function("peer:serde-jsonlines", |b| {
        b.iter(|| {
            let mut count = 0u64;
            for value in serde_jsonlines::json_lines::<Event, _>(&path).expect("open") {
                black_box(&value.expect("read"));
                count += 1;
            }
            assert_eq!(count, records);
        })
    });

    group.bench_function("floor", |b| {
        let mut buffer = vec![0u8; 1 << 20];
        b.iter(|| {
            let mut file = File::open(&path).expect("open");
            let mut newlines = 0u64;
            loop {
                let n = file.read(&mut buffer).expect("read");
                if n == 0 {
                    break;
                }
                newlines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            }
            assert_eq!(newlines, records);
        })
    });
    group.finish();
}

criterion_group!(benches, appends, full_scan);
criterion_main!(benches);
