//! Time: an injectable clock, and the timestamp formats the reference writes.

use std::{fmt, sync::Arc};

use jiff::{Timestamp, tz::TimeZone};
use parking_lot::Mutex;

/// Where "now" comes from: the system clock in production, a [`FixedClock`] in tests.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to (for tests and replays).
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<Timestamp>>);

impl FixedClock {
    /// A clock standing at `now`.
    pub fn new(now: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// A clock standing at `seconds` since the Unix epoch (fractions kept to the microsecond).
    pub fn from_unix(seconds: f64) -> Self {
        Self::new(timestamp_from_unix(seconds))
    }

    /// Moves the clock to `now` (backwards too).
    pub fn set(&self, now: Timestamp) {
        *self.0.lock() = now;
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: f64) {
        let mut now = self.0.lock();
        *now = timestamp_from_unix(unix_seconds(*now) + seconds);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock()
    }
}

/// Seconds since the Unix epoch as Python's `time.time()` reports them.
pub fn unix_seconds(ts: Timestamp) -> f64 {
    ts.as_microsecond() as f64 / 1e6
}

/// The instant `seconds` after the Unix epoch, to the microsecond (out-of-range values clamp).
pub fn timestamp_from_unix(seconds: f64) -> Timestamp {
    let micros = (seconds * 1e6).round();
    let micros = micros
        .clamp(Timestamp::MIN.as_microsecond() as f64, Timestamp::MAX.as_microsecond() as f64)
        as i64;
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Python's `datetime.now(tz).isoformat()`: `2026-11-21T14:02:00.779085-08:00`, the fraction
/// (microseconds) only when it is not zero.
pub fn isoformat(ts: Timestamp, tz: &TimeZone) -> String {
    let zoned = ts.to_zoned(tz.clone());
    let micros = zoned.subsec_nanosecond() / 1000;
    let offset = zoned.offset().seconds();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs();
    let (oh, om, os) = (offset / 3600, offset % 3600 / 60, offset % 60);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        zoned.year(),
        zoned.month(),
        zoned.day(),
        zoned.hour(),
        zoned.minute(),
        zoned.second()
    );
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out.push_str(&format!("{sign}{oh:02}:{om:02}"));
    if os != 0 {
        out.push_str(&format!(":{os:02}"));
    }
    out
}

/// The time zone of the bot: `OLLIM_TIMEZONE` when set (an IANA name), else the system's.
pub fn configured_time_zone() -> crate::ollim::Result<TimeZone> {
    match std::env::var("OLLIM_TIMEZONE") {
        Ok(name) if !name.trim().is_empty() => time_zone(name.trim()),
        _ => Ok(TimeZone::try_system().unwrap_or(TimeZone::UTC)),
    }
}

/// The IANA time zone `name`.
pub fn time_zone(name: &str) -> crate::ollim::Result<TimeZone> {
    TimeZone::get(name)
        .map_err(|e| crate::ollim::Error::TimeZone { name: name.to_owned(), reason: e.to_string() })
}
