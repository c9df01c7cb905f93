//! Single-process behaviour: byte-exact formats, reclaim rules, probe, release, symlinks, waits.

use std::{
    os::unix::fs::symlink,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use dotdir_pidlock::{Error, PidLock, Previous, RecordFormat, probe};

fn me() -> u32 {
    std::process::id()
}

fn bot(path: &Path) -> PidLock {
    PidLock::new(path).format(RecordFormat::BarePid).program("ollim-bot")
}

#[test]
fn bot_pid_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/bot.pid");
    let guard = bot(&path).acquire().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), me().to_string().as_bytes());
    assert_eq!(guard.previous(), Previous::Missing);
    // The bare-pid format has no payload.
    let mut guard = guard;
    assert!(matches!(guard.set_payload(&["1"]), Err(Error::InvalidPayload { .. })));
    assert_eq!(std::fs::read(&path).unwrap(), me().to_string().as_bytes());
    guard.release().unwrap();
    assert!(!path.exists());
    // The lock file stays (it is never unlinked).
    assert!(dir.path().join("state/bot.pid.lock").exists());
}

#[test]
fn serve_pid_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".omicos/serve.pid");
    let mut guard = PidLock::new(&path).acquire().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), format!("{}\n", me()).as_bytes());
    guard.set_payload(&["8765"]).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), format!("{}\n8765\n", me()).as_bytes());
    assert_eq!(guard.payload(), ["8765"]);
    drop(guard);
    let with_port = PidLock::new(&path).payload(["4242"]).acquire().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), format!("{}\n4242\n", me()).as_bytes());
    assert!(matches!(
        PidLock::new(dir.path().join("x.pid")).payload(["a\nb"]).acquire(),
        Err(Error::InvalidPayload { .. })
    ));
    drop(with_port);
}

/// One stale record: acquire reclaims it and reports what it found.
fn check_reclaim(content: &[u8], expected: Previous) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/bot.pid");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    let guard = bot(&path).acquire().unwrap_or_else(|e| panic!("{content:?}: {e}"));
    assert_eq!(guard.previous(), expected, "content {:?}", String::from_utf8_lossy(content));
    assert_eq!(std::fs::read(&path).unwrap(), me().to_string().as_bytes());
}

#[test]
fn reclaims_empty() {
    check_reclaim(b"", Previous::Corrupt);
}

#[test]
fn reclaims_garbage() {
    check_reclaim(b"garbage", Previous::Corrupt);
    check_reclaim(b"\xff\x00\x01", Previous::Corrupt);
    check_reclaim(&[b'7'; 10_000], Previous::Corrupt);
}

#[test]
fn reclaims_pid_zero_and_negative() {
    // The Python bot counts these as "already running" (kill(0, 0) hits its process group).
    check_reclaim(b"0", Previous::InvalidPid(0));
    check_reclaim(b"-1", Previous::InvalidPid(-1));
}

#[test]
fn reclaims_dead_pid_with_whitespace() {
    check_reclaim(b" 999999 \n", Previous::Dead(999999));
}

#[test]
fn reclaims_own_pid() {
    check_reclaim(me().to_string().as_bytes(), Previous::Own(me()));
}

#[test]
fn fixture_bot_pid_is_reclaimable() {
    let fixture = dotdir_test_support::fixtures::ollim_bot_file("hazards/state/bot.pid");
    assert_eq!(std::fs::read(&fixture).unwrap(), b"999999");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/bot.pid");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(&fixture, &path).unwrap();

    let holder = probe(&path).unwrap().expect("the record names a pid");
    assert_eq!(holder.pid, Some(999999));
    assert!(!holder.alive && !holder.locked && !holder.running);

    let guard = bot(&path).acquire().unwrap();
    assert_eq!(guard.previous(), Previous::Dead(999999));
    assert_eq!(std::fs::read(&path).unwrap(), me().to_string().as_bytes());
}

#[test]
fn probe_reports_absent_locked_and_payload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    assert_eq!(probe(&path).unwrap(), None);
    std::fs::write(&path, b"garbage").unwrap();
    assert_eq!(probe(&path).unwrap(), None);

    let mut guard = PidLock::new(&path).acquire().unwrap();
    guard.set_payload(&["8765"]).unwrap();
    let holder = probe(&path).unwrap().unwrap();
    assert_eq!(holder.pid, Some(me()));
    assert_eq!(holder.payload, ["8765"]);
    assert_eq!(holder.port(), Some(8765));
    assert!(holder.alive && holder.locked && holder.running);
    // Probing takes no lock and writes nothing.
    assert_eq!(std::fs::read(&path).unwrap(), format!("{}\n8765\n", me()).as_bytes());
    guard.release().unwrap();
    assert_eq!(probe(&path).unwrap(), None);
}

