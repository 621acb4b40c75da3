//! `pulse backtest`, `pulse simulate`, `pulse strategy show`, `pulse runs`: flags → request →
//! `pulse_app::backtest` → printed outcome.

use crate::app::{App, usage};
use crate::cli::{
    BacktestArgs, FillArg, RunArgs, RunsArgs, RunsCommand, SimulateArgs, StrategyCommand,
};
use crate::commands::{parse_optional_instant, parse_timeframe};
use crate::output::{MetricRow, fmt_opt, metric_text, print_json, print_metrics, print_table};
use anyhow::Context;
use jiff::tz::TimeZone;
use pulse_analytics::Metrics;
use pulse_app::backtest::{
    BacktestRequest, Evaluated, Prepared, RiskSource, RunSettings, SimulateRequest, StrategySource,
    date_of,
};
use pulse_backtest::FillPrice;
use pulse_core::Symbol;
use pulse_core::WallClock;
use pulse_engine::CostModel;
use pulse_report::{AlertRow, RiskSection, TradeRow, WeightsSeries};
use pulse_strategy::pulse::{DEFAULT_TOML, PulseConfig};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::str::FromStr;

/// `pulse strategy …`
pub fn strategy(app: &App, cmd: StrategyCommand) -> anyhow::Result<()> {
    match cmd {
        StrategyCommand::Show { name } => {
            if !name.eq_ignore_ascii_case("pulse") {
                return Err(usage(format!(
                    "unknown strategy {name:?}: available: pulse"
                )));
            }
            if app.json {
                let cfg = PulseConfig::default_config()?;
                return print_json(&cfg);
            }
            write!(std::io::stdout().lock(), "{DEFAULT_TOML}")?;
            Ok(())
        }
    }
}

/// Parses a decimal flag value (usage error naming the flag).
pub(crate) fn decimal(flag: &str, s: &str) -> anyhow::Result<Decimal> {
    Decimal::from_str(s.trim()).map_err(|_| usage(format!("{flag} {s:?} is not a decimal number")))
}

/// A starting-cash flag: a decimal in `(0, MAX_MONEY]` (usage error naming the flag).
pub(crate) fn cash_flag(flag: &str, s: &str) -> anyhow::Result<Decimal> {
    let cash = decimal(flag, s)?;
    pulse_app::backtest::validate_money("cash", cash)
        .map_err(|e| usage(format!("{flag} {}", reason_of(e))))?;
    if cash.is_zero() {
        return Err(usage(format!("{flag} must be positive")));
    }
    Ok(cash)
}

/// A commission flag: a fraction in `[0, 1)` (usage error naming the flag).
pub(crate) fn commission_flag(flag: &str, s: &str) -> anyhow::Result<Decimal> {
    let rate = decimal(flag, s)?;
    pulse_app::backtest::validate_commission(rate)
        .map_err(|e| usage(format!("{flag} {}", reason_of(e))))?;
    Ok(rate)
}

