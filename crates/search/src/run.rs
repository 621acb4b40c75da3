//! The search driver: grid, random or TPE trials evaluated in parallel on rayon's pool, streamed to a
//! callback as they finish, cancellable, resumable from stored trials.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::space::{ParamSpace, Point};
use crate::tpe::{Observation, TpeConfig, TpeModel, random_point, trial_rng};

/// Candidates taken from the lazy grid per parallel round: bounds memory whatever the grid size.
const GRID_CHUNK: usize = 4096;

/// How points are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Strategy {
    /// Every feasible grid point in index order (the first `budget` of them).
    Grid,
    /// Uniformly random feasible points (uniform over each parameter's grid values when stepped).
    Random {
        /// Seed; trial `k` uses an RNG seeded from `(seed, k)`.
        seed: u64,
    },
    /// Tree-structured Parzen estimator.
    Tpe(TpeConfig),
}

/// What the objective returns for one point.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Trial {
    /// Objective value; higher is better. NaN marks a failed trial (never chosen as best).
    pub score: f64,
    /// Any other figures the caller wants stored with the trial (e.g. `("max_drawdown", -0.21)`).
    pub metrics: Vec<(String, f64)>,
}

impl Trial {
    /// A trial with only a score.
    pub fn new(score: f64) -> Self {
        Trial {
            score,
            metrics: Vec::new(),
        }
    }

    /// Adds a named metric (builder).
    pub fn with_metric(mut self, name: &str, value: f64) -> Self {
        self.metrics.push((name.to_string(), value));
        self
    }

    /// Value of metric `name`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// A finished trial: its number, point and result. The number identifies the trial within a study:
/// the grid index for [`Strategy::Grid`], the suggestion sequence number otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialRecord {
    /// Grid index (grid) or sequence number (random, TPE).
    pub number: u64,
    /// Parameter values.
    pub point: Point,
    /// Objective result.
    pub trial: Trial,
}

/// Summary of a [`run_search`] call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchOutcome {
    /// Trials evaluated by this call.
    pub new_trials: u64,
    /// Trials finished in the study (given `done` + new).
    pub total_trials: u64,
    /// True when the cancel flag stopped the run before the budget was used.
    pub cancelled: bool,
    /// True when a grid ran out of feasible points before the budget.
    pub exhausted: bool,
    /// Best finished trial (highest non-NaN score, ties to the lowest number), `done` included.
    pub best: Option<TrialRecord>,
}

fn better(a: &TrialRecord, b: &TrialRecord) -> bool {
    let (x, y) = (a.trial.score, b.trial.score);
    if x.is_nan() {
        return false;
    }
    y.is_nan() || x > y || (x == y && a.number < b.number)
}

struct Shared<'a, C> {
    best: Mutex<Option<TrialRecord>>,
    count: AtomicU64,
    on_trial: &'a C,
}

impl<C: Fn(&TrialRecord) + Sync> Shared<'_, C> {
    fn offer(&self, rec: &TrialRecord) {
        // A panic in another worker's callback poisons the lock; the best-so-far is still valid.
        let mut best = self.best.lock().unwrap_or_else(|e| e.into_inner());
        if best.as_ref().is_none_or(|b| better(rec, b)) {
            *best = Some(rec.clone());
        }
    }

    fn finish(&self, rec: TrialRecord) -> TrialRecord {
        self.count.fetch_add(1, Ordering::Relaxed);
        (self.on_trial)(&rec);
        self.offer(&rec);
        rec
    }
}

