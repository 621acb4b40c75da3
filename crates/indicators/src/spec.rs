//! Indicator specs for the CLI (`pulse ta --indicator rsi:14 …`): parsing, listing, computing
//! named output columns over OHLCV columns.
//!
//! Spec syntax: `name` or `name:p1,p2,…` (positional; omitted trailing params take their
//! defaults). Column names: `<output>_<resolved params joined by _>` with numbers printed without
//! a trailing `.0` (`bbands:20,2` → `bb_upper_20_2`); parameterless indicators are just the name
//! (`vwap`, `obv`, `trange`, `ret`, `logret`).

use crate::{IndicatorError, momentum, stats, volatility, volume};

/// A parsed, validated indicator request.
#[derive(Debug, Clone, PartialEq)]
pub enum IndicatorSpec {
    /// `sma:period` — simple moving average of close.
    Sma {
        /// Period, in bars.
        period: usize,
    },
    /// `ema:period` — exponential moving average of close.
    Ema {
        /// Period, in bars.
        period: usize,
    },
    /// `wma:period` — weighted moving average of close.
    Wma {
        /// Period, in bars.
        period: usize,
    },
    /// `rsi:period` — Wilder RSI of close.
    Rsi {
        /// Period, in bars.
        period: usize,
    },
    /// `macd:fast,slow,signal` — MACD of close.
    Macd {
        /// Fast EMA period, in bars.
        fast: usize,
        /// Slow EMA period, in bars.
        slow: usize,
        /// Signal EMA period, in bars.
        signal: usize,
    },
    /// `bbands:period,k` — Bollinger Bands of close.
    BBands {
        /// Period, in bars.
        period: usize,
        /// Band width in standard deviations.
        k: f64,
    },
    /// `trange` — true range.
    TRange,
    /// `atr:period` — Wilder ATR.
    Atr {
        /// Period, in bars.
        period: usize,
    },
    /// `atrp:period,window` — ATR percentile rank.
    AtrPercentile {
        /// Period, in bars.
        period: usize,
        /// Window length, in bars.
        window: usize,
    },
    /// `vwap` — session-anchored VWAP.
    Vwap,
    /// `vwap:window` — rolling-window VWAP.
    RollingVwap {
        /// Window length, in bars.
        window: usize,
    },
    /// `stddev:period,nbdev` — rolling population σ of close.
    StdDev {
        /// Period, in bars.
        period: usize,
        /// Multiplier of sigma.
        nbdev: f64,
    },
    /// `vol:window,ppy` — annualized rolling volatility of close log returns.
    Vol {
        /// Window length, in bars.
        window: usize,
        /// Bars per year for annualization (252 daily).
        periods_per_year: f64,
    },
    /// `corr:period` — rolling correlation of close returns with benchmark returns.
    Corr {
        /// Period, in bars.
        period: usize,
    },
    /// `beta:period` — rolling beta of close vs benchmark close.
    Beta {
        /// Period, in bars.
        period: usize,
    },
    /// `zscore:window` — rolling z-score of close.
    ZScore {
        /// Window length, in bars.
        window: usize,
    },
    /// `roc:period` — rate of change (percent) of close.
    Roc {
        /// Period, in bars.
        period: usize,
    },
    /// `mom:period` — momentum of close.
    Mom {
        /// Period, in bars.
        period: usize,
    },
    /// `ret` — simple returns of close.
    Ret,
    /// `logret` — log returns of close.
    LogRet,
    /// `stoch:fastk,slowk,slowd` — stochastic %K/%D.
    Stoch {
        /// Fast %K look-back, in bars.
        fastk: usize,
        /// Slow %K SMA period, in bars.
        slowk: usize,
        /// %D SMA period, in bars.
        slowd: usize,
    },
    /// `obv` — on-balance volume.
    Obv,
    /// `adx:period` — ADX.
    Adx {
        /// Period, in bars.
        period: usize,
    },
}

/// Description of one indicator for `pulse ta --list`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecInfo {
    /// Spec name, e.g. `"macd"`.
    pub name: &'static str,
    /// Parameters in order: `(name, default)`.
    pub params: &'static [(&'static str, &'static str)],
    /// Output column prefixes, e.g. `["macd", "macd_signal", "macd_hist"]`.
    pub outputs: &'static [&'static str],
    /// One-line description with units.
    pub description: &'static str,
}

