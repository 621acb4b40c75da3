//! The rebalancing use cases (SPEC §6, issue 7): the clock (wall or simulated "time travel"), the
//! scheduler on an exchange calendar (08:30 signal intake, 09:40 execution, local time), the
//! paper broker, the state kept in the store in one transaction per step, and the replay of a
//! dated signal history ([`simulate`]). Both the runtime and the replay drive the state machine
//! through the same [`Session`] steps, so the protocol (what the state machine sees, when orders
//! go to the broker, how fills come back) exists once.
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
//! Concurrency: one runner at a time. `init`, `signal` and `run` hold the store's exclusive lock
//! `rebalance` from before they read the state until after they wrote it, so two `run`s at the
//! same due time execute the day's step once.

pub mod simulate;

use crate::AppError;
use crate::backtest::{validate_commission, validate_money};
use broker_paper::{PaperBook, PaperBroker, PriceSource};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use pulse_core::calendar::calendar;
use pulse_core::costs::CostModel;
use pulse_core::money::price_to_money;
use pulse_core::ports::{AuditEntry, BarPager, BarQuery, Clock, Store};
use pulse_core::{Exchange, Fill, OrderRequest, Symbol, Timeframe, WallClock};
use pulse_execution::{Broker, GateLimits, RiskApproved, approve_orders};
use pulse_rebalance::{
    DayDecision, ExecutionInput, Mp, RebalanceConfig, RebalanceEvent, RebalanceState, Rebalancer,
    Signal, SubMp, SubMpSpec, validate_signal,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

const CLOCK: &str = "clock";
const STATE: &str = "rebalance.state";
const RUNTIME: &str = "rebalance.runtime";
/// Name of the store lock held by one runner at a time.
const RUNNER_LOCK: &str = "rebalance";
/// Local minute of the day of the signal intake (08:30).
const INTAKE_MINUTE: i32 = 8 * 60 + 30;
/// Local minute of the day of the execution (09:40).
const EXECUTION_MINUTE: i32 = 9 * 60 + 40;

/// Exchange calendar of a rebalancing schedule (trading days, time zone, session close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Calendar {
    /// Korea Exchange (Asia/Seoul).
    Krx,
    /// New York Stock Exchange (America/New_York).
    Nyse,
}

impl Calendar {
    /// The exchange whose calendar this is.
    pub fn exchange(self) -> Exchange {
        match self {
            Calendar::Krx => Exchange::Krx,
            Calendar::Nyse => Exchange::Nyse,
        }
    }
}

impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Calendar::Krx => "krx",
            Calendar::Nyse => "nyse",
        })
    }
}

/// How the securities of a Sub-MP class given by name are weighted inside their class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Weighting {
    /// Equally (1/N).
    #[default]
    Equal,
    /// By liquidity: average daily dollar volume (close × volume) over a window of stored bars.
    Liquidity,
}

/// The simulated clock document.
#[derive(Debug, Serialize, Deserialize)]
struct ClockDoc {
    simulated: Option<Timestamp>,
}

/// The runtime document: schedule, paper account, the latest submitted view.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Runtime {
    exchange: Exchange,
    commission: Decimal,
    /// The paper broker's book (account, orders by client id, unreported fills).
    book: PaperBook,
    observation: Option<Signal>,
    last_intake: Option<Date>,
    last_execution: Option<Date>,
}

impl Runtime {
    fn rebalancer(&self) -> Result<Rebalancer, AppError> {
        Ok(Rebalancer::new(RebalanceConfig {
            costs: CostModel::commission_only(self.commission),
            calendar: Some(self.exchange),
            ..RebalanceConfig::default()
        })?)
    }
}

/// When the close of a daily bar dated `day` is known: the end of that day's session on the
/// exchange's calendar (`None` on a day without a session). Every paper-broker price source of the
/// rebalancer stamps closes with it, so an order decided at 09:40 fills at that day's close.
pub fn session_close(exchange: Exchange, day: Date) -> Option<Timestamp> {
    calendar(exchange)
        .session(day)
        .ok()
        .flatten()
        .map(|s| s.close)
}

/// The first session close after `after` among dated closes `(day, price)` in day order, from
/// the day `after` falls on (local time) onwards.
fn first_close_after<'a>(
    exchange: Exchange,
    after: Timestamp,
    closes: impl Iterator<Item = (Date, Decimal)> + 'a,
) -> Option<(Timestamp, Decimal)> {
    let day = after
        .to_zoned(calendar(exchange).time_zone().clone())
        .date();
    closes.skip_while(|(d, _)| *d < day).find_map(|(d, p)| {
        session_close(exchange, d)
            .filter(|t| *t > after)
            .map(|t| (t, p))
    })
}

/// Stored daily closes as the paper broker's prices: the real (raw, unadjusted) close of each
/// session, stamped at its session's close (it does not exist before; the runtime matches only
/// prices stamped at or before its clock).
pub(crate) struct StoreCloses<'a, S> {
    store: &'a S,
    exchange: Exchange,
}

