//! Walk-forward validation: train/test windows over `n` bars and a driver that picks the best
//! parameters on each train window and evaluates them on the following test window.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::run::{Strategy, Trial, TrialRecord, run_search};
use crate::space::{ParamSpace, Point};

/// How the train window moves from fold to fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowMode {
    /// Train always starts at bar 0 and grows by `step` each fold.
    Anchored,
    /// Train has a fixed length and slides by `step` each fold.
    Rolling,
}

/// Walk-forward windows, in bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkForwardSpec {
    /// Train window length (bars); for anchored, the length of the first train window.
    pub train: usize,
    /// Test window length (bars).
    pub test: usize,
    /// Bars between fold starts (default: `test`, so test windows tile without overlap).
    pub step: usize,
    /// Anchored or rolling.
    pub mode: WindowMode,
}

/// One fold: half-open bar index ranges; `test` starts where `train` ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// Fold number, from 0.
    pub index: usize,
    /// Train bars.
    pub train: Range<usize>,
    /// Test bars (immediately after `train`).
    pub test: Range<usize>,
}

impl WalkForwardSpec {
    /// Rolling windows with `step = test`.
    pub fn rolling(train: usize, test: usize) -> Self {
        WalkForwardSpec {
            train,
            test,
            step: test,
            mode: WindowMode::Rolling,
        }
    }

    /// Anchored windows with `step = test`.
    pub fn anchored(train: usize, test: usize) -> Self {
        WalkForwardSpec {
            mode: WindowMode::Anchored,
            ..Self::rolling(train, test)
        }
    }

    /// Parses `train=504,test=126[,step=N][,mode=rolling|anchored]` (default mode rolling, step = test).
    pub fn parse(input: &str) -> Result<Self> {
        let err = |reason: String| SearchError::WalkForward(format!("`{input}`: {reason}"));
        let (mut train, mut test, mut step, mut mode) = (None, None, None, WindowMode::Rolling);
        for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| err(format!("`{part}` is not key=value")))?;
            let (k, v) = (k.trim(), v.trim());
            let num = || {
                v.parse::<usize>()
                    .map_err(|_| err(format!("{k} `{v}` is not a whole number of bars")))
            };
            match k {
                "train" => train = Some(num()?),
                "test" => test = Some(num()?),
                "step" => step = Some(num()?),
                "mode" => {
                    mode = match v {
                        "rolling" => WindowMode::Rolling,
                        "anchored" => WindowMode::Anchored,
                        _ => {
                            return Err(err(format!("mode `{v}` is neither rolling nor anchored")));
                        }
                    }
                }
                _ => return Err(err(format!("unknown key `{k}` (train, test, step, mode)"))),
            }
        }
        let train = train.ok_or_else(|| err("train=N is required".to_string()))?;
        let test = test.ok_or_else(|| err("test=N is required".to_string()))?;
        let spec = WalkForwardSpec {
            train,
            test,
            step: step.unwrap_or(test),
            mode,
        };
        spec.validate()?;
        Ok(spec)
    }

    fn validate(&self) -> Result<()> {
        if self.train == 0 || self.test == 0 || self.step == 0 {
            return Err(SearchError::WalkForward(format!(
                "train, test and step must be ≥ 1 bar (train={}, test={}, step={})",
                self.train, self.test, self.step
            )));
        }
        Ok(())
    }

    /// The folds over `n_bars` bars: every fold whose full test window fits (a trailing remainder
    /// shorter than `test` is not tested). Errors when not even one fold fits.
    pub fn folds(&self, n_bars: usize) -> Result<Vec<Fold>> {
        self.validate()?;
        let mut folds = Vec::new();
        for k in 0.. {
            let shift = k * self.step;
            let train = match self.mode {
                WindowMode::Rolling => shift..shift + self.train,
                WindowMode::Anchored => 0..self.train + shift,
            };
            let test = train.end..train.end + self.test;
            if test.end > n_bars {
                break;
            }
            folds.push(Fold {
                index: k,
                train,
                test,
            });
        }
        if folds.is_empty() {
            return Err(SearchError::WalkForward(format!(
                "{n_bars} bars are fewer than train + test = {} bars",
                self.train + self.test
            )));
        }
        Ok(folds)
    }
}

/// Result of one fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldResult {
    /// The fold's windows.
    pub fold: Fold,
    /// Parameters chosen on the train window (best in-sample score).
    pub params: Point,
    /// Their in-sample result (train window).
    pub in_sample: Trial,
    /// Their out-of-sample result (test window).
    pub out_of_sample: Trial,
    /// Trials evaluated on the train window.
    pub trials: u64,
}

/// Result of [`walk_forward`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkForwardOutcome {
    /// Completed folds in order (a fold interrupted by cancellation is left out).
    pub folds: Vec<FoldResult>,
    /// True when the cancel flag stopped the run early.
    pub cancelled: bool,
}

impl WalkForwardOutcome {
    /// The out-of-sample test ranges in order: what the caller stitches into one OOS equity curve
    /// (with [`FoldResult::params`] of each fold).
    pub fn oos_ranges(&self) -> Vec<Range<usize>> {
        self.folds.iter().map(|f| f.fold.test.clone()).collect()
    }

    /// Mean in-sample and mean out-of-sample score over the folds (NaN scores skipped; NaN when
    /// none): the side-by-side figures of the report. Their ratio OOS/IS is the walk-forward
    /// efficiency.
    pub fn mean_scores(&self) -> (f64, f64) {
        let mean = |f: &dyn Fn(&FoldResult) -> f64| {
            let v: Vec<f64> = self.folds.iter().map(f).filter(|x| !x.is_nan()).collect();
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        (
            mean(&|f| f.in_sample.score),
            mean(&|f| f.out_of_sample.score),
        )
    }
}

/// Walk-forward driver. For each fold: [`run_search`] with `budget` trials scoring
/// `objective(point, fold.train)`, then `objective(best, fold.test)` once. `on_trial(fold_index,
/// record)` receives every train trial as it finishes. Folds run one after the other, each on all
/// cores. Errors when every trial of a fold failed (NaN score).
pub fn walk_forward<F, C>(
    space: &ParamSpace,
    strategy: &Strategy,
    budget: u64,
    folds: &[Fold],
    objective: F,
    on_trial: C,
    cancel: &AtomicBool,
) -> Result<WalkForwardOutcome>
where
    F: Fn(&Point, Range<usize>) -> Trial + Sync,
    C: Fn(usize, &TrialRecord) + Sync,
{
    let mut out = Vec::with_capacity(folds.len());
    for fold in folds {
        if cancel.load(Ordering::Relaxed) {
            return Ok(WalkForwardOutcome {
                folds: out,
                cancelled: true,
            });
        }
        let train = fold.train.clone();
        let outcome = run_search(
            space,
            strategy,
            budget,
            &[],
            |p| objective(p, train.clone()),
            |r| on_trial(fold.index, r),
            cancel,
        )?;
        if outcome.cancelled {
            return Ok(WalkForwardOutcome {
                folds: out,
                cancelled: true,
            });
        }
        let best = outcome.best.ok_or_else(|| {
            SearchError::WalkForward(format!(
                "fold {} (train bars {:?}): every trial failed (NaN score)",
                fold.index, fold.train
            ))
        })?;
        let out_of_sample = objective(&best.point, fold.test.clone());
        out.push(FoldResult {
            fold: fold.clone(),
            params: best.point,
            in_sample: best.trial,
            out_of_sample,
            trials: outcome.new_trials,
        });
    }
    Ok(WalkForwardOutcome {
        folds: out,
        cancelled: false,
    })
}
