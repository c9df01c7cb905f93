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

    let mut group =
        dotdir_benches::group(c, "ping_bucket_try_use_durable", Duration::from_secs(3), 100);
    group.bench_function("ours", |b| b.iter(|| assert!(budget.try_use().expect("try_use"))));
    let floor_target = dir.path().join("floor.json");
    group.bench_function("floor", |b| {
        b.iter(|| floor_replace(dir.path(), &floor_target, black_box(&bytes)))
    });
    group.finish();
}

criterion_group!(benches, try_use);
criterion_main!(benches);
