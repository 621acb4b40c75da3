//! The daily closes the risk rules look back on: the last close of each symbol on each UTC date,
//! for the last few dozen dates, and the returns derived from them.

use jiff::civil::Date;
use pulse_core::Symbol;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// The last close of every symbol seen on one date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Day {
    date: Date,
    closes: BTreeMap<Symbol, f64>,
}

/// A bounded window of daily closes (the latest `capacity` dates). Intraday bars update the
/// current date's close, so a return is always close-to-close over one date step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyCloses {
    capacity: usize,
    days: VecDeque<Day>,
}

impl DailyCloses {
    /// An empty window keeping `capacity` dates (at least 2).
    pub fn new(capacity: usize) -> Self {
        DailyCloses {
            capacity: capacity.max(2),
            days: VecDeque::new(),
        }
    }

    /// Records `close` (finite, > 0; anything else is ignored) as `symbol`'s latest close on
    /// `date`. Dates must not go backwards; an earlier date is ignored.
    pub fn observe(&mut self, date: Date, symbol: &Symbol, close: f64) {
        if !(close.is_finite() && close > 0.0) {
            return;
        }
        match self.days.back_mut() {
            Some(day) if day.date == date => {
                match day.closes.get_mut(symbol) {
                    Some(c) => *c = close,
                    None => {
                        day.closes.insert(symbol.clone(), close);
                    }
                }
                return;
            }
            Some(day) if day.date > date => return,
            _ => {}
        }
        if self.days.len() == self.capacity {
            self.days.pop_front();
        }
        self.days.push_back(Day {
            date,
            closes: BTreeMap::from([(symbol.clone(), close)]),
        });
    }

    /// Simple returns of the portfolio `weights` (fractions of equity, the rest in cash earning
    /// nothing) over each step between consecutive dates where every weighted symbol has a close
    /// on both; the latest `max` of them, oldest first. Symbols with a zero weight do not need a
    /// close.
    pub fn portfolio_returns(&self, weights: &BTreeMap<Symbol, f64>, max: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(max.min(self.days.len()));
        for k in (1..self.days.len()).rev() {
            if out.len() == max {
                break;
            }
            let (before, after) = (&self.days[k - 1], &self.days[k]);
            let mut r = 0.0;
            let mut complete = true;
            for (s, w) in weights {
                if *w == 0.0 {
                    continue;
                }
                match (before.closes.get(s), after.closes.get(s)) {
                    (Some(a), Some(b)) => r += w * (b / a - 1.0),
                    _ => {
                        complete = false;
                        break;
                    }
                }
            }
            if complete {
                out.push(r);
            }
        }
        out.reverse();
        out
    }

    /// The simple returns of `a` and `b` over the steps where both have closes on both dates;
    /// the latest `max` pairs, oldest first.
    pub fn pair_returns(&self, a: &Symbol, b: &Symbol, max: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for k in (1..self.days.len()).rev() {
            if xs.len() == max {
                break;
            }
            let (before, after) = (&self.days[k - 1].closes, &self.days[k].closes);
            if let (Some(a0), Some(a1), Some(b0), Some(b1)) =
                (before.get(a), after.get(a), before.get(b), after.get(b))
            {
                xs.push(a1 / a0 - 1.0);
                ys.push(b1 / b0 - 1.0);
            }
        }
        xs.reverse();
        ys.reverse();
        (xs, ys)
    }

    /// Dates held.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// True before the first close.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::try_new(s).unwrap()
    }

    #[test]
    fn intraday_closes_update_the_day_and_returns_skip_missing_days() {
        let (a, b) = (sym("A"), sym("B"));
        let mut h = DailyCloses::new(3);
        let d = |s: &str| s.parse::<Date>().unwrap();
        h.observe(d("2024-01-02"), &a, 100.0);
        h.observe(d("2024-01-02"), &a, 101.0); // the day's later bar replaces its close
        h.observe(d("2024-01-02"), &b, 50.0);
        h.observe(d("2024-01-03"), &a, 111.1);
        h.observe(d("2024-01-03"), &b, f64::NAN); // ignored
        h.observe(d("2024-01-04"), &a, 99.99);
        h.observe(d("2024-01-04"), &b, 55.0);
        h.observe(d("2024-01-01"), &a, 1.0); // backwards: ignored
        assert_eq!(h.len(), 3);
        let w = BTreeMap::from([(a.clone(), 0.5)]);
        let r = h.portfolio_returns(&w, 10);
        assert_eq!(r.len(), 2);
        assert!((r[0] - 0.5 * (111.1 / 101.0 - 1.0)).abs() < 1e-15);
        assert!((r[1] - 0.5 * (99.99 / 111.1 - 1.0)).abs() < 1e-15);
        // B has no close on 01-03: no step of the pair is complete.
        let both = BTreeMap::from([(a.clone(), 0.5), (b.clone(), 0.5)]);
        assert!(h.portfolio_returns(&both, 10).is_empty());
        assert!(h.pair_returns(&a, &b, 10).0.is_empty());
        // A fourth date pushes the first out.
        h.observe(d("2024-01-05"), &a, 100.0);
        assert_eq!(h.len(), 3);
        assert_eq!(h.portfolio_returns(&w, 1).len(), 1);
    }
}
