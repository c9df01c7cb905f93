//! Opening a copy of the typical fixture gives the reference's values, and re-saving unchanged
//! state reproduces the reference's bytes.

use std::fs;

use dotdir::ollim::{
    ForkLookup, ForkMessage, Inquiry, PendingUpdate, RuntimeConfig, SessionEvent, SessionEventKind,
};

use super::{FIXTURE_NOW, clock_at, copy_fixture, open};

fn state_bytes(root: &std::path::Path, name: &str) -> Vec<u8> {
    fs::read(root.join("state").join(name)).unwrap()
}

#[test]
fn sessions_and_history_have_the_reference_values() {
    let (_tmp, root) = copy_fixture("typical");
    let dd = open(&root, &clock_at(FIXTURE_NOW), false);
    assert_eq!(dd.session_id().unwrap().as_deref(), Some("sess-main-2"));
    let history = dd.session_history().unwrap();
    assert!(history.problems.is_empty());
    let expect = |sid: &str, event, ts: &str, parent: Option<&str>| SessionEvent {
        session_id: sid.into(),
        event,
        timestamp: ts.into(),
        parent_session_id: parent.map(Into::into),
    };
    use SessionEventKind::*;
    assert_eq!(
        history.events,
        vec![
            expect("sess-main-1", Created, "2026-11-21T14:02:00.779085-08:00", None),
            expect("sess-fork-1", BgFork, "2026-11-21T14:02:00.786160-08:00", Some("sess-main-1")),
            expect(
                "sess-main-2",
                Compacted,
                "2026-11-21T14:02:00.793183-08:00",
                Some("sess-main-1")
            ),
            expect("sess-main-2", Swapped, "2026-11-21T14:02:00.800947-08:00", Some("sess-main-2")),
            expect("sess-iso-1", IsolatedBg, "2026-11-21T14:02:00.807909-08:00", None),
        ]
    );
    assert_eq!(
        dd.session_start_time().unwrap(),
        Some("2026-11-21T14:02:00.779085-08:00".parse().unwrap())
    );
}

#[test]
fn fork_messages_and_inquiries_have_the_reference_values_and_expire_after_7_days() {
    let (_tmp, root) = copy_fixture("typical");
    let clock = clock_at(FIXTURE_NOW);
    let dd = open(&root, &clock, false);
    let record = |message_id| ForkMessage {
        message_id,
        fork_session_id: "sess-fork-1".into(),
        parent_session_id: Some("sess-main-1".into()),
        ts: 1795298520.8155055,
    };
    assert_eq!(
        dd.fork_messages().unwrap(),
        vec![record(1234567890123456789), record(1234567890123456790)]
    );
    assert_eq!(
        dd.lookup_fork_session(1234567890123456790).unwrap(),
        ForkLookup::Found("sess-fork-1".into())
    );
    assert_eq!(dd.lookup_fork_session(42).unwrap(), ForkLookup::Unknown);

    let inquiries = dd.inquiries().unwrap();
    assert_eq!(
        inquiries.0.into_iter().collect::<Vec<_>>(),
        vec![
            (
                "9f6406b5".to_owned(),
                Inquiry { prompt: "Summarize my emails?".into(), ts: 1795298520.8157015 }
            ),
            (
                "3d981de2".to_owned(),
                Inquiry {
                    prompt: "Plan tomorrow \u{2014} focus on the caf\u{e9} work".into(),
                    ts: 1795298520.8158584
                }
            ),
        ]
    );
    assert_eq!(dd.peek_inquiry("9f6406b5").unwrap().as_deref(), Some("Summarize my emails?"));

    // Seven days and a second later: pruned on read, reported expired on lookup.
    clock.advance(jiff::SignedDuration::from_secs(7 * 24 * 3600 + 1));
    assert_eq!(dd.fork_messages().unwrap(), vec![]);
    assert_eq!(dd.lookup_fork_session(1234567890123456789).unwrap(), ForkLookup::Expired);
    assert!(dd.inquiries().unwrap().is_empty());
    assert_eq!(dd.pop_inquiry("9f6406b5").unwrap(), None);
    // A miss writes nothing (the reference's pop does not write either).
    assert_eq!(
        state_bytes(&root, "inquiries.json"),
        fs::read(super::fixture("typical").join("state/inquiries.json")).unwrap()
    );
}

