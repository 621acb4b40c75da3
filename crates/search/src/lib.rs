//! `pulse-search`: parameter search and honest validation, pure (no I/O, no async).
//!
//! * [`ParamSpace`]: named integer/float parameters with ranges and steps (`rsi_high=60:85:1`),
//!   constraints (`rsi_low < rsi_high`), a lazy grid (index ↔ point, never materialized).
//! * [`run_search`] / [`Search`]: [`Strategy::Grid`], [`Strategy::SampledGrid`] (the grid, or a
//!   seeded uniform sample of it when larger than the budget), [`Strategy::Random`] or
//!   [`Strategy::Tpe`] (Optuna-style TPE, see [`tpe`]) on all cores with rayon, streaming each
//!   finished trial to a callback, cancellable, resumable from stored trials, runnable in steps;
//!   random and TPE never evaluate a point twice.
//! * [`WalkForwardSpec`] / [`walk_forward`]: anchored or rolling train/test folds; best parameters
//!   per train window evaluated on the next test window.
//! * [`overfit`]: probabilistic and deflated Sharpe ratio, PBO by CSCV (formulas in its docs).
//! * [`analysis`]: top-N trials (bounded memory), parameter importance (η²), 2-D heatmaps.
//! * [`normal`]: Φ, Φ⁻¹ to full double precision without a statistics dependency.

//!
//! # Example: a resumable, cancellable sweep with progress, then walk-forward
//!
//! ```
//! use std::sync::Mutex;
//! use std::sync::atomic::AtomicBool;
//! use pulse_search::*;
//!
//! # fn main() -> Result<()> {
//! // `pulse sweep --param rsi_high=60:85:1 --param rsi_low=15:40:1 --constraint "rsi_low < rsi_high"`
//! let space = ParamSpace::parse(&["rsi_high=60:85:1", "rsi_low=15:40:1"], &["rsi_low < rsi_high"])?;
//! let objective = |p: &Point| {
//!     let (hi, lo) = (p.get("rsi_high").unwrap_or(0.0), p.get("rsi_low").unwrap_or(0.0));
//!     Trial::new(-(hi - 72.0).powi(2) - (lo - 28.0).powi(2)).with_metric("gap", hi - lo)
//! };
//! let cancel = AtomicBool::new(false); // set from a Ctrl-C handler
//! let top = Mutex::new(TopTrials::new(10));
//! // --jobs N: run inside `rayon::ThreadPoolBuilder::new().num_threads(N).build()?.install(...)`.
//! let stored: Vec<TrialRecord> = Vec::new(); // trials read back from the store on restart
//! let out = run_search(&space, &Strategy::Tpe(TpeConfig::seeded(42)), 200, &stored, objective,
//!     |rec| {
//!         // store `rec` (rec.number, rec.point.pairs(), rec.trial), tick the progress bar
//!         top.lock().unwrap_or_else(|e| e.into_inner()).offer(rec);
//!     },
//!     &cancel)?;
//! assert_eq!(out.total_trials, 200);
//! let best = out.best.expect("some trial succeeded");
//! assert!(best.trial.score > -10.0);
//!
//! // `--walk-forward train=504,test=126` over 1,000 bars: objective over (params, bar range).
//! let folds = WalkForwardSpec::parse("train=504,test=126")?.folds(1000)?;
//! let wf = walk_forward(&space, &Strategy::Grid, u64::MAX, &folds,
//!     |p: &Point, bars: std::ops::Range<usize>| objective(p).with_metric("bars", bars.len() as f64),
//!     |_fold, _rec| {}, &cancel)?;
//! let (in_sample, out_of_sample) = wf.mean_scores();
//! assert_eq!(wf.folds.len(), 3);
//! assert!(in_sample >= out_of_sample - 1e-12);
//! # Ok(())
//! # }
//! ```

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
pub use run::{Search, SearchOutcome, Strategy, Trial, TrialRecord, ask, run_search};
pub use space::{CmpOp, Constraint, GridIter, Param, ParamSpace, ParamSpec, Point, parse_param};
pub use tpe::TpeConfig;
pub use walk::{Fold, FoldResult, WalkForwardOutcome, WalkForwardSpec, WindowMode, walk_forward};
