//! Gradient-boosted tree models (issue 16 item 3): the parts that need no LightGBM.
//!
//! * [`LgbmParams`] — the documented training parameters and the exact LightGBM parameter list
//!   they become ([`LgbmParams::to_lightgbm`]).
//! * [`TrainingSet`] — the rows of one LightGBM dataset, gathered by streaming per-symbol
//!   feature files ([`crate::store`]) row by row, keeping only the labelled rows and the selected
//!   columns, as one row-major `f32` matrix (4 bytes a value; nothing else of a symbol is kept).
//! * [`select_by_importance`] — the feature selection keeping 99.9 % of cumulative importance.
//!
//! Training, saving, loading and predicting are in `pulse_ml::lgbm` (cargo feature `lightgbm`).

use std::io::Read;

use crate::MlError;
use crate::store::RowReader;

/// What the model learns.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Objective {
    /// Least squares regression (LightGBM `regression`, L2): predicts the conditional mean,
    /// in the target's unit (e.g. net return as a fraction).
    Regression,
    /// Quantile regression (LightGBM `quantile` with `alpha`): predicts the `alpha` quantile of
    /// the target, e.g. `alpha = 0.05` for the 5 % net-return quantile.
    Quantile {
        /// The quantile, in (0, 1).
        alpha: f64,
    },
    /// Binary classification (LightGBM `binary`, log loss) on targets 0/1: predicts the
    /// probability of 1 (e.g. the meta-label "the primary signal's trade hit its take-profit").
    Binary,
}

/// Training parameters (LightGBM names in brackets). The dataset itself is built with
/// LightGBM's defaults (255 bins a feature, NaN = missing), which lightgbm3 does not expose.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LgbmParams {
    /// The loss (`objective`, `alpha`).
    pub objective: Objective,
    /// Maximum leaves a tree (`num_leaves`, ≥ 2). Default 31.
    pub num_leaves: u32,
    /// Shrinkage of each tree (`learning_rate`, > 0). Default 0.05.
    pub learning_rate: f64,
    /// Number of boosting rounds = trees (`num_iterations`, ≥ 1). Default 200.
    pub n_estimators: u32,
    /// Minimum rows in a leaf (`min_data_in_leaf`, ≥ 1). Default 200 (minute rows are noisy).
    pub min_data_in_leaf: u32,
    /// Fraction of the features drawn for each tree (`feature_fraction`, in (0, 1]). Default 0.8.
    pub feature_fraction: f64,
    /// Fraction of the rows drawn for each bagging round (`bagging_fraction`, in (0, 1]).
    /// Default 0.8.
    pub bagging_fraction: f64,
    /// Redraw the bagging sample every `bagging_freq` trees (`bagging_freq`; 0 = no bagging).
    /// Default 1.
    pub bagging_freq: u32,
    /// The one random seed (`seed`: LightGBM derives its data, bagging and feature-fraction seeds
    /// from it; ≤ 2^31 − 1). Default 42.
    pub seed: u32,
    /// OpenMP threads for training and prediction (`num_threads`, ≥ 1). Default 2 (CI's cores).
    pub num_threads: u32,
}

impl Default for LgbmParams {
    /// Regression with the defaults listed on each field.
    fn default() -> Self {
        LgbmParams {
            objective: Objective::Regression,
            num_leaves: 31,
            learning_rate: 0.05,
            n_estimators: 200,
            min_data_in_leaf: 200,
            feature_fraction: 0.8,
            bagging_fraction: 0.8,
            bagging_freq: 1,
            seed: 42,
            num_threads: 2,
        }
    }
}

/// A LightGBM parameter value, typed as the C API's parameter string reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A real number (written in Rust's shortest round-trip form).
    Float(f64),
    /// A word (`true`, `regression`, …).
    Str(&'static str),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Str(v) => f.write_str(v),
        }
    }
}

impl LgbmParams {
    /// Checks every field against the ranges documented on it.
    pub fn validate(&self) -> Result<(), MlError> {
        let bad = |what: &str| Err(MlError::Invalid(format!("LightGBM parameter {what}")));
        let fraction = |v: f64| v.is_finite() && v > 0.0 && v <= 1.0;
        if let Objective::Quantile { alpha } = self.objective
            && !(alpha.is_finite() && alpha > 0.0 && alpha < 1.0)
        {
            return bad(&format!("alpha = {alpha}: must be in (0, 1)"));
        }
        if self.num_leaves < 2 {
            return bad("num_leaves must be ≥ 2");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate must be finite and > 0");
        }
        if self.n_estimators == 0 || self.n_estimators > i32::MAX as u32 {
            return bad("n_estimators must be in 1..=2^31-1");
        }
        if self.min_data_in_leaf == 0 || self.min_data_in_leaf > i32::MAX as u32 {
            return bad("min_data_in_leaf must be in 1..=2^31-1");
        }
        if !fraction(self.feature_fraction) || !fraction(self.bagging_fraction) {
            return bad("feature_fraction and bagging_fraction must be in (0, 1]");
        }
        if self.bagging_freq > i32::MAX as u32 || self.seed > i32::MAX as u32 {
            return bad("bagging_freq and seed must be ≤ 2^31-1");
        }
        if self.num_threads == 0 || self.num_threads > 1024 {
            return bad("num_threads must be in 1..=1024");
        }
        Ok(())
    }

