//! workspace_id: created once, agreed on by racing processes, stable across moves, invalid
//! content reported and never replaced.

use std::{path::PathBuf, time::Duration};

use dotdir::omicos::{Error, Flavor, GlobalHome, Workspace};

use super::support::{
    child_arg, child_role, result_of, serve_workspace, spawn_child, wait_for, wait_ok,
};

const RACE_TEST: &str = "omicos::workspace_id::racing_processes_agree_on_one_id";

#[test]
fn racing_processes_agree_on_one_id() {
    if child_role().as_deref() == Some("race-id") {
        let data_dir = PathBuf::from(child_arg("OMICOS_TEST_DATA_DIR"));
        wait_for(&PathBuf::from(child_arg("OMICOS_TEST_GO")), Duration::from_secs(30));
        let ws =
            Workspace::at(GlobalHome::at(data_dir.join("unused-home")), &data_dir, Flavor::Serve);
        println!("RESULT={}", ws.workspace_id().unwrap());
        return;
    }
    for round in 0..3 {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("ws/.omicos");
        let go = tmp.path().join("go");
        let children: Vec<_> = (0..4)
            .map(|_| {
                spawn_child(
                    RACE_TEST,
                    "race-id",
                    &[
                        ("OMICOS_TEST_DATA_DIR", data_dir.display().to_string()),
                        ("OMICOS_TEST_GO", go.display().to_string()),
                    ],
                )
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150));
        std::fs::write(&go, b"").unwrap();
        let ids: Vec<String> = children.into_iter().map(|c| result_of(&wait_ok(c))).collect();
        let on_disk = std::fs::read_to_string(data_dir.join("workspace_id")).unwrap();
        assert_eq!(on_disk.len(), 32, "round {round}");
        assert!(ids.iter().all(|id| *id == on_disk), "round {round}: {ids:?} vs {on_disk}");
    }
}

#[test]
fn created_once_and_stable_when_the_directory_moves() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    assert_eq!(ws.read_workspace_id().unwrap(), None);
    let id = ws.workspace_id().unwrap();
    assert_eq!(id.as_str().len(), 32);
    assert!(id.as_str().bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(ws.process_id().unwrap(), format!("local-{id}"));
    assert_eq!(ws.workspace_id().unwrap(), id, "created once");

    let moved = tmp.path().join("elsewhere");
    std::fs::rename(tmp.path().join("ws"), &moved).unwrap();
    let ws2 = Workspace::at(ws.home().clone(), moved.join(".omicos"), Flavor::Serve);
    assert_eq!(ws2.workspace_id().unwrap(), id, "stable across a move");
}

#[test]
fn invalid_content_is_reported_never_replaced() {
    for bad in [
        &b"not-a-hex-id"[..],
        b"0123456789ABCDEF0123456789ABCDEF",
        b"",
        b"01234567-89ab-cdef-0123-456789abcdef",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let ws = serve_workspace(tmp.path());
        ws.ensure().unwrap();
        std::fs::write(ws.workspace_id_path(), bad).unwrap();
        let err = ws.workspace_id().unwrap_err();
        assert!(matches!(err, Error::BadWorkspaceId { .. }), "{err}");
        assert!(err.to_string().contains("workspace_id"), "{err}");
        assert_eq!(std::fs::read(ws.workspace_id_path()).unwrap(), bad, "never replaced");
        assert!(ws.process_id().is_err());
    }
}

#[test]
fn a_trailing_newline_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    ws.ensure().unwrap();
    std::fs::write(ws.workspace_id_path(), "00112233445566778899aabbccddeeff\n").unwrap();
    assert_eq!(ws.workspace_id().unwrap().as_str(), "00112233445566778899aabbccddeeff");
}
