//! The data directory, or a directory of its layout (`conversations/<id>/`, `tool_outputs/`,
//! `trajectories/…`), replaced by a symbolic link to a directory outside: writes under it are
//! refused with a typed error naming it, and nothing lands outside. The workspace above the
//! data directory may be a link.

use std::{fs, os::unix::fs::symlink, path::Path};

use dotdir::omicos::{Error, Flavor, GlobalHome, Workspace};
use serde_json::json;

use super::support::{login_of, serve_workspace};

fn assert_refused(result: Result<impl std::fmt::Debug, Error>, path: &Path) {
    match result {
        Err(Error::NotADirectory { path: refused }) => assert_eq!(refused, path),
        other => panic!("expected NotADirectory for {}, got {other:?}", path.display()),
    }
}

/// Replaces `path` (a directory) by a symbolic link to `target`.
fn plant(path: &Path, target: &Path) {
    if path.exists() {
        fs::remove_dir_all(path).unwrap();
    }
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    symlink(target, path).unwrap();
}

#[test]
fn a_symlinked_layout_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.login(&login_of("u-a")).unwrap();
    let _ = ws.create_conversation("c1", "First").unwrap();
    let _ = ws.new_turn().unwrap().append(&json!({"n": 1})).unwrap();

    let c1 = ws.conversation("c1").unwrap();
    plant(c1.dir(), &outside);
    assert_refused(ws.append_history("c1", &json!({"role": "user"})), c1.dir());
    assert_refused(ws.touch_conversation("c1", Some("x")), c1.dir());
    let c2 = ws.conversation("c2").unwrap();
    plant(c2.dir(), &outside);
    assert_refused(ws.create_conversation("c2", "Second"), c2.dir());
    let spool = ws.data_dir().join("tool_outputs");
    plant(&spool, &outside);
    assert_refused(ws.spool_tool_output("call-1", b"out"), &spool);
    let trajectories = ws.data_dir().join("trajectories");
    plant(&trajectories, &outside);
    assert_refused(ws.new_turn(), &trajectories);
    assert_refused(ws.advance_trajectory_sync("dev", "u-a/turn_00.jsonl", 1), &trajectories);
    let usage = ws.home().usage_dir();
    plant(&usage, &outside);
    assert_refused(ws.home().usage_log("s1"), &usage);
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "nothing written outside");

    // The data directory itself.
    let data_dir = ws.data_dir().to_path_buf();
    fs::rename(&data_dir, tmp.path().join("moved")).unwrap();
    symlink(tmp.path().join("moved"), &data_dir).unwrap();
    assert_refused(ws.logout(), &data_dir);
    assert_refused(ws.advance_conversation_sync("c1", 1), &data_dir);
}

#[test]
fn the_workspace_above_the_data_directory_may_be_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("disk/project");
    fs::create_dir_all(&real).unwrap();
    symlink(&real, tmp.path().join("project")).unwrap();
    let ws = Workspace::at(
        GlobalHome::at(tmp.path().join("home")),
        tmp.path().join("project/.omicos"),
        Flavor::Serve,
    );
    let _ = ws.create_conversation("c1", "First").unwrap();
    let _ = ws.append_history("c1", &json!({"role": "user"})).unwrap();
    assert!(real.join(".omicos/conversations/c1/history.jsonl").is_file());
}
