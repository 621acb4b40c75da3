//! The technical agent of SPEC §4: five rules on daily closes, aggregated to one action.
//!
//! At each bar close, per symbol (indicators are TA-Lib's, streamed from the first close seen):
//!
//! | rule | vote |
//! | --- | --- |
//! | SMA(20) > SMA(60) | buy 0.3 |
//! | RSI(14) < 30 | buy 0.4 |
//! | RSI(14) > 70 | sell 0.4 |
//! | MACD(12, 26, 9) line > its signal line | buy 0.3 |
//! | close < lower Bollinger band (20, 2σ) | buy 0.5 |
//!
//! `buy` and `sell` are the sums of the votes cast. The answer is buy with confidence
//! `min(buy, 1)` when `buy > sell`, sell with confidence `min(sell, 1)` when `sell > buy`, and
//! hold with confidence 0 (no opinion) on a tie, including no vote at all. No signal
//! ([`AgentSignal::NONE`]) before SMA(60) has its 60 closes, so every rule is judged on the same
//! bars.

use crate::{Action, Agent, AgentError, AgentKind, AgentSignal, AgentView};
use pulse_core::Symbol;
use pulse_indicators::{BollingerBands, Indicator, Macd, Rsi, Sma};
use std::collections::BTreeMap;

/// The rules' parameters and votes (SPEC §4's by default).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TechnicalConfig {
    /// Fast SMA period, bars (20).
    pub sma_fast: usize,
    /// Slow SMA period, bars (60).
    pub sma_slow: usize,
    /// Vote for buy when SMA fast > SMA slow (0.3).
    pub trend_vote: f64,
    /// RSI period, bars (14).
    pub rsi_period: usize,
    /// RSI below this is oversold: buy (30).
    pub rsi_oversold: f64,
    /// RSI above this is overbought: sell (70).
    pub rsi_overbought: f64,
    /// Vote of either RSI rule (0.4).
    pub rsi_vote: f64,
    /// MACD fast, slow and signal periods, bars (12, 26, 9).
    pub macd: (usize, usize, usize),
    /// Vote for buy when the MACD line is above its signal line (0.3).
    pub macd_vote: f64,
    /// Bollinger period, bars (20).
    pub bb_period: usize,
    /// Bollinger width in standard deviations (2).
    pub bb_k: f64,
    /// Vote for buy when the close is below the lower band (0.5).
    pub bb_vote: f64,
}

impl Default for TechnicalConfig {
    fn default() -> Self {
        TechnicalConfig {
            sma_fast: 20,
            sma_slow: 60,
            trend_vote: 0.3,
            rsi_period: 14,
            rsi_oversold: 30.0,
            rsi_overbought: 70.0,
            rsi_vote: 0.4,
            macd: (12, 26, 9),
            macd_vote: 0.3,
            bb_period: 20,
            bb_k: 2.0,
            bb_vote: 0.5,
        }
    }
}

impl TechnicalConfig {
    /// Checks every field (votes finite and ≥ 0, thresholds ordered); indicator periods are
    /// checked when the indicators are built.
    pub fn validate(&self) -> Result<(), AgentError> {
        for (name, v) in [
            ("trend_vote", self.trend_vote),
            ("rsi_vote", self.rsi_vote),
            ("macd_vote", self.macd_vote),
            ("bb_vote", self.bb_vote),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(param(name, format!("{v} must be a finite number >= 0")));
            }
        }
        if !(self.rsi_oversold.is_finite()
            && self.rsi_overbought.is_finite()
            && 0.0 <= self.rsi_oversold
            && self.rsi_oversold < self.rsi_overbought
            && self.rsi_overbought <= 100.0)
        {
            return Err(param(
                "rsi_oversold",
                format!(
                    "{} and rsi_overbought {} must satisfy 0 <= oversold < overbought <= 100",
                    self.rsi_oversold, self.rsi_overbought
                ),
            ));
        }
        if self.sma_fast >= self.sma_slow {
            return Err(param(
                "sma_fast",
                format!(
                    "{} must be shorter than sma_slow {}",
                    self.sma_fast, self.sma_slow
                ),
            ));
        }
        State::try_new(self)?;
        Ok(())
    }
}

