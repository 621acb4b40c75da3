//! The economic-cycle model (issue 17 item 4, SPEC §4): a small Transformer encoder over the last
//! `lookback` (default 60) months of seven US macro features **forecasts** the cycle regime
//! (Expansion / Overheat / Recession / Recovery) of month `t + horizon` (default 3), and each
//! regime maps to a stocks/bonds/cash allocation (70/20/10, 40/40/20, 20/60/20, 60/30/10).
//!
//! # Data
//! - FRED-MD (McCracken & Ng; `macro/FRED_MD_2026-08.csv`): `period` (YYYY-MM) and 118 monthly
//!   series in levels; an empty cell is a value not published ([`data::FredMd`]). The vintage is
//!   the revised 2026-08 one, not what was known in real time: a documented limitation.
//! - VIX daily closes (`daily-ohlcv/VIX.csv`, CBOE; FRED-MD leaves VIX out for copyright):
//!   averaged per calendar month; a month with fewer than [`data::MIN_VIX_DAYS`] closes is
//!   missing (so the partly observed last month of the file is not used). Available from 1990-01.
//! - NBER business-cycle dates (`macro/NBER_recessions.csv`), only to cross-check the labels.
//!
//! A monthly series' internal hole of at most [`features::MAX_FILL_MONTHS`] months (CPIAUCSL
//! and UNRATE were not published for 2025-10) is filled with the last published value (carried
//! forward, never interpolated from a later value); every filled cell is reported.
//!
//! # Features (month `t`, all from values of months `≤ t`)
//! Let `ln` be the natural logarithm and `x_t` a series' value in month `t`.
//! 1. `manufacturing` — `100 · ln(IPMANSICS_t / IPMANSICS_{t−12})`: 12-month log growth of
//!    manufacturing industrial production, percent (in place of the proprietary ISM PMI).
//! 2. `inflation` — `100 · ln(CPIAUCSL_t / CPIAUCSL_{t−12})`: 12-month CPI inflation, percent.
//! 3. `policy_rate` — `FEDFUNDS_t`: effective federal funds rate, percent a year.
//! 4. `gdp_growth` — `100 · ln(GDPC1_q / GDPC1_{q−12})`, percent, where `q` is the latest quarter
//!    (its third month, where FRED-MD stores GDPC1) **published by month `t`**: a quarter ending
//!    in month `q` is published [`features::GDP_PUBLICATION_LAG_MONTHS`] month later (BEA's
//!    advance estimate about four weeks after the quarter), so `q ≤ t − 1`; never used before.
//! 5. `unemployment` — `UNRATE_t`, percent of the labour force.
//! 6. `vix` — mean of the daily VIX closes of month `t`, index points.
//! 7. `dollar` — `100 · ln(TWEXAFEGSMTHx_t / TWEXAFEGSMTHx_{t−12})`: 12-month log change of the
//!    trade-weighted dollar index (the level trends and is not comparable across decades),
//!    percent.
//!
//! Each feature is standardized `(x − mean) / std` with the mean and (population) standard
//! deviation of the months the **training** windows cover only ([`train::Standardizer`]).
//!
//! # Labels ([`features::LabelRule`])
//! Growth `g_t = 100 · ln(INDPRO_t / INDPRO_{t−12})` (industrial production), inflation
//! `π_t = 100 · ln(CPIAUCSL_t / CPIAUCSL_{t−12})`. Gaps against the trailing 10-year mean
//! (120 months, month `t` included): `G_t = g_t − mean(g_{t−119..t})`,
//! `P_t = π_t − mean(π_{t−119..t})`; growth momentum `ΔG_t = G_t − G_{t−3}`.
//! - `G_t ≥ 0` and `P_t ≤ 0` → **Expansion**; `G_t ≥ 0` and `P_t > 0` → **Overheat**;
//! - `G_t < 0` and `ΔG_t ≤ 0` → **Recession**; `G_t < 0` and `ΔG_t > 0` → **Recovery**.
//!
//! The label of month `t` uses data of months `≤ t` only. The model sees the 60 months of
//! features up to `t` and predicts the label of `t + h` (`h ≥ 1`), which needs data it does not
//! see. A prediction "at `t`" can be made once month `t`'s data are published (during `t + 1`).
//!
//! # Split ([`train::Split`])
//! Samples are ordered by their last input month `t`. Test: the last `test_months` samples
//! (default 144, twelve years). Validation (early stopping only): the `validation_months`
//! samples before, ending `h` months before the first test month. Train: every sample whose
//! target `t + h` is before the first validation month. So no target of one set is at or after
//! an input month of the next, and no set's target overlaps another's.

