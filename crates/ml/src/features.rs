//! Per-symbol features from 1-minute bars, stored as `f32` (spec §7, issue 16 item 1).
//!
//! [`compute_features`] takes one symbol's 1-minute bars (strictly increasing, whole-minute
//! timestamps, each labelled by the **start** of its minute as [`Bar`] says) and returns one row
//! per input bar. Row `t` is what is known **at the close of bar `t`** (time `ts_t + 60 s`) and
//! depends on bars `0..=t` only (property-tested in `tests/features.rs` by changing every later
//! bar). Warm-up positions (and bars skipped by an indicator because an input was not finite, e.g.
//! a missing volume) are NaN.
//!
//! # The feature list (`docs/ml-features.md` has the same list)
//! For each timeframe `tf` (prefix `m1_` for the minute bars themselves, `m15_` and `h1_` for
//! bars resampled from them with [`pulse_core::resample`]), with `c, h, l, v` the bar's close,
//! high, low and volume and the indicators of [`pulse_indicators`] (TA-Lib conventions):
//!
//! | name | formula | unit |
//! |---|---|---|
//! | `logret_n` | `ln(c_t / c_{t−n})`, `n` in bars of `tf` (1-minute: 1, 5, 15, 60; higher: 1, 4) | log return |
//! | `rsi_14` | TA-Lib `RSI(c, 14)` (Wilder) | 0..100 |
//! | `macd_hist` | TA-Lib `MACD(c, 12, 26, 9)` histogram `/ c_t` | fraction of price |
//! | `bb_pctb` | `(c − lower) / (upper − lower)`, TA-Lib `BBANDS(c, 20, 2, 2)` (population σ) | fraction |
//! | `bb_width` | `(upper − lower) / middle` | fraction of price |
//! | `natr_14` | TA-Lib `ATR(14) / c_t` | fraction of price |
//! | `atr_pct` | share of the previous 100 `ATR(14)` values strictly below the current one × 100 | 0..100 |
//! | `vol_z` | `(v − mean₂₀(v)) / σ₂₀(v)` over the last 20 volumes (population σ; 0 if σ = 0) | z |
//! | `vwap_dist` | `c / VWAP_session − 1`, VWAP of `(h + l + c)/3` weighted by `v` since the session (UTC day) began | fraction |
//!
//! Price-level quantities (MACD, ATR) are divided by the close so that one model can be trained on
//! many symbols. Periods are those of [`IndicatorParams::default`]; all are configurable.
//!
//! # Higher timeframes: as of the last **closed** bar
//! The 15-minute and 1-hour bars are resampled from the same minutes (buckets anchored at the
//! session open: UTC midnight for crypto); their features are computed on the resampled series and
//! joined to minute `t` from the last higher-timeframe bar whose nominal end `label + length` is
//! `≤ ts_t + 60 s`, i.e. whose every minute is at or before `t`. The bar still forming at `t` is
//! never used (its close is not known yet). A bucket shortened by the session close (NYSE's last
//! half hour in `h1`) is joined only once its nominal end has passed — later, never earlier.
//!
//! # HMM volatility regimes
//! [`regime_series`] gives the HMM input on 15m or 1h bars (`100 · |ln(c_j / c_{j−1})|`, %); fit a
//! [`crate::hmm::GaussianHmm`] on its training-window part only, then [`regime_columns`] joins the
//! model's **filtered** state probabilities (`<tf>_regime_p<i>`, state 0 = calmest) by the same
//! as-of rule; append them with [`FeatureFrame::push_column`].

use pulse_core::jiff::Timestamp;
use pulse_core::resample::resample;
use pulse_core::timeframe::Timeframe;
use pulse_core::{Bar, Exchange};
use pulse_indicators as ind;

use crate::MlError;

/// Indicator periods used on every timeframe.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndicatorParams {
    /// RSI period, in bars (14).
    pub rsi_period: usize,
    /// MACD fast EMA period, in bars (12).
    pub macd_fast: usize,
    /// MACD slow EMA period, in bars (26).
    pub macd_slow: usize,
    /// MACD signal EMA period, in bars (9).
    pub macd_signal: usize,
    /// Bollinger window, in bars (20).
    pub bb_period: usize,
    /// Bollinger band width in standard deviations (2.0).
    pub bb_k: f64,
    /// ATR period, in bars (14).
    pub atr_period: usize,
    /// Window of the ATR percentile rank, in bars (100).
    pub atr_pct_window: usize,
    /// Window of the volume z-score, in bars (20).
    pub volume_z_window: usize,
}

