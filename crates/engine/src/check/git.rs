//! The data directory's git repository: `.gitignore` coverage, tracked secrets and uncommitted
//! changes, through `dotdir-git-journal`.

use std::{
    fs,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::Durability;

use super::{
    problem::{Action, Problem, ProblemKind},
    repair::file_name,
};
use crate::{
    Error, Layout,
    inspect::{NodeKind, Tree},
};

use crate::{Entry, Git};

pub(super) fn check_git(tree: &Tree, problems: &mut Vec<Problem>) {
    let path = tree.root.join(".gitignore");
    // Never blocks: a FIFO at `.gitignore` is not a regular file, and is reported as one.
    let current = match dotdir_atomic_store::read(&path, 1024 * 1024) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned()),
        Err(error) => {
            problems.push(Problem::new(
                ProblemKind::MissingGitignore,
                ".gitignore",
                format!("cannot read .gitignore: {}", crate::error_chain(&error)),
            ));
            None
        }
    };
    let exclusions = tree.layout.journal_exclusions();
    let block_current = current.as_ref().is_none_or(|c| exclusions.gitignore_is_current(c));
    if let Some(current) = current.filter(|_| !block_current) {
        let message = if current.trim().is_empty() {
            "the data directory is a git repository without the layout's .gitignore: `git add` would pick up secrets, ephemeral and undeclared files".to_owned()
        } else {
            ".gitignore does not end with the layout's block (it ignores everything the layout does not declare as tracked)".to_owned()
        };
        problems.push(
            Problem::new(ProblemKind::MissingGitignore, ".gitignore", message)
                .fix_with(Action::WriteGitignore, &path),
        );
    }
    check_ignored(tree, block_current, problems);
    let git_dir = tree.root.join(".git");
    // The journal's own records inside `.git` (summarised, not walked): a FIFO, socket or
    // device there is never read, and said.
    for name in ["dotdir-push.json", "dotdir-pending-commits.json"] {
        if let Ok(meta) = fs::symlink_metadata(git_dir.join(name))
            && !meta.is_file()
            && !meta.is_dir()
            && !meta.file_type().is_symlink()
        {
            problems.push(Problem::new(
                ProblemKind::SpecialFile,
                &format!(".git/{name}"),
                "a FIFO, socket or device file where the journal keeps a record: never read",
            ));
        }
    }
    if let Some(damage) = dotdir_git_journal::pending_record_damage(&git_dir) {
        problems.push(
            Problem::new(
                ProblemKind::DamagedRecord,
                &format!(".git/{}", dotdir_git_journal::PENDING_COMMITS_FILE),
                format!("the record of deferred commits is damaged ({damage}): the journal goes on without it; `--fix` moves it aside and commits what it named by scanning"),
            )
            .fix_with(Action::SetAsideRecord, &tree.root),
        );
    }
    if let Some(status) = dotdir_git_journal::push_status(&tree.root.join(".git"))
        && !status.ok
    {
        problems.push(Problem::new(
            ProblemKind::PushFailed,
            ".git",
            format!("the last push to {} failed: {}", status.remote, status.error),
        ));
    }
    let uncommitted = read_journal(&tree.root, &tree.layout)
        .and_then(|journal| Ok((journal.head()?.is_none(), journal.uncommitted()?)));
    match uncommitted {
        // A repository without a commit yet (as the reference leaves it at start-up): one
        // problem, not one per file.
        Ok((true, paths)) if !paths.is_empty() => problems.push(
            Problem::new(
                ProblemKind::UncommittedChange,
                ".git",
                format!(
                    "the repository has no commit yet: {} to commit",
                    super::plural(paths.len(), "path", "paths")
                ),
            )
            .fix_with(Action::CommitChanged, &tree.root),
        ),
        Ok((_, paths)) => {
            for rel in paths {
                problems.push(
                    Problem::new(
                        ProblemKind::UncommittedChange,
                        &rel,
                        "differs from the last commit: a write was not committed (the writer stopped, or another tool changed it)",
                    )
                    .fix_with(Action::CommitChanged, &tree.root),
                );
            }
        }
        // What cannot be read is said as such (another user's repository, a permission), never
        // as a finding it did not make.
        Err(error) => {
            problems.push(Problem::new(
                ProblemKind::Unreadable,
                ".git",
                format!(
                    "cannot read the git repository (uncommitted changes and tracked secrets are not checked): {}",
                    crate::error_chain(&error)
                ),
            ));
            return;
        }
    }
    let tracked = match tracked_exclusions(tree) {
        Ok(tracked) => tracked,
        Err(message) => {
            problems.push(Problem::new(
                ProblemKind::Unreadable,
                ".git",
                format!(
                    "cannot read the git repository (tracked secrets are not checked): {message}"
                ),
            ));
            return;
        }
    };
    for path in &tracked {
        let rel = path.to_string_lossy().into_owned();
        let problem = if is_secret(&tree.layout, &rel) {
            Problem::new(
                ProblemKind::TrackedSecret,
                &rel,
                format!(
                    "a secret is tracked by git (in HEAD or the index): `dotdir check --fix` untracks it (`git rm --cached {rel}` and a commit, the file stays); its old content stays in the history, so rotate it"
                ),
            )
        } else if exclusions.matching(&rel).is_some() {
            Problem::new(
                ProblemKind::TrackedExcluded,
                &rel,
                format!(
                    "a path the layout excludes from git is tracked (in HEAD or the index): `dotdir check --fix` untracks it (`git rm --cached {rel}` and a commit, the file stays)"
                ),
            )
        } else {
            Problem::new(
                ProblemKind::TrackedUndeclared,
                &rel,
                format!(
                    "a path the layout does not declare is tracked (in HEAD or the index; a `git add -A` or a commit by hand): `dotdir check --fix` untracks it (`git rm --cached {rel}` and a commit, the file stays)"
                ),
            )
        };
        problems.push(problem.fix_with(Action::Untrack, &tree.root.join(path)));
    }
    secrets_in_history(tree, &tracked, problems);
}

