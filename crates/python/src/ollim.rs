//! `dotdir.ollim.DataDir`: the typed ollim-bot data directory of the facade
//! (`dotdir::ollim::DataDir`).

use std::path::PathBuf;

use dotdir::ollim::{self, ForkLookup, Reminder, Routine, SessionEventKind};
use pyo3::{exceptions::PyValueError, prelude::*, types::PyDict};
use serde_json::Value;

use crate::{
    budget::PingBucket,
    convert::{serde_to_py, to_json},
    errors::{Failure, Fallible, detached},
    layouts::check_with,
    log::problem_tuple,
    pidlock::PidLock,
};

/// The ollim-bot data directory (see the package documentation).
#[pyclass(module = "dotdir._native", subclass, frozen)]
#[derive(Debug)]
pub(crate) struct DataDir {
    dd: ollim::DataDir,
}

/// A spec (routine, reminder) from a dict with the reference's field names; a missing `id`
/// gets a new one.
fn spec_from<T: serde::de::DeserializeOwned>(
    value: &Bound<'_, PyAny>,
    new_id: impl FnOnce() -> String,
) -> PyResult<T> {
    let mut json = to_json(value)?;
    let Value::Object(map) = &mut json else {
        return Err(PyValueError::new_err("a spec is a dict of its fields"));
    };
    if !map.contains_key("id") {
        let _ = map.insert("id".to_owned(), Value::String(new_id()));
    }
    serde_json::from_value(json).map_err(|e| PyValueError::new_err(format!("invalid spec: {e}")))
}

type Listing<'py> = (Vec<Bound<'py, PyAny>>, Vec<String>);

fn listing<'py, T: serde::Serialize>(
    py: Python<'py>,
    listing: &dotdir::frontmatter::Listing<T>,
) -> PyResult<Listing<'py>> {
    let entries =
        listing.entries.iter().map(|e| serde_to_py(py, &e.spec)).collect::<PyResult<_>>()?;
    Ok((entries, listing.problems.iter().map(ToString::to_string).collect()))
}

