//! Time: the injectable clock of `dotdir-ping-bucket` (one clock for every file of the
//! directory), and the timestamp formats the reference writes.

use jiff::{Timestamp, tz::TimeZone};

pub use dotdir_ping_bucket::{Clock, FakeClock, SystemClock};

/// Seconds since the Unix epoch as Python's `time.time()` reports them (microseconds).
pub fn unix_seconds(ts: Timestamp) -> f64 {
    ts.as_microsecond() as f64 / 1e6
}

/// The instant `seconds` after the Unix epoch, to the microsecond (out-of-range values clamp).
pub fn timestamp_from_unix(seconds: f64) -> Timestamp {
    let micros = (seconds * 1e6)
        .round()
        .clamp(Timestamp::MIN.as_microsecond() as f64, Timestamp::MAX.as_microsecond() as f64);
    Timestamp::from_microsecond(micros as i64).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Python's `datetime.now(tz).isoformat()`: `2026-11-21T14:02:00.779085-08:00`, with the
/// fraction (microseconds) only when it is not zero.
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

/// The bot's time zone: `OLLIM_TIMEZONE` when set, else the system's, else UTC (the rules of
/// `dotdir-ping-bucket`, so the budget's days and every timestamp agree).
pub fn configured_time_zone() -> crate::ollim::Result<TimeZone> {
    Ok(dotdir_ping_bucket::time_zone_from_env()?)
}

/// The IANA time zone `name`.
pub fn time_zone(name: &str) -> crate::ollim::Result<TimeZone> {
    Ok(dotdir_ping_bucket::resolve_time_zone(Some(name))?)
}