#[test]
fn pending_updates_budget_and_config_have_the_reference_values() {
    let (_tmp, root) = copy_fixture("typical");
    let dd = open(&root, &clock_at(FIXTURE_NOW), false);
    assert_eq!(
        dd.peek_updates().unwrap(),
        vec![PendingUpdate {
            ts: "2026-11-21T14:02:00.818756-08:00".into(),
            message: "Checked your morning emails \u{2014} 3 need replies, none urgent.".into(),
        }]
    );

    let budget = dd.ping_budget().state().unwrap();
    assert_eq!(budget.capacity(), 5);
    assert_eq!(budget.available(), 3.0000002300000004);
    assert_eq!(budget.refill_rate_minutes(), 90);
    assert_eq!(budget.last_refill_text(), "2026-11-21T14:02:00.817516-08:00");
    assert_eq!(budget.critical_used(), 1);
    assert_eq!(budget.critical_reset_date(), "2026-11-21");
    assert_eq!(budget.daily_used(), 2);
    assert_eq!(budget.daily_used_reset(), "2026-11-21");
    assert_eq!(dd.ping_budget().status().unwrap(), "budget: 3/5 (next refill in 90 min)");

    let config = dd.config().unwrap();
    assert_eq!(
        config,
        RuntimeConfig {
            model_main: Some("opus".into()),
            thinking_fork: "8000".into(),
            ..RuntimeConfig::default()
        }
    );
    assert!(config.problems().is_empty());
    assert_eq!(
        config.format_all().lines().take(4).collect::<Vec<_>>(),
        [
            "**model.main**: opus",
            "**model.fork**: (inherit main)",
            "**thinking.main**: off (default)",
            "**thinking.fork**: 8k budget"
        ]
    );
}

#[test]
fn resaving_unchanged_state_reproduces_the_reference_bytes() {
    let (_tmp, root) = copy_fixture("typical");
    let dd = open(&root, &clock_at(FIXTURE_NOW), false);
    let original =
        |name: &str| fs::read(super::fixture("typical").join("state").join(name)).unwrap();

    // Force real rewrites: remove each file, then save what was read.
    let forks = dd.fork_messages().unwrap();
    let inquiries = dd.inquiries().unwrap();
    let updates = dd.peek_updates().unwrap();
    let config = dd.config().unwrap();
    let budget = dd.ping_budget().state().unwrap();
    for name in ["fork_messages.json", "inquiries.json", "pending_updates.json", "config.json"] {
        fs::remove_file(root.join("state").join(name)).unwrap();
    }
    dd.save_fork_messages(&forks).unwrap();
    dd.save_inquiries(&inquiries).unwrap();
    dd.save_updates(&updates).unwrap();
    dd.save_config(&config).unwrap();
    for name in ["fork_messages.json", "inquiries.json", "pending_updates.json", "config.json"] {
        assert_eq!(state_bytes(&root, name), original(name), "{name}");
    }
    assert_eq!(budget.to_json(), original("ping_budget.json"));

    // The same session id again: same bytes, no new history event.
    dd.save_session_id("sess-main-2").unwrap();
    assert_eq!(state_bytes(&root, "sessions.json"), original("sessions.json"));
    assert_eq!(dd.session_history().unwrap().events.len(), 5);

    // Rewriting the history keeps its bytes.
    let rewrite = dd.session_log().retain(|_| true).unwrap();
    let _ = rewrite;
    assert_eq!(state_bytes(&root, "session_history.jsonl"), original("session_history.jsonl"));
}

