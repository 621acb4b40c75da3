//! The report's plain data model. The backtest fills it; [`crate::render_html`] draws it and
//! [`crate::to_json`] serialises the same structure for `--json`.
//!
//! Conventions (all fields):
//! - Dates are strings, either `YYYY-MM-DD` (daily bars) or RFC 3339 (`2025-05-30T16:40:00Z`, an
//!   offset such as `+09:00` is honoured; a missing offset means UTC).
//! - Weights and returns are **fractions** (`0.25` = 25 %); they are rendered as percentages.
//! - Money (equity, prices, fees, notional) is an `f64` in [`BacktestReport::currency`] units. The
//!   engine books money in `rust_decimal` and converts at this presentation boundary.
//! - Every value drawn on a chart (equity, close, weights) must be finite; metric values may be
//!   `None` (rendered as "—"). Non-finite `f64` would serialise to JSON `null`, so they are rejected.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything one backtest report shows; serialised as-is for `--json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// Page title, e.g. "Pulse backtest".
    pub title: String,
    /// What was tested, e.g. "TSLA+TSLL daily 2022-08-09..2025-09-29".
    pub generated_for: String,
    /// Whether the numbers are in-sample, out-of-sample or over the full history (badge in the header).
    pub sample_label: SampleLabel,
    /// Free-form caveats shown under the header (one bullet each); may be empty.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The strategy configuration used, verbatim TOML (shown pre-formatted).
    pub config_toml: String,
    /// Starting cash, in `currency` units.
    pub initial_cash: f64,
    /// ISO 4217 currency code of every money value, e.g. "USD" (rendered as `$` for USD).
    pub currency: String,
    /// Equity curves: the strategy first, then the benchmarks (each drawn and hovered; drawdowns are
    /// derived from them).
    pub series: Vec<EquitySeries>,
    /// One row per curve (strategy, benchmarks), shown side by side in the metrics table.
    pub metrics: Vec<MetricsRow>,
    /// How to label and format each metric key; keys missing here are shown raw as ratios.
    /// [`default_metric_catalogue`] lists the standard ones.
    pub metric_catalogue: Vec<MetricDef>,
    /// Target and actual portfolio weights over time (empty `dates` = section says "no data").
    pub weights: WeightsSeries,
    /// One price chart per symbol with the strategy's fills as markers.
    pub prices: Vec<PriceSeries>,
    /// Strategy returns per calendar month (heatmap).
    pub monthly_returns: Vec<MonthlyReturn>,
    /// Every fill of the strategy, in time order.
    pub trades: Vec<TradeRow>,
    /// Every alert (target-weight change beyond the alert threshold).
    pub alerts: Vec<AlertRow>,
    /// Efficient frontier with the chosen portfolios marked (portfolio reports only); the section
    /// is drawn only when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontier: Option<FrontierChart>,
    /// The parameter search that chose this configuration (sweep reports only); the section is
    /// drawn only when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSection>,
    /// What the risk layer did (runs with a risk configuration only); the section is drawn only
    /// when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskSection>,
    /// Periods shaded on the equity and drawdown charts (e.g. a rebalancing plan paused while a
    /// signal was pending), each with its legend label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shaded: Vec<ShadedSpan>,
}

/// The risk layer's work in one run: its settings, the leverage it applied at each close and
/// every event (breach or leverage change) with its numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskSection {
    /// The risk settings in effect (TOML, shown pre-formatted).
    pub config_toml: String,
    /// Dates of the leverage series, strictly increasing.
    pub dates: Vec<String>,
    /// Scale the risk layer applied to the target weights at each close (0 while halted).
    pub leverage: Vec<f64>,
    /// Every event, in time order.
    pub events: Vec<RiskEventRow>,
}

/// One risk event in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskEventRow {
    /// Date of the decision.
    pub date: String,
    /// Kind (`position_capped`, `sector_capped`, `var_scaled`, `drawdown_stop`, `leverage`,
    /// `correlation_refused`).
    pub kind: String,
    /// What happened, with its numbers.
    pub message: String,
}

