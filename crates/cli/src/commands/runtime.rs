//! The rebalancing runtime (SPEC §6, issue 7): the clock (wall or simulated "time travel"), the
//! scheduler on an exchange calendar (08:30 signal intake, 09:40 execution, local time), the
//! paper broker, and the state kept in the store in one transaction per step.
//!
//! Missed-run policy: when the clock reaches a trading day whose intake or execution did not run
//! (the machine was off, or time travel jumped), the missed runs are NOT replayed with hindsight:
//! an audit entry records them, the 3-day count restarts (a missed observation breaks
//! "consecutive"), and only today's due jobs run. A job never runs twice for the same day.
//!
//! Crash safety: the 09:40 decision (state with the step's orders) is committed before the orders
//! go to the paper broker (`broker-paper`, behind the same `Broker` port as real brokers); the
//! broker's book and the fills are committed in a second transaction. A restart after a crash
//! anywhere re-submits the recorded unfilled orders (client ids make that idempotent), so each
//! order fills exactly once and no step is repeated.
//!
//! Concurrency: one runner at a time. `init`, `signal` and `run` hold an exclusive lock on
//! `<database>.rebalance.lock` from before they read the state until after they wrote it, so
//! two `run`s at the same due time execute the day's step once.

use crate::app::{App, usage};
use crate::cli::ClockCommand;
use crate::output::outln;
use crate::output::{print_json, print_table};
use anyhow::{Context, bail};
use broker_paper::{PaperBook, PaperBroker};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use pulse_core::calendar::calendar;
use pulse_core::money::price_to_money;
use pulse_core::ports::Broker;
use pulse_core::ports::{AuditEntry, BarPager, BarQuery, Clock, Store};
use pulse_core::{Exchange, Symbol, Timeframe, WallClock};
use pulse_rebalance::{
    ExecutionInput, RebalanceConfig, RebalanceState, Rebalancer, Signal, SubMpSpec, validate_signal,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store_sqlite::SqliteStore;

const CLOCK: &str = "clock";
const STATE: &str = "rebalance.state";
const RUNTIME: &str = "rebalance.runtime";

/// The simulated clock document.
#[derive(Debug, Serialize, Deserialize)]
struct ClockDoc {
    simulated: Option<Timestamp>,
}

/// The runtime document: schedule, paper account, the latest submitted view.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Runtime {
    exchange: Exchange,
    commission: Decimal,
    /// The paper broker's book (account, orders by client id, unreported fills).
    book: PaperBook,
    observation: Option<Signal>,
    last_intake: Option<Date>,
    last_execution: Option<Date>,
}

/// Stored daily closes as the paper broker's prices: the real (raw, unadjusted) close of each
/// session, stamped at its session's close (it does not exist before; the runtime matches only
/// prices stamped at or before its clock).
struct StoreCloses<'a> {
    store: &'a SqliteStore,
    exchange: Exchange,
}

impl broker_paper::PriceSource for StoreCloses<'_> {
    async fn price_after(&self, symbol: &Symbol, after: Timestamp) -> Option<(Timestamp, Decimal)> {
        let cal = calendar(self.exchange);
        let day = after.to_zoned(cal.time_zone().clone()).date();
        let start = day.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
        let query = BarQuery {
            symbol: symbol.clone(),
            timeframe: Timeframe::D1,
            start: Some(start),
            end: None,
        };
        let bars = self.store.bars_page(&query, None, 10).await.ok()?;
        bars.iter().find_map(|b| {
            let close = crate::commands::rebalance::session_close(
                self.exchange,
                b.ts.to_zoned(jiff::tz::TimeZone::UTC).date(),
            )?;
            (close > after)
                .then(|| price_to_money(b.close, 2).map(|p| (close, p)))
                .flatten()
        })
    }
}

/// One runner at a time: `init`, `signal` and `run` read, change and write the runtime and the
/// state under the store's exclusive lock `rebalance`, so a second `pulse rebalance run` at the
/// same due time waits for the first, then reads its committed state and does nothing.
async fn runner_lock(store: &SqliteStore) -> anyhow::Result<store_sqlite::StoreLock> {
    Ok(store.lock_exclusive("rebalance").await?)
}

