//! `pulse portfolio optimize|allocate|backtest`: flags → request → `pulse_app::portfolio` →
//! printed outcome.

use crate::app::{App, usage};
use crate::cli::{AllocateArgs, OptimizeArgs, PortfolioBacktestArgs, PortfolioCommand};
use crate::commands::backtest::decimal;
use crate::commands::{parse_instant, parse_symbols};
use crate::output::fmt_opt;
use crate::output::{outln, print_json, print_table};
use anyhow::Context;
use pulse_app::backtest::date_of;
use pulse_app::portfolio::{
    self, AllocateRequest, GroupCap, OptimizeOutcome, OptimizeRequest, Preset, WalkForwardRequest,
};
use pulse_core::money::money_to_f64;
use pulse_core::{Symbol, Timeframe};
use std::path::Path;

/// Runs `pulse portfolio …`.
pub async fn run(app: &App, cmd: PortfolioCommand) -> anyhow::Result<()> {
    match cmd {
        PortfolioCommand::Optimize(args) => {
            let request = optimize_request(&args)?;
            let outcome = portfolio::optimize(&app.store().await?, &request).await?;
            if app.json {
                return print_json(&result_json(&outcome));
            }
            print_result(&outcome)
        }
        PortfolioCommand::Allocate(args) => allocate(app, args).await,
        PortfolioCommand::Backtest(args) => backtest(app, args).await,
    }
}

/// `--symbols` or the symbols of `--universe FILE`.
fn universe(symbols: &[String], file: Option<&Path>) -> anyhow::Result<Vec<Symbol>> {
    match file {
        Some(path) => {
            let text = pulse_app::data::read_text_file(path)?;
            parse_symbols(
                &portfolio::universe_names(&text),
                &format!("universe file {}", path.display()),
            )
        }
        None => parse_symbols(symbols, "--symbols"),
    }
}

fn optimize_request(args: &OptimizeArgs) -> anyhow::Result<OptimizeRequest> {
    let instant = |s: &Option<String>, end, flag| {
        s.as_deref()
            .map(|s| parse_instant(s, end, flag))
            .transpose()
    };
    Ok(OptimizeRequest {
        symbols: universe(&args.symbols, args.universe.as_deref())?,
        from: instant(&args.from, false, "--from")?,
        to: instant(&args.to, true, "--to")?,
        method: args.method,
        returns: args.returns,
        risk: args.risk,
        target: args.target,
        max_weight: args.max_weight,
        min_weight: args.min_weight,
        groups: args
            .groups
            .iter()
            .map(|g| g.parse::<GroupCap>())
            .collect::<Result<_, _>>()?,
        turnover_limit: args.turnover_limit,
        current_weights: args
            .current_weights
            .as_deref()
            .map(portfolio::parse_current_weights)
            .transpose()?,
        l2: args.l2,
        rf: args.rf,
        span: args.span,
        market: args
            .market
            .as_deref()
            .map(|m| Symbol::try_new(m).map_err(|e| usage(e.to_string())))
            .transpose()?,
        linkage: args.linkage,
        alpha: args.alpha,
        risk_aversion: args.risk_aversion,
    })
}

fn day(t: jiff::Timestamp) -> String {
    date_of(t, Timeframe::D1)
}

fn result_json(o: &OptimizeOutcome) -> serde_json::Value {
    let (r, w) = (&o.portfolio, &o.window);
    let weights: serde_json::Map<String, serde_json::Value> = r
        .symbols
        .iter()
        .zip(&r.weights)
        .map(|(s, x)| (s.clone(), (*x).into()))
        .collect();
    serde_json::json!({
        "weights": weights,
        "expected_return": r.expected_return,
        "volatility": r.volatility,
        "sharpe": r.sharpe,
        "return_source": r.return_source,
        "shrinkage": r.shrinkage,
        "warnings": r.warnings,
        "window": { "first": day(w.first), "last": day(w.last), "rows": w.rows },
    })
}

fn print_result(o: &OptimizeOutcome) -> anyhow::Result<()> {
    let (r, w) = (&o.portfolio, &o.window);
    outln!(
        "Prices {}..{} ({} common days); expected returns: {}",
        day(w.first),
        day(w.last),
        w.rows,
        r.return_source
    )?;
    let rows: Vec<Vec<String>> = r
        .symbols
        .iter()
        .zip(&r.weights)
        .filter(|(_, x)| x.abs() >= 5e-5)
        .map(|(s, x)| vec![s.clone(), format!("{:.2}%", x * 100.0)])
        .collect();
    print_table(&["symbol", "weight"], &rows)?;
    outln!(
        "Expected annual return {:.2}%, volatility {:.2}%, Sharpe {:.3}",
        r.expected_return * 100.0,
        r.volatility * 100.0,
        r.sharpe
    )?;
    for warning in &r.warnings {
        outln!("warning: {warning}")?;
    }
    Ok(())
}

