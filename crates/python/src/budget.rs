//! `dotdir.PingBucket`: ollim-bot's refill-on-read ping budget (crate `dotdir-ping-bucket`).

use std::path::PathBuf;

use dotdir::ping_bucket::{self, BudgetState, PingBudget};
use pyo3::prelude::*;

use crate::{
    convert::to_py,
    errors::{Failure, detached},
};

/// The ping budget in its state file (see the package documentation).
#[pyclass(module = "dotdir._native", subclass, frozen)]
#[derive(Debug)]
pub(crate) struct PingBucket {
    budget: PingBudget,
}

impl PingBucket {
    pub(crate) fn from_budget(budget: PingBudget) -> Self {
        PingBucket { budget }
    }
}

fn state_dict<'py>(py: Python<'py>, state: &BudgetState) -> PyResult<Bound<'py, PyAny>> {
    let value: serde_json::Value = serde_json::from_slice(&state.to_json())
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    to_py(py, &value)
}

#[pymethods]
impl PingBucket {
    /// The budget in `path` (ollim-bot's `state/ping_budget.json`): `capacity` pings, one more
    /// every `refill_rate_minutes`, days counted in `timezone` (an IANA name; `None`:
    /// `OLLIM_TIMEZONE`, else the system's zone, else UTC).
    #[new]
    #[pyo3(signature = (path, *, capacity = 5, refill_rate_minutes = 90, timezone = None))]
    fn new(
        path: PathBuf,
        capacity: u32,
        refill_rate_minutes: u32,
        timezone: Option<&str>,
    ) -> PyResult<Self> {
        let zone = match timezone {
            Some(name) => ping_bucket::resolve_time_zone(Some(name)),
            None => ping_bucket::time_zone_from_env(),
        }
        .map_err(|e| Python::attach(|py| Failure::from(e).into_py(py)))?;
        let budget = PingBudget::new(path, zone)
            .defaults(capacity, refill_rate_minutes)
            .map_err(|e| Python::attach(|py| Failure::from(e).into_py(py)))?;
        Ok(PingBucket { budget })
    }

    /// The state file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.budget.path().to_path_buf()
    }

    /// Spends one ping if one is available (under the file's cross-process lock, durable
    /// before it returns `True`).
    fn try_use(&self, py: Python<'_>) -> PyResult<bool> {
        detached(py, || self.budget.try_use().map_err(Failure::from))
    }

    /// Counts a critical bypass (the budget itself is not touched).
    fn record_critical(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, || self.budget.record_critical().map_err(Failure::from))
    }

    /// Sets the capacity (at least 1; `available` is clamped at once).
    fn set_capacity(&self, py: Python<'_>, capacity: u32) -> PyResult<()> {
        detached(py, || self.budget.set_capacity(capacity).map_err(Failure::from))
    }

    /// Sets the minutes per ping (at least 1).
    fn set_refill_rate(&self, py: Python<'_>, minutes: u32) -> PyResult<()> {
        detached(py, || self.budget.set_refill_rate(minutes).map_err(Failure::from))
    }

    /// `budget: 2/5 (next refill in 45 min)`, the reference's status line.
    fn status(&self, py: Python<'_>) -> PyResult<String> {
        detached(py, || self.budget.status().map_err(Failure::from))
    }

    /// The status with today's counters, as the reference's `get_full_status`.
    fn full_status(&self, py: Python<'_>) -> PyResult<String> {
        detached(py, || self.budget.full_status().map_err(Failure::from))
    }

    /// Minutes until the next ping refills; `None` when the bucket is full.
    fn minutes_to_next_refill(&self, py: Python<'_>) -> PyResult<Option<u32>> {
        detached(py, || self.budget.minutes_to_next_refill().map_err(Failure::from))
    }

    /// The state refilled to now, as the file's keys (the file is not written).
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = detached(py, || self.budget.state().map_err(Failure::from))?;
        state_dict(py, &state)
    }

    /// Replaces the file (even a corrupt one) with a full bucket; returns the new state.
    fn reset<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = detached(py, || self.budget.reset().map_err(Failure::from))?;
        state_dict(py, &state)
    }
}
