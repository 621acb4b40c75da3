//! The parameter search's choices as types: what a sweep maximizes and how it picks points.

use pulse_analytics::SearchMetrics;
use pulse_search::{Strategy as PointStrategy, TpeConfig};
use serde::{Deserialize, Serialize};

/// What a sweep maximizes. Serialized (and spelled on the command line) in kebab-case:
/// `sharpe`, `sortino`, `calmar`, `cagr`, `profit-factor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Annualized Sharpe ratio (excess over the run's risk-free rate).
    Sharpe,
    /// Annualized Sortino ratio.
    Sortino,
    /// CAGR over the maximum drawdown.
    Calmar,
    /// Compound annual growth rate.
    Cagr,
    /// Gross profit over gross loss of the closed trades (a finite value only).
    ProfitFactor,
}

impl Objective {
    /// The kebab-case name (as stored with a study and printed).
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Sharpe => "sharpe",
            Objective::Sortino => "sortino",
            Objective::Calmar => "calmar",
            Objective::Cagr => "cagr",
            Objective::ProfitFactor => "profit-factor",
        }
    }

    /// Whether scoring needs the closed trades (FIFO-matched fills), not only the equity curve.
    pub fn needs_trades(self) -> bool {
        self == Objective::ProfitFactor
    }

    /// The score of a trial's metrics (`NaN` when undefined: such a trial is never best).
    pub fn score(self, m: &SearchMetrics) -> f64 {
        match self {
            Objective::Sharpe => m.sharpe,
            Objective::Sortino => m.sortino,
            Objective::Calmar => m.calmar,
            Objective::Cagr => m.cagr,
            Objective::ProfitFactor => m.profit_factor.filter(|x| x.is_finite()),
        }
        .unwrap_or(f64::NAN)
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a sweep picks the points it evaluates. Spelled `grid`, `random`, `tpe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum SearchMethod {
    /// Every feasible grid point in index order.
    Grid,
    /// Uniformly random feasible points.
    Random,
    /// Tree-structured Parzen estimator (Optuna's defaults).
    Tpe,
}

impl SearchMethod {
    /// The name (as stored with a study and printed).
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMethod::Grid => "grid",
            SearchMethod::Random => "random",
            SearchMethod::Tpe => "tpe",
        }
    }

    /// The point strategy of the search crate, seeded with `seed` where it draws at random.
    pub fn strategy(self, seed: u64) -> PointStrategy {
        match self {
            SearchMethod::Grid => PointStrategy::Grid,
            SearchMethod::Random => PointStrategy::Random { seed },
            SearchMethod::Tpe => PointStrategy::Tpe(TpeConfig {
                seed,
                ..TpeConfig::default()
            }),
        }
    }
}

impl std::fmt::Display for SearchMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_as_the_stored_study_spelling() {
        for o in [
            Objective::Sharpe,
            Objective::Sortino,
            Objective::Calmar,
            Objective::Cagr,
            Objective::ProfitFactor,
        ] {
            let json = serde_json::to_string(&o).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", o.as_str()));
            assert_eq!(serde_json::from_str::<Objective>(&json).ok(), Some(o));
        }
        for m in [SearchMethod::Grid, SearchMethod::Random, SearchMethod::Tpe] {
            let json = serde_json::to_string(&m).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
    }
}
