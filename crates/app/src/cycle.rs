//! Economic-cycle use cases (issue 17 item 4): train the Transformer regime model of
//! [`pulse_deep::cycle`] on FRED-MD and the VIX history into a model directory, and forecast the
//! regime (with its stocks/bonds/cash allocation) from the latest complete window.
//!
//! The model directory holds `cycle.safetensors` (weights) and `cycle.json` (settings, feature
//! standardization, label rule, split and figures). It is written as `<out>.partial` and renamed
//! to `<out>` only once both files are complete; a failed or cancelled training removes the
//! `.partial` directory and leaves no `<out>`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use pulse_deep::cycle::{
    CycleConfig, CycleError, CycleModel, DataSummaryInput, EpochReport, FredMd, LabelRule,
    MacroPanel, ModelCard, NberDates, Prediction, VixMonthly,
};
use serde::Serialize;

use crate::AppError;
use pulse_core::ports::Store;

use crate::export::write_atomic;
/// The model's domain types (regimes, settings, figures), for front ends.
pub use pulse_deep::cycle as deep;

/// Weights file of a model directory.
pub const WEIGHTS_FILE: &str = "cycle.safetensors";

/// Card file (settings, statistics, figures) of a model directory.
pub const CARD_FILE: &str = "cycle.json";

fn app_error(e: CycleError) -> AppError {
    match e {
        CycleError::Config { setting, reason } => AppError::InvalidSetting { setting, reason },
        CycleError::Io { path, source } => AppError::File { path, source },
        other => AppError::Data(other.to_string()),
    }
}

