//! Deny by default beside the real ollim-bot: the generated `.gitignore` lets the bot's own
//! `git add <path>` + `git commit -- <path>` (`storage.py`'s `git_commit`) commit every kind of
//! file it tracks, and keeps everything else — undeclared files, secrets, copies of secrets —
//! out of git; an extension of the layout is followed by the typed handle.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use dotdir::{Entry, Format, Layout, ollim};

use super::{clock_at, copy_fixture, pacific};

/// `git` as the reference runs it: in the data directory, with a throwaway identity.
fn real_git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "ollim-bot")
        .env("GIT_AUTHOR_EMAIL", "bot@test.invalid")
        .env("GIT_COMMITTER_NAME", "ollim-bot")
        .env("GIT_COMMITTER_EMAIL", "bot@test.invalid")
        .output()
        .unwrap()
}

fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_name() == ".git" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            files_under(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().to_str().unwrap().to_owned());
        }
    }
}

fn open(root: &Path, layout: &'static Layout) -> ollim::DataDir {
    let options = ollim::Options::new()
        .time_zone(pacific())
        .clock(clock_at("2026-11-21T22:00:00Z"))
        .git_identity_from_config(false)
        .durability(dotdir::atomic_store::Durability::None)
        .layout(layout);
    ollim::DataDir::open(root, options).unwrap()
}

#[test]
fn the_bots_own_git_add_and_commit_work_on_every_tracked_kind_and_nothing_else() {
    for fixture in ["typical", "hazards"] {
        let (_tmp, root) = copy_fixture(fixture);
        // What the agent and the bot also write beside the fixture's files.
        for (rel, text) in [
            ("NOTES.md", "a note the agent wrote\n"),
            ("IDENTITY.md", "persona\n"),
            ("USER.md", "the user\n"),
            ("tool-policy.yaml", "allow: []\n"),
            ("reflections/email-triage/2026-11-21T22-00-00Z.md", "trace\n"),
            ("downloads/report.pdf", "%PDF\n"),
            ("webhooks/deploy.md", "---\nid: \"deploy\"\n---\nbody\n"),
            ("skills/email-triage/helper.py", "print()\n"),
            // Undeclared and secret-shaped files a person or a newer bot leaves.
            (".env", "API_KEY=canary\n"),
            ("state/token.json", "{\"token\": \"canary\"}\n"),
            ("state/token.json.bak", "{\"token\": \"canary\"}\n"),
            ("state/routine_sessions/abc", "session-id\n"),
            ("routines/draft.txt", "draft\n"),
        ] {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, text).unwrap();
        }
        drop(open(&root, &ollim::LAYOUT));
        let exclusions = ollim::LAYOUT.journal_exclusions();
        let mut files = Vec::new();
        files_under(&root, &root, &mut files);
        files.sort();
        let mut committed = 0;
        for rel in &files {
            let add = real_git(&root, &["add", rel]);
            if exclusions.allows(rel) {
                assert!(add.status.success(), "{fixture}: git add {rel}: {add:?}");
                let message = format!("auto: write {rel}");
                let commit = real_git(&root, &["commit", "-q", "-m", &message, "--", rel]);
                let listed = real_git(&root, &["ls-tree", "--name-only", "HEAD", "--", rel]);
                let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
                // `.gitignore` was committed by the journal already: nothing to commit.
                if rel != ".gitignore" {
                    assert!(commit.status.success(), "{fixture}: git commit -- {rel}: {commit:?}");
                }
                assert_eq!(listed.trim(), rel, "{fixture}: {rel} is not in HEAD");
                committed += 1;
            } else {
                assert!(
                    !add.status.success(),
                    "{fixture}: git add {rel} must be refused (ignored)"
                );
            }
        }
        let kinds = [
            "routines/",
            "reminders/",
            "skills/",
            "state/session_history.jsonl",
            "NOTES.md",
            "reflections/",
            "downloads/",
            "webhooks/",
            "tool-policy.yaml",
        ];
        let head = String::from_utf8(real_git(&root, &["ls-files"]).stdout).unwrap();
        for kind in kinds {
            assert!(
                head.lines().any(|l| l.starts_with(kind)) || fixture == "hazards",
                "{fixture}: no {kind} committed:\n{head}"
            );
        }
        assert!(committed >= 8, "{fixture}: only {committed} tracked files");
        for never in
            [".env", "state/token.json", "state/token.json.bak", "state/routine_sessions/abc"]
        {
            assert!(!head.lines().any(|l| l == never), "{fixture}: {never} is tracked");
        }
    }
}

