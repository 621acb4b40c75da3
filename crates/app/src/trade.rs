//! The trading runner (issue 13, first slice): a strategy's [`Engine`] — the one of backtests —
//! fed bar by bar as bars close by the clock (time travel drives it), its risk-approved orders
//! sent through the [`Broker`] port, fills booked back, and every step journaled so that a
//! `kill -9` anywhere loses nothing and sends nothing twice.
//!
//! A step (one closed bar), in this order:
//! 1. the broker matches working orders at prices up to the bar's close; new fills (by execution
//!    id) are booked into the engine;
//! 2. the engine decides at the bar's close (strategy → risk layer → sizing → the gate);
//! 3. ONE transaction records the engine, the paper book, the runner's progress, the fills and
//!    every new order with status `intent` — before anything is sent;
//! 4. each order is submitted, and a second transaction records the broker's answer.
//!
//! A restart resolves every `intent` order by a lookup by client id at the broker (never a
//! blind re-send): known → its status is recorded; unknown → approved again by the engine and
//! submitted. Then the engine's account is reconciled with the broker's: a mismatch it cannot
//! explain halts the runner and is reported — it never trades to "fix" it.
//!
//! Brokers: `paper` (the paper book filling at the stored closes after each decision, persisted
//! with the runner's state). Live brokers (Alpaca, KIS) come behind the same port.

use crate::AppError;
use crate::alerts::Delivery;
use crate::backtest::{Prepared, RunSettings, prepare};
use crate::rebalance::{StoreCloses, clock_now, session_close};
use crate::traded::TradedStrategy;
use broker_paper::{PaperBook, PaperBroker};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use pulse_core::ports::{AlertRecord, AuditEntry, Notifier, Store, TradeOrderRecord, TradingStep};
use pulse_core::{ClientOrderId, Exchange, Fill, OrderRequest, Portfolio, Side, Symbol, Timeframe};
use pulse_engine::{Engine, Event};
use pulse_execution::{Broker, OrderState, OrderStatus, RiskApproved};
use pulse_risk::RiskEvent;
use pulse_strategy::MarketSnapshot;
use pulse_strategy::Strategy;
use pulse_strategy::pulse::PulseStrategy;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which broker a runner trades through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerChoice {
    /// The paper book: fills at the stored closes after each decision.
    Paper,
    /// Alpaca (its paper or live host), through the `Broker` port.
    Alpaca,
    /// Korea Investment & Securities (its paper or real host), through the `Broker` port.
    Kis,
}

impl BrokerChoice {
    /// The name used on the command line and in messages (`paper`, `alpaca`, `kis`).
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerChoice::Paper => "paper",
            BrokerChoice::Alpaca => "alpaca",
            BrokerChoice::Kis => "kis",
        }
    }
}

/// Paper or real money at the broker (the paper book is always paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TradeMode {
    /// The broker's paper account.
    #[default]
    Paper,
    /// Real money.
    Live,
}

/// Whether a runner decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RunnerStatus {
    /// Deciding at every closed bar.
    Running,
    /// Stopped by a person (`pulse trade stop`): working orders were cancelled.
    Stopped,
    /// Halted by a reconciliation mismatch; a person must look before it trades again.
    Halted {
        /// What did not match.
        reason: String,
    },
}

/// A runner's progress and settings, stored with its engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerMeta {
    /// The runner's name (documents and orders are keyed by it).
    pub name: String,
    /// The broker.
    pub broker: BrokerChoice,
    /// Paper or live at the broker.
    #[serde(default)]
    pub mode: TradeMode,
    /// Started with the team's stored risk settings (`--risk`): every run applies the settings
    /// stored then (the dashboard's Risk page changes a running trader).
    #[serde(default)]
    pub risk_stored: bool,
    /// Running, stopped or halted.
    pub status: RunnerStatus,
    /// When it was started (clock time).
    pub started_at: Timestamp,
    /// Close instant of the last bar processed.
    pub last_close: Option<Timestamp>,
    /// Exchange whose calendar gives the bars' close instants.
    pub exchange: Exchange,
    /// Bar size.
    pub timeframe: Timeframe,
    /// The currency of the traded instruments, whose cash balance at a multi-currency broker
    /// (KIS holds KRW and USD) is the runner's cash. `None` in runners stored before it.
    #[serde(default)]
    pub cash_currency: Option<pulse_core::Currency>,
    /// The settings it was started with, files read into the record (a strategy file as its
    /// TOML text, a risk file as its settings), so that every later run (the CLI without flags,
    /// the dashboard, the scheduler) prepares the same market and rules. `None` in runners
    /// stored before it (those use the request's settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RunSettings>,
    /// The agent set whose ensemble it trades (`None`: Pulse's rule set of `settings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<crate::agents::AgentSet>,
    /// Equity at the last daily summary (account currency, marked at that day's closes).
    #[serde(default)]
    pub summary_equity: Option<f64>,
    /// Fills booked since the last daily summary.
    #[serde(default)]
    pub fills_since_summary: usize,
    /// Orders sent since the last daily summary.
    #[serde(default)]
    pub orders_since_summary: usize,
}

/// A runner's trading day, summarised when its last bar has closed (the daily summary alert).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaySummary {
    /// The exchange's trading date.
    pub day: jiff::civil::Date,
    /// The close of the day's last bar.
    pub at: Timestamp,
    /// Equity marked at the day's last closes (account currency).
    pub equity: f64,
    /// Change of equity since the previous summary, as a fraction (`None` for the first).
    pub change: Option<f64>,
    /// Cash and positions at the close.
    pub account: Portfolio,
    /// Fills booked since the previous summary.
    pub fills: usize,
    /// Orders sent since the previous summary.
    pub orders: usize,
    /// An agents runner's models evaluated at the close: each agent's weight and rolling hit
    /// rate (empty for Pulse).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<crate::traded::AgentDay>,
}

/// True when the bar closing at `close` is the last of its trading day: the next bar closes on
/// a later date of the exchange, or (no next bar known yet) `close` is the session's close.
fn ends_day(exchange: Exchange, close: Timestamp, next: Option<Timestamp>) -> bool {
    let tz = pulse_core::calendar::calendar(exchange).time_zone();
    let day = close.to_zoned(tz.clone()).date();
    match next {
        Some(next) => next.to_zoned(tz.clone()).date() > day,
        None => session_close(exchange, day) == Some(close),
    }
}

/// The summary of the day ending at `close`, resetting the counters in `meta`.
fn summarise_day(
    meta: &mut RunnerMeta,
    engine: &Engine<TradedStrategy>,
    exchange: Exchange,
    close: Timestamp,
) -> DaySummary {
    let tz = pulse_core::calendar::calendar(exchange).time_zone();
    let equity = engine.equity();
    let change = meta
        .summary_equity
        .filter(|e| *e > 0.0)
        .map(|previous| equity / previous - 1.0);
    let summary = DaySummary {
        day: close.to_zoned(tz.clone()).date(),
        at: close,
        equity,
        change,
        account: engine.portfolio().clone(),
        fills: meta.fills_since_summary,
        orders: meta.orders_since_summary,
        agents: engine.strategy().agent_days(),
    };
    meta.summary_equity = Some(equity);
    meta.fills_since_summary = 0;
    meta.orders_since_summary = 0;
    summary
}

