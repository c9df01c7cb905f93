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
//! Before anything leaves, the destination is asked which commits it holds (`git ls-remote` on
//! each push URL, as `git remote get-url --push --all` resolves it: `pushurl`, `pushInsteadOf`
//! and `insteadOf` applied), and [`audit_outgoing`] walks every commit of HEAD's history that
//! those commits do not reach. It refuses when any of them holds a path the exclusions refuse
//! (a secret, ephemeral state) or a blob whose bytes are a secret file's current bytes
//! ([`SecretBlobs`]), under whatever path. Local tracking refs (`refs/remotes/*`) are never
//! trusted: a re-created remote, a `pushurl` to another repository or a fresh clone pushed to
//! a new remote all have tracking refs that say nothing about the destination. A destination
//! that cannot be listed is [`Error::DestinationUnknown`], and nothing is sent.
//!
//! Every URL dotdir shows or records goes through [`crate::redact_url`], and `git`'s own
//! stderr through [`crate::redact_text`]: credentials in a URL are never printed.

use std::{
    collections::{HashMap, HashSet},
    io::Read,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard},
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use git2::{ObjectType, Oid, Repository, Tree};
use serde::{Deserialize, Serialize};

use crate::{
    Error, Exclusions, GitStop, Journal, JournalOptions, Result, SecretBlobs, Step, redact_text,
    redact_url,
};

/// The record of the last push (`.git/dotdir-push.json`), written by [`Journal::push_with_git`]
/// and the background push; `dotdir check` reports a failed one.
pub const PUSH_STATUS_FILE: &str = "dotdir-push.json";

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
/// does not parse. Credentials in a URL are redacted, also in a record an older version wrote.
pub fn push_status(git_dir: &Path) -> Option<PushStatus> {
    // Never blocks: a FIFO or a symlink at the record is not read.
    let bytes = dotdir_atomic_store::read(&git_dir.join(PUSH_STATUS_FILE), 64 * 1024).ok()??;
    let mut status: PushStatus = serde_json::from_slice(&bytes).ok()?;
    status.remote = redact_url(&status.remote);
    status.error = redact_text(&status.error);
    Some(status)
}

/// Records the outcome of a push to `remote` (`.git/dotdir-push.json`), credentials redacted.
/// Best effort: the record only informs `check`; a push never fails because of it.
fn record_outcome(git_dir: &Path, remote: &str, result: &Result<()>) {
    let status = PushStatus {
        ok: result.is_ok(),
        remote: redact_url(remote),
        at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        error: result
            .as_ref()
            .err()
            .map(|e| redact_text(&dotdir_atomic_store::error_chain(e)))
            .unwrap_or_default(),
    };
    let _ = dotdir_atomic_store::Document::<PushStatus>::new(git_dir.join(PUSH_STATUS_FILE))
        .write(&status);
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
    let history = |e| Error::git(Step::ReadHistory, &git_dir)(e);
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
    let history = |e| Error::git(Step::ReadHistory, &git_dir)(e);
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
pub(crate) struct Destination {
    advertised: Vec<Oid>,
}

/// A `git` command in `dir`, its output captured; without `interactive`, it may not prompt
/// (`GIT_TERMINAL_PROMPT=0`, ssh in batch mode, no stdin).
fn git(dir: &Path, interactive: bool) -> Command {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    if !interactive {
        command
            .stdin(Stdio::null())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    command
}

/// Who may kill the `git` children of a background push, and whether it did: the last journal
/// of the directory in the process, when it is dropped ([`AutoPush`]).
#[derive(Debug, Default)]
pub(crate) struct Stopper {
    state: Mutex<StopState>,
}

#[derive(Debug, Default)]
struct StopState {
    stopped: bool,
    /// The process group of the `git` child running now (its pid: it leads the group).
    group: Option<rustix::process::Pid>,
}

impl Stopper {
    fn lock(&self) -> MutexGuard<'_, StopState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Kills the running child's process group (and any started later at once).
    fn stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        if let Some(group) = state.group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }

    fn is_stopped(&self) -> bool {
        self.lock().stopped
    }
}

/// How a `git` child runs: with a time limit, and a [`Stopper`] that may kill it. Without
/// either (an interactive command), it runs in the caller's process group, for as long as the
/// person at the terminal lets it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Watch<'a> {
    timeout: Option<Duration>,
    stopper: Option<&'a Stopper>,
}

