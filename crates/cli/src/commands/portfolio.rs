//! `pulse portfolio optimize` and `pulse portfolio allocate`.

use crate::app::{App, usage};
use crate::cli::{
    AllocateArgs, LinkageArg, MethodArg, OptimizeArgs, PortfolioCommand, ReturnsArg, RiskArg,
};
use crate::commands::{parse_instant, parse_symbols};
use crate::output::outln;
use crate::output::{print_json, print_table};
use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use pulse_core::{Symbol, Timeframe};
use pulse_optimize::nalgebra::{DMatrix, DVector};
use pulse_optimize::{
    AllocationRequest, Constraints, Linkage, Method, PortfolioResult, PortfolioSpec, ReturnModel,
    RiskModel,
};
use std::collections::BTreeMap;
use store_sqlite::SqliteStore;

/// Runs `pulse portfolio …`.
pub async fn run(app: &App, cmd: PortfolioCommand) -> anyhow::Result<()> {
    match cmd {
        PortfolioCommand::Optimize(args) => {
            let (result, window) = optimize(app, &args).await?;
            if app.json {
                return print_json(&result_json(&result, &window));
            }
            print_result(&result, &window)
        }
        PortfolioCommand::Allocate(args) => allocate(app, args).await,
        PortfolioCommand::Backtest(args) => backtest(app, args).await,
    }
}

/// The price window actually used.
struct Window {
    first: String,
    last: String,
    rows: usize,
    last_prices: Vec<f64>,
}

fn universe(args: &OptimizeArgs) -> anyhow::Result<Vec<Symbol>> {
    let raw: Vec<String> = match &args.universe {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read universe file {}", path.display()))?
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").to_string())
            .flat_map(|l| {
                l.split([',', ' ', '\t'])
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect(),
        None => args.symbols.clone(),
    };
    let symbols = parse_symbols(&raw)?;
    if symbols.len() < 2 {
        return Err(usage("a portfolio needs at least two symbols"));
    }
    Ok(symbols)
}

/// Adjusted (or plain) closes of every symbol on the dates they all share, in the window.
async fn load_prices(
    store: &SqliteStore,
    symbols: &[Symbol],
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> anyhow::Result<(Vec<Timestamp>, DMatrix<f64>)> {
    let mut columns: Vec<BTreeMap<Timestamp, f64>> = Vec::new();
    for s in symbols {
        let col: BTreeMap<Timestamp, f64> =
            crate::commands::load_series(store, s, Timeframe::D1, start, end)
                .await?
                .iter()
                .map(|b| (b.ts, b.analysis_close()))
                .collect();
        if col.is_empty() {
            bail!("no daily bars for {s} in the window (import it with `pulse data import`)");
        }
        columns.push(col);
    }
    let dates: Vec<Timestamp> = columns[0]
        .keys()
        .filter(|t| columns.iter().all(|c| c.contains_key(t)))
        .copied()
        .collect();
    if dates.len() < 3 {
        bail!(
            "the symbols share only {} dates in the window: too few to estimate anything",
            dates.len()
        );
    }
    let m = DMatrix::from_fn(dates.len(), symbols.len(), |i, j| columns[j][&dates[i]]);
    Ok((dates, m))
}

fn spec(args: &OptimizeArgs, names: &[String]) -> anyhow::Result<PortfolioSpec> {
    let linkage = match args.linkage {
        LinkageArg::Single => Linkage::Single,
        LinkageArg::Complete => Linkage::Complete,
        LinkageArg::Average => Linkage::Average,
        LinkageArg::Ward => Linkage::Ward,
    };
    let target = |what: &str| {
        args.target
            .ok_or_else(|| usage(format!("--method {what} needs --target")))
    };
    let method = match args.method {
        MethodArg::MinVol => Method::MinVolatility,
        MethodArg::MaxSharpe => Method::MaxSharpe,
        MethodArg::EfficientRisk => Method::EfficientRisk {
            target_volatility: target("efficient-risk")?,
        },
        MethodArg::EfficientReturn => Method::EfficientReturn {
            target_return: target("efficient-return")?,
        },
        MethodArg::MaxUtility => Method::MaxQuadraticUtility {
            risk_aversion: args.risk_aversion,
        },
        MethodArg::Hrp => Method::Hrp { linkage },
        MethodArg::Blend => Method::Blend {
            alpha: args.alpha,
            linkage,
        },
        MethodArg::InverseVol => Method::InverseVolatility,
        MethodArg::Erc => Method::EqualRiskContribution,
        MethodArg::Equal => Method::EqualWeight,
    };
    let returns = match args.returns {
        ReturnsArg::Mean => ReturnModel::MeanHistorical { compounding: true },
        ReturnsArg::MeanArithmetic => ReturnModel::MeanHistorical { compounding: false },
        ReturnsArg::Ema => ReturnModel::Ema {
            span: args.span as f64,
            compounding: true,
        },
        ReturnsArg::Capm => ReturnModel::Capm {
            rf: args.rf,
            compounding: true,
        },
    };
    let risk = match args.risk {
        RiskArg::Sample => RiskModel::Sample,
        RiskArg::LedoitWolf => RiskModel::LedoitWolf,
        RiskArg::Exp => RiskModel::Exponential {
            span: args.span as f64,
        },
        RiskArg::Semi => RiskModel::Semi { benchmark: 0.0 },
    };
    let mut spec = PortfolioSpec::new(method, returns, risk);
    spec.rf = args.rf;
    spec.constraints = constraints(args, names)?;
    Ok(spec)
}

/// A finite fraction from a flag value, or a usage error naming the flag.
fn fraction(flag: &str, v: f64, lo: f64, hi: f64) -> anyhow::Result<f64> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(usage(format!(
            "{flag} {v}: expected a number in [{lo}, {hi}]"
        )))
    }
}

/// Index of `sym` (case-insensitive) in the universe, or a usage error naming `flag`.
fn member(flag: &str, names: &[String], sym: &str) -> anyhow::Result<usize> {
    let sym = sym.trim();
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(sym))
        .ok_or_else(|| {
            usage(format!(
                "{flag}: symbol {sym:?} is not in the universe ({})",
                names.join(",")
            ))
        })
}

