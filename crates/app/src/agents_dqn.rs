//! The DQN agent's use cases (issue 17 item 1, cargo feature `deep`): train it on stored daily
//! closes into a model directory, and load a trained model as an [`Agent`] for
//! [`crate::agents::backtest`].
//!
//! A model records the last bar it was trained on; a backtest that uses it must start after that
//! bar, so the DQN is only ever evaluated out of sample.

use crate::AppError;
use crate::market::load_series;
use jiff::Timestamp;
use pulse_agents::Agent;
use pulse_core::ports::Store;
use pulse_core::{Symbol, Timeframe};
use pulse_deep::dqn::{DqnAgent, DqnError, DqnModel, train};
/// The DQN's settings, progress and report, for front ends (no direct dependency on pulse-deep).
pub use pulse_deep::dqn::{DqnConfig, SellReward, TrainProgress, TrainReport};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A DQN training.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainDqnRequest {
    /// Symbols whose stored daily closes are the training series (episodes cycle through them).
    pub symbols: Vec<Symbol>,
    /// First bar trained on (`None`: the first stored).
    pub from: Option<Timestamp>,
    /// Last bar trained on: a backtest with the model must start after it.
    pub to: Timestamp,
    /// Hyper-parameters (SPEC §4's by default) and the seed.
    pub config: DqnConfig,
    /// The model directory (must not exist yet).
    pub out: PathBuf,
}

/// What a DQN training produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainDqnOutcome {
    /// Where the model was saved (`None` when cancelled: nothing was saved).
    pub model: Option<PathBuf>,
    /// The training series: symbol, closes, first and last bar.
    pub series: Vec<TrainingSeries>,
    /// How training went.
    pub report: TrainReport,
    /// The model version recorded in the tracking store (`None` when cancelled).
    pub version: Option<crate::ml::runs::MlRun>,
}

/// One training series.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainingSeries {
    /// The symbol.
    pub symbol: Symbol,
    /// Closes trained on.
    pub closes: usize,
    /// First bar.
    pub first: Timestamp,
    /// Last bar.
    pub last: Timestamp,
}

fn dqn_error(e: DqnError) -> AppError {
    match e {
        DqnError::Config { field, reason } => AppError::setting(field, reason),
        other => AppError::Data(other.to_string()),
    }
}

/// Trains the DQN on the stored daily closes of `request.symbols` in `[from, to]`; progress is
/// reported through `on_progress`; `cancel` stops training, and then nothing is saved.
pub async fn train_dqn<S: Store>(
    store: &S,
    request: &TrainDqnRequest,
    mut on_progress: impl FnMut(&TrainProgress),
    cancel: &AtomicBool,
) -> Result<TrainDqnOutcome, AppError> {
    request.config.validate().map_err(dqn_error)?;
    if request.symbols.is_empty() {
        return Err(AppError::setting(
            "symbols",
            "at least one symbol is needed",
        ));
    }
    if request.out.exists() {
        return Err(AppError::setting(
            "out",
            format!(
                "{} exists: choose a new model directory (a model is never overwritten)",
                request.out.display()
            ),
        ));
    }
    let mut closes = Vec::new();
    let mut series = Vec::new();
    for symbol in &request.symbols {
        let bars =
            load_series(store, symbol, Timeframe::D1, request.from, Some(request.to)).await?;
        let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
            return Err(AppError::Data(format!(
                "no daily bars of {symbol} stored in the training window"
            )));
        };
        let needed = request.config.closes_needed() + 1;
        if bars.len() < needed {
            return Err(AppError::Data(format!(
                "{symbol}: {} daily closes in the training window, the DQN needs at least {needed}",
                bars.len()
            )));
        }
        series.push(TrainingSeries {
            symbol: symbol.clone(),
            closes: bars.len(),
            first: first.ts,
            last: last.ts,
        });
        closes.push(bars.iter().map(|b| b.close).collect::<Vec<f64>>());
    }
    let (mut model, report) = train(&closes, &request.config, |p| {
        on_progress(p);
        !cancel.load(Ordering::Relaxed)
    })
    .map_err(dqn_error)?;
    if report.cancelled {
        return Ok(TrainDqnOutcome {
            model: None,
            series,
            report,
            version: None,
        });
    }
    model
        .set_symbols(request.symbols.iter().map(ToString::to_string).collect())
        .map_err(dqn_error)?;
    let trained_through = series.iter().map(|s| s.last).max().unwrap_or(request.to);
    model.set_trained_through(Some(trained_through));
    model.save(&request.out).map_err(dqn_error)?;
    let first = series.iter().map(|s| s.first).min();
    let version = crate::model_registry::record(
        store,
        crate::model_registry::ModelVersion {
            metrics: crate::model_registry::json_of(&report)?,
            // Training holds no period out: judged by a backtest after its window.
            ..crate::model_registry::ModelVersion::of_series(
                crate::ml::runs::MlRunKind::Dqn,
                &request.symbols,
                request,
                (first.unwrap_or(trained_through), trained_through),
                &request.out,
            )?
        },
    )
    .await?;
    Ok(TrainDqnOutcome {
        model: Some(request.out.clone()),
        series,
        report,
        version: Some(version),
    })
}

