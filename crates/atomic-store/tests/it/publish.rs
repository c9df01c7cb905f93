//! The create-only write, the streaming writer, the durable removal and the reusable lock file:
//! symlinks are never followed, no temporary file outlives a call, and of racing creators exactly
//! one wins.

use std::{
    fs,
    io::Write,
    os::unix::fs::symlink,
    path::Path,
    sync::{Arc, Barrier},
};

use dotdir_atomic_store::{
    AtomicFile, Created, Durability, Error, LockFile, WriteOptions, Written, find_temps, lock,
    lock_path, remove, try_lock, write, write_new,
};

use dotdir_test_support::{mode, set_mode};

use crate::scale;

fn no_temps(dir: &Path) {
    assert_eq!(find_temps(dir, None).unwrap(), Vec::new(), "no temporary file is left in {dir:?}");
}

// ---- remove --------------------------------------------------------------------------------

#[test]
fn remove_says_whether_the_file_existed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("routine.md");
    fs::write(&path, b"x").unwrap();
    assert!(remove(&path, Durability::Full).unwrap());
    assert!(!path.exists());
    assert!(!remove(&path, Durability::Full).unwrap(), "a missing file is Ok(false)");
    assert!(!remove(&dir.path().join("gone/deeper"), Durability::None).unwrap());
    // A parent that is a file: the path cannot exist.
    assert!(!remove(&dir.path().join("routine.md.x/child"), Durability::Full).unwrap());
}

#[test]
fn remove_unlinks_a_symlink_never_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.txt");
    fs::write(&outside, b"precious").unwrap();
    let link = dir.path().join("data/token.json");
    fs::create_dir(dir.path().join("data")).unwrap();
    symlink(&outside, &link).unwrap();
    assert!(remove(&link, Durability::Full).unwrap());
    assert!(fs::symlink_metadata(&link).is_err(), "the link is gone");
    assert_eq!(fs::read(&outside).unwrap(), b"precious", "its target is untouched");

    let dangling = dir.path().join("data/dangling");
    symlink(dir.path().join("nowhere"), &dangling).unwrap();
    assert!(remove(&dangling, Durability::Full).unwrap(), "a dangling symlink exists");
}

#[test]
fn remove_refuses_a_directory_and_a_path_without_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    assert!(matches!(remove(&sub, Durability::Full), Err(Error::NotAFile { .. })));
    assert!(sub.is_dir());
    assert!(matches!(remove(Path::new("/"), Durability::Full), Err(Error::InvalidPath { .. })));
}

// ---- write_new -----------------------------------------------------------------------------

#[test]
fn write_new_creates_once_and_never_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agents/gmail-reader.md");
    assert_eq!(write_new(&path, b"first", &WriteOptions::new()).unwrap(), Created::New);
    assert_eq!(write_new(&path, b"second", &WriteOptions::new()).unwrap(), Created::AlreadyExists);
    assert_eq!(fs::read(&path).unwrap(), b"first");
    // Even with every durability, and a secret.
    for durability in [Durability::Full, Durability::FileOnly, Durability::None] {
        let options = WriteOptions::secret().durability(durability);
        let created = write_new(&path, b"third", &options).unwrap();
        assert_eq!(created, Created::AlreadyExists);
    }
    assert_eq!(fs::read(&path).unwrap(), b"first");
    no_temps(&dir.path().join("agents"));
}

#[test]
fn write_new_gives_a_secret_its_mode_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    for durability in [Durability::Full, Durability::FileOnly, Durability::None] {
        let path = dir.path().join(format!("state/{durability:?}.json"));
        let options = WriteOptions::secret().durability(durability);
        assert!(write_new(&path, b"{}", &options).unwrap().is_new());
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::metadata(&path).unwrap().len(), 2);
        use std::os::unix::fs::MetadataExt;
        assert_eq!(fs::metadata(&path).unwrap().nlink(), 1, "the temporary name is gone");
    }
    assert_eq!(mode(&dir.path().join("state")), 0o700, "a secret's new directory is 0700");
    no_temps(&dir.path().join("state"));
}

#[test]
fn write_new_never_writes_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.txt");
    fs::write(&outside, b"precious").unwrap();
    let link = dir.path().join("IDENTITY.md");
    symlink(&outside, &link).unwrap();
    let dangling = dir.path().join("USER.md");
    let nowhere = dir.path().join("nowhere.txt");
    symlink(&nowhere, &dangling).unwrap();
    for options in [WriteOptions::new(), WriteOptions::secret()] {
        assert_eq!(write_new(&link, b"evil", &options).unwrap(), Created::AlreadyExists);
        assert_eq!(write_new(&dangling, b"evil", &options).unwrap(), Created::AlreadyExists);
    }
    assert_eq!(fs::read(&outside).unwrap(), b"precious");
    assert!(!nowhere.exists(), "a dangling symlink's target is never created");
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    no_temps(dir.path());
}

