//! State files in isolation: config rules and migration, the pending-updates cap, sessions.

use dotdir::ollim::{
    DataDir, Error, MAX_PENDING_UPDATES, RuntimeConfig, SessionEventKind, data_dir_from,
};
use std::{ffi::OsStr, fs};

use super::{clock_at, open};

fn fresh() -> (tempfile::TempDir, DataDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dd = open(&tmp.path().join("d"), &clock_at("2026-11-21T14:00:00-08:00"), false);
    (tmp, dd)
}

#[test]
fn data_dir_resolution_rules() {
    let home = Some(OsStr::new("/home/u"));
    let check = |value: Option<&str>, home: Option<&OsStr>| {
        data_dir_from(value.map(OsStr::new), home).map(|p| p.display().to_string())
    };
    assert_eq!(check(None, home).unwrap(), "/home/u/.ollim-bot");
    assert_eq!(check(Some("/srv/bot2"), home).unwrap(), "/srv/bot2");
    assert_eq!(check(Some("~/.ollim-bot-2"), home).unwrap(), "/home/u/.ollim-bot-2");
    for bad in ["", "  ", "relative/dir", "./x", "~user/x"] {
        let err = check(Some(bad), home).unwrap_err();
        assert!(
            matches!(err, Error::DataDir { source_name: "OLLIM_DATA_DIR", .. }),
            "{bad}: {err}"
        );
    }
    assert!(check(Some("relative"), home).unwrap_err().to_string().contains("absolute path"));
    assert!(check(Some(""), home).unwrap_err().to_string().contains("empty"));
    assert!(matches!(check(None, None), Err(Error::DataDir { source_name: "HOME", .. })));
    assert!(matches!(check(None, Some(OsStr::new("rel"))), Err(Error::DataDir { .. })));
}

#[test]
fn open_creates_the_directory_and_state_0700() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, dd) = fresh();
    for dir in [dd.root().to_path_buf(), dd.state_dir()] {
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    }
    assert!(DataDir::open("relative", dotdir::ollim::Options::new()).is_err());
}

#[test]
fn config_set_value_rules_and_file_bytes() {
    let (_tmp, dd) = fresh();
    // Missing file: defaults, nothing written.
    assert_eq!(dd.config().unwrap(), RuntimeConfig::default());
    assert!(!dd.state_dir().join("config.json").exists());
    dd.set_config("model_main", "Opus").unwrap();
    assert_eq!(
        fs::read_to_string(dd.state_dir().join("config.json")).unwrap(),
        r#"{"model_main": "opus", "model_fork": null, "thinking_main": "off", "thinking_fork": "adaptive", "bg_fork_timeout": 1800, "fork_idle_timeout": 10, "permission_mode": "dontAsk", "auto_update": false, "auto_update_interval": 60, "auto_update_hour": 6}"#
    );
    let refused = |key: &str, raw: &str| match dd.set_config(key, raw) {
        Err(Error::Refused { reason, .. }) => reason,
        other => panic!("{key}={raw}: {other:?}"),
    };
    assert_eq!(refused("model_main", "gpt"), "must be one of: haiku, opus, sonnet");
    assert_eq!(refused("nope", "1"), "unknown key: nope");
    assert_eq!(refused("bg_fork_timeout", "+5"), "must be a positive integer");
    assert_eq!(refused("bg_fork_timeout", "0"), "must be a positive integer");
    assert_eq!(refused("bg_fork_timeout", "\u{663}"), "must be a positive integer");
    assert_eq!(refused("auto_update", "maybe"), "must be on/off");
    assert_eq!(refused("auto_update_hour", "24"), "must be an integer 0-23");
    assert_eq!(
        refused("permission_mode", "dontask"),
        "must be one of: dontAsk, default, acceptEdits, bypassPermissions"
    );
    assert_eq!(dd.set_config("thinking_main", " 08000 ").unwrap().thinking_main, "08000");
    assert_eq!(dd.set_config("model_main", "default").unwrap().model_main, None);
    assert!(dd.set_config("auto_update", "YES").unwrap().auto_update);
    assert_eq!(dd.set_config("auto_update_hour", "0").unwrap().auto_update_hour, 0);
    assert_eq!(
        dd.set_config("permission_mode", " acceptEdits ").unwrap().permission_mode,
        "acceptEdits"
    );
}

