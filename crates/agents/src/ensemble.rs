//! The adaptive ensemble of SPEC §4: agents' votes weighted (DQN 0.4, factor 0.3, technical 0.3),
//! each multiplied by the agent's confidence; act only when the ensemble is confident enough.
//!
//! **Combination.** With weights `wᵢ` summing to 1 over the agents present, the ensemble's score
//! for a symbol is `S = Σᵢ wᵢ · cᵢ · dᵢ`, where `cᵢ` is agent i's confidence and `dᵢ` is +1 for
//! buy, −1 for sell and 0 for hold. The ensemble's action is buy when `S > 0`, sell when `S < 0`,
//! and its confidence is `|S|` (in [0, 1]). It acts only when `|S| > threshold` (0.7 by
//! default); otherwise it holds. (A share-of-votes confidence would be 1 whenever a single agent
//! has an opinion and the others hold, which would make the 0.7 bar meaningless; `|S|` needs
//! agreement of agents carrying ≥ 70 % of the weight, at full confidence.)
//!
//! **Adaptation.** Each buy or sell signal of an agent is scored one bar later, when the
//! symbol's next close is known: a hit when `d · (close_{t+1} / close_t − 1) > 0`. An agent's
//! performance `pᵢ` is its hit rate over its last `window` scored signals (0.5 until it has
//! `min_signals` of them). Raw weights `rᵢ = w⁰ᵢ · pᵢ` (initial weight times hit rate) are
//! normalised to sum to 1; a weight that falls below `floor` is set to `floor` and the others
//! are rescaled to share what is left (repeated until none is below). So every weight stays ≥
//! `floor`, the weights sum to 1, and with no information (all `pᵢ` equal) they are the initial
//! weights.
//! Nothing later than the bar being decided enters: a signal's outcome is booked at the next
//! bar, before that bar's decision.

use crate::{Action, AgentError, AgentKind, AgentSignal};
use std::collections::VecDeque;

/// The ensemble's settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnsembleConfig {
    /// Act only when the ensemble's confidence `|S|` exceeds this (SPEC §4: 0.7), in [0, 1).
    pub threshold: f64,
    /// Scored signals per agent that its hit rate is measured over (rolling), ≥ 1.
    pub window: usize,
    /// Scored signals an agent needs before its hit rate counts (0.5 before), ≥ 1.
    pub min_signals: usize,
    /// Lowest weight any agent can fall to, in [0, 1/n].
    pub floor: f64,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig {
            threshold: 0.7,
            window: 60,
            min_signals: 10,
            floor: 0.1,
        }
    }
}

impl EnsembleConfig {
    /// Checks every field for an ensemble of `agents` agents (errors name the field).
    pub fn validate(&self, agents: usize) -> Result<(), AgentError> {
        let bad = |name: &str, reason: String| AgentError::Parameter {
            name: name.to_string(),
            reason,
        };
        if !(self.threshold.is_finite() && (0.0..1.0).contains(&self.threshold)) {
            return Err(bad(
                "threshold",
                format!("{} must be in [0, 1)", self.threshold),
            ));
        }
        if self.window == 0 {
            return Err(bad("window", "must be at least 1".into()));
        }
        if self.min_signals == 0 || self.min_signals > self.window {
            return Err(bad(
                "min_signals",
                format!(
                    "{} must be in [1, window = {}]",
                    self.min_signals, self.window
                ),
            ));
        }
        let n = agents.max(1) as f64;
        if !(self.floor.is_finite() && self.floor >= 0.0 && self.floor * n <= 1.0) {
            return Err(bad(
                "floor",
                format!("{} must be in [0, 1/{agents}]", self.floor),
            ));
        }
        Ok(())
    }
}

/// One agent's seat in the ensemble: its initial weight and its recent outcomes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Seat {
    /// The agent's role.
    pub kind: AgentKind,
    /// Its initial weight, renormalised over the agents present.
    pub initial: f64,
    /// Its current weight.
    pub weight: f64,
    /// Its last `window` scored signals: true = hit.
    outcomes: VecDeque<bool>,
}

impl Seat {
    /// Hit rate over the window, or `None` before `min_signals`.
    pub fn hit_rate(&self, min_signals: usize) -> Option<f64> {
        (self.outcomes.len() >= min_signals).then(|| {
            self.outcomes.iter().filter(|h| **h).count() as f64 / self.outcomes.len() as f64
        })
    }

    /// Scored signals in the window.
    pub fn scored(&self) -> usize {
        self.outcomes.len()
    }
}

/// The ensemble (module docs): weights per agent, adapted to their hit rates.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ensemble {
    config: EnsembleConfig,
    seats: Vec<Seat>,
}

