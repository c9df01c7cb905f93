//! Writers SIGKILLed at random moments while others keep appending and a reader tails the log:
//! the reader never sees a record that is not exactly what was written, no acknowledged record is
//! lost, a torn record costs only itself, and after `repair` every line parses.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use dotdir_jsonl_log::{
    Durability, FragmentPolicy, Line, LineProblemKind, LineStyle, Log, LogOptions,
};

use crate::{RawStamp, RawStamps, Stamp, child, child_role, scale};

/// Mostly large records: a SIGKILL tears a 64 KiB write most of the time.
fn line_len(seq: u64) -> usize {
    match seq % 4 {
        0 | 2 => 65_536,
        1 => 4_097,
        _ => 200,
    }
}

/// The record writer `writer` appends as `seq`.
fn expected(writer: u32, seq: u64) -> Stamp {
    Stamp::new(writer, seq, line_len(seq))
}

fn options(format: LineStyle, fragments: FragmentPolicy, durability: Durability) -> LogOptions {
    LogOptions::new().format(format).fragments(fragments).durability(durability)
}

/// The exact line (with its newline) a writer appends for `stamp`.
#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn encoded(format: LineStyle, stamp: &Stamp) -> Vec<u8> {
    let record = serde_json::to_vec(stamp).unwrap();
    let mut line = match format {
        LineStyle::Checksummed => {
            let mut line = format!("{{\"crc32\":\"{:08x}\",\"record\":", crc32fast::hash(&record))
                .into_bytes();
            line.extend_from_slice(&record);
            line.push(b'}');
            line
        }
        _ => record,
    };
    line.push(b'\n');
    line
}

/// The child: appends forever, printing `ACK <seq>` after each append returns. With
/// `DOTDIR_PACE_US` it sleeps that long between appends (the long-lived peer).
#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
#[expect(
    clippy::print_stdout,
    reason = "the child acknowledges appends on stdout; the parent reports its numbers"
)]
fn run_child(format: LineStyle, fragments: FragmentPolicy, durability: Durability) {
    let path = std::env::var("DOTDIR_LOG").unwrap();
    let writer: u32 = std::env::var("DOTDIR_WRITER").unwrap().parse().unwrap();
    let pace =
        std::env::var("DOTDIR_PACE_US").ok().map(|us| Duration::from_micros(us.parse().unwrap()));
    let log: Log<RawStamp> = Log::with_options(path, options(format, fragments, durability));
    let mut stamps = RawStamps::default();
    for seq in 0.. {
        log.append(&stamps.stamp(writer, seq, line_len(seq))).unwrap();
        println!("ACK {seq}");
        if let Some(pace) = pace {
            std::thread::sleep(pace);
        }
    }
}

/// A running writer and the thread collecting its acknowledgements.
struct Writer {
    id: u32,
    process: Child,
    acknowledged: Arc<AtomicU64>,
    acks: JoinHandle<Option<u64>>,
}

#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn spawn(test: &str, path: &Path, id: u32, pace_us: Option<u64>) -> Writer {
    let mut command = child(test, "killable");
    if let Some(pace) = pace_us {
        command.env("DOTDIR_PACE_US", pace.to_string());
    }
    let mut process = command
        .env("DOTDIR_LOG", path)
        .env("DOTDIR_WRITER", id.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = process.stdout.take().unwrap();
    let acknowledged = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&acknowledged);
    let acks = std::thread::spawn(move || {
        let mut last = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // The first acknowledgement shares its line with libtest's `test … ... `.
            if let Some(at) = line.find("ACK ") {
                let seq: u64 = line[at + 4..].parse().unwrap();
                assert_eq!(seq, last.map_or(0, |l| l + 1), "acknowledgements out of order");
                last = Some(seq);
                counter.store(seq + 1, Ordering::Relaxed);
            }
        }
        last
    });
    Writer { id, process, acknowledged, acks }
}

/// SIGKILLs `writer` and returns the last sequence number it acknowledged.
#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn kill(mut writer: Writer) -> (u32, Option<u64>) {
    writer.process.kill().unwrap();
    let _ = writer.process.wait();
    (writer.id, writer.acks.join().unwrap())
}

/// What the tailing reader saw.
#[derive(Debug, Default)]
struct Tail {
    records: u64,
    corrupt: u64,
}

