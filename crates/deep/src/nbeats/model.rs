//! The trained network: plain `f32` parameters, a candle-free forward pass, and the model
//! directory (`nbeats.safetensors` + `nbeats.json`) written atomically.

use super::{NbeatsConfig, NbeatsError, TrainReport};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// File name of the weights in a model directory (safetensors, f32). Per block `k` (0 at the
/// input side): `block{k}.fc{i}.weight` `[out, in]` and `.bias` `[out]` for the fully connected
/// layers, `block{k}.theta_b.weight` `[lookback, width]`, `block{k}.theta_f.weight`
/// `[horizon, width]`, `block{k}.backcast.weight` `[lookback, lookback]` and `.bias`,
/// `block{k}.forecast.weight` `[horizon, horizon]` and `.bias` (PyTorch's `nn.Linear` layout).
pub const WEIGHTS_FILE: &str = "nbeats.safetensors";

/// File name of the configuration and training metadata in a model directory (JSON).
pub const MODEL_FILE: &str = "nbeats.json";

/// Version of the `nbeats.json` layout.
const FORMAT: u32 = 1;

/// One training series as recorded in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesMeta {
    /// The series' name (the symbol).
    pub name: String,
    /// Its scale `σ`: the sample standard deviation of its training log returns (the network
    /// reads and forecasts log returns divided by it).
    pub scale: f64,
    /// Its training log returns.
    pub returns: usize,
    /// Its windows Adam trained on.
    pub windows: usize,
    /// Its validation windows (targets in the validation tail; 0 without early stopping).
    #[serde(default)]
    pub validation_windows: usize,
}

/// What a model was trained on and how training went; saved in `nbeats.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NbeatsMeta {
    /// The training series, in the order given to [`super::train`].
    pub series: Vec<SeriesMeta>,
    /// The training report.
    pub report: TrainReport,
    /// The last bar trained on (set by the caller, [`NbeatsModel::set_trained_through`]): the
    /// model is out of sample only after it.
    #[serde(default)]
    pub trained_through: Option<jiff::Timestamp>,
}

/// Every block's contribution to one forward pass, in scaled units ([`NbeatsModel::decompose`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// Each block's backcast (`lookback` values), in block order.
    pub backcasts: Vec<Vec<f32>>,
    /// Each block's forecast (`horizon` values), in block order.
    pub forecasts: Vec<Vec<f32>>,
    /// The input each block read (`x_0` = the input, `x_{l+1} = x_l − backcast_l`), plus the
    /// residual after the last block: `blocks + 1` vectors.
    pub residuals: Vec<Vec<f32>>,
    /// The network's forecast: the sum of the blocks' forecasts.
    pub forecast: Vec<f32>,
}

/// A trained N-BEATS network: its configuration, training metadata and parameters. Forecasts in
/// `f32` on the CPU without candle.
#[derive(Debug, Clone, PartialEq)]
pub struct NbeatsModel {
    config: NbeatsConfig,
    meta: NbeatsMeta,
    /// Every tensor of [`param_shapes`], in that order, row-major.
    params: Vec<Vec<f32>>,
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: u32,
    config: NbeatsConfig,
    meta: NbeatsMeta,
}

