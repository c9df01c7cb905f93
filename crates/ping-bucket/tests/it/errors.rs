//! A damaged or foreign state file is a typed error for every operation, is never rewritten, and
//! is replaced only by an explicit `reset()`.

use dotdir_ping_bucket::{Error, resolve_time_zone};

use crate::{Setup, record};

const NOW: &str = "2026-11-21T18:00:00Z";
const LAST: &str = "2026-11-21T10:00:00-08:00";

/// Every operation fails with an error `is_expected` accepts; the file is left untouched; then
/// `reset()` replaces it with a full bucket.
fn check_bad_file(content: &str, is_expected: impl Fn(&Error) -> bool) {
    let setup = Setup::with_file(NOW, content.as_bytes());
    let results = [
        setup.budget.status().map(|_| ()),
        setup.budget.full_status().map(|_| ()),
        setup.budget.minutes_to_next_refill().map(|_| ()),
        setup.budget.state().map(|_| ()),
        setup.budget.try_use().map(|_| ()),
        setup.budget.record_critical(),
        setup.budget.set_capacity(3),
        setup.budget.set_refill_rate(30),
        setup.budget.update(|_| ()).map(|_| ()),
    ];
    for result in results {
        let error = result.expect_err(content);
        assert!(is_expected(&error), "{content}: unexpected {error:?}");
        assert!(error.is_bad_state_file(), "{error:?}");
        assert_eq!(error.path(), Some(setup.path.as_path()));
        assert!(error.to_string().contains("ping_budget.json"), "{error}");
    }
    assert_eq!(setup.file(), content, "a bad file is never rewritten");
    let state = setup.budget.reset().unwrap();
    assert_eq!(state.available(), 5.0);
    assert_eq!(setup.budget.status().unwrap(), "budget: 5/5");
    assert!(setup.budget.try_use().unwrap());
}

fn corrupt(error: &Error) -> bool {
    matches!(error, Error::Corrupt { .. })
}

fn foreign(error: &Error) -> bool {
    matches!(error, Error::Foreign { .. })
}

fn invalid(field: &'static str) -> impl Fn(&Error) -> bool {
    move |error| matches!(error, Error::InvalidState { field: f, .. } if *f == field)
}

#[test]
fn torn_file_is_corrupt() {
    check_bad_file(r#"{"capacity": 5, "available": 3.0, "refill_rat"#, corrupt);
}

#[test]
fn empty_file_is_corrupt() {
    check_bad_file("", corrupt);
}

#[test]
fn garbage_is_corrupt() {
    check_bad_file("\u{0}\u{0}\u{0}not json", corrupt);
}

#[test]
fn another_json_document_is_foreign() {
    check_bad_file(r#"{"session": "abc"}"#, foreign);
    check_bad_file("null", foreign);
    check_bad_file("[1, 2]", foreign);
    check_bad_file(r#""a string""#, foreign);
}

#[test]
fn a_missing_key_is_foreign() {
    let content = record(5, 3.0, 90, LAST, 0, 0).replace(r#", "daily_used": 0"#, "");
    check_bad_file(&content, foreign);
}

#[test]
fn an_extra_key_is_foreign() {
    // The reference's BudgetState(**data) refuses unknown keys too.
    let content = record(5, 3.0, 90, LAST, 0, 0).replace('}', r#", "version": 2}"#);
    check_bad_file(&content, foreign);
}

#[test]
fn a_wrong_type_is_foreign() {
    let content = record(5, 3.0, 90, LAST, 0, 0).replace(r#""capacity": 5"#, r#""capacity": "5""#);
    check_bad_file(&content, foreign);
}

#[test]
fn zero_or_negative_capacity_is_invalid() {
    check_bad_file(&record(0, 3.0, 90, LAST, 0, 0), invalid("capacity"));
    check_bad_file(&record(-2, 3.0, 90, LAST, 0, 0), invalid("capacity"));
}

#[test]
fn zero_or_negative_rate_is_invalid() {
    let setup = Setup::with_file(NOW, record(5, 3.0, 0, LAST, 0, 0).as_bytes());
    let error = setup.budget.status().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "ping budget {} has an invalid refill_rate_minutes: 0 (it must be between 1 and 4294967295)",
            setup.path.display()
        )
    );
    check_bad_file(&record(5, 3.0, 0, LAST, 0, 0), invalid("refill_rate_minutes"));
    check_bad_file(&record(5, 3.0, -90, LAST, 0, 0), invalid("refill_rate_minutes"));
}

#[test]
fn negative_counters_are_invalid() {
    check_bad_file(&record(5, 3.0, 90, LAST, -1, 0), invalid("critical_used"));
    check_bad_file(&record(5, 3.0, 90, LAST, 0, -1), invalid("daily_used"));
}

#[test]
fn a_last_refill_without_offset_is_invalid() {
    // The reference raises TypeError subtracting a naive datetime from an aware one.
    check_bad_file(&record(5, 3.0, 90, "2026-11-21T10:00:00", 0, 0), invalid("last_refill"));
    check_bad_file(&record(5, 3.0, 90, "yesterday", 0, 0), invalid("last_refill"));
}

#[test]
fn a_huge_number_is_refused() {
    check_bad_file(&record(5, 3.0, 90, LAST, 0, 0).replace("3.0", "1e400"), |error| {
        matches!(error, Error::Corrupt { .. } | Error::Foreign { .. })
    });
}

#[test]
fn unparsable_reset_dates_are_reset_like_the_reference() {
    // The reference compares the date strings: anything but today resets the counter.
    let content = record(5, 3.0, 90, LAST, 4, 3)
        .replace(r#""critical_reset_date": "2026-11-21""#, r#""critical_reset_date": "someday""#)
        .replace(r#""daily_used_reset": "2026-11-21""#, r#""daily_used_reset": "2026-21-11""#);
    let setup = Setup::with_file(NOW, content.as_bytes());
    let state = setup.budget.state().unwrap();
    assert_eq!((state.critical_used(), state.daily_used()), (0, 0));
    assert_eq!(
        (state.critical_reset_date(), state.daily_used_reset()),
        ("2026-11-21", "2026-11-21")
    );
}

#[test]
fn a_directory_at_the_path_is_a_store_error() {
    let setup = Setup::new(NOW);
    std::fs::create_dir_all(&setup.path).unwrap();
    let error = setup.budget.try_use().unwrap_err();
    assert!(matches!(error, Error::Store { .. }), "{error:?}");
    assert!(!error.is_bad_state_file());
    assert!(setup.budget.reset().is_err(), "reset does not remove a directory");
}

#[test]
fn an_unknown_time_zone_is_an_error() {
    let error = resolve_time_zone(Some("Mars/Olympus_Mons")).unwrap_err();
    assert!(
        matches!(&error, Error::UnknownTimeZone { name, .. } if name == "Mars/Olympus_Mons"),
        "{error:?}"
    );
    assert!(error.to_string().starts_with(r#"unknown time zone "Mars/Olympus_Mons""#), "{error}");
    assert_eq!(error.path(), None);
}
