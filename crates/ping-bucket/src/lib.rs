//! A persisted refill-on-read token bucket with calendar-day counters, byte-compatible with
//! ollim-bot's ping budget (`state/ping_budget.json`) and safe across processes.
//!
//! ollim-bot limits proactive pings with a bucket of 5 pings that refills one ping every 90
//! minutes, computed on each read from the wall-clock time elapsed, plus two counters of the
//! current day (pings used, critical bypasses) that reset when the date changes in the configured
//! time zone. This crate keeps the exact file format and arithmetic, so both implementations can
//! share the file, and fixes the reference's weak points: a clock that goes backwards never drains
//! or inflates the bucket, a zero capacity or rate is refused, a spend is a read-modify-write under
//! a cross-process lock that grants only once the new state is durable, reads never write, and a
//! damaged file is reported, never silently reset.
//!
//! # Main types
//! - [`PingBudget`]: the budget in its state file: [`PingBudget::try_use`],
//!   [`PingBudget::record_critical`], [`PingBudget::set_capacity`],
//!   [`PingBudget::set_refill_rate`], [`PingBudget::status`], [`PingBudget::full_status`],
//!   [`PingBudget::minutes_to_next_refill`], [`PingBudget::update`], [`PingBudget::reset`].
//! - [`BudgetState`]: the pure state machine and its on-disk record, with the reference's status
//!   strings (`budget: 2/5 (next refill in 45 min)`).
//! - [`Clock`], [`SystemClock`], [`FakeClock`]: where "now" comes from.
//! - [`resolve_time_zone`], [`time_zone_from_env`]: `OLLIM_TIMEZONE`, else the system zone, else
//!   UTC, through jiff's maintained IANA database handling.
//! - [`Error`]: what failed, with the state file's path.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir_ping_bucket::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! use dotdir_ping_bucket::{FakeClock, PingBudget};
//! use jiff::{SignedDuration, tz::TimeZone};
//!
//! let clock = FakeClock::new("2026-11-21T18:00:00Z".parse().unwrap());
//! let zone = TimeZone::get("America/Los_Angeles").unwrap();
//! let budget = PingBudget::new(dir.path().join("state/ping_budget.json"), zone)
//!     .clock(clock.clone());
//!
//! assert_eq!(budget.status()?, "budget: 5/5");
//! for _ in 0..3 {
//!     assert!(budget.try_use()?);
//! }
//! clock.advance(SignedDuration::from_mins(45));
//! assert_eq!(budget.status()?, "budget: 2/5 (next refill in 45 min)");
//! budget.record_critical()?;
//! assert_eq!(
//!     budget.full_status()?,
//!     "budget: 2/5 (next refill in 45 min). used today: 3. \
//!      critical bypasses: 1 (urgent overrides, not deducted from budget)."
//! );
//! assert_eq!(
//!     std::fs::read_to_string(budget.path()).unwrap(),
//!     r#"{"capacity": 5, "available": 2.5, "refill_rate_minutes": 90, "last_refill": "2026-11-21T10:45:00-08:00", "critical_used": 1, "critical_reset_date": "2026-11-21", "daily_used": 3, "daily_used_reset": "2026-11-21"}"#
//! );
//! # Ok(()) }
//! ```
//!
//! # Differences from the reference
//! - A clock that goes backwards counts as zero elapsed time and `last_refill` keeps its later
//!   value (the reference subtracts, down to negative balances). Refill resumes once the clock
//!   passes the stored instant again; a `last_refill` far in the future therefore pauses refill
//!   until then.
//! - The daily counters reset when the date is *later* than the stored one (the reference: any
//!   different date), so a clock or zone moving back does not reset them a second time.
//! - Reads do not write the file; a refused `try_use` writes nothing. A changing operation writes
//!   `last_refill` as the instant it ran, as the reference does.
//! - `available` is always written as a float and kept in `[0, capacity]`: `set_capacity` clamps
//!   at once instead of at the next load.
//! - A missing file is created by the first change, not by a read.
//!
//! # Limitations
//! - The lock is advisory (`flock(2)` on `<path>.lock`): it orders processes that use this crate,
//!   not the Python reference, which takes no lock.
//! - Unix only; Linux is the tested platform.
//! - Timestamps are kept to the microsecond, like Python's `datetime`.
//! - The system zone is jiff's (`TZ`, then `/etc/localtime`); the reference reads
//!   `/etc/timezone` first. Set `OLLIM_TIMEZONE` to make both agree.
//! - Integer-valued `available` in a file (`5` rather than `5.0`) is read, but written back as a
//!   float.

mod budget;
mod clock;
mod error;
mod state;
mod zone;

pub use crate::{
    budget::PingBudget,
    clock::{Clock, FakeClock, SystemClock},
    error::{Error, Result},
    state::{BudgetState, DEFAULT_CAPACITY, DEFAULT_REFILL_RATE_MINUTES},
    zone::{TIME_ZONE_VAR, resolve_time_zone, time_zone_from_env},
};
