//! Integration tests of `dotdir-ping-bucket`: one binary, a module per topic.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test helpers fail loudly and tests print what they measured"
)]

mod concurrency;
mod errors;
mod golden;
mod properties;
mod roundtrip;
mod time;

use std::path::{Path, PathBuf};

use dotdir_ping_bucket::{BudgetState, FakeClock, PingBudget};
use jiff::{Timestamp, tz::TimeZone};

/// The zone of the fixtures (their offsets are -08:00).
fn los_angeles() -> TimeZone {
    TimeZone::get("America/Los_Angeles").unwrap()
}

fn at(instant: &str) -> Timestamp {
    instant.parse().unwrap()
}

/// The ollim-bot fixture `<set>/state/ping_budget.json`.
fn fixture(set: &str) -> Vec<u8> {
    let path =
        dotdir_test_support::fixtures::ollim_bot_file(&format!("{set}/state/ping_budget.json"));
    std::fs::read(path).unwrap()
}

/// A state file with the given numbers, as the reference would write it.
fn record(
    capacity: i64,
    available: f64,
    rate: i64,
    last_refill: &str,
    critical: i64,
    daily: i64,
) -> String {
    let available = serde_json::to_string(&available).unwrap();
    format!(
        r#"{{"capacity": {capacity}, "available": {available}, "refill_rate_minutes": {rate}, "last_refill": "{last_refill}", "critical_used": {critical}, "critical_reset_date": "2026-11-21", "daily_used": {daily}, "daily_used_reset": "2026-11-21"}}"#
    )
}

fn parse(json: &str) -> BudgetState {
    BudgetState::from_json(json.as_bytes(), Path::new("ping_budget.json")).unwrap()
}

/// A budget in a fresh temporary directory, in Los Angeles, on a fake clock at `now`.
struct Setup {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: FakeClock,
    budget: PingBudget,
}

impl Setup {
    fn new(now: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/ping_budget.json");
        let clock = FakeClock::new(at(now));
        let budget = PingBudget::new(&path, los_angeles()).clock(clock.clone());
        Self { _dir: dir, path, clock, budget }
    }

    /// Like `new`, with `content` already in the state file.
    fn with_file(now: &str, content: &[u8]) -> Self {
        let setup = Self::new(now);
        std::fs::create_dir_all(setup.path.parent().unwrap()).unwrap();
        std::fs::write(&setup.path, content).unwrap();
        setup
    }

    fn file(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }
}
