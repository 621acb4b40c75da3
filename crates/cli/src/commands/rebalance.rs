//! `pulse rebalance simulate`: the SPEC §6 engine replayed over real prices.
//!
//! Each trading day of the chosen calendar: at 08:30 the observation in force (the last line of
//! the signals file dated on or before the day, its omitted `mp` or Sub-MP classes carried over
//! from the lines before: omitted means unchanged) goes to the state machine; at 09:40 it decides
//! with the previous close as the latest price; the paper broker (`broker-paper`, the same
//! `Broker` interface real brokers implement) fills the day's orders at that day's close (the next
//! price in the store after the decision), sells first, buys capped to cash, commission on
//! notional, booked exactly. A symbol without a bar that day keeps its order working. Prices are
//! the real (raw) closes, for decisions, fills and NAV alike (dividends are not credited).

use crate::app::{App, usage};
use crate::cli::{RebalanceCommand, RebalanceSimulateArgs};
use crate::commands::backtest::{cash_flag, commission_flag};
use crate::commands::parse_instant;
use crate::output::outln;
use crate::output::{print_json, print_table};
use anyhow::{Context, bail};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use pulse_app::backtest::trade_side;
use pulse_core::calendar::calendar;
use pulse_core::money::{money_to_f64, price_to_money};
use pulse_core::ports::Broker;
use pulse_core::{Exchange, OrderRequest, Portfolio, Side, Symbol, Timeframe};
use pulse_rebalance::{
    ExecutionInput, RebalanceConfig, RebalanceEvent, RebalanceState, Rebalancer, Signal, SplitMode,
    SubMpSpec,
};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Daily closes as the paper broker's price source: each close is stamped at its session's
/// close (a daily bar labelled 00:00Z closes at 16:00 New York), so an order decided at 09:40
/// fills at that day's close, the next price after the decision.
pub struct SessionCloses {
    /// Close per symbol per trading day.
    pub closes: BTreeMap<Symbol, BTreeMap<Date, Decimal>>,
    /// Exchange whose session closes stamp the prices.
    pub exchange: Exchange,
}

/// When the close of a daily bar dated `day` is known: the end of that day's session. Both
/// paper-broker price sources (replayed here, stored in the runtime) stamp closes with it.
pub fn session_close(exchange: Exchange, day: Date) -> Option<jiff::Timestamp> {
    calendar(exchange)
        .session(day)
        .ok()
        .flatten()
        .map(|s| s.close)
}

impl broker_paper::PriceSource for SessionCloses {
    async fn price_after(
        &self,
        symbol: &Symbol,
        after: jiff::Timestamp,
    ) -> Option<(jiff::Timestamp, Decimal)> {
        let day = after
            .to_zoned(calendar(self.exchange).time_zone().clone())
            .date();
        self.closes.get(symbol)?.range(day..).find_map(|(d, p)| {
            session_close(self.exchange, *d)
                .filter(|t| *t > after)
                .map(|t| (t, *p))
        })
    }
}

/// Runs `pulse rebalance …`.
pub async fn run(app: &App, cmd: RebalanceCommand) -> anyhow::Result<()> {
    match cmd {
        RebalanceCommand::Simulate(args) => simulate(app, args).await,
        RebalanceCommand::Init {
            cash,
            calendar,
            commission,
            force,
        } => crate::commands::runtime::init(app, &cash, &calendar, &commission, force).await,
        RebalanceCommand::Signal {
            file,
            mp,
            sub_mp,
            weighting,
            liquidity_days,
        } => {
            let liquidity = (weighting == "liquidity").then_some(liquidity_days);
            crate::commands::runtime::signal(app, file, mp, sub_mp, liquidity).await
        }
        RebalanceCommand::Status => crate::commands::runtime::status(app).await,
        RebalanceCommand::Run => crate::commands::runtime::run(app).await,
        RebalanceCommand::History { limit } => crate::commands::runtime::history(app, limit).await,
    }
}

/// One dated line of the signals file.
struct DatedSignal {
    date: Date,
    signal: Signal,
}

fn read_signals(path: &std::path::Path) -> anyhow::Result<Vec<DatedSignal>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out: Vec<DatedSignal> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let signal: Signal = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a signal", path.display(), i + 1))?;
        let date = signal
            .date
            .with_context(|| format!("{}:{}: the line has no \"date\"", path.display(), i + 1))?;
        if out.last().is_some_and(|p| p.date >= date) {
            bail!(
                "{}:{}: dates must increase line by line",
                path.display(),
                i + 1
            );
        }
        // A line states what changed: omitted parts (no `mp`, a class missing from `sub_mp`)
        // are unchanged from the line before, so a pending change keeps being observed.
        let signal = signal.carried_over(out.last().map(|p| &p.signal));
        // Weights are checked here, where the line is known (the rebalancer would refuse the
        // same signal later without naming the file and line).
        pulse_rebalance::validate_signal(
            &signal,
            &pulse_rebalance::Model::default(),
            &RebalanceConfig::default(),
        )
        .with_context(|| format!("{}:{}", path.display(), i + 1))?;
        out.push(DatedSignal { date, signal });
    }
    if out.is_empty() {
        bail!("{}: no signals", path.display());
    }
    Ok(out)
}