/// A period shaded on the time charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadedSpan {
    /// First date (`YYYY-MM-DD` or RFC 3339), inclusive.
    pub from: String,
    /// Last date, inclusive.
    pub to: String,
    /// What the shading means ("plan paused"), shown in the legend and on hover.
    pub label: String,
}

/// The efficient frontier of one estimation window and the portfolios placed on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrontierChart {
    /// What the frontier was estimated on, e.g. "mean returns + Ledoit-Wolf, 2024-01-02..2024-12-31".
    #[serde(default)]
    pub description: String,
    /// Frontier points `(volatility, expected return)`, both annualized fractions, in order of
    /// increasing return; drawn as a line.
    pub points: Vec<(f64, f64)>,
    /// Portfolios drawn as labelled markers.
    pub portfolios: Vec<MarkedPortfolio>,
}

/// One portfolio placed in the risk/return plane.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MarkedPortfolio {
    /// Label, e.g. "min-vol".
    pub name: String,
    /// Annualized volatility (fraction).
    pub volatility: f64,
    /// Annualized expected return (fraction).
    pub expected_return: f64,
}

/// Which part of the history the numbers come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SampleLabel {
    /// Parameters were chosen on this same data: optimistic by construction.
    InSample,
    /// Data not seen when choosing parameters.
    OutOfSample,
    /// The whole available history, no parameter search involved.
    #[default]
    FullHistory,
    /// A date range chosen by the user (`--from`/`--to`), no parameter search involved.
    Window,
}

impl SampleLabel {
    /// The badge text: "IN-SAMPLE", "OUT-OF-SAMPLE" or "FULL HISTORY".
    pub fn badge(self) -> &'static str {
        match self {
            SampleLabel::InSample => "IN-SAMPLE",
            SampleLabel::OutOfSample => "OUT-OF-SAMPLE",
            SampleLabel::FullHistory => "FULL HISTORY",
            SampleLabel::Window => "SELECTED WINDOW",
        }
    }
}

/// One equity curve (portfolio value over time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EquitySeries {
    /// Legend name, e.g. "Pulse", "Buy & hold TSLA", "50/50 monthly".
    pub name: String,
    /// Observation dates, strictly increasing (`YYYY-MM-DD` or RFC 3339).
    pub dates: Vec<String>,
    /// Portfolio value at each date, in currency units; same length as `dates`, finite.
    pub equity: Vec<f64>,
}

/// The metrics of one curve.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Column header, e.g. "Pulse" or "Buy & hold TSLA".
    pub name: String,
    /// The metric values, keyed by catalogue key.
    pub values: Vec<MetricCell>,
}

/// One metric value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricCell {
    /// Catalogue key, e.g. "cagr".
    pub key: String,
    /// The number in the unit of the catalogue entry (fractions for percent); `None` = not defined.
    pub value: Option<f64>,
    /// Text shown instead of the number when present (e.g. drawdown dates "2022-11-04 → 2023-06-21").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl MetricCell {
    /// A numeric cell.
    pub fn number(key: &str, value: Option<f64>) -> Self {
        MetricCell {
            key: key.to_string(),
            value,
            text: None,
        }
    }
    /// A text cell (dates and other non-numeric facts).
    pub fn text(key: &str, text: &str) -> Self {
        MetricCell {
            key: key.to_string(),
            value: None,
            text: Some(text.to_string()),
        }
    }
}

/// How a metric is labelled and formatted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    /// Key used in [`MetricCell::key`].
    pub key: String,
    /// Human label, e.g. "CAGR".
    pub label: String,
    /// Unit, which decides the formatting.
    pub unit: MetricUnit,
}

/// Unit of a metric value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricUnit {
    /// A fraction rendered as a percentage with 2 decimals (`0.1234` → "12.34 %").
    Percent,
    /// A plain number with 2 decimals (Sharpe, profit factor).
    Ratio,
    /// A currency amount with 2 decimals and thousands separators.
    Money,
    /// An integer count.
    Count,
    /// The cell's `text` (a date or date range); the number is ignored.
    Date,
}

