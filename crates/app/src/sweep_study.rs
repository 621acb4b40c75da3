//! A sweep shared by worker processes (on one or several machines) through a study storage
//! ([`pulse_core::study::StudyStorage`]): `pulse sweep --storage URL --study NAME` started N times.
//!
//! * Grid: the first worker creates the study with every point of the grid (or of its seeded
//!   sample, as a local sweep picks them) as waiting trials; workers claim them atomically.
//! * Random and TPE: each trial is asked from the storage with the study locked, suggested from
//!   every finished trial with the running and waiting ones as the constant liar, never a point
//!   that is already in the study; the budget counts finished, running and waiting trials.
//! * Each process keeps a heartbeat of its running trials; the running trials of a worker that
//!   stopped beating for `grace` are failed and re-queued (by any worker), so that a killed
//!   worker's trials are still run, once.
//! * A worker leaves when nothing is waiting and nothing runs anywhere (the budget is reached);
//!   it then reads back every finished trial, and the caller reports the whole study.
//!
//! Blocking, and it needs tokio's multi-thread runtime: the worker threads drive the storage's
//! futures with the current runtime's handle (call it from a thread that may block, as
//! [`crate::sweep_run::sweep`]).

use crate::error::AppError;
use crate::sweep::Evaluation;
use pulse_core::study::{
    Asked, ClaimedTrial, Distribution, PastTrial, StudyCounts, StudyHandle, StudyHistory,
    StudyParam, StudySpec, StudyStorage, StudyTrial, TrialResult,
};
use pulse_search::{
    BlockMoments, ParamSpace, ParamSpec, Point, Search, SearchOutcome, Strategy, TopTrials, Trial,
    TrialRecord,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The study storage of a shared sweep and its heartbeat settings.
#[derive(Debug)]
pub struct SharedStudy<'a, T> {
    /// Where the study lives.
    pub storage: &'a T,
    /// How often the running trials of this process beat.
    pub heartbeat: Duration,
    /// How long a running trial may go without a heartbeat before it is failed and re-queued.
    pub grace: Duration,
}

/// What the workers of this process did, and the study's finished trials.
#[derive(Debug)]
pub(crate) struct SharedRun {
    /// Every finished trial of the study (by number) with its return moments.
    pub records: Vec<(TrialRecord, Option<BlockMoments>)>,
    /// Trials this process ran and stored.
    pub new_trials: u64,
    /// The grid was larger than the budget: its trials were a seeded sample.
    pub sampled: bool,
    /// The sampler found no new point before the budget.
    pub exhausted: bool,
    /// The cancel flag stopped this worker.
    pub cancelled: bool,
}

/// A parameter's distribution as the study stores it.
fn distribution(spec: &ParamSpec) -> Distribution {
    match *spec {
        ParamSpec::Int { lo, step, .. } => Distribution::Int {
            low: lo,
            high: spec.grid_max() as i64,
            step,
        },
        ParamSpec::Float { lo, hi, step } if step > 0.0 => Distribution::Float {
            low: lo,
            high: spec.grid_max().min(hi),
            step: Some(step),
        },
        ParamSpec::Float { lo, hi, .. } => Distribution::Float {
            low: lo,
            high: hi,
            step: None,
        },
    }
}

/// The study of a sweep: its parameters, objective, budget and the settings every worker must
/// share (the local study's settings plus the budget).
pub(crate) fn study_spec(
    name: &str,
    space: &ParamSpace,
    objective: &str,
    budget: u64,
    settings: &serde_json::Value,
) -> StudySpec {
    let mut settings = settings.clone();
    settings["budget"] = budget.into();
    StudySpec {
        name: name.to_string(),
        params: space
            .params()
            .iter()
            .map(|p| StudyParam {
                name: p.name.clone(),
                distribution: distribution(&p.spec),
            })
            .collect(),
        objective: objective.to_string(),
        settings_json: settings.to_string(),
        budget,
    }
}

/// The points a local grid sweep would evaluate (in its order) and whether they are a sample.
fn grid_points(
    space: &ParamSpace,
    strategy: &Strategy,
    budget: u64,
) -> Result<(Vec<Vec<f64>>, bool), AppError> {
    let mut search = Search::new(space, strategy, budget, &[])?;
    let points: Mutex<Vec<(u64, Vec<f64>)>> = Mutex::new(Vec::new());
    let never = AtomicBool::new(false);
    search.run(
        u64::MAX,
        |_| Trial::new(f64::NAN),
        |rec| {
            points
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((rec.number, rec.point.values().to_vec()))
        },
        &never,
    )?;
    let mut points = points.into_inner().unwrap_or_else(|e| e.into_inner());
    points.sort_by_key(|(n, _)| *n);
    let sampled = search.outcome(&never).sampled;
    Ok((points.into_iter().map(|(_, v)| v).collect(), sampled))
}

