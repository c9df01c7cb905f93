//! The declaration covers every file of the fixtures and the seed's tree, and its git
//! exclusions are exactly the seed's table.

use dotdir::{Backup, Git, Kind, ollim::LAYOUT};

fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(base).unwrap().to_str().unwrap().to_owned();
        if entry.file_type().unwrap().is_dir() {
            out.push(rel);
            walk(&entry.path(), base, out);
        } else {
            out.push(rel);
        }
    }
}

#[test]
fn every_fixture_file_is_declared() {
    for fixture in ["typical", "hazards"] {
        let base = super::fixture(fixture);
        let mut paths = Vec::new();
        walk(&base, &base, &mut paths);
        for path in paths {
            if path.ends_with("notes.txt") {
                // A stray file in routines/: the layout does not know it (inspect flags it).
                assert!(LAYOUT.entry_for(&path).is_none());
                continue;
            }
            assert!(LAYOUT.entry_for(&path).is_some(), "{fixture}/{path} is not declared");
        }
    }
}

#[test]
fn git_tracking_is_the_seeds_table() {
    let excluded = [
        "state/ping_budget.json",
        "state/bot.pid",
        "state/credentials.json",
        "state/token.json",
        "state/sessions.json",
        "state/fork_messages.json",
        "state/pending_updates.json",
        "state/inquiries.json",
        "state/config.json",
        ".claude/agents/gmail-reader.md",
        ".claude/skills",
    ];
    let tracked = [
        "IDENTITY.md",
        "USER.md",
        "tool-policy.yaml",
        "state/session_history.jsonl",
        "routines/morning.md",
        "reminders/take-a-break.md",
        "webhooks/github-pr.md",
        "skills/email-triage/SKILL.md",
        "reflections/a1b2c3d4/2026-04-08T07-02-00Z.md",
        "downloads/report.pdf",
        "notes.md",
        ".gitignore",
    ];
    for path in excluded {
        assert_eq!(LAYOUT.entry_for(path).unwrap().git, Git::Excluded, "{path}");
    }
    for path in tracked {
        assert_eq!(LAYOUT.entry_for(path).unwrap().git, Git::Tracked, "{path}");
    }
    let secrets: Vec<_> = LAYOUT.secrets().map(|e| e.pattern).collect();
    assert_eq!(secrets, ["state/credentials.json", "state/token.json"]);
    for secret in LAYOUT.secrets() {
        assert_eq!(secret.backup, Backup::Never);
        assert_eq!(secret.required_mode(), Some(0o600));
    }
    assert_eq!(LAYOUT.entry_for(".claude/skills").unwrap().kind, Kind::Symlink);
    assert_eq!(LAYOUT.entry_for(".git/objects/ab/cdef").unwrap().git, Git::Excluded);
    assert_eq!(
        LAYOUT.entry_for("state/inquiries.json").unwrap().retention,
        Some(dotdir::ollim::TTL)
    );
    assert_eq!(
        LAYOUT.entry_for("state/fork_messages.json").unwrap().retention.unwrap().as_secs(),
        7 * 24 * 3600
    );
    let exclusions = LAYOUT.journal_exclusions();
    let patterns: Vec<&str> = exclusions.patterns().collect();
    assert!(patterns.contains(&"/state/token.json"));
    assert!(patterns.contains(&"*.lock"));
    // Every excluded entry reaches the journal (a pattern it could not read would be dropped).
    let excluded = dotdir::ollim::LAYOUT
        .entries
        .iter()
        .filter(|e| e.git == dotdir::Git::Excluded && !e.pattern.starts_with(".git"))
        .count();
    assert_eq!(patterns.len(), excluded + dotdir::git_journal::BUILTIN_EXCLUSIONS.len());
}