/// An input file the request needs: it must be a regular file.
fn input_file(path: &Path) -> Result<(), AppError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(AppError::Input {
            path: path.to_path_buf(),
            reason: "is not a regular file".into(),
        }),
        Err(source) => Err(AppError::File {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads the data files and computes the monthly panel (features and labels).
pub fn load_panel(fred_md: &Path, vix: &Path, rule: &LabelRule) -> Result<MacroPanel, AppError> {
    input_file(fred_md)?;
    input_file(vix)?;
    let fred = FredMd::read(fred_md).map_err(app_error)?;
    let vix = VixMonthly::read(vix).map_err(app_error)?;
    MacroPanel::build(&fred, &vix, rule).map_err(app_error)
}

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// FRED-MD CSV (`macro/FRED_MD_2026-08.csv`).
    pub fred_md: PathBuf,
    /// VIX daily OHLCV CSV (`daily-ohlcv/VIX.csv`).
    pub vix: PathBuf,
    /// NBER recession dates CSV, for the labels' cross-check (optional).
    pub nber: Option<PathBuf>,
    /// The model directory to create; must not exist.
    pub out: PathBuf,
    /// Settings (horizon, lookback, epochs, seed, network shape…).
    pub config: CycleConfig,
}

impl TrainRequest {
    /// A request with the default settings.
    pub fn new(fred_md: PathBuf, vix: PathBuf, out: PathBuf) -> TrainRequest {
        TrainRequest {
            fred_md,
            vix,
            nber: None,
            out,
            config: CycleConfig::default(),
        }
    }
}

/// A finished training.
#[derive(Debug, Clone, Serialize)]
pub struct TrainOutcome {
    /// The model directory.
    pub dir: PathBuf,
    /// What `cycle.json` holds (settings, split, figures, NBER cross-check).
    pub card: ModelCard,
    /// The forecast from the latest complete window (the last months are the test set's
    /// inputs, so this is what the model says today).
    pub latest: Prediction,
    /// The model version recorded in the tracking store ([`record`]; `None` until recorded).
    pub version: Option<crate::ml::runs::MlRun>,
}

/// Records a trained cycle model as a version of the tracking store
/// ([`crate::model_registry`]): its configuration and input files, the macro features, the
/// training months, the validation and test figures; the test accuracy is its out-of-sample
/// score over the test months (a better one on the same test months becomes the champion).
pub async fn record<S: Store>(
    store: &S,
    req: &TrainRequest,
    outcome: &TrainOutcome,
) -> Result<crate::ml::runs::MlRun, AppError> {
    let card = &outcome.card;
    use crate::model_registry::json_of as json;
    let month_start = |m: pulse_deep::cycle::Month| -> Option<jiff::Timestamp> {
        jiff::civil::date(
            i16::try_from(m.year()).ok()?,
            i8::try_from(m.month()).ok()?,
            1,
        )
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
    };
    let window = match (
        month_start(card.split.train.first),
        month_start(card.split.train.last),
    ) {
        (Some(from), Some(to)) => Some(crate::ml::runs::DataWindow {
            from,
            to,
            split: None,
        }),
        _ => None,
    };
    let test = &card.split.test;
    crate::model_registry::record(
        store,
        crate::model_registry::ModelVersion {
            kind: crate::ml::runs::MlRunKind::Cycle,
            symbols: card.features.iter().map(|f| f.name.clone()).collect(),
            params: serde_json::json!({
                "config": json(&req.config)?,
                "fred_md": req.fred_md.display().to_string(),
                "vix": req.vix.display().to_string(),
                "nber": req.nber.as_ref().map(|p| p.display().to_string()),
            }),
            window,
            dir: outcome.dir.clone(),
            metrics: serde_json::json!({
                "validation": json(&card.validation)?,
                "test": json(&card.test)?,
                "split": json(&card.split)?,
            }),
            out_of_sample: Some((
                card.test.model.accuracy,
                format!("{} .. {}", test.first_target, test.last_target),
            )),
        },
    )
    .await
}

/// Trains the model and writes the model directory. `progress` is called after each epoch;
/// `cancel` is polled between mini-batches: a cancelled training returns
/// [`AppError::Interrupted`] and writes nothing.
pub fn train(
    req: &TrainRequest,
    progress: &(dyn Fn(&EpochReport) + Sync),
    cancel: &AtomicBool,
) -> Result<TrainOutcome, AppError> {
    req.config.validate().map_err(app_error)?;
    if req.out.exists() {
        return Err(AppError::Usage(format!(
            "--out {} exists: give a new directory",
            req.out.display()
        )));
    }
    let panel = load_panel(&req.fred_md, &req.vix, &LabelRule::default())?;
    let nber = match &req.nber {
        Some(path) => {
            input_file(path)?;
            Some(panel.nber_check(&NberDates::read(path).map_err(app_error)?))
        }
        None => None,
    };
    let data = DataSummaryInput {
        fred_md: req.fred_md.display().to_string(),
        vix: req.vix.display().to_string(),
    };
    let model = CycleModel::train(
        &panel,
        &req.config,
        data,
        nber,
        &mut |e| progress(e),
        &|| cancel.load(Ordering::SeqCst),
    )
    .map_err(app_error)?
    .ok_or(AppError::Interrupted)?;
    if cancel.load(Ordering::SeqCst) {
        return Err(AppError::Interrupted);
    }
    let latest = model.predict_latest(&panel).map_err(app_error)?;
    save(&model, &req.out)?;
    Ok(TrainOutcome {
        dir: req.out.clone(),
        card: model.card,
        latest,
        version: None,
    })
}

/// Writes `model` into the new directory `out` (through `<out>.partial`, renamed when complete).
pub fn save(model: &CycleModel, out: &Path) -> Result<(), AppError> {
    let weights = model.safetensors().map_err(app_error)?;
    let card = model.card_json().map_err(app_error)?;
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AppError::Write { path, source }
    };
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(werr(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(werr(&partial))?;
    let written = write_atomic(&partial.join(WEIGHTS_FILE), &weights)
        .and_then(|()| write_atomic(&partial.join(CARD_FILE), &card))
        .and_then(|()| std::fs::rename(&partial, out).map_err(werr(out)));
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    written
}

/// Reads a model directory written by [`train`].
pub fn load(dir: &Path) -> Result<CycleModel, AppError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| AppError::File { path, source })
    };
    let weights = read(WEIGHTS_FILE)?;
    let card = read(CARD_FILE)?;
    CycleModel::from_bytes(&weights, &card)
        .map_err(|e| AppError::Data(format!("{}: {e}", dir.display())))
}

/// What to forecast.
#[derive(Debug, Clone)]
pub struct PredictRequest {
    /// The model directory (`pulse cycle train --out`).
    pub model: PathBuf,
    /// FRED-MD CSV.
    pub fred_md: PathBuf,
    /// VIX daily OHLCV CSV.
    pub vix: PathBuf,
}