/// How many of the newest commits `check` reads for a secret left in the history: bounded, so
/// a check costs the same on a long-lived directory (`push` audits the whole history before it
/// sends anything).
pub(super) const HISTORY_COMMITS: usize = 1000;

/// A declared secret that is not tracked any more but is in a recent commit: its content is in
/// every copy of the history (a clone, a push), so it must be rotated.
fn secrets_in_history(tree: &Tree, tracked: &[PathBuf], problems: &mut Vec<Problem>) {
    let Ok(journal) = read_journal(&tree.root, &tree.layout) else { return };
    // Older commits are left to `push`, which audits the whole history before it sends.
    let secrets: Vec<&str> =
        tree.layout.secrets().filter(|e| e.kind == crate::Kind::File).map(|e| e.pattern).collect();
    let (leaks, _older_unread) = match journal.paths_in_recent_history(&secrets, HISTORY_COMMITS) {
        Ok(found) => found,
        Err(error) => {
            problems.push(Problem::new(
                ProblemKind::Unreadable,
                ".git",
                format!(
                    "cannot read the history for secrets left in it: {}",
                    crate::error_chain(&error)
                ),
            ));
            return;
        }
    };
    for leak in leaks {
        // A secret still tracked is reported as tracked; one never a secret is not this finding.
        if !is_secret(&tree.layout, &leak.path)
            || tracked.iter().any(|t| *t == Path::new(&leak.path))
        {
            continue;
        }
        problems.push(Problem::new(
            ProblemKind::SecretInHistory,
            &leak.path,
            format!(
                "a secret is in the git history (commit {}, \"{}\"), though no longer tracked: every clone or push of this history carries it; rotate it",
                &leak.commit[..leak.commit.len().min(12)],
                leak.summary
            ),
        ));
    }
}

