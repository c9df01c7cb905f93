//! `extend-ollim DIR`: the token is `0600` and in no git object, the routine is committed, and a
//! second run over the same directory works the same.

#![allow(clippy::unwrap_used, reason = "tests unwrap")]

use std::{fs, os::unix::fs::PermissionsExt, path::Path, process::Command};

use dotdir_test_support::git;

const CANARY: &str = "extend-canary-7f3a";

/// Runs the binary on `dir` under `umask` (a permissive one must not make the token readable).
fn run(dir: &Path, umask: &str) {
    let output = Command::new("sh")
        .args(["-c", "umask \"$1\" && exec \"$2\" \"$3\"", "sh", umask])
        .arg(env!("CARGO_BIN_EXE_extend-ollim"))
        .arg(dir)
        .env("EXTEND_CANARY", CANARY)
        .env("OLLIM_TIMEZONE", "UTC")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_token_stays_private_and_out_of_git_and_the_routine_is_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(".ollim-bot");
    for round in 0..2 {
        run(&root, if round == 0 { "022" } else { "000" });
        let token = root.join("plugins/slack.json");
        assert!(fs::read_to_string(&token).unwrap().contains(CANARY));
        assert_eq!(fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
        let tracked = git(&root, &["ls-files"]);
        assert!(!tracked.contains("plugins/"), "round {round}: {tracked}");
        let routines = tracked.lines().filter(|l| l.starts_with("routines/")).count();
        assert_eq!(routines, round + 1, "round {round}: {tracked}");
        assert_eq!(git(&root, &["status", "--porcelain", "routines"]), "", "committed");
        let objects = Command::new("git")
            .args(["cat-file", "--batch-all-objects", "--batch"])
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(!String::from_utf8_lossy(&objects.stdout).contains(CANARY), "round {round}");
        assert!(
            Command::new("git")
                .args(["check-ignore", "-q", "plugins/slack.json"])
                .current_dir(&root)
                .status()
                .unwrap()
                .success(),
            "git itself ignores the token"
        );
    }
}

#[test]
fn without_a_token_it_says_how_to_run_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_extend-ollim")).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("EXTEND_CANARY"));
}
