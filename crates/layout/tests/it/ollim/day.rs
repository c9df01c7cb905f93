//! A scripted day of an ollim-bot in a temporary directory, inspected with the real `git` CLI:
//! the commits and tracked files match the seed's tracking table, and no commit ever contains
//! a secret or ephemeral file.

use std::{collections::BTreeSet, fs};

use dotdir::{
    Git,
    ollim::{LAYOUT, Names, Reminder, Routine, SessionEventKind, reflection_file_name},
};

use dotdir_test_support::git;

use super::{clock_at, open};

#[test]
fn a_scripted_day_leaves_the_seeds_git_history() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim-bot");
    let clock = clock_at("2026-11-21T08:00:00-08:00");
    let dd = open(&root, &clock, true);
    let minutes = |m: i64| clock.advance(jiff::SignedDuration::from_mins(m));

    // Start-up: single instance, SDK layout, identity.
    let lock = dd.lock_instance().unwrap();
    assert_eq!(
        fs::read_to_string(root.join("state/bot.pid")).unwrap(),
        std::process::id().to_string()
    );
    let second = dd.lock_instance().unwrap_err();
    assert!(second.to_string().contains(&std::process::id().to_string()), "{second}");
    let names = Names::new("Julian", "ollim");
    let sdk = dd.ensure_sdk_layout(&names).unwrap();
    assert_eq!(sdk.installed.len(), 5);
    assert!(sdk.linked_skills);
    assert!(dd.bootstrap_identity(&names).unwrap());

    // A session, a background fork with its Discord messages.
    dd.save_session_id("sess-main-aaaa").unwrap();
    minutes(5);
    dd.log_session_event(SessionEventKind::BgFork, "fork-1111-xyz", Some("sess-main-aaaa"))
        .unwrap();
    dd.record_fork_messages(&[111, 112], "fork-1111-xyz", Some("sess-main-aaaa")).unwrap();

    // A routine, a chained reminder that fires twice.
    let routine = Routine::new("30 8 * * 1-5", "Morning check-in");
    dd.save_routine(&routine).unwrap();
    let first = Reminder::new("2026-11-21T09:00:00-08:00", "take a break", 1);
    dd.save_reminder(&first).unwrap();
    minutes(60);
    let second = dd.fire_reminder(&first.id, Some("2026-11-21T10:00:00-08:00")).unwrap().unwrap();
    assert_eq!((second.chain_depth, second.chain_parent.as_deref()), (1, Some(first.id.as_str())));
    minutes(60);
    assert_eq!(dd.fire_reminder(&second.id, Some("2026-11-21T11:00:00-08:00")).unwrap(), None);
    assert!(dd.list_reminders().unwrap().entries.is_empty());

    // Budget, inquiries, updates, config.
    let budget = dd.ping_budget();
    assert!(budget.try_use().unwrap());
    assert!(budget.try_use().unwrap());
    budget.record_critical().unwrap();
    assert_eq!(budget.state().unwrap().daily_used(), 2);
    let key = dd.register_inquiry("agent:Plan tomorrow?").unwrap();
    assert_eq!(dd.pop_inquiry(&key).unwrap().as_deref(), Some("agent:Plan tomorrow?"));
    dd.register_inquiry("agent:Summarize?").unwrap();
    for i in 0..3 {
        dd.append_update(&format!("update {i}")).unwrap();
    }
    assert_eq!(dd.pop_updates().unwrap().len(), 3);
    dd.append_update("later").unwrap();
    dd.set_config("model_main", "opus").unwrap();
    dd.set_config("auto_update", "on").unwrap();

    // Attachments, Google secrets, a compaction, a reflection, an agent note.
    dd.save_download("report.pdf", b"%PDF-1").unwrap();
    dd.save_download("report.pdf", b"%PDF-2").unwrap();
    dd.write_secret("credentials.json", br#"{"installed": {}}"#).unwrap();
    dd.write_secret("token.json", br#"{"refresh_token": "secret"}"#).unwrap();
    minutes(30);
    dd.save_session_id("sess-main-bbbb").unwrap();
    let reflection = dd.write_reflection("abcd1234", "status: ok\nreported: yes\n").unwrap();
    fs::write(root.join("notes.md"), "# notes\n").unwrap();
    assert!(dd.auto_commit("Write", std::path::Path::new("notes.md")).unwrap());
    assert!(!dd.auto_commit("Write", std::path::Path::new("state/config.json")).unwrap());

    let reflection_name = reflection_file_name("2026-11-21T18:35:00Z".parse().unwrap());
    assert_eq!(reflection.file_name().unwrap().to_str().unwrap(), reflection_name);
    let messages: Vec<String> =
        git(&root, &["log", "--reverse", "--format=%s"]).lines().map(str::to_owned).collect();
    let expected = vec![
        "update .gitignore".to_owned(),
        "bootstrap IDENTITY.md".to_owned(),
        "session created: sess-mai".to_owned(),
        "session bg_fork: fork-111".to_owned(),
        format!("add routine {}", routine.id),
        format!("add reminder {}", first.id),
        format!("remove reminder {}, add reminder {}", first.id, second.id),
        format!("remove reminder {}", second.id),
        "download report.pdf".to_owned(),
        "download report-2.pdf".to_owned(),
        "session compacted: sess-mai".to_owned(),
        format!("auto: write reflections/abcd1234/{reflection_name}"),
        "auto: write notes.md".to_owned(),
    ];
    assert_eq!(messages, expected);

    // Tracked files now: exactly the tracked part of the seed's table.
    let tracked: BTreeSet<String> = git(&root, &["ls-files"]).lines().map(str::to_owned).collect();
    let expected: BTreeSet<String> = [
        ".gitignore".to_owned(),
        "IDENTITY.md".to_owned(),
        "downloads/report-2.pdf".to_owned(),
        "downloads/report.pdf".to_owned(),
        "notes.md".to_owned(),
        format!("reflections/abcd1234/{reflection_name}"),
        "routines/morning-check-in.md".to_owned(),
        "state/session_history.jsonl".to_owned(),
    ]
    .into_iter()
    .collect();
    assert_eq!(tracked, expected);

    // No commit ever touched a secret or an excluded file.
    let ever: BTreeSet<String> = git(&root, &["log", "--all", "--name-only", "--format="])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(ever.contains("reminders/take-a-break.md"));
    for path in &ever {
        let entry = LAYOUT.entry_for(path).unwrap_or_else(|| panic!("{path} is not declared"));
        assert_eq!(entry.git, Git::Tracked, "{path} was committed");
        assert!(!entry.secret, "{path}");
    }
    let all_content = git(&root, &["log", "--all", "-p", "--format="]);
    assert!(!all_content.contains("refresh_token"), "a secret reached git");

    // The real git agrees: every file is committed or ignored, and the state files are ignored.
    let status = git(&root, &["status", "--porcelain", "--ignored", "--untracked-files=all"]);
    let ignored: BTreeSet<&str> = status.lines().filter_map(|l| l.strip_prefix("!! ")).collect();
    let others: Vec<&str> = status.lines().filter(|l| !l.starts_with("!! ")).collect();
    assert_eq!(others, Vec::<&str>::new(), "untracked or modified files:\n{status}");
    for path in [
        "state/bot.pid",
        "state/token.json",
        "state/credentials.json",
        "state/sessions.json",
        "state/config.json",
        "state/ping_budget.json",
        "state/inquiries.json",
        "state/fork_messages.json",
        "state/pending_updates.json",
        ".claude/",
    ] {
        assert!(
            ignored.iter().any(|i| *i == path || (path.ends_with('/') && i.starts_with(path))),
            "{path} is not ignored:\n{status}"
        );
    }

    drop(lock);
    assert!(!root.join("state/bot.pid").exists());

    // `dotdir check`, driven by the same declaration, finds nothing wrong with what the
    // library wrote: no unknown entry, no bad mode, no invalid state file.
    let report = dotdir::check::check(&root, &LAYOUT, &dd.check_options()).unwrap();
    let problems: Vec<String> =
        report.problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn git_tracking_never_uses_an_ancestors_repository() {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "-q"]);
    let root = tmp.path().join("nested/ollim-bot");
    let dd = open(&root, &clock_at("2026-11-21T08:00:00-08:00"), true);
    dd.save_session_id("sess-1").unwrap();
    assert!(root.join(".git").is_dir());
    assert_eq!(git(&root, &["log", "--format=%s"]).lines().next(), Some("session created: sess-1"));
    // The ancestor's repository has no commit.
    let out = std::process::Command::new("git")
        .args(["-C"])
        .arg(tmp.path())
        .args(["rev-parse", "--verify", "HEAD"])
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn racing_bootstraps_create_identity_exactly_once_and_never_through_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("d");
    let clock = clock_at("2026-11-21T08:00:00-08:00");
    drop(open(&root, &clock, false));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (root, clock, barrier) = (root.clone(), clock.clone(), barrier.clone());
            std::thread::spawn(move || {
                let dd = open(&root, &clock, false);
                let names = Names::new(format!("User{i}"), "ollim");
                barrier.wait();
                (i, dd.bootstrap_identity(&names).unwrap())
            })
        })
        .collect();
    let created: Vec<usize> = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|(_, c)| *c)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(created.len(), 1, "exactly one bootstrap creates IDENTITY.md: {created:?}");
    let text = fs::read_to_string(root.join("IDENTITY.md")).unwrap();
    assert!(text.contains(&format!("User{}'s", created[0])), "the winner's whole file: {text}");
    let leftovers: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dotdir-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A symlink planted at IDENTITY.md (dangling, or to a file outside) counts as existing: the
    // bootstrap writes nothing through it.
    let other = tmp.path().join("other");
    let dd = open(&other, &clock, false);
    let outside = tmp.path().join("outside.md");
    std::os::unix::fs::symlink(&outside, other.join("IDENTITY.md")).unwrap();
    assert!(!dd.bootstrap_identity(&Names::new("Julian", "ollim")).unwrap());
    assert!(!outside.exists(), "nothing is created through a dangling symlink");
    fs::write(&outside, "mine\n").unwrap();
    assert!(!dd.bootstrap_identity(&Names::new("Julian", "ollim")).unwrap());
    assert_eq!(fs::read_to_string(&outside).unwrap(), "mine\n");
}