async fn now(store: &SqliteStore) -> anyhow::Result<(Timestamp, bool)> {
    let doc: Option<ClockDoc> = store
        .document(CLOCK)
        .await?
        .map(|s| serde_json::from_str(&s))
        .transpose()?;
    Ok(match doc.and_then(|d| d.simulated) {
        Some(t) => (t, true),
        None => (WallClock.now(), false),
    })
}

fn audit(ts: Timestamp, subsystem: &str, value: serde_json::Value) -> AuditEntry {
    AuditEntry {
        ts,
        subsystem: subsystem.into(),
        entry_json: value.to_string(),
    }
}

async fn load_runtime(store: &SqliteStore) -> anyhow::Result<Option<(Runtime, RebalanceState)>> {
    let Some(rt) = store.document(RUNTIME).await? else {
        return Ok(None);
    };
    let runtime: Runtime =
        serde_json::from_str(&rt).context("stored rebalance runtime is corrupt")?;
    let state: RebalanceState = match store.document(STATE).await? {
        Some(s) => serde_json::from_str(&s).context("stored rebalance state is corrupt")?,
        None => RebalanceState::default(),
    };
    Ok(Some((runtime, state)))
}

fn docs(runtime: &Runtime, state: &RebalanceState) -> anyhow::Result<Vec<(&'static str, String)>> {
    Ok(vec![
        (RUNTIME, serde_json::to_string(runtime)?),
        (STATE, serde_json::to_string(state)?),
    ])
}

fn rebalancer(runtime: &Runtime) -> anyhow::Result<Rebalancer> {
    Ok(Rebalancer::new(RebalanceConfig {
        fee_rate: runtime.commission,
        calendar: Some(runtime.exchange),
        ..RebalanceConfig::default()
    })?)
}

/// `pulse clock …`
pub async fn clock(app: &App, cmd: ClockCommand) -> anyhow::Result<()> {
    let store = app.store().await?;
    let tz = match load_runtime(&store).await? {
        Some((rt, _)) => calendar(rt.exchange).time_zone().clone(),
        None => calendar(Exchange::Krx).time_zone().clone(),
    };
    let (current, simulated) = now(&store).await?;
    let new = match cmd {
        ClockCommand::Now => None,
        ClockCommand::Reset => Some(None),
        ClockCommand::Set { time } => Some(Some(time.parse::<Timestamp>().map_err(|e| {
            usage(format!(
                "clock set {time:?}: expected an RFC 3339 time with offset ({e})"
            ))
        })?)),
        ClockCommand::Advance { by } => {
            let by = by.trim();
            let (n, unit) = by.split_at(by.find(|c: char| !c.is_ascii_digit()).unwrap_or(by.len()));
            let n: i64 = n
                .parse()
                .map_err(|_| usage(format!("clock advance {by:?}: expected e.g. 1d, 90m, 3h")))?;
            // Every step is checked: a span past jiff's range (year 9999) is a usage error.
            let out_of_range = || {
                usage(format!(
                    "clock advance {by:?}: moves the clock past the year 9999"
                ))
            };
            let t = match unit {
                // Whole days land on 08:00 local time, before the 08:30 intake.
                "d" => {
                    let days = jiff::Span::new().try_days(n).map_err(|_| out_of_range())?;
                    current
                        .to_zoned(tz.clone())
                        .date()
                        .checked_add(days)
                        .and_then(|d| d.at(8, 0, 0, 0).to_zoned(tz.clone()))
                        .map_err(|_| out_of_range())?
                        .timestamp()
                }
                "h" | "m" => {
                    let secs = n.checked_mul(if unit == "h" { 3600 } else { 60 });
                    secs.and_then(|s| current.checked_add(SignedDuration::from_secs(s)).ok())
                        .ok_or_else(out_of_range)?
                }
                _ => {
                    return Err(usage(format!(
                        "clock advance {by:?}: unit must be d, h or m"
                    )));
                }
            };
            Some(Some(t))
        }
    };
    let shown = match new {
        None => current,
        Some(sim) => {
            let doc = serde_json::to_string(&ClockDoc { simulated: sim })?;
            let ts = sim.unwrap_or_else(|| WallClock.now());
            store
                .save_documents(
                    &[(CLOCK, doc)],
                    &[audit(ts, "clock", serde_json::json!({"set": sim}))],
                )
                .await?;
            ts
        }
    };
    let sim = new.map_or(simulated, |s| s.is_some());
    if app.json {
        return print_json(
            &serde_json::json!({"now": shown, "local": shown.to_zoned(tz).to_string(), "simulated": sim}),
        );
    }
    outln!(
        "{} ({}){}",
        shown,
        shown.to_zoned(tz),
        if sim { " [simulated]" } else { "" }
    )?;
    Ok(())
}

