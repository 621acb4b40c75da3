//! `pulse-search`: parameter search and honest validation, pure (no I/O, no async).
//!
//! * [`ParamSpace`]: named integer/float parameters with ranges and steps (`rsi_high=60:85:1`),
//!   constraints (`rsi_low < rsi_high`), a lazy grid (index ↔ point, never materialized).
//! * [`run_search`]: [`Strategy::Grid`], [`Strategy::Random`] or [`Strategy::Tpe`] (Optuna-style
//!   TPE, see [`tpe`]) on all cores with rayon, streaming each finished trial to a callback,
//!   cancellable, resumable from stored trials.
//! * [`WalkForwardSpec`] / [`walk_forward`]: anchored or rolling train/test folds; best parameters
//!   per train window evaluated on the next test window.
//! * [`overfit`]: probabilistic and deflated Sharpe ratio, PBO by CSCV (formulas in its docs).
//! * [`analysis`]: top-N trials (bounded memory), parameter importance (η²), 2-D heatmaps.
//! * [`normal`]: Φ, Φ⁻¹ to full double precision without a statistics dependency.

pub mod analysis;
pub mod error;
pub mod normal;
pub mod overfit;
pub mod run;
pub mod space;
pub mod tpe;
pub mod walk;

pub use analysis::{Aggregate, Axis, Heatmap, TopTrials, heatmap, param_importance, top_trials};
pub use error::{Result, SearchError};
pub use overfit::{
    BlockMoments, DeflatedSharpe, Pbo, PboMetric, ReturnStats, block_moments,
    deflated_sharpe_ratio, deflated_sharpe_ratio_with, expected_max_sharpe, pbo_cscv,
    pbo_cscv_blocks, probabilistic_sharpe_ratio, return_stats,
};
pub use run::{SearchOutcome, Strategy, Trial, TrialRecord, run_search};
pub use space::{CmpOp, Constraint, GridIter, Param, ParamSpace, ParamSpec, Point, parse_param};
pub use tpe::TpeConfig;
pub use walk::{Fold, FoldResult, WalkForwardOutcome, WalkForwardSpec, WindowMode, walk_forward};
