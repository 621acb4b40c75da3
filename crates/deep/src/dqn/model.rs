//! The trained network: plain `f32` weights, a candle-free forward pass, and the model directory
//! (`dqn.safetensors` + `dqn.json`) written atomically.

use super::{DqnConfig, DqnError, TrainReport};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// File name of the weights in a model directory (safetensors, f32; tensors `fc{i}.weight`
/// `[out, in]` and `fc{i}.bias` `[out]`, `i` from 0 at the input side, as PyTorch's `nn.Linear`).
pub const WEIGHTS_FILE: &str = "dqn.safetensors";

/// File name of the configuration and training metadata in a model directory (JSON).
pub const MODEL_FILE: &str = "dqn.json";

/// Version of the `dqn.json` layout.
const FORMAT: u32 = 1;

/// What a model was trained on and how training went; saved in `dqn.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DqnMeta {
    /// Names of the training series, in the order given to [`super::train`] (empty until
    /// [`DqnModel::set_symbols`] names them).
    pub symbols: Vec<String>,
    /// Closes per training series, in bars.
    pub series_lengths: Vec<usize>,
    /// The seed the model was trained with (same as the config's).
    pub seed: u64,
    /// The training report.
    pub report: TrainReport,
    /// The last bar trained on (set by the caller, [`DqnModel::set_trained_through`]): the model
    /// is out of sample only after it. `None` in files written before it was recorded.
    #[serde(default)]
    pub trained_through: Option<jiff::Timestamp>,
}

/// One fully connected layer: `y = W x + b`, `W` row-major `[outputs][inputs]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dense {
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    pub(crate) weight: Vec<f32>,
    pub(crate) bias: Vec<f32>,
}

/// Reusable buffers for [`DqnModel::forward_into`].
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
}

/// A trained DQN: its configuration, training metadata and weights. Evaluates the Q-values of a
/// state without dropout, in `f32`, on the CPU without candle.
#[derive(Debug, Clone, PartialEq)]
pub struct DqnModel {
    config: DqnConfig,
    meta: DqnMeta,
    layers: Vec<Dense>,
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: u32,
    config: DqnConfig,
    meta: DqnMeta,
}

