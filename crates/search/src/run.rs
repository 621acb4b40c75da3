//! The search driver: grid, random or TPE trials evaluated in parallel on rayon's pool, streamed to a
//! callback as they finish, cancellable, resumable from stored trials, and runnable in steps
//! ([`Search`]) so that a caller can store finished trials between steps.
//!
//! A trial is a distinct point: random and TPE draw again when they land on a point already
//! evaluated (stored or new), so no point is evaluated or counted twice (the number of trials is
//! what the deflated Sharpe ratio deflates by).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::space::{ParamSpace, Point};
use crate::tpe::{Observation, TpeConfig, TpeModel, mix, random_point, trial_rng};
use rand::RngExt;
use rand::rngs::StdRng;

/// Candidates taken from the lazy grid per parallel round: bounds memory whatever the grid size.
const GRID_CHUNK: usize = 4096;

/// Draws of a random or TPE trial that may land on already evaluated points before the search
/// looks for a new point otherwise (see [`Fresh::draw`]).
const MAX_REDRAWS: u64 = 64;

/// Of those, the draws a TPE trial takes from its model before drawing uniformly at random.
const MODEL_REDRAWS: u64 = 8;

/// Grids (before constraints) up to this many points have their feasible points counted, so that
/// random and TPE know when every one of them was tried.
const COUNT_LIMIT: u64 = 1 << 20;

/// How points are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Strategy {
    /// Every feasible grid point in index order (the first `budget` of them).
    Grid,
    /// The grid, fairly within a budget: every feasible point in index order when the grid has at
    /// most `budget` points (before constraints), as [`Strategy::Grid`]; otherwise `budget`
    /// feasible points drawn uniformly at random without replacement (a permutation of the grid
    /// indices seeded by `seed`), instead of the first corner of a grid far larger than the
    /// budget. Trial numbers are grid indices either way.
    SampledGrid {
        /// Seed of the permutation.
        seed: u64,
    },
    /// Uniformly random feasible points (uniform over each parameter's grid values when stepped),
    /// each distinct.
    Random {
        /// Seed; trial `k` uses an RNG seeded from `(seed, k)`.
        seed: u64,
    },
    /// Tree-structured Parzen estimator; a suggestion of an evaluated point is drawn again.
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
    /// True when the space ran out of new feasible points before the budget: a grid walked to
    /// its end, or random/TPE found no point that was not evaluated yet.
    pub exhausted: bool,
    /// Best finished trial (highest non-NaN score, ties to the lowest number), `done` included.
    pub best: Option<TrialRecord>,
    /// True when the points were drawn at random from a grid larger than the budget
    /// ([`Strategy::SampledGrid`]).
    pub sampled: bool,
    /// Draws of random or TPE that landed on an already evaluated point and were drawn again
    /// (neither evaluated nor counted as trials).
    pub redrawn: u64,
}

fn better(a: &TrialRecord, b: &TrialRecord) -> bool {
    let (x, y) = (a.trial.score, b.trial.score);
    if x.is_nan() {
        return false;
    }
    y.is_nan() || x > y || (x == y && a.number < b.number)
}

fn offer(best: &mut Option<TrialRecord>, rec: &TrialRecord) {
    if best.as_ref().is_none_or(|b| better(rec, b)) {
        *best = Some(rec.clone());
    }
}

struct Shared<'a, C> {
    best: Mutex<Option<TrialRecord>>,
    count: AtomicU64,
    on_trial: &'a C,
}

impl<C: Fn(&TrialRecord) + Sync> Shared<'_, C> {
    fn finish(&self, rec: TrialRecord) -> TrialRecord {
        self.count.fetch_add(1, Ordering::Relaxed);
        (self.on_trial)(&rec);
        // A panic in another worker's callback poisons the lock; the best-so-far is still valid.
        offer(
            &mut self.best.lock().unwrap_or_else(|e| e.into_inner()),
            &rec,
        );
        rec
    }
}

/// A seeded pseudo-random permutation of `0..n`: a 4-round balanced Feistel network on the
/// smallest even number of bits covering `n`, cycle-walked back into range (fewer than 4 steps on
/// average). O(1) memory whatever `n`.
#[derive(Debug, Clone)]
struct Permutation {
    n: u64,
    half: u32,
    keys: [u64; 4],
}