fn reason_of(e: pulse_app::AppError) -> String {
    match e {
        pulse_app::AppError::InvalidSetting { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// The typed run settings of the common flags (ranges are checked by the app layer).
pub(crate) fn run_settings(run: &RunArgs) -> anyhow::Result<RunSettings> {
    Ok(RunSettings {
        strategy: match &run.strategy_config {
            Some(path) => StrategySource::File(path.clone()),
            None => StrategySource::Default,
        },
        timeframe: parse_timeframe(&run.timeframe)?,
        cash: decimal("--cash", &run.cash)?,
        trades: run.trades.clone(),
        costs: CostModel {
            commission_rate: decimal("--commission", &run.commission)?,
            min_fee: decimal("--min-fee", &run.min_fee)?,
            slippage_bps: decimal("--slippage-bps", &run.slippage_bps)?,
        },
        fill_price: match run.fill {
            FillArg::NextOpen => FillPrice::NextOpen,
            FillArg::NextClose => FillPrice::NextClose,
            FillArg::NextTypical => FillPrice::NextTypical,
        },
        fractional: run.fractional,
        drift_band: run.drift_band,
        min_trade: decimal("--min-trade", &run.min_trade)?,
        alert_threshold: run.alert_threshold,
        rf: run.rf,
        risk: if run.risk {
            Some(RiskSource::Stored)
        } else {
            run.risk_config.clone().map(RiskSource::File)
        },
    })
}

/// The rows of the backtest and simulate summaries.
pub(crate) const SUMMARY: [MetricRow; 16] = [
    ("final equity", "final_equity", false),
    ("total return", "total_return", true),
    ("CAGR", "cagr", true),
    ("volatility", "volatility", true),
    ("Sharpe", "sharpe", false),
    ("Sortino", "sortino", false),
    ("max drawdown", "max_drawdown", true),
    ("Calmar", "calmar", false),
    ("win rate", "win_rate", true),
    ("profit factor", "profit_factor", false),
    ("fills (buys and sells)", "fills", false),
    ("closed trades", "closed_trades", false),
    ("fees paid", "fees_paid", false),
    ("exposure", "exposure_mean", true),
    ("VaR 95% (1d)", "var_95", true),
    ("CVaR 95% (1d)", "cvar_95", true),
];

fn print_summary(p: &Prepared, runs: &[Evaluated]) -> anyhow::Result<()> {
    let pulse = &runs.first().context("no run")?.result;
    let (first, last) = (
        pulse.timestamps.first().context("empty run")?,
        pulse.timestamps.last().context("empty run")?,
    );
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} + {} {} from {} to {} ({} bars), {}, {}",
        p.cfg.symbols.base,
        p.cfg.symbols.leveraged,
        p.timeframe,
        date_of(*first, p.timeframe),
        date_of(*last, p.timeframe),
        pulse.timestamps.len(),
        p.account_note,
        p.rf.describe()
    )?;
    drop(out);
    let metrics: Vec<serde_json::Value> = runs
        .iter()
        .map(|e| serde_json::to_value(&e.analysis.metrics))
        .collect::<Result<_, _>>()?;
    let columns: Vec<(&str, Option<&serde_json::Value>)> = runs
        .iter()
        .zip(&metrics)
        .map(|(e, m)| (e.result.strategy.as_str(), Some(m)))
        .collect();
    print_metrics(&columns, &SUMMARY)?;
    writeln!(
        std::io::stdout().lock(),
        "{} alert(s) from Pulse; {} fills.",
        pulse.alerts.len(),
        pulse.fills.len()
    )?;
    if p.config.engine.risk.is_some() || p.cfg.sizing.is_active() || !pulse.risk_events.is_empty() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &pulse.risk_events {
            *counts.entry(e.kind.name()).or_default() += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let halted = pulse
            .risk_events
            .iter()
            .find(|e| e.kind.name() == "drawdown_stop")
            .map(|e| {
                format!(
                    "; HALTED by the drawdown stop on {}",
                    date_of(e.ts, p.timeframe)
                )
            })
            .unwrap_or_default();
        let borrowing = if pulse.borrow_cost.is_zero() {
            String::new()
        } else {
            format!("; margin interest {}", pulse.borrow_cost.round_dp(2))
        };
        writeln!(
            std::io::stdout().lock(),
            "Risk layer (Pulse only): {} event(s){}{halted}{borrowing}.",
            pulse.risk_events.len(),
            if summary.is_empty() {
                String::new()
            } else {
                format!(" ({})", summary.join(", "))
            }
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct StrategyJson<'a> {
    name: &'a str,
    metrics: &'a Metrics,
    fees_paid: Decimal,
    traded_notional: Decimal,
    dividends_received: Decimal,
    /// Interest charged on negative cash (margin-enabled risk layer only).
    borrow_cost: Decimal,
    final_cash: Decimal,
    final_positions: &'a BTreeMap<Symbol, Decimal>,
}

#[derive(Serialize)]
struct BacktestJson<'a> {
    run_id: i64,
    sample: &'a str,
    report: Option<String>,
    /// Files written by `--csv DIR` (empty without it).
    csv: &'a [String],
    strategies: Vec<StrategyJson<'a>>,
    equity: BTreeMap<&'a str, &'a [f64]>,
    dates: Vec<String>,
    weights: &'a WeightsSeries,
    trades: &'a [TradeRow],
    alerts: &'a [AlertRow],
    /// The risk layer's settings, leverage and events (only with `--risk-config`).
    #[serde(skip_serializing_if = "Option::is_none")]
    risk: Option<&'a RiskSection>,
}

/// `pulse backtest`
pub async fn backtest(app: &App, args: BacktestArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let request = BacktestRequest {
        settings: run_settings(&args.run)?,
        from: parse_optional_instant(args.from.as_deref(), false, "--from")?,
        to: parse_optional_instant(args.to.as_deref(), true, "--to")?,
    };
    let outcome = pulse_app::backtest::backtest(&store, &request).await?;
    let (p, runs, report) = (&outcome.prepared, &outcome.runs, &outcome.report);
    let report_path = if args.no_report {
        None
    } else {
        pulse_report::write_html(&args.report, report)
            .with_context(|| format!("cannot write the report {}", args.report.display()))?;
        Some(args.report.display().to_string())
    };
    let csv = write_csv(args.csv.as_deref(), runs)?;
    let run_id =
        pulse_app::backtest::record(&store, &WallClock, "backtest", p, runs, outcome.sample)
            .await?;
    if app.json {
        let out = BacktestJson {
            run_id,
            sample: outcome.sample,
            report: report_path,
            csv: &csv,
            strategies: runs
                .iter()
                .map(|e| StrategyJson {
                    name: &e.result.strategy,
                    metrics: &e.analysis.metrics,
                    fees_paid: e.result.fees_paid,
                    traded_notional: e.result.traded_notional,
                    dividends_received: e.result.dividends_received,
                    borrow_cost: e.result.borrow_cost,
                    final_cash: e.result.final_portfolio.cash,
                    final_positions: &e.result.final_portfolio.positions,
                })
                .collect(),
            equity: runs
                .iter()
                .map(|e| (e.result.strategy.as_str(), e.result.equity.as_slice()))
                .collect(),
            dates: report.weights.dates.clone(),
            weights: &report.weights,
            trades: &report.trades,
            alerts: &report.alerts,
            risk: report.risk.as_ref(),
        };
        return print_json(&out);
    }
    print_summary(p, runs)?;
    print_csv(&csv)?;
    if let Some(path) = report_path {
        writeln!(
            std::io::stdout().lock(),
            "Report: {path}   (run #{run_id}; `pulse runs` lists recorded runs)"
        )?;
    }
    Ok(())
}

/// `--csv DIR`: the run's equity, weights and fills as CSV files (all or none).
pub(crate) fn write_csv(
    dir: Option<&std::path::Path>,
    runs: &[pulse_app::backtest::Evaluated],
) -> anyhow::Result<Vec<String>> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let tables = pulse_app::export::run_tables(runs)?;
    let written = pulse_app::export::write_tables(dir, &tables)?;
    Ok(written.iter().map(|p| p.display().to_string()).collect())
}

/// Prints the files `--csv` wrote.
pub(crate) fn print_csv(paths: &[String]) -> anyhow::Result<()> {
    if !paths.is_empty() {
        writeln!(std::io::stdout().lock(), "CSV: {}", paths.join(", "))?;
    }
    Ok(())
}

fn parse_span(s: &str) -> anyhow::Result<jiff::Span> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| usage(format!("--last {s:?}: expected e.g. 1y, 6m, 90d")))?;
    let span = match unit {
        "y" => jiff::Span::new().try_years(n),
        "m" => jiff::Span::new().try_months(n),
        "w" => jiff::Span::new().try_weeks(n),
        "d" => jiff::Span::new().try_days(n),
        _ => return Err(usage(format!("--last {s:?}: unit must be y, m, w or d"))),
    };
    span.map_err(|_| usage(format!("--last {s:?} is too long")))
}

