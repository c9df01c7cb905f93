//! The audit of outgoing history: every excluded path, undeclared path and secret's blob in the
//! commits a push would send (or in the whole history), judged against what the destination
//! advertised.

use std::{collections::HashSet, path::Path};

use git2::{ObjectType, Oid, Repository, Tree};

use super::git::{Watch, list_destinations};
use crate::{Error, Exclusions, Journal, Result, SecretBlobs, Step};

/// What [`Leak::pattern`] says of a path the allow-list does not declare
/// ([`Exclusions::allow_only`]).
pub const UNDECLARED: &str = "(not declared by the layout)";

/// A path the exclusions refuse or the allow-list does not declare, or a blob whose content is
/// a secret file's, in a commit a push would send. It never holds the secret's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The commit (full hex id).
    pub commit: String,
    /// Its first line.
    pub summary: String,
    /// The path, `/`-separated.
    pub path: String,
    /// The exclusion pattern it matches, or [`UNDECLARED`]; for a blob equal to a secret, the
    /// pattern that declares that secret.
    pub pattern: String,
    /// For a blob whose bytes equal a secret file's current bytes (whatever its path): that
    /// secret's path. `None` for a path the exclusions refuse or the allow-list does not
    /// declare.
    pub same_as: Option<String>,
}

/// Every leak in the commits a push of HEAD would send to a destination that advertised the
/// objects `advertised` (what `git ls-remote` listed there): HEAD's history minus what those
/// commits reach — all of it for an empty destination. An advertised id this repository does
/// not have hides nothing (the destination holds commits never fetched here); a tag is peeled
/// to its commit. A leak is a path `exclusions` refuses, or a blob whose id is one of
/// `secrets` (a copy of a secret under any path). Oldest commit first; a path is reported
/// once, in the first commit that holds it.
pub fn audit_outgoing(
    repo: &Repository,
    exclusions: &Exclusions,
    secrets: &SecretBlobs,
    advertised: &[Oid],
) -> Result<Vec<Leak>> {
    audit(repo, exclusions, secrets, Some(advertised))
}

/// Every path `exclusions` refuses anywhere in HEAD's history (what a clone brought), oldest
/// commit first.
pub fn audit_history(repo: &Repository, exclusions: &Exclusions) -> Result<Vec<Leak>> {
    audit(repo, exclusions, &SecretBlobs::new(), None)
}

/// The paths matching `patterns` that the newest `limit` commits of HEAD's history hold (each
/// with the newest commit that holds it), and whether older commits were left unread. What
/// `check` can afford on every run: each commit costs a lookup of each pattern's directory, not
/// a walk of its tree (a push audits the whole history). A pattern's wildcards may only be in
/// its last component (`state/token.json`, `oauth/*.json`); others are not looked up.
pub fn paths_in_recent_history(
    repo: &Repository,
    patterns: &[&str],
    limit: usize,
) -> Result<(Vec<Leak>, bool)> {
    let git_dir = repo.path().to_path_buf();
    let history = |e| Error::libgit2(Step::ReadHistory, &git_dir)(e);
    let Ok(head) = repo.head() else { return Ok((Vec::new(), false)) };
    let Some(head) = head.target() else { return Ok((Vec::new(), false)) };
    let mut walk = repo.revwalk().map_err(history)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL).map_err(history)?;
    walk.push(head).map_err(history)?;
    // `(directory, last component)` of each pattern whose wildcards are in its last component.
    let lookups: Vec<(&str, &str, &str)> = patterns
        .iter()
        .filter_map(|pattern| {
            let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
            (!dir.contains(['*', '?', '[']) && name != "**").then_some((*pattern, dir, name))
        })
        .collect();
    let mut seen_dirs: HashSet<(usize, Oid)> = HashSet::new();
    let mut reported: HashSet<String> = HashSet::new();
    let mut leaks = Vec::new();
    for (n, oid) in walk.enumerate() {
        if n == limit {
            return Ok((leaks, true));
        }
        let oid = oid.map_err(history)?;
        let commit = repo.find_commit(oid).map_err(history)?;
        let tree = commit.tree().map_err(history)?;
        for (at, &(pattern, dir, name)) in lookups.iter().enumerate() {
            let listing = match dir {
                "" => tree.clone(),
                dir => match tree.get_path(Path::new(dir)) {
                    Ok(entry) => match entry.to_object(repo).map(|o| o.into_tree()) {
                        Ok(Ok(subtree)) => subtree,
                        _ => continue,
                    },
                    Err(_) => continue,
                },
            };
            // The same directory in an older commit holds the same names.
            if !seen_dirs.insert((at, listing.id())) && !dir.is_empty() {
                continue;
            }
            for entry in listing.iter() {
                let entry_name = String::from_utf8_lossy(entry.name_bytes());
                let path = if dir.is_empty() {
                    entry_name.into_owned()
                } else {
                    format!("{dir}/{entry_name}")
                };
                if crate::glob_match(pattern, &path)
                    && !name.is_empty()
                    && reported.insert(path.clone())
                {
                    leaks.push(Leak {
                        commit: oid.to_string(),
                        summary: commit.summary().ok().flatten().unwrap_or("").to_owned(),
                        path,
                        pattern: pattern.to_owned(),
                        same_as: None,
                    });
                }
            }
        }
    }
    Ok((leaks, false))
}