impl Default for IndicatorParams {
    /// RSI 14, MACD 12/26/9, Bollinger 20/2, ATR 14 with a 100-bar percentile, volume z 20.
    fn default() -> Self {
        IndicatorParams {
            rsi_period: 14,
            macd_fast: 12,
            macd_slow: 26,
            macd_signal: 9,
            bb_period: 20,
            bb_k: 2.0,
            atr_period: 14,
            atr_pct_window: 100,
            volume_z_window: 20,
        }
    }
}

/// What [`compute_features`] computes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureConfig {
    /// The symbol's exchange: its calendar anchors the 15-minute and 1-hour buckets.
    pub exchange: Exchange,
    /// Log-return horizons on the minute bars, in minute bars (1, 5, 15, 60).
    pub minute_horizons: Vec<usize>,
    /// Higher timeframes joined as of their last closed bar (15m and 1h; each must be coarser
    /// than 1m and intraday).
    pub higher_timeframes: Vec<Timeframe>,
    /// Log-return horizons on the higher-timeframe bars, in bars of that timeframe (1, 4).
    pub higher_horizons: Vec<usize>,
    /// Indicator periods (on every timeframe).
    pub params: IndicatorParams,
}

impl Default for FeatureConfig {
    /// Crypto calendar, minute horizons 1/5/15/60, 15m and 1h joined with horizons 1/4, default
    /// indicator periods.
    fn default() -> Self {
        FeatureConfig {
            exchange: Exchange::Crypto,
            minute_horizons: vec![1, 5, 15, 60],
            higher_timeframes: vec![Timeframe::M15, Timeframe::H1],
            higher_horizons: vec![1, 4],
            params: IndicatorParams::default(),
        }
    }
}

/// One symbol's features: `n_rows` rows (one per input minute bar) × named `f32` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureFrame {
    names: Vec<String>,
    ts: Vec<Timestamp>,
    /// Column-major values: column `j` is `values[j·n .. (j+1)·n]`.
    values: Vec<f32>,
}

impl FeatureFrame {
    /// Number of rows (input minute bars).
    pub fn n_rows(&self) -> usize {
        self.ts.len()
    }

    /// Number of feature columns.
    pub fn n_cols(&self) -> usize {
        self.names.len()
    }

    /// Column names, in column order (e.g. `m1_rsi_14`, `m15_bb_pctb`).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Timestamp of each row: the **start** of its minute bar (the row is known at `ts + 60 s`).
    pub fn timestamps(&self) -> &[Timestamp] {
        &self.ts
    }

    /// Column `j` (length [`Self::n_rows`]); `None` when out of range.
    pub fn column_at(&self, j: usize) -> Option<&[f32]> {
        let n = self.n_rows();
        self.values.get(j * n..(j + 1) * n)
    }

    /// The column named `name`, if any.
    pub fn column(&self, name: &str) -> Option<&[f32]> {
        let j = self.names.iter().position(|n| n == name)?;
        self.column_at(j)
    }

    /// Value at `row` of column `col` (`None` when out of range).
    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        self.column_at(col).and_then(|c| c.get(row).copied())
    }

    /// Row `i` copied into `out` (length [`Self::n_cols`]), e.g. to stream rows to a model.
    pub fn row_into(&self, i: usize, out: &mut [f32]) -> Result<(), MlError> {
        let n = self.n_rows();
        if i >= n || out.len() != self.n_cols() {
            return Err(MlError::Invalid(format!(
                "row {i} of {n}, buffer {} for {} columns",
                out.len(),
                self.n_cols()
            )));
        }
        for (j, o) in out.iter_mut().enumerate() {
            *o = self.values[j * n + i];
        }
        Ok(())
    }
}

/// The column names [`compute_features`] produces for `cfg`, in order.
pub fn feature_names(cfg: &FeatureConfig) -> Vec<String> {
    let mut names = block_names("m1", &cfg.minute_horizons, &cfg.params);
    for tf in &cfg.higher_timeframes {
        names.extend(block_names(&prefix(*tf), &cfg.higher_horizons, &cfg.params));
    }
    names
}

fn prefix(tf: Timeframe) -> String {
    match tf {
        Timeframe::M1 => "m1".into(),
        Timeframe::M15 => "m15".into(),
        Timeframe::H1 => "h1".into(),
        Timeframe::D1 => "d1".into(),
    }
}