/// `pulse rebalance init`
pub async fn init(
    app: &App,
    cash: &str,
    cal: &str,
    commission: &str,
    force: bool,
) -> anyhow::Result<()> {
    let exchange = match cal {
        "krx" => Exchange::Krx,
        "nyse" => Exchange::Nyse,
        other => return Err(usage(format!("--calendar {other:?}: expected krx or nyse"))),
    };
    let cash = crate::commands::backtest::cash_flag("--cash", cash)?;
    let commission = crate::commands::backtest::commission_flag("--commission", commission)?;
    let store = app.store().await?;
    let _runner = runner_lock(&store).await?;
    if !force && load_runtime(&store).await?.is_some() {
        bail!("the rebalancer is already set up (use --force to start over)");
    }
    let runtime = Runtime {
        exchange,
        commission,
        book: PaperBook::new(cash, commission),
        observation: None,
        last_intake: None,
        last_execution: None,
    };
    let (ts, _) = now(&store).await?;
    store
        .save_documents(
            &docs(&runtime, &RebalanceState::default())?,
            &[audit(
                ts,
                "rebalance",
                serde_json::json!({"init": {"cash": cash, "calendar": cal}}),
            )],
        )
        .await?;
    if !app.quiet && !app.json {
        outln!(
            "Paper account with {cash}; schedule on the {exchange} calendar (08:30 intake, 09:40 execution, local time)."
        )?;
    }
    Ok(())
}

/// `pulse rebalance signal`
pub async fn signal(
    app: &App,
    file: Option<std::path::PathBuf>,
    mp: Option<String>,
    sub_mp: Vec<String>,
    liquidity_days: Option<u32>,
) -> anyhow::Result<()> {
    let store = app.store().await?;
    let signal: Signal = match file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{}: not a signal", path.display()))?
        }
        None => {
            let mut sig = Signal::default();
            if let Some(mp) = mp {
                let mut w = BTreeMap::new();
                for part in mp.split(',') {
                    let (k, v) = part
                        .split_once('=')
                        .ok_or_else(|| usage(format!("--mp {part:?}: expected class=weight")))?;
                    w.insert(
                        k.trim().to_string(),
                        v.trim()
                            .parse::<f64>()
                            .map_err(|_| usage(format!("--mp {part:?}: weight is not a number")))?,
                    );
                }
                sig.mp = Some(w);
            }
            for spec in sub_mp {
                let (class, syms) = spec
                    .split_once('=')
                    .ok_or_else(|| usage(format!("--sub-mp {spec:?}: expected class=SYM,SYM")))?;
                let symbols = syms
                    .split(',')
                    .map(|s| Symbol::try_new(s.trim()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| usage(e.to_string()))?;
                let spec = match liquidity_days {
                    None => SubMpSpec::EqualWeight(symbols),
                    Some(days) => {
                        SubMpSpec::Weights(liquidity_weights(&store, &symbols, days).await?)
                    }
                };
                sig.sub_mp.insert(class.trim().to_string(), spec);
            }
            if sig.mp.is_none() && sig.sub_mp.is_empty() {
                return Err(usage("give --file, --mp or --sub-mp"));
            }
            sig
        }
    };

    let _runner = runner_lock(&store).await?;
    let (mut runtime, state) = load_runtime(&store)
        .await?
        .context("set up the rebalancer first: `pulse rebalance init`")?;
    // What is omitted stays as observed so far ("MP unchanged"), so a pending change keeps
    // being counted by the 3-day rule.
    let signal = signal.carried_over(runtime.observation.as_ref());
    // Validate against the model the state machine will compare it with (the active one with
    // the pending values applied), so that a bad signal is refused at submission. Only the
    // validation: the debounce runs at the intake, on the trading day it observes.
    let rb = rebalancer(&runtime)?;
    validate_signal(&signal, &state.proposed_model(), rb.config()).context("invalid signal")?;
    runtime.observation = Some(signal.clone());
    let (ts, _) = now(&store).await?;
    store
        .save_documents(
            &docs(&runtime, &state)?,
            &[audit(
                ts,
                "rebalance",
                serde_json::json!({"signal": signal}),
            )],
        )
        .await?;
    if !app.quiet && !app.json {
        outln!("Signal stored; it is observed at every 08:30 intake until replaced.")?;
    }
    Ok(())
}

