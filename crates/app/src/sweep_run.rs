//! The `sweep` use case: Pulse's rule-set thresholds searched on all cores (grid, random, TPE),
//! every trial a full backtest of the prepared run, with overfitting statistics (deflated Sharpe,
//! PBO), walk-forward validation and an optional stored, resumable study. A typed
//! [`SweepRequest`] in, a typed [`SweepOutcome`] out (its JSON is `pulse sweep --json`), the report
//! model of the best parameters from [`sweep_report`].
//!
//! Blocking: the search runs on a rayon pool inside the future (call it from a thread that may
//! block, e.g. inside tokio's `block_in_place`); store writes happen between search steps.

use crate::backtest::{Prepared, RunSettings, build_report, date_of, prepare, run_all};
use crate::error::AppError;
use crate::sweep::{
    CACHE_BYTES, Evaluation, Need, Objective, SearchMethod, TrialCache, apply, apply_values,
    evaluate, path_of, range_outside_domain,
};
use crate::sweep_study::{NoStudyStorage, SharedStudy, study_spec};
use pulse_backtest::PulseMarket;
use pulse_core::ports::{Store, StoredTrial};
use pulse_core::study::StudyStorage;
use pulse_report::{
    BacktestReport, SampleLabel, SweepHeatmap, SweepSection, SweepStatistic, SweepTrialRow,
    WalkForwardFold,
};
use pulse_search::{
    Aggregate, BlockMoments, DeflatedSharpe, ParamSpace, PboMetric, Point, Search, TopTrials,
    Trial, TrialRecord, WalkForwardSpec,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Finished trials of a stored study written per store transaction (and searched per step): a
/// hard kill loses at most this many; Ctrl-C (the cancel flag) loses none.
pub const STORE_BATCH: u64 = 256;

/// Fewest evaluable bars a search accepts.
pub const MIN_BARS: usize = 60;

/// What to search and how.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRequest {
    /// Data, costs, starting account and base rule set of every trial (as `backtest`).
    pub settings: RunSettings,
    /// Strategy to tune; only `pulse` declares a parameter space.
    pub strategy: String,
    /// Parameter ranges `name=lo:hi:step` (or `name=lo:hi`, `name=v`); names are TOML paths of the
    /// rule set or aliases ([`crate::sweep::ALIASES`]).
    pub params: Vec<String>,
    /// Constraints between parameters, e.g. `rsi_low < rsi_high`.
    pub constraints: Vec<String>,
    /// What to maximize.
    pub objective: Objective,
    /// How points are picked.
    pub method: SearchMethod,
    /// Seed of random and TPE searches, and of the sample of a grid larger than the budget.
    pub seed: u64,
    /// Trials in total, stored ones included (per fold for the walk-forward); at least 1.
    pub budget: u64,
    /// Rows of the top table.
    pub top: usize,
    /// Worker threads (`None`: all cores).
    pub jobs: Option<usize>,
    /// Store every finished trial under this name and resume it (same settings required).
    pub study: Option<String>,
    /// Walk-forward folds, `train=504,test=126[,step=N][,mode=rolling|anchored]` (bars).
    pub walk_forward: Option<String>,
    /// Blocks of the CSCV split of the probability of backtest overfitting (even).
    pub pbo_blocks: usize,
    /// Compute the heatmaps of the report (every pair of the first three parameters).
    pub heatmaps: bool,
}

impl SweepRequest {
    /// Checks what can be checked without data (strategy, budget, parameter and constraint
    /// syntax, walk-forward syntax); [`sweep`] checks it again, then the names against the rule
    /// set.
    pub fn validate(&self) -> Result<(), AppError> {
        parse_request(self).map(|_| ())
    }
}

/// The searched window (the prepared run's evaluable bars).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepWindow {
    /// First date (or instant, intraday).
    pub from: String,
    /// Last date (inclusive).
    pub to: String,
    /// Number of bars.
    pub bars: usize,
    /// Always `in-sample`: the trials are chosen and scored on the same data.
    pub sample: &'static str,
}