    /// The full LightGBM parameter list (after [`Self::validate`]): the fields, plus
    /// `deterministic=true` and `force_col_wise=true` (the same data, parameters and thread
    /// count give the same model bit for bit; column-wise histograms also avoid the row-wise
    /// copy of the binned data), and `verbosity=-1` (LightGBM prints nothing; errors still come
    /// back as [`MlError::LightGbm`]).
    pub fn to_lightgbm(&self) -> Result<Vec<(&'static str, ParamValue)>, MlError> {
        self.validate()?;
        use ParamValue::{Float, Int, Str};
        let mut p = Vec::with_capacity(16);
        match self.objective {
            Objective::Regression => p.push(("objective", Str("regression"))),
            Objective::Quantile { alpha } => {
                p.push(("objective", Str("quantile")));
                p.push(("alpha", Float(alpha)));
            }
            Objective::Binary => p.push(("objective", Str("binary"))),
        }
        p.extend([
            ("num_leaves", Int(i64::from(self.num_leaves))),
            ("learning_rate", Float(self.learning_rate)),
            ("num_iterations", Int(i64::from(self.n_estimators))),
            ("min_data_in_leaf", Int(i64::from(self.min_data_in_leaf))),
            ("feature_fraction", Float(self.feature_fraction)),
            ("bagging_fraction", Float(self.bagging_fraction)),
            ("bagging_freq", Int(i64::from(self.bagging_freq))),
            ("seed", Int(i64::from(self.seed))),
            ("num_threads", Int(i64::from(self.num_threads))),
            ("deterministic", Str("true")),
            ("force_col_wise", Str("true")),
            ("verbosity", Int(-1)),
        ]);
        Ok(p)
    }
}

/// The rows of one training dataset: a row-major `f32` feature matrix (NaN = missing) and one
/// finite `f32` target a row.
///
/// Filled by [`Self::push_reader`] straight from per-symbol feature files, one row at a time:
/// only labelled rows and the selected columns are copied, so memory is `4 × rows × columns`
/// bytes plus one row. Call [`Self::reserve_rows`] with the total labelled-row count (known from
/// the labels before any feature is read) to allocate the matrix once instead of growing it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSet {
    names: Vec<String>,
    file_names: Vec<String>,
    cols: Vec<usize>,
    x: Vec<f32>,
    y: Vec<f32>,
}

impl TrainingSet {
    /// An empty set for feature files whose columns are `file_columns`, keeping the columns at
    /// the indices `keep` (ascending, distinct; `None` = all).
    pub fn new(file_columns: &[String], keep: Option<&[usize]>) -> Result<Self, MlError> {
        let cols: Vec<usize> = match keep {
            None => (0..file_columns.len()).collect(),
            Some(k) => k.to_vec(),
        };
        if cols.is_empty() {
            return Err(MlError::Invalid("a training set needs ≥ 1 column".into()));
        }
        if cols.windows(2).any(|w| w[0] >= w[1]) {
            return Err(MlError::Invalid(
                "kept columns must be ascending and distinct".into(),
            ));
        }
        if let Some(&j) = cols.iter().find(|&&j| j >= file_columns.len()) {
            return Err(MlError::Invalid(format!(
                "column {j} of {}",
                file_columns.len()
            )));
        }
        Ok(TrainingSet {
            names: cols.iter().map(|&j| file_columns[j].clone()).collect(),
            file_names: file_columns.to_vec(),
            cols,
            x: Vec::new(),
            y: Vec::new(),
        })
    }

    /// Reserves room for `rows` more rows (one allocation of `4 × rows × columns` bytes).
    pub fn reserve_rows(&mut self, rows: usize) -> Result<(), MlError> {
        let values = rows
            .checked_mul(self.cols.len())
            .ok_or_else(|| MlError::Invalid(format!("{rows} rows overflow")))?;
        self.x
            .try_reserve_exact(values)
            .map_err(|e| MlError::Invalid(format!("cannot reserve {rows} rows: {e}")))?;
        self.y
            .try_reserve_exact(rows)
            .map_err(|e| MlError::Invalid(format!("cannot reserve {rows} rows: {e}")))
    }

