//! Atomic replace of a 1 KiB JSON document: durable (vs atomic-write-file; floor
//! open/write/fsync/rename/fsync(dir)) and not durable (vs tempfile's persist; floor
//! open/write/rename).

use std::{
    fs::{self, File, OpenOptions},
    hint::black_box,
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

use criterion::{Criterion, criterion_group, criterion_main};
use dotdir_atomic_store::{Document, Durability, JsonStyle, WriteOptions};
use serde_json::{Value, json};

fn document() -> Value {
    // About 1 KiB once serialised.
    json!({
        "capacity": 5, "available": 3.0000002300000004, "refill_rate_minutes": 90,
        "last_refill": "2026-11-21T14:02:00.817516-08:00", "critical_used": 1,
        "notes": "x".repeat(840),
    })
}

/// The floor: exactly the syscalls of a durable replace, nothing else.
fn floor_replace(dir: &Path, target: &Path, bytes: &[u8], durable: bool) {
    let temp = dir.join(".floor.tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&temp)
        .expect("create temp");
    file.write_all(bytes).expect("write");
    if durable {
        file.sync_all().expect("fsync file");
    }
    drop(file);
    fs::rename(&temp, target).expect("rename");
    if durable {
        File::open(dir).expect("open dir").sync_all().expect("fsync dir");
    }
}

fn atomic_write(c: &mut Criterion) {
    let value = document();
    let bytes = serde_json::to_vec(&value).expect("serialisable");
    for (group_name, durable) in
        [("atomic_write_durable_1k", true), ("atomic_write_nondurable_1k", false)]
    {
        let dir = tempfile::tempdir_in(".").expect("a temp dir on the disk under test");
        let target = dir.path().join("doc.json");
        let durability = if durable { Durability::Full } else { Durability::None };
        let ours: Document<Value> = Document::new(&target)
            .style(JsonStyle::Compact)
            .options(WriteOptions::new().durability(durability));
        let mut group =
            dotdir_benches::group(c, group_name, std::time::Duration::from_secs(5), 100);
        group.bench_function("ours", |b| b.iter(|| ours.write(black_box(&value)).expect("write")));
        if durable {
            group.bench_function("peer:atomic-write-file", |b| {
                b.iter(|| {
                    let mut file = atomic_write_file::AtomicWriteFile::open(&target).expect("open");
                    serde_json::to_writer(&mut file, black_box(&value)).expect("write");
                    file.commit().expect("commit");
                })
            });
        } else {
            group.bench_function("peer:tempfile-persist", |b| {
                b.iter(|| {
                    let mut file = tempfile::NamedTempFile::new_in(dir.path()).expect("temp");
                    serde_json::to_writer(&mut file, black_box(&value)).expect("write");
                    file.persist(&target).expect("persist");
                })
            });
        }
        group.bench_function("floor", |b| {
            b.iter(|| floor_replace(dir.path(), &target, black_box(&bytes), durable))
        });
        group.finish();
    }
}

criterion_group!(benches, atomic_write);
criterion_main!(benches);