impl<'a, S> StoreCloses<'a, S> {
    /// Closes of `store`'s daily bars, stamped at `exchange`'s session closes.
    pub(crate) fn new(store: &'a S, exchange: Exchange) -> Self {
        StoreCloses { store, exchange }
    }
}

impl<S: Store + Sync> PriceSource for StoreCloses<'_, S> {
    async fn price_after(&self, symbol: &Symbol, after: Timestamp) -> Option<(Timestamp, Decimal)> {
        let day = after
            .to_zoned(calendar(self.exchange).time_zone().clone())
            .date();
        let query = BarQuery {
            symbol: symbol.clone(),
            timeframe: Timeframe::D1,
            start: Some(day.to_zoned(TimeZone::UTC).ok()?.timestamp()),
            end: None,
        };
        let bars = self.store.bars_page(&query, None, 10).await.ok()?;
        let closes: Vec<(Date, Decimal)> = bars
            .iter()
            .filter_map(|b| {
                price_to_money(b.close, 2).map(|p| (b.ts.to_zoned(TimeZone::UTC).date(), p))
            })
            .collect();
        first_close_after(self.exchange, after, closes.into_iter())
    }
}

/// One paper-trading session of the SPEC §6 protocol: the state machine and the paper broker,
/// with the steps that both the runtime (under a clock, persisting after each) and the replay
/// (every trading day of a range) take.
struct Session<'a, P> {
    rb: &'a Rebalancer,
    broker: PaperBroker<P>,
}

/// What one settlement booked.
struct Settled {
    fills: Vec<Fill>,
    events: Vec<RebalanceEvent>,
}

impl<P: PriceSource + Send + Sync> Session<'_, P> {
    /// 08:30: the observation in force goes to the state machine.
    fn intake(
        &self,
        state: &mut RebalanceState,
        day: Date,
        observation: Option<&Signal>,
    ) -> Result<Vec<RebalanceEvent>, AppError> {
        Ok(match observation {
            Some(signal) => self.rb.on_signal(state, day, signal)?,
            None => Vec::new(),
        })
    }

    /// 09:40: the state machine decides with the holdings and the working orders the broker
    /// books and the latest known prices. The caller records the decision before [`submit`].
    ///
    /// [`submit`]: Session::submit
    async fn decide(
        &self,
        state: &mut RebalanceState,
        day: Date,
        decided_at: Timestamp,
        prices: &BTreeMap<Symbol, Decimal>,
    ) -> Result<DayDecision, AppError> {
        let in_flight = self.broker.working_orders();
        let holdings = self.broker.account().await.map_err(AppError::port)?;
        Ok(self.rb.on_execution_day(
            state,
            &ExecutionInput {
                date: day,
                decided_at,
                holdings: &holdings,
                prices,
                in_flight: &in_flight,
            },
        )?)
    }

    /// Passes a batch of orders through the risk layer's gate against the account the broker
    /// books and the decision's prices (no short sale, buys within the cash). The rebalancer's
    /// sizing never asks for more, so a refusal is an error: nothing of the step is saved or sent.
    async fn approve(
        &self,
        orders: Vec<OrderRequest>,
        prices: &BTreeMap<Symbol, Decimal>,
    ) -> Result<Vec<RiskApproved<OrderRequest>>, AppError> {
        let account = self.broker.account().await.map_err(AppError::port)?;
        let approval = approve_orders(orders, &account, prices, GateLimits::default());
        if let Some(refusal) = approval.refused.into_iter().next() {
            return Err(AppError::OrderRefused {
                client_id: refusal.order.client_id.0,
                reason: refusal.reason,
            });
        }
        Ok(approval.approved)
    }

    /// Sends approved orders to the broker (idempotent per client id).
    async fn submit(&self, orders: &[RiskApproved<OrderRequest>]) -> Result<(), AppError> {
        for order in orders {
            self.broker.submit(order).await.map_err(AppError::port)?;
        }
        Ok(())
    }

    /// Fills every working order whose price exists by `until` (never a fill stamped after it)
    /// and books the fills in the state.
    async fn settle(
        &self,
        state: &mut RebalanceState,
        day: Date,
        until: Timestamp,
    ) -> Result<Settled, AppError> {
        self.broker
            .match_orders_until(until)
            .await
            .map_err(AppError::port)?;
        let fills = self.broker.take_fills().await.map_err(AppError::port)?;
        let events = self.rb.on_fills(state, day, &fills);
        Ok(Settled { fills, events })
    }
}

/// One runner at a time (see the module doc).
async fn runner_lock<S: Store>(store: &S) -> Result<S::Lock, AppError> {
    store
        .lock_exclusive(RUNNER_LOCK)
        .await
        .map_err(AppError::port)
}

/// The clock's now and whether it is simulated.
/// The clock's instant (time travel's when on) and whether it is simulated.
pub(crate) async fn clock_now<S: Store>(store: &S) -> Result<(Timestamp, bool), AppError> {
    now(store).await
}

async fn now<S: Store>(store: &S) -> Result<(Timestamp, bool), AppError> {
    let doc: Option<ClockDoc> = match store.document(CLOCK).await.map_err(AppError::port)? {
        Some(s) => Some(
            serde_json::from_str(&s)
                .map_err(|e| AppError::State(format!("stored clock is corrupt: {e}")))?,
        ),
        None => None,
    };
    Ok(match doc.and_then(|d| d.simulated) {
        Some(t) => (t, true),
        None => (WallClock.now(), false),
    })
}