/// Whether `rel` is a declared secret, or inside one (a secret directory): any secret entry
/// matching it or one of its parents counts, even one declared after a more general entry.
pub(super) fn is_secret(layout: &Layout, rel: &str) -> bool {
    let rel = rel.trim_matches('/');
    let prefixes = rel.match_indices('/').map(|(at, _)| &rel[..at]).chain([rel]);
    prefixes.into_iter().any(|prefix| layout.secrets().any(|e| e.matches(prefix)))
}

/// A path a pattern matches: every wildcard replaced by a plain name (`None` for a character
/// class, which has no one plain stand-in).
pub(super) fn sample_path(pattern: &str) -> Option<String> {
    if pattern.contains(['[', '\\']) {
        return None;
    }
    let names: Vec<String> = pattern
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if s == "**" { "x".to_owned() } else { s.replace(['*', '?'], "x") })
        .collect();
    Some(names.join("/"))
}

/// Asks git's whole ignore stack (every `.gitignore` with its negations, `.git/info/exclude`,
/// `core.excludesFile`) whether each secret and each excluded entry is really ignored — a
/// path of each pattern, and every such file present. A secret file present and not ignored is
/// an error: `git add -A`, or an application committing with the `git` command, would take it.
/// Any other path not ignored is one `missing-gitignore` warning, unless the block itself is
/// already reported (`block_current` false), whose repair covers it.
fn check_ignored(tree: &Tree, block_current: bool, problems: &mut Vec<Problem>) {
    let Ok(journal) = read_journal(&tree.root, &tree.layout) else { return };
    let mut paths: Vec<(String, &Entry)> = Vec::new();
    for entry in tree.layout.all_entries().filter(|e| e.git == Git::Excluded) {
        let pattern = entry.pattern.trim_start_matches('/');
        if pattern == ".git" || pattern.starts_with(".git/") {
            continue;
        }
        if let Some(sample) = sample_path(pattern) {
            paths.push((sample, entry));
        }
    }
    for node in &tree.nodes {
        if let Some(entry) = node.entry.filter(|e| e.git == Git::Excluded)
            && node.kind != NodeKind::Dir
            && !paths.iter().any(|(p, _)| *p == node.relative)
        {
            paths.push((node.relative.clone(), entry));
        }
    }
    // libgit2 misses a negation in a nested `.gitignore` (`state/.gitignore: !credentials.json`)
    // that the `git` command obeys: with one present, `git check-ignore` has the last word.
    let nested = tree.nodes.iter().any(|n| {
        n.depth > 1 && n.kind == NodeKind::File && n.path.file_name() == Some(".gitignore".as_ref())
    });
    let mut loose = Vec::new();
    for (rel, entry) in paths {
        // Judged as the layout judges it: the first entry describing the path.
        if tree.layout.entry_for(&rel).is_none_or(|e| e.git != Git::Excluded) {
            continue;
        }
        let ignored = match journal.is_ignored(&rel) {
            Ok(true) if nested => Ok(git_check_ignore(&tree.root, &rel).unwrap_or(true)),
            other => other,
        };
        match ignored {
            Ok(true) => {}
            Ok(false) if entry.secret && tree.root.join(&rel).exists() => problems.push(
                Problem::new(
                    ProblemKind::UnignoredSecret,
                    &rel,
                    format!("git does not ignore this secret: `git add -A` or the application's own `git add` would commit it (a line of .gitignore, a nested .gitignore, .git/info/exclude or core.excludesFile un-ignores it: `git check-ignore -v --no-index {rel}` names the line)"),
                )
                .fix_with(Action::WriteGitignore, &tree.root.join(".gitignore")),
            ),
            Ok(false) => loose.push(rel),
            Err(_) => {}
        }
    }
    if !loose.is_empty() && block_current {
        problems.push(
            Problem::new(
                ProblemKind::MissingGitignore,
                ".gitignore",
                format!("git does not ignore what the layout excludes: {}", loose.join(" ")),
            )
            .fix_with(Action::WriteGitignore, &tree.root.join(".gitignore")),
        );
    }
}

