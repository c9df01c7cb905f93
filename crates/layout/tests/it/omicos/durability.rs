//! A workspace's durability reaches every write: with `Durability::None` a login, a
//! conversation, a history append and a turn log make no `fsync`; with the default they do.

use std::process::Command;

use dotdir::atomic_store::Durability;
use serde_json::json;

use super::support::{child_role, login_of, serve_workspace};

const TEST: &str = "omicos::durability::the_workspace_durability_reaches_every_write";

/// The workspace work, run in a child under `strace`.
fn work(durability: Durability) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path()).with_durability(durability);
    assert_eq!(ws.home().durability(), durability);
    let _ = ws.login(&login_of("u-a")).unwrap();
    let _ = ws.create_conversation("conv-1", "a title").unwrap();
    let _ = ws.history("conv-1").unwrap().append(&json!({"role": "user"})).unwrap();
    let turn = ws.new_turn().unwrap();
    let _ = turn.append(&json!({"step": 1})).unwrap();
    let _ = ws.rotate_workspace_id().unwrap();
    let _ = ws.logout().unwrap();
}

/// The `fsync`/`fdatasync` calls of one child run.
fn syncs(role: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(dotdir_test_support::CHILD_ROLE, role)
        .status()
        .expect("strace runs (.ci/run installs it)");
    assert!(status.success(), "the {role} child failed");
    let text = std::fs::read_to_string(&trace).unwrap();
    text.lines().filter(|l| l.contains("fsync(") || l.contains("fdatasync(")).count()
}

#[test]
fn the_workspace_durability_reaches_every_write() {
    match child_role().as_deref() {
        Some("none") => return work(Durability::None),
        Some("full") => return work(Durability::Full),
        _ => {}
    }
    let (none, full) = (syncs("none"), syncs("full"));
    assert_eq!(none, 0, "Durability::None synced {none} times");
    assert!(full > 10, "the default synced only {full} times");
}
