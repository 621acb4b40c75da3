//! Clocks: the only place the wall clock is read.

use crate::ports::Clock;
use jiff::{SignedDuration, Timestamp};
use std::sync::Mutex;

/// The production clock: reads the operating system's time.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned wall-clock read
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A settable clock for backtests, replays, tests and "time travel".
#[derive(Debug)]
pub struct SimClock {
    now: Mutex<Timestamp>,
}

impl SimClock {
    /// A simulated clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        SimClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock to `ts` (backwards too: time travel is allowed).
    pub fn set(&self, ts: Timestamp) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = ts;
    }

    /// Moves the clock forward (or back, for a negative duration) and returns the new time.
    pub fn advance(&self, by: SignedDuration) -> Result<Timestamp, crate::CoreError> {
        let mut guard = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *guard = guard.checked_add(by)?;
        Ok(*guard)
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_is_settable_and_advances() {
        let t0: Timestamp = "2025-03-04T08:30:00+09:00".parse().unwrap();
        let clock = SimClock::new(t0);
        assert_eq!(clock.now(), t0);
        let t1 = clock.advance(SignedDuration::from_hours(24)).unwrap();
        assert_eq!(
            t1,
            "2025-03-05T08:30:00+09:00".parse::<Timestamp>().unwrap()
        );
        clock.set(t0);
        assert_eq!(clock.now(), t0);
        assert!(WallClock.now() > t0);
    }
}
