//! The DQN trading agent of SPEC §4 (issue 17 item 1): a deep Q-network trained on a symbol's
//! daily closes with experience replay and a target network, on the CPU with candle.
//!
//! # State, actions, network
//!
//! The state at the close of bar `t` has [`DqnConfig::lookback`] + 1 inputs (31 by default):
//! the last `lookback` daily simple returns **in percent** (`100 · (c[k] / c[k−1] − 1)` for
//! `k = t−lookback+1 ..= t`, oldest first), then a position flag (1 when long, 0 when flat). It
//! needs the last `lookback + 1` closes. The actions are buy, sell, hold in the order of
//! [`Action::ALL`], which is also the order of the network's three outputs. The network is a
//! multi-layer perceptron `inputs → 128 → 64 → 32 → 3` (ReLU between layers, dropout 0.2 after
//! each hidden ReLU **during training only**), trained with Adam (lr 0.001) on the mean squared
//! error between `Q(s, a)` of the action taken and its target `r + γ · maxₐ' Q_target(s', a')`
//! (`r` alone at the last step of an episode).
//!
//! # Environment and reward
//!
//! An episode walks once through one series of closes (episodes cycle through the series given to
//! [`train`]), starting flat. At bar `t` the agent picks an action, the position moves (buy → long,
//! sell → flat, hold → unchanged, see [`next_position`]) and the reward is [`reward`] of the action,
//! the position before it and the next return `100 · (c[t+1] / c[t] − 1)`:
//!
//! | action | flat before            | long before                      |
//! |--------|------------------------|----------------------------------|
//! | buy    | next return (%)        | −0.1                             |
//! | sell   | −0.1                   | next return (%) ([`SellReward::Spec`]) or its negation ([`SellReward::Negated`]) |
//! | hold   | 0                      | half the next return (%)         |
//!
//! The literal SPEC rule "sell when long → next return" rewards selling before a rise; it is the
//! default ([`SellReward::Spec`]); [`SellReward::Negated`] rewards selling before a fall instead.
//!
//! # Exploration, replay, target network
//!
//! Actions are ε-greedy. Each step stores one transition in a ring-buffer replay memory
//! ([`DqnConfig::memory_size`], 2,000). Once the memory holds [`DqnConfig::batch_size`]
//! transitions, every step is followed by one *replay*: a minibatch of `batch_size` distinct
//! transitions drawn uniformly from the memory, one Adam step. After each replay
//! `ε ← max(ε_min, ε · decay)` (so after `n` replays `ε = max(0.01, 0.995ⁿ)`, see
//! [`epsilon_after`]).
//!
//! **Target-network rule**: the target network starts as a copy of the online network and is
//! overwritten with the online weights after every [`DqnConfig::target_sync`]-th replay (default
//! every 100 replays, counted over the whole training, not per episode); see
//! [`target_sync_due`].
//!
//! # Determinism
//!
//! Everything random comes from `rand`'s `StdRng` seeded from [`DqnConfig::seed`] — the weight
//! initialisation (PyTorch's default for `nn.Linear`: weights and biases uniform in
//! `±1/√fan_in`), the ε-greedy draws, the minibatch indices and the dropout masks, each from its
//! own stream — never candle's global RNG, so the same configuration and data give bit-identical
//! weights.
//!
//! # Inference
//!
//! [`DqnModel`] holds the trained weights as plain `f32` arrays and evaluates the network (no
//! dropout) without candle and without allocating per decision; [`DqnAgent`] implements
//! [`pulse_agents::Agent`] with it, greedily (no ε).
//!
//! # Speed
//!
//! About 1,900 training steps per second (each with one 32-transition replay) and 7 µs per
//! decision on the 2-vCPU reference machine (BENCHMARKS.md). candle 0.11 asks for its thread count
//! at every matmul and, unless `RAYON_NUM_THREADS` (or `CANDLE_CPU_MASK`) is set, counts the
//! physical cores by reading `/proc/cpuinfo` each time, which halves training speed: set it in the
//! environment of a process that trains. The weights do not depend on it: 2 episodes on TSLA
//! 2015–2019 saved bit-identical `dqn.safetensors` with 1 and 2 threads.

