//! Property tests on a fake clock: random sequences of spends, critical pings, setting changes and
//! clock jumps (forwards, backwards, across midnight and DST changes in several zones).
//!
//! Invariants: `available` stays in `[0, capacity]`; the pings granted never exceed
//! `capacity + elapsed / rate` (elapsed up to the latest instant the clock showed); a backwards jump
//! never adds pings; the daily counters follow the calendar model; `last_refill` never moves back.
//! The persisted budget is checked against the pure state machine, value for value.
//!
//! `DOTDIR_PROPTEST_CASES` sets the number of sequences of the pure model (default 10,000); the
//! persisted model runs a fiftieth of that (at least 50).

use dotdir_atomic_store::{Durability, WriteOptions};
use dotdir_ping_bucket::{BudgetState, FakeClock, PingBudget};
use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};
use proptest::{
    prelude::*,
    test_runner::{RngAlgorithm, TestRunner},
};

fn cases() -> u32 {
    std::env::var("DOTDIR_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

fn config(cases: u32) -> ProptestConfig {
    // XorShift: ChaCha's unoptimised SIMD code is most of the run time in a debug build.
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Advance(SignedDuration),
    TryUse,
    Critical,
    View,
    SetCapacity(u32),
    SetRate(u32),
}

#[derive(Debug, Clone)]
struct Scenario {
    zone: &'static str,
    start: Timestamp,
    capacity: u32,
    rate: u32,
    ops: Vec<Op>,
}

/// Instants a little before a DST change or a local midnight in one of the zones.
const STARTS: [&str; 8] = [
    "2026-03-08T09:30:00Z", // Los Angeles springs forward at 10:00Z
    "2026-11-01T08:30:00Z", // Los Angeles falls back at 09:00Z
    "2026-11-22T07:30:00Z", // midnight in Los Angeles
    "2026-03-29T00:30:00Z", // London springs forward at 01:00Z
    "2026-10-25T00:30:00Z", // London falls back at 01:00Z
    "2026-04-04T14:30:00Z", // Lord Howe falls back by 30 minutes at 15:00Z
    "2026-12-31T23:30:00Z", // midnight in UTC, a new year
    "2026-11-21T22:02:00.817516Z",
];

const ZONES: [&str; 5] =
    ["America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"];

fn advance() -> impl Strategy<Value = SignedDuration> {
    prop_oneof![
        (0i64..=2_000_000).prop_map(SignedDuration::from_micros),
        (-120i64..=120).prop_map(SignedDuration::from_secs),
        (-7_200i64..=7_200).prop_map(SignedDuration::from_secs),
        (-2 * 86_400i64..=3 * 86_400).prop_map(SignedDuration::from_secs),
    ]
}

fn op(with_settings: bool) -> BoxedStrategy<Op> {
    let common = prop_oneof![
        4 => advance().prop_map(Op::Advance),
        4 => Just(Op::TryUse),
        1 => Just(Op::Critical),
        2 => Just(Op::View),
    ];
    if with_settings {
        prop_oneof![
            10 => common,
            1 => (1u32..=10).prop_map(Op::SetCapacity),
            1 => (1u32..=240).prop_map(Op::SetRate),
        ]
        .boxed()
    } else {
        common.boxed()
    }
}

fn scenario(with_settings: bool, max_ops: usize) -> impl Strategy<Value = Scenario> {
    (
        0..ZONES.len(),
        0..STARTS.len(),
        -7_200i64..=7_200,
        1u32..=10,
        1u32..=240,
        proptest::collection::vec(op(with_settings), 1..max_ops),
    )
        .prop_map(|(zone, start, shift, capacity, rate, ops)| Scenario {
            zone: ZONES[zone],
            start: STARTS[start].parse::<Timestamp>().unwrap() + SignedDuration::from_secs(shift),
            capacity,
            rate,
            ops,
        })
}

/// The reference model: the committed state, the calendar model of the counters, the totals.
struct Model {
    zone: TimeZone,
    now: Timestamp,
    latest: Timestamp,
    start: Timestamp,
    committed: BudgetState,
    day: Date,
    daily_used: u32,
    critical_used: u32,
    grants: u64,
    settings_changed: bool,
    last_view: Option<(Timestamp, f64)>,
    /// Added to the grant bound; the negative control makes it tighter than the truth.
    slack: f64,
}

impl Model {
    fn new(scenario: &Scenario) -> Self {
        let zone = TimeZone::get(scenario.zone).unwrap();
        let committed =
            BudgetState::full(scenario.capacity, scenario.rate, scenario.start, &zone).unwrap();
        let day = zone.to_datetime(scenario.start).date();
        Self {
            zone,
            now: scenario.start,
            latest: scenario.start,
            start: scenario.start,
            committed,
            day,
            daily_used: 0,
            critical_used: 0,
            grants: 0,
            settings_changed: false,
            last_view: None,
            slack: 1e-6,
        }
    }

    /// The committed state brought to now, with every invariant checked on it.
    fn view(&mut self) -> Result<BudgetState, TestCaseError> {
        let mut view = self.committed.clone();
        view.refill(self.now, &self.zone);
        let available = view.available();
        prop_assert!(
            (0.0..=f64::from(view.capacity())).contains(&available),
            "available {available} out of [0, {}]",
            view.capacity()
        );
        if !self.settings_changed {
            let elapsed_minutes =
                (self.latest.as_microsecond() - self.start.as_microsecond()) as f64 / 60e6;
            let bound = f64::from(view.capacity())
                + elapsed_minutes / f64::from(view.refill_rate_minutes());
            prop_assert!(
                self.grants as f64 <= bound + self.slack,
                "{} grants > bound {bound}",
                self.grants
            );
        }
        if let Some((then, before)) = self.last_view
            && self.now < then
        {
            prop_assert!(
                available <= before,
                "going back from {then} to {} raised {before} to {available}",
                self.now
            );
        }
        self.last_view = Some((self.now, available));
        let today = self.zone.to_datetime(self.now).date();
        let (daily, critical) =
            if today > self.day { (0, 0) } else { (self.daily_used, self.critical_used) };
        prop_assert_eq!(
            (view.daily_used(), view.critical_used()),
            (daily, critical),
            "counters on {}",
            today
        );
        prop_assert!(view.last_refill() >= self.committed.last_refill(), "last_refill moved back");
        prop_assert_eq!(view.last_refill_text().parse::<Timestamp>().unwrap(), view.last_refill());
        Ok(view)
    }

    fn commit(&mut self, state: BudgetState) {
        let today = self.zone.to_datetime(self.now).date();
        if today > self.day {
            self.day = today;
            self.daily_used = 0;
            self.critical_used = 0;
        }
        self.committed = state;
        self.last_view = None;
    }

    /// Applies `op` to the model and, when given, to the persisted budget, comparing them.
    fn apply(
        &mut self,
        op: &Op,
        persisted: Option<(&PingBudget, &FakeClock)>,
    ) -> Result<(), TestCaseError> {
        match op {
            Op::Advance(by) => {
                self.now += *by;
                self.latest = self.latest.max(self.now);
                if let Some((_, clock)) = persisted {
                    clock.set(self.now);
                }
            }
            Op::View => {
                let view = self.view()?;
                if let Some((budget, _)) = persisted {
                    prop_assert_eq!(budget.state().unwrap(), view.clone());
                    prop_assert_eq!(budget.full_status().unwrap(), view.full_status());
                }
            }
            Op::TryUse => {
                let mut view = self.view()?;
                let granted = view.try_take();
                if granted {
                    self.commit(view);
                    self.grants += 1;
                    self.daily_used += 1;
                }
                if let Some((budget, _)) = persisted {
                    prop_assert_eq!(budget.try_use().unwrap(), granted);
                }
            }
            Op::Critical => {
                let mut view = self.view()?;
                view.record_critical();
                self.commit(view);
                self.critical_used += 1;
                if let Some((budget, _)) = persisted {
                    budget.record_critical().unwrap();
                }
            }
            Op::SetCapacity(capacity) => {
                let mut view = self.view()?;
                view.set_capacity(*capacity).unwrap();
                self.commit(view);
                self.settings_changed = true;
                if let Some((budget, _)) = persisted {
                    budget.set_capacity(*capacity).unwrap();
                }
            }
            Op::SetRate(rate) => {
                let mut view = self.view()?;
                view.set_refill_rate(*rate).unwrap();
                self.commit(view);
                self.settings_changed = true;
                if let Some((budget, _)) = persisted {
                    budget.set_refill_rate(*rate).unwrap();
                }
            }
        }
        if let Some((budget, _)) = persisted {
            let view = self.view()?;
            prop_assert_eq!(budget.state().unwrap(), view);
        }
        Ok(())
    }
}

fn run_pure(scenario: &Scenario) -> Result<(), TestCaseError> {
    let mut model = Model::new(scenario);
    for op in &scenario.ops {
        model.apply(op, None)?;
    }
    model.view()?;
    Ok(())
}

fn run_persisted(scenario: &Scenario) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new(scenario);
    let clock = FakeClock::new(scenario.start);
    let budget = PingBudget::new(dir.path().join("ping_budget.json"), model.zone.clone())
        .clock(clock.clone())
        .defaults(scenario.capacity, scenario.rate)
        .unwrap()
        .write_options(WriteOptions::new().durability(Durability::None));
    budget.reset().unwrap();
    for op in &scenario.ops {
        model.apply(op, Some((&budget, &clock)))?;
    }
    // What is on disk is exactly the committed state.
    prop_assert_eq!(std::fs::read(budget.path()).unwrap(), model.committed.to_json());
    Ok(())
}

#[test]
fn pure_budget_keeps_its_invariants() {
    let mut runner = TestRunner::new(config(cases()));
    runner.run(&scenario(false, 40), |scenario| run_pure(&scenario)).unwrap();
}

#[test]
fn pure_budget_with_setting_changes_stays_within_capacity() {
    let mut runner = TestRunner::new(config(cases() / 4));
    runner.run(&scenario(true, 40), |scenario| run_pure(&scenario)).unwrap();
}

#[test]
fn persisted_budget_matches_the_model() {
    let mut runner = TestRunner::new(config((cases() / 50).max(50)));
    runner.run(&scenario(true, 30), |scenario| run_persisted(&scenario)).unwrap();
}

/// Negative control: with a bound one ping too tight, the same harness finds a violation, so the
/// grant property is not vacuous.
#[test]
fn the_grant_bound_can_fail() {
    let mut runner = TestRunner::new(config(200));
    let result = runner.run(&scenario(false, 40), |scenario| {
        let mut model = Model::new(&scenario);
        model.slack = -1.0;
        for op in &scenario.ops {
            model.apply(op, None)?;
        }
        Ok(())
    });
    let error = result.expect_err("a bound of capacity - 1 must be exceeded by some sequence");
    assert!(error.to_string().contains("grants > bound"), "{error}");
}
