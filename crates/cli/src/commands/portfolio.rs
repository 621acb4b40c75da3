//! `pulse portfolio optimize` and `pulse portfolio allocate`.

use crate::app::{App, usage};
use crate::cli::{
    AllocateArgs, LinkageArg, MethodArg, OptimizeArgs, PortfolioCommand, ReturnsArg, RiskArg,
};
use crate::commands::{parse_instant, parse_symbols};
use crate::output::{print_json, print_table};
use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use pulse_core::ports::{BarPager, BarQuery};
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
        let mut pager = BarPager::new(
            BarQuery {
                symbol: s.clone(),
                timeframe: Timeframe::D1,
                start,
                end,
            },
            10_000,
        );
        let mut col = BTreeMap::new();
        while let Some(chunk) = pager.next_chunk(store).await? {
            col.extend(chunk.iter().map(|b| (b.ts, b.analysis_close())));
        }
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

fn spec(args: &OptimizeArgs, n: usize) -> anyhow::Result<PortfolioSpec> {
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
    if let Some(cap) = args.max_weight {
        spec.constraints = Some(Constraints::long_only(n).with_max_weight(cap));
    }
    Ok(spec)
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
    let spec = spec(args, symbols.len())?;
    let names: Vec<String> = symbols.iter().map(|s| s.to_string()).collect();
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
    println!(
        "Prices {}..{} ({} common days); expected returns: {}",
        w.first, w.last, w.rows, r.return_source
    );
    let rows: Vec<Vec<String>> = r
        .symbols
        .iter()
        .zip(&r.weights)
        .filter(|(_, x)| x.abs() >= 5e-5)
        .map(|(s, x)| vec![s.clone(), format!("{:.2}%", x * 100.0)])
        .collect();
    print_table(&["symbol", "weight"], &rows)?;
    println!(
        "Expected annual return {:.2}%, volatility {:.2}%, Sharpe {:.3}",
        r.expected_return * 100.0,
        r.volatility * 100.0,
        r.sharpe
    );
    for warning in &r.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}

async fn allocate(app: &App, args: AllocateArgs) -> anyhow::Result<()> {
    if !(args.cash.is_finite() && args.cash > 0.0) {
        return Err(usage("--cash must be a positive amount"));
    }
    let (result, window) = optimize(app, &args.optimize).await?;
    let request = AllocationRequest {
        weights: result.weights.clone(),
        prices: window.last_prices.clone(),
        lot_sizes: Vec::new(),
        total_value: args.cash,
    };
    let allocation = if args.exact {
        pulse_optimize::exact_allocation(&request)?
    } else {
        pulse_optimize::greedy_allocation(&request)?
    };
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
    println!(
        "Whole shares for {:.2} at the {} closes ({}):",
        args.cash,
        window.last,
        if args.exact { "exact" } else { "greedy" }
    );
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
    println!("Leftover cash {:.2}", allocation.leftover);
    Ok(())
}