#[pymethods]
impl DataDir {
    /// Opens (creating on first use) the data directory at `path` (absolute). `git`: keep the
    /// git journal; `durable`: fsync every write; `timezone`: the zone of timestamps (`None`:
    /// `OLLIM_TIMEZONE`, else the system's).
    #[new]
    #[pyo3(signature = (path, *, git = true, durable = true, timezone = None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        git: bool,
        durable: bool,
        timezone: Option<String>,
    ) -> PyResult<Self> {
        let path = std::path::absolute(&path).map_err(|e| PyValueError::new_err(e.to_string()))?;
        detached(py, || -> Fallible<_> {
            let mut options = ollim::Options::new()
                .track_in_git(git)
                .durability(crate::document::durability(durable));
            if let Some(name) = &timezone {
                let zone = dotdir::ping_bucket::resolve_time_zone(Some(name))?;
                options = options.time_zone(zone);
            }
            Ok(DataDir { dd: ollim::DataDir::open(path, options)? })
        })
    }

    /// The data directory.
    #[getter]
    fn root(&self) -> PathBuf {
        self.dd.root().to_path_buf()
    }

    /// The absolute path of a `/`-separated path inside the directory.
    fn path(&self, relative: &str) -> PathBuf {
        self.dd.path(relative)
    }

    // ---- sessions ----------------------------------------------------------------------

    /// The current session id (`state/sessions.json`), or `None`.
    fn session_id(&self, py: Python<'_>) -> PyResult<Option<String>> {
        detached(py, || self.dd.session_id().map_err(Failure::from))
    }

    /// Saves the session id, logging `created` or `compacted` as the reference does.
    fn save_session_id(&self, py: Python<'_>, session_id: &str) -> PyResult<()> {
        detached(py, || self.dd.save_session_id(session_id).map_err(Failure::from))
    }

    /// Deletes the session id.
    fn delete_session_id(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, || self.dd.delete_session_id().map_err(Failure::from))
    }

    /// While set, `save_session_id` logs nothing (the caller logs `swapped` itself).
    fn set_swap_in_progress(&self, swapping: bool) {
        self.dd.set_swap_in_progress(swapping);
    }

    /// Appends a lifecycle event to `state/session_history.jsonl` and commits it; returns the
    /// record.
    #[pyo3(signature = (event, session_id, parent_session_id = None))]
    fn log_session_event<'py>(
        &self,
        py: Python<'py>,
        event: &str,
        session_id: &str,
        parent_session_id: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind: SessionEventKind = event.parse().map_err(PyValueError::new_err)?;
        let record = detached(py, || {
            self.dd.log_session_event(kind, session_id, parent_session_id).map_err(Failure::from)
        })?;
        serde_to_py(py, &record)
    }

    fn _session_history<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Vec<Bound<'py, PyAny>>, Vec<crate::log::ProblemTuple>)> {
        let history = detached(py, || self.dd.session_history().map_err(Failure::from))?;
        let events = history.events.iter().map(|e| serde_to_py(py, e)).collect::<PyResult<_>>()?;
        Ok((events, history.problems.iter().map(problem_tuple).collect()))
    }

    /// The timestamp (ISO 8601, UTC) of the last `created` event, or `None`.
    fn session_start_time(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let ts = detached(py, || self.dd.session_start_time().map_err(Failure::from))?;
        Ok(ts.map(|ts| ts.to_string()))
    }

    // ---- specs ---------------------------------------------------------------------------

    fn _routines<'py>(&self, py: Python<'py>) -> PyResult<Listing<'py>> {
        let list = detached(py, || self.dd.list_routines().map_err(Failure::from))?;
        listing(py, &list)
    }

    fn _reminders<'py>(&self, py: Python<'py>) -> PyResult<Listing<'py>> {
        let list = detached(py, || self.dd.list_reminders().map_err(Failure::from))?;
        listing(py, &list)
    }

    fn _webhooks<'py>(&self, py: Python<'py>) -> PyResult<Listing<'py>> {
        let list = detached(py, || self.dd.webhooks().list().map_err(Failure::from))?;
        listing(py, &list)
    }

    /// Saves a routine (a dict of the reference's fields; a missing `id` gets a new one) and
    /// commits it (`add routine {id}`). Returns the file's path.
    fn save_routine(&self, py: Python<'_>, routine: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
        let routine: Routine = spec_from(routine, || Routine::new("", "").id)?;
        detached(py, || self.dd.save_routine(&routine).map_err(Failure::from))
    }

    /// Removes the routine `id` (every file with it) and commits; returns whether it existed.
    fn remove_routine(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        detached(py, || self.dd.remove_routine(id).map_err(Failure::from))
    }

    /// Saves a reminder (a dict; a missing `id` gets a new one) and commits it.
    fn save_reminder(&self, py: Python<'_>, reminder: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
        let reminder: Reminder = spec_from(reminder, || Reminder::new("", "", 0).id)?;
        detached(py, || self.dd.save_reminder(&reminder).map_err(Failure::from))
    }

    /// Removes the reminder `id` and commits; returns whether it existed.
    fn remove_reminder(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        detached(py, || self.dd.remove_reminder(id).map_err(Failure::from))
    }

    /// Removes a fired reminder, saving its chain follow-up due at `next_run_at` first; returns
    /// the follow-up (a dict) or `None`.
    #[pyo3(signature = (id, next_run_at = None))]
    fn fire_reminder<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        next_run_at: Option<&str>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let next = detached(py, || self.dd.fire_reminder(id, next_run_at).map_err(Failure::from))?;
        next.map(|r| serde_to_py(py, &r)).transpose()
    }

    // ---- state files ---------------------------------------------------------------------

    /// The runtime config (`state/config.json`), every key.
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let config = detached(py, || self.dd.config().map_err(Failure::from))?;
        serde_to_py(py, &config)
    }

    /// Sets one config key from its text (the reference's `/config` rules); returns the config.
    fn set_config<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        raw: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config = detached(py, || self.dd.set_config(key, raw).map_err(Failure::from))?;
        serde_to_py(py, &config)
    }

    /// The ping budget (`state/ping_budget.json`).
    fn ping_budget(&self) -> PingBucket {
        PingBucket::from_budget(self.dd.ping_budget())
    }

    /// The single-instance lock (`state/bot.pid`), not yet taken: use it as a context manager.
    fn pid_lock(&self) -> PidLock {
        PidLock::from_config(self.dd.pid_lock())
    }

    /// The pid of the running bot (this library's lock, or the Python bot's record), or `None`.
    fn running_instance(&self, py: Python<'_>) -> PyResult<Option<u32>> {
        let holder = detached(py, || self.dd.running_instance().map_err(Failure::from))?;
        Ok(holder.filter(|h| h.running).and_then(|h| h.pid))
    }

    /// Registers an inquiry prompt; returns its 8-hex key.
    fn register_inquiry(&self, py: Python<'_>, prompt: &str) -> PyResult<String> {
        detached(py, || self.dd.register_inquiry(prompt).map_err(Failure::from))
    }

    /// The prompt of a live inquiry, or `None`.
    fn peek_inquiry(&self, py: Python<'_>, key: &str) -> PyResult<Option<String>> {
        detached(py, || self.dd.peek_inquiry(key).map_err(Failure::from))
    }

    /// Removes and returns the prompt of a live inquiry, or `None`.
    fn pop_inquiry(&self, py: Python<'_>, key: &str) -> PyResult<Option<String>> {
        detached(py, || self.dd.pop_inquiry(key).map_err(Failure::from))
    }

    /// Appends a pending update (capped at 10 with the reference's sentinel).
    fn append_update(&self, py: Python<'_>, message: &str) -> PyResult<()> {
        detached(py, || self.dd.append_update(message).map_err(Failure::from))
    }

    /// The pending updates (`[{"ts", "message"}]`), left in place.
    fn peek_updates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let updates = detached(py, || self.dd.peek_updates().map_err(Failure::from))?;
        serde_to_py(py, &updates)
    }

    /// The pending updates, removed.
    fn pop_updates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let updates = detached(py, || self.dd.pop_updates().map_err(Failure::from))?;
        serde_to_py(py, &updates)
    }

    /// Removes the pending updates.
    fn clear_updates(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, || self.dd.clear_updates().map_err(Failure::from))
    }

    /// Records that Discord messages belong to a fork.
    #[pyo3(signature = (message_ids, fork_session_id, parent_session_id = None))]
    fn record_fork_messages(
        &self,
        py: Python<'_>,
        message_ids: Vec<u64>,
        fork_session_id: &str,
        parent_session_id: Option<&str>,
    ) -> PyResult<()> {
        detached(py, || {
            self.dd
                .record_fork_messages(&message_ids, fork_session_id, parent_session_id)
                .map_err(Failure::from)
        })
    }

    /// The fork session of a message: `(session_id, expired)` as the reference's `ForkLookup`.
    fn lookup_fork_session(
        &self,
        py: Python<'_>,
        message_id: u64,
    ) -> PyResult<(Option<String>, bool)> {
        let found =
            detached(py, || self.dd.lookup_fork_session(message_id).map_err(Failure::from))?;
        Ok(match found {
            ForkLookup::Found(session) => (Some(session), false),
            ForkLookup::Expired => (None, true),
            _ => (None, false),
        })
    }

    /// Writes a secret of `state/` (`token.json`, `credentials.json`): 0600, never committed.
    fn write_secret(&self, py: Python<'_>, name: &str, data: Vec<u8>) -> PyResult<()> {
        detached(py, || self.dd.write_secret(name, &data).map_err(Failure::from))
    }

    /// Reads a secret of `state/`, or `None`.
    fn read_secret<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let bytes = detached(py, || self.dd.read_secret(name).map_err(Failure::from))?;
        Ok(bytes.map(|b| pyo3::types::PyBytes::new(py, &b).into_any()))
    }

    // ---- git -----------------------------------------------------------------------------

    /// Commits every tracked file that changed (written by another program); returns whether
    /// a commit was made.
    fn commit_all_changed(&self, py: Python<'_>, message: &str) -> PyResult<bool> {
        detached(py, || self.dd.commit_all_changed(message).map_err(Failure::from))
    }

    /// The commit messages left pending by failed commits (made by the next commit).
    fn pending_commits(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        detached(py, || self.dd.pending_commits().map_err(Failure::from))
    }

    /// Commits an agent's write of `file_path` as the reference's hook does
    /// (`auto: {tool} {rel}`); returns whether a commit was made.
    fn auto_commit(&self, py: Python<'_>, tool: &str, file_path: PathBuf) -> PyResult<bool> {
        detached(py, || self.dd.auto_commit(tool, &file_path).map_err(Failure::from))
    }

    /// `dotdir.check` of this directory, on its clock.
    #[pyo3(signature = (fix = false))]
    fn _check(
        &self,
        py: Python<'_>,
        fix: bool,
    ) -> PyResult<(&'static str, Vec<crate::layouts::ProblemTuple>)> {
        let options = self.dd.check_options();
        check_with(py, self.dd.root().to_path_buf(), Some(&ollim::LAYOUT), fix, options)
    }

    fn __repr__(&self) -> String {
        format!("DataDir({:?})", self.dd.root())
    }
}

/// A dict of the module's constants for `dotdir.ollim`.
pub(crate) fn constants<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("PROGRAM", ollim::PROGRAM)?;
    dict.set_item("MAX_PENDING_UPDATES", ollim::MAX_PENDING_UPDATES)?;
    Ok(dict)
}
