//! N-BEATS return forecasts (issue 17 item 5; Oreshkin et al. 2019, *N-BEATS: Neural basis
//! expansion analysis for interpretable time series forecasting*), generic architecture, on the
//! CPU with candle.
//!
//! # Network
//!
//! [`NbeatsConfig::stacks`] × [`NbeatsConfig::blocks_per_stack`] blocks, run in order. Each block
//! is [`NbeatsConfig::layers`] fully connected ReLU layers of [`NbeatsConfig::width`] units, then
//! two linear projections without bias, `θ_b = W_b h` (size `lookback`) and `θ_f = W_f h` (size
//! `horizon`), and the generic (linear, learned) basis: `backcast = V_b θ_b + v_b`,
//! `forecast = V_f θ_f + v_f`. Doubly residual stacking: block `l + 1` reads
//! `x_{l+1} = x_l − backcast_l`, and the network's forecast is the sum of every block's
//! forecast (the stacks only group blocks: in the generic architecture a stack's forecast is the
//! sum of its blocks'). [`NbeatsModel::decompose`] returns every block's backcast and forecast.
//!
//! # Inputs, targets, scaling
//!
//! A series is a symbol's daily closes `c[0..n]`; its daily **log returns** are
//! `r[i] = ln(c[i+1] / c[i])` (`r[i]` is the return into bar `i + 1`). The network reads the last
//! [`NbeatsConfig::lookback`] log returns `r[t−L..t]` (oldest first) and forecasts the next
//! [`NbeatsConfig::horizon`] ones `r[t..t+H]`. Every value is divided by the series' **scale**
//! `σ`: the sample standard deviation of its log returns over the training period (saved per
//! symbol in the model's metadata, [`SeriesMeta::scale`]); forecasts are multiplied back by `σ`,
//! so [`NbeatsModel::forecast`] is in log returns.
//!
//! # Training
//!
//! One model for all the training series (a *global* model, as N-BEATS on M4): the windows of
//! every series are pooled. A window at origin `t` needs `t ≥ L` and `t + H ≤` the number of
//! training returns, so its input and target lie inside the training period. Each epoch visits
//! every window once in a seeded random order, in minibatches of [`NbeatsConfig::batch_size`];
//! the loss is the **mean squared error** over the horizon in scaled units (MSE, not MAE: the
//! forecast should be a conditional mean, which is what an expected return is); Adam
//! (β₁ 0.9, β₂ 0.999, ε 1e-8, no weight decay) at [`NbeatsConfig::learning_rate`].
//!
//! **Early stopping** (unless [`NbeatsConfig::validation`] is 0): the last `validation` fraction
//! of each series' training returns is a validation tail. Adam sees only the windows whose
//! targets end before the tail; the windows whose targets lie wholly in the tail (inputs may
//! reach back) are scored after every epoch (MSE, scaled units), training stops after
//! [`NbeatsConfig::patience`] epochs without a lower validation loss, and the model keeps the
//! weights of the epoch with the lowest one ([`TrainReport::best_epoch`]). Everything stays inside
//! the training period. With `validation = 0` every window trains and all epochs run.
//!
//! # Determinism
//!
//! The weights are initialised as PyTorch's `nn.Linear` (uniform in `±1/√fan_in`, biases too)
//! from `rand`'s `StdRng` seeded from [`NbeatsConfig::seed`], and the epoch orders come from a
//! second seeded stream, never candle's global RNG: the same data and configuration give
//! bit-identical weights.
//!
//! # Expected returns and accuracy
//!
//! [`annualised`]: the annual expected return of a forecast of `H` daily log returns `f`, with
//! `P` = [`NbeatsConfig::periods_per_year`] (252 trading days) is `exp(P/H · Σ f) − 1` (the mean
//! forecast daily log return compounded over a year), a fraction.
//!
//! [`evaluate`] measures accuracy out of sample: every origin `t` whose `H` target returns all
//! lie after the training end (inputs may reach back into the training period) and up to the
//! test end, forecasting with
//! - N-BEATS,
//! - **naive**: zero log return (a random walk on the price, the close stays where it is),
//! - **last**: the last observed log return repeated (Hyndman's naive on the return series),
//! - **EWMA**: the exponentially weighted mean of every log return up to the origin (pandas
//!   `ewm(span).mean()` with `adjust = True`, α = 2/(span + 1)) repeated over the horizon,
//!
//! each scored by **MASE** (Hyndman & Koehler 2006): the mean absolute error over every origin
//! and horizon step divided by the in-sample mean absolute error of the one-step naive forecast
//! of the return series over the training period, `1/(n−1) Σ_{i=1}^{n−1} |r[i] − r[i−1]|`
//! ([`naive_mae`]). A MASE below another's is a better forecast; below 1 beats the in-sample
//! one-step naive.

