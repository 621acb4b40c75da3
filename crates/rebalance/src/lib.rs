//! `pulse-rebalance` owns the rebalancing engine of SPEC §6 as a pure, deterministic state machine:
//! model portfolios (MP weights per asset class, Sub-MP securities per class), the 3-day signal
//! debounce with pause/resume, global and local split-entry plans (30/20/20/20/rest or 1/N), the
//! two conflict cases, netting of holdings and in-flight orders (`calculate_net_trades`), the drift
//! check, and order sizing (sells first, buys scaled to cash, whole shares, minimum size).
//!
//! Events in, decisions out: [`Rebalancer::on_signal`] (08:30 intake), [`Rebalancer::on_execution_day`]
//! (09:40 decision), [`Rebalancer::on_fills`]. No I/O, no clock, no tokio. The whole
//! [`RebalanceState`] is serde-serializable; every step is keyed by (plan id, step) and its orders
//! carry client ids `<plan>-<step>-<symbol>`, so a runtime that persists the state with the step's
//! orders before submitting them can crash anywhere and resume without executing a step twice.

pub mod config;
pub mod error;
pub mod machine;
pub mod model;
pub mod state;
pub mod trades;

pub use config::{DriftAction, RebalanceConfig, SplitMode};
pub use error::{RebalanceError, Result};
pub use machine::{DayDecision, ExecutionInput, Rebalancer, client_order_id};
pub use model::{Model, Mp, Signal, SubMp, SubMpSpec, ValidSignal, validate_signal};
pub use state::{
    EventKind, OTHER_TRACK, OrderRecord, Pending, PendingSignals, Plan, PlanId, RebalanceEvent,
    RebalanceState, Scope, SignalKey, StepRecord, Track,
};
pub use trades::{NetTrades, SizedOrder, Sizing, Wanted, calculate_net_trades, size_orders};