/// `pulse simulate --last 1y`
pub async fn simulate(app: &App, args: SimulateArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let request = SimulateRequest {
        settings: run_settings(&args.run)?,
        last: parse_span(&args.last)?,
    };
    let notifier = crate::commands::webhook_notifier(
        args.webhook.as_deref(),
        args.webhook_format,
        args.telegram_chat_id.as_deref(),
    )?;
    let tf = request.settings.timeframe;
    let quiet = app.json || app.quiet;
    let mut lines: Vec<String> = Vec::new();
    let outcome = pulse_app::backtest::simulate(&store, &request, |step| {
        let mut parts = Vec::new();
        for f in step.fills {
            parts.push(format!(
                "filled {} {} {} @ {} (fee {})",
                f.side,
                f.quantity,
                f.symbol,
                f.price,
                f.fee.round_dp(2)
            ));
        }
        if let Some(t) = step.target {
            let w: Vec<String> = t
                .iter()
                .map(|(s, w)| format!("{s} {:.1}%", w * 100.0))
                .collect();
            parts.push(format!("target {}", w.join(", ")));
        }
        for r in step.rejections {
            parts.push(if r.filled > Decimal::ZERO {
                format!(
                    "PARTIAL FILL {} of {} {} ({})",
                    r.filled, r.requested, r.symbol, r.reason
                )
            } else {
                format!("NOT FILLED {} {} ({})", r.requested, r.symbol, r.reason)
            });
        }
        for o in step.orders {
            parts.push(format!("order {} {} {}", o.side, o.quantity, o.symbol));
        }
        if let Some(a) = step.alert {
            parts.push(format!("ALERT {}", a.message));
        }
        for e in step.risk_events {
            parts.push(format!("RISK {}", e.message));
        }
        let eventful = !step.fills.is_empty()
            || step.alert.is_some()
            || !step.risk_events.is_empty()
            || !step.orders.is_empty()
            || !step.rejections.is_empty();
        if args.every_day || eventful {
            lines.push(format!(
                "{}  equity {:>12.2}  {}",
                date_of(step.ts, tf),
                step.equity,
                parts.join("; ")
            ));
        }
    })
    .await?;
    let (p, runs) = (&outcome.prepared, &outcome.runs);
    if !quiet {
        let mut out = std::io::stdout().lock();
        for l in &lines {
            writeln!(out, "{l}")?;
        }
    }
    let pulse = &runs.first().context("no run")?.result;
    let delivery = match &notifier {
        Some(n) => Some(
            pulse_app::alerts::deliver_alerts(
                n,
                &pulse.strategy,
                &pulse.alerts,
                &pulse.risk_events,
            )
            .await?,
        ),
        None => None,
    };
    if let Some(d) = &delivery {
        for f in &d.failed {
            eprintln!("warning: alert not delivered: {f}");
        }
    }
    let run_id = pulse_app::backtest::record(
        &store,
        &WallClock,
        "simulate",
        p,
        runs,
        "out-of-sample replay",
    )
    .await?;
    let csv = write_csv(args.csv.as_deref(), runs)?;
    let sent = delivery.as_ref().map_or(0, |d| d.sent);
    if app.json {
        let (first, last) = (
            pulse.timestamps.first().context("empty run")?,
            pulse.timestamps.last().context("empty run")?,
        );
        return print_json(&serde_json::json!({
            "run_id": run_id,
            "from": date_of(*first, tf),
            "to": date_of(*last, tf),
            "metrics": runs[0].analysis.metrics,
            "alerts": pulse.alerts,
            "fills": pulse.fills,
            "rejections": pulse.rejections,
            "csv": csv,
            "webhook_sent": sent,
            "webhook_failed": delivery.as_ref().map_or(0, |d| d.failed.len()),
        }));
    }
    print_summary(p, runs)?;
    print_csv(&csv)?;
    let mut out = std::io::stdout().lock();
    if let Some(d) = &delivery {
        writeln!(
            out,
            "{} alert(s) posted to the webhook{}.",
            d.sent,
            if d.failed.is_empty() {
                String::new()
            } else {
                format!(", {} failed", d.failed.len())
            }
        )?;
    }
    writeln!(out, "(run #{run_id})")?;
    Ok(())
}