fn audit(ts: Timestamp, subsystem: &str, value: impl Serialize) -> AuditEntry {
    AuditEntry {
        ts,
        subsystem: subsystem.into(),
        entry_json: serde_json::to_string(&value).unwrap_or_default(),
    }
}

async fn load_runtime<S: Store>(store: &S) -> Result<Option<(Runtime, RebalanceState)>, AppError> {
    let Some(rt) = store.document(RUNTIME).await.map_err(AppError::port)? else {
        return Ok(None);
    };
    let runtime: Runtime = serde_json::from_str(&rt)
        .map_err(|e| AppError::State(format!("stored rebalance runtime is corrupt: {e}")))?;
    let state: RebalanceState = match store.document(STATE).await.map_err(AppError::port)? {
        Some(s) => serde_json::from_str(&s)
            .map_err(|e| AppError::State(format!("stored rebalance state is corrupt: {e}")))?,
        None => RebalanceState::default(),
    };
    Ok(Some((runtime, state)))
}

/// True when the rebalancer has been set up (`pulse rebalance init`).
pub async fn is_set_up<S: Store>(store: &S) -> Result<bool, AppError> {
    Ok(store
        .document(RUNTIME)
        .await
        .map_err(AppError::port)?
        .is_some())
}

/// The trading day whose 08:30 intake time has come by the clock (the rebalancer's calendar,
/// local time), or `None` before 08:30 and on days the exchange is closed. Whether the intake
/// itself has run is not asked: a job that must precede it (the scheduled macro prompt) runs
/// on the same day either way.
pub async fn intake_day<S: Store>(store: &S) -> Result<Option<Date>, AppError> {
    let (runtime, _) = require_runtime(store).await?;
    let (ts, _) = now(store).await?;
    let cal = calendar(runtime.exchange);
    let local = ts.to_zoned(cal.time_zone().clone());
    let minutes = i32::from(local.hour()) * 60 + i32::from(local.minute());
    let today = local.date();
    Ok((cal.is_trading_day(today)? && minutes >= INTAKE_MINUTE).then_some(today))
}

async fn require_runtime<S: Store>(store: &S) -> Result<(Runtime, RebalanceState), AppError> {
    load_runtime(store).await?.ok_or_else(|| {
        AppError::State("set up the rebalancer first: `pulse rebalance init`".into())
    })
}

/// Stores runtime and state with `audit` in one transaction.
async fn save<S: Store>(
    store: &S,
    runtime: &Runtime,
    state: &RebalanceState,
    audit: &[AuditEntry],
) -> Result<(), AppError> {
    let encode = |what, e| AppError::Encode { what, source: e };
    let docs = [
        (
            RUNTIME,
            serde_json::to_string(runtime).map_err(|e| encode("the rebalance runtime", e))?,
        ),
        (
            STATE,
            serde_json::to_string(state).map_err(|e| encode("the rebalance state", e))?,
        ),
    ];
    store
        .save_documents(&docs, audit)
        .await
        .map_err(AppError::port)
}

/// A move of the simulated clock: `1d` (the next day at 08:00 local time, before the intake),
/// `2d`, `90m`, `3h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStep {
    /// How many units.
    pub amount: i64,
    /// Days (landing at 08:00 local), hours or minutes.
    pub unit: ClockUnit,
}

/// Unit of a [`ClockStep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockUnit {
    /// Calendar days; lands at 08:00 in the schedule's time zone.
    Days,
    /// Hours.
    Hours,
    /// Minutes.
    Minutes,
}

impl FromStr for ClockStep {
    type Err = AppError;

    fn from_str(by: &str) -> Result<Self, AppError> {
        let by = by.trim();
        let (n, unit) = by.split_at(by.find(|c: char| !c.is_ascii_digit()).unwrap_or(by.len()));
        let amount: i64 = n.parse().map_err(|_| {
            AppError::Usage(format!("clock advance {by:?}: expected e.g. 1d, 90m, 3h"))
        })?;
        let unit = match unit {
            "d" => ClockUnit::Days,
            "h" => ClockUnit::Hours,
            "m" => ClockUnit::Minutes,
            _ => {
                return Err(AppError::Usage(format!(
                    "clock advance {by:?}: unit must be d, h or m"
                )));
            }
        };
        Ok(ClockStep { amount, unit })
    }
}

impl fmt::Display for ClockStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            ClockUnit::Days => "d",
            ClockUnit::Hours => "h",
            ClockUnit::Minutes => "m",
        };
        write!(f, "{}{unit}", self.amount)
    }
}

