//! Failures half-way through an operation (the cases `cargo xtask faults` found): a commit that
//! fails after its change is on disk is deferred — the call returns `Ok`, since retrying the
//! change would make it twice — and made later with its own message; a fired reminder is only
//! removed once its follow-up is saved.
//!
//! A commit is made to fail by replacing `.git/objects` with a file for the duration of one
//! call (the tests run as any user, root included, so permissions cannot be used).

use std::{fs, path::Path};

use dotdir::ollim::{Names, Reminder, Routine};

use dotdir_test_support::git;

use super::{clock_at, open};

/// Makes every commit of the repository at `root` fail until [`mend_git`].
fn break_git(root: &Path) {
    fs::rename(root.join(".git/objects"), root.join(".git/objects.off")).unwrap();
    fs::write(root.join(".git/objects"), "not a directory\n").unwrap();
}

fn mend_git(root: &Path) {
    fs::remove_file(root.join(".git/objects")).unwrap();
    fs::rename(root.join(".git/objects.off"), root.join(".git/objects")).unwrap();
}

/// The commit subjects, newest first.
fn subjects(root: &Path) -> Vec<String> {
    git(root, &["log", "--format=%s"]).lines().map(str::to_owned).collect()
}

/// What `git status` reports besides ignored files (empty: everything is committed).
fn uncommitted(root: &Path) -> String {
    git(root, &["status", "--porcelain", "--untracked-files=all"])
}

#[test]
fn a_removal_whose_commit_failed_is_committed_by_the_retry() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim");
    let dd = open(&root, &clock_at("2026-11-21T08:00:00-08:00"), true);
    let routine = Routine::new("30 8 * * *", "Morning check-in");
    dd.save_routine(&routine).unwrap();

    break_git(&root);
    let removed = dd.remove_routine(&routine.id);
    mend_git(&root);
    assert!(removed.unwrap(), "the removal is made; only its commit is deferred");
    // The file is gone, its removal is not committed yet, and the app can see that.
    assert!(!root.join("routines/morning-check-in.md").exists());
    assert_eq!(subjects(&root)[0], format!("add routine {}", routine.id));
    assert_eq!(uncommitted(&root), " D routines/morning-check-in.md\n");
    assert_eq!(dd.pending_commits().unwrap(), [format!("remove routine {}", routine.id)]);

    // A retry (a caller that did not trust the result) finds nothing to remove, and makes the
    // pending commit with its message.
    assert!(!dd.remove_routine(&routine.id).unwrap());
    assert!(dd.pending_commits().unwrap().is_empty());
    assert_eq!(subjects(&root)[0], format!("remove routine {}", routine.id));
    assert_eq!(uncommitted(&root), "");
    assert!(!root.join(".git/dotdir-pending-commits.json").exists());
}

#[test]
fn a_failed_commit_is_made_when_the_directory_is_opened_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim");
    let clock = clock_at("2026-11-21T08:00:00-08:00");
    let names = Names::new("Julian", "ollim");
    {
        let dd = open(&root, &clock, true);
        break_git(&root);
        let made = dd.bootstrap_identity(&names);
        mend_git(&root);
        assert!(made.unwrap());
        assert!(root.join("IDENTITY.md").exists());
        assert_eq!(uncommitted(&root), "?? IDENTITY.md\n");
    }
    // Another process (a restart) opens the directory: the commit is made with its message.
    let dd = open(&root, &clock, true);
    assert_eq!(subjects(&root), ["bootstrap IDENTITY.md", "update .gitignore"]);
    assert_eq!(uncommitted(&root), "");
    // Nothing is made twice.
    assert!(!dd.bootstrap_identity(&names).unwrap());
    assert_eq!(subjects(&root).len(), 2);
}

#[test]
fn pending_commits_are_made_in_order_before_the_next_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim");
    let dd = open(&root, &clock_at("2026-11-21T08:00:00-08:00"), true);
    let first = Routine::new("0 9 * * *", "First");
    let second = Routine::new("0 10 * * *", "Second");

    break_git(&root);
    let _ = dd.save_routine(&first).unwrap();
    let _ = dd.save_routine(&second).unwrap();
    mend_git(&root);
    assert_eq!(dd.pending_commits().unwrap().len(), 2);
    dd.write_profile("USER.md", "# User\n").unwrap();
    assert_eq!(
        subjects(&root),
        [
            "update USER.md".to_owned(),
            format!("add routine {}", second.id),
            format!("add routine {}", first.id),
            "update .gitignore".to_owned(),
        ]
    );
    assert_eq!(uncommitted(&root), "");
}

