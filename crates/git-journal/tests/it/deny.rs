//! Deny by default: with an allow-list only declared files are committed, whatever the caller,
//! a killed writer or `git add -A` leaves in the directory; the generated `.gitignore` makes the
//! real `git` ignore exactly what the journal refuses.

use std::{fs, path::Path};

use dotdir_git_journal::{DeferringJournal, Error, Exclusions, Journal};
use dotdir_test_support::{git, git_output};

use crate::common::options;

/// ollim-bot's declaration, as the engine derives it.
fn ollim_like() -> Exclusions {
    Exclusions::new(["/state/token.json", "/state/credentials.json", "/.claude", "/state/bot.pid"])
        .unwrap()
        .allow_only([
            "IDENTITY.md",
            "routines/*.md",
            "reminders/*.md",
            "skills/*/SKILL.md",
            "skills/*/**",
            "downloads/**",
            "reflections/*/*.md",
            "state/session_history.jsonl",
            "*.md",
            "notes/**/keep.md",
        ])
        .unwrap()
}

/// Declared, excluded and undeclared paths, at every depth the patterns reach.
const PATHS: &[&str] = &[
    "IDENTITY.md",
    "NOTES.md",
    "routines/a.md",
    "routines/a.txt",
    "routines/sub/b.md",
    "reminders/r.md",
    "skills/s/SKILL.md",
    "skills/s/script.py",
    "skills/s/deep/data.json",
    "skills/loose.md",
    "downloads/x.pdf",
    "downloads/a/b/c.bin",
    "reflections/job/2026.md",
    "reflections/job/2026.txt",
    "reflections/x.md",
    "state/session_history.jsonl",
    "state/session_history.jsonl.bak",
    "state/token.json",
    "state/token.json.bak",
    "state/credentials.json",
    "state/routine_sessions/abc",
    "state/bot.pid",
    "State/Token.json",
    ".env",
    ".npmrc",
    ".claude/settings.json",
    "notes/keep.md",
    "notes/a/b/keep.md",
    "notes/a/other.md",
    "other/x.md",
    "routines/a.md.lock",
    "a.lock",
];

fn write_all(dir: &Path) {
    for rel in PATHS {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("content of {rel}\n")).unwrap();
    }
}

#[test]
fn the_generated_gitignore_ignores_exactly_what_the_journal_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let exclusions = ollim_like();
    let journal = Journal::open(tmp.path(), options().exclusions(exclusions.clone())).unwrap();
    write_all(tmp.path());
    // What the real git would pick up with `git add -A`: everything it does not ignore.
    let listed = git(tmp.path(), &["ls-files", "--others", "--exclude-standard"]);
    let mut seen_by_git: Vec<&str> = listed.lines().collect();
    seen_by_git.sort_unstable();
    let mut allowed: Vec<&str> = PATHS.iter().copied().filter(|p| exclusions.allows(p)).collect();
    allowed.sort_unstable();
    assert_eq!(seen_by_git, allowed, "git's view and the journal's allow-list differ");
    for must in ["routines/a.md", "skills/s/deep/data.json", "notes/a/b/keep.md", "NOTES.md"] {
        assert!(allowed.contains(&must), "{must} must be declared");
    }
    for never in [".env", "state/token.json.bak", "state/routine_sessions/abc", "State/Token.json"]
    {
        assert!(!allowed.contains(&never), "{never} must not be declared");
    }
    drop(journal);
}

#[test]
fn undeclared_paths_are_refused_and_never_swept_into_a_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let journal = Journal::open(tmp.path(), options().exclusions(ollim_like())).unwrap();
    write_all(tmp.path());
    for rel in [".env", "state/token.json.bak", "state/routine_sessions/abc", "other/x.md"] {
        match journal.commit_path(rel, "by hand") {
            Err(Error::Undeclared { path }) => assert_eq!(path, Path::new(rel)),
            other => panic!("{rel}: expected Undeclared, got {other:?}"),
        }
    }
    // A directory holding declared and undeclared files: only the declared ones.
    let _ = journal.commit_path("routines", "routines").unwrap();
    // What a killed writer left, and everything else: only declared files.
    let _ = journal.commit_all_changed("everything").unwrap();
    let tracked = git(tmp.path(), &["ls-tree", "-r", "--name-only", "HEAD"]);
    let exclusions = ollim_like();
    for line in tracked.lines() {
        assert!(exclusions.allows(line), "{line} was committed but is not declared");
    }
    assert!(tracked.lines().any(|l| l == "routines/a.md"), "{tracked}");
    assert!(tracked.lines().any(|l| l == "state/session_history.jsonl"), "{tracked}");
    assert!(journal.uncommitted().unwrap().is_empty(), "undeclared files are not 'uncommitted'");
}

#[test]
fn a_deferring_journal_opened_over_undeclared_files_commits_none_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    drop(Journal::open(tmp.path(), options().exclusions(ollim_like())).unwrap());
    write_all(tmp.path());
    let journal = DeferringJournal::open(
        tmp.path(),
        options().exclusions(ollim_like()),
        dotdir_atomic_store::Durability::None,
    )
    .unwrap();
    fs::write(tmp.path().join("routines/new.md"), "new\n").unwrap();
    let _ = journal.commit_paths(&[Path::new("routines/new.md")], "add routine new").unwrap();
    let tracked = git(tmp.path(), &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(tracked.lines().any(|l| l == "routines/new.md"), "{tracked}");
    for line in tracked.lines() {
        assert!(ollim_like().allows(line), "{line} was committed but is not declared");
    }
}

#[test]
fn the_block_ends_the_gitignore_so_a_user_negation_cannot_unignore_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join(".gitignore"), "mine\n!state/credentials.json\n").unwrap();
    let journal = Journal::open(tmp.path(), options().exclusions(ollim_like())).unwrap();
    fs::create_dir_all(tmp.path().join("state")).unwrap();
    fs::write(tmp.path().join("state/credentials.json"), "{}").unwrap();
    let out = git_output(tmp.path(), &["check-ignore", "-q", "state/credentials.json"]);
    assert!(out.status.success(), "git must ignore the secret despite the user's negation");
    let text = fs::read_to_string(tmp.path().join(".gitignore")).unwrap();
    assert!(text.starts_with("mine\n!state/credentials.json\n"), "user lines kept: {text}");
    drop(journal);
}