/// Liquidity rule of SPEC §6: weights proportional to each security's average daily dollar
/// volume (close × volume) over its last `days` stored daily bars, summing to 1.
async fn liquidity_weights(
    store: &SqliteStore,
    symbols: &[Symbol],
    days: u32,
) -> anyhow::Result<pulse_rebalance::SubMp> {
    let mut dollar = Vec::new();
    for s in symbols {
        let series = store.series().await?;
        let Some(info) = series
            .iter()
            .find(|x| &x.symbol == s && x.timeframe == Timeframe::D1)
        else {
            bail!("liquidity weighting needs daily bars of {s} in the store");
        };
        let n = u64::from(days.max(1)).min(info.rows);
        // Keyset-page to the last `n` bars (the store pages forward from a timestamp).
        let mut pager = BarPager::new(
            BarQuery {
                symbol: s.clone(),
                timeframe: Timeframe::D1,
                start: None,
                end: None,
            },
            10_000,
        );
        let mut tail: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
        while let Some(chunk) = pager.next_chunk(store).await? {
            for b in chunk {
                let Some(v) = b.volume else {
                    bail!(
                        "liquidity weighting needs volumes: {s} has none at {}",
                        b.ts
                    )
                };
                tail.push_back(b.close * v);
                if tail.len() as u64 > n {
                    tail.pop_front();
                }
            }
        }
        dollar.push(tail.iter().sum::<f64>() / tail.len().max(1) as f64);
    }
    let total: f64 = dollar.iter().sum();
    if !(total.is_finite() && total > 0.0) {
        bail!("liquidity weighting: no traded volume for {symbols:?}");
    }
    Ok(symbols
        .iter()
        .cloned()
        .zip(dollar.iter().map(|d| d / total))
        .collect())
}

/// Latest stored real (raw) close strictly before `day` (what is known at the 09:40 decision;
/// orders are sized at the price they trade at, not at a dividend-adjusted one).
async fn close_before(
    store: &SqliteStore,
    symbol: &Symbol,
    day: Date,
) -> anyhow::Result<Option<Decimal>> {
    let start = day
        .checked_sub(20.days())?
        .to_zoned(jiff::tz::TimeZone::UTC)?
        .timestamp();
    let end = day.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp();
    let bars =
        crate::commands::load_series(store, symbol, Timeframe::D1, Some(start), Some(end)).await?;
    Ok(bars
        .iter()
        .rev()
        .filter(|b| b.ts < end)
        .find_map(|b| price_to_money(b.close, 2)))
}

fn symbols_of(state: &RebalanceState, runtime: &Runtime) -> Vec<Symbol> {
    let mut out: Vec<Symbol> = runtime.book.account.positions.keys().cloned().collect();
    let mut add = |s: &Symbol| {
        if !out.contains(s) {
            out.push(s.clone());
        }
    };
    if let Some(m) = &state.active {
        m.target_weights().keys().for_each(&mut add);
    }
    if let Some(sig) = &runtime.observation {
        for spec in sig.sub_mp.values() {
            match spec {
                SubMpSpec::Weights(w) => w.keys().for_each(&mut add),
                SubMpSpec::EqualWeight(v) => v.iter().for_each(&mut add),
            }
        }
    }
    for p in state.pending.sub_mp.values() {
        p.value.keys().for_each(&mut add);
    }
    out
}

