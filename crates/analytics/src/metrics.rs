//! The metrics of one equity curve: [`PerformanceInput`] → [`Analysis`] / [`Metrics`].

use pulse_core::Periodicity;
use pulse_core::jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::AnalyticsError;
use crate::drawdown::Drawdown;
use crate::monthly::{MonthlyReturn, YearlyReturn, monthly_returns, yearly_returns};
use crate::returns::{returns, returns_into, rf_per_period_from_annual_rate};
use crate::stats::{historical_var_cvar, mean, sample_std};
use crate::trades::{ClosedTrade, FillRecord, TradeStats, closed_trades};

/// Days per calendar year used by CAGR and by the turnover's years (Julian year).
pub const DAYS_PER_YEAR: f64 = 365.25;

/// Tail probability of the historical VaR / CVaR (95 % confidence).
pub const VAR_TAIL: f64 = 0.05;

/// A standard deviation at or below this (per period, fraction) counts as zero variance.
pub const ZERO_STD: f64 = 1e-14;

/// The risk-free rate used for excess returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum RiskFree<'a> {
    /// Zero risk-free rate.
    Zero,
    /// Constant annual rate as a FRACTION (0.04 = 4 % p.a.), converted per period as
    /// `(1 + rate)^(1/ppy) − 1`.
    AnnualConstant(f64),
    /// Per-period risk-free returns (fractions), one per equity point (same length as `equity`):
    /// the return of period `i → i+1` is compared with `rf[i]`, the rate known at the START of the
    /// period; the last element is unused. Build it with
    /// [`crate::rf_per_period_from_annual_yield_pct`] from ^IRX.
    PerPeriod(&'a [f64]),
}

/// Everything the metrics need about one backtest (borrowed; nothing is copied).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PerformanceInput<'a> {
    /// Time of each equity point (UTC), strictly chronological (ties allowed).
    pub timestamps: &'a [Timestamp],
    /// Account equity at each point (currency), finite and > 0.
    pub equity: &'a [f64],
    /// Sampling frequency of the points, for annualization.
    pub periodicity: Periodicity,
    /// Risk-free rate for Sharpe and Sortino.
    pub risk_free: RiskFree<'a>,
    /// All fills of the run, chronological.
    pub fills: &'a [FillRecord],
    /// Gross exposure at each point, `Σ|position value| / equity` (fraction; 1.0 = fully invested),
    /// same length as `equity`; `None` when unknown.
    pub gross_exposure: Option<&'a [f64]>,
}

fn ser_f64_or_string<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(x) if x.is_finite() => s.serialize_some(x),
        Some(x) if x.is_nan() => s.serialize_some("NaN"),
        Some(x) if *x > 0.0 => s.serialize_some("inf"),
        Some(_) => s.serialize_some("-inf"),
    }
}

fn de_f64_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrText {
        Num(f64),
        Text(String),
    }
    match Option::<NumOrText>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrText::Num(x)) => Ok(Some(x)),
        Some(NumOrText::Text(t)) => match t.as_str() {
            "inf" => Ok(Some(f64::INFINITY)),
            "-inf" => Ok(Some(f64::NEG_INFINITY)),
            "NaN" => Ok(Some(f64::NAN)),
            other => Err(serde::de::Error::custom(format!(
                "expected a number, null, \"inf\", \"-inf\" or \"NaN\", got {other:?}"
            ))),
        },
    }
}

