//! A file the application locks itself ([`Entry::locked_by_app`]): a repair takes the same lock
//! without waiting, is refused while the application holds it, and runs once it is free.

use std::{
    fs,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use dotdir_engine::{AppLock, Entry, Format, Layout, check, live};

const LAYOUT: Layout = Layout::new(
    "codex-like",
    "an app that locks its own files",
    &[
        Entry::file("history.jsonl", Format::Jsonl, "prompt history").locked_by_app(AppLock::Flock),
        Entry::file("state.jsonl", Format::Jsonl, "state").locked_by_app(AppLock::Fcntl),
        Entry::file("notes.jsonl", Format::Jsonl, "notes")
            .locked_by_app(AppLock::LockFile(".applock")),
        Entry::file("*.applock", Format::Opaque, "the app's lock files"),
    ],
);

/// A torn last line: a repair that rewrites the file.
fn torn(dir: &Path, name: &str) {
    fs::write(dir.join(name), b"{\"a\":1}\n{\"torn").unwrap();
}

/// `python3` holding `lock` on `path` until its stdin closes.
fn holder(path: &Path, how: &str) -> Child {
    let code = format!(
        "import fcntl, sys\nf = open(sys.argv[1], 'a+')\n{how}\nprint('ready', flush=True)\nsys.stdin.read()\n"
    );
    let mut child = Command::new("python3")
        .args(["-c", &code])
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

fn release(mut child: Child) {
    drop(child.stdin.take());
    child.wait().unwrap();
}

#[test]
fn a_repair_is_refused_while_the_app_holds_its_flock_and_runs_after() {
    let dir = tempfile::tempdir().unwrap();
    torn(dir.path(), "history.jsonl");
    // The application's lock, held here (this process is left out of the liveness scan, so
    // only the declared lock can stop the repair).
    let app = fs::File::open(dir.path().join("history.jsonl")).unwrap();
    app.lock().unwrap();
    let options = check::Options::default();
    let fixed = dotdir_engine::check::fix(dir.path(), &LAYOUT, &options).unwrap();
    assert!(fixed.repairs.is_empty(), "{:?}", fixed.repairs);
    let failure = &fixed.failures[0];
    assert!(failure.error.contains("holds its lock (flock)"), "{}", failure.error);
    assert_eq!(fs::read(dir.path().join("history.jsonl")).unwrap(), b"{\"a\":1}\n{\"torn");
    app.unlock().unwrap();
    let fixed = dotdir_engine::check::fix(dir.path(), &LAYOUT, &options).unwrap();
    assert_eq!(fixed.failures, vec![]);
    assert_eq!(fixed.repairs.len(), 1, "{:?}", fixed.repairs);
    assert_eq!(fs::read(dir.path().join("history.jsonl")).unwrap(), b"{\"a\":1}\n");
}

#[test]
fn an_fcntl_lock_and_an_app_lock_file_held_by_another_process_refuse_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.jsonl");
    let notes = dir.path().join("notes.jsonl");
    torn(dir.path(), "state.jsonl");
    torn(dir.path(), "notes.jsonl");
    let app = holder(&state, "fcntl.lockf(f, fcntl.LOCK_EX)");
    let error = live::take_app_lock(&state, AppLock::Fcntl).unwrap_err();
    assert!(error.contains("holds its lock (fcntl)"), "{error}");
    release(app);
    assert!(live::take_app_lock(&state, AppLock::Fcntl).unwrap().is_some());

    let app = holder(&dir.path().join("notes.jsonl.applock"), "fcntl.flock(f, fcntl.LOCK_EX)");
    let error = live::take_app_lock(&notes, AppLock::LockFile(".applock")).unwrap_err();
    assert!(error.contains("notes.jsonl.applock"), "{error}");
    release(app);
    let guard = live::take_app_lock(&notes, AppLock::LockFile(".applock")).unwrap();
    assert!(guard.is_some());
    // Held by dotdir, the application's next attempt fails, as it would against itself.
    let probe = Command::new("python3")
        .args(["-c", "import fcntl, sys\nf = open(sys.argv[1], 'a+')\ntry:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    print('free')\nexcept BlockingIOError:\n    print('held')"])
        .arg(dir.path().join("notes.jsonl.applock"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "held");
    drop(guard);
    // A missing file has nothing to lock.
    assert!(live::take_app_lock(&dir.path().join("none.jsonl"), AppLock::Flock).unwrap().is_none());
}
