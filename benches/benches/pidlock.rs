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

criterion_group!(benches, acquire_release);
criterion_main!(benches);