#[test]
fn sdk_layout_never_overwrites_a_users_edit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("d");
    let dd = open(&root, &clock_at("2026-11-21T08:00:00-08:00"), false);
    let names = Names::new("Julian", "ollim");
    dd.ensure_sdk_layout(&names).unwrap();
    let agent = root.join(".claude/agents/gmail-reader.md");
    let text = fs::read_to_string(&agent).unwrap();
    assert!(text.contains("Julian") && text.contains("ollim") && !text.contains("{USER_NAME}"));
    fs::write(&agent, "my own agent\n").unwrap();
    fs::write(root.join("IDENTITY.md"), "my persona\n").unwrap();
    let again = dd.ensure_sdk_layout(&Names::new("Other", "bot")).unwrap();
    assert_eq!((again.installed.len(), again.kept.len()), (0, 5));
    assert!(!dd.bootstrap_identity(&names).unwrap());
    assert_eq!(fs::read_to_string(&agent).unwrap(), "my own agent\n");
    assert_eq!(fs::read_to_string(root.join("IDENTITY.md")).unwrap(), "my persona\n");
    assert_eq!(
        fs::read_link(root.join(".claude/skills")).unwrap(),
        std::path::Path::new("../skills")
    );
    fs::create_dir_all(root.join("skills/x")).unwrap();
    assert!(root.join(".claude/skills/x").is_dir());
    let settings: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join(".claude/settings.json")).unwrap()).unwrap();
    assert_eq!(settings["autoMemoryEnabled"], serde_json::json!(false));
    fs::write(root.join("USER.md"), "  I like short answers.  \n").unwrap();
    assert_eq!(dd.load_profile().unwrap(), "my persona\n\nI like short answers.");
    assert!(dd.reflection_path("../x", "2026-04-08T07:02:00Z".parse().unwrap()).is_err());
    assert!(
        dd.reflection_path("morning-checkin", "2026-04-08T07:02:00Z".parse().unwrap())
            .unwrap()
            .ends_with("reflections/morning-checkin/2026-04-08T07-02-00Z.md")
    );
}

