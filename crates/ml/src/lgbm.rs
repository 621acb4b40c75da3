//! LightGBM models through the `lightgbm3` bindings (cargo feature `lightgbm`; LightGBM 4.7.0,
//! built with OpenMP): train on a [`TrainingSet`], save and load in LightGBM's own text model
//! format (the file Python's `lightgbm.Booster(model_file=…)` reads, with identical predictions:
//! `tests/lightgbm_reference.rs`), predict, and gain importances for
//! [`crate::model::select_by_importance`].
//!
//! ## How the dataset is built, and what lightgbm3 allows
//! lightgbm3 1.0.11's safe API creates a LightGBM dataset in only three ways: from one in-memory
//! matrix (`Dataset::from_slice`, `f32` or `f64`), from a polars frame, or from a file
//! (`Dataset::from_file`) with an empty parameter string — so LightGBM's text loader runs in
//! one round (`two_round=false`: the whole text file is held in memory, ~3× the `f32` bytes)
//! and dataset parameters such as `max_bin` stay at their defaults. LightGBM's streaming
//! functions (`LGBM_DatasetCreateFromSampledColumn` + `LGBM_DatasetPushRows`) exist only in the
//! raw `lightgbm3-sys` bindings, which need `unsafe` code, and the workspace forbids it.
//!
//! So the least memory the bindings allow is the `f32` matrix of [`TrainingSet`]: rows are
//! streamed from the per-symbol feature files one at a time (never a frame of every symbol, no
//! `f64` copy, unlabelled rows and unselected columns skipped), handed to LightGBM, which bins
//! them (about one byte a value), and the matrix is freed before the first boosting round.
//! Peak ≈ `5 × rows × columns` bytes plus LightGBM's histograms.

use std::path::Path;

use lightgbm3::{Booster, Dataset, ImportanceType};
use serde_json::{Map, Number, Value};

use crate::MlError;
use crate::model::{LgbmParams, Objective, ParamValue, TrainingSet};
use crate::store::RowReader;

/// A trained or loaded LightGBM booster with its feature names (in the order its rows must
/// have).
pub struct LgbmModel {
    booster: Booster,
    names: Vec<String>,
}

impl std::fmt::Debug for LgbmModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LgbmModel")
            .field("names", &self.names)
            .field("trees", &self.booster.num_iterations())
            .finish()
    }
}

fn param_json(params: &LgbmParams) -> Result<Value, MlError> {
    let mut map = Map::new();
    for (k, v) in params.to_lightgbm()? {
        let v = match v {
            // lightgbm3 reads `num_iterations` as a JSON integer to count its boosting rounds.
            ParamValue::Int(i) => Value::Number(Number::from(i)),
            ParamValue::Float(x) => Value::Number(
                Number::from_f64(x)
                    .ok_or_else(|| MlError::Invalid(format!("parameter {k} = {x}")))?,
            ),
            ParamValue::Str(s) => Value::String(s.to_string()),
        };
        map.insert(k.to_string(), v);
    }
    Ok(Value::Object(map))
}

/// Feature names go into the model text space-separated and LightGBM refuses JSON specials.
fn check_name(name: &str) -> Result<(), MlError> {
    let bad = name.is_empty()
        || name.len() > 255
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"',:[]{}".contains(c));
    if bad {
        return Err(MlError::Invalid(format!(
            "feature name {name:?}: needs 1..=255 bytes without spaces, quotes or ,:[]{{}}"
        )));
    }
    Ok(())
}

impl LgbmModel {
    /// Trains on `set` (consumed: its matrix is freed once LightGBM has binned it). Binary
    /// objectives need every target to be 0 or 1.
    pub fn train(set: TrainingSet, params: &LgbmParams) -> Result<Self, MlError> {
        let json = param_json(params)?;
        if set.n_rows() == 0 {
            return Err(MlError::Invalid("no training rows".into()));
        }
        if set.n_rows() > i32::MAX as usize || set.n_cols() > i32::MAX as usize {
            return Err(MlError::Invalid(format!(
                "{} rows × {} columns: LightGBM takes at most 2^31-1 of each",
                set.n_rows(),
                set.n_cols()
            )));
        }
        if params.objective == Objective::Binary
            && let Some(i) = set.targets().iter().position(|&t| t != 0.0 && t != 1.0)
        {
            return Err(MlError::Invalid(format!(
                "binary target {} at row {i}: must be 0 or 1",
                set.targets()[i]
            )));
        }
        for name in set.names() {
            check_name(name)?;
        }
        let n_cols = set.n_cols() as i32;
        let (names, x, y) = set.into_parts();
        let mut dataset = Dataset::from_slice(&x, &y, n_cols, true)?;
        // LightGBM keeps its own binned copy: the f32 matrix is not needed for training.
        drop(x);
        drop(y);
        dataset.set_feature_names(&names)?;
        let booster = Booster::train(dataset, &json)?;
        Ok(LgbmModel { booster, names })
    }

