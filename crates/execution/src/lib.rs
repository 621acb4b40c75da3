//! `pulse-execution`: the order-execution port. [`Broker`] is what paper trading, KIS and
//! Alpaca implement; it takes only [`RiskApproved`] orders, which only the risk layer's gate
//! (`pulse_risk::approve_orders`) makes, so an order that was not checked cannot reach a broker
//! by construction (issue 15). The port lives here rather than in `pulse-core`'s ports because
//! the core cannot name the risk layer's type.

pub use pulse_risk::{Approval, GateLimits, Refusal, RiskApproved, approve_orders};

mod statement;
pub use statement::{AccountStatement, BrokerHolding, DayOrder};

use pulse_core::{CashBalance, ClientOrderId, Fill, OrderRequest, Portfolio};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// The life-cycle state of an order at the broker (adapters map their own codes to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Accepted, nothing filled yet.
    #[default]
    New,
    /// Received but not yet accepted, or a cancel/replace in progress (`pending_*`).
    Pending,
    /// Part filled, the rest working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled (what was filled stays filled).
    Canceled,
    /// Expired by its time in force.
    Expired,
    /// Refused by the broker (or the rest of it, after a partial fill).
    Rejected,
}

impl OrderState {
    /// True when the order can no longer fill (filled, cancelled, expired, rejected).
    pub fn is_done(self) -> bool {
        matches!(
            self,
            OrderState::Filled | OrderState::Canceled | OrderState::Expired | OrderState::Rejected
        )
    }
}

/// Where an order stands at the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatus {
    /// The order's client id.
    pub client_id: ClientOrderId,
    /// The broker's own order id (`None` where the broker has none, e.g. paper).
    #[serde(default)]
    pub broker_id: Option<String>,
    /// Its life-cycle state.
    #[serde(default)]
    pub state: OrderState,
    /// Shares filled so far.
    pub filled: Decimal,
    /// Shares still working (0 once done).
    pub remaining: Decimal,
    /// Why the broker refused (part of) it, if it did.
    pub rejected: Option<String>,
}

/// An order executor: paper trading, KIS, Alpaca… all behind this one interface.
///
/// Contract: `submit` is idempotent per client order id — re-submitting a known id (after a
/// crash, say) returns its status and never creates a second order; fills are reported once
/// (and carry the broker's execution id where it has one). A submission whose outcome is unknown
/// (a timeout after the request left) is resolved with [`Broker::order_status`], never by
/// sending it again blindly.
pub trait Broker {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Submits an order (market or limit, with its time in force) that passed the risk layer's
    /// gate, or returns the status of the already known client id.
    fn submit(
        &self,
        order: &RiskApproved<OrderRequest>,
    ) -> impl Future<Output = Result<OrderStatus, Self::Error>> + Send;

    /// Executions since the last call, oldest first (each fill is reported exactly once).
    fn take_fills(&self) -> impl Future<Output = Result<Vec<Fill>, Self::Error>> + Send;

    /// Cash and positions as the broker books them.
    fn account(&self) -> impl Future<Output = Result<Portfolio, Self::Error>> + Send;

    /// The status of the order with this client id; `None` when the broker never received it.
    fn order_status(
        &self,
        client_id: &ClientOrderId,
    ) -> impl Future<Output = Result<Option<OrderStatus>, Self::Error>> + Send;

    /// Cancels what remains of the order with this client id and returns its status (an order
    /// already done is returned as it is).
    fn cancel(
        &self,
        client_id: &ClientOrderId,
    ) -> impl Future<Output = Result<OrderStatus, Self::Error>> + Send;

    /// Orders still working (not done), for reconciliation after a restart.
    fn open_orders(&self) -> impl Future<Output = Result<Vec<OrderStatus>, Self::Error>> + Send;

    /// Cash per currency as the broker books it (a KIS account holds KRW and USD; a one-currency
    /// broker returns one entry, equal to [`Broker::account`]'s cash).
    fn cash_balances(&self) -> impl Future<Output = Result<Vec<CashBalance>, Self::Error>> + Send;

    /// Tells the adapter which fills the caller has already booked (its own fill journal, the
    /// one truth of what was booked), so that [`Broker::take_fills`] reports only what comes
    /// after them. A runner calls it once at every start, before the first `take_fills`. An
    /// adapter whose broker numbers every execution (Alpaca, the paper book) needs nothing and
    /// keeps this default; one that derives fills from cumulative order totals (KIS) starts
    /// from these totals instead of state of its own that a crash could leave ahead of the
    /// caller's.
    fn booked_fills(&self, fills: &[Fill]) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = fills;
        async { Ok(()) }
    }
}

/// No live broker: an uninhabited type (no value of it can exist) that names "paper only" where
/// a use case is generic over an optional live broker (`Option<&NoBroker>` is always `None`).
#[derive(Debug, Clone, Copy)]
pub enum NoBroker {}

/// Never returned: [`NoBroker`] has no values.
#[derive(Debug, Clone, Copy)]
pub enum Never {}

impl std::fmt::Display for Never {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for Never {}

impl Broker for NoBroker {
    type Error = Never;

    async fn submit(&self, _: &RiskApproved<OrderRequest>) -> Result<OrderStatus, Never> {
        match *self {}
    }

    async fn take_fills(&self) -> Result<Vec<Fill>, Never> {
        match *self {}
    }

    async fn account(&self) -> Result<Portfolio, Never> {
        match *self {}
    }

    async fn order_status(&self, _: &ClientOrderId) -> Result<Option<OrderStatus>, Never> {
        match *self {}
    }

    async fn cancel(&self, _: &ClientOrderId) -> Result<OrderStatus, Never> {
        match *self {}
    }

    async fn open_orders(&self) -> Result<Vec<OrderStatus>, Never> {
        match *self {}
    }

    async fn cash_balances(&self) -> Result<Vec<CashBalance>, Never> {
        match *self {}
    }

    async fn booked_fills(&self, _: &[Fill]) -> Result<(), Never> {
        match *self {}
    }
}
