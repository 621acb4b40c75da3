//! Training: the environment walk, ε-greedy exploration, the replay memory, minibatch replays on
//! candle (f32, CPU) and the target network.

use super::model::{Dense, DqnMeta, DqnModel, layer_shapes};
use super::{
    DqnConfig, DqnError, epsilon_after, greedy_action, next_position, reward, target_sync_due,
};
use candle_core::{Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use pulse_agents::Action;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Steps between two progress reports within an episode (one more comes at each episode end).
pub const PROGRESS_EVERY_STEPS: usize = 100;

/// Where training is, handed to the progress callback of [`train`] every
/// [`PROGRESS_EVERY_STEPS`] steps and at the end of every episode.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainProgress {
    /// 0-based episode being run.
    pub episode: usize,
    /// Episodes to run in all.
    pub episodes: usize,
    /// Steps done in this episode.
    pub step: usize,
    /// Steps this episode has (closes of its series − lookback − 1).
    pub steps_in_episode: usize,
    /// Steps done since training started.
    pub total_steps: u64,
    /// Replays (minibatch updates) done since training started.
    pub replays: u64,
    /// The current exploration rate ε.
    pub epsilon: f64,
    /// Mean replay loss of this episode so far (`None` before its first replay).
    pub mean_loss: Option<f64>,
    /// Reward summed over this episode so far, in percentage points.
    pub episode_reward: f64,
    /// Whether this report closes the episode.
    pub episode_done: bool,
}

/// How training went; saved in `dqn.json` with the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrainReport {
    /// Episodes started (the last one partly run when `cancelled`).
    pub episodes_run: usize,
    /// Environment steps taken.
    pub steps: u64,
    /// Replays (minibatch Adam updates) done.
    pub replays: u64,
    /// Copies of the online weights into the target network (besides the initial one).
    pub target_syncs: u64,
    /// ε at the end.
    pub final_epsilon: f64,
    /// Mean replay loss (mean squared TD error) per episode run; `None` for an episode without a
    /// replay (the memory still held fewer than `batch_size` transitions).
    pub mean_loss: Vec<Option<f64>>,
    /// Reward summed over each episode run, in percentage points.
    pub total_reward: Vec<f64>,
    /// Whether the progress callback stopped training early.
    pub cancelled: bool,
}

/// Trains a DQN on `series` — daily closes per symbol, oldest first; episode `e` walks series
/// `e mod series.len()` from its first state to its last close — with the configuration `cfg`.
///
/// `on_progress` is called every [`PROGRESS_EVERY_STEPS`] steps and at the end of every episode;
/// returning `false` cancels: training stops at once and the model trained so far is returned with
/// [`TrainReport::cancelled`] set. Deterministic: the same data and configuration (seed included)
/// give bit-identical weights.
///
/// Fails on an invalid configuration (naming the field), on no series, on a series shorter than
/// `lookback + 2` closes or with a close that is not finite and positive (naming the series and
/// close), or when the loss becomes non-finite.
pub fn train(
    series: &[Vec<f64>],
    cfg: &DqnConfig,
    mut on_progress: impl FnMut(&TrainProgress) -> bool,
) -> Result<(DqnModel, TrainReport), DqnError> {
    cfg.validate()?;
    if series.is_empty() {
        return Err(DqnError::Input("no series to train on".into()));
    }
    let mut returns = Vec::with_capacity(series.len());
    for (s, closes) in series.iter().enumerate() {
        returns.push(pct_returns(s, closes, cfg.lookback)?);
    }

    let mut trainer = Trainer::new(cfg)?;
    let width = cfg.state_len();
    let mut state = vec![0.0f32; width];
    let mut next_state = vec![0.0f32; width];
    let mut report = TrainReport {
        final_epsilon: trainer.epsilon,
        ..TrainReport::default()
    };

    'episodes: for episode in 0..cfg.episodes {
        let which = episode % series.len();
        let closes = &series[which];
        let rets = &returns[which];
        let steps_in_episode = closes.len() - 1 - cfg.lookback;
        report.episodes_run += 1;
        let mut long = false;
        let mut loss_sum = 0.0f64;
        let mut loss_n = 0u64;
        let mut episode_reward = 0.0f64;
        for step in 0..steps_in_episode {
            let t = cfg.lookback + step;
            fill(&mut state, &rets[t + 1 - cfg.lookback..=t], long);
            let action = Action::ALL[trainer.act(&state)?];
            let next_ret = 100.0 * (closes[t + 1] / closes[t] - 1.0);
            let r = reward(action, long, next_ret, cfg.sell_reward);
            long = next_position(action, long);
            fill(&mut next_state, &rets[t + 2 - cfg.lookback..=t + 1], long);
            let done = t + 1 == closes.len() - 1;
            trainer.remember(&state, action, r as f32, &next_state, done);
            if trainer.memory.len >= cfg.batch_size {
                let loss = trainer.replay()?;
                if !loss.is_finite() {
                    return Err(DqnError::Diverged {
                        episode,
                        replay: trainer.replays,
                    });
                }
                loss_sum += f64::from(loss);
                loss_n += 1;
            }
            episode_reward += r;
            report.steps += 1;
            let episode_done = step + 1 == steps_in_episode;
            if episode_done || (step + 1) % PROGRESS_EVERY_STEPS == 0 {
                let progress = TrainProgress {
                    episode,
                    episodes: cfg.episodes,
                    step: step + 1,
                    steps_in_episode,
                    total_steps: report.steps,
                    replays: trainer.replays,
                    epsilon: trainer.epsilon,
                    mean_loss: (loss_n > 0).then(|| loss_sum / loss_n as f64),
                    episode_reward,
                    episode_done,
                };
                if !on_progress(&progress) {
                    report.cancelled = true;
                }
            }
            if report.cancelled {
                report
                    .mean_loss
                    .push((loss_n > 0).then(|| loss_sum / loss_n as f64));
                report.total_reward.push(episode_reward);
                break 'episodes;
            }
        }
        report
            .mean_loss
            .push((loss_n > 0).then(|| loss_sum / loss_n as f64));
        report.total_reward.push(episode_reward);
    }

    report.replays = trainer.replays;
    report.target_syncs = trainer.syncs;
    report.final_epsilon = trainer.epsilon;
    let layers = trainer.layers()?;
    let meta = DqnMeta {
        symbols: Vec::new(),
        series_lengths: series.iter().map(Vec::len).collect(),
        seed: cfg.seed,
        report: report.clone(),
        trained_through: None,
    };
    Ok((DqnModel::from_layers(cfg.clone(), meta, layers), report))
}

