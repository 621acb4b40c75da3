//! Training on pooled windows of every series' training period with Adam on candle (f32, CPU).

use super::model::{NbeatsMeta, NbeatsModel, SeriesMeta, param_shapes, per_block};
use super::{NbeatsConfig, NbeatsError, log_returns, sample_std};
use candle_core::{Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// One training series: a name and its daily closes, oldest first; only the first `train_len`
/// closes are the training period (closes after them are never read by [`train`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSeries<'a> {
    /// The series' name (the symbol), recorded in the model with its scale.
    pub name: &'a str,
    /// Daily closes, oldest first (price units; only ratios matter).
    pub closes: &'a [f64],
    /// Closes in the training period (a prefix of `closes`).
    pub train_len: usize,
}

/// Where training is, handed to the progress callback of [`train`] after every Adam step.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Epochs configured.
    pub epochs: usize,
    /// Minibatches done in this epoch.
    pub batch: usize,
    /// Minibatches per epoch.
    pub batches: usize,
    /// Mean squared error (scaled units) of the epoch so far, per window.
    pub loss: f64,
}

impl TrainProgress {
    /// Whether this report closes its epoch.
    pub fn epoch_done(&self) -> bool {
        self.batch == self.batches
    }
}

/// How training went; saved in `nbeats.json` with the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrainReport {
    /// Epochs started (the last one partly run when `cancelled`).
    pub epochs_run: usize,
    /// Windows Adam trained on (input and target before the validation tail) over all series.
    pub windows: usize,
    /// Validation windows (targets in the validation tail) over all series.
    #[serde(default)]
    pub validation_windows: usize,
    /// Adam steps taken.
    pub steps: u64,
    /// Mean squared error per window (scaled units, averaged over the horizon) of each epoch
    /// run, measured on the minibatches while training.
    pub loss: Vec<f64>,
    /// Mean squared error per validation window (scaled units) after each epoch run (empty
    /// without early stopping).
    #[serde(default)]
    pub val_loss: Vec<f64>,
    /// The 1-based epoch whose weights the model keeps: the lowest validation loss (the last
    /// epoch run without early stopping).
    #[serde(default)]
    pub best_epoch: usize,
    /// Whether training stopped before the configured epochs because the validation loss had
    /// not improved for `patience` epochs.
    #[serde(default)]
    pub stopped_early: bool,
    /// Whether the progress callback stopped training early.
    pub cancelled: bool,
}

