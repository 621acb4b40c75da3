//! The Transformer encoder: input projection (7 → `d_model`), fixed sinusoidal positions, `layers`
//! pre-norm encoder layers (multi-head self-attention and a ReLU feed-forward network, each with
//! layer norm and a residual connection), a final layer norm, mean pooling over the months and a
//! linear head to the four regimes. No dropout (it would need candle's unseeded random numbers):
//! regularisation is weight decay and early stopping. Weights are initialised from a seeded
//! [`StdRng`] (uniform `±1/√fan_in`, biases 0, layer norms 1 and 0), so the same seed gives the
//! same weights on every machine.

use std::collections::BTreeMap;

use candle_core::{D, DType, Device, Tensor, Var};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{CycleError, FEATURE_COUNT, REGIME_COUNT};

/// The network's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Months of input (sequence length).
    pub lookback: usize,
    /// Width of the encoder.
    pub d_model: usize,
    /// Attention heads (`d_model` must be a multiple).
    pub heads: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Hidden width of the feed-forward network.
    pub ff: usize,
}

impl Default for ModelConfig {
    fn default() -> ModelConfig {
        ModelConfig {
            lookback: 60,
            d_model: 32,
            heads: 4,
            layers: 2,
            ff: 64,
        }
    }
}

impl ModelConfig {
    /// Checks the shape.
    pub fn validate(&self) -> Result<(), CycleError> {
        let bad = |setting, reason: &str| {
            Err(CycleError::Config {
                setting,
                reason: reason.into(),
            })
        };
        if !(2..=600).contains(&self.lookback) {
            return bad("lookback", "must be 2..=600 months");
        }
        if !(1..=1024).contains(&self.d_model) {
            return bad("d_model", "must be 1..=1024");
        }
        if self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return bad("heads", "must be ≥ 1 and divide d_model");
        }
        if !(1..=16).contains(&self.layers) {
            return bad("layers", "must be 1..=16");
        }
        if !(1..=4096).contains(&self.ff) {
            return bad("ff", "must be 1..=4096");
        }
        Ok(())
    }

    /// Every parameter's name and shape, in initialisation order.
    fn params(&self) -> Vec<(String, Vec<usize>, Init)> {
        let d = self.d_model;
        let mut p = vec![
            (
                "input.weight".into(),
                vec![d, FEATURE_COUNT],
                Init::Uniform(FEATURE_COUNT),
            ),
            ("input.bias".into(), vec![d], Init::Zeros),
        ];
        for l in 0..self.layers {
            let n = |s: &str| format!("layers.{l}.{s}");
            p.push((n("ln1.weight"), vec![d], Init::Ones));
            p.push((n("ln1.bias"), vec![d], Init::Zeros));
            for w in ["q", "k", "v", "o"] {
                p.push((n(&format!("attn.{w}.weight")), vec![d, d], Init::Uniform(d)));
                p.push((n(&format!("attn.{w}.bias")), vec![d], Init::Zeros));
            }
            p.push((n("ln2.weight"), vec![d], Init::Ones));
            p.push((n("ln2.bias"), vec![d], Init::Zeros));
            p.push((n("ff1.weight"), vec![self.ff, d], Init::Uniform(d)));
            p.push((n("ff1.bias"), vec![self.ff], Init::Zeros));
            p.push((n("ff2.weight"), vec![d, self.ff], Init::Uniform(self.ff)));
            p.push((n("ff2.bias"), vec![d], Init::Zeros));
        }
        p.push(("final_ln.weight".into(), vec![d], Init::Ones));
        p.push(("final_ln.bias".into(), vec![d], Init::Zeros));
        p.push((
            "head.weight".into(),
            vec![REGIME_COUNT, d],
            Init::Uniform(d),
        ));
        p.push(("head.bias".into(), vec![REGIME_COUNT], Init::Zeros));
        p
    }
}

#[derive(Debug, Clone, Copy)]
enum Init {
    Uniform(usize),
    Zeros,
    Ones,
}

/// The Transformer's weights (trainable [`Var`]s by name) and its fixed positional encoding.
#[derive(Debug, Clone)]
pub struct Transformer {
    /// The shape.
    pub config: ModelConfig,
    vars: BTreeMap<String, Var>,
    positions: Tensor,
}

fn sinusoidal(lookback: usize, d: usize) -> Result<Tensor, CycleError> {
    let mut pe = vec![0f32; lookback * d];
    for pos in 0..lookback {
        for i in 0..d {
            let pair = (i / 2) as f64;
            let angle = pos as f64 / 10_000f64.powf(2.0 * pair / d as f64);
            pe[pos * d + i] = if i % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
        }
    }
    Ok(Tensor::from_vec(pe, (lookback, d), &Device::Cpu)?)
}

impl Transformer {
    /// New weights drawn from `StdRng::seed_from_u64(seed)`.
    pub fn init(config: ModelConfig, seed: u64) -> Result<Transformer, CycleError> {
        config.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut vars = BTreeMap::new();
        for (name, shape, init) in config.params() {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = match init {
                Init::Zeros => vec![0.0; n],
                Init::Ones => vec![1.0; n],
                Init::Uniform(fan_in) => {
                    let a = 1.0 / (fan_in as f64).sqrt();
                    (0..n)
                        .map(|_| (rng.random::<f64>() * 2.0 - 1.0) * a)
                        .map(|v| v as f32)
                        .collect()
                }
            };
            let t = Tensor::from_vec(values, shape, &Device::Cpu)?;
            vars.insert(name, Var::from_tensor(&t)?);
        }
        Ok(Transformer {
            positions: sinusoidal(config.lookback, config.d_model)?,
            config,
            vars,
        })
    }

