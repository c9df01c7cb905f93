//! Several processes: the start race, a SIGKILLed holder, lock-less holders and unrelated pids.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use dotdir_pidlock::{Error, PidLock, Previous, RecordFormat, probe};

use crate::{child, child_role, env, heavy, proc_state, report, scale, test_program, wait_for};

const STARTERS: usize = 8;
const LIMIT: Duration = Duration::from_secs(60);

fn bot(path: &Path) -> PidLock {
    PidLock::new(path).format(RecordFormat::BarePid).program("ollim-bot")
}

/// Every participant creates its marker, then waits for all of them.
fn barrier(dir: &Path, name: &str, index: usize, count: usize) {
    let marker = |i: usize| dir.join(format!("{name}.{i}"));
    std::fs::write(marker(index), b"").unwrap();
    let start = Instant::now();
    let mut spins = 0u32;
    while !(0..count).all(|i| marker(i).exists()) {
        assert!(start.elapsed() < LIMIT, "barrier {name} timed out");
        spins += 1;
        if spins < 20 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// One starter: each round, try once; the winner holds until every loser has tried and probed.
fn race_child() {
    let dir = PathBuf::from(env("DOTDIR_RACE_DIR"));
    let index: usize = env("DOTDIR_RACE_INDEX").parse().unwrap();
    let rounds: usize = env("DOTDIR_RACE_ROUNDS").parse().unwrap();
    let sync = dir.join("sync");
    barrier(&sync, "go", index, STARTERS);
    // Leaving round r's last barrier together is round r+1's start line.
    for round in 0..rounds {
        let round_dir = dir.join(format!("round{round}"));
        let path = round_dir.join("state/bot.pid");
        let result = bot(&path).acquire();
        let mut line = match &result {
            Ok(_) => format!("win {}", std::process::id()),
            Err(Error::Held { pid: Some(pid), locked: true, .. }) => format!("lose {pid}"),
            Err(e) => format!("error {e}"),
        };
        barrier(&sync, &format!("tried{round}"), index, STARTERS);
        if result.is_err() {
            match probe(&path) {
                Ok(Some(holder)) if holder.locked => {
                    line.push_str(&format!(" probe {}", holder.pid.unwrap_or(0)));
                }
                other => line.push_str(&format!(" probe-bad {other:?}")),
            }
        }
        report(&round_dir.join(format!("result.{index}")), &line);
        barrier(&sync, &format!("probed{round}"), index, STARTERS);
        drop(result);
    }
}

#[test]
fn start_race() {
    if child_role().as_deref() == Some("race") {
        return race_child();
    }
    let _serial = heavy();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sync")).unwrap();
    let rounds = scale(200);
    for round in 0..rounds {
        std::fs::create_dir(dir.path().join(format!("round{round}"))).unwrap();
    }
    let start = Instant::now();
    let children: Vec<_> = (0..STARTERS)
        .map(|index| {
            child("multiprocess::start_race", "race")
                .env("DOTDIR_RACE_DIR", dir.path())
                .env("DOTDIR_RACE_INDEX", index.to_string())
                .env("DOTDIR_RACE_ROUNDS", rounds.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let elapsed = start.elapsed();

    let mut wins_per_starter = [0usize; STARTERS];
    for round in 0..rounds {
        let round_dir = dir.path().join(format!("round{round}"));
        let results: Vec<String> = (0..STARTERS)
            .map(|i| std::fs::read_to_string(round_dir.join(format!("result.{i}"))).unwrap())
            .collect();
        let winners: Vec<usize> =
            (0..STARTERS).filter(|&i| results[i].starts_with("win ")).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let winner_pid = results[winners[0]].strip_prefix("win ").unwrap();
        wins_per_starter[winners[0]] += 1;
        for (i, result) in results.iter().enumerate() {
            if i != winners[0] {
                assert_eq!(
                    result,
                    &format!("lose {winner_pid} probe {winner_pid}"),
                    "round {round}, starter {i}"
                );
            }
        }
    }
    println!(
        "start race: {STARTERS} processes x {rounds} rounds = {} attempts, exactly 1 winner in \
         each round, every loser named the winner (error and probe); wins per starter \
         {wins_per_starter:?}; {elapsed:?}",
        STARTERS * rounds
    );
}

/// A holder that acquires, says so, and waits to be killed.
fn hold_child() {
    let path = PathBuf::from(env("DOTDIR_PATH"));
    let mut guard = PidLock::new(&path).program(test_program()).acquire().unwrap();
    guard.set_payload(&["8765"]).unwrap();
    report(Path::new(&env("DOTDIR_READY")), "ready");
    std::thread::sleep(Duration::from_secs(60));
    drop(guard);
}

#[test]
fn sigkilled_holder_is_reclaimed_at_once() {
    if child_role().as_deref() == Some("hold") {
        return hold_child();
    }
    let _serial = heavy();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".omicos/serve.pid");
    let trials = scale(20);
    let mut totals = Vec::new();
    let mut acquires = Vec::new();
    for trial in 0..trials {
        let ready = dir.path().join(format!("ready{trial}"));
        let mut holder = child("multiprocess::sigkilled_holder_is_reclaimed_at_once", "hold")
            .env("DOTDIR_PATH", &path)
            .env("DOTDIR_READY", &ready)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(&ready, LIMIT);
        let holder_pid = holder.id();
        assert!(PidLock::new(&path).acquire().unwrap_err().holder_pid() == Some(holder_pid));

        let killed = Instant::now();
        holder.kill().unwrap();
        holder.wait().unwrap();
        let reaped = Instant::now();
        let guard = PidLock::new(&path).program(test_program()).acquire().unwrap_or_else(|e| {
            panic!("trial {trial}: start after SIGKILL failed: {e}");
        });
        let done = Instant::now();
        assert_eq!(guard.previous(), Previous::Dead(holder_pid), "trial {trial}");
        assert_eq!(std::fs::read(&path).unwrap(), format!("{}\n", std::process::id()).as_bytes());
        guard.release().unwrap();
        totals.push(done - killed);
        acquires.push(done - reaped);
    }
    totals.sort();
    acquires.sort();
    let max = *acquires.last().unwrap();
    println!(
        "SIGKILLed holder: {trials}/{trials} starts succeeded with no cleanup; the next start \
         (acquire after the holder was reaped) median {:?}, max {max:?}; kill→acquired, \
         including the kill and the reaping, median {:?}, max {:?}",
        acquires[trials / 2],
        totals[trials / 2],
        totals.last().unwrap()
    );
    assert!(max < Duration::from_millis(100), "slowest start after a SIGKILL: {max:?}");
}

/// A `sleep 30`, once it has exec'd (before that its cmdline is still this test binary's).
fn spawn_sleep() -> std::process::Child {
    let child = Command::new("sleep").arg("30").spawn().unwrap();
    let cmdline = format!("/proc/{}/cmdline", child.id());
    let start = Instant::now();
    while !std::fs::read(&cmdline).unwrap().starts_with(b"sleep\0") {
        assert!(start.elapsed() < LIMIT, "sleep did not start");
        std::thread::sleep(Duration::from_millis(1));
    }
    child
}

#[test]
fn live_unrelated_pid_is_reclaimed_and_never_signalled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/bot.pid");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut sleep = spawn_sleep();
    let pid = sleep.id();
    std::fs::write(&path, pid.to_string()).unwrap();

    let holder = bot(&path).probe().unwrap().unwrap();
    assert_eq!(holder.pid, Some(pid));
    assert!(holder.alive && !holder.locked && !holder.running, "{holder:?}");

    let guard = bot(&path).acquire().unwrap();
    assert_eq!(guard.previous(), Previous::Reused(pid));
    assert_eq!(std::fs::read(&path).unwrap(), std::process::id().to_string().as_bytes());
    guard.release().unwrap();

    // Still alive, not stopped, nothing pending, not reaped: it was never signalled. (Its
    // scheduler state may be R, S or D at any instant; only a signal makes it T or Z.)
    assert!(sleep.try_wait().unwrap().is_none());
    let (state, pending) = proc_state(pid);
    assert!(!matches!(state, 'T' | 't' | 'Z' | 'X'), "state {state}: it was signalled");
    assert_eq!(pending, "SigPnd:\t0000000000000000 ShdPnd:\t0000000000000000");
    sleep.kill().unwrap();
    sleep.wait().unwrap();
}

#[test]
fn live_pid_without_program_name_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    let mut sleep = spawn_sleep();
    std::fs::write(&path, format!("{}\n9\n", sleep.id())).unwrap();
    let err = PidLock::new(&path).acquire().unwrap_err();
    assert!(matches!(err, Error::Held { pid: Some(p), locked: false, .. } if p == sleep.id()));
    assert!(sleep.try_wait().unwrap().is_none());
    sleep.kill().unwrap();
    sleep.wait().unwrap();
}

#[test]
fn lockless_holder_with_matching_cmdline_is_held() {
    // The Python bot takes no OS lock: a live process whose cmdline has the program name holds it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/bot.pid");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut sleep = spawn_sleep();
    let pid = sleep.id();
    std::fs::write(&path, pid.to_string()).unwrap();
    let lock = PidLock::new(&path).format(RecordFormat::BarePid).program("sleep");

    let holder = lock.probe().unwrap().unwrap();
    assert!(holder.alive && !holder.locked && holder.running, "{holder:?}");
    let err = lock.acquire().unwrap_err();
    assert!(matches!(err, Error::Held { pid: Some(p), locked: false, .. } if p == pid), "{err}");
    assert!(err.to_string().contains("takes no OS lock"));
    assert_eq!(std::fs::read(&path).unwrap(), pid.to_string().as_bytes(), "record untouched");

    // Once it exits, the next start reclaims.
    sleep.kill().unwrap();
    sleep.wait().unwrap();
    let guard = lock.acquire_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(guard.previous(), Previous::Dead(pid));
}

/// Acquires, then lets go of the OS lock but keeps the record (as `exec` would), and waits.
fn keep_child() {
    let path = PathBuf::from(env("DOTDIR_PATH"));
    let guard = PidLock::new(&path).acquire().unwrap();
    guard.release_keep_record().unwrap();
    report(Path::new(&env("DOTDIR_READY")), "ready");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn kept_record_of_live_holder_is_held_by_stamp() {
    if child_role().as_deref() == Some("keep") {
        return keep_child();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    let ready = dir.path().join("ready");
    let mut holder = child("multiprocess::kept_record_of_live_holder_is_held_by_stamp", "keep")
        .env("DOTDIR_PATH", &path)
        .env("DOTDIR_READY", &ready)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&ready, LIMIT);
    let pid = holder.id();
    // No OS lock, but the stamp's start time matches the live process: an exec in progress.
    let err = PidLock::new(&path).acquire().unwrap_err();
    assert!(matches!(err, Error::Held { pid: Some(p), locked: false, .. } if p == pid), "{err}");
    // A program name its cmdline lacks proves the pid is not the holder.
    let guard = PidLock::new(&path).program("no-such-program").acquire().unwrap();
    assert_eq!(guard.previous(), Previous::Reused(pid));
    drop(guard);
    holder.kill().unwrap();
    holder.wait().unwrap();
}

#[test]
fn lock_file_deleted_by_hand_does_not_split_the_lock_across_processes() {
    if child_role().as_deref() == Some("hold") {
        return hold_child();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.pid");
    let ready = dir.path().join("ready");
    let mut holder = child(
        "multiprocess::lock_file_deleted_by_hand_does_not_split_the_lock_across_processes",
        "hold",
    )
    .env("DOTDIR_PATH", &path)
    .env("DOTDIR_READY", &ready)
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    wait_for(&ready, LIMIT);
    std::fs::remove_file(PidLock::new(&path).lock_path()).unwrap();
    // A new lock file and a free OS lock, but the record names a live, matching process.
    let err = PidLock::new(&path).program(test_program()).acquire().unwrap_err();
    assert!(
        matches!(err, Error::Held { pid: Some(p), locked: false, .. } if p == holder.id()),
        "{err}"
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
}
