//! The real files ollim-bot wrote (the fixtures' `*/state/ping_budget.json`) read and re-save
//! to identical bytes, and reading never rewrites them.

use std::{os::unix::fs::MetadataExt, path::Path};

use dotdir_ping_bucket::BudgetState;

use crate::{Setup, fixture};

fn check_round_trip(set: &str) {
    let bytes = fixture(set);
    let state = BudgetState::from_json(&bytes, Path::new(set)).unwrap();
    assert_eq!(state.to_json(), bytes, "{set}: parse then serialise");
}

#[test]
fn typical_fixture_round_trips() {
    check_round_trip("typical");
    let state = BudgetState::from_json(&fixture("typical"), Path::new("typical")).unwrap();
    assert_eq!(state.available(), 3.0000002300000004);
    assert_eq!(state.last_refill_text(), "2026-11-21T14:02:00.817516-08:00");
    assert_eq!(state.last_refill().to_string(), "2026-11-21T22:02:00.817516Z");
    assert_eq!((state.capacity(), state.refill_rate_minutes()), (5, 90));
    assert_eq!((state.critical_used(), state.critical_reset_date()), (1, "2026-11-21"));
    assert_eq!((state.daily_used(), state.daily_used_reset()), (2, "2026-11-21"));
}

#[test]
fn hazards_fixture_round_trips() {
    check_round_trip("hazards");
    let state = BudgetState::from_json(&fixture("hazards"), Path::new("hazards")).unwrap();
    assert_eq!(state.available(), 2.5);
    assert_eq!(state.last_refill_text(), "2026-11-21T10:00:00-08:00");
    assert_eq!((state.critical_used(), state.daily_used()), (1, 4));
    assert_eq!(state.daily_used_reset(), "2026-11-20");
}

/// Inode, size and modification time: a rewrite (atomic rename) changes the inode.
fn identity(path: &Path) -> (u64, u64, i64, i64) {
    let meta = std::fs::metadata(path).unwrap();
    (meta.ino(), meta.size(), meta.mtime(), meta.mtime_nsec())
}

#[test]
fn an_unchanged_state_is_not_rewritten_by_an_update() {
    // At the typical fixture's own last_refill instant nothing elapses and the day is the same.
    let setup = Setup::with_file("2026-11-21T22:02:00.817516Z", &fixture("typical"));
    let before = identity(&setup.path);
    let (state, ()) = setup.budget.update(|_| ()).unwrap();
    assert_eq!(state.to_json(), fixture("typical"));
    assert_eq!(std::fs::read(&setup.path).unwrap(), fixture("typical"));
    assert_eq!(identity(&setup.path), before);
}

#[test]
fn reading_the_status_does_not_rewrite_the_file() {
    // Hours later and a day after the hazards fixture's counters: the view refills and resets,
    // the file stays as it was.
    let setup = Setup::with_file("2026-11-22T01:00:00Z", &fixture("hazards"));
    let before = identity(&setup.path);
    assert_eq!(setup.budget.status().unwrap(), "budget: 5/5");
    assert_eq!(setup.budget.full_status().unwrap(), "budget: 5/5");
    assert_eq!(setup.budget.minutes_to_next_refill().unwrap(), None);
    assert_eq!(setup.budget.state().unwrap().daily_used(), 0);
    assert_eq!(std::fs::read(&setup.path).unwrap(), fixture("hazards"));
    assert_eq!(identity(&setup.path), before);
}

#[test]
fn hazards_fixture_read_at_its_own_instant() {
    // 2.5 available at rate 90, counters dated the day before: they reset to 0 in the view.
    let setup = Setup::with_file("2026-11-21T18:00:00Z", &fixture("hazards"));
    assert_eq!(setup.budget.status().unwrap(), "budget: 2/5 (next refill in 45 min)");
    assert_eq!(setup.budget.full_status().unwrap(), "budget: 2/5 (next refill in 45 min)");
}

#[test]
fn typical_fixture_read_at_its_own_instant() {
    let setup = Setup::with_file("2026-11-21T22:02:00.817516Z", &fixture("typical"));
    assert_eq!(
        setup.budget.full_status().unwrap(),
        "budget: 3/5 (next refill in 90 min). used today: 2. critical bypasses: 1 (urgent overrides, not deducted from budget)."
    );
}

#[test]
fn hazards_fixture_is_kept_byte_for_byte_under_a_backwards_clock() {
    // The clock reads the evening before the fixture's last_refill: nothing elapses (the clock is
    // behind), the stored day is today, so an update changes nothing.
    let setup = Setup::with_file("2026-11-21T02:00:00Z", &fixture("hazards"));
    let (state, ()) = setup.budget.update(|_| ()).unwrap();
    assert_eq!(state.available(), 2.5);
    assert_eq!(std::fs::read(&setup.path).unwrap(), fixture("hazards"));
}
