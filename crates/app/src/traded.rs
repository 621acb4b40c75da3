//! What a trading runner trades: Pulse's two-leg rule set or the agents' ensemble of an
//! [`AgentSet`](crate::agents::AgentSet) — one strategy type for the runner's engine, so that the
//! same runner (journal, intent records, reconciliation, scheduler catch-up) trades either, and
//! its whole state serializes at every step.

use crate::agents::SetStrategy;
use pulse_core::Symbol;
use pulse_strategy::pulse::PulseStrategy;
use pulse_strategy::{MarketSnapshot, PositionSizing, Strategy, TargetWeights};
use serde::{Deserialize, Deserializer, Serialize};

/// The strategy of a trading runner.
///
/// Stored untagged: a runner stored before the agents could trade holds a bare Pulse strategy,
/// which still reads as [`TradedStrategy::Pulse`]; an agents' strategy is told apart by its
/// `agents` and `ensemble` fields, and the error of the one it is read as is kept (e.g. a DQN
/// model that changed since).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TradedStrategy {
    /// Pulse's rule set (`--strategy-config`, or the default one).
    Pulse(Box<PulseStrategy>),
    /// The ensemble of an agent set (`pulse trade run --agents …`).
    Agents(Box<SetStrategy>),
}

impl<'de> Deserialize<'de> for TradedStrategy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let agents = value.get("agents").is_some() && value.get("ensemble").is_some();
        if agents {
            SetStrategy::deserialize(value)
                .map(|s| TradedStrategy::Agents(Box::new(s)))
                .map_err(|e| D::Error::custom(format!("the agents' strategy: {e}")))
        } else {
            PulseStrategy::deserialize(value)
                .map(|s| TradedStrategy::Pulse(Box::new(s)))
                .map_err(|e| D::Error::custom(format!("the Pulse strategy: {e}")))
        }
    }
}

/// One agent of an agents runner at a day's close: the post-market evaluation of each model
/// (its rolling hit rate) and the weight the ensemble gives it for the next day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDay {
    /// The agent.
    pub kind: pulse_agents::AgentKind,
    /// Its weight in the ensemble now, in [0, 1].
    pub weight: f64,
    /// Its hit rate over its last `scored` signals, a fraction (`None` before the ensemble's
    /// `min_signals`).
    pub hit_rate: Option<f64>,
    /// Signals scored in its rolling window.
    pub scored: usize,
}

impl TradedStrategy {
    /// Each agent's weight and rolling hit rate now (empty for Pulse).
    pub fn agent_days(&self) -> Vec<AgentDay> {
        let TradedStrategy::Agents(a) = self else {
            return Vec::new();
        };
        let min_signals = a.ensemble().config().min_signals;
        a.ensemble()
            .seats()
            .iter()
            .map(|s| AgentDay {
                kind: s.kind,
                weight: s.weight,
                hit_rate: s.hit_rate(min_signals),
                scored: s.scored(),
            })
            .collect()
    }

    /// The symbol a runner's equity curve is compared with: Pulse's base leg, the agents'
    /// first symbol.
    pub fn benchmark_symbol(&self) -> Symbol {
        match self {
            TradedStrategy::Pulse(p) => p.config().symbols.base.clone(),
            TradedStrategy::Agents(a) => a.symbols()[0].clone(),
        }
    }

    fn strategy(&self) -> &dyn Strategy {
        match self {
            TradedStrategy::Pulse(p) => p.as_ref(),
            TradedStrategy::Agents(a) => a.as_ref(),
        }
    }
}

impl Strategy for TradedStrategy {
    fn name(&self) -> &str {
        self.strategy().name()
    }

    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        match self {
            TradedStrategy::Pulse(p) => p.on_bar_close(snapshot),
            TradedStrategy::Agents(a) => a.on_bar_close(snapshot),
        }
    }

    fn warmup_bars(&self) -> usize {
        self.strategy().warmup_bars()
    }

    fn position_sizing(&self) -> Option<PositionSizing> {
        self.strategy().position_sizing()
    }
}
