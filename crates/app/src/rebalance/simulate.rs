//! `pulse rebalance simulate`: the SPEC §6 protocol replayed over real prices.
//!
//! Each trading day of the chosen calendar: at 08:30 the observation in force (the last line of
//! the signals file dated on or before the day, its omitted `mp` or Sub-MP classes carried over
//! from the lines before: omitted means unchanged) goes to the state machine; at 09:40 it decides
//! with the previous close as the latest price; the paper broker (`broker-paper`, the same
//! `Broker` interface real brokers implement) fills the day's orders at that day's close, sells
//! first, buys capped to cash, commission on notional, booked exactly. An order of a symbol
//! without a bar that day stays working and fills at the close of the first later day that has
//! one, booked on that day (never at a price from after the day being simulated). Prices are the
//! real (raw) closes, for decisions, fills and NAV alike (dividends are not credited).

use super::{Calendar, Session, first_close_after, session_close};
use crate::AppError;
use crate::backtest::{validate_commission, validate_money};
use broker_paper::{PaperBook, PaperBroker, PriceSource};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use pulse_core::calendar::calendar;
use pulse_core::costs::CostModel;
use pulse_core::money::{money_to_f64, price_to_money};
use pulse_core::ports::Store;
use pulse_core::{Exchange, Side, Symbol, Timeframe};
use pulse_execution::Broker;
use pulse_rebalance::{
    RebalanceConfig, RebalanceEvent, RebalanceState, Rebalancer, Signal, SplitMode, SubMpSpec,
};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Daily closes as the paper broker's price source, each stamped at its session's close (a daily
/// bar labelled 00:00Z closes at 16:00 New York).
struct SessionCloses {
    closes: BTreeMap<Symbol, BTreeMap<Date, Decimal>>,
    exchange: Exchange,
}

impl PriceSource for SessionCloses {
    async fn price_after(&self, symbol: &Symbol, after: Timestamp) -> Option<(Timestamp, Decimal)> {
        let day = after
            .to_zoned(calendar(self.exchange).time_zone().clone())
            .date();
        let closes = self.closes.get(symbol)?.range(day..).map(|(d, p)| (*d, *p));
        first_close_after(self.exchange, after, closes)
    }
}

/// One dated line of a signals file, with what it omits carried over from the lines before.
#[derive(Debug, Clone, PartialEq)]
pub struct DatedSignal {
    /// First day the observation holds.
    pub date: Date,
    /// The observation.
    pub signal: Signal,
}

/// Reads a JSON Lines signals file: one observation per line with its `date`, dates increasing;
/// errors name the file and line. Also returns the file's text (the report shows it).
pub fn read_signals(path: &Path) -> Result<(Vec<DatedSignal>, String), AppError> {
    let text = crate::data::read_text_file(path)?;
    let mut out: Vec<DatedSignal> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let signal: Signal = serde_json::from_str(line)
            .map_err(|e| AppError::Signal(format!("{at}: not a signal: {e}")))?;
        let date = signal
            .date
            .ok_or_else(|| AppError::Signal(format!("{at}: the line has no \"date\"")))?;
        if out.last().is_some_and(|p| p.date >= date) {
            return Err(AppError::Signal(format!(
                "{at}: dates must increase line by line"
            )));
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
        .map_err(|e| AppError::Signal(format!("{at}: {e}")))?;
        out.push(DatedSignal { date, signal });
    }
    if out.is_empty() {
        return Err(AppError::Signal(format!("{}: no signals", path.display())));
    }
    Ok((out, text))
}

/// What to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulateRequest {
    /// The JSON Lines signals file.
    pub signals: PathBuf,
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
    /// Trading-day calendar (and session closes).
    pub calendar: Calendar,
    /// Starting cash (positive).
    pub cash: Decimal,
    /// Commission per side, fraction of notional in `[0, 1)`.
    pub commission: Decimal,
    /// How a plan is split over its days (30/20/20/20/rest or 1/N).
    pub split: SplitMode,
}

