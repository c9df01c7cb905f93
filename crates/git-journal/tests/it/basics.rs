//! Opening, `.gitignore`, additions, modifications, deletions, batches, identities, and what the
//! `git` command line sees.

use std::{fs, os::unix::fs::symlink};

use dotdir_atomic_store::WriteOptions;
use dotdir_git_journal::{Error, Exclusions, Identity, Journal, JournalOptions};
use dotdir_test_support::{git, git_output};

use crate::common::{assert_fsck_clean, assert_status_clean, history, options};

#[test]
fn open_initialises_and_commits_the_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    assert!(dir.path().join(".git").is_dir());
    let gitignore = fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert!(gitignore.contains("\n/state/token.json\n"), "{gitignore}");
    assert!(gitignore.contains("\n/.claude/agents/*.md\n"), "{gitignore}");
    assert!(gitignore.contains("\n*.dotdir-tmp\n"), "{gitignore}");
    assert_eq!(history(dir.path()), [("journal: update .gitignore".to_owned(), 0)]);
    assert_eq!(git(dir.path(), &["symbolic-ref", "HEAD"]), "refs/heads/main\n");
    assert_status_clean(dir.path());
    // Opening again changes nothing.
    let head = journal.head().unwrap();
    drop(journal);
    let journal = Journal::open(dir.path(), options()).unwrap();
    assert_eq!(journal.head().unwrap(), head);
    assert_eq!(history(dir.path()).len(), 1);
}

#[test]
fn gitignore_keeps_user_lines_and_follows_the_list() {
    let dir = tempfile::tempdir().unwrap();
    drop(Journal::open(dir.path(), options()).unwrap());
    let path = dir.path().join(".gitignore");
    let mut text = fs::read_to_string(&path).unwrap();
    text.insert_str(0, "# mine\nnotes/\n");
    fs::write(&path, &text).unwrap();
    let more = options().exclusions(
        Exclusions::new(crate::common::OLLIM_EXCLUSIONS.iter().copied().chain(["cache/**"]))
            .unwrap(),
    );
    let journal = Journal::open(dir.path(), more).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# mine\nnotes/\n# >>> dotdir-git-journal"), "{text}");
    assert!(text.contains("\n/cache/**\n"), "{text}");
    assert_eq!(history(dir.path())[0].0, "journal: update .gitignore");
    assert_eq!(git(dir.path(), &["show", "HEAD:.gitignore"]), text);
    assert_eq!(journal.sync_gitignore().unwrap(), None);
}

#[test]
fn never_uses_an_ancestors_repository() {
    let outer = tempfile::tempdir().unwrap();
    git(outer.path(), &["init", "-q", "-b", "outer"]);
    let data = outer.path().join("home/.ollim-bot");
    let journal = Journal::open(&data, options()).unwrap();
    assert_eq!(journal.git_dir(), data.canonicalize().unwrap().join(".git"));
    journal.write("routines/a.md", b"a", &WriteOptions::new(), "add routine a").unwrap();
    // The outer repository has no commit at all; the inner one has ours.
    assert!(!git_output(outer.path(), &["rev-parse", "--verify", "-q", "HEAD"]).status.success());
    assert_eq!(history(&data)[0].0, "add routine a");
    assert_eq!(
        git(&data, &["rev-parse", "--show-toplevel"]).trim(),
        data.canonicalize().unwrap().to_str().unwrap()
    );
}

#[test]
fn a_repository_whose_work_tree_is_elsewhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "--bare", "."]);
    let err = Journal::open(dir.path(), options()).unwrap_err();
    assert!(matches!(err, Error::NotAWorkTree { .. }), "{err}");

    let other = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    git(other.path(), &["init", "-q"]);
    git(other.path(), &["config", "core.worktree", elsewhere.path().to_str().unwrap()]);
    let err = Journal::open(other.path(), options()).unwrap_err();
    assert!(matches!(err, Error::NotAWorkTree { .. }), "{err}");
    // Nothing was written into either place.
    assert!(!other.path().join(".gitignore").exists());
    assert!(!elsewhere.path().join(".gitignore").exists());
}