const TABLE: &[SpecInfo] = &[
    SpecInfo {
        name: "sma",
        params: &[("period", "20")],
        outputs: &["sma"],
        description: "Simple moving average of close (price units), TA-Lib SMA",
    },
    SpecInfo {
        name: "ema",
        params: &[("period", "20")],
        outputs: &["ema"],
        description: "Exponential moving average of close, SMA-seeded (price units), TA-Lib EMA",
    },
    SpecInfo {
        name: "wma",
        params: &[("period", "20")],
        outputs: &["wma"],
        description: "Linearly weighted moving average of close (price units), TA-Lib WMA",
    },
    SpecInfo {
        name: "rsi",
        params: &[("period", "14")],
        outputs: &["rsi"],
        description: "Relative Strength Index, Wilder smoothing (0-100), TA-Lib RSI",
    },
    SpecInfo {
        name: "macd",
        params: &[("fast", "12"), ("slow", "26"), ("signal", "9")],
        outputs: &["macd", "macd_signal", "macd_hist"],
        description: "MACD line, signal and histogram (price units), TA-Lib MACD",
    },
    SpecInfo {
        name: "bbands",
        params: &[("period", "20"), ("k", "2")],
        outputs: &["bb_upper", "bb_middle", "bb_lower", "bb_pctb", "bb_width"],
        description: "Bollinger Bands SMA +/- k population sigma, %B and bandwidth (fractions), TA-Lib BBANDS",
    },
    SpecInfo {
        name: "trange",
        params: &[],
        outputs: &["trange"],
        description: "True range (price units), TA-Lib TRANGE",
    },
    SpecInfo {
        name: "atr",
        params: &[("period", "14")],
        outputs: &["atr"],
        description: "Average true range, Wilder (price units), TA-Lib ATR",
    },
    SpecInfo {
        name: "atrp",
        params: &[("period", "14"), ("window", "100")],
        outputs: &["atrp"],
        description: "ATR percentile rank: % of previous `window` ATRs below the current (0-100), TA-Lib PERCENTRANK(ATR)",
    },
    SpecInfo {
        name: "vwap",
        params: &[("window", "session")],
        outputs: &["vwap"],
        description: "VWAP of typical price: `vwap` resets each session (UTC day unless session ids given), `vwap:N` rolls over N bars (price units)",
    },
    SpecInfo {
        name: "stddev",
        params: &[("period", "20"), ("nbdev", "1")],
        outputs: &["stddev"],
        description: "Rolling population standard deviation of close x nbdev (price units), TA-Lib STDDEV",
    },
    SpecInfo {
        name: "vol",
        params: &[("window", "20"), ("ppy", "252")],
        outputs: &["vol"],
        description: "Annualized rolling volatility: sample sigma of log returns x sqrt(ppy) (fraction/yr)",
    },
    SpecInfo {
        name: "corr",
        params: &[("period", "60")],
        outputs: &["corr"],
        description: "Rolling Pearson correlation of close returns with benchmark returns (-1..1), TA-Lib CORREL",
    },
    SpecInfo {
        name: "beta",
        params: &[("period", "60")],
        outputs: &["beta"],
        description: "Rolling beta of close returns on benchmark returns, TA-Lib BETA(benchmark, close)",
    },
    SpecInfo {
        name: "zscore",
        params: &[("window", "20")],
        outputs: &["zscore"],
        description: "Rolling z-score of close, population sigma (dimensionless)",
    },
    SpecInfo {
        name: "roc",
        params: &[("period", "10")],
        outputs: &["roc"],
        description: "Rate of change ((x/x[-n])-1)*100 (percent), TA-Lib ROC",
    },
    SpecInfo {
        name: "mom",
        params: &[("period", "10")],
        outputs: &["mom"],
        description: "Momentum x - x[-n] (price units), TA-Lib MOM",
    },
    SpecInfo {
        name: "ret",
        params: &[],
        outputs: &["ret"],
        description: "Simple returns (x - x[-1]) / x[-1] (fraction), TA-Lib ROCP(1)",
    },
    SpecInfo {
        name: "logret",
        params: &[],
        outputs: &["logret"],
        description: "Log returns ln(x / x[-1]) (fraction)",
    },
    SpecInfo {
        name: "stoch",
        params: &[("fastk", "5"), ("slowk", "3"), ("slowd", "3")],
        outputs: &["stoch_k", "stoch_d"],
        description: "Stochastic slow %K and %D with SMA smoothing (0-100), TA-Lib STOCH",
    },
    SpecInfo {
        name: "obv",
        params: &[],
        outputs: &["obv"],
        description: "On-balance volume (volume units), TA-Lib OBV",
    },
    SpecInfo {
        name: "adx",
        params: &[("period", "14")],
        outputs: &["adx"],
        description: "Average directional movement index, Wilder (0-100), TA-Lib ADX",
    },
];

