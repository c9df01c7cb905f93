//! The budget's state and its arithmetic, with no file involved: refill, daily reset, spending, the
//! status strings, and the exact on-disk record of ollim-bot's `ping_budget.json`.

use std::fmt::Write as _;

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// ollim-bot's default capacity: 5 pings.
pub const DEFAULT_CAPACITY: u32 = 5;
/// ollim-bot's default refill rate: one ping every 90 minutes.
pub const DEFAULT_REFILL_RATE_MINUTES: u32 = 90;

/// The record exactly as it is on disk, keys in the reference's order. Integers are read as `i64`
/// so that a negative value gets a clear error instead of a serde type mismatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Record {
    capacity: i64,
    available: f64,
    refill_rate_minutes: i64,
    last_refill: String,
    critical_used: i64,
    critical_reset_date: String,
    daily_used: i64,
    daily_used_reset: String,
}

/// A ping budget: a token bucket of `capacity` pings that refills one ping every
/// `refill_rate_minutes`, and two counters of the current day in the configured time zone.
///
/// This is the pure state machine; [`crate::PingBudget`] persists it. Every operation takes the
/// current instant and the time zone explicitly, so the rules are testable without a clock:
///
/// ```
/// use dotdir_ping_bucket::BudgetState;
/// use jiff::{SignedDuration, tz::TimeZone};
///
/// let zone = TimeZone::get("America/Los_Angeles").unwrap();
/// let start: jiff::Timestamp = "2026-11-21T18:00:00Z".parse().unwrap();
/// let mut budget = BudgetState::full(5, 90, start, &zone).unwrap();
/// for _ in 0..5 {
///     assert!(budget.try_take());
/// }
/// assert!(!budget.try_take());
/// budget.refill(start + SignedDuration::from_mins(45), &zone);
/// assert_eq!(budget.status(), "budget: 0/5 (next refill in 45 min)");
/// assert_eq!(budget.last_refill_text(), "2026-11-21T10:45:00-08:00");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetState {
    capacity: u32,
    available: f64,
    refill_rate_minutes: u32,
    /// `last_refill` as written in the file, kept so that an unchanged state is re-saved with
    /// identical bytes.
    last_refill_text: String,
    last_refill: Timestamp,
    critical_used: u32,
    critical_reset_date: String,
    daily_used: u32,
    daily_used_reset: String,
}

impl BudgetState {
    /// A full bucket (`available == capacity`) with both counters at 0 for today in `zone`, and
    /// `last_refill = now`: what the reference writes when the file is missing. A capacity or
    /// rate of 0 is an [`Error::InvalidSetting`].
    pub fn full(
        capacity: u32,
        refill_rate_minutes: u32,
        now: Timestamp,
        zone: &TimeZone,
    ) -> Result<Self> {
        check_setting("capacity", capacity)?;
        check_setting("refill_rate_minutes", refill_rate_minutes)?;
        let now = to_microseconds(now);
        let today = today(now, zone).to_string();
        Ok(Self {
            capacity,
            available: f64::from(capacity),
            refill_rate_minutes,
            last_refill_text: python_isoformat(now, zone),
            last_refill: now,
            critical_used: 0,
            critical_reset_date: today.clone(),
            daily_used: 0,
            daily_used_reset: today,
        })
    }

    /// The reference's defaults ([`DEFAULT_CAPACITY`], [`DEFAULT_REFILL_RATE_MINUTES`]).
    pub fn default_at(now: Timestamp, zone: &TimeZone) -> Self {
        Self::full(DEFAULT_CAPACITY, DEFAULT_REFILL_RATE_MINUTES, now, zone)
            .expect("the default capacity and rate are not zero")
    }

    /// Parses the bytes of a `ping_budget.json` (as the reference or this crate wrote it), without
    /// refilling. `path` only names the file in errors.
    pub fn from_json(bytes: &[u8], path: &std::path::Path) -> Result<Self> {
        let record: Record = serde_json::from_slice(bytes).map_err(|source| {
            if source.is_data() {
                Error::Foreign { path: path.to_owned(), source }
            } else {
                Error::Corrupt { path: path.to_owned(), source }
            }
        })?;
        Self::from_record(record, path)
    }

    /// The bytes of the state file: byte for byte what the reference's `json.dumps` writes.
    pub fn to_json(&self) -> Vec<u8> {
        dotdir_atomic_store::to_json_bytes(
            &self.to_record(),
            dotdir_atomic_store::JsonStyle::Python,
        )
        .expect("a record of numbers and strings always serialises")
    }

