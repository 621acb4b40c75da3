//! N-BEATS forecast use cases (issue 17 item 5, cargo feature `deep`): train one N-BEATS network
//! on the stored daily closes of several symbols, score it out of sample against the naive and
//! EWMA forecasts (MASE), and turn its forecasts into annual expected returns for the optimizer.
//!
//! The network, its scaling, loss and the accuracy definitions are documented in
//! [`pulse_deep::nbeats`]; in short: inputs are the last `lookback` daily log returns of one
//! symbol divided by that symbol's training-period standard deviation, the target the next
//! `horizon` log returns; one model is trained on the pooled windows of every symbol (windows
//! wholly inside the training period); the annual expected return of a forecast `f` is
//! `exp(252/H · Σ f) − 1`. The test period is every stored bar after the training end (up to
//! `test_to`); a test origin's targets lie wholly in it, its inputs may reach back.

use crate::AppError;
use crate::market::load_series;
use jiff::Timestamp;
use pulse_core::ports::Store;
use pulse_core::{Symbol, Timeframe};
/// N-BEATS settings, progress, report and accuracy, for front ends (no direct dependency on
/// pulse-deep).
pub use pulse_deep::nbeats::{Accuracy, NbeatsConfig, TrainProgress, TrainReport};
use pulse_deep::nbeats::{
    NbeatsError, NbeatsModel, TrainSeries, annualised, evaluate, ewma_mean, log_returns,
    train as train_nbeats,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// An N-BEATS training with its out-of-sample evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ForecastTrainRequest {
    /// Symbols whose stored daily closes are trained on (one model for all).
    pub symbols: Vec<Symbol>,
    /// First bar loaded (`None`: the first stored); the training period starts here.
    pub from: Option<Timestamp>,
    /// Last bar of the training period: the model never reads a later close while training.
    pub to: Timestamp,
    /// Last bar of the test period (`None`: the last stored); must be after `to`.
    pub test_to: Option<Timestamp>,
    /// Network and training settings, the seed, the EWMA span and periods per year.
    pub config: NbeatsConfig,
    /// The model directory (must not exist yet).
    pub out: PathBuf,
}

/// One symbol's periods.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ForecastSeries {
    /// The symbol.
    pub symbol: Symbol,
    /// Closes in the training period.
    pub train_closes: usize,
    /// First bar of the training period.
    pub first: Timestamp,
    /// Last bar of the training period.
    pub train_last: Timestamp,
    /// Closes in the test period (after `train_last`, up to the test end).
    pub test_closes: usize,
    /// Last bar of the test period (`None` when it is empty).
    pub test_last: Option<Timestamp>,
    /// The network's scale for the symbol: the standard deviation of its daily training log
    /// returns.
    pub scale: f64,
}

/// One symbol's out-of-sample accuracy (MASE; lower is better).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AssetAccuracy {
    /// The symbol.
    pub symbol: Symbol,
    /// The scores, `None` when the test period is too short for one origin (`horizon` returns).
    pub accuracy: Option<Accuracy>,
}

/// MASE averaged over the symbols that had a test origin.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeanAccuracy {
    /// Symbols averaged.
    pub symbols: usize,
    /// Mean MASE of N-BEATS.
    pub nbeats: f64,
    /// Mean MASE of the naive forecast (zero log return).
    pub naive: f64,
    /// Mean MASE of the last log return repeated.
    pub last: f64,
    /// Mean MASE of the EWMA mean log return.
    pub ewma: f64,
}

/// An annual expected return at one bar.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Expected {
    /// The bar the forecast is made at (its close is the last one read).
    pub as_of: Timestamp,
    /// Sum of the `horizon` forecast daily log returns.
    pub horizon_log_return: f64,
    /// N-BEATS annual expected return, a fraction: `exp(P/H · Σ f) − 1`.
    pub annual: f64,
    /// An EWMA annual expected return at the same bar for comparison, a fraction (on log
    /// returns: the optimizer's stand-in averages simple returns over its price window, so its
    /// figure differs a little):
    /// `exp(P · m) − 1` with `m` the EWMA (span [`NbeatsConfig::ewma_span`]) of every loaded
    /// stored daily log return up to the bar (from the first stored bar, whatever the training
    /// period).
    pub ewma_annual: f64,
}

