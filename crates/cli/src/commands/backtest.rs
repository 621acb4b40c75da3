//! `pulse backtest`, `pulse simulate`, `pulse strategy show`, `pulse runs`.

use crate::app::{App, usage};
use crate::cli::{BacktestArgs, FillArg, RunArgs, RunsArgs, SimulateArgs, StrategyCommand};
use crate::commands::{parse_instant, parse_timeframe};
use crate::output::{print_json, print_table};
use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use pulse_analytics::{Analysis, FillRecord, Metrics, PerformanceInput, RiskFree, SearchMetrics};
use pulse_backtest::runner::StepReport;
use pulse_backtest::{AlignedData, BacktestConfig, BacktestResult, FillPrice};
use pulse_core::money::money_to_f64;
use pulse_core::ports::{AlertRecord, Clock, Notifier, RunRecord, Store};
use pulse_core::{Periodicity, Portfolio, Side, Symbol, Timeframe, WallClock};
use pulse_engine::{CostModel, EngineConfig, SizingConfig};
use pulse_report::{
    AlertRow, BacktestReport, EquitySeries, MetricCell, MetricsRow, PriceSeries, SampleLabel,
    TradeMarker, TradeRow, TradeSide, WeightsSeries,
};
use pulse_strategy::Strategy;
use pulse_strategy::fixed::{FixedWeights, Rebalance};
use pulse_strategy::pulse::{DEFAULT_TOML, PulseConfig, PulseStrategy};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use store_sqlite::SqliteStore;

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
            print!("{DEFAULT_TOML}");
            Ok(())
        }
    }
}

/// The market of one run: aligned data of the two legs and the mood series.
pub(crate) struct Market {
    pub(crate) data: AlignedData,
    pub(crate) irx: Vec<(Timestamp, f64)>,
}

async fn load_market(
    store: &SqliteStore,
    cfg: &PulseConfig,
    timeframe: Timeframe,
) -> anyhow::Result<Market> {
    let s = &cfg.symbols;
    let mut traded = BTreeMap::new();
    let mut actions = Vec::new();
    for symbol in [&s.base, &s.leveraged] {
        let mut bars = crate::commands::load_series(store, symbol, timeframe, None, None).await?;
        if timeframe.is_intraday() {
            // Trade only inside exchange sessions: bars stamped outside one (an end-labelled
            // import, extended hours) are dropped, so no decision or fill happens there.
            let exchange = store.instrument(symbol).await?.map_or_else(
                || pulse_core::Instrument::infer(symbol).exchange,
                |i| i.exchange,
            );
            let cal = pulse_core::calendar::calendar(exchange);
            bars.retain(|b| matches!(cal.session_at(b.ts), Ok(Some(_))));
        }
        if bars.is_empty() {
            bail!(
                "no {timeframe} bars for {symbol} in the store: import them (`pulse data import`) or run `pulse data seed`"
            );
        }
        traded.insert(symbol.clone(), bars);
        actions.extend(store.corporate_actions(symbol).await?);
    }
    let mut context = BTreeMap::new();
    for symbol in [&s.vix, &s.fear_greed] {
        let bars = crate::commands::load_series(store, symbol, Timeframe::D1, None, None).await?;
        if !bars.is_empty() {
            context.insert(symbol.clone(), bars);
        }
    }
    let mut irx = Vec::new();
    for name in ["IRX", "^IRX"] {
        let sym = Symbol::try_new(name)?;
        let bars = crate::commands::load_series(store, &sym, Timeframe::D1, None, None).await?;
        if !bars.is_empty() {
            irx = bars.iter().map(|b| (b.ts, b.close)).collect();
            break;
        }
    }
    Ok(Market {
        data: AlignedData::new(traded, context, &actions),
        irx,
    })
}

pub(crate) fn decimal(flag: &str, s: &str) -> anyhow::Result<Decimal> {
    Decimal::from_str(s.trim()).map_err(|_| usage(format!("{flag} {s:?} is not a decimal number")))
}

fn strategy_config(run: &RunArgs) -> anyhow::Result<(PulseConfig, String)> {
    match &run.strategy_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let cfg =
                PulseConfig::from_toml(&text).with_context(|| format!("{}", path.display()))?;
            Ok((cfg, text))
        }
        None => Ok((PulseConfig::default_config()?, DEFAULT_TOML.to_string())),
    }
}

