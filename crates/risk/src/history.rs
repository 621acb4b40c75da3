//! The daily closes the risk rules look back on: the last close of each symbol on each UTC date,
//! for the last few dozen dates, and the returns derived from them.

use jiff::Timestamp;
use pulse_core::Symbol;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// The last close of every known symbol on one UTC date (0: none; closes are > 0), indexed like
/// `DailyCloses::symbols`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Day {
    /// Days since 1970-01-01 (UTC).
    day: i64,
    closes: Vec<f64>,
}

/// Missing close.
const NONE: f64 = 0.0;

/// The UTC date of `ts` as days since 1970-01-01.
pub fn utc_day(ts: Timestamp) -> i64 {
    ts.as_second().div_euclid(86_400)
}

/// A bounded window of daily closes (the latest `capacity` dates). Intraday bars update the
/// current date's close, so a return is always close-to-close over one date step. Symbols are
/// addressed by index (the risk rules read every day of the window at every decision).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyCloses {
    capacity: usize,
    symbols: Vec<Symbol>,
    days: VecDeque<Day>,
}

impl DailyCloses {
    /// An empty window keeping `capacity` dates (at least 2).
    pub fn new(capacity: usize) -> Self {
        DailyCloses {
            capacity: capacity.max(2),
            symbols: Vec::new(),
            days: VecDeque::new(),
        }
    }

    /// Keeps `capacity` dates from now on (at least 2): a smaller window drops the oldest dates,
    /// a larger one fills as new dates arrive.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(2);
        while self.days.len() > self.capacity {
            self.days.pop_front();
        }
    }

    fn index_of(&self, symbol: &Symbol) -> Option<usize> {
        self.symbols.iter().position(|s| s == symbol)
    }

    /// Records `close` (finite, > 0; anything else is ignored) as `symbol`'s latest close on
    /// UTC day `day` ([`utc_day`]). Days must not go backwards; an earlier day is ignored.
    pub fn observe(&mut self, day: i64, symbol: &Symbol, close: f64) {
        if !(close.is_finite() && close > 0.0) {
            return;
        }
        if self.days.back().is_some_and(|d| d.day > day) {
            return;
        }
        let k = match self.index_of(symbol) {
            Some(k) => k,
            None => {
                self.symbols.push(symbol.clone());
                for d in &mut self.days {
                    d.closes.push(NONE);
                }
                self.symbols.len() - 1
            }
        };
        if self.days.back().is_none_or(|d| d.day < day) {
            if self.days.len() == self.capacity {
                self.days.pop_front();
            }
            self.days.push_back(Day {
                day,
                closes: vec![NONE; self.symbols.len()],
            });
        }
        if let Some(day) = self.days.back_mut() {
            day.closes[k] = close;
        }
    }

    /// Simple returns of the portfolio `weights` (fractions of equity, the rest in cash earning
    /// nothing) over each step between consecutive dates where every weighted symbol has a close
    /// on both; the latest `max` of them, oldest first, into `out` (cleared first). Symbols with a
    /// zero weight do not need a close; a weighted symbol never seen gives no returns.
    pub fn portfolio_returns_into(
        &self,
        weights: &BTreeMap<Symbol, f64>,
        max: usize,
        out: &mut Vec<f64>,
    ) {
        out.clear();
        // (column, weight) of the weighted symbols: inline for up to 8 (no allocation per
        // decision), spilling to a Vec beyond.
        let mut inline = [(0usize, 0.0f64); 8];
        let mut n = 0;
        let mut spill: Vec<(usize, f64)> = Vec::new();
        for (s, w) in weights {
            if *w == 0.0 {
                continue;
            }
            let Some(k) = self.index_of(s) else {
                return;
            };
            if n < inline.len() {
                inline[n] = (k, *w);
                n += 1;
            } else {
                if spill.is_empty() {
                    spill.extend_from_slice(&inline);
                }
                spill.push((k, *w));
            }
        }
        // Symbol order either way (the sum's order fixes its last bits).
        let dense: &[(usize, f64)] = if spill.is_empty() {
            &inline[..n]
        } else {
            &spill
        };
        for k in (1..self.days.len()).rev() {
            if out.len() == max {
                break;
            }
            let (before, after) = (&self.days[k - 1].closes, &self.days[k].closes);
            let mut r = 0.0;
            let mut complete = true;
            for &(j, w) in dense {
                let (a, b) = (before[j], after[j]);
                if a == NONE || b == NONE {
                    complete = false;
                    break;
                }
                r += w * (b / a - 1.0);
            }
            if complete {
                out.push(r);
            }
        }
        out.reverse();
    }

    /// [`DailyCloses::portfolio_returns_into`], allocating.
    pub fn portfolio_returns(&self, weights: &BTreeMap<Symbol, f64>, max: usize) -> Vec<f64> {
        let mut out = Vec::new();
        self.portfolio_returns_into(weights, max, &mut out);
        out
    }

    /// The simple returns of `a` and `b` over the steps where both have closes on both dates;
    /// the latest `max` pairs, oldest first.
    pub fn pair_returns(&self, a: &Symbol, b: &Symbol, max: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        let (Some(i), Some(j)) = (self.index_of(a), self.index_of(b)) else {
            return (xs, ys);
        };
        for k in (1..self.days.len()).rev() {
            if xs.len() == max {
                break;
            }
            let (before, after) = (&self.days[k - 1].closes, &self.days[k].closes);
            let (a0, a1, b0, b1) = (before[i], after[i], before[j], after[j]);
            if a0 != NONE && a1 != NONE && b0 != NONE && b1 != NONE {
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
        let d = |s: &str| utc_day(format!("{s}T15:00:00Z").parse::<Timestamp>().unwrap());
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