/// The flat metrics record (JSON field names = these field names). Fractions, never percent.
/// `None` (JSON `null`) marks a metric that is undefined for the input (documented per field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// First equity timestamp.
    pub start: Option<Timestamp>,
    /// Last equity timestamp.
    pub end: Option<Timestamp>,
    /// Number of equity points `n` (returns: `n − 1`).
    pub points: usize,
    /// Periods per year used for annualization (`ppy`, from the periodicity).
    pub periods_per_year: f64,
    /// First equity value (currency).
    pub initial_equity: Option<f64>,
    /// Last equity value (currency).
    pub final_equity: Option<f64>,
    /// `E_T / E_0 − 1`, fraction, not annualized; `None` for an empty curve.
    pub total_return: Option<f64>,
    /// Calendar CAGR `(E_T / E_0)^(365.25 / days) − 1`, `days` = calendar days (fractional) between
    /// the first and last timestamps; `None` when `days ≤ 0`.
    pub cagr: Option<f64>,
    /// Annualized volatility `std(r, ddof=1) × √ppy` of simple period returns; `None` with < 2 returns.
    pub volatility: Option<f64>,
    /// Sharpe ratio `mean(r − rf) / std(r − rf, ddof=1) × √ppy`; `None` with < 2 returns or when
    /// the excess-return std is ≤ [`ZERO_STD`].
    pub sharpe: Option<f64>,
    /// Sortino ratio `mean(r − rf) × ppy / (DD × √ppy)` with downside deviation
    /// `DD = sqrt(mean over ALL periods of min(0, r − rf)²)` (Sortino & Price); `None` with no
    /// returns or when `DD` ≤ [`ZERO_STD`] (no period below the risk-free rate).
    pub sortino: Option<f64>,
    /// Maximum drawdown, positive fraction (0.35 = −35 %); `None` for an empty curve.
    pub max_drawdown: Option<f64>,
    /// Time of the peak before the maximum drawdown; `None` when there was no drawdown.
    pub max_drawdown_peak: Option<Timestamp>,
    /// Time of the maximum drawdown's trough.
    pub max_drawdown_trough: Option<Timestamp>,
    /// First time equity regained the peak after the trough; `None` if never recovered.
    pub max_drawdown_recovery: Option<Timestamp>,
    /// Calmar ratio `CAGR / max_drawdown`; `None` when either is undefined or the drawdown is 0.
    pub calmar: Option<f64>,
    /// Closed trades = fills that closed (part of) a position, FIFO-matched per symbol.
    pub closed_trades: usize,
    /// Closed trades with realized P&L > 0.
    pub wins: usize,
    /// Closed trades with realized P&L < 0.
    pub losses: usize,
    /// `wins / closed_trades`, fraction; `None` without closed trades.
    pub win_rate: Option<f64>,
    /// Sum of winning trades' P&L net of fees (currency).
    pub gross_profit: f64,
    /// Sum of losing trades' |P&L| net of fees (currency, positive).
    pub gross_loss: f64,
    /// `gross_profit / gross_loss`; the JSON string `"inf"` when there are wins and no losses;
    /// `None` without closed trades (or when both sums are 0).
    #[serde(
        serialize_with = "ser_f64_or_string",
        deserialize_with = "de_f64_or_string"
    )]
    pub profit_factor: Option<f64>,
    /// Mean realized P&L per closed trade, net of fees (currency); `None` without closed trades.
    pub expectancy: Option<f64>,
    /// Number of fills (executions, both sides).
    pub fills: usize,
    /// Sum of `|quantity × price|` over all fills (currency).
    pub traded_notional: f64,
    /// Annualized turnover `(traded_notional / 2) / mean(equity) / years`, `years = days / 365.25`
    /// (one-way: a full buy-then-sell of the whole equity counts 1.0); `None` when `days ≤ 0`.
    pub turnover: Option<f64>,
    /// Sum of all fill fees (currency).
    pub fees_paid: f64,
    /// Mean gross exposure over all points, fraction; `None` when exposure was not supplied or empty.
    pub exposure_mean: Option<f64>,
    /// Share of points with gross exposure > 0, fraction; `None` when not supplied or empty.
    pub time_in_market: Option<f64>,
    /// Best single-period simple return (fraction, not annualized); `None` with no returns.
    pub best_period_return: Option<f64>,
    /// End timestamp of the best period (first occurrence).
    pub best_period: Option<Timestamp>,
    /// Worst single-period simple return (fraction, not annualized).
    pub worst_period_return: Option<f64>,
    /// End timestamp of the worst period (first occurrence).
    pub worst_period: Option<Timestamp>,
    /// Historical 95 % value at risk per period: `−Q₀.₀₅(r)` with numpy's default linear quantile;
    /// positive = a loss fraction; not annualized; `None` with no returns.
    pub var_95: Option<f64>,
    /// Historical 95 % conditional VaR (expected shortfall) per period: `−mean(r | r ≤ Q₀.₀₅)`;
    /// positive = loss fraction; not annualized; always ≥ `var_95`.
    pub cvar_95: Option<f64>,
}