/// One trial as reported: its number, parameters, score and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialSummary {
    /// Trial number (grid index for the grid, sequence number otherwise).
    pub number: u64,
    /// Parameter name → value.
    pub params: BTreeMap<String, f64>,
    /// The objective's value (`NaN`, serialized `null`, when undefined).
    pub score: f64,
    /// `(name, value)`: `sharpe` (annualized), `cagr` and `max_drawdown` (fractions), `fills`.
    pub metrics: Vec<(String, f64)>,
}

impl TrialSummary {
    fn of(rec: &TrialRecord) -> Self {
        TrialSummary {
            number: rec.number,
            params: params_of(&rec.point),
            score: rec.trial.score,
            metrics: rec.trial.metrics.clone(),
        }
    }

    /// A metric's value when it is finite.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite())
    }
}

/// The probability of backtest overfitting (CSCV over the full-window trials).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PboSummary {
    /// Share of the splits where the in-sample winner ranks at or below the median out of
    /// sample (a probability in [0, 1]).
    pub pbo: f64,
    /// Share of the splits where the in-sample winner loses out of sample.
    pub prob_oos_loss: f64,
    /// Number of splits `C(blocks, blocks/2)`.
    pub combinations: usize,
    /// Blocks of the split.
    pub blocks: usize,
}

/// Where the time went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepTiming {
    /// `kernel` (the sweep kernel) or `general runner`.
    pub engine: &'static str,
    /// Worker threads.
    pub threads: usize,
    /// Seconds of the full-window search (store writes included).
    pub search_seconds: f64,
    /// New trials per second; `None` when no new trial ran (a finished study resumed).
    pub trials_per_second: Option<f64>,
    /// Seconds of the statistics (importance, heatmaps, PBO, deflated Sharpe).
    pub statistics_seconds: f64,
    /// Trials answered from the cache (rule sets deciding the same targets).
    pub reused_runs: u64,
    /// Seconds of the walk-forward, when run.
    pub walk_forward_seconds: Option<f64>,
}

/// One walk-forward fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldSummary {
    /// First and last date of the training window.
    pub train: [String; 2],
    /// First and last date of the test window.
    pub test: [String; 2],
    /// The parameters chosen on the training window.
    pub params: BTreeMap<String, f64>,
    /// Their objective on the training window (in-sample; `NaN` when undefined).
    pub in_sample: f64,
    /// Their objective on the test window (out-of-sample; `NaN` when undefined).
    pub out_of_sample: f64,
}

/// The walk-forward validation: best parameters of each train window traded on the next test
/// window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkForwardSummary {
    /// Completed folds in order.
    pub folds: Vec<FoldSummary>,
    /// Mean in-sample objective over the folds.
    pub in_sample_mean: f64,
    /// Mean out-of-sample objective over the folds.
    pub out_of_sample_mean: f64,
    /// Sharpe ratio of the test windows' returns stitched together, annualized with the run's
    /// periodicity.
    pub stitched_oos_sharpe_annualized: Option<f64>,
    /// Number of stitched returns.
    pub stitched_oos_bars: Option<usize>,
}

