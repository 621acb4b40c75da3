//! `train`: the time-ordered split with an embargo, LightGBM on the net return after costs
//! (regression: the expected return) and on its 5 % quantile, each with the feature selection
//! keeping 99.9 % of the gain importance (fitted on every column, then refitted on the kept
//! ones), validation figures, and the models saved in LightGBM's text format.
//!
//! The model directory is built as `<out>.partial` and renamed to `<out>` only once every file
//! is written: a cancelled, failed or killed training leaves no model at `<out>` (a cancelled
//! or failed one also removes its `.partial` directory).
//!
//! [`Dataset`] (the feature directory, its labels and the split) needs no LightGBM; [`train`]
//! needs the cargo feature `ml`.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use pulse_core::Symbol;
use pulse_ml::labels::BarrierLabel;
use pulse_ml::model::TrainingSet;
use pulse_ml::split::{Part, SplitConfig, TimeSplit};
use pulse_ml::store::RowReader;
use serde::{Deserialize, Serialize};

use super::features::{FeatureManifest, SymbolEntry};
use super::{MANIFEST, features_path, labels_path, ml_error, open, read_json};
use crate::AppError;

/// A feature directory opened for training or evaluation, restricted to some symbols, with the
/// split of their data window.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: FeatureManifest,
    /// The symbols used (in the manifest's order).
    pub symbols: Vec<SymbolEntry>,
    /// The split of `[first bar, last bar]` over those symbols.
    pub split: TimeSplit,
}

/// One symbol's row timestamps and labels.
#[derive(Debug, Clone)]
pub struct SymbolLabels {
    /// Start of each row's bar.
    pub ts: Vec<Timestamp>,
    /// Each row's label.
    pub labels: Vec<Option<BarrierLabel>>,
}

impl Dataset {
    /// Opens `dir` (its `manifest.json`), keeps `symbols` (all when `None`) and splits their
    /// window by `split`. Refuses HMM regimes fitted past the training period's end.
    pub fn open(
        dir: &Path,
        symbols: Option<&[Symbol]>,
        split: &SplitConfig,
    ) -> Result<Self, AppError> {
        let manifest: FeatureManifest = read_json(&dir.join(MANIFEST))?;
        let chosen: Vec<SymbolEntry> = match symbols {
            None => manifest.symbols.clone(),
            Some(list) => {
                let mut out = Vec::new();
                for s in list {
                    let e = manifest
                        .symbols
                        .iter()
                        .find(|e| e.symbol == s.as_str())
                        .ok_or_else(|| {
                            AppError::NotFound(format!(
                                "{s} is not in the feature directory {}",
                                dir.display()
                            ))
                        })?;
                    out.push(e.clone());
                }
                out
            }
        };
        let (Some(first), Some(last)) = (
            chosen.iter().map(|e| e.first).min(),
            chosen.iter().map(|e| e.last).max(),
        ) else {
            return Err(AppError::Data(format!("{}: no symbols", dir.display())));
        };
        let split = TimeSplit::new(first, last, 60, split)
            .map_err(|e| ml_error(format!("{}: split", dir.display()), e))?;
        if let Some(r) = &manifest.regime
            && r.train_end > split.train.end
        {
            return Err(AppError::Usage(format!(
                "the HMM regimes of {} were fitted up to {}, after the training period's end {}: \
                 recompute the features with an earlier regime end or train on a longer period",
                dir.display(),
                r.train_end,
                split.train.end
            )));
        }
        Ok(Dataset {
            dir: dir.to_path_buf(),
            manifest,
            symbols: chosen,
            split,
        })
    }

    /// A symbol's row timestamps (from its feature file) and labels.
    pub fn labels(&self, symbol: &str) -> Result<SymbolLabels, AppError> {
        let fpath = features_path(&self.dir, symbol);
        let reader = RowReader::new(open(&fpath)?).map_err(|e| ml_error(fpath.display(), e))?;
        let ts = reader.timestamps().to_vec();
        let lpath = labels_path(&self.dir, symbol);
        let labels = pulse_ml::store::read_labels(open(&lpath)?)
            .map_err(|e| ml_error(lpath.display(), e))?;
        if labels.len() != ts.len() {
            return Err(AppError::Data(format!(
                "{}: {} labels for {} feature rows",
                lpath.display(),
                labels.len(),
                ts.len()
            )));
        }
        Ok(SymbolLabels { ts, labels })
    }

    /// The period of each row of `l`.
    pub fn parts(&self, l: &SymbolLabels) -> Vec<Option<Part>> {
        l.ts.iter()
            .zip(&l.labels)
            .map(|(t, lab)| self.split.part(*t, lab.as_ref()))
            .collect()
    }