impl Permutation {
    fn new(n: u64, seed: u64) -> Self {
        let bits = (64 - (n.max(2) - 1).leading_zeros()).max(2);
        Permutation {
            n,
            half: bits.div_ceil(2),
            keys: [0, 1, 2, 3].map(|i| mix(seed, i)),
        }
    }

    fn feistel(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half) - 1;
        let (mut left, mut right) = (x >> self.half, x & mask);
        for key in self.keys {
            let f = mix(key, right) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half) | right
    }

    /// The `i`-th index of the permutation (`i < n`).
    fn at(&self, i: u64) -> u64 {
        let mut x = self.feistel(i);
        while x >= self.n {
            x = self.feistel(x);
        }
        x
    }
}

/// The identity of a point (value bits; `-0.0` as `0.0`).
fn point_key(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| (v + 0.0).to_bits()).collect()
}

/// The RNG number of draw `attempt` of trial `number`: the trial's own number first (so a search
/// without repeats draws what it always drew), then numbers outside any trial's range.
fn redraw_number(number: u64, attempt: u64) -> u64 {
    if attempt == 0 {
        number
    } else {
        mix(number, attempt) | (1 << 63)
    }
}

/// The points already evaluated (or suggested) by a random or TPE search, and how to find a new
/// one.
#[derive(Debug)]
struct Fresh {
    seen: HashSet<Vec<u64>>,
    /// Number of feasible points when the grid is small enough to count them (all stepped).
    feasible: Option<u64>,
    /// Grid indices not yet drawn, listed once the draws keep repeating (small grids only).
    unseen: Option<Vec<u64>>,
}

impl Fresh {
    fn new(space: &ParamSpace, done: &[TrialRecord]) -> Self {
        let feasible = space
            .grid_size()
            .ok()
            .filter(|&n| n <= COUNT_LIMIT)
            .and_then(|_| space.grid().ok())
            .map(|grid| grid.count() as u64);
        Fresh {
            seen: done.iter().map(|r| point_key(r.point.values())).collect(),
            feasible,
            unseen: None,
        }
    }

    /// A feasible point not seen yet, marked as seen: `candidate(attempt)` for attempts 0, 1, …
    /// up to [`MAX_REDRAWS`]; then, on a small grid, an unseen grid point drawn with `rng`.
    /// `None` when the space has no new point left (every feasible grid point seen, or
    /// [`MAX_REDRAWS`] repeats on a space too large to list).
    fn draw(
        &mut self,
        space: &ParamSpace,
        redrawn: &mut u64,
        mut candidate: impl FnMut(u64) -> Result<Vec<f64>>,
        rng: &mut StdRng,
    ) -> Result<Option<Vec<f64>>> {
        if self.feasible.is_some_and(|n| self.seen.len() as u64 >= n) {
            return Ok(None);
        }
        for attempt in 0..MAX_REDRAWS {
            let values = candidate(attempt)?;
            if self.seen.insert(point_key(&values)) {
                return Ok(Some(values));
            }
            *redrawn += 1;
        }
        if self.feasible.is_none() {
            return Ok(None);
        }
        let unseen = self.unseen.get_or_insert_with(|| {
            space
                .grid()
                .map(|g| g.map(|(i, _)| i).collect())
                .unwrap_or_default()
        });
        let mut values = Vec::with_capacity(space.len());
        while !unseen.is_empty() {
            let index = unseen.swap_remove(rng.random_range(0..unseen.len()));
            if space.grid_values_into(index, &mut values) && self.seen.insert(point_key(&values)) {
                return Ok(Some(values));
            }
        }
        Ok(None)
    }
}

/// Where a [`Search`] stands in its strategy's sequence of points.
#[derive(Debug)]
enum Walk<'s> {
    Grid {
        grid: crate::space::GridIter<'s>,
        skip: HashSet<u64>,
    },
    Sampled {
        order: Permutation,
        position: u64,
        skip: HashSet<u64>,
    },
    Random {
        seed: u64,
        next: u64,
        skip: HashSet<u64>,
        fresh: Fresh,
    },
    Tpe {
        cfg: TpeConfig,
        history: Vec<Observation>,
        next: u64,
        fresh: Fresh,
    },
}