/// `git check-ignore --no-index`: whether the `git` command ignores `rel` (`None` without a
/// usable `git`).
fn git_check_ignore(root: &Path, rel: &str) -> Option<bool> {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["check-ignore", "-q", "--no-index", "--", rel])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

/// Excluded paths git tracks anyway, from the journal's audit (HEAD's tree and the index).
pub(super) fn tracked_exclusions(tree: &Tree) -> Result<Vec<PathBuf>, String> {
    let journal = read_journal(&tree.root, &tree.layout).map_err(|e| crate::error_chain(&e))?;
    journal.audit().map_err(|e| crate::error_chain(&e))
}

/// The data directory's journal, opened only to read it: `check` without `--fix` needs no
/// write access (no lock, no sweep, no index write), so another user can check a directory.
fn read_journal(
    root: &Path,
    layout: &Layout,
) -> Result<dotdir_git_journal::Journal, dotdir_git_journal::Error> {
    dotdir_git_journal::Journal::open_read_only(root, layout.journal_options())
}

/// The data directory's journal with the layout's exclusions, through the commit queue every
/// writer of the layout uses ([`dotdir_git_journal::DeferringJournal`]: commits a failed call
/// left pending first, and defers one that fails after its change is on disk), durably. It
/// touches nothing else on open (no `.gitignore` rewrite). A repair's commit is authored
/// `dotdir <dotdir@localhost>`: the tool made it, whoever runs it.
pub(super) fn open_journal(
    root: &Path,
    layout: &Layout,
) -> Result<dotdir_git_journal::DeferringJournal, dotdir_git_journal::Error> {
    let options = layout
        .journal_options()
        .manage_gitignore(false)
        .durability(Durability::Full)
        .identity_from_git_config(false);
    dotdir_git_journal::DeferringJournal::open(root, options, Durability::Full)
}

/// The repairs of the repository: `.gitignore`, an uncommitted change, a damaged journal
/// record, an excluded path git tracks.
pub(super) fn repair(
    root: &Path,
    path: &Path,
    layout: &Layout,
    action: &Action,
) -> Result<String, Error> {
    match action {
        Action::WriteGitignore => {
            // The journal's own block, as every writer of the layout keeps it (lines outside
            // it are kept), committed when the repository tracks `.gitignore`.
            let tracker = open_journal(root, layout)
                .map_err(|source| Error::Git { path: root.to_path_buf(), source })?;
            let journal = tracker.journal();
            let _ = journal
                .sync_gitignore()
                .map_err(|source| Error::Git { path: root.to_path_buf(), source })?;
            // Verified with git's own ignore stack, never claimed: a nested `.gitignore` or
            // git's configuration can still un-ignore a secret.
            let secrets: Vec<String> = layout
                .secrets()
                .filter_map(|e| sample_path(e.pattern.trim_start_matches('/')))
                .collect();
            for rel in secrets {
                if layout.entry_for(&rel).is_some_and(|e| e.secret)
                    && !journal.is_ignored(&rel).unwrap_or(false)
                {
                    return Err(Error::Unverified {
                        path: root.join(&rel),
                        message: format!(
                            "git still does not ignore it after .gitignore was rewritten: `git -C {} check-ignore -v --no-index {rel}` names the line that un-ignores it; remove that line",
                            root.display()
                        ),
                    });
                }
            }
            Ok("wrote the layout's block at the end of .gitignore".to_owned())
        }
        Action::CommitChanged => {
            let git_error = |source| Error::Git { path: root.to_path_buf(), source };
            let tracker = open_journal(root, layout).map_err(git_error)?;
            let journal = tracker.journal();
            let changed = journal.uncommitted().map_err(git_error)?;
            let _ = journal
                .commit_all_changed("dotdir check --fix: commit changes an interrupted write left")
                .map_err(git_error)?;
            Ok(format!(
                "committed {}",
                super::plural(changed.len(), "uncommitted path", "uncommitted paths")
            ))
        }
        Action::SetAsideRecord => {
            let git_error = |source| Error::Git { path: root.to_path_buf(), source };
            let aside = dotdir_git_journal::set_aside_pending_record(&root.join(".git"))
                .map_err(git_error)?;
            let tracker = open_journal(root, layout).map_err(git_error)?;
            let journal = tracker.journal();
            let changed = journal.uncommitted().map_err(git_error)?;
            let _ = journal
                .commit_all_changed("dotdir check --fix: commit what a damaged record named")
                .map_err(git_error)?;
            Ok(format!(
                "moved the damaged record aside ({}) and committed {} found by scanning",
                aside.map(|p| file_name(&p)).unwrap_or_default(),
                super::plural(changed.len(), "changed path", "changed paths")
            ))
        }
        Action::Untrack => {
            let untracked = untrack(root, layout, &[path.to_path_buf()])?;
            if let Some(still) = untracked.still_tracked.first() {
                return Err(Error::Unverified {
                    path: root.join(still),
                    message: "still tracked after `git rm --cached`".to_owned(),
                });
            }
            Ok(untracked.describe(layout, path.strip_prefix(root).unwrap_or(path)))
        }
        _ => Err(Error::Unverified {
            path: path.to_path_buf(),
            message: "not a repair of the repository".to_owned(),
        }),
    }
}