fn block_names(prefix: &str, horizons: &[usize], p: &IndicatorParams) -> Vec<String> {
    let mut v: Vec<String> = horizons
        .iter()
        .map(|h| format!("{prefix}_logret_{h}"))
        .collect();
    v.extend([
        format!("{prefix}_rsi_{}", p.rsi_period),
        format!("{prefix}_macd_hist"),
        format!("{prefix}_bb_pctb"),
        format!("{prefix}_bb_width"),
        format!("{prefix}_natr_{}", p.atr_period),
        format!("{prefix}_atr_pct"),
        format!("{prefix}_vol_z"),
        format!("{prefix}_vwap_dist"),
    ]);
    v
}

/// `ln(c_t / c_{t−h})`; NaN when `t < h` or either close is not finite and positive.
fn log_return(close: &[f64], h: usize) -> Result<Vec<f64>, MlError> {
    if h == 0 {
        return Err(MlError::Invalid("log-return horizon must be ≥ 1".into()));
    }
    if h == 1 {
        return Ok(ind::log_returns(close)?);
    }
    let ok = |x: f64| x.is_finite() && x > 0.0;
    Ok((0..close.len())
        .map(|t| {
            if t < h || !ok(close[t]) || !ok(close[t - h]) {
                f64::NAN
            } else {
                (close[t] / close[t - h]).ln()
            }
        })
        .collect())
}

/// The feature block of one timeframe, in [`block_names`] order (f64, NaN in warm-up).
fn block(bars: &[Bar], horizons: &[usize], p: &IndicatorParams) -> Result<Vec<Vec<f64>>, MlError> {
    let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let high: Vec<f64> = bars.iter().map(|b| b.high).collect();
    let low: Vec<f64> = bars.iter().map(|b| b.low).collect();
    let volume: Vec<f64> = bars.iter().map(|b| b.volume.unwrap_or(f64::NAN)).collect();
    let session: Vec<i64> = bars
        .iter()
        .map(|b| b.ts.as_second().div_euclid(86_400))
        .collect();
    let mut cols = Vec::with_capacity(horizons.len() + 8);
    for &h in horizons {
        cols.push(log_return(&close, h)?);
    }
    cols.push(ind::rsi(&close, p.rsi_period)?);
    let (_, _, hist) = ind::macd(&close, p.macd_fast, p.macd_slow, p.macd_signal)?;
    cols.push(hist.iter().zip(&close).map(|(m, c)| m / c).collect());
    let [_, _, _, pctb, width] = ind::bbands(&close, p.bb_period, p.bb_k)?;
    cols.push(pctb);
    cols.push(width);
    let atr = ind::atr(&high, &low, &close, p.atr_period)?;
    cols.push(atr.iter().zip(&close).map(|(a, c)| a / c).collect());
    cols.push(ind::atr_percentile(
        &high,
        &low,
        &close,
        p.atr_period,
        p.atr_pct_window,
    )?);
    cols.push(ind::zscore(&volume, p.volume_z_window)?);
    let vwap = ind::session_vwap(&high, &low, &close, &volume, &session)?;
    cols.push(vwap.iter().zip(&close).map(|(w, c)| c / w - 1.0).collect());
    Ok(cols)
}

/// Checks that `bars` are strictly increasing whole-minute timestamps.
fn check_minutes(bars: &[Bar]) -> Result<(), MlError> {
    for (i, b) in bars.iter().enumerate() {
        if b.ts.subsec_nanosecond() != 0 || b.ts.as_second().rem_euclid(60) != 0 {
            return Err(MlError::Invalid(format!(
                "bar {i} at {} is not on a whole minute",
                b.ts
            )));
        }
        if i > 0 && b.ts <= bars[i - 1].ts {
            return Err(MlError::Invalid(format!(
                "bar {i} at {} does not follow bar {} at {}",
                b.ts,
                i - 1,
                bars[i - 1].ts
            )));
        }
    }
    Ok(())
}

/// For each minute bar, the index of the last higher-timeframe bar closed at its close (`None`
/// before the first one closes). `htf` is ascending by label; `len_s` is its nominal length.
fn as_of_closed(minutes: &[Bar], htf: &[Bar], len_s: i64) -> Vec<Option<usize>> {
    let mut j = 0usize; // number of htf bars closed so far
    minutes
        .iter()
        .map(|m| {
            let now = m.ts.as_second() + 60;
            while j < htf.len() && htf[j].ts.as_second() + len_s <= now {
                j += 1;
            }
            j.checked_sub(1)
        })
        .collect()
}