    pub(crate) fn from_record(record: Record, path: &std::path::Path) -> Result<Self> {
        let invalid = |field: &'static str, reason: String| Error::InvalidState {
            path: path.to_owned(),
            field,
            reason,
        };
        let positive = |field: &'static str, value: i64| {
            u32::try_from(value).ok().filter(|value| *value >= 1).ok_or_else(|| {
                invalid(field, format!("{value} (it must be between 1 and {})", u32::MAX))
            })
        };
        let counter = |field: &'static str, value: i64| {
            u32::try_from(value).map_err(|_| {
                invalid(field, format!("{value} (it must be between 0 and {})", u32::MAX))
            })
        };
        let capacity = positive("capacity", record.capacity)?;
        let refill_rate_minutes = positive("refill_rate_minutes", record.refill_rate_minutes)?;
        if !record.available.is_finite() {
            return Err(invalid(
                "available",
                format!("{} is not a finite number", record.available),
            ));
        }
        let last_refill = record.last_refill.parse::<Timestamp>().map_err(|error| {
            invalid(
                "last_refill",
                format!(
                    "{:?} is not an ISO 8601 date-time with a UTC offset ({error})",
                    record.last_refill
                ),
            )
        })?;
        Ok(Self {
            capacity,
            available: record.available,
            refill_rate_minutes,
            last_refill_text: record.last_refill,
            last_refill,
            critical_used: counter("critical_used", record.critical_used)?,
            critical_reset_date: record.critical_reset_date,
            daily_used: counter("daily_used", record.daily_used)?,
            daily_used_reset: record.daily_used_reset,
        })
    }

    pub(crate) fn to_record(&self) -> Record {
        Record {
            capacity: i64::from(self.capacity),
            available: self.available,
            refill_rate_minutes: i64::from(self.refill_rate_minutes),
            last_refill: self.last_refill_text.clone(),
            critical_used: i64::from(self.critical_used),
            critical_reset_date: self.critical_reset_date.clone(),
            daily_used: i64::from(self.daily_used),
            daily_used_reset: self.daily_used_reset.clone(),
        }
    }

    /// Brings the state up to `now`: the reference's `_refill` then `_reset_daily`, with its exact
    /// float arithmetic, and two fixes.
    ///
    /// - Refill: `available = min(available + elapsed_minutes / refill_rate_minutes, capacity)`,
    ///   where `elapsed_minutes` is `(now - last_refill)` in whole microseconds / 10⁶ / 60, and
    ///   `last_refill` becomes `now` (as `datetime.isoformat()` in `zone`).
    /// - **Backwards clock:** when `now` is before `last_refill` the elapsed time counts as zero and
    ///   `last_refill` keeps its later value, so a clock that goes back never drains the bucket
    ///   (the reference subtracts) and a clock that goes back and forward again never credits the
    ///   same minutes twice. Refill resumes once the clock passes `last_refill` again.
    /// - `available` is kept within `[0, capacity]`: a negative balance the reference wrote after
    ///   a backwards clock counts as 0 (before the refill is added), a lowered capacity clamps.
    /// - Daily counters: `critical_used` and `daily_used` are reset to 0 (each with its own date)
    ///   when today's date in `zone` is after the stored date, or the stored date does not parse.
    ///   Unlike the reference (any inequality), a date earlier than the stored one — the clock or
    ///   the zone moved back — keeps the counters rather than resetting them twice in one day.
    pub fn refill(&mut self, now: Timestamp, zone: &TimeZone) {
        let now = to_microseconds(now);
        let elapsed_microseconds =
            now.as_microsecond().saturating_sub(self.last_refill.as_microsecond());
        // A negative balance (the reference's, after a backwards clock) counts as 0 before refill.
        let mut available = self.available.max(0.0);
        if elapsed_microseconds > 0 {
            // The reference: `timedelta.total_seconds() / 60`, then `/ refill_rate_minutes`;
            // `total_seconds` divides the integer microseconds by 10⁶ with correct rounding, which
            // the conversion below reproduces exactly for any span under 2⁵³ µs (285 years).
            let elapsed_minutes = (elapsed_microseconds as f64 / 1e6) / 60.0;
            available += elapsed_minutes / f64::from(self.refill_rate_minutes);
            self.last_refill = now;
            self.last_refill_text = python_isoformat(now, zone);
        }
        self.available = available.min(f64::from(self.capacity)).max(0.0);
        let today = today(now, zone);
        if is_new_day(&self.critical_reset_date, today) {
            self.critical_used = 0;
            self.critical_reset_date = today.to_string();
        }
        if is_new_day(&self.daily_used_reset, today) {
            self.daily_used = 0;
            self.daily_used_reset = today.to_string();
        }
    }

    /// Spends one ping if at least one is available (`available >= 1.0`): `available -= 1.0` and
    /// `daily_used += 1`. Call [`BudgetState::refill`] first.
    pub fn try_take(&mut self) -> bool {
        if self.available < 1.0 {
            return false;
        }
        self.available -= 1.0;
        self.daily_used = self.daily_used.saturating_add(1);
        true
    }

    /// Counts a critical ping that bypassed the budget: `critical_used += 1`; `available` is not
    /// touched.
    pub fn record_critical(&mut self) {
        self.critical_used = self.critical_used.saturating_add(1);
    }

    /// Sets the capacity; `available` is clamped to it at once (the reference clamps on the next
    /// load, which shows the same numbers). 0 is an [`Error::InvalidSetting`].
    pub fn set_capacity(&mut self, capacity: u32) -> Result<()> {
        check_setting("capacity", capacity)?;
        self.capacity = capacity;
        self.available = self.available.min(f64::from(capacity));
        Ok(())
    }

    /// Sets the minutes per ping. 0 is an [`Error::InvalidSetting`].
    pub fn set_refill_rate(&mut self, refill_rate_minutes: u32) -> Result<()> {
        check_setting("refill_rate_minutes", refill_rate_minutes)?;
        self.refill_rate_minutes = refill_rate_minutes;
        Ok(())
    }

    /// The reference's `get_status()`: `budget: 5/5`, or `budget: 2/5 (next refill in 45 min)`
    /// when the bucket is not full (`int(available)` truncates: 2.9 shows as 2).
    pub fn status(&self) -> String {
        let mut status = format!("budget: {}/{}", self.available.trunc() as i64, self.capacity);
        if let Some(minutes) = self.minutes_to_next_refill() {
            let _ = write!(status, " (next refill in {minutes} min)");
        }
        status
    }

    /// The reference's `get_full_status()`: the status, then `used today: N` and
    /// `critical bypasses: N (urgent overrides, not deducted from budget)` when non-zero, joined
    /// by `". "` with a final period; the bare status when both counters are 0.
    pub fn full_status(&self) -> String {
        let mut parts = vec![self.status()];
        if self.daily_used != 0 {
            parts.push(format!("used today: {}", self.daily_used));
        }
        if self.critical_used != 0 {
            parts.push(format!(
                "critical bypasses: {} (urgent overrides, not deducted from budget)",
                self.critical_used
            ));
        }
        if parts.len() > 1 { parts.join(". ") + "." } else { parts.remove(0) }
    }

    /// Minutes until the next whole ping: `None` when the bucket is full, else
    /// `ceil((1 - fraction(available)) * refill_rate_minutes)`.
    pub fn minutes_to_next_refill(&self) -> Option<u32> {
        if self.available >= f64::from(self.capacity) {
            return None;
        }
        let fraction = self.available - self.available.trunc();
        let minutes = ((1.0 - fraction) * f64::from(self.refill_rate_minutes)).ceil();
        // The product is in (0, 2 × rate] for any available in (-1, capacity).
        Some(minutes.clamp(0.0, f64::from(u32::MAX)) as u32)
    }

    /// The capacity (pings).
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The pings available now, fractional.
    pub fn available(&self) -> f64 {
        self.available
    }

    /// Minutes per refilled ping.
    pub fn refill_rate_minutes(&self) -> u32 {
        self.refill_rate_minutes
    }

    /// The instant of the last refill computation.
    pub fn last_refill(&self) -> Timestamp {
        self.last_refill
    }

    /// `last_refill` exactly as it is written in the file.
    pub fn last_refill_text(&self) -> &str {
        &self.last_refill_text
    }

    /// Critical pings counted today.
    pub fn critical_used(&self) -> u32 {
        self.critical_used
    }

    /// The day `critical_used` counts, as written (`YYYY-MM-DD`).
    pub fn critical_reset_date(&self) -> &str {
        &self.critical_reset_date
    }

    /// Pings spent today.
    pub fn daily_used(&self) -> u32 {
        self.daily_used
    }

    /// The day `daily_used` counts, as written (`YYYY-MM-DD`).
    pub fn daily_used_reset(&self) -> &str {
        &self.daily_used_reset
    }
}

