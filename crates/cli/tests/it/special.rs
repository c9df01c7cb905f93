//! Special files at every path a command reads: a FIFO is never opened for a blocking read, so
//! no command hangs; it is reported, never read.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{Env, demo_dirs};

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs `dotdir args…` and fails the test when it takes more than 20 s.
fn run_bounded(env: &Env, args: &[&str]) {
    let mut child = env
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("dotdir {args:?} hung for 20 s");
}

#[test]
fn no_command_hangs_on_a_fifo_at_any_path_it_reads() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let paths = [
        ".gitignore",
        ".git/dotdir-push.json",
        ".git/dotdir-pending-commits.json",
        "state/session_history.jsonl",
        "state/inquiries.json",
        "state/token.json",
        "state/bot.pid",
        "routines/fifo.md",
        "stray-fifo",
    ];
    for rel in paths {
        let [dir, _, _] = demo_dirs(&env, &temp.path().join(rel.replace('/', "_")));
        mkfifo(&dir.join(rel));
        let path = dir.to_str().unwrap();
        for args in [&["check", path][..], &["check", "--fix", path], &["inspect", path]] {
            run_bounded(&env, args);
        }
        let report = crate::json(&env.run(&["check", "--json", path]));
        if !rel.starts_with(".git") {
            assert!(
                crate::problems(&report).contains(&("special-file".to_owned(), rel.to_owned())),
                "{rel}: {report}"
            );
        }
        let archive = temp.path().join(format!("{}.tar.gz", rel.replace('/', "_")));
        run_bounded(&env, &["backup", path, "--out", archive.to_str().unwrap()]);
    }
}

#[test]
fn hostile_names_never_reach_the_terminal_raw() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    let hostile = "note\x1b[1A\x1b[2K\x1b[2J.md";
    std::fs::write(ollim.join(hostile), "x").unwrap();
    std::fs::write(ollim.join("routines").join("bell\x07\u{9b}2J.md"), "---\nid: [\n---\n")
        .unwrap();
    let path = ollim.to_str().unwrap();
    for args in [
        &["check", path][..],
        &["check", "--fix", path],
        &["inspect", path],
        &["backup", path, "--list"],
    ] {
        let output = env.run(args);
        for stream in [&output.stdout, &output.stderr] {
            assert!(
                !stream.iter().any(|&b| b == 0x1b || b == 0x07),
                "{args:?} printed a raw control character: {}",
                String::from_utf8_lossy(stream)
            );
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains('\u{9b}'), "{args:?} printed a raw C1 control");
        }
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("\\e[1A"),
            "{args:?} does not show the name escaped"
        );
    }
}

/// Sends SIGTERM to `child` once `started` says its work is under way, then waits for it.
fn terminate_once(
    mut child: std::process::Child,
    started: impl Fn() -> bool,
) -> std::process::Output {
    let waiting = Instant::now();
    while !started() {
        assert!(child.try_wait().unwrap().is_none(), "it finished before its work was seen");
        assert!(waiting.elapsed() < Duration::from_secs(60), "its work never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(20), "SIGTERM did not stop it");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn hidden_leftovers(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("dotdir-tmp") || n.contains("dotdir-restore"))
        .collect()
}

#[test]
fn sigterm_during_backup_or_restore_leaves_nothing_behind() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    // 96 MB that do not compress: seconds of work to interrupt.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..96 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::create_dir_all(ollim.join("downloads")).unwrap();
    std::fs::write(ollim.join("downloads/noise.bin"), &noise).unwrap();
    let outdir = temp.path().join("out");
    std::fs::create_dir_all(&outdir).unwrap();
    let archive = outdir.join("b.tar.gz");
    let args = ["backup", ollim.to_str().unwrap(), "--out", archive.to_str().unwrap()];
    let child = env.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let output = terminate_once(child, || !hidden_leftovers(&outdir).is_empty());
    assert_ne!(output.status.code(), Some(0), "the backup finished before the signal");
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
    assert!(!archive.exists());
    assert_eq!(hidden_leftovers(&outdir), Vec::<String>::new(), "a partial archive was left");

    // A whole archive, then a restore interrupted.
    let output = env.run(&args);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let target = temp.path().join("restored/.ollim-bot");
    let args = ["restore", archive.to_str().unwrap(), target.to_str().unwrap()];
    let child = env.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let parent = target.parent().unwrap().to_path_buf();
    let output = terminate_once(child, || !hidden_leftovers(&parent).is_empty());
    assert_ne!(output.status.code(), Some(0), "the restore finished before the signal");
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
    assert!(!target.exists());
    assert_eq!(hidden_leftovers(target.parent().unwrap()), Vec::<String>::new());
}