/// What a sweep found. Serialized, it is `pulse sweep --json` (the fields marked skipped are for
/// the report and the text output).
#[derive(Debug, Clone, Serialize)]
pub struct SweepOutcome {
    /// What was maximized.
    pub objective: Objective,
    /// How points were picked.
    pub method: SearchMethod,
    /// The searched window.
    pub window: SweepWindow,
    /// Finished trials of the full-window search, stored ones included (each a distinct point).
    pub trials: u64,
    /// Trials run by this call.
    pub new_trials: u64,
    /// The study name, if stored.
    pub study: Option<String>,
    /// True when the cancel flag stopped the search (finished trials are kept).
    pub cancelled: bool,
    /// True when the space ran out of new points before the budget.
    pub exhausted: bool,
    /// True when the grid had more points than the budget and the trials were drawn uniformly at
    /// random from it (seeded) instead of walked in order.
    pub sampled: bool,
    /// The best trial (stored ones included).
    pub best: Option<TrialSummary>,
    /// The best trials, best first (stored ones included).
    pub top: Vec<TrialSummary>,
    /// Parameter importance `(name, η² in [0, 1])`.
    pub importance: Vec<(String, f64)>,
    /// Deflated Sharpe ratio of the best trial over every trial (per-period Sharpe ratios).
    pub deflated_sharpe: Option<DeflatedSharpe>,
    /// Probability of backtest overfitting.
    pub pbo: Option<PboSummary>,
    /// Where the time went.
    pub timing: SweepTiming,
    /// Walk-forward validation, when asked.
    pub walk_forward: Option<WalkForwardSummary>,
    /// Parameter names in declaration order.
    #[serde(skip)]
    pub parameters: Vec<String>,
    /// Heatmaps of the objective (when asked), for the report.
    #[serde(skip)]
    pub heatmaps: Vec<SweepHeatmap>,
    /// The prepared run every trial replayed (the report replays the best parameters on it).
    #[serde(skip)]
    pub prepared: Prepared,
}

/// Parameter name → value of a point.
fn params_of(point: &Point) -> BTreeMap<String, f64> {
    point.pairs().map(|(n, v)| (n.to_string(), v)).collect()
}

/// Checks the request before any data is read: strategy, budget, parameters, constraints,
/// walk-forward syntax.
fn parse_request(
    request: &SweepRequest,
) -> Result<(ParamSpace, Option<WalkForwardSpec>), AppError> {
    if request.strategy != "pulse" {
        return Err(AppError::setting(
            "strategy",
            format!(
                "{:?}: only pulse declares a parameter space yet",
                request.strategy
            ),
        ));
    }
    if request.budget == 0 {
        return Err(AppError::setting("budget", "must be at least 1 trial"));
    }
    let space = ParamSpace::parse(&request.params, &request.constraints)
        .map_err(|e| AppError::Usage(e.to_string()))?;
    let spec = match &request.walk_forward {
        Some(s) => Some(WalkForwardSpec::parse(s).map_err(|e| AppError::Usage(e.to_string()))?),
        None => None,
    };
    Ok((space, spec))
}

/// Every parameter must name a number of the rule set, and its range must reach values the rule
/// set accepts, before any CPU is spent.
fn check_names(base: &toml::Value, space: &ParamSpace) -> Result<(), AppError> {
    for name in space.names() {
        let mut slot = base;
        for key in path_of(name).split('.') {
            slot = match slot {
                toml::Value::Table(t) => t.get(key),
                toml::Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            }
            .ok_or_else(|| {
                AppError::setting(
                    "param",
                    format!(
                        "{name}: no {:?} in the rule set (see `pulse strategy show pulse`)",
                        path_of(name)
                    ),
                )
            })?;
        }
        if !matches!(slot, toml::Value::Integer(_) | toml::Value::Float(_)) {
            return Err(AppError::setting(
                "param",
                format!("{name}: {:?} is not a number", path_of(name)),
            ));
        }
    }
    for param in space.params() {
        let (lo, _) = param.spec.bounds();
        let hi = param.spec.grid_max();
        if let Some(reason) = range_outside_domain(base, &param.name, lo, hi) {
            return Err(AppError::setting(
                "param",
                format!(
                    "{}: the range {lo}..{hi} lies outside what the rule set accepts ({reason})",
                    param.name
                ),
            ));
        }
    }
    Ok(())
}