#[test]
fn write_new_leaves_no_temp_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"").unwrap();
    // The parent is a file: the lstat of the target fails with ENOTDIR.
    assert!(write_new(&blocker.join("child"), b"x", &WriteOptions::new()).is_err());
    // A directory that cannot be written: creating the temporary file fails (as root, a
    // read-only directory is writable, so the assertion is on the temp files only).
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    set_mode(&ro, 0o500);
    let result = write_new(&ro.join("x"), b"x", &WriteOptions::new());
    set_mode(&ro, 0o700);
    if result.is_err() {
        assert!(!ro.join("x").exists());
    }
    no_temps(&ro);
    no_temps(dir.path());
}

#[test]
fn write_new_has_exactly_one_winner_among_racing_threads() {
    const THREADS: usize = 8;
    let rounds = scale(50);
    let dir = tempfile::tempdir().unwrap();
    for round in 0..rounds {
        let path = Arc::new(dir.path().join(format!("r{round}/IDENTITY.md")));
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let content = format!("thread {t} of round {round}");
                    barrier.wait();
                    (t, write_new(&path, content.as_bytes(), &WriteOptions::new()).unwrap())
                })
            })
            .collect();
        let outcomes: Vec<(usize, Created)> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<usize> =
            outcomes.iter().filter(|(_, c)| c.is_new()).map(|(t, _)| *t).collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let expected = format!("thread {} of round {round}", winners[0]);
        assert_eq!(fs::read_to_string(&*path).unwrap(), expected, "the winner's bytes, whole");
        no_temps(path.parent().unwrap());
    }
    println!("write_new race: {rounds} rounds x {THREADS} threads, exactly one winner each");
}

// ---- AtomicFile ----------------------------------------------------------------------------

#[test]
fn atomic_file_streams_then_replaces_on_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.tar.gz");
    fs::write(&path, b"old").unwrap();
    set_mode(&path, 0o640);
    let mut file = AtomicFile::create(&path, &WriteOptions::new()).unwrap();
    assert_eq!(file.path(), path);
    for i in 0..1000 {
        writeln!(file, "line {i}").unwrap();
    }
    file.flush().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"old", "the target is untouched before the commit");
    let staged = fs::read_to_string(file.temp_path()).unwrap();
    assert!(staged.starts_with("line 0\n") && staged.ends_with("line 999\n"));
    assert_eq!(file.as_file().metadata().unwrap().len(), staged.len() as u64);
    assert_eq!(file.commit().unwrap(), Written::Replaced);
    assert_eq!(fs::read_to_string(&path).unwrap(), staged);
    assert_eq!(mode(&path), 0o640, "the old mode is kept");
    no_temps(dir.path());
}

#[test]
fn atomic_file_dropped_or_discarded_leaves_the_target_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    fs::write(&path, b"{}").unwrap();
    {
        let mut file = AtomicFile::create(&path, &WriteOptions::new()).unwrap();
        file.write_all(b"half of a docum").unwrap();
        assert_eq!(find_temps(dir.path(), None).unwrap().len(), 1);
    }
    assert_eq!(fs::read(&path).unwrap(), b"{}");
    no_temps(dir.path());

    let mut file = AtomicFile::create(&path, &WriteOptions::new()).unwrap();
    file.write_all(b"discarded").unwrap();
    file.discard().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"{}");
    no_temps(dir.path());

    let fresh = dir.path().join("never.json");
    drop(AtomicFile::create(&fresh, &WriteOptions::new()).unwrap());
    assert!(!fresh.exists());
    no_temps(dir.path());
}

#[test]
fn atomic_file_secret_is_0600_from_creation_and_refuses_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/backup.tar.gz");
    let file = AtomicFile::create(&path, &WriteOptions::secret()).unwrap();
    assert_eq!(mode(file.temp_path()), 0o600, "0600 before a byte is written");
    let _ = file.commit().unwrap();
    assert_eq!(mode(&path), 0o600);

    let outside = dir.path().join("outside");
    fs::write(&outside, b"precious").unwrap();
    let link = dir.path().join("out/link.tar.gz");
    symlink(&outside, &link).unwrap();
    assert!(matches!(
        AtomicFile::create(&link, &WriteOptions::secret()),
        Err(Error::Symlink { .. })
    ));
    assert_eq!(fs::read(&outside).unwrap(), b"precious");
    no_temps(&dir.path().join("out"));
}