/// One fill of the replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRow {
    /// Day it was booked (the day its close exists).
    pub date: Date,
    /// Security.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Shares.
    pub quantity: Decimal,
    /// Price per share.
    pub price: Decimal,
    /// Commission.
    pub fee: Decimal,
    /// Plan id.
    pub plan: String,
    /// Step of the plan (1-based).
    pub step: u32,
}

/// Net asset value at one day's close.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NavRow {
    /// Trading day.
    pub date: Date,
    /// Cash plus holdings at the day's closes (account currency).
    pub nav: f64,
    /// Cash.
    pub cash: Decimal,
    /// Weight held per security at the close (fraction of `nav`).
    pub weights: BTreeMap<Symbol, f64>,
    /// Target weight per security of the model in force (fraction of NAV; empty before the
    /// first model is confirmed).
    pub targets: BTreeMap<Symbol, f64>,
    /// True when the running plan is paused at the close (a signal pending).
    pub paused: bool,
}

/// The replay's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulateOutcome {
    /// Every fill.
    pub orders: Vec<OrderRow>,
    /// NAV per trading day.
    pub nav: Vec<NavRow>,
    /// Shares held at the end.
    pub holdings: BTreeMap<Symbol, Decimal>,
    /// Cash at the end.
    pub cash: Decimal,
    /// Commission paid.
    pub fees: Decimal,
    /// Sum of fill notionals.
    pub traded_notional: Decimal,
    /// Every event of the state machine.
    pub events: Vec<RebalanceEvent>,
    /// Whether a plan is still running at the end.
    pub rebalancing_active: bool,
    /// The signals file as read (the report shows it; not serialized).
    #[serde(skip)]
    pub signals_text: String,
    /// The account currency (every named security's quote currency).
    pub currency: pulse_core::Currency,
    /// The raw closes the replay decided, traded and valued at (for the report; not serialized).
    #[serde(skip)]
    pub closes: BTreeMap<Symbol, BTreeMap<Date, Decimal>>,
}

/// Every security any signal names, in order of appearance.
fn symbols_named(signals: &[DatedSignal]) -> Vec<Symbol> {
    let mut symbols: Vec<Symbol> = Vec::new();
    for s in signals {
        for spec in s.signal.sub_mp.values() {
            let names: Vec<&Symbol> = match spec {
                SubMpSpec::Weights(w) => w.keys().collect(),
                SubMpSpec::EqualWeight(v) => v.iter().collect(),
            };
            for n in names {
                if !symbols.contains(n) {
                    symbols.push(n.clone());
                }
            }
        }
    }
    symbols
}

/// The real (raw) daily closes of `symbols` from two weeks before `from`: what an order trades
/// at (dividend-adjusted closes rewrite past prices and would fill at prices that never traded).
async fn load_closes<S: Store>(
    store: &S,
    symbols: &[Symbol],
    from: Date,
) -> Result<BTreeMap<Symbol, BTreeMap<Date, Decimal>>, AppError> {
    let start = from
        .checked_sub(jiff::Span::new().days(14))
        .and_then(|d| d.to_zoned(TimeZone::UTC))
        .map_err(|source| AppError::Time {
            what: format!("two weeks before {from}"),
            source,
        })?
        .timestamp();
    let mut closes = BTreeMap::new();
    for s in symbols {
        let column: BTreeMap<Date, Decimal> =
            crate::market::load_series(store, s, Timeframe::D1, Some(start), None)
                .await?
                .iter()
                .filter_map(|b| {
                    price_to_money(b.close, 2).map(|p| (b.ts.to_zoned(TimeZone::UTC).date(), p))
                })
                .collect();
        if column.is_empty() {
            return Err(AppError::Data(format!(
                "no daily prices for {s} (import it with `pulse data import`)"
            )));
        }
        closes.insert(s.clone(), column);
    }
    Ok(closes)
}

/// `<plan>-<step>-<SYMBOL>` → (plan, step).
fn split_client_id(id: &str) -> (String, u32) {
    let mut parts = id.rsplitn(3, '-');
    let _symbol = parts.next();
    let step = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let plan = parts.next().unwrap_or(id).to_string();
    (plan, step)
}