/// Everything computed from one [`PerformanceInput`]: the flat metrics plus the series the report
/// draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The flat metrics.
    pub metrics: Metrics,
    /// Simple period returns (`n − 1`, fractions).
    pub returns: Vec<f64>,
    /// Drawdown analysis with its per-point series.
    pub drawdown: Drawdown,
    /// Calendar-month returns for the heatmap.
    pub monthly: Vec<MonthlyReturn>,
    /// Calendar-year returns (compounded months).
    pub yearly: Vec<YearlyReturn>,
    /// FIFO-matched closed trades, in fill order.
    pub trades: Vec<ClosedTrade>,
}

fn validate(input: &PerformanceInput<'_>) -> Result<(), AnalyticsError> {
    let n = input.equity.len();
    if input.timestamps.len() != n {
        return Err(AnalyticsError::LengthMismatch {
            field: "timestamps",
            expected: n,
            got: input.timestamps.len(),
        });
    }
    for (i, &e) in input.equity.iter().enumerate() {
        if !(e.is_finite() && e > 0.0) {
            return Err(AnalyticsError::NonPositiveEquity { index: i, value: e });
        }
        if i > 0 && input.timestamps[i] < input.timestamps[i - 1] {
            return Err(AnalyticsError::NotChronological {
                field: "timestamps",
                index: i,
            });
        }
    }
    let ppy = input.periodicity.periods_per_year();
    if !(ppy.is_finite() && ppy > 0.0) {
        return Err(AnalyticsError::InvalidValue {
            field: "periodicity",
            index: 0,
            value: ppy,
            reason: "periods per year must be finite and > 0",
        });
    }
    match input.risk_free {
        RiskFree::Zero => {}
        RiskFree::AnnualConstant(r) => {
            if !(r.is_finite() && r > -1.0) {
                return Err(AnalyticsError::InvalidValue {
                    field: "risk_free",
                    index: 0,
                    value: r,
                    reason: "annual rate must be finite and > -1",
                });
            }
        }
        RiskFree::PerPeriod(rf) => {
            if rf.len() != n {
                return Err(AnalyticsError::LengthMismatch {
                    field: "risk_free",
                    expected: n,
                    got: rf.len(),
                });
            }
            if let Some((i, &v)) = rf.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(AnalyticsError::InvalidValue {
                    field: "risk_free",
                    index: i,
                    value: v,
                    reason: "must be finite",
                });
            }
        }
    }
    if let Some(g) = input.gross_exposure {
        if g.len() != n {
            return Err(AnalyticsError::LengthMismatch {
                field: "gross_exposure",
                expected: n,
                got: g.len(),
            });
        }
        if let Some((i, &v)) = g.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(AnalyticsError::InvalidValue {
                field: "gross_exposure",
                index: i,
                value: v,
                reason: "must be finite",
            });
        }
    }
    Ok(())
}

/// Calendar days (fractional) between two timestamps.
fn days_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.as_nanosecond() - a.as_nanosecond()) as f64 / 86_400e9
}