impl<'a> Watch<'a> {
    /// A non-interactive command's watch: `options.git_timeout`; none for an interactive one.
    fn for_options(options: &JournalOptions, interactive: bool) -> Self {
        Watch { timeout: if interactive { None } else { options.git_timeout }, stopper: None }
    }
}

/// Runs `command`: its stdout when it succeeded, else its stderr (or stdout), redacted, as the
/// message of the error. Not finding `git` at all is an [`Error::Io`] (`NotFound`). Under a
/// [`Watch`] with a limit or a stopper, the child leads a process group of its own, and that
/// group is killed (and the child reaped) when the limit passes or the stopper stops it:
/// [`Error::GitStopped`].
fn run_git(mut command: Command, watch: &Watch<'_>) -> Result<std::result::Result<String, String>> {
    let not_found =
        |source| Error::Io(crate::IoError { step: Step::Push, path: PathBuf::from("git"), source });
    let (status, stdout, stderr) = if watch.timeout.is_none() && watch.stopper.is_none() {
        let output = command.output().map_err(not_found)?;
        (output.status, output.stdout, output.stderr)
    } else {
        let subcommand = command
            .get_args()
            .nth(2)
            .map_or_else(String::new, |arg| arg.to_string_lossy().into_owned());
        command.process_group(0);
        let child = command.spawn().map_err(not_found)?;
        let (status, stdout, stderr, stopped) = watch_child(child, watch);
        if let Some(reason) = stopped {
            return Err(Error::GitStopped { command: subcommand, reason });
        }
        (status.map_err(not_found)?, stdout, stderr)
    };
    if status.success() {
        return Ok(Ok(String::from_utf8_lossy(&stdout).into_owned()));
    }
    let mut message = String::from_utf8_lossy(&stderr).trim().to_owned();
    if message.is_empty() {
        message = String::from_utf8_lossy(&stdout).trim().to_owned();
    }
    if message.is_empty() {
        message = format!("git exited with {status}");
    }
    Ok(Err(redact_text(&message)))
}

/// How long the pipes of a killed `git` are still read for what it wrote before it died.
const KILLED_DRAIN: Duration = Duration::from_secs(5);

/// What a watched child left: its exit status, its stdout and stderr, and why it was killed.
type Watched = (std::io::Result<std::process::ExitStatus>, Vec<u8>, Vec<u8>, Option<GitStop>);