/// Seeds of the independent random streams, derived from the configured seed.
fn stream_seed(seed: u64, stream: u64) -> u64 {
    // SplitMix64 of (seed, stream): well-separated seeds for StdRng::seed_from_u64.
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The initial parameters (PyTorch's `nn.Linear` default: weights and biases uniform in
/// `±1/√fan_in`), drawn tensor by tensor in the order of the safetensors names.
pub(crate) fn init_params(cfg: &NbeatsConfig) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(stream_seed(cfg.seed, 1));
    let shapes = param_shapes(cfg);
    let mut fan_in = 1;
    shapes
        .iter()
        .map(|(_, shape)| {
            if let [_, inputs] = shape.as_slice() {
                fan_in = *inputs;
            }
            let bound = 1.0 / (fan_in as f32).sqrt();
            let n: usize = shape.iter().product();
            (0..n).map(|_| rng.random_range(-bound..bound)).collect()
        })
        .collect()
}

/// The network on candle for a batch `x` `[B, lookback]`: the sum of the blocks' forecasts
/// `[B, horizon]`.
pub(crate) fn forward(
    x: &Tensor,
    params: &[Tensor],
    cfg: &NbeatsConfig,
) -> Result<Tensor, NbeatsError> {
    let per = per_block(cfg);
    let mut residual = x.clone();
    let mut out: Option<Tensor> = None;
    for block in params.chunks_exact(per) {
        let mut h = residual.clone();
        for i in 0..cfg.layers {
            h = h
                .matmul(&block[2 * i].t()?)?
                .broadcast_add(&block[2 * i + 1])?
                .relu()?;
        }
        let base = 2 * cfg.layers;
        let theta_b = h.matmul(&block[base].t()?)?;
        let theta_f = h.matmul(&block[base + 1].t()?)?;
        let backcast = theta_b
            .matmul(&block[base + 2].t()?)?
            .broadcast_add(&block[base + 3])?;
        let forecast = theta_f
            .matmul(&block[base + 4].t()?)?
            .broadcast_add(&block[base + 5])?;
        residual = (residual - backcast)?;
        out = Some(match out {
            None => forecast,
            Some(o) => (o + forecast)?,
        });
    }
    out.ok_or_else(|| NbeatsError::Input("the network has no block".into()))
}

/// Trains one N-BEATS network on the pooled training windows of every series (see the module
/// docs) with the configuration `cfg`.
///
/// `on_progress` is called after every Adam step; returning `false` cancels: training stops at
/// once and the model trained so far is returned with [`TrainReport::cancelled`] set.
/// Deterministic: the same data and configuration (seed included) give bit-identical weights.
///
/// Fails on an invalid configuration (naming the field), on no series, on a close in a training
/// period that is not finite and positive, on a series whose training period is too short for one
/// window (`lookback + horizon + 1` closes) or whose training returns are all equal (naming the
/// series), or when the loss becomes non-finite.
pub fn train(
    series: &[TrainSeries<'_>],
    cfg: &NbeatsConfig,
    mut on_progress: impl FnMut(&TrainProgress) -> bool,
) -> Result<(NbeatsModel, TrainReport), NbeatsError> {
    cfg.validate()?;
    if series.is_empty() {
        return Err(NbeatsError::Input("no series to train on".into()));
    }
    let (l, h) = (cfg.lookback, cfg.horizon);
    let mut scaled: Vec<Vec<f32>> = Vec::with_capacity(series.len());
    let mut metas = Vec::with_capacity(series.len());
    let mut windows: Vec<(u32, u32)> = Vec::new();
    let mut val_windows: Vec<(u32, u32)> = Vec::new();
    for (s, ser) in series.iter().enumerate() {
        let train_len = ser.train_len.min(ser.closes.len());
        let r = log_returns(ser.name, &ser.closes[..train_len])?;
        if r.len() < l + h {
            return Err(NbeatsError::Data {
                series: ser.name.to_string(),
                index: None,
                reason: format!(
                    "{train_len} closes in the training period, one window needs {}",
                    l + h + 1
                ),
            });
        }
        let scale = sample_std(&r).unwrap_or(0.0);
        if !(scale.is_finite() && scale > 0.0) {
            return Err(NbeatsError::Data {
                series: ser.name.to_string(),
                index: None,
                reason: "the training log returns do not vary (zero standard deviation)".into(),
            });
        }
        // The validation tail starts at return `split`.
        let n = r.len();
        let split = if cfg.validation > 0.0 {
            n - ((n as f64 * cfg.validation).ceil() as usize).min(n)
        } else {
            n
        };
        if split < l + h || (split < n && n - split < h) {
            return Err(NbeatsError::Data {
                series: ser.name.to_string(),
                index: None,
                reason: format!(
                    "{train_len} closes in the training period are too few for one training and one validation window (validation {})",
                    cfg.validation
                ),
            });
        }
        let before = windows.len();
        for t in l..=split - h {
            windows.push((s as u32, t as u32));
        }
        let n_windows = windows.len() - before;
        let before = val_windows.len();
        if split < n {
            for t in split.max(l)..=n - h {
                val_windows.push((s as u32, t as u32));
            }
        }
        metas.push(SeriesMeta {
            name: ser.name.to_string(),
            scale,
            returns: n,
            windows: n_windows,
            validation_windows: val_windows.len() - before,
        });
        scaled.push(r.iter().map(|v| (v / scale) as f32).collect());
    }

    let device = Device::Cpu;
    let shapes = param_shapes(cfg);
    let mut vars = Vec::with_capacity(shapes.len());
    for ((_, shape), values) in shapes.iter().zip(init_params(cfg)) {
        vars.push(Var::from_tensor(&Tensor::from_vec(
            values,
            shape.as_slice(),
            &device,
        )?)?);
    }
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: cfg.learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )?;
    let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let mut rng = StdRng::seed_from_u64(stream_seed(cfg.seed, 2));
    let bs = cfg.batch_size.min(windows.len());
    let batches = windows.len().div_ceil(bs);
    let mut report = TrainReport {
        windows: windows.len(),
        validation_windows: val_windows.len(),
        ..TrainReport::default()
    };
    let mut best: Option<(f64, Vec<Vec<f32>>)> = None;
    let mut since_best = 0usize;
    let mut xs = vec![0.0f32; bs * l];
    let mut ys = vec![0.0f32; bs * h];
    'epochs: for epoch in 1..=cfg.epochs {
        report.epochs_run = epoch;
        // Fisher–Yates shuffle of the window order.
        for i in (1..windows.len()).rev() {
            let j = rng.random_range(0..=i);
            windows.swap(i, j);
        }
        let (mut sum, mut count) = (0.0f64, 0usize);
        for (batch, chunk) in windows.chunks(bs).enumerate() {
            let b = chunk.len();
            for (k, &(s, t)) in chunk.iter().enumerate() {
                let z = &scaled[s as usize];
                let t = t as usize;
                xs[k * l..(k + 1) * l].copy_from_slice(&z[t - l..t]);
                ys[k * h..(k + 1) * h].copy_from_slice(&z[t..t + h]);
            }
            let x = Tensor::from_slice(&xs[..b * l], (b, l), &device)?;
            let y = Tensor::from_slice(&ys[..b * h], (b, h), &device)?;
            let pred = forward(&x, &tensors, cfg)?;
            let loss = (pred - y)?.sqr()?.mean_all()?;
            opt.backward_step(&loss)?;
            let loss = f64::from(loss.to_scalar::<f32>()?);
            if !loss.is_finite() {
                return Err(NbeatsError::Diverged { epoch });
            }
            report.steps += 1;
            sum += loss * b as f64;
            count += b;
            let progress = TrainProgress {
                epoch,
                epochs: cfg.epochs,
                batch: batch + 1,
                batches,
                loss: sum / count as f64,
            };
            if batch + 1 == batches {
                report.loss.push(sum / count as f64);
            }
            if !on_progress(&progress) {
                report.cancelled = true;
                break 'epochs;
            }
        }
        if val_windows.is_empty() {
            report.best_epoch = epoch;
            continue;
        }
        let val = validation_loss(&val_windows, &scaled, &tensors, cfg, &mut xs, &mut ys)?;
        if !val.is_finite() {
            return Err(NbeatsError::Diverged { epoch });
        }
        report.val_loss.push(val);
        if best.as_ref().is_none_or(|(b, _)| val < *b) {
            best = Some((val, snapshot(&vars)?));
            report.best_epoch = epoch;
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= cfg.patience {
                report.stopped_early = epoch < cfg.epochs;
                break;
            }
        }
    }
    let params = match best {
        Some((_, params)) => params,
        None => snapshot(&vars)?,
    };
    let meta = NbeatsMeta {
        series: metas,
        report: report.clone(),
        trained_through: None,
    };
    Ok((NbeatsModel::from_params(cfg.clone(), meta, params), report))
}