#[test]
fn acquire_fails_at_once_naming_holder_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    let _guard = PidLock::new(&path).acquire().unwrap();
    // `acquire` never waits (`acquire_timeout` does); its speed is the benchmarks' business.
    let err = PidLock::new(&path).acquire().unwrap_err();
    assert!(matches!(&err, Error::Held { pid: Some(pid), locked: true, .. } if *pid == me()));
    assert_eq!(err.path(), path);
    let message = err.to_string();
    assert!(message.contains(&format!("pid {}", me())), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn threads_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("serve.pid"));
    let inside = Arc::new(AtomicUsize::new(0));
    let wins = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (path, inside, wins) = (path.clone(), inside.clone(), wins.clone());
            std::thread::spawn(move || {
                for _ in 0..200 {
                    match PidLock::new(path.as_path()).acquire() {
                        Ok(guard) => {
                            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                            wins.fetch_add(1, Ordering::SeqCst);
                            std::thread::yield_now();
                            inside.fetch_sub(1, Ordering::SeqCst);
                            guard.release().unwrap();
                        }
                        Err(e) => assert_eq!(e.holder_pid(), Some(std::process::id()), "{e}"),
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(wins.load(Ordering::SeqCst) > 0);
}

#[test]
fn acquire_timeout_waits_for_release() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    let guard = PidLock::new(&path).acquire().unwrap();

    let start = Instant::now();
    let err = PidLock::new(&path).acquire_timeout(Duration::from_millis(60)).unwrap_err();
    assert!(err.is_held());
    assert!(start.elapsed() >= Duration::from_millis(60));

    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        drop(guard);
    });
    let start = Instant::now();
    let second = PidLock::new(&path).acquire_timeout(Duration::from_secs(10)).unwrap();
    let waited = start.elapsed();
    releaser.join().unwrap();
    assert!(waited >= Duration::from_millis(90), "{waited:?}");
    drop(second);
}

#[test]
fn release_leaves_a_record_someone_else_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/bot.pid");
    let guard = bot(&path).acquire().unwrap();
    // The Python bot takes no lock and overwrites in place (`write_text`).
    std::fs::write(&path, b"31337").unwrap();
    guard.release().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"31337");
}

#[test]
fn release_keep_record_then_own_pid_is_reclaimed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    let mut guard = PidLock::new(&path).acquire().unwrap();
    guard.set_payload(&["1"]).unwrap();
    guard.release_keep_record().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), format!("{}\n1\n", me()).as_bytes());
    let holder = probe(&path).unwrap().unwrap();
    assert!(!holder.locked && holder.alive);
    let again = PidLock::new(&path).acquire().unwrap();
    assert_eq!(again.previous(), Previous::Own(me()));
}

fn canary(dir: &Path) -> std::path::PathBuf {
    let canary = dir.join("outside/canary");
    std::fs::create_dir_all(canary.parent().unwrap()).unwrap();
    std::fs::write(&canary, b"do not touch").unwrap();
    canary
}

#[test]
fn symlink_at_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let canary = canary(dir.path());
    let path = dir.path().join("state/bot.pid");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    symlink(&canary, &path).unwrap();
    let err = bot(&path).acquire().unwrap_err();
    assert!(matches!(&err, Error::Symlink { path: p } if *p == path), "{err}");
    assert!(matches!(probe(&path), Err(Error::Symlink { .. })));
    assert_eq!(std::fs::read(&canary).unwrap(), b"do not touch");
    assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
}

#[test]
fn symlink_at_lock_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let canary = canary(dir.path());
    let path = dir.path().join("state/bot.pid");
    let lock_path = dir.path().join("state/bot.pid.lock");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    symlink(&canary, &lock_path).unwrap();
    let err = bot(&path).acquire().unwrap_err();
    assert!(matches!(&err, Error::Symlink { path: p } if *p == lock_path), "{err}");
    assert!(matches!(probe(&path), Err(Error::Symlink { .. })));
    assert_eq!(std::fs::read(&canary).unwrap(), b"do not touch");
    assert!(!path.exists(), "no record is published without the lock");

    // A dangling link is refused too, and its target is not created.
    let target = dir.path().join("outside/created-by-open");
    std::fs::remove_file(&lock_path).unwrap();
    symlink(&target, &lock_path).unwrap();
    assert!(matches!(bot(&path).acquire(), Err(Error::Symlink { .. })));
    assert!(!target.exists());
}

#[test]
fn directory_or_fifo_at_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.pid");
    std::fs::create_dir(&path).unwrap();
    assert!(matches!(bot(&path).acquire(), Err(Error::NotAFile { .. })));
    std::fs::remove_dir(&path).unwrap();
    let status = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(status.success());
    assert!(matches!(bot(&path).acquire(), Err(Error::NotAFile { .. })));
    assert!(matches!(probe(&path), Err(Error::NotAFile { .. })));
}

#[test]
fn path_without_file_name_is_refused() {
    assert!(matches!(PidLock::new("/").acquire(), Err(Error::InvalidPath { .. })));
}

#[test]
fn lock_file_deleted_by_hand_does_not_split_the_lock_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    let guard = PidLock::new(&path).acquire().unwrap();
    std::fs::remove_file(guard.lock_path()).unwrap();
    let err = PidLock::new(&path).acquire().unwrap_err();
    assert!(matches!(err, Error::Held { pid: Some(p), .. } if p == me()), "{err}");
    drop(guard);
    // Released: the next acquire works (on a new lock file).
    let again = PidLock::new(&path).acquire().unwrap();
    assert_eq!(again.previous(), Previous::Missing);
}

#[test]
fn durable_publish_is_the_same_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/bot.pid");
    let guard = bot(&path).durability(dotdir_atomic_store::Durability::Full).acquire().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), me().to_string().as_bytes());
    guard.release().unwrap();
    assert!(!path.exists());
}