/// A search run in steps: [`Search::run`] evaluates up to a number of new trials and returns, so
/// that the caller can store them (or check a deadline) before the next step. The sequence of
/// points does not depend on how the search is cut into steps. [`run_search`] is one step to the
/// end.
#[derive(Debug)]
pub struct Search<'s> {
    space: &'s ParamSpace,
    budget: u64,
    already: u64,
    new_trials: u64,
    best: Option<TrialRecord>,
    exhausted: bool,
    sampled: bool,
    redrawn: u64,
    walk: Walk<'s>,
}

impl<'s> Search<'s> {
    /// A search of `budget` trials in total over `space` (trials in `done` count towards it and
    /// are not redone: see [`run_search`]).
    pub fn new(
        space: &'s ParamSpace,
        strategy: &Strategy,
        budget: u64,
        done: &[TrialRecord],
    ) -> Result<Self> {
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
        let mut best = None;
        for rec in done {
            offer(&mut best, rec);
        }
        let numbers = || done.iter().map(|r| r.number).collect::<HashSet<u64>>();
        let mut sampled = false;
        let walk = match strategy {
            Strategy::Grid => Walk::Grid {
                grid: space.grid()?,
                skip: numbers(),
            },
            Strategy::SampledGrid { seed } => {
                let size = space.grid_size()?;
                if size <= budget {
                    Walk::Grid {
                        grid: space.grid()?,
                        skip: numbers(),
                    }
                } else {
                    sampled = true;
                    Walk::Sampled {
                        order: Permutation::new(size, *seed),
                        position: 0,
                        skip: numbers(),
                    }
                }
            }
            Strategy::Random { seed } => Walk::Random {
                seed: *seed,
                next: 0,
                skip: numbers(),
                fresh: Fresh::new(space, done),
            },
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
                Walk::Tpe {
                    cfg: *cfg,
                    next: history.last().map_or(0, |o| o.number + 1),
                    history,
                    fresh: Fresh::new(space, done),
                }
            }
        };
        Ok(Search {
            space,
            budget,
            already: done.len() as u64,
            new_trials: 0,
            best,
            exhausted: false,
            sampled,
            redrawn: 0,
            walk,
        })
    }

    /// Trials still to run within the budget.
    pub fn remaining(&self) -> u64 {
        self.budget
            .saturating_sub(self.already.saturating_add(self.new_trials))
    }

    /// True when nothing is left to run: the budget is spent or the space exhausted.
    pub fn is_finished(&self) -> bool {
        self.remaining() == 0 || self.exhausted
    }

    /// Evaluates new trials in parallel until at least `max_new` ran in this call (TPE runs whole
    /// batches, so a few more may), the budget is spent, the space is exhausted or `cancel` is
    /// set; returns how many ran. `objective` and `on_trial` as in [`run_search`].
    pub fn run<F, C>(
        &mut self,
        max_new: u64,
        objective: F,
        on_trial: C,
        cancel: &AtomicBool,
    ) -> Result<u64>
    where
        F: Fn(&Point) -> Trial + Sync,
        C: Fn(&TrialRecord) + Sync,
    {
        let shared = Shared {
            best: Mutex::new(None),
            count: AtomicU64::new(0),
            on_trial: &on_trial,
        };
        let eval = |number: u64, point: Point| -> TrialRecord {
            let trial = objective(&point);
            shared.finish(TrialRecord {
                number,
                point,
                trial,
            })
        };
        let space = self.space;
        let mut left = self.remaining();
        let mut ran: u64 = 0;
        let mut exhausted = false;
        let mut redrawn: u64 = 0;
        while left > 0 && ran < max_new && !exhausted && !cancel.load(Ordering::Relaxed) {
            let want = left.min(max_new - ran);
            let take = usize::try_from(want).unwrap_or(usize::MAX).min(GRID_CHUNK);
            // Points of this round, chosen sequentially (deterministic), evaluated in parallel.
            let chunk: Vec<(u64, Point)> = match &mut self.walk {
                Walk::Grid { grid, skip } => grid
                    .by_ref()
                    .filter(|(i, _)| !skip.contains(i))
                    .take(take)
                    .collect(),
                Walk::Sampled {
                    order,
                    position,
                    skip,
                } => {
                    let mut chunk = Vec::with_capacity(take);
                    let mut values = Vec::with_capacity(space.len());
                    while chunk.len() < take && *position < order.n {
                        let index = order.at(*position);
                        *position += 1;
                        if !skip.contains(&index)
                            && space.grid_values_into(index, &mut values)
                            && space.is_feasible(&values)
                        {
                            chunk.push((index, space.make_point(values.clone())));
                        }
                    }
                    chunk
                }
                Walk::Random {
                    seed,
                    next,
                    skip,
                    fresh,
                } => {
                    let mut chunk = Vec::with_capacity(take);
                    while chunk.len() < take {
                        let k = *next;
                        *next += 1;
                        if skip.contains(&k) {
                            continue;
                        }
                        let seed = *seed;
                        let mut rng = trial_rng(seed, redraw_number(k, MAX_REDRAWS));
                        let drawn = fresh.draw(
                            space,
                            &mut redrawn,
                            |attempt| {
                                random_point(space, &mut trial_rng(seed, redraw_number(k, attempt)))
                            },
                            &mut rng,
                        )?;
                        match drawn {
                            Some(values) => chunk.push((k, space.make_point(values))),
                            None => {
                                exhausted = true;
                                break;
                            }
                        }
                    }
                    chunk
                }
                Walk::Tpe {
                    cfg,
                    history,
                    next,
                    fresh,
                } => {
                    let batch = left.min(cfg.batch as u64);
                    // Suggestions first (sequential: with the constant liar each one sees the
                    // batch's earlier suggestions as pending worst trials), then evaluation in
                    // parallel.
                    let mut pending: Vec<Observation> = Vec::with_capacity(batch as usize);
                    let mut model = TpeModel::build(space, cfg, history, &pending);
                    for k in *next..*next + batch {
                        let mut rng = trial_rng(cfg.seed, redraw_number(k, MAX_REDRAWS));
                        let drawn = fresh.draw(
                            space,
                            &mut redrawn,
                            |attempt| {
                                let number = redraw_number(k, attempt);
                                match &model {
                                    Some(m) if attempt < MODEL_REDRAWS => {
                                        m.suggest(space, cfg, number)
                                    }
                                    _ => random_point(space, &mut trial_rng(cfg.seed, number)),
                                }
                            },
                            &mut rng,
                        )?;
                        let Some(values) = drawn else {
                            exhausted = true;
                            break;
                        };
                        pending.push(Observation {
                            number: k,
                            values,
                            score: f64::NAN,
                        });
                        if cfg.constant_liar && model.is_some() && (pending.len() as u64) < batch {
                            model = TpeModel::build(space, cfg, history, &pending);
                        }
                    }
                    *next += pending.len() as u64;
                    let results: Vec<Option<Observation>> = pending
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
                    let finished = results.iter().flatten().count() as u64;
                    history.extend(results.into_iter().flatten());
                    left = left.saturating_sub(finished);
                    ran += finished;
                    Vec::new()
                }
            };
            if matches!(self.walk, Walk::Tpe { .. }) {
                continue;
            }
            if chunk.is_empty() {
                exhausted = true;
                break;
            }
            let before = shared.count.load(Ordering::Relaxed);
            chunk.into_par_iter().for_each(|(i, p)| {
                if !cancel.load(Ordering::Relaxed) {
                    eval(i, p);
                }
            });
            let finished = shared.count.load(Ordering::Relaxed) - before;
            left = left.saturating_sub(finished);
            ran += finished;
        }
        self.new_trials += shared.count.load(Ordering::Relaxed);
        self.exhausted |= exhausted;
        self.redrawn += redrawn;
        if let Some(rec) = shared.best.into_inner().unwrap_or_else(|e| e.into_inner()) {
            offer(&mut self.best, &rec);
        }
        Ok(ran)
    }

    /// The summary so far; `cancelled` when `cancel` is set and the budget is not spent.
    pub fn outcome(&self, cancel: &AtomicBool) -> SearchOutcome {
        let total = self.already + self.new_trials;
        SearchOutcome {
            new_trials: self.new_trials,
            total_trials: total,
            cancelled: cancel.load(Ordering::Relaxed) && total < self.budget && !self.exhausted,
            exhausted: self.exhausted,
            best: self.best.clone(),
            sampled: self.sampled,
            redrawn: self.redrawn,
        }
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
///   redone: the grid skips their indices, random skips their numbers, TPE seeds its history with
///   them, and random and TPE never evaluate one of their points again.
///
/// `done` must come from the same study (same space and strategy: trial numbers mean grid indices
/// for the grid, sequence numbers otherwise). Random and TPE run `budget` distinct points in total
/// (fewer when the space has no more: `exhausted`), so give them a finite budget; the grid stops
/// early when its feasible points run out.
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
    let mut search = Search::new(space, strategy, budget, done)?;
    search.run(u64::MAX, objective, on_trial, cancel)?;
    Ok(search.outcome(cancel))
}