/// One point of a runner's daily equity curve: its equity marked at a trading day's last close
/// (the first point: at the start, after the warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    /// The exchange's trading date.
    pub day: jiff::civil::Date,
    /// The close instant the equity is marked at.
    pub at: Timestamp,
    /// Equity in the account currency.
    pub equity: f64,
}

impl EquityPoint {
    /// The point of `equity` marked at `at`, dated by `exchange`'s time zone.
    pub fn at(exchange: Exchange, at: Timestamp, equity: f64) -> Self {
        let tz = pulse_core::calendar::calendar(exchange).time_zone();
        EquityPoint {
            day: at.to_zoned(tz.clone()).date(),
            at,
            equity,
        }
    }
}

/// The document `(key, json)` holding a runner's equity curve.
fn equity_document(name: &str, history: &[EquityPoint]) -> Result<(String, String), AppError> {
    let json = serde_json::to_string(history)
        .map_err(|e| AppError::State(format!("cannot serialize the equity curve: {e}")))?;
    Ok((key(name, "equity"), json))
}

/// A runner's daily equity curve, oldest first: a point at its start and one at the end of
/// every trading day it finished (empty for a runner started before curves were kept).
pub async fn equity_history<S: Store>(store: &S, name: &str) -> Result<Vec<EquityPoint>, AppError> {
    let k = key(name, "equity");
    match store.document(&k).await.map_err(AppError::port)? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| AppError::State(format!("runner {name}: stored {k} is corrupt: {e}"))),
        None => Ok(Vec::new()),
    }
}

/// The settings a runner keeps: files replaced by what they held at the start (the team's
/// stored risk settings stay a reference: they are applied again at every run).
fn frozen_settings(settings: &RunSettings, prepared: &Prepared) -> RunSettings {
    let strategy = match &settings.strategy {
        crate::backtest::StrategySource::File(path) => crate::backtest::StrategySource::Text {
            origin: path.display().to_string(),
            toml: prepared.cfg_text.clone(),
        },
        other => other.clone(),
    };
    let risk = match &settings.risk {
        Some(crate::backtest::RiskSource::File(_)) => prepared
            .config
            .engine
            .risk
            .clone()
            .map(crate::backtest::RiskSource::Config),
        other => other.clone(),
    };
    RunSettings {
        strategy,
        risk,
        // A starting trade history only shapes the start; the engine keeps the account since.
        trades: None,
        ..settings.clone()
    }
}

/// What `pulse trade run` asks for.
#[derive(Debug, Clone)]
pub struct TradeRequest {
    /// The runner's name.
    pub name: String,
    /// The broker.
    pub broker: BrokerChoice,
    /// Paper or live at the broker.
    pub mode: TradeMode,
    /// Strategy, starting cash, costs, sizing, risk (as for a backtest).
    pub settings: RunSettings,
    /// Trade the ensemble of these agents instead of Pulse's rule set (daily bars; the
    /// settings' strategy must be the default). Fixed when the runner starts.
    pub agents: Option<crate::agents::AgentSet>,
    /// Marketable limit orders this many basis points through the last close instead of market
    /// orders (`None`: market orders, except on KIS, which takes none for US stocks:
    /// [`KIS_LIMIT_OFFSET_BPS`]). Fixed when the runner starts.
    pub limit_offset_bps: Option<u32>,
}

/// The limit offset a KIS runner uses when none is given, basis points.
pub const KIS_LIMIT_OFFSET_BPS: u32 = 50;

/// What one `pulse trade run` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeOutcome {
    /// The runner after the run.
    pub meta: RunnerMeta,
    /// The clock's instant the run caught up to.
    pub now: Timestamp,
    /// True when this run started the runner (warm-up on the bars closed before now).
    pub started: bool,
    /// Bars processed (decision steps) by this run.
    pub steps: usize,
    /// Orders sent by this run (including `intent` orders resolved at the restart).
    pub submitted: Vec<OrderRequest>,
    /// Fills booked by this run.
    pub fills: Vec<Fill>,
    /// Risk events of this run's decisions.
    pub risk_events: Vec<RiskEvent>,
    /// Target-change alerts of this run's decisions.
    pub alerts: Vec<pulse_engine::Alert>,
    /// `intent` orders found at the start and how each was resolved.
    pub resolved: Vec<String>,
    /// The team's stored risk settings had changed and were applied at the start of this run
    /// (a runner started with `--risk`).
    pub risk_settings_applied: bool,
    /// The account after the run.
    pub account: Portfolio,
    /// A summary of every trading day this run finished.
    pub summaries: Vec<DaySummary>,
}

/// A runner's state as `pulse trade status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeStatus {
    /// Progress and settings.
    pub meta: RunnerMeta,
    /// The engine's account (cash and positions).
    pub account: Portfolio,
    /// Every order, oldest first.
    pub orders: Vec<TradeOrderRecord>,
    /// Every fill, oldest first.
    pub fills: Vec<Fill>,
}

/// The document listing every runner's name.
const INDEX: &str = "trade/index";

/// Every runner's name, in start order.
pub async fn runners<S: Store>(store: &S) -> Result<Vec<String>, AppError> {
    match store.document(INDEX).await.map_err(AppError::port)? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| AppError::State(format!("stored {INDEX} is corrupt: {e}"))),
        None => Ok(Vec::new()),
    }
}

fn key(name: &str, part: &str) -> String {
    format!("trade/{name}/{part}")
}

/// The stored state of a runner.
struct Stored {
    meta: RunnerMeta,
    engine: Engine<TradedStrategy>,
    book: PaperBook,
}

async fn load<S: Store>(store: &S, name: &str) -> Result<Option<Stored>, AppError> {
    let read = |part: &'static str| {
        let k = key(name, part);
        async move {
            store
                .document(&k)
                .await
                .map_err(AppError::port)?
                .ok_or_else(|| AppError::State(format!("runner {name}: {k} is missing")))
        }
    };
    let Some(meta) = store
        .document(&key(name, "meta"))
        .await
        .map_err(AppError::port)?
    else {
        return Ok(None);
    };
    let corrupt = |what: &str, e: serde_json::Error| {
        AppError::State(format!("runner {name}: stored {what} is corrupt: {e}"))
    };
    let meta: RunnerMeta = serde_json::from_str(&meta).map_err(|e| corrupt("meta", e))?;
    let engine = serde_json::from_str(&read("engine").await?).map_err(|e| corrupt("engine", e))?;
    let book = serde_json::from_str(&read("book").await?).map_err(|e| corrupt("book", e))?;
    Ok(Some(Stored { meta, engine, book }))
}