/// Daily simple returns in percent, `out[k] = 100 · (c[k] / c[k−1] − 1)` (`out[0] = 0`), after
/// checking the series.
fn pct_returns(series: usize, closes: &[f64], lookback: usize) -> Result<Vec<f32>, DqnError> {
    if closes.len() < lookback + 2 {
        return Err(DqnError::Data {
            series,
            index: None,
            reason: format!(
                "{} closes, training needs at least lookback + 2 = {}",
                closes.len(),
                lookback + 2
            ),
        });
    }
    if let Some(i) = closes.iter().position(|c| !(c.is_finite() && *c > 0.0)) {
        return Err(DqnError::Data {
            series,
            index: Some(i),
            reason: format!("close {} is not a finite positive price", closes[i]),
        });
    }
    let mut out = Vec::with_capacity(closes.len());
    out.push(0.0);
    out.extend(
        closes
            .windows(2)
            .map(|w| (100.0 * (w[1] / w[0] - 1.0)) as f32),
    );
    Ok(out)
}

/// The state: `returns` then the position flag.
fn fill(out: &mut [f32], returns: &[f32], long: bool) {
    let n = returns.len();
    out[..n].copy_from_slice(returns);
    out[n] = if long { 1.0 } else { 0.0 };
}

/// The replay memory: a ring buffer of transitions in flat arrays.
pub(crate) struct Memory {
    width: usize,
    cap: usize,
    pub(crate) len: usize,
    head: usize,
    states: Vec<f32>,
    next_states: Vec<f32>,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    dones: Vec<bool>,
}

impl Memory {
    fn new(cap: usize, width: usize) -> Self {
        Memory {
            width,
            cap,
            len: 0,
            head: 0,
            states: vec![0.0; cap * width],
            next_states: vec![0.0; cap * width],
            actions: vec![0; cap],
            rewards: vec![0.0; cap],
            dones: vec![false; cap],
        }
    }