fn model_err(path: &Path, reason: impl Into<String>) -> DqnError {
    DqnError::Model {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn dir_err(e: crate::files::DirError) -> DqnError {
    match e {
        crate::files::DirError::Io(path, source) => DqnError::Io { path, source },
        crate::files::DirError::Other(path, reason) => DqnError::Model { path, reason },
    }
}

impl crate::files::Card for ModelFile {
    const CARD_FILE: &'static str = MODEL_FILE;
    const WEIGHTS_FILE: &'static str = WEIGHTS_FILE;
    const FORMAT: u32 = FORMAT;

    fn format(&self) -> u32 {
        self.format
    }

    fn check(&self) -> Result<(), String> {
        self.config.validate().map_err(|e| e.to_string())
    }

    /// `fc{i}.weight` `[out, in]` then `fc{i}.bias` `[out]`, layer by layer from the input side.
    fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        layer_shapes(&self.config)
            .into_iter()
            .enumerate()
            .flat_map(|(i, (inputs, outputs))| {
                [
                    (format!("fc{i}.weight"), vec![outputs, inputs]),
                    (format!("fc{i}.bias"), vec![outputs]),
                ]
            })
            .collect()
    }
}

/// Layer shapes `(inputs, outputs)` of the network a configuration describes.
pub(crate) fn layer_shapes(cfg: &DqnConfig) -> Vec<(usize, usize)> {
    let mut shapes = Vec::with_capacity(cfg.hidden.len() + 1);
    let mut inputs = cfg.state_len();
    for &h in &cfg.hidden {
        shapes.push((inputs, h));
        inputs = h;
    }
    shapes.push((inputs, 3));
    shapes
}

impl DqnModel {
    pub(crate) fn from_layers(config: DqnConfig, meta: DqnMeta, layers: Vec<Dense>) -> Self {
        DqnModel {
            config,
            meta,
            layers,
        }
    }

    /// The configuration it was trained with.
    pub fn config(&self) -> &DqnConfig {
        &self.config
    }

    /// What it was trained on and how training went.
    pub fn meta(&self) -> &DqnMeta {
        &self.meta
    }

    /// Names the training series (one name per series given to [`super::train`], same order);
    /// saved in `dqn.json`.
    pub fn set_symbols(&mut self, symbols: Vec<String>) -> Result<(), DqnError> {
        if symbols.len() != self.meta.series_lengths.len() {
            return Err(DqnError::Input(format!(
                "{} symbol names for {} training series",
                symbols.len(),
                self.meta.series_lengths.len()
            )));
        }
        self.meta.symbols = symbols;
        Ok(())
    }

    /// Records the last bar the model was trained on (saved in `dqn.json`).
    pub fn set_trained_through(&mut self, ts: Option<jiff::Timestamp>) {
        self.meta.trained_through = ts;
    }

    pub(crate) fn scratch(&self) -> Scratch {
        let width = self
            .layers
            .iter()
            .map(|l| l.outputs.max(l.inputs))
            .max()
            .unwrap_or(3);
        Scratch {
            a: vec![0.0; width],
            b: vec![0.0; width],
        }
    }

    /// The Q-values of buy, sell, hold (the order of [`pulse_agents::Action::ALL`]) for one state
    /// of `lookback + 1` inputs (see [`super::fill_state`]), in percentage points of discounted
    /// reward. No dropout. Fails when the state has the wrong length.
    pub fn q_values(&self, state: &[f32]) -> Result<[f32; 3], DqnError> {
        if state.len() != self.config.state_len() {
            return Err(DqnError::Input(format!(
                "state has {} values, the network takes {}",
                state.len(),
                self.config.state_len()
            )));
        }
        let mut scratch = self.scratch();
        self.forward_into(state, &mut scratch)
            .ok_or_else(|| DqnError::Input("the network's layers do not chain".into()))
    }

    /// The forward pass into reusable buffers; `None` when the state's length is wrong.
    pub(crate) fn forward_into(&self, state: &[f32], scratch: &mut Scratch) -> Option<[f32; 3]> {
        let first = self.layers.first()?;
        if state.len() != first.inputs {
            return None;
        }
        let last = self.layers.len() - 1;
        let (mut cur, mut next) = (&mut scratch.a, &mut scratch.b);
        for (i, layer) in self.layers.iter().enumerate() {
            let input: &[f32] = if i == 0 {
                state
            } else {
                cur.get(..layer.inputs)?
            };
            let output = next.get_mut(..layer.outputs)?;
            dense(layer, input, output, i != last);
            std::mem::swap(&mut cur, &mut next);
        }
        let out = cur.get(..3)?;
        Some([out[0], out[1], out[2]])
    }

    /// Saves the model into the directory `dir` (created, or replaced as a whole): the weights in
    /// [`WEIGHTS_FILE`] and the configuration and metadata in [`MODEL_FILE`]. Both files are
    /// written and synced in a fresh sibling directory which is then renamed to `dir`, so a crash
    /// never leaves a half-written model under `dir` (at worst the previous model under a
    /// `.<name>.old-*` sibling, or a `.<name>.tmp-*` sibling to delete).
    pub fn save(&self, dir: &Path) -> Result<(), DqnError> {
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
            true,
            &crate::files::ModelDir {
                weights: (WEIGHTS_FILE, &tensors),
                card: (MODEL_FILE, &bytes),
            },
        )
        .map_err(dir_err)
    }

    /// The weights as named tensors (the safetensors file's content).
    fn tensors(&self) -> Result<HashMap<String, Tensor>, DqnError> {
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let w = Tensor::from_slice(&layer.weight, (layer.outputs, layer.inputs), &Device::Cpu)?;
            let b = Tensor::from_slice(&layer.bias, layer.outputs, &Device::Cpu)?;
            tensors.insert(format!("fc{i}.weight"), w);
            tensors.insert(format!("fc{i}.bias"), b);
        }
        Ok(tensors)
    }

    /// Loads a model saved by [`DqnModel::save`] from the directory `dir`. Errors name the file at
    /// fault: a missing or unreadable file, malformed JSON, an unknown format version, an invalid
    /// configuration, a missing tensor or one of the wrong shape or type.
    pub fn load(dir: &Path) -> Result<DqnModel, DqnError> {
        let (file, params) = crate::files::read_model_dir::<ModelFile>(dir).map_err(dir_err)?;
        let mut params = params.into_iter();
        let mut layers = Vec::new();
        for (inputs, outputs) in layer_shapes(&file.config) {
            // `read_model_dir` returned one weight and one bias per layer, in this order.
            let (Some(weight), Some(bias)) = (params.next(), params.next()) else {
                return Err(model_err(
                    &dir.join(WEIGHTS_FILE),
                    "fewer tensors than layers",
                ));
            };
            layers.push(Dense {
                inputs,
                outputs,
                weight,
                bias,
            });
        }
        Ok(DqnModel {
            config: file.config,
            meta: file.meta,
            layers,
        })
    }

    /// Every parameter, flattened layer by layer (the weight matrix row-major, then the bias):
    /// for comparing two models or checksumming one.
    pub fn weights_flat(&self) -> Vec<f32> {
        let mut out = Vec::new();
        for l in &self.layers {
            out.extend_from_slice(&l.weight);
            out.extend_from_slice(&l.bias);
        }
        out
    }
}

/// `y = W x + b`, then ReLU when `relu`.
fn dense(layer: &Dense, x: &[f32], y: &mut [f32], relu: bool) {
    for ((row, &b), out) in layer
        .weight
        .chunks_exact(layer.inputs)
        .zip(&layer.bias)
        .zip(y.iter_mut())
    {
        let s = row.iter().zip(x).fold(b, |acc, (&w, &v)| acc + w * v);
        *out = if relu { s.max(0.0) } else { s };
    }
}