/// A stored study: its trials (with their PBO inputs by trial number), after checking that it
/// was run with the same settings (or recording them for a new study).
async fn open_study<S: Store>(
    store: &S,
    study: &str,
    settings: serde_json::Value,
    space: &ParamSpace,
) -> Result<(Vec<TrialRecord>, HashMap<u64, BlockMoments>), AppError> {
    let key = format!("sweep.study.{study}");
    let bad = |what: String| AppError::Data(format!("study {study:?}: {what}"));
    match store.document(&key).await.map_err(AppError::port)? {
        Some(prev) => {
            let prev: serde_json::Value =
                serde_json::from_str(&prev).map_err(|e| bad(format!("stored settings: {e}")))?;
            if prev != settings {
                return Err(AppError::Conflict(format!(
                    "study {study:?} was run with other settings (parameters, objective, method, seed, rule set or data); use another --study name"
                )));
            }
        }
        None => store
            .save_documents(&[(key.as_str(), settings.to_string())], &[])
            .await
            .map_err(AppError::port)?,
    }
    let mut done = Vec::new();
    let mut moments = HashMap::new();
    for t in store.trials(study).await.map_err(AppError::port)? {
        let trial = |e: String| bad(format!("stored trial {}: {e}", t.number));
        let params: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&t.params_json).map_err(|e| trial(e.to_string()))?;
        let pairs: Vec<(String, f64)> = params
            .iter()
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(f64::NAN)))
            .collect();
        let details: serde_json::Value =
            serde_json::from_str(&t.details_json).map_err(|e| trial(e.to_string()))?;
        let metrics: Vec<(String, f64)> =
            serde_json::from_value(details["metrics"].clone()).unwrap_or_default();
        if let Ok(m) = serde_json::from_value::<BlockMoments>(details["moments"].clone()) {
            moments.insert(t.number, m);
        }
        done.push(TrialRecord {
            number: t.number,
            point: space
                .point_from_pairs(&pairs)
                .map_err(|e| trial(e.to_string()))?,
            trial: Trial {
                score: t.score.unwrap_or(f64::NAN),
                metrics,
            },
        });
    }
    Ok((done, moments))
}

/// The identity of a point (its values' bits).
fn key_of(point: &Point) -> Vec<u64> {
    point.values().iter().map(|v| v.to_bits()).collect()
}

/// `pulse_search`'s flat heatmap as the report's rows (`cells[iy][ix]`).
fn to_report_heatmap(h: pulse_search::Heatmap) -> SweepHeatmap {
    let nx = h.x.values.len().max(1);
    SweepHeatmap {
        cells: h
            .cells
            .chunks(nx)
            .map(|row| row.iter().map(|c| c.filter(|v| v.is_finite())).collect())
            .collect(),
        x_name: h.x.name,
        y_name: h.y.name,
        x_values: h.x.values,
        y_values: h.y.values,
    }
}

/// Runs a sweep. `progress(finished, total)` is called from the worker threads as trials finish
/// (`total`: the trials still to run plus the walk-forward's); once `cancel` is set no new trial
/// starts, running ones finish, and the outcome reports the finished ones (a stored study keeps
/// them). Usage errors ([`AppError::is_usage`]) name the request's field (`budget`, `param`,
/// `strategy`); a study resumed with other settings is [`AppError::Conflict`].
pub async fn sweep<S: Store>(
    store: &S,
    request: &SweepRequest,
    progress: &(dyn Fn(u64, u64) + Sync),
    cancel: &AtomicBool,
) -> Result<SweepOutcome, AppError> {
    sweep_with(
        store,
        None::<&SharedStudy<'_, NoStudyStorage>>,
        request,
        progress,
        cancel,
    )
    .await
}

/// [`sweep`] as one of N worker processes sharing the study `request.study` in `shared` (see
/// [`crate::sweep_study`]): this process runs trials until the study's budget is reached and
/// nothing runs anywhere, then reports the whole study. Needs tokio's multi-thread runtime.
pub async fn sweep_shared<S: Store, T: StudyStorage>(
    store: &S,
    shared: &SharedStudy<'_, T>,
    request: &SweepRequest,
    progress: &(dyn Fn(u64, u64) + Sync),
    cancel: &AtomicBool,
) -> Result<SweepOutcome, AppError> {
    if request.study.is_none() {
        return Err(AppError::setting(
            "study",
            "a shared sweep needs a study name",
        ));
    }
    sweep_with(store, Some(shared), request, progress, cancel).await
}

