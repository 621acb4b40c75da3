//! The study storage port: a parameter study shared by worker processes on several machines.
//!
//! A study is created once (with its waiting trials for a grid) and then loaded by every worker;
//! workers claim waiting trials atomically or ask for a new one (suggested from every finished
//! trial, with the running ones as the constant liar), keep a heartbeat for their running trials,
//! tell each result, and fail the running trials of a dead worker (no heartbeat for a grace
//! period), which are re-queued as waiting copies. Trial numbers are unique per study.
//!
//! The adapter (`study-optuna`) keeps it in Optuna's RDB schema on PostgreSQL; domain crates see
//! only these types.

use std::future::Future;
use std::time::Duration;

/// How a parameter's values are distributed (Optuna's `IntDistribution`/`FloatDistribution`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Integers `low..=high` by `step`.
    Int {
        /// Lowest value.
        low: i64,
        /// Highest value (on the grid).
        high: i64,
        /// Step (≥ 1).
        step: i64,
    },
    /// Floats in `[low, high]`, on a grid of `step` or continuous (`None`).
    Float {
        /// Lowest value.
        low: f64,
        /// Highest value (on the grid when stepped).
        high: f64,
        /// Step, or `None` when continuous.
        step: Option<f64>,
    },
}

/// A searched parameter of a study.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyParam {
    /// Parameter name.
    pub name: String,
    /// Its distribution.
    pub distribution: Distribution,
}

/// What a study is: its name, parameters and the settings every worker must share.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySpec {
    /// Unique study name.
    pub name: String,
    /// Parameters in order (every point lists its values in this order).
    pub params: Vec<StudyParam>,
    /// The objective's name (a study maximizes one objective).
    pub objective: String,
    /// Settings as JSON: a worker whose settings differ is refused.
    pub settings_json: String,
    /// Trials in total (finished, running and waiting; failed ones aside).
    pub budget: u64,
}

/// A loaded study.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyHandle {
    /// The storage's id of the study.
    pub id: i64,
    /// True when this call created it (and enqueued its waiting trials).
    pub created: bool,
}

/// A trial this worker now runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedTrial {
    /// The storage's id of the trial.
    pub id: i64,
    /// The trial number (unique in the study).
    pub number: u64,
    /// Parameter values in the study's order.
    pub values: Vec<f64>,
}

/// A finished or pending trial as a sampler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PastTrial {
    /// The trial number.
    pub number: u64,
    /// Parameter values in the study's order.
    pub values: Vec<f64>,
    /// The objective (`NaN` when undefined).
    pub score: f64,
}

/// The history a new trial is suggested from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StudyHistory {
    /// Finished trials (complete, or evaluated with an undefined objective), by number.
    pub finished: Vec<PastTrial>,
    /// Running and waiting trials (their score is unknown: `NaN`).
    pub pending: Vec<PastTrial>,
    /// The number the new trial gets.
    pub next_number: u64,
}

/// The result of an evaluated trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialResult {
    /// The objective (`NaN` when undefined: the trial is stored as failed, evaluated).
    pub score: f64,
    /// Named figures shown with the trial (user attributes).
    pub metrics: Vec<(String, f64)>,
    /// Private data of the trial as JSON (system attribute), e.g. its return moments.
    pub details_json: Option<String>,
}

/// A trial as read back at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyTrial {
    /// The trial number.
    pub number: u64,
    /// Parameter values in the study's order.
    pub values: Vec<f64>,
    /// The objective (`NaN` when undefined).
    pub score: f64,
    /// Named figures.
    pub metrics: Vec<(String, f64)>,
    /// Private data (see [`TrialResult::details_json`]).
    pub details_json: Option<String>,
}

/// How many trials of a study are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StudyCounts {
    /// Waiting to be claimed.
    pub waiting: u64,
    /// Running.
    pub running: u64,
    /// Finished with a result (complete, or evaluated with an undefined objective).
    pub finished: u64,
    /// Failed without a result (e.g. stale).
    pub failed: u64,
}

/// What an ask found.
#[derive(Debug, Clone, PartialEq)]
pub enum Asked {
    /// A new running trial.
    Trial(ClaimedTrial),
    /// The budget is reached (finished, running and waiting trials).
    BudgetReached,
    /// The sampler found no new point.
    Exhausted,
}

/// Storage of a study shared by several worker processes.
pub trait StudyStorage: Send + Sync {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Creates the study with `enqueue` as its waiting trials (numbers 0, 1, … in order), or
    /// loads it when it exists; refuses one whose settings or parameters differ.
    fn open_study(
        &self,
        spec: &StudySpec,
        enqueue: &[Vec<f64>],
    ) -> impl Future<Output = Result<StudyHandle, Self::Error>> + Send;

    /// Claims the oldest waiting trial atomically (no two workers get the same one), marks it
    /// running and records its first heartbeat.
    fn claim(
        &self,
        study: &StudyHandle,
        spec: &StudySpec,
    ) -> impl Future<Output = Result<Option<ClaimedTrial>, Self::Error>> + Send;

    /// Creates a new running trial from `suggest(history)` unless the budget is reached, with
    /// the study locked so that concurrent asks see each other's trials (the constant liar).
    fn ask(
        &self,
        study: &StudyHandle,
        spec: &StudySpec,
        suggest: &(dyn Fn(&StudyHistory) -> Option<Vec<f64>> + Sync),
    ) -> impl Future<Output = Result<Asked, Self::Error>> + Send;

    /// Stores the result of a running trial; `false` when it is no longer running (failed as
    /// stale meanwhile): the result is dropped.
    fn tell(
        &self,
        trial: &ClaimedTrial,
        result: &TrialResult,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Records a heartbeat of each running trial.
    fn heartbeat(&self, trials: &[i64]) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Fails the running trials whose last heartbeat is older than `grace` and re-queues each as
    /// a waiting copy with the same parameters; returns how many.
    fn fail_stale(
        &self,
        study: &StudyHandle,
        grace: Duration,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Trials per state.
    fn counts(
        &self,
        study: &StudyHandle,
    ) -> impl Future<Output = Result<StudyCounts, Self::Error>> + Send;

    /// Every finished trial (with a result), by number.
    fn finished_trials(
        &self,
        study: &StudyHandle,
        spec: &StudySpec,
    ) -> impl Future<Output = Result<Vec<StudyTrial>, Self::Error>> + Send;
}