fn model_err(path: &Path, reason: impl Into<String>) -> NbeatsError {
    NbeatsError::Model {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn dir_err(e: crate::files::DirError) -> NbeatsError {
    match e {
        crate::files::DirError::Io(path, source) => NbeatsError::Io { path, source },
        crate::files::DirError::Other(path, reason) => NbeatsError::Model { path, reason },
    }
}

impl crate::files::Card for ModelFile {
    const CARD_FILE: &'static str = MODEL_FILE;
    const WEIGHTS_FILE: &'static str = WEIGHTS_FILE;
    const FORMAT: u32 = FORMAT;

    fn format(&self) -> u32 {
        self.format
    }

    /// The configuration, and a positive scale for every series.
    fn check(&self) -> Result<(), String> {
        self.config.validate().map_err(|e| e.to_string())?;
        match self
            .meta
            .series
            .iter()
            .find(|s| !(s.scale.is_finite() && s.scale > 0.0))
        {
            Some(s) => Err(format!(
                "series {}: scale {} is not positive",
                s.name, s.scale
            )),
            None => Ok(()),
        }
    }

    fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        param_shapes(&self.config)
    }
}

/// Tensors per block: weight and bias per fully connected layer, then θ_b, θ_f, the backcast
/// basis (weight, bias) and the forecast basis (weight, bias).
pub(crate) fn per_block(cfg: &NbeatsConfig) -> usize {
    2 * cfg.layers + 6
}

/// Names and shapes of every tensor, block by block (see [`WEIGHTS_FILE`]); the order of
/// [`NbeatsModel::weights_flat`]. The fan-in of a tensor is the last dimension of its weight.
pub(crate) fn param_shapes(cfg: &NbeatsConfig) -> Vec<(String, Vec<usize>)> {
    let (l, h, w) = (cfg.lookback, cfg.horizon, cfg.width);
    let mut out = Vec::with_capacity(cfg.blocks() * per_block(cfg));
    for k in 0..cfg.blocks() {
        let mut inputs = l;
        for i in 0..cfg.layers {
            out.push((format!("block{k}.fc{i}.weight"), vec![w, inputs]));
            out.push((format!("block{k}.fc{i}.bias"), vec![w]));
            inputs = w;
        }
        out.push((format!("block{k}.theta_b.weight"), vec![l, w]));
        out.push((format!("block{k}.theta_f.weight"), vec![h, w]));
        out.push((format!("block{k}.backcast.weight"), vec![l, l]));
        out.push((format!("block{k}.backcast.bias"), vec![l]));
        out.push((format!("block{k}.forecast.weight"), vec![h, h]));
        out.push((format!("block{k}.forecast.bias"), vec![h]));
    }
    out
}

/// `y = W x (+ b)`, then ReLU when `relu`.
fn dense(w: &[f32], b: Option<&[f32]>, x: &[f32], y: &mut [f32], relu: bool) {
    let inputs = x.len();
    for (i, (row, out)) in w.chunks_exact(inputs).zip(y.iter_mut()).enumerate() {
        let start = b.and_then(|b| b.get(i)).copied().unwrap_or(0.0);
        let s = row.iter().zip(x).fold(start, |acc, (&w, &v)| acc + w * v);
        *out = if relu { s.max(0.0) } else { s };
    }
}

impl NbeatsModel {
    pub(crate) fn from_params(
        config: NbeatsConfig,
        meta: NbeatsMeta,
        params: Vec<Vec<f32>>,
    ) -> Self {
        NbeatsModel {
            config,
            meta,
            params,
        }
    }

    /// A model from a configuration and every parameter flattened in the order of
    /// [`NbeatsModel::weights_flat`] (block by block: per fully connected layer its weight
    /// `[out, in]` row-major then its bias; then θ_b `[lookback, width]`, θ_f
    /// `[horizon, width]`, the backcast basis weight `[lookback, lookback]` and bias, the
    /// forecast basis weight `[horizon, horizon]` and bias). Empty metadata. Fails on an invalid
    /// configuration, a wrong count or a non-finite value.
    pub fn from_flat(config: NbeatsConfig, weights: &[f32]) -> Result<Self, NbeatsError> {
        config.validate()?;
        let shapes = param_shapes(&config);
        let total: usize = shapes
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum();
        if weights.len() != total {
            return Err(NbeatsError::Input(format!(
                "{} weights, the configured network has {total}",
                weights.len()
            )));
        }
        if weights.iter().any(|v| !v.is_finite()) {
            return Err(NbeatsError::Input("a weight is not finite".into()));
        }
        let mut params = Vec::with_capacity(shapes.len());
        let mut at = 0;
        for (_, shape) in &shapes {
            let n: usize = shape.iter().product();
            params.push(weights[at..at + n].to_vec());
            at += n;
        }
        Ok(NbeatsModel {
            config,
            meta: NbeatsMeta {
                series: Vec::new(),
                report: TrainReport::default(),
                trained_through: None,
            },
            params,
        })
    }

    /// The configuration it was trained with.
    pub fn config(&self) -> &NbeatsConfig {
        &self.config
    }

    /// What it was trained on and how training went.
    pub fn meta(&self) -> &NbeatsMeta {
        &self.meta
    }

    /// Records the last bar the model was trained on (saved in `nbeats.json`).
    pub fn set_trained_through(&mut self, ts: Option<jiff::Timestamp>) {
        self.meta.trained_through = ts;
    }

    /// The scale of the training series named `name` (see [`SeriesMeta::scale`]).
    pub fn scale_of(&self, name: &str) -> Option<f64> {
        self.meta
            .series
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.scale)
    }

    /// The forward pass on one scaled input of `lookback` values (oldest first), block by block.
    /// Fails when the input has the wrong length.
    pub fn decompose(&self, input: &[f32]) -> Result<Decomposition, NbeatsError> {
        let cfg = &self.config;
        let (l, h, w) = (cfg.lookback, cfg.horizon, cfg.width);
        if input.len() != l {
            return Err(NbeatsError::Input(format!(
                "{} inputs, the network reads {l}",
                input.len()
            )));
        }
        let per = per_block(cfg);
        let mut residual = input.to_vec();
        let mut out = Decomposition {
            backcasts: Vec::with_capacity(cfg.blocks()),
            forecasts: Vec::with_capacity(cfg.blocks()),
            residuals: vec![residual.clone()],
            forecast: vec![0.0; h],
        };
        let (mut a, mut b) = (vec![0.0f32; w], vec![0.0f32; w]);
        let (mut theta_b, mut theta_f) = (vec![0.0f32; l], vec![0.0f32; h]);
        for block in self.params.chunks_exact(per) {
            let p = |i: usize| block.get(i).map(Vec::as_slice).unwrap_or(&[]);
            dense(p(0), Some(p(1)), &residual, &mut a, true);
            for i in 1..cfg.layers {
                dense(p(2 * i), Some(p(2 * i + 1)), &a, &mut b, true);
                std::mem::swap(&mut a, &mut b);
            }
            let base = 2 * cfg.layers;
            dense(p(base), None, &a, &mut theta_b, false);
            dense(p(base + 1), None, &a, &mut theta_f, false);
            let mut backcast = vec![0.0f32; l];
            let mut forecast = vec![0.0f32; h];
            dense(
                p(base + 2),
                Some(p(base + 3)),
                &theta_b,
                &mut backcast,
                false,
            );
            dense(
                p(base + 4),
                Some(p(base + 5)),
                &theta_f,
                &mut forecast,
                false,
            );
            for (r, bc) in residual.iter_mut().zip(&backcast) {
                *r -= bc;
            }
            for (o, f) in out.forecast.iter_mut().zip(&forecast) {
                *o += f;
            }
            out.residuals.push(residual.clone());
            out.backcasts.push(backcast);
            out.forecasts.push(forecast);
        }
        Ok(out)
    }

    /// Forecasts the next `horizon` daily log returns from the last `lookback` of `returns`
    /// (daily log returns, oldest first; earlier ones are ignored), for a series of scale
    /// `scale` (inputs are divided by it, the forecast multiplied back). Fails with fewer than
    /// `lookback` returns, a non-finite return or a scale that is not positive.
    pub fn forecast(&self, returns: &[f64], scale: f64) -> Result<Vec<f64>, NbeatsError> {
        let l = self.config.lookback;
        if returns.len() < l {
            return Err(NbeatsError::Input(format!(
                "{} log returns, the network reads the last {l}",
                returns.len()
            )));
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(NbeatsError::Input(format!("scale {scale} is not positive")));
        }
        let tail = &returns[returns.len() - l..];
        if tail.iter().any(|r| !r.is_finite()) {
            return Err(NbeatsError::Input("a log return is not finite".into()));
        }
        let input: Vec<f32> = tail.iter().map(|r| (r / scale) as f32).collect();
        let d = self.decompose(&input)?;
        Ok(d.forecast.iter().map(|&f| f64::from(f) * scale).collect())
    }

    /// Every parameter, flattened tensor by tensor in the order of the safetensors names (see
    /// [`NbeatsModel::from_flat`]): for comparing two models or checksumming one.
    pub fn weights_flat(&self) -> Vec<f32> {
        self.params.iter().flatten().copied().collect()
    }

    /// Saves the model into the new directory `dir`: the weights in [`WEIGHTS_FILE`] and the
    /// configuration and metadata in [`MODEL_FILE`], written and synced in a fresh sibling
    /// directory which is then renamed to `dir`, so a crash never leaves a half-written model
    /// under `dir`. Fails when `dir` exists (a model is never overwritten).
    pub fn save(&self, dir: &Path) -> Result<(), NbeatsError> {
        let tensors = self.tensors()?;
        let json_path = dir.join(MODEL_FILE);
        let file = ModelFile {
            format: FORMAT,
            config: self.config.clone(),
            meta: self.meta.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| model_err(&json_path, format!("cannot serialize: {e}")))?;
        bytes.push(b'\n');
        crate::files::save_model_dir(
            dir,
            false,
            &crate::files::ModelDir {
                weights: (WEIGHTS_FILE, &tensors),
                card: (MODEL_FILE, &bytes),
            },
        )
        .map_err(dir_err)
    }

    /// The weights as named tensors (the safetensors file's content).
    fn tensors(&self) -> Result<HashMap<String, Tensor>, NbeatsError> {
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        for ((name, shape), values) in param_shapes(&self.config).into_iter().zip(&self.params) {
            let t = Tensor::from_slice(values, shape.as_slice(), &Device::Cpu)?;
            tensors.insert(name, t);
        }
        Ok(tensors)
    }

    /// Loads a model saved by [`NbeatsModel::save`] from the directory `dir`. Errors name the
    /// file at fault: a missing or unreadable file, malformed JSON, an unknown format version, an
    /// invalid configuration, a missing tensor or one of the wrong shape or type or with a
    /// non-finite value.
    pub fn load(dir: &Path) -> Result<NbeatsModel, NbeatsError> {
        let (file, params) = crate::files::read_model_dir::<ModelFile>(dir).map_err(dir_err)?;
        Ok(NbeatsModel {
            config: file.config,
            meta: file.meta,
            params,
        })
    }
}