/// A symbol's expected returns at the training end and at the last stored bar.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExpectedReturn {
    /// The symbol.
    pub symbol: Symbol,
    /// At the training end.
    pub at_training_end: Expected,
    /// At the last stored bar.
    pub latest: Expected,
}

/// What an N-BEATS training produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ForecastTrainOutcome {
    /// Where the model was saved (`None` when cancelled: nothing was saved, nothing evaluated).
    pub model: Option<PathBuf>,
    /// The settings trained with.
    pub config: NbeatsConfig,
    /// Each symbol's periods.
    pub series: Vec<ForecastSeries>,
    /// How training went.
    pub report: TrainReport,
    /// Out-of-sample accuracy per symbol.
    pub accuracy: Vec<AssetAccuracy>,
    /// Mean accuracy over the symbols (`None` when no symbol had a test origin).
    pub mean: Option<MeanAccuracy>,
    /// Annual expected returns per symbol.
    pub expected: Vec<ExpectedReturn>,
    /// The model version recorded in the tracking store (`None` when cancelled).
    pub version: Option<crate::ml::runs::MlRun>,
}

/// Annual expected returns from a saved model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpectedRequest {
    /// The model directory.
    pub model: PathBuf,
    /// Symbols (`None`: every symbol the model was trained on); each must be one it was trained
    /// on (its scale is the model's).
    pub symbols: Option<Vec<Symbol>>,
    /// The bar to forecast at (`None`: the last stored bar of each symbol).
    pub as_of: Option<Timestamp>,
}

/// One symbol's expected return from a saved model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExpectedRow {
    /// The symbol.
    pub symbol: Symbol,
    /// The expected return.
    pub expected: Expected,
    /// Whether the forecast bar lies inside the model's training period (at or before its
    /// `trained_through`): the model has seen the returns it reads.
    pub in_sample: bool,
}

/// Annual expected returns from a saved model, with what the model is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExpectedOutcome {
    /// The model directory.
    pub model: PathBuf,
    /// The last bar it was trained on.
    pub trained_through: Option<Timestamp>,
    /// Log returns read, in bars.
    pub lookback: usize,
    /// Log returns forecast, in bars.
    pub horizon: usize,
    /// Per symbol, in the order asked.
    pub rows: Vec<ExpectedRow>,
}

fn nbeats_error(e: NbeatsError) -> AppError {
    match e {
        NbeatsError::Config { field, reason } => AppError::setting(field, reason),
        other => AppError::Data(other.to_string()),
    }
}

/// The expected return forecast from `closes` (oldest first, the last at `as_of`).
fn expected_at(
    model: &NbeatsModel,
    symbol: &Symbol,
    closes: &[f64],
    as_of: Timestamp,
) -> Result<Expected, AppError> {
    let cfg = model.config();
    let name = symbol.to_string();
    let scale = model.scale_of(&name).ok_or_else(|| {
        AppError::setting(
            "symbols",
            format!("{symbol}: the model was not trained on it"),
        )
    })?;
    let r = log_returns(&name, closes).map_err(nbeats_error)?;
    if r.len() < cfg.lookback {
        return Err(AppError::Data(format!(
            "{symbol}: {} daily closes up to {as_of}, the forecast needs {}",
            closes.len(),
            cfg.lookback + 1
        )));
    }
    let f = model.forecast(&r, scale).map_err(nbeats_error)?;
    let sum: f64 = f.iter().sum();
    let annual = annualised(&f, cfg.periods_per_year).unwrap_or(f64::NAN);
    let m = ewma_mean(&r, cfg.ewma_span).unwrap_or(f64::NAN);
    Ok(Expected {
        as_of,
        horizon_log_return: sum,
        annual,
        ewma_annual: (cfg.periods_per_year * m).exp() - 1.0,
    })
}

