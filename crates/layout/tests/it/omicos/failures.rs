//! Failures half-way through an operation (the cases `cargo xtask faults` found), made real
//! by planting an obstacle (a directory where a file is written) for one call: a failed create
//! can be repeated, and an account switch or id rotation never leaves the workspace without
//! `workspace_id` or `cloud_login.json`, and a repeated call completes it exactly.

use std::{fs, path::Path};

use dotdir::omicos::Error;

use super::support::{login_of, serve_workspace};

/// The backups in the data directory whose names start with `prefix`, sorted.
fn names(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".bak"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_create_can_be_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.create_conversation("c1", "First").unwrap();
    // An obstacle where meta.json goes: the create fails after making the directory.
    let c2 = ws.conversation("c2").unwrap();
    fs::create_dir_all(c2.meta_path()).unwrap();
    assert!(ws.create_conversation("c2", "Second").is_err());
    assert!(c2.dir().is_dir(), "the failed create left its directory");
    assert!(!ws.conversation_index().read().unwrap().unwrap().conversations.contains_key("c2"));
    fs::remove_dir(c2.meta_path()).unwrap();
    fs::write(c2.history_path(), "{\"role\": \"user\"}\n").unwrap();

    // Created again: completed, its files kept.
    let _ = ws.create_conversation("c2", "Second").unwrap();
    let meta = c2.meta().read().unwrap().unwrap();
    assert_eq!((meta.session_id.as_str(), meta.summary.title.as_str()), ("c2", "Second"));
    assert!(c2.outputs_dir().is_dir() && c2.uploads_dir().is_dir());
    assert_eq!(fs::read_to_string(c2.history_path()).unwrap(), "{\"role\": \"user\"}\n");
    let index = ws.conversation_index().read().unwrap().unwrap();
    assert_eq!(index.conversations.keys().collect::<Vec<_>>(), ["c1", "c2"]);
    assert_eq!(ws.conversation_index_drift().unwrap(), (vec![], vec![]));
    // A listed id is taken.
    let again = ws.create_conversation("c2", "Again").unwrap_err();
    assert!(matches!(again, Error::ConversationExists { .. }), "{again}");
    assert_eq!(c2.meta().read().unwrap().unwrap().summary.title, "Second");
}

#[test]
fn a_create_repeated_after_its_index_entry_landed_returns_the_conversation() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.login(&login_of("u-a")).unwrap();
    let created = ws.create_conversation("c1", "First").unwrap();
    let index = fs::read(ws.conversation_index_path()).unwrap();
    let meta = fs::read(created.meta_path()).unwrap();
    // The same create again (its first attempt reported an error syncing the directory after
    // the index was written): the conversation, nothing rewritten.
    assert_eq!(ws.create_conversation("c1", "First").unwrap(), created);
    assert_eq!(fs::read(ws.conversation_index_path()).unwrap(), index);
    assert_eq!(fs::read(created.meta_path()).unwrap(), meta);
    // Another title, or another account, is another conversation: the id is taken.
    assert!(matches!(ws.create_conversation("c1", "Other"), Err(Error::ConversationExists { .. })));
    let _ = ws.login(&login_of("u-b")).unwrap();
    assert!(matches!(ws.create_conversation("c1", "First"), Err(Error::ConversationExists { .. })));
}