#[test]
fn add_modify_delete_and_nothing_to_commit() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let write = WriteOptions::new();
    let added = journal.write("routines/a.md", b"one", &write, "add routine a").unwrap();
    assert!(added.is_some());
    assert_eq!(journal.head().unwrap(), added);
    assert_eq!(git(dir.path(), &["show", "HEAD:routines/a.md"]), "one");
    assert_status_clean(dir.path());

    // Same content: no commit.
    assert_eq!(journal.write("routines/a.md", b"one", &write, "again").unwrap(), None);
    assert_eq!(journal.commit_path("routines/a.md", "again").unwrap(), None);
    assert_eq!(journal.head().unwrap(), added);

    // A change made outside the journal, committed by path.
    fs::write(dir.path().join("routines/a.md"), "two").unwrap();
    let modified = journal.commit_path("routines/a.md", "edit routine a").unwrap();
    assert!(modified.is_some() && modified != added);
    assert_eq!(git(dir.path(), &["show", "HEAD:routines/a.md"]), "two");
    assert_status_clean(dir.path());

    // A deletion made outside the journal.
    fs::remove_file(dir.path().join("routines/a.md")).unwrap();
    assert!(journal.commit_path("routines/a.md", "remove routine a").unwrap().is_some());
    assert!(!git_output(dir.path(), &["cat-file", "-e", "HEAD:routines/a.md"]).status.success());
    // The empty directory is gone from the tree too.
    assert!(!git_output(dir.path(), &["cat-file", "-e", "HEAD:routines"]).status.success());
    assert_status_clean(dir.path());
    // Deleting what is not there: nothing to commit.
    assert_eq!(journal.commit_path("routines/a.md", "again").unwrap(), None);
    assert_eq!(journal.remove("never/was.md", "nothing").unwrap(), None);

    let subjects: Vec<String> = history(dir.path()).into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        subjects,
        ["remove routine a", "edit routine a", "add routine a", "journal: update .gitignore"]
    );
    assert_fsck_clean(dir.path());
}

#[test]
fn a_batch_is_one_commit_and_a_directory_is_walked() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("reminders")).unwrap();
    fs::create_dir_all(root.join("skills/focus")).unwrap();
    fs::write(root.join("reminders/r1.md"), "r1").unwrap();
    fs::write(root.join("reminders/r2.md"), "r2").unwrap();
    fs::write(root.join("skills/focus/SKILL.md"), "skill").unwrap();
    let id = journal
        .commit_paths(&["reminders/r1.md", "reminders/r2.md", "skills/focus"], "batch")
        .unwrap();
    assert!(id.is_some());
    assert_eq!(
        git(root, &["ls-tree", "-r", "--name-only", "HEAD"]),
        ".gitignore\nreminders/r1.md\nreminders/r2.md\nskills/focus/SKILL.md\n"
    );
    // Addition, modification and deletion in one batch.
    fs::remove_file(root.join("reminders/r1.md")).unwrap();
    fs::write(root.join("reminders/r2.md"), "r2 changed").unwrap();
    fs::write(root.join("reminders/r3.md"), "r3").unwrap();
    journal
        .commit_paths(&["reminders/r1.md", "reminders/r2.md", "reminders/r3.md"], "batch 2")
        .unwrap();
    assert_eq!(
        git(root, &["show", "--name-status", "--format=", "HEAD"]),
        "D\treminders/r1.md\nM\treminders/r2.md\nA\treminders/r3.md\n"
    );
    // A directory removed on disk: everything under it leaves the tree.
    fs::remove_dir_all(root.join("skills")).unwrap();
    journal.commit_path("skills", "remove skills").unwrap();
    assert_eq!(
        git(root, &["ls-tree", "-r", "--name-only", "HEAD"]),
        ".gitignore\nreminders/r2.md\nreminders/r3.md\n"
    );
    assert_status_clean(root);
    assert_fsck_clean(root);
}

#[test]
fn the_command_line_sees_normal_commits() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let write = WriteOptions::new();
    journal
        .write("state/session_history.jsonl", b"{\"e\":1}\n", &write, "session started: abcdef12")
        .unwrap();
    journal.write("routines/x.md", b"x", &write, "add routine x").unwrap();
    let log = git(dir.path(), &["log", "--format=%an <%ae>|%cn|%s"]);
    assert_eq!(
        log,
        "Journal Test <journal@test.invalid>|Journal Test|add routine x\n\
         Journal Test <journal@test.invalid>|Journal Test|session started: abcdef12\n\
         Journal Test <journal@test.invalid>|Journal Test|journal: update .gitignore\n"
    );
    assert_status_clean(dir.path());
    // The reflog was written too, as git writes it.
    let reflog = git(dir.path(), &["reflog", "--format=%gs"]);
    assert!(reflog.starts_with("commit: add routine x\n"), "{reflog}");
    // git can keep working on top of our commits, and we on top of git's.
    fs::write(dir.path().join("notes.txt"), "by hand").unwrap();
    git(dir.path(), &["add", "notes.txt"]);
    git(dir.path(), &["commit", "-q", "-m", "by hand"]);
    journal.write("routines/x.md", b"y", &write, "edit routine x").unwrap();
    let subjects: Vec<String> = history(dir.path()).into_iter().map(|(s, _)| s).collect();
    assert_eq!(subjects[..3], ["edit routine x", "by hand", "add routine x"]);
    assert_status_clean(dir.path());
    assert_fsck_clean(dir.path());
}

