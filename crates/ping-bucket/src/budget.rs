//! The persisted budget: [`BudgetState`] in a state file, read without writing, changed under a
//! cross-process lock, granted only once the change is durable.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use dotdir_atomic_store::{Document, JsonStyle, WriteOptions};
use jiff::{Timestamp, tz::TimeZone};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    BudgetState, Clock, DEFAULT_CAPACITY, DEFAULT_REFILL_RATE_MINUTES, Error, Result, SystemClock,
    state::Record, zone::time_zone_from_env,
};

/// A ping budget kept in a state file (ollim-bot's `state/ping_budget.json`).
///
/// - Reads ([`PingBudget::state`], [`PingBudget::status`], …) compute the refilled view at the
///   current instant and never write: the refill is a pure function of the file and the time.
/// - Changes ([`PingBudget::try_use`], [`PingBudget::record_critical`], the setters,
///   [`PingBudget::update`]) are a read-modify-write under atomic-store's lock on `<path>.lock`,
///   and return only after the new file is durable (with the default [`WriteOptions`]).
/// - A missing file is a full bucket; it is created by the first change.
/// - A corrupt or foreign file is an error for every operation except [`PingBudget::reset`].
#[derive(Clone)]
pub struct PingBudget {
    document: Document<Slot>,
    zone: TimeZone,
    clock: Arc<dyn Clock>,
    capacity: u32,
    refill_rate_minutes: u32,
}

impl fmt::Debug for PingBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PingBudget")
            .field("path", &self.document.path())
            .field("zone", &self.zone.iana_name())
            .field("clock", &self.clock)
            .field("capacity", &self.capacity)
            .field("refill_rate_minutes", &self.refill_rate_minutes)
            .finish()
    }
}

impl PingBudget {
    /// A budget stored at `path` whose days are counted in `zone`, on the system clock, with the
    /// reference's defaults (capacity 5, 90 minutes per ping) for a missing file. Touches nothing
    /// on disk.
    pub fn new(path: impl Into<PathBuf>, zone: TimeZone) -> Self {
        Self {
            document: Document::new(path).style(JsonStyle::Python),
            zone,
            clock: Arc::new(SystemClock),
            capacity: DEFAULT_CAPACITY,
            refill_rate_minutes: DEFAULT_REFILL_RATE_MINUTES,
        }
    }

    /// Like [`PingBudget::new`] with the zone from `OLLIM_TIMEZONE`, else the system zone, else
    /// UTC (see [`crate::resolve_time_zone`]).
    pub fn from_env(path: impl Into<PathBuf>) -> Result<Self> {
        Ok(Self::new(path, time_zone_from_env()?))
    }

    /// Uses `clock` for "now" (a [`crate::FakeClock`] in tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The capacity and rate of the full bucket that a missing file stands for and that
    /// [`PingBudget::reset`] writes. 0 for either is an [`Error::InvalidSetting`].
    pub fn defaults(mut self, capacity: u32, refill_rate_minutes: u32) -> Result<Self> {
        // Validates both values the same way the state does.
        let _ = BudgetState::full(
            capacity,
            refill_rate_minutes,
            Timestamp::UNIX_EPOCH,
            &TimeZone::UTC,
        )?;
        self.capacity = capacity;
        self.refill_rate_minutes = refill_rate_minutes;
        Ok(self)
    }

    /// How the state file is written (durability, mode). The default is fully durable; a budget
    /// that grants before its state is durable can hand out a ping twice after a crash.
    #[must_use]
    pub fn write_options(mut self, options: WriteOptions) -> Self {
        self.document = self.document.options(options);
        self
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        self.document.path()
    }

    /// The zone the daily counters use.
    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The current instant on this budget's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The state refilled and reset to now, without writing anything; a full bucket when the
    /// file is missing.
    pub fn state(&self) -> Result<BudgetState> {
        let now = self.clock.now();
        let stored = self.document.read().map_err(|error| Error::from_store(self.path(), error))?;
        let mut state = self.decode(stored, now)?;
        state.refill(now, &self.zone);
        Ok(state)
    }

    /// `budget: N/C` or `budget: N/C (next refill in M min)` (see [`BudgetState::status`]).
    pub fn status(&self) -> Result<String> {
        Ok(self.state()?.status())
    }

    /// The status with today's counters (see [`BudgetState::full_status`]).
    pub fn full_status(&self) -> Result<String> {
        Ok(self.state()?.full_status())
    }