#[test]
fn hazards_are_reported_not_fatal() {
    let (_tmp, root) = copy_fixture("hazards");
    let dd = open(&root, &clock_at("2026-11-21T14:02:00-08:00"), false);
    // The legacy JSON form of sessions.json is ignored, as the reference does.
    assert_eq!(dd.session_id().unwrap(), None);
    // A torn last line and a blank line: two events read, the torn tail reported.
    let history = dd.session_history().unwrap();
    assert_eq!(
        history.events.iter().map(|e| e.session_id.as_str()).collect::<Vec<_>>(),
        ["s1", "s2"]
    );
    assert!(history.problems.iter().any(|p| p.is_torn_tail()));
    // The expired fork record is pruned on read, the live one is kept.
    let forks = dd.fork_messages().unwrap();
    assert_eq!(forks.iter().map(|r| r.message_id).collect::<Vec<_>>(), [2]);
    assert_eq!(dd.lookup_fork_session(1).unwrap(), ForkLookup::Expired);
    // A stale bot.pid (dead pid 999999) is reclaimed.
    let guard = dd.lock_instance().unwrap();
    assert_eq!(
        fs::read_to_string(root.join("state/bot.pid")).unwrap(),
        std::process::id().to_string()
    );
    drop(guard);
    assert!(!root.join("state/bot.pid").exists());
}

#[test]
fn specs_have_the_reference_values_and_render_to_the_same_bytes() {
    use dotdir::frontmatter::{SpecFile, render};
    use dotdir::ollim::{Reminder, Routine, Webhook};
    let (_tmp, root) = copy_fixture("typical");
    let dd = open(&root, &clock_at(FIXTURE_NOW), false);

    let routines = dd.list_routines().unwrap();
    assert!(routines.problems.is_empty(), "{:?}", routines.problems);
    let ids: Vec<_> = routines.entries.iter().map(|e| e.spec.id.as_str()).collect();
    assert_eq!(ids, ["0f3e9a21", "a1b2c3d4", "77aa88bb", "5c6d7e8f"]);
    assert_eq!(
        routines.get("0f3e9a21").unwrap().spec,
        Routine {
            id: "0f3e9a21".into(),
            message: "Email triage".into(),
            cron: "0 */2 * * *".into(),
            background: true,
            model: Some("haiku".into()),
            thinking: false,
            isolated: true,
            update_main_session: "always".into(),
            allow_ping: false,
            allowed_tools: Some(vec!["Bash(ollim-bot gmail *)".into(), "WebFetch".into()]),
            skills: Some(vec!["email-triage".into()]),
            ..Routine::default()
        }
    );
    let morning = &routines.get("a1b2c3d4").unwrap().spec;
    assert_eq!(morning.cron, "30 8 * * 1-5");
    assert_eq!(morning.description, "Morning briefing");
    assert_eq!(
        morning.message,
        "Morning check-in\n\nReview my tasks and calendar for today, then give me a summary."
    );
    assert!(morning.thinking && morning.allow_ping && !morning.background);
    assert_eq!(morning.update_main_session, "on_ping");
    assert_eq!(routines.get("77aa88bb").unwrap().spec.description, "second with same slug");
    assert_eq!(routines.get("5c6d7e8f").unwrap().spec.cron, "0 17 * * 5");

    let reminders = dd.list_reminders().unwrap();
    let ids: Vec<_> = reminders.entries.iter().map(|e| e.spec.id.as_str()).collect();
    assert_eq!(ids, ["c0ffee00", "deadbeef"]);
    assert_eq!(
        reminders.get("deadbeef").unwrap().spec,
        Reminder {
            id: "deadbeef".into(),
            message: "take a break".into(),
            run_at: "2026-02-24T14:00:00-08:00".into(),
            max_chain: 3,
            chain_parent: Some("deadbeef".into()),
            ..Reminder::default()
        }
    );
    let report = &reminders.get("c0ffee00").unwrap().spec;
    assert_eq!(report.run_at, "2026-03-01T09:30:00.250000-08:00");
    assert!(report.background);

    let webhook: Webhook = dd.webhooks().get("github-pr").unwrap().unwrap().spec.clone();
    assert!(webhook.isolated);
    assert_eq!(webhook.model.as_deref(), Some("haiku"));
    assert_eq!(webhook.message, "New PR on {repo}: {title}. Summarize it.");
    assert_eq!(
        serde_json::Value::Object(webhook.fields),
        serde_json::json!({"type": "object", "required": ["repo", "title"],
            "properties": {"repo": {"type": "string"}, "title": {"type": "string"}}})
    );

    let skill = dd.skills().get("email-triage").unwrap().unwrap().spec;
    assert_eq!(skill.description, "Sort the inbox by urgency");
    assert_eq!(skill.allowed_tools, Some(vec!["Bash(ollim-bot gmail *)".to_owned()]));
    assert_eq!(skill.message, "Read unread mail and sort it into urgent / later / ignore.");

    // Re-rendering each unchanged spec gives the reference's bytes, and re-saving keeps the
    // file (same name, nothing rewritten).
    for entry in routines.entries.iter() {
        let original = fs::read(&entry.path).unwrap();
        let file = SpecFile { spec: entry.spec.clone(), extra: entry.extra.clone() };
        assert_eq!(render(&file).unwrap().into_bytes(), original, "{}", entry.path.display());
        assert_eq!(dd.save_routine(&entry.spec).unwrap(), entry.path);
        assert_eq!(fs::read(&entry.path).unwrap(), original);
    }
    for entry in reminders.entries.iter() {
        let original = fs::read(&entry.path).unwrap();
        let file = SpecFile { spec: entry.spec.clone(), extra: entry.extra.clone() };
        assert_eq!(render(&file).unwrap().into_bytes(), original, "{}", entry.path.display());
    }
    let webhook = dd.webhooks().get("github-pr").unwrap().unwrap();
    let file = SpecFile { spec: webhook.spec.clone(), extra: webhook.extra.clone() };
    assert_eq!(render(&file).unwrap().into_bytes(), fs::read(&webhook.path).unwrap());
    let skill_path = root.join("skills/email-triage/SKILL.md");
    let file = dd.skills().get("email-triage").unwrap().unwrap();
    assert_eq!(render(&file).unwrap().into_bytes(), fs::read(skill_path).unwrap());
}