    /// The rows of `part` with the target "net return after `cost` per side", keeping the file
    /// columns `keep` (all when `None`), streamed from the feature files one row at a time.
    pub fn training_set(
        &self,
        part: Part,
        keep: Option<&[usize]>,
        cost: f64,
    ) -> Result<TrainingSet, AppError> {
        let mut targets = Vec::with_capacity(self.symbols.len());
        let mut rows = 0usize;
        for e in &self.symbols {
            let l = self.labels(&e.symbol)?;
            let t: Vec<Option<f64>> = self
                .parts(&l)
                .iter()
                .zip(&l.labels)
                .map(|(p, lab)| match (p, lab) {
                    (Some(p), Some(lab)) if *p == part => Some(lab.net_ret(cost)),
                    _ => None,
                })
                .collect();
            rows += t.iter().filter(|v| v.is_some()).count();
            targets.push(t);
        }
        let mut set = TrainingSet::new(&self.manifest.columns, keep)
            .map_err(|e| ml_error("training set", e))?;
        set.reserve_rows(rows)
            .map_err(|e| ml_error("training set", e))?;
        for (e, t) in self.symbols.iter().zip(&targets) {
            let path = features_path(&self.dir, &e.symbol);
            let mut reader =
                RowReader::new(open(&path)?).map_err(|e| ml_error(path.display(), e))?;
            set.push_reader(&mut reader, t)
                .map_err(|e| ml_error(path.display(), e))?;
        }
        Ok(set)
    }
}

/// The model directory's `train.json`: everything evaluation needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedModels {
    /// The training run's id.
    pub run_id: u64,
    /// The feature directory (absolute when it could be resolved).
    pub features_dir: PathBuf,
    /// Symbols trained on.
    pub symbols: Vec<String>,
    /// The split settings (re-applied by the evaluation).
    pub split_config: SplitConfig,
    /// The split they gave.
    pub split: TimeSplit,
    /// Cost per side in the target (fraction).
    pub cost: f64,
    /// The expected-return model: file name in the directory and its features.
    pub expected_return: ModelFile,
    /// The quantile model.
    pub quantile: ModelFile,
    /// Training rows.
    pub train_rows: usize,
}

/// One model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// File name inside the model directory (LightGBM text format).
    pub file: String,
    /// Objective.
    pub objective: pulse_ml::model::Objective,
    /// Its (selected) features, in order.
    pub features: Vec<String>,
}

/// A feature's importance in the first (all-column) fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Feature name.
    pub feature: String,
    /// Total gain of its splits.
    pub gain: f64,
    /// Number of splits on it.
    pub splits: f64,
    /// Kept by the 99.9 % selection.
    pub kept: bool,
}

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// The feature directory (`features`' output).
    pub features: PathBuf,
    /// Symbols to train on (all of the directory when `None`).
    pub symbols: Option<Vec<Symbol>>,
    /// Model directory; default `<features>/runs/<run id>`. Must not exist yet.
    pub out: Option<PathBuf>,
    /// The split.
    pub split: SplitConfig,
    /// Cost per side in the target (fraction; 0.001 = 0.1 %).
    pub cost: f64,
    /// The quantile of the second model (0.05).
    pub quantile: f64,
    /// Share of the cumulative gain importance kept (0.999).
    pub keep_importance: f64,
    /// LightGBM settings (the objective is set per model).
    pub params: pulse_ml::model::LgbmParams,
    /// Entry rule of the validation figures.
    pub rule: pulse_ml::eval::EntryRule,
    /// TPE trials asked for (accepted, not used yet: recorded as such).
    pub trials: Option<u32>,
}

impl TrainRequest {
    /// Defaults for the feature directory `features`.
    pub fn new(features: PathBuf) -> Self {
        TrainRequest {
            features,
            symbols: None,
            out: None,
            split: SplitConfig::default(),
            cost: 0.001,
            quantile: 0.05,
            keep_importance: 0.999,
            params: pulse_ml::model::LgbmParams::default(),
            rule: pulse_ml::eval::EntryRule::default(),
            trials: None,
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), AppError> {
        if !(self.cost.is_finite() && (0.0..0.5).contains(&self.cost)) {
            return Err(AppError::setting("cost", "must be a fraction in [0, 0.5)"));
        }
        if !(self.quantile.is_finite() && self.quantile > 0.0 && self.quantile < 1.0) {
            return Err(AppError::setting("quantile", "must be in (0, 1)"));
        }
        if !(self.keep_importance.is_finite()
            && self.keep_importance > 0.0
            && self.keep_importance <= 1.0)
        {
            return Err(AppError::setting("keep_importance", "must be in (0, 1]"));
        }
        self.params
            .validate()
            .map_err(|e| AppError::Usage(e.to_string()))?;
        self.rule
            .validate()
            .map_err(|e| AppError::Usage(e.to_string()))
    }
}

/// What a training produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainOutcome {
    /// The run record (finished).
    pub run: super::runs::MlRun,
    /// The model directory.
    pub models_dir: PathBuf,
    /// Its `train.json`.
    pub models: TrainedModels,
    /// Figures of the validation period.
    pub validation: pulse_ml::eval::EvalMetrics,
}

