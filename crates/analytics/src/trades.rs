//! Fills, FIFO round-trip matching and per-trade statistics.

use std::collections::{HashMap, VecDeque};

use pulse_core::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::AnalyticsError;

/// Direction of a fill: the domain's one `Side`.
pub use pulse_core::Side;

/// One execution, in plain `f64` (the engine converts from its decimals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillRecord {
    /// Execution time (UTC).
    pub ts: Timestamp,
    /// Instrument symbol; lots are matched per symbol.
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Quantity in shares/units, strictly positive (the side carries the sign).
    pub quantity: f64,
    /// Execution price per unit, in account currency.
    pub price: f64,
    /// Total fee charged for this fill (commission + fees), currency, ≥ 0.
    pub fee: f64,
}

impl FillRecord {
    /// Absolute traded notional `quantity × price` (currency).
    pub fn notional(&self) -> f64 {
        (self.quantity * self.price).abs()
    }
}

/// Long or short position that a closed trade unwound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Bought first, sold to close.
    Long,
    /// Sold first, bought to cover.
    Short,
}

/// The realized result of one CLOSING fill: the part of a fill that reduced an open position,
/// matched FIFO against the oldest open lots of the same symbol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedTrade {
    /// Symbol.
    pub symbol: String,
    /// Long or short.
    pub direction: Direction,
    /// Time of the oldest lot matched (entry).
    pub entry_ts: Timestamp,
    /// Time of the closing fill (exit).
    pub exit_ts: Timestamp,
    /// Quantity closed (units, positive).
    pub quantity: f64,
    /// Quantity-weighted average entry price of the matched lots (currency per unit).
    pub entry_price: f64,
    /// Price of the closing fill (currency per unit).
    pub exit_price: f64,
    /// `Σ (exit − entry) × q` for longs, `Σ (entry − exit) × q` for shorts, before fees (currency).
    pub gross_pnl: f64,
    /// Entry fees pro rata (`lot fee × q_matched / lot quantity`) plus the exit fee pro rata
    /// (`fill fee × q_closed / fill quantity`), currency.
    pub fees: f64,
    /// Realized P&L `gross_pnl − fees` (currency).
    pub pnl: f64,
    /// `pnl / (entry_price × quantity)`: return on the capital committed, fraction.
    pub return_fraction: f64,
}

#[derive(Debug, Clone)]
struct Lot {
    ts: Timestamp,
    remaining: f64,
    original: f64,
    price: f64,
    fee: f64,
    long: bool,
}

/// Relative tolerance under which a leftover quantity counts as zero (fractional-share rounding).
const QTY_EPS: f64 = 1e-9;

/// Validates `fills` (finite, `quantity > 0`, `price ≥ 0`, `fee ≥ 0`, chronological).
pub(crate) fn validate_fills(fills: &[FillRecord]) -> Result<(), AnalyticsError> {
    for (i, f) in fills.iter().enumerate() {
        let bad = |field, value, reason| {
            Err(AnalyticsError::InvalidValue {
                field,
                index: i,
                value,
                reason,
            })
        };
        if !(f.quantity.is_finite() && f.quantity > 0.0) {
            return bad("fills.quantity", f.quantity, "must be finite and > 0");
        }
        if !(f.price.is_finite() && f.price >= 0.0) {
            return bad("fills.price", f.price, "must be finite and >= 0");
        }
        if !(f.fee.is_finite() && f.fee >= 0.0) {
            return bad("fills.fee", f.fee, "must be finite and >= 0");
        }
        if i > 0 && f.ts < fills[i - 1].ts {
            return Err(AnalyticsError::NotChronological {
                field: "fills",
                index: i,
            });
        }
    }
    Ok(())
}

/// Matches fills FIFO per symbol and returns one [`ClosedTrade`] per fill that closed (part of) a
/// position, in fill order. A fill larger than the open opposite position closes it and opens a
/// new lot in its own direction with the remaining quantity (and the pro-rata share of its fee).
/// Positions still open at the end are not reported. Fills are processed in slice order (they
/// should be chronological); invalid fills are rejected.
pub fn closed_trades(fills: &[FillRecord]) -> Result<Vec<ClosedTrade>, AnalyticsError> {
    validate_fills(fills)?;
    let mut book: HashMap<&str, VecDeque<Lot>> = HashMap::new();
    let mut out = Vec::new();
    for f in fills {
        let buy = f.side == Side::Buy;
        let lots = book.entry(f.symbol.as_str()).or_default();
        let closing = lots.front().is_some_and(|l| l.long != buy);
        let mut remaining = f.quantity;
        if closing {
            let mut closed = 0.0;
            let mut gross = 0.0;
            let mut entry_fees = 0.0;
            let mut entry_notional = 0.0;
            let mut entry_ts = f.ts;
            let mut long = true;
            let mut first = true;
            while remaining > QTY_EPS * f.quantity {
                let Some(lot) = lots.front_mut() else { break };
                if first {
                    entry_ts = lot.ts;
                    long = lot.long;
                    first = false;
                }
                let m = remaining.min(lot.remaining);
                let sign = if lot.long { 1.0 } else { -1.0 };
                gross += sign * (f.price - lot.price) * m;
                entry_fees += lot.fee * m / lot.original;
                entry_notional += lot.price * m;
                lot.remaining -= m;
                remaining -= m;
                closed += m;
                if lot.remaining <= QTY_EPS * lot.original {
                    lots.pop_front();
                }
            }
            let exit_fee = f.fee * closed / f.quantity;
            let fees = entry_fees + exit_fee;
            let pnl = gross - fees;
            out.push(ClosedTrade {
                symbol: f.symbol.clone(),
                direction: if long {
                    Direction::Long
                } else {
                    Direction::Short
                },
                entry_ts,
                exit_ts: f.ts,
                quantity: closed,
                entry_price: if closed > 0.0 {
                    entry_notional / closed
                } else {
                    0.0
                },
                exit_price: f.price,
                gross_pnl: gross,
                fees,
                pnl,
                return_fraction: if entry_notional > 0.0 {
                    pnl / entry_notional
                } else {
                    0.0
                },
            });
        }
        if remaining > QTY_EPS * f.quantity {
            lots.push_back(Lot {
                ts: f.ts,
                remaining,
                original: remaining,
                price: f.price,
                fee: f.fee * remaining / f.quantity,
                long: buy,
            });
        }
    }
    Ok(out)
}

