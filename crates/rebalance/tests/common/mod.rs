//! Test harness: a paper broker (fills at the given prices, fee = rate × notional, refuses to
//! overspend or oversell, de-duplicates client ids) and a driver around the rebalancer.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use jiff::civil::Date;
use jiff::tz::TimeZone;
use pulse_core::{ClientOrderId, Fill, OrderRequest, Portfolio, Side, Symbol};
use pulse_rebalance::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

pub fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn day(s: &str) -> Date {
    s.parse().unwrap()
}

pub fn prices(list: &[(&str, &str)]) -> BTreeMap<Symbol, Decimal> {
    list.iter().map(|(s, p)| (sym(s), d(p))).collect()
}

pub fn signal(json: &str) -> Signal {
    serde_json::from_str(json).unwrap()
}

pub fn model(json: &str) -> Model {
    let s = signal(json);
    let v = validate_signal(&s, &Model::default(), &RebalanceConfig::default()).unwrap();
    Model {
        mp: v.mp.unwrap(),
        sub_mp: v.sub_mp,
    }
}

pub fn ts(date: Date) -> jiff::Timestamp {
    date.to_zoned(TimeZone::UTC).unwrap().timestamp()
}

/// A paper broker for tests.
#[derive(Debug, Clone)]
pub struct Paper {
    pub book: Portfolio,
    pub fee_rate: Decimal,
    pub open: Vec<OrderRequest>,
    pub seen: BTreeSet<ClientOrderId>,
    pub fills: Vec<Fill>,
    pub duplicates_ignored: usize,
    pub fees: Decimal,
    pub notional: Decimal,
}

impl Paper {
    pub fn new(book: Portfolio, fee_rate: Decimal) -> Self {
        Paper {
            book,
            fee_rate,
            open: Vec::new(),
            seen: BTreeSet::new(),
            fills: Vec::new(),
            duplicates_ignored: 0,
            fees: Decimal::ZERO,
            notional: Decimal::ZERO,
        }
    }

    /// Accepts orders whose client id is new; ignores re-submissions (idempotency).
    pub fn submit(&mut self, orders: &[OrderRequest]) {
        for o in orders {
            if self.seen.insert(o.client_id.clone()) {
                self.open.push(o.clone());
            } else {
                self.duplicates_ignored += 1;
            }
        }
    }

    /// Fills every open order at `prices`, sells first; panics if cash would go negative or a
    /// sale exceeds the position (the invariants the rebalancer must keep).
    pub fn fill_all(&mut self, prices: &BTreeMap<Symbol, Decimal>, date: Date) -> Vec<Fill> {
        let mut open = std::mem::take(&mut self.open);
        open.sort_by_key(|o| (o.side == Side::Buy, o.symbol.clone()));
        let mut out = Vec::new();
        for o in open {
            let price = prices[&o.symbol];
            let notional = o.quantity * price;
            let fill = Fill {
                exec_id: None,
                client_id: o.client_id.clone(),
                symbol: o.symbol.clone(),
                side: o.side,
                quantity: o.quantity,
                price,
                fee: notional * self.fee_rate,
                ts: ts(date),
            };
            self.book
                .apply_fill(&fill, false)
                .unwrap_or_else(|e| panic!("{date}: {e} (order {})", o.client_id));
            self.fees += fill.fee;
            self.notional += notional;
            self.fills.push(fill.clone());
            out.push(fill);
        }
        out
    }

    /// Fills booked for these ids (what a restarted runtime asks the broker for).
    pub fn fills_for(&self, ids: &BTreeSet<ClientOrderId>) -> Vec<Fill> {
        self.fills
            .iter()
            .filter(|f| ids.contains(&f.client_id))
            .cloned()
            .collect()
    }
}

/// The rebalancer, its state, a paper broker and everything that came out.
pub struct Sim {
    pub rb: Rebalancer,
    pub state: RebalanceState,
    pub broker: Paper,
    pub events: Vec<RebalanceEvent>,
    pub orders: Vec<OrderRequest>,
}

impl Sim {
    pub fn new(cfg: RebalanceConfig, state: RebalanceState, book: Portfolio) -> Self {
        let fee = cfg.costs.commission_rate;
        Sim {
            rb: Rebalancer::new(cfg).unwrap(),
            state,
            broker: Paper::new(book, fee),
            events: Vec::new(),
            orders: Vec::new(),
        }
    }

    pub fn signal(&mut self, date: &str, json: &str) -> Vec<RebalanceEvent> {
        let ev = self
            .rb
            .on_signal(&mut self.state, day(date), &signal(json))
            .unwrap();
        self.events.extend(ev.clone());
        ev
    }

    /// Decides, submits; fills only when `fill` (else the orders stay in flight).
    pub fn execute_with(
        &mut self,
        date: &str,
        px: &BTreeMap<Symbol, Decimal>,
        fill: bool,
    ) -> DayDecision {
        let date = day(date);
        let in_flight = self.broker.open.clone();
        let input = ExecutionInput {
            date,
            decided_at: ts(date),
            holdings: &self.broker.book,
            prices: px,
            in_flight: &in_flight,
        };
        let dec = self.rb.on_execution_day(&mut self.state, &input).unwrap();
        self.events.extend(dec.events.clone());
        self.orders.extend(dec.orders.clone());
        self.broker.submit(&dec.orders);
        if fill {
            self.fill(date, px);
        }
        dec
    }

    pub fn fill(&mut self, date: Date, px: &BTreeMap<Symbol, Decimal>) {
        let fills = self.broker.fill_all(px, date);
        let ev = self.rb.on_fills(&mut self.state, date, &fills);
        self.events.extend(ev);
    }

    pub fn execute(&mut self, date: &str, px: &BTreeMap<Symbol, Decimal>) -> DayDecision {
        self.execute_with(date, px, true)
    }

    /// Net trades still needed against the active model (no in-flight orders).
    pub fn net(&self, px: &BTreeMap<Symbol, Decimal>) -> NetTrades {
        self.rb
            .net_trades(&self.state, &self.broker.book, px, &self.broker.open)
            .unwrap()
    }

    pub fn qty(&self, s: &str) -> Decimal {
        self.broker.book.quantity(&sym(s))
    }
}

pub fn order_qty(dec: &DayDecision, s: &str) -> Decimal {
    dec.orders
        .iter()
        .filter(|o| o.symbol.as_str() == s)
        .map(|o| o.side.sign() * o.quantity)
        .sum()
}

pub fn kinds(events: &[RebalanceEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e.kind {
            EventKind::Pending { .. } => "pending",
            EventKind::PendingReset { .. } => "reset",
            EventKind::Confirmed { .. } => "confirmed",
            EventKind::Reverted { .. } => "reverted",
            EventKind::PlanStarted { .. } => "started",
            EventKind::PlanDiscarded { .. } => "discarded",
            EventKind::ClassRestarted { .. } => "class_restarted",
            EventKind::Paused { .. } => "paused",
            EventKind::Resumed { .. } => "resumed",
            EventKind::Held { .. } => "held",
            EventKind::StepDone { .. } => "step",
            EventKind::StepFilled { .. } => "filled",
            EventKind::PlanFinished { .. } => "finished",
            EventKind::DriftProposed { .. } => "drift",
        })
        .collect()
}

/// Rounds to whole shares the way the rebalancer does (nearest, half away from zero).
pub fn round(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

pub fn frac(x: f64) -> Decimal {
    use rust_decimal::prelude::FromPrimitive;
    Decimal::from_f64(x).unwrap()
}
