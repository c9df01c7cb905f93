//! Rewrite by predicate through atomic-store under the append lock: kept lines are byte-exact,
//! corrupt lines are quarantined, appends after a rewrite land in the new file, and rewrites and
//! appends (in any thread or process) exclude each other.

use std::{os::unix::fs::MetadataExt, sync::Arc, time::Duration};

use dotdir_jsonl_log::{Durability, Log, LogOptions};

use crate::Stamp;

#[test]
fn retain_removes_by_predicate_and_keeps_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    std::fs::write(
        &path,
        "{\"n\": 1, \"keep\": \"me\"}\n{\"n\":2}\ngarbage\n\n{ \"n\" : 3 ,\"future\":[true]}\n{\"n\": 4",
    )
    .unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();
    let log: Log<serde_json::Value> = Log::new(&path);
    let report = log.retain(|v| v["n"] != 2).unwrap();
    assert_eq!((report.kept, report.removed, report.blank, report.rewritten), (2, 1, 1, true));
    assert_eq!(
        report.quarantined.iter().map(|p| (p.line, p.offset)).collect::<Vec<_>>(),
        vec![(Some(3), 31), (Some(6), 68)]
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"n\": 1, \"keep\": \"me\"}\n{ \"n\" : 3 ,\"future\":[true]}\n"
    );
    assert_eq!(std::fs::read_to_string(log.corrupt_path()).unwrap(), "garbage\n{\"n\": 4\n");
    assert_ne!(std::fs::metadata(&path).unwrap().ino(), inode, "replaced through atomic-store");

    // The same `Log` appends to the new file, not to the replaced inode.
    log.append(&serde_json::json!({"n": 5})).unwrap();
    let values: Vec<_> =
        log.read_strict().unwrap().values().into_iter().map(|v| v["n"].clone()).collect();
    assert_eq!(values, vec![1, 3, 5]);
}

#[test]
fn repair_truncates_a_torn_tail_in_place_and_leaves_a_clean_log_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, "1\n2\n3").unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();
    let log: Log<u64> = Log::new(&path);
    let report = log.repair().unwrap();
    assert!(!report.rewritten);
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n2\n");
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode, "truncated in place");
    assert_eq!(std::fs::read_to_string(log.corrupt_path()).unwrap(), "3\n");

    let again = log.repair().unwrap();
    assert_eq!((again.kept, again.quarantined.len(), again.rewritten), (2, 0, false));
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode, "a clean log is not rewritten");
}

#[test]
fn an_atomic_store_lock_holder_excludes_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let log: Arc<Log<u64>> = Arc::new(Log::new(&path));
    log.append(&1).unwrap();
    let guard = dotdir_atomic_store::lock(&path).unwrap();
    let appender = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || log.append(&2).unwrap())
    };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "1\n",
        "append ran while the lock was held"
    );
    drop(guard);
    let appended = appender.join().unwrap();
    assert_eq!(appended.offset, 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n2\n");
}

#[test]
fn a_symlink_planted_at_the_lock_file_is_refused_and_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let outside = dir.path().join("outside");
    std::fs::write(&outside, b"precious").unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("log.jsonl.lock")).unwrap();
    let log: Log<u64> = Log::new(&path);
    let err = log.append(&1).unwrap_err();
    assert_eq!(err.path(), dir.path().join("log.jsonl.lock"), "{err}");
    assert_eq!(err.io_error().and_then(std::io::Error::raw_os_error), Some(libc::ELOOP), "{err}");
    assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
    assert!(!path.exists(), "nothing is appended without the lock");
    // Once the link is gone, the lock file is created (0600) and kept open across appends.
    std::fs::remove_file(dir.path().join("log.jsonl.lock")).unwrap();
    log.append(&1).unwrap();
    log.append(&2).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n2\n");
    let mode = std::fs::metadata(dir.path().join("log.jsonl.lock")).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn rewrites_and_concurrent_appends_never_lose_a_kept_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let count = crate::scale(3_000) as u64;
    let options = LogOptions::new().durability(Durability::None);
    let appenders: Vec<_> = (0..2u32)
        .map(|writer| {
            let log: Log<Stamp> = Log::with_options(&path, options);
            std::thread::spawn(move || {
                for seq in 0..count {
                    log.append(&Stamp::new(writer, seq, 150)).unwrap();
                }
            })
        })
        .collect();
    // A separate `Log` (its own lock descriptor) removes every even record, again and again.
    let rewriter: Log<Stamp> = Log::with_options(&path, options);
    let mut rewrites = 0;
    while appenders.iter().any(|a| !a.is_finished()) {
        let report = rewriter.retain(|s| s.seq % 2 == 1).unwrap();
        assert!(report.quarantined.is_empty(), "{:?}", report.quarantined);
        rewrites += 1;
    }
    for appender in appenders {
        appender.join().unwrap();
    }
    let _ = rewriter.retain(|s| s.seq % 2 == 1).unwrap();
    let scan = rewriter.read_strict().unwrap();
    for writer in 0..2 {
        let seqs: Vec<u64> =
            scan.records.iter().filter(|r| r.value.writer == writer).map(|r| r.value.seq).collect();
        assert_eq!(seqs, (0..count).filter(|s| s % 2 == 1).collect::<Vec<_>>(), "writer {writer}");
    }
    assert!(scan.records.iter().all(|r| r.value.is_intact(150)));
    println!("{rewrites} rewrites during {} appends", 2 * count);
    assert!(rewrites > 1);
}
