//! Periodically re-optimized portfolios (SPEC §5): at each rebalancing date the strategy
//! estimates expected returns and risk on the trailing `lookback` closes it has seen (never
//! later ones) and issues the weights of a `pulse-optimize` method as its target.

use crate::{MarketSnapshot, Strategy, TargetWeights};
use jiff::tz::TimeZone;
use pulse_core::Symbol;
use pulse_optimize::PortfolioSpec;
use pulse_optimize::nalgebra::DMatrix;
use std::collections::VecDeque;

/// How often the portfolio is re-optimized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Schedule {
    /// At the first bar of each calendar month.
    Monthly,
    /// At the first bar of each ISO week.
    Weekly,
    /// Every `n` bars.
    EveryBars(usize),
}

impl Schedule {
    /// The calendar period of a decision at `ts` (UTC date): (year, month) for
    /// [`Schedule::Monthly`], (ISO week-year, ISO week) for [`Schedule::Weekly`]; a new period
    /// is a rebalance. `None` for [`Schedule::EveryBars`], which counts bars instead.
    pub fn calendar_period(self, ts: jiff::Timestamp) -> Option<(i16, i16)> {
        let date = ts.to_zoned(TimeZone::UTC).date();
        match self {
            Schedule::Monthly => Some((date.year(), i16::from(date.month()))),
            Schedule::Weekly => {
                let w = date.iso_week_date();
                Some((w.year(), i16::from(w.week())))
            }
            Schedule::EveryBars(_) => None,
        }
    }
}

/// A portfolio re-optimized on a schedule over a trailing window of closes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PortfolioStrategy {
    name: String,
    symbols: Vec<Symbol>,
    spec: PortfolioSpec,
    lookback: usize,
    schedule: Schedule,
    window: VecDeque<Vec<f64>>,
    last_period: Option<(i16, i16)>,
    bars_since: usize,
    /// Optimizations that failed (date and reason): the previous target was kept.
    pub failures: Vec<(jiff::Timestamp, String)>,
}

impl PortfolioStrategy {
    /// A strategy over `symbols` (all must trade at a bar for it to count), re-optimizing with
    /// `spec` on the last `lookback` closes (≥ 3) per `schedule`.
    pub fn new(
        name: impl Into<String>,
        symbols: Vec<Symbol>,
        spec: PortfolioSpec,
        lookback: usize,
        schedule: Schedule,
    ) -> Self {
        PortfolioStrategy {
            name: name.into(),
            symbols,
            spec,
            lookback: lookback.max(3),
            schedule,
            window: VecDeque::new(),
            last_period: None,
            bars_since: 0,
            failures: Vec::new(),
        }
    }

    fn due(&mut self, ts: jiff::Timestamp) -> bool {
        if let Schedule::EveryBars(n) = self.schedule {
            self.bars_since += 1;
            let due = self.bars_since >= n.max(1);
            if due {
                self.bars_since = 0;
            }
            return due;
        }
        let period = self.schedule.calendar_period(ts);
        let changed = self.last_period != period;
        self.last_period = period;
        changed
    }
}