#[test]
fn adopting_the_reference_directory_commits_only_what_the_seed_tracks() {
    let (_tmp, root) = super::copy_fixture("typical");
    fs::write(root.join("state/token.json"), br#"{"refresh_token": "secret"}"#).unwrap();
    let dd = open(&root, &clock_at("2026-11-21T14:02:01-08:00"), true);
    assert!(dd.commit_all_changed("adopt existing files").unwrap());
    assert!(!dd.commit_all_changed("again").unwrap());
    let tracked: Vec<String> = git(&root, &["ls-files"]).lines().map(str::to_owned).collect();
    assert_eq!(
        tracked,
        [
            ".gitignore",
            "reminders/check-the-report.md",
            "reminders/take-a-break.md",
            "routines/email-triage.md",
            "routines/morning-check-in-review-my-tasks-and-calendar-for.md",
            "routines/weekly-review-2.md",
            "routines/weekly-review.md",
            "skills/email-triage/SKILL.md",
            "state/session_history.jsonl",
            "webhooks/github-pr.md",
        ]
    );
    let status = git(&root, &["status", "--porcelain", "--untracked-files=all"]);
    assert_eq!(status, "", "everything else is ignored");
}

/// `Options::auto_push`: every commit of the bot's writes reaches the remote in the background.
#[test]
fn auto_push_sends_the_bots_commits_to_its_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim-bot");
    let remote = tmp.path().join("remote.git");
    git(tmp.path(), &["init", "-q", "--bare", remote.to_str().unwrap()]);
    fs::create_dir_all(&root).unwrap();
    git(&root, &["init", "-q"]);
    git(&root, &["remote", "add", "origin", remote.to_str().unwrap()]);
    let options = dotdir::ollim::Options::new()
        .time_zone(super::pacific())
        .clock(clock_at("2026-11-21T08:00:00-08:00"))
        .git_identity_from_config(false)
        .durability(dotdir::atomic_store::Durability::None)
        .auto_push("origin");
    let dd = dotdir::ollim::DataDir::open(&root, options).unwrap();
    let _ = dd.save_routine(&Routine::new("0 8 * * *", "Morning check-in")).unwrap();
    let head = git(&root, &["rev-parse", "HEAD"]);
    let started = std::time::Instant::now();
    loop {
        let pushed = std::process::Command::new("git")
            .arg("-C")
            .arg(&remote)
            .args(["for-each-ref", "--format=%(objectname)", "refs/heads/"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&pushed.stdout).lines().any(|l| l == head.trim()) {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "never pushed: {:?}",
            dotdir::git_journal::push_status(&root.join(".git"))
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A cancelled reminder: removed, committed as the reference does, and a second removal finds
/// nothing (a retry after a failure is safe).
#[test]
fn a_cancelled_reminder_is_removed_and_committed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim-bot");
    let dd = open(&root, &clock_at("2026-11-21T08:00:00-08:00"), true);
    let reminder = Reminder::new("2026-11-21T09:00:00-08:00", "Stretch", 0);
    let path = dd.save_reminder(&reminder).unwrap();
    assert!(path.exists());
    assert!(dd.remove_reminder(&reminder.id).unwrap());
    assert!(!path.exists());
    assert_eq!(
        git(&root, &["log", "-1", "--format=%s"]).trim(),
        format!("remove reminder {}", reminder.id)
    );
    assert!(!dd.remove_reminder(&reminder.id).unwrap());
    assert_eq!(git(&root, &["status", "--porcelain", "reminders"]).trim(), "");
}