/// Every indicator `parse_spec` accepts, with parameters, defaults, outputs and description.
pub fn list() -> Vec<SpecInfo> {
    TABLE.to_vec()
}

fn bad(spec: &str, reason: impl Into<String>) -> IndicatorError {
    IndicatorError::InvalidSpec {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

/// Parse and validate `"rsi:14"`, `"macd:12,26,9"`, `"bbands:20,2"`, `"vwap"`, … (case-insensitive).
///
/// Each parameter is checked by the indicator's own `try_new`: periods within
/// `1..=`[`crate::MAX_PERIOD`] (or the indicator's larger minimum), MACD `fast < slow`, band
/// multipliers finite and > 0.
pub fn parse_spec(s: &str) -> Result<IndicatorSpec, IndicatorError> {
    let t = s.trim().to_ascii_lowercase();
    let (name, args) = match t.split_once(':') {
        Some((n, a)) => (n.trim().to_string(), Some(a.trim().to_string())),
        None => (t.clone(), None),
    };
    let info = TABLE.iter().find(|i| i.name == name).ok_or_else(|| {
        let names: Vec<&str> = TABLE.iter().map(|i| i.name).collect();
        bad(
            s,
            format!("unknown indicator `{name}` (known: {})", names.join(", ")),
        )
    })?;
    let given: Vec<&str> = match &args {
        Some(a) if !a.is_empty() => a.split(',').map(str::trim).collect(),
        Some(_) => return Err(bad(s, "empty parameter list after `:`")),
        None => Vec::new(),
    };
    if given.len() > info.params.len() {
        return Err(bad(
            s,
            format!(
                "`{name}` takes at most {} parameter(s), got {}",
                info.params.len(),
                given.len()
            ),
        ));
    }
    if name == "vwap" {
        let Some(w) = given.first() else {
            return Ok(IndicatorSpec::Vwap);
        };
        let window = int(s, "window", w)?;
        let spec = IndicatorSpec::RollingVwap { window };
        volume::RollingVwap::try_new(window)?;
        return Ok(spec);
    }
    let raw = |k: usize| -> &str { given.get(k).copied().unwrap_or(info.params[k].1) };
    let i = |k: usize| int(s, info.params[k].0, raw(k));
    let f = |k: usize| float(s, info.params[k].0, raw(k));
    let spec = match name.as_str() {
        "sma" => IndicatorSpec::Sma { period: i(0)? },
        "ema" => IndicatorSpec::Ema { period: i(0)? },
        "wma" => IndicatorSpec::Wma { period: i(0)? },
        "rsi" => IndicatorSpec::Rsi { period: i(0)? },
        "macd" => IndicatorSpec::Macd {
            fast: i(0)?,
            slow: i(1)?,
            signal: i(2)?,
        },
        "bbands" => IndicatorSpec::BBands {
            period: i(0)?,
            k: f(1)?,
        },
        "trange" => IndicatorSpec::TRange,
        "atr" => IndicatorSpec::Atr { period: i(0)? },
        "atrp" => IndicatorSpec::AtrPercentile {
            period: i(0)?,
            window: i(1)?,
        },
        "stddev" => IndicatorSpec::StdDev {
            period: i(0)?,
            nbdev: f(1)?,
        },
        "vol" => IndicatorSpec::Vol {
            window: i(0)?,
            periods_per_year: f(1)?,
        },
        "corr" => IndicatorSpec::Corr { period: i(0)? },
        "beta" => IndicatorSpec::Beta { period: i(0)? },
        "zscore" => IndicatorSpec::ZScore { window: i(0)? },
        "roc" => IndicatorSpec::Roc { period: i(0)? },
        "mom" => IndicatorSpec::Mom { period: i(0)? },
        "ret" => IndicatorSpec::Ret,
        "logret" => IndicatorSpec::LogRet,
        "stoch" => IndicatorSpec::Stoch {
            fastk: i(0)?,
            slowk: i(1)?,
            slowd: i(2)?,
        },
        "obv" => IndicatorSpec::Obv,
        "adx" => IndicatorSpec::Adx { period: i(0)? },
        other => return Err(bad(s, format!("unknown indicator `{other}`"))),
    };
    validate(&spec)?;
    Ok(spec)
}

fn int(spec: &str, param: &str, v: &str) -> Result<usize, IndicatorError> {
    v.parse::<usize>().map_err(|_| {
        bad(
            spec,
            format!("parameter `{param}` = `{v}` is not a non-negative integer"),
        )
    })
}

fn float(spec: &str, param: &str, v: &str) -> Result<f64, IndicatorError> {
    let x = v
        .parse::<f64>()
        .map_err(|_| bad(spec, format!("parameter `{param}` = `{v}` is not a number")))?;
    if !x.is_finite() {
        return Err(bad(
            spec,
            format!("parameter `{param}` = `{v}` is not finite"),
        ));
    }
    Ok(x)
}

/// Run the indicator's own `try_new` so parse errors match construction errors.
fn validate(spec: &IndicatorSpec) -> Result<(), IndicatorError> {
    use IndicatorSpec as S;
    match *spec {
        S::Sma { period } => crate::Sma::try_new(period).map(drop),
        S::Ema { period } => crate::Ema::try_new(period).map(drop),
        S::Wma { period } => crate::Wma::try_new(period).map(drop),
        S::Rsi { period } => momentum::Rsi::try_new(period).map(drop),
        S::Macd { fast, slow, signal } => momentum::Macd::try_new(fast, slow, signal).map(drop),
        S::BBands { period, k } => volatility::BollingerBands::try_new(period, k).map(drop),
        S::Atr { period } => volatility::Atr::try_new(period).map(drop),
        S::AtrPercentile { period, window } => {
            volatility::AtrPercentile::try_new(period, window).map(drop)
        }
        S::RollingVwap { window } => volume::RollingVwap::try_new(window).map(drop),
        S::StdDev { period, nbdev } => volatility::StdDev::try_new(period, nbdev).map(drop),
        S::Vol {
            window,
            periods_per_year,
        } => volatility::RollingVolatility::try_new(window, periods_per_year).map(drop),
        S::Corr { period } => stats::Correlation::try_new(period).map(drop),
        S::Beta { period } => stats::Beta::try_new(period).map(drop),
        S::ZScore { window } => volatility::ZScore::try_new(window).map(drop),
        S::Roc { period } => momentum::Roc::try_new(period).map(drop),
        S::Mom { period } => momentum::Mom::try_new(period).map(drop),
        S::Stoch {
            fastk,
            slowk,
            slowd,
        } => momentum::Stoch::try_new(fastk, slowk, slowd).map(drop),
        S::Adx { period } => momentum::Adx::try_new(period).map(drop),
        S::TRange | S::Vwap | S::Ret | S::LogRet | S::Obv => Ok(()),
    }
}

/// Format a parameter for a column name: integers without a trailing `.0` (`2.0` → `2`).
fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

impl IndicatorSpec {
    /// The resolved parameters, in spec order (empty for parameterless indicators).
    pub fn params(&self) -> Vec<f64> {
        use IndicatorSpec as S;
        let u = |v: usize| v as f64;
        match *self {
            S::Sma { period } | S::Ema { period } | S::Wma { period } | S::Rsi { period } => {
                vec![u(period)]
            }
            S::Atr { period } | S::Corr { period } | S::Beta { period } => vec![u(period)],
            S::Roc { period } | S::Mom { period } | S::Adx { period } => vec![u(period)],
            S::ZScore { window } | S::RollingVwap { window } => vec![u(window)],
            S::Macd { fast, slow, signal } => vec![u(fast), u(slow), u(signal)],
            S::BBands { period, k } => vec![u(period), k],
            S::AtrPercentile { period, window } => vec![u(period), u(window)],
            S::StdDev { period, nbdev } => vec![u(period), nbdev],
            S::Vol {
                window,
                periods_per_year,
            } => vec![u(window), periods_per_year],
            S::Stoch {
                fastk,
                slowk,
                slowd,
            } => vec![u(fastk), u(slowk), u(slowd)],
            S::TRange | S::Vwap | S::Ret | S::LogRet | S::Obv => vec![],
        }
    }

    /// The spec name (`"rsi"`, `"macd"`, …).
    pub fn name(&self) -> &'static str {
        use IndicatorSpec as S;
        match self {
            S::Sma { .. } => "sma",
            S::Ema { .. } => "ema",
            S::Wma { .. } => "wma",
            S::Rsi { .. } => "rsi",
            S::Macd { .. } => "macd",
            S::BBands { .. } => "bbands",
            S::TRange => "trange",
            S::Atr { .. } => "atr",
            S::AtrPercentile { .. } => "atrp",
            S::Vwap | S::RollingVwap { .. } => "vwap",
            S::StdDev { .. } => "stddev",
            S::Vol { .. } => "vol",
            S::Corr { .. } => "corr",
            S::Beta { .. } => "beta",
            S::ZScore { .. } => "zscore",
            S::Roc { .. } => "roc",
            S::Mom { .. } => "mom",
            S::Ret => "ret",
            S::LogRet => "logret",
            S::Stoch { .. } => "stoch",
            S::Obv => "obv",
            S::Adx { .. } => "adx",
        }
    }

    /// Output column names, e.g. `["macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9"]`.
    pub fn column_names(&self) -> Vec<String> {
        let suffix: String = self
            .params()
            .iter()
            .map(|p| format!("_{}", fmt_num(*p)))
            .collect();
        let outputs = TABLE
            .iter()
            .find(|i| i.name == self.name())
            .map(|i| i.outputs)
            .unwrap_or(&[]);
        outputs.iter().map(|o| format!("{o}{suffix}")).collect()
    }

    /// Number of leading empty rows for this spec on gap-free input (TA-Lib lookback), in bars.
    pub fn warmup_period(&self) -> usize {
        use IndicatorSpec as S;
        match *self {
            S::Sma { period } | S::Ema { period } | S::Wma { period } => period - 1,
            S::Rsi { period } | S::Atr { period } | S::Roc { period } | S::Mom { period } => period,
            S::Macd { slow, fast, signal } => slow.max(fast) - 1 + signal - 1,
            S::BBands { period, .. } | S::StdDev { period, .. } => period - 1,
            S::TRange | S::Ret | S::LogRet => 1,
            S::AtrPercentile { period, window } => period + window,
            S::Vwap | S::Obv => 0,
            S::RollingVwap { window } | S::ZScore { window } => window - 1,
            S::Vol { window, .. } => window,
            S::Corr { period } => period,
            S::Beta { period } => period,
            S::Stoch {
                fastk,
                slowk,
                slowd,
            } => fastk - 1 + slowk - 1 + slowd - 1,
            S::Adx { period } => 2 * period - 1,
        }
    }
}

/// Column views of one instrument's bars, all of the same length (oldest first).
#[derive(Debug, Clone, Copy)]
pub struct OhlcvColumns<'a> {
    /// Bar timestamps, Unix seconds UTC (used to derive sessions when `sessions` is `None`).
    pub timestamps: &'a [i64],
    /// Open prices.
    pub open: &'a [f64],
    /// High prices.
    pub high: &'a [f64],
    /// Low prices.
    pub low: &'a [f64],
    /// Close prices.
    pub close: &'a [f64],
    /// Volumes (units traded).
    pub volume: &'a [f64],
    /// Session id per bar for session VWAP; `None` → the UTC day of each timestamp.
    pub sessions: Option<&'a [i64]>,
    /// Benchmark close prices aligned with these bars (needed by `corr` and `beta`).
    pub benchmark_close: Option<&'a [f64]>,
}