const PLUGINS: Layout = Layout::extend(
    &ollim::LAYOUT,
    &[
        Entry::file("plugins/*.json", Format::Json, "a plugin's API token").secret(),
        Entry::file("plugins/*.md", Format::Text, "a plugin's notes"),
    ],
);

#[test]
fn an_extended_layout_is_followed_for_modes_gitignore_and_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim");
    let data = open(&root, &PLUGINS);
    let tracked =
        data.write_declared("plugins/slack.json", b"{\"token\": \"canary-x\"}", "x").unwrap();
    assert!(!tracked, "a secret is never tracked");
    let mode = fs::metadata(root.join("plugins/slack.json")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(data.write_declared("plugins/slack.md", b"notes\n", "plugin notes").unwrap());
    // A second open (any later process) keeps the same .gitignore: no rewrite, no commit.
    let gitignore = fs::read_to_string(root.join(".gitignore")).unwrap();
    drop(data);
    let before =
        String::from_utf8(real_git(&root, &["rev-list", "--count", "HEAD"]).stdout).unwrap();
    let data = open(&root, &PLUGINS);
    assert_eq!(fs::read_to_string(root.join(".gitignore")).unwrap(), gitignore);
    let after =
        String::from_utf8(real_git(&root, &["rev-list", "--count", "HEAD"]).stdout).unwrap();
    assert_eq!(before, after, "reopening rewrote .gitignore");
    // The first commit after open sweeps what was left uncommitted: never the plugin token.
    // A token left behind by hand, and an undeclared file, before that first commit.
    fs::write(root.join("plugins/slack.json.bak"), "{\"token\": \"canary-x\"}").unwrap();
    fs::write(root.join(".env"), "KEY=canary-x\n").unwrap();
    let _ = data.save_routine(&ollim::Routine::new("0 8 * * *", "Morning check-in")).unwrap();
    let files = String::from_utf8(real_git(&root, &["ls-files"]).stdout).unwrap();
    assert!(files.lines().any(|l| l == "plugins/slack.md"), "{files}");
    assert!(!files.contains("plugins/slack.json"), "{files}");
    assert!(!files.lines().any(|l| l == ".env"), "{files}");
    assert!(files.lines().any(|l| l.starts_with("routines/")), "{files}");
    let objects = real_git(&root, &["cat-file", "--batch-all-objects", "--batch"]);
    assert!(!String::from_utf8_lossy(&objects.stdout).contains("canary-x"));
    // git itself ignores it.
    assert!(real_git(&root, &["check-ignore", "-q", "plugins/slack.json"]).status.success());
    // Undeclared paths and directories are refused.
    assert!(data.write_declared("plugins/x/y.json", b"{}", "x").is_err());
    assert!(data.write_declared("../escape.json", b"{}", "x").is_err());
    assert!(!root.parent().unwrap().join("escape.json").exists());
}

#[test]
fn a_layout_that_is_not_ollim_bots_is_refused() {
    const OTHER: Layout = Layout::new("other", "not ollim", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let options = ollim::Options::new().track_in_git(false).layout(&OTHER);
    let error = ollim::DataDir::open(tmp.path().join("x"), options).unwrap_err();
    assert!(error.to_string().contains("extension"), "{error}");
    let _: PathBuf = tmp.path().join("x");
}