fn backtest_config(run: &RunArgs, price_dp: u32) -> anyhow::Result<BacktestConfig> {
    let commission = decimal("--commission", &run.commission)?;
    if commission < Decimal::ZERO || commission >= Decimal::ONE {
        return Err(usage("--commission must be a fraction in [0, 1)"));
    }
    if !(run.drift_band.is_finite() && (0.0..1.0).contains(&run.drift_band)) {
        return Err(usage("--drift-band must be a fraction in [0, 1)"));
    }
    Ok(BacktestConfig {
        engine: EngineConfig {
            sizing: SizingConfig {
                whole_shares: !run.fractional,
                fractional_dp: 6,
                drift_band: run.drift_band,
                min_trade_value: decimal("--min-trade", &run.min_trade)?,
            },
            costs: CostModel {
                commission_rate: commission,
                min_fee: decimal("--min-fee", &run.min_fee)?,
                slippage_bps: decimal("--slippage-bps", &run.slippage_bps)?,
            },
            alert_threshold: run.alert_threshold,
            allow_negative_cash: false,
        },
        fill_price: match run.fill {
            FillArg::NextOpen => FillPrice::NextOpen,
            FillArg::NextClose => FillPrice::NextClose,
            FillArg::NextTypical => FillPrice::NextTypical,
        },
        price_dp,
        start: None,
        end: None,
    })
}

/// Starting account and the earliest date the run may start (after the trade history).
fn starting_account(run: &RunArgs) -> anyhow::Result<(Portfolio, Option<Timestamp>, String)> {
    let cash = decimal("--cash", &run.cash)?;
    if cash < Decimal::ZERO {
        return Err(usage("--cash must not be negative"));
    }
    match &run.trades {
        None => Ok((Portfolio::with_cash(cash), None, format!("{cash} cash"))),
        Some(path) => {
            let r = pulse_backtest::history::reconstruct(path, cash, false)?;
            let after = r
                .last_date
                .map(|d| -> anyhow::Result<Timestamp> {
                    Ok(d.tomorrow()?.to_zoned(TimeZone::UTC)?.timestamp())
                })
                .transpose()?;
            Ok((
                r.portfolio,
                after,
                format!("{} trades from {}", r.trades, path.display()),
            ))
        }
    }
}

/// The four strategies of every run: Pulse and the three benchmarks.
fn strategies(cfg: &PulseConfig) -> anyhow::Result<Vec<Box<dyn Strategy>>> {
    let (a, b) = (cfg.symbols.base.clone(), cfg.symbols.leveraged.clone());
    Ok(vec![
        Box::new(PulseStrategy::try_new(cfg.clone())?),
        Box::new(FixedWeights::new(
            format!("Buy & hold {a}"),
            BTreeMap::from([(a.clone(), 1.0)]),
            Rebalance::Never,
        )),
        Box::new(FixedWeights::new(
            format!("Buy & hold {b}"),
            BTreeMap::from([(b.clone(), 1.0)]),
            Rebalance::Never,
        )),
        Box::new(FixedWeights::new(
            format!("50/50 {a}/{b} monthly"),
            BTreeMap::from([(a, 0.5), (b, 0.5)]),
            Rebalance::Monthly,
        )),
    ])
}

pub(crate) fn fill_records(r: &BacktestResult) -> Vec<FillRecord> {
    r.fills
        .iter()
        .map(|f| fill_record(f.ts, &f.symbol, f.side, f.quantity, f.price, f.fee))
        .collect()
}

/// One booked fill as the analytics' record (f64 amounts for trade statistics).
pub(crate) fn fill_record(
    ts: Timestamp,
    symbol: &Symbol,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
) -> FillRecord {
    FillRecord {
        ts,
        symbol: symbol.to_string(),
        side: match side {
            Side::Buy => pulse_analytics::Side::Buy,
            Side::Sell => pulse_analytics::Side::Sell,
        },
        quantity: money_to_f64(quantity),
        price: money_to_f64(price),
        fee: money_to_f64(fee),
    }
}

fn periodicity(timeframe: Timeframe) -> Periodicity {
    match timeframe {
        Timeframe::D1 => Periodicity::Daily,
        tf => Periodicity::Intraday {
            minutes: (tf.seconds() / 60) as u32,
            session_minutes: 390,
        },
    }
}