/// Drains `child`'s stdout and stderr until both end, then reaps it; kills its process group
/// (the child leads it) once `watch`'s limit passes or its stopper stops it. The group is
/// unregistered from the stopper before the child is reaped, so a stopper never signals a
/// group id the kernel may have handed out again.
fn watch_child(mut child: Child, watch: &Watch<'_>) -> Watched {
    use rustix::{
        event::{PollFd, PollFlags, Timespec, poll},
        process::{Pid, Signal, WaitId, WaitIdOptions, kill_process_group, waitid},
    };
    let pid = Pid::from_child(&child);
    let deadline = watch.timeout.map(|timeout| Instant::now() + timeout);
    if let Some(stopper) = watch.stopper {
        let mut state = stopper.lock();
        state.group = Some(pid);
        if state.stopped {
            let _ = kill_process_group(pid, Signal::KILL);
        }
    }
    let mut pipes: [Option<std::fs::File>; 2] = [
        child.stdout.take().map(|pipe| std::os::fd::OwnedFd::from(pipe).into()),
        child.stderr.take().map(|pipe| std::os::fd::OwnedFd::from(pipe).into()),
    ];
    let mut outputs = [Vec::new(), Vec::new()];
    let mut stopped = None;
    let mut killed_at: Option<Instant> = None;
    let mut buffer = vec![0u8; 64 * 1024];
    // Slices of at most this long, so that a stop is noticed even if the kill cannot be sent.
    let slice = Duration::from_millis(100);
    loop {
        if stopped.is_none() {
            if watch.stopper.is_some_and(Stopper::is_stopped) {
                stopped = Some(GitStop::Interrupted);
            } else if let (Some(deadline), Some(timeout)) = (deadline, watch.timeout)
                && Instant::now() >= deadline
            {
                stopped = Some(GitStop::TimedOut(timeout));
            }
            if stopped.is_some() {
                let _ = kill_process_group(pid, Signal::KILL);
                killed_at = Some(Instant::now());
            }
        }
        if killed_at.is_some_and(|at| at.elapsed() > KILLED_DRAIN) {
            // A process that left the group still holds a pipe: stop reading it.
            pipes = [None, None];
        }
        let open: Vec<usize> = (0..2).filter(|&i| pipes[i].is_some()).collect();
        if open.is_empty() {
            // Both ends closed: wait for the exit itself (without reaping it yet).
            match waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
            ) {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
            continue;
        }
        let ready = {
            let mut fds: Vec<PollFd<'_>> = open
                .iter()
                .filter_map(|&i| pipes[i].as_ref().map(|pipe| PollFd::new(pipe, PollFlags::IN)))
                .collect();
            let wait = match deadline {
                Some(deadline) if stopped.is_none() => {
                    deadline.saturating_duration_since(Instant::now()).min(slice)
                }
                _ => slice,
            };
            let timeout = Timespec::try_from(wait).unwrap_or(Timespec { tv_sec: 0, tv_nsec: 0 });
            match poll(&mut fds, Some(&timeout)) {
                Ok(_) => fds.iter().map(|fd| !fd.revents().is_empty()).collect::<Vec<_>>(),
                Err(_) => vec![false; open.len()],
            }
        };
        for (&i, ready) in open.iter().zip(ready) {
            if !ready {
                continue;
            }
            let Some(pipe) = pipes[i].as_mut() else { continue };
            match pipe.read(&mut buffer) {
                Ok(0) => pipes[i] = None,
                Ok(n) => outputs[i].extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => pipes[i] = None,
            }
        }
    }
    if let Some(stopper) = watch.stopper {
        stopper.lock().group = None;
    }
    let status = child.wait();
    let [stdout, stderr] = outputs;
    (status, stdout, stderr, stopped)
}

