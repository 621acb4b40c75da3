//! Live market data: quotes, order books and the multi-currency cash a broker account holds.
//!
//! A [`Quote`] is one snapshot of a symbol's last trade and best bid/ask, as a quote source (KIS,
//! Alpaca, a replay of stored bars) reports it; an [`OrderBook`] is the depth behind it. Quotes
//! are booked prices (`Decimal`, in the instrument's currency per share), because a limit order
//! or a paper fill is priced from them.

use crate::{Currency, Money, Symbol};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One snapshot of a symbol's market: last trade, best bid and ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The instrument quoted.
    pub symbol: Symbol,
    /// When the source stamped the snapshot (UTC).
    pub time: Timestamp,
    /// Last traded price, per share in `currency`.
    pub last: Decimal,
    /// Best bid price, when the source has one.
    #[serde(default)]
    pub bid: Option<Decimal>,
    /// Best ask price, when the source has one.
    #[serde(default)]
    pub ask: Option<Decimal>,
    /// Shares (or coins) traded so far in the session, when known.
    #[serde(default)]
    pub volume: Option<Decimal>,
    /// Currency of the prices.
    pub currency: Currency,
}

impl Quote {
    /// The mid price `(bid + ask) / 2` when both sides are present and not crossed, else `last`.
    pub fn mid(&self) -> Decimal {
        match (self.bid, self.ask) {
            (Some(bid), Some(ask)) if bid > Decimal::ZERO && ask >= bid => {
                (bid + ask) / Decimal::TWO
            }
            _ => self.last,
        }
    }

    /// Checks what a source reported: a positive last price, non-negative bid/ask/volume, and a
    /// bid not above the ask. Adapters call it where a quote enters the product.
    pub fn validate(&self) -> Result<(), String> {
        if self.last <= Decimal::ZERO {
            return Err(format!(
                "{}: last price {} is not positive",
                self.symbol, self.last
            ));
        }
        for (name, value) in [
            ("bid", self.bid),
            ("ask", self.ask),
            ("volume", self.volume),
        ] {
            if let Some(v) = value
                && v < Decimal::ZERO
            {
                return Err(format!("{}: {name} {v} is negative", self.symbol));
            }
        }
        if let (Some(bid), Some(ask)) = (self.bid, self.ask)
            && bid > Decimal::ZERO
            && ask > Decimal::ZERO
            && bid > ask
        {
            return Err(format!("{}: bid {bid} is above ask {ask}", self.symbol));
        }
        Ok(())
    }
}

/// One price level of an order book.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BookLevel {
    /// Price of the level, per share.
    pub price: Decimal,
    /// Shares resting at that price.
    pub quantity: Decimal,
}

/// The depth of a symbol's market: bids best (highest) first, asks best (lowest) first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderBook {
    /// The instrument.
    pub symbol: Symbol,
    /// When the source stamped the book (UTC).
    pub time: Timestamp,
    /// Bid levels, highest price first.
    pub bids: Vec<BookLevel>,
    /// Ask levels, lowest price first.
    pub asks: Vec<BookLevel>,
    /// Currency of the prices.
    pub currency: Currency,
}

/// Cash of one currency held at a broker (a KIS account holds KRW and USD side by side).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CashBalance {
    /// The currency.
    pub currency: Currency,
    /// Cash booked in it (negative for a debit balance).
    pub amount: Money,
}

/// Which symbols a quote collector polls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteUniverse {
    /// A fixed list.
    Symbols(Vec<Symbol>),
    /// The source's top `n` symbols by traded volume (KIS ranking endpoint).
    TopByVolume(usize),
}