fn documents(s: &Stored, book: &PaperBook) -> Result<Vec<(String, String)>, AppError> {
    let json = |what: &str, r: Result<String, serde_json::Error>| {
        r.map_err(|e| AppError::State(format!("cannot serialize the runner's {what}: {e}")))
    };
    Ok(vec![
        (
            key(&s.meta.name, "meta"),
            json("meta", serde_json::to_string(&s.meta))?,
        ),
        (
            key(&s.meta.name, "engine"),
            json("engine", serde_json::to_string(&s.engine))?,
        ),
        (
            key(&s.meta.name, "book"),
            json("book", serde_json::to_string(book))?,
        ),
    ])
}

/// Writes one step (see [`Store::save_trading_step`]). The runner's state is serialized before
/// the returned future starts, so the future holds no reference to it (the engine's risk layer
/// keeps a non-`Sync` scratch buffer).
fn save_step<'a, S: Store + Sync>(
    store: &'a S,
    s: &Stored,
    book: &PaperBook,
    orders: &'a [TradeOrderRecord],
    fills: &'a [Fill],
    audit: &'a [AuditEntry],
) -> impl std::future::Future<Output = Result<usize, AppError>> + Send + 'a {
    save_step_with(
        store,
        s,
        book,
        Vec::new(),
        orders,
        fills,
        Cow::Borrowed(audit),
    )
}

/// A step that only changes the runner's state, with one audit entry (the future holds no
/// reference to the state, as [`save_step`]'s).
fn save_audited<'a, S: Store + Sync>(
    store: &'a S,
    s: &Stored,
    book: &PaperBook,
    entry: AuditEntry,
) -> impl std::future::Future<Output = Result<(), AppError>> + Send + 'a {
    let fut = save_step_with(
        store,
        s,
        book,
        Vec::new(),
        &[],
        &[],
        Cow::Owned(vec![entry]),
    );
    async move { fut.await.map(|_| ()) }
}

/// [`save_step`] writing more documents `(key, json)` in the same transaction.
fn save_step_with<'a, S: Store + Sync>(
    store: &'a S,
    s: &Stored,
    book: &PaperBook,
    extra: Vec<(String, String)>,
    orders: &'a [TradeOrderRecord],
    fills: &'a [Fill],
    audit: Cow<'a, [AuditEntry]>,
) -> impl std::future::Future<Output = Result<usize, AppError>> + Send + 'a {
    let docs = documents(s, book).map(|mut d| {
        d.extend(extra);
        d
    });
    let runner = s.meta.name.clone();
    async move {
        let docs = docs?;
        let docs: Vec<(&str, String)> = docs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        store
            .save_trading_step(&TradingStep {
                runner: &runner,
                documents: &docs,
                orders,
                fills,
                audit: &audit,
            })
            .await
            .map_err(AppError::port)
    }
}

fn state_name(state: OrderState) -> &'static str {
    match state {
        OrderState::New => "new",
        OrderState::Pending => "pending",
        OrderState::PartiallyFilled => "partially_filled",
        OrderState::Filled => "filled",
        OrderState::Canceled => "canceled",
        OrderState::Expired => "expired",
        OrderState::Rejected => "rejected",
    }
}

fn record(runner: &str, order: &OrderRequest, status: &str, at: Timestamp) -> TradeOrderRecord {
    TradeOrderRecord {
        runner: runner.to_string(),
        order: order.clone(),
        broker_id: None,
        status: status.to_string(),
        filled: Decimal::ZERO,
        updated_at: at,
    }
}

fn from_status(
    runner: &str,
    order: &OrderRequest,
    st: &OrderStatus,
    at: Timestamp,
) -> TradeOrderRecord {
    TradeOrderRecord {
        runner: runner.to_string(),
        order: order.clone(),
        broker_id: st.broker_id.clone(),
        status: state_name(st.state).to_string(),
        filled: st.filled,
        updated_at: at,
    }
}

/// The close instant of the bar stamped `ts`: a daily bar closes at its session's close, an
/// intraday bar one bar later.
fn close_of(exchange: Exchange, timeframe: Timeframe, ts: Timestamp) -> Option<Timestamp> {
    match timeframe {
        Timeframe::D1 => session_close(exchange, ts.to_zoned(TimeZone::UTC).date()),
        intraday => ts
            .checked_add(jiff::SignedDuration::from_secs(intraday.seconds()))
            .ok(),
    }
}

fn audit(ts: Timestamp, entry: serde_json::Value) -> AuditEntry {
    AuditEntry {
        ts,
        subsystem: "trade".to_string(),
        entry_json: entry.to_string(),
    }
}

/// Runs a runner up to the clock's now: starts it when it does not exist (warm-up on the bars
/// closed by now), else resolves `intent` orders, reconciles, and processes every bar that
/// closed since the last run. `on_step` is called after each step's decision is committed and
/// before its orders are sent; `ControlFlow::Break` stops the run right there (Ctrl-C, tests of
/// a crash between the record and the send), as a crash would.
pub async fn run<S: Store + Sync, B: Broker + Sync>(
    store: &S,
    request: &TradeRequest,
    live: Option<&B>,
    on_step: impl FnMut(usize) -> ControlFlow<()>,
) -> Result<TradeOutcome, AppError> {
    // The step loop's state is large: it lives on the heap, not on the caller's stack.
    Box::pin(run_steps(store, request, live, on_step)).await
}

