//! `pulse-agents`: the trading agents of SPEC §4 and the adaptive ensemble that combines them.
//!
//! An [`Agent`] sees, at the close of a bar, the past closes of every symbol of its universe
//! (never a later one) and answers one [`AgentSignal`] per symbol: buy, sell or hold with a
//! confidence in [0, 1]. The built-in agents are [`technical::TechnicalAgent`] (SMA, RSI, MACD,
//! Bollinger rules) and [`factor::FactorAgent`] (value, quality, momentum, growth percentile
//! ranks); the DQN agent lives in `pulse-deep` (candle, behind a cargo feature) and implements the
//! same trait. [`ensemble::Ensemble`] weights the agents' votes and adapts the weights to each
//! agent's realised hit rate; [`strategy::AgentStrategy`] turns it into target weights so that the
//! one engine backtests, sweeps and trades it like any other strategy.

pub mod ensemble;
pub mod factor;
pub mod strategy;
pub mod technical;

use jiff::Timestamp;
use pulse_core::Symbol;

/// What an agent recommends for one symbol.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Hold a long position (open one when flat).
    Buy,
    /// Hold no position (close the long one).
    Sell,
    /// Keep whatever is held.
    Hold,
}

impl Action {
    /// +1 for buy, −1 for sell, 0 for hold: the sign of the return the action bets on.
    pub fn direction(self) -> f64 {
        match self {
            Action::Buy => 1.0,
            Action::Sell => -1.0,
            Action::Hold => 0.0,
        }
    }

    /// All three actions, in the order of a Q-network's outputs (buy, sell, hold).
    pub const ALL: [Action; 3] = [Action::Buy, Action::Sell, Action::Hold];
}

/// One agent's answer for one symbol at one bar close.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentSignal {
    /// The recommended action.
    pub action: Action,
    /// How sure the agent is, in [0, 1] (each agent documents how it computes it).
    pub confidence: f64,
}

impl AgentSignal {
    /// "Hold, no opinion": what an agent answers while it lacks history.
    pub const NONE: AgentSignal = AgentSignal {
        action: Action::Hold,
        confidence: 0.0,
    };
}

/// One symbol's past as an agent sees it at a bar close.
#[derive(Debug, Clone, Copy)]
pub struct SymbolView<'a> {
    /// The symbol.
    pub symbol: &'a Symbol,
    /// Its closes, oldest first; the last is the close of the bar that just closed. At most the
    /// agents' [`Agent::history_bars`] closes (fewer at the start of the data).
    pub closes: &'a [f64],
    /// Whether the strategy holds a long position in it now.
    pub long: bool,
}

/// What every agent sees at one bar close: the symbols that have a bar at `ts`.
#[derive(Debug, Clone, Copy)]
pub struct AgentView<'a> {
    /// Timestamp of the bar that just closed.
    pub ts: Timestamp,
    /// The symbols with a bar at `ts`, in the universe's order.
    pub symbols: &'a [SymbolView<'a>],
}

/// Which role an agent plays in the ensemble (its initial weight, SPEC §4).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// The deep Q-network agent (initial weight 0.4).
    Dqn,
    /// The factor agent (initial weight 0.3).
    Factor,
    /// The technical agent (initial weight 0.3).
    Technical,
}

impl AgentKind {
    /// SPEC §4's initial ensemble weight of this kind of agent.
    pub fn initial_weight(self) -> f64 {
        match self {
            AgentKind::Dqn => 0.4,
            AgentKind::Factor | AgentKind::Technical => 0.3,
        }
    }

    /// Lower-case name ("dqn", "factor", "technical").
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Dqn => "dqn",
            AgentKind::Factor => "factor",
            AgentKind::Technical => "technical",
        }
    }
}

/// A trading agent: pure and deterministic, sees only the past.
///
/// [`Agent::decide`] is called once per bar close, in time order, with every symbol of the
/// universe that has a bar; it must push exactly one signal per symbol of `view.symbols`, in
/// that order. Agents that keep streaming state (indicators) update it from the last close of
/// each view, so they must see every bar once.
pub trait Agent {
    /// Which role the agent plays.
    fn kind(&self) -> AgentKind;

    /// Display name ("Technical", "Factor", "DQN").
    fn name(&self) -> &str;

    /// Closes per symbol the agent needs in its view (its longest lookback), in bars.
    fn history_bars(&self) -> usize;

    /// Bars before the agent's first meaningful signal (indicator warm-up), in bars.
    fn warmup_bars(&self) -> usize {
        self.history_bars()
    }

    /// One signal per symbol of `view.symbols`, appended to `out` in the view's order.
    fn decide(&mut self, view: &AgentView<'_>, out: &mut Vec<AgentSignal>);

    /// Which factors had data so far (the factor agent; `None` for the others).
    fn factor_coverage(&self) -> Option<&factor::FactorCoverage> {
        None
    }
}

impl<A: Agent + ?Sized> Agent for Box<A> {
    fn kind(&self) -> AgentKind {
        (**self).kind()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn history_bars(&self) -> usize {
        (**self).history_bars()
    }
    fn warmup_bars(&self) -> usize {
        (**self).warmup_bars()
    }
    fn decide(&mut self, view: &AgentView<'_>, out: &mut Vec<AgentSignal>) {
        (**self).decide(view, out)
    }
    fn factor_coverage(&self) -> Option<&factor::FactorCoverage> {
        (**self).factor_coverage()
    }
}

/// Why an agent or the ensemble could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A parameter is out of range (its name and why).
    #[error("invalid agent parameter {name}: {reason}")]
    Parameter {
        /// Parameter name, e.g. `threshold`.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A fundamentals file does not parse (file, line and field named).
    #[error("{origin}: line {line}: {reason}")]
    Fundamentals {
        /// Where the data came from (a path).
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong (names the column).
        reason: String,
    },
    /// An indicator rejected its parameters.
    #[error(transparent)]
    Indicator(#[from] pulse_indicators::IndicatorError),
}