/// Steps of a training, for progress: `(step, done, total)`.
pub const TRAIN_STEPS: usize = 6;

#[cfg(feature = "ml")]
pub use with_lightgbm::train;

#[cfg(feature = "ml")]
mod with_lightgbm {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};

    use pulse_core::ports::{Clock, Store};
    use pulse_ml::lgbm::LgbmModel;
    use pulse_ml::model::{LgbmParams, Objective, select_by_importance};
    use pulse_ml::split::Part;

    use super::super::evaluate::{evaluate_part, lgbm_predictor};
    use super::super::runs::{self, Artifacts, DataWindow, MlRunKind, MlRunStatus};
    use super::super::{TRAIN_FILE, ml_error, to_json, write_atomic};
    use super::{
        Dataset, Importance, ModelFile, TRAIN_STEPS, TrainOutcome, TrainRequest, TrainedModels,
    };
    use crate::AppError;

    /// Trains the two models (see the module docs). `progress(step, done, total)` after each
    /// step; once `cancel` is set the training stops at the next step boundary (a LightGBM fit
    /// in progress finishes first), writes no model and returns [`AppError::Interrupted`].
    pub async fn train<S: Store, C: Clock>(
        store: &S,
        clock: &C,
        req: &TrainRequest,
        progress: &(dyn Fn(&str, usize, usize) + Sync),
        cancel: &AtomicBool,
    ) -> Result<TrainOutcome, AppError> {
        req.validate()?;
        let dataset = Dataset::open(&req.features, req.symbols.as_deref(), &req.split)?;
        if let Some(out) = &req.out
            && out.exists()
        {
            return Err(AppError::Usage(format!(
                "--out {} exists: give a new directory",
                out.display()
            )));
        }
        let params = serde_json::json!({
            "features": req.features,
            "split": req.split,
            "cost": req.cost,
            "quantile": req.quantile,
            "keep_importance": req.keep_importance,
            "lightgbm": req.params,
            "validation_rule": req.rule,
            "trials": req.trials,
            "trials_used": 0,
        });
        let mut run = runs::begin(store, clock, MlRunKind::Train, params, None).await?;
        run.symbols = dataset.symbols.iter().map(|e| e.symbol.clone()).collect();
        run.window = Some(DataWindow {
            from: dataset.split.train.start,
            to: dataset
                .symbols
                .iter()
                .map(|e| e.last)
                .max()
                .unwrap_or(dataset.split.train.start),
            split: Some(dataset.split),
        });
        let out = req
            .out
            .clone()
            .unwrap_or_else(|| req.features.join("runs").join(run.id.to_string()));
        let partial = {
            let mut p = out.as_os_str().to_owned();
            p.push(".partial");
            PathBuf::from(p)
        };
        let result = fit(&dataset, req, &out, &partial, run.id, progress, cancel).await;
        match result {
            Ok((models, importances, validation)) => {
                if let Err(source) = std::fs::rename(&partial, &out) {
                    let _ = std::fs::remove_dir_all(&partial);
                    let e = AppError::Write {
                        path: out.clone(),
                        source,
                    };
                    runs::end(
                        store,
                        clock,
                        &mut run,
                        MlRunStatus::Failed,
                        Some(e.to_string()),
                    )
                    .await?;
                    return Err(e);
                }
                let abs = |p: &Path| {
                    std::fs::canonicalize(p)
                        .unwrap_or_else(|_| p.to_path_buf())
                        .display()
                        .to_string()
                };
                run.features = models.expected_return.features.clone();
                run.metrics = serde_json::json!({
                    "train_rows": models.train_rows,
                    "validation": validation,
                    "features_kept": {
                        "expected_return": models.expected_return.features.len(),
                        "quantile": models.quantile.features.len(),
                        "of": importances.len(),
                    },
                });
                run.artifacts = Artifacts {
                    features_dir: Some(abs(&req.features)),
                    models_dir: Some(abs(&out)),
                    models: vec![
                        abs(&out.join(&models.expected_return.file)),
                        abs(&out.join(&models.quantile.file)),
                    ],
                    importances: Some(abs(&out.join("importances.json"))),
                    report: None,
                };
                runs::end(store, clock, &mut run, MlRunStatus::Finished, None).await?;
                Ok(TrainOutcome {
                    run,
                    models_dir: out,
                    models,
                    validation,
                })
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&partial);
                let status = if matches!(e, AppError::Interrupted) {
                    MlRunStatus::Cancelled
                } else {
                    MlRunStatus::Failed
                };
                runs::end(store, clock, &mut run, status, Some(e.to_string())).await?;
                Err(e)
            }
        }
    }

    type Fitted = (TrainedModels, Vec<Importance>, pulse_ml::eval::EvalMetrics);

    /// Fits, selects, refits, saves into `partial`.
    async fn fit(
        dataset: &Dataset,
        req: &TrainRequest,
        out: &Path,
        partial: &Path,
        run_id: u64,
        progress: &(dyn Fn(&str, usize, usize) + Sync),
        cancel: &AtomicBool,
    ) -> Result<Fitted, AppError> {
        let check = || {
            if cancel.load(Ordering::Relaxed) {
                Err(AppError::Interrupted)
            } else {
                Ok(())
            }
        };
        if partial.exists() {
            std::fs::remove_dir_all(partial).map_err(|source| AppError::Write {
                path: partial.to_path_buf(),
                source,
            })?;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|source| AppError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::create_dir_all(partial).map_err(|source| AppError::Write {
            path: partial.to_path_buf(),
            source,
        })?;
        let mut step = 0usize;
        let mut tick = |name: &str| {
            step += 1;
            progress(name, step, TRAIN_STEPS);
        };
        let columns = &dataset.manifest.columns;
        let mut importances = Vec::new();
        let mut fitted = Vec::new();
        let mut train_rows = 0;
        for (name, objective, file) in [
            (
                "expected return",
                Objective::Regression,
                "expected_return.txt",
            ),
            (
                "quantile",
                Objective::Quantile {
                    alpha: req.quantile,
                },
                "quantile.txt",
            ),
        ] {
            check()?;
            let params = LgbmParams {
                objective,
                ..req.params
            };
            let set = dataset.training_set(Part::Train, None, req.cost)?;
            train_rows = set.n_rows();
            if train_rows == 0 {
                return Err(AppError::Data(
                    "no labelled training rows in the training period".into(),
                ));
            }
            let full =
                LgbmModel::train(set, &params).map_err(|e| ml_error(format!("{name} model"), e))?;
            tick(&format!("{name}: all features"));
            check()?;
            let gain = full
                .importance_gain()
                .map_err(|e| ml_error(format!("{name} model"), e))?;
            let splits = full
                .importance_split()
                .map_err(|e| ml_error(format!("{name} model"), e))?;
            let kept = select_by_importance(&gain, req.keep_importance)
                .map_err(|e| ml_error(format!("{name} model: feature selection"), e))?;
            if name == "expected return" {
                importances = columns
                    .iter()
                    .enumerate()
                    .map(|(j, f)| Importance {
                        feature: f.clone(),
                        gain: gain.get(j).copied().unwrap_or(0.0),
                        splits: splits.get(j).copied().unwrap_or(0.0),
                        kept: kept.contains(&j),
                    })
                    .collect();
            }
            let set = dataset.training_set(Part::Train, Some(&kept), req.cost)?;
            let model =
                LgbmModel::train(set, &params).map_err(|e| ml_error(format!("{name} model"), e))?;
            tick(&format!("{name}: selected features"));
            check()?;
            model
                .save(&partial.join(file))
                .map_err(|e| ml_error(format!("{name} model"), e))?;
            fitted.push((
                model,
                ModelFile {
                    file: file.to_string(),
                    objective,
                    features: pulse_ml::model::names_at(columns, &kept)
                        .map_err(|e| ml_error(name, e))?,
                },
            ));
        }
        let (Some((q_model, q_file)), Some((er_model, er_file))) = (fitted.pop(), fitted.pop())
        else {
            return Err(AppError::Data("the models were not fitted".into()));
        };
        let predictor = lgbm_predictor(
            &er_model,
            req.rule.quantile_floor.is_some().then_some(&q_model),
        );
        let validation = evaluate_part(dataset, Part::Validation, &req.rule, predictor)?;
        tick("validation");
        check()?;
        let models = TrainedModels {
            run_id,
            features_dir: std::fs::canonicalize(&dataset.dir)
                .unwrap_or_else(|_| dataset.dir.clone()),
            symbols: dataset.symbols.iter().map(|e| e.symbol.clone()).collect(),
            split_config: req.split,
            split: dataset.split,
            cost: req.cost,
            expected_return: er_file,
            quantile: q_file,
            train_rows,
        };
        write_atomic(
            &partial.join("importances.json"),
            to_json("the importances", &importances)?.as_bytes(),
        )?;
        write_atomic(
            &partial.join(TRAIN_FILE),
            to_json("the model description", &models)?.as_bytes(),
        )?;
        tick("saved");
        check()?;
        Ok((models, importances, validation.metrics))
    }
}