/// The current weights, tensor by tensor.
fn snapshot(vars: &[Var]) -> Result<Vec<Vec<f32>>, NbeatsError> {
    let mut params = Vec::with_capacity(vars.len());
    for v in vars {
        params.push(v.as_tensor().flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(params)
}

/// Mean squared error per window (scaled units, averaged over the horizon) of the network on the
/// validation windows, in minibatches of the training batch size.
fn validation_loss(
    windows: &[(u32, u32)],
    scaled: &[Vec<f32>],
    params: &[Tensor],
    cfg: &NbeatsConfig,
    xs: &mut [f32],
    ys: &mut [f32],
) -> Result<f64, NbeatsError> {
    let (l, h) = (cfg.lookback, cfg.horizon);
    let bs = xs.len() / l;
    let (mut sum, mut count) = (0.0f64, 0usize);
    for chunk in windows.chunks(bs.max(1)) {
        let b = chunk.len();
        for (k, &(s, t)) in chunk.iter().enumerate() {
            let z = &scaled[s as usize];
            let t = t as usize;
            xs[k * l..(k + 1) * l].copy_from_slice(&z[t - l..t]);
            ys[k * h..(k + 1) * h].copy_from_slice(&z[t..t + h]);
        }
        let x = Tensor::from_slice(&xs[..b * l], (b, l), &Device::Cpu)?;
        let y = Tensor::from_slice(&ys[..b * h], (b, h), &Device::Cpu)?;
        let loss = (forward(&x, params, cfg)? - y)?.sqr()?.mean_all()?;
        sum += f64::from(loss.to_scalar::<f32>()?) * b as f64;
        count += b;
    }
    Ok(sum / count.max(1) as f64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The candle forward pass used in training and the plain f32 one used for inference agree.
    #[test]
    fn plain_forward_matches_candle() {
        let cfg = NbeatsConfig {
            lookback: 7,
            horizon: 3,
            stacks: 2,
            blocks_per_stack: 2,
            layers: 3,
            width: 5,
            ..NbeatsConfig::default()
        };
        let params = init_params(&cfg);
        let shapes = param_shapes(&cfg);
        let tensors: Vec<Tensor> = shapes
            .iter()
            .zip(&params)
            .map(|((_, s), v)| Tensor::from_slice(v, s.as_slice(), &Device::Cpu).unwrap())
            .collect();
        let flat: Vec<f32> = params.iter().flatten().copied().collect();
        let model = NbeatsModel::from_flat(cfg.clone(), &flat).unwrap();
        let input: Vec<f32> = (0..7).map(|i| (i as f32 * 0.7).sin()).collect();
        let x = Tensor::from_slice(&input, (1, 7), &Device::Cpu).unwrap();
        let candle = forward(&x, &tensors, &cfg)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let plain = model.decompose(&input).unwrap().forecast;
        for (a, b) in candle.iter().zip(&plain) {
            assert!((a - b).abs() < 1e-5, "{candle:?} vs {plain:?}");
        }
    }
}
