//! The time zone whose calendar days the daily counters count: `OLLIM_TIMEZONE`, else the system
//! zone, else UTC.

use jiff::tz::TimeZone;

use crate::{Error, Result};

/// The environment variable that names the zone (an IANA name such as `America/Los_Angeles`).
pub const TIME_ZONE_VAR: &str = "OLLIM_TIMEZONE";

/// Resolves the configured zone from an explicit `OLLIM_TIMEZONE` value: a non-blank `name` is
/// looked up in the IANA database (an unknown name is an [`Error::UnknownTimeZone`], as the
/// reference refuses to start); otherwise the system zone (jiff: `TZ`, then `/etc/localtime`),
/// else UTC.
///
/// ```
/// use dotdir_ping_bucket::resolve_time_zone;
/// let zone = resolve_time_zone(Some("America/Los_Angeles")).unwrap();
/// assert_eq!(zone.iana_name(), Some("America/Los_Angeles"));
/// assert!(resolve_time_zone(Some("Mars/Olympus_Mons")).is_err());
/// ```
pub fn resolve_time_zone(name: Option<&str>) -> Result<TimeZone> {
    match name.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => TimeZone::get(name)
            .map_err(|source| Error::UnknownTimeZone { name: name.to_owned(), source }),
        None => Ok(TimeZone::try_system().unwrap_or(TimeZone::UTC)),
    }
}

/// [`resolve_time_zone`] with the value of `OLLIM_TIMEZONE` from the process environment.
pub fn time_zone_from_env() -> Result<TimeZone> {
    let name = std::env::var(TIME_ZONE_VAR).ok();
    resolve_time_zone(name.as_deref())
}
