//! Single-process behaviour: skip-unchanged, batches, sweeping, size caps and hostile documents.

use std::{fs, os::unix::fs::MetadataExt};

use dotdir_atomic_store::{
    Batch, Document, Error, WriteOptions, Written, find_temps, read, sweep_temps, write,
};

#[test]
fn unchanged_content_is_skipped_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.json");
    let options = WriteOptions::new().skip_unchanged(true);
    assert_eq!(write(&path, b"same", &options).unwrap(), Written::Replaced);
    let inode = fs::metadata(&path).unwrap().ino();
    assert_eq!(write(&path, b"same", &options).unwrap(), Written::Unchanged);
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode, "no new inode for unchanged content");
    assert_eq!(write(&path, b"different", &options).unwrap(), Written::Replaced);
    assert_ne!(fs::metadata(&path).unwrap().ino(), inode);
}

#[test]
fn missing_parents_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/d.txt");
    let _ = write(&path, b"deep", &WriteOptions::new()).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"deep");
}

#[test]
fn a_batch_replaces_every_file_at_commit_and_cleans_up_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut batch = Batch::new();
    for i in 0..5 {
        let _ = batch
            .write(&dir.path().join(format!("sub{}/f{i}", i % 2)), b"x", &WriteOptions::new())
            .unwrap();
    }
    assert!(!dir.path().join("sub0/f0").exists(), "nothing is visible before commit");
    assert_eq!(batch.commit().unwrap(), 5);
    assert_eq!(fs::read(dir.path().join("sub1/f3")).unwrap(), b"x");

    let mut abandoned = Batch::new();
    let _ = abandoned.write(&dir.path().join("never"), b"y", &WriteOptions::new()).unwrap();
    drop(abandoned);
    assert!(!dir.path().join("never").exists());
    assert!(find_temps(dir.path(), None).unwrap().is_empty(), "a dropped batch leaves no temp");
}

#[test]
fn sweep_removes_temps_of_dead_writers_and_keeps_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    // A pid that cannot be alive (above the kernel's pid_max limit of 2^22).
    let dead = dir.path().join(".state.json.4999999.0badf00d.dotdir-tmp");
    // Named after this live process, which holds it open: in flight.
    let live = dir.path().join(format!(".state.json.{}.deadbeef.dotdir-tmp", std::process::id()));
    // Named after this live process, which does not hold it: the pid was reused.
    let reused = dir.path().join(format!(".state.json.{}.0000beef.dotdir-tmp", std::process::id()));
    let unrelated = dir.path().join(".state.json.tmp");
    for p in [&dead, &live, &reused, &unrelated] {
        fs::write(p, b"partial").unwrap();
    }
    let held = fs::File::open(&live).unwrap();
    // Even a file that looks ancient by its time stamp stays while its writer holds it.
    held.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
    assert_eq!(find_temps(dir.path(), None).unwrap().len(), 3);
    let mut removed = sweep_temps(dir.path(), None).unwrap();
    removed.sort();
    let mut expected = vec![reused, dead];
    expected.sort();
    assert_eq!(removed, expected);
    assert!(live.exists() && unrelated.exists());
    drop(held);
    assert_eq!(sweep_temps(dir.path(), None).unwrap(), vec![live]);
    assert!(unrelated.exists(), "files that are not ours are never touched");
}

#[test]
fn the_first_write_into_a_directory_sweeps_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("routines");
    fs::create_dir(&sub).unwrap();
    let dead = sub.join(".other.md.4999999.0badf00d.dotdir-tmp");
    let live = sub.join(format!(".other.md.{}.deadbeef.dotdir-tmp", std::process::id()));
    for p in [&dead, &live] {
        fs::write(p, b"partial").unwrap();
    }
    let held = fs::File::open(&live).unwrap();
    // A write of an unrelated file into the directory sweeps the dead writer's leftover.
    let _ = write(&sub.join("a.md"), b"a", &WriteOptions::new()).unwrap();
    assert!(!dead.exists(), "the first write sweeps the directory");
    assert!(live.exists(), "a live writer's temp file stays");
    // Once per process and directory: later writes do not list the directory again.
    fs::write(&dead, b"partial").unwrap();
    let _ = write(&sub.join("b.md"), b"b", &WriteOptions::new()).unwrap();
    assert!(dead.exists(), "only the first write sweeps");
    drop(held);
}

#[test]
fn filesystem_now_reads_the_filesystems_clock_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let before = fs::File::create(dir.path().join("before")).unwrap().metadata().unwrap();
    let now = dotdir_atomic_store::filesystem_now(dir.path()).unwrap();
    assert!(now >= before.modified().unwrap());
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["before"], "the probe is removed");
}

#[test]
fn hostile_documents_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    let doc: Document<serde_json::Value> = Document::new(&path);

    fs::write(&path, "[".repeat(100_000)).unwrap();
    assert!(matches!(doc.read(), Err(Error::Decode { .. })), "deep nesting");

    fs::write(&path, b"{\"a\": \"\xff\xfe\"}").unwrap();
    assert!(matches!(doc.read(), Err(Error::Decode { .. })), "invalid UTF-8");

    fs::write(&path, b"{\"a\": 1").unwrap();
    let err = doc.read().unwrap_err();
    assert!(err.to_string().contains("doc.json"), "errors name the file: {err}");

    fs::write(&path, vec![b' '; 2048]).unwrap();
    assert!(matches!(doc.clone().max_size(1024).read(), Err(Error::TooLarge { limit: 1024, .. })));
    assert!(matches!(read(&path, 1024), Err(Error::TooLarge { .. })));

    // A corrupt document is never silently reset by update.
    fs::write(&path, b"not json").unwrap();
    let counter: Document<u64> = Document::new(&path);
    assert!(counter.update(|n| *n += 1).is_err());
    assert_eq!(fs::read(&path).unwrap(), b"not json");
}

#[test]
fn errors_name_the_step_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"").unwrap();
    // The parent "directory" is a file: creating the temp fails.
    let err = write(&blocker.join("child.json"), b"x", &WriteOptions::new()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("child.json") || message.contains("file"), "{message}");
    assert!(err.io_error().is_some());

    let dir_target = dir.path().join("adir");
    fs::create_dir(&dir_target).unwrap();
    assert!(matches!(write(&dir_target, b"x", &WriteOptions::new()), Err(Error::NotAFile { .. })));
}

#[test]
fn try_update_can_refuse_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let doc: Document<u64> = Document::new(dir.path().join("n.json"));
    let refused = doc.try_update(|_| Err::<(), _>("no")).unwrap();
    assert_eq!(refused, Err("no"));
    assert!(!doc.path().exists(), "a refused update writes nothing");
}