/// A forecast and the model's recorded out-of-sample figures.
#[derive(Debug, Clone, Serialize)]
pub struct PredictOutcome {
    /// The model directory.
    pub model: PathBuf,
    /// The forecast from the latest complete window.
    pub prediction: Prediction,
    /// The model's test accuracy (fraction, out of sample) when it was trained.
    pub test_accuracy: f64,
    /// Persistence's test accuracy on the same months (fraction).
    pub persistence_accuracy: f64,
    /// The majority-class baseline's test accuracy (fraction).
    pub majority_accuracy: f64,
}

/// Forecasts the regime of `latest complete month + horizon` with a saved model.
pub fn predict(req: &PredictRequest) -> Result<PredictOutcome, AppError> {
    let model = load(&req.model)?;
    let panel = load_panel(&req.fred_md, &req.vix, &model.card.label_rule)?;
    let prediction = model.predict_latest(&panel).map_err(app_error)?;
    let t = &model.card.test;
    Ok(PredictOutcome {
        model: req.model.clone(),
        prediction,
        test_accuracy: t.model.accuracy,
        persistence_accuracy: t.persistence.accuracy,
        majority_accuracy: t.majority.accuracy,
    })
}

/// The model's allocation as the rebalancer's MP signal (an alternative to the macro prompt at
/// 08:30): its stocks / bonds / cash weights under the rebalancer's own class names.
#[derive(Debug, Clone)]
pub struct SignalRequest {
    /// The forecast to make.
    pub predict: PredictRequest,
    /// The rebalancer's class names for stocks, bonds and cash, in that order.
    pub classes: [String; 3],
    /// The stocks class's securities, held in equal weight (empty: its Sub-MP so far).
    pub stocks: Vec<pulse_core::Symbol>,
    /// The bonds class's securities, held in equal weight (empty: its Sub-MP so far).
    pub bonds: Vec<pulse_core::Symbol>,
    /// Store the signal for the next intake (`false`: only check it against the rebalancer).
    pub submit: bool,
}

/// The forecast and the MP signal made of it.
#[derive(Debug, Clone, Serialize)]
pub struct SignalOutcome {
    /// The forecast.
    pub forecast: PredictOutcome,
    /// The signal as stored (or as it would be stored, with what it omits carried over).
    pub signal: pulse_rebalance::Signal,
    /// Whether it was stored.
    pub submitted: bool,
}

/// The MP of a forecast's allocation under `classes` (stocks, bonds, cash).
pub fn mp_of(
    prediction: &Prediction,
    classes: &[String; 3],
) -> Result<pulse_rebalance::Mp, AppError> {
    let a = &prediction.allocation;
    let mut mp = pulse_rebalance::Mp::new();
    for (class, weight) in classes.iter().zip([a.stocks, a.bonds, a.cash]) {
        if class.trim().is_empty() || mp.insert(class.trim().to_string(), weight).is_some() {
            return Err(AppError::setting(
                "classes",
                format!("{classes:?}: three distinct class names are needed (stocks, bonds, cash)"),
            ));
        }
    }
    Ok(mp)
}

/// Forecasts the regime and turns its allocation into the rebalancer's MP signal: checked against
/// the rebalancer's model, and stored for the next intake when `submit` (the 3-day rule applies to
/// it like to any signal).
pub async fn signal<S: Store>(store: &S, req: &SignalRequest) -> Result<SignalOutcome, AppError> {
    let forecast = predict(&req.predict)?;
    let mut signal = pulse_rebalance::Signal {
        mp: Some(mp_of(&forecast.prediction, &req.classes)?),
        ..pulse_rebalance::Signal::default()
    };
    for (class, symbols) in req.classes.iter().zip([&req.stocks, &req.bonds]) {
        if !symbols.is_empty() {
            signal.sub_mp.insert(
                class.trim().to_string(),
                pulse_rebalance::SubMpSpec::EqualWeight(symbols.clone()),
            );
        }
    }
    let signal = if req.submit {
        crate::rebalance::signal(store, signal).await?
    } else {
        crate::rebalance::check_signal(store, signal).await?
    };
    Ok(SignalOutcome {
        forecast,
        signal,
        submitted: req.submit,
    })
}