/// Features of one symbol's 1-minute `bars` (see the module docs for the list and the timing
/// rule): one row per bar, columns named as [`feature_names`] says, values as `f32`.
///
/// Errors on unsorted or duplicate timestamps, timestamps off the minute, invalid periods, or a
/// higher timeframe that is not coarser than 1 minute and intraday.
pub fn compute_features(bars: &[Bar], cfg: &FeatureConfig) -> Result<FeatureFrame, MlError> {
    check_minutes(bars)?;
    let n = bars.len();
    let names = feature_names(cfg);
    let mut values: Vec<f32> = Vec::with_capacity(n * names.len());
    for col in block(bars, &cfg.minute_horizons, &cfg.params)? {
        values.extend(col.iter().map(|&v| v as f32));
    }
    for &tf in &cfg.higher_timeframes {
        check_higher(tf)?;
        let htf = resample(cfg.exchange, Timeframe::M1, tf, bars)?.bars;
        let cols = block(&htf, &cfg.higher_horizons, &cfg.params)?;
        let idx = as_of_closed(bars, &htf, tf.seconds());
        for col in cols {
            values.extend(idx.iter().map(|j| j.map_or(f32::NAN, |j| col[j] as f32)));
        }
    }
    Ok(FeatureFrame {
        names,
        ts: bars.iter().map(|b| b.ts).collect(),
        values,
    })
}

/// The HMM input series of one symbol on timeframe `tf` (15m or 1h): for each resampled bar
/// `j ≥ 1`, `x_j = 100 · |ln(c_j / c_{j−1})|` (absolute log return in percent), with the
/// **label** (start) of bar `j`. Fit a [`crate::hmm::GaussianHmm`] on the part of it inside the
/// training window only, then join its filtered probabilities with [`regime_columns`].
pub fn regime_series(
    bars: &[Bar],
    exchange: Exchange,
    tf: Timeframe,
) -> Result<(Vec<Timestamp>, Vec<f64>), MlError> {
    check_minutes(bars)?;
    check_higher(tf)?;
    let htf = resample(exchange, Timeframe::M1, tf, bars)?.bars;
    let mut labels = Vec::with_capacity(htf.len());
    let mut x = Vec::with_capacity(htf.len());
    for w in htf.windows(2) {
        let v = 100.0 * (w[1].close / w[0].close).ln().abs();
        if !v.is_finite() {
            return Err(MlError::Invalid(format!(
                "non-positive or non-finite close near {}",
                w[1].ts
            )));
        }
        labels.push(w[1].ts);
        x.push(v);
    }
    Ok((labels, x))
}

fn check_higher(tf: Timeframe) -> Result<(), MlError> {
    if tf == Timeframe::M1 || !tf.is_intraday() {
        return Err(MlError::Invalid(format!(
            "higher timeframe {tf}: must be 15m or 1h"
        )));
    }
    Ok(())
}

/// Regime columns for the minute rows of `bars`: column `i` at row `t` is the **filtered**
/// probability `P(state i | x_1..=j)` of `model` (states sorted by mean: 0 = calmest), where `j`
/// is the last `tf` bar closed at the close of minute `t` (the same as-of rule as the other
/// higher-timeframe features); NaN before the first value. Uses no bar after `t`. Names:
/// `<tf>_regime_p<i>` (e.g. `m15_regime_p0`).
pub fn regime_columns(
    bars: &[Bar],
    exchange: Exchange,
    tf: Timeframe,
    model: &crate::hmm::GaussianHmm,
) -> Result<Vec<(String, Vec<f32>)>, MlError> {
    let (labels, x) = regime_series(bars, exchange, tf)?;
    let k = model.n_states();
    let proba = if x.is_empty() {
        Vec::new()
    } else {
        model.predict_proba(&x)?
    };
    let len_s = tf.seconds();
    let mut j = 0usize;
    let idx: Vec<Option<usize>> = bars
        .iter()
        .map(|m| {
            let now = m.ts.as_second() + 60;
            while j < labels.len() && labels[j].as_second() + len_s <= now {
                j += 1;
            }
            j.checked_sub(1)
        })
        .collect();
    Ok((0..k)
        .map(|i| {
            let col = idx
                .iter()
                .map(|r| r.map_or(f32::NAN, |r| proba[r * k + i] as f32))
                .collect();
            (format!("{}_regime_p{i}", prefix(tf)), col)
        })
        .collect())
}

impl FeatureFrame {
    /// Appends a column (e.g. from [`regime_columns`]); its length must be [`Self::n_rows`] and
    /// its name new.
    pub fn push_column(&mut self, name: String, values: Vec<f32>) -> Result<(), MlError> {
        if values.len() != self.n_rows() || self.names.contains(&name) {
            return Err(MlError::Invalid(format!(
                "column {name}: {} values for {} rows, or the name exists",
                values.len(),
                self.n_rows()
            )));
        }
        self.names.push(name);
        self.values.extend(values);
        Ok(())
    }
}