fn check_setting(setting: &'static str, value: u32) -> Result<()> {
    if value == 0 {
        return Err(Error::InvalidSetting { setting, value: 0 });
    }
    Ok(())
}

fn is_new_day(stored: &str, today: Date) -> bool {
    match stored.parse::<Date>() {
        Ok(stored) => today > stored,
        Err(_) => true,
    }
}

fn today(now: Timestamp, zone: &TimeZone) -> Date {
    zone.to_datetime(now).date()
}

/// Python keeps microseconds: every instant this crate stores or subtracts is truncated to them.
fn to_microseconds(now: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
}

/// `datetime.isoformat()` of an aware datetime: `YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM[:SS]`, the
/// microseconds only when non-zero, the offset's seconds only when non-zero.
pub(crate) fn python_isoformat(instant: Timestamp, zone: &TimeZone) -> String {
    let offset = zone.to_offset(instant);
    let local = offset.to_datetime(instant);
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    );
    let microseconds = local.subsec_nanosecond() / 1000;
    if microseconds != 0 {
        let _ = write!(text, ".{microseconds:06}");
    }
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    let _ = write!(text, "{sign}{:02}:{:02}", seconds / 3600, seconds % 3600 / 60);
    if !seconds.is_multiple_of(60) {
        let _ = write!(text, ":{:02}", seconds % 60);
    }
    text
}

#[cfg(test)]
mod tests;
