//! Samples, the time split, standardization, training with early stopping, the out-of-sample
//! evaluation against naive baselines, the saved model (`cycle.safetensors` + `cycle.json`) and
//! prediction.

use std::collections::BTreeMap;

use candle_core::{D, Device, Tensor};
use candle_nn::Optimizer;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::data::Month;
use super::features::{FEATURES, FilledCell, LabelRule, MacroPanel, NberCheck};
use super::model::{ModelConfig, Transformer};
use super::{Allocation, CycleError, FEATURE_COUNT, REGIME_COUNT, Regime};

/// Version of the `cycle.json` layout.
pub const CARD_FORMAT: u32 = 1;

/// Fewest training samples accepted.
pub const MIN_TRAIN_SAMPLES: usize = 24;

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleConfig {
    /// Months of input per sample (60).
    pub lookback: usize,
    /// Months ahead of the last input month whose regime is predicted (≥ 1; 3).
    pub horizon: usize,
    /// Encoder width (32).
    pub d_model: usize,
    /// Attention heads (4).
    pub heads: usize,
    /// Encoder layers (2).
    pub layers: usize,
    /// Feed-forward hidden width (64).
    pub ff: usize,
    /// Most training epochs (200).
    pub epochs: usize,
    /// Mini-batch size (32).
    pub batch_size: usize,
    /// AdamW learning rate (0.001).
    pub learning_rate: f64,
    /// AdamW decoupled weight decay (0.01).
    pub weight_decay: f64,
    /// Epochs without a lower validation loss before stopping (30).
    pub patience: usize,
    /// Seed of the weight initialisation and the batch order.
    pub seed: u64,
    /// Validation samples (months) before the test set (60).
    pub validation_months: usize,
    /// Test samples (months), the last ones (144: twelve years).
    pub test_months: usize,
}

impl Default for CycleConfig {
    fn default() -> CycleConfig {
        let m = ModelConfig::default();
        CycleConfig {
            lookback: m.lookback,
            horizon: 3,
            d_model: m.d_model,
            heads: m.heads,
            layers: m.layers,
            ff: m.ff,
            epochs: 200,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-2,
            patience: 30,
            seed: 42,
            validation_months: 60,
            test_months: 144,
        }
    }
}

impl CycleConfig {
    /// The network shape of these settings.
    pub fn model(&self) -> ModelConfig {
        ModelConfig {
            lookback: self.lookback,
            d_model: self.d_model,
            heads: self.heads,
            layers: self.layers,
            ff: self.ff,
        }
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<(), CycleError> {
        self.model().validate()?;
        let bad = |setting, reason: &str| {
            Err(CycleError::Config {
                setting,
                reason: reason.into(),
            })
        };
        if !(1..=24).contains(&self.horizon) {
            return bad("horizon", "must be 1..=24 months");
        }
        if !(1..=100_000).contains(&self.epochs) {
            return bad("epochs", "must be 1..=100000");
        }
        if !(1..=4096).contains(&self.batch_size) {
            return bad("batch_size", "must be 1..=4096");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            return bad("learning_rate", "must be in (0, 1)");
        }
        if !(0.0..1.0).contains(&self.weight_decay) {
            return bad("weight_decay", "must be in [0, 1)");
        }
        if self.patience == 0 {
            return bad("patience", "must be ≥ 1");
        }
        if self.validation_months == 0 || self.test_months == 0 {
            return bad(
                "validation_months",
                "validation and test need ≥ 1 month each",
            );
        }
        Ok(())
    }
}

/// First and last input month of a set, and its number of samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SetRange {
    /// First sample's last input month.
    pub first: Month,
    /// Last sample's last input month.
    pub last: Month,
    /// First target month (`first + horizon`).
    pub first_target: Month,
    /// Last target month.
    pub last_target: Month,
    /// Samples.
    pub samples: usize,
}

/// The time split (months are the samples' last input months).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Training set.
    pub train: SetRange,
    /// Validation set (early stopping only).
    pub validation: SetRange,
    /// Test set (out of sample; reported, never used to choose anything).
    pub test: SetRange,
    /// Months left out before each later set (the horizon).
    pub gap_months: usize,
}