/// The point of trial `number` of a study shared by several workers (random or TPE; a grid is
/// enqueued whole instead): drawn from every `finished` trial, with the `pending` ones (running
/// or waiting elsewhere) as TPE's constant liar (when enabled) and never suggested again, nor is
/// any finished point. `None` when the space has no new point.
///
/// The same history and number give the same point as a local [`Search`] would draw for them.
pub fn ask(
    space: &ParamSpace,
    strategy: &Strategy,
    number: u64,
    finished: &[TrialRecord],
    pending: &[Point],
) -> Result<Option<Point>> {
    let mut fresh = Fresh::new(space, finished);
    for p in pending {
        fresh.seen.insert(point_key(p.values()));
    }
    let mut redrawn = 0;
    let drawn = match strategy {
        Strategy::Grid | Strategy::SampledGrid { .. } => {
            return Err(SearchError::InvalidStrategy(
                "a grid is enqueued whole, not asked point by point".to_string(),
            ));
        }
        Strategy::Random { seed } => {
            let seed = *seed;
            let mut rng = trial_rng(seed, redraw_number(number, MAX_REDRAWS));
            fresh.draw(
                space,
                &mut redrawn,
                |attempt| random_point(space, &mut trial_rng(seed, redraw_number(number, attempt))),
                &mut rng,
            )?
        }
        Strategy::Tpe(cfg) => {
            cfg.validate()?;
            let mut history: Vec<Observation> = finished
                .iter()
                .map(|r| Observation {
                    number: r.number,
                    values: r.point.values().to_vec(),
                    score: r.trial.score,
                })
                .collect();
            history.sort_by_key(|o| o.number);
            let liars: Vec<Observation> = match cfg.constant_liar {
                true => pending
                    .iter()
                    .map(|p| Observation {
                        number: u64::MAX,
                        values: p.values().to_vec(),
                        score: f64::NAN,
                    })
                    .collect(),
                false => Vec::new(),
            };
            let model = TpeModel::build(space, cfg, &history, &liars);
            let mut rng = trial_rng(cfg.seed, redraw_number(number, MAX_REDRAWS));
            fresh.draw(
                space,
                &mut redrawn,
                |attempt| {
                    let n = redraw_number(number, attempt);
                    match &model {
                        Some(m) if attempt < MODEL_REDRAWS => m.suggest(space, cfg, n),
                        _ => random_point(space, &mut trial_rng(cfg.seed, n)),
                    }
                },
                &mut rng,
            )?
        }
    };
    Ok(drawn.map(|values| space.make_point(values)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permutation_visits_every_index_once() {
        for (n, seed) in [(1u64, 0u64), (2, 1), (7, 2), (16, 3), (1000, 4), (4097, 5)] {
            let p = Permutation::new(n, seed);
            let mut seen: Vec<u64> = (0..n).map(|i| p.at(i)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
        // Huge domains stay in range.
        let p = Permutation::new(u64::MAX, 9);
        assert!((0..1000).all(|i| p.at(i) < u64::MAX));
    }
}
