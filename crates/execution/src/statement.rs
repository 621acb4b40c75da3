//! The account statement port: what a broker says the account holds, read only (holdings with
//! their average cost and last price, the day's orders), for the daily portfolio pipeline
//! (SPEC §5). Reading a statement never changes what [`crate::Broker::take_fills`] reports.

use crate::{Broker, OrderState};
use pulse_core::{Side, Symbol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// One holding as the broker books it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerHolding {
    /// The broker's symbol (`005930`, `TSLA`).
    pub symbol: Symbol,
    /// Shares held (positive).
    pub quantity: Decimal,
    /// ISO currency code the holding is priced in (`KRW`, `USD`).
    pub currency: String,
    /// Average purchase price per share in `currency`, when the broker reports one.
    pub avg_price: Option<Decimal>,
    /// Last price per share in `currency` as the broker reports it, when it does.
    pub price: Option<Decimal>,
}

/// One order of the day as the broker lists it (cumulative totals, not per execution).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayOrder {
    /// The broker's order number.
    pub order_no: String,
    /// Order date as the broker writes it (`YYYYMMDD`, the market's local date).
    pub date: String,
    /// Symbol.
    pub symbol: String,
    /// Buy or sell, when the broker says.
    pub side: Option<Side>,
    /// Shares ordered.
    pub quantity: Decimal,
    /// Limit price per share (0 for a market order), in the market's currency.
    pub price: Decimal,
    /// Shares filled so far.
    pub filled: Decimal,
    /// Average fill price per share (0 when nothing filled).
    pub avg_fill_price: Decimal,
    /// Where the order stands.
    pub state: OrderState,
    /// True for a cancel order's own row.
    pub is_cancel: bool,
}

/// A broker whose account can be read as a statement (KIS). Read only: no order is sent and
/// no fill is marked reported.
pub trait AccountStatement: Broker {
    /// Every holding (domestic and overseas) with its average cost and last price.
    fn holdings(&self) -> impl Future<Output = Result<Vec<BrokerHolding>, Self::Error>> + Send;

    /// The day's orders (domestic and overseas), cancels included, as the broker lists them.
    fn day_orders(&self) -> impl Future<Output = Result<Vec<DayOrder>, Self::Error>> + Send;
}

impl AccountStatement for crate::NoBroker {
    async fn holdings(&self) -> Result<Vec<BrokerHolding>, crate::Never> {
        match *self {}
    }

    async fn day_orders(&self) -> Result<Vec<DayOrder>, crate::Never> {
        match *self {}
    }
}
