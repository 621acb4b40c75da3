//! Transaction costs: commission as a fraction of notional, optional minimum fee, slippage. The
//! one cost model of every simulated execution: the backtest's broker, the paper broker and the
//! engine's fee-aware sizing all price and charge fills through [`CostModel`].

use crate::Side;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// What limited a simulated fill below its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillCap {
    /// A sell larger than the holding.
    Held,
    /// A buy larger than the cash affords.
    Cash,
}

/// The terms one order fills on (see [`CostModel::fill_terms`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillTerms {
    /// Shares filled (≤ requested; 0 when nothing could be filled).
    pub quantity: Decimal,
    /// Execution price per share (reference price with slippage), account currency.
    pub price: Decimal,
    /// quantity × price, account currency.
    pub notional: Decimal,
    /// Commission (exact), account currency.
    pub fee: Decimal,
    /// Why the quantity is below the request, if it is.
    pub capped: Option<FillCap>,
}

/// What a simulated fill may do beyond paying its costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FillLimits {
    /// Decimal places of the quantities a buy is cut to when the cash is short (0 = whole shares).
    pub quantity_dp: u32,
    /// Buys are not cut to the cash (margin): the cash may go negative.
    pub allow_negative_cash: bool,
}

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

/// A cost setting out of its range (see [`CostModel::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct InvalidCost {
    /// The field, as named in [`CostModel`] (`commission_rate`, `min_fee`, `slippage_bps`).
    pub field: &'static str,
    /// What is wrong, with the value.
    pub reason: String,
}

/// A stored cost model, or the bare commission rate that configurations and paper books kept
/// before there was one cost model (read as that rate without minimum fee or slippage). For
/// `#[serde(alias = "...", deserialize_with = "costs_or_rate")]` on a `CostModel` field.
pub fn costs_or_rate<'de, D: serde::Deserializer<'de>>(d: D) -> Result<CostModel, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Model(CostModel),
        Rate(Decimal),
    }
    Ok(match Stored::deserialize(d)? {
        Stored::Model(m) => m,
        Stored::Rate(r) => CostModel::commission_only(r),
    })
}

impl CostModel {
    /// Checks every field's range: commission a fraction in `[0, 1)`, minimum fee ≥ 0, slippage
    /// in `[0, 10000)` basis points. Every place a cost model enters calls this.
    pub fn validate(&self) -> Result<(), InvalidCost> {
        if self.commission_rate < Decimal::ZERO || self.commission_rate >= Decimal::ONE {
            return Err(InvalidCost {
                field: "commission_rate",
                reason: format!(
                    "must be a fraction in [0, 1) (got {})",
                    self.commission_rate
                ),
            });
        }
        if self.min_fee < Decimal::ZERO {
            return Err(InvalidCost {
                field: "min_fee",
                reason: format!("must be >= 0 (got {})", self.min_fee),
            });
        }
        if self.slippage_bps < Decimal::ZERO || self.slippage_bps >= Decimal::from(10_000) {
            return Err(InvalidCost {
                field: "slippage_bps",
                reason: format!(
                    "must be basis points in [0, 10000) (got {})",
                    self.slippage_bps
                ),
            });
        }
        Ok(())
    }

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

    /// How one order of `requested` shares fills at the `reference` price (> 0) given the shares
    /// `held` and the `cash` left: the execution price (reference with slippage), the quantity
    /// (sells capped at the holding; buys at what the cash affords, in steps of
    /// `10^-limits.quantity_dp`, unless negative cash is allowed; may be 0) and the exact fee.
    /// The backtest's simulated broker and the paper broker both fill through this.
    pub fn fill_terms(
        &self,
        side: Side,
        requested: Decimal,
        reference: Decimal,
        held: Decimal,
        cash: Decimal,
        limits: FillLimits,
    ) -> FillTerms {
        let price = self.execution_price(side, reference);
        let mut quantity = requested;
        let mut capped = None;
        let mut notional = quantity * price;
        let mut fee = self.fee(notional);
        if side == Side::Sell {
            if quantity > held {
                quantity = held;
                capped = Some(FillCap::Held);
                notional = quantity * price;
                fee = self.fee(notional);
            }
        } else if !limits.allow_negative_cash && notional + fee > cash {
            // The affordable quantity is the largest whose cost fits the cash (cost grows with
            // the quantity), so only a request whose own cost does not fit needs the division.
            let affordable = self.affordable_quantity(cash, price, limits.quantity_dp);
            if quantity > affordable {
                quantity = affordable;
                capped = Some(FillCap::Cash);
                notional = quantity * price;
                fee = self.fee(notional);
            }
        }
        if quantity <= Decimal::ZERO {
            notional = Decimal::ZERO;
            fee = Decimal::ZERO;
        }
        FillTerms {
            quantity,
            price,
            notional,
            fee,
            capped,
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
    use proptest::prelude::*;
    use std::str::FromStr;

    proptest! {
        /// The premise of `fill_terms`' shortcut: a quantity exceeds the affordable quantity
        /// exactly when its own cost (notional + fee) exceeds the cash, for whole and fractional
        /// shares, with and without a minimum fee.
        #[test]
        fn affordable_is_the_largest_quantity_that_fits(
            cash_cents in 0i64..1_000_000_000,
            price_cents in 1i64..500_000,
            quantity in 1i64..20_000,
            whole in any::<bool>(),
            min_fee in prop_oneof![Just(0i64), 1i64..500],
        ) {
            let costs = CostModel {
                min_fee: Decimal::new(min_fee, 2),
                ..CostModel::default()
            };
            let dp = if whole { 0 } else { 3 };
            let (cash, price) = (Decimal::new(cash_cents, 2), Decimal::new(price_cents, 2));
            let q = Decimal::new(quantity, dp);
            let notional = q * price;
            let over = notional + costs.fee(notional) > cash;
            prop_assert_eq!(q > costs.affordable_quantity(cash, price, dp), over);
        }
    }

    #[test]
    fn fills_cap_sells_at_the_holding_and_buys_at_the_cash() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let c = CostModel::default();
        let whole = FillLimits::default();
        let sell = c.fill_terms(Side::Sell, d("10"), d("21.40"), d("4"), d("0"), whole);
        assert_eq!((sell.quantity, sell.capped), (d("4"), Some(FillCap::Held)));
        assert_eq!(sell.fee, d("0.08560"));
        let buy = c.fill_terms(Side::Buy, d("100"), d("21.40"), d("0"), d("1000"), whole);
        assert_eq!((buy.quantity, buy.capped), (d("46"), Some(FillCap::Cash)));
        let margin = FillLimits {
            allow_negative_cash: true,
            ..whole
        };
        let buy = c.fill_terms(Side::Buy, d("100"), d("21.40"), d("0"), d("1000"), margin);
        assert_eq!((buy.quantity, buy.capped), (d("100"), None));
        let none = c.fill_terms(Side::Buy, d("5"), d("21.40"), d("0"), d("0"), whole);
        assert_eq!(
            (none.quantity, none.fee, none.notional),
            (d("0"), d("0"), d("0"))
        );
    }

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