#[test]
fn hazard_specs_are_read_or_reported_never_fatal() {
    let (_tmp, root) = copy_fixture("hazards");
    let dd = open(&root, &clock_at("2026-11-21T14:02:00-08:00"), false);
    let listing = dd.list_routines().unwrap();
    let got: Vec<(String, String, String)> = listing
        .entries
        .iter()
        .map(|e| {
            (
                e.path.file_name().unwrap().to_string_lossy().into_owned(),
                e.spec.id.clone(),
                format!("{:?}/{:?}/{:?}", e.spec.message, e.spec.allow_ping, e.spec.allowed_tools),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (".md".into(), "22222222".into(), "\"\u{2615}\u{2615}\"/true/None".into()),
            ("empty-tools.md".into(), "44444444".into(), "\"Empty tools\"/true/None".into()),
            (
                "hand-written.md".into(),
                "12345678".into(),
                "\"  Hand written, unquoted id, yes/no bool, snake key  \"/false/None".into()
            ),
            ("paths.md".into(), "33333333".into(), "\"Paths\"/true/None".into()),
        ]
    );
    // YAML reads the reference's unescaped `"C:\new folder"` with a newline escape.
    assert_eq!(listing.get("33333333").unwrap().spec.description, "C:\new folder");
    assert_eq!(listing.get("12345678").unwrap().spec.cron, "*/5 * * * *");
    // The files with no front matter and with the reference's broken quoting are reported.
    let problems: Vec<String> = listing.problems.iter().map(|p| format!("{p:?}")).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("no-frontmatter.md") && problems[0].contains("MissingFrontMatter")
    );
    assert!(problems[1].contains("say-hi-to-the-team.md") && problems[1].contains("line: 4"));
    // The scheduler's poll of an unchanged directory reads no file again (once the files are
    // older than the racy-timestamp margin).
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in fs::read_dir(root.join("routines")).unwrap() {
        let file = fs::File::open(entry.unwrap().path()).unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }
    // Setting the mtime changes the ctime: let it settle (frontmatter's racy-entry margin).
    std::thread::sleep(std::time::Duration::from_millis(100));
    let _ = dd.list_routines().unwrap();
    let read = dd.routines().files_read();
    let _ = dd.list_routines().unwrap();
    assert_eq!(dd.routines().files_read(), read);
    assert_eq!(got.len() + problems.len(), 6, "every *.md is either a routine or a problem");
}
