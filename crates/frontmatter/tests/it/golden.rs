//! Golden tests on every fixture spec file: the parsed values, the bytes of a re-render, and the
//! bytes after an unchanged spec is re-saved through `SpecDir`.

use dotdir_frontmatter::{Spec, SpecDir, SpecFile, parse, render};
use serde_json::json;

use crate::specs::{Reminder, Routine, Skill, Webhook, data, read, strings};

/// Parses `relative`, compares with `expected` (no unknown keys), and checks that rendering the
/// parsed spec gives back the file byte for byte when `reference_layout` says the file is in the
/// reference's layout.
fn check<T: Spec + PartialEq + std::fmt::Debug>(
    relative: &str,
    expected: T,
    reference_layout: bool,
) {
    let bytes = read(relative);
    let file: SpecFile<T> = parse(&bytes).unwrap();
    assert_eq!(file.spec, expected, "{relative}");
    assert!(file.extra.is_empty(), "{relative}: {:?}", file.extra);
    if reference_layout {
        assert_eq!(render(&file).unwrap(), String::from_utf8(bytes).unwrap(), "{relative}");
    }
}

/// Copies one fixture into a spec directory, re-saves the parsed spec, and checks that nothing
/// was written and the bytes are identical.
fn check_resave<T: Spec>(relative: &str) {
    let dir = tempfile::tempdir().unwrap();
    let source = data(relative);
    let target = dir.path().join(source.file_name().unwrap());
    std::fs::copy(&source, &target).unwrap();
    let specs = SpecDir::<T>::new(dir.path());
    let listing = specs.list().unwrap();
    assert_eq!(listing.entries.len(), 1, "{relative}: {:?}", listing.problems);
    let entry = &listing.entries[0];
    let saved = specs.write(&entry.spec).unwrap();
    assert_eq!(saved.path, target, "{relative}");
    assert_eq!(saved.written, dotdir_atomic_store::Written::Unchanged, "{relative}");
    assert!(saved.removed.is_empty());
    assert_eq!(std::fs::read(&target).unwrap(), read(relative), "{relative}");
}

#[test]
fn email_triage_routine() {
    let expected = Routine {
        id: "0f3e9a21".into(),
        message: "Email triage".into(),
        cron: "0 */2 * * *".into(),
        background: true,
        model: Some("haiku".into()),
        thinking: false,
        isolated: true,
        update_main_session: "always".into(),
        allow_ping: false,
        allowed_tools: strings(&["Bash(ollim-bot gmail *)", "WebFetch"]),
        skills: strings(&["email-triage"]),
        ..Routine::default()
    };
    check("typical/routines/email-triage.md", expected, true);
    check_resave::<Routine>("typical/routines/email-triage.md");
}

#[test]
fn morning_check_in_routine_with_a_multi_line_body() {
    let expected = Routine {
        id: "a1b2c3d4".into(),
        message:
            "Morning check-in\n\nReview my tasks and calendar for today, then give me a summary."
                .into(),
        cron: "30 8 * * 1-5".into(),
        description: "Morning briefing".into(),
        ..Routine::default()
    };
    let path = "typical/routines/morning-check-in-review-my-tasks-and-calendar-for.md";
    check(path, expected, true);
    check_resave::<Routine>(path);
}

#[test]
fn weekly_review_routines_sharing_a_slug() {
    let first = Routine {
        id: "5c6d7e8f".into(),
        message: "Weekly review".into(),
        cron: "0 17 * * 5".into(),
        ..Routine::default()
    };
    check("typical/routines/weekly-review.md", first, true);
    let second = Routine {
        id: "77aa88bb".into(),
        message: "Weekly review".into(),
        cron: "0 9 * * 1".into(),
        description: "second with same slug".into(),
        ..Routine::default()
    };
    check("typical/routines/weekly-review-2.md", second, true);
    check_resave::<Routine>("typical/routines/weekly-review.md");
    check_resave::<Routine>("typical/routines/weekly-review-2.md");
}

