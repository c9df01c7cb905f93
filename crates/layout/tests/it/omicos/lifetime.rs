//! A scripted lifetime of a workspace: first start, login, turns and history, sync offsets,
//! an account switch to a second user and back, a SIGKILLed daemon and a restart.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use dotdir::{
    omicos::{HOME_LAYOUT, Owner, WORKSPACE_LAYOUT},
    pidlock::Previous,
};
use serde_json::json;

use super::support::{
    assert_conforms, child_arg, child_role, login_of, mode, serve_workspace, snapshot, spawn_child,
    walk,
};

const TEST: &str = "omicos::lifetime::scripted_lifetime_of_a_workspace";
const DAEMON_PORT: u16 = 40_002;

/// The daemon child: takes serve.pid, publishes its port, appends turns until it is killed.
fn daemon() {
    let tmp = PathBuf::from(child_arg("OMICOS_TEST_TMP"));
    let ws = serve_workspace(&tmp);
    let _guard = ws.acquire_serve_lock("omicos", DAEMON_PORT).unwrap();
    let turn = ws.new_turn().unwrap();
    std::fs::write(tmp.join("daemon-turn"), turn.relative()).unwrap();
    for seq in 0.. {
        let _ = turn.append(&json!({"owner": "u-a", "by": "daemon", "seq": seq})).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn records(ws: &dotdir::omicos::Workspace, relative: &str) -> usize {
    let log: dotdir::jsonl_log::Log<serde_json::Value> =
        dotdir::jsonl_log::Log::new(ws.trajectories_dir().join(relative));
    log.read().map(|s| s.records.len()).unwrap_or(0)
}

#[test]
fn scripted_lifetime_of_a_workspace() {
    if child_role().as_deref() == Some("daemon") {
        daemon();
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let me = std::process::id();

    // 1. First start, not logged in: the daemon lock, a new id, anonymous turns.
    let guard = ws.acquire_serve_lock("omicos", 40_001).unwrap();
    assert_eq!(std::fs::read_to_string(ws.serve_pid_path()).unwrap(), format!("{me}\n40001\n"));
    assert_eq!(ws.running_daemon().unwrap().map(|d| (d.pid, d.port)), Some((me, Some(40_001))));
    assert!(ws.acquire_serve_lock("omicos", 1).unwrap_err().is_held(), "one daemon per workspace");
    let first_id = ws.workspace_id().unwrap();
    let anon = ws.new_turn().unwrap();
    assert!(anon.relative().starts_with("anonymous/turn_"));
    for seq in 0..3 {
        let _ = anon.append(&json!({"owner": "anonymous", "seq": seq})).unwrap();
    }
    ws.log_sidecar_restart("first start").unwrap();

    // 2. `omicos login` as u-a writes the global copy, which the workspace falls back to; the
    //    workspace login then realigns it locally. The anonymous id is adopted by u-a.
    ws.home().write_cloud_login(&login_of("u-a")).unwrap();
    assert_eq!(ws.owner().unwrap(), Owner::Account("u-a".into()));
    let a = ws.login(&login_of("u-a")).unwrap();
    assert_eq!((a.previous_owner.as_deref(), &a.workspace_id), (Some("u-a"), &first_id));
    assert!(a.backups.is_empty());
    let id_a = a.workspace_id.clone();

    // 3. Turns, history and sync offsets for u-a.
    let _ = ws.create_conversation("conv-a", "a's analysis").unwrap();
    let turn_a = ws.new_turn().unwrap();
    assert!(turn_a.relative().starts_with("u-a/turn_"));
    for seq in 0..5 {
        let _ = ws
            .append_history("conv-a", &json!({"role": "user", "owner": "u-a", "seq": seq}))
            .unwrap();
        let _ = turn_a.append(&json!({"owner": "u-a", "seq": seq})).unwrap();
    }
    let owner_a = Owner::Account("u-a".into());
    let pending = ws.pending_trajectories("dev-1", &owner_a).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].from, pending[0].scan.records.len()), (0, 5));
    let offset = pending[0].scan.next_offset;
    assert_eq!(ws.advance_trajectory_sync("dev-1", turn_a.relative(), offset).unwrap(), offset);
    assert_eq!(ws.advance_conversation_sync("conv-a", 5).unwrap(), 5);
    assert_eq!(ws.advance_conversation_sync("conv-a", 2).unwrap(), 5, "marks never move back");
    for seq in 5..7 {
        let _ = turn_a.append(&json!({"owner": "u-a", "seq": seq})).unwrap();
    }
    let pending = ws.pending_trajectories("dev-1", &owner_a).unwrap();
    assert_eq!(pending[0].from, offset, "the upload resumes from the saved byte offset");
    let seqs: Vec<_> = pending[0].scan.records.iter().map(|r| r.value["seq"].clone()).collect();
    assert_eq!(seqs, [json!(5), json!(6)]);
    let _ = ws
        .advance_trajectory_sync("dev-1", turn_a.relative(), pending[0].scan.next_offset)
        .unwrap();
    // Another device has uploaded nothing yet.
    assert_eq!(ws.pending_trajectories("dev-2", &owner_a).unwrap()[0].scan.records.len(), 7);
    let _ = ws
        .usage_log("conv-a")
        .unwrap()
        .append(&json!({"input_tokens": 10, "output_tokens": 2}))
        .unwrap();
    let _ = ws.spool_tool_output("call_a1", &vec![b'x'; 20_000]).unwrap();

    // 4. Switch to u-b: a's id and login are moved aside, b gets its own id.
    let b = ws.login(&login_of("u-b")).unwrap();
    assert_eq!(b.previous_owner.as_deref(), Some("u-a"));
    let id_b = b.workspace_id.clone();
    assert_ne!(id_b, id_a);
    assert_eq!(ws.process_id().unwrap(), format!("local-{id_b}"));
    let _ = ws.create_conversation("conv-b", "b's analysis").unwrap();
    let turn_b = ws.new_turn().unwrap();
    assert!(turn_b.relative().starts_with("u-b/turn_"));
    for seq in 0..4 {
        let _ = ws
            .append_history("conv-b", &json!({"role": "user", "owner": "u-b", "seq": seq}))
            .unwrap();
        let end = turn_b.append(&json!({"owner": "u-b", "seq": seq})).unwrap();
        let _ = ws.advance_trajectory_sync("dev-1", turn_b.relative(), end).unwrap();
    }
    let owner_b = Owner::Account("u-b".into());
    assert!(ws.pending_trajectories("dev-1", &owner_b).unwrap().is_empty());
    assert_eq!(
        ws.conversation_sync_mark("conv-a").unwrap(),
        0,
        "b's cloud process has its own marks"
    );
    let _ = ws.advance_conversation_sync("conv-b", 4).unwrap();
    assert_eq!(ws.conversations_visible_to(&owner_b).unwrap(), ["conv-b"]);

    // 5. Back to u-a: the same id as before, a's credentials, a's marks.
    let back = ws.switch_account("u-a").unwrap();
    assert!(back.restored_id);
    assert_eq!(back.workspace_id, id_a);
    assert_eq!(ws.conversation_sync_mark("conv-a").unwrap(), 5);
    assert_eq!(ws.conversations_visible_to(&owner_a).unwrap(), ["conv-a"]);

    // 6. A clean exit removes serve.pid.
    drop(guard);
    assert!(!ws.serve_pid_path().exists());
    assert!(ws.running_daemon().unwrap().is_none());

    // 7. A daemon that is SIGKILLed while it appends.
    let mut child =
        spawn_child(TEST, "daemon", &[("OMICOS_TEST_TMP", tmp.path().display().to_string())]);
    let start = Instant::now();
    let daemon_turn = loop {
        assert!(start.elapsed() < Duration::from_secs(30), "the daemon never started");
        let published = ws.running_daemon().unwrap();
        if let (Some(d), Ok(turn)) =
            (published, std::fs::read_to_string(tmp.path().join("daemon-turn")))
            && records(&ws, &turn) >= 20
        {
            assert_eq!((d.pid, d.port), (child.id(), Some(DAEMON_PORT)), "a client finds the port");
            break turn;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait().unwrap();
    assert!(ws.serve_pid_path().exists(), "a SIGKILLed daemon leaves its record");
    assert!(ws.running_daemon().unwrap().is_none(), "but it is stale");

    // 8. The restart reclaims the stale lock; nothing the daemon appended is lost.
    let guard = ws.acquire_serve_lock("omicos", 40_003).unwrap();
    assert_eq!(guard.previous(), Previous::Dead(child.id()));
    assert_eq!(std::fs::read_to_string(ws.serve_pid_path()).unwrap(), format!("{me}\n40003\n"));
    ws.log_sidecar_restart("restarted after the daemon was killed").unwrap();
    assert_eq!(ws.workspace_id().unwrap(), id_a, "ids are stable across the crash");
    let pending = ws.pending_trajectories("dev-1", &owner_a).unwrap();
    assert_eq!(pending.len(), 1, "only the killed daemon's turn is new");
    assert_eq!(pending[0].relative, daemon_turn);
    let seqs: Vec<u64> =
        pending[0].scan.records.iter().map(|r| r.value["seq"].as_u64().unwrap()).collect();
    assert!(seqs.len() >= 20);
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "complete records, in order");
    let after = ws
        .turn(&owner_a, daemon_turn.trim_start_matches("u-a/turn_").trim_end_matches(".jsonl"))
        .unwrap();
    let end = after.append(&json!({"owner": "u-a", "by": "restarted", "seq": seqs.len()})).unwrap();
    let _ = ws.advance_trajectory_sync("dev-1", &daemon_turn, end).unwrap();
    assert!(ws.pending_trajectories("dev-1", &owner_a).unwrap().is_empty());

    // Afterwards: every file is where the seed says, with its declared mode.
    let data = ws.data_dir();
    let tree = walk(data);
    for expected in [
        "workspace_id",
        "workspace_id.u-b.bak",
        "serve.pid",
        "cloud_login.json",
        "cloud_login.json.u-b.bak",
        "account.json",
        "conversations.json",
        "conversation_sync.state.json",
        "conversations/conv-a/history.jsonl",
        "conversations/conv-a/meta.json",
        "conversations/conv-a/outputs",
        "conversations/conv-a/uploads",
        "conversations/conv-b/history.jsonl",
        "trajectories/.sync_state.json",
        "trajectories/anonymous",
        "trajectories/u-a",
        "trajectories/u-b",
        "usage/conv-a.jsonl",
        "tool_outputs",
        "sidecar-restart.log",
    ] {
        assert!(tree.contains_key(expected), "{expected} missing; tree: {:?}", tree.keys());
    }
    let files = assert_conforms(&WORKSPACE_LAYOUT, data);
    let _ = assert_conforms(&HOME_LAYOUT, ws.home().root());
    assert_eq!(mode(data), 0o700);
    assert_eq!(mode(&ws.cloud_login_path()), 0o600);
    assert_eq!(mode(&ws.cloud_login_backup_path("u-b").unwrap()), 0o600);
    assert_eq!(mode(&ws.account_path()), 0o600);
    assert_eq!(mode(&ws.home().cloud_login_path()), 0o600);

    // Ids are stable: a's id is in use, b's is kept for b.
    assert_eq!(std::fs::read_to_string(ws.workspace_id_path()).unwrap(), id_a.as_str());
    assert_eq!(std::fs::read_to_string(data.join("workspace_id.u-b.bak")).unwrap(), id_b.as_str());

    // Nothing of u-a under u-b, and each account's token only in its own credentials file.
    for (rel, bytes) in snapshot(data) {
        let text = String::from_utf8_lossy(&bytes);
        if rel.starts_with("trajectories/u-b/") || rel.starts_with("conversations/conv-b/") {
            assert!(!text.contains("u-a"), "{rel} holds u-a's data");
        }
        if rel.starts_with("trajectories/u-a/") || rel.starts_with("conversations/conv-a/") {
            assert!(!text.contains("u-b"), "{rel} holds u-b's data");
        }
        if text.contains("token-u-a") {
            assert_eq!(rel, "cloud_login.json");
        }
        if text.contains("token-u-b") {
            assert_eq!(rel, "cloud_login.json.u-b.bak");
        }
    }
    let sync = ws.trajectory_sync().read().unwrap().unwrap();
    assert!(sync["dev-1"].keys().all(|k| k.starts_with("u-a/") || k.starts_with("u-b/")));
    let marks = ws.conversation_sync().read().unwrap().unwrap();
    assert_eq!(marks[&format!("local-{id_b}")].keys().collect::<Vec<_>>(), ["conv-b"]);
    assert_eq!(marks[&format!("local-{id_a}")].keys().collect::<Vec<_>>(), ["conv-a"]);
    assert_eq!(ws.trajectory_files(&Owner::Anonymous).unwrap(), [anon.relative()]);

    drop(guard);
    assert!(!ws.serve_pid_path().exists());
    eprintln!("omicos lifetime: {files} paths conform, daemon killed after {} records", seqs.len());
}