#[derive(Serialize)]
struct OrderRow {
    date: String,
    symbol: String,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    plan: String,
    step: u32,
}

#[derive(Serialize)]
struct NavRow {
    date: String,
    nav: f64,
    cash: Decimal,
}

async fn simulate(app: &App, args: RebalanceSimulateArgs) -> anyhow::Result<()> {
    // Flags first (usage errors), then files.
    let commission = commission_flag("--commission", &args.commission)?;
    let cash = cash_flag("--cash", &args.cash)?;
    let signals = read_signals(&args.signals)?;
    let exchange = match args.calendar.as_str() {
        "nyse" => Exchange::Nyse,
        "krx" => Exchange::Krx,
        other => return Err(usage(format!("--calendar {other:?}: expected nyse or krx"))),
    };
    let from: Date = args
        .from
        .parse()
        .map_err(|_| usage("--from: expected YYYY-MM-DD"))?;
    let to: Date = args
        .to
        .parse()
        .map_err(|_| usage("--to: expected YYYY-MM-DD"))?;
    let cal = calendar(exchange);
    let days = cal.trading_days(from, to)?;
    if days.is_empty() {
        bail!("no {exchange} trading days between {from} and {to}");
    }
    // Every security any signal names.
    let mut symbols: Vec<Symbol> = Vec::new();
    for s in &signals {
        for spec in s.signal.sub_mp.values() {
            let names: Vec<Symbol> = match spec {
                SubMpSpec::Weights(w) => w.keys().cloned().collect(),
                SubMpSpec::EqualWeight(v) => v.clone(),
            };
            for n in names {
                if !symbols.contains(&n) {
                    symbols.push(n);
                }
            }
        }
    }
    let store = app.store().await?;
    let start = parse_instant(
        &from.checked_sub(jiff::Span::new().days(14))?.to_string(),
        false,
        "--from",
    )?;
    let mut closes: BTreeMap<Symbol, BTreeMap<Date, Decimal>> = BTreeMap::new();
    for s in &symbols {
        let col: BTreeMap<Date, Decimal> =
            crate::commands::load_series(&store, s, Timeframe::D1, Some(start), None)
                .await?
                .iter()
                .filter_map(|b| {
                    // The real (raw) close: what an order trades at. Dividend-adjusted closes
                    // rewrite past prices and would fill and value at prices that never traded.
                    price_to_money(b.close, 2).map(|p| (b.ts.to_zoned(TimeZone::UTC).date(), p))
                })
                .collect();
        if col.is_empty() {
            bail!("no daily prices for {s} (import it with `pulse data import`)");
        }
        closes.insert(s.clone(), col);
    }
    let config = RebalanceConfig {
        fee_rate: commission,
        split_mode: if args.equal_split {
            SplitMode::Equal
        } else {
            SplitMode::Scheduled
        },
        calendar: Some(exchange),
        ..RebalanceConfig::default()
    };
    let rb = Rebalancer::new(config)?;
    let mut state = RebalanceState::default();
    let mut account = Portfolio::with_cash(cash);
    let broker = broker_paper::PaperBroker::new(
        broker_paper::PaperBook::new(account.cash, commission),
        SessionCloses {
            closes: closes.clone(),
            exchange,
        },
    );
    let mut in_flight: Vec<OrderRequest> = Vec::new();
    let mut events: Vec<RebalanceEvent> = Vec::new();
    let mut orders_out: Vec<OrderRow> = Vec::new();
    let mut nav: Vec<NavRow> = Vec::new();
    let mut fees = Decimal::ZERO;
    let mut notional = Decimal::ZERO;
    let price_before = |s: &Symbol, d: Date| {
        closes
            .get(s)
            .and_then(|c| c.range(..d).next_back().map(|(_, p)| *p))
    };
    for &day in &days {
        // 08:30: the observation in force today.
        if let Some(obs) = signals.iter().rev().find(|s| s.date <= day) {
            events.extend(rb.on_signal(&mut state, day, &obs.signal)?);
        }
        // 09:40: decide with the latest known prices (yesterday's closes).
        let prices: BTreeMap<Symbol, Decimal> = symbols
            .iter()
            .filter_map(|s| price_before(s, day).map(|p| (s.clone(), p)))
            .collect();
        let decided_at = day
            .at(9, 40, 0, 0)
            .to_zoned(cal.time_zone().clone())?
            .timestamp();
        let decision = rb.on_execution_day(
            &mut state,
            &ExecutionInput {
                date: day,
                decided_at,
                holdings: &account,
                prices: &prices,
                in_flight: &in_flight,
            },
        )?;
        events.extend(decision.events.iter().cloned());
        for order in &decision.orders {
            broker.submit(order).await?;
        }
        broker.match_orders().await?;
        let fills = broker.take_fills().await?;
        for fill in &fills {
            fees += fill.fee;
            notional += fill.notional();
            let (plan, step) = split_client_id(&fill.client_id.0);
            orders_out.push(OrderRow {
                date: day.to_string(),
                symbol: fill.symbol.to_string(),
                side: fill.side,
                quantity: fill.quantity,
                price: fill.price,
                fee: fill.fee,
                plan,
                step,
            });
        }
        account = broker.account().await?;
        in_flight = broker.working_orders();
        events.extend(rb.on_fills(&mut state, day, &fills));
        let value: f64 = account
            .positions
            .iter()
            .map(|(s, q)| {
                let p = closes
                    .get(s)
                    .and_then(|c| c.range(..=day).next_back().map(|(_, p)| *p))
                    .unwrap_or(Decimal::ZERO);
                money_to_f64(*q * p)
            })
            .sum();
        nav.push(NavRow {
            date: day.to_string(),
            nav: money_to_f64(account.cash) + value,
            cash: account.cash,
        });
    }
    if let Some(path) = &args.report {
        write_report(path, &nav, &orders_out, &args)?;
    }
    if app.json {
        return print_json(&serde_json::json!({
            "orders": orders_out,
            "nav": nav,
            "holdings": account.positions,
            "cash": account.cash,
            "fees": fees,
            "traded_notional": notional,
            "events": events,
            "rebalancing_active": state.is_rebalancing_active(),
        }));
    }
    for e in &events {
        outln!("{}  {}", e.date, e.reason)?;
    }
    let rows: Vec<Vec<String>> = orders_out
        .iter()
        .map(|o| {
            vec![
                o.date.clone(),
                o.symbol.clone(),
                o.side.to_string(),
                o.quantity.to_string(),
                o.price.to_string(),
                o.fee.round_dp(2).to_string(),
                format!("{} #{}", o.plan, o.step),
            ]
        })
        .collect();
    print_table(
        &["date", "symbol", "side", "qty", "price", "fee", "plan/step"],
        &rows,
    )?;
    let last = nav.last().map(|n| n.nav).unwrap_or(0.0);
    outln!(
        "Final NAV {last:.2}; fees {:.2}; holdings: {}",
        fees,
        account
            .positions
            .iter()
            .map(|(s, q)| format!("{s} {q}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(())
}

/// `<plan>-<step>-<SYMBOL>` → (plan, step).
fn split_client_id(id: &str) -> (String, u32) {
    let mut parts = id.rsplitn(3, '-');
    let _symbol = parts.next();
    let step = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let plan = parts.next().unwrap_or(id).to_string();
    (plan, step)
}

fn write_report(
    path: &std::path::Path,
    nav: &[NavRow],
    orders: &[OrderRow],
    args: &RebalanceSimulateArgs,
) -> anyhow::Result<()> {
    use pulse_report::{BacktestReport, EquitySeries, SampleLabel, TradeRow, WeightsSeries};
    let dates: Vec<String> = nav.iter().map(|n| n.date.clone()).collect();
    let equity: Vec<f64> = nav.iter().map(|n| n.nav).collect();
    let report = BacktestReport {
        title: "Rebalancing simulation (MP/Sub-MP, 3-day rule, split entry)".into(),
        generated_for: format!(
            "{}..{} on the {} calendar",
            args.from, args.to, args.calendar
        ),
        sample_label: SampleLabel::OutOfSample,
        notes: vec![format!(
            "Signals: {}. Decisions at 09:40 with the previous close, paper fills at the day's close, {} commission.",
            args.signals.display(),
            args.commission
        )],
        config_toml: std::fs::read_to_string(&args.signals).unwrap_or_default(),
        initial_cash: equity.first().copied().unwrap_or(0.0),
        currency: "USD".into(),
        series: vec![EquitySeries {
            name: "NAV".into(),
            dates: dates.clone(),
            equity: equity.clone(),
        }],
        metrics: Vec::new(),
        metric_catalogue: pulse_report::default_metric_catalogue(),
        weights: WeightsSeries {
            strategy: String::new(),
            dates: Vec::new(),
            symbols: Vec::new(),
            target: Vec::new(),
            actual: Vec::new(),
        },
        prices: Vec::new(),
        monthly_returns: pulse_report::monthly_returns(&dates, &equity)?,
        trades: orders
            .iter()
            .map(|o| TradeRow {
                date: o.date.clone(),
                symbol: o.symbol.clone(),
                side: trade_side(o.side),
                quantity: money_to_f64(o.quantity),
                price: money_to_f64(o.price),
                fee: money_to_f64(o.fee),
                notional: money_to_f64(o.quantity * o.price),
            })
            .collect(),
        alerts: Vec::new(),
        frontier: None,
        sweep: None,
    };
    pulse_report::write_html(path, &report)?;
    Ok(())
}