/// Per-feature mean and standard deviation of the training months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// First month the statistics read.
    pub first: Month,
    /// Last month the statistics read (the last training sample's last input month).
    pub last: Month,
    /// Mean by feature (feature units).
    pub mean: Vec<f64>,
    /// Population standard deviation by feature (1 where it is 0).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Statistics of the panel's features over months `first..=last` (all must have features).
    pub fn fit(panel: &MacroPanel, first: Month, last: Month) -> Result<Standardizer, CycleError> {
        let mut rows = Vec::new();
        let mut m = first;
        while m <= last {
            rows.push(panel.features_at(m).ok_or_else(|| {
                CycleError::Data(format!("no features for {m} (standardization)"))
            })?);
            m = m.offset(1);
        }
        if rows.is_empty() {
            return Err(CycleError::Data("no month to standardize on".into()));
        }
        let n = rows.len() as f64;
        let mut mean = vec![0.0; FEATURE_COUNT];
        let mut std = vec![0.0; FEATURE_COUNT];
        for (j, (mu, sd)) in mean.iter_mut().zip(std.iter_mut()).enumerate() {
            *mu = rows.iter().map(|r| r[j]).sum::<f64>() / n;
            let var = rows.iter().map(|r| (r[j] - *mu).powi(2)).sum::<f64>() / n;
            *sd = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
        }
        Ok(Standardizer {
            first,
            last,
            mean,
            std,
        })
    }

    fn apply(&self, row: &[f64; FEATURE_COUNT]) -> [f32; FEATURE_COUNT] {
        let mut out = [0f32; FEATURE_COUNT];
        for (j, o) in out.iter_mut().enumerate() {
            let mu = self.mean.get(j).copied().unwrap_or(0.0);
            let sd = self.std.get(j).copied().unwrap_or(1.0);
            *o = ((row[j] - mu) / sd) as f32;
        }
        out
    }

    /// The standardized window of `lookback` months ending at `end` (`[lookback · 7]`, month
    /// by month), `None` when a month lacks features.
    pub fn window(&self, panel: &MacroPanel, end: Month, lookback: usize) -> Option<Vec<f32>> {
        let mut out = Vec::with_capacity(lookback * FEATURE_COUNT);
        for k in (0..lookback).rev() {
            out.extend_from_slice(&self.apply(&panel.features_at(end.offset(-(k as i64)))?));
        }
        Some(out)
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EpochReport {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Most epochs.
    pub epochs: usize,
    /// Mean training cross-entropy of the epoch (nats).
    pub train_loss: f64,
    /// Validation cross-entropy after the epoch (nats).
    pub validation_loss: f64,
    /// Validation accuracy after the epoch (fraction).
    pub validation_accuracy: f64,
    /// Epoch with the lowest validation loss so far.
    pub best_epoch: usize,
}

/// Precision and recall of one class.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Of the months predicted as the class, the share that were (`None` when never predicted).
    pub precision: Option<f64>,
    /// Of the months of the class, the share predicted as it (`None` when absent).
    pub recall: Option<f64>,
    /// Months of the class.
    pub support: usize,
    /// Months predicted as the class.
    pub predicted: usize,
}

/// Classification figures of one predictor on one set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metrics {
    /// Samples.
    pub samples: usize,
    /// Share predicted right (fraction).
    pub accuracy: f64,
    /// Mean recall over the classes present (fraction).
    pub balanced_accuracy: f64,
    /// Per class, by regime name.
    pub per_class: BTreeMap<String, ClassMetrics>,
    /// Counts: row = true regime, column = predicted (expansion, overheat, recession,
    /// recovery); a prediction that could not be made is in no column.
    pub confusion: Vec<Vec<usize>>,
}

