//! [`Rebalancer`]: the pure state machine. Signals in (`on_signal`), decisions out
//! (`on_execution_day`), fills booked (`on_fills`). No I/O, no clock: the caller passes trading days.

use crate::config::{DriftAction, RebalanceConfig, SplitMode};
use crate::error::{RebalanceError, Result};
use crate::model::{Model, Signal, same_weights, validate_signal};
use crate::state::{
    EventKind, OTHER_TRACK, OrderRecord, Pending, Plan, PlanId, RebalanceEvent, RebalanceState,
    Scope, SignalKey, StepRecord, Track,
};
use crate::trades::{NetTrades, Wanted, calculate_net_trades, dec, size_orders};
use jiff::Timestamp;
use jiff::civil::Date;
use pulse_core::sizing::QuantityRules;
use pulse_core::{ClientOrderId, Fill, OrderRequest, Portfolio, Side, Symbol, calendar::calendar};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Market facts of one execution day, passed by the runtime.
#[derive(Debug, Clone, Copy)]
pub struct ExecutionInput<'a> {
    /// Trading day.
    pub date: Date,
    /// Decision time stamped on the orders (the runtime's clock at 09:40).
    pub decided_at: Timestamp,
    /// Booked cash and positions.
    pub holdings: &'a Portfolio,
    /// Latest price per symbol (account currency per share).
    pub prices: &'a BTreeMap<Symbol, Decimal>,
    /// Orders submitted and not yet (fully) filled; the unfilled rest only.
    pub in_flight: &'a [OrderRequest],
}

/// What to do on an execution day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayDecision {
    /// Orders to submit, sells first (client ids `<plan>-<step>-<symbol>`).
    pub orders: Vec<OrderRequest>,
    /// Audit events.
    pub events: Vec<RebalanceEvent>,
    /// (plan, step) executed today, if any.
    pub step: Option<(PlanId, u32)>,
    /// The call repeated a day already decided: `orders` are the recorded ones, nothing changed.
    pub replayed: bool,
}

/// The rebalancing state machine (configuration only; the state is passed in and out).
#[derive(Debug, Clone, PartialEq)]
pub struct Rebalancer {
    cfg: RebalanceConfig,
}

fn ev(date: Date, kind: EventKind, reason: impl Into<String>) -> RebalanceEvent {
    RebalanceEvent {
        date,
        kind,
        reason: reason.into(),
    }
}

/// Deterministic client order id of (plan, step, symbol).
pub fn client_order_id(plan: &PlanId, step: u32, symbol: &Symbol) -> ClientOrderId {
    ClientOrderId(format!("{plan}-{step}-{symbol}"))
}

enum Observation {
    Nothing,
    Pending(u32),
    Reset,
    Confirmed,
    Reverted,
}