#[test]
fn other_staged_changes_are_left_staged() {
    // Like `git commit -- <path>`: a person's staged work is not swept into a journal commit.
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    fs::write(dir.path().join("draft.md"), "draft").unwrap();
    git(dir.path(), &["add", "draft.md"]);
    journal.write("routines/a.md", b"a", &WriteOptions::new(), "add routine a").unwrap();
    assert_eq!(git(dir.path(), &["ls-tree", "--name-only", "HEAD"]), ".gitignore\nroutines\n");
    assert_eq!(git(dir.path(), &["status", "--porcelain"]), "A  draft.md\n");
}

#[test]
fn identity_comes_from_git_config_or_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let configured = JournalOptions { identity_from_git_config: true, ..options() };
    drop(Journal::open(dir.path(), options()).unwrap());
    git(dir.path(), &["config", "user.name", "Configured Person"]);
    git(dir.path(), &["config", "user.email", "person@test.invalid"]);
    let journal = Journal::open(dir.path(), configured).unwrap();
    journal.write("a.txt", b"a", &WriteOptions::new(), "a").unwrap();
    assert_eq!(
        git(dir.path(), &["log", "-1", "--format=%an <%ae> %cn"]),
        "Configured Person <person@test.invalid> Configured Person\n"
    );

    // Configured identity ignored when asked: the fallback is used.
    let fallback = options().identity(Identity::new("Fallback Bot", "bot@test.invalid"));
    let journal = Journal::open(dir.path(), fallback).unwrap();
    journal.write("a.txt", b"b", &WriteOptions::new(), "b").unwrap();
    assert_eq!(
        git(dir.path(), &["log", "-1", "--format=%an <%ae>"]),
        "Fallback Bot <bot@test.invalid>\n"
    );
}

#[test]
fn invalid_paths_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    let outside = tempfile::tempdir().unwrap();
    for bad in ["", ".", "../x", "a/../../x", ".git/config", "sub/.GIT/x", "/etc/passwd", "a\nb"] {
        let err = journal.commit_path(bad, "bad").unwrap_err();
        assert!(matches!(err, Error::InvalidPath { .. }), "{bad:?}: {err}");
    }
    let err = journal.commit_path(outside.path().join("x"), "bad").unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err}");
    // An absolute path inside the directory is fine, also through a link to the directory.
    fs::write(dir.path().join("abs.txt"), "abs").unwrap();
    assert!(journal.commit_path(journal.dir().join("abs.txt"), "abs").unwrap().is_some());
    let alias = outside.path().join("alias");
    symlink(dir.path(), &alias).unwrap();
    let through_alias = Journal::open(&alias, options()).unwrap();
    fs::write(dir.path().join("abs.txt"), "abs 2").unwrap();
    assert!(through_alias.commit_path(alias.join("abs.txt"), "abs 2").unwrap().is_some());
    // A path through a symbolic link is refused, even to a place inside.
    fs::create_dir(outside.path().join("real")).unwrap();
    fs::write(outside.path().join("real/file"), "outside").unwrap();
    symlink(outside.path().join("real"), dir.path().join("link")).unwrap();
    let err = journal.commit_path("link/file", "bad").unwrap_err();
    assert!(matches!(err, Error::BeyondSymlink { .. }), "{err}");
    // A FIFO is not something to commit.
    let status =
        std::process::Command::new("mkfifo").arg(dir.path().join("fifo")).status().unwrap();
    assert!(status.success());
    let err = journal.commit_path("fifo", "bad").unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err}");
    // Nothing of that reached HEAD.
    assert_eq!(git(dir.path(), &["ls-tree", "-r", "--name-only", "HEAD"]), ".gitignore\nabs.txt\n");
}

#[test]
fn a_symlink_is_committed_as_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options()).unwrap();
    symlink("target/elsewhere", dir.path().join("link")).unwrap();
    journal.commit_path("link", "add link").unwrap();
    assert_eq!(
        git(dir.path(), &["ls-tree", "HEAD", "link"]).split_whitespace().next(),
        Some("120000")
    );
    assert_eq!(git(dir.path(), &["cat-file", "-p", "HEAD:link"]), "target/elsewhere");
    assert_status_clean(dir.path());
}

#[test]
fn a_git_file_pointing_elsewhere_is_refused_and_the_other_repository_untouched() {
    let elsewhere = tempfile::tempdir().unwrap();
    dotdir_test_support::git(elsewhere.path(), &["init", "-q", "-b", "main"]);
    let before = std::fs::read_dir(elsewhere.path().join(".git")).unwrap().count();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".git"),
        format!("gitdir: {}\n", elsewhere.path().join(".git").display()),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.md"), "x").unwrap();
    match dotdir_git_journal::Journal::open(dir.path(), crate::common::options()) {
        Err(dotdir_git_journal::Error::NotAWorkTree { reason, .. }) => {
            assert!(reason.contains("gitdir"), "{reason}");
        }
        other => panic!("a .git file was followed: {other:?}"),
    }
    assert!(!elsewhere.path().join(".git/index").exists(), "the other repository was written");
    assert_eq!(std::fs::read_dir(elsewhere.path().join(".git")).unwrap().count(), before);
}