mod model;
mod train;

pub use model::{DqnMeta, DqnModel, MODEL_FILE, WEIGHTS_FILE};
pub use train::{PROGRESS_EVERY_STEPS, TrainProgress, TrainReport, train};

use pulse_agents::{Action, Agent, AgentKind, AgentSignal, AgentView};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Reward (in percentage points) of an impossible action: buying when already long, selling when
/// already flat (SPEC §4: −0.1).
pub const INVALID_ACTION_REWARD: f64 = -0.1;

/// Why training, saving, loading or evaluating the DQN failed.
#[derive(Debug, thiserror::Error)]
pub enum DqnError {
    /// A configuration field is out of range (the field's name and why).
    #[error("invalid DQN config field {field}: {reason}")]
    Config {
        /// Field name, e.g. `gamma`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The training data is unusable (which series, which close, why).
    #[error("DQN training data: series {series}{}: {reason}", .index.map(|i| format!(", close {i}")).unwrap_or_default())]
    Data {
        /// 0-based index of the series in the slice given to [`train`].
        series: usize,
        /// 0-based index of the offending close, when one close is at fault.
        index: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// An input to a model has the wrong shape or value.
    #[error("DQN input: {0}")]
    Input(String),
    /// Training diverged (a non-finite loss).
    #[error("DQN training diverged: non-finite loss at replay {replay} (episode {episode})")]
    Diverged {
        /// 0-based episode.
        episode: usize,
        /// 1-based replay count.
        replay: u64,
    },
    /// A tensor operation failed in candle.
    #[error("DQN tensor operation: {0}")]
    Tensor(#[from] candle_core::Error),
    /// Reading or writing a model file or directory failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model file is malformed (missing tensor, wrong shape, bad JSON, …).
    #[error("{}: {reason}", .path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Which reward a sell gets when the agent was long (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SellReward {
    /// SPEC §4 literally: sell when long → the next return (%) (rewards selling before a rise).
    #[default]
    Spec,
    /// The alternative: sell when long → minus the next return (%) (rewards selling before a fall).
    Negated,
}

/// The DQN's hyper-parameters; the defaults are SPEC §4's. Serialized into `dqn.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DqnConfig {
    /// Daily returns in the state, in bars (30); the state has `lookback + 1` inputs and needs
    /// `lookback + 1` closes.
    pub lookback: usize,
    /// Widths of the hidden ReLU layers, input side first ([128, 64, 32]).
    pub hidden: Vec<usize>,
    /// Dropout probability after each hidden layer while training, in [0, 1) (0.2).
    pub dropout: f64,
    /// Adam learning rate (0.001); Adam's β₁ 0.9, β₂ 0.999, ε 1e-8, no weight decay.
    pub learning_rate: f64,
    /// Discount factor γ per daily step, in [0, 1] (0.95).
    pub gamma: f64,
    /// Exploration rate at the start of training, in [0, 1] (1.0).
    pub epsilon_start: f64,
    /// Floor of the exploration rate, in [0, `epsilon_start`] (0.01).
    pub epsilon_min: f64,
    /// Factor applied to ε after each replay, in (0, 1] (0.995).
    pub epsilon_decay: f64,
    /// Transitions per replay minibatch (32); at most `memory_size`.
    pub batch_size: usize,
    /// Capacity of the replay memory (ring buffer), in transitions (2,000).
    pub memory_size: usize,
    /// Replays between two copies of the online weights into the target network (100).
    pub target_sync: u64,
    /// Episodes to train; episode `e` walks series `e mod n` (10).
    pub episodes: usize,
    /// Reward of a sell when long (SPEC literal by default).
    pub sell_reward: SellReward,
    /// Seed of every random draw (weights, exploration, minibatches, dropout).
    pub seed: u64,
}

impl Default for DqnConfig {
    fn default() -> Self {
        DqnConfig {
            lookback: 30,
            hidden: vec![128, 64, 32],
            dropout: 0.2,
            learning_rate: 0.001,
            gamma: 0.95,
            epsilon_start: 1.0,
            epsilon_min: 0.01,
            epsilon_decay: 0.995,
            batch_size: 32,
            memory_size: 2000,
            target_sync: 100,
            episodes: 10,
            sell_reward: SellReward::Spec,
            seed: 42,
        }
    }
}

fn bad(field: &'static str, reason: impl Into<String>) -> DqnError {
    DqnError::Config {
        field,
        reason: reason.into(),
    }
}

/// Largest accepted lookback, in bars.
const MAX_LOOKBACK: usize = 1000;
/// Largest accepted hidden layer width and layer count.
const MAX_WIDTH: usize = 4096;
const MAX_LAYERS: usize = 8;
/// Largest accepted replay memory, in transitions.
const MAX_MEMORY: usize = 10_000_000;

impl DqnConfig {
    /// Checks every field; the error names the first field out of range.
    pub fn validate(&self) -> Result<(), DqnError> {
        if self.lookback == 0 || self.lookback > MAX_LOOKBACK {
            return Err(bad(
                "lookback",
                format!("{} is not in 1..={MAX_LOOKBACK}", self.lookback),
            ));
        }
        if self.hidden.is_empty() || self.hidden.len() > MAX_LAYERS {
            return Err(bad(
                "hidden",
                format!("needs 1..={MAX_LAYERS} layers, got {}", self.hidden.len()),
            ));
        }
        if let Some(w) = self.hidden.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
            return Err(bad(
                "hidden",
                format!("layer width {w} is not in 1..={MAX_WIDTH}"),
            ));
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return Err(bad("dropout", format!("{} is not in [0, 1)", self.dropout)));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(bad(
                "learning_rate",
                format!("{} is not a positive number", self.learning_rate),
            ));
        }
        if !(self.gamma.is_finite() && (0.0..=1.0).contains(&self.gamma)) {
            return Err(bad("gamma", format!("{} is not in [0, 1]", self.gamma)));
        }
        if !(self.epsilon_start.is_finite() && (0.0..=1.0).contains(&self.epsilon_start)) {
            return Err(bad(
                "epsilon_start",
                format!("{} is not in [0, 1]", self.epsilon_start),
            ));
        }
        if !(self.epsilon_min.is_finite() && (0.0..=self.epsilon_start).contains(&self.epsilon_min))
        {
            return Err(bad(
                "epsilon_min",
                format!(
                    "{} is not in [0, epsilon_start = {}]",
                    self.epsilon_min, self.epsilon_start
                ),
            ));
        }
        if !(self.epsilon_decay.is_finite()
            && self.epsilon_decay > 0.0
            && self.epsilon_decay <= 1.0)
        {
            return Err(bad(
                "epsilon_decay",
                format!("{} is not in (0, 1]", self.epsilon_decay),
            ));
        }
        if self.memory_size == 0 || self.memory_size > MAX_MEMORY {
            return Err(bad(
                "memory_size",
                format!("{} is not in 1..={MAX_MEMORY}", self.memory_size),
            ));
        }
        if self.batch_size == 0 || self.batch_size > self.memory_size {
            return Err(bad(
                "batch_size",
                format!(
                    "{} is not in 1..=memory_size ({})",
                    self.batch_size, self.memory_size
                ),
            ));
        }
        if self.target_sync == 0 {
            return Err(bad("target_sync", "must be at least 1 replay"));
        }
        if self.episodes == 0 {
            return Err(bad("episodes", "must be at least 1"));
        }
        Ok(())
    }

    /// Inputs of the network: `lookback` returns and the position flag.
    pub fn state_len(&self) -> usize {
        self.lookback + 1
    }

    /// Closes needed to build one state (`lookback + 1`), in bars.
    pub fn closes_needed(&self) -> usize {
        self.lookback + 1
    }
}

/// The reward of `action` taken with the position `long` (before the action), given the next
/// daily return in percent (`100 · (c[t+1] / c[t] − 1)`); in percentage points. See the table in
/// the module docs.
pub fn reward(action: Action, long: bool, next_return_pct: f64, sell: SellReward) -> f64 {
    match (action, long) {
        (Action::Buy, false) => next_return_pct,
        (Action::Buy, true) => INVALID_ACTION_REWARD,
        (Action::Sell, true) => match sell {
            SellReward::Spec => next_return_pct,
            SellReward::Negated => -next_return_pct,
        },
        (Action::Sell, false) => INVALID_ACTION_REWARD,
        (Action::Hold, true) => 0.5 * next_return_pct,
        (Action::Hold, false) => 0.0,
    }
}

/// The position after `action` from position `long`: buy → long, sell → flat, hold → unchanged.
pub fn next_position(action: Action, long: bool) -> bool {
    match action {
        Action::Buy => true,
        Action::Sell => false,
        Action::Hold => long,
    }
}

/// ε after `replays` replays: `max(epsilon_min, epsilon_start · epsilon_decayⁿ)`.
pub fn epsilon_after(cfg: &DqnConfig, replays: u64) -> f64 {
    // Repeated multiplication would accumulate rounding; the closed form is what the schedule
    // means and is deterministic.
    let n = replays.min(i32::MAX as u64) as i32;
    (cfg.epsilon_start * cfg.epsilon_decay.powi(n)).max(cfg.epsilon_min)
}

/// Whether the target network is overwritten after the replay numbered `replays` (1-based):
/// every `target_sync`-th replay.
pub fn target_sync_due(replays: u64, target_sync: u64) -> bool {
    target_sync > 0 && replays > 0 && replays.is_multiple_of(target_sync)
}

/// Fills `out` (length `closes.len()`) with the state of the last close of `closes`: the
/// `closes.len() − 1` daily simple returns in percent, oldest first, then 1.0 when `long` else
/// 0.0. Returns `false` (leaving `out` unspecified) when `out` has the wrong length, fewer than
/// two closes are given, or a close is not finite and positive.
pub fn fill_state(closes: &[f64], long: bool, out: &mut [f32]) -> bool {
    if closes.len() < 2 || out.len() != closes.len() {
        return false;
    }
    for (slot, pair) in out.iter_mut().zip(closes.windows(2)) {
        let (prev, cur) = (pair[0], pair[1]);
        if !(prev.is_finite() && prev > 0.0 && cur.is_finite() && cur > 0.0) {
            return false;
        }
        *slot = (100.0 * (cur / prev - 1.0)) as f32;
    }
    if let Some(flag) = out.last_mut() {
        *flag = if long { 1.0 } else { 0.0 };
    }
    true
}

/// Index of the largest of the three Q-values (the first on ties), as an [`Action`] of
/// [`Action::ALL`]; `None` when a value is not finite.
pub fn greedy_action(q: &[f32; 3]) -> Option<Action> {
    if q.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut best = 0;
    for i in 1..3 {
        if q[i] > q[best] {
            best = i;
        }
    }
    Some(Action::ALL[best])
}

/// Softmax of the Q-values at `action`, in [1/3, 1] when `action` is the greedy one.
pub fn softmax_confidence(q: &[f32; 3], action: Action) -> f64 {
    let max = q
        .iter()
        .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let sum: f64 = q.iter().map(|&v| (f64::from(v) - max).exp()).sum();
    let idx = Action::ALL.iter().position(|&a| a == action).unwrap_or(2);
    (f64::from(q[idx]) - max).exp() / sum
}

/// The trained DQN as a [`pulse_agents::Agent`] (kind [`AgentKind::Dqn`], name "DQN").
///
/// For each symbol of the view with at least `lookback + 1` closes (31 by default,
/// [`Agent::history_bars`]), the state is built from its last `lookback + 1` closes and its
/// `long` flag, the action is the argmax of the Q-values (greedy: no ε, no dropout) and the
/// **confidence is the softmax of the three Q-values at the chosen action**
/// (`exp(q_a) / Σ exp(q_j)`, in [1/3, 1]; Q-values are in percentage points of reward, so a
/// margin of a few points between the best and the other actions gives a confidence near 1).
/// A symbol with fewer closes, or with a close that is not finite and positive, gets
/// [`AgentSignal::NONE`]. Allocation-free per decision.
#[derive(Debug, Clone)]
pub struct DqnAgent {
    model: DqnModel,
    state: Vec<f32>,
    scratch: model::Scratch,
}

impl DqnAgent {
    /// Wraps a trained (or loaded) model.
    pub fn new(model: DqnModel) -> Self {
        let state = vec![0.0; model.config().state_len()];
        let scratch = model.scratch();
        DqnAgent {
            model,
            state,
            scratch,
        }
    }

