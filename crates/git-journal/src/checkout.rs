//! What a checkout of a repository made elsewhere would put on disk, judged before it is made:
//! a tracked symlink that points out of the directory (an absolute target, or one whose `..`
//! climbs above the top or through another link), and a `.git` entry anywhere in the tree
//! (whatever its case, and the names file systems fold into it), which would be a repository
//! inside the repository or plant git configuration. `dotdir clone` refuses such a
//! repository, and keeps nothing of it.

use std::{fmt, path::Path};

use git2::{ObjectType, Repository, Tree};

use crate::{Error, Result, Step};

/// An entry of a tree that no checkout of a data directory may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostile {
    /// The entry's path, `/`-separated (non-UTF-8 bytes replaced).
    pub path: String,
    /// What is wrong with it.
    pub kind: HostileKind,
}

/// What makes a [`Hostile`] entry hostile.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostileKind {
    /// A symbolic link whose target is absolute, climbs above the directory with `..`, or uses
    /// `..` after another link (where it may climb anywhere).
    EscapingSymlink {
        /// The link's target, as stored (non-UTF-8 bytes replaced).
        target: String,
    },
    /// A file, directory or link named `.git` (in any case; `.git.`, `.git ` and `git~1` too,
    /// which some file systems fold into it).
    GitEntry,
}

impl fmt::Display for Hostile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            HostileKind::EscapingSymlink { target } => {
                write!(
                    f,
                    "{} is a symlink that points out of the directory (-> {target})",
                    self.path
                )
            }
            HostileKind::GitEntry => {
                write!(
                    f,
                    "{} is a `.git` entry (a repository or git configuration inside)",
                    self.path
                )
            }
        }
    }
}

/// Whether `name` is, or is folded by some file system into, `.git`.
fn is_git_name(name: &[u8]) -> bool {
    let trimmed = name.trim_ascii_end();
    let trimmed = trimmed.strip_suffix(b".").unwrap_or(trimmed).trim_ascii_end();
    trimmed.eq_ignore_ascii_case(b".git") || name.eq_ignore_ascii_case(b"git~1")
}

/// [`audit_checkout`], as an error: [`Error::HostileTree`] when any entry is hostile.
pub fn refuse_hostile_checkout(dir: &Path) -> Result<()> {
    let entries = audit_checkout(dir)?;
    if entries.is_empty() { Ok(()) } else { Err(Error::HostileTree { entries }) }
}

/// Every hostile entry of the tree HEAD names in the repository at `dir` (opened there, no
/// search upwards); none for an unborn HEAD. The tree is read from the object database: nothing
/// needs to be checked out.
pub fn audit_checkout(dir: &Path) -> Result<Vec<Hostile>> {
    let repo = Repository::open_ext(dir, git2::RepositoryOpenFlags::NO_SEARCH, [] as [&str; 0])
        .map_err(Error::libgit2(Step::Open, dir))?;
    let history = |e| Error::libgit2(Step::ReadHistory, repo.path())(e);
    let Ok(head) = repo.head() else { return Ok(Vec::new()) };
    let tree = head.peel_to_tree().map_err(history)?;
    let mut found = Vec::new();
    walk(&repo, &tree, &tree, &mut Vec::new(), &mut found).map_err(history)?;
    Ok(found)
}

fn walk(
    repo: &Repository,
    root: &Tree<'_>,
    tree: &Tree<'_>,
    prefix: &mut Vec<Vec<u8>>,
    found: &mut Vec<Hostile>,
) -> std::result::Result<(), git2::Error> {
    for entry in tree.iter() {
        let name = entry.name_bytes().to_vec();
        let path = || {
            prefix
                .iter()
                .chain(std::iter::once(&name))
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<Vec<_>>()
                .join("/")
        };
        if is_git_name(&name) {
            found.push(Hostile { path: path(), kind: HostileKind::GitEntry });
            continue;
        }
        match entry.kind() {
            Some(ObjectType::Tree) => {
                let subtree = repo.find_tree(entry.id())?;
                prefix.push(name);
                walk(repo, root, &subtree, prefix, found)?;
                prefix.pop();
            }
            Some(ObjectType::Blob) if entry.filemode() == 0o120_000 => {
                let blob = repo.find_blob(entry.id())?;
                if escapes(root, prefix, blob.content()) {
                    let target = String::from_utf8_lossy(blob.content()).into_owned();
                    found.push(Hostile {
                        path: path(),
                        kind: HostileKind::EscapingSymlink { target },
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a link in the directory `dir` (real directories of the tree, from the top) with
/// `target` may resolve out of the top: an absolute target, a `..` above the top, or a `..`
/// after a component that is a link of the tree (or lies under one), where it climbs from
/// wherever that link leads. Every other link names a path inside, through links that are
/// judged themselves.
fn escapes(root: &Tree<'_>, dir: &[Vec<u8>], target: &[u8]) -> bool {
    if target.starts_with(b"/") {
        return true;
    }
    let mut at: Vec<Vec<u8>> = dir.to_vec();
    let mut through_link = false;
    for part in target.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if through_link || at.pop().is_none() {
                    return true;
                }
            }
            name => {
                at.push(name.to_vec());
                if !through_link {
                    let joined = at.join(&b'/');
                    let path = String::from_utf8_lossy(&joined);
                    through_link = root
                        .get_path(Path::new(path.as_ref()))
                        .is_ok_and(|entry| entry.filemode() == 0o120_000);
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::is_git_name;

    #[test]
    fn git_names_in_every_spelling() {
        for name in [".git", ".GIT", ".Git", ".git.", ".git ", ".git . ", "GIT~1", "git~1"] {
            assert!(is_git_name(name.as_bytes()), "{name:?}");
        }
        for name in ["git", ".gitignore", ".github", "x.git", ".git2", "git~2"] {
            assert!(!is_git_name(name.as_bytes()), "{name:?}");
        }
    }
}