/// Parses `--group NAME=SYM1+SYM2:CAP`.
fn parse_group(raw: &str, names: &[String]) -> anyhow::Result<(String, Vec<usize>, f64)> {
    let bad = |why: &str| {
        usage(format!(
            "--group {raw:?}: {why} (expected NAME=SYM1+SYM2:CAP, e.g. equity=SPY+QQQ+IWM:0.3)"
        ))
    };
    let (name, rest) = raw.split_once('=').ok_or_else(|| bad("missing '='"))?;
    let (members, cap) = rest.rsplit_once(':').ok_or_else(|| bad("missing ':CAP'"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(bad("empty group name"));
    }
    let cap: f64 = cap.trim().parse().map_err(|_| bad("CAP is not a number"))?;
    let cap = fraction(&format!("--group {name}"), cap, 0.0, 1.0)?;
    let mut idx = Vec::new();
    for sym in members.split('+').filter(|m| !m.trim().is_empty()) {
        let i = member(&format!("--group {name}"), names, sym)?;
        if !idx.contains(&i) {
            idx.push(i);
        }
    }
    if idx.is_empty() {
        return Err(bad("no member symbols"));
    }
    Ok((name.to_string(), idx, cap))
}

/// Parses `--current-weights SYM=W,...` into a vector in universe order (unlisted = 0).
fn parse_current_weights(raw: &str, names: &[String]) -> anyhow::Result<Vec<f64>> {
    let mut w = vec![0.0; names.len()];
    for item in raw.split(',').filter(|s| !s.trim().is_empty()) {
        let (sym, v) = item.split_once('=').ok_or_else(|| {
            usage(format!(
                "--current-weights {item:?}: expected SYM=W (e.g. SPY=0.4,TLT=0.6)"
            ))
        })?;
        let i = member("--current-weights", names, sym)?;
        let v: f64 = v.trim().parse().map_err(|_| {
            usage(format!(
                "--current-weights {item:?}: the weight is not a number"
            ))
        })?;
        w[i] = fraction(&format!("--current-weights {}", names[i]), v, -1.0, 1.0)?;
    }
    Ok(w)
}

/// The MVO constraints of `--min-weight/--max-weight/--group/--turnover-limit/--l2`; `None` =
/// long only without caps (the library default).
fn constraints(args: &OptimizeArgs, names: &[String]) -> anyhow::Result<Option<Constraints>> {
    let n = names.len();
    let extra = !args.groups.is_empty() || args.turnover_limit.is_some() || args.l2.is_some();
    if extra
        && matches!(
            args.method,
            MethodArg::Hrp | MethodArg::InverseVol | MethodArg::Erc | MethodArg::Equal
        )
    {
        let flag = if !args.groups.is_empty() {
            "--group"
        } else if args.turnover_limit.is_some() {
            "--turnover-limit"
        } else {
            "--l2"
        };
        return Err(usage(format!(
            "{flag} applies to the mean-variance methods (min-vol, max-sharpe, efficient-risk, efficient-return, max-utility, and the max-Sharpe leg of blend)"
        )));
    }
    if !extra && args.min_weight.is_none() && args.max_weight.is_none() {
        return Ok(None);
    }
    let lower = args
        .min_weight
        .map(|v| fraction("--min-weight", v, -1.0, 1.0))
        .transpose()?
        .unwrap_or(0.0);
    let upper = args
        .max_weight
        .map(|v| fraction("--max-weight", v, 0.0, 1.0))
        .transpose()?
        .unwrap_or(1.0);
    if lower > upper {
        return Err(usage(format!(
            "--min-weight {lower} exceeds --max-weight {upper}"
        )));
    }
    if lower * n as f64 > 1.0 + 1e-12 || upper * (n as f64) < 1.0 - 1e-12 {
        return Err(usage(format!(
            "--min-weight {lower} / --max-weight {upper} cannot sum to 1 over {n} assets (need min ≤ {:.4} ≤ max)",
            1.0 / n as f64
        )));
    }
    let mut c = Constraints::bounds(n, lower, upper);
    for raw in &args.groups {
        let (name, members, cap) = parse_group(raw, names)?;
        c = c.with_group_cap(name, members, cap);
    }
    if let Some(gamma) = args.l2 {
        c = c.with_l2(fraction("--l2", gamma, 0.0, f64::MAX)?);
    }
    match (args.turnover_limit, &args.current_weights) {
        (Some(tau), Some(raw)) => {
            let tau = fraction("--turnover-limit", tau, 0.0, 2.0)?;
            c = c.with_turnover(parse_current_weights(raw, names)?, tau);
        }
        (None, None) => {}
        _ => {
            return Err(usage("--turnover-limit and --current-weights go together"));
        }
    }
    Ok(Some(c))
}

async fn optimize(app: &App, args: &OptimizeArgs) -> anyhow::Result<(PortfolioResult, Window)> {
    let symbols = universe(args)?;
    let start = args
        .from
        .as_deref()
        .map(|s| parse_instant(s, false, "--from"))
        .transpose()?;
    let end = args
        .to
        .as_deref()
        .map(|s| parse_instant(s, true, "--to"))
        .transpose()?;
    let store = app.store().await?;
    let (dates, prices) = load_prices(&store, &symbols, start, end).await?;
    let market = match &args.market {
        Some(m) => {
            let sym = Symbol::try_new(m.as_str()).map_err(|e| usage(e.to_string()))?;
            let (mdates, mp) =
                load_prices(&store, &[sym.clone(), symbols[0].clone()], start, end).await?;
            let by: BTreeMap<Timestamp, f64> = mdates
                .iter()
                .zip(mp.column(0).iter())
                .map(|(d, p)| (*d, *p))
                .collect();
            let v: Option<Vec<f64>> = dates.iter().map(|d| by.get(d).copied()).collect();
            Some(DVector::from_vec(v.with_context(|| {
                format!("market {sym} lacks some of the portfolio's dates")
            })?))
        }
        None => None,
    };
    let names: Vec<String> = symbols.iter().map(|s| s.to_string()).collect();
    let spec = spec(args, &names)?;
    let result = pulse_optimize::build_portfolio(&names, &prices, market.as_ref(), &spec)?;
    let day = |t: &Timestamp| t.to_zoned(TimeZone::UTC).date().to_string();
    let window = Window {
        first: dates.first().map(day).unwrap_or_default(),
        last: dates.last().map(day).unwrap_or_default(),
        rows: dates.len(),
        last_prices: prices.row(prices.nrows() - 1).iter().copied().collect(),
    };
    Ok((result, window))
}

fn result_json(r: &PortfolioResult, w: &Window) -> serde_json::Value {
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
        "window": { "first": w.first, "last": w.last, "rows": w.rows },
    })
}