async fn run_steps<S: Store + Sync, B: Broker + Sync>(
    store: &S,
    request: &TradeRequest,
    live: Option<&B>,
    mut on_step: impl FnMut(usize) -> ControlFlow<()>,
) -> Result<TradeOutcome, AppError> {
    validate_name(&request.name)?;
    let (now, _) = clock_now(store).await?;
    let existing = load(store, &request.name).await?;
    // An existing runner runs on the settings (and agents) it was started with.
    let (settings, agents) = match &existing {
        Some(s) => (
            s.meta.settings.as_ref().unwrap_or(&request.settings),
            s.meta.agents.as_ref(),
        ),
        None => (&request.settings, request.agents.as_ref()),
    };
    // A new agents' runner's ensemble, its files read once, here.
    let fresh_agents = match (&existing, agents) {
        (None, Some(set)) => Some(crate::agents::trading_strategy(set, now)?),
        _ => None,
    };
    let prepared: Prepared = match agents {
        None => prepare(store, settings).await?,
        Some(set) => {
            let warmup = match (&fresh_agents, &existing) {
                (Some(fresh), _) => fresh.warmup_bars(),
                (None, Some(s)) => s.engine.strategy().warmup_bars(),
                (None, None) => 0,
            };
            crate::agents::prepare_trading(store, settings, set, warmup).await?
        }
    };
    if let Some(fresh) = &fresh_agents {
        let exchange = prepared.market.exchange;
        crate::agents::refuse_dqn_in_sample(fresh, now, |ts| {
            close_of(exchange, Timeframe::D1, ts)
        })?;
    }
    let agents = agents.cloned();
    let exchange = prepared.market.exchange;
    let timeframe = prepared.timeframe;
    let data = &prepared.market.data;
    let closes: Vec<Option<Timestamp>> = data
        .timeline
        .iter()
        .map(|ts| close_of(exchange, timeframe, *ts))
        .collect();
    let mut outcome = TradeOutcome {
        meta: RunnerMeta {
            name: request.name.clone(),
            broker: request.broker,
            mode: request.mode,
            risk_stored: matches!(
                request.settings.risk,
                Some(crate::backtest::RiskSource::Stored)
            ),
            status: RunnerStatus::Running,
            started_at: now,
            last_close: None,
            exchange,
            timeframe,
            cash_currency: Some(prepared.currency),
            settings: Some(frozen_settings(&request.settings, &prepared)),
            agents,
            summary_equity: None,
            fills_since_summary: 0,
            orders_since_summary: 0,
        },
        now,
        started: false,
        steps: 0,
        submitted: Vec::new(),
        fills: Vec::new(),
        risk_events: Vec::new(),
        alerts: Vec::new(),
        resolved: Vec::new(),
        risk_settings_applied: false,
        account: Portfolio::default(),
        summaries: Vec::new(),
    };
    let mut bars = BTreeMap::new();
    let mut context = BTreeMap::new();
    let mut stored = match existing {
        Some(s) => s,
        None => {
            // Start: warm up on every bar closed by now (decisions discarded: the account has
            // not traded them), then the next close is the first of the live window.
            let strategy = match fresh_agents {
                Some(ensemble) => TradedStrategy::Agents(Box::new(ensemble)),
                None => TradedStrategy::Pulse(Box::new(
                    PulseStrategy::try_new(prepared.cfg.clone()).map_err(|source| {
                        AppError::Strategy {
                            origin: "strategy".to_string(),
                            source,
                        }
                    })?,
                )),
            };
            // A live broker's account is the truth from the start; the paper book starts with
            // the requested cash.
            let account = match (request.broker, live) {
                (BrokerChoice::Paper, _) => prepared.account.clone(),
                (_, Some(b)) => live_account(b, Some(prepared.currency)).await?,
                (choice, None) => {
                    return Err(AppError::State(format!(
                        "a {} runner needs the {} broker",
                        choice.as_str(),
                        choice.as_str()
                    )));
                }
            };
            let limit_offset_bps = match (request.limit_offset_bps, request.broker) {
                (Some(bps), _) => Some(bps),
                (None, BrokerChoice::Kis) => Some(KIS_LIMIT_OFFSET_BPS),
                (None, _) => None,
            };
            let config = pulse_engine::EngineConfig {
                client_id_prefix: Some(request.name.clone()),
                limit_offset_bps,
                ..prepared.config.engine.clone()
            };
            let mut engine = Engine::new(strategy, config, account);
            let mut last_close = None;
            for (i, close) in closes.iter().enumerate() {
                let Some(close) = *close else { continue };
                if close > now {
                    break;
                }
                data.fill_bars_at(i, &mut bars);
                data.fill_context_at(i, &mut context);
                engine
                    .process(Event::BarClose(MarketSnapshot {
                        ts: close,
                        bars: &bars,
                        context: &context,
                    }))
                    .map_err(|e| AppError::State(format!("warm-up: {e}")))?;
                last_close = Some(close);
            }
            engine.open_window();
            let book = PaperBook {
                quantity_dp: if request.settings.fractional { 6 } else { 0 },
                ..PaperBook::new(prepared.account.cash, prepared.config.engine.costs.clone())
            };
            outcome.meta.last_close = last_close;
            outcome.started = true;
            let s = Stored {
                meta: outcome.meta.clone(),
                engine,
                book: book.clone(),
            };
            let entry = serde_json::json!({"start": request.name, "warm_up_until": last_close});
            let mut names = runners(store).await?;
            if !names.contains(&request.name) {
                names.push(request.name.clone());
            }
            let index = serde_json::to_string(&names)
                .map_err(|e| AppError::State(format!("cannot serialize {INDEX}: {e}")))?;
            save_step_with(
                store,
                &s,
                &book,
                vec![
                    (INDEX.to_string(), index),
                    equity_document(
                        &request.name,
                        &[EquityPoint::at(
                            exchange,
                            last_close.unwrap_or(now),
                            s.engine.equity(),
                        )],
                    )?,
                ],
                &[],
                &[],
                Cow::Owned(vec![audit(now, entry)]),
            )
            .await?;
            s
        }
    };
    if let RunnerStatus::Halted { reason } = &stored.meta.status {
        return Err(AppError::State(format!(
            "runner {} is halted ({reason}): `pulse trade resume` after looking",
            request.name
        )));
    }
    // A stopped runner still books the fills of what it had sent (a flatten's sells), but
    // decides nothing.
    let deciding = stored.meta.status == RunnerStatus::Running;
    let name = request.name.clone();
    if stored.meta.broker != request.broker || stored.meta.mode != request.mode {
        return Err(AppError::State(format!(
            "runner {} trades through {:?} ({:?}), not {:?} ({:?})",
            request.name, stored.meta.broker, stored.meta.mode, request.broker, request.mode
        )));
    }
    let broker = venue(store, &stored.meta, &stored.book, live)?;
    // The team's risk settings as stored now, for a runner that follows them.
    if stored.meta.risk_stored {
        let current = crate::risk::resolve(store, &crate::backtest::RiskSource::Stored).await?;
        if stored.engine.config().risk.as_ref() != Some(&current) {
            let entry =
                serde_json::json!({"risk_applied": request.name, "settings": current.to_toml()});
            stored.engine.set_risk_config(current);
            outcome.risk_settings_applied = true;
            save_audited(
                store,
                &stored,
                &broker.book(&stored.book),
                audit(now, entry),
            )
            .await?;
        }
    }
    // Restart: resolve every order recorded as `intent` by a lookup, never a blind re-send.
    let journal = store.trade_orders(&name).await.map_err(AppError::port)?;
    let booked = store.trade_fills(&name).await.map_err(AppError::port)?;
    // The stop loss judges held positions by their entry prices: those the risk layer does not
    // know yet (stored before they were kept, or a risk layer added since) come from the journal.
    stored.engine.learn_entries(&booked);
    // The adapter reports only what comes after the fills this runner has booked.
    broker.booked_fills(&booked).await?;
    let mut seen_fills: BTreeSet<String> = booked.into_iter().filter_map(|f| f.exec_id).collect();
    let mut resolved_records = Vec::new();
    let mut unseen: Vec<OrderRequest> = Vec::new();
    for r in journal.iter().filter(|r| r.status == "intent") {
        let cid = &r.order.client_id;
        match broker.order_status(cid).await? {
            Some(st) => {
                outcome.resolved.push(format!(
                    "{cid}: found at the broker ({})",
                    state_name(st.state)
                ));
                resolved_records.push(from_status(&name, &r.order, &st, now));
            }
            None => unseen.push(r.order.clone()),
        }
    }
    if !unseen.is_empty() {
        // Approved again together (a decision's sells pay for its buys), counting the
        // proceeds of its sells that did reach the broker and still work.
        let working_sells: Vec<(Symbol, Decimal)> = broker
            .open_orders()
            .await
            .map_err(AppError::port)?
            .iter()
            .filter_map(|st| {
                let r = journal.iter().find(|r| r.order.client_id == st.client_id)?;
                (r.order.side == Side::Sell).then(|| (r.order.symbol.clone(), st.remaining))
            })
            .collect();
        let (approved, refused) = stored.engine.approve_with(unseen, &working_sells);
        for order in &approved {
            let st = broker.submit(order).await?;
            outcome.resolved.push(format!(
                "{}: never reached the broker, approved again and sent",
                order.client_id
            ));
            outcome.submitted.push(order.get().clone());
            resolved_records.push(from_status(&name, order.get(), &st, now));
        }
        for e in refused {
            if let pulse_risk::RiskEventKind::OrderRefused { client_id, .. } = &e.kind {
                if let Some(r) = journal.iter().find(|r| &r.order.client_id.0 == client_id) {
                    resolved_records.push(record(&name, &r.order, "refused", now));
                }
                outcome.resolved.push(format!(
                    "{client_id}: never reached the broker, refused now: {}",
                    e.message
                ));
            }
        }
    }
    if !resolved_records.is_empty() {
        stored.book = broker.book(&stored.book);
        save_step(store, &stored, &stored.book, &resolved_records, &[], &[]).await?;
    }
    // Fills the broker made since the last step (a live broker fills on its own, also while
    // the runner was down) are booked before the accounts are compared.
    let (early, updated) = take_new_fills(
        store,
        &broker,
        &mut stored.engine,
        &mut seen_fills,
        (&name, &outcome.submitted, &journal),
        now,
    )
    .await?;
    if !early.is_empty() {
        save_step(
            store,
            &stored,
            &broker.book(&stored.book),
            &updated,
            &early,
            &[],
        )
        .await?;
        outcome.fills.extend(early);
    }
    // Reconcile: the broker's account is the truth; the engine's must equal it.
    let at_broker = broker.account().await?;
    if let Some(reason) = mismatch(stored.engine.portfolio(), &at_broker) {
        stored.meta.status = RunnerStatus::Halted {
            reason: reason.clone(),
        };
        let entry = serde_json::json!({"halted": name, "reason": reason});
        save_audited(
            store,
            &stored,
            &broker.book(&stored.book),
            audit(now, entry),
        )
        .await?;
        return Err(AppError::State(format!(
            "runner {name} halted: the account does not match the broker's ({reason}); nothing was traded"
        )));
    }
    // The daily equity curve, one point more at each day's end.
    let mut history = equity_history(store, &name).await?;
    // Every bar closed since the last step.
    for (i, close) in closes.iter().enumerate() {
        let Some(close) = *close else { continue };
        if stored.meta.last_close.is_some_and(|l| close <= l) {
            continue;
        }
        if close > now {
            break;
        }
        // A paper book is paid its holdings' dividends at their ex-date, before the bar's
        // fills (as in a backtest); a live broker pays its own, which reconciliation shows.
        if let Venue::Paper(paper) = &broker {
            for (symbol, cash_per_share) in data.dividends_at(i, false) {
                if paper.credit_dividend(symbol, *cash_per_share) > Decimal::ZERO {
                    stored
                        .engine
                        .process(Event::Dividend {
                            symbol,
                            cash_per_share: *cash_per_share,
                            ts: close,
                        })
                        .map_err(|e| AppError::State(format!("dividend of {symbol}: {e}")))?;
                }
            }
        }
        broker.advance(close).await?;
        let (fills, updated) = take_new_fills(
            store,
            &broker,
            &mut stored.engine,
            &mut seen_fills,
            (&name, &outcome.submitted, &journal),
            close,
        )
        .await?;
        stored.meta.last_close = Some(close);
        stored.meta.fills_since_summary += fills.len();
        let day_ends = ends_day(exchange, close, closes.get(i + 1).copied().flatten());
        if !deciding {
            let mut entries = Vec::new();
            let mut extra = Vec::new();
            if day_ends {
                let summary = summarise_day(&mut stored.meta, &stored.engine, exchange, close);
                entries.push(audit(
                    close,
                    serde_json::json!({"runner": name, "summary": summary}),
                ));
                history.push(EquityPoint::at(exchange, close, summary.equity));
                extra.push(equity_document(&name, &history)?);
                outcome.summaries.push(summary);
            }
            save_step_with(
                store,
                &stored,
                &broker.book(&stored.book),
                extra,
                &updated,
                &fills,
                Cow::Borrowed(&entries),
            )
            .await?;
            if on_step(outcome.steps).is_break() {
                break;
            }
            outcome.steps += 1;
            outcome.fills.extend(fills);
            continue;
        }
        data.fill_bars_at(i, &mut bars);
        data.fill_context_at(i, &mut context);
        let out = stored
            .engine
            .process(Event::BarClose(MarketSnapshot {
                ts: close,
                bars: &bars,
                context: &context,
            }))
            .map_err(|e| AppError::State(format!("deciding at {close}: {e}")))?;
        let mut intents = updated;
        intents.extend(
            out.orders
                .iter()
                .map(|o| record(&name, o.get(), "intent", close)),
        );
        let mut entries: Vec<AuditEntry> = out
            .risk_events
            .iter()
            .map(|e| audit(close, serde_json::json!({"runner": name, "risk": e})))
            .collect();
        entries.extend(
            out.alert
                .iter()
                .map(|a| audit(close, serde_json::json!({"runner": name, "alert": a}))),
        );
        entries.extend(
            out.orders
                .iter()
                .map(|o| audit(close, serde_json::json!({"runner": name, "order": o}))),
        );
        stored.meta.orders_since_summary += out.orders.len();
        let mut extra = Vec::new();
        if day_ends {
            let summary = summarise_day(&mut stored.meta, &stored.engine, exchange, close);
            entries.push(audit(
                close,
                serde_json::json!({"runner": name, "summary": summary}),
            ));
            history.push(EquityPoint::at(exchange, close, summary.equity));
            extra.push(equity_document(&name, &history)?);
            outcome.summaries.push(summary);
        }
        // Recorded before anything is sent.
        save_step_with(
            store,
            &stored,
            &broker.book(&stored.book),
            extra,
            &intents,
            &fills,
            Cow::Borrowed(&entries),
        )
        .await?;
        if on_step(outcome.steps).is_break() {
            outcome.steps += 1;
            outcome.fills.extend(fills);
            break;
        }
        let mut sent = Vec::with_capacity(out.orders.len());
        for order in &out.orders {
            let st = broker.submit(order).await?;
            sent.push(from_status(&name, order.get(), &st, close));
        }
        if !sent.is_empty() {
            save_step(store, &stored, &broker.book(&stored.book), &sent, &[], &[]).await?;
        }
        outcome.steps += 1;
        outcome.submitted.extend(
            out.orders
                .iter()
                .map(|o: &RiskApproved<OrderRequest>| o.get().clone()),
        );
        outcome.fills.extend(fills);
        outcome.risk_events.extend(out.risk_events);
        outcome.alerts.extend(out.alert);
    }
    outcome.meta = stored.meta.clone();
    outcome.account = stored.engine.portfolio().clone();
    Ok(outcome)
}

