//! `features`: one pass per symbol, streamed from the store, into a feature directory.
//!
//! For each symbol (one at a time: only its 1-minute bars, the leaders' and the daily index are
//! in memory), [`pulse_ml::pipeline::symbol_frame`] computes the f32 feature rows (own features
//! on 1m / 15m / 1h bars, correlation and lead-lag with the leaders, Fear & Greed as of the
//! previous day, HMM regimes when a training end is given), and
//! [`pulse_ml::labels::triple_barrier_dynamic`] the labels (spec §7's dynamic barriers by ATR
//! percentile, base 1.5, vertical barrier after 60 bars). Each file is written atomically;
//! `manifest.json` last, so a directory with a manifest is complete.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;
use pulse_core::ports::{BarPager, BarQuery, Store};
use pulse_core::{Bar, Instrument, Symbol, Timeframe};
use pulse_ml::hmm::FitConfig;
use pulse_ml::pipeline::{PipelineConfig, SymbolInputs, fit_regime_model, symbol_frame};
use serde::{Deserialize, Serialize};

use super::{MANIFEST, features_path, labels_path, ml_error, to_json, write_atomic};
use crate::AppError;

/// Label settings: spec §7's dynamic triple barrier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelConfig {
    /// Base barrier multiplier in ATRs (1.5): take-profit / stop-loss at `(1.5, 1.0)·base`
    /// above the 80th ATR percentile, `(0.8, 0.6)·base` below the 20th, `(1, 0.8)·base` between.
    pub base: f64,
    /// Vertical barrier, in 1-minute bars after the decision (60).
    pub horizon: usize,
}

impl Default for LabelConfig {
    /// Base 1.5, 60 bars.
    fn default() -> Self {
        LabelConfig {
            base: 1.5,
            horizon: 60,
        }
    }
}

/// HMM volatility regimes, fitted per symbol on the bars before `train_end` only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegimeConfig {
    /// Bars the HMM reads (15m or 1h).
    pub timeframe: Timeframe,
    /// Number of states (2 or 3).
    pub states: usize,
    /// End of the fitting window: training must not end before it (`train` checks).
    pub train_end: Timestamp,
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct FeaturesRequest {
    /// Symbols with stored 1-minute bars; `None` = every stored 1-minute series.
    pub symbols: Option<Vec<Symbol>>,
    /// The feature directory (created when missing).
    pub out: PathBuf,
    /// First bar wanted (inclusive), or from the start.
    pub start: Option<Timestamp>,
    /// Last bar wanted (inclusive), or to the end.
    pub end: Option<Timestamp>,
    /// Leader symbols for correlation and lead-lag; `None` = BTCUSDT and ETHUSDT when stored.
    pub leaders: Option<Vec<Symbol>>,
    /// A stored daily series (Fear & Greed, value in the close) joined as of the previous day.
    pub fear_greed: Option<Symbol>,
    /// HMM regimes (off when `None`: they need the training window's end).
    pub regime: Option<RegimeConfig>,
    /// Feature settings.
    pub pipeline: PipelineConfig,
    /// Label settings.
    pub labels: LabelConfig,
    /// Bars read from the store at a time.
    pub chunk: u32,
}

impl FeaturesRequest {
    /// Defaults for `symbols` into `out`.
    pub fn new(symbols: Option<Vec<Symbol>>, out: PathBuf) -> Self {
        FeaturesRequest {
            symbols,
            out,
            start: None,
            end: None,
            leaders: None,
            fear_greed: None,
            regime: None,
            pipeline: PipelineConfig::default(),
            labels: LabelConfig::default(),
            chunk: 20_000,
        }
    }
}

/// One symbol of a feature directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolEntry {
    /// The symbol.
    pub symbol: String,
    /// Rows (1-minute bars).
    pub rows: usize,
    /// Rows with a label.
    pub labelled: usize,
    /// First bar (start).
    pub first: Timestamp,
    /// Last bar (start).
    pub last: Timestamp,
}

/// The directory's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureManifest {
    /// Layout version (1).
    pub version: u32,
    /// Column names of every feature file, in order.
    pub columns: Vec<String>,
    /// Leader symbols used.
    pub leaders: Vec<String>,
    /// The daily index joined, if any.
    pub fear_greed: Option<String>,
    /// HMM regimes, if any.
    pub regime: Option<RegimeConfig>,
    /// Feature settings.
    pub pipeline: PipelineConfig,
    /// Label settings.
    pub labels: LabelConfig,
    /// The symbols, in the order computed.
    pub symbols: Vec<SymbolEntry>,
}

