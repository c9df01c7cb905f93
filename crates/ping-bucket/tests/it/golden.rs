//! Every example of `reference/ollim-bot.md` §3 as a golden test, plus values computed by the
//! reference's own arithmetic (Python floats) for the refill and the status strings.

use dotdir_ping_bucket::{BudgetState, DEFAULT_CAPACITY, DEFAULT_REFILL_RATE_MINUTES, Error};
use jiff::SignedDuration;

use crate::{Setup, at, los_angeles, parse, record};

const LAST: &str = "2026-11-21T10:00:00-08:00";

/// `get_status()` and `minutes_to_next_refill()` for a state with `available` at `rate`.
fn check_status(available: f64, capacity: i64, rate: i64, status: &str, minutes: Option<u32>) {
    let state = parse(&record(capacity, available, rate, LAST, 0, 0));
    assert_eq!(state.status(), status, "available {available:?}, rate {rate}");
    assert_eq!(state.full_status(), status, "no counters: the bare status, no period");
    assert_eq!(state.minutes_to_next_refill(), minutes, "available {available:?}, rate {rate}");
}

#[test]
fn status_of_a_full_bucket() {
    check_status(5.0, 5, 90, "budget: 5/5", None);
}

#[test]
fn status_two_and_a_half_at_rate_90() {
    check_status(2.5, 5, 90, "budget: 2/5 (next refill in 45 min)", Some(45));
}

#[test]
fn status_half_a_ping() {
    check_status(0.5, 5, 90, "budget: 0/5 (next refill in 45 min)", Some(45));
}

#[test]
fn status_truncates_and_rounds_minutes_up() {
    // Values computed with the reference's expressions in CPython.
    check_status(2.9, 5, 90, "budget: 2/5 (next refill in 10 min)", Some(10));
    check_status(0.0, 5, 90, "budget: 0/5 (next refill in 90 min)", Some(90));
    check_status(1.0, 5, 90, "budget: 1/5 (next refill in 90 min)", Some(90));
    check_status(0.1, 5, 90, "budget: 0/5 (next refill in 81 min)", Some(81));
    check_status(0.30000000000000004, 5, 90, "budget: 0/5 (next refill in 63 min)", Some(63));
    check_status(4.2, 5, 90, "budget: 4/5 (next refill in 72 min)", Some(72));
    check_status(4.999999, 5, 90, "budget: 4/5 (next refill in 1 min)", Some(1));
    check_status(3.0000002300000004, 5, 90, "budget: 3/5 (next refill in 90 min)", Some(90));
    check_status(2.9, 5, 7, "budget: 2/5 (next refill in 1 min)", Some(1));
    check_status(2.5, 5, 7, "budget: 2/5 (next refill in 4 min)", Some(4));
    check_status(0.30000000000000004, 5, 7, "budget: 0/5 (next refill in 5 min)", Some(5));
    check_status(4.2, 5, 7, "budget: 4/5 (next refill in 6 min)", Some(6));
}

#[test]
fn full_status_with_both_counters() {
    let state = parse(&record(5, 2.5, 90, LAST, 1, 2));
    assert_eq!(
        state.full_status(),
        "budget: 2/5 (next refill in 45 min). used today: 2. critical bypasses: 1 (urgent overrides, not deducted from budget)."
    );
}

#[test]
fn full_status_with_one_counter() {
    assert_eq!(parse(&record(5, 5.0, 90, LAST, 0, 3)).full_status(), "budget: 5/5. used today: 3.");
    assert_eq!(
        parse(&record(5, 5.0, 90, LAST, 2, 0)).full_status(),
        "budget: 5/5. critical bypasses: 2 (urgent overrides, not deducted from budget)."
    );
}

#[test]
fn defaults_are_capacity_5_and_90_minutes() {
    assert_eq!((DEFAULT_CAPACITY, DEFAULT_REFILL_RATE_MINUTES), (5, 90));
}

#[test]
fn the_file_format_example_byte_for_byte() {
    // The reference's "File format (verified)" line: a fresh file at 13:56:30.633443 in LA.
    let setup = Setup::new("2026-11-21T21:56:30.633443Z");
    let state = setup.budget.reset().unwrap();
    assert_eq!(state.available(), 5.0);
    assert_eq!(
        setup.file(),
        r#"{"capacity": 5, "available": 5.0, "refill_rate_minutes": 90, "last_refill": "2026-11-21T13:56:30.633443-08:00", "critical_used": 0, "critical_reset_date": "2026-11-21", "daily_used": 0, "daily_used_reset": "2026-11-21"}"#
    );
}