/// HEAD's history, minus what the commits in `hidden` reach, walked for leaks, oldest commit
/// first.
fn audit(
    repo: &Repository,
    exclusions: &Exclusions,
    secrets: &SecretBlobs,
    hidden: Option<&[Oid]>,
) -> Result<Vec<Leak>> {
    let git_dir = repo.path().to_path_buf();
    let history = |e| Error::libgit2(Step::ReadHistory, &git_dir)(e);
    let Ok(head) = repo.head() else { return Ok(Vec::new()) };
    let Some(head) = head.target() else { return Ok(Vec::new()) };
    let mut walk = repo.revwalk().map_err(history)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE).map_err(history)?;
    walk.push(head).map_err(history)?;
    for &oid in hidden.unwrap_or_default() {
        // Only what exists here and is (or peels to) a commit: anything else hides nothing,
        // which can only make the audit walk more.
        let commit = repo.find_object(oid, None).and_then(|object| object.peel_to_commit());
        if let Ok(commit) = commit {
            walk.hide(commit.id()).map_err(history)?;
        }
    }
    let mut seen_trees: HashSet<(String, Oid)> = HashSet::new();
    let mut reported: HashSet<String> = HashSet::new();
    let mut leaks = Vec::new();
    for oid in walk {
        let oid = oid.map_err(history)?;
        let commit = repo.find_commit(oid).map_err(history)?;
        let tree = commit.tree().map_err(history)?;
        let mut found = Vec::new();
        scan_tree(repo, &tree, "", exclusions, secrets, &mut seen_trees, &mut found)
            .map_err(history)?;
        for (path, pattern, same_as) in found {
            if reported.insert(path.clone()) {
                leaks.push(Leak {
                    commit: oid.to_string(),
                    summary: commit.summary().ok().flatten().unwrap_or("").to_owned(),
                    path,
                    pattern,
                    same_as,
                });
            }
        }
    }
    Ok(leaks)
}

/// Collects the excluded paths of `tree` (at `prefix`), and the blobs whose content is a
/// secret's (with that secret's path); a subtree already scanned at the same place is skipped,
/// so a long history costs little more than its changes (what is found in a subtree depends
/// only on its id and place).
fn scan_tree(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    exclusions: &Exclusions,
    secrets: &SecretBlobs,
    seen: &mut HashSet<(String, Oid)>,
    found: &mut Vec<(String, String, Option<String>)>,
) -> std::result::Result<(), git2::Error> {
    if !seen.insert((prefix.to_owned(), tree.id())) {
        return Ok(());
    }
    for entry in tree.iter() {
        let name = String::from_utf8_lossy(entry.name_bytes());
        let path = if prefix.is_empty() { name.into_owned() } else { format!("{prefix}/{name}") };
        if let Some(pattern) = exclusions.matching(&path) {
            found.push((path, pattern.to_owned(), None));
            continue;
        }
        if entry.kind() == Some(ObjectType::Blob)
            && let Some((secret, pattern)) = secrets.get(entry.id())
        {
            found.push((path, pattern.to_owned(), Some(secret.to_owned())));
            continue;
        }
        if entry.kind() != Some(ObjectType::Tree) && !exclusions.is_declared(&path) {
            found.push((path, UNDECLARED.to_owned(), None));
            continue;
        }
        if entry.kind() == Some(ObjectType::Tree) {
            let subtree = repo.find_tree(entry.id())?;
            scan_tree(repo, &subtree, &path, exclusions, secrets, seen, found)?;
        }
    }
    Ok(())
}

/// One destination of a push (a push URL): the object ids it advertised.
#[derive(Debug)]
pub(super) struct Destination {
    pub(super) advertised: Vec<Oid>,
}

impl Journal {
    /// The contents of the secret files now in the work tree
    /// ([`JournalOptions::secrets`](crate::JournalOptions::secrets)), as blob ids.
    pub fn secret_blobs(&self) -> Result<SecretBlobs> {
        SecretBlobs::from_work_tree(self.dir(), &self.options.secrets)
    }

    /// [`audit_outgoing`] with this journal's exclusions and secrets, against what every push
    /// URL of `remote` (a configured remote's name) holds now, asked with the user's `git` (on
    /// a machine without `git`, with libgit2). With `interactive` off, git may not prompt. A
    /// destination that cannot be listed is [`Error::DestinationUnknown`].
    pub fn audit_outgoing(&self, remote: &str, interactive: bool) -> Result<Vec<Leak>> {
        let watch = Watch::for_options(&self.options, interactive);
        let destinations = match list_destinations(self.dir(), remote, interactive, &watch) {
            Err(Error::Io(e)) if e.source.kind() == std::io::ErrorKind::NotFound => {
                self.list_with_libgit2(remote)?
            }
            other => other?,
        };
        self.audit_destinations(&destinations)
    }

    /// The leaks of a push to each of `destinations`, each path once.
    pub(super) fn audit_destinations(&self, destinations: &[Destination]) -> Result<Vec<Leak>> {
        let secrets = self.secret_blobs()?;
        let repo = self.repo().lock();
        let mut reported = HashSet::new();
        let mut leaks = Vec::new();
        for destination in destinations {
            let found =
                audit_outgoing(&repo, &self.options.exclusions, &secrets, &destination.advertised)?;
            leaks.extend(found.into_iter().filter(|leak| reported.insert(leak.path.clone())));
        }
        Ok(leaks)
    }

    /// [`paths_in_recent_history`] in this journal's repository.
    pub fn paths_in_recent_history(
        &self,
        patterns: &[&str],
        limit: usize,
    ) -> Result<(Vec<Leak>, bool)> {
        let repo = self.repo().lock();
        paths_in_recent_history(&repo, patterns, limit)
    }

    /// [`audit_history`] with this journal's exclusions.
    pub fn audit_history(&self) -> Result<Vec<Leak>> {
        let repo = self.repo().lock();
        audit_history(&repo, &self.options.exclusions)
    }
}
