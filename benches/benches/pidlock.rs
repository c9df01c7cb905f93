//! pidlock: acquire and release (OS lock on the sidecar, judge the record, publish it atomically,
//! remove it on release) beside the floor: open a file, `flock` it and unlock it.

use std::{fs::File, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use dotdir_pidlock::PidLock;

fn acquire_release(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(".").expect("a temp dir on the disk under test");
    let lock = PidLock::new(dir.path().join("serve.pid")).program("dotdir");

    let mut group =
        dotdir_benches::group(c, "pidlock_acquire_release", Duration::from_secs(3), 100);
    group.bench_function("ours", |b| {
        b.iter(|| lock.acquire().expect("acquire").release().expect("release"))
    });
    let floor_path = dir.path().join("floor.lock");
    group.bench_function("floor", |b| {
        b.iter(|| {
            let file = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&floor_path)
                .expect("open");
            file.lock().expect("flock");
            file.unlock().expect("unlock");
        })
    });
    group.finish();
}

criterion_group!(benches, acquire_release, proc_scan);
criterion_main!(benches);

/// How many processes the machine runs while the scan is measured (the figure).
const PROCESSES: usize = 500;

/// The liveness scan (`ProcessTable::read`: every process's status, command line, working
/// directory and open files) on a machine with [`PROCESSES`] processes, beside the peer that
/// answers the same question, `lsof +D <dir>`, and the floor: listing `/proc` and each
/// process's descriptor directory, without reading a single link.
fn proc_scan(c: &mut Criterion) {
    let running = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.parse::<u32>().is_ok()))
        .count();
    let mut sleepers: Vec<std::process::Child> = (running..PROCESSES)
        .map(|_| std::process::Command::new("sleep").arg("600").spawn().expect("sleep"))
        .collect();
    let dir = tempfile::tempdir_in(".").expect("a temp dir");

    let mut group = dotdir_benches::group(c, "proc_scan_500", Duration::from_secs(5), 20);
    group.bench_function("ours", |b| {
        b.iter(|| {
            let table = dotdir_pidlock::scan::ProcessTable::read();
            assert!(table.processes().len() >= PROCESSES / 2);
        })
    });
    if std::process::Command::new("lsof").arg("-v").output().is_ok() {
        group.bench_function("peer:lsof", |b| {
            b.iter(|| {
                std::process::Command::new("lsof")
                    .args(["-w", "+D"])
                    .arg(dir.path())
                    .output()
                    .expect("lsof")
            })
        });
    }
    group.bench_function("floor", |b| {
        b.iter(|| {
            let mut descriptors = 0usize;
            for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
                if let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) {
                    descriptors += fds.count();
                }
            }
            descriptors
        })
    });
    group.finish();
    for sleeper in &mut sleepers {
        let _ = sleeper.kill();
        let _ = sleeper.wait();
    }
}