impl Metrics {
    /// Figures of (true, predicted) pairs; a `None` prediction counts as wrong.
    pub fn of(pairs: &[(Regime, Option<Regime>)]) -> Metrics {
        let mut confusion = vec![vec![0usize; REGIME_COUNT]; REGIME_COUNT];
        let mut right = 0;
        for (truth, pred) in pairs {
            if let Some(p) = pred {
                confusion[truth.index()][p.index()] += 1;
                if p == truth {
                    right += 1;
                }
            }
        }
        let mut per_class = BTreeMap::new();
        let mut recalls = Vec::new();
        for r in Regime::ALL {
            let i = r.index();
            let support = pairs.iter().filter(|(t, _)| *t == r).count();
            let predicted: usize = confusion.iter().map(|row| row[i]).sum();
            let hit = confusion[i][i];
            let recall = (support > 0).then(|| hit as f64 / support as f64);
            if let Some(x) = recall {
                recalls.push(x);
            }
            per_class.insert(
                r.name().to_string(),
                ClassMetrics {
                    precision: (predicted > 0).then(|| hit as f64 / predicted as f64),
                    recall,
                    support,
                    predicted,
                },
            );
        }
        let n = pairs.len();
        Metrics {
            samples: n,
            accuracy: if n > 0 { right as f64 / n as f64 } else { 0.0 },
            balanced_accuracy: if recalls.is_empty() {
                0.0
            } else {
                recalls.iter().sum::<f64>() / recalls.len() as f64
            },
            per_class,
            confusion,
        }
    }
}

/// The model and the naive baselines on one set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// The Transformer.
    pub model: Metrics,
    /// Persistence: the label of month `t` predicts month `t + horizon`.
    pub persistence: Metrics,
    /// Always the most frequent target regime of the training set.
    pub majority: Metrics,
    /// That regime.
    pub majority_regime: Regime,
}

/// A feature's documentation as stored in `cycle.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDoc {
    /// Name.
    pub name: String,
    /// Source series.
    pub series: String,
    /// Formula for month `t`.
    pub formula: String,
    /// Unit.
    pub unit: String,
}

/// What the model was trained on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataSummary {
    /// FRED-MD file (as given).
    pub fred_md: String,
    /// VIX file (as given).
    pub vix: String,
    /// First month of the FRED-MD file.
    pub first_month: Month,
    /// Last month of the FRED-MD file.
    pub last_month: Month,
    /// Samples (complete windows with a label at `t + horizon`).
    pub samples: usize,
    /// Cells filled with the previous month's value.
    pub filled: Vec<FilledCell>,
}

/// Everything `cycle.json` holds: settings, features, standardization, label rule, split, the
/// figures and the NBER cross-check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCard {
    /// Layout version ([`CARD_FORMAT`]).
    pub format: u32,
    /// Training settings (network shape included).
    pub config: CycleConfig,
    /// The inputs, in order.
    pub features: Vec<FeatureDoc>,
    /// Standardization statistics (training months only).
    pub standardizer: Standardizer,
    /// The labelling rule.
    pub label_rule: LabelRule,
    /// The regimes' allocations.
    pub allocations: BTreeMap<String, Allocation>,
    /// The split.
    pub split: Split,
    /// Epochs run (early stopping may end before `config.epochs`).
    pub epochs_run: usize,
    /// Epoch whose weights were kept (lowest validation loss).
    pub best_epoch: usize,
    /// Validation cross-entropy of the kept weights (nats).
    pub best_validation_loss: f64,
    /// Figures on the validation set (used for early stopping, so not out of sample).
    pub validation: Evaluation,
    /// Figures on the test set (out of sample).
    pub test: Evaluation,
    /// Label distribution of the training targets, by regime name.
    pub train_distribution: BTreeMap<String, usize>,
    /// The labels against the NBER recession dates, when given.
    pub nber: Option<NberCheck>,
    /// The data.
    pub data: DataSummary,
}

/// A regime forecast.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prediction {
    /// Last input month.
    pub month: Month,
    /// Month forecast (`month + horizon`).
    pub target_month: Month,
    /// Horizon, months.
    pub horizon: usize,
    /// Most probable regime.
    pub regime: Regime,
    /// Probability of each regime, by name (softmax of the logits).
    pub probabilities: BTreeMap<String, f64>,
    /// The allocation of `regime`.
    pub allocation: Allocation,
    /// The rule's label of `month` itself (what persistence would predict), when computable.
    pub label_at_month: Option<Regime>,
}

/// A trained model: its card and weights.
#[derive(Debug, Clone)]
pub struct CycleModel {
    /// Settings, statistics and figures.
    pub card: ModelCard,
    net: Transformer,
}

struct Sample {
    end: Month,
    target: Regime,
}