#[test]
fn a_switch_failing_before_its_commit_point_keeps_every_file_and_completes_on_retry() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let a = ws.login(&login_of("u-a")).unwrap();
    // An obstacle where u-a's credentials backup goes: the switch fails after backing up the id.
    let obstacle = ws.cloud_login_backup_path("u-a").unwrap();
    fs::create_dir(&obstacle).unwrap();
    assert!(ws.login(&login_of("u-b")).is_err());
    // Nothing is missing: u-a's id and credentials are still in place.
    assert_eq!(ws.read_workspace_id().unwrap(), Some(a.workspace_id.clone()));
    assert_eq!(ws.credentials().unwrap().unwrap().login.user_id(), Some("u-a"));
    fs::remove_dir(&obstacle).unwrap();

    // The retry is exactly an uninterrupted switch: no extra backup, u-a's kept once.
    let b = ws.login(&login_of("u-b")).unwrap();
    assert_eq!(b.previous_owner.as_deref(), Some("u-a"));
    assert_ne!(b.workspace_id, a.workspace_id);
    assert_eq!(ws.read_workspace_id().unwrap(), Some(b.workspace_id.clone()));
    assert_eq!(ws.credentials().unwrap().unwrap().login.user_id(), Some("u-b"));
    assert_eq!(names(ws.data_dir(), "workspace_id."), ["workspace_id.u-a.bak"]);
    assert_eq!(names(ws.data_dir(), "cloud_login.json."), ["cloud_login.json.u-a.bak"]);
    assert_eq!(
        fs::read_to_string(ws.workspace_id_backup_path("u-a").unwrap()).unwrap(),
        a.workspace_id.as_str()
    );
    // And u-a comes back to its own id.
    assert_eq!(ws.switch_account("u-a").unwrap().workspace_id, a.workspace_id);
}

/// What a switch from u-a to u-b stopped after its commit point (`account.json` names u-b)
/// leaves: u-a's id still in place and kept as u-a's backup.
fn stopped_after_commit_point(ws: &dotdir::omicos::Workspace) -> dotdir::omicos::WorkspaceId {
    let a = ws.login(&login_of("u-a")).unwrap().workspace_id;
    fs::copy(ws.workspace_id_path(), ws.workspace_id_backup_path("u-a").unwrap()).unwrap();
    fs::copy(ws.cloud_login_path(), ws.cloud_login_backup_path("u-a").unwrap()).unwrap();
    let _ = ws.cloud_login().write(&login_of("u-b")).unwrap();
    ws.account().update(|account| account.user_id = Some("u-b".to_owned())).unwrap();
    a
}

#[test]
fn a_switch_stopped_after_its_commit_point_never_hands_the_old_id_over() {
    for next in ["login u-b", "reader", "login u-c", "rotate", "logout"] {
        let tmp = tempfile::tempdir().unwrap();
        let ws = serve_workspace(tmp.path());
        let a = stopped_after_commit_point(&ws);
        // The next actor, whoever it is, completes the switch before doing its own work.
        match next {
            "login u-b" => drop(ws.login(&login_of("u-b")).unwrap()),
            "reader" => drop(ws.workspace_id().unwrap()),
            "login u-c" => drop(ws.login(&login_of("u-c")).unwrap()),
            "rotate" => drop(ws.rotate_workspace_id().unwrap()),
            _ => drop(ws.logout().unwrap()),
        }
        // u-a keeps its id; u-b has one of its own, which it keeps; no two accounts share one.
        let b = ws.login(&login_of("u-b")).unwrap().workspace_id;
        assert_ne!(b, a, "{next}: u-b was handed u-a's id");
        assert_eq!(ws.login(&login_of("u-a")).unwrap().workspace_id, a, "{next}");
        assert_eq!(ws.login(&login_of("u-b")).unwrap().workspace_id, b, "{next}");
        let c = ws.login(&login_of("u-c")).unwrap().workspace_id;
        assert!(c != a && c != b, "{next}: u-c shares an id");
        assert_eq!(ws.switch_account("u-a").unwrap().workspace_id, a, "{next}");
    }
}

#[test]
fn a_rotation_interrupted_after_its_backup_completes_without_a_second_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.login(&login_of("u-a")).unwrap();
    let first = ws.workspace_id().unwrap();
    // What a rotation stopped after its create-only backup leaves: the id and its copy.
    let history = ws.data_dir().join("workspace_id.u-a.1700000000000.bak");
    fs::copy(ws.workspace_id_path(), &history).unwrap();
    let second = ws.rotate_workspace_id().unwrap();
    assert_ne!(second, first);
    assert_eq!(ws.read_workspace_id().unwrap(), Some(second.clone()));
    assert_eq!(names(ws.data_dir(), "workspace_id."), ["workspace_id.u-a.1700000000000.bak"]);
    // The rotated id is u-a's from now on: a switch away and back restores it.
    let _ = ws.login(&login_of("u-b")).unwrap();
    assert_eq!(ws.login(&login_of("u-a")).unwrap().workspace_id, second);
}
