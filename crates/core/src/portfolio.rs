//! Cash and positions of an account, booked exactly in decimals.

use crate::money::{Money, money_to_f64};
use crate::order::{Fill, Side};
use crate::symbol::Symbol;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why a booking was refused.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum BookingError {
    /// Selling more shares than held (short selling is not supported).
    #[error("cannot sell {wanted} {symbol}: only {held} held")]
    Oversold {
        /// Security.
        symbol: Symbol,
        /// Shares asked to sell.
        wanted: Decimal,
        /// Shares held.
        held: Decimal,
    },
    /// A buy would take cash below zero and leverage is not allowed.
    #[error("buying {quantity} {symbol} needs {needed} but only {cash} cash is available")]
    InsufficientCash {
        /// Security.
        symbol: Symbol,
        /// Shares.
        quantity: Decimal,
        /// Cash needed including fees.
        needed: Money,
        /// Cash available.
        cash: Money,
    },
    /// Zero or negative quantity, or a negative price or fee.
    #[error("invalid fill of {symbol}: {reason}")]
    Invalid {
        /// Security.
        symbol: Symbol,
        /// What is wrong.
        reason: String,
    },
}

/// An account: cash and share positions. Positions of zero are removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    /// Cash in the account currency.
    pub cash: Money,
    /// Shares held per symbol (positive).
    pub positions: BTreeMap<Symbol, Decimal>,
}

impl Portfolio {
    /// An account holding only `cash`.
    pub fn with_cash(cash: Money) -> Self {
        Portfolio {
            cash,
            positions: BTreeMap::new(),
        }
    }

    /// Shares held of `symbol` (zero if none).
    pub fn quantity(&self, symbol: &Symbol) -> Decimal {
        self.positions.get(symbol).copied().unwrap_or(Decimal::ZERO)
    }

    /// Books a fill; refuses to oversell, and (unless `allow_negative_cash`) to overspend.
    /// On error nothing changes.
    pub fn apply_fill(
        &mut self,
        fill: &Fill,
        allow_negative_cash: bool,
    ) -> Result<(), BookingError> {
        if fill.quantity <= Decimal::ZERO || fill.price < Decimal::ZERO || fill.fee < Decimal::ZERO
        {
            return Err(BookingError::Invalid {
                symbol: fill.symbol.clone(),
                reason: format!(
                    "quantity {} price {} fee {}",
                    fill.quantity, fill.price, fill.fee
                ),
            });
        }
        let held = self.quantity(&fill.symbol);
        let new_cash = self.cash + fill.cash_delta();
        match fill.side {
            Side::Sell if fill.quantity > held => {
                return Err(BookingError::Oversold {
                    symbol: fill.symbol.clone(),
                    wanted: fill.quantity,
                    held,
                });
            }
            Side::Buy if new_cash < Decimal::ZERO && !allow_negative_cash => {
                return Err(BookingError::InsufficientCash {
                    symbol: fill.symbol.clone(),
                    quantity: fill.quantity,
                    needed: -fill.cash_delta(),
                    cash: self.cash,
                });
            }
            _ => {}
        }
        let new_qty = held + fill.side.sign() * fill.quantity;
        if new_qty.is_zero() {
            self.positions.remove(&fill.symbol);
        } else {
            self.positions.insert(fill.symbol.clone(), new_qty);
        }
        self.cash = new_cash;
        Ok(())
    }

    /// Market value of the positions at `prices` (f64 analysis); symbols without a price count 0.
    pub fn positions_value(&self, prices: &BTreeMap<Symbol, f64>) -> f64 {
        self.positions
            .iter()
            .map(|(s, q)| money_to_f64(*q) * prices.get(s).copied().unwrap_or(0.0))
            .sum()
    }

    /// Total equity (cash + positions) at `prices`, as f64.
    pub fn equity(&self, prices: &BTreeMap<Symbol, f64>) -> f64 {
        money_to_f64(self.cash) + self.positions_value(prices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::ClientOrderId;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn fill(side: Side, qty: &str, price: &str, fee: &str) -> Fill {
        Fill {
            exec_id: None,
            client_id: ClientOrderId("t".into()),
            symbol: Symbol::try_new("TSLA").unwrap(),
            side,
            quantity: d(qty),
            price: d(price),
            fee: d(fee),
            ts: "2024-01-02T14:30:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn books_buys_and_sells_exactly() {
        let mut p = Portfolio::with_cash(d("100000"));
        p.apply_fill(&fill(Side::Buy, "10", "248.42", "2.4842"), false)
            .unwrap();
        assert_eq!(p.cash, d("97513.3158"));
        p.apply_fill(&fill(Side::Sell, "4", "250.00", "1.00"), false)
            .unwrap();
        assert_eq!(p.cash, d("98512.3158"));
        assert_eq!(p.quantity(&Symbol::try_new("TSLA").unwrap()), d("6"));
    }

    #[test]
    fn refuses_overselling_and_overspending_without_changing_anything() {
        let mut p = Portfolio::with_cash(d("1000"));
        let before = p.clone();
        assert!(matches!(
            p.apply_fill(&fill(Side::Sell, "1", "10", "0"), false),
            Err(BookingError::Oversold { .. })
        ));
        assert!(matches!(
            p.apply_fill(&fill(Side::Buy, "5", "200", "1"), false),
            Err(BookingError::InsufficientCash { .. })
        ));
        assert_eq!(p, before);
        p.apply_fill(&fill(Side::Buy, "5", "200", "1"), true)
            .unwrap();
        assert_eq!(p.cash, d("-1"));
    }
}