#[test]
fn atomic_file_commit_new_never_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("once.txt");
    let mut first = AtomicFile::create(&path, &WriteOptions::new()).unwrap();
    let mut second = AtomicFile::create(&path, &WriteOptions::new()).unwrap();
    first.write_all(b"first").unwrap();
    second.write_all(b"second").unwrap();
    assert_eq!(second.commit_new().unwrap(), Created::New);
    assert_eq!(first.commit_new().unwrap(), Created::AlreadyExists);
    assert_eq!(fs::read(&path).unwrap(), b"second");
    no_temps(dir.path());
}

#[test]
fn atomic_file_leaves_no_temp_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("adir");
    fs::create_dir(&sub).unwrap();
    assert!(matches!(AtomicFile::create(&sub, &WriteOptions::new()), Err(Error::NotAFile { .. })));
    // Committing over a directory fails at the rename; the temporary file goes.
    let target = dir.path().join("target");
    let mut file = AtomicFile::create(&target, &WriteOptions::new()).unwrap();
    file.write_all(b"x").unwrap();
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"k").unwrap();
    let err = file.commit().unwrap_err();
    assert!(err.io_error().is_some(), "{err}");
    assert!(target.join("keep").exists());
    no_temps(dir.path());
}

#[test]
fn write_still_skips_unchanged_content_after_the_refactor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.json");
    let options = WriteOptions::new().skip_unchanged(true);
    assert_eq!(write(&path, b"same", &options).unwrap(), Written::Replaced);
    assert_eq!(write(&path, b"same", &options).unwrap(), Written::Unchanged);
    no_temps(dir.path());
}

// ---- LockFile ------------------------------------------------------------------------------

#[test]
fn lock_file_locks_and_unlocks_repeatedly_and_excludes_lock() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("logs/app.jsonl");
    let held = LockFile::sidecar(&target).unwrap();
    assert_eq!(held.path(), lock_path(&target));
    assert_eq!(mode(held.path()), 0o600);
    let other = LockFile::open(lock_path(&target)).unwrap();
    for round in 0..20 {
        assert!(held.try_lock().unwrap(), "round {round}");
        assert!(!other.try_lock().unwrap(), "another open file description is excluded");
        assert!(try_lock(&target).unwrap().is_none(), "so is atomic-store's lock()");
        held.unlock().unwrap();
        assert!(other.try_lock().unwrap());
        other.unlock().unwrap();
    }
    let guard = lock(&target).unwrap();
    assert!(!held.try_lock().unwrap(), "lock() excludes a LockFile on the sidecar");
    drop(guard);
    held.lock().unwrap();
    drop(held);
    assert!(other.try_lock().unwrap(), "dropping the LockFile releases the lock");
}

#[test]
fn lock_file_keeps_a_note_and_is_never_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.pid.lock");
    let first = LockFile::open(&path).unwrap();
    use std::os::unix::fs::FileExt;
    first.file().write_all_at(b"1234 stamp\n", 0).unwrap();
    drop(first);
    let again = LockFile::open(&path).unwrap();
    assert_eq!(fs::read(again.path()).unwrap(), b"1234 stamp\n");
}

#[test]
fn lock_file_refuses_a_symlink_and_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::write(&outside, b"precious").unwrap();
    let link = dir.path().join("a.lock");
    symlink(&outside, &link).unwrap();
    assert!(matches!(LockFile::open(&link), Err(Error::Symlink { path }) if path == link));
    let dangling = dir.path().join("b.lock");
    let nowhere = dir.path().join("nowhere");
    symlink(&nowhere, &dangling).unwrap();
    assert!(matches!(LockFile::open(&dangling), Err(Error::Symlink { .. })));
    assert!(!nowhere.exists(), "O_CREAT never follows the link");
    assert_eq!(fs::read(&outside).unwrap(), b"precious");
    // The same refusal through lock(): its sidecar is a symlink.
    symlink(&outside, lock_path(&dir.path().join("c"))).unwrap();
    assert!(matches!(lock(&dir.path().join("c")), Err(Error::Symlink { .. })));

    let sub = dir.path().join("d.lock");
    fs::create_dir(&sub).unwrap();
    assert!(LockFile::open(&sub).is_err(), "a directory is not a lock file");
}

#[test]
fn lock_file_knows_when_its_path_was_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.lock");
    let file = LockFile::open(&path).unwrap();
    assert!(file.is_current().unwrap());
    fs::remove_file(&path).unwrap();
    assert!(!file.is_current().unwrap(), "deleted");
    fs::write(&path, b"").unwrap();
    assert!(!file.is_current().unwrap(), "replaced by another inode");
    assert!(LockFile::open(&path).unwrap().is_current().unwrap());
}