/// The search crate's suggestion for the next trial of the study.
fn suggest(space: &ParamSpace, strategy: &Strategy, history: &StudyHistory) -> Option<Vec<f64>> {
    let record = |t: &PastTrial| {
        space.point(t.values.clone()).ok().map(|point| TrialRecord {
            number: t.number,
            point,
            trial: Trial::new(t.score),
        })
    };
    let finished: Vec<TrialRecord> = history.finished.iter().filter_map(record).collect();
    let pending: Vec<Point> = history
        .pending
        .iter()
        .filter_map(|t| space.point(t.values.clone()).ok())
        .collect();
    pulse_search::ask(space, strategy, history.next_number, &finished, &pending)
        .ok()
        .flatten()
        .map(|p| p.values().to_vec())
}

/// Runs this process's workers on a shared study until the study is done (or `cancel`), then
/// reads back its finished trials. `eval` scores a point (called from `threads` worker threads),
/// `tick` is called after each trial this process stored.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run<T: StudyStorage>(
    shared: &SharedStudy<'_, T>,
    spec: &StudySpec,
    space: &ParamSpace,
    strategy: &Strategy,
    threads: usize,
    eval: &(dyn Fn(&Point) -> Evaluation + Sync),
    tick: &(dyn Fn() + Sync),
    cancel: &AtomicBool,
) -> Result<SharedRun, AppError> {
    let grid = matches!(strategy, Strategy::Grid | Strategy::SampledGrid { .. });
    let (enqueue, sampled) = match grid {
        true => grid_points(space, strategy, spec.budget)?,
        false => (Vec::new(), false),
    };
    let storage = shared.storage;
    let study = storage
        .open_study(spec, &enqueue)
        .await
        .map_err(study_error)?;
    let rt = tokio::runtime::Handle::try_current()
        .map_err(|e| AppError::Threads(format!("a shared sweep needs tokio's runtime: {e}")))?;
    let running: Mutex<BTreeSet<i64>> = Mutex::new(BTreeSet::new());
    let new_trials = AtomicU64::new(0);
    let exhausted = AtomicBool::new(false);
    let failure: Mutex<Option<AppError>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let fail = |e: AppError| {
        stop.store(true, Ordering::Relaxed);
        failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(e);
    };
    let suggest = |h: &StudyHistory| suggest(space, strategy, h);

    // One worker thread: claim or ask, evaluate, tell, until nothing is left for it.
    let worker = || {
        while !cancel.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
            let got: Result<Option<ClaimedTrial>, AppError> = rt.block_on(async {
                if let Some(t) = storage.claim(&study, spec).await.map_err(study_error)? {
                    return Ok(Some(t));
                }
                if grid {
                    return Ok(None);
                }
                match storage
                    .ask(&study, spec, &suggest)
                    .await
                    .map_err(study_error)?
                {
                    Asked::Trial(t) => Ok(Some(t)),
                    Asked::BudgetReached => Ok(None),
                    Asked::Exhausted => {
                        exhausted.store(true, Ordering::Relaxed);
                        Ok(None)
                    }
                }
            });
            let trial = match got {
                Ok(Some(t)) => t,
                Ok(None) => break,
                Err(e) => return fail(e),
            };
            lock(&running).insert(trial.id);
            let evaluation = match space.point(trial.values.clone()) {
                Ok(point) => eval(&point),
                Err(_) => Evaluation::failed(),
            };
            let result = TrialResult {
                score: evaluation.trial.score,
                metrics: evaluation.trial.metrics.clone(),
                details_json: evaluation
                    .moments
                    .map(|m| serde_json::json!({ "moments": m }).to_string()),
            };
            let told = rt.block_on(storage.tell(&trial, &result));
            lock(&running).remove(&trial.id);
            match told {
                // Stored; `false`: failed as stale meanwhile, its re-queued copy runs instead.
                Ok(true) => {
                    new_trials.fetch_add(1, Ordering::Relaxed);
                    tick();
                }
                Ok(false) => {}
                Err(e) => return fail(study_error(e)),
            }
        }
    };

    // The coordinator: workers until none finds a trial, then stale trials of dead workers
    // re-queued, and a wait while other processes still run trials.
    let poll = (shared.grace / 4).clamp(Duration::from_millis(50), Duration::from_millis(500));
    let coordinate = || -> Result<bool, AppError> {
        loop {
            std::thread::scope(|s| {
                for _ in 0..threads.max(1) {
                    s.spawn(worker);
                }
            });
            if let Some(e) = lock(&failure).take() {
                return Err(e);
            }
            if cancel.load(Ordering::Relaxed) {
                return Ok(true);
            }
            if rt
                .block_on(storage.fail_stale(&study, shared.grace))
                .map_err(study_error)?
                > 0
            {
                continue;
            }
            let counts = rt.block_on(storage.counts(&study)).map_err(study_error)?;
            if counts.waiting > 0 {
                continue;
            }
            if counts.running == 0 {
                return Ok(false);
            }
            std::thread::sleep(poll);
        }
    };
    let done = AtomicBool::new(false);
    let cancelled = std::thread::scope(|s| {
        // The heartbeat of this process's running trials (its first is written with the claim).
        s.spawn(|| {
            let mut last = Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                if last.elapsed() >= shared.heartbeat {
                    last = Instant::now();
                    let ids: Vec<i64> = lock(&running).iter().copied().collect();
                    // A missed beat is retried at the next one; the grace covers several.
                    let _ = rt.block_on(storage.heartbeat(&ids));
                }
            }
        });
        let out = s.spawn(coordinate).join();
        done.store(true, Ordering::Relaxed);
        out
    })
    .map_err(|_| AppError::Threads("a sweep worker panicked".to_string()))??;

    let trials = storage
        .finished_trials(&study, spec)
        .await
        .map_err(study_error)?;
    let mut records = Vec::with_capacity(trials.len());
    for t in trials {
        let Ok(point) = space.point(t.values) else {
            continue;
        };
        let moments = t
            .details_json
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|d| serde_json::from_value::<BlockMoments>(d["moments"].clone()).ok());
        records.push((
            TrialRecord {
                number: t.number,
                point,
                trial: Trial {
                    score: t.score,
                    metrics: t.metrics,
                },
            },
            moments,
        ));
    }
    Ok(SharedRun {
        records,
        new_trials: new_trials.into_inner(),
        sampled,
        exhausted: exhausted.into_inner(),
        cancelled,
    })
}