/// Asks every push URL of `remote` which objects it holds: `git remote get-url --push --all`
/// (the URLs `git push` would use: `pushurl`, `pushInsteadOf`, `insteadOf`), then `git
/// ls-remote <url>` for each. Any failure is [`Error::DestinationUnknown`]; so is a URL that
/// `ls-remote` would rewrite again (an `insteadOf` rule on the resolved URL), since the
/// listing would then not be the destination's.
pub(crate) fn list_destinations(
    dir: &Path,
    remote: &str,
    interactive: bool,
    watch: &Watch<'_>,
) -> Result<Vec<Destination>> {
    let unknown = |url: &str, message: String| Error::DestinationUnknown {
        remote: redact_url(remote),
        url: redact_url(url),
        message,
    };
    let mut command = git(dir, false);
    command.args(["remote", "get-url", "--push", "--all", "--", remote]);
    let urls = run_git(command, watch)?.map_err(|message| unknown(remote, message))?;
    let urls: Vec<&str> = urls.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if urls.is_empty() {
        return Err(unknown(remote, "the remote has no push URL".to_owned()));
    }
    let mut destinations = Vec::new();
    for url in urls {
        let mut command = git(dir, false);
        command.args(["ls-remote", "--get-url", "--", url]);
        let listed = run_git(command, watch)?.map_err(|message| unknown(url, message))?;
        if listed.trim() != url {
            return Err(unknown(
                url,
                format!(
                    "`git ls-remote` would ask {} instead (an insteadOf rule applies to the push URL)",
                    redact_url(listed.trim())
                ),
            ));
        }
        let mut command = git(dir, interactive);
        command.args(["ls-remote", "--", url]);
        let listing = run_git(command, watch)?.map_err(|message| unknown(url, message))?;
        let advertised = listing
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter_map(|hex| Oid::from_str(hex).ok())
            .collect();
        destinations.push(Destination { advertised });
    }
    Ok(destinations)
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
    pub(crate) fn audit_destinations(&self, destinations: &[Destination]) -> Result<Vec<Leak>> {
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

    /// What the destination of a push to `remote` (a remote's name, or a URL or path) holds,
    /// asked with libgit2's transports (its push URL, `insteadOf` rules applied).
    pub(crate) fn list_with_libgit2(&self, remote: &str) -> Result<Vec<Destination>> {
        let repo = self.repo().lock();
        let unknown = |url: &str, e: &git2::Error| Error::DestinationUnknown {
            remote: redact_url(remote),
            url: redact_url(url),
            message: redact_text(e.message()),
        };
        let mut handle = match repo.find_remote(remote) {
            Ok(found) => found,
            Err(_) => repo.remote_anonymous(remote).map_err(|e| unknown(remote, &e))?,
        };
        let url = match (handle.pushurl(), handle.url()) {
            (Ok(Some(url)), _) | (_, Ok(url)) => url.to_owned(),
            _ => remote.to_owned(),
        };
        let connection = handle
            .connect_auth(git2::Direction::Push, Some(crate::push::callbacks(&repo)), None)
            .map_err(|e| unknown(&url, &e))?;
        let advertised = connection.list().map_err(|e| unknown(&url, &e))?;
        let advertised = advertised.iter().map(git2::RemoteHead::oid).collect();
        Ok(vec![Destination { advertised }])
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

    /// The URL of remote `name`, when it is configured, as configured: it may hold credentials,
    /// so show it only through [`crate::redact_url`].
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

    /// Forgets remote `name` (its configuration and its remote-tracking branches); nothing to
    /// do when there is none.
    pub fn remove_remote(&self, name: &str) -> Result<()> {
        let repo = self.repo().lock();
        match repo.remote_delete(name) {
            Err(e) if e.code() != git2::ErrorCode::NotFound => {
                Err(Error::git(Step::Push, self.git_dir())(e))
            }
            _ => Ok(()),
        }
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

    /// Audits, then pushes the current branch to remote `remote` (a configured remote's name)
    /// with the user's `git` (`git push <remote> <branch>`): every transport, the user's
    /// credentials; on a machine without `git`, with libgit2 ([`Journal::push`]). The audit
    /// ([`Journal::audit_outgoing`]) is judged against what each push URL holds now, never
    /// against local tracking refs: refused with [`Error::Leaks`] when a commit to send holds an
    /// excluded path or a secret's content, with [`Error::DestinationUnknown`] when a
    /// destination cannot be listed; nothing is sent then. The outcome is recorded
    /// ([`push_status`], credentials redacted). With `interactive` off, git may not prompt
    /// (`GIT_TERMINAL_PROMPT=0`, ssh in batch mode): a background push must never wait.
    ///
    /// What the audit cannot see: a destination whose refs change between the listing and the
    /// push (a concurrent deletion there), or a server that advertises refs to a fetch that it
    /// hides from a push (`receive.hideRefs`), makes `git push` send commits the listing
    /// reached.
    ///
    /// With `interactive` off, each `git` command is killed (with what it started) once it
    /// runs longer than [`JournalOptions::git_timeout`]: [`Error::GitStopped`].
    pub fn push_with_git(&self, remote: &str, interactive: bool) -> Result<()> {
        self.push_watched(remote, interactive, &Watch::for_options(&self.options, interactive))
    }

    /// [`Journal::push_with_git`] under `watch`, its outcome recorded.
    fn push_watched(&self, remote: &str, interactive: bool, watch: &Watch<'_>) -> Result<()> {
        let result = self.audit_then_push(remote, interactive, watch);
        record_outcome(self.git_dir(), remote, &result);
        result
    }

    fn audit_then_push(&self, remote: &str, interactive: bool, watch: &Watch<'_>) -> Result<()> {
        let destinations = match list_destinations(self.dir(), remote, interactive, watch) {
            // No `git` on this machine: libgit2 audits and pushes (file and git transports).
            Err(Error::Io(e)) if e.source.kind() == std::io::ErrorKind::NotFound => {
                return self.push(remote);
            }
            other => other?,
        };
        // Exactly the commit audited is sent: HEAD read before and after the audit must agree
        // (a commit made meanwhile, by this process or `git` itself, is audited by the next
        // round), and the push names that commit, not the branch, whose tip may move on.
        let mut rounds = 0;
        let audited = loop {
            let before = self.head()?;
            let leaks = self.audit_destinations(&destinations)?;
            if !leaks.is_empty() {
                return Err(Error::Leaks { remote: redact_url(remote), leaks });
            }
            if self.head()? == before {
                break before;
            }
            rounds += 1;
            if rounds == 10 {
                return Err(Error::git(Step::Push, self.git_dir())(git2::Error::from_str(
                    "HEAD kept moving during the audit: nothing was sent, push again",
                )));
            }
        };
        let Some(branch) = self.current_branch()? else {
            return Err(Error::git(Step::Push, self.git_dir())(git2::Error::from_str(
                "HEAD is detached: there is no branch to push",
            )));
        };
        let Some(audited) = audited else { return Ok(()) };
        match git_push(self.dir(), remote, &audited.to_string(), &branch, interactive, watch) {
            // No `git` on this machine: libgit2's own transports (file and git) still work.
            Err(Error::Io(e)) if e.source.kind() == std::io::ErrorKind::NotFound => {
                self.push(remote)
            }
            other => other,
        }
    }
}

/// `git push <remote> <commit>:refs/heads/<branch>` in `dir` (the audited commit, never the
/// branch's tip of the moment), its output kept (redacted) for the error.
fn git_push(
    dir: &Path,
    remote: &str,
    commit: &str,
    branch: &str,
    interactive: bool,
    watch: &Watch<'_>,
) -> Result<()> {
    let mut command = git(dir, interactive);
    command.args(["push", "--porcelain", remote]).arg(format!("{commit}:refs/heads/{branch}"));
    match run_git(command, watch)? {
        Ok(_) => Ok(()),
        Err(message) => Err(Error::PushRejected {
            remote: redact_url(remote),
            reference: branch.to_owned(),
            message,
        }),
    }
}

/// The background pushes of this process, one worker per directory (its canonical path),
/// shared by every journal of that directory that asked for one.
static WORKERS: LazyLock<Mutex<HashMap<PathBuf, Arc<Worker>>>> = LazyLock::new(Mutex::default);

/// How long the last journal of a directory, when dropped, waits for the worker it stopped to
/// finish (it only records the outcome once its `git` is killed) before leaving it to finish
/// on its own.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// The background push of a journal with [`crate::JournalOptions::auto_push`]: one worker
/// thread per directory in the process, shared by its journals, started by the first commit,
/// that pushes whenever commits were made since its last push. Requests made while a push runs
/// are folded into the next one, so a remote that hangs (a blackholed port) costs one stuck
/// push per directory, never a queue, and never a committer's time; each of its `git` commands
/// is killed after [`crate::JournalOptions::git_timeout`]. When the last journal of the
/// directory is dropped, the running `git` (and all it started: it leads a process group) is
/// killed and reaped, the push is recorded as interrupted, and the thread is joined.
#[derive(Debug, Default)]
pub(crate) struct AutoPush {
    /// The directory's worker, once this journal asked for a push.
    worker: Mutex<Option<(PathBuf, Arc<Worker>)>>,
}

#[derive(Debug, Default)]
struct Worker {
    state: Mutex<AutoState>,
    wake: Condvar,
    stopper: Stopper,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct AutoState {
    /// The journals holding this worker.
    handles: usize,
    /// The push asked for since the last one started (the latest request's options).
    wanted: Option<Request>,
    closed: bool,
    finished: bool,
}

#[derive(Debug)]
struct Request {
    git_dir: PathBuf,
    options: JournalOptions,
    remote: String,
}

fn relock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AutoPush {
    /// Asks for a push; returns at once.
    pub(crate) fn request(
        &self,
        dir: &Path,
        git_dir: &Path,
        options: &JournalOptions,
        remote: &str,
    ) {
        // The same exclusions and secrets, touching nothing on open, and never itself pushing
        // after a commit.
        let mut options = options
            .clone()
            .manage_gitignore(false)
            .durability(dotdir_atomic_store::Durability::None);
        options.auto_push = None;
        let request =
            Request { git_dir: git_dir.to_path_buf(), options, remote: remote.to_owned() };
        let mut mine = relock(&self.worker);
        let worker = match &*mine {
            Some((_, worker)) => Arc::clone(worker),
            None => {
                let mut workers = relock(&WORKERS);
                let worker = Arc::clone(workers.entry(dir.to_path_buf()).or_default());
                relock(&worker.state).handles += 1;
                *mine = Some((dir.to_path_buf(), Arc::clone(&worker)));
                worker
            }
        };
        drop(mine);
        let mut state = relock(&worker.state);
        state.wanted = Some(request);
        let mut thread = relock(&worker.thread);
        if thread.is_none() && !state.closed {
            let shared = Arc::clone(&worker);
            let dir = dir.to_path_buf();
            match std::thread::Builder::new()
                .name("dotdir-auto-push".to_owned())
                .spawn(move || run(&shared, &dir))
            {
                Ok(handle) => *thread = Some(handle),
                Err(_) => state.wanted = None,
            }
        }
        drop(thread);
        drop(state);
        worker.wake.notify_all();
    }
}

impl Drop for AutoPush {
    fn drop(&mut self) {
        let Some((dir, worker)) = relock(&self.worker).take() else { return };
        {
            let mut workers = relock(&WORKERS);
            let mut state = relock(&worker.state);
            state.handles = state.handles.saturating_sub(1);
            if state.handles > 0 {
                return;
            }
            state.closed = true;
            if workers.get(&dir).is_some_and(|w| Arc::ptr_eq(w, &worker)) {
                workers.remove(&dir);
            }
        }
        worker.stopper.stop();
        worker.wake.notify_all();
        let Some(thread) = relock(&worker.thread).take() else { return };
        let deadline = Instant::now() + STOP_WAIT;
        let mut state = relock(&worker.state);
        while !state.finished {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // Left to finish on its own: its `git` is killed, it only records that.
                return;
            }
            state = match worker.wake.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        drop(state);
        let _ = thread.join();
    }
}

fn run(worker: &Worker, dir: &Path) {
    loop {
        let request = {
            let mut state = relock(&worker.state);
            while state.wanted.is_none() && !state.closed {
                state = match worker.wake.wait(state) {
                    Ok(state) => state,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
            match state.wanted.take() {
                Some(request) if !state.closed => request,
                _ => break,
            }
        };
        let Request { git_dir, options, remote } = request;
        let watch = Watch { timeout: options.git_timeout, stopper: Some(&worker.stopper) };
        // A journal of its own (its own repository handle): the committer's is never locked.
        match Journal::open(dir, options.clone()) {
            Ok(journal) => {
                let _ = journal.push_watched(&remote, false, &watch);
            }
            Err(error) => record_outcome(&git_dir, &remote, &Err(error)),
        }
    }
    relock(&worker.state).finished = true;
    worker.wake.notify_all();
}