impl Strategy for PortfolioStrategy {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        // A step counts only when every symbol has a bar (an inner join of dates).
        let row: Option<Vec<f64>> = self
            .symbols
            .iter()
            .map(|s| snapshot.bars.get(s).map(|b| b.analysis_close()))
            .collect();
        let row = row?;
        self.window.push_back(row);
        if self.window.len() > self.lookback {
            self.window.pop_front();
        }
        let due = self.due(snapshot.ts);
        if !due || self.window.len() < self.lookback {
            return None;
        }
        let n = self.symbols.len();
        let prices = DMatrix::from_fn(self.window.len(), n, |i, j| self.window[i][j]);
        let names: Vec<String> = self.symbols.iter().map(|s| s.to_string()).collect();
        match pulse_optimize::build_portfolio(&names, &prices, None, &self.spec) {
            Ok(result) => Some(
                self.symbols
                    .iter()
                    .cloned()
                    .zip(result.weights.iter().map(|w| w.max(0.0)))
                    .collect(),
            ),
            Err(e) => {
                self.failures.push((snapshot.ts, e.to_string()));
                None
            }
        }
    }

    fn warmup_bars(&self) -> usize {
        self.lookback
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_core::Bar;
    use pulse_optimize::{Method, ReturnModel, RiskModel};
    use std::collections::BTreeMap;

    #[test]
    fn issues_targets_monthly_after_the_lookback_and_sees_only_the_past() {
        let (a, b) = (Symbol::try_new("A").unwrap(), Symbol::try_new("B").unwrap());
        let spec = PortfolioSpec::new(
            Method::InverseVolatility,
            ReturnModel::MeanHistorical { compounding: true },
            RiskModel::Sample,
        );
        let mut s = PortfolioStrategy::new(
            "iv",
            vec![a.clone(), b.clone()],
            spec,
            20,
            Schedule::Monthly,
        );
        let ctx = BTreeMap::new();
        let start: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let mut issued = Vec::new();
        for d in 0..70i64 {
            let ts = start
                .checked_add(jiff::SignedDuration::from_hours(24 * d))
                .unwrap();
            // A is calm, B swings: inverse volatility must favour A.
            let pa = 100.0 + (d % 2) as f64 * 0.1;
            let pb = 100.0 + (d % 2) as f64 * 5.0;
            let bars = BTreeMap::from([
                (a.clone(), Bar::from_value(ts, pa, None)),
                (b.clone(), Bar::from_value(ts, pb, None)),
            ]);
            if let Some(t) = s.on_bar_close(&MarketSnapshot {
                ts,
                bars: &bars,
                context: &ctx,
            }) {
                issued.push((ts.to_zoned(TimeZone::UTC).date().to_string(), t));
            }
        }
        let dates: Vec<&str> = issued.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(dates, vec!["2024-02-01", "2024-03-01"]);
        let w = &issued[0].1;
        assert!(w[&a] > 0.9 && (w[&a] + w[&b] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn perturbing_later_prices_never_changes_earlier_targets() {
        let syms: Vec<Symbol> = ["A", "B", "C"]
            .iter()
            .map(|s| Symbol::try_new(*s).unwrap())
            .collect();
        let spec = PortfolioSpec::new(
            Method::MaxSharpe,
            ReturnModel::MeanHistorical { compounding: true },
            RiskModel::LedoitWolf,
        );
        let start: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let price = |j: usize, d: i64, bump: f64| {
            100.0
                * (1.0 + 0.001 * ((d * (j as i64 + 3)) % 11) as f64)
                * (1.0 + 0.0005 * d as f64 * (j as f64 - 1.0))
                * bump
        };
        let run = |cut: i64| {
            let mut s =
                PortfolioStrategy::new("ms", syms.clone(), spec.clone(), 40, Schedule::Weekly);
            let ctx = BTreeMap::new();
            let mut out = Vec::new();
            for d in 0..150i64 {
                let ts = start
                    .checked_add(jiff::SignedDuration::from_hours(24 * d))
                    .unwrap();
                let bump = if d > cut {
                    1.0 + 0.3 * ((d % 7) as f64 - 3.0) / 3.0
                } else {
                    1.0
                };
                let bars: BTreeMap<Symbol, Bar> = syms
                    .iter()
                    .enumerate()
                    .map(|(j, s)| (s.clone(), Bar::from_value(ts, price(j, d, bump), None)))
                    .collect();
                out.push((
                    ts,
                    s.on_bar_close(&MarketSnapshot {
                        ts,
                        bars: &bars,
                        context: &ctx,
                    }),
                ));
            }
            out
        };
        let base = run(i64::MAX);
        for cut in [50, 90, 120] {
            let moved = run(cut);
            assert_eq!(&base[..=cut as usize], &moved[..=cut as usize], "cut {cut}");
            assert_ne!(base, moved, "the perturbation must matter after the cut");
        }
    }
}