/// `pulse runs show ID`
async fn show_run(app: &App, store: &crate::store::AnyStore, id: i64) -> anyhow::Result<()> {
    let d = pulse_app::runs::show_run(store, id).await?;
    if app.json {
        return print_json(&d);
    }
    let r = &d.record;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "run #{id}: {} of {} ({}), data {}..{}, recorded {}",
        r.kind,
        r.strategy,
        r.sample,
        r.data_from.to_zoned(TimeZone::UTC).date(),
        r.data_to.to_zoned(TimeZone::UTC).date(),
        r.created_at
    )?;
    match &d.config {
        serde_json::Value::String(toml) => writeln!(out, "rule set:\n{toml}")?,
        serde_json::Value::Object(fields) => {
            let mut settings = fields.clone();
            let toml = settings.remove("strategy_toml");
            writeln!(
                out,
                "settings: {}",
                serde_json::to_string_pretty(&settings)?
            )?;
            if let Some(serde_json::Value::String(toml)) = toml {
                writeln!(out, "rule set:\n{toml}")?;
            }
        }
        other => writeln!(out, "settings: {other}")?,
    }
    drop(out);
    let columns: Vec<(&str, Option<&serde_json::Value>)> = d
        .metrics
        .iter()
        .map(|(name, m)| (name.as_str(), Some(m)))
        .collect();
    print_metrics(&columns, &pulse_app::runs::HEADLINE)?;
    let mut out = std::io::stdout().lock();
    for a in &r.alerts {
        writeln!(out, "alert {}  {}", a.ts, a.message)?;
    }
    Ok(())
}