/// Trains N-BEATS on the stored daily closes of `request.symbols` in `[from, to]`, saves it,
/// scores it on the test period and forecasts every symbol's annual expected return at the
/// training end and at the last stored bar. Progress is reported through `on_progress` after
/// every Adam step; `cancel` stops training, and then nothing is saved or evaluated.
pub async fn train<S: Store>(
    store: &S,
    request: &ForecastTrainRequest,
    mut on_progress: impl FnMut(&TrainProgress),
    cancel: &AtomicBool,
) -> Result<ForecastTrainOutcome, AppError> {
    let cfg = &request.config;
    cfg.validate().map_err(nbeats_error)?;
    if request.symbols.is_empty() {
        return Err(AppError::setting(
            "symbols",
            "at least one symbol is needed",
        ));
    }
    if let Some(from) = request.from
        && from >= request.to
    {
        return Err(AppError::setting(
            "from",
            format!("{from} is not before the training end {}", request.to),
        ));
    }
    if let Some(test_to) = request.test_to
        && test_to <= request.to
    {
        return Err(AppError::setting(
            "test_to",
            format!("{test_to} is not after the training end {}", request.to),
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
    /// Every stored bar (the EWMA stand-in reads them all); the series trained on and scored
    /// starts at `start` (the first bar at or after `from`).
    struct Loaded {
        all: Vec<f64>,
        all_times: Vec<Timestamp>,
        start: usize,
        closes: Vec<f64>,
        times: Vec<Timestamp>,
        train_len: usize,
        test_end: usize,
    }
    let mut loaded = Vec::with_capacity(request.symbols.len());
    for symbol in &request.symbols {
        let all = load_series(store, symbol, Timeframe::D1, None, None).await?;
        let start = request
            .from
            .map_or(0, |from| all.iter().take_while(|b| b.ts < from).count());
        let bars = &all[start..];
        let train_len = bars.iter().take_while(|b| b.ts <= request.to).count();
        let needed = cfg.lookback + cfg.horizon + 1;
        if train_len < needed {
            return Err(AppError::Data(format!(
                "{symbol}: {train_len} daily closes stored in the training period, N-BEATS needs at least {needed} (lookback + horizon + 1)"
            )));
        }
        let test_end = match request.test_to {
            Some(t) => bars.iter().take_while(|b| b.ts <= t).count(),
            None => bars.len(),
        };
        loaded.push(Loaded {
            all: all.iter().map(|b| b.close).collect(),
            all_times: all.iter().map(|b| b.ts).collect(),
            start,
            closes: bars.iter().map(|b| b.close).collect(),
            times: bars.iter().map(|b| b.ts).collect(),
            train_len,
            test_end,
        });
    }
    let names: Vec<String> = request.symbols.iter().map(ToString::to_string).collect();
    let series: Vec<TrainSeries<'_>> = names
        .iter()
        .zip(&loaded)
        .map(|(name, l)| TrainSeries {
            name,
            closes: &l.closes,
            train_len: l.train_len,
        })
        .collect();
    let (mut model, report) = train_nbeats(&series, cfg, |p| {
        on_progress(p);
        !cancel.load(Ordering::Relaxed)
    })
    .map_err(nbeats_error)?;

    let mut out_series = Vec::with_capacity(loaded.len());
    for ((symbol, name), l) in request.symbols.iter().zip(&names).zip(&loaded) {
        out_series.push(ForecastSeries {
            symbol: symbol.clone(),
            train_closes: l.train_len,
            first: l.times[0],
            train_last: l.times[l.train_len - 1],
            test_closes: l.test_end - l.train_len,
            test_last: (l.test_end > l.train_len).then(|| l.times[l.test_end - 1]),
            scale: model.scale_of(name).unwrap_or(f64::NAN),
        });
    }
    if report.cancelled {
        return Ok(ForecastTrainOutcome {
            model: None,
            config: cfg.clone(),
            series: out_series,
            report,
            accuracy: Vec::new(),
            mean: None,
            expected: Vec::new(),
            version: None,
        });
    }
    let trained_through = out_series
        .iter()
        .map(|s| s.train_last)
        .max()
        .unwrap_or(request.to);
    model.set_trained_through(Some(trained_through));
    model.save(&request.out).map_err(nbeats_error)?;

    let mut accuracy = Vec::with_capacity(loaded.len());
    let mut expected = Vec::with_capacity(loaded.len());
    for ((symbol, name), l) in request.symbols.iter().zip(&names).zip(&loaded) {
        let scale = model.scale_of(name).unwrap_or(f64::NAN);
        let acc = evaluate(&model, name, &l.closes, l.train_len, l.test_end, scale)
            .map_err(nbeats_error)?;
        accuracy.push(AssetAccuracy {
            symbol: symbol.clone(),
            accuracy: acc,
        });
        let at_end = l.start + l.train_len - 1;
        let last = l.all.len() - 1;
        expected.push(ExpectedReturn {
            symbol: symbol.clone(),
            at_training_end: expected_at(&model, symbol, &l.all[..=at_end], l.all_times[at_end])?,
            latest: expected_at(&model, symbol, &l.all, l.all_times[last])?,
        });
    }
    let scored: Vec<&Accuracy> = accuracy
        .iter()
        .filter_map(|a| a.accuracy.as_ref())
        .collect();
    let mean = (!scored.is_empty()).then(|| {
        let n = scored.len() as f64;
        let avg = |f: fn(&Accuracy) -> f64| scored.iter().map(|a| f(a)).sum::<f64>() / n;
        MeanAccuracy {
            symbols: scored.len(),
            nbeats: avg(|a| a.nbeats),
            naive: avg(|a| a.naive),
            last: avg(|a| a.last),
            ewma: avg(|a| a.ewma),
        }
    });
    let first = out_series.iter().map(|s| s.first).min();
    let test_to = request
        .test_to
        .map_or_else(|| "the last bar".to_string(), |t| t.to_string());
    let version = crate::model_registry::record(
        store,
        crate::model_registry::ModelVersion {
            metrics: serde_json::json!({
                "mean_mase": crate::model_registry::json_of(&mean)?,
                "report": crate::model_registry::json_of(&report)?,
            }),
            // Lower MASE is better: the score is its negation, over the test window.
            out_of_sample: mean
                .as_ref()
                .map(|m| (-m.nbeats, format!("{trained_through} .. {test_to}"))),
            ..crate::model_registry::ModelVersion::of_series(
                crate::ml::runs::MlRunKind::Forecast,
                &request.symbols,
                request,
                (first.unwrap_or(trained_through), trained_through),
                &request.out,
            )?
        },
    )
    .await?;
    Ok(ForecastTrainOutcome {
        model: Some(request.out.clone()),
        config: cfg.clone(),
        series: out_series,
        report,
        accuracy,
        mean,
        expected,
        version: Some(version),
    })
}

/// A trained model from its directory.
pub fn load_model(dir: &Path) -> Result<NbeatsModel, AppError> {
    NbeatsModel::load(dir).map_err(|e| match e {
        NbeatsError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            AppError::setting(
                "model",
                format!("{}: no N-BEATS model there ({source})", path.display()),
            )
        }
        other => nbeats_error(other),
    })
}

/// Annual expected returns of the saved model `request.model` for its symbols (or those asked),
/// forecast from the stored daily closes up to `as_of` (or the last stored bar).
pub async fn expected<S: Store>(
    store: &S,
    request: &ExpectedRequest,
) -> Result<ExpectedOutcome, AppError> {
    let model = load_model(&request.model)?;
    let symbols: Vec<Symbol> = match &request.symbols {
        Some(s) if s.is_empty() => {
            return Err(AppError::setting(
                "symbols",
                "at least one symbol is needed",
            ));
        }
        Some(s) => s.clone(),
        None => model
            .meta()
            .series
            .iter()
            .map(|s| Symbol::try_new(&s.name).map_err(|e| AppError::Data(e.to_string())))
            .collect::<Result<_, _>>()?,
    };
    let rows = expected_rows(store, &model, &symbols, request.as_of).await?;
    Ok(ExpectedOutcome {
        model: request.model.clone(),
        trained_through: model.meta().trained_through,
        lookback: model.config().lookback,
        horizon: model.config().horizon,
        rows,
    })
}

/// Each symbol's expected return by `model` from its stored daily closes up to `as_of` (or the
/// last stored bar), in the order of `symbols`.
pub async fn expected_rows<S: Store>(
    store: &S,
    model: &NbeatsModel,
    symbols: &[Symbol],
    as_of: Option<Timestamp>,
) -> Result<Vec<ExpectedRow>, AppError> {
    let mut rows = Vec::with_capacity(symbols.len());
    for symbol in symbols {
        if model.scale_of(&symbol.to_string()).is_none() {
            let trained: Vec<&str> = model
                .meta()
                .series
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Err(AppError::setting(
                "symbols",
                format!(
                    "{symbol}: the model was not trained on it (it knows {})",
                    trained.join(", ")
                ),
            ));
        }
        let bars = load_series(store, symbol, Timeframe::D1, None, as_of).await?;
        let Some(last) = bars.last() else {
            return Err(AppError::Data(format!("no daily bars of {symbol} stored")));
        };
        let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
        rows.push(ExpectedRow {
            symbol: symbol.clone(),
            expected: expected_at(model, symbol, &closes, last.ts)?,
            in_sample: model
                .meta()
                .trained_through
                .is_some_and(|through| last.ts <= through),
        });
    }
    Ok(rows)
}

/// Target weights of one of the forecast-informed strategies of SPEC §5 (the `-forecast`
/// presets) with N-BEATS expected returns in place of the EWMA stand-in.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ForecastOptimizeRequest {
    /// The N-BEATS model directory.
    pub model: PathBuf,
    /// The universe: at least two symbols the model was trained on.
    pub symbols: Vec<Symbol>,
    /// One of `min-vol-forecast`, `max-sharpe-forecast`, `hrp-forecast`, `blend-forecast`.
    pub strategy: crate::portfolio::Preset,
    /// Annual risk-free rate (fraction).
    pub rf: f64,
    /// First bar of the price window the covariance is estimated on (`None`: the first stored).
    pub from: Option<Timestamp>,
    /// Last bar of the price window, and the bar the forecasts are made at (each symbol's last
    /// stored bar up to it; `None`: the last stored).
    pub to: Option<Timestamp>,
}

/// The weights and the N-BEATS expected returns they were optimized with.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastOptimizeOutcome {
    /// The N-BEATS annual expected returns, in universe order.
    pub expected: Vec<ExpectedRow>,
    /// Weights, the portfolio's expected return (from the N-BEATS returns), volatility and
    /// Sharpe ratio, and the price window.
    pub optimized: crate::portfolio::OptimizeOutcome,
}