fn samples(panel: &MacroPanel, lookback: usize, horizon: usize) -> Vec<Sample> {
    (0..panel.len())
        .filter(|&i| panel.window_complete(i, lookback))
        .filter_map(|i| {
            let end = panel.month(i);
            let target = panel.label(end.offset(horizon as i64))?;
            Some(Sample { end, target })
        })
        .collect()
}

fn set_range(set: &[&Sample], horizon: usize) -> Option<SetRange> {
    let first = set.first()?.end;
    let last = set.last()?.end;
    Some(SetRange {
        first,
        last,
        first_target: first.offset(horizon as i64),
        last_target: last.offset(horizon as i64),
        samples: set.len(),
    })
}

fn batch_tensor(
    std: &Standardizer,
    panel: &MacroPanel,
    ends: &[Month],
    lookback: usize,
) -> Result<Tensor, CycleError> {
    let mut data = Vec::with_capacity(ends.len() * lookback * FEATURE_COUNT);
    for &end in ends {
        data.extend(
            std.window(panel, end, lookback)
                .ok_or_else(|| CycleError::Data(format!("no complete window ending {end}")))?,
        );
    }
    Ok(Tensor::from_vec(
        data,
        (ends.len(), lookback, FEATURE_COUNT),
        &Device::Cpu,
    )?)
}

fn targets_tensor(set: &[&Sample]) -> Result<Tensor, CycleError> {
    let t: Vec<u32> = set.iter().map(|s| s.target.index() as u32).collect();
    Ok(Tensor::from_vec(t, set.len(), &Device::Cpu)?)
}

fn argmax(p: &[f64]) -> Option<Regime> {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    Regime::from_index(best)
}

