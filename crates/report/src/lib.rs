//! `pulse-report` renders a backtest as ONE self-contained HTML page and serialises the same data
//! model as JSON (`pulse backtest --json`).
//!
//! The model ([`BacktestReport`] and friends in [`model`]) is plain data the backtest fills in;
//! units are documented on every field (money in the report currency, weights and returns as
//! fractions, dates as `YYYY-MM-DD` or RFC 3339 strings).
//!
//! The page needs no network: CSS and a small vanilla-JS script are inline, charts are inline
//! SVG, and the values shown on hover come from a JSON data island
//! (`<script type="application/json" id="report-data">`). Sections, in order: header (title,
//! sample badge), parameter search (only when [`BacktestReport::sweep`] is set: IN-SAMPLE top
//! trials, importance bars, DSR/PBO, OUT-OF-SAMPLE walk-forward folds, one heatmap per parameter
//! pair), metrics table, equity curves (linear/log toggle), drawdown, target vs actual
//! weights (one panel per symbol plus cash), price per symbol with buy/sell triangles, efficient
//! frontier with the chosen portfolios marked (only when [`BacktestReport::frontier`] is set),
//! monthly returns heatmap, trade list, alert list, configuration. Every user string is HTML-escaped.
//!
//! Long series: the SVG draws at most [`chart::MAX_DRAWN_POINTS`] points per series (min/max
//! bucketing keeps extremes); hover values are exact up to [`chart::MAX_HOVER_POINTS`] points per
//! series and thinned beyond (flagged `"exact": false` in the island).
//!
//! ```no_run
//! use pulse_report::*;
//! let report = BacktestReport {
//!     title: "Pulse backtest".into(),
//!     currency: "USD".into(),
//!     metric_catalogue: default_metric_catalogue(),
//!     series: vec![EquitySeries {
//!         name: "Pulse".into(),
//!         dates: vec!["2024-01-02".into(), "2024-01-03".into()],
//!         equity: vec![100_000.0, 101_250.0],
//!     }],
//!     ..BacktestReport::default()
//! };
//! write_html(std::path::Path::new("report.html"), &report)?; // --report FILE.html
//! println!("{}", to_json(&report)?); // --json
//! # Ok::<(), ReportError>(())
//! ```

pub mod chart;
pub mod error;
pub mod escape;
mod html;
pub mod model;
pub mod scale;
mod sweep;
pub mod time;

use std::io::Write as _;
use std::path::Path;

pub use error::ReportError;
pub use html::{drawdown, embed_charts};
pub use model::{
    AlertRow, BacktestReport, EquitySeries, FrontierChart, MarkedPortfolio, MetricCell, MetricDef,
    MetricUnit, MetricsRow, MonthlyReturn, PriceSeries, RiskEventRow, RiskSection, SampleLabel,
    ShadedSpan, Side, SweepHeatmap, SweepSection, SweepStatistic, SweepTrialRow, TradeMarker,
    TradeRow, WalkForwardFold, WeightsSeries, default_metric_catalogue,
};

/// Renders the report as one self-contained HTML document.
///
/// Fails when the model is inconsistent (unparsable or unordered dates, length mismatches,
/// non-finite chart values, months outside 1..=12); the error names the field and index.
pub fn render_html(report: &BacktestReport) -> Result<String, ReportError> {
    html::render(report)
}

/// Renders and writes the page to `path` atomically (temporary sibling file, then rename).
pub fn write_html(path: &Path, report: &BacktestReport) -> Result<(), ReportError> {
    let page = render_html(report)?;
    write_atomic(path, page.as_bytes())
}

/// The report as pretty JSON (the `--json` output). Validates like [`render_html`] first so that
/// scripts never receive `null` where a number is expected.
pub fn to_json(report: &BacktestReport) -> Result<String, ReportError> {
    validate(report)?;
    Ok(serde_json::to_string_pretty(report)?)
}

/// Parses a report written by [`to_json`].
pub fn from_json(json: &str) -> Result<BacktestReport, ReportError> {
    Ok(serde_json::from_str(json)?)
}

/// Checks the model the way [`render_html`] does, without rendering.
pub fn validate(report: &BacktestReport) -> Result<(), ReportError> {
    html::validate(report).map(|_| ())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.html".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ReportError::Io { path: p, source }
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