/// Takes the broker's new fills (by execution id, against `seen`), books them into the engine,
/// and returns them with the journal records of their orders' new status.
async fn take_new_fills<S: Store + Sync, B: Broker + Sync>(
    store: &S,
    broker: &Venue<'_, S, B>,
    engine: &mut Engine<TradedStrategy>,
    seen: &mut BTreeSet<String>,
    (name, submitted, journal): (&str, &[OrderRequest], &[TradeOrderRecord]),
    at: Timestamp,
) -> Result<(Vec<Fill>, Vec<TradeOrderRecord>), AppError> {
    let fills: Vec<Fill> = broker
        .take_fills()
        .await?
        .into_iter()
        .filter(|f| f.exec_id.as_ref().is_none_or(|id| seen.insert(id.clone())))
        .collect();
    for fill in &fills {
        engine
            .process(Event::Fill(fill))
            .map_err(|e| AppError::State(format!("booking fill {}: {e}", fill.client_id)))?;
    }
    let mut updated = Vec::new();
    let filled_ids: BTreeSet<&ClientOrderId> = fills.iter().map(|f| &f.client_id).collect();
    for cid in filled_ids {
        let Some(order) = journal_order(store, name, cid, submitted, journal).await? else {
            continue;
        };
        if let Some(st) = broker.order_status(cid).await? {
            updated.push(from_status(name, &order, &st, at));
        }
    }
    Ok((fills, updated))
}