    /// Loads a model saved by [`DqnModel::save`] from the directory `dir` and wraps it (errors as
    /// [`DqnModel::load`]: they name the file at fault).
    pub fn load(dir: &std::path::Path) -> Result<Self, DqnError> {
        Ok(DqnAgent::new(DqnModel::load(dir)?))
    }

    /// The wrapped model.
    pub fn model(&self) -> &DqnModel {
        &self.model
    }

    /// The signal for one symbol: `closes` oldest first (only the last `lookback + 1` are read),
    /// `long` its current position.
    pub fn signal(&mut self, closes: &[f64], long: bool) -> AgentSignal {
        let need = self.model.config().closes_needed();
        if closes.len() < need {
            return AgentSignal::NONE;
        }
        let window = &closes[closes.len() - need..];
        if !fill_state(window, long, &mut self.state) {
            return AgentSignal::NONE;
        }
        let Some(q) = self.model.forward_into(&self.state, &mut self.scratch) else {
            return AgentSignal::NONE;
        };
        match greedy_action(&q) {
            Some(action) => AgentSignal {
                action,
                confidence: softmax_confidence(&q, action),
            },
            None => AgentSignal::NONE,
        }
    }
}

impl Agent for DqnAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Dqn
    }

    fn name(&self) -> &str {
        "DQN"
    }

    fn history_bars(&self) -> usize {
        self.model.config().closes_needed()
    }

    fn decide(&mut self, view: &AgentView<'_>, out: &mut Vec<AgentSignal>) {
        for sv in view.symbols {
            let signal = self.signal(sv.closes, sv.long);
            out.push(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reward_table_by_hand() {
        let r = 2.5;
        let s = SellReward::Spec;
        assert_eq!(reward(Action::Buy, false, r, s), 2.5);
        assert_eq!(reward(Action::Buy, true, r, s), -0.1);
        assert_eq!(reward(Action::Sell, true, r, s), 2.5);
        assert_eq!(reward(Action::Sell, false, r, s), -0.1);
        assert_eq!(reward(Action::Hold, true, r, s), 1.25);
        assert_eq!(reward(Action::Hold, false, r, s), 0.0);
        let n = SellReward::Negated;
        assert_eq!(reward(Action::Sell, true, r, n), -2.5);
        assert_eq!(reward(Action::Sell, false, r, n), -0.1);
        assert_eq!(reward(Action::Buy, false, -1.0, n), -1.0);
        assert_eq!(reward(Action::Hold, true, -1.0, n), -0.5);
        // Positions.
        assert!(next_position(Action::Buy, false));
        assert!(next_position(Action::Buy, true));
        assert!(!next_position(Action::Sell, true));
        assert!(!next_position(Action::Sell, false));
        assert!(next_position(Action::Hold, true));
        assert!(!next_position(Action::Hold, false));
    }

    #[test]
    fn state_is_percent_returns_then_flag() {
        let closes = [100.0, 110.0, 99.0, 99.0];
        let mut out = [0.0f32; 4];
        assert!(fill_state(&closes, true, &mut out));
        assert!((out[0] - 10.0).abs() < 1e-5);
        assert!((out[1] - -10.0).abs() < 1e-5);
        assert_eq!(out[2], 0.0);
        assert_eq!(out[3], 1.0);
        assert!(fill_state(&closes, false, &mut out));
        assert_eq!(out[3], 0.0);
        assert!(!fill_state(&[100.0, 0.0, 1.0, 2.0], false, &mut out));
        assert!(!fill_state(&[100.0, f64::NAN, 1.0, 2.0], false, &mut out));
        assert!(!fill_state(&closes[..3], false, &mut out));
    }

    #[test]
    fn greedy_and_softmax() {
        assert_eq!(greedy_action(&[0.0, 1.0, 0.5]), Some(Action::Sell));
        assert_eq!(greedy_action(&[2.0, 1.0, 0.5]), Some(Action::Buy));
        assert_eq!(greedy_action(&[0.0, 0.0, 0.5]), Some(Action::Hold));
        assert_eq!(greedy_action(&[0.0, f32::NAN, 0.5]), None);
        let c = softmax_confidence(&[1.0, 1.0, 1.0], Action::Hold);
        assert!((c - 1.0 / 3.0).abs() < 1e-12);
        let q = [3.0f32, 1.0, 0.0];
        let e = [3f64.exp(), 1f64.exp(), 1.0];
        let c = softmax_confidence(&q, Action::Buy);
        assert!((c - e[0] / (e[0] + e[1] + e[2])).abs() < 1e-12);
    }

    #[test]
    fn epsilon_and_sync_schedules() {
        let cfg = DqnConfig::default();
        assert_eq!(epsilon_after(&cfg, 0), 1.0);
        for n in [1u64, 10, 100, 500, 918, 919, 920, 5000] {
            let want = 0.995f64.powi(n as i32).max(0.01);
            assert_eq!(epsilon_after(&cfg, n), want, "n = {n}");
        }
        assert_eq!(epsilon_after(&cfg, 100_000), 0.01);
        assert!(!target_sync_due(0, 100));
        assert!(!target_sync_due(99, 100));
        assert!(target_sync_due(100, 100));
        assert!(!target_sync_due(101, 100));
        assert!(target_sync_due(300, 100));
        assert!(target_sync_due(1, 1));
    }

    #[test]
    fn config_validation_names_the_field() {
        DqnConfig::default().validate().unwrap();
        let cases: Vec<(&str, DqnConfig)> = vec![
            (
                "lookback",
                DqnConfig {
                    lookback: 0,
                    ..DqnConfig::default()
                },
            ),
            (
                "hidden",
                DqnConfig {
                    hidden: vec![],
                    ..DqnConfig::default()
                },
            ),
            (
                "hidden",
                DqnConfig {
                    hidden: vec![64, 0],
                    ..DqnConfig::default()
                },
            ),
            (
                "dropout",
                DqnConfig {
                    dropout: 1.0,
                    ..DqnConfig::default()
                },
            ),
            (
                "learning_rate",
                DqnConfig {
                    learning_rate: f64::NAN,
                    ..DqnConfig::default()
                },
            ),
            (
                "gamma",
                DqnConfig {
                    gamma: 1.5,
                    ..DqnConfig::default()
                },
            ),
            (
                "epsilon_start",
                DqnConfig {
                    epsilon_start: -0.1,
                    ..DqnConfig::default()
                },
            ),
            (
                "epsilon_min",
                DqnConfig {
                    epsilon_start: 0.5,
                    epsilon_min: 0.6,
                    ..DqnConfig::default()
                },
            ),
            (
                "epsilon_decay",
                DqnConfig {
                    epsilon_decay: 0.0,
                    ..DqnConfig::default()
                },
            ),
            (
                "memory_size",
                DqnConfig {
                    memory_size: 0,
                    ..DqnConfig::default()
                },
            ),
            (
                "batch_size",
                DqnConfig {
                    batch_size: 4000,
                    ..DqnConfig::default()
                },
            ),
            (
                "target_sync",
                DqnConfig {
                    target_sync: 0,
                    ..DqnConfig::default()
                },
            ),
            (
                "episodes",
                DqnConfig {
                    episodes: 0,
                    ..DqnConfig::default()
                },
            ),
        ];
        for (field, cfg) in cases {
            match cfg.validate() {
                Err(DqnError::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected a config error, got {other:?}"),
            }
            let msg = cfg.validate().unwrap_err().to_string();
            assert!(msg.contains(field), "{msg}");
        }
    }

    #[test]
    fn config_json_defaults_and_unknown_fields() {
        let cfg: DqnConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, DqnConfig::default());
        let cfg: DqnConfig =
            serde_json::from_str(r#"{"episodes": 3, "sell_reward": "negated"}"#).unwrap();
        assert_eq!(cfg.episodes, 3);
        assert_eq!(cfg.sell_reward, SellReward::Negated);
        assert!(serde_json::from_str::<DqnConfig>(r#"{"episode": 3}"#).is_err());
    }
}
