//! Where "now" comes from: the system's wall clock, or a clock a test sets by hand.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

use jiff::{SignedDuration, Timestamp};

/// A source of wall-clock time. The budget persists wall-clock instants (a monotonic clock does
/// not survive a restart), so the clock may jump in either direction; the arithmetic handles it.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock ([`Timestamp::now`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to: for tests and simulations. Clones share the same time.
///
/// ```
/// use dotdir_ping_bucket::{Clock, FakeClock};
/// let clock = FakeClock::new("2026-11-21T18:00:00Z".parse().unwrap());
/// clock.advance(jiff::SignedDuration::from_mins(-5));
/// assert_eq!(clock.now().to_string(), "2026-11-21T17:55:00Z");
/// ```
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<Mutex<Timestamp>>,
}

impl FakeClock {
    /// A clock showing `now`.
    pub fn new(now: Timestamp) -> Self {
        Self { now: Arc::new(Mutex::new(now)) }
    }

    /// Sets the time, forwards or backwards.
    pub fn set(&self, now: Timestamp) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the time by `by` (negative goes back). Saturates at the ends of jiff's range.
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}
