//! The persisted state of the rebalancer and the audit events it emits. Everything here is
//! serde-serializable so that the runtime can store it in one transaction per call.

use crate::config::SplitMode;
use crate::model::{Model, Mp, SubMp};
use jiff::civil::Date;
use pulse_core::{ClientOrderId, OrderRequest, Symbol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Key of the track of a global plan that sells securities outside the model.
pub const OTHER_TRACK: &str = "*";

/// Plan identifier: `rb<yyyymmdd>-<seq>` (start date and a per-state sequence number).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanId(pub String);

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which part of the model a debounced observation is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignalKey {
    /// The MP (class weights).
    Mp,
    /// The Sub-MP of one class.
    SubMp {
        /// Class name.
        class: String,
    },
}

impl fmt::Display for SignalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalKey::Mp => f.write_str("MP"),
            SignalKey::SubMp { class } => write!(f, "Sub-MP {class}"),
        }
    }
}

/// A changed value waiting for confirmation (3-day rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending<T> {
    /// The new value.
    pub value: T,
    /// First trading day it was seen (day 1).
    pub first_seen: Date,
    /// Latest trading day it was seen.
    pub last_seen: Date,
    /// Consecutive trading days seen so far (1..confirm_days).
    pub days: u32,
}

/// Pending (unconfirmed) changes of the MP and of Sub-MPs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingSignals {
    /// A pending MP.
    pub mp: Option<Pending<Mp>>,
    /// Pending Sub-MPs per class.
    pub sub_mp: BTreeMap<String, Pending<SubMp>>,
}

impl PendingSignals {
    /// No change is pending.
    pub fn is_empty(&self) -> bool {
        self.mp.is_none() && self.sub_mp.is_empty()
    }
}

/// Where a plan trades.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Scope {
    /// Every asset (MP change, drift): securities outside the model are sold.
    Global,
    /// Only the securities of these classes (Sub-MP change).
    Local {
        /// Class names.
        classes: BTreeSet<String>,
    },
}

/// The schedule of one class (or of [`OTHER_TRACK`]) inside a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// Share of the delta per step (sums to 1).
    pub shares: Vec<f64>,
    /// Index of the next step to run; the track is done when it equals `shares.len()`.
    pub next_step: usize,
    /// Former members of the class, sold down to zero on this track's schedule.
    pub liquidate: BTreeSet<Symbol>,
    /// Restarted by a Sub-MP change during a global plan (Case 1).
    pub restarted: bool,
}

impl Track {
    /// A fresh track over `shares`.
    pub fn new(shares: Vec<f64>) -> Self {
        Track {
            shares,
            next_step: 0,
            liquidate: BTreeSet::new(),
            restarted: false,
        }
    }

    /// All steps done.
    pub fn is_done(&self) -> bool {
        self.next_step >= self.shares.len()
    }

    /// Fraction of the remaining delta to trade at the next step: step share / share not yet
    /// executed (0.3, 0.2/0.7, 0.2/0.5, 0.2/0.3, 1 by default); exactly 1 on the last step.
    pub fn next_fraction(&self) -> f64 {
        if self.next_step + 1 >= self.shares.len() {
            return 1.0;
        }
        let rest: f64 = self.shares[self.next_step..].iter().sum();
        if rest > 0.0 {
            (self.shares[self.next_step] / rest).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }

    /// Share of the delta already executed (Σ shares of the steps done).
    pub fn executed_share(&self) -> f64 {
        self.shares[..self.next_step.min(self.shares.len())]
            .iter()
            .sum()
    }
}

/// A rebalance in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Identifier (part of every client order id).
    pub id: PlanId,
    /// Global or local.
    pub scope: Scope,
    /// Split mode the plan was started with.
    pub mode: SplitMode,
    /// Trading day the plan was started.
    pub started: Date,
    /// Why it was started.
    pub reason: String,
    /// No orders while paused (a new signal is pending).
    pub paused: bool,
    /// Steps executed so far (the step number of the last executed day).
    pub steps_done: u32,
    /// Schedules per class name ([`OTHER_TRACK`] for securities outside the model).
    pub tracks: BTreeMap<String, Track>,
    /// Side of each security's first trade in this plan: before its last step a track never
    /// trades a security the other way (price noise must not buy what the plan is selling).
    #[serde(default)]
    pub sides: BTreeMap<Symbol, pulse_core::Side>,
}

impl Plan {
    /// All tracks done.
    pub fn is_done(&self) -> bool {
        self.tracks.values().all(Track::is_done)
    }
}

/// One order of an executed step and what has been filled of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The order as issued.
    pub order: OrderRequest,
    /// Price used for sizing (account currency per share).
    pub est_price: Decimal,
    /// Shares filled so far.
    pub filled: Decimal,
    /// Fees booked so far.
    pub fees: Decimal,
}

impl OrderRecord {
    /// Fully filled.
    pub fn is_filled(&self) -> bool {
        self.filled >= self.order.quantity
    }
}

/// An executed step: the idempotency unit, keyed by (plan id, step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Plan.
    pub plan_id: PlanId,
    /// Step number (1-based, one per execution day that traded).
    pub step: u32,
    /// Trading day of execution.
    pub date: Date,
    /// Orders issued (sells first).
    pub orders: Vec<OrderRecord>,
}