/// The outcome of one strategy in a run.
pub(crate) struct Evaluated {
    pub(crate) result: BacktestResult,
    pub(crate) analysis: Analysis,
}

pub(crate) fn analyse(
    r: BacktestResult,
    timeframe: Timeframe,
    rf: &RiskFreeChoice,
) -> anyhow::Result<Evaluated> {
    let fills = fill_records(&r);
    let analysis = analysis_of(
        &r.strategy,
        &SeriesRef {
            timestamps: &r.timestamps,
            equity: &r.equity,
            gross_exposure: &r.gross_exposure,
            fills: &fills,
        },
        timeframe,
        rf,
    )?;
    Ok(Evaluated {
        result: r,
        analysis,
    })
}

/// The series a run's metrics are computed from.
pub(crate) struct SeriesRef<'a> {
    pub(crate) timestamps: &'a [Timestamp],
    pub(crate) equity: &'a [f64],
    pub(crate) gross_exposure: &'a [f64],
    pub(crate) fills: &'a [FillRecord],
}

/// The risk-free rate of a run's analysis: the series for `timestamps` is built into `slot`.
fn risk_free_for<'a>(
    timestamps: &[Timestamp],
    timeframe: Timeframe,
    rf: &RiskFreeChoice,
    slot: &'a mut Option<Vec<f64>>,
) -> RiskFree<'a> {
    match rf {
        RiskFreeChoice::Constant(x) => RiskFree::AnnualConstant(*x),
        RiskFreeChoice::Zero => RiskFree::Zero,
        RiskFreeChoice::Irx(irx) => {
            *slot =
                pulse_analytics::rf_series_from_yield_pct(timestamps, irx, periodicity(timeframe));
            match slot {
                Some(v) => RiskFree::PerPeriod(v),
                None => RiskFree::Zero,
            }
        }
    }
}

/// Metrics of one run (`name` labels errors) under the run's risk-free choice.
fn analysis_of(
    name: &str,
    s: &SeriesRef<'_>,
    timeframe: Timeframe,
    rf: &RiskFreeChoice,
) -> anyhow::Result<Analysis> {
    let mut slot = None;
    Analysis::compute(&PerformanceInput {
        timestamps: s.timestamps,
        equity: s.equity,
        periodicity: periodicity(timeframe),
        risk_free: risk_free_for(s.timestamps, timeframe, rf, &mut slot),
        fills: s.fills,
        gross_exposure: Some(s.gross_exposure),
    })
    .with_context(|| format!("metrics of {name}"))
}

/// The figures a sweep ranks trials by (equal to [`analysis_of`]'s), with the per-period returns
/// left in `returns`.
pub(crate) fn search_metrics(
    s: &SeriesRef<'_>,
    p: &Prepared,
    with_trades: bool,
    returns: &mut Vec<f64>,
) -> anyhow::Result<SearchMetrics> {
    let mut slot = None;
    SearchMetrics::compute(
        &PerformanceInput {
            timestamps: s.timestamps,
            equity: s.equity,
            periodicity: periodicity(p.timeframe),
            risk_free: risk_free_for(s.timestamps, p.timeframe, &p.rf, &mut slot),
            fills: s.fills,
            gross_exposure: Some(s.gross_exposure),
        },
        with_trades,
        returns,
    )
    .context("metrics of Pulse")
}

pub(crate) enum RiskFreeChoice {
    Zero,
    Constant(f64),
    Irx(Vec<(Timestamp, f64)>),
}

impl RiskFreeChoice {
    pub(crate) fn describe(&self) -> String {
        match self {
            RiskFreeChoice::Zero => {
                "risk-free rate 0 (no ^IRX series in the store; pass --rf to set one)".into()
            }
            RiskFreeChoice::Constant(x) => format!("risk-free rate {:.2}% p.a. (--rf)", x * 100.0),
            RiskFreeChoice::Irx(_) => {
                "risk-free rate from the stored ^IRX 13-week T-bill yield".into()
            }
        }
    }
}

pub(crate) fn date_of(ts: Timestamp, timeframe: Timeframe) -> String {
    if timeframe == Timeframe::D1 {
        ts.to_zoned(TimeZone::UTC).date().to_string()
    } else {
        ts.to_string()
    }
}

