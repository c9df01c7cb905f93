//! `dotdir clone` of a hostile repository: a tracked symlink that points out of the directory,
//! a `.git` entry anywhere in the tree (whatever its case), or a `.gitignore` that un-ignores a
//! declared secret. The first two are refused before anything is checked out, the last once
//! git's own ignore stack is asked about each secret in the checkout; nothing is kept.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use dotdir_test_support::{git, git_with_input};

use crate::{Env, code, demo_dirs, stderr, stdout};

/// A repository that fits the ollim-bot layout (a clone of the demo's journal), to be made
/// hostile by a commit on top.
fn fitting_source(env: &Env, tmp: &Path) -> PathBuf {
    let [ollim, _, _] = demo_dirs(env, tmp);
    let source = tmp.join("source");
    let output =
        Command::new("git").args(["clone", "-q", "--"]).arg(&ollim).arg(&source).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    source
}

/// `tree` (a tree id, or `None` for an empty one) with `entry` (`mode type id`) at `path`.
fn with_entry(repo: &Path, tree: Option<&str>, path: &[&str], entry: &str) -> String {
    let listing = tree.map(|tree| git(repo, &["ls-tree", tree])).unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    let mut existing = None;
    for line in listing.lines() {
        let (meta, name) = line.split_once('\t').unwrap();
        if name == path[0] {
            existing = Some(meta.split_whitespace().nth(2).unwrap().to_owned());
        } else {
            lines.push(line.to_owned());
        }
    }
    let line = if path.len() == 1 {
        format!("{entry}\t{}", path[0])
    } else {
        let subtree = with_entry(repo, existing.as_deref(), &path[1..], entry);
        format!("040000 tree {subtree}\t{}", path[0])
    };
    lines.push(line);
    let mut input = lines.join("\n");
    input.push('\n');
    git_with_input(repo, &["mktree"], &input).trim().to_owned()
}

/// Commits, on top of HEAD, an entry at `path` whose content is `bytes` (a symlink's target
/// with `mode` `120000`), written with git's plumbing: `git add` would refuse a `.git` path.
fn commit_entry(repo: &Path, path: &str, mode: &str, bytes: &str) {
    let blob = git_with_input(repo, &["hash-object", "-w", "--stdin"], bytes).trim().to_owned();
    let head_tree = git(repo, &["rev-parse", "HEAD^{tree}"]).trim().to_owned();
    let components: Vec<&str> = path.split('/').collect();
    let tree = with_entry(repo, Some(&head_tree), &components, &format!("{mode} blob {blob}"));
    let commit = git(repo, &["commit-tree", &tree, "-p", "HEAD", "-m", &format!("add {path}")]);
    git(repo, &["update-ref", "HEAD", commit.trim()]);
}

fn text(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

/// Clones `source` to `<tmp>/elsewhere/.ollim-bot` and asserts it was refused before anything
/// was kept, naming `path`.
fn assert_refused(env: &Env, tmp: &Path, source: &Path, path: &str, why: &str) {
    let target = tmp.join("elsewhere/.ollim-bot");
    let output = env.run(&["clone", source.to_str().unwrap(), target.to_str().unwrap()]);
    assert_eq!(code(&output), 2, "{}", text(&output));
    let message = text(&output);
    assert!(message.contains("refusing to clone"), "{message}");
    assert!(message.contains(path) && message.contains(why), "{message}");
    assert!(message.contains("nothing was kept"), "{message}");
    assert!(!target.exists(), "the clone was kept");
    let leftovers: Vec<_> = fs::read_dir(target.parent().unwrap()).unwrap().collect();
    assert!(leftovers.is_empty(), "the staged clone was left: {leftovers:?}");
}

#[test]
fn a_tracked_symlink_out_of_the_directory_is_refused_at_clone() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let source = fitting_source(&env, tmp.path());
    let elsewhere = tmp.path().join("elsewhere-data");
    fs::create_dir(&elsewhere).unwrap();
    // `routines` (a directory the layout declares) replaced by a link to another place.
    git(&source, &["rm", "-rq", "--cached", "--ignore-unmatch", "routines"]);
    git(&source, &["commit", "-qm", "drop routines", "--allow-empty"]);
    commit_entry(&source, "routines", "120000", elsewhere.to_str().unwrap());
    assert_refused(&env, tmp.path(), &source, "routines", "points out of the directory");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0, "something was written there");
}

#[test]
fn a_relative_symlink_that_climbs_out_is_refused_at_clone() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let source = fitting_source(&env, tmp.path());
    commit_entry(&source, "routines/escape.md", "120000", "../../../outside.md");
    assert_refused(&env, tmp.path(), &source, "routines/escape.md", "points out of the directory");
}

#[test]
fn a_dot_git_entry_anywhere_is_refused_at_clone_whatever_its_case() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    // Recent versions of git refuse to check these out, late (the clone is made, the checkout
    // fails half-way); dotdir refuses them by name before anything is checked out, whatever
    // the version of git and its configuration.
    let source = fitting_source(&env, tmp.path());
    commit_entry(&source, "routines/.GIT/config", "100644", "[core]\n\tfsmonitor = evil\n");
    assert_refused(&env, tmp.path(), &source, "routines/.GIT", "a `.git` entry");

    let tmp = tempfile::tempdir().unwrap();
    let source = fitting_source(&env, tmp.path());
    commit_entry(&source, "state/sub/.git", "100644", "gitdir: /somewhere/else\n");
    assert_refused(&env, tmp.path(), &source, "state/sub/.git", "a `.git` entry");
}

#[test]
fn a_gitignore_that_unignores_a_secret_fails_the_clone() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let source = fitting_source(&env, tmp.path());
    // After the generated block, where git reads it last.
    let mut gitignore = fs::read_to_string(source.join(".gitignore")).unwrap();
    gitignore.push_str("!state/credentials.json\n");
    fs::write(source.join(".gitignore"), gitignore).unwrap();
    git(&source, &["commit", "-qam", "un-ignore the credentials"]);
    let target = tmp.path().join("elsewhere/.ollim-bot");
    let output = env.run(&["clone", source.to_str().unwrap(), target.to_str().unwrap()]);
    let message = text(&output);
    assert_eq!(code(&output), 2, "{message}");
    assert!(message.contains("state/credentials.json"), "{message}");
    assert!(message.contains("unignored-secret"), "{message}");
    assert!(message.contains("nothing was kept"), "{message}");
    assert!(!target.exists(), "the clone was kept: {message}");

    // A nested `.gitignore`, which the journal's block at the top cannot override.
    let tmp = tempfile::tempdir().unwrap();
    let source = fitting_source(&env, tmp.path());
    fs::write(source.join("state/.gitignore"), "!token.json\n").unwrap();
    git(&source, &["add", "-f", "state/.gitignore"]);
    git(&source, &["commit", "-qm", "un-ignore the token"]);
    let target = tmp.path().join("elsewhere/.ollim-bot");
    let output = env.run(&["clone", source.to_str().unwrap(), target.to_str().unwrap()]);
    let message = text(&output);
    assert_eq!(code(&output), 2, "{message}");
    assert!(message.contains("state/token.json") && message.contains("unignored-secret"));
    assert!(!target.exists(), "the clone was kept: {message}");
}
