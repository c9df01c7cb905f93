//! ping-bucket: a durable `try_use` (lock, read, refill, decrement, durable atomic replace) beside
//! the floor, a durable atomic write of the same bytes with the raw syscalls
//! (open/write/fsync/rename/fsync(dir)).

use std::{
    fs::{self, File, OpenOptions},
    hint::black_box,
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::Path,
    time::Duration,
};

use criterion::{Criterion, criterion_group, criterion_main};
use dotdir_ping_bucket::PingBudget;
use jiff::tz::TimeZone;

/// The floor: exactly the syscalls of a durable replace, nothing else.
fn floor_replace(dir: &Path, target: &Path, bytes: &[u8]) {
    let temp = dir.join(".floor.tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&temp)
        .expect("create temp");
    file.write_all(bytes).expect("write");
    file.sync_all().expect("fsync file");
    drop(file);
    fs::rename(&temp, target).expect("rename");
    File::open(dir).expect("open dir").sync_all().expect("fsync dir");
}

fn try_use(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(".").expect("a temp dir on the disk under test");
    let path = dir.path().join("ping_budget.json");
    // A capacity no run can exhaust, so every call spends and writes.
    let budget =
        PingBudget::new(&path, TimeZone::UTC).defaults(1_000_000_000, 90).expect("valid defaults");
    assert!(budget.try_use().expect("first use"));
    let bytes = fs::read(&path).expect("the state file");

    let mut group = c.benchmark_group("ping_bucket_try_use_durable");
    group.measurement_time(measurement(Duration::from_secs(3)));
    group.bench_function("ours", |b| b.iter(|| assert!(budget.try_use().expect("try_use"))));
    let floor_target = dir.path().join("floor.json");
    group.bench_function("floor", |b| {
        b.iter(|| floor_replace(dir.path(), &floor_target, black_box(&bytes)))
    });
    group.finish();
}

/// The measurement time of a group: `full` normally; 1 s under criterion's `--quick`, where it is
/// the cap of each function's run (which can overshoot it up to threefold), so that
/// `cargo xtask bench --quick` stays within its few minutes on a busy machine.
fn measurement(full: Duration) -> Duration {
    if std::env::args().any(|arg| arg == "--quick") { Duration::from_secs(1) } else { full }
}

criterion_group!(benches, try_use);
criterion_main!(benches);