impl MetricDef {
    /// Builds a catalogue entry.
    pub fn new(key: &str, label: &str, unit: MetricUnit) -> Self {
        MetricDef {
            key: key.to_string(),
            label: label.to_string(),
            unit,
        }
    }
}

/// The standard metric keys of `pulse-analytics`, in display order.
pub fn default_metric_catalogue() -> Vec<MetricDef> {
    use MetricUnit::*;
    [
        ("total_return", "Total return", Percent),
        ("cagr", "CAGR", Percent),
        ("volatility", "Volatility (annualized)", Percent),
        ("sharpe", "Sharpe", Ratio),
        ("sortino", "Sortino", Ratio),
        ("max_drawdown", "Max drawdown", Percent),
        ("max_drawdown_period", "Max drawdown period", Date),
        ("calmar", "Calmar", Ratio),
        ("win_rate", "Win rate (of closed trades)", Percent),
        ("profit_factor", "Profit factor", Ratio),
        ("expectancy", "Expectancy per closed trade", Money),
        ("closed_trades", "Closed trades (FIFO round trips)", Count),
        ("trades", "Fills (buys and sells)", Count),
        ("turnover", "Turnover (annualized)", Ratio),
        ("fees", "Fees paid", Money),
        ("exposure", "Exposure", Percent),
        ("best_day", "Best day", Percent),
        ("worst_day", "Worst day", Percent),
        ("var_95", "VaR 95 % (daily)", Percent),
        ("cvar_95", "CVaR 95 % (daily)", Percent),
        ("final_equity", "Final equity", Money),
    ]
    .into_iter()
    .map(|(k, l, u)| MetricDef::new(k, l, u))
    .collect()
}

/// Target and actual weights over time.
///
/// `target[i][j]` / `actual[i][j]` is the weight (fraction of equity) of `symbols[j]` at `dates[i]`.
/// Cash is `1 − Σ weights` and is drawn as its own panel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightsSeries {
    /// Whose weights these are when the report compares several strategies (e.g. "min-vol" in a
    /// portfolio walk-forward); named in the section's heading. Empty: the report's own strategy.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub strategy: String,
    /// Dates, strictly increasing.
    pub dates: Vec<String>,
    /// Symbols, one column each.
    pub symbols: Vec<String>,
    /// Target weights, one row per date, one column per symbol (fractions).
    pub target: Vec<Vec<f64>>,
    /// Actual (held) weights at the close, one row per date, one column per symbol (fractions).
    pub actual: Vec<Vec<f64>>,
}

/// The close prices of one symbol and the strategy's fills on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceSeries {
    /// Ticker, e.g. "TSLA".
    pub symbol: String,
    /// Dates, strictly increasing.
    pub dates: Vec<String>,
    /// Close price at each date, in currency units per share; same length as `dates`.
    pub close: Vec<f64>,
    /// Fills on this symbol (triangles: up = buy, down = sell).
    pub markers: Vec<TradeMarker>,
}

/// A fill drawn on a price chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeMarker {
    /// Fill date.
    pub date: String,
    /// Buy or sell.
    pub side: Side,
    /// Fill price, currency units per share.
    pub price: f64,
    /// Shares (positive).
    pub quantity: f64,
}

/// Direction of a fill: the domain's one `Side` (`"buy"`/`"sell"` in JSON).
pub use pulse_core::Side;

/// One calendar month's return: the analytics' own type (`pulse_analytics::Analysis::monthly`).
pub use pulse_analytics::MonthlyReturn;

/// One fill of the strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRow {
    /// Fill date.
    pub date: String,
    /// Ticker.
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Shares (positive).
    pub quantity: f64,
    /// Fill price, currency units per share.
    pub price: f64,
    /// Fee paid, currency units.
    pub fee: f64,
    /// quantity × price, currency units.
    pub notional: f64,
}