    /// Minutes until the next whole ping; `None` when the bucket is full.
    pub fn minutes_to_next_refill(&self) -> Result<Option<u32>> {
        Ok(self.state()?.minutes_to_next_refill())
    }

    /// Spends one ping if one is available. `true` is returned only after the decremented state
    /// is written (durably, by default); a refusal writes nothing.
    pub fn try_use(&self) -> Result<bool> {
        match self.change(|state| if state.try_take() { Ok(()) } else { Err(Refused) }) {
            Ok(Ok(_)) => Ok(true),
            Ok(Err(Refused)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Counts a critical ping that bypassed the budget (`critical_used += 1`).
    pub fn record_critical(&self) -> Result<()> {
        self.update(BudgetState::record_critical).map(|_| ())
    }

    /// Sets the capacity (at least 1); `available` is clamped to it.
    pub fn set_capacity(&self, capacity: u32) -> Result<()> {
        self.change(|state| state.set_capacity(capacity))?.map(|_| ())
    }

    /// Sets the minutes per ping (at least 1).
    pub fn set_refill_rate(&self, refill_rate_minutes: u32) -> Result<()> {
        self.change(|state| state.set_refill_rate(refill_rate_minutes))?.map(|_| ())
    }

    /// Read-modify-write under the lock: refills to now, lets `change` modify the state, writes it
    /// when its bytes changed (durably, by default), and returns the state as written with
    /// `change`'s result.
    pub fn update<R>(
        &self,
        change: impl FnOnce(&mut BudgetState) -> R,
    ) -> Result<(BudgetState, R)> {
        match self.change(|state| Ok::<_, std::convert::Infallible>(change(state)))? {
            Ok(written) => Ok(written),
            Err(never) => match never {},
        }
    }

    /// Replaces the state file, whatever it holds (even a corrupt or foreign file), with a full
    /// bucket of the configured defaults. The only operation that discards a file it cannot read.
    pub fn reset(&self) -> Result<BudgetState> {
        let path = self.path();
        let _guard =
            dotdir_atomic_store::lock(path).map_err(|error| Error::from_store(path, error))?;
        let state = BudgetState::full(
            self.capacity,
            self.refill_rate_minutes,
            self.clock.now(),
            &self.zone,
        )?;
        let _ = self
            .document
            .write(&Slot::Present(state.to_record()))
            .map_err(|error| Error::from_store(path, error))?;
        Ok(state)
    }

    /// The read-modify-write: `change` sees the state refilled to now; when it returns `Err`,
    /// nothing is written. Returns the state as written with `change`'s result.
    fn change<R, E>(
        &self,
        change: impl FnOnce(&mut BudgetState) -> Result<R, E>,
    ) -> Result<Result<(BudgetState, R), E>> {
        let path = self.path();
        let outcome = self
            .document
            .try_update(|slot| {
                let now = self.clock.now();
                let mut state = match self.decode(Some(std::mem::take(slot)), now) {
                    Ok(state) => state,
                    Err(error) => return Err(Failure::Error(error)),
                };
                state.refill(now, &self.zone);
                let result = change(&mut state).map_err(Failure::Refused)?;
                *slot = Slot::Present(state.to_record());
                Ok((state, result))
            })
            .map_err(|error| Error::from_store(path, error))?;
        match outcome {
            Ok(result) => Ok(Ok(result)),
            Err(Failure::Refused(refused)) => Ok(Err(refused)),
            Err(Failure::Error(error)) => Err(error),
        }
    }

    /// The stored state, or the configured full bucket when there is none.
    fn decode(&self, stored: Option<Slot>, now: Timestamp) -> Result<BudgetState> {
        match stored {
            Some(Slot::Present(record)) => BudgetState::from_record(record, self.path()),
            None | Some(Slot::Missing) => {
                BudgetState::full(self.capacity, self.refill_rate_minutes, now, &self.zone)
            }
        }
    }
}

/// `try_use`'s refusal.
struct Refused;

enum Failure<E> {
    Refused(E),
    Error(Error),
}

/// The document's value: a record, or nothing yet. Only records are ever written; reading never
/// yields `Missing` (atomic-store hands out the default for a missing file).
#[derive(Debug, Clone, Default)]
enum Slot {
    #[default]
    Missing,
    Present(Record),
}

impl Serialize for Slot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Slot::Present(record) => record.serialize(serializer),
            Slot::Missing => Err(serde::ser::Error::custom("no ping budget state to write")),
        }
    }
}

impl<'de> Deserialize<'de> for Slot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Record::deserialize(deserializer).map(Slot::Present)
    }
}
