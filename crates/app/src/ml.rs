//! The ML pipeline's use cases (issue 16, spec §7): features → train → evaluate, and the run
//! records that track them. The computation is `pulse-ml`'s; this module moves data between the
//! store, the feature directory and the model files, and reports progress.
//!
//! - [`features`]: each stored symbol's 1-minute bars streamed from the `Store` (one symbol at
//!   a time) into a feature directory: `<SYMBOL>.features` (f32 rows), `<SYMBOL>.labels`
//!   (triple-barrier labels with dynamic barriers) and `manifest.json`.
//! - [`train`]: the time-ordered split with an embargo ([`pulse_ml::split`]), LightGBM on the
//!   net return after costs and its 5 % quantile, feature selection keeping 99.9 % of the gain
//!   importance, the models saved in LightGBM's text format into a directory that appears only
//!   when complete (cargo feature `ml`; the dataset and split parts build without it).
//! - [`evaluate`]: the models traded on the test period only ([`pulse_ml::eval`]): profit
//!   factor, expectancy, trades, hit rate and the equity curve (the predictions themselves need
//!   the `ml` feature; evaluating given predictions does not).
//! - [`runs`]: every train and evaluate run recorded in the store as the document
//!   `ml/runs/<id>` (parameters, metrics, feature list, data window, artifact paths), listed
//!   through the index document `ml/runs`.
//! - [`report`]: the evaluation's HTML page (metrics table and equity curve).

#[path = "ml_evaluate.rs"]
pub mod evaluate;
#[path = "ml_features.rs"]
pub mod features;
#[path = "ml_report.rs"]
pub mod report;
#[path = "ml_runs.rs"]
pub mod runs;
#[path = "ml_train.rs"]
pub mod train;

use std::path::{Path, PathBuf};

use crate::AppError;
use pulse_ml::MlError;

/// The feature directory's manifest file name.
pub const MANIFEST: &str = "manifest.json";
/// The model directory's description file name (split, parameters, models, features).
pub const TRAIN_FILE: &str = "train.json";

/// `<dir>/<SYMBOL>.features`.
pub fn features_path(dir: &Path, symbol: &str) -> PathBuf {
    dir.join(format!("{symbol}.features"))
}

/// `<dir>/<SYMBOL>.labels`.
pub fn labels_path(dir: &Path, symbol: &str) -> PathBuf {
    dir.join(format!("{symbol}.labels"))
}

/// An ML computation's failure, naming what it was working on.
pub(crate) fn ml_error(context: impl std::fmt::Display, e: MlError) -> AppError {
    match e {
        MlError::Invalid(m) => AppError::Data(format!("{context}: {m}")),
        e => AppError::Data(format!("{context}: {e}")),
    }
}

pub(crate) use crate::export::write_atomic;

/// `<path>.tmp`.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Reads and parses a JSON file, naming it in errors.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, AppError> {
    let text = std::fs::read_to_string(path).map_err(|source| AppError::File {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| AppError::Data(format!("{}: {e}", path.display())))
}

/// Encodes `value` as pretty JSON.
pub(crate) fn to_json<T: serde::Serialize>(
    what: &'static str,
    value: &T,
) -> Result<String, AppError> {
    serde_json::to_string_pretty(value).map_err(|source| AppError::Encode { what, source })
}

/// Opens a file for reading, naming it in errors.
pub(crate) fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>, AppError> {
    std::fs::File::open(path)
        .map(std::io::BufReader::new)
        .map_err(|source| AppError::File {
            path: path.to_path_buf(),
            source,
        })
}