    /// Weights from named tensors (a loaded safetensors file); every parameter must be there
    /// with its shape, and nothing else.
    pub fn from_tensors(
        config: ModelConfig,
        mut tensors: std::collections::HashMap<String, Tensor>,
    ) -> Result<Transformer, CycleError> {
        config.validate()?;
        let mut vars = BTreeMap::new();
        for (name, shape, _) in config.params() {
            let t = tensors
                .remove(&name)
                .ok_or_else(|| CycleError::Model(format!("no tensor {name}")))?;
            if t.dims() != shape.as_slice() || t.dtype() != DType::F32 {
                return Err(CycleError::Model(format!(
                    "tensor {name} is {:?} {:?}, expected f32 {shape:?}",
                    t.dtype(),
                    t.dims()
                )));
            }
            vars.insert(name, Var::from_tensor(&t)?);
        }
        if let Some(extra) = tensors.keys().next() {
            return Err(CycleError::Model(format!("unexpected tensor {extra}")));
        }
        Ok(Transformer {
            positions: sinusoidal(config.lookback, config.d_model)?,
            config,
            vars,
        })
    }

    /// The trainable variables (name order).
    pub fn vars(&self) -> Vec<Var> {
        self.vars.values().cloned().collect()
    }

    /// Copies of the current weights (name order), to restore later with [`Self::restore`].
    pub fn snapshot(&self) -> Result<Vec<Tensor>, CycleError> {
        Ok(self
            .vars
            .values()
            .map(|v| v.as_tensor().copy())
            .collect::<candle_core::Result<_>>()?)
    }

    /// Sets the weights to a [`Self::snapshot`].
    pub fn restore(&self, snapshot: &[Tensor]) -> Result<(), CycleError> {
        if snapshot.len() != self.vars.len() {
            return Err(CycleError::Model("snapshot of another model".into()));
        }
        for (v, t) in self.vars.values().zip(snapshot) {
            v.set(t)?;
        }
        Ok(())
    }

    fn w(&self, name: &str) -> Result<&Tensor, CycleError> {
        self.vars
            .get(name)
            .map(Var::as_tensor)
            .ok_or_else(|| CycleError::Model(format!("no tensor {name}")))
    }

    fn linear(&self, x: &Tensor, name: &str) -> Result<Tensor, CycleError> {
        let w = self.w(&format!("{name}.weight"))?;
        let b = self.w(&format!("{name}.bias"))?;
        Ok(x.broadcast_matmul(&w.t()?)?.broadcast_add(b)?)
    }

    fn layer_norm(&self, x: &Tensor, name: &str) -> Result<Tensor, CycleError> {
        let w = self.w(&format!("{name}.weight"))?;
        let b = self.w(&format!("{name}.bias"))?;
        let mean = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        let xn = xc.broadcast_div(&(var + 1e-5)?.sqrt()?)?;
        Ok(xn.broadcast_mul(w)?.broadcast_add(b)?)
    }

    fn attention(&self, x: &Tensor, l: usize) -> Result<Tensor, CycleError> {
        let (b, t, d) = x.dims3()?;
        let h = self.config.heads;
        let dh = d / h;
        let split = |name: &str| -> Result<Tensor, CycleError> {
            Ok(self
                .linear(x, &format!("layers.{l}.attn.{name}"))?
                .reshape((b, t, h, dh))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split("q")?;
        let k = split("k")?;
        let v = split("v")?;
        let scores = (q.matmul(&k.t()?.contiguous()?)? / (dh as f64).sqrt())?;
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let ctx = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, d))?;
        self.linear(&ctx, &format!("layers.{l}.attn.o"))
    }

    /// Class logits `[batch, 4]` of standardized inputs `[batch, lookback, 7]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, CycleError> {
        let mut h = self.linear(x, "input")?.broadcast_add(&self.positions)?;
        for l in 0..self.config.layers {
            let a = self.attention(&self.layer_norm(&h, &format!("layers.{l}.ln1"))?, l)?;
            h = (h + a)?;
            let n = self.layer_norm(&h, &format!("layers.{l}.ln2"))?;
            let f = self.linear(
                &self.linear(&n, &format!("layers.{l}.ff1"))?.relu()?,
                &format!("layers.{l}.ff2"),
            )?;
            h = (h + f)?;
        }
        let pooled = self.layer_norm(&h, "final_ln")?.mean(1)?;
        self.linear(&pooled, "head")
    }

    /// The weights as a safetensors file (tensors in name order, f32 little-endian; the same
    /// weights always give the same bytes).
    pub fn to_safetensors(&self) -> Result<Vec<u8>, CycleError> {
        let mut header = serde_json::Map::new();
        let mut data: Vec<u8> = Vec::new();
        for (name, var) in &self.vars {
            let t = var.as_tensor();
            let values = t.flatten_all()?.to_vec1::<f32>()?;
            let start = data.len();
            for v in values {
                data.extend_from_slice(&v.to_le_bytes());
            }
            header.insert(
                name.clone(),
                serde_json::json!({
                    "dtype": "F32",
                    "shape": t.dims(),
                    "data_offsets": [start, data.len()],
                }),
            );
        }
        let mut head = serde_json::to_vec(&serde_json::Value::Object(header))
            .map_err(|e| CycleError::Model(e.to_string()))?;
        while head.len() % 8 != 0 {
            head.push(b' ');
        }
        let mut out = Vec::with_capacity(8 + head.len() + data.len());
        out.extend_from_slice(&(head.len() as u64).to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Weights from safetensors bytes written by [`Self::to_safetensors`].
    pub fn from_safetensors(config: ModelConfig, bytes: &[u8]) -> Result<Transformer, CycleError> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| CycleError::Model(format!("safetensors: {e}")))?;
        Transformer::from_tensors(config, tensors)
    }
}