/// What was computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeaturesOutcome {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest (the symbols done so far when cancelled: then it is not written).
    pub manifest: FeatureManifest,
    /// True when the cancel flag stopped the work (finished symbols' files stay; no manifest).
    pub cancelled: bool,
}

async fn read_bars<S: Store>(
    store: &S,
    symbol: &Symbol,
    timeframe: Timeframe,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    chunk: u32,
    cancel: &AtomicBool,
) -> Result<Vec<Bar>, AppError> {
    let mut pager = BarPager::new(
        BarQuery {
            symbol: symbol.clone(),
            timeframe,
            start,
            end,
        },
        chunk,
    );
    let mut bars = Vec::new();
    while let Some(page) = pager.next_chunk(store).await.map_err(AppError::port)? {
        bars.extend(page);
        if cancel.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(bars)
}

/// Default leaders, when stored.
const DEFAULT_LEADERS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

/// Computes and writes the features and labels of every requested symbol. `progress(done,
/// total, symbol)` is called after each symbol; once `cancel` is set, no further symbol starts.
pub async fn compute_features<S: Store>(
    store: &S,
    req: &FeaturesRequest,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
    cancel: &AtomicBool,
) -> Result<FeaturesOutcome, AppError> {
    if !(req.labels.base.is_finite() && req.labels.base > 0.0) || req.labels.horizon == 0 {
        return Err(AppError::setting(
            "labels",
            "base must be > 0 and the horizon ≥ 1 bar",
        ));
    }
    if let Some(r) = &req.regime
        && !(2..=3).contains(&r.states)
    {
        return Err(AppError::setting("regime_states", "must be 2 or 3"));
    }
    let stored: Vec<Symbol> = store
        .series()
        .await
        .map_err(AppError::port)?
        .into_iter()
        .filter(|s| s.timeframe == Timeframe::M1)
        .map(|s| s.symbol)
        .collect();
    let symbols = match &req.symbols {
        Some(list) => {
            if list.is_empty() {
                return Err(AppError::Usage("no symbols given".into()));
            }
            if let Some(missing) = list.iter().find(|s| !stored.contains(s)) {
                return Err(AppError::NotFound(format!(
                    "{missing} has no stored 1-minute bars (pulse data list shows the series)"
                )));
            }
            list.clone()
        }
        None if stored.is_empty() => {
            return Err(AppError::Data("no stored 1-minute series".into()));
        }
        None => stored.clone(),
    };
    let leader_symbols: Vec<Symbol> = match &req.leaders {
        Some(l) => {
            if let Some(missing) = l.iter().find(|s| !stored.contains(s)) {
                return Err(AppError::NotFound(format!(
                    "leader {missing} has no stored 1-minute bars"
                )));
            }
            l.clone()
        }
        None => stored
            .iter()
            .filter(|s| DEFAULT_LEADERS.contains(&s.as_str()))
            .cloned()
            .collect(),
    };
    std::fs::create_dir_all(&req.out).map_err(|source| AppError::Write {
        path: req.out.clone(),
        source,
    })?;
    let never = AtomicBool::new(false);
    let mut leaders: Vec<(String, Vec<Bar>)> = Vec::new();
    for l in &leader_symbols {
        let bars = read_bars(
            store,
            l,
            Timeframe::M1,
            req.start,
            req.end,
            req.chunk,
            &never,
        )
        .await?;
        leaders.push((l.as_str().to_lowercase(), bars));
    }
    let fear_greed = match &req.fear_greed {
        Some(s) => {
            let daily =
                read_bars(store, s, Timeframe::D1, None, req.end, req.chunk, &never).await?;
            if daily.is_empty() {
                return Err(AppError::NotFound(format!("{s} has no stored daily bars")));
            }
            Some(daily)
        }
        None => None,
    };
    let mut manifest = FeatureManifest {
        version: 1,
        columns: Vec::new(),
        leaders: leaders.iter().map(|(n, _)| n.clone()).collect(),
        fear_greed: req.fear_greed.as_ref().map(|s| s.as_str().to_string()),
        regime: req.regime,
        pipeline: req.pipeline.clone(),
        labels: req.labels,
        symbols: Vec::new(),
    };
    let total = symbols.len();
    for (done, symbol) in symbols.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Ok(FeaturesOutcome {
                dir: req.out.clone(),
                manifest,
                cancelled: true,
            });
        }
        let bars = read_bars(
            store,
            symbol,
            Timeframe::M1,
            req.start,
            req.end,
            req.chunk,
            cancel,
        )
        .await?;
        if cancel.load(Ordering::Relaxed) {
            continue;
        }
        let entry = one_symbol(
            store,
            req,
            symbol,
            &bars,
            &leaders,
            fear_greed.as_deref(),
            &mut manifest,
        )
        .await?;
        manifest.symbols.push(entry);
        progress(done + 1, total, symbol.as_str());
    }
    if cancel.load(Ordering::Relaxed) {
        return Ok(FeaturesOutcome {
            dir: req.out.clone(),
            manifest,
            cancelled: true,
        });
    }
    write_atomic(
        &req.out.join(MANIFEST),
        to_json("the feature manifest", &manifest)?.as_bytes(),
    )?;
    Ok(FeaturesOutcome {
        dir: req.out.clone(),
        manifest,
        cancelled: false,
    })
}