/// Everything shared by backtest and simulate: the run's inputs, resolved.
pub(crate) struct Prepared {
    pub(crate) cfg: PulseConfig,
    pub(crate) cfg_text: String,
    pub(crate) timeframe: Timeframe,
    pub(crate) market: Market,
    pub(crate) config: BacktestConfig,
    pub(crate) account: Portfolio,
    pub(crate) account_note: String,
    pub(crate) rf: RiskFreeChoice,
    pub(crate) first_eval: usize,
}

pub(crate) async fn prepare(store: &SqliteStore, run: &RunArgs) -> anyhow::Result<Prepared> {
    let (cfg, cfg_text) = strategy_config(run)?;
    let timeframe = parse_timeframe(&run.timeframe)?;
    let market = load_market(store, &cfg, timeframe).await?;
    let price_dp = match store
        .instrument(&cfg.symbols.base)
        .await?
        .map(|i| i.currency)
    {
        Some(pulse_core::Currency::Usdt) => 8,
        _ => 2,
    };
    let mut config = backtest_config(run, price_dp)?;
    let (account, after, account_note) = starting_account(run)?;
    let warmup = PulseStrategy::try_new(cfg.clone())?.warmup_bars();
    // First step where both legs have `warmup` bars behind them.
    let first_common = market.data.first_common_index();
    let mut first_eval = (first_common + warmup).min(market.data.timeline.len().saturating_sub(1));
    if let Some(after) = after {
        first_eval = first_eval.max(market.data.index_at_or_after(after));
    }
    config.start = market.data.timeline.get(first_eval).copied();
    let rf = match (run.rf, market.irx.is_empty()) {
        (Some(x), _) => RiskFreeChoice::Constant(x),
        (None, false) => RiskFreeChoice::Irx(market.irx.clone()),
        (None, true) => RiskFreeChoice::Zero,
    };
    Ok(Prepared {
        cfg,
        cfg_text,
        timeframe,
        market,
        config,
        account,
        account_note,
        rf,
        first_eval,
    })
}

