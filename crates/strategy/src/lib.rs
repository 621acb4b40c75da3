//! `pulse-strategy` owns the [`Strategy`] trait — market state at the close of a bar in, target
//! weights out — and the built-in strategies: [`pulse::PulseStrategy`] (SPEC §3, TSLA + TSLL +
//! cash) and [`fixed::FixedWeights`] (buy-and-hold and periodically rebalanced mixes, used as
//! benchmarks). Strategies are pure and deterministic: no I/O, no clock, no randomness.

pub mod fixed;
pub mod portfolio;
pub mod pulse;

use jiff::Timestamp;
use pulse_core::{Bar, Symbol};
pub use pulse_risk::PositionSizing;
use std::collections::BTreeMap;

/// Target weights: fraction of total equity per symbol (0.3 = 30 %); what is not allocated is cash.
pub type TargetWeights = BTreeMap<Symbol, f64>;

/// What a strategy sees at the close of one bar: that bar of every traded symbol that has one,
/// and the latest known value of every context series (VIX, Fear & Greed…), never anything later.
#[derive(Debug, Clone, Copy)]
pub struct MarketSnapshot<'a> {
    /// Timestamp of the bar that just closed.
    pub ts: Timestamp,
    /// The bar that just closed, per traded symbol (symbols without a bar at `ts` are absent).
    pub bars: &'a BTreeMap<Symbol, Bar>,
    /// Latest value (close) of each context series as of `ts` (forward-filled from the past only).
    pub context: &'a BTreeMap<Symbol, f64>,
}

/// Why a strategy could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StrategyError {
    /// The TOML configuration does not parse or has unknown keys.
    #[error("invalid strategy configuration: {0}")]
    Config(String),
    /// A parameter is out of range.
    #[error("invalid parameter {name}: {reason}")]
    Parameter {
        /// Parameter path, e.g. `overbought.rsi`.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An indicator rejected its parameters.
    #[error(transparent)]
    Indicator(#[from] pulse_indicators::IndicatorError),
}

/// A trading strategy: pure, deterministic, sees only the past.
pub trait Strategy {
    /// Display name ("Pulse", "Buy & hold TSLA").
    fn name(&self) -> &str;

    /// Called once per bar close, in time order. Returns new target weights, or `None` to keep
    /// the previous target (e.g. while indicators warm up, or between rebalancing dates).
    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Option<TargetWeights>;

    /// Bars needed before the first meaningful target (indicator warm-up), for the runner to
    /// align the evaluation start of all strategies.
    fn warmup_bars(&self) -> usize {
        0
    }

    /// How the risk layer sizes this strategy's positions (its TOML `[sizing]`: Half Kelly, ATR,
    /// the correlation filter); `None`: the weights as issued.
    fn position_sizing(&self) -> Option<PositionSizing> {
        None
    }
}

impl<S: Strategy + ?Sized> Strategy for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        (**self).on_bar_close(snapshot)
    }
    fn warmup_bars(&self) -> usize {
        (**self).warmup_bars()
    }
    fn position_sizing(&self) -> Option<PositionSizing> {
        (**self).position_sizing()
    }
}

/// A strategy borrowed mutably runs as itself, so a caller can read its state (statistics,
/// learned weights) after a replay that took it.
impl<S: Strategy + ?Sized> Strategy for &mut S {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        (**self).on_bar_close(snapshot)
    }
    fn warmup_bars(&self) -> usize {
        (**self).warmup_bars()
    }
    fn position_sizing(&self) -> Option<PositionSizing> {
        (**self).position_sizing()
    }
}
