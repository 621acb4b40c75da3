//! `pulse-execution`: the order-execution port. [`Broker`] is what paper trading, KIS and
//! Alpaca implement; it takes only [`RiskApproved`] orders, which only the risk layer's gate
//! (`pulse_risk::approve_orders`) makes, so an order that was not checked cannot reach a broker
//! by construction (issue 15). The port lives here rather than in `pulse-core`'s ports because
//! the core cannot name the risk layer's type.

pub use pulse_risk::{Approval, GateLimits, Refusal, RiskApproved, approve_orders};

use pulse_core::{ClientOrderId, Fill, OrderRequest, Portfolio};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// Where an order stands at the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatus {
    /// The order's client id.
    pub client_id: ClientOrderId,
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
/// crash, say) returns its status and never creates a second order; fills are reported once.
pub trait Broker {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Submits a market order that passed the risk layer's gate (or returns the status of the
    /// already known client id).
    fn submit(
        &self,
        order: &RiskApproved<OrderRequest>,
    ) -> impl Future<Output = Result<OrderStatus, Self::Error>> + Send;

    /// Executions since the last call, oldest first (each fill is reported exactly once).
    fn take_fills(&self) -> impl Future<Output = Result<Vec<Fill>, Self::Error>> + Send;

    /// Cash and positions as the broker books them.
    fn account(&self) -> impl Future<Output = Result<Portfolio, Self::Error>> + Send;
}