/// One alert (a change of target weights beyond the threshold).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    /// Date of the decision.
    pub date: String,
    /// Human message, e.g. "RSI14 above 70: cut TSLL".
    pub message: String,
    /// Target weights before, symbol (or "cash") → fraction.
    pub old_weights: BTreeMap<String, f64>,
    /// Target weights after, symbol (or "cash") → fraction.
    pub new_weights: BTreeMap<String, f64>,
}

/// A parameter search (`pulse sweep`): its best trials, what mattered, the overfitting statistics,
/// walk-forward validation and heatmaps of the objective. Drawn as the "Parameter search" section
/// when [`BacktestReport::sweep`] is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepSection {
    /// The maximized objective, e.g. "sharpe" (its unit is the metric's: ratio or fraction).
    pub objective: String,
    /// Search method, e.g. "grid", "random", "tpe".
    pub method: String,
    /// Number of finished trials.
    pub trials: u64,
    /// The searched window, e.g. "2022-10-31..2025-09-29 (732 bars)".
    #[serde(default)]
    pub window: String,
    /// Parameter names in declaration order (the columns of the tables).
    pub parameters: Vec<String>,
    /// Best trials, best first (all IN-SAMPLE: chosen and scored on the same data).
    pub top: Vec<SweepTrialRow>,
    /// Parameter importance `(name, share of score variance explained in [0, 1])`.
    pub importance: Vec<(String, f64)>,
    /// Deflated Sharpe ratio of the best trial (a probability in [0, 1]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deflated_sharpe: Option<SweepStatistic>,
    /// Probability of backtest overfitting (CSCV, a probability in [0, 1]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbo: Option<SweepStatistic>,
    /// Walk-forward folds (OUT-OF-SAMPLE on their test windows); empty when not run.
    #[serde(default)]
    pub walk_forward: Vec<WalkForwardFold>,
    /// Heatmaps of the objective over pairs of parameters.
    #[serde(default)]
    pub heatmaps: Vec<SweepHeatmap>,
}

/// One trial of the top table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepTrialRow {
    /// Trial number.
    pub number: u64,
    /// Parameter name → value.
    pub params: BTreeMap<String, f64>,
    /// Objective value; `None` = not defined.
    pub score: Option<f64>,
    /// Annualized Sharpe ratio.
    pub sharpe: Option<f64>,
    /// CAGR (fraction).
    pub cagr: Option<f64>,
    /// Maximum drawdown (fraction, as `pulse-analytics` reports it).
    pub max_drawdown: Option<f64>,
    /// Number of fills.
    pub fills: Option<f64>,
}

/// One headline statistic with its plain-language meaning.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepStatistic {
    /// The value (a probability in [0, 1] for DSR and PBO); `None` = could not be computed.
    pub value: Option<f64>,
    /// One line explaining what the number means.
    pub explanation: String,
}

/// One walk-forward fold: parameters chosen on `train`, traded on `test`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WalkForwardFold {
    /// First date of the training window.
    pub train_from: String,
    /// Last date of the training window.
    pub train_to: String,
    /// First date of the test window.
    pub test_from: String,
    /// Last date of the test window.
    pub test_to: String,
    /// Objective of the chosen parameters on the training window (in-sample).
    pub in_sample: Option<f64>,
    /// Objective of the chosen parameters on the test window (out-of-sample).
    pub out_of_sample: Option<f64>,
    /// The chosen parameters, name → value.
    pub params: BTreeMap<String, f64>,
}

/// The objective over two parameters (e.g. the best score over the other parameters per cell).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepHeatmap {
    /// Horizontal parameter.
    pub x_name: String,
    /// Vertical parameter.
    pub y_name: String,
    /// Horizontal axis values (columns), finite.
    pub x_values: Vec<f64>,
    /// Vertical axis values (rows), finite.
    pub y_values: Vec<f64>,
    /// `cells[iy][ix]`: objective at (`x_values[ix]`, `y_values[iy]`); `None` = no trial there.
    pub cells: Vec<Vec<Option<f64>>>,
}
