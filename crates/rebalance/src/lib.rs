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
//!
//! # Runtime protocol (one store transaction per numbered step)
//! 1. 08:30 on a trading day: `on_signal(state, day, signal)`; persist the state and the events.
//! 2. 09:40: `on_execution_day(state, input)`; persist the state (it records the step and its
//!    orders) and the events *before* submitting. A repeated call for the same day returns the
//!    recorded orders (`replayed`) and changes nothing.
//! 3. Submit `state.unfilled_orders()` (after a restart too): client ids make it idempotent.
//! 4. `on_fills(state, day, fills)`; persist. Fills beyond an order's quantity are ignored.
//!
//! ```
//! use pulse_core::{Portfolio, Symbol};
//! use pulse_rebalance::{ExecutionInput, RebalanceConfig, RebalanceState, Rebalancer, Signal};
//! use rust_decimal::Decimal;
//! use std::collections::BTreeMap;
//!
//! let rb = Rebalancer::new(RebalanceConfig::default())?;
//! let mut state = RebalanceState::default();
//! let signal: Signal = serde_json::from_str(
//!     r#"{"mp":{"stocks":0.6,"bonds":0.3,"cash":0.1},"sub_mp":{"stocks":["SPY"],"bonds":["TLT"]}}"#,
//! )?;
//! let holdings = Portfolio::with_cash(Decimal::from(100_000));
//! let prices: BTreeMap<Symbol, Decimal> =
//!     [(Symbol::try_new("SPY")?, Decimal::from(500)), (Symbol::try_new("TLT")?, Decimal::from(90))].into();
//! let mut orders = Vec::new();
//! for day in ["2024-03-04", "2024-03-05", "2024-03-06"] {
//!     let date: jiff::civil::Date = day.parse()?;
//!     rb.on_signal(&mut state, date, &signal)?; // pending day 1, 2, then confirmed
//!     let input = ExecutionInput {
//!         date,
//!         decided_at: date.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp(),
//!         holdings: &holdings,
//!         prices: &prices,
//!         in_flight: &[],
//!     };
//!     orders.extend(rb.on_execution_day(&mut state, &input)?.orders);
//! }
//! // Day 3 confirmed the model and ran step 1: 30 % of the way to 60 % SPY / 30 % TLT.
//! assert_eq!(orders.len(), 2);
//! assert_eq!(orders[0].quantity, Decimal::from(36)); // 0.3 × 0.6 × 99 900 / 500 = 35.96
//! assert!(state.is_rebalancing_active());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
pub use trades::{NetTrades, SizedOrder, Wanted, calculate_net_trades, size_orders};
