//! [`AgentStrategy`]: agents and their ensemble as a [`Strategy`] of the one engine, so that
//! they backtest, sweep, paper-trade and trade live like every other strategy.
//!
//! At each bar close the strategy appends every symbol's close to its window (the agents'
//! longest [`Agent::history_bars`]), books the outcome of the previous bar's signals (their
//! next-bar return is now known), adapts the ensemble's weights, asks every agent for one signal
//! per symbol, and combines them. A buy decision makes the symbol a holding, a sell decision
//! makes it flat, a hold keeps it. The target is an equal weight of `1 / N` per holding (`N` =
//! symbols in the universe); the rest is cash. Long only. The engine executes at the next bar.

use crate::ensemble::{Ensemble, EnsembleConfig, EnsembleDecision};
use crate::{Action, Agent, AgentError, AgentSignal, AgentView, SymbolView};
use pulse_core::Symbol;
use pulse_strategy::{MarketSnapshot, Strategy, TargetWeights};
use std::collections::VecDeque;

/// What the strategy did over a run (for reports), counted from [`AgentStrategy::count_from`]
/// (by default from the first bar, warm-up included).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentStats {
    /// Bar closes decided.
    pub decisions: usize,
    /// Buy decisions that opened a holding.
    pub entries: usize,
    /// Sell decisions that closed a holding.
    pub exits: usize,
    /// Decisions held back because the confidence was at or under the threshold although some
    /// agent had an opinion.
    pub below_threshold: usize,
}

/// The last decision taken for one symbol: every agent's signal (in seat order), the
/// ensemble's combination and the holding after it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SymbolDecision {
    /// The bar close it was taken at.
    pub ts: jiff::Timestamp,
    /// One signal per agent, in seat order.
    pub signals: Vec<AgentSignal>,
    /// The ensemble's combination.
    pub decision: EnsembleDecision,
    /// The ensemble's weights it was combined with, in seat order (`decision.score` is
    /// `Σ weights[i] · confidence[i] · direction[i]`); a symbol whose last bar is older than
    /// the universe's was scored with the weights of that bar.
    #[serde(default)]
    pub weights: Vec<f64>,
    /// Whether the symbol is held after the decision.
    pub long: bool,
}

/// Agents combined by an [`Ensemble`] into long-only, equal-weight targets (module docs).
///
/// `A` is the agents' type: any agent boxed by default; an enum of concrete agents makes the
/// whole strategy serializable (the state a trading runner stores at every step: the closes
/// windows, the holdings, the last decisions, the ensemble's weights and outcomes, and each
/// agent's own state).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "A: serde::Serialize",
    deserialize = "A: serde::Deserialize<'de>"
))]
pub struct AgentStrategy<A = Box<dyn Agent + Send>> {
    name: String,
    symbols: Vec<Symbol>,
    agents: Vec<A>,
    ensemble: Ensemble,
    history: usize,
    windows: Vec<VecDeque<f64>>,
    long: Vec<bool>,
    /// The last decision per symbol; its signals await their outcome at the symbol's next bar.
    last: Vec<Option<SymbolDecision>>,
    stats: AgentStats,
    count_from: Option<jiff::Timestamp>,
    /// Whether the ensemble was reset at `count_from`.
    started: bool,
    // Scratch buffers reused at every bar (rebuilt at the first bar after a restore).
    #[serde(skip)]
    signals: Vec<AgentSignal>,
    #[serde(skip)]
    per_agent: Vec<Vec<AgentSignal>>,
}

impl<A: Agent> std::fmt::Debug for AgentStrategy<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentStrategy")
            .field("name", &self.name)
            .field("symbols", &self.symbols)
            .field(
                "agents",
                &self.agents.iter().map(|a| a.name()).collect::<Vec<_>>(),
            )
            .field("ensemble", &self.ensemble)
            .finish_non_exhaustive()
    }
}

impl<A: Agent> AgentStrategy<A> {
    /// A strategy named `name` trading `symbols` on the signals of `agents` combined under
    /// `config`. One agent with `threshold` 0 trades that agent's own buy and sell signals.
    pub fn try_new(
        name: impl Into<String>,
        symbols: Vec<Symbol>,
        agents: Vec<A>,
        config: EnsembleConfig,
    ) -> Result<Self, AgentError> {
        if symbols.is_empty() {
            return Err(AgentError::Parameter {
                name: "symbols".into(),
                reason: "at least one symbol is needed".into(),
            });
        }
        let kinds: Vec<_> = agents.iter().map(|a| a.kind()).collect();
        let ensemble = Ensemble::try_new(&kinds, config)?;
        let history = agents
            .iter()
            .map(|a| a.history_bars())
            .max()
            .unwrap_or(1)
            .max(2);
        let n = symbols.len();
        Ok(AgentStrategy {
            name: name.into(),
            windows: vec![VecDeque::with_capacity(history + 1); n],
            long: vec![false; n],
            last: vec![None; n],
            per_agent: vec![Vec::with_capacity(n); agents.len()],
            signals: Vec::with_capacity(agents.len()),
            symbols,
            agents,
            ensemble,
            history,
            stats: AgentStats::default(),
            count_from: None,
            started: false,
        })
    }