/// The ensemble's decision for one symbol.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnsembleDecision {
    /// The signed score `S` in [−1, 1].
    pub score: f64,
    /// What to do: buy/sell only when `|S| > threshold`, else hold.
    pub action: Action,
    /// `|S|`.
    pub confidence: f64,
}

impl Ensemble {
    /// An ensemble of agents of these kinds, in the order their signals will come. Initial
    /// weights are SPEC §4's renormalised over the kinds present (DQN, factor and technical:
    /// 0.4/0.3/0.3; factor and technical alone: 0.5/0.5).
    pub fn try_new(kinds: &[AgentKind], config: EnsembleConfig) -> Result<Self, AgentError> {
        if kinds.is_empty() {
            return Err(AgentError::Parameter {
                name: "agents".into(),
                reason: "at least one agent is needed".into(),
            });
        }
        config.validate(kinds.len())?;
        let total: f64 = kinds.iter().map(|k| k.initial_weight()).sum();
        let seats = kinds
            .iter()
            .map(|&kind| {
                let w = kind.initial_weight() / total;
                Seat {
                    kind,
                    initial: w,
                    weight: w,
                    outcomes: VecDeque::new(),
                }
            })
            .collect();
        Ok(Ensemble { config, seats })
    }

    /// The settings.
    pub fn config(&self) -> &EnsembleConfig {
        &self.config
    }

    /// The agents' seats (weights and outcomes), in signal order.
    pub fn seats(&self) -> &[Seat] {
        &self.seats
    }

    /// The current weights, in signal order.
    pub fn weights(&self) -> Vec<f64> {
        self.seats.iter().map(|s| s.weight).collect()
    }

    /// Combines one signal per agent (in seat order) into a decision.
    pub fn combine(&self, signals: &[AgentSignal]) -> EnsembleDecision {
        let score: f64 = self
            .seats
            .iter()
            .zip(signals)
            .map(|(seat, s)| seat.weight * s.confidence.clamp(0.0, 1.0) * s.action.direction())
            .sum::<f64>()
            .clamp(-1.0, 1.0);
        let confidence = score.abs();
        let action = if confidence > self.config.threshold && score > 0.0 {
            Action::Buy
        } else if confidence > self.config.threshold && score < 0.0 {
            Action::Sell
        } else {
            Action::Hold
        };
        EnsembleDecision {
            score,
            action,
            confidence,
        }
    }

    /// Books the outcome of agent `seat`'s signal: `hit` when its direction matched the next
    /// bar's return. Call [`Ensemble::adapt`] after booking a bar's outcomes.
    pub fn book(&mut self, seat: usize, hit: bool) {
        let window = self.config.window;
        if let Some(s) = self.seats.get_mut(seat) {
            if s.outcomes.len() == window {
                s.outcomes.pop_front();
            }
            s.outcomes.push_back(hit);
        }
    }

    /// Forgets every outcome: the weights return to the initial ones (used at the start of an
    /// evaluation, so the weights learn from out-of-sample outcomes only).
    pub fn reset(&mut self) {
        for seat in &mut self.seats {
            seat.outcomes.clear();
            seat.weight = seat.initial;
        }
    }

    /// Recomputes the weights from the hit rates (module docs).
    pub fn adapt(&mut self) {
        let min = self.config.min_signals;
        let raw: Vec<f64> = self
            .seats
            .iter()
            .map(|s| s.initial * s.hit_rate(min).unwrap_or(0.5))
            .collect();
        let weights = floored_weights(&raw, self.config.floor);
        for (seat, w) in self.seats.iter_mut().zip(weights) {
            seat.weight = w;
        }
    }
}

/// `raw` (≥ 0) normalised to sum to 1 with every weight ≥ `floor` (`n · floor ≤ 1`): weights
/// below the floor are pinned to it and the rest rescaled over what is left, until none is below.
/// All-zero raw weights give equal weights.
pub fn floored_weights(raw: &[f64], floor: f64) -> Vec<f64> {
    let n = raw.len();
    let mut pinned = vec![false; n];
    let mut w = vec![0.0; n];
    loop {
        let pinned_count = pinned.iter().filter(|p| **p).count();
        let budget = 1.0 - floor * pinned_count as f64;
        let free_total: f64 = (0..n)
            .filter(|&i| !pinned[i])
            .map(|i| raw[i].max(0.0))
            .sum();
        let free_count = n - pinned_count;
        let mut changed = false;
        for i in 0..n {
            if pinned[i] {
                w[i] = floor;
                continue;
            }
            w[i] = if free_total > 0.0 {
                raw[i].max(0.0) / free_total * budget
            } else {
                budget / free_count as f64
            };
            if w[i] < floor {
                pinned[i] = true;
                changed = true;
            }
        }
        if !changed {
            return w;
        }
    }
}
