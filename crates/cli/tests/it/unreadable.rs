//! Unreadable is not corrupt: a directory or file this user may not read is reported as
//! `unreadable` (never `corrupt-json`), the walk goes on past it, and `inspect`, `check` and
//! `check --json` still run. As root the binary runs as `nobody`, for whom permissions apply.

use std::{fs, os::unix::process::CommandExt, path::Path};

use dotdir_test_support::set_mode;

use crate::{Env, code, fixture, json, problems, stdout};

const NOBODY: u32 = 65_534;

#[test]
fn an_unreadable_directory_and_file_are_reported_and_the_walk_goes_on() {
    let (temp, dir) = fixture("typical");
    let root = effective_uid() == 0;
    // Readable to everyone but the two paths under test.
    set_mode(temp.path(), 0o755);
    for entry in walk(&dir) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        set_mode(&entry, mode);
    }
    set_mode(&dir.join("state/config.json"), 0o000);
    set_mode(&dir.join("routines"), 0o000);
    // A copy of the binary that `nobody` can run wherever the build directory is.
    let exe = temp.path().join("dotdir");
    fs::copy(env!("CARGO_BIN_EXE_dotdir"), &exe).unwrap();
    set_mode(&exe, 0o755);

    let env = Env::new();
    set_mode(env.home.path(), 0o755);
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(&exe);
        command
            .args(args)
            .current_dir(env.home.path())
            .env("HOME", env.home.path())
            .env("DOTDIR_NOW", crate::NOW)
            .env("NO_COLOR", "1");
        if root {
            command.uid(NOBODY).gid(NOBODY);
        }
        command.output().unwrap()
    };
    let path = dir.to_str().unwrap();
    let output = run(&["check", "--json", path]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let found = problems(&json(&output));
    assert!(found.contains(&("unreadable".to_owned(), "routines".to_owned())), "{found:?}");
    assert!(
        found.contains(&("unreadable".to_owned(), "state/config.json".to_owned())),
        "{found:?}"
    );
    assert!(!found.iter().any(|(kind, _)| kind.starts_with("corrupt")), "{found:?}");
    // The walk went on past the unreadable directory.
    let inspect = run(&["inspect", path]);
    assert_eq!(code(&inspect), 0, "{}", String::from_utf8_lossy(&inspect.stderr));
    assert!(stdout(&inspect).contains("session_history.jsonl"), "{}", stdout(&inspect));
    set_mode(&dir.join("routines"), 0o755);
    set_mode(&dir.join("state/config.json"), 0o600);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The effective uid, from `/proc` (no `unsafe`).
fn effective_uid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// Every path under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let meta = fs::symlink_metadata(&p).unwrap();
            (p, meta.len(), meta.modified().unwrap())
        })
        .collect()
}

/// `check` needs no write access: run by another user it takes no lock, writes no index and
/// creates nothing, and a repository it may not read is "cannot read", never a tracked secret.
#[test]
fn check_as_another_user_writes_nothing_and_says_what_it_cannot_read() {
    assert_eq!(effective_uid(), 0, "this test runs the binary as nobody: it needs root");
    let env = Env::new();
    let temp = tempfile::tempdir().unwrap();
    let [dir, ..] = crate::demo_dirs(&env, temp.path());
    for entry in walk(temp.path()) {
        set_mode(&entry, if entry.is_dir() { 0o755 } else { 0o644 });
    }
    set_mode(&dir.join(".git"), 0o700);
    let exe = temp.path().join("dotdir");
    fs::copy(env!("CARGO_BIN_EXE_dotdir"), &exe).unwrap();
    set_mode(&exe, 0o755);
    set_mode(env.home.path(), 0o755);
    let run = |args: &[&str]| {
        std::process::Command::new(&exe)
            .args(args)
            .current_dir(env.home.path())
            .env("HOME", env.home.path())
            .env("DOTDIR_NOW", crate::NOW)
            .env("NO_COLOR", "1")
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .unwrap()
    };
    let before = snapshot(temp.path());
    let output = run(&["check", dir.to_str().unwrap()]);
    let text = stdout(&output);
    assert!(text.contains("cannot read the git repository"), "{text}");
    assert!(!text.contains("tracked-secret") && !text.contains("rotate"), "{text}");
    assert_eq!(snapshot(temp.path()), before, "check wrote something");
    // With the repository readable too, it still writes nothing.
    for entry in walk(&dir.join(".git")) {
        set_mode(&entry, if entry.is_dir() { 0o755 } else { 0o644 });
    }
    let before = snapshot(temp.path());
    let output = run(&["check", "--json", dir.to_str().unwrap()]);
    let found = problems(&json(&output));
    assert!(!found.iter().any(|(kind, _)| kind == "tracked-secret"), "{found:?}");
    assert_eq!(snapshot(temp.path()), before, "check wrote something");
}
