//! Transaction costs: commission as a fraction of notional, optional minimum fee, slippage. The
//! one cost model of every simulated execution: the backtest's broker, the paper broker and the
//! engine's fee-aware sizing all price and charge fills through [`CostModel`].

use crate::Side;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Commission and slippage, booked exactly in decimals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    /// Commission per side as a fraction of notional (0.001 = 0.1 %, the default).
    pub commission_rate: Decimal,
    /// Minimum commission per fill in account currency (0 = none).
    pub min_fee: Decimal,
    /// Slippage in basis points of the price, against the trader (buys pay more, sells get less).
    pub slippage_bps: Decimal,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            commission_rate: Decimal::new(1, 3),
            min_fee: Decimal::ZERO,
            slippage_bps: Decimal::ZERO,
        }
    }
}

impl CostModel {
    /// Execution price after slippage: `price × (1 ± bps / 10 000)`, exact.
    pub fn execution_price(&self, side: Side, price: Decimal) -> Decimal {
        if self.slippage_bps.is_zero() {
            // The same value and scale as `price × (1 ± 0)`, without a decimal division per fill.
            return price;
        }
        let k = self.slippage_bps / Decimal::from(10_000);
        match side {
            Side::Buy => price * (Decimal::ONE + k),
            Side::Sell => price * (Decimal::ONE - k),
        }
    }

    /// Commission of a fill: `max(min_fee, rate × notional)`, exact (not rounded), so that the
    /// fees of a run equal the rate times the traded notional to the last decimal.
    pub fn fee(&self, notional: Decimal) -> Decimal {
        (self.commission_rate * notional.abs()).max(self.min_fee)
    }

    /// Commission only, at `rate` per side (no minimum fee, no slippage).
    pub fn commission_only(rate: Decimal) -> Self {
        CostModel {
            commission_rate: rate,
            min_fee: Decimal::ZERO,
            slippage_bps: Decimal::ZERO,
        }
    }

    /// Largest quantity, in steps of `10^-quantity_dp` shares (0 = whole shares), whose cost —
    /// notional at `price` plus its fee — fits in `cash`; 0 when nothing does.
    pub fn affordable_quantity(&self, cash: Decimal, price: Decimal, quantity_dp: u32) -> Decimal {
        if cash <= Decimal::ZERO || price <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        let step = Decimal::new(1, quantity_dp);
        let mut q = (cash / (price * (Decimal::ONE + self.commission_rate)))
            .round_dp_with_strategy(quantity_dp, RoundingStrategy::ToZero);
        while q > Decimal::ZERO && q * price + self.fee(q * price) > cash {
            q -= step;
        }
        q.max(Decimal::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn fee_and_slippage_are_exact() {
        let c = CostModel {
            slippage_bps: Decimal::from(5),
            ..CostModel::default()
        };
        let p = Decimal::from_str("200.00").unwrap();
        assert_eq!(
            c.execution_price(Side::Buy, p),
            Decimal::from_str("200.1").unwrap()
        );
        assert_eq!(
            c.execution_price(Side::Sell, p),
            Decimal::from_str("199.9").unwrap()
        );
        assert_eq!(
            c.fee(Decimal::from_str("12345.67").unwrap()),
            Decimal::from_str("12.34567").unwrap()
        );
        let none = CostModel::default();
        for p in ["21.40", "0.0001", "1234567.891234"] {
            let p = Decimal::from_str(p).unwrap();
            for side in [Side::Buy, Side::Sell] {
                let slow = p * (Decimal::ONE + Decimal::ZERO / Decimal::from(10_000));
                let fast = none.execution_price(side, p);
                assert_eq!(fast, slow);
                assert_eq!(fast.to_string(), slow.to_string(), "same scale");
            }
        }
        let m = CostModel {
            min_fee: Decimal::ONE,
            ..CostModel::default()
        };
        assert_eq!(m.fee(Decimal::from(100)), Decimal::ONE);
    }

    #[test]
    fn the_affordable_quantity_is_the_largest_whose_cost_fits() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        // 1000 affords 46 shares at 21.40 with 0.1 % (46 × 21.40 × 1.001 = 985.38; 47 → 1006.8).
        let c = CostModel::default();
        assert_eq!(c.affordable_quantity(d("1000"), d("21.40"), 0), d("46"));
        assert_eq!(c.affordable_quantity(d("1000"), d("21.40"), 3), d("46.682"));
        // A minimum fee of 20 leaves 980: 45 shares (963 + 20 = 983 > 980 → 45 × 21.40 = 963,
        // 963 + 20 = 983 > 980 → 44: 941.6 + 20 = 961.6).
        let m = CostModel {
            min_fee: d("20"),
            ..CostModel::default()
        };
        assert_eq!(m.affordable_quantity(d("980"), d("21.40"), 0), d("44"));
        for (cash, price) in [("0", "1"), ("10", "0"), ("-5", "1")] {
            assert_eq!(c.affordable_quantity(d(cash), d(price), 0), Decimal::ZERO);
        }
    }
}
