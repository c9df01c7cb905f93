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