impl Analysis {
    /// Validates the input and computes every metric and series. Errors name the offending field
    /// and index (length mismatch, non-positive equity, unsorted timestamps, invalid fill/rf).
    /// Degenerate but valid input (empty or one point, zero variance, no trades) never fails:
    /// undefined metrics are `None`.
    pub fn compute(input: &PerformanceInput<'_>) -> Result<Analysis, AnalyticsError> {
        validate(input)?;
        let eq = input.equity;
        let ts = input.timestamps;
        let n = eq.len();
        let ppy = input.periodicity.periods_per_year();
        let r = returns(eq);
        let excess = excess_returns(&r, input);
        let (first, last) = (eq.first().copied(), eq.last().copied());
        let total_return = first.zip(last).map(|(a, b)| b / a - 1.0);
        let days = span_days(ts);
        let cagr = cagr_of(first, last, days);
        let volatility = sample_std(&r).map(|s| s * ppy.sqrt());
        let sharpe = sharpe_of(&excess, ppy);
        let sortino = sortino_of(&excess, ppy);

        let drawdown = Drawdown::analyze(eq);
        let max_drawdown = (n > 0).then_some(drawdown.max_drawdown);
        let at = |i: Option<usize>| i.and_then(|i| ts.get(i).copied());
        let calmar = calmar_of(cagr, max_drawdown);

        let trades = closed_trades(input.fills)?;
        let stats = TradeStats::from_trades(&trades);
        let traded_notional: f64 = input.fills.iter().map(FillRecord::notional).sum();
        let fees_paid: f64 = input.fills.iter().map(|f| f.fee).sum();
        let turnover = match mean(eq) {
            Some(m) if days > 0.0 => Some(traded_notional / 2.0 / m / (days / DAYS_PER_YEAR)),
            _ => None,
        };

        let (exposure_mean, time_in_market) = match input.gross_exposure {
            Some(g) if !g.is_empty() => (
                mean(g),
                Some(g.iter().filter(|&&x| x > 0.0).count() as f64 / g.len() as f64),
            ),
            _ => (None, None),
        };

        let mut best: Option<(usize, f64)> = None;
        let mut worst: Option<(usize, f64)> = None;
        for (i, &x) in r.iter().enumerate() {
            if best.is_none_or(|(_, b)| x > b) {
                best = Some((i, x));
            }
            if worst.is_none_or(|(_, w)| x < w) {
                worst = Some((i, x));
            }
        }

        let (var_95, cvar_95) = match historical_var_cvar(&r, VAR_TAIL) {
            Some((v, c)) => (Some(v), Some(c)),
            None => (None, None),
        };

        let metrics = Metrics {
            start: ts.first().copied(),
            end: ts.last().copied(),
            points: n,
            periods_per_year: ppy,
            initial_equity: first,
            final_equity: last,
            total_return,
            cagr,
            volatility,
            sharpe,
            sortino,
            max_drawdown,
            max_drawdown_peak: at(drawdown.peak_index),
            max_drawdown_trough: at(drawdown.trough_index),
            max_drawdown_recovery: at(drawdown.recovery_index),
            calmar,
            closed_trades: stats.closed_trades,
            wins: stats.wins,
            losses: stats.losses,
            win_rate: stats.win_rate,
            gross_profit: stats.gross_profit,
            gross_loss: stats.gross_loss,
            profit_factor: stats.profit_factor,
            expectancy: stats.expectancy,
            fills: input.fills.len(),
            traded_notional,
            turnover,
            fees_paid,
            exposure_mean,
            time_in_market,
            best_period_return: best.map(|b| b.1),
            best_period: best.and_then(|b| ts.get(b.0 + 1).copied()),
            worst_period_return: worst.map(|w| w.1),
            worst_period: worst.and_then(|w| ts.get(w.0 + 1).copied()),
            var_95,
            cvar_95,
        };
        let monthly = monthly_returns(ts, eq);
        let yearly = yearly_returns(&monthly);
        Ok(Analysis {
            metrics,
            monthly,
            yearly,
            returns: r,
            drawdown,
            trades,
        })
    }
}

/// Per-period returns minus the risk-free rate (borrowed when the rate is zero).
fn excess_returns<'a>(r: &'a [f64], input: &PerformanceInput<'_>) -> std::borrow::Cow<'a, [f64]> {
    match input.risk_free {
        RiskFree::Zero => std::borrow::Cow::Borrowed(r),
        RiskFree::AnnualConstant(rate) => {
            let p = rf_per_period_from_annual_rate(rate, input.periodicity);
            r.iter().map(|x| x - p).collect()
        }
        RiskFree::PerPeriod(rf) => r.iter().zip(rf).map(|(x, f)| x - f).collect(),
    }
}

/// Calendar days from the first to the last point (0 with fewer than 2 points).
fn span_days(ts: &[Timestamp]) -> f64 {
    match (ts.first(), ts.last()) {
        (Some(&a), Some(&b)) if ts.len() >= 2 => days_between(a, b),
        _ => 0.0,
    }
}