fn print_result(r: &PortfolioResult, w: &Window) -> anyhow::Result<()> {
    outln!(
        "Prices {}..{} ({} common days); expected returns: {}",
        w.first,
        w.last,
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

/// The largest `portfolio allocate --cash` accepted (10^15, a thousand trillion): whole-share
/// counts stay exact far below it, and a typo such as `1e300` is a usage error, not u64::MAX shares.
const MAX_ALLOCATION_CASH: f64 = 1e15;

async fn allocate(app: &App, args: AllocateArgs) -> anyhow::Result<()> {
    if !(args.cash.is_finite() && args.cash > 0.0) {
        return Err(usage("--cash must be a positive amount"));
    }
    if args.cash > MAX_ALLOCATION_CASH {
        return Err(usage(format!(
            "--cash {}: at most {MAX_ALLOCATION_CASH:e} can be allocated",
            args.cash
        )));
    }
    let (result, window) = optimize(app, &args.optimize).await?;
    let request = AllocationRequest {
        weights: result.weights.clone(),
        prices: window.last_prices.clone(),
        lot_sizes: Vec::new(),
        total_value: args.cash,
    };
    let allocation = if args.exact {
        pulse_optimize::exact_allocation(&request)
    } else {
        pulse_optimize::greedy_allocation(&request)
    }
    .map_err(|e| match e {
        // Cash that would buy more than 2^53 shares of a very cheap asset.
        pulse_optimize::OptimizeError::InvalidParameter {
            name: "total_value",
            ..
        } => usage(format!("--cash {}: {e}", args.cash)),
        e => e.into(),
    })?;
    if app.json {
        let shares: serde_json::Map<String, serde_json::Value> = result
            .symbols
            .iter()
            .zip(&allocation.shares)
            .filter(|(_, q)| **q > 0)
            .map(|(s, q)| (s.clone(), (*q).into()))
            .collect();
        return print_json(&serde_json::json!({
            "shares": shares,
            "leftover": allocation.leftover,
            "objective": allocation.objective,
            "method": if args.exact { "exact" } else { "greedy" },
            "prices_as_of": window.last,
            "portfolio": result_json(&result, &window),
        }));
    }
    print_result(&result, &window)?;
    outln!(
        "Whole shares for {:.2} at the {} closes ({}):",
        args.cash,
        window.last,
        if args.exact { "exact" } else { "greedy" }
    )?;
    let rows: Vec<Vec<String>> = result
        .symbols
        .iter()
        .zip(allocation.shares.iter().zip(&window.last_prices))
        .filter(|(_, (q, _))| **q > 0)
        .map(|(s, (q, p))| {
            vec![
                s.clone(),
                q.to_string(),
                format!("{p:.2}"),
                format!("{:.2}", *q as f64 * p),
            ]
        })
        .collect();
    print_table(&["symbol", "shares", "price", "value"], &rows)?;
    outln!("Leftover cash {:.2}", allocation.leftover)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Walk-forward portfolio backtest
// ------------------------------------------------------------------------------------------

use crate::cli::PortfolioBacktestArgs;
use crate::commands::backtest::{decimal, fmt_opt};
use pulse_app::backtest::{
    Evaluated, RiskFreeChoice, analyse, date_of, equity_series, metrics_row,
};
use pulse_backtest::{AlignedData, BacktestConfig};
use pulse_core::Portfolio;
use pulse_engine::{CostModel, EngineConfig};
use pulse_report::{BacktestReport, SampleLabel, WeightsSeries};
use pulse_strategy::portfolio::{PortfolioStrategy, Schedule};

/// The eight strategies of SPEC §5, in report order: name, method, and whether expected
/// returns come from the forecaster (until the forecasting issue lands: the EWMA estimate, span
/// 180 days, named as such in the output). Min-vol and HRP do not use expected returns, so their
/// forecast variants differ from the base only through the reported expected return.
const PRESETS: [&str; 8] = [
    "min-vol",
    "max-sharpe",
    "hrp",
    "blend",
    "min-vol-forecast",
    "max-sharpe-forecast",
    "hrp-forecast",
    "blend-forecast",
];

fn preset(name: &str, rf: f64) -> anyhow::Result<PortfolioSpec> {
    let (base, forecast) = match name.strip_suffix("-forecast") {
        Some(b) => (b, true),
        None => (name, false),
    };
    let method = match base {
        "min-vol" => Method::MinVolatility,
        "max-sharpe" => Method::MaxSharpe,
        "hrp" => Method::Hrp {
            linkage: Linkage::Single,
        },
        "blend" => Method::Blend {
            alpha: 0.5,
            linkage: Linkage::Single,
        },
        "inverse-vol" => Method::InverseVolatility,
        "erc" => Method::EqualRiskContribution,
        "equal" => Method::EqualWeight,
        other => {
            return Err(usage(format!(
                "unknown strategy {other:?}: expected one of {} or inverse-vol, erc, equal",
                PRESETS.join(", ")
            )));
        }
    };
    let returns = if forecast {
        ReturnModel::Ema {
            span: 180.0,
            compounding: true,
        }
    } else {
        ReturnModel::MeanHistorical { compounding: true }
    };
    let risk = if matches!(method, Method::Hrp { .. }) {
        RiskModel::Sample
    } else {
        RiskModel::LedoitWolf
    };
    let mut spec = PortfolioSpec::new(method, returns, risk);
    spec.rf = rf;
    Ok(spec)
}

/// `pulse portfolio backtest`
pub async fn backtest(app: &App, args: PortfolioBacktestArgs) -> anyhow::Result<()> {
    let opt_args = OptimizeArgs {
        symbols: args.symbols.clone(),
        universe: args.universe.clone(),
        from: None,
        to: None,
        method: MethodArg::Equal,
        returns: ReturnsArg::Mean,
        risk: RiskArg::Sample,
        target: None,
        max_weight: None,
        min_weight: None,
        groups: Vec::new(),
        turnover_limit: None,
        current_weights: None,
        l2: None,
        rf: args.rf,
        span: 500,
        market: None,
        linkage: LinkageArg::Single,
        alpha: 0.5,
        risk_aversion: 1.0,
    };
    let symbols = universe(&opt_args)?;
    let names: Vec<String> = if args.strategies.trim() == "all" {
        PRESETS.iter().map(|s| s.to_string()).collect()
    } else {
        args.strategies
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let schedule = match args.rebalance.as_str() {
        "monthly" => Schedule::Monthly,
        "weekly" => Schedule::Weekly,
        other => {
            return Err(usage(format!(
                "--rebalance {other:?}: expected monthly or weekly"
            )));
        }
    };
    if args.lookback < 20 {
        return Err(usage("--lookback must be at least 20 days"));
    }
    let store = app.store().await?;
    let mut traded = BTreeMap::new();
    for s in &symbols {
        let bars = crate::commands::load_series(&store, s, Timeframe::D1, None, None).await?;
        if bars.is_empty() {
            bail!("no daily bars for {s} (import it with `pulse data import`)");
        }
        traded.insert(s.clone(), bars);
    }
    let data = AlignedData::new(traded, BTreeMap::new(), &[]);
    // The first step with `lookback` common dates behind it.
    let common: Vec<usize> = (0..data.timeline.len())
        .filter(|&i| data.bars.values().all(|col| col[i].is_some()))
        .collect();
    let Some(&first_eval) = common.get(args.lookback) else {
        bail!(
            "the symbols share only {} dates: fewer than --lookback {}",
            common.len(),
            args.lookback
        );
    };
    let mut config = BacktestConfig {
        engine: EngineConfig {
            costs: CostModel {
                commission_rate: decimal("--commission", &args.commission)?,
                ..CostModel::default()
            },
            ..EngineConfig::default()
        },
        start: data.timeline.get(first_eval).copied(),
        ..BacktestConfig::default()
    };
    if let Some(from) = &args.from {
        let ts = parse_instant(from, false, "--from")?;
        if data.index_at_or_after(ts) < first_eval {
            bail!(
                "--from {from} is too early: the first full {}-day window ends {}",
                args.lookback,
                date_of(data.timeline[first_eval], Timeframe::D1)
            );
        }
        config.start = Some(ts);
    }
    config.end = args
        .to
        .as_deref()
        .map(|s| parse_instant(s, true, "--to"))
        .transpose()?;
    let cash = decimal("--cash", &args.cash)?;
    let rf = RiskFreeChoice::Constant(args.rf);
    let mut runs: Vec<Evaluated> = Vec::new();
    let mut failures = Vec::new();
    for name in &names {
        let spec = preset(name, args.rf)?;
        let strategy =
            PortfolioStrategy::new(name.clone(), symbols.clone(), spec, args.lookback, schedule);
        let mut failed = Vec::new();
        let result =
            pulse_backtest::run(&data, strategy, Portfolio::with_cash(cash), &config, |_| {})?;
        failed.append(&mut failures_of(&result));
        failures.extend(failed.into_iter().map(|f| format!("{name}: {f}")));
        runs.push(analyse(result, pulse_core::Periodicity::Daily, &rf)?);
    }
    if let Some(path) = &args.report {
        let mut report = portfolio_report(&runs, &symbols, &args, &failures)?;
        report.frontier = last_window_frontier(&data, &runs, &symbols, &args)?;
        pulse_report::write_html(path, &report)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if app.json {
        let out: Vec<serde_json::Value> = runs
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.result.strategy,
                    "metrics": e.analysis.metrics,
                    "nav": e.result.equity,
                    "fees_paid": e.result.fees_paid,
                    "rebalances": e.result.fills.iter().map(|f| f.ts).collect::<std::collections::BTreeSet<_>>().len(),
                })
            })
            .collect();
        let dates: Vec<String> = runs
            .first()
            .map(|e| {
                e.result
                    .timestamps
                    .iter()
                    .map(|t| date_of(*t, Timeframe::D1))
                    .collect()
            })
            .unwrap_or_default();
        return print_json(
            &serde_json::json!({ "dates": dates, "strategies": out, "notes": failures }),
        );
    }
    let first = &runs[0].result;
    outln!(
        "{} symbols, {} to {} ({} days), lookback {} days, {} rebalancing, {} commission; forecast = EWMA(180d) stand-in",
        symbols.len(),
        date_of(first.timestamps[0], Timeframe::D1),
        date_of(
            *first.timestamps.last().unwrap_or(&first.timestamps[0]),
            Timeframe::D1
        ),
        first.timestamps.len(),
        args.lookback,
        args.rebalance,
        args.commission
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
                format!("{:.2}", pulse_core::money::money_to_f64(e.result.fees_paid)),
            ]
        })
        .collect();
    print_table(
        &[
            "strategy",
            "final NAV",
            "CAGR",
            "volatility",
            "Sharpe",
            "max DD",
            "fees",
        ],
        &rows,
    )?;
    for f in failures.iter().take(5) {
        outln!("note: {f}")?;
    }
    if let Some(path) = &args.report {
        outln!("Report: {}", path.display())?;
    }
    Ok(())
}

