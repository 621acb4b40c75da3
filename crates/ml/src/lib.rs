//! `pulse-ml`: the ML trading pipeline of issue 16 (spec §7), first slice, pure Rust.
//!
//! * [`features`] — per-symbol features from 1-minute bars, stored as `f32`: returns over several
//!   horizons and the indicator set on 1-minute bars and on 15-minute and 1-hour bars resampled
//!   from them, joined as of the last **closed** higher-timeframe bar (no look-ahead). The list
//!   with formulas is in `docs/ml-features.md`.
//! * [`cross`] — rolling correlation and lead-lag with leader symbols, a daily index (Fear &
//!   Greed) as of the previous day.
//! * [`hmm`] — a one-dimensional Gaussian HMM (Baum-Welch, Viterbi, filtered probabilities) for
//!   volatility regimes, checked against Python's `hmmlearn`.
//! * [`labels`] — triple-barrier labels (take-profit / stop-loss at k·ATR, vertical barrier).
//! * [`pipeline`] — one symbol's full frame (own features, leaders, Fear & Greed, HMM regimes
//!   fitted on the training window only).
//! * [`store`] — a per-symbol binary `f32` feature file, written and streamed row by row, and
//!   the symbol's label file.
//! * [`split`] — the time-ordered train / validation / test split with an embargo.
//! * [`eval`] — trades from predictions held to their triple-barrier exits, profit factor,
//!   expectancy, hit rate and the equity curve (out of sample, after costs).
//! * [`model`] — LightGBM training parameters, the training rows streamed from feature files,
//!   and the feature selection by cumulative importance (no LightGBM needed).
//! * `lgbm` (cargo feature `lightgbm`) — LightGBM models via the `lightgbm3` bindings: train,
//!   save and load in LightGBM's text format, predict, gain importances.
//!
//! Pure computation: no file system or network access of its own (the feature file goes through
//! any `Read`/`Write`), except `lgbm`'s model save and load.

pub mod cross;
pub mod error;
pub mod eval;
pub mod features;
pub mod hmm;
pub mod labels;
#[cfg(feature = "lightgbm")]
pub mod lgbm;
pub mod model;
pub mod pipeline;
pub mod split;
pub mod store;

pub use error::MlError;
pub use hmm::{FitConfig, FitReport, GaussianHmm};