impl Rebalancer {
    /// A rebalancer with a validated configuration.
    pub fn new(cfg: RebalanceConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Rebalancer { cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &RebalanceConfig {
        &self.cfg
    }

    fn consecutive(&self, last: Date, date: Date) -> Result<bool> {
        match self.cfg.calendar {
            None => Ok(date > last),
            Some(ex) => Ok(calendar(ex).next_trading_day(last)? == date),
        }
    }

    /// One debounce step for a key: compares `value` with the active and the pending one.
    fn observe<T: Clone>(
        &self,
        pending: &mut Option<Pending<T>>,
        active: Option<&T>,
        value: &T,
        date: Date,
        eq: impl Fn(&T, &T) -> bool,
    ) -> Result<Observation> {
        if active.is_some_and(|a| eq(a, value)) {
            return Ok(if pending.take().is_some() {
                Observation::Reverted
            } else {
                Observation::Nothing
            });
        }
        let fresh = |p: &mut Option<Pending<T>>| {
            *p = Some(Pending {
                value: value.clone(),
                first_seen: date,
                last_seen: date,
                days: 1,
            });
        };
        let obs = match pending.as_mut() {
            Some(p) if eq(&p.value, value) => {
                if p.last_seen == date {
                    return Ok(Observation::Nothing);
                }
                if self.consecutive(p.last_seen, date)? {
                    p.days += 1;
                    p.last_seen = date;
                    Observation::Pending(p.days)
                } else {
                    fresh(pending);
                    Observation::Reset
                }
            }
            Some(_) => {
                fresh(pending);
                Observation::Reset
            }
            None => {
                fresh(pending);
                Observation::Pending(1)
            }
        };
        let days = pending.as_ref().map_or(0, |p| p.days);
        if days >= self.cfg.confirm_days {
            return Ok(Observation::Confirmed);
        }
        Ok(obs)
    }

    /// Feeds one observation of the macro view on trading day `date` (08:30 intake): debounces the
    /// MP and each given Sub-MP, pauses/resumes the running plan, confirms changes and starts,
    /// restarts or discards plans. Repeating the same call on the same day changes nothing.
    pub fn on_signal(
        &self,
        state: &mut RebalanceState,
        date: Date,
        signal: &Signal,
    ) -> Result<Vec<RebalanceEvent>> {
        if let Some(last) = state.last_signal_date
            && date < last
        {
            return Err(RebalanceError::OutOfOrder {
                what: "signal",
                date,
                last,
            });
        }
        let valid = validate_signal(signal, &state.proposed_model(), &self.cfg)?;
        let mut next = state.clone();
        let mut events = Vec::new();
        let needed = self.cfg.confirm_days;
        let tol = self.cfg.weight_tolerance;
        let mut confirmed_mp = None;
        let mut confirmed_sub = BTreeMap::new();
        if let Some(mp) = &valid.mp {
            let active = next.active.as_ref().map(|m| &m.mp);
            let key = SignalKey::Mp;
            match self.observe(&mut next.pending.mp, active, mp, date, |a, b| {
                same_weights(a, b, tol)
            })? {
                Observation::Nothing => {}
                Observation::Pending(day) => events.push(ev(
                    date,
                    EventKind::Pending { key, day, needed },
                    format!("changed MP seen on day {day} of {needed}"),
                )),
                Observation::Reset => events.push(ev(
                    date,
                    EventKind::PendingReset { key },
                    "MP differs from the pending one (or a trading day was missed): day 1 again",
                )),
                Observation::Reverted => events.push(ev(
                    date,
                    EventKind::Reverted { key },
                    "MP is back to the active one: pending change cancelled",
                )),
                Observation::Confirmed => {
                    next.pending.mp = None;
                    confirmed_mp = Some(mp.clone());
                    events.push(ev(
                        date,
                        EventKind::Confirmed { key },
                        format!("MP held {needed} consecutive trading days"),
                    ));
                }
            }
        }
        for (class, sub) in &valid.sub_mp {
            let active = next.active.as_ref().and_then(|m| m.sub_mp.get(class));
            let key = SignalKey::SubMp {
                class: class.clone(),
            };
            let mut slot = next.pending.sub_mp.remove(class);
            let obs = self.observe(&mut slot, active, sub, date, |a, b| same_weights(a, b, tol))?;
            if let Some(p) = slot {
                next.pending.sub_mp.insert(class.clone(), p);
            }
            match obs {
                Observation::Nothing => {}
                Observation::Pending(day) => events.push(ev(
                    date,
                    EventKind::Pending { key, day, needed },
                    format!("changed Sub-MP of {class} seen on day {day} of {needed}"),
                )),
                Observation::Reset => events.push(ev(
                    date,
                    EventKind::PendingReset { key },
                    format!("Sub-MP of {class} differs from the pending one (or a day was missed): day 1 again"),
                )),
                Observation::Reverted => events.push(ev(
                    date,
                    EventKind::Reverted { key },
                    format!("Sub-MP of {class} is back to the active one: pending change cancelled"),
                )),
                Observation::Confirmed => {
                    next.pending.sub_mp.remove(class);
                    confirmed_sub.insert(class.clone(), sub.clone());
                    events.push(ev(
                        date,
                        EventKind::Confirmed { key },
                        format!("Sub-MP of {class} held {needed} consecutive trading days"),
                    ));
                }
            }
        }
        self.apply_confirmations(&mut next, date, confirmed_mp, confirmed_sub, &mut events);
        // Pause while anything is pending; resume when nothing is.
        let any_pending = !next.pending.is_empty();
        if let Some(plan) = next.plan.as_mut() {
            if any_pending && !plan.paused {
                plan.paused = true;
                events.push(ev(
                    date,
                    EventKind::Paused {
                        plan_id: plan.id.clone(),
                    },
                    "a new signal is pending: no orders until it is confirmed or reverted",
                ));
            } else if !any_pending && plan.paused {
                plan.paused = false;
                events.push(ev(
                    date,
                    EventKind::Resumed {
                        plan_id: plan.id.clone(),
                    },
                    format!(
                        "no signal pending any more: resuming after step {}",
                        plan.steps_done
                    ),
                ));
            }
        }
        next.last_signal_date = Some(date);
        *state = next;
        Ok(events)
    }

    fn new_plan_id(&self, state: &mut RebalanceState, date: Date) -> PlanId {
        state.plans_started += 1;
        PlanId(format!(
            "rb{:04}{:02}{:02}-{}",
            date.year(),
            date.month(),
            date.day(),
            state.plans_started
        ))
    }

    fn global_plan(
        &self,
        state: &mut RebalanceState,
        date: Date,
        mode: SplitMode,
        reason: String,
        events: &mut Vec<RebalanceEvent>,
    ) {
        let shares = self.cfg.shares(mode);
        let mut tracks = BTreeMap::new();
        if let Some(model) = &state.active {
            for class in model.sub_mp.keys() {
                if model.mp.contains_key(class) {
                    tracks.insert(class.clone(), Track::new(shares.clone()));
                }
            }
        }
        tracks.insert(OTHER_TRACK.to_string(), Track::new(shares));
        let id = self.new_plan_id(state, date);
        events.push(ev(
            date,
            EventKind::PlanStarted {
                plan_id: id.clone(),
                scope: Scope::Global,
                mode,
            },
            reason.clone(),
        ));
        state.plan = Some(Plan {
            id,
            scope: Scope::Global,
            mode,
            started: date,
            reason,
            paused: false,
            steps_done: 0,
            tracks,
            sides: BTreeMap::new(),
        });
    }

    fn discard_plan(
        state: &mut RebalanceState,
        date: Date,
        why: &str,
        events: &mut Vec<RebalanceEvent>,
    ) {
        if let Some(old) = state.plan.take() {
            events.push(ev(
                date,
                EventKind::PlanDiscarded {
                    plan_id: old.id.clone(),
                },
                format!("{why}: plan stopped after step {}", old.steps_done),
            ));
            prune_steps(state);
        }
    }

    fn apply_confirmations(
        &self,
        state: &mut RebalanceState,
        date: Date,
        mp: Option<crate::model::Mp>,
        sub: BTreeMap<String, crate::model::SubMp>,
        events: &mut Vec<RebalanceEvent>,
    ) {
        if mp.is_none() && sub.is_empty() {
            return;
        }
        let old = state.active.clone().unwrap_or_default();
        let mut model = old.clone();
        if let Some(mp) = &mp {
            model.mp = mp.clone();
            // Classes new to the MP take their latest observed Sub-MP with it.
            for class in mp.keys() {
                if !model.sub_mp.contains_key(class)
                    && let Some(p) = state.pending.sub_mp.remove(class)
                {
                    model.sub_mp.insert(class.clone(), p.value);
                }
            }
        }
        for (class, s) in &sub {
            model.sub_mp.insert(class.clone(), s.clone());
        }
        model.sub_mp.retain(|c, _| model.mp.contains_key(c));
        state.active = Some(model.clone());
        if mp.is_some() {
            let case2 = matches!(
                state.plan.as_ref().map(|p| &p.scope),
                Some(Scope::Local { .. })
            );
            let (mode, why) = if case2 {
                (
                    SplitMode::Equal,
                    "Case 2: MP confirmed during a local split entry; holdings and in-flight orders netted against the new targets, net delta split 1/N",
                )
            } else if state.plan.is_some() {
                (
                    self.cfg.split_mode,
                    "MP confirmed during a plan: new global plan",
                )
            } else {
                (
                    self.cfg.split_mode,
                    "MP confirmed: global rebalance of all assets",
                )
            };
            Self::discard_plan(state, date, "new MP confirmed", events);
            self.global_plan(state, date, mode, why.to_string(), events);
            return;
        }
        // Sub-MP changes only: local scope.
        let shares = self.cfg.shares(self.cfg.split_mode);
        match state.plan.as_mut() {
            Some(plan) if plan.scope == Scope::Global => {
                for class in sub.keys() {
                    let leaving = old
                        .class_symbols(class)
                        .difference(&model.class_symbols(class))
                        .cloned()
                        .collect::<BTreeSet<_>>();
                    let mut track = Track::new(self.cfg.case1_shares());
                    track.restarted = true;
                    if let Some(prev) = plan.tracks.get(class) {
                        track.liquidate.extend(prev.liquidate.iter().cloned());
                    }
                    track.liquidate.extend(leaving);
                    for s in old
                        .class_symbols(class)
                        .iter()
                        .chain(model.class_symbols(class).iter())
                    {
                        plan.sides.remove(s);
                    }
                    plan.tracks.insert(class.clone(), track);
                    events.push(ev(
                        date,
                        EventKind::ClassRestarted {
                            plan_id: plan.id.clone(),
                            class: class.clone(),
                            first_share: self.cfg.case1_first_share,
                        },
                        format!(
                            "Case 1: Sub-MP of {class} confirmed during a global split entry; {class} restarts at day 1, other classes keep their schedule"
                        ),
                    ));
                }
            }
            Some(plan) => {
                // A local plan: the changed classes (re)start at day 1, the others continue.
                for class in sub.keys() {
                    let leaving = old
                        .class_symbols(class)
                        .difference(&model.class_symbols(class))
                        .cloned()
                        .collect::<BTreeSet<_>>();
                    let mut track = Track::new(shares.clone());
                    if let Some(prev) = plan.tracks.get(class) {
                        track.liquidate.extend(prev.liquidate.iter().cloned());
                    }
                    track.liquidate.extend(leaving);
                    for s in old
                        .class_symbols(class)
                        .iter()
                        .chain(model.class_symbols(class).iter())
                    {
                        plan.sides.remove(s);
                    }
                    plan.tracks.insert(class.clone(), track);
                    if let Scope::Local { classes } = &mut plan.scope {
                        classes.insert(class.clone());
                    }
                    events.push(ev(
                        date,
                        EventKind::ClassRestarted {
                            plan_id: plan.id.clone(),
                            class: class.clone(),
                            first_share: shares.first().copied().unwrap_or(1.0),
                        },
                        format!("Sub-MP of {class} confirmed during a local plan: {class} (re)starts at day 1"),
                    ));
                }
            }
            None => {
                let mut tracks = BTreeMap::new();
                for class in sub.keys() {
                    let mut track = Track::new(shares.clone());
                    track.liquidate = old
                        .class_symbols(class)
                        .difference(&model.class_symbols(class))
                        .cloned()
                        .collect();
                    tracks.insert(class.clone(), track);
                }
                let classes: BTreeSet<String> = sub.keys().cloned().collect();
                let id = self.new_plan_id(state, date);
                let scope = Scope::Local { classes };
                let reason = format!(
                    "Sub-MP confirmed for {}: local rebalance of that class only",
                    sub.keys().cloned().collect::<Vec<_>>().join(", ")
                );
                events.push(ev(
                    date,
                    EventKind::PlanStarted {
                        plan_id: id.clone(),
                        scope: scope.clone(),
                        mode: self.cfg.split_mode,
                    },
                    reason.clone(),
                ));
                state.plan = Some(Plan {
                    id,
                    scope,
                    mode: self.cfg.split_mode,
                    started: date,
                    reason,
                    paused: false,
                    steps_done: 0,
                    tracks,
                    sides: BTreeMap::new(),
                });
            }
        }
    }

    /// Starts a global plan now (e.g. accepting a `DriftProposed`); discards a running plan.
    pub fn start_global_plan(
        &self,
        state: &mut RebalanceState,
        date: Date,
        reason: &str,
    ) -> Result<Vec<RebalanceEvent>> {
        if state.active.is_none() {
            return Err(RebalanceError::NoModel("cannot start a rebalance"));
        }
        let mut events = Vec::new();
        Self::discard_plan(state, date, "a global rebalance was requested", &mut events);
        self.global_plan(
            state,
            date,
            self.cfg.split_mode,
            reason.to_string(),
            &mut events,
        );
        if !state.pending.is_empty()
            && let Some(plan) = state.plan.as_mut()
        {
            plan.paused = true;
            events.push(ev(
                date,
                EventKind::Paused {
                    plan_id: plan.id.clone(),
                },
                "a signal is pending",
            ));
        }
        Ok(events)
    }

    /// Nets holdings and in-flight orders against the active model's targets at `prices`.
    pub fn net_trades(
        &self,
        state: &RebalanceState,
        holdings: &Portfolio,
        prices: &BTreeMap<Symbol, Decimal>,
        in_flight: &[OrderRequest],
    ) -> Result<NetTrades> {
        let weights = state
            .active
            .as_ref()
            .map(Model::target_weights)
            .unwrap_or_default();
        calculate_net_trades(
            holdings,
            in_flight,
            &weights,
            prices,
            self.cfg.costs.commission_rate,
        )
    }

    /// The largest absolute weight drift from the targets (symbol, drift) — targets include the
    /// fee reserve, i.e. weight × (1 − fee rate).
    pub fn drift(&self, state: &RebalanceState, net: &NetTrades) -> Option<(Symbol, f64)> {
        let model = state.active.as_ref()?;
        let reserve = 1.0
            - rust_decimal::prelude::ToPrimitive::to_f64(&self.cfg.costs.commission_rate)
                .unwrap_or(0.0);
        let targets = model.target_weights();
        let current = net.weights();
        let mut worst: Option<(Symbol, f64)> = None;
        let symbols: BTreeSet<&Symbol> = targets.keys().chain(current.keys()).collect();
        for s in symbols {
            let d = (current.get(s).copied().unwrap_or(0.0)
                - targets.get(s).copied().unwrap_or(0.0) * reserve)
                .abs();
            if worst.as_ref().is_none_or(|(_, w)| d > *w) {
                worst = Some((s.clone(), d));
            }
        }
        worst
    }

    /// The 09:40 decision of trading day `input.date`: the next step of the running plan (unless
    /// paused), or a drift check when no plan runs. Calling it again for a day already decided
    /// returns the recorded orders (`replayed`) and changes nothing.
    pub fn on_execution_day(
        &self,
        state: &mut RebalanceState,
        input: &ExecutionInput<'_>,
    ) -> Result<DayDecision> {
        let date = input.date;
        if let Some(last) = state.last_execution_date {
            if date < last {
                return Err(RebalanceError::OutOfOrder {
                    what: "execution day",
                    date,
                    last,
                });
            }
            if date == last {
                let rec = state.step_on(date);
                return Ok(DayDecision {
                    orders: rec
                        .map(|r| r.orders.iter().map(|o| o.order.clone()).collect())
                        .unwrap_or_default(),
                    events: Vec::new(),
                    step: rec.map(|r| (r.plan_id.clone(), r.step)),
                    replayed: true,
                });
            }
        }
        let mut next = state.clone();
        next.last_execution_date = Some(date);
        let mut decision = DayDecision::default();
        if next.plan.is_none() && next.pending.is_empty() && next.active.is_some() {
            let net = self.net_trades(&next, input.holdings, input.prices, input.in_flight)?;
            if let Some((symbol, drift)) = self.drift(&next, &net)
                && drift > self.cfg.drift_band
            {
                decision.events.push(ev(
                    date,
                    EventKind::DriftProposed {
                        symbol: symbol.clone(),
                        drift,
                        band: self.cfg.drift_band,
                    },
                    format!(
                        "{symbol} is {:.2} percentage points off its target (band {:.2})",
                        drift * 100.0,
                        self.cfg.drift_band * 100.0
                    ),
                ));
                if self.cfg.drift_action == DriftAction::Start {
                    self.global_plan(
                        &mut next,
                        date,
                        self.cfg.split_mode,
                        format!("drift of {symbol} beyond the band"),
                        &mut decision.events,
                    );
                }
            }
        }
        let Some(plan) = next.plan.clone() else {
            *state = next;
            return Ok(decision);
        };
        if plan.paused {
            decision.events.push(ev(
                date,
                EventKind::Held {
                    plan_id: plan.id.clone(),
                },
                "plan paused while a signal is pending: no orders",
            ));
            *state = next;
            return Ok(decision);
        }
        let model = next.active.clone().unwrap_or_default();
        let net = calculate_net_trades(
            input.holdings,
            input.in_flight,
            &model.target_weights(),
            input.prices,
            self.cfg.costs.commission_rate,
        )?;
        // Which track trades each symbol.
        let mut wanted = Vec::new();
        for (sym, delta) in &net.net {
            let track_key = match model.class_of(sym) {
                Some(c) if plan.tracks.contains_key(c) => Some(c.to_string()),
                Some(_) => None,
                None => plan
                    .tracks
                    .iter()
                    .find(|(_, t)| t.liquidate.contains(sym))
                    .map(|(k, _)| k.clone())
                    .or_else(|| (plan.scope == Scope::Global).then(|| OTHER_TRACK.to_string())),
            };
            let Some(track) = track_key.and_then(|k| plan.tracks.get(&k)) else {
                continue;
            };
            if track.is_done() {
                continue;
            }
            let last = track.next_step + 1 >= track.shares.len();
            let target = net.targets.get(sym).copied().unwrap_or_default();
            let f = dec(track.next_fraction(), "step fraction")?;
            let against = match plan.sides.get(sym) {
                Some(Side::Buy) => *delta < Decimal::ZERO,
                Some(Side::Sell) => *delta > Decimal::ZERO,
                None => false,
            };
            if against && !last {
                continue;
            }
            wanted.push(Wanted {
                symbol: sym.clone(),
                delta: if last { *delta } else { *delta * f },
                close: last && target.is_zero(),
                last,
            });
        }
        let rules = QuantityRules {
            quantity_dp: if self.cfg.whole_shares {
                0
            } else {
                self.cfg.quantity_dp
            },
            min_trade_value: self.cfg.min_trade_value,
        };
        let (sized, cash_limited) = size_orders(&net, &wanted, &rules, &self.cfg.costs);
        let step = plan.steps_done + 1;
        let mut records = Vec::new();
        for o in sized {
            let order = OrderRequest {
                kind: pulse_core::OrderKind::Market,
                time_in_force: pulse_core::TimeInForce::Day,
                client_id: client_order_id(&plan.id, step, &o.symbol),
                symbol: o.symbol,
                side: o.side,
                quantity: o.quantity,
                decided_at: input.decided_at,
            };
            decision.orders.push(order.clone());
            records.push(OrderRecord {
                order,
                est_price: o.price,
                filled: Decimal::ZERO,
                fees: Decimal::ZERO,
            });
        }
        let mut plan = plan;
        for r in &records {
            plan.sides
                .entry(r.order.symbol.clone())
                .or_insert(r.order.side);
        }
        for t in plan.tracks.values_mut() {
            if !t.is_done() {
                t.next_step += 1;
            }
        }
        plan.steps_done = step;
        decision.events.push(ev(
            date,
            EventKind::StepDone {
                plan_id: plan.id.clone(),
                step,
                orders: records.len(),
                cash_limited,
            },
            if cash_limited {
                format!(
                    "step {step}: {} orders, buys cut to the available cash",
                    records.len()
                )
            } else {
                format!("step {step}: {} orders", records.len())
            },
        ));
        decision.step = Some((plan.id.clone(), step));
        next.steps.push(StepRecord {
            plan_id: plan.id.clone(),
            step,
            date,
            orders: records,
        });
        if plan.is_done() {
            decision.events.push(ev(
                date,
                EventKind::PlanFinished {
                    plan_id: plan.id.clone(),
                },
                format!("all tracks ran their last step ({step} steps)"),
            ));
            next.plan = None;
            prune_steps(&mut next);
        } else {
            next.plan = Some(plan);
        }
        *state = next;
        Ok(decision)
    }

    /// Books fills of the rebalancer's orders (matched by client id; others ignored). A fill beyond
    /// an order's quantity is ignored, so re-delivering a complete fill changes nothing.
    pub fn on_fills(
        &self,
        state: &mut RebalanceState,
        date: Date,
        fills: &[Fill],
    ) -> Vec<RebalanceEvent> {
        let mut events = Vec::new();
        for f in fills {
            for rec in state.steps.iter_mut() {
                let was_filled = rec.is_filled();
                let Some(o) = rec
                    .orders
                    .iter_mut()
                    .find(|o| o.order.client_id == f.client_id)
                else {
                    continue;
                };
                let room = (o.order.quantity - o.filled).max(Decimal::ZERO);
                let q = f.quantity.min(room);
                if q > Decimal::ZERO {
                    o.filled += q;
                    if f.quantity > Decimal::ZERO {
                        o.fees += f.fee * q / f.quantity;
                    }
                }
                if !was_filled && rec.is_filled() {
                    events.push(ev(
                        date,
                        EventKind::StepFilled {
                            plan_id: rec.plan_id.clone(),
                            step: rec.step,
                        },
                        format!("every order of step {} is filled", rec.step),
                    ));
                }
                break;
            }
        }
        prune_steps(state);
        events
    }
}

/// Keeps the current plan's steps and any step with unfilled orders.
fn prune_steps(state: &mut RebalanceState) {
    let current = state.plan.as_ref().map(|p| p.id.clone());
    state
        .steps
        .retain(|s| Some(&s.plan_id) == current.as_ref() || !s.is_filled());
}