impl ClockStep {
    /// The time `self` after `current` in time zone `tz` (a usage error past year 9999).
    pub fn after(self, current: Timestamp, tz: &TimeZone) -> Result<Timestamp, AppError> {
        let out_of_range = || {
            AppError::Usage(format!(
                "clock advance {:?}: moves the clock past the year 9999",
                self.to_string()
            ))
        };
        match self.unit {
            ClockUnit::Days => {
                let days = jiff::Span::new()
                    .try_days(self.amount)
                    .map_err(|_| out_of_range())?;
                Ok(current
                    .to_zoned(tz.clone())
                    .date()
                    .checked_add(days)
                    .and_then(|d| d.at(8, 0, 0, 0).to_zoned(tz.clone()))
                    .map_err(|_| out_of_range())?
                    .timestamp())
            }
            ClockUnit::Hours | ClockUnit::Minutes => {
                let per = if self.unit == ClockUnit::Hours {
                    3600
                } else {
                    60
                };
                self.amount
                    .checked_mul(per)
                    .and_then(|s| current.checked_add(SignedDuration::from_secs(s)).ok())
                    .ok_or_else(out_of_range)
            }
        }
    }
}

/// A change of the clock (`pulse clock set|advance|reset`, the dashboard's time travel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockChange {
    /// Travel to this instant.
    Set(Timestamp),
    /// Travel to this local date and time of the schedule's time zone (a browser's
    /// `datetime-local` field).
    SetLocal(jiff::civil::DateTime),
    /// Move the simulated clock forward (from the wall clock if none is set).
    Advance(ClockStep),
    /// Today (by the clock, in the schedule's time zone) at this local time: the dashboard's
    /// 08:30 and 09:40 presets.
    At(jiff::civil::Time),
    /// Back to the wall clock.
    Reset,
}

/// The clock as read or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockReading {
    /// The instant.
    pub now: Timestamp,
    /// The instant in the schedule's time zone (KRX's before `rebalance init`), RFC 9557 text.
    pub local: String,
    /// True when time travel is on.
    pub simulated: bool,
}

/// Reads the clock, or changes it first when `change` is given (recorded in the audit log).
pub async fn clock<S: Store>(
    store: &S,
    change: Option<ClockChange>,
) -> Result<ClockReading, AppError> {
    let exchange = match load_runtime(store).await? {
        Some((rt, _)) => rt.exchange,
        None => Exchange::Krx,
    };
    let tz = calendar(exchange).time_zone().clone();
    let (current, simulated) = now(store).await?;
    let (shown, simulated) = match change {
        None => (current, simulated),
        Some(change) => {
            let sim = match change {
                ClockChange::Reset => None,
                ClockChange::Set(t) => Some(t),
                ClockChange::Advance(step) => Some(step.after(current, &tz)?),
                ClockChange::SetLocal(at) => Some(
                    at.to_zoned(tz.clone())
                        .map_err(|source| AppError::Time {
                            what: format!(
                                "{at} in {}",
                                tz.iana_name().unwrap_or("the schedule's zone")
                            ),
                            source,
                        })?
                        .timestamp(),
                ),
                ClockChange::At(time) => Some(
                    current
                        .to_zoned(tz.clone())
                        .date()
                        .to_datetime(time)
                        .to_zoned(tz.clone())
                        .map_err(|source| AppError::Time {
                            what: format!("{time} on the clock's day"),
                            source,
                        })?
                        .timestamp(),
                ),
            };
            let doc = serde_json::to_string(&ClockDoc { simulated: sim }).map_err(|e| {
                AppError::Encode {
                    what: "the clock",
                    source: e,
                }
            })?;
            let ts = sim.unwrap_or_else(|| WallClock.now());
            store
                .save_documents(
                    &[(CLOCK, doc)],
                    &[audit(ts, "clock", serde_json::json!({ "set": sim }))],
                )
                .await
                .map_err(AppError::port)?;
            (ts, sim.is_some())
        }
    };
    Ok(ClockReading {
        now: shown,
        local: shown.to_zoned(tz).to_string(),
        simulated,
    })
}

/// What `init` sets up.
#[derive(Debug, Clone, PartialEq)]
pub struct InitRequest {
    /// Starting cash of the paper account (positive).
    pub cash: Decimal,
    /// Calendar of the schedule.
    pub calendar: Calendar,
    /// Commission per side, fraction of notional in `[0, 1)`.
    pub commission: Decimal,
    /// Start over, discarding state and account.
    pub force: bool,
}

/// Sets up the paper account and the schedule (once; again only with `force`).
pub async fn init<S: Store>(store: &S, request: &InitRequest) -> Result<(), AppError> {
    validate_money("cash", request.cash)?;
    if request.cash.is_zero() {
        return Err(AppError::setting("cash", "must be positive"));
    }
    validate_commission(request.commission)?;
    let _runner = runner_lock(store).await?;
    if !request.force && load_runtime(store).await?.is_some() {
        return Err(AppError::Conflict(
            "the rebalancer is already set up (use --force to start over)".into(),
        ));
    }
    let runtime = Runtime {
        exchange: request.calendar.exchange(),
        commission: request.commission,
        book: PaperBook::new(request.cash, CostModel::commission_only(request.commission)),
        observation: None,
        last_intake: None,
        last_execution: None,
    };
    let (ts, _) = now(store).await?;
    let entry = serde_json::json!({"init": {"cash": request.cash, "calendar": request.calendar}});
    save(
        store,
        &runtime,
        &RebalanceState::default(),
        &[audit(ts, "rebalance", entry)],
    )
    .await
}