/// The order with client id `cid`: sent by this run, in the journal read at its start, or (sent
/// by an earlier step of this run) read again.
async fn journal_order<S: Store>(
    store: &S,
    name: &str,
    cid: &ClientOrderId,
    submitted: &[OrderRequest],
    journal: &[TradeOrderRecord],
) -> Result<Option<OrderRequest>, AppError> {
    if let Some(o) = submitted.iter().find(|o| &o.client_id == cid) {
        return Ok(Some(o.clone()));
    }
    if let Some(r) = journal.iter().find(|r| &r.order.client_id == cid) {
        return Ok(Some(r.order.clone()));
    }
    Ok(store
        .trade_orders(name)
        .await
        .map_err(AppError::port)?
        .into_iter()
        .find(|r| &r.order.client_id == cid)
        .map(|r| r.order))
}

/// A live broker's account with its cash in `currency` (the traded instruments'): a broker
/// holding several currencies (KIS: KRW and USD) reports them apart, and the runner trades
/// with the one its instruments are priced in.
async fn live_account<B: Broker>(
    broker: &B,
    currency: Option<pulse_core::Currency>,
) -> Result<Portfolio, AppError> {
    let mut account = broker.account().await.map_err(AppError::port)?;
    let Some(currency) = currency.filter(|c| *c != pulse_core::Currency::None) else {
        return Ok(account);
    };
    let balances = broker.cash_balances().await.map_err(AppError::port)?;
    if balances.iter().any(|b| b.currency != currency) {
        account.cash = balances
            .iter()
            .find(|b| b.currency == currency)
            .map(|b| b.amount)
            .ok_or_else(|| {
                AppError::State(format!(
                    "the broker holds no {} cash for these instruments",
                    currency.as_str()
                ))
            })?;
    }
    Ok(account)
}

/// The broker a runner trades through: the paper book (built here, persisted with the runner)
/// or a live broker the caller built (the binary names concrete adapters).
enum Venue<'a, S, B> {
    Paper(PaperBroker<StoreCloses<'a, S>>),
    Live(&'a B, Option<pulse_core::Currency>),
}

impl<S: Store + Sync, B: Broker + Sync> Venue<'_, S, B> {
    async fn order_status(&self, cid: &ClientOrderId) -> Result<Option<OrderStatus>, AppError> {
        match self {
            Venue::Paper(p) => p.order_status(cid).await.map_err(AppError::port),
            Venue::Live(b, _) => b.order_status(cid).await.map_err(AppError::port),
        }
    }

    async fn submit(&self, order: &RiskApproved<OrderRequest>) -> Result<OrderStatus, AppError> {
        match self {
            Venue::Paper(p) => p.submit(order).await.map_err(AppError::port),
            Venue::Live(b, _) => b.submit(order).await.map_err(AppError::port),
        }
    }

    async fn account(&self) -> Result<Portfolio, AppError> {
        match self {
            Venue::Paper(p) => p.account().await.map_err(AppError::port),
            Venue::Live(b, currency) => live_account(*b, *currency).await,
        }
    }

    async fn take_fills(&self) -> Result<Vec<Fill>, AppError> {
        match self {
            Venue::Paper(p) => p.take_fills().await.map_err(AppError::port),
            Venue::Live(b, _) => b.take_fills().await.map_err(AppError::port),
        }
    }

    async fn booked_fills(&self, fills: &[Fill]) -> Result<(), AppError> {
        match self {
            Venue::Paper(_) => Ok(()),
            Venue::Live(b, _) => b.booked_fills(fills).await.map_err(AppError::port),
        }
    }

    async fn open_orders(&self) -> Result<Vec<OrderStatus>, AppError> {
        match self {
            Venue::Paper(p) => p.open_orders().await.map_err(AppError::port),
            Venue::Live(b, _) => b.open_orders().await.map_err(AppError::port),
        }
    }

    async fn cancel(&self, cid: &ClientOrderId) -> Result<OrderStatus, AppError> {
        match self {
            Venue::Paper(p) => p.cancel(cid).await.map_err(AppError::port),
            Venue::Live(b, _) => b.cancel(cid).await.map_err(AppError::port),
        }
    }

    /// Lets the paper book fill at the prices that exist by `until` (a live broker fills on
    /// its own).
    async fn advance(&self, until: Timestamp) -> Result<(), AppError> {
        match self {
            Venue::Paper(p) => p
                .match_orders_until(until)
                .await
                .map(|_| ())
                .map_err(AppError::port),
            Venue::Live(..) => Ok(()),
        }
    }

    /// The paper book to persist (a live runner keeps `unchanged`).
    fn book(&self, unchanged: &PaperBook) -> PaperBook {
        match self {
            Venue::Paper(p) => p.book(),
            Venue::Live(..) => unchanged.clone(),
        }
    }
}

fn venue<'a, S: Store + Sync, B>(
    store: &'a S,
    meta: &RunnerMeta,
    book: &PaperBook,
    live: Option<&'a B>,
) -> Result<Venue<'a, S, B>, AppError> {
    match (meta.broker, live) {
        (BrokerChoice::Paper, _) => Ok(Venue::Paper(PaperBroker::new(
            book.clone(),
            StoreCloses::new(store, meta.exchange),
        ))),
        (_, Some(b)) => Ok(Venue::Live(b, meta.cash_currency)),
        (choice, None) => Err(AppError::State(format!(
            "runner {} trades through {}: give `--broker {}` (and its keys)",
            meta.name,
            choice.as_str(),
            choice.as_str()
        ))),
    }
}

/// The first difference between the engine's account and the broker's, if any.
fn mismatch(engine: &Portfolio, broker: &Portfolio) -> Option<String> {
    if engine.cash != broker.cash {
        return Some(format!(
            "cash {} here, {} at the broker",
            engine.cash, broker.cash
        ));
    }
    let symbols: BTreeSet<&Symbol> = engine
        .positions
        .keys()
        .chain(broker.positions.keys())
        .collect();
    for s in symbols {
        let (a, b) = (engine.quantity(s), broker.quantity(s));
        if a != b {
            return Some(format!("{s}: {a} here, {b} at the broker"));
        }
    }
    None
}

