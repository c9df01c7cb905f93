//! 8 processes × 2,000 increments of one counter: `update` loses none; without the lock, most are lost.

use std::path::Path;

use dotdir_atomic_store::{Document, JsonStyle, WriteOptions};

use crate::{child, child_role};

const PROCESSES: usize = 8;
const INCREMENTS: usize = 2_000;

fn counter(path: &Path) -> Document<u64> {
    // Durability::None keeps the test about locking, not about fsync speed.
    Document::new(path)
        .style(JsonStyle::Python)
        .options(WriteOptions::new().durability(dotdir_atomic_store::Durability::None))
}

fn run(test: &str, role: &str) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counter.json");
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| child(test, role).env("DOTDIR_COUNTER", &path).spawn().unwrap())
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    counter(&path).read().unwrap().unwrap()
}

fn child_main() -> bool {
    let Some(role) = child_role() else { return false };
    let path = std::env::var("DOTDIR_COUNTER").unwrap();
    let doc = counter(Path::new(&path));
    for _ in 0..INCREMENTS {
        match role.as_str() {
            "locked" => doc.update(|n| *n += 1).unwrap(),
            // The negative control: the same read-modify-write without the lock.
            _ => {
                let n = doc.read().ok().flatten().unwrap_or(0);
                let _ = doc.write(&(n + 1));
            }
        }
    }
    std::process::exit(0);
}

#[test]
fn update_never_loses_an_increment() {
    if child_main() {
        return;
    }
    let total = run("multiprocess::update_never_loses_an_increment", "locked");
    println!("update: {PROCESSES} processes × {INCREMENTS} increments = {total}");
    assert_eq!(total, (PROCESSES * INCREMENTS) as u64);
}

#[test]
fn without_the_lock_updates_are_lost() {
    if child_main() {
        return;
    }
    let total = run("multiprocess::without_the_lock_updates_are_lost", "unlocked");
    println!("no lock: {PROCESSES} processes × {INCREMENTS} increments = {total}");
    assert!(
        total < (PROCESSES * INCREMENTS) as u64,
        "the unlocked control lost nothing: the test cannot see the bug"
    );
}