/// Compound annual growth rate (fraction per year) from the first and last equity.
fn cagr_of(first: Option<f64>, last: Option<f64>, days: f64) -> Option<f64> {
    match (first, last) {
        (Some(a), Some(b)) if days > 0.0 => Some((b / a).powf(DAYS_PER_YEAR / days) - 1.0),
        _ => None,
    }
}

/// Annualized Sharpe ratio of per-period excess returns.
fn sharpe_of(excess: &[f64], ppy: f64) -> Option<f64> {
    match (mean(excess), sample_std(excess)) {
        (Some(m), Some(s)) if s > ZERO_STD => Some(m / s * ppy.sqrt()),
        _ => None,
    }
}

/// Annualized Sortino ratio of per-period excess returns (downside deviation over all periods).
fn sortino_of(excess: &[f64], ppy: f64) -> Option<f64> {
    mean(excess).and_then(|m| {
        let dd2 = excess.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / excess.len() as f64;
        let dd = dd2.sqrt();
        (dd > ZERO_STD).then(|| m * ppy / (dd * ppy.sqrt()))
    })
}

/// Calmar ratio: CAGR over the maximum drawdown.
fn calmar_of(cagr: Option<f64>, max_drawdown: Option<f64>) -> Option<f64> {
    match (cagr, max_drawdown) {
        (Some(c), Some(d)) if d > 0.0 => Some(c / d),
        _ => None,
    }
}

/// The figures a parameter search ranks and stores trials by, computed by the same code as
/// [`Analysis::compute`] (so equal to its values bit for bit) without the rest of the analysis
/// (monthly table, VaR, best/worst periods), for the thousands of trials of `pulse sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SearchMetrics {
    /// Annualized Sharpe ratio (see [`Metrics::sharpe`]).
    pub sharpe: Option<f64>,
    /// Annualized Sortino ratio (see [`Metrics::sortino`]).
    pub sortino: Option<f64>,
    /// Compound annual growth rate, fraction (see [`Metrics::cagr`]).
    pub cagr: Option<f64>,
    /// Maximum drawdown, positive fraction (see [`Metrics::max_drawdown`]).
    pub max_drawdown: Option<f64>,
    /// CAGR / max drawdown (see [`Metrics::calmar`]).
    pub calmar: Option<f64>,
    /// Gross profit / gross loss of closed trades; `None` unless asked for (it needs the fills).
    pub profit_factor: Option<f64>,
    /// Number of fills given.
    pub fills: usize,
}

impl SearchMetrics {
    /// Computes the search figures of `input`; the per-period returns (`n − 1` of them) are left
    /// in `returns` (cleared first). The closed-trade statistics (profit factor) are computed only
    /// when `with_trades` is set.
    pub fn compute(
        input: &PerformanceInput<'_>,
        with_trades: bool,
        returns: &mut Vec<f64>,
    ) -> Result<SearchMetrics, AnalyticsError> {
        validate(input)?;
        let eq = input.equity;
        let ppy = input.periodicity.periods_per_year();
        returns_into(eq, returns);
        let excess = excess_returns(returns, input);
        let cagr = cagr_of(
            eq.first().copied(),
            eq.last().copied(),
            span_days(input.timestamps),
        );
        let max_drawdown = (!eq.is_empty()).then(|| Drawdown::max_drawdown_of(eq));
        let profit_factor = if with_trades {
            TradeStats::from_trades(&closed_trades(input.fills)?).profit_factor
        } else {
            None
        };
        Ok(SearchMetrics {
            sharpe: sharpe_of(&excess, ppy),
            sortino: sortino_of(&excess, ppy),
            cagr,
            max_drawdown,
            calmar: calmar_of(cagr, max_drawdown),
            profit_factor,
            fills: input.fills.len(),
        })
    }
}

impl Metrics {
    /// Computes the flat metrics only (see [`Analysis::compute`] for errors and degenerate cases).
    pub fn compute(input: &PerformanceInput<'_>) -> Result<Metrics, AnalyticsError> {
        Analysis::compute(input).map(|a| a.metrics)
    }
}