/// A runner's progress and settings (its broker, mode, state), without its journal.
pub async fn meta<S: Store>(store: &S, name: &str) -> Result<RunnerMeta, AppError> {
    // The progress record alone: a runner whose engine cannot be restored (its DQN model
    // changed) still shows here, and does not hide the others.
    let k = key(name, "meta");
    let text = store
        .document(&k)
        .await
        .map_err(AppError::port)?
        .ok_or_else(|| AppError::State(format!("no runner named {name}")))?;
    serde_json::from_str(&text)
        .map_err(|e| AppError::State(format!("runner {name}: stored meta is corrupt: {e}")))
}

/// [`run`] with its alerts ([`alert_records`], or [`error_record`] when it fails) delivered
/// through `notifier` by the bounded queue: a failing notifier never changes the run's result.
/// `stop`, once set (Ctrl-C), ends the run after the step being recorded, as a crash there
/// would (the next run resolves it). Returns the run's result and how delivery went.
pub async fn run_alerting<S: Store + Sync, B: Broker + Sync, N: Notifier>(
    store: &S,
    request: &TradeRequest,
    live: Option<&B>,
    notifier: Option<&N>,
    stop: Option<&AtomicBool>,
) -> Result<(Result<TradeOutcome, AppError>, Option<Delivery>), AppError> {
    let result = run(store, request, live, |_| {
        if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .await;
    let Some(notifier) = notifier else {
        return Ok((result, None));
    };
    let records = match &result {
        Ok(o) => alert_records(o)?,
        Err(e) => {
            let (now, _) = clock_now(store).await?;
            vec![error_record(&request.name, now, e)]
        }
    };
    let delivery = crate::alerts::deliver_records(notifier, records).await;
    Ok((result, Some(delivery)))
}

/// A runner's name: 1–40 letters, digits, `-` or `_` (it keys documents and client ids).
fn validate_name(name: &str) -> Result<(), AppError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::InvalidSetting {
            setting: "name",
            reason: format!("runner name {name:?} must be 1-40 letters, digits, '-' or '_'"),
        })
    }
}

/// A runner's account, orders and fills.
pub async fn status<S: Store>(store: &S, name: &str) -> Result<TradeStatus, AppError> {
    let s = load(store, name).await?.ok_or_else(|| {
        AppError::State(format!(
            "no runner named {name} (start it with `pulse trade run`)"
        ))
    })?;
    Ok(TradeStatus {
        account: s.engine.portfolio().clone(),
        meta: s.meta,
        orders: store.trade_orders(name).await.map_err(AppError::port)?,
        fills: store.trade_fills(name).await.map_err(AppError::port)?,
    })
}

/// A runner's state in short (the dashboard's live update).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerState {
    /// The runner's name.
    pub name: String,
    /// Running, stopped or halted.
    pub status: RunnerStatus,
    /// Close instant of the last bar processed.
    pub last_close: Option<Timestamp>,
}

/// Every runner's state, in start order (reads only the runners' progress records).
pub async fn states<S: Store>(store: &S) -> Result<Vec<RunnerState>, AppError> {
    let mut out = Vec::new();
    for name in runners(store).await? {
        let m = meta(store, &name).await?;
        out.push(RunnerState {
            name: m.name,
            status: m.status,
            last_close: m.last_close,
        });
    }
    Ok(out)
}

/// What the dashboard's overview reads of a runner (see [`crate::overview`]).
#[derive(Debug, Clone)]
pub struct RunnerView {
    /// Progress, status and settings.
    pub meta: RunnerMeta,
    /// The engine's account.
    pub account: Portfolio,
    /// Equity marked at the last processed closes (account currency).
    pub equity: f64,
    /// The last processed close of each traded symbol.
    pub prices: BTreeMap<Symbol, f64>,
    /// Every fill, oldest first.
    pub fills: Vec<Fill>,
    /// The daily equity curve ([`equity_history`]).
    pub history: Vec<EquityPoint>,
    /// The strategy's base symbol with its closes (close instant, price) over the curve's span,
    /// in the runner's bar size; `None` before the runner has a curve.
    pub benchmark: Option<(Symbol, Vec<(Timestamp, f64)>)>,
}

/// A runner's account, equity curve and its benchmark's closes, for the overview.
pub async fn view<S: Store>(store: &S, name: &str) -> Result<RunnerView, AppError> {
    let s = load(store, name)
        .await?
        .ok_or_else(|| AppError::State(format!("no runner named {name}")))?;
    let history = equity_history(store, name).await?;
    let benchmark = match (history.first(), s.meta.last_close) {
        (Some(first), Some(last)) => {
            let symbol = s.engine.strategy().benchmark_symbol();
            // A day before the first point, so that the first point has a close at or before it.
            let from = first
                .at
                .checked_sub(jiff::SignedDuration::from_hours(24 * 7))
                .ok();
            let bars =
                crate::market::load_series(store, &symbol, s.meta.timeframe, from, Some(last))
                    .await?;
            let closes = bars
                .iter()
                .filter_map(|b| Some((close_of(s.meta.exchange, s.meta.timeframe, b.ts)?, b.close)))
                .filter(|(t, _)| *t <= last)
                .collect();
            Some((symbol, closes))
        }
        _ => None,
    };
    Ok(RunnerView {
        account: s.engine.portfolio().clone(),
        equity: s.engine.equity(),
        prices: s.engine.last_prices().clone(),
        fills: store.trade_fills(name).await.map_err(AppError::port)?,
        meta: s.meta,
        history,
        benchmark,
    })
}

/// Stops a runner: cancels its working orders at the broker and stops deciding until resumed.
/// Returns the cancelled orders' client ids.
pub async fn stop<S: Store + Sync, B: Broker + Sync>(
    store: &S,
    name: &str,
    live: Option<&B>,
) -> Result<Vec<ClientOrderId>, AppError> {
    Box::pin(stop_runner(store, name, live)).await
}

async fn stop_runner<S: Store + Sync, B: Broker + Sync>(
    store: &S,
    name: &str,
    live: Option<&B>,
) -> Result<Vec<ClientOrderId>, AppError> {
    let (now, _) = clock_now(store).await?;
    let mut s = load(store, name)
        .await?
        .ok_or_else(|| AppError::State(format!("no runner named {name}")))?;
    let broker = venue(store, &s.meta, &s.book, live)?;
    let journal = store.trade_orders(name).await.map_err(AppError::port)?;
    let mut cancelled = Vec::new();
    let mut records = Vec::new();
    for st in broker.open_orders().await? {
        let done = broker.cancel(&st.client_id).await?;
        if let Some(r) = journal.iter().find(|r| r.order.client_id == st.client_id) {
            records.push(from_status(name, &r.order, &done, now));
        }
        cancelled.push(st.client_id);
    }
    s.meta.status = RunnerStatus::Stopped;
    let entry = serde_json::json!({"stop": name, "cancelled": cancelled});
    save_step(
        store,
        &s,
        &broker.book(&s.book),
        &records,
        &[],
        &[audit(now, entry)],
    )
    .await?;
    Ok(cancelled)
}