    /// The model in LightGBM's text format (what [`Self::save`] writes).
    pub fn to_model_string(&self) -> Result<String, MlError> {
        Ok(self.booster.save_string()?)
    }

    /// Parses a model in LightGBM's text format.
    pub fn from_model_string(text: &str) -> Result<Self, MlError> {
        if text.contains('\0') {
            return Err(MlError::Invalid("a model text with a NUL byte".into()));
        }
        let booster = Booster::from_string(text)?;
        // Read from the text: lightgbm3's feature_name() truncates names to 63 bytes.
        let names: Vec<String> = text
            .lines()
            .find_map(|l| l.strip_prefix("feature_names="))
            .map(|l| l.split(' ').map(str::to_string).collect())
            .ok_or_else(|| MlError::Invalid("the model has no feature_names line".into()))?;
        if names.len() != booster.num_features().max(0) as usize {
            return Err(MlError::Invalid(format!(
                "{} feature names for {} features",
                names.len(),
                booster.num_features()
            )));
        }
        Ok(LgbmModel { booster, names })
    }

    /// Writes the model text to `path`, atomically: into `<path>.tmp` first, then renamed, so
    /// an interrupted save never leaves a half-written model at `path`.
    pub fn save(&self, path: &Path) -> Result<(), MlError> {
        let text = self.to_model_string()?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let io = |e: std::io::Error| MlError::Io(format!("{}: {e}", path.display()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a model file in LightGBM's text format (written by [`Self::save`], Python's
    /// `Booster.save_model` or the LightGBM CLI).
    pub fn load(path: &Path) -> Result<Self, MlError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MlError::Io(format!("{}: {e}", path.display())))?;
        Self::from_model_string(&text)
    }

    /// Feature names, in the order of a row's values.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of boosting rounds (= trees for the regression, quantile and binary objectives).
    pub fn num_trees(&self) -> usize {
        self.booster.num_iterations().max(0) as usize
    }

    /// Predictions for row-major `rows` (`rows.len()` a multiple of the feature count; NaN =
    /// missing): the target's unit for regression and quantile models, the probability of 1
    /// for binary ones. One value a row.
    pub fn predict(&self, rows: &[f32]) -> Result<Vec<f64>, MlError> {
        let n_cols = self.names.len();
        if n_cols == 0 || !rows.len().is_multiple_of(n_cols) {
            return Err(MlError::Invalid(format!(
                "{} values are not whole rows of {n_cols} features",
                rows.len()
            )));
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        if rows.len() / n_cols > i32::MAX as usize {
            return Err(MlError::Invalid("more than 2^31-1 rows at once".into()));
        }
        Ok(self.booster.predict(rows, n_cols as i32, true)?)
    }

    /// Predictions for every row of a feature file, read `chunk_rows` rows at a time (memory:
    /// one chunk plus the output). The file's columns are matched to the model's features by
    /// name, so a file with more columns (before a feature selection) is fine.
    pub fn predict_reader<R: std::io::Read>(
        &self,
        reader: &mut RowReader<R>,
        chunk_rows: usize,
    ) -> Result<Vec<f64>, MlError> {
        let chunk_rows = chunk_rows.max(1);
        let cols: Vec<usize> =
            self.names
                .iter()
                .map(|n| {
                    reader.names().iter().position(|m| m == n).ok_or_else(|| {
                        MlError::Invalid(format!("the feature file has no column {n}"))
                    })
                })
                .collect::<Result<_, _>>()?;
        let mut row = vec![0f32; reader.names().len()];
        let chunk_len = chunk_rows.saturating_mul(cols.len());
        let mut chunk = Vec::with_capacity(chunk_len.min(1 << 24));
        let mut out = Vec::with_capacity(reader.timestamps().len());
        loop {
            let more = reader.next_row(&mut row)?;
            if more {
                chunk.extend(cols.iter().map(|&j| row[j]));
            }
            if chunk.len() >= chunk_len || (!more && !chunk.is_empty()) {
                out.extend(self.predict(&chunk)?);
                chunk.clear();
            }
            if !more {
                return Ok(out);
            }
        }
    }

    /// Total gain of the splits on each feature (LightGBM's `importance_type="gain"`), in
    /// feature order: the input of [`crate::model::select_by_importance`].
    pub fn importance_gain(&self) -> Result<Vec<f64>, MlError> {
        Ok(self.booster.feature_importance(ImportanceType::Gain)?)
    }

    /// Number of splits on each feature (`importance_type="split"`), in feature order.
    pub fn importance_split(&self) -> Result<Vec<f64>, MlError> {
        Ok(self.booster.feature_importance(ImportanceType::Split)?)
    }
}