    fn push(&mut self, state: &[f32], action: u32, reward: f32, next: &[f32], done: bool) {
        let i = self.head;
        let w = self.width;
        self.states[i * w..(i + 1) * w].copy_from_slice(state);
        self.next_states[i * w..(i + 1) * w].copy_from_slice(next);
        self.actions[i] = action;
        self.rewards[i] = reward;
        self.dones[i] = done;
        self.head = (self.head + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }
}

/// The online network (trainable), the target network (frozen copies), Adam, the memory, the
/// random streams and reusable minibatch buffers.
pub(crate) struct Trainer {
    cfg: DqnConfig,
    device: Device,
    online: Vec<(Var, Var)>,
    target: Vec<(Tensor, Tensor)>,
    opt: AdamW,
    pub(crate) memory: Memory,
    rng_explore: StdRng,
    rng_replay: StdRng,
    rng_dropout: StdRng,
    /// A permutation of `0..memory.len`, partly shuffled for each minibatch.
    perm: Vec<usize>,
    batch_states: Vec<f32>,
    batch_next: Vec<f32>,
    batch_actions: Vec<u32>,
    batch_rewards: Vec<f32>,
    batch_discount: Vec<f32>,
    masks: Vec<Vec<f32>>,
    pub(crate) replays: u64,
    pub(crate) syncs: u64,
    pub(crate) epsilon: f64,
}

/// Seeds of the independent random streams, derived from the configured seed.
fn stream_seed(seed: u64, stream: u64) -> u64 {
    // SplitMix64 of (seed, stream): well-separated seeds for StdRng::seed_from_u64.
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Trainer {
    pub(crate) fn new(cfg: &DqnConfig) -> Result<Self, DqnError> {
        let device = Device::Cpu;
        let mut rng_init = StdRng::seed_from_u64(stream_seed(cfg.seed, 1));
        let mut online = Vec::new();
        let mut vars = Vec::new();
        for (inputs, outputs) in layer_shapes(cfg) {
            // PyTorch's nn.Linear default: kaiming_uniform(a = √5) for the weight, which is
            // U(±1/√fan_in), and U(±1/√fan_in) for the bias.
            let bound = 1.0 / (inputs as f32).sqrt();
            let w: Vec<f32> = (0..inputs * outputs)
                .map(|_| rng_init.random_range(-bound..bound))
                .collect();
            let b: Vec<f32> = (0..outputs)
                .map(|_| rng_init.random_range(-bound..bound))
                .collect();
            let w = Var::from_tensor(&Tensor::from_vec(w, (outputs, inputs), &device)?)?;
            let b = Var::from_tensor(&Tensor::from_vec(b, outputs, &device)?)?;
            vars.push(w.clone());
            vars.push(b.clone());
            online.push((w, b));
        }
        let opt = AdamW::new(
            vars,
            ParamsAdamW {
                lr: cfg.learning_rate,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
        )?;
        let width = cfg.state_len();
        let b = cfg.batch_size;
        let mut trainer = Trainer {
            cfg: cfg.clone(),
            device,
            online,
            target: Vec::new(),
            opt,
            memory: Memory::new(cfg.memory_size, width),
            rng_explore: StdRng::seed_from_u64(stream_seed(cfg.seed, 2)),
            rng_replay: StdRng::seed_from_u64(stream_seed(cfg.seed, 3)),
            rng_dropout: StdRng::seed_from_u64(stream_seed(cfg.seed, 4)),
            perm: Vec::with_capacity(cfg.memory_size),
            batch_states: vec![0.0; b * width],
            batch_next: vec![0.0; b * width],
            batch_actions: vec![0; b],
            batch_rewards: vec![0.0; b],
            batch_discount: vec![0.0; b],
            masks: cfg.hidden.iter().map(|&h| vec![0.0; b * h]).collect(),
            replays: 0,
            syncs: 0,
            epsilon: cfg.epsilon_start,
        };
        trainer.copy_to_target()?;
        Ok(trainer)
    }

    /// Overwrites the target network with (detached copies of) the online weights.
    fn copy_to_target(&mut self) -> Result<(), DqnError> {
        self.target.clear();
        for (w, b) in &self.online {
            self.target.push((
                w.as_tensor().copy()?.detach(),
                b.as_tensor().copy()?.detach(),
            ));
        }
        Ok(())
    }

    /// ε-greedy action index into [`Action::ALL`] for one state (the online network without
    /// dropout when exploiting). Draws one uniform number per call, plus one when exploring.
    pub(crate) fn act(&mut self, state: &[f32]) -> Result<usize, DqnError> {
        if self.rng_explore.random::<f64>() < self.epsilon {
            return Ok(self.rng_explore.random_range(0..3usize));
        }
        let q = self.q_online(state)?;
        let action = greedy_action(&q).unwrap_or(Action::Hold);
        Ok(Action::ALL.iter().position(|&a| a == action).unwrap_or(2))
    }

    /// Q-values of one state by the online network in candle, without dropout.
    pub(crate) fn q_online(&self, state: &[f32]) -> Result<[f32; 3], DqnError> {
        let x = Tensor::from_slice(state, (1, state.len()), &self.device)?;
        let q = mlp(
            &x,
            self.online
                .iter()
                .map(|(w, b)| (w.as_tensor(), b.as_tensor())),
            self.online.len(),
            None,
        )?;
        let v = q.flatten_all()?.to_vec1::<f32>()?;
        match v.as_slice() {
            [a, b, c] => Ok([*a, *b, *c]),
            _ => Err(DqnError::Input(format!("{} Q-values, expected 3", v.len()))),
        }
    }

    /// Q-values of one state by the target network, without dropout.
    #[cfg(test)]
    pub(crate) fn q_target(&self, state: &[f32]) -> Result<[f32; 3], DqnError> {
        let x = Tensor::from_slice(state, (1, state.len()), &self.device)?;
        let q = mlp(
            &x,
            self.target.iter().map(|(w, b)| (w, b)),
            self.target.len(),
            None,
        )?;
        let v = q.flatten_all()?.to_vec1::<f32>()?;
        Ok([v[0], v[1], v[2]])
    }

    pub(crate) fn remember(
        &mut self,
        state: &[f32],
        action: Action,
        reward: f32,
        next: &[f32],
        done: bool,
    ) {
        let a = Action::ALL.iter().position(|&x| x == action).unwrap_or(2) as u32;
        if self.memory.len < self.memory.cap {
            self.perm.push(self.memory.len);
        }
        self.memory.push(state, a, reward, next, done);
    }

    /// One replay: a minibatch of distinct transitions, one Adam step on the mean squared TD
    /// error of the actions taken, then the ε decay and, when due, the target sync. Returns the
    /// minibatch loss.
    pub(crate) fn replay(&mut self) -> Result<f32, DqnError> {
        let n = self.memory.len;
        let b = self.cfg.batch_size;
        let w = self.memory.width;
        if n < b {
            return Err(DqnError::Input(format!(
                "replay with {n} transitions, the batch needs {b}"
            )));
        }
        // Partial Fisher–Yates: the first b entries of perm become a uniform sample without
        // replacement of 0..n.
        for i in 0..b {
            let j = self.rng_replay.random_range(i..n);
            self.perm.swap(i, j);
        }
        let gamma = self.cfg.gamma as f32;
        for (slot, &m) in self.perm[..b].iter().enumerate() {
            self.batch_states[slot * w..(slot + 1) * w]
                .copy_from_slice(&self.memory.states[m * w..(m + 1) * w]);
            self.batch_next[slot * w..(slot + 1) * w]
                .copy_from_slice(&self.memory.next_states[m * w..(m + 1) * w]);
            self.batch_actions[slot] = self.memory.actions[m];
            self.batch_rewards[slot] = self.memory.rewards[m];
            self.batch_discount[slot] = if self.memory.dones[m] { 0.0 } else { gamma };
        }
        let dev = &self.device;
        let states = Tensor::from_slice(&self.batch_states, (b, w), dev)?;
        let next = Tensor::from_slice(&self.batch_next, (b, w), dev)?;
        let actions = Tensor::from_slice(&self.batch_actions, (b, 1), dev)?;
        let rewards = Tensor::from_slice(&self.batch_rewards, b, dev)?;
        let discount = Tensor::from_slice(&self.batch_discount, b, dev)?;

        // Targets r + γ·max Q_target(s') (γ·… dropped at the end of an episode), no gradient.
        let q_next = mlp(
            &next,
            self.target.iter().map(|(w, b)| (w, b)),
            self.target.len(),
            None,
        )?
        .max(1)?;
        let targets = ((q_next * discount)? + rewards)?.detach();

        // Dropout masks (inverted dropout: kept units scaled by 1/(1−p)).
        let p = self.cfg.dropout;
        let mut masks = Vec::with_capacity(self.masks.len());
        if p > 0.0 {
            let keep = (1.0 / (1.0 - p)) as f32;
            for (buf, &h) in self.masks.iter_mut().zip(&self.cfg.hidden) {
                for v in buf.iter_mut() {
                    *v = if self.rng_dropout.random::<f64>() < p {
                        0.0
                    } else {
                        keep
                    };
                }
                masks.push(Tensor::from_slice(buf, (b, h), dev)?);
            }
        }
        let q = mlp(
            &states,
            self.online
                .iter()
                .map(|(w, b)| (w.as_tensor(), b.as_tensor())),
            self.online.len(),
            (p > 0.0).then_some(masks.as_slice()),
        )?
        .gather(&actions, 1)?
        .squeeze(1)?;
        let loss = (q - targets)?.sqr()?.mean_all()?;
        self.opt.backward_step(&loss)?;
        let loss = loss.to_scalar::<f32>()?;

        self.replays += 1;
        self.epsilon = epsilon_after(&self.cfg, self.replays);
        if target_sync_due(self.replays, self.cfg.target_sync) {
            self.copy_to_target()?;
            self.syncs += 1;
        }
        Ok(loss)
    }

    /// The online weights as plain layers.
    pub(crate) fn layers(&self) -> Result<Vec<Dense>, DqnError> {
        let mut layers = Vec::with_capacity(self.online.len());
        for (w, b) in &self.online {
            let (outputs, inputs) = w.as_tensor().dims2()?;
            layers.push(Dense {
                inputs,
                outputs,
                weight: w.as_tensor().flatten_all()?.to_vec1::<f32>()?,
                bias: b.as_tensor().to_vec1::<f32>()?,
            });
        }
        Ok(layers)
    }
}

/// The MLP: `x · Wᵀ + b` per layer, ReLU (then the dropout mask, when given) after every layer
/// but the last.
fn mlp<'a>(
    x: &Tensor,
    layers: impl Iterator<Item = (&'a Tensor, &'a Tensor)>,
    n_layers: usize,
    masks: Option<&[Tensor]>,
) -> Result<Tensor, DqnError> {
    let mut h = x.clone();
    for (i, (w, b)) in layers.enumerate() {
        h = h.matmul(&w.t()?)?.broadcast_add(b)?;
        if i + 1 < n_layers {
            h = h.relu()?;
            if let Some(mask) = masks.and_then(|m| m.get(i)) {
                h = (h * mask)?;
            }
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn small_cfg() -> DqnConfig {
        DqnConfig {
            lookback: 5,
            hidden: vec![16, 8],
            batch_size: 4,
            memory_size: 50,
            target_sync: 3,
            episodes: 1,
            ..DqnConfig::default()
        }
    }

    fn fill_memory(t: &mut Trainer, n: usize) {
        let w = t.cfg.state_len();
        for i in 0..n {
            let s: Vec<f32> = (0..w).map(|k| ((i * 7 + k) % 5) as f32 - 2.0).collect();
            let ns: Vec<f32> = s.iter().map(|v| v * 0.5).collect();
            t.remember(
                &s,
                Action::ALL[i % 3],
                (i % 4) as f32 - 1.0,
                &ns,
                i % 9 == 0,
            );
        }
    }

    #[test]
    fn target_network_syncs_every_target_sync_replays() {
        let cfg = small_cfg();
        let mut t = Trainer::new(&cfg).unwrap();
        fill_memory(&mut t, 20);
        let probe = vec![0.5f32; cfg.state_len()];
        assert_eq!(t.q_online(&probe).unwrap(), t.q_target(&probe).unwrap());
        for replay in 1..=10u64 {
            t.replay().unwrap();
            let same = t.q_online(&probe).unwrap() == t.q_target(&probe).unwrap();
            // Right after a sync the target equals the online net; between syncs the online net
            // has moved on.
            assert_eq!(same, replay % 3 == 0, "replay {replay}");
            assert_eq!(t.syncs, replay / 3);
            assert_eq!(t.epsilon, 0.995f64.powi(replay as i32));
        }
    }

    #[test]
    fn minibatches_are_distinct_transitions() {
        let cfg = DqnConfig {
            batch_size: 10,
            ..small_cfg()
        };
        let mut t = Trainer::new(&cfg).unwrap();
        fill_memory(&mut t, 10);
        t.replay().unwrap();
        let mut seen: Vec<usize> = t.perm[..10].to_vec();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn memory_is_a_ring_buffer() {
        let mut m = Memory::new(3, 2);
        for i in 0..5 {
            let s = [i as f32, 0.0];
            m.push(&s, 0, i as f32, &s, false);
        }
        assert_eq!(m.len, 3);
        // Slots hold transitions 3, 4, 2 (the oldest two overwritten).
        assert_eq!(m.rewards, vec![3.0, 4.0, 2.0]);
    }

    #[test]
    fn plain_forward_matches_candle() {
        let cfg = DqnConfig::default();
        let t = Trainer::new(&cfg).unwrap();
        let model = DqnModel::from_layers(
            cfg.clone(),
            DqnMeta {
                symbols: vec![],
                series_lengths: vec![],
                seed: cfg.seed,
                report: TrainReport::default(),
                trained_through: None,
            },
            t.layers().unwrap(),
        );
        for k in 0..5 {
            let s: Vec<f32> = (0..cfg.state_len())
                .map(|i| ((i * 13 + k * 7) % 11) as f32 - 5.0)
                .collect();
            let a = t.q_online(&s).unwrap();
            let b = model.q_values(&s).unwrap();
            for i in 0..3 {
                assert!((a[i] - b[i]).abs() < 1e-4, "{a:?} vs {b:?}");
            }
        }
    }
}
