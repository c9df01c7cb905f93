//! The background push after commits ([`crate::JournalOptions::auto_push`]), and the record of
//! the last push's outcome.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard},
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use super::git::{Stopper, Watch};
use crate::{Journal, JournalOptions, Result, redact_text, redact_url};

/// The record of the last push (`.git/dotdir-push.json`), written by [`Journal::push_with_git`]
/// and the background push; `dotdir check` reports a failed one.
pub const PUSH_STATUS_FILE: &str = "dotdir-push.json";

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
pub(super) fn record_outcome(git_dir: &Path, remote: &str, result: &Result<()>) {
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
