//! Symbolic links planted inside `.git/` at what a commit writes through: libgit2 would follow
//! them (append a reflog, write a ref or the index outside the data directory), so the journal
//! refuses the commit before writing anything, and commits again once the link is gone.

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
};

use dotdir_git_journal::{Error, Journal};
use dotdir_test_support::git;

use crate::common::{assert_fsck_clean, history, no_fsync, options};

/// Every file under `root` with its content (directories by their files).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}

/// Moves `<git dir>/<rel>` out of the data directory and leaves a symbolic link to it in its
/// place (a working ref, reflog or index, only elsewhere), then checks that a commit is refused
/// without touching anything, and that it goes through once the real path is back.
fn check(rel: &str) {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let journal = Journal::open(data.path(), options()).unwrap();
    journal.write("notes/a.md", b"one\n", &no_fsync(), "add a").unwrap();
    let git_dir = journal.git_dir().to_path_buf();
    let rel = if rel == "objects/??" {
        // A directory of loose objects (the next commit may write into any of them).
        let name = fs::read_dir(git_dir.join("objects"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|n| n.len() == 2)
            .unwrap();
        format!("objects/{name}")
    } else {
        rel.to_owned()
    };
    let commits = history(data.path()).len();
    let planted = git_dir.join(&rel);
    let moved = outside.path().join("moved");
    fs::rename(&planted, &moved).unwrap();
    symlink(&moved, &planted).unwrap();
    let before = snapshot(outside.path());

    match journal.write("notes/a.md", b"two\n", &no_fsync(), "update a") {
        Err(Error::SymlinkInGitDir { path }) => assert_eq!(path, planted, "{rel}"),
        other => panic!("{rel}: {other:?}"),
    }
    assert_eq!(snapshot(outside.path()), before, "{rel}: a write landed outside");
    assert_eq!(fs::read(data.path().join("notes/a.md")).unwrap(), b"one\n", "{rel}");
    // A journal opened on the directory now (another process) does not open (libgit2 may
    // refuse such a repository) or is refused too.
    drop(journal);
    if let Ok(reopened) = Journal::open(data.path(), options()) {
        let result = reopened.commit_path("notes/a.md", "again");
        assert!(matches!(result, Err(Error::SymlinkInGitDir { .. })), "{rel}: {result:?}");
    }
    assert_eq!(snapshot(outside.path()), before, "{rel}: a write landed outside");

    fs::remove_file(&planted).unwrap();
    fs::rename(&moved, &planted).unwrap();
    let reopened = Journal::open(data.path(), options()).unwrap();
    assert!(reopened.write("notes/a.md", b"two\n", &no_fsync(), "update a").unwrap().is_some());
    assert_eq!(history(data.path()).len(), commits + 1, "{rel}");
    assert_fsck_clean(data.path());
}

#[test]
fn a_symlinked_reflog_refuses_the_commit() {
    check("logs/HEAD");
    check("logs/refs/heads/main");
}

#[test]
fn a_symlinked_reflog_directory_refuses_the_commit() {
    check("logs");
    check("logs/refs");
    check("logs/refs/heads");
}

#[test]
fn a_symlinked_branch_ref_or_its_directory_refuses_the_commit() {
    check("refs/heads/main");
    check("refs/heads");
    check("refs");
}

#[test]
fn a_symlinked_head_index_or_object_directory_refuses_the_commit() {
    check("HEAD");
    check("index");
    check("objects");
    check("objects/??");
}

/// A symlink to where nothing is yet (libgit2 would create the reflog or ref there).
#[test]
fn a_dangling_symlink_at_a_missing_reflog_refuses_the_commit() {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let journal = Journal::open(data.path(), options()).unwrap();
    let reflog = journal.git_dir().join("logs/refs/heads/main");
    fs::remove_file(&reflog).unwrap();
    symlink(outside.path().join("missing"), &reflog).unwrap();
    assert!(matches!(
        journal.write("a.md", b"a\n", &no_fsync(), "add a"),
        Err(Error::SymlinkInGitDir { .. })
    ));
    assert!(!outside.path().join("missing").exists());
    assert!(!data.path().join("a.md").exists(), "nothing is written before the check");
}

/// The check leaves reflogs on: `git log -g` shows every journal commit.
#[test]
fn reflogs_stay_on() {
    let data = tempfile::tempdir().unwrap();
    let journal = Journal::open(data.path(), options()).unwrap();
    journal.write("a.md", b"a\n", &no_fsync(), "add a").unwrap();
    journal.write("a.md", b"b\n", &no_fsync(), "update a").unwrap();
    let reflog = git(data.path(), &["log", "-g", "--format=%gs"]);
    assert_eq!(
        reflog.lines().collect::<Vec<_>>(),
        ["commit: update a", "commit: add a", "commit (initial): journal: update .gitignore"]
    );
}
