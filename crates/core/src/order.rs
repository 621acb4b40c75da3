//! Orders and fills.

use crate::money::Money;
use crate::symbol::Symbol;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Direction of an order or fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Buy (increase the position).
    Buy,
    /// Sell (decrease the position).
    Sell,
}

impl Side {
    /// `Buy` or `Sell`, for tables and hover titles.
    pub fn label(self) -> &'static str {
        match self {
            Side::Buy => "Buy",
            Side::Sell => "Sell",
        }
    }

    /// `buy` or `sell`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// +1 for a buy, −1 for a sell.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client-assigned order id: deterministic, so that re-submitting after a crash is idempotent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientOrderId(pub String);

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an order is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OrderKind {
    /// At the market (the next available price).
    #[default]
    Market,
    /// At `price` or better (instrument currency per share).
    Limit {
        /// The limit price.
        price: Money,
    },
}

/// How long an order works before the broker expires it (adapters map these to their own codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeInForce {
    /// Until the end of the trading day.
    #[default]
    Day,
    /// Until cancelled.
    Gtc,
    /// Immediately, what can fill; the rest is cancelled.
    Ioc,
}

/// An order the strategy wants executed: at the market at the next opportunity unless `kind`
/// says limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Idempotency key.
    pub client_id: ClientOrderId,
    /// Security.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Shares (positive; whole unless fractional trading is configured).
    pub quantity: Decimal,
    /// When the decision was made (close of the decision bar).
    pub decided_at: Timestamp,
    /// Market (default) or limit.
    #[serde(default, skip_serializing_if = "is_market")]
    pub kind: OrderKind,
    /// How long it works (default: the day).
    #[serde(default, skip_serializing_if = "is_day")]
    pub time_in_force: TimeInForce,
}

fn is_market(kind: &OrderKind) -> bool {
    *kind == OrderKind::Market
}

fn is_day(tif: &TimeInForce) -> bool {
    *tif == TimeInForce::Day
}

/// An executed (part of an) order, as booked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// The order this fill belongs to.
    pub client_id: ClientOrderId,
    /// Security.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Shares filled (positive).
    pub quantity: Decimal,
    /// Price per share, in the instrument's currency, slippage included.
    pub price: Money,
    /// Commission and fees charged, in the account currency.
    pub fee: Money,
    /// Execution time.
    pub ts: Timestamp,
    /// The broker's execution id (fills are de-duplicated by it; `None` for simulated fills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_id: Option<String>,
}

impl Fill {
    /// `quantity × price` (always positive).
    pub fn notional(&self) -> Money {
        self.quantity * self.price
    }

    /// Cash change of the account: −(notional + fee) for a buy, notional − fee for a sell.
    pub fn cash_delta(&self) -> Money {
        match self.side {
            Side::Buy => -(self.notional() + self.fee),
            Side::Sell => self.notional() - self.fee,
        }
    }
}