impl StepRecord {
    /// Every order fully filled (vacuously true without orders).
    pub fn is_filled(&self) -> bool {
        self.orders.iter().all(OrderRecord::is_filled)
    }
}

/// The whole persisted state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RebalanceState {
    /// The confirmed model (none before the first confirmation).
    pub active: Option<Model>,
    /// Changes waiting for confirmation.
    pub pending: PendingSignals,
    /// The running (maybe paused) plan.
    pub plan: Option<Plan>,
    /// Executed steps of the current plan, plus earlier steps with unfilled orders.
    pub steps: Vec<StepRecord>,
    /// Latest day passed to `on_signal`.
    pub last_signal_date: Option<Date>,
    /// Latest day passed to `on_execution_day`.
    pub last_execution_date: Option<Date>,
    /// Plans started so far (sequence of plan ids).
    pub plans_started: u64,
}

impl RebalanceState {
    /// A state whose model is already confirmed (e.g. adopted from an existing portfolio).
    pub fn with_model(model: Model) -> Self {
        RebalanceState {
            active: Some(model),
            ..Self::default()
        }
    }

    /// A plan is running (paused or not): `is_rebalancing_active` of SPEC §6.
    pub fn is_rebalancing_active(&self) -> bool {
        self.plan.is_some()
    }

    /// The step executed on `date`, if any.
    pub fn step_on(&self, date: Date) -> Option<&StepRecord> {
        self.steps.iter().rev().find(|s| s.date == date)
    }

    /// Whether (plan, step) has been executed (is recorded).
    pub fn is_step_executed(&self, plan: &PlanId, step: u32) -> bool {
        self.steps
            .iter()
            .any(|s| &s.plan_id == plan && s.step == step)
    }

    /// Orders issued and not fully filled (to re-submit after a restart; ids make it idempotent).
    pub fn unfilled_orders(&self) -> Vec<&OrderRequest> {
        self.steps
            .iter()
            .flat_map(|s| s.orders.iter())
            .filter(|o| !o.is_filled())
            .map(|o| &o.order)
            .collect()
    }

    /// Every client order id recorded.
    pub fn client_ids(&self) -> Vec<&ClientOrderId> {
        self.steps
            .iter()
            .flat_map(|s| s.orders.iter().map(|o| &o.order.client_id))
            .collect()
    }

    /// The model with the pending values applied (what validation of a new signal refers to).
    pub fn proposed_model(&self) -> Model {
        let mut m = self.active.clone().unwrap_or_default();
        if let Some(p) = &self.pending.mp {
            m.mp = p.value.clone();
        }
        for (c, p) in &self.pending.sub_mp {
            m.sub_mp.insert(c.clone(), p.value.clone());
        }
        m
    }
}

/// What happened, for the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A changed value was seen (day `day` of `needed`).
    Pending {
        /// MP or Sub-MP of a class.
        key: SignalKey,
        /// Consecutive days seen.
        day: u32,
        /// Days needed to confirm.
        needed: u32,
    },
    /// A pending value was replaced by a different one (or seen after a gap): count back to 1.
    PendingReset {
        /// MP or Sub-MP of a class.
        key: SignalKey,
    },
    /// A pending value held for the needed days and is now active.
    Confirmed {
        /// MP or Sub-MP of a class.
        key: SignalKey,
    },
    /// The active value was seen again: the pending change is cancelled.
    Reverted {
        /// MP or Sub-MP of a class.
        key: SignalKey,
    },
    /// A plan started.
    PlanStarted {
        /// Plan.
        plan_id: PlanId,
        /// Global or local.
        scope: Scope,
        /// Split mode.
        mode: SplitMode,
    },
    /// A running plan was dropped for a new one.
    PlanDiscarded {
        /// Plan.
        plan_id: PlanId,
    },
    /// Case 1: one class of a global plan restarted at day 1 with a softer first step.
    ClassRestarted {
        /// Plan.
        plan_id: PlanId,
        /// Class.
        class: String,
        /// First-step share.
        first_share: f64,
    },
    /// A plan was paused (a new signal is pending).
    Paused {
        /// Plan.
        plan_id: PlanId,
    },
    /// A paused plan resumed where it stopped.
    Resumed {
        /// Plan.
        plan_id: PlanId,
    },
    /// An execution day passed without orders because the plan is paused.
    Held {
        /// Plan.
        plan_id: PlanId,
    },
    /// A step was executed.
    StepDone {
        /// Plan.
        plan_id: PlanId,
        /// Step number.
        step: u32,
        /// Orders issued.
        orders: usize,
        /// Buys were cut to the available cash.
        cash_limited: bool,
    },
    /// Every order of a step is filled.
    StepFilled {
        /// Plan.
        plan_id: PlanId,
        /// Step number.
        step: u32,
    },
    /// Every track of a plan ran its last step.
    PlanFinished {
        /// Plan.
        plan_id: PlanId,
    },
    /// No plan running and a security drifted beyond the band.
    DriftProposed {
        /// Security with the largest drift.
        symbol: Symbol,
        /// Its absolute weight drift (fraction of equity).
        drift: f64,
        /// Band (fraction of equity).
        band: f64,
    },
}

/// One audit-log entry: what was decided, on which trading day, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RebalanceEvent {
    /// Trading day.
    pub date: Date,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
    /// Human-readable reason.
    pub reason: String,
}