/// Replays the signals day by day through the state machine and the paper broker.
pub async fn simulate<S: Store>(
    store: &S,
    request: &SimulateRequest,
) -> Result<SimulateOutcome, AppError> {
    validate_commission(request.commission)?;
    validate_money("cash", request.cash)?;
    if request.cash <= Decimal::ZERO {
        return Err(AppError::setting("cash", "must be positive"));
    }
    if request.from > request.to {
        return Err(AppError::Usage(format!(
            "--from {} is after --to {}",
            request.from, request.to
        )));
    }
    let (signals, signals_text) = read_signals(&request.signals)?;
    let exchange = request.calendar.exchange();
    let cal = calendar(exchange);
    let days = cal.trading_days(request.from, request.to)?;
    if days.is_empty() {
        return Err(AppError::Data(format!(
            "no {exchange} trading days between {} and {}",
            request.from, request.to
        )));
    }
    let symbols = symbols_named(&signals);
    let currency = crate::market::account_currency(store, &symbols).await?;
    let closes = load_closes(store, &symbols, request.from).await?;
    let rb = Rebalancer::new(RebalanceConfig {
        costs: CostModel::commission_only(request.commission),
        split_mode: request.split,
        calendar: Some(exchange),
        ..RebalanceConfig::default()
    })?;
    let session = Session {
        rb: &rb,
        broker: PaperBroker::new(
            PaperBook::new(request.cash, CostModel::commission_only(request.commission)),
            SessionCloses {
                closes: closes.clone(),
                exchange,
            },
        ),
    };
    let mut state = RebalanceState::default();
    let mut events: Vec<RebalanceEvent> = Vec::new();
    let mut orders: Vec<OrderRow> = Vec::new();
    let mut nav: Vec<NavRow> = Vec::new();
    let mut fees = Decimal::ZERO;
    let mut traded_notional = Decimal::ZERO;
    let close_of = |s: &Symbol, range: std::ops::RangeTo<Date>| {
        closes
            .get(s)
            .and_then(|c| c.range(range).next_back().map(|(_, p)| *p))
    };
    for &day in &days {
        // 08:30: the observation in force today.
        let observation = signals.iter().rev().find(|s| s.date <= day);
        events.extend(session.intake(&mut state, day, observation.map(|o| &o.signal))?);
        // 09:40: decide with the latest known prices (yesterday's closes).
        let prices: BTreeMap<Symbol, Decimal> = symbols
            .iter()
            .filter_map(|s| close_of(s, ..day).map(|p| (s.clone(), p)))
            .collect();
        let decided_at = day
            .at(9, 40, 0, 0)
            .to_zoned(cal.time_zone().clone())
            .map_err(|source| AppError::Time {
                what: format!("09:40 on {day}"),
                source,
            })?
            .timestamp();
        let decision = session.decide(&mut state, day, decided_at, &prices).await?;
        events.extend(decision.events.iter().cloned());
        let approved = session.approve(decision.orders.clone(), &prices).await?;
        session.submit(&approved).await?;
        // The day's close: only prices that exist by the end of this session fill.
        let until = session_close(exchange, day).unwrap_or(decided_at);
        let settled = session.settle(&mut state, day, until).await?;
        for fill in &settled.fills {
            fees += fill.fee;
            traded_notional += fill.notional();
            let (plan, step) = split_client_id(&fill.client_id.0);
            orders.push(OrderRow {
                date: day,
                symbol: fill.symbol.clone(),
                side: fill.side,
                quantity: fill.quantity,
                price: fill.price,
                fee: fill.fee,
                plan,
                step,
            });
        }
        events.extend(settled.events);
        let account = session.broker.account().await.map_err(AppError::port)?;
        let next_day = day.tomorrow().map_err(|source| AppError::Time {
            what: format!("the day after {day}"),
            source,
        })?;
        let values: BTreeMap<Symbol, f64> = account
            .positions
            .iter()
            .map(|(s, q)| {
                let value = money_to_f64(*q * close_of(s, ..next_day).unwrap_or(Decimal::ZERO));
                (s.clone(), value)
            })
            .collect();
        let total = money_to_f64(account.cash) + values.values().sum::<f64>();
        nav.push(NavRow {
            date: day,
            nav: total,
            cash: account.cash,
            weights: values
                .into_iter()
                .map(|(s, v)| (s, if total > 0.0 { v / total } else { 0.0 }))
                .collect(),
            targets: state
                .active
                .as_ref()
                .map(|m| m.target_weights())
                .unwrap_or_default(),
            paused: state.plan.as_ref().is_some_and(|p| p.paused),
        });
    }
    let account = session.broker.account().await.map_err(AppError::port)?;
    Ok(SimulateOutcome {
        orders,
        nav,
        holdings: account.positions,
        cash: account.cash,
        fees,
        traded_notional,
        events,
        rebalancing_active: state.is_rebalancing_active(),
        signals_text,
        currency,
        closes,
    })
}

