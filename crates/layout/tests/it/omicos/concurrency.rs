//! Four processes appending turns and history and creating conversations at once.

use std::{
    collections::BTreeSet,
    path::PathBuf,
    time::{Duration, Instant},
};

use dotdir::omicos::{Owner, WORKSPACE_LAYOUT};
use serde_json::{Value, json};

use super::support::{
    assert_conforms, child_arg, child_role, login_of, scale, serve_workspace, spawn_child,
    wait_for, wait_ok,
};

const TEST: &str = "omicos::concurrency::four_processes_append_and_create_at_once";
const PROCS: usize = 4;

fn turns() -> usize {
    100 * scale()
}

fn child(k: usize) {
    let tmp = PathBuf::from(child_arg("OMICOS_TEST_TMP"));
    wait_for(&tmp.join("go"), Duration::from_secs(30));
    let ws = serve_workspace(&tmp);
    let turn = ws.new_turn().unwrap();
    let mut mine = None;
    for i in 0..turns() {
        if i % 10 == 0 {
            let id = format!("p{k}-c{i}");
            let _ = ws.create_conversation(&id, &format!("conversation {i} of {k}")).unwrap();
            mine = Some(id);
        }
        let record = json!({"role": "user", "proc": k, "seq": i});
        let _ = ws.append_history("shared", &record).unwrap();
        let _ = ws.append_history(mine.as_deref().unwrap(), &record).unwrap();
        let _ = turn.append(&json!({"type": "tool_call", "proc": k, "seq": i})).unwrap();
        if i % 15 == 0 {
            ws.touch_conversation("shared", None).unwrap();
        }
    }
    println!("RESULT={}", turn.relative());
}

#[test]
fn four_processes_append_and_create_at_once() {
    if let Some(role) = child_role() {
        if let Some(k) = role.strip_prefix("appender-") {
            child(k.parse().unwrap());
        }
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.login(&login_of("u-a")).unwrap();
    let _ = ws.create_conversation("shared", "shared").unwrap();
    let children: Vec<_> = (0..PROCS)
        .map(|k| {
            spawn_child(
                TEST,
                &format!("appender-{k}"),
                &[("OMICOS_TEST_TMP", tmp.path().display().to_string())],
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    let start = Instant::now();
    std::fs::write(tmp.path().join("go"), b"").unwrap();
    let turn_files: BTreeSet<String> =
        children.into_iter().map(|c| super::support::result_of(&wait_ok(c))).collect();
    let elapsed = start.elapsed();

    // The index lists every conversation, and every one is on disk.
    let index = ws.conversation_index().read().unwrap().unwrap();
    let per_proc = turns().div_ceil(10);
    assert_eq!(index.conversations.len(), 1 + PROCS * per_proc);
    for k in 0..PROCS {
        for c in 0..per_proc {
            let id = format!("p{k}-c{}", c * 10);
            assert!(index.conversations.contains_key(&id), "{id} missing from the index");
            let meta = ws.conversation(&id).unwrap().meta().read().unwrap().unwrap();
            assert_eq!(meta.summary.owner_id.as_deref(), Some("u-a"));
            // Each conversation got exactly its ten records.
            let history = ws.history(&id).unwrap().read_strict().unwrap().values();
            let seqs: Vec<u64> = history.iter().map(|v| v["seq"].as_u64().unwrap()).collect();
            let expected: Vec<u64> =
                (c * 10..(c * 10 + 10).min(turns())).map(|s| s as u64).collect();
            assert_eq!(seqs, expected, "{id}");
        }
    }
    assert_eq!(ws.conversation_index_drift().unwrap(), (vec![], vec![]));

    // No history line lost, none torn, each writer's order kept.
    let shared: Vec<Value> = ws.history("shared").unwrap().read_strict().unwrap().values();
    assert_eq!(shared.len(), PROCS * turns());
    for k in 0..PROCS {
        let seqs: Vec<u64> =
            shared.iter().filter(|v| v["proc"] == k).map(|v| v["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (0..turns() as u64).collect::<Vec<_>>(), "proc {k}");
    }
    // One turn file per process, all under the account, all complete.
    assert_eq!(turn_files.len(), PROCS);
    assert_eq!(
        ws.trajectory_files(&Owner::Account("u-a".into()))
            .unwrap()
            .into_iter()
            .collect::<BTreeSet<_>>(),
        turn_files
    );
    let pending = ws.pending_trajectories("dev-1", &Owner::Account("u-a".into())).unwrap();
    assert_eq!(pending.iter().map(|p| p.scan.records.len()).sum::<usize>(), PROCS * turns());
    let _ = assert_conforms(&WORKSPACE_LAYOUT, ws.data_dir());
    let lines = PROCS * turns() * 3;
    let creates = PROCS * per_proc;
    eprintln!(
        "omicos concurrency: {PROCS} procs x {} turns: {lines} lines appended, {creates} conversations created, 0 lost, in {elapsed:?}",
        turns()
    );
}