/// A trained model from its directory.
pub fn load_model(dir: &Path) -> Result<DqnModel, AppError> {
    DqnModel::load(dir).map_err(dqn_error)
}

/// The DQN agent of a trained model directory, as a seat of an ensemble that serializes: it
/// is stored as a reference (the directory, the last bar the model was trained on and the
/// SHA-256 of its weights file) and loaded again when restored, refusing a model that changed
/// since (retrained in place, even on the same window).
#[derive(Debug)]
pub struct DqnSeat {
    dir: PathBuf,
    trained_through: Option<Timestamp>,
    weights_sha256: String,
    agent: DqnAgent,
}

/// What a [`DqnSeat`] is stored as.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DqnReference {
    model: PathBuf,
    trained_through: Option<Timestamp>,
    weights_sha256: String,
}

impl DqnSeat {
    /// The agent of the model in `dir`.
    pub fn load(dir: &Path) -> Result<Self, AppError> {
        use sha2::Digest;
        let weights = dir.join(pulse_deep::dqn::WEIGHTS_FILE);
        let bytes = std::fs::read(&weights).map_err(|source| AppError::File {
            path: weights.clone(),
            source,
        })?;
        let weights_sha256 = format!("{:x}", sha2::Sha256::digest(&bytes));
        let model = load_model(dir)?;
        Ok(DqnSeat {
            dir: dir.to_path_buf(),
            trained_through: model.meta().trained_through,
            weights_sha256,
            agent: DqnAgent::new(model),
        })
    }

    /// The last bar the model was trained on (when recorded).
    pub fn trained_through(&self) -> Option<Timestamp> {
        self.trained_through
    }
}

impl serde::Serialize for DqnSeat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        DqnReference {
            model: self.dir.clone(),
            trained_through: self.trained_through,
            weights_sha256: self.weights_sha256.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for DqnSeat {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = DqnReference::deserialize(deserializer)?;
        let seat = DqnSeat::load(&r.model).map_err(|e| {
            D::Error::custom(format!(
                "the DQN model in {} cannot be loaded again ({e}): restore it or start a new runner",
                r.model.display()
            ))
        })?;
        if seat.trained_through != r.trained_through || seat.weights_sha256 != r.weights_sha256 {
            return Err(D::Error::custom(format!(
                "the DQN model in {} changed since the runner stored it (trained through {:?}, weights {}; now {:?}, weights {}): restore the model or start a new runner",
                r.model.display(),
                r.trained_through,
                &r.weights_sha256[..r.weights_sha256.len().min(12)],
                seat.trained_through,
                &seat.weights_sha256[..seat.weights_sha256.len().min(12)]
            )));
        }
        Ok(seat)
    }
}

impl Agent for DqnSeat {
    fn kind(&self) -> pulse_agents::AgentKind {
        self.agent.kind()
    }
    fn name(&self) -> &str {
        self.agent.name()
    }
    fn history_bars(&self) -> usize {
        self.agent.history_bars()
    }
    fn warmup_bars(&self) -> usize {
        self.agent.warmup_bars()
    }
    fn decide(
        &mut self,
        view: &pulse_agents::AgentView<'_>,
        out: &mut Vec<pulse_agents::AgentSignal>,
    ) {
        self.agent.decide(view, out)
    }
}