/// Consecutive paused days as shaded spans `(first, last)`.
fn paused_spans(nav: &[NavRow]) -> Vec<(Date, Date)> {
    let mut spans: Vec<(Date, Date)> = Vec::new();
    let mut open: Option<(Date, Date)> = None;
    for row in nav {
        match (&mut open, row.paused) {
            (Some(span), true) => span.1 = row.date,
            (None, true) => open = Some((row.date, row.date)),
            (Some(_), false) => spans.extend(open.take()),
            (None, false) => {}
        }
    }
    spans.extend(open);
    spans
}

/// The report model of a replay: NAV with the paused periods shaded, its metrics (no risk-free
/// rate), the held vs target weights, the closes with every fill, monthly returns and the fills;
/// the signals file is shown as its configuration.
pub fn simulation_report(
    request: &SimulateRequest,
    outcome: &SimulateOutcome,
) -> Result<pulse_report::BacktestReport, AppError> {
    use crate::backtest::{RiskFreeChoice, SeriesRef, analysis_of, fill_record, metric_cells_of};
    use pulse_report::{
        BacktestReport, EquitySeries, MetricsRow, PriceSeries, SampleLabel, ShadedSpan,
        TradeMarker, TradeRow, WeightsSeries,
    };
    const NAME: &str = "Rebalancer";
    let exchange = request.calendar.exchange();
    let dates: Vec<String> = outcome.nav.iter().map(|n| n.date.to_string()).collect();
    let equity: Vec<f64> = outcome.nav.iter().map(|n| n.nav).collect();
    let timestamps = outcome
        .nav
        .iter()
        .map(|n| {
            n.date
                .to_zoned(TimeZone::UTC)
                .map(|z| z.timestamp())
                .map_err(|source| AppError::Time {
                    what: format!("the start of {}", n.date),
                    source,
                })
        })
        .collect::<Result<Vec<Timestamp>, AppError>>()?;
    let exposure: Vec<f64> = outcome
        .nav
        .iter()
        .map(|n| n.weights.values().map(|w| w.abs()).sum())
        .collect();
    let fills: Vec<pulse_analytics::FillRecord> = outcome
        .orders
        .iter()
        .map(|o| {
            let ts = o
                .date
                .to_zoned(TimeZone::UTC)
                .map(|z| z.timestamp())
                .unwrap_or(Timestamp::UNIX_EPOCH);
            fill_record(ts, &o.symbol, o.side, o.quantity, o.price, o.fee)
        })
        .collect();
    let analysis = analysis_of(
        NAME,
        &SeriesRef {
            timestamps: &timestamps,
            equity: &equity,
            gross_exposure: &exposure,
            fills: &fills,
        },
        pulse_core::Periodicity::of_bars(Timeframe::D1, exchange),
        &RiskFreeChoice::Zero,
    )?;
    // Every security held or targeted at some point, in symbol order.
    let symbols: Vec<Symbol> = outcome
        .nav
        .iter()
        .flat_map(|n| n.weights.keys().chain(n.targets.keys()))
        .cloned()
        .collect::<std::collections::BTreeSet<Symbol>>()
        .into_iter()
        .collect();
    let column = |m: &BTreeMap<Symbol, f64>| -> Vec<f64> {
        symbols
            .iter()
            .map(|s| m.get(s).copied().unwrap_or(0.0))
            .collect()
    };
    let prices = symbols
        .iter()
        .filter_map(|s| {
            let closes = outcome.closes.get(s)?;
            let (dates, close): (Vec<String>, Vec<f64>) = closes
                .range(request.from..=request.to)
                .map(|(d, p)| (d.to_string(), money_to_f64(*p)))
                .unzip();
            let markers = outcome
                .orders
                .iter()
                .filter(|o| &o.symbol == s)
                .map(|o| TradeMarker {
                    date: o.date.to_string(),
                    side: o.side,
                    price: money_to_f64(o.price),
                    quantity: money_to_f64(o.quantity),
                })
                .collect();
            Some(PriceSeries {
                symbol: s.to_string(),
                dates,
                close,
                markers,
            })
        })
        .collect();
    let paused = paused_spans(&outcome.nav);
    let mut notes = vec![format!(
        "Signals: {}. Decisions at 09:40 with the previous close, paper fills at the day's close, {} commission. Metrics without a risk-free rate.",
        request.signals.display(),
        request.commission
    )];
    if !paused.is_empty() {
        let days: usize = outcome.nav.iter().filter(|n| n.paused).count();
        notes.push(format!(
            "The plan was paused on {days} trading day(s) in {} period(s) while a changed signal was pending (shaded).",
            paused.len()
        ));
    }
    Ok(BacktestReport {
        title: "Rebalancing simulation (MP/Sub-MP, 3-day rule, split entry)".into(),
        generated_for: format!(
            "{}..{} on the {} calendar",
            request.from, request.to, request.calendar
        ),
        sample_label: SampleLabel::OutOfSample,
        notes,
        config_toml: outcome.signals_text.clone(),
        initial_cash: money_to_f64(request.cash),
        currency: outcome.currency.as_str().into(),
        series: vec![EquitySeries {
            name: NAME.into(),
            dates: dates.clone(),
            equity: equity.clone(),
        }],
        metrics: vec![MetricsRow {
            name: NAME.into(),
            values: metric_cells_of(&analysis.metrics, outcome.fees),
        }],
        metric_catalogue: pulse_report::default_metric_catalogue(),
        weights: WeightsSeries {
            strategy: String::new(),
            dates: dates.clone(),
            symbols: symbols.iter().map(Symbol::to_string).collect(),
            target: outcome.nav.iter().map(|n| column(&n.targets)).collect(),
            actual: outcome.nav.iter().map(|n| column(&n.weights)).collect(),
        },
        prices,
        monthly_returns: analysis.monthly.clone(),
        trades: outcome
            .orders
            .iter()
            .map(|o| TradeRow {
                date: o.date.to_string(),
                symbol: o.symbol.to_string(),
                side: o.side,
                quantity: money_to_f64(o.quantity),
                price: money_to_f64(o.price),
                fee: money_to_f64(o.fee),
                notional: money_to_f64(o.quantity * o.price),
            })
            .collect(),
        alerts: Vec::new(),
        frontier: None,
        sweep: None,
        risk: None,
        shaded: paused
            .into_iter()
            .map(|(from, to)| ShadedSpan {
                from: from.to_string(),
                to: to.to_string(),
                label: "plan paused (signal pending)".into(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn client_ids_split_into_plan_and_step() {
        assert_eq!(
            split_client_id("rb20240102-1-3-SPY"),
            ("rb20240102-1".to_string(), 3)
        );
        assert_eq!(split_client_id("odd"), ("odd".to_string(), 0));
    }

    #[test]
    fn consecutive_paused_days_form_one_span() {
        let row = |d: &str, paused| NavRow {
            date: d.parse().unwrap(),
            nav: 1.0,
            cash: Decimal::ONE,
            weights: BTreeMap::new(),
            targets: BTreeMap::new(),
            paused,
        };
        let nav = [
            row("2024-01-02", true),
            row("2024-01-03", true),
            row("2024-01-04", false),
            row("2024-01-05", true),
        ];
        let spans: Vec<(String, String)> = paused_spans(&nav)
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(
            spans,
            [
                ("2024-01-02".to_string(), "2024-01-03".to_string()),
                ("2024-01-05".to_string(), "2024-01-05".to_string())
            ]
        );
    }
}