#[test]
fn a_missing_file_is_a_full_bucket_created_by_the_first_change() {
    let setup = Setup::new("2026-11-21T18:00:00Z");
    assert_eq!(setup.budget.status().unwrap(), "budget: 5/5");
    assert!(!setup.path.exists(), "a read does not create the file");
    assert!(setup.budget.try_use().unwrap());
    assert_eq!(
        setup.file(),
        r#"{"capacity": 5, "available": 4.0, "refill_rate_minutes": 90, "last_refill": "2026-11-21T10:00:00-08:00", "critical_used": 0, "critical_reset_date": "2026-11-21", "daily_used": 1, "daily_used_reset": "2026-11-21"}"#
    );
}

#[test]
fn refill_is_bit_exact_with_the_reference() {
    // CPython: min(3.0000002300000004 + ((now - last).total_seconds() / 60) / 90, 5) with now 37 min
    // 12.345678 s after the typical fixture's last_refill is 3.4133975777777783; then try_use.
    let setup = Setup::with_file("2026-11-21T22:39:13.163194Z", &crate::fixture("typical"));
    assert!(setup.budget.try_use().unwrap());
    assert_eq!(
        setup.file(),
        r#"{"capacity": 5, "available": 2.4133975777777783, "refill_rate_minutes": 90, "last_refill": "2026-11-21T14:39:13.163194-08:00", "critical_used": 1, "critical_reset_date": "2026-11-21", "daily_used": 3, "daily_used_reset": "2026-11-21"}"#
    );
}

#[test]
fn refill_at_other_rates_is_bit_exact() {
    // CPython: 0.1 + elapsed / 1000 with elapsed 1 h 1 min 1.000001 s is 0.16101666668333334.
    let zone = los_angeles();
    let mut state = parse(&record(5, 0.1, 1000, "2026-11-21T14:02:00.817516-08:00", 0, 0));
    state.refill(at("2026-11-21T23:03:01.817517Z"), &zone);
    assert_eq!(state.available(), 0.16101666668333334);
    assert_eq!(state.last_refill_text(), "2026-11-21T15:03:01.817517-08:00");
}