/// Resumes a stopped or halted runner (a person has looked).
pub async fn resume<S: Store + Sync>(store: &S, name: &str) -> Result<RunnerMeta, AppError> {
    let (now, _) = clock_now(store).await?;
    let mut s = load(store, name)
        .await?
        .ok_or_else(|| AppError::State(format!("no runner named {name}")))?;
    s.meta.status = RunnerStatus::Running;
    let book = s.book.clone();
    let entry = serde_json::json!({"resume": name});
    save_audited(store, &s, &book, audit(now, entry)).await?;
    Ok(s.meta)
}

/// Flattens a runner: stops it (cancelling working orders) and sends, through the risk layer's
/// gate, a sell of every position; they fill at the next close, which `pulse trade run` books
/// (a stopped runner books fills but decides nothing). Returns the orders sent.
pub async fn flatten<S: Store + Sync, B: Broker + Sync>(
    store: &S,
    name: &str,
    live: Option<&B>,
) -> Result<Vec<OrderRequest>, AppError> {
    Box::pin(flatten_runner(store, name, live)).await
}

async fn flatten_runner<S: Store + Sync, B: Broker + Sync>(
    store: &S,
    name: &str,
    live: Option<&B>,
) -> Result<Vec<OrderRequest>, AppError> {
    stop(store, name, live).await?;
    let (now, _) = clock_now(store).await?;
    let mut s = load(store, name)
        .await?
        .ok_or_else(|| AppError::State(format!("no runner named {name}")))?;
    let broker = venue(store, &s.meta, &s.book, live)?;
    let decided = s.meta.last_close.unwrap_or(now);
    let orders: Vec<OrderRequest> = s
        .engine
        .portfolio()
        .positions
        .iter()
        .filter(|(_, q)| **q > Decimal::ZERO)
        .map(|(symbol, q)| OrderRequest {
            client_id: ClientOrderId(format!("flatten-{name}-{}-{symbol}", now.as_second())),
            symbol: symbol.clone(),
            side: Side::Sell,
            quantity: *q,
            decided_at: decided,
            kind: pulse_core::OrderKind::Market,
            time_in_force: pulse_core::TimeInForce::Day,
        })
        .collect();
    let (approved, refused) = s.engine.approve(orders);
    if let Some(r) = refused.first() {
        return Err(AppError::State(format!("flatten refused: {}", r.message)));
    }
    let intents: Vec<TradeOrderRecord> = approved
        .iter()
        .map(|o| record(name, o.get(), "intent", now))
        .collect();
    save_step(store, &s, &broker.book(&s.book), &intents, &[], &[]).await?;
    let mut sent = Vec::new();
    for order in &approved {
        let st = broker.submit(order).await?;
        sent.push(from_status(name, order.get(), &st, now));
    }
    s.book = broker.book(&s.book);
    let book = s.book.clone();
    save_step(store, &s, &book, &sent, &[], &[]).await?;
    Ok(approved.into_iter().map(RiskApproved::into_inner).collect())
}

/// The alerts of a run, in time order: restarts resolved, target changes, orders sent, fills
/// (a partial one named so), risk events — each an [`AlertRecord`] whose message starts with
/// what it is (`SENT`, `FILL`, `PARTIAL FILL`, `RISK`, `RESTART`).
pub fn alert_records(outcome: &TradeOutcome) -> Result<Vec<AlertRecord>, AppError> {
    let name = &outcome.meta.name;
    let plain = |ts: Timestamp, message: String| AlertRecord {
        ts,
        strategy: format!("trade: {name}"),
        message,
        old_weights_json: "{}".into(),
        new_weights_json: "{}".into(),
    };
    let mut records = Vec::new();
    for r in &outcome.resolved {
        records.push(plain(outcome.now, format!("RESTART {r}")));
    }
    if outcome.risk_settings_applied {
        records.push(plain(
            outcome.now,
            "RISK the team's changed risk settings were applied".to_string(),
        ));
    }
    for a in &outcome.alerts {
        records.push(crate::backtest::alert_record(a)?);
    }
    for o in &outcome.submitted {
        records.push(plain(
            o.decided_at,
            format!(
                "SENT {} {} {} ({})",
                o.side, o.quantity, o.symbol, o.client_id
            ),
        ));
    }
    for f in &outcome.fills {
        let ordered = outcome
            .submitted
            .iter()
            .find(|o| o.client_id == f.client_id)
            .map(|o| o.quantity);
        let what = if ordered.is_some_and(|q| f.quantity < q) {
            "PARTIAL FILL"
        } else {
            "FILL"
        };
        records.push(plain(
            f.ts,
            format!(
                "{what} {} {} {} @ {} fee {} ({})",
                f.side, f.quantity, f.symbol, f.price, f.fee, f.client_id
            ),
        ));
    }
    for e in &outcome.risk_events {
        records.push(plain(e.ts, format!("RISK {}", e.message)));
    }
    for d in &outcome.summaries {
        records.push(plain(d.at, summary_message(name, d)));
    }
    records.sort_by_key(|r| r.ts);
    Ok(records)
}

/// The daily summary's text: `SUMMARY <runner> <day>: equity … (±x.xx % on the day), cash …,
/// positions …; n fill(s), m order(s)`.
pub fn summary_message(name: &str, d: &DaySummary) -> String {
    let change = d.change.map_or("first summary".to_string(), |c| {
        format!("{:+.2} % on the day", c * 100.0)
    });
    let held: Vec<String> = d
        .account
        .positions
        .iter()
        .filter(|(_, q)| !q.is_zero())
        .map(|(s, q)| format!("{} {s}", q.normalize()))
        .collect();
    let agents: String = d
        .agents
        .iter()
        .map(|a| {
            let hit = a
                .hit_rate
                .map_or("—".to_string(), |h| format!("{:.0} %", h * 100.0));
            format!(
                ", {} {:.2} (hit {hit} of {})",
                a.kind.as_str(),
                a.weight,
                a.scored
            )
        })
        .collect();
    format!(
        "SUMMARY {name} {}: equity {:.2} ({change}), cash {}, positions {}; {} fill(s), {} order(s){}",
        d.day,
        d.equity,
        d.account.cash.round_dp(2),
        if held.is_empty() {
            "none".to_string()
        } else {
            held.join(", ")
        },
        d.fills,
        d.orders,
        if agents.is_empty() {
            String::new()
        } else {
            format!("; agents{}", agents.replacen(',', ":", 1))
        }
    )
}

/// The alert of a runner that stopped on an error (a halt by reconciliation, a broker error).
pub fn error_record(name: &str, at: Timestamp, error: &AppError) -> AlertRecord {
    AlertRecord {
        ts: at,
        strategy: format!("trade: {name}"),
        message: format!("ERROR runner {name}: {error}"),
        old_weights_json: "{}".into(),
        new_weights_json: "{}".into(),
    }
}