#[test]
fn reminders() {
    let report = Reminder {
        id: "c0ffee00".into(),
        message: "Check the report".into(),
        run_at: "2026-03-01T09:30:00.250000-08:00".into(),
        background: true,
        ..Reminder::default()
    };
    check("typical/reminders/check-the-report.md", report, true);
    let chain = Reminder {
        id: "deadbeef".into(),
        message: "take a break".into(),
        run_at: "2026-02-24T14:00:00-08:00".into(),
        max_chain: 3,
        chain_parent: Some("deadbeef".into()),
        ..Reminder::default()
    };
    check("typical/reminders/take-a-break.md", chain, true);
    check_resave::<Reminder>("typical/reminders/check-the-report.md");
    check_resave::<Reminder>("typical/reminders/take-a-break.md");
}

#[test]
fn webhook_with_a_nested_json_schema() {
    let expected = Webhook {
        id: "github-pr".into(),
        message: "New PR on {repo}: {title}. Summarize it.".into(),
        fields: json!({
            "type": "object",
            "required": ["repo", "title"],
            "properties": {"repo": {"type": "string"}, "title": {"type": "string"}},
        }),
        isolated: true,
        model: Some("haiku".into()),
        ..Webhook::default()
    };
    // Hand-written (the reference would write `fields` as a Python repr): not in our layout,
    // because `fields` comes before `isolated` in the type.
    check("typical/webhooks/github-pr.md", expected.clone(), false);
    let rendered = render(&SpecFile::new(expected)).unwrap();
    assert_eq!(
        rendered,
        "---\nid: \"github-pr\"\nfields:\n  type: object\n  required:\n    - repo\n    - title\n  \
         properties:\n    repo:\n      type: string\n    title:\n      type: string\n\
         isolated: true\nmodel: \"haiku\"\n---\nNew PR on {repo}: {title}. Summarize it.\n"
    );
    // The nested part is byte for byte the hand-written file's.
    let original = String::from_utf8(read("typical/webhooks/github-pr.md")).unwrap();
    let nested = &rendered[rendered.find("fields:").unwrap()..rendered.find("isolated").unwrap()];
    assert!(original.contains(nested), "{nested}");
    // An unchanged spec keeps the hand-written bytes.
    check_resave::<Webhook>("typical/webhooks/github-pr.md");
}

#[test]
fn skill() {
    let expected = Skill {
        name: "email-triage".into(),
        description: "Sort the inbox by urgency".into(),
        message: "Read unread mail and sort it into urgent / later / ignore.".into(),
        allowed_tools: strings(&["Bash(ollim-bot gmail *)"]),
    };
    check("typical/skills/email-triage/SKILL.md", expected, true);
}

#[test]
fn hazard_files_that_parse() {
    let hidden = Routine {
        id: "22222222".into(),
        message: "☕☕".into(),
        cron: "0 10 * * *".into(),
        ..Routine::default()
    };
    check("hazards/routines/.md", hidden, true);
    check_resave::<Routine>("hazards/routines/.md");

    // `allowed-tools:` with nothing after it is null in YAML: the reference reads `None` too.
    let empty_tools = Routine {
        id: "44444444".into(),
        message: "Empty tools".into(),
        cron: "0 12 * * *".into(),
        allowed_tools: None,
        ..Routine::default()
    };
    check("hazards/routines/empty-tools.md", empty_tools, false);
    check_resave::<Routine>("hazards/routines/empty-tools.md");

    // `"C:\new folder"`: `\n` is an escape in YAML, the reference reads a newline too; the
    // escaped re-render is the same bytes.
    let paths = Routine {
        id: "33333333".into(),
        message: "Paths".into(),
        cron: "0 11 * * *".into(),
        description: "C:\new folder".into(),
        ..Routine::default()
    };
    check("hazards/routines/paths.md", paths, true);
    check_resave::<Routine>("hazards/routines/paths.md");

    let hand_written = Routine {
        id: "12345678".into(),
        message: "  Hand written, unquoted id, yes/no bool, snake key  ".into(),
        cron: "*/5 * * * *".into(),
        allow_ping: false,
        ..Routine::default()
    };
    check("hazards/routines/hand-written.md", hand_written, false);
    check_resave::<Routine>("hazards/routines/hand-written.md");
}
