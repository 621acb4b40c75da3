//! Trading a model's predictions on labelled rows, and the out-of-sample figures (issue 16
//! item 5), with no LightGBM: the predictions come in as numbers.
//!
//! **Entries** ([`select_trades`]): at a row the caller marks eligible (the test period), when
//! the predicted expected net return `er > threshold` and, with a quantile model, its predicted
//! 5 % quantile `q > floor`. Entry at the next bar's open, **held to the row's triple-barrier
//! exit** (take-profit, stop-loss or the vertical barrier) as the label recorded it. One
//! position per symbol at a time: while a trade is open, later signals of that symbol are
//! skipped; the next decision can be the exit bar's close.
//!
//! **Figures** ([`metrics`]), each trade's net return `r = exit·(1 − c) / (entry·(1 + c)) − 1`
//! with the cost `c` per side (0.001 = 0.1 %):
//! * profit factor = Σ r⁺ / Σ |r⁻| (gross profit over gross loss; `None` without a losing trade);
//! * expectancy = mean r, in percent;
//! * hit rate = share of trades with r > 0;
//! * the equity curve ([`equity_curve`]): `1 + Σ r` of the trades closed so far, in exit order
//!   (one unit staked on every trade, not compounded), and its maximum drawdown.

use pulse_core::jiff::Timestamp;

use crate::MlError;
use crate::labels::BarrierLabel;

/// When to enter.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EntryRule {
    /// Enter when the predicted expected net return is above this (fraction; 0.001 = 0.1 %).
    pub threshold: f64,
    /// With a quantile model: enter only when its predicted 5 % quantile is above this
    /// (fraction); `None` = no quantile filter.
    pub quantile_floor: Option<f64>,
    /// Proportional cost per side (fraction; 0.001 = 0.1 %).
    pub cost: f64,
}

impl Default for EntryRule {
    /// `er > 0.001`, no quantile floor, 0.1 % a side.
    fn default() -> Self {
        EntryRule {
            threshold: 0.001,
            quantile_floor: None,
            cost: 0.001,
        }
    }
}

impl EntryRule {
    /// Checks that the values are finite and the cost in `[0, 1)`.
    pub fn validate(&self) -> Result<(), MlError> {
        if !self.threshold.is_finite() || self.quantile_floor.is_some_and(|f| !f.is_finite()) {
            return Err(MlError::Invalid(
                "threshold and quantile floor must be finite".into(),
            ));
        }
        if !(self.cost.is_finite() && (0.0..1.0).contains(&self.cost)) {
            return Err(MlError::Invalid(format!(
                "cost {}: must be a fraction in [0, 1)",
                self.cost
            )));
        }
        Ok(())
    }
}

/// One trade, held from the decision row's next open to its triple-barrier exit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trade {
    /// The symbol.
    pub symbol: String,
    /// Start of the decision bar (the decision is at its close).
    pub decision_ts: Timestamp,
    /// Start of the exit bar (the barrier was touched during it; vertical: its close).
    pub exit_ts: Timestamp,
    /// Entry price (the next bar's open), price units.
    pub entry: f64,
    /// Exit price, price units.
    pub exit: f64,
    /// `+1` take-profit, `−1` stop-loss, `0` vertical barrier.
    pub barrier: i8,
    /// Bars held (entry bar to exit bar inclusive).
    pub bars_held: usize,
    /// The model's expected net return at the decision (fraction).
    pub predicted: f64,
    /// The quantile model's prediction, when one was used (fraction).
    pub predicted_quantile: Option<f64>,
    /// Net return after the costs (fraction).
    pub net_return: f64,
}