impl CycleModel {
    /// Trains on `panel` with `config`: the split, standardization on the training months, AdamW
    /// on the cross-entropy with mini-batches in a seeded order, early stopping on the
    /// validation loss (the best epoch's weights are kept), then the figures of the validation
    /// and test sets against the baselines. `progress` is called after each epoch; `cancel` is
    /// polled between batches, and `Ok(None)` is returned when it says stop.
    pub fn train(
        panel: &MacroPanel,
        config: &CycleConfig,
        data: DataSummaryInput,
        nber: Option<NberCheck>,
        progress: &mut dyn FnMut(&EpochReport),
        cancel: &dyn Fn() -> bool,
    ) -> Result<Option<CycleModel>, CycleError> {
        config.validate()?;
        let (l, h) = (config.lookback, config.horizon);
        let all = samples(panel, l, h);
        let last = all
            .last()
            .ok_or_else(|| {
                CycleError::Data(format!(
                    "no complete {l}-month window with a label {h} months later"
                ))
            })?
            .end;
        let test_first = last.offset(1 - config.test_months as i64);
        let val_first = test_first.offset(-((h + config.validation_months) as i64));
        let hh = h as i64;
        let train: Vec<&Sample> = all
            .iter()
            .filter(|s| s.end.offset(hh) < val_first)
            .collect();
        let val: Vec<&Sample> = all
            .iter()
            .filter(|s| s.end >= val_first && s.end.offset(hh) < test_first)
            .collect();
        let test: Vec<&Sample> = all.iter().filter(|s| s.end >= test_first).collect();
        if train.len() < MIN_TRAIN_SAMPLES {
            return Err(CycleError::Data(format!(
                "{} training samples (at least {MIN_TRAIN_SAMPLES} needed): fewer validation/test months or a shorter lookback",
                train.len()
            )));
        }
        let (Some(tr), Some(va), Some(te)) = (
            set_range(&train, h),
            set_range(&val, h),
            set_range(&test, h),
        ) else {
            return Err(CycleError::Data("an empty validation or test set".into()));
        };
        let split = Split {
            train: tr,
            validation: va,
            test: te,
            gap_months: h,
        };
        let std = Standardizer::fit(panel, tr.first.offset(1 - l as i64), tr.last)?;
        let net = Transformer::init(config.model(), config.seed)?;
        let mut opt = candle_nn::AdamW::new(
            net.vars(),
            candle_nn::ParamsAdamW {
                lr: config.learning_rate,
                weight_decay: config.weight_decay,
                ..Default::default()
            },
        )?;
        let val_x = batch_tensor(
            &std,
            panel,
            &val.iter().map(|s| s.end).collect::<Vec<_>>(),
            l,
        )?;
        let val_y = targets_tensor(&val)?;
        let mut rng = StdRng::seed_from_u64(config.seed ^ 0x9E37_79B9_7F4A_7C15);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut best = (f64::INFINITY, 0usize, net.snapshot()?);
        let mut epochs_run = 0;
        for epoch in 1..=config.epochs {
            for i in (1..order.len()).rev() {
                let j = rng.random_range(0..=i);
                order.swap(i, j);
            }
            let mut loss_sum = 0.0;
            for chunk in order.chunks(config.batch_size) {
                if cancel() {
                    return Ok(None);
                }
                let set: Vec<&Sample> = chunk.iter().map(|&i| train[i]).collect();
                let x = batch_tensor(
                    &std,
                    panel,
                    &set.iter().map(|s| s.end).collect::<Vec<_>>(),
                    l,
                )?;
                let y = targets_tensor(&set)?;
                let loss = candle_nn::loss::cross_entropy(&net.forward(&x)?, &y)?;
                opt.backward_step(&loss)?;
                loss_sum += loss.to_scalar::<f32>()? as f64 * set.len() as f64;
            }
            epochs_run = epoch;
            let logits = net.forward(&val_x)?;
            let val_loss =
                candle_nn::loss::cross_entropy(&logits, &val_y)?.to_scalar::<f32>()? as f64;
            let pred: Vec<u32> = logits.argmax(D::Minus1)?.to_vec1()?;
            let right = pred
                .iter()
                .zip(&val)
                .filter(|(p, s)| **p as usize == s.target.index())
                .count();
            if val_loss < best.0 {
                best = (val_loss, epoch, net.snapshot()?);
            }
            progress(&EpochReport {
                epoch,
                epochs: config.epochs,
                train_loss: loss_sum / train.len() as f64,
                validation_loss: val_loss,
                validation_accuracy: right as f64 / val.len() as f64,
                best_epoch: best.1,
            });
            if epoch - best.1 >= config.patience {
                break;
            }
        }
        net.restore(&best.2)?;
        let mut dist = [0usize; REGIME_COUNT];
        for s in &train {
            dist[s.target.index()] += 1;
        }
        let mut majority = 0;
        for (i, c) in dist.iter().enumerate() {
            if *c > dist[majority] {
                majority = i;
            }
        }
        let majority = Regime::from_index(majority).unwrap_or(Regime::Expansion);
        let mut model = CycleModel {
            card: ModelCard {
                format: CARD_FORMAT,
                config: config.clone(),
                features: FEATURES
                    .iter()
                    .map(|f| FeatureDoc {
                        name: f.name.into(),
                        series: f.series.into(),
                        formula: f.formula.into(),
                        unit: f.unit.into(),
                    })
                    .collect(),
                standardizer: std,
                label_rule: panel.rule.clone(),
                allocations: Regime::ALL
                    .iter()
                    .map(|r| (r.name().to_string(), r.allocation()))
                    .collect(),
                split,
                epochs_run,
                best_epoch: best.1,
                best_validation_loss: best.0,
                validation: placeholder_eval(majority),
                test: placeholder_eval(majority),
                train_distribution: Regime::ALL
                    .iter()
                    .map(|r| (r.name().to_string(), dist[r.index()]))
                    .collect(),
                nber,
                data: DataSummary {
                    fred_md: data.fred_md,
                    vix: data.vix,
                    first_month: panel.first,
                    last_month: panel.month(panel.len().saturating_sub(1)),
                    samples: all.len(),
                    filled: panel.filled.clone(),
                },
            },
            net,
        };
        model.card.validation = model.evaluate(panel, &val, majority)?;
        model.card.test = model.evaluate(panel, &test, majority)?;
        Ok(Some(model))
    }