    /// Streams every row of a feature file and keeps row `i` when `targets[i]` is `Some` finite
    /// value (`targets` has one entry a row of the file, e.g. the net return of the row's
    /// triple-barrier label, or 0/1). The file's columns must be the ones given to [`Self::new`].
    /// Returns the number of rows added.
    pub fn push_reader<R: Read>(
        &mut self,
        reader: &mut RowReader<R>,
        targets: &[Option<f64>],
    ) -> Result<usize, MlError> {
        if reader.names() != self.file_names.as_slice() {
            return Err(MlError::Invalid(
                "the feature file's columns differ from the training set's".into(),
            ));
        }
        if targets.len() != reader.timestamps().len() {
            return Err(MlError::Invalid(format!(
                "{} targets for {} rows",
                targets.len(),
                reader.timestamps().len()
            )));
        }
        let mut row = vec![0f32; self.file_names.len()];
        let mut added = 0;
        for t in targets {
            if !reader.next_row(&mut row)? {
                return Err(MlError::Invalid("the feature file ended early".into()));
            }
            if let Some(t) = t.filter(|t| t.is_finite()) {
                self.push_selected(&row, t)?;
                added += 1;
            }
        }
        Ok(added)
    }

    /// Adds one row given with all the file's columns (`row.len()` = number of file columns).
    pub fn push_row(&mut self, row: &[f32], target: f64) -> Result<(), MlError> {
        if row.len() != self.file_names.len() {
            return Err(MlError::Invalid(format!(
                "row of {} values for {} columns",
                row.len(),
                self.file_names.len()
            )));
        }
        if !target.is_finite() {
            return Err(MlError::NonFinite(self.y.len()));
        }
        self.push_selected(row, target)
    }

    fn push_selected(&mut self, row: &[f32], target: f64) -> Result<(), MlError> {
        let y = target as f32;
        if !y.is_finite() {
            return Err(MlError::NonFinite(self.y.len()));
        }
        self.x.extend(self.cols.iter().map(|&j| row[j]));
        self.y.push(y);
        Ok(())
    }

    /// Names of the kept columns, in order (the model's feature names).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Indices of the kept columns in the feature files.
    pub fn columns(&self) -> &[usize] {
        &self.cols
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.y.len()
    }

    /// Number of kept columns.
    pub fn n_cols(&self) -> usize {
        self.cols.len()
    }

    /// The feature matrix, row-major (`n_rows × n_cols`).
    pub fn features(&self) -> &[f32] {
        &self.x
    }

    /// The targets, one a row.
    pub fn targets(&self) -> &[f32] {
        &self.y
    }

    /// The matrix and the targets, giving up the set.
    pub fn into_parts(self) -> (Vec<String>, Vec<f32>, Vec<f32>) {
        (self.names, self.x, self.y)
    }
}

/// Feature selection by cumulative importance: the smallest set of features, taken by
/// decreasing importance (ties: lower index first), whose importances add up to at least
/// `keep` (e.g. 0.999) of the total. Returns the kept indices in ascending (column) order.
///
/// `importances` are non-negative and finite (e.g. LightGBM's total gain a feature); `keep` is
/// in (0, 1] (`1` keeps every feature with a non-zero importance). Zero-importance features are
/// never kept. Errors when every importance is zero
/// (the model used no feature).
pub fn select_by_importance(importances: &[f64], keep: f64) -> Result<Vec<usize>, MlError> {
    if !(keep.is_finite() && keep > 0.0 && keep <= 1.0) {
        return Err(MlError::Invalid(format!(
            "keep = {keep}: must be in (0, 1]"
        )));
    }
    if let Some(i) = importances.iter().position(|v| !v.is_finite()) {
        return Err(MlError::NonFinite(i));
    }
    if let Some(i) = importances.iter().position(|&v| v < 0.0) {
        return Err(MlError::Invalid(format!("importance {i} is negative")));
    }
    let mut order: Vec<usize> = (0..importances.len()).collect();
    order.sort_by(|&a, &b| importances[b].total_cmp(&importances[a]).then(a.cmp(&b)));
    // Summed in the same order as the running sum below.
    let total: f64 = order.iter().map(|&i| importances[i]).sum();
    if total <= 0.0 {
        return Err(MlError::Invalid(
            "every importance is zero: nothing to select".into(),
        ));
    }
    if keep >= 1.0 {
        // Every feature with any importance, even one too small to change the float sum.
        return Ok((0..importances.len())
            .filter(|&i| importances[i] > 0.0)
            .collect());
    }
    let target = keep * total;
    let mut kept = Vec::new();
    let mut sum = 0.0;
    for &i in &order {
        if sum >= target || importances[i] == 0.0 {
            break;
        }
        sum += importances[i];
        kept.push(i);
    }
    kept.sort_unstable();
    Ok(kept)
}

/// The names at `indices` (e.g. the result of [`select_by_importance`]).
pub fn names_at(names: &[String], indices: &[usize]) -> Result<Vec<String>, MlError> {
    indices
        .iter()
        .map(|&i| {
            names
                .get(i)
                .cloned()
                .ok_or_else(|| MlError::Invalid(format!("index {i} of {} names", names.len())))
        })
        .collect()
}