/// `pulse rebalance run`: what is due now by the clock.
pub async fn run(app: &App) -> anyhow::Result<()> {
    let store = app.store().await?;
    let _runner = runner_lock(&store).await?;
    let (mut runtime, mut state) = load_runtime(&store)
        .await?
        .context("set up the rebalancer first: `pulse rebalance init`")?;
    let rb = rebalancer(&runtime)?;
    let (ts, _) = now(&store).await?;
    let cal = calendar(runtime.exchange);
    let tz = cal.time_zone().clone();
    let local = ts.to_zoned(tz.clone());
    let today = local.date();
    let minutes = i32::from(local.hour()) * 60 + i32::from(local.minute());
    let mut report: Vec<String> = Vec::new();
    let trading = cal.is_trading_day(today)?;
    // Missed runs since the last one (never replayed with hindsight).
    if let Some(last) = runtime.last_execution.max(runtime.last_intake) {
        let first_missed = cal.next_trading_day(last)?;
        if first_missed < today {
            let missed = cal.trading_days(first_missed, cal.previous_trading_day(today)?)?;
            if !missed.is_empty() {
                let msg = format!(
                    "missed {} trading day(s) {}..={}: not replayed; pending counts restart",
                    missed.len(),
                    missed[0],
                    missed[missed.len() - 1]
                );
                store
                    .save_documents(
                        &[],
                        &[audit(ts, "rebalance", serde_json::json!({"missed": msg}))],
                    )
                    .await?;
                report.push(msg);
            }
        }
    }
    // 08:30 intake.
    if trading && minutes >= 8 * 60 + 30 && runtime.last_intake.is_none_or(|d| d < today) {
        let events = match &runtime.observation {
            Some(sig) => rb.on_signal(&mut state, today, sig)?,
            None => Vec::new(),
        };
        runtime.last_intake = Some(today);
        let entries: Vec<AuditEntry> = events
            .iter()
            .map(|e| audit(ts, "rebalance", serde_json::to_value(e).unwrap_or_default()))
            .collect();
        store
            .save_documents(&docs(&runtime, &state)?, &entries)
            .await?;
        report.extend(
            events
                .iter()
                .map(|e| format!("{} intake: {}", e.date, e.reason)),
        );
    }
    // The paper broker resumes its book; orders the state recorded but the book never saw (a
    // crash between the decision and the submission) are submitted again: ids make it idempotent.
    let broker = PaperBroker::new(
        runtime.book.clone(),
        StoreCloses {
            store: &store,
            exchange: runtime.exchange,
        },
    );
    for order in state.unfilled_orders() {
        broker.submit(order).await?;
    }
    // Fills whose price exists by now (yesterday's orders at yesterday's close) are booked
    // before today's decision, so that it sees the current holdings.
    settle(
        &store,
        &rb,
        &broker,
        &mut runtime,
        &mut state,
        ts,
        today,
        &mut report,
    )
    .await?;
    // 09:40 execution: decide and commit BEFORE submitting.
    if trading && minutes >= 9 * 60 + 40 && runtime.last_execution.is_none_or(|d| d < today) {
        let mut prices = BTreeMap::new();
        for s in symbols_of(&state, &runtime) {
            if let Some(p) = close_before(&store, &s, today).await? {
                prices.insert(s, p);
            }
        }
        let in_flight = broker.working_orders();
        let holdings = broker.account().await?;
        let decision = rb.on_execution_day(
            &mut state,
            &ExecutionInput {
                date: today,
                decided_at: ts,
                holdings: &holdings,
                prices: &prices,
                in_flight: &in_flight,
            },
        )?;
        runtime.last_execution = Some(today);
        let mut entries: Vec<AuditEntry> = decision
            .events
            .iter()
            .map(|e| audit(ts, "rebalance", serde_json::to_value(e).unwrap_or_default()))
            .collect();
        entries.extend(
            decision
                .orders
                .iter()
                .map(|o| audit(ts, "rebalance", serde_json::json!({"order": o}))),
        );
        store
            .save_documents(&docs(&runtime, &state)?, &entries)
            .await?;
        report.extend(
            decision
                .events
                .iter()
                .map(|e| format!("{} execution: {}", e.date, e.reason)),
        );
        for order in &decision.orders {
            broker.submit(order).await?;
        }
    }
    settle(
        &store,
        &rb,
        &broker,
        &mut runtime,
        &mut state,
        ts,
        today,
        &mut report,
    )
    .await?;
    if app.json {
        return print_json(&serde_json::json!({"now": ts, "trading_day": trading, "done": report}));
    }
    if report.is_empty() {
        outln!("{}: nothing due.", local)?;
    }
    for line in report {
        outln!("{line}")?;
    }
    Ok(())
}