mod model;
mod train;

pub use model::{Decomposition, MODEL_FILE, NbeatsMeta, NbeatsModel, SeriesMeta, WEIGHTS_FILE};
pub use train::{TrainProgress, TrainReport, TrainSeries, train};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Why training, saving, loading, forecasting or evaluating N-BEATS failed.
#[derive(Debug, thiserror::Error)]
pub enum NbeatsError {
    /// A configuration field is out of range (the field's name and why).
    #[error("invalid N-BEATS config field {field}: {reason}")]
    Config {
        /// Field name, e.g. `horizon`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A series is unusable (which series, which close, why).
    #[error("N-BEATS data: series {series}{}: {reason}", .index.map(|i| format!(", close {i}")).unwrap_or_default())]
    Data {
        /// The series' name.
        series: String,
        /// 0-based index of the offending close, when one close is at fault.
        index: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// An input to a model has the wrong shape or value.
    #[error("N-BEATS input: {0}")]
    Input(String),
    /// Training diverged (a non-finite loss).
    #[error("N-BEATS training diverged: non-finite loss in epoch {epoch}")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
    },
    /// A tensor operation failed in candle.
    #[error("N-BEATS tensor operation: {0}")]
    Tensor(#[from] candle_core::Error),
    /// Reading or writing a model file or directory failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model file is malformed (missing tensor, wrong shape, bad JSON, …) or the directory
    /// cannot be used.
    #[error("{}: {reason}", .path.display())]
    Model {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The hyper-parameters of N-BEATS and of its evaluation. Serialized into `nbeats.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NbeatsConfig {
    /// Daily log returns the network reads, in bars (60).
    pub lookback: usize,
    /// Daily log returns it forecasts, in bars (20).
    pub horizon: usize,
    /// Stacks (2).
    pub stacks: usize,
    /// Blocks per stack (3).
    pub blocks_per_stack: usize,
    /// Fully connected ReLU layers per block (4, as the paper).
    pub layers: usize,
    /// Units per fully connected layer (128).
    pub width: usize,
    /// Passes over all the training windows (20).
    pub epochs: usize,
    /// Windows per Adam step (256).
    pub batch_size: usize,
    /// Adam learning rate (0.001).
    pub learning_rate: f64,
    /// Fraction of each series' training returns held out at its end for early stopping, in
    /// [0, 0.9] (0.2); 0 trains on every window for all the epochs.
    pub validation: f64,
    /// Epochs without a lower validation loss before training stops (3).
    pub patience: usize,
    /// Seed of the weight initialisation and of the epoch orders (42).
    pub seed: u64,
    /// Trading days per year for [`annualised`] (252).
    pub periods_per_year: f64,
    /// Span of the EWMA baseline of [`evaluate`], in daily returns (180, the span of the
    /// optimizer's EWMA stand-in).
    pub ewma_span: f64,
}

impl Default for NbeatsConfig {
    fn default() -> Self {
        NbeatsConfig {
            lookback: 60,
            horizon: 20,
            stacks: 2,
            blocks_per_stack: 3,
            layers: 4,
            width: 128,
            epochs: 20,
            batch_size: 256,
            learning_rate: 0.001,
            validation: 0.2,
            patience: 3,
            seed: 42,
            periods_per_year: 252.0,
            ewma_span: 180.0,
        }
    }
}

fn bad(field: &'static str, reason: impl Into<String>) -> NbeatsError {
    NbeatsError::Config {
        field,
        reason: reason.into(),
    }
}

/// Largest accepted lookback or horizon, in bars.
const MAX_WINDOW: usize = 2000;
/// Largest accepted layer width.
const MAX_WIDTH: usize = 4096;
/// Largest accepted block count and layers per block.
const MAX_BLOCKS: usize = 64;
const MAX_LAYERS: usize = 16;

impl NbeatsConfig {
    /// Checks every field; the error names the first field out of range.
    pub fn validate(&self) -> Result<(), NbeatsError> {
        let in_range = |field, v: usize, max: usize| {
            if v == 0 || v > max {
                Err(bad(field, format!("{v} is not in 1..={max}")))
            } else {
                Ok(())
            }
        };
        in_range("lookback", self.lookback, MAX_WINDOW)?;
        in_range("horizon", self.horizon, MAX_WINDOW)?;
        in_range("stacks", self.stacks, MAX_BLOCKS)?;
        in_range("blocks_per_stack", self.blocks_per_stack, MAX_BLOCKS)?;
        if self.stacks * self.blocks_per_stack > MAX_BLOCKS {
            return Err(bad(
                "blocks_per_stack",
                format!(
                    "{} stacks × {} blocks exceed {MAX_BLOCKS} blocks",
                    self.stacks, self.blocks_per_stack
                ),
            ));
        }
        in_range("layers", self.layers, MAX_LAYERS)?;
        in_range("width", self.width, MAX_WIDTH)?;
        in_range("epochs", self.epochs, 100_000)?;
        in_range("batch_size", self.batch_size, 1_000_000)?;
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate < 1.0)
        {
            return Err(bad(
                "learning_rate",
                format!("{} is not in (0, 1)", self.learning_rate),
            ));
        }
        if !(self.validation.is_finite() && (0.0..=0.9).contains(&self.validation)) {
            return Err(bad(
                "validation",
                format!("{} is not a fraction in [0, 0.9]", self.validation),
            ));
        }
        in_range("patience", self.patience, 100_000)?;
        if !(self.periods_per_year.is_finite() && self.periods_per_year > 0.0) {
            return Err(bad(
                "periods_per_year",
                format!("{} is not positive", self.periods_per_year),
            ));
        }
        if !(self.ewma_span.is_finite() && self.ewma_span >= 1.0) {
            return Err(bad("ewma_span", format!("{} is not ≥ 1", self.ewma_span)));
        }
        Ok(())
    }

    /// Blocks in the network (`stacks × blocks_per_stack`).
    pub fn blocks(&self) -> usize {
        self.stacks * self.blocks_per_stack
    }
}

/// Daily log returns `ln(c[i+1] / c[i])` of `closes` (one fewer than closes). Fails, naming the
/// series `name` and the close, on a close that is not finite and positive.
pub fn log_returns(name: &str, closes: &[f64]) -> Result<Vec<f64>, NbeatsError> {
    if let Some(i) = closes.iter().position(|c| !(c.is_finite() && *c > 0.0)) {
        return Err(NbeatsError::Data {
            series: name.to_string(),
            index: Some(i),
            reason: format!("close {} is not finite and positive", closes[i]),
        });
    }
    Ok(closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect())
}

/// Sample standard deviation (n − 1) of `values`; `None` with fewer than two values.
pub fn sample_std(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let ss = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
    Some((ss / (n - 1.0)).sqrt())
}

/// The annual expected return (a fraction, 0.08 = 8 %/yr) of a forecast of daily log returns:
/// `exp(periods_per_year / H · Σ forecast) − 1` with `H = forecast.len()`; `None` for an empty
/// forecast.
pub fn annualised(forecast: &[f64], periods_per_year: f64) -> Option<f64> {
    if forecast.is_empty() {
        return None;
    }
    let mean = forecast.iter().sum::<f64>() / forecast.len() as f64;
    Some((periods_per_year * mean).exp() - 1.0)
}

/// The in-sample mean absolute error of the one-step naive forecast of a series,
/// `1/(n−1) Σ_{i=1}^{n−1} |y[i] − y[i−1]|`: the MASE denominator. `None` with fewer than two
/// values.
pub fn naive_mae(series: &[f64]) -> Option<f64> {
    if series.len() < 2 {
        return None;
    }
    let sum: f64 = series.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
    Some(sum / (series.len() - 1) as f64)
}

/// Mean absolute scaled error: `mean |actual − forecast| / scale`; `None` when the lengths
/// differ, nothing is given or the scale is not positive.
pub fn mase(actual: &[f64], forecast: &[f64], scale: f64) -> Option<f64> {
    if actual.is_empty() || actual.len() != forecast.len() || scale.is_nan() || scale <= 0.0 {
        return None;
    }
    let mae = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| (a - f).abs())
        .sum::<f64>()
        / actual.len() as f64;
    Some(mae / scale)
}

/// The exponentially weighted mean of `values` at the last one (pandas `ewm(span).mean()`,
/// `adjust = True`: weight `(1 − α)^k` for the value `k` steps back, α = 2/(span + 1)); `None`
/// when empty.
pub fn ewma_mean(values: &[f64], span: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let decay = 1.0 - 2.0 / (span + 1.0);
    let (mut num, mut den) = (0.0, 0.0);
    for v in values {
        num = v + decay * num;
        den = 1.0 + decay * den;
    }
    Some(num / den)
}

/// Out-of-sample accuracy of N-BEATS and the baselines on one series (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Forecast origins evaluated (each scores `horizon` returns).
    pub origins: usize,
    /// The MASE denominator: in-sample one-step naive MAE of the training log returns.
    pub scale: f64,
    /// MASE of N-BEATS.
    pub nbeats: f64,
    /// MASE of the naive forecast (zero log return: random walk on the price).
    pub naive: f64,
    /// MASE of the last log return repeated.
    pub last: f64,
    /// MASE of the EWMA mean log return.
    pub ewma: f64,
}

/// Scores N-BEATS and the baselines on `closes` (one series, oldest first): the training period
/// is `closes[..train_len]`, the test period the closes after it up to `closes[..test_end]`.
/// Every origin `t` (an index into the log returns) with `t ≥ lookback`, `t ≥ train_len − 1`
/// (the first target is the return into the first test bar) and `t + horizon ≤ test_end − 1` is
/// scored. `scale` is the series' network scale ([`SeriesMeta::scale`]). `None` when no origin
/// fits or the training period has fewer than three closes.
pub fn evaluate(
    model: &NbeatsModel,
    name: &str,
    closes: &[f64],
    train_len: usize,
    test_end: usize,
    scale: f64,
) -> Result<Option<Accuracy>, NbeatsError> {
    let cfg = model.config();
    let test_end = test_end.min(closes.len());
    if train_len < 3 || train_len > test_end {
        return Ok(None);
    }
    let r = log_returns(name, &closes[..test_end])?;
    let Some(denominator) = naive_mae(&r[..train_len - 1]) else {
        return Ok(None);
    };
    let (l, h) = (cfg.lookback, cfg.horizon);
    let first = l.max(train_len - 1);
    let mut actual = Vec::new();
    let (mut nb, mut naive, mut last, mut ewma) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let decay = 1.0 - 2.0 / (cfg.ewma_span + 1.0);
    let (mut num, mut den) = (0.0, 0.0);
    let mut seen = 0;
    let mut origins = 0;
    let mut t = first;
    while t + h <= r.len() {
        // EWMA over r[..t].
        while seen < t {
            num = r[seen] + decay * num;
            den = 1.0 + decay * den;
            seen += 1;
        }
        let f = model.forecast(&r[t - l..t], scale)?;
        let target = &r[t..t + h];
        actual.extend_from_slice(target);
        nb.extend_from_slice(&f);
        naive.extend(std::iter::repeat_n(0.0, h));
        last.extend(std::iter::repeat_n(r[t - 1], h));
        ewma.extend(std::iter::repeat_n(num / den, h));
        origins += 1;
        t += 1;
    }
    if origins == 0 {
        return Ok(None);
    }
    let score = |f: &[f64]| mase(&actual, f, denominator).unwrap_or(f64::NAN);
    Ok(Some(Accuracy {
        origins,
        scale: denominator,
        nbeats: score(&nb),
        naive: score(&naive),
        last: score(&last),
        ewma: score(&ewma),
    }))
}