/// What one batched [`untrack`] did.
pub(super) struct Untracked {
    /// How many paths the commit untracked (`None`: nothing needed a commit).
    pub(super) committed: Option<usize>,
    /// The paths (relative) git's index or HEAD still holds afterwards.
    pub(super) still_tracked: Vec<PathBuf>,
}

impl Untracked {
    /// The repair line of one of the untracked paths.
    pub(super) fn describe(&self, layout: &Layout, rel: &Path) -> String {
        let secret = is_secret(layout, &rel.to_string_lossy());
        let mut what = match self.committed {
            Some(1) => "removed from git's index and committed (the file is kept)".to_owned(),
            Some(n) => format!(
                "removed from git's index, in one commit with the other {} (the file is kept)",
                super::plural(n - 1, "path", "paths")
            ),
            None => "no longer tracked by git".to_owned(),
        };
        if secret {
            what.push_str("; its old content stays in the history: rotate the secret");
        }
        what
    }
}

/// Removes `paths` (absolute, inside `root`) from git's index in one commit (`git rm --cached`;
/// the files stay), then re-reads git's index and HEAD: what is still tracked is named, never
/// claimed untracked.
pub(super) fn untrack(root: &Path, layout: &Layout, paths: &[PathBuf]) -> Result<Untracked, Error> {
    let git_error = |source| Error::Git { path: root.to_path_buf(), source };
    let tracker = open_journal(root, layout).map_err(git_error)?;
    let journal = tracker.journal();
    let rels: Vec<PathBuf> =
        paths.iter().map(|p| p.strip_prefix(root).unwrap_or(p).to_path_buf()).collect();
    let message = match rels.as_slice() {
        [one] => format!("untrack {}", one.display()),
        _ => {
            let mut message = format!(
                "dotdir check --fix: untrack {} git should not track\n",
                super::plural(rels.len(), "path", "paths")
            );
            for rel in &rels {
                message.push_str(&format!("\n{}", rel.display()));
            }
            message
        }
    };
    let commit = journal.untrack(paths, &message).map_err(git_error)?;
    let audit = journal.audit().map_err(git_error)?;
    let still_tracked = rels.iter().filter(|rel| audit.contains(rel)).cloned().collect();
    Ok(Untracked { committed: commit.map(|_| rels.len()), still_tracked })
}