    /// Marks the evaluation's start `ts`: [`AgentStats`] count only bars at or after it, and the
    /// ensemble forgets the outcomes booked before it (its weights return to the initial ones at
    /// the first bar at or after `ts`), so what it learns in the evaluation comes from the
    /// evaluation only — a DQN's hits on its own training years never raise its weight. The
    /// warm-up before `ts` decides too (the holdings at the start), but does not trade.
    pub fn count_from(mut self, ts: jiff::Timestamp) -> Self {
        self.count_from = Some(ts);
        self
    }

    /// The universe, in the order given (never empty).
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// The ensemble (current weights and outcomes).
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }

    /// What the strategy did so far.
    pub fn stats(&self) -> &AgentStats {
        &self.stats
    }

    /// The agents, in seat order.
    pub fn agents(&self) -> &[A] {
        &self.agents
    }

    /// The last decision of every symbol of the universe (`None` before its first bar).
    pub fn last_decisions(&self) -> impl Iterator<Item = (&Symbol, Option<&SymbolDecision>)> {
        self.symbols
            .iter()
            .zip(self.last.iter().map(Option::as_ref))
    }

    /// The symbols held now.
    pub fn holdings(&self) -> Vec<Symbol> {
        self.symbols
            .iter()
            .zip(&self.long)
            .filter(|(_, l)| **l)
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn targets(&self) -> TargetWeights {
        let w = 1.0 / self.symbols.len() as f64;
        self.symbols
            .iter()
            .zip(&self.long)
            .map(|(s, l)| (s.clone(), if *l { w } else { 0.0 }))
            .collect()
    }
}

impl<A: Agent> Strategy for AgentStrategy<A> {
    fn name(&self) -> &str {
        &self.name
    }

    fn warmup_bars(&self) -> usize {
        self.agents
            .iter()
            .map(|a| a.warmup_bars())
            .max()
            .unwrap_or(0)
    }

    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        // 1. New closes; outcomes of the previous decisions of the symbols that traded.
        let mut present = Vec::with_capacity(self.symbols.len());
        let mut booked = false;
        for (i, symbol) in self.symbols.iter().enumerate() {
            let Some(bar) = snapshot.bars.get(symbol) else {
                continue;
            };
            let close = bar.close;
            if !close.is_finite() || close <= 0.0 {
                continue;
            }
            let window = &mut self.windows[i];
            if let (Some(&prev), Some(last)) = (window.back(), self.last[i].as_ref()) {
                let ret = close / prev - 1.0;
                for (seat, s) in last.signals.iter().enumerate() {
                    if s.action != Action::Hold && s.confidence > 0.0 {
                        self.ensemble.book(seat, s.action.direction() * ret > 0.0);
                        booked = true;
                    }
                }
            }
            if window.len() == self.history {
                window.pop_front();
            }
            window.push_back(close);
            present.push(i);
        }
        if booked {
            self.ensemble.adapt();
        }
        if !self.started && self.count_from.is_some_and(|t| snapshot.ts >= t) {
            self.started = true;
            self.ensemble.reset();
        }
        if present.is_empty() {
            return None;
        }
        // 2. Every agent's signals for the symbols with a bar.
        for w in &present {
            self.windows[*w].make_contiguous();
        }
        let views: Vec<SymbolView<'_>> = present
            .iter()
            .map(|&i| SymbolView {
                symbol: &self.symbols[i],
                closes: self.windows[i].as_slices().0,
                long: self.long[i],
            })
            .collect();
        let view = AgentView {
            ts: snapshot.ts,
            symbols: &views,
        };
        if self.per_agent.len() != self.agents.len() {
            self.per_agent.resize_with(self.agents.len(), Vec::new);
        }
        for (agent, out) in self.agents.iter_mut().zip(self.per_agent.iter_mut()) {
            out.clear();
            agent.decide(&view, out);
            // An agent that answers short is read as holding for the rest.
            out.resize(views.len(), AgentSignal::NONE);
        }
        drop(views);
        // 3. Combine per symbol.
        let counted = self.count_from.is_none_or(|t| snapshot.ts >= t);
        let mut stats = AgentStats::default();
        stats.decisions += 1;
        let mut changed = false;
        let weights = self.ensemble.weights();
        for (k, &i) in present.iter().enumerate() {
            self.signals.clear();
            self.signals.extend(self.per_agent.iter().map(|out| out[k]));
            let decision = self.ensemble.combine(&self.signals);
            match decision.action {
                Action::Buy if !self.long[i] => {
                    self.long[i] = true;
                    stats.entries += 1;
                    changed = true;
                }
                Action::Sell if self.long[i] => {
                    self.long[i] = false;
                    stats.exits += 1;
                    changed = true;
                }
                Action::Hold if decision.confidence > 0.0 => stats.below_threshold += 1,
                _ => {}
            }
            self.last[i] = Some(SymbolDecision {
                ts: snapshot.ts,
                signals: self.signals.clone(),
                decision,
                weights: weights.clone(),
                long: self.long[i],
            });
        }
        if counted {
            self.stats.decisions += stats.decisions;
            self.stats.entries += stats.entries;
            self.stats.exits += stats.exits;
            self.stats.below_threshold += stats.below_threshold;
        }
        changed.then(|| self.targets())
    }
}