/// Fills what has a price after its decision and at or before `now` (a daily close exists only
/// once its session has closed, so no fill is stamped after the clock), books it, and persists
/// book and state together.
#[allow(clippy::too_many_arguments)]
async fn settle(
    store: &SqliteStore,
    rb: &Rebalancer,
    broker: &PaperBroker<StoreCloses<'_>>,
    runtime: &mut Runtime,
    state: &mut RebalanceState,
    now: Timestamp,
    today: Date,
    report: &mut Vec<String>,
) -> anyhow::Result<()> {
    broker.match_orders_until(now).await?;
    let fills = broker.take_fills().await?;
    for fill in &fills {
        report.push(format!(
            "filled {} {} {} @ {} (fee {}) at {}",
            fill.side,
            fill.quantity,
            fill.symbol,
            fill.price,
            fill.fee.round_dp(2),
            fill.ts
        ));
    }
    let events = rb.on_fills(state, today, &fills);
    runtime.book = broker.book();
    let mut entries: Vec<AuditEntry> = fills
        .iter()
        .map(|f| audit(now, "rebalance", serde_json::json!({"fill": f})))
        .collect();
    entries.extend(events.iter().map(|e| {
        audit(
            now,
            "rebalance",
            serde_json::to_value(e).unwrap_or_default(),
        )
    }));
    store
        .save_documents(&docs(runtime, state)?, &entries)
        .await?;
    Ok(())
}

/// `pulse rebalance status`
pub async fn status(app: &App) -> anyhow::Result<()> {
    let store = app.store().await?;
    let (runtime, state) = load_runtime(&store)
        .await?
        .context("set up the rebalancer first: `pulse rebalance init`")?;
    let (ts, simulated) = now(&store).await?;
    let targets = state
        .active
        .as_ref()
        .map(|m| m.target_weights())
        .unwrap_or_default();
    let pending_mp = state
        .pending
        .mp
        .as_ref()
        .map(|p| serde_json::json!({"value": p.value, "days": p.days}));
    let pending_sub: BTreeMap<&String, serde_json::Value> = state
        .pending
        .sub_mp
        .iter()
        .map(|(k, p)| (k, serde_json::json!({"value": p.value, "days": p.days})))
        .collect();
    let plan = state.plan.as_ref().map(|p| serde_json::json!({"id": p.id, "scope": p.scope, "started": p.started, "steps_done": p.steps_done, "paused": p.paused}));
    let status = serde_json::json!({
        "now": ts,
        "simulated_clock": simulated,
        "calendar": runtime.exchange,
        "cash": runtime.book.account.cash,
        "holdings": runtime.book.account.positions,
        "targets": targets,
        "pending": {"mp": pending_mp, "sub_mp": pending_sub},
        "plan": plan,
        "is_rebalancing_active": state.is_rebalancing_active(),
        "unfilled_orders": state.unfilled_orders(),
        "last_intake": runtime.last_intake,
        "last_execution": runtime.last_execution,
    });
    if app.json {
        return print_json(&status);
    }
    outln!(
        "clock {}{}; calendar {}; cash {}",
        ts,
        if simulated { " [simulated]" } else { "" },
        runtime.exchange,
        runtime.book.account.cash.round_dp(2)
    )?;
    let rows: Vec<Vec<String>> = targets
        .iter()
        .map(|(s, w)| {
            vec![
                s.to_string(),
                format!("{:.1}%", w * 100.0),
                runtime.book.account.quantity(s).to_string(),
            ]
        })
        .collect();
    print_table(&["symbol", "target", "shares"], &rows)?;
    outln!("pending: {}", serde_json::to_string(&status["pending"])?)?;
    outln!("plan: {}", serde_json::to_string(&status["plan"])?)?;
    Ok(())
}

/// `pulse rebalance history`
pub async fn history(app: &App, limit: u32) -> anyhow::Result<()> {
    let store = app.store().await?;
    let log = store.audit_log(limit).await?;
    if app.json {
        let v: Vec<serde_json::Value> = log
            .iter()
            .map(|e| serde_json::json!({"ts": e.ts, "subsystem": e.subsystem, "entry": serde_json::from_str::<serde_json::Value>(&e.entry_json).unwrap_or_default()}))
            .collect();
        return print_json(&v);
    }
    for e in log {
        outln!("{}  {:<9} {}", e.ts, e.subsystem, e.entry_json)?;
    }
    Ok(())
}