/// Calendar period of a decision date under `--rebalance` (a new period = a rebalance).
fn period_of(ts: Timestamp, rebalance: &str) -> (i16, i16) {
    let date = ts.to_zoned(TimeZone::UTC).date();
    if rebalance == "weekly" {
        let w = date.iso_week_date();
        (w.year(), i16::from(w.week()))
    } else {
        (date.year(), i16::from(date.month()))
    }
}

/// Number of efficient-return targets swept for the report's frontier.
const FRONTIER_TARGETS: usize = 25;

/// The efficient frontier of the run's LAST estimation window: the trailing `--lookback` common
/// closes up to the last rebalance decision (the latest data the strategies optimized on).
/// Mean historical (geometric) returns + Ledoit-Wolf, long only; efficient-return at
/// [`FRONTIER_TARGETS`] targets from the min-vol return to the largest asset return (infeasible
/// targets skipped). Each strategy's final target weights are placed under the same μ/Σ.
fn last_window_frontier(
    data: &AlignedData,
    runs: &[Evaluated],
    symbols: &[Symbol],
    args: &PortfolioBacktestArgs,
) -> anyhow::Result<Option<pulse_report::FrontierChart>> {
    let Some(first) = runs.first() else {
        return Ok(None);
    };
    let ts = &first.result.timestamps;
    if ts.is_empty() {
        return Ok(None);
    }
    // The last decision: the first step of the last calendar period of the run.
    let decision = ts
        .windows(2)
        .rev()
        .find(|w| period_of(w[0], &args.rebalance) != period_of(w[1], &args.rebalance))
        .map_or(ts[0], |w| w[1]);
    let common: Vec<usize> = (0..data.timeline.len())
        .filter(|&i| data.timeline[i] <= decision)
        .filter(|&i| data.bars.values().all(|col| col[i].is_some()))
        .collect();
    if common.len() < args.lookback {
        return Ok(None);
    }
    let window = &common[common.len() - args.lookback..];
    let n = symbols.len();
    let mut prices = DMatrix::<f64>::zeros(window.len(), n);
    for (j, s) in symbols.iter().enumerate() {
        let col = data
            .bars
            .get(s)
            .with_context(|| format!("no aligned bars for {s}"))?;
        for (i, &k) in window.iter().enumerate() {
            let bar = col[k]
                .as_ref()
                .with_context(|| format!("{s} lacks a bar in the frontier window"))?;
            prices[(i, j)] = bar.analysis_close();
        }
    }
    let periodicity = pulse_core::Periodicity::Daily;
    let returns = pulse_optimize::returns_from_prices(&prices)?;
    let mu = pulse_optimize::mean_historical_return(&returns, true, periodicity)?;
    let cov = pulse_optimize::ledoit_wolf(&returns, periodicity)?.cov;
    let constraints = Constraints::long_only(n);
    let perf = |w: &DVector<f64>| -> (f64, f64) {
        let var = (w.transpose() * &cov * w)[(0, 0)];
        (var.max(0.0).sqrt(), mu.dot(w))
    };
    let min_vol = pulse_optimize::optimize_mvo(
        None,
        &cov,
        &pulse_optimize::Objective::MinVolatility,
        &constraints,
    )?;
    let (_, r_min) = perf(&min_vol.weights);
    let r_max = mu.max();
    let mut points = vec![perf(&min_vol.weights)];
    for k in 1..FRONTIER_TARGETS {
        let target = r_min + (r_max - r_min) * k as f64 / (FRONTIER_TARGETS - 1) as f64;
        // Infeasible or numerically failing targets (the top end) are skipped.
        if let Ok(sol) = pulse_optimize::optimize_mvo(
            Some(&mu),
            &cov,
            &pulse_optimize::Objective::EfficientReturn {
                target_return: target,
            },
            &constraints,
        ) {
            points.push(perf(&sol.weights));
        }
    }
    points.sort_by(|a, b| a.1.total_cmp(&b.1));
    let portfolios = runs
        .iter()
        .filter_map(|e| {
            let k = e.result.symbols.len();
            let last = e.result.target_weights.len().checked_sub(k)?;
            // Columns follow `result.symbols`; map them onto the frontier's symbol order.
            let w = DVector::from_iterator(
                n,
                symbols.iter().map(|s| {
                    e.result
                        .symbols
                        .iter()
                        .position(|x| x == s)
                        .map_or(0.0, |j| e.result.target_weights[last + j])
                }),
            );
            let (volatility, expected_return) = perf(&w);
            Some(pulse_report::MarkedPortfolio {
                name: e.result.strategy.clone(),
                volatility,
                expected_return,
            })
        })
        .collect();
    Ok(Some(pulse_report::FrontierChart {
        description: format!(
            "Estimated on the last window the strategies optimized on: {} daily closes {}..{} (mean historical returns, Ledoit-Wolf covariance, long only); markers use each strategy's final target weights.",
            window.len(),
            date_of(data.timeline[window[0]], Timeframe::D1),
            date_of(data.timeline[window[window.len() - 1]], Timeframe::D1)
        ),
        points,
        portfolios,
    }))
}