/// Compute one spec over the columns: `(column name, values)` per output, NaN where empty.
pub fn compute(
    spec: &IndicatorSpec,
    input: &OhlcvColumns<'_>,
) -> Result<Vec<(String, Vec<f64>)>, IndicatorError> {
    use IndicatorSpec as S;
    let name = spec.name();
    let n = input.close.len();
    let c = input.close;
    let (h, l, v) = (input.high, input.low, input.volume);
    let need = |field: &'static str, len: usize| crate::util::check_len(name, field, n, len);
    match spec {
        S::TRange | S::Atr { .. } | S::AtrPercentile { .. } | S::Stoch { .. } | S::Adx { .. } => {
            need("high", h.len())?;
            need("low", l.len())?;
        }
        S::Vwap | S::RollingVwap { .. } => {
            need("high", h.len())?;
            need("low", l.len())?;
            need("volume", v.len())?;
        }
        S::Obv => need("volume", v.len())?,
        _ => {}
    }
    let cols: Vec<Vec<f64>> = match *spec {
        S::Sma { period } => vec![crate::sma(c, period)?],
        S::Ema { period } => vec![crate::ema(c, period)?],
        S::Wma { period } => vec![crate::wma(c, period)?],
        S::Rsi { period } => vec![momentum::rsi(c, period)?],
        S::Macd { fast, slow, signal } => {
            let (a, b, d) = momentum::macd(c, fast, slow, signal)?;
            vec![a, b, d]
        }
        S::BBands { period, k } => volatility::bbands(c, period, k)?.into(),
        S::TRange => vec![volatility::trange(h, l, c)?],
        S::Atr { period } => vec![volatility::atr(h, l, c, period)?],
        S::AtrPercentile { period, window } => {
            vec![volatility::atr_percentile(h, l, c, period, window)?]
        }
        S::Vwap => {
            let derived: Vec<i64>;
            let sessions = match input.sessions {
                Some(s) => s,
                None => {
                    need("timestamps", input.timestamps.len())?;
                    derived = input
                        .timestamps
                        .iter()
                        .map(|t| t.div_euclid(86_400))
                        .collect();
                    &derived
                }
            };
            vec![volume::session_vwap(h, l, c, v, sessions)?]
        }
        S::RollingVwap { window } => vec![volume::rolling_vwap(h, l, c, v, window)?],
        S::StdDev { period, nbdev } => vec![volatility::stddev(c, period, nbdev)?],
        S::Vol {
            window,
            periods_per_year,
        } => vec![volatility::rolling_volatility(c, window, periods_per_year)?],
        S::Corr { period } => {
            let b = input.benchmark_close.ok_or(IndicatorError::MissingInput {
                indicator: "corr",
                field: "benchmark_close",
            })?;
            need("benchmark_close", b.len())?;
            let ra = momentum::returns(c, 1)?;
            let rb = momentum::returns(b, 1)?;
            vec![stats::correlation(&ra, &rb, period)?]
        }
        S::Beta { period } => {
            let b = input.benchmark_close.ok_or(IndicatorError::MissingInput {
                indicator: "beta",
                field: "benchmark_close",
            })?;
            need("benchmark_close", b.len())?;
            vec![stats::beta(b, c, period)?]
        }
        S::ZScore { window } => vec![volatility::zscore(c, window)?],
        S::Roc { period } => vec![momentum::roc(c, period)?],
        S::Mom { period } => vec![momentum::mom(c, period)?],
        S::Ret => vec![momentum::returns(c, 1)?],
        S::LogRet => vec![momentum::log_returns(c)?],
        S::Stoch {
            fastk,
            slowk,
            slowd,
        } => {
            let (k, d) = momentum::stoch(h, l, c, fastk, slowk, slowd)?;
            vec![k, d]
        }
        S::Obv => vec![volume::obv(c, v)?],
        S::Adx { period } => vec![momentum::adx(h, l, c, period)?],
    };
    Ok(spec.column_names().into_iter().zip(cols).collect())
}