pub(crate) fn run_all(
    p: &Prepared,
    mut on_pulse_step: impl FnMut(&StepReport<'_>),
) -> anyhow::Result<Vec<Evaluated>> {
    let mut out = Vec::new();
    for (i, strategy) in strategies(&p.cfg)?.into_iter().enumerate() {
        let r = if i == 0 {
            pulse_backtest::run(
                &p.market.data,
                strategy,
                p.account.clone(),
                &p.config,
                &mut on_pulse_step,
            )?
        } else {
            pulse_backtest::run(
                &p.market.data,
                strategy,
                p.account.clone(),
                &p.config,
                |_| {},
            )?
        };
        out.push(analyse(r, p.timeframe, &p.rf)?);
    }
    Ok(out)
}

/// The report's side of an order side (pulse-report does not depend on pulse-core).
pub(crate) fn trade_side(side: Side) -> TradeSide {
    match side {
        Side::Buy => TradeSide::Buy,
        Side::Sell => TradeSide::Sell,
    }
}

/// One report equity curve per evaluated run, dated at `timeframe`.
pub(crate) fn equity_series(runs: &[Evaluated], timeframe: Timeframe) -> Vec<EquitySeries> {
    runs.iter()
        .map(|e| EquitySeries {
            name: e.result.strategy.clone(),
            dates: e
                .result
                .timestamps
                .iter()
                .map(|t| date_of(*t, timeframe))
                .collect(),
            equity: e.result.equity.clone(),
        })
        .collect()
}

/// The report's metrics table row of one evaluated run.
pub(crate) fn metrics_row(e: &Evaluated) -> MetricsRow {
    MetricsRow {
        name: e.result.strategy.clone(),
        values: metric_cells(e),
    }
}

fn metric_cells(e: &Evaluated) -> Vec<MetricCell> {
    let m: &Metrics = &e.analysis.metrics;
    let dd_period = match (m.max_drawdown_peak, m.max_drawdown_trough) {
        (Some(a), Some(b)) => {
            let d = |t: Timestamp| t.to_zoned(TimeZone::UTC).date().to_string();
            let rec = m
                .max_drawdown_recovery
                .map(|t| format!("recovered {}", d(t)));
            format!(
                "{} → {}, {}",
                d(a),
                d(b),
                rec.unwrap_or_else(|| "not recovered".into())
            )
        }
        _ => "—".into(),
    };
    vec![
        MetricCell::number("total_return", m.total_return),
        MetricCell::number("cagr", m.cagr),
        MetricCell::number("volatility", m.volatility),
        MetricCell::number("sharpe", m.sharpe),
        MetricCell::number("sortino", m.sortino),
        MetricCell::number("max_drawdown", m.max_drawdown),
        MetricCell::text("max_drawdown_period", &dd_period),
        MetricCell::number("calmar", m.calmar),
        MetricCell::number("win_rate", m.win_rate),
        MetricCell::number("profit_factor", m.profit_factor),
        MetricCell::number("expectancy", m.expectancy),
        MetricCell::number("trades", Some(m.fills as f64)),
        MetricCell::number("turnover", m.turnover),
        MetricCell::number("fees", Some(money_to_f64(e.result.fees_paid))),
        MetricCell::number("exposure", m.exposure_mean),
        MetricCell::number("best_day", m.best_period_return),
        MetricCell::number("worst_day", m.worst_period_return),
        MetricCell::number("var_95", m.var_95),
        MetricCell::number("cvar_95", m.cvar_95),
        MetricCell::number("final_equity", m.final_equity),
    ]
}

pub(crate) fn build_report(
    p: &Prepared,
    runs: &[Evaluated],
    sample: SampleLabel,
) -> anyhow::Result<BacktestReport> {
    let tf = p.timeframe;
    let pulse = &runs[0].result;
    let dates: Vec<String> = pulse.timestamps.iter().map(|t| date_of(*t, tf)).collect();
    let symbols = vec![p.cfg.symbols.base.clone(), p.cfg.symbols.leveraged.clone()];
    // Columns of the report's weight matrices, from the result's own symbol order.
    let column: Vec<usize> = symbols
        .iter()
        .map(|s| {
            pulse
                .symbols
                .iter()
                .position(|x| x == s)
                .unwrap_or(usize::MAX)
        })
        .collect();
    let weight_rows = |flat: &[f64]| -> Vec<Vec<f64>> {
        let k = pulse.symbols.len().max(1);
        flat.chunks(k)
            .map(|row| {
                column
                    .iter()
                    .map(|&j| row.get(j).copied().unwrap_or(0.0))
                    .collect()
            })
            .collect()
    };
    let mut prices = Vec::new();
    for s in &symbols {
        let col = &p.market.data.bars[s];
        let mut pd = Vec::new();
        let mut pc = Vec::new();
        for (i, ts) in p.market.data.timeline.iter().enumerate() {
            if *ts < pulse.timestamps[0] || *ts > *pulse.timestamps.last().unwrap_or(ts) {
                continue;
            }
            if let Some(b) = col[i] {
                pd.push(date_of(*ts, tf));
                pc.push(b.close);
            }
        }
        let markers = pulse
            .fills
            .iter()
            .filter(|f| &f.symbol == s)
            .map(|f| TradeMarker {
                date: date_of(f.ts, tf),
                side: trade_side(f.side),
                price: money_to_f64(f.price),
                quantity: money_to_f64(f.quantity),
            })
            .collect();
        prices.push(PriceSeries {
            symbol: s.to_string(),
            dates: pd,
            close: pc,
            markers,
        });
    }
    let weights_map = |w: &BTreeMap<Symbol, f64>| -> BTreeMap<String, f64> {
        w.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let mut notes = vec![
        p.rf.describe(),
        format!(
            "Costs: {}% commission per side, {} bps slippage, minimum fee {}; fills at the {}; whole shares: {}.",
            p.config.engine.costs.commission_rate * Decimal::from(100),
            p.config.engine.costs.slippage_bps,
            p.config.engine.costs.min_fee,
            match p.config.fill_price {
                FillPrice::NextOpen => "next bar's open",
                FillPrice::NextClose => "next bar's close",
                FillPrice::NextTypical => "next bar's typical price",
            },
            p.config.engine.sizing.whole_shares
        ),
        format!("Starting account: {}.", p.account_note),
        "Decisions at each close use only data up to that close (VIX and Fear & Greed as of the previous day); orders fill at the next bar.".into(),
    ];
    if !pulse.rejections.is_empty() {
        notes.push(format!(
            "{} order(s) were reduced or rejected by the simulated broker (cash or missing bars).",
            pulse.rejections.len()
        ));
    }
    Ok(BacktestReport {
        title: format!(
            "Pulse backtest: {} + {}",
            p.cfg.symbols.base, p.cfg.symbols.leveraged
        ),
        generated_for: format!(
            "{} + {} {} {}..{}",
            p.cfg.symbols.base,
            p.cfg.symbols.leveraged,
            tf,
            dates.first().cloned().unwrap_or_default(),
            dates.last().cloned().unwrap_or_default()
        ),
        sample_label: sample,
        notes,
        config_toml: p.cfg_text.clone(),
        initial_cash: runs[0].analysis.metrics.initial_equity.unwrap_or(0.0),
        currency: "USD".into(),
        series: equity_series(runs, tf),
        metrics: runs.iter().map(metrics_row).collect(),
        metric_catalogue: pulse_report::default_metric_catalogue(),
        weights: WeightsSeries {
            dates: dates.clone(),
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            target: weight_rows(&pulse.target_weights),
            actual: weight_rows(&pulse.actual_weights),
        },
        prices,
        monthly_returns: pulse_report::monthly_returns(&dates, &pulse.equity)?,
        trades: pulse
            .fills
            .iter()
            .map(|f| TradeRow {
                date: date_of(f.ts, tf),
                symbol: f.symbol.to_string(),
                side: trade_side(f.side),
                quantity: money_to_f64(f.quantity),
                price: money_to_f64(f.price),
                fee: money_to_f64(f.fee),
                notional: money_to_f64(f.notional()),
            })
            .collect(),
        alerts: pulse
            .alerts
            .iter()
            .map(|a| AlertRow {
                date: date_of(a.ts, tf),
                message: a.message.clone(),
                old_weights: weights_map(&a.old),
                new_weights: weights_map(&a.new),
            })
            .collect(),
        frontier: None,
        sweep: None,
    })
}

fn alert_record(a: &pulse_engine::Alert) -> anyhow::Result<AlertRecord> {
    Ok(AlertRecord {
        ts: a.ts,
        strategy: a.strategy.clone(),
        message: a.message.clone(),
        old_weights_json: serde_json::to_string(&a.old)?,
        new_weights_json: serde_json::to_string(&a.new)?,
    })
}

fn alert_records(r: &BacktestResult) -> anyhow::Result<Vec<AlertRecord>> {
    r.alerts.iter().map(alert_record).collect()
}

async fn record(
    store: &SqliteStore,
    kind: &str,
    p: &Prepared,
    runs: &[Evaluated],
    sample: &str,
) -> anyhow::Result<i64> {
    let metrics: BTreeMap<&str, &Metrics> = runs
        .iter()
        .map(|e| (e.result.strategy.as_str(), &e.analysis.metrics))
        .collect();
    let pulse = &runs[0].result;
    let run = RunRecord {
        id: None,
        kind: kind.into(),
        created_at: WallClock.now(),
        strategy: pulse.strategy.clone(),
        sample: sample.into(),
        data_from: *pulse.timestamps.first().context("empty run")?,
        data_to: *pulse.timestamps.last().context("empty run")?,
        config: p.cfg_text.clone(),
        metrics_json: serde_json::to_string(&metrics)?,
        alerts: alert_records(pulse)?,
    };
    Ok(store.record_run(&run).await?)
}

pub(crate) fn fmt_opt(v: Option<f64>, pct: bool) -> String {
    match v {
        None => "—".into(),
        Some(x) if x.is_infinite() => "∞".into(),
        Some(x) if pct => format!("{:.2}%", x * 100.0),
        Some(x) => format!("{x:.2}"),
    }
}

fn print_summary(p: &Prepared, runs: &[Evaluated]) -> anyhow::Result<()> {
    let pulse = &runs[0].result;
    println!(
        "{} + {} {} from {} to {} ({} bars), {}, {}",
        p.cfg.symbols.base,
        p.cfg.symbols.leveraged,
        p.timeframe,
        date_of(pulse.timestamps[0], p.timeframe),
        date_of(
            *pulse.timestamps.last().unwrap_or(&pulse.timestamps[0]),
            p.timeframe
        ),
        pulse.timestamps.len(),
        p.account_note,
        p.rf.describe()
    );
    let mut header = vec!["metric"];
    header.extend(runs.iter().map(|e| e.result.strategy.as_str()));
    type Getter = fn(&Evaluated) -> String;
    let rows: Vec<(&str, Getter)> = vec![
        ("final equity", |e| {
            format!("{:.2}", e.analysis.metrics.final_equity.unwrap_or(0.0))
        }),
        ("total return", |e| {
            fmt_opt(e.analysis.metrics.total_return, true)
        }),
        ("CAGR", |e| fmt_opt(e.analysis.metrics.cagr, true)),
        ("volatility", |e| {
            fmt_opt(e.analysis.metrics.volatility, true)
        }),
        ("Sharpe", |e| fmt_opt(e.analysis.metrics.sharpe, false)),
        ("Sortino", |e| fmt_opt(e.analysis.metrics.sortino, false)),
        ("max drawdown", |e| {
            fmt_opt(e.analysis.metrics.max_drawdown, true)
        }),
        ("Calmar", |e| fmt_opt(e.analysis.metrics.calmar, false)),
        ("win rate", |e| fmt_opt(e.analysis.metrics.win_rate, true)),
        ("profit factor", |e| {
            fmt_opt(e.analysis.metrics.profit_factor, false)
        }),
        ("trades", |e| e.analysis.metrics.fills.to_string()),
        ("fees paid", |e| {
            format!("{:.2}", money_to_f64(e.result.fees_paid))
        }),
        ("exposure", |e| {
            fmt_opt(e.analysis.metrics.exposure_mean, true)
        }),
        ("VaR 95% (1d)", |e| fmt_opt(e.analysis.metrics.var_95, true)),
        ("CVaR 95% (1d)", |e| {
            fmt_opt(e.analysis.metrics.cvar_95, true)
        }),
    ];
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(name, get)| {
            let mut row = vec![name.to_string()];
            row.extend(runs.iter().map(get));
            row
        })
        .collect();
    print_table(&header, &table)?;
    println!(
        "{} alert(s) from Pulse; {} fills.",
        pulse.alerts.len(),
        pulse.fills.len()
    );
    Ok(())
}

#[derive(Serialize)]
struct StrategyJson<'a> {
    name: &'a str,
    metrics: &'a Metrics,
    fees_paid: Decimal,
    traded_notional: Decimal,
    dividends_received: Decimal,
    final_cash: Decimal,
    final_positions: &'a BTreeMap<Symbol, Decimal>,
}

