//! Fixed-weight strategies: buy-and-hold and periodically rebalanced mixes (the benchmarks).

use crate::{MarketSnapshot, Strategy, TargetWeights};
use jiff::tz::TimeZone;

/// When a fixed-weight strategy re-issues its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Rebalance {
    /// Only once, at the first bar (buy and hold).
    Never,
    /// At the first bar of each calendar month (UTC date of the bar).
    Monthly,
    /// At every bar.
    EveryBar,
}

/// Holds constant target weights, re-issued on a schedule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FixedWeights {
    name: String,
    weights: TargetWeights,
    rebalance: Rebalance,
    last_month: Option<(i16, i8)>,
    started: bool,
}

impl FixedWeights {
    /// A fixed-weight strategy with a display name.
    pub fn new(name: impl Into<String>, weights: TargetWeights, rebalance: Rebalance) -> Self {
        FixedWeights {
            name: name.into(),
            weights,
            rebalance,
            last_month: None,
            started: false,
        }
    }
}

impl Strategy for FixedWeights {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        // Wait until every symbol with a weight has a bar, so the first order can be priced.
        if !self.weights.keys().all(|s| snapshot.bars.contains_key(s)) {
            return None;
        }
        let date = snapshot.ts.to_zoned(TimeZone::UTC).date();
        let month = (date.year(), date.month());
        let first = !self.started;
        let new_month = self.last_month.is_some_and(|m| m != month);
        self.started = true;
        self.last_month = Some(month);
        let issue = match self.rebalance {
            Rebalance::Never => first,
            Rebalance::Monthly => first || new_month,
            Rebalance::EveryBar => true,
        };
        issue.then(|| self.weights.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_core::{Bar, Symbol};
    use std::collections::BTreeMap;

    #[test]
    fn monthly_reissues_on_month_change_only() {
        let s = Symbol::try_new("SPY").unwrap();
        let mut strat =
            FixedWeights::new("m", BTreeMap::from([(s.clone(), 1.0)]), Rebalance::Monthly);
        let ctx = BTreeMap::new();
        let mut issued = Vec::new();
        for d in [
            "2024-01-30",
            "2024-01-31",
            "2024-02-01",
            "2024-02-02",
            "2024-03-01",
        ] {
            let ts: jiff::Timestamp = format!("{d}T00:00:00Z").parse().unwrap();
            let bars = BTreeMap::from([(s.clone(), Bar::from_value(ts, 1.0, None))]);
            let snap = MarketSnapshot {
                ts,
                bars: &bars,
                context: &ctx,
            };
            issued.push(strat.on_bar_close(&snap).is_some());
        }
        assert_eq!(issued, vec![true, false, true, false, true]);
    }
}