#[test]
fn config_legacy_booleans_migrate_and_unknown_keys_are_ignored() {
    let (_tmp, dd) = fresh();
    fs::write(
        dd.state_dir().join("config.json"),
        r#"{"thinking_main": true, "thinking_fork": false, "future_key": 1, "model_fork": "haiku"}"#,
    )
    .unwrap();
    let config = dd.config().unwrap();
    assert_eq!(config.thinking_main, "adaptive");
    assert_eq!(config.thinking_fork, "off");
    assert_eq!(config.model_fork.as_deref(), Some("haiku"));
    assert_eq!(config.bg_fork_timeout, 1800);
    // A wrong type is an error naming the file, not a silent default.
    fs::write(dd.state_dir().join("config.json"), r#"{"bg_fork_timeout": "soon"}"#).unwrap();
    let err = dd.config().unwrap_err();
    assert!(err.to_string().contains("config.json"), "{err}");
    // The layout's validator reports out-of-range values.
    let entry = dotdir::ollim::LAYOUT.entry_for("state/config.json").unwrap();
    let check = entry.validator.unwrap().check;
    assert!(check(br#"{"auto_update_hour": 30}"#).unwrap_err().reason.contains("auto_update_hour"));
    assert!(check(br#"{"model_main": "opus"}"#).is_ok());
}

#[test]
fn pending_updates_cap_with_sentinel_and_no_undercount() {
    let (_tmp, dd) = fresh();
    for i in 1..=11 {
        dd.append_update(&format!("u{i}")).unwrap();
    }
    let list = dd.peek_updates().unwrap();
    assert_eq!(list.len(), MAX_PENDING_UPDATES);
    assert_eq!(list[0].message, "(2 earlier update(s) omitted \u{2014} cap reached)");
    assert_eq!(list[1].message, "u3");
    assert_eq!(list[9].message, "u11");
    // The file spells the dash as Python does.
    let text = fs::read_to_string(dd.state_dir().join("pending_updates.json")).unwrap();
    assert!(text.starts_with(r#"[{"ts": "2026-11-21T14:00:00-08:00", "message": "(2 earlier update(s) omitted \u2014 cap reached)"}"#), "{text}");
    // One more: the reference would say 2 (dropping its own sentinel); the truth is 3.
    dd.append_update("u12").unwrap();
    let list = dd.peek_updates().unwrap();
    assert_eq!(list[0].omitted(), Some(3));
    assert_eq!(list.last().unwrap().message, "u12");
    // Pop takes everything and removes the file.
    assert_eq!(dd.pop_updates().unwrap().len(), 10);
    assert!(!dd.state_dir().join("pending_updates.json").exists());
    assert_eq!(dd.pop_updates().unwrap(), vec![]);
}

#[test]
fn pending_updates_from_many_processes_are_never_lost() {
    // Several processes append concurrently: every update is counted (in the list or in the
    // sentinel), which the reference's in-process asyncio.Lock cannot promise.
    const ROLE: &str = "DOTDIR_OLLIM_CHILD";
    if let Ok(dir) = std::env::var(ROLE) {
        let dd = open(std::path::Path::new(&dir), &clock_at("2026-11-21T14:00:00-08:00"), false);
        for i in 0..20 {
            dd.append_update(&format!("{}-{i}", std::process::id())).unwrap();
        }
        return;
    }
    let (_tmp, dd) = fresh();
    run_children("ollim::state::pending_updates_from_many_processes_are_never_lost", ROLE, &dd, 4);
    let list = dd.peek_updates().unwrap();
    let counted: usize = list.iter().map(|u| u.omitted().unwrap_or(1)).sum();
    assert_eq!(counted, 4 * 20);
}

#[test]
fn session_ids_log_created_compacted_and_respect_the_swap_flag() {
    let (_tmp, dd) = fresh();
    dd.save_session_id("sess-aaaaaaaaaa").unwrap();
    dd.save_session_id("sess-aaaaaaaaaa").unwrap();
    dd.save_session_id("sess-bbbbbbbbbb").unwrap();
    dd.set_swap_in_progress(true);
    dd.save_session_id("sess-cccccccccc").unwrap();
    dd.log_session_event(SessionEventKind::Swapped, "sess-cccccccccc", Some("sess-bbbbbbbbbb"))
        .unwrap();
    dd.set_swap_in_progress(false);
    assert_eq!(
        fs::read_to_string(dd.state_dir().join("sessions.json")).unwrap(),
        "sess-cccccccccc"
    );
    let events: Vec<_> = dd
        .session_history()
        .unwrap()
        .events
        .into_iter()
        .map(|e| (e.event, e.session_id, e.parent_session_id))
        .collect();
    assert_eq!(
        events,
        vec![
            (SessionEventKind::Created, "sess-aaaaaaaaaa".into(), None),
            (SessionEventKind::Compacted, "sess-bbbbbbbbbb".into(), Some("sess-aaaaaaaaaa".into())),
            (SessionEventKind::Swapped, "sess-cccccccccc".into(), Some("sess-bbbbbbbbbb".into())),
        ]
    );
    assert_eq!(
        fs::read_to_string(dd.state_dir().join("session_history.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
        r#"{"session_id": "sess-aaaaaaaaaa", "event": "created", "timestamp": "2026-11-21T14:00:00-08:00", "parent_session_id": null}"#
    );
    // The legacy JSON form counts as no session: the next save logs `created`.
    fs::write(dd.state_dir().join("sessions.json"), r#"{"legacy": 1}"#).unwrap();
    assert_eq!(dd.session_id().unwrap(), None);
    dd.delete_session_id().unwrap();
    dd.delete_session_id().unwrap();
    assert!(dd.save_session_id("two\nlines").is_err());
}

#[test]
fn inquiry_register_pop_and_8_hex_keys() {
    let (_tmp, dd) = fresh();
    let a = dd.register_inquiry("agent:Summarize?").unwrap();
    let b = dd.register_inquiry("agent:Plan \u{2014} caf\u{e9}").unwrap();
    assert!(dotdir::ollim::is_inquiry_key(&a) && dotdir::ollim::is_inquiry_key(&b));
    assert_ne!(a, b);
    let text = fs::read_to_string(dd.state_dir().join("inquiries.json")).unwrap();
    assert!(text.contains(r#"\u2014 caf\u00e9"#), "{text}");
    assert_eq!(dd.pop_inquiry(&a).unwrap().as_deref(), Some("agent:Summarize?"));
    assert_eq!(dd.pop_inquiry(&a).unwrap(), None);
    assert_eq!(dd.inquiries().unwrap().len(), 1);
}

#[test]
fn secrets_are_0600() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, dd) = fresh();
    dd.write_secret("token.json", br#"{"refresh_token": "r"}"#).unwrap();
    let mode = fs::metadata(dd.state_dir().join("token.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(dd.write_secret("config.json", b"{}").is_err());
    assert_eq!(dd.read_secret("token.json").unwrap().unwrap(), br#"{"refresh_token": "r"}"#);
}

#[test]
fn corrupt_ephemeral_state_is_moved_aside_and_the_feature_recovers() {
    let (_tmp, dd) = fresh();
    let state = dd.state_dir();
    for name in ["inquiries.json", "fork_messages.json", "pending_updates.json"] {
        fs::write(state.join(name), b"{\"torn").unwrap();
    }
    // Reads say what is wrong (a typed error naming the file) …
    let err = dd.inquiries().unwrap_err();
    assert!(err.to_string().contains("inquiries.json"), "{err}");
    // … and the next write starts afresh, keeping the corrupt bytes for a person.
    let key = dd.register_inquiry("agent:again").unwrap();
    assert_eq!(dd.peek_inquiry(&key).unwrap().as_deref(), Some("agent:again"));
    dd.record_fork_messages(&[7], "fork", None).unwrap();
    dd.append_update("hello").unwrap();
    for name in ["inquiries.json", "fork_messages.json", "pending_updates.json"] {
        assert_eq!(fs::read(state.join(format!("{name}.corrupt"))).unwrap(), b"{\"torn");
        let entry = dotdir::ollim::LAYOUT.entry_for(&format!("state/{name}.corrupt")).unwrap();
        assert_eq!(entry.git, dotdir::Git::Excluded);
    }
    assert_eq!(dd.fork_messages().unwrap().len(), 1);
    assert_eq!(dd.peek_updates().unwrap().len(), 1);
    // A second corruption is quarantined beside the first, which is never replaced.
    fs::write(state.join("inquiries.json"), b"{\"torn again").unwrap();
    let _ = dd.register_inquiry("agent:third").unwrap();
    assert_eq!(fs::read(state.join("inquiries.json.corrupt")).unwrap(), b"{\"torn");
    assert_eq!(fs::read(state.join("inquiries.json.1.corrupt")).unwrap(), b"{\"torn again");
    assert!(dotdir::ollim::LAYOUT.entry_for("state/inquiries.json.1.corrupt").is_some());
    // The config is the user's: a corrupt one is an error, never reset.
    fs::write(state.join("config.json"), b"{").unwrap();
    assert!(dd.set_config("model_main", "opus").is_err());
    assert_eq!(fs::read(state.join("config.json")).unwrap(), b"{");
}

#[test]
fn session_events_from_many_processes_never_fail_and_all_are_committed() {
    // Eight processes log events while the others' appends grow the file the journal stages:
    // no spurious error (a caller's retry would duplicate the event), every event committed.
    // `DOTDIR_SCALE=6` gives the 8 × 150 of the reliability table.
    const ROLE: &str = "DOTDIR_OLLIM_EVENTS_CHILD";
    let per_child =
        25 * std::env::var("DOTDIR_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1usize);
    if let Ok(dir) = std::env::var(ROLE) {
        let dd = open(std::path::Path::new(&dir), &clock_at("2026-11-21T14:00:00-08:00"), true);
        for i in 0..per_child {
            let id = format!("sess-{}-{i}", std::process::id());
            dd.log_session_event(SessionEventKind::Created, &id, None).unwrap();
        }
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dd = open(&tmp.path().join("d"), &clock_at("2026-11-21T14:00:00-08:00"), true);
    run_children(
        "ollim::state::session_events_from_many_processes_never_fail_and_all_are_committed",
        ROLE,
        &dd,
        8,
    );
    let history = dd.session_history().unwrap();
    assert!(history.problems.is_empty(), "{:?}", history.problems);
    assert_eq!(history.events.len(), 8 * per_child);
    let journal = dd.journal().unwrap();
    let head = journal.head().unwrap().unwrap();
    let committed = journal.read_at(&head, "state/session_history.jsonl").unwrap().unwrap();
    assert_eq!(committed, fs::read(dd.state_dir().join("session_history.jsonl")).unwrap());
}

/// Runs `count` copies of this test binary at once, each playing `role` in the test `test` on
/// `dd`'s directory, and waits for every one to succeed.
fn run_children(test: &str, role: &str, dd: &DataDir, count: usize) {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..count)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", test, "--nocapture"])
                .env(role, dd.root())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child of {test} failed");
    }
}
