//! The declarations: secrets, backup policies of seed §11.6, validators, the derived .gitignore.

use dotdir::{
    Backup, Git, Layout,
    omicos::{HOME_LAYOUT, WORKSPACE_LAYOUT},
};

fn check(layout: &Layout, path: &str, secret: bool, backup: Backup) {
    let entry = layout.entry_for(path).unwrap_or_else(|| panic!("{path} undeclared"));
    assert_eq!((entry.secret, entry.backup), (secret, backup), "{path}: {}", entry.description);
    if secret {
        assert_eq!(entry.git, Git::Excluded, "{path}");
    }
}

#[test]
fn home_secrets_and_backup_policies() {
    assert_eq!(HOME_LAYOUT.name, "omicos-home");
    check(&HOME_LAYOUT, "cloud_login.json", true, Backup::Never);
    check(&HOME_LAYOUT, "auth.json", true, Backup::Never);
    check(&HOME_LAYOUT, "plan_token.jwt", true, Backup::Never);
    check(&HOME_LAYOUT, "oauth", true, Backup::Never);
    check(&HOME_LAYOUT, "oauth/codex.json", true, Backup::Never);
    check(&HOME_LAYOUT, "oauth/nested/unknown.bin", true, Backup::Never);
    check(&HOME_LAYOUT, "memory/notes.md", false, Backup::Keep);
    check(&HOME_LAYOUT, "env/.venv/bin/python", false, Backup::Recreatable);
    check(&HOME_LAYOUT, "cloud-agents/agents/a.md", false, Backup::Recreatable);
    check(&HOME_LAYOUT, "cloud-skills/skills/s/SKILL.md", false, Backup::Recreatable);
    check(&HOME_LAYOUT, "cloud-models/models.json", false, Backup::Recreatable);
    check(&HOME_LAYOUT, "cloud-memory/x", false, Backup::Recreatable);
    check(&HOME_LAYOUT, "usage/s1.jsonl", false, Backup::Keep);
    check(&HOME_LAYOUT, ".cloud_login.json.123.0badcafe.dotdir-tmp", false, Backup::Never);
    assert_eq!(HOME_LAYOUT.entry_for("oauth").and_then(|e| e.required_mode()), Some(0o700));
    assert!(HOME_LAYOUT.entry_for("skills/x").is_none(), "~/.omicos/skills was removed upstream");
}

#[test]
fn workspace_secrets_and_backup_policies() {
    assert_eq!(WORKSPACE_LAYOUT.name, "omicos-workspace");
    for prefix in ["", "cli/"] {
        let p = |rel: &str| format!("{prefix}{rel}");
        check(&WORKSPACE_LAYOUT, &p("cloud_login.json"), true, Backup::Never);
        check(&WORKSPACE_LAYOUT, &p("cloud_login.json.u-1.bak"), true, Backup::Never);
        check(&WORKSPACE_LAYOUT, &p("account.json"), true, Backup::Never);
        check(&WORKSPACE_LAYOUT, &p("workspace_id"), false, Backup::Keep);
        check(&WORKSPACE_LAYOUT, &p("workspace_id.u-1.bak"), false, Backup::Keep);
        check(&WORKSPACE_LAYOUT, &p("serve.pid"), false, Backup::Ephemeral);
        check(&WORKSPACE_LAYOUT, &p("conversations/c1/history.jsonl"), false, Backup::Keep);
        check(&WORKSPACE_LAYOUT, &p("conversations/c1/uploads/data.csv"), false, Backup::Keep);
        check(&WORKSPACE_LAYOUT, &p("trajectories/u-1/turn_ab.jsonl"), false, Backup::Keep);
        check(&WORKSPACE_LAYOUT, &p("trajectories/.sync_state.json"), false, Backup::Keep);
        check(&WORKSPACE_LAYOUT, &p("tool_outputs/1__t.txt"), false, Backup::Recreatable);
        check(&WORKSPACE_LAYOUT, &p("updater/state"), false, Backup::Recreatable);
        check(&WORKSPACE_LAYOUT, &p("conversations.json.lock"), false, Backup::Recreatable);
    }
    let cli = WORKSPACE_LAYOUT.entry_for("cli").unwrap();
    assert!(cli.description.contains("cli data dir"), "{}", cli.description);
    let secrets: Vec<_> = WORKSPACE_LAYOUT.secrets().map(|e| e.pattern).collect();
    assert_eq!(
        secrets,
        [
            "cloud_login.json",
            "cloud_login.json.*.bak",
            "account.json",
            "settings/llm-config.json",
            "cli/cloud_login.json",
            "cli/cloud_login.json.*.bak",
            "cli/account.json",
            "cli/settings/llm-config.json"
        ]
    );
    let gitignore = WORKSPACE_LAYOUT.journal_exclusions().gitignore_block();
    for line in ["/cloud_login.json\n", "/cloud_login.json.*.bak\n", "/cli/cloud_login.json\n"] {
        assert!(gitignore.contains(line), "{line:?} missing from\n{gitignore}");
    }
}

#[test]
fn workspace_id_validator() {
    let entry = WORKSPACE_LAYOUT.entry_for("workspace_id").unwrap();
    let validator = entry.validator.unwrap();
    assert_eq!(validator.problem, "bad-workspace-id");
    let good = b"0123456789abcdef0123456789abcdef";
    assert_eq!((validator.check)(good), Ok(()));
    assert_eq!((validator.check)(b"0123456789abcdef0123456789abcdef\n"), Ok(()));
    for bad in [
        &b"0123456789ABCDEF0123456789abcdef"[..],
        b"01234567-89ab-cdef-0123-456789abcdef",
        b"0123456789abcdef",
        b"",
        b"0123456789abcdef0123456789abcdeg",
    ] {
        assert!((validator.check)(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let bak = WORKSPACE_LAYOUT.entry_for("workspace_id.u-1.bak").unwrap();
    assert_eq!(bak.validator.map(|v| v.problem), Some("bad-workspace-id"));
}

/// The layout's own problem kind carries the layout's own severity and advice through `check`:
/// the generic engine knows nothing of workspace ids.
#[test]
fn a_bad_workspace_id_is_reported_with_the_layouts_advice() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("workspace_id"), "not-an-id\n").unwrap();
    let report = dotdir::check::check(dir.path(), &WORKSPACE_LAYOUT, &Default::default()).unwrap();
    let problem = report
        .problems
        .iter()
        .find(|p| p.path == "workspace_id")
        .unwrap_or_else(|| panic!("no problem for workspace_id in {:?}", report.problems));
    assert_eq!(problem.kind.as_str(), "bad-workspace-id");
    assert_eq!(problem.severity, dotdir::Severity::Error);
    assert!(problem.advice.contains("workspace_id.*.bak"), "{}", problem.advice);
}

/// `init` creates the user-data directories of the home but not the nested cli data directory,
/// which omicos creates itself.
#[test]
fn init_leaves_what_the_app_creates_to_the_app() {
    let workspace: Vec<&str> = WORKSPACE_LAYOUT.initial_dirs().iter().map(|(p, _)| *p).collect();
    assert!(!workspace.contains(&"cli"), "{workspace:?}");
    assert!(WORKSPACE_LAYOUT.entry_for("cli").is_some_and(|e| e.created_by_app));
    assert!(workspace.contains(&"conversations"), "{workspace:?}");
}