/// `pulse runs`, `pulse runs show|compare|delete`
pub async fn runs(app: &App, args: RunsArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    match args.action {
        Some(RunsCommand::Show { id }) => return show_run(app, &store, id).await,
        Some(RunsCommand::Delete { id }) => {
            pulse_app::runs::delete_run(&store, id).await?;
            if app.json {
                return print_json(&serde_json::json!({ "deleted": id }));
            }
            writeln!(std::io::stdout().lock(), "Deleted run #{id}.")?;
            return Ok(());
        }
        Some(RunsCommand::Compare { a, b }) => {
            let c = pulse_app::runs::compare_runs(&store, a, b).await?;
            if app.json {
                return print_json(&c);
            }
            let headline = |d: &pulse_app::runs::RunDetail, key: &str, pct: bool| {
                metric_text(d.metrics.get(&d.record.strategy), key, pct)
            };
            let rows: Vec<Vec<String>> = pulse_app::runs::HEADLINE
                .iter()
                .map(|(label, key, pct)| {
                    vec![
                        label.to_string(),
                        headline(&c.a, key, *pct),
                        headline(&c.b, key, *pct),
                    ]
                })
                .chain(c.differences.iter().map(|(path, x, y)| {
                    vec![format!("setting {path}"), x.to_string(), y.to_string()]
                }))
                .collect();
            let (ha, hb) = (format!("run #{a}"), format!("run #{b}"));
            return print_table(&["", &ha, &hb], &rows);
        }
        None => {}
    }
    if app.json {
        return print_json(&pulse_app::runs::run_headers(&store, args.limit).await?);
    }
    let runs = pulse_app::runs::list_runs(&store, args.limit).await?;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|s| {
            let r = &s.record;
            let m = s.headline.as_ref();
            vec![
                r.id.to_string(),
                r.kind.clone(),
                r.created_at.to_string(),
                r.strategy.clone(),
                r.sample.clone(),
                format!(
                    "{}..{}",
                    r.data_from.to_zoned(TimeZone::UTC).date(),
                    r.data_to.to_zoned(TimeZone::UTC).date()
                ),
                fmt_opt(m.and_then(|m| m.total_return), true),
                fmt_opt(m.and_then(|m| m.sharpe), false),
                fmt_opt(m.and_then(|m| m.max_drawdown), true),
                r.alert_count.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "id", "kind", "created", "strategy", "sample", "data", "return", "sharpe", "max dd",
            "alerts",
        ],
        &rows,
    )
}