async fn one_symbol<S: Store>(
    store: &S,
    req: &FeaturesRequest,
    symbol: &Symbol,
    bars: &[Bar],
    leaders: &[(String, Vec<Bar>)],
    fear_greed: Option<&[Bar]>,
    manifest: &mut FeatureManifest,
) -> Result<SymbolEntry, AppError> {
    let name = symbol.as_str();
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return Err(AppError::Data(format!(
            "{name}: no 1-minute bars in the requested window"
        )));
    };
    let instrument = store
        .instrument(symbol)
        .await
        .map_err(AppError::port)?
        .unwrap_or_else(|| Instrument::infer(symbol));
    let mut cfg = req.pipeline.clone();
    cfg.features.exchange = instrument.exchange;
    let model = match &req.regime {
        Some(r) => Some(
            fit_regime_model(
                bars,
                instrument.exchange,
                r.timeframe,
                r.train_end,
                r.states,
                &FitConfig::default(),
            )
            .map_err(|e| ml_error(format!("{name}: HMM regimes"), e))?,
        ),
        None => None,
    };
    let leader_refs: Vec<(&str, &[Bar])> = leaders
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let inputs = SymbolInputs {
        bars,
        leaders: &leader_refs,
        fear_greed,
        regime: req
            .regime
            .as_ref()
            .zip(model.as_ref())
            .map(|(r, m)| (r.timeframe, m)),
    };
    let frame =
        symbol_frame(&inputs, &cfg).map_err(|e| ml_error(format!("{name}: features"), e))?;
    if manifest.columns.is_empty() {
        manifest.columns = frame.names().to_vec();
    } else if manifest.columns != frame.names() {
        return Err(AppError::Data(format!(
            "{name}: its feature columns differ from the first symbol's"
        )));
    }
    let labels =
        labels_of(bars, &cfg, &req.labels).map_err(|e| ml_error(format!("{name}: labels"), e))?;
    write_file(&features_path(&req.out, name), |w| {
        pulse_ml::store::write_frame(&frame, w)
    })?;
    write_file(&labels_path(&req.out, name), |w| {
        pulse_ml::store::write_labels(&labels, w)
    })?;
    Ok(SymbolEntry {
        symbol: name.to_string(),
        rows: bars.len(),
        labelled: labels.iter().filter(|l| l.is_some()).count(),
        first: first.ts,
        last: last.ts,
    })
}

/// Spec §7's dynamic triple-barrier labels of `bars`: ATR and its percentile rank with the
/// feature settings' periods.
pub fn labels_of(
    bars: &[Bar],
    cfg: &PipelineConfig,
    labels: &LabelConfig,
) -> Result<Vec<Option<pulse_ml::labels::BarrierLabel>>, pulse_ml::MlError> {
    let p = &cfg.features.params;
    let high: Vec<f64> = bars.iter().map(|b| b.high).collect();
    let low: Vec<f64> = bars.iter().map(|b| b.low).collect();
    let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let atr = pulse_indicators::atr(&high, &low, &close, p.atr_period)?;
    let pct =
        pulse_indicators::atr_percentile(&high, &low, &close, p.atr_period, p.atr_pct_window)?;
    pulse_ml::labels::triple_barrier_dynamic(bars, &atr, &pct, labels.base, labels.horizon)
}

/// Writes a file through `<path>.tmp` and a rename.
fn write_file(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), pulse_ml::MlError>,
) -> Result<(), AppError> {
    let tmp = super::tmp_path(path);
    let err = |source| AppError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(&tmp).map_err(err)?;
    let mut w = std::io::BufWriter::new(file);
    write(&mut w).map_err(|e| ml_error(path.display(), e))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(err)
}