/// Aggregate statistics over closed trades.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeStats {
    /// Number of closed trades (closing fills).
    pub closed_trades: usize,
    /// Trades with `pnl > 0`.
    pub wins: usize,
    /// Trades with `pnl < 0` (a trade with exactly zero P&L is neither).
    pub losses: usize,
    /// `wins / closed_trades`, fraction; `None` without closed trades.
    pub win_rate: Option<f64>,
    /// Sum of positive P&L (currency).
    pub gross_profit: f64,
    /// Sum of the absolute values of negative P&L (currency, positive number).
    pub gross_loss: f64,
    /// `gross_profit / gross_loss`; `+∞` when there is profit but no loss; `None` without closed
    /// trades or when both are zero.
    pub profit_factor: Option<f64>,
    /// Mean realized P&L per closed trade (currency); `None` without closed trades.
    pub expectancy: Option<f64>,
}

impl TradeStats {
    /// Aggregates `trades` (see the field docs for each formula).
    pub fn from_trades(trades: &[ClosedTrade]) -> TradeStats {
        let n = trades.len();
        let wins = trades.iter().filter(|t| t.pnl > 0.0).count();
        let losses = trades.iter().filter(|t| t.pnl < 0.0).count();
        let gross_profit: f64 = trades.iter().filter(|t| t.pnl > 0.0).map(|t| t.pnl).sum();
        let gross_loss: f64 = trades.iter().filter(|t| t.pnl < 0.0).map(|t| -t.pnl).sum();
        let profit_factor = if n == 0 {
            None
        } else if gross_loss > 0.0 {
            Some(gross_profit / gross_loss)
        } else if gross_profit > 0.0 {
            Some(f64::INFINITY)
        } else {
            None
        };
        TradeStats {
            closed_trades: n,
            wins,
            losses,
            win_rate: (n > 0).then(|| wins as f64 / n as f64),
            gross_profit,
            gross_loss,
            profit_factor,
            expectancy: (n > 0).then(|| trades.iter().map(|t| t.pnl).sum::<f64>() / n as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(sec: i64, sym: &str, side: Side, q: f64, p: f64, fee: f64) -> FillRecord {
        FillRecord {
            ts: Timestamp::from_second(sec).unwrap(),
            symbol: sym.into(),
            side,
            quantity: q,
            price: p,
            fee,
        }
    }

    #[test]
    fn fifo_partial_and_flip() {
        let fills = [
            fill(0, "A", Side::Buy, 10.0, 100.0, 1.0),
            fill(1, "A", Side::Buy, 10.0, 110.0, 1.0),
            // closes 10@100 and 5 of 10@110; exit fee all closing
            fill(2, "A", Side::Sell, 15.0, 120.0, 1.5),
            // closes the remaining 5@110 and opens a 5-short; exit fee 1.0*5/10
            fill(3, "A", Side::Sell, 10.0, 100.0, 1.0),
            fill(4, "A", Side::Buy, 5.0, 90.0, 0.5),
        ];
        let t = closed_trades(&fills).unwrap();
        assert_eq!(t.len(), 3);
        // gross 200 + 50 = 250; fees 1 + 0.5 + 1.5 = 3
        assert!((t[0].pnl - 247.0).abs() < 1e-12);
        assert!((t[0].entry_price - 1550.0 / 15.0).abs() < 1e-12);
        // gross −50; fees 0.5 (rest of lot 2) + 0.5
        assert!((t[1].pnl + 51.0).abs() < 1e-12);
        // short 5@100 covered @90: +50; fees 0.5 + 0.5
        assert_eq!(t[2].direction, Direction::Short);
        assert!((t[2].pnl - 49.0).abs() < 1e-12);
        let s = TradeStats::from_trades(&t);
        assert_eq!((s.closed_trades, s.wins, s.losses), (3, 2, 1));
        assert!((s.profit_factor.unwrap() - 296.0 / 51.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate() {
        let s = TradeStats::from_trades(&[]);
        assert_eq!(
            (s.win_rate, s.profit_factor, s.expectancy),
            (None, None, None)
        );
        let only_win = closed_trades(&[
            fill(0, "A", Side::Buy, 1.0, 1.0, 0.0),
            fill(1, "A", Side::Sell, 1.0, 2.0, 0.0),
        ])
        .unwrap();
        assert_eq!(
            TradeStats::from_trades(&only_win).profit_factor,
            Some(f64::INFINITY)
        );
        assert!(closed_trades(&[fill(0, "A", Side::Buy, 0.0, 1.0, 0.0)]).is_err());
        assert!(closed_trades(&[fill(0, "A", Side::Buy, 1.0, f64::NAN, 0.0)]).is_err());
    }
}
