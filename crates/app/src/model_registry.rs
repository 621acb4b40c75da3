//! The model registry (issue 17 item 6: every model version recorded in the tracking store,
//! promoted or retired by its out-of-sample performance).
//!
//! Every trained deep model — a DQN agent, the economic-cycle model, an N-BEATS forecaster — is
//! recorded when its training finishes as a run of the tracking store ([`crate::ml::runs`]:
//! `ml/runs/<id>`, listed by `pulse ml runs` and the dashboard's ML page) with its parameters,
//! symbols, data window, model directory, figures and a [`ModelStage`].
//!
//! The promotion rule: a version with an out-of-sample score (higher is better — the cycle
//! model's test accuracy, N-BEATS' mean test MASE negated) is compared with the champion of its
//! kind on the same universe and the same test window. It becomes the champion when there is
//! none or when its score is higher (the old champion is retired); otherwise it stays a
//! candidate. A version without one (the DQN: its training holds no period out; it is judged by
//! a backtest after its window) stays a candidate until a person promotes it (`pulse ml promote
//! ID`); `pulse ml retire ID` retires any version. At most one champion per kind and universe.

use crate::AppError;
use crate::ml::runs::{self as ml_runs, DataWindow, MlRun, MlRunKind, MlRunStatus, ModelStage};
use pulse_core::clock::SimClock;
use pulse_core::ports::Store;
use std::path::PathBuf;

/// The store's lock serialising stage changes (one champion at a time).
const LOCK: &str = "model-registry";

/// A trained model version to record.
#[derive(Debug, Clone)]
pub struct ModelVersion {
    /// What was trained.
    pub kind: MlRunKind,
    /// The universe (symbols, or the macro series for the cycle model).
    pub symbols: Vec<String>,
    /// Every parameter (JSON object).
    pub params: serde_json::Value,
    /// The training data's first and last bar.
    pub window: Option<DataWindow>,
    /// The model directory.
    pub dir: PathBuf,
    /// The figures (JSON object).
    pub metrics: serde_json::Value,
    /// The out-of-sample score (higher is better) and the test window it was measured on.
    pub out_of_sample: Option<(f64, String)>,
}

impl ModelVersion {
    /// A version of `kind` trained on `symbols`' bars from `from` to `to` into `dir` with the
    /// request `params`; no figures yet, no out-of-sample score.
    pub fn of_series<P: serde::Serialize>(
        kind: MlRunKind,
        symbols: &[pulse_core::Symbol],
        params: &P,
        (from, to): (jiff::Timestamp, jiff::Timestamp),
        dir: &std::path::Path,
    ) -> Result<Self, AppError> {
        Ok(ModelVersion {
            kind,
            symbols: symbols.iter().map(ToString::to_string).collect(),
            params: json_of(params)?,
            window: Some(DataWindow {
                from,
                to,
                split: None,
            }),
            dir: dir.to_path_buf(),
            metrics: serde_json::Value::Object(serde_json::Map::new()),
            out_of_sample: None,
        })
    }
}

/// `value` as JSON, for a version's parameters and figures.
pub fn json_of<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(value).map_err(|source| AppError::Encode {
        what: "a model version",
        source,
    })
}

/// The out-of-sample score of a run and its test window (`metrics.oos_score`,
/// `metrics.oos_window`).
fn score_of(run: &MlRun) -> Option<(f64, &str)> {
    Some((
        run.metrics.get("oos_score")?.as_f64()?,
        run.metrics.get("oos_window")?.as_str()?,
    ))
}

/// Records a trained version as a finished run and applies the promotion rule (module docs).
pub async fn record<S: Store>(store: &S, version: ModelVersion) -> Result<MlRun, AppError> {
    let (now, _) = crate::rebalance::clock_now(store).await?;
    let clock = SimClock::new(now);
    let mut run = ml_runs::begin(store, &clock, version.kind, version.params, None).await?;
    run.symbols = version.symbols;
    run.window = version.window;
    run.artifacts.models_dir = Some(version.dir.display().to_string());
    let mut metrics = match version.metrics {
        serde_json::Value::Object(m) => m,
        other => {
            let mut m = serde_json::Map::new();
            m.insert("report".into(), other);
            m
        }
    };
    if let Some((score, window)) = &version.out_of_sample {
        metrics.insert("oos_score".into(), serde_json::json!(score));
        metrics.insert("oos_window".into(), serde_json::json!(window));
    }
    run.metrics = serde_json::Value::Object(metrics);
    run.stage = Some(ModelStage::Candidate);
    let _lock = store.lock_exclusive(LOCK).await.map_err(AppError::port)?;
    if let Some((score, window)) = score_of(&run).map(|(s, w)| (s, w.to_string())) {
        let champion = champion(store, run.kind, &run.symbols).await?;
        let replaces = match &champion {
            None => true,
            Some(c) => score_of(c).is_some_and(|(s, w)| w == window && score > s),
        };
        if replaces {
            if let Some(mut old) = champion {
                old.stage = Some(ModelStage::Retired);
                ml_runs::save(store, &old).await?;
            }
            run.stage = Some(ModelStage::Champion);
        }
    }
    ml_runs::end(store, &clock, &mut run, MlRunStatus::Finished, None).await?;
    Ok(run)
}

/// The champion of `kind` on `symbols`, if any.
pub async fn champion<S: Store>(
    store: &S,
    kind: MlRunKind,
    symbols: &[String],
) -> Result<Option<MlRun>, AppError> {
    Ok(ml_runs::list(store)
        .await?
        .into_iter()
        .find(|r| r.kind == kind && r.stage == Some(ModelStage::Champion) && r.symbols == symbols))
}

/// Makes version `id` the champion of its kind and universe (retiring the one before); a
/// person's decision, whatever the scores say.
pub async fn promote<S: Store>(store: &S, id: u64) -> Result<MlRun, AppError> {
    let _lock = store.lock_exclusive(LOCK).await.map_err(AppError::port)?;
    let mut run = version(store, id).await?;
    if run.stage == Some(ModelStage::Champion) {
        return Ok(run);
    }
    if let Some(mut old) = champion(store, run.kind, &run.symbols).await? {
        old.stage = Some(ModelStage::Retired);
        ml_runs::save(store, &old).await?;
    }
    run.stage = Some(ModelStage::Champion);
    ml_runs::save(store, &run).await?;
    Ok(run)
}

/// Retires version `id` (a retired champion leaves its kind and universe without one).
pub async fn retire<S: Store>(store: &S, id: u64) -> Result<MlRun, AppError> {
    let _lock = store.lock_exclusive(LOCK).await.map_err(AppError::port)?;
    let mut run = version(store, id).await?;
    run.stage = Some(ModelStage::Retired);
    ml_runs::save(store, &run).await?;
    Ok(run)
}

/// Run `id`, which must be a model version (a trained deep model).
async fn version<S: Store>(store: &S, id: u64) -> Result<MlRun, AppError> {
    let run = ml_runs::get(store, id).await?;
    if run.stage.is_none() {
        return Err(AppError::Usage(format!(
            "ML run {id} is a {} run, not a model version (pulse ml runs lists the versions with their stage)",
            run.kind.as_str()
        )));
    }
    Ok(run)
}
