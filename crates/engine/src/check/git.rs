//! The data directory's git repository: `.gitignore` coverage, tracked secrets and uncommitted
//! changes, through `dotdir-git-journal`.

#[allow(unused_imports)]
use super::*;

pub(super) fn check_git(tree: &Tree, problems: &mut Vec<Problem>) {
    let path = tree.root.join(".gitignore");
    let current = fs::read_to_string(&path).unwrap_or_default();
    let exclusions = tree.layout.journal_exclusions();
    let missing = exclusions.uncovered_by(&current);
    if !missing.is_empty() {
        let message = if current.trim().is_empty() {
            "the data directory is a git repository without a .gitignore: secrets and ephemeral files can be committed".to_owned()
        } else {
            format!(".gitignore does not exclude: {}", missing.join(" "))
        };
        problems.push(
            Problem::new(ProblemKind::MissingGitignore, ".gitignore", message)
                .fix_with(Action::WriteGitignore, &path),
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
    let uncommitted = open_journal(&tree.root, &tree.layout)
        .and_then(|journal| Ok((journal.head()?.is_none(), journal.uncommitted()?)));
    match uncommitted {
        // A repository without a commit yet (as the reference leaves it at start-up): one
        // problem, not one per file.
        Ok((true, paths)) if !paths.is_empty() => problems.push(
            Problem::new(
                ProblemKind::UncommittedChange,
                ".git",
                format!("the repository has no commit yet: {} path(s) to commit", paths.len()),
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
        Err(error) => problems.push(Problem::new(
            ProblemKind::UncommittedChange,
            ".git",
            format!(
                "cannot read the git repository to look for uncommitted changes: {}",
                crate::error_chain(&error)
            ),
        )),
    }
    match tracked_exclusions(tree) {
        Ok(tracked) => {
            for path in tracked {
                let rel = path.to_string_lossy().into_owned();
                let what = if tree.layout.entry_for(&rel).is_some_and(|e| e.secret) {
                    "a secret"
                } else {
                    "a path the layout excludes from git"
                };
                problems.push(
                    Problem::new(
                        ProblemKind::TrackedSecret,
                        &rel,
                        format!(
                            "{what} is tracked by git (in HEAD or the index): `dotdir check --fix` untracks it (`git rm --cached {rel}` and a commit, the file stays); its old content stays in the history, so rotate a secret"
                        ),
                    )
                    .fix_with(Action::Untrack, &tree.root.join(&path)),
                );
            }
        }
        Err(message) => problems.push(Problem::new(
            ProblemKind::TrackedSecret,
            ".git",
            format!("cannot read the git repository to look for tracked secrets: {message}"),
        )),
    }
}

/// Excluded paths git tracks anyway, from the journal's audit (HEAD's tree and the index).
pub(super) fn tracked_exclusions(tree: &Tree) -> Result<Vec<PathBuf>, String> {
    let journal = open_journal(&tree.root, &tree.layout).map_err(|e| crate::error_chain(&e))?;
    journal.audit().map_err(|e| crate::error_chain(&e))
}

/// The data directory's journal with the layout's exclusions, touching nothing on open (no
/// `.gitignore` rewrite). A repair's commit is authored `dotdir <dotdir@localhost>`: the tool
/// made it, whoever runs it.
pub(super) fn open_journal(
    root: &Path,
    layout: &Layout,
) -> Result<dotdir_git_journal::Journal, dotdir_git_journal::Error> {
    let options = dotdir_git_journal::JournalOptions::new()
        .exclusions(layout.journal_exclusions())
        .manage_gitignore(false)
        .durability(dotdir_atomic_store::Durability::None)
        .identity_from_git_config(false);
    dotdir_git_journal::Journal::open(root, options)
}