fn param(name: &str, reason: String) -> AgentError {
    AgentError::Parameter {
        name: name.to_string(),
        reason,
    }
}

/// The streaming indicators of one symbol.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct State {
    fast: Sma,
    slow: Sma,
    rsi: Rsi,
    macd: Macd,
    bb: BollingerBands,
}

impl State {
    fn try_new(c: &TechnicalConfig) -> Result<State, AgentError> {
        Ok(State {
            fast: Sma::try_new(c.sma_fast)?,
            slow: Sma::try_new(c.sma_slow)?,
            rsi: Rsi::try_new(c.rsi_period)?,
            macd: Macd::try_new(c.macd.0, c.macd.1, c.macd.2)?,
            bb: BollingerBands::try_new(c.bb_period, c.bb_k)?,
        })
    }
}

/// The votes cast at one close, before aggregation (for explanations and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TechnicalVotes {
    /// Sum of the buy votes.
    pub buy: f64,
    /// Sum of the sell votes.
    pub sell: f64,
}

impl TechnicalVotes {
    /// The aggregated answer (module docs: the larger side wins, confidence capped at 1).
    pub fn signal(self) -> AgentSignal {
        if self.buy > self.sell {
            AgentSignal {
                action: Action::Buy,
                confidence: self.buy.min(1.0),
            }
        } else if self.sell > self.buy {
            AgentSignal {
                action: Action::Sell,
                confidence: self.sell.min(1.0),
            }
        } else {
            AgentSignal {
                action: Action::Hold,
                confidence: 0.0,
            }
        }
    }
}

/// The technical agent (module docs), with one set of streaming indicators per symbol.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TechnicalAgent {
    config: TechnicalConfig,
    states: BTreeMap<Symbol, State>,
}

impl TechnicalAgent {
    /// A technical agent; the configuration is validated.
    pub fn try_new(config: TechnicalConfig) -> Result<Self, AgentError> {
        config.validate()?;
        Ok(TechnicalAgent {
            config,
            states: BTreeMap::new(),
        })
    }

    /// Feeds one close of `symbol` and returns the votes, or `None` while SMA(slow) warms up.
    pub fn update(&mut self, symbol: &Symbol, close: f64) -> Option<TechnicalVotes> {
        let c = &self.config;
        let state = match self.states.get_mut(symbol) {
            Some(s) => s,
            None => {
                // Parameters were validated by `try_new`, so building cannot fail here; a
                // failure would leave the symbol without signals rather than panic.
                let s = State::try_new(c).ok()?;
                self.states.entry(symbol.clone()).or_insert(s)
            }
        };
        let fast = state.fast.update(close);
        let slow = state.slow.update(close);
        let rsi = state.rsi.update(close);
        let macd = state.macd.update(close);
        let bb = state.bb.update(close);
        let slow = slow?;
        let mut votes = TechnicalVotes::default();
        if fast.is_some_and(|f| f > slow) {
            votes.buy += c.trend_vote;
        }
        if let Some(r) = rsi {
            if r < c.rsi_oversold {
                votes.buy += c.rsi_vote;
            } else if r > c.rsi_overbought {
                votes.sell += c.rsi_vote;
            }
        }
        if macd.is_some_and(|m| m.macd > m.signal) {
            votes.buy += c.macd_vote;
        }
        if bb.is_some_and(|b| close < b.lower) {
            votes.buy += c.bb_vote;
        }
        Some(votes)
    }
}

impl Agent for TechnicalAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Technical
    }

    fn name(&self) -> &str {
        "Technical"
    }

    /// Streams: only the newest close of each view is read.
    fn history_bars(&self) -> usize {
        1
    }

    fn warmup_bars(&self) -> usize {
        self.config.sma_slow
    }

    fn decide(&mut self, view: &AgentView<'_>, out: &mut Vec<AgentSignal>) {
        for s in view.symbols {
            let signal = match s.closes.last() {
                Some(&close) => self
                    .update(s.symbol, close)
                    .map_or(AgentSignal::NONE, TechnicalVotes::signal),
                None => AgentSignal::NONE,
            };
            out.push(signal);
        }
    }
}