/// Parses `--mp stocks=0.6,bonds=0.3,cash=0.1` (class weights).
pub fn parse_mp(text: &str) -> Result<Mp, AppError> {
    let mut weights = BTreeMap::new();
    for part in text.split(',') {
        let (class, weight) = part
            .split_once('=')
            .ok_or_else(|| AppError::Usage(format!("--mp {part:?}: expected class=weight")))?;
        let weight = weight
            .trim()
            .parse::<f64>()
            .map_err(|_| AppError::Usage(format!("--mp {part:?}: weight is not a number")))?;
        weights.insert(class.trim().to_string(), weight);
    }
    Ok(weights)
}

/// Parses `--sub-mp stocks=SPY,QQQ` into the class and its securities.
pub fn parse_sub_mp(text: &str) -> Result<(String, Vec<Symbol>), AppError> {
    let (class, symbols) = text
        .split_once('=')
        .ok_or_else(|| AppError::Usage(format!("--sub-mp {text:?}: expected class=SYM,SYM")))?;
    let symbols = symbols
        .split(',')
        .map(|s| Symbol::try_new(s.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Usage(format!("--sub-mp {text:?}: {e}")))?;
    Ok((class.trim().to_string(), symbols))
}

/// A macro view as given by flags or a form: MP class weights and Sub-MP securities by class.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignalRequest {
    /// Class weights (`None`: MP unchanged).
    pub mp: Option<Mp>,
    /// Securities per class.
    pub sub_mp: Vec<(String, Vec<Symbol>)>,
    /// How the securities of a class are weighted.
    pub weighting: Weighting,
    /// Window of [`Weighting::Liquidity`], in stored daily bars.
    pub liquidity_days: u32,
}

impl SignalRequest {
    /// The signal, with Sub-MP weights resolved (liquidity weights read from the store).
    pub async fn resolve<S: Store>(&self, store: &S) -> Result<Signal, AppError> {
        let mut signal = Signal {
            mp: self.mp.clone(),
            ..Signal::default()
        };
        for (class, symbols) in &self.sub_mp {
            let spec = match self.weighting {
                Weighting::Equal => SubMpSpec::EqualWeight(symbols.clone()),
                Weighting::Liquidity => SubMpSpec::Weights(
                    liquidity_weights(store, symbols, self.liquidity_days).await?,
                ),
            };
            signal.sub_mp.insert(class.clone(), spec);
        }
        if signal.mp.is_none() && signal.sub_mp.is_empty() {
            return Err(AppError::Usage("give --file, --mp or --sub-mp".into()));
        }
        Ok(signal)
    }
}

/// A signal from a JSON file (`{"mp": {…}, "sub_mp": {…}}`); errors name the file.
pub fn read_signal_file(path: &std::path::Path) -> Result<Signal, AppError> {
    let text = crate::data::read_text_file(path)?;
    serde_json::from_str(&text)
        .map_err(|e| AppError::Signal(format!("{}: not a signal: {e}", path.display())))
}

/// Stores the macro view observed at every 08:30 intake until replaced. What it omits stays as
/// observed so far ("MP unchanged"), so a pending change keeps being counted by the 3-day rule.
/// The signal is validated against the model the state machine will compare it with (the active
/// one with the pending values applied), so a bad signal is refused here; the debounce runs at
/// the intake, on the trading day it observes. Returns the signal stored.
pub async fn signal<S: Store>(store: &S, signal: Signal) -> Result<Signal, AppError> {
    let _runner = runner_lock(store).await?;
    let (mut runtime, state) = require_runtime(store).await?;
    let signal = checked_signal(&runtime, &state, signal)?;
    runtime.observation = Some(signal.clone());
    let (ts, _) = now(store).await?;
    let entry = audit(ts, "rebalance", serde_json::json!({ "signal": signal }));
    save(store, &runtime, &state, &[entry]).await?;
    Ok(signal)
}

/// The signal as [`signal`] would store it (what it omits carried over from the view observed so
/// far), validated against the model the state machine will compare it with; nothing is stored.
pub async fn check_signal<S: Store>(store: &S, signal: Signal) -> Result<Signal, AppError> {
    let (runtime, state) = require_runtime(store).await?;
    checked_signal(&runtime, &state, signal)
}

fn checked_signal(
    runtime: &Runtime,
    state: &RebalanceState,
    signal: Signal,
) -> Result<Signal, AppError> {
    let signal = signal.carried_over(runtime.observation.as_ref());
    let rb = runtime.rebalancer()?;
    validate_signal(&signal, &state.proposed_model(), rb.config())
        .map_err(|e| AppError::Signal(format!("invalid signal: {e}")))?;
    Ok(signal)
}

