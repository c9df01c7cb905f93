//! Off the machine: the audit of what a push would send, the remote's URL, a push through the
//! user's own `git` (every transport, their credentials), the record of the last push, and the
//! opt-in background push after commits.
//!
//! The network goes through the user's `git` rather than libgit2's transports: `git push`
//! already speaks file, ssh, https and git with the user's ssh agent, `~/.ssh/config`,
//! credential helpers, proxies and `insteadOf` rules, and a person debugging a push can run the
//! same command. libgit2 would need TLS and libssh2 builds and would still miss most of that
//! configuration. [`Journal::push`] (libgit2) stays for a machine without `git` (file and git
//! transports without any feature).
//!
//! Before anything leaves, [`audit_outgoing`] walks every commit the push would send and
//! refuses when any of them holds a path the exclusions refuse (a secret, ephemeral state).

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Condvar, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use git2::{ObjectType, Oid, Repository, Tree};
use serde::{Deserialize, Serialize};

use crate::{Error, Exclusions, Journal, Result, Step};

/// The record of the last push (`.git/dotdir-push.json`), written by [`Journal::push_with_git`]
/// and the background push; `dotdir check` reports a failed one.
pub const PUSH_STATUS_FILE: &str = "dotdir-push.json";

/// What [`Leak::pattern`] says of a path the allow-list does not declare
/// ([`Exclusions::allow_only`]).
pub const UNDECLARED: &str = "(not declared by the layout)";

/// A path the exclusions refuse, in a commit a push would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The commit (full hex id).
    pub commit: String,
    /// Its first line.
    pub summary: String,
    /// The path, `/`-separated.
    pub path: String,
    /// The exclusion pattern it matches, or [`UNDECLARED`].
    pub pattern: String,
}

/// The outcome of the last push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushStatus {
    /// Whether it succeeded.
    pub ok: bool,
    /// The remote it went to.
    pub remote: String,
    /// Unix seconds when it ended.
    pub at: u64,
    /// What went wrong (empty when it succeeded).
    #[serde(default)]
    pub error: String,
}