/// Runs a search of `budget` trials in total (trials in `done` count towards it) on rayon's global
/// pool (`rayon::ThreadPoolBuilder` in the caller sets `--jobs`).
///
/// * `objective` is called once per new point, in parallel; higher scores are better.
/// * `on_trial` is called from the worker threads as each trial finishes (store it, advance a
///   progress bar); calls are concurrent, in completion order.
/// * `cancel`: once set, no new trial starts; trials already running finish and are reported.
/// * `done`: trials already finished in this study (e.g. read back from the store); they are not
///   redone: the grid skips their indices, random skips their numbers, TPE seeds its history with them.
///
/// `done` must come from the same study (same space and strategy: trial numbers mean grid indices
/// for the grid, sequence numbers otherwise). Random and TPE run exactly `budget` trials in total,
/// so give them a finite budget; the grid stops early when its feasible points run out.
///
/// Same space, strategy, budget and `done` ⇒ same set of trials (order of callbacks aside).
pub fn run_search<F, C>(
    space: &ParamSpace,
    strategy: &Strategy,
    budget: u64,
    done: &[TrialRecord],
    objective: F,
    on_trial: C,
    cancel: &AtomicBool,
) -> Result<SearchOutcome>
where
    F: Fn(&Point) -> Trial + Sync,
    C: Fn(&TrialRecord) + Sync,
{
    if space.is_empty() {
        return Err(SearchError::InvalidSpace("no parameters".to_string()));
    }
    for rec in done {
        if rec.point.values().len() != space.len() {
            return Err(SearchError::InvalidSpace(format!(
                "stored trial {} has {} values, space has {} parameters",
                rec.number,
                rec.point.values().len(),
                space.len()
            )));
        }
    }
    let shared = Shared {
        best: Mutex::new(None),
        count: AtomicU64::new(0),
        on_trial: &on_trial,
    };
    for rec in done {
        shared.offer(rec);
    }
    let already = done.len() as u64;
    let remaining = budget.saturating_sub(already);
    let eval = |number: u64, point: Point| -> TrialRecord {
        let trial = objective(&point);
        shared.finish(TrialRecord {
            number,
            point,
            trial,
        })
    };
    let mut exhausted = false;
    match strategy {
        Strategy::Grid => {
            let skip: HashSet<u64> = done.iter().map(|r| r.number).collect();
            let mut grid = space.grid()?;
            let mut left = remaining;
            while left > 0 && !cancel.load(Ordering::Relaxed) {
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(GRID_CHUNK);
                let chunk: Vec<(u64, Point)> = grid
                    .by_ref()
                    .filter(|(i, _)| !skip.contains(i))
                    .take(take)
                    .collect();
                if chunk.is_empty() {
                    exhausted = true;
                    break;
                }
                left -= chunk.len() as u64;
                chunk.into_par_iter().for_each(|(i, p)| {
                    if !cancel.load(Ordering::Relaxed) {
                        eval(i, p);
                    }
                });
            }
        }
        Strategy::Random { seed } => {
            let skip: HashSet<u64> = done.iter().map(|r| r.number).collect();
            let mut next: u64 = 0;
            let mut left = remaining;
            while left > 0 && !cancel.load(Ordering::Relaxed) {
                let take = left.min(GRID_CHUNK as u64);
                let mut numbers = Vec::with_capacity(take as usize);
                while (numbers.len() as u64) < take {
                    if !skip.contains(&next) {
                        numbers.push(next);
                    }
                    next += 1;
                }
                left -= take;
                numbers.into_par_iter().try_for_each(|k| -> Result<()> {
                    if !cancel.load(Ordering::Relaxed) {
                        let values = random_point(space, &mut trial_rng(*seed, k))?;
                        eval(k, space.make_point(values));
                    }
                    Ok(())
                })?;
            }
        }
        Strategy::Tpe(cfg) => {
            cfg.validate()?;
            let mut history: Vec<Observation> = done
                .iter()
                .map(|r| Observation {
                    number: r.number,
                    values: r.point.values().to_vec(),
                    score: r.trial.score,
                })
                .collect();
            history.sort_by_key(|o| o.number);
            let mut next = history.last().map_or(0, |o| o.number + 1);
            let mut left = remaining;
            while left > 0 && !cancel.load(Ordering::Relaxed) {
                let batch = left.min(cfg.batch as u64);
                let numbers: Vec<u64> = (next..next + batch).collect();
                next += batch;
                left -= batch;
                // Suggestions first (sequential: with the constant liar each one sees the batch's
                // earlier suggestions as pending worst trials), then evaluation in parallel.
                let mut pending: Vec<Observation> = Vec::with_capacity(numbers.len());
                let mut model = TpeModel::build(space, cfg, &history, &pending);
                for &k in &numbers {
                    let values = match &model {
                        Some(m) => m.suggest(space, cfg, k)?,
                        None => random_point(space, &mut trial_rng(cfg.seed, k))?,
                    };
                    pending.push(Observation {
                        number: k,
                        values,
                        score: f64::NAN,
                    });
                    if cfg.constant_liar && model.is_some() && pending.len() < numbers.len() {
                        model = TpeModel::build(space, cfg, &history, &pending);
                    }
                }
                let mut results: Vec<Option<Observation>> = pending
                    .into_par_iter()
                    .map(|mut obs| {
                        if cancel.load(Ordering::Relaxed) {
                            return None;
                        }
                        let rec = eval(obs.number, space.make_point(obs.values));
                        obs.values = rec.point.values().to_vec();
                        obs.score = rec.trial.score;
                        Some(obs)
                    })
                    .collect();
                history.extend(results.drain(..).flatten());
            }
        }
    }
    let new_trials = shared.count.load(Ordering::Relaxed);
    let best = shared.best.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(SearchOutcome {
        new_trials,
        total_trials: already + new_trials,
        cancelled: cancel.load(Ordering::Relaxed) && already + new_trials < budget && !exhausted,
        exhausted,
        best,
    })
}
