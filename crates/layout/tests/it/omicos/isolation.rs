//! The serve and cli data directories of one workspace share nothing.

use dotdir::omicos::{Flavor, Owner, WORKSPACE_LAYOUT};
use serde_json::json;

use super::support::{assert_conforms, login_of, snapshot, workspace};

fn exercise(ws: &dotdir::omicos::Workspace, user: &str) {
    let _ = ws.login(&login_of(user)).unwrap();
    let _ = ws.create_conversation("c1", "same id in both").unwrap();
    let _ = ws.append_history("c1", &json!({"role": "user", "content": user})).unwrap();
    let turn = ws.new_turn().unwrap();
    let end = turn.append(&json!({"by": user})).unwrap();
    let _ = ws.advance_trajectory_sync("dev-1", turn.relative(), end).unwrap();
    let _ = ws.advance_conversation_sync("c1", 1).unwrap();
    let _ = ws.usage_log("s1").unwrap().append(&json!({"total_tokens": 3})).unwrap();
    let _ = ws.spool_tool_output("call_1", user.as_bytes()).unwrap();
}

#[test]
fn serve_and_cli_share_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let serve = workspace(tmp.path(), Flavor::Serve);
    let cli = workspace(tmp.path(), Flavor::Cli);
    assert_eq!(cli.data_dir(), serve.data_dir().join("cli"));

    exercise(&serve, "u-serve");
    let serve_before = snapshot(serve.data_dir());
    exercise(&cli, "u-cli");
    let cli_files = snapshot(cli.data_dir());

    // cli's work changed nothing of serve's (outside cli/), and holds none of serve's data.
    let serve_after: std::collections::BTreeMap<_, _> = snapshot(serve.data_dir())
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("cli/"))
        .collect();
    assert_eq!(serve_after, serve_before);
    for (rel, bytes) in &cli_files {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("u-serve"), "cli/{rel} mentions the serve account");
    }
    for (rel, bytes) in &serve_before {
        assert!(
            !String::from_utf8_lossy(bytes).contains("u-cli"),
            "{rel} mentions the cli account"
        );
    }
    assert_ne!(serve.workspace_id().unwrap(), cli.workspace_id().unwrap());
    // The same conversation id names two different conversations.
    let h =
        |ws: &dotdir::omicos::Workspace| ws.history("c1").unwrap().read_strict().unwrap().values();
    assert_eq!(h(&serve), [json!({"role": "user", "content": "u-serve"})]);
    assert_eq!(h(&cli), [json!({"role": "user", "content": "u-cli"})]);
    assert!(serve.trajectory_files(&Owner::Account("u-cli".into())).unwrap().is_empty());
    assert!(cli.trajectory_files(&Owner::Account("u-serve".into())).unwrap().is_empty());

    // Both can hold their own daemon lock at once.
    let serve_guard = serve.acquire_serve_lock("omicos", 8765).unwrap();
    let cli_guard = cli.acquire_serve_lock("omicos", 8766).unwrap();
    assert_eq!(serve.running_daemon().unwrap().and_then(|d| d.port), Some(8765));
    assert_eq!(cli.running_daemon().unwrap().and_then(|d| d.port), Some(8766));
    drop((serve_guard, cli_guard));

    // Everything is declared: cli's files as cli/… entries of the one workspace layout.
    let n = assert_conforms(&WORKSPACE_LAYOUT, serve.data_dir());
    assert!(n > 30, "{n}");
}