/// The last push recorded in the repository at `git_dir`; `None` when none was, or the record
/// does not parse.
pub fn push_status(git_dir: &Path) -> Option<PushStatus> {
    let bytes = std::fs::read(git_dir.join(PUSH_STATUS_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Records the outcome of a push to `remote` (`.git/dotdir-push.json`). Best effort: the record
/// only informs `check`; a push never fails because of it.
fn record_outcome(git_dir: &Path, remote: &str, result: &Result<()>) {
    let status = PushStatus {
        ok: result.is_ok(),
        remote: remote.to_owned(),
        at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        error: result
            .as_ref()
            .err()
            .map(|e| dotdir_atomic_store::error_chain(e))
            .unwrap_or_default(),
    };
    let _ = dotdir_atomic_store::Document::<PushStatus>::new(git_dir.join(PUSH_STATUS_FILE))
        .write(&status);
}

/// Every path `exclusions` refuses in the commits a push of HEAD to `remote` would send: HEAD's
/// history minus what the remote's tracking refs (`refs/remotes/<remote>/*`) already hold — all
/// of it for a remote never fetched or pushed to. Oldest commit first; a path is reported once,
/// in the first commit that holds it.
pub fn audit_outgoing(
    repo: &Repository,
    exclusions: &Exclusions,
    remote: &str,
) -> Result<Vec<Leak>> {
    audit(repo, exclusions, Some(remote))
}

/// Every path `exclusions` refuses anywhere in HEAD's history (what a clone brought), oldest
/// commit first.
pub fn audit_history(repo: &Repository, exclusions: &Exclusions) -> Result<Vec<Leak>> {
    audit(repo, exclusions, None)
}

/// HEAD's history, minus what `hidden`'s tracking refs hold, walked for excluded paths.
fn audit(repo: &Repository, exclusions: &Exclusions, hidden: Option<&str>) -> Result<Vec<Leak>> {
    let git_dir = repo.path().to_path_buf();
    let history = |e| Error::git(Step::ReadHistory, &git_dir)(e);
    let Ok(head) = repo.head() else { return Ok(Vec::new()) };
    let Some(head) = head.target() else { return Ok(Vec::new()) };
    let mut walk = repo.revwalk().map_err(history)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE).map_err(history)?;
    walk.push(head).map_err(history)?;
    if let Some(remote) = hidden {
        let tracking = format!("refs/remotes/{remote}/*");
        for reference in repo.references_glob(&tracking).map_err(history)?.flatten() {
            if let Some(target) = reference.target() {
                walk.hide(target).map_err(history)?;
            }
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
        scan_tree(repo, &tree, "", exclusions, &mut seen_trees, &mut found).map_err(history)?;
        for (path, pattern) in found {
            if reported.insert(path.clone()) {
                leaks.push(Leak {
                    commit: oid.to_string(),
                    summary: commit.summary().ok().flatten().unwrap_or("").to_owned(),
                    path,
                    pattern,
                });
            }
        }
    }
    Ok(leaks)
}

/// Collects the excluded paths of `tree` (at `prefix`); a subtree already scanned at the same
/// place is skipped, so a long history costs little more than its changes.
fn scan_tree(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    exclusions: &Exclusions,
    seen: &mut HashSet<(String, Oid)>,
    found: &mut Vec<(String, String)>,
) -> std::result::Result<(), git2::Error> {
    if !seen.insert((prefix.to_owned(), tree.id())) {
        return Ok(());
    }
    for entry in tree.iter() {
        let name = String::from_utf8_lossy(entry.name_bytes());
        let path = if prefix.is_empty() { name.into_owned() } else { format!("{prefix}/{name}") };
        if let Some(pattern) = exclusions.matching(&path) {
            found.push((path, pattern.to_owned()));
            continue;
        }
        if entry.kind() != Some(ObjectType::Tree) && !exclusions.is_declared(&path) {
            found.push((path, UNDECLARED.to_owned()));
            continue;
        }
        if entry.kind() == Some(ObjectType::Tree) {
            let subtree = repo.find_tree(entry.id())?;
            scan_tree(repo, &subtree, &path, exclusions, seen, found)?;
        }
    }
    Ok(())
}

impl Journal {
    /// [`audit_outgoing`] with this journal's exclusions.
    pub fn audit_outgoing(&self, remote: &str) -> Result<Vec<Leak>> {
        let repo = self.repo().lock();
        audit_outgoing(&repo, &self.options.exclusions, remote)
    }

    /// [`audit_history`] with this journal's exclusions.
    pub fn audit_history(&self) -> Result<Vec<Leak>> {
        let repo = self.repo().lock();
        audit_history(&repo, &self.options.exclusions)
    }

    /// The URL of remote `name`, when it is configured.
    pub fn remote_url(&self, name: &str) -> Result<Option<String>> {
        let repo = self.repo().lock();
        match repo.find_remote(name) {
            Ok(remote) => Ok(remote.url().ok().map(str::to_owned)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(Error::git(Step::Push, self.git_dir())(e)),
        }
    }

    /// Remembers `url` as remote `name` (created, or its URL replaced).
    pub fn set_remote_url(&self, name: &str, url: &str) -> Result<()> {
        let repo = self.repo().lock();
        let result = match repo.find_remote(name) {
            Ok(_) => repo.remote_set_url(name, url),
            Err(_) => repo.remote(name, url).map(|_| ()),
        };
        result.map_err(Error::git(Step::Push, self.git_dir()))
    }

    /// The branch HEAD is on, when it is on one.
    pub fn current_branch(&self) -> Result<Option<String>> {
        let repo = self.repo().lock();
        let head =
            repo.find_reference("HEAD").map_err(Error::git(Step::ReadHistory, self.git_dir()))?;
        Ok(head
            .symbolic_target()
            .ok()
            .flatten()
            .and_then(|target| target.strip_prefix("refs/heads/"))
            .map(str::to_owned))
    }

    /// Audits, then pushes the current branch to remote `remote` with the user's `git`
    /// (`git push <remote> <branch>`): every transport, the user's credentials; on a machine
    /// without `git`, with libgit2 ([`Journal::push`]). Refused with
    /// [`Error::Leaks`] when a commit to send holds an excluded path; nothing is sent then. The
    /// outcome is recorded ([`push_status`]). With `interactive` off, git may not prompt
    /// (`GIT_TERMINAL_PROMPT=0`, ssh in batch mode): a background push must never wait.
    pub fn push_with_git(&self, remote: &str, interactive: bool) -> Result<()> {
        let result = self.audit_then_push(remote, interactive);
        record_outcome(self.git_dir(), remote, &result);
        result
    }

    fn audit_then_push(&self, remote: &str, interactive: bool) -> Result<()> {
        let leaks = self.audit_outgoing(remote)?;
        if !leaks.is_empty() {
            return Err(Error::Leaks { remote: remote.to_owned(), leaks });
        }
        let Some(branch) = self.current_branch()? else {
            return Err(Error::git(Step::Push, self.git_dir())(git2::Error::from_str(
                "HEAD is detached: there is no branch to push",
            )));
        };
        match git_push(self.dir(), remote, &branch, interactive) {
            // No `git` on this machine: libgit2's own transports (file and git) still work.
            Err(Error::Io(e)) if e.source.kind() == std::io::ErrorKind::NotFound => {
                self.push(remote)
            }
            other => other,
        }
    }
}

/// `git push <remote> <branch>` in `dir`, its output kept for the error.
fn git_push(dir: &Path, remote: &str, branch: &str, interactive: bool) -> Result<()> {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(["push", "--porcelain", remote])
        .arg(format!("{branch}:{branch}"));
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    if !interactive {
        command
            .stdin(Stdio::null())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    let output = command.output().map_err(|source| {
        Error::Io(crate::IoError { step: Step::Push, path: PathBuf::from("git"), source })
    })?;
    if output.status.success() {
        return Ok(());
    }
    let mut message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if message.is_empty() {
        message = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    }
    Err(Error::PushRejected { remote: remote.to_owned(), reference: branch.to_owned(), message })
}

/// The background push of a journal with [`crate::JournalOptions::auto_push`]: one thread,
/// started by the first commit, that pushes whenever commits were made since its last push.
/// Requests made while a push runs are folded into the next one, so a remote that hangs (a
/// blackholed port) costs one stuck push, never a queue, and never a committer's time.
#[derive(Debug, Default)]
pub(crate) struct AutoPush {
    state: Arc<(Mutex<AutoState>, Condvar)>,
}

#[derive(Debug, Default)]
struct AutoState {
    started: bool,
    wanted: bool,
    closed: bool,
}

impl AutoPush {
    /// Asks for a push; returns at once.
    pub(crate) fn request(
        &self,
        dir: &Path,
        git_dir: &Path,
        exclusions: &Exclusions,
        remote: &str,
    ) {
        let (lock, wake) = &*self.state;
        let Ok(mut state) = lock.lock() else { return };
        state.wanted = true;
        if !state.started {
            state.started = true;
            let shared = Arc::clone(&self.state);
            let (dir, git_dir) = (dir.to_path_buf(), git_dir.to_path_buf());
            let (exclusions, remote) = (exclusions.clone(), remote.to_owned());
            let spawned = std::thread::Builder::new()
                .name("dotdir-auto-push".to_owned())
                .spawn(move || run(&shared, &dir, &git_dir, &exclusions, &remote));
            if spawned.is_err() {
                state.started = false;
            }
        }
        wake.notify_one();
    }
}

impl Drop for AutoPush {
    fn drop(&mut self) {
        let (lock, wake) = &*self.state;
        if let Ok(mut state) = lock.lock() {
            state.closed = true;
            wake.notify_one();
        }
    }
}

fn run(
    shared: &(Mutex<AutoState>, Condvar),
    dir: &Path,
    git_dir: &Path,
    exclusions: &Exclusions,
    remote: &str,
) {
    let (lock, wake) = shared;
    loop {
        {
            let Ok(mut state) = lock.lock() else { return };
            while !state.wanted && !state.closed {
                state = match wake.wait(state) {
                    Ok(state) => state,
                    Err(_) => return,
                };
            }
            if !state.wanted {
                return;
            }
            state.wanted = false;
        }
        // A journal of its own (its own repository handle): the committer's is never locked.
        let options = crate::JournalOptions::new()
            .exclusions(exclusions.clone())
            .manage_gitignore(false)
            .durability(dotdir_atomic_store::Durability::None);
        match Journal::open(dir, options) {
            Ok(journal) => {
                let _ = journal.push_with_git(remote, false);
            }
            Err(error) => record_outcome(git_dir, remote, &Err(error)),
        }
    }
}