pub mod data;
pub mod features;
pub mod model;
pub mod train;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use data::{FredMd, Month, NberDates, VixMonthly};
pub use features::{FEATURES, FeatureSpec, LabelRule, MacroPanel, NberCheck};
pub use model::ModelConfig;
pub use train::{
    CycleConfig, CycleModel, DataSummaryInput, EpochReport, Evaluation, Metrics, ModelCard,
    Prediction, Split, Standardizer,
};

/// Number of model input features per month.
pub const FEATURE_COUNT: usize = 7;

/// Number of regimes (classes).
pub const REGIME_COUNT: usize = 4;

/// Why reading the data, training or loading the model failed.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    /// A data file is malformed; names the file, the line (1-based, the header is line 1) and,
    /// when one is at fault, the column (1-based) and its name.
    #[error("{}:{line}{}: {reason}", file.display(), column.as_ref().map(|(n, name)| format!(": column {n} ({name})")).unwrap_or_default())]
    Parse {
        /// The file.
        file: PathBuf,
        /// Line number (1-based).
        line: u64,
        /// Column number (1-based) and header name, when one column is at fault.
        column: Option<(usize, String)>,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A setting is out of range.
    #[error("{setting} {reason}")]
    Config {
        /// The setting's name (snake_case).
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The data do not allow what was asked (too few samples, no complete window).
    #[error("{0}")]
    Data(String),
    /// A saved model is unreadable or inconsistent.
    #[error("model: {0}")]
    Model(String),
    /// A tensor operation failed.
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
}

/// An economic-cycle regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Growth at or above trend, inflation not above trend.
    Expansion,
    /// Growth at or above trend, inflation above trend.
    Overheat,
    /// Growth below trend and falling.
    Recession,
    /// Growth below trend but rising.
    Recovery,
}

impl Regime {
    /// All regimes in class-index order.
    pub const ALL: [Regime; REGIME_COUNT] = [
        Regime::Expansion,
        Regime::Overheat,
        Regime::Recession,
        Regime::Recovery,
    ];

    /// Class index (0..4) used by the model.
    pub fn index(self) -> usize {
        match self {
            Regime::Expansion => 0,
            Regime::Overheat => 1,
            Regime::Recession => 2,
            Regime::Recovery => 3,
        }
    }

    /// The regime of a class index, `None` when out of range.
    pub fn from_index(i: usize) -> Option<Regime> {
        Regime::ALL.get(i).copied()
    }

    /// Lower-case name (`expansion`…).
    pub fn name(self) -> &'static str {
        match self {
            Regime::Expansion => "expansion",
            Regime::Overheat => "overheat",
            Regime::Recession => "recession",
            Regime::Recovery => "recovery",
        }
    }

    /// The SPEC §4 allocation of the regime.
    pub fn allocation(self) -> Allocation {
        let (stocks, bonds, cash) = match self {
            Regime::Expansion => (0.70, 0.20, 0.10),
            Regime::Overheat => (0.40, 0.40, 0.20),
            Regime::Recession => (0.20, 0.60, 0.20),
            Regime::Recovery => (0.60, 0.30, 0.10),
        };
        Allocation {
            stocks,
            bonds,
            cash,
        }
    }
}

impl std::fmt::Display for Regime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A stocks/bonds/cash allocation (fractions of the portfolio summing to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Stocks, fraction.
    pub stocks: f64,
    /// Bonds, fraction.
    pub bonds: f64,
    /// Cash, fraction.
    pub cash: f64,
}