/// Orders the simulated broker reduced, summarized: buys sized at the decision close that no
/// longer fit the cash at the next open.
fn failures_of(r: &pulse_backtest::BacktestResult) -> Vec<String> {
    if r.rejections.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{} buy order(s) trimmed to the cash available at the fill price (prices moved between decision and fill)",
        r.rejections.len()
    )]
}

fn portfolio_report(
    runs: &[Evaluated],
    symbols: &[Symbol],
    args: &PortfolioBacktestArgs,
    notes: &[String],
) -> anyhow::Result<BacktestReport> {
    let first = &runs[0].result;
    let dates: Vec<String> = first
        .timestamps
        .iter()
        .map(|t| date_of(*t, Timeframe::D1))
        .collect();
    let k = first.symbols.len().max(1);
    let rows = |flat: &[f64]| -> Vec<Vec<f64>> { flat.chunks(k).map(<[f64]>::to_vec).collect() };
    let mut all_notes = vec![format!(
        "Walk-forward: each strategy re-optimizes {} on the trailing {} daily closes it has seen and trades at the next open with {} commission. Weights shown: {}.",
        args.rebalance, args.lookback, args.commission, first.strategy
    )];
    all_notes.extend(notes.iter().cloned());
    Ok(BacktestReport {
        title: format!(
            "Portfolio walk-forward: {} strategies over {} assets",
            runs.len(),
            symbols.len()
        ),
        generated_for: format!(
            "{} {}..{}",
            symbols
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
            dates.first().cloned().unwrap_or_default(),
            dates.last().cloned().unwrap_or_default()
        ),
        sample_label: SampleLabel::OutOfSample,
        notes: all_notes,
        config_toml: format!(
            "strategies = {:?}\nrebalance = {:?}\nlookback = {}\ncommission = {:?}\nrf = {}\n",
            args.strategies, args.rebalance, args.lookback, args.commission, args.rf
        ),
        initial_cash: runs[0].analysis.metrics.initial_equity.unwrap_or(0.0),
        currency: "USD".into(),
        series: equity_series(runs, Timeframe::D1),
        metrics: runs.iter().map(metrics_row).collect(),
        metric_catalogue: pulse_report::default_metric_catalogue(),
        weights: WeightsSeries {
            dates: dates.clone(),
            symbols: first.symbols.iter().map(|s| s.to_string()).collect(),
            target: rows(&first.target_weights),
            actual: rows(&first.actual_weights),
        },
        prices: Vec::new(),
        monthly_returns: pulse_report::monthly_returns(&dates, &first.equity)?,
        trades: Vec::new(),
        alerts: Vec::new(),
        frontier: None,
        sweep: None,
    })
}