#[test]
fn validators_accept_the_typical_fixture_and_reject_broken_shapes() {
    let base = super::fixture("typical");
    for name in [
        "config.json",
        "fork_messages.json",
        "inquiries.json",
        "pending_updates.json",
        "ping_budget.json",
        "sessions.json",
    ] {
        let rel = format!("state/{name}");
        let validator =
            LAYOUT.entry_for(&rel).unwrap().validator.unwrap_or_else(|| panic!("{rel}"));
        let bytes = std::fs::read(base.join(&rel)).unwrap();
        assert_eq!((validator.check)(&bytes), Ok(()), "{rel}");
        assert!((validator.check)(b"{\"torn").is_err(), "{rel}");
    }
    let inquiries = LAYOUT.entry_for("state/inquiries.json").unwrap().validator.unwrap();
    assert!((inquiries.check)(br#"{"XYZ": {"prompt": "p", "ts": 1.0}}"#).is_err());
    let sessions = LAYOUT.entry_for("state/sessions.json").unwrap().validator.unwrap();
    assert!((sessions.check)(br#"{"legacy": "json"}"#).unwrap_err().reason.contains("legacy"));
}

#[test]
fn json_state_shape_problems_are_corrupt_json_naming_the_file() {
    // Issue 10's stable kind: a JSON state file that does not parse or has the wrong shape.
    for (name, wrong_shape) in [
        ("config.json", &b"[1, 2]"[..]),
        ("fork_messages.json", br#"{"not": "a list"}"#),
        ("inquiries.json", br#"{"XYZ": {"prompt": "p", "ts": 1.0}}"#),
        ("pending_updates.json", br#"[1, 2]"#),
        ("ping_budget.json", br#"{"capacity": "five"}"#),
    ] {
        let validator = LAYOUT.entry_for(&format!("state/{name}")).unwrap().validator.unwrap();
        assert_eq!(validator.problem, "corrupt-json", "{name}");
        let message = (validator.check)(wrong_shape).expect_err(name);
        assert!(message.reason.contains(name), "{name}: the message names the file: {message}");
    }
    let sessions = LAYOUT.entry_for("state/sessions.json").unwrap().validator.unwrap();
    assert_eq!(sessions.problem, "bad-session-id", "sessions.json is plain text, not JSON");

    // End to end: a wrong shape and a parse error are both `corrupt-json`, one problem each.
    let (_tmp, root) = super::copy_fixture("typical");
    std::fs::write(root.join("state/pending_updates.json"), "[1, 2]").unwrap();
    std::fs::write(root.join("state/fork_messages.json"), "[{\"torn").unwrap();
    let options = dotdir::check::Options::default().now(super::fixture_now());
    let report = dotdir::check::check(&root, &LAYOUT, &options).unwrap();
    let found: Vec<(&str, &str)> =
        report.problems.iter().map(|p| (p.kind.as_str(), p.path.as_str())).collect();
    assert_eq!(
        found,
        [
            ("corrupt-json", "state/fork_messages.json"),
            ("corrupt-json", "state/pending_updates.json")
        ]
    );
    assert!(
        report.problems[1].message.starts_with("pending_updates.json: "),
        "{:?}",
        report.problems[1]
    );
    assert_eq!(report.problems[0].kind, dotdir::check::ProblemKind::CorruptJson);
}

#[test]
fn tool_policy_is_one_entry_and_one_typed_accessor() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("d");
    let dd = super::open(&root, &super::clock_at("2026-11-21T08:00:00-08:00"), false);
    assert_eq!(dd.tool_policy().unwrap(), dotdir::ollim::ToolPolicy::default(), "absent: empty");
    std::fs::write(
        root.join("tool-policy.yaml"),
        "bg_forks:\n  override: [\"Read(./**.md)\"]\n  additional_allowed: [WebSearch]\n",
    )
    .unwrap();
    assert_eq!(dd.tool_policy().unwrap().bg_fork_tools(), ["Read(./**.md)", "WebSearch"]);
    let options = dotdir::check::Options::default();
    let clean = dotdir::check::check(&root, &LAYOUT, &options).unwrap();
    assert!(clean.problems.iter().all(|p| p.path != "tool-policy.yaml"), "{:?}", clean.problems);
    std::fs::write(root.join("tool-policy.yaml"), "main_session: [\n").unwrap();
    let error = dd.tool_policy().unwrap_err().to_string();
    assert!(error.contains("tool-policy.yaml"), "{error}");
    let report = dotdir::check::check(&root, &LAYOUT, &options).unwrap();
    let found: Vec<_> = report.problems.iter().filter(|p| p.path == "tool-policy.yaml").collect();
    assert_eq!(found.len(), 1, "{:?}", report.problems);
    assert_eq!(found[0].kind.as_str(), "corrupt-yaml");
    assert_eq!(found[0].severity, dotdir::Severity::Error);
}

/// Every built-in layout is sound: no entry is shadowed by an earlier one.
#[test]
fn every_built_in_layout_lints_clean() {
    for layout in
        [&dotdir::ollim::LAYOUT, &dotdir::omicos::HOME_LAYOUT, &dotdir::omicos::WORKSPACE_LAYOUT]
    {
        assert_eq!(layout.lint(), Vec::<String>::new(), "{}", layout.name);
    }
}