/// Liquidity rule of SPEC §6: weights proportional to each security's average daily dollar
/// volume (close × volume) over its last `days` stored daily bars, summing to 1.
pub async fn liquidity_weights<S: Store>(
    store: &S,
    symbols: &[Symbol],
    days: u32,
) -> Result<SubMp, AppError> {
    let series = store.series().await.map_err(AppError::port)?;
    let mut dollar = Vec::new();
    for s in symbols {
        let Some(info) = series
            .iter()
            .find(|x| &x.symbol == s && x.timeframe == Timeframe::D1)
        else {
            return Err(AppError::Data(format!(
                "liquidity weighting needs daily bars of {s} in the store"
            )));
        };
        let n = u64::from(days.max(1)).min(info.rows);
        // Keyset-page to the last `n` bars (the store pages forward from a timestamp).
        let query = BarQuery {
            symbol: s.clone(),
            timeframe: Timeframe::D1,
            start: None,
            end: None,
        };
        let mut pager = BarPager::new(query, 10_000);
        let mut tail = std::collections::VecDeque::new();
        while let Some(chunk) = pager.next_chunk(store).await.map_err(AppError::port)? {
            for b in chunk {
                let Some(v) = b.volume else {
                    return Err(AppError::Data(format!(
                        "liquidity weighting needs volumes: {s} has none at {}",
                        b.ts
                    )));
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
        return Err(AppError::Data(format!(
            "liquidity weighting: no traded volume for {symbols:?}"
        )));
    }
    Ok(symbols
        .iter()
        .cloned()
        .zip(dollar.iter().map(|d| d / total))
        .collect())
}

/// Latest stored real (raw) close strictly before `day` (what is known at the 09:40 decision;
/// orders are sized at the price they trade at, not at a dividend-adjusted one).
async fn close_before<S: Store>(
    store: &S,
    symbol: &Symbol,
    day: Date,
) -> Result<Option<Decimal>, AppError> {
    let time = |what: &str, e| AppError::Time {
        what: format!("{what} {day}"),
        source: e,
    };
    let start = day
        .checked_sub(20.days())
        .and_then(|d| d.to_zoned(TimeZone::UTC))
        .map_err(|e| time("twenty days before", e))?
        .timestamp();
    let end = day
        .to_zoned(TimeZone::UTC)
        .map_err(|e| time("the start of", e))?
        .timestamp();
    let bars =
        crate::market::load_series(store, symbol, Timeframe::D1, Some(start), Some(end)).await?;
    Ok(bars
        .iter()
        .rev()
        .filter(|b| b.ts < end)
        .find_map(|b| price_to_money(b.close, 2)))
}

/// Every security the runtime may value or trade: holdings, active targets, the observed view
/// and pending Sub-MPs.
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

/// What `run` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    /// The clock's now.
    pub now: Timestamp,
    /// `now` in the schedule's time zone (RFC 9557 text).
    #[serde(skip)]
    pub local: String,
    /// Whether today is a trading day of the schedule's calendar.
    pub trading_day: bool,
    /// What was done, one line each (missed days, intake and execution events, fills).
    pub done: Vec<String>,
}

fn fill_line(fill: &Fill) -> String {
    format!(
        "filled {} {} {} @ {} (fee {}) at {}",
        fill.side,
        fill.quantity,
        fill.symbol,
        fill.price,
        fill.fee.round_dp(2),
        fill.ts
    )
}

/// Runs what is due now by the clock: the 08:30 intake and the 09:40 execution of today (each
/// at most once a day), after booking fills whose price exists by now.
pub async fn run<S: Store + Sync>(store: &S) -> Result<RunOutcome, AppError> {
    let _runner = runner_lock(store).await?;
    let (mut runtime, mut state) = require_runtime(store).await?;
    let rb = runtime.rebalancer()?;
    let (ts, _) = now(store).await?;
    let cal = calendar(runtime.exchange);
    let local = ts.to_zoned(cal.time_zone().clone());
    let today = local.date();
    let minutes = i32::from(local.hour()) * 60 + i32::from(local.minute());
    let mut done: Vec<String> = Vec::new();
    let trading = cal.is_trading_day(today)?;
    // Missed runs since the last one (never replayed with hindsight).
    if let Some(last) = runtime.last_execution.max(runtime.last_intake) {
        let first_missed = cal.next_trading_day(last)?;
        if first_missed < today {
            let missed = cal.trading_days(first_missed, cal.previous_trading_day(today)?)?;
            if let (Some(first), Some(last)) = (missed.first(), missed.last()) {
                let msg = format!(
                    "missed {} trading day(s) {first}..={last}: not replayed; pending counts restart",
                    missed.len(),
                );
                let entry = audit(ts, "rebalance", serde_json::json!({ "missed": msg }));
                store
                    .save_documents(&[], &[entry])
                    .await
                    .map_err(AppError::port)?;
                done.push(msg);
            }
        }
    }
    // The paper broker resumes its book.
    let session = Session {
        rb: &rb,
        broker: PaperBroker::new(
            runtime.book.clone(),
            StoreCloses {
                store,
                exchange: runtime.exchange,
            },
        ),
    };
    if trading && minutes >= INTAKE_MINUTE && runtime.last_intake.is_none_or(|d| d < today) {
        let events = session.intake(&mut state, today, runtime.observation.as_ref())?;
        runtime.last_intake = Some(today);
        let entries: Vec<AuditEntry> = events.iter().map(|e| audit(ts, "rebalance", e)).collect();
        save(store, &runtime, &state, &entries).await?;
        done.extend(
            events
                .iter()
                .map(|e| format!("{} intake: {}", e.date, e.reason)),
        );
        if events.is_empty() {
            done.push(format!("{today} intake: nothing new"));
        }
    }
    // Orders the state recorded but the book never saw (a crash between the decision and the
    // submission) are approved again and submitted: client ids make it idempotent.
    let unseen: Vec<OrderRequest> = state
        .unfilled_orders()
        .into_iter()
        .filter(|o| !session.broker.knows(&o.client_id))
        .cloned()
        .collect();
    if !unseen.is_empty() {
        let mut prices = BTreeMap::new();
        for o in &unseen {
            if let Some(p) = close_before(store, &o.symbol, today).await? {
                prices.insert(o.symbol.clone(), p);
            }
        }
        let approved = session.approve(unseen, &prices).await?;
        session.submit(&approved).await?;
    }
    // Fills whose price exists by now (yesterday's orders at yesterday's close) are booked
    // before today's decision, so that it sees the current holdings.
    settle(
        store,
        &session,
        &mut runtime,
        &mut state,
        ts,
        today,
        &mut done,
    )
    .await?;
    // 09:40 execution: decide and commit BEFORE submitting.
    if trading && minutes >= EXECUTION_MINUTE && runtime.last_execution.is_none_or(|d| d < today) {
        let mut prices = BTreeMap::new();
        for s in symbols_of(&state, &runtime) {
            if let Some(p) = close_before(store, &s, today).await? {
                prices.insert(s, p);
            }
        }
        let decision = session.decide(&mut state, today, ts, &prices).await?;
        let approved = session.approve(decision.orders.clone(), &prices).await?;
        runtime.last_execution = Some(today);
        let mut entries: Vec<AuditEntry> = decision
            .events
            .iter()
            .map(|e| audit(ts, "rebalance", e))
            .collect();
        entries.extend(
            decision
                .orders
                .iter()
                .map(|o| audit(ts, "rebalance", serde_json::json!({ "order": o }))),
        );
        save(store, &runtime, &state, &entries).await?;
        done.extend(
            decision
                .events
                .iter()
                .map(|e| format!("{} execution: {}", e.date, e.reason)),
        );
        if decision.events.is_empty() {
            done.push(format!(
                "{today} execution: {} order(s)",
                decision.orders.len()
            ));
        }
        session.submit(&approved).await?;
    }
    settle(
        store,
        &session,
        &mut runtime,
        &mut state,
        ts,
        today,
        &mut done,
    )
    .await?;
    Ok(RunOutcome {
        now: ts,
        local: local.to_string(),
        trading_day: trading,
        done,
    })
}

/// Settles the session up to `now` and persists book and state with the fills and events.
async fn settle<S: Store + Sync>(
    store: &S,
    session: &Session<'_, StoreCloses<'_, S>>,
    runtime: &mut Runtime,
    state: &mut RebalanceState,
    now: Timestamp,
    today: Date,
    done: &mut Vec<String>,
) -> Result<(), AppError> {
    let settled = session.settle(state, today, now).await?;
    done.extend(settled.fills.iter().map(fill_line));
    runtime.book = session.broker.book();
    let mut entries: Vec<AuditEntry> = settled
        .fills
        .iter()
        .map(|f| audit(now, "rebalance", serde_json::json!({ "fill": f })))
        .collect();
    entries.extend(settled.events.iter().map(|e| audit(now, "rebalance", e)));
    save(store, runtime, state, &entries).await
}

/// A pending (debounced) observation with its count of consecutive trading days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingView<T> {
    /// The observed value.
    pub value: T,
    /// Consecutive trading days observed.
    pub days: u32,
}

/// Pending observations of the MP and of each Sub-MP class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingStatus {
    /// The pending MP.
    pub mp: Option<PendingView<Mp>>,
    /// Pending Sub-MPs by class.
    pub sub_mp: BTreeMap<String, PendingView<SubMp>>,
}