/// Optimizes a `-forecast` preset over `request.symbols` with the annual expected returns N-BEATS
/// forecasts at `request.to` ([`crate::portfolio::optimize_preset_with_returns`] with
/// `ReturnModel::Supplied`); the covariance is the preset's, from the closes in `[from, to]`.
pub async fn optimize<S: Store>(
    store: &S,
    request: &ForecastOptimizeRequest,
) -> Result<ForecastOptimizeOutcome, AppError> {
    use crate::portfolio::Preset;
    if !matches!(
        request.strategy,
        Preset::MinVolForecast
            | Preset::MaxSharpeForecast
            | Preset::HrpForecast
            | Preset::BlendForecast
    ) {
        return Err(AppError::setting(
            "strategy",
            format!(
                "{} is not a forecast strategy: expected min-vol-forecast, max-sharpe-forecast, hrp-forecast or blend-forecast",
                request.strategy
            ),
        ));
    }
    if request.symbols.len() < 2 {
        return Err(AppError::setting(
            "symbols",
            "a portfolio needs at least two symbols",
        ));
    }
    let model = load_model(&request.model)?;
    let expected = expected_rows(store, &model, &request.symbols, request.to).await?;
    let supplied: Vec<f64> = expected.iter().map(|r| r.expected.annual).collect();
    let optimized = crate::portfolio::optimize_preset_with_returns(
        store,
        &request.symbols,
        request.strategy,
        request.rf,
        request.from,
        request.to,
        Some(supplied),
    )
    .await?;
    Ok(ForecastOptimizeOutcome {
        expected,
        optimized,
    })
}