    fn evaluate(
        &self,
        panel: &MacroPanel,
        set: &[&Sample],
        majority: Regime,
    ) -> Result<Evaluation, CycleError> {
        let probs = self.probabilities(panel, &set.iter().map(|s| s.end).collect::<Vec<_>>())?;
        let model: Vec<_> = set
            .iter()
            .zip(&probs)
            .map(|(s, p)| (s.target, argmax(p)))
            .collect();
        let persistence: Vec<_> = set.iter().map(|s| (s.target, panel.label(s.end))).collect();
        let maj: Vec<_> = set.iter().map(|s| (s.target, Some(majority))).collect();
        Ok(Evaluation {
            model: Metrics::of(&model),
            persistence: Metrics::of(&persistence),
            majority: Metrics::of(&maj),
            majority_regime: majority,
        })
    }

    /// Regime probabilities (softmax; class order [`Regime::ALL`]) for windows ending at each
    /// month of `ends`.
    pub fn probabilities(
        &self,
        panel: &MacroPanel,
        ends: &[Month],
    ) -> Result<Vec<Vec<f64>>, CycleError> {
        if ends.is_empty() {
            return Ok(Vec::new());
        }
        let x = batch_tensor(
            &self.card.standardizer,
            panel,
            ends,
            self.card.config.lookback,
        )?;
        let p = candle_nn::ops::softmax(&self.net.forward(&x)?, D::Minus1)?;
        let rows: Vec<Vec<f32>> = p.to_vec2()?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_iter().map(f64::from).collect())
            .collect())
    }

    /// The forecast from the window ending at `month`.
    pub fn predict_at(&self, panel: &MacroPanel, month: Month) -> Result<Prediction, CycleError> {
        let p = self
            .probabilities(panel, &[month])?
            .pop()
            .ok_or_else(|| CycleError::Data(format!("no prediction for {month}")))?;
        let regime = argmax(&p).ok_or_else(|| CycleError::Model("no class".into()))?;
        let h = self.card.config.horizon;
        Ok(Prediction {
            month,
            target_month: month.offset(h as i64),
            horizon: h,
            regime,
            probabilities: Regime::ALL
                .iter()
                .zip(&p)
                .map(|(r, v)| (r.name().to_string(), *v))
                .collect(),
            allocation: regime.allocation(),
            label_at_month: panel.label(month),
        })
    }

    /// The forecast from the latest complete window of `panel`.
    pub fn predict_latest(&self, panel: &MacroPanel) -> Result<Prediction, CycleError> {
        let l = self.card.config.lookback;
        let month = panel.latest_complete(l).ok_or_else(|| {
            CycleError::Data(format!("no complete {l}-month window of the 7 features"))
        })?;
        self.predict_at(panel, month)
    }

    /// The weights as safetensors bytes (deterministic).
    pub fn safetensors(&self) -> Result<Vec<u8>, CycleError> {
        self.net.to_safetensors()
    }

    /// `cycle.json`'s text.
    pub fn card_json(&self) -> Result<Vec<u8>, CycleError> {
        let mut v = serde_json::to_vec_pretty(&self.card)
            .map_err(|e| CycleError::Model(format!("cannot encode the card: {e}")))?;
        v.push(b'\n');
        Ok(v)
    }

    /// A model from `cycle.safetensors` and `cycle.json` bytes.
    pub fn from_bytes(safetensors: &[u8], card_json: &[u8]) -> Result<CycleModel, CycleError> {
        let card: ModelCard = serde_json::from_slice(card_json)
            .map_err(|e| CycleError::Model(format!("cycle.json: {e}")))?;
        if card.format != CARD_FORMAT {
            return Err(CycleError::Model(format!(
                "cycle.json format {} (this build reads {CARD_FORMAT})",
                card.format
            )));
        }
        card.config.validate()?;
        if card.standardizer.mean.len() != FEATURE_COUNT
            || card.standardizer.std.len() != FEATURE_COUNT
        {
            return Err(CycleError::Model("standardizer of another width".into()));
        }
        let net = Transformer::from_safetensors(card.config.model(), safetensors)?;
        Ok(CycleModel { card, net })
    }
}

/// Names of the input files, recorded in the card.
#[derive(Debug, Clone, Default)]
pub struct DataSummaryInput {
    /// FRED-MD file as given.
    pub fred_md: String,
    /// VIX file as given.
    pub vix: String,
}

fn placeholder_eval(majority: Regime) -> Evaluation {
    Evaluation {
        model: Metrics::of(&[]),
        persistence: Metrics::of(&[]),
        majority: Metrics::of(&[]),
        majority_regime: majority,
    }
}