/// The running plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStatus {
    /// Plan id.
    pub id: pulse_rebalance::PlanId,
    /// What it rebalances.
    pub scope: pulse_rebalance::Scope,
    /// First day.
    pub started: Date,
    /// Steps executed.
    pub steps_done: u32,
    /// Paused while a signal is pending.
    pub paused: bool,
}

/// Holdings, targets, pending signals with day counts, the active plan and its step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// The clock's now.
    pub now: Timestamp,
    /// Whether time travel is on.
    pub simulated_clock: bool,
    /// The schedule's exchange.
    pub calendar: Exchange,
    /// Cash of the paper account.
    pub cash: Decimal,
    /// Shares held per symbol.
    pub holdings: BTreeMap<Symbol, Decimal>,
    /// Target weight per security of the active model.
    pub targets: BTreeMap<Symbol, f64>,
    /// Pending observations.
    pub pending: PendingStatus,
    /// The running plan.
    pub plan: Option<PlanStatus>,
    /// True while a plan is running.
    pub is_rebalancing_active: bool,
    /// Orders recorded and not completely filled.
    pub unfilled_orders: Vec<OrderRequest>,
    /// Day of the last intake.
    pub last_intake: Option<Date>,
    /// Day of the last execution.
    pub last_execution: Option<Date>,
}

