//! Unit tests of the `isoformat` rendering and the daily-reset rule.

use jiff::{Timestamp, civil::Date, tz::TimeZone};

use super::{is_new_day, python_isoformat};

fn check_isoformat(instant: &str, zone: &str, expected: &str) {
    let instant: Timestamp = instant.parse().unwrap();
    let zone = TimeZone::get(zone).unwrap();
    assert_eq!(python_isoformat(instant, &zone), expected);
}

#[test]
fn isoformat_matches_python() {
    check_isoformat(
        "2026-11-21T22:02:00.817516Z",
        "America/Los_Angeles",
        "2026-11-21T14:02:00.817516-08:00",
    );
    check_isoformat("2026-11-21T18:00:00Z", "America/Los_Angeles", "2026-11-21T10:00:00-08:00");
    check_isoformat(
        "2026-07-01T12:00:00.000001Z",
        "America/Los_Angeles",
        "2026-07-01T05:00:00.000001-07:00",
    );
    check_isoformat("2026-07-01T12:00:00Z", "UTC", "2026-07-01T12:00:00+00:00");
    check_isoformat("2026-07-01T12:00:00.5Z", "Asia/Kolkata", "2026-07-01T17:30:00.500000+05:30");
    check_isoformat("2026-07-01T12:00:00Z", "America/St_Johns", "2026-07-01T09:30:00-02:30");
    // Local mean time before standard time: Python prints the offset's seconds.
    check_isoformat("1800-01-01T12:00:00Z", "Europe/Amsterdam", "1800-01-01T12:19:32+00:19:32");
}

#[test]
fn a_day_is_new_only_when_it_is_later_or_the_stored_date_is_unreadable() {
    let today: Date = "2026-11-21".parse().unwrap();
    assert!(is_new_day("2026-11-20", today));
    assert!(!is_new_day("2026-11-21", today));
    assert!(!is_new_day("2026-11-22", today));
    assert!(is_new_day("", today));
    assert!(is_new_day("yesterday", today));
}