async fn sweep_with<S: Store, T: StudyStorage>(
    store: &S,
    shared: Option<&SharedStudy<'_, T>>,
    request: &SweepRequest,
    progress: &(dyn Fn(u64, u64) + Sync),
    cancel: &AtomicBool,
) -> Result<SweepOutcome, AppError> {
    let (space, wf_spec) = parse_request(request)?;
    let names: Vec<String> = space.names().to_vec();
    let p = prepare(store, &request.settings).await?;
    let base =
        toml::Value::try_from(&p.cfg).map_err(|e| AppError::Data(format!("rule set: {e}")))?;
    check_names(&base, &space)?;
    let t = &p.market.data.timeline;
    let window = p.first_eval..t.len();
    if window.len() < MIN_BARS {
        return Err(AppError::Data(format!(
            "only {} evaluable bars: too few to search",
            window.len()
        )));
    }
    let folds = match &wf_spec {
        Some(spec) => Some(
            spec.folds(window.len())
                .map_err(|e| AppError::Usage(e.to_string()))?,
        ),
        None => None,
    };
    let settings = serde_json::json!({
        "params": request.params, "constraints": request.constraints,
        "objective": request.objective, "method": request.method, "seed": request.seed,
        "strategy": p.cfg_text,
        "window": [t.get(window.start).map(|x| x.to_string()), t.last().map(|x| x.to_string())],
        "pbo_blocks": request.pbo_blocks,
    });
    let (done, stored_moments) = match &request.study {
        Some(study) if shared.is_none() => {
            open_study(store, study, settings.clone(), &space).await?
        }
        _ => (Vec::new(), HashMap::new()),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(request.jobs.unwrap_or(0))
        .build()
        .map_err(|e| AppError::Threads(e.to_string()))?;
    let strategy = request.method.strategy(request.seed);
    let objective = request.objective;
    // The kernel lays the market out once (dense columns, indicator cache shared by all trials);
    // markets it does not model fall back to the general runner.
    // The kernel replays Pulse without the risk layer; with one, every trial takes the general
    // runner (the same engine as a backtest).
    let kernel = if p.config.engine.risk.is_none() && !p.cfg.sizing.is_active() {
        PulseMarket::new(&p.market.data, &p.cfg).ok()
    } else {
        None
    };
    let cache = TrialCache::new(CACHE_BYTES);
    let eval = |point: &Point, range: Range<usize>, need: Need| -> Evaluation {
        match apply(&base, &names, point) {
            Ok(cfg) => evaluate(
                &p,
                kernel.as_ref().map(|k| (k, &cache)),
                cfg,
                range,
                objective,
                need,
            )
            .unwrap_or_else(|_| Evaluation::failed()),
            Err(_) => Evaluation::failed(),
        }
    };
    let mut search = Search::new(&space, &strategy, request.budget, &done)?;
    let wf_trials = request
        .budget
        .saturating_mul(folds.as_ref().map_or(0, |f| f.len() as u64));
    let total = search.remaining().saturating_add(wf_trials);
    let finished = AtomicU64::new(0);
    let tick = || progress(finished.fetch_add(1, Ordering::Relaxed) + 1, total);

    // Full-window search, in steps when a study stores its trials between them.
    let blocks = request.pbo_blocks;
    let top = Mutex::new(TopTrials::new(request.top.max(1)));
    for rec in &done {
        top.lock().unwrap_or_else(|e| e.into_inner()).offer(rec);
    }
    let moments: Mutex<HashMap<Vec<u64>, BlockMoments>> = Mutex::new(HashMap::new());
    let records: Mutex<Vec<TrialRecord>> = Mutex::new(Vec::new());
    let pending: Mutex<Vec<StoredTrial>> = Mutex::new(Vec::new());
    let step = if request.study.is_some() {
        STORE_BATCH
    } else {
        u64::MAX
    };
    let search_started = Instant::now();
    // A shared study: this process's workers run until the study is done, then its trials
    // stand for the search's.
    let shared_run = match (shared, &request.study) {
        (Some(shared), Some(study)) => {
            let spec = study_spec(study, &space, objective.as_str(), request.budget, &settings);
            let eval = |pt: &Point| eval(pt, window.clone(), Need::Moments(blocks));
            let threads = pool.current_num_threads();
            let run = crate::sweep_study::run(
                shared, &spec, &space, &strategy, threads, &eval, &tick, cancel,
            )
            .await?;
            run.absorb(&top, &records, &moments, key_of);
            Some(run)
        }
        _ => None,
    };
    while shared_run.is_none() && !search.is_finished() && !cancel.load(Ordering::Relaxed) {
        pool.install(|| {
            search.run(
                step,
                |point| {
                    let e = eval(point, window.clone(), Need::Moments(blocks));
                    if let Some(bm) = e.moments {
                        moments
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(key_of(point), bm);
                    }
                    e.trial
                },
                |rec| {
                    tick();
                    top.lock().unwrap_or_else(|e| e.into_inner()).offer(rec);
                    records
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(rec.clone());
                    if let Some(study) = &request.study {
                        let bm = moments
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get(&key_of(&rec.point))
                            .cloned();
                        let stored = StoredTrial {
                            study: study.clone(),
                            number: rec.number,
                            params_json: serde_json::to_string(&rec.point).unwrap_or_default(),
                            score: Some(rec.trial.score).filter(|s| s.is_finite()),
                            details_json:
                                serde_json::json!({"metrics": rec.trial.metrics, "moments": bm})
                                    .to_string(),
                        };
                        pending
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(stored);
                    }
                },
                cancel,
            )
        })?;
        let batch = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !batch.is_empty() {
            store.save_trials(&batch).await.map_err(AppError::port)?;
        }
    }
    let outcome = match &shared_run {
        Some(run) => run.outcome(),
        None => search.outcome(cancel),
    };
    let search_seconds = search_started.elapsed().as_secs_f64();

    // Statistics over every trial of the full-window search, stored and new alike, in
    // trial-number order (deterministic whatever order the workers finished in; CSCV also breaks
    // ties by position).
    let statistics_started = Instant::now();
    let mut records = records.into_inner().unwrap_or_else(|e| e.into_inner());
    records.extend(done.iter().cloned());
    records.sort_by_key(|r| r.number);
    let top = top
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_sorted();
    let importance = pulse_search::param_importance(&space, &records);
    let mut heatmaps = Vec::new();
    if request.heatmaps {
        let first: Vec<&String> = names.iter().take(3).collect();
        for (a, x) in first.iter().enumerate() {
            for y in &first[a + 1..] {
                heatmaps.push(to_report_heatmap(pulse_search::heatmap(
                    &space,
                    &records,
                    x,
                    y,
                    Aggregate::Max,
                )?));
            }
        }
    }
    let new_moments = moments.into_inner().unwrap_or_else(|e| e.into_inner());
    let all_moments: Vec<BlockMoments> = records
        .iter()
        .filter_map(|r| {
            stored_moments
                .get(&r.number)
                .or_else(|| new_moments.get(&key_of(&r.point)))
                .cloned()
        })
        .collect();
    let pbo = pulse_search::pbo_cscv_blocks(&all_moments, PboMetric::Sharpe).ok();
    let trial_sharpes: Vec<f64> = all_moments
        .iter()
        .map(|m| m.sharpe())
        .filter(|s| s.is_finite())
        .collect();
    let deflated_sharpe = match &outcome.best {
        Some(best) => pool.install(|| {
            let returns = eval(&best.point, window.clone(), Need::Returns)
                .returns
                .unwrap_or_default();
            pulse_search::deflated_sharpe_ratio(&returns, &trial_sharpes).ok()
        }),
        None => None,
    };
    let statistics_seconds = statistics_started.elapsed().as_secs_f64();

    // Walk-forward: best on each train window, traded on the next test window.
    let day = |i: usize| {
        t.get(i)
            .map(|x| date_of(*x, p.timeframe))
            .unwrap_or_default()
    };
    let wf_started = Instant::now();
    let walk_forward = match &folds {
        None => None,
        Some(folds) => {
            let shift = |r: &Range<usize>| (r.start + window.start)..(r.end + window.start);
            let shifted: Vec<pulse_search::Fold> = folds
                .iter()
                .map(|f| pulse_search::Fold {
                    index: f.index,
                    train: shift(&f.train),
                    test: shift(&f.test),
                })
                .collect();
            let (out, stitched) = pool.install(|| -> Result<_, AppError> {
                let out = pulse_search::walk_forward(
                    &space,
                    &strategy,
                    request.budget,
                    &shifted,
                    |pt, r| eval(pt, r, Need::Score).trial,
                    |_, _| tick(),
                    cancel,
                )?;
                let mut stitched = Vec::new();
                for f in &out.folds {
                    if let Some(r) = eval(&f.params, f.fold.test.clone(), Need::Returns).returns {
                        stitched.extend(r.iter().copied());
                    }
                }
                Ok((out, stitched))
            })?;
            let stats = pulse_search::return_stats(&stitched).ok();
            let (in_sample_mean, out_of_sample_mean) = out.mean_scores();
            let per_year = p.periodicity.periods_per_year();
            Some(WalkForwardSummary {
                folds: out
                    .folds
                    .iter()
                    .map(|f| FoldSummary {
                        train: [day(f.fold.train.start), day(f.fold.train.end - 1)],
                        test: [day(f.fold.test.start), day(f.fold.test.end - 1)],
                        params: params_of(&f.params),
                        in_sample: f.in_sample.score,
                        out_of_sample: f.out_of_sample.score,
                    })
                    .collect(),
                in_sample_mean,
                out_of_sample_mean,
                stitched_oos_sharpe_annualized: stats.as_ref().map(|s| s.sharpe * per_year.sqrt()),
                stitched_oos_bars: stats.as_ref().map(|s| s.n),
            })
        }
    };
    let walk_forward_seconds = walk_forward
        .is_some()
        .then(|| wf_started.elapsed().as_secs_f64());
    Ok(SweepOutcome {
        objective,
        method: request.method,
        window: SweepWindow {
            from: day(window.start),
            to: day(window.end - 1),
            bars: window.len(),
            sample: "in-sample",
        },
        trials: outcome.total_trials,
        new_trials: outcome.new_trials,
        study: request.study.clone(),
        cancelled: outcome.cancelled || cancel.load(Ordering::Relaxed),
        exhausted: outcome.exhausted,
        sampled: outcome.sampled,
        best: outcome.best.as_ref().map(TrialSummary::of),
        top: top.iter().map(TrialSummary::of).collect(),
        importance,
        deflated_sharpe,
        pbo: pbo.map(|x| PboSummary {
            pbo: x.pbo,
            prob_oos_loss: x.prob_oos_loss,
            combinations: x.n_combinations,
            blocks,
        }),
        timing: SweepTiming {
            engine: if kernel.is_some() {
                "kernel"
            } else {
                "general runner"
            },
            threads: pool.current_num_threads(),
            search_seconds,
            trials_per_second: (outcome.new_trials > 0)
                .then(|| outcome.new_trials as f64 / search_seconds.max(1e-9)),
            statistics_seconds,
            reused_runs: cache.hits(),
            walk_forward_seconds,
        },
        walk_forward,
        parameters: names,
        heatmaps,
        prepared: p,
    })
}

/// The report's search section, from the outcome.
pub fn sweep_section(outcome: &SweepOutcome) -> SweepSection {
    let finite = |x: f64| Some(x).filter(|v| v.is_finite());
    SweepSection {
        objective: outcome.objective.as_str().to_string(),
        method: outcome.method.as_str().to_string(),
        trials: outcome.trials,
        window: format!(
            "{}..{} ({} bars)",
            outcome.window.from, outcome.window.to, outcome.window.bars
        ),
        parameters: outcome.parameters.clone(),
        top: outcome
            .top
            .iter()
            .map(|t| SweepTrialRow {
                number: t.number,
                params: t.params.clone(),
                score: finite(t.score),
                sharpe: t.metric("sharpe"),
                cagr: t.metric("cagr"),
                max_drawdown: t.metric("max_drawdown"),
                fills: t.metric("fills"),
            })
            .collect(),
        importance: outcome
            .importance
            .iter()
            .filter(|(_, v)| v.is_finite())
            .cloned()
            .collect(),
        deflated_sharpe: outcome.deflated_sharpe.as_ref().map(|d| SweepStatistic {
            value: finite(d.dsr),
            explanation: format!(
                "Probability that the best trial's true Sharpe ratio is above what the best of {} luck-only trials would show (near 100 % = convincing; low = the winner may be a fluke of the search).",
                d.n_trials
            ),
        }),
        pbo: outcome.pbo.as_ref().map(|d| SweepStatistic {
            value: finite(d.pbo),
            explanation: format!(
                "Share of the {} CSCV splits ({} blocks) where the in-sample winner ranks at or below the median out of sample (near 0 % = good; 50 % or more = the search is overfitting).",
                d.combinations, d.blocks
            ),
        }),
        walk_forward: outcome
            .walk_forward
            .as_ref()
            .map(|w| {
                w.folds
                    .iter()
                    .map(|f| WalkForwardFold {
                        train_from: f.train[0].clone(),
                        train_to: f.train[1].clone(),
                        test_from: f.test[0].clone(),
                        test_to: f.test[1].clone(),
                        in_sample: finite(f.in_sample),
                        out_of_sample: finite(f.out_of_sample),
                        params: f.params.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        heatmaps: outcome.heatmaps.clone(),
    }
}

/// The IN-SAMPLE report of a sweep: the best parameters written into the rule set and replayed
/// through the `backtest` path (Pulse and the three benchmarks), with the search section. Errors
/// with [`AppError::Data`] when no trial has a defined objective.
pub fn sweep_report(outcome: &SweepOutcome) -> Result<BacktestReport, AppError> {
    let Some(best) = &outcome.best else {
        return Err(AppError::Data(format!(
            "no trial finished with a defined {}",
            outcome.objective
        )));
    };
    let mut p = outcome.prepared.clone();
    let base =
        toml::Value::try_from(&p.cfg).map_err(|e| AppError::Data(format!("rule set: {e}")))?;
    let names = &outcome.parameters;
    let values: Vec<f64> = names
        .iter()
        .map(|n| best.params.get(n).copied().unwrap_or(f64::NAN))
        .collect();
    p.cfg = apply_values(&base, names, &values)
        .map_err(|e| AppError::Data(format!("best parameters: {e}")))?;
    let chosen: Vec<String> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| format!("{n} = {v}"))
        .collect();
    p.cfg_text = format!(
        "# Best trial of `pulse sweep` ({}) written into the rule set\n{}",
        chosen.join(", "),
        toml::to_string(&p.cfg).map_err(|e| AppError::Data(format!("rule set: {e}")))?
    );
    let runs = run_all(&p, |_| {})?;
    let mut report = build_report(&p, &runs, SampleLabel::InSample)?;
    report.title = format!(
        "Pulse sweep: {} + {} (best of {} trials)",
        p.cfg.symbols.base, p.cfg.symbols.leveraged, outcome.trials
    );
    report.notes.insert(
        0,
        format!(
            "IN-SAMPLE: parameters ({}) were chosen as the best {} of {} trials on this same data, so the curve and metrics below are optimistic; see the walk-forward table for out-of-sample scores.",
            chosen.join(", "),
            outcome.objective,
            outcome.trials
        ),
    );
    report.sweep = Some(sweep_section(outcome));
    Ok(report)
}