/// The rebalancer's status.
pub async fn status<S: Store>(store: &S) -> Result<Status, AppError> {
    let (runtime, state) = require_runtime(store).await?;
    let (now, simulated_clock) = now(store).await?;
    Ok(Status {
        now,
        simulated_clock,
        calendar: runtime.exchange,
        cash: runtime.book.account.cash,
        holdings: runtime.book.account.positions.clone(),
        targets: state
            .active
            .as_ref()
            .map(|m| m.target_weights())
            .unwrap_or_default(),
        pending: PendingStatus {
            mp: state.pending.mp.as_ref().map(|p| PendingView {
                value: p.value.clone(),
                days: p.days,
            }),
            sub_mp: state
                .pending
                .sub_mp
                .iter()
                .map(|(k, p)| {
                    (
                        k.clone(),
                        PendingView {
                            value: p.value.clone(),
                            days: p.days,
                        },
                    )
                })
                .collect(),
        },
        plan: state.plan.as_ref().map(|p| PlanStatus {
            id: p.id.clone(),
            scope: p.scope.clone(),
            started: p.started,
            steps_done: p.steps_done,
            paused: p.paused,
        }),
        is_rebalancing_active: state.is_rebalancing_active(),
        unfilled_orders: state.unfilled_orders().into_iter().cloned().collect(),
        last_intake: runtime.last_intake,
        last_execution: runtime.last_execution,
    })
}

/// One audit-log entry, decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// When.
    pub ts: Timestamp,
    /// Which part (`rebalance`, `clock`).
    pub subsystem: String,
    /// The entry (JSON as stored; `null` if the stored text is not JSON).
    pub entry: serde_json::Value,
}

/// The audit log of every decision, oldest first (at most `limit` most recent entries).
pub async fn history<S: Store>(store: &S, limit: u32) -> Result<Vec<HistoryEntry>, AppError> {
    Ok(store
        .audit_log(limit)
        .await
        .map_err(AppError::port)?
        .into_iter()
        .map(|e| HistoryEntry {
            ts: e.ts,
            entry: serde_json::from_str(&e.entry_json).unwrap_or_default(),
            subsystem: e.subsystem,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn clock_steps_parse_and_days_land_at_eight_local() {
        let step: ClockStep = "2d".parse().unwrap();
        assert_eq!(
            step,
            ClockStep {
                amount: 2,
                unit: ClockUnit::Days
            }
        );
        let tz = TimeZone::get("America/New_York").unwrap();
        let t: Timestamp = "2024-01-02T15:00:00-05:00".parse().unwrap();
        let next = step.after(t, &tz).unwrap();
        assert_eq!(next.to_string(), "2024-01-04T13:00:00Z");
        let later = "90m".parse::<ClockStep>().unwrap().after(t, &tz).unwrap();
        assert_eq!(later.to_string(), "2024-01-02T21:30:00Z");
        assert!("3w".parse::<ClockStep>().unwrap_err().is_usage());
        assert!("d".parse::<ClockStep>().unwrap_err().is_usage());
        let far = "99999999d".parse::<ClockStep>().unwrap().after(t, &tz);
        assert!(far.unwrap_err().to_string().contains("past the year 9999"));
    }

    #[test]
    fn the_first_close_after_a_decision_is_that_days_session_close() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let closes = [
            (d("2024-01-02"), Decimal::from(10)),
            (d("2024-01-04"), Decimal::from(12)),
        ];
        // 09:40 New York on 01-02: the close of 01-02 (16:00 local = 21:00Z).
        let at: Timestamp = "2024-01-02T14:40:00Z".parse().unwrap();
        let (t, p) = first_close_after(Exchange::Nyse, at, closes.iter().copied()).unwrap();
        assert_eq!(
            (t.to_string().as_str(), p),
            ("2024-01-02T21:00:00Z", Decimal::from(10))
        );
        // 09:40 on 01-03 (no bar that day): the next close that exists, stamped at its own close.
        let at: Timestamp = "2024-01-03T14:40:00Z".parse().unwrap();
        let (t, p) = first_close_after(Exchange::Nyse, at, closes.iter().copied()).unwrap();
        assert_eq!(
            (t.to_string().as_str(), p),
            ("2024-01-04T21:00:00Z", Decimal::from(12))
        );
    }

    #[test]
    fn mp_and_sub_mp_flags_parse_or_name_the_part() {
        let mp = parse_mp("stocks=0.6, bonds=0.4").unwrap();
        assert_eq!(mp.get("bonds"), Some(&0.4));
        assert!(
            parse_mp("stocks")
                .unwrap_err()
                .to_string()
                .contains("class=weight")
        );
        assert!(
            parse_mp("stocks=x")
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
        let (class, syms) = parse_sub_mp("stocks=SPY,QQQ").unwrap();
        assert_eq!((class.as_str(), syms.len()), ("stocks", 2));
        assert!(parse_sub_mp("SPY").unwrap_err().is_usage());
    }
}