#[derive(Serialize)]
struct BacktestJson<'a> {
    run_id: i64,
    sample: &'a str,
    report: Option<String>,
    strategies: Vec<StrategyJson<'a>>,
    equity: BTreeMap<&'a str, &'a [f64]>,
    dates: Vec<String>,
    weights: &'a WeightsSeries,
    trades: &'a [TradeRow],
    alerts: &'a [AlertRow],
}

/// `pulse backtest`
pub async fn backtest(app: &App, args: BacktestArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let mut p = prepare(&store, &args.run).await?;
    if let Some(from) = &args.from {
        let ts = parse_instant(from, false, "--from")?;
        let i = p.market.data.index_at_or_after(ts);
        if i < p.first_eval {
            bail!(
                "--from {from} is too early: the indicators need history until {} (first evaluable bar)",
                date_of(p.market.data.timeline[p.first_eval], p.timeframe)
            );
        }
        p.config.start = Some(ts);
    }
    if let Some(to) = &args.to {
        p.config.end = Some(parse_instant(to, true, "--to")?);
    }
    let runs = run_all(&p, |_| {})?;
    let sample = "full history";
    let report = build_report(&p, &runs, SampleLabel::FullHistory)?;
    let report_path = if args.no_report {
        None
    } else {
        pulse_report::write_html(&args.report, &report)
            .with_context(|| format!("cannot write the report {}", args.report.display()))?;
        Some(args.report.display().to_string())
    };
    let run_id = record(&store, "backtest", &p, &runs, sample).await?;
    if app.json {
        let out = BacktestJson {
            run_id,
            sample,
            report: report_path,
            strategies: runs
                .iter()
                .map(|e| StrategyJson {
                    name: &e.result.strategy,
                    metrics: &e.analysis.metrics,
                    fees_paid: e.result.fees_paid,
                    traded_notional: e.result.traded_notional,
                    dividends_received: e.result.dividends_received,
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
        };
        return print_json(&out);
    }
    print_summary(&p, &runs)?;
    if let Some(path) = report_path {
        println!("Report: {path}   (run #{run_id}; `pulse runs` lists recorded runs)");
    }
    Ok(())
}

fn parse_span(s: &str) -> anyhow::Result<jiff::Span> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| usage(format!("--last {s:?}: expected e.g. 1y, 6m, 90d")))?;
    Ok(match unit {
        "y" => n.years(),
        "m" => n.months(),
        "w" => n.weeks(),
        "d" => n.days(),
        _ => return Err(usage(format!("--last {s:?}: unit must be y, m, w or d"))),
    })
}

