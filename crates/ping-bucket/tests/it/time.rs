//! Clocks that jump, calendar days in the configured zone, and DST changes.

use dotdir_ping_bucket::{
    BudgetState, Clock, FakeClock, PingBudget, SystemClock, resolve_time_zone,
};
use jiff::{SignedDuration, tz::TimeZone};

use crate::{Setup, at, los_angeles, record};

fn minutes(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

#[test]
fn a_backwards_jump_never_drains_and_never_credits_twice() {
    let setup = Setup::with_file(
        "2026-11-21T18:00:00Z",
        record(5, 2.0, 90, "2026-11-21T10:00:00-08:00", 0, 0).as_bytes(),
    );
    let budget = &setup.budget;
    setup.clock.advance(minutes(45));
    assert!(budget.try_use().unwrap()); // 2.5 → 1.5, last_refill 10:45
    setup.clock.advance(minutes(-180));
    assert_eq!(budget.state().unwrap().available(), 1.5, "going back 3 h drains nothing");
    assert!(budget.try_use().unwrap()); // 1.5 → 0.5, last_refill stays 10:45
    assert_eq!(budget.state().unwrap().last_refill_text(), "2026-11-21T10:45:00-08:00");
    setup.clock.advance(minutes(180));
    assert_eq!(budget.state().unwrap().available(), 0.5, "coming back to 10:45 credits nothing");
    setup.clock.advance(minutes(45));
    assert_eq!(budget.state().unwrap().available(), 1.0, "refill resumes after 10:45");
}

#[test]
fn a_long_idle_time_caps_at_capacity() {
    let setup = Setup::with_file(
        "2026-11-21T18:00:00Z",
        record(5, 0.0, 90, "2026-11-21T10:00:00-08:00", 0, 0).as_bytes(),
    );
    setup.clock.advance(SignedDuration::from_hours(24 * 365 * 200));
    let state = setup.budget.state().unwrap();
    assert_eq!(state.available(), 5.0);
    assert_eq!(state.status(), "budget: 5/5");
}

#[test]
fn counters_reset_at_local_midnight_not_utc() {
    // 23:59:59 in Los Angeles is 07:59:59 UTC the next day.
    let setup = Setup::with_file(
        "2026-11-22T07:59:59Z",
        record(5, 5.0, 90, "2026-11-21T10:00:00-08:00", 1, 2).as_bytes(),
    );
    let state = setup.budget.state().unwrap();
    assert_eq!((state.critical_used(), state.daily_used()), (1, 2), "still the 21st in LA");
    setup.clock.advance(SignedDuration::from_secs(1));
    let state = setup.budget.state().unwrap();
    assert_eq!((state.critical_used(), state.daily_used()), (0, 0), "midnight in LA");
    assert_eq!(state.daily_used_reset(), "2026-11-22");
    // The same instants in UTC: the day changed seven hours and 59 minutes earlier.
    let utc = PingBudget::new(&setup.path, TimeZone::UTC)
        .clock(FakeClock::new(at("2026-11-21T23:59:59Z")));
    assert_eq!(utc.state().unwrap().daily_used(), 2);
    let utc = utc.clock(FakeClock::new(at("2026-11-22T00:00:00Z")));
    assert_eq!(utc.state().unwrap().daily_used(), 0);
}

#[test]
fn a_clock_back_across_midnight_keeps_the_counters() {
    let setup = Setup::with_file(
        "2026-11-22T08:30:00Z",
        record(5, 5.0, 90, "2026-11-21T10:00:00-08:00", 1, 2).as_bytes(),
    );
    assert!(setup.budget.try_use().unwrap()); // the 22nd: counters reset, then 1 used
    setup.clock.advance(minutes(-60)); // 23:30 on the 21st
    assert!(setup.budget.try_use().unwrap());
    let state = setup.budget.state().unwrap();
    assert_eq!((state.daily_used(), state.daily_used_reset()), (2, "2026-11-22"));
    setup.clock.advance(minutes(60));
    assert_eq!(setup.budget.state().unwrap().daily_used(), 2, "no second reset on the 22nd");
}

#[test]
fn spring_forward_refills_real_elapsed_time() {
    // 2026-03-08 in Los Angeles: 01:59:59 PST is followed by 03:00:00 PDT.
    let zone = los_angeles();
    let start = at("2026-03-08T09:59:59Z");
    let mut state = BudgetState::full(5, 90, start, &zone).unwrap();
    assert_eq!(state.last_refill_text(), "2026-03-08T01:59:59-08:00");
    for _ in 0..5 {
        assert!(state.try_take());
    }
    state.refill(start + SignedDuration::from_secs(1), &zone);
    assert_eq!(state.last_refill_text(), "2026-03-08T03:00:00-07:00");
    state.refill(start + minutes(45) + SignedDuration::from_secs(1), &zone);
    assert_eq!(state.last_refill_text(), "2026-03-08T03:45:00-07:00");
    // (1 s + 45 min) / 90 min in the reference's float steps; the wall clock moved 1 h 45 min.
    assert_eq!(state.available(), 0.5001851851851852);
    assert_eq!(state.daily_used(), 5, "the same day");
}

#[test]
fn fall_back_refills_real_elapsed_time() {
    // 2026-11-01 in Los Angeles: 01:59:59 PDT is followed by 01:00:00 PST.
    let zone = los_angeles();
    let start = at("2026-11-01T08:30:00Z");
    let mut state = BudgetState::full(5, 90, start, &zone).unwrap();
    assert_eq!(state.last_refill_text(), "2026-11-01T01:30:00-07:00");
    for _ in 0..5 {
        assert!(state.try_take());
    }
    state.refill(start + minutes(60), &zone);
    assert_eq!(state.last_refill_text(), "2026-11-01T01:30:00-08:00");
    assert_eq!(state.available(), 60.0 / 90.0, "one real hour, though the wall clock shows none");
    // The reference's float arithmetic: ceil((1 - 0.6666666666666666) * 90) is 31, not 30.
    assert_eq!(state.status(), "budget: 0/5 (next refill in 31 min)");
    assert_eq!(state.daily_used(), 5, "the same day");
}

#[test]
fn time_zone_resolution() {
    let zone = resolve_time_zone(Some("America/Los_Angeles")).unwrap();
    assert_eq!(zone.iana_name(), Some("America/Los_Angeles"));
    let zone = resolve_time_zone(Some(" Europe/Warsaw \n")).unwrap();
    assert_eq!(zone.iana_name(), Some("Europe/Warsaw"));
    // Blank or unset: the system zone (whatever this machine has), never an error.
    assert!(resolve_time_zone(Some("  ")).is_ok());
    assert!(resolve_time_zone(None).is_ok());
}

#[test]
fn system_clock_is_the_wall_clock() {
    let before = jiff::Timestamp::now();
    let now = SystemClock.now();
    assert!(now >= before && now <= jiff::Timestamp::now());
}