/// A poisoned lock still holds valid data (a panicking worker is reported by the scope).
fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A storage error: a conflicting study is the caller's to fix, anything else the port's.
fn study_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> AppError {
    AppError::port(e)
}

impl SharedRun {
    /// The search summary of the whole study (its trials, this process's new ones).
    pub(crate) fn outcome(&self) -> SearchOutcome {
        let mut best = TopTrials::new(1);
        for (rec, _) in &self.records {
            best.offer(rec);
        }
        SearchOutcome {
            new_trials: self.new_trials,
            total_trials: self.records.len() as u64,
            cancelled: self.cancelled,
            exhausted: self.exhausted,
            best: best
                .into_sorted()
                .into_iter()
                .find(|r| !r.trial.score.is_nan()),
            sampled: self.sampled,
            redrawn: 0,
        }
    }

    /// Hands the study's trials to the local search's collections (top table, records, return
    /// moments keyed by `key`), as if they had run here.
    pub(crate) fn absorb(
        &self,
        top: &Mutex<TopTrials>,
        records: &Mutex<Vec<TrialRecord>>,
        moments: &Mutex<HashMap<Vec<u64>, BlockMoments>>,
        key: fn(&Point) -> Vec<u64>,
    ) {
        let (mut top, mut records, mut moments) = (lock(top), lock(records), lock(moments));
        for (rec, bm) in &self.records {
            top.offer(rec);
            records.push(rec.clone());
            if let Some(bm) = bm {
                moments.insert(key(&rec.point), bm.clone());
            }
        }
    }
}

/// The study storage of a sweep that shares none (uninhabited: `Option::<&SharedStudy<_>>::None`).
#[derive(Debug)]
pub enum NoStudyStorage {}

impl StudyStorage for NoStudyStorage {
    type Error = std::convert::Infallible;

    async fn open_study(&self, _: &StudySpec, _: &[Vec<f64>]) -> Result<StudyHandle, Self::Error> {
        match *self {}
    }

    async fn claim(
        &self,
        _: &StudyHandle,
        _: &StudySpec,
    ) -> Result<Option<ClaimedTrial>, Self::Error> {
        match *self {}
    }

    async fn ask(
        &self,
        _: &StudyHandle,
        _: &StudySpec,
        _: &(dyn Fn(&StudyHistory) -> Option<Vec<f64>> + Sync),
    ) -> Result<Asked, Self::Error> {
        match *self {}
    }

    async fn tell(&self, _: &ClaimedTrial, _: &TrialResult) -> Result<bool, Self::Error> {
        match *self {}
    }

    async fn heartbeat(&self, _: &[i64]) -> Result<(), Self::Error> {
        match *self {}
    }

    async fn fail_stale(&self, _: &StudyHandle, _: Duration) -> Result<u64, Self::Error> {
        match *self {}
    }

    async fn counts(&self, _: &StudyHandle) -> Result<StudyCounts, Self::Error> {
        match *self {}
    }

    async fn finished_trials(
        &self,
        _: &StudyHandle,
        _: &StudySpec,
    ) -> Result<Vec<StudyTrial>, Self::Error> {
        match *self {}
    }
}