async fn allocate(app: &App, args: AllocateArgs) -> anyhow::Result<()> {
    let request = AllocateRequest {
        optimize: optimize_request(&args.optimize)?,
        cash: args.cash,
        exact: args.exact,
    };
    let out = portfolio::allocate(&app.store().await?, &request).await?;
    let (o, a) = (&out.optimized, &out.allocation);
    let held = || {
        o.portfolio
            .symbols
            .iter()
            .zip(a.shares.iter().zip(&o.window.last_prices))
            .filter(|(_, (q, _))| **q > 0)
    };
    if app.json {
        let shares: serde_json::Map<String, serde_json::Value> =
            held().map(|(s, (q, _))| (s.clone(), (*q).into())).collect();
        return print_json(&serde_json::json!({
            "shares": shares,
            "leftover": a.leftover,
            "objective": a.objective,
            "method": request.method_name(),
            "prices_as_of": day(o.window.last),
            "portfolio": result_json(o),
        }));
    }
    print_result(o)?;
    outln!(
        "Whole shares for {:.2} at the {} closes ({}):",
        args.cash,
        day(o.window.last),
        request.method_name()
    )?;
    let rows: Vec<Vec<String>> = held()
        .map(|(s, (q, p))| {
            let value = *q as f64 * p;
            vec![
                s.clone(),
                q.to_string(),
                format!("{p:.2}"),
                format!("{value:.2}"),
            ]
        })
        .collect();
    print_table(&["symbol", "shares", "price", "value"], &rows)?;
    outln!("Leftover cash {:.2}", a.leftover)?;
    Ok(())
}

/// `pulse portfolio backtest`
async fn backtest(app: &App, args: PortfolioBacktestArgs) -> anyhow::Result<()> {
    let request = WalkForwardRequest {
        symbols: universe(&args.symbols, args.universe.as_deref())?,
        strategies: Preset::parse_list(&args.strategies)?,
        rebalance: args.rebalance,
        lookback: args.lookback,
        from: (args.from.as_deref())
            .map(|s| parse_instant(s, false, "--from"))
            .transpose()?,
        to: (args.to.as_deref())
            .map(|s| parse_instant(s, true, "--to"))
            .transpose()?,
        cash: decimal("--cash", &args.cash)?,
        commission: decimal("--commission", &args.commission)?,
        rf: args.rf,
    };
    let outcome = portfolio::walk_forward(&app.store().await?, &request).await?;
    if let Some(path) = &args.report {
        let report = portfolio::walk_forward_report(&request, &outcome)?;
        pulse_report::write_html(path, &report)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let runs = &outcome.runs;
    let csv = crate::commands::backtest::write_csv(args.csv.as_deref(), runs)?;
    if app.json {
        let strategies: Vec<serde_json::Value> = runs
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.result.strategy,
                    "metrics": e.analysis.metrics,
                    "nav": e.result.equity,
                    "fees_paid": e.result.fees_paid,
                    "rebalances": portfolio::rebalance_days(&e.result),
                })
            })
            .collect();
        let dates: Vec<String> = runs
            .first()
            .map(|e| e.result.timestamps.iter().map(|t| day(*t)).collect())
            .unwrap_or_default();
        return print_json(
            &serde_json::json!({ "dates": dates, "strategies": strategies, "notes": outcome.notes, "csv": csv }),
        );
    }
    let steps = &runs[0].result.timestamps;
    outln!(
        "{} symbols, {} to {} ({} days), lookback {} days, {} rebalancing, {} commission; forecast = EWMA({}d) stand-in",
        request.symbols.len(),
        steps.first().map(|t| day(*t)).unwrap_or_default(),
        steps.last().map(|t| day(*t)).unwrap_or_default(),
        steps.len(),
        request.lookback,
        request.rebalance,
        args.commission,
        portfolio::FORECAST_SPAN_DAYS
    )?;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|e| {
            let m = &e.analysis.metrics;
            vec![
                e.result.strategy.clone(),
                format!("{:.2}", m.final_equity.unwrap_or(0.0)),
                fmt_opt(m.cagr, true),
                fmt_opt(m.volatility, true),
                fmt_opt(m.sharpe, false),
                fmt_opt(m.max_drawdown, true),
                format!("{:.2}", money_to_f64(e.result.fees_paid)),
            ]
        })
        .collect();
    let header = [
        "strategy",
        "final NAV",
        "CAGR",
        "volatility",
        "Sharpe",
        "max DD",
        "fees",
    ];
    print_table(&header, &rows)?;
    for note in outcome.notes.iter().take(5) {
        outln!("note: {note}")?;
    }
    crate::commands::backtest::print_csv(&csv)?;
    if let Some(path) = &args.report {
        outln!("Report: {}", path.display())?;
    }
    Ok(())
}
