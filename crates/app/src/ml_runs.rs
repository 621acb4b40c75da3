//! Tracking: every `train` and `evaluate` run is recorded in the store as the JSON document
//! `ml/runs/<id>` (ids 1, 2, … allocated under the store's exclusive lock `ml-runs`), listed by
//! the index document `ml/runs` (the ids). A run is recorded `running` when it starts and
//! rewritten when it ends (`finished`, `cancelled` or `failed`); one killed outright stays
//! `running`.

use jiff::Timestamp;
use pulse_core::ports::{Clock, Store};
use serde::{Deserialize, Serialize};

use super::to_json;
use crate::AppError;

/// The index document's key.
pub const INDEX_KEY: &str = "ml/runs";

/// The document key of run `id`.
pub fn run_key(id: u64) -> String {
    format!("{INDEX_KEY}/{id}")
}

/// What the run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MlRunKind {
    /// Models trained.
    Train,
    /// Models evaluated on the test period.
    Evaluate,
    /// A DQN agent trained (`pulse agents train-dqn`; [`crate::model_registry`]).
    Dqn,
    /// The economic-cycle model trained (`pulse cycle train`).
    Cycle,
    /// An N-BEATS forecaster trained (`pulse forecast train`).
    Forecast,
}

impl MlRunKind {
    /// Lower-case name (`train`, `evaluate`, `dqn`, `cycle`, `forecast`).
    pub fn as_str(self) -> &'static str {
        match self {
            MlRunKind::Train => "train",
            MlRunKind::Evaluate => "evaluate",
            MlRunKind::Dqn => "dqn",
            MlRunKind::Cycle => "cycle",
            MlRunKind::Forecast => "forecast",
        }
    }
}

/// Where a trained model version stands in the registry ([`crate::model_registry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelStage {
    /// Recorded, not the one in use.
    Candidate,
    /// The one in use for its kind and universe (at most one).
    Champion,
    /// Replaced by a better one, or retired by a person.
    Retired,
}

impl ModelStage {
    /// Lower-case name (`candidate`, `champion`, `retired`).
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStage::Candidate => "candidate",
            ModelStage::Champion => "champion",
            ModelStage::Retired => "retired",
        }
    }
}

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MlRunStatus {
    /// Started, not ended (or killed).
    Running,
    /// Ended with its results.
    Finished,
    /// Stopped by the user; no model was written.
    Cancelled,
    /// Ended with an error (in `error`).
    Failed,
}

/// The data a run read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataWindow {
    /// First bar (start).
    pub from: Timestamp,
    /// Last bar (start).
    pub to: Timestamp,
    /// The split, when one was made (`pulse_ml::split::TimeSplit`).
    pub split: Option<pulse_ml::split::TimeSplit>,
}

/// Files a run read or wrote (paths as given or made absolute).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Artifacts {
    /// The feature directory.
    pub features_dir: Option<String>,
    /// The model directory.
    pub models_dir: Option<String>,
    /// Model files (LightGBM text format).
    pub models: Vec<String>,
    /// The importances file (JSON).
    pub importances: Option<String>,
    /// The HTML report.
    pub report: Option<String>,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlRun {
    /// Store-assigned id (1, 2, …).
    pub id: u64,
    /// Train or evaluate.
    pub kind: MlRunKind,
    /// Where it is.
    pub status: MlRunStatus,
    /// When it started (the clock's time).
    pub created_at: Timestamp,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// The training run an evaluation read.
    pub parent: Option<u64>,
    /// Every parameter (JSON object).
    pub params: serde_json::Value,
    /// The figures (JSON object; empty until finished).
    pub metrics: serde_json::Value,
    /// Feature names used (the selected ones after training).
    pub features: Vec<String>,
    /// Symbols.
    pub symbols: Vec<String>,
    /// The data window and split.
    pub window: Option<DataWindow>,
    /// Files.
    pub artifacts: Artifacts,
    /// Why it failed.
    pub error: Option<String>,
    /// The model version's stage (the deep models' registry; `None` for the LightGBM runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<ModelStage>,
}

async fn index<S: Store>(store: &S) -> Result<Vec<u64>, AppError> {
    match store.document(INDEX_KEY).await.map_err(AppError::port)? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| AppError::State(format!("document {INDEX_KEY}: {e}"))),
    }
}

/// Records a new `running` run (id allocated under the lock) and returns it.
pub async fn begin<S: Store, C: Clock>(
    store: &S,
    clock: &C,
    kind: MlRunKind,
    params: serde_json::Value,
    parent: Option<u64>,
) -> Result<MlRun, AppError> {
    let _lock = store
        .lock_exclusive("ml-runs")
        .await
        .map_err(AppError::port)?;
    let mut ids = index(store).await?;
    let id = ids.iter().max().copied().unwrap_or(0) + 1;
    ids.push(id);
    let run = MlRun {
        id,
        kind,
        status: MlRunStatus::Running,
        created_at: clock.now(),
        finished_at: None,
        parent,
        params,
        metrics: serde_json::Value::Object(Default::default()),
        features: Vec::new(),
        symbols: Vec::new(),
        window: None,
        artifacts: Artifacts::default(),
        error: None,
        stage: None,
    };
    let key = run_key(id);
    store
        .save_documents(
            &[
                (key.as_str(), to_json("the ML run", &run)?),
                (INDEX_KEY, to_json("the ML run index", &ids)?),
            ],
            &[],
        )
        .await
        .map_err(AppError::port)?;
    Ok(run)
}

/// Rewrites a run (its end state).
pub async fn save<S: Store>(store: &S, run: &MlRun) -> Result<(), AppError> {
    let key = run_key(run.id);
    store
        .save_documents(&[(key.as_str(), to_json("the ML run", run)?)], &[])
        .await
        .map_err(AppError::port)
}

/// One run; `NotFound` when there is none.
pub async fn get<S: Store>(store: &S, id: u64) -> Result<MlRun, AppError> {
    let key = run_key(id);
    let text = store
        .document(&key)
        .await
        .map_err(AppError::port)?
        .ok_or_else(|| AppError::NotFound(format!("no ML run {id} (pulse ml runs lists them)")))?;
    serde_json::from_str(&text).map_err(|e| AppError::State(format!("document {key}: {e}")))
}

/// Every recorded run, newest first.
pub async fn list<S: Store>(store: &S) -> Result<Vec<MlRun>, AppError> {
    let mut ids = index(store).await?;
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut runs = Vec::with_capacity(ids.len());
    for id in ids {
        runs.push(get(store, id).await?);
    }
    Ok(runs)
}

/// Marks a run ended with `status` at the clock's time (and the error's text when failed).
pub async fn end<S: Store, C: Clock>(
    store: &S,
    clock: &C,
    run: &mut MlRun,
    status: MlRunStatus,
    error: Option<String>,
) -> Result<(), AppError> {
    run.status = status;
    run.finished_at = Some(clock.now());
    run.error = error;
    save(store, run).await
}