#[test]
fn refill_is_capped_at_capacity_and_written_as_a_float() {
    // CPython's min() returns the int capacity here (11.71666689904762 > 5); this crate writes 5.0.
    let setup = Setup::with_file(
        "2026-11-21T23:03:01.817517Z",
        record(5, 3.0000002300000004, 7, "2026-11-21T14:02:00.817516-08:00", 0, 0).as_bytes(),
    );
    assert_eq!(setup.budget.state().unwrap().available(), 5.0);
    setup.budget.record_critical().unwrap();
    assert!(setup.file().contains(r#""available": 5.0, "#), "{}", setup.file());
}

#[test]
fn set_capacity_2_with_5_available_gives_2_of_2() {
    let setup = Setup::new("2026-11-21T18:00:00Z");
    setup.budget.reset().unwrap();
    setup.budget.set_capacity(2).unwrap();
    let state = setup.budget.state().unwrap();
    assert_eq!(state.available(), 2.0);
    assert_eq!(state.status(), "budget: 2/2");
    assert!(setup.file().starts_with(r#"{"capacity": 2, "available": 2.0, "#), "{}", setup.file());
}

#[test]
fn a_future_last_refill_does_not_drain_the_bucket() {
    // The reference: 3.0 with last_refill 3 h in the future gives ≈ 1.0. Here it stays 3.0 and
    // last_refill keeps its later value.
    let future = "2026-11-21T13:00:00-08:00";
    let setup =
        Setup::with_file("2026-11-21T18:00:00Z", record(5, 3.0, 90, future, 0, 0).as_bytes());
    assert!(setup.budget.try_use().unwrap());
    let state = setup.budget.state().unwrap();
    assert_eq!(state.available(), 2.0);
    assert_eq!(state.last_refill_text(), future);
}

#[test]
fn try_use_needs_one_whole_ping_and_a_refusal_writes_nothing() {
    let before = record(5, 0.9999, 90, LAST, 0, 4);
    let setup = Setup::with_file("2026-11-21T18:00:00Z", before.as_bytes());
    assert!(!setup.budget.try_use().unwrap());
    assert_eq!(setup.file(), before);
    // The missing 0.0001 ping takes 0.009 minutes (540 ms) to refill; 600 ms is enough.
    setup.clock.advance(SignedDuration::from_millis(500));
    assert!(!setup.budget.try_use().unwrap());
    setup.clock.advance(SignedDuration::from_millis(100));
    assert!(setup.budget.try_use().unwrap());
    let state = setup.budget.state().unwrap();
    assert!(0.0 < state.available() && state.available() < 0.001, "{}", state.available());
    assert_eq!(state.daily_used(), 5);
    assert_eq!(state.critical_used(), 0);
}

#[test]
fn record_critical_does_not_touch_the_budget() {
    let setup = Setup::with_file("2026-11-21T18:00:00Z", record(5, 0.5, 90, LAST, 1, 2).as_bytes());
    setup.budget.record_critical().unwrap();
    let state = setup.budget.state().unwrap();
    assert_eq!((state.available(), state.critical_used(), state.daily_used()), (0.5, 2, 2));
}

#[test]
fn set_refill_rate_changes_the_minutes() {
    let setup = Setup::with_file("2026-11-21T18:00:00Z", record(5, 2.5, 90, LAST, 0, 0).as_bytes());
    setup.budget.set_refill_rate(30).unwrap();
    assert_eq!(setup.budget.status().unwrap(), "budget: 2/5 (next refill in 15 min)");
    assert_eq!(setup.budget.minutes_to_next_refill().unwrap(), Some(15));
}

#[test]
fn zero_capacity_or_rate_is_refused_and_nothing_is_written() {
    let before = record(5, 2.5, 90, LAST, 0, 0);
    let setup = Setup::with_file("2026-11-21T18:00:00Z", before.as_bytes());
    let error = setup.budget.set_capacity(0).unwrap_err();
    assert!(matches!(error, Error::InvalidSetting { setting: "capacity", value: 0 }), "{error:?}");
    assert_eq!(error.to_string(), "invalid ping budget capacity 0: it must be at least 1");
    let error = setup.budget.set_refill_rate(0).unwrap_err();
    assert!(
        matches!(error, Error::InvalidSetting { setting: "refill_rate_minutes", .. }),
        "{error:?}"
    );
    assert_eq!(setup.file(), before);
    let zone = los_angeles();
    assert!(BudgetState::full(0, 90, at("2026-11-21T18:00:00Z"), &zone).is_err());
    assert!(BudgetState::full(5, 0, at("2026-11-21T18:00:00Z"), &zone).is_err());
    assert!(setup.budget.clone().defaults(0, 90).is_err());
}

#[test]
fn update_returns_the_state_as_written() {
    let setup = Setup::with_file("2026-11-21T18:45:00Z", record(5, 2.0, 90, LAST, 0, 0).as_bytes());
    let (state, taken) = setup.budget.update(|state| state.try_take()).unwrap();
    assert!(taken);
    assert_eq!(state.available(), 1.5);
    assert_eq!(state, setup.budget.state().unwrap());
}

#[test]
fn defaults_set_the_bucket_a_missing_file_stands_for() {
    let setup = Setup::new("2026-11-21T18:00:00Z");
    let budget = setup.budget.clone().defaults(100, 1).unwrap();
    assert_eq!(budget.status().unwrap(), "budget: 100/100");
    let state = budget.reset().unwrap();
    assert_eq!((state.capacity(), state.refill_rate_minutes(), state.available()), (100, 1, 100.0));
}

#[test]
fn a_file_the_reference_left_after_set_capacity_reads_as_clamped() {
    // The reference's set_capacity(2) writes capacity 2 beside 5.0 and clamps on the next load.
    let content = record(2, 5.0, 90, LAST, 0, 0);
    let setup = Setup::with_file("2026-11-21T18:00:00Z", content.as_bytes());
    assert_eq!(setup.budget.status().unwrap(), "budget: 2/2");
    assert_eq!(setup.budget.state().unwrap().available(), 2.0);
    assert_eq!(setup.file(), content, "a read does not rewrite it");
}

#[test]
fn an_integer_available_the_reference_wrote_after_capping_is_read() {
    // CPython's min(available + refill, capacity) returns the int capacity: `"available": 5`.
    let content =
        record(5, 5.0, 90, LAST, 0, 0).replace(r#""available": 5.0"#, r#""available": 5"#);
    let setup = Setup::with_file("2026-11-21T18:00:00Z", content.as_bytes());
    assert_eq!(setup.budget.status().unwrap(), "budget: 5/5");
    assert!(setup.budget.try_use().unwrap());
    assert!(setup.file().contains(r#""available": 4.0, "#), "{}", setup.file());
}

#[test]
fn a_negative_balance_the_reference_wrote_reads_as_zero() {
    // After a backwards clock the reference can write a negative balance (and show "-1/5").
    let content = record(5, -1.0000000000000002, 90, LAST, 0, 0);
    let setup = Setup::with_file("2026-11-21T18:00:00Z", content.as_bytes());
    assert_eq!(setup.budget.status().unwrap(), "budget: 0/5 (next refill in 90 min)");
    assert!(!setup.budget.try_use().unwrap());
    setup.clock.advance(SignedDuration::from_mins(90));
    assert!(setup.budget.try_use().unwrap(), "90 minutes refill one ping from 0, not from -1");
}
