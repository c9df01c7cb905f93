//! Pushing through the user's `git`: every transport, their credentials, after the audit;
//! each `git` child watched (a time limit, a stopper) and its stderr redacted.

use std::{
    io::Read,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use git2::Oid;

use super::{audit::Destination, auto::record_outcome};
use crate::{Error, GitStop, Journal, JournalOptions, Result, Step, redact_text, redact_url};

/// A `git` command in `dir`, its output captured; without `interactive`, it may not prompt
/// (`GIT_TERMINAL_PROMPT=0`, ssh in batch mode, no stdin).
fn git_cli(dir: &Path, interactive: bool) -> Command {
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
pub(super) struct Stopper {
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
    pub(super) fn stop(&self) {
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
pub(super) struct Watch<'a> {
    pub(super) timeout: Option<Duration>,
    pub(super) stopper: Option<&'a Stopper>,
}

impl<'a> Watch<'a> {
    /// A non-interactive command's watch: `options.git_timeout`; none for an interactive one.
    pub(super) fn for_options(options: &JournalOptions, interactive: bool) -> Self {
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
pub(super) fn list_destinations(
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
    let mut command = git_cli(dir, false);
    command.args(["remote", "get-url", "--push", "--all", "--", remote]);
    let urls = run_git(command, watch)?.map_err(|message| unknown(remote, message))?;
    let urls: Vec<&str> = urls.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if urls.is_empty() {
        return Err(unknown(remote, "the remote has no push URL".to_owned()));
    }
    let mut destinations = Vec::new();
    for url in urls {
        let mut command = git_cli(dir, false);
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
        let mut command = git_cli(dir, interactive);
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
    ///
    /// [`push_status`]: crate::push_status
    pub fn push_with_git(&self, remote: &str, interactive: bool) -> Result<()> {
        self.push_watched(remote, interactive, &Watch::for_options(&self.options, interactive))
    }

    /// [`Journal::push_with_git`] under `watch`, its outcome recorded.
    pub(super) fn push_watched(
        &self,
        remote: &str,
        interactive: bool,
        watch: &Watch<'_>,
    ) -> Result<()> {
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
                return Err(Error::libgit2(Step::Push, self.git_dir())(git2::Error::from_str(
                    "HEAD kept moving during the audit: nothing was sent, push again",
                )));
            }
        };
        let Some(branch) = self.current_branch()? else {
            return Err(Error::libgit2(Step::Push, self.git_dir())(git2::Error::from_str(
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
    let mut command = git_cli(dir, interactive);
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