#[test]
fn a_fire_whose_commit_failed_keeps_the_chain_and_commits_later() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim");
    let dd = open(&root, &clock_at("2026-11-21T08:00:00-08:00"), true);
    let first = Reminder::new("2026-11-21T09:00:00-08:00", "take a break", 2);
    dd.save_reminder(&first).unwrap();
    let next_run = "2026-11-21T10:00:00-08:00";
    let follow_up = first.follow_up(next_run).unwrap();

    break_git(&root);
    let fired = dd.fire_reminder(&first.id, Some(next_run));
    mend_git(&root);
    assert_eq!(fired.unwrap().map(|r| r.id), Some(follow_up.id.clone()));
    // The chain goes on: the follow-up is saved (before the fired reminder was removed).
    let ids: Vec<String> =
        dd.list_reminders().unwrap().entries.iter().map(|e| e.spec.id.clone()).collect();
    assert_eq!(ids, [follow_up.id.as_str()]);

    // The retry finds the reminder fired, and makes the one pending commit.
    assert_eq!(dd.fire_reminder(&first.id, Some(next_run)).unwrap(), None);
    assert_eq!(
        subjects(&root)[..2],
        [
            format!("remove reminder {}, add reminder {}", first.id, follow_up.id),
            format!("add reminder {}", first.id),
        ]
    );
    assert_eq!(uncommitted(&root), "");
}

#[test]
fn firing_again_after_a_crash_between_the_steps_schedules_one_follow_up() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim");
    let dd = open(&root, &clock_at("2026-11-21T08:00:00-08:00"), true);
    let first = Reminder::new("2026-11-21T09:00:00-08:00", "take a break", 2);
    dd.save_reminder(&first).unwrap();
    let next_run = "2026-11-21T10:00:00-08:00";
    // What a fire killed between its two steps leaves: the follow-up and the fired reminder.
    dd.save_reminder(&first.follow_up(next_run).unwrap()).unwrap();
    assert_eq!(dd.list_reminders().unwrap().entries.len(), 2);

    // The fired reminder fires again: the same follow-up is rewritten, not a second one added.
    let follow_up = dd.fire_reminder(&first.id, Some(next_run)).unwrap().unwrap();
    assert_eq!(follow_up, first.follow_up(next_run).unwrap());
    assert_eq!((follow_up.chain_depth, follow_up.chain_parent.as_deref()), (1, Some(&*first.id)));
    let ids: Vec<String> =
        dd.list_reminders().unwrap().entries.iter().map(|e| e.spec.id.clone()).collect();
    assert_eq!(ids, [follow_up.id.as_str()]);
    assert_eq!(uncommitted(&root), "");
}

#[test]
fn follow_up_ids_are_stable_and_distinct() {
    let first = Reminder::new("2026-11-21T09:00:00-08:00", "x", 3);
    let a = first.follow_up("2026-11-21T10:00:00-08:00").unwrap();
    let b = first.follow_up("2026-11-21T11:00:00-08:00").unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(a.id.len(), 8);
    assert!(a.id.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let c = a.follow_up("2026-11-21T12:00:00-08:00").unwrap();
    let ids = [&first.id, &a.id, &c.id];
    assert!(ids.iter().enumerate().all(|(i, x)| ids[i + 1..].iter().all(|y| x != y)), "{ids:?}");
}

#[test]
fn a_change_left_uncommitted_by_a_killed_writer_is_committed_by_the_next_write() {
    // A writer killed between its change and its commit leaves no pending record: the next
    // open finds the change by comparing the tree with HEAD, and its first commit makes it.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim");
    let clock = clock_at("2026-11-21T08:00:00-08:00");
    let dd = open(&root, &clock, true);
    let saved = dd.save_routine(&Routine::new("0 9 * * *", "Check the mail")).unwrap();
    drop(dd);
    fs::write(&saved, fs::read_to_string(&saved).unwrap().replace("mail", "post")).unwrap();
    fs::write(root.join("routines/new.md"), "---\nid: new1\ncron: 0 8 * * *\n---\nHi\n").unwrap();
    assert_ne!(uncommitted(&root), "");
    let dd = open(&root, &clock, true);
    let _ = dd.save_routine(&Routine::new("0 7 * * *", "Stretch")).unwrap();
    assert_eq!(uncommitted(&root), "", "the first write committed both");
    let subjects = subjects(&root);
    // Newest first: its own commit, then the rest.
    assert_eq!(subjects[0], dotdir::git_journal::RECOVERED_MESSAGE, "{subjects:?}");
    assert!(subjects[1].starts_with("add routine"), "{subjects:?}");
}