/// The trades of one symbol's rows (see the module docs). `ts`, `labels`, `er` and `quantile`
/// have one entry a row, in time order; `eligible(i)` says whether row `i` may open a trade.
pub fn select_trades(
    symbol: &str,
    ts: &[Timestamp],
    labels: &[Option<BarrierLabel>],
    er: &[f64],
    quantile: Option<&[f64]>,
    eligible: impl Fn(usize) -> bool,
    rule: &EntryRule,
) -> Result<Vec<Trade>, MlError> {
    rule.validate()?;
    let n = ts.len();
    if labels.len() != n || er.len() != n || quantile.is_some_and(|q| q.len() != n) {
        return Err(MlError::Invalid(format!(
            "{n} rows with {} labels, {} predictions{}",
            labels.len(),
            er.len(),
            quantile.map_or(String::new(), |q| format!(", {} quantiles", q.len()))
        )));
    }
    let mut trades = Vec::new();
    let mut free_from = 0usize;
    for i in 0..n {
        if i < free_from || !eligible(i) {
            continue;
        }
        let Some(l) = &labels[i] else { continue };
        let signal = er[i] > rule.threshold;
        if !signal {
            continue;
        }
        let q = quantile.map(|q| q[i]);
        if let (Some(floor), Some(q)) = (rule.quantile_floor, q) {
            let above = q > floor;
            if !above {
                continue;
            }
        }
        trades.push(Trade {
            symbol: symbol.to_string(),
            decision_ts: ts[i],
            exit_ts: l.exit_ts,
            entry: l.entry,
            exit: l.exit,
            barrier: l.label,
            bars_held: l.bars_held,
            predicted: er[i],
            predicted_quantile: q,
            net_return: l.net_ret(rule.cost),
        });
        free_from = l.exit_index.max(i + 1);
    }
    Ok(trades)
}

/// The out-of-sample figures of a set of trades.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalMetrics {
    /// Number of trades.
    pub trades: usize,
    /// Trades with a positive net return.
    pub wins: usize,
    /// `wins / trades` (fraction; `None` without trades).
    pub hit_rate: Option<f64>,
    /// Σ of the positive net returns (fraction of one unit stake).
    pub gross_profit: f64,
    /// Σ of |negative net returns| (fraction of one unit stake).
    pub gross_loss: f64,
    /// `gross_profit / gross_loss`; `None` when there is no loss.
    pub profit_factor: Option<f64>,
    /// Mean net return a trade, in percent (`None` without trades).
    pub expectancy_pct: Option<f64>,
    /// Σ net returns (fraction of one unit stake).
    pub total_net_return: f64,
    /// Mean bars held (`None` without trades).
    pub mean_bars_held: Option<f64>,
    /// Largest fall of the equity curve from a running peak (in units of the stake, ≥ 0).
    pub max_drawdown: f64,
}

/// Figures of `trades` (module docs).
pub fn metrics(trades: &[Trade]) -> EvalMetrics {
    let n = trades.len();
    let gross_profit: f64 = trades
        .iter()
        .map(|t| t.net_return)
        .filter(|&r| r > 0.0)
        .sum();
    let gross_loss: f64 = trades
        .iter()
        .map(|t| t.net_return)
        .filter(|&r| r < 0.0)
        .map(f64::abs)
        .sum();
    let wins = trades.iter().filter(|t| t.net_return > 0.0).count();
    let total: f64 = trades.iter().map(|t| t.net_return).sum();
    let curve = equity_curve(trades);
    let mut peak = 1.0f64;
    let mut max_drawdown = 0.0f64;
    for p in &curve {
        peak = peak.max(p.equity);
        max_drawdown = max_drawdown.max(peak - p.equity);
    }
    EvalMetrics {
        trades: n,
        wins,
        hit_rate: (n > 0).then(|| wins as f64 / n as f64),
        gross_profit,
        gross_loss,
        profit_factor: (gross_loss > 0.0).then(|| gross_profit / gross_loss),
        expectancy_pct: (n > 0).then(|| total / n as f64 * 100.0),
        total_net_return: total,
        mean_bars_held: (n > 0)
            .then(|| trades.iter().map(|t| t.bars_held as f64).sum::<f64>() / n as f64),
        max_drawdown,
    }
}

/// One point of the equity curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EquityPoint {
    /// Start of the exit bar of the trade that closed here.
    pub ts: Timestamp,
    /// `1 + Σ` net returns closed so far (units of one stake).
    pub equity: f64,
}

/// `1 + Σ r` after each trade, in exit order (ties by decision time, then symbol).
pub fn equity_curve(trades: &[Trade]) -> Vec<EquityPoint> {
    let mut order: Vec<&Trade> = trades.iter().collect();
    order.sort_by(|a, b| {
        (a.exit_ts, a.decision_ts, &a.symbol).cmp(&(b.exit_ts, b.decision_ts, &b.symbol))
    });
    let mut equity = 1.0;
    order
        .into_iter()
        .map(|t| {
            equity += t.net_return;
            EquityPoint {
                ts: t.exit_ts,
                equity,
            }
        })
        .collect()
}
