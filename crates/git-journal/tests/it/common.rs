//! Helpers shared by the test modules: assertions over the real `git` command line (from
//! `dotdir-test-support`), options, children.

use std::{path::Path, process::Command};

use dotdir_git_journal::{Exclusions, Identity, JournalOptions};
use dotdir_test_support::{git, git_output};

/// The ollim-bot seed's "not git-committed" table, as exclusion patterns.
pub(crate) const OLLIM_EXCLUSIONS: &[&str] = &[
    "state/ping_budget.json",
    "state/bot.pid",
    "state/credentials.json",
    "state/token.json",
    "state/sessions.json",
    "state/fork_messages.json",
    "state/pending_updates.json",
    "state/inquiries.json",
    "state/config.json",
    ".claude/agents/*.md",
    ".claude/skills",
];

/// Fast, deterministic options: the ollim exclusions, a fixed identity, no fsync (these tests
/// kill processes, they do not cut power).
pub(crate) fn options() -> JournalOptions {
    JournalOptions::new()
        .exclusions(Exclusions::new(OLLIM_EXCLUSIONS).unwrap())
        .identity(Identity::new("Journal Test", "journal@test.invalid"))
        .identity_from_git_config(false)
        .durability(dotdir_atomic_store::Durability::None)
        .initial_branch("main")
}

/// File writes without fsync: these tests kill processes, they do not cut power, and the
/// machine's disk is shared.
pub(crate) fn no_fsync() -> dotdir_atomic_store::WriteOptions {
    dotdir_atomic_store::WriteOptions::new().durability(dotdir_atomic_store::Durability::None)
}

/// `git fsck --full --strict` exits 0 and reports nothing but dangling objects.
pub(crate) fn assert_fsck_clean(dir: &Path) {
    let out = git_output(dir, &["fsck", "--full", "--strict", "--no-progress"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "git fsck failed:\n{stdout}\n{stderr}");
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(line.starts_with("dangling "), "git fsck reported: {line}\n{stdout}\n{stderr}");
    }
}

/// `git status --porcelain` (untracked files included) is empty.
pub(crate) fn assert_status_clean(dir: &Path) {
    let status = git(dir, &["status", "--porcelain", "--untracked-files=all"]);
    assert_eq!(status, "", "git status is not clean");
}

pub(crate) use dotdir_test_support::{child_role, knob};

/// This test binary, running only `test` (with output), as the child `role`, with git's
/// system and global configuration out of the way.
pub(crate) fn child(test: &str, role: &str) -> Command {
    let mut command = dotdir_test_support::child(test, role);
    command.arg("-q").env("GIT_CONFIG_NOSYSTEM", "1").env("GIT_CONFIG_GLOBAL", "/dev/null");
    command
}

/// Subjects of the commits reachable from HEAD, newest first, with their parent counts.
pub(crate) fn history(dir: &Path) -> Vec<(String, usize)> {
    let log = git(dir, &["log", "--format=%P%x09%s"]);
    log.lines()
        .map(|line| {
            let (parents, subject) = line.split_once('\t').unwrap();
            (subject.to_owned(), parents.split_whitespace().count())
        })
        .collect()
}