#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn tail(log: Log<Stamp>, stop: Arc<AtomicBool>) -> Tail {
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    let mut seen = Tail::default();
    let mut offset = 0;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let mut records = log.records_from(offset).unwrap();
        for entry in &mut records {
            match entry.unwrap() {
                Line::Record(record) => {
                    let stamp = &record.value;
                    let next_seq = next.entry(stamp.writer).or_default();
                    assert_eq!(stamp.seq, *next_seq, "the reader saw writer {} skip", stamp.writer);
                    assert!(
                        *stamp == expected(stamp.writer, stamp.seq),
                        "the reader saw a spliced record"
                    );
                    *next_seq += 1;
                    seen.records += 1;
                }
                Line::Problem(problem) if problem.is_torn_tail() => {}
                Line::Problem(_) => seen.corrupt += 1,
            }
        }
        offset = records.next_offset();
        if stopping {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
#[expect(
    clippy::print_stdout,
    reason = "the child acknowledges appends on stdout; the parent reports its numbers"
)]
fn torture(
    test: &str,
    format: LineStyle,
    fragments: FragmentPolicy,
    durability: Durability,
    kills: usize,
) {
    if let Some(role) = child_role() {
        assert_eq!(role, "killable");
        return run_child(format, fragments, durability);
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (log, stop) =
            (Log::with_options(&path, options(format, fragments, durability)), Arc::clone(&stop));
        std::thread::spawn(move || tail(log, stop))
    };
    // A long-lived peer appends slowly throughout: it meets the fragments the victims leave.
    let peer = spawn(test, &path, 0, Some(10_000));
    let mut acknowledged: BTreeMap<u32, Option<u64>> = BTreeMap::new();
    let mut next_id = 0;
    while acknowledged.len() < kills {
        // Three victims at a time; each is killed at a random moment after its first append.
        let victims: Vec<Writer> = (0..3.min(kills - acknowledged.len()))
            .map(|_| {
                next_id += 1;
                spawn(test, &path, next_id, None)
            })
            .collect();
        for mut victim in victims {
            let deadline = Instant::now() + Duration::from_secs(30);
            while victim.acknowledged.load(Ordering::Relaxed) == 0 {
                assert!(victim.process.try_wait().unwrap().is_none(), "a writer died by itself");
                assert!(Instant::now() < deadline, "a writer never acknowledged an append");
                std::thread::sleep(Duration::from_micros(100));
            }
            std::thread::sleep(Duration::from_micros(fastrand::u64(0..1_500)));
            let (id, last) = kill(victim);
            acknowledged.insert(id, last);
        }
    }
    let (id, last) = kill(peer);
    acknowledged.insert(id, last);
    let total_kills = acknowledged.len();
    stop.store(true, Ordering::Relaxed);
    let seen = reader.join().unwrap();

    // Before repair: every record intact, each writer's records a gap-free run from 0 that
    // contains every acknowledged one (plus, at most, the one it was killed after writing).
    let log: Log<Stamp> = Log::with_options(&path, options(format, fragments, durability));
    let scan = log.read().unwrap();
    let mut by_writer: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for record in &scan.records {
        let stamp = &record.value;
        assert!(*stamp == expected(stamp.writer, stamp.seq), "record not intact");
        by_writer.entry(record.value.writer).or_default().push(record.value.seq);
    }
    let mut acknowledged_total = 0;
    for (id, last) in &acknowledged {
        let seqs = by_writer.remove(id).unwrap_or_default();
        let count = seqs.len() as u64;
        assert_eq!(seqs, (0..count).collect::<Vec<_>>(), "writer {id}: gap or reorder");
        let acked = last.map_or(0, |l| l + 1);
        acknowledged_total += acked;
        assert!(
            count == acked || count == acked + 1,
            "writer {id}: {count} records, {acked} acknowledged"
        );
    }
    assert!(by_writer.is_empty(), "records from writers nobody started");
    let corrupt: Vec<_> = scan.corrupt().collect();
    for problem in &corrupt {
        assert!(
            matches!(problem.kind, LineProblemKind::Malformed { .. } | LineProblemKind::Checksum),
            "a torn record looked like something else: {problem}"
        );
    }
    if fragments == FragmentPolicy::MoveAside {
        assert!(corrupt.is_empty(), "move-aside left a corrupt line in the log: {:?}", corrupt);
    }
    assert!(corrupt.len() <= total_kills, "more corrupt lines than kills");

    // Repair, then every line parses and the quarantined lines are exactly torn records: each a
    // strict prefix of the one record its writer had not acknowledged.
    let repaired = log.repair().unwrap();
    let strict = log.read_strict().unwrap();
    assert!(strict.problems.is_empty());
    assert_eq!(strict.records.len(), scan.records.len(), "repair lost or added records");
    let unacknowledged: Vec<Vec<u8>> = acknowledged
        .iter()
        .map(|(id, last)| {
            let seq = last.map_or(0, |l| l + 1);
            encoded(format, &expected(*id, seq))
        })
        .collect();
    let quarantine = std::fs::read(log.corrupt_path()).unwrap_or_default();
    let torn: Vec<&[u8]> = quarantine.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    for line in &torn {
        assert!(
            unacknowledged.iter().any(|full| full.len() > line.len() + 1 && full.starts_with(line)),
            "a quarantined line is not the torn prefix of an unacknowledged record"
        );
    }
    println!(
        "{format:?}/{fragments:?}: {total_kills} SIGKILLs, {} records ({acknowledged_total} \
         acknowledged, 0 lost), {} torn records quarantined ({} closed off in the log, {} by \
         repair), tailing reader: {} records, {} corrupt lines seen, 0 wrong records; {:.1?}",
        strict.records.len(),
        torn.len(),
        corrupt.len(),
        repaired.quarantined.len(),
        seen.records,
        seen.corrupt,
        started.elapsed()
    );
    assert_eq!(total_kills, kills + 1);
}

#[test]
fn sigkill_close_off_compact() {
    torture(
        "kill::sigkill_close_off_compact",
        LineStyle::Compact,
        FragmentPolicy::CloseOff,
        Durability::None,
        scale(100),
    );
}

#[test]
fn sigkill_move_aside_compact() {
    torture(
        "kill::sigkill_move_aside_compact",
        LineStyle::Compact,
        FragmentPolicy::MoveAside,
        Durability::None,
        scale(50),
    );
}