/// `pulse simulate --last 1y`
pub async fn simulate(app: &App, args: SimulateArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let mut p = prepare(&store, &args.run).await?;
    let span = parse_span(&args.last)?;
    let last = *p.market.data.timeline.last().context("no data")?;
    let from = last.to_zoned(TimeZone::UTC).checked_sub(span)?.timestamp();
    let start_idx = p.market.data.index_at_or_after(from).max(p.first_eval);
    p.config.start = p.market.data.timeline.get(start_idx).copied();
    let notifier = args
        .webhook
        .as_deref()
        .map(notify_webhook::WebhookNotifier::new)
        .transpose()?;
    let tf = p.timeframe;
    let quiet = app.json || app.quiet;
    let mut lines: Vec<String> = Vec::new();
    let mut pending_alerts: Vec<pulse_engine::Alert> = Vec::new();
    let runs = run_all(&p, |step| {
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
        for o in step.orders {
            parts.push(format!("order {} {} {}", o.side, o.quantity, o.symbol));
        }
        if let Some(a) = step.alert {
            parts.push(format!("ALERT {}", a.message));
            pending_alerts.push(a.clone());
        }
        let eventful = !step.fills.is_empty() || step.alert.is_some() || !step.orders.is_empty();
        if args.every_day || eventful {
            lines.push(format!(
                "{}  equity {:>12.2}  {}",
                date_of(step.ts, tf),
                step.equity,
                parts.join("; ")
            ));
        }
    })?;
    if !quiet {
        for l in &lines {
            println!("{l}");
        }
    }
    let mut sent = 0;
    if let Some(n) = &notifier {
        for a in &pending_alerts {
            n.notify(&alert_record(a)?).await?;
            sent += 1;
        }
    }
    let run_id = record(&store, "simulate", &p, &runs, "out-of-sample replay").await?;
    if app.json {
        let pulse = &runs[0];
        return print_json(&serde_json::json!({
            "run_id": run_id,
            "from": date_of(pulse.result.timestamps[0], tf),
            "to": date_of(*pulse.result.timestamps.last().unwrap_or(&pulse.result.timestamps[0]), tf),
            "metrics": pulse.analysis.metrics,
            "alerts": pulse.result.alerts,
            "fills": pulse.result.fills,
            "webhook_sent": sent,
        }));
    }
    print_summary(&p, &runs)?;
    if notifier.is_some() {
        println!("{sent} alert(s) posted to the webhook.");
    }
    println!("(run #{run_id})");
    Ok(())
}

/// `pulse runs`
pub async fn runs(app: &App, args: RunsArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let runs = store.runs(args.limit).await?;
    if app.json {
        return print_json(&runs);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let m: serde_json::Value = serde_json::from_str(&r.metrics_json).unwrap_or_default();
            let s = &m[&r.strategy];
            let pct = |k: &str| {
                s[k].as_f64()
                    .map(|x| format!("{:.2}%", x * 100.0))
                    .unwrap_or_else(|| "—".into())
            };
            vec![
                r.id.map(|i| i.to_string()).unwrap_or_default(),
                r.kind.clone(),
                r.created_at.to_string(),
                r.strategy.clone(),
                r.sample.clone(),
                format!(
                    "{}..{}",
                    r.data_from.to_zoned(TimeZone::UTC).date(),
                    r.data_to.to_zoned(TimeZone::UTC).date()
                ),
                pct("total_return"),
                s["sharpe"]
                    .as_f64()
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "—".into()),
                pct("max_drawdown"),
                r.alerts.len().to_string(),
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
