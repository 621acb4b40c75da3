//! The one order-sizing rule of every decision path. A decision (the engine's target weights, the
//! rebalancer's split-entry step) ends in wanted quantity changes; [`size_orders`] turns them into
//! orders the same way everywhere: rounded to the tradable step (whole shares or `quantity_dp`
//! decimals), sells capped at what may be sold, trades under the minimum notional dropped (except
//! closing sales), sells first, then buys scaled down so that their cost — slippage and fees by
//! the one [`CostModel`] — fits the cash plus the sells' proceeds.

use crate::costs::CostModel;
use crate::order::Side;
use rust_decimal::{Decimal, RoundingStrategy};

/// How a wanted (fractional) quantity change is rounded to the tradable step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// To the nearest step, halves away from zero (a split-entry step that is not the last).
    Nearest,
    /// Toward −∞: a buy never overshoots its target and a sale never leaves more than a step
    /// above it (a target position rounded down; a plan's last step).
    Down,
}

/// The tradable quantity step and the minimum trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantityRules {
    /// Decimal places of quantities (0 = whole shares).
    pub quantity_dp: u32,
    /// Trades whose notional (quantity × reference price, account currency) is below this are
    /// dropped, except a sale closing a position.
    pub min_trade_value: Decimal,
}

impl QuantityRules {
    /// The smallest tradable quantity (1 share, or `10^-quantity_dp`).
    pub fn step(&self) -> Decimal {
        Decimal::new(1, self.quantity_dp)
    }
}

/// One wanted quantity change of one asset, before rounding and the cash check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WantedTrade {
    /// The caller's index of the asset (comes back in the sized orders).
    pub asset: usize,
    /// Reference price the trade is sized at (> 0; the last close), account currency per share.
    pub price: Decimal,
    /// Signed quantity change (shares; positive = buy).
    pub delta: Decimal,
    /// Shares that may be sold (held less what is already being sold).
    pub sellable: Decimal,
    /// Sell everything sellable, whatever `delta` says and whatever its notional.
    pub close: bool,
    /// How `delta` is rounded to the step.
    pub rounding: Rounding,
}

/// One sized order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizedOrder {
    /// The caller's index of the asset.
    pub asset: usize,
    /// Buy or sell.
    pub side: Side,
    /// Shares (> 0).
    pub quantity: Decimal,
    /// Reference price it was sized at.
    pub price: Decimal,
}

/// Sizes `wanted` trades into orders appended to `out`: sells first, then buys, each in the order
/// given. Returns true when the buys were cut to fit the cash (`cash` plus the sells' proceeds
/// after slippage and fees; a buy costs its notional at the slipped price plus its fee).
pub fn size_orders(
    cash: Decimal,
    wanted: impl IntoIterator<Item = WantedTrade>,
    rules: &QuantityRules,
    costs: &CostModel,
    out: &mut Vec<SizedOrder>,
) -> bool {
    let first = out.len();
    // Buys wait until the sells are known: inline for up to 8 assets (no allocation on the
    // backtest's hot path), spilling to a Vec beyond.
    const INLINE: usize = 8;
    let mut inline = [(0usize, Decimal::ZERO, Decimal::ZERO); INLINE];
    let mut n_inline = 0;
    let mut spill: Vec<(usize, Decimal, Decimal)> = Vec::new();
    for w in wanted {
        if w.price <= Decimal::ZERO {
            continue;
        }
        let sellable = w.sellable.max(Decimal::ZERO);
        if w.close {
            if sellable > Decimal::ZERO {
                out.push(SizedOrder {
                    asset: w.asset,
                    side: Side::Sell,
                    quantity: sellable,
                    price: w.price,
                });
            }
            continue;
        }
        let strategy = match w.rounding {
            Rounding::Nearest => RoundingStrategy::MidpointAwayFromZero,
            Rounding::Down => RoundingStrategy::ToNegativeInfinity,
        };
        let q = w.delta.round_dp_with_strategy(rules.quantity_dp, strategy);
        if q < Decimal::ZERO {
            let q = (-q).min(sellable);
            if q > Decimal::ZERO && q * w.price >= rules.min_trade_value {
                out.push(SizedOrder {
                    asset: w.asset,
                    side: Side::Sell,
                    quantity: q,
                    price: w.price,
                });
            }
        } else if q > Decimal::ZERO && q * w.price >= rules.min_trade_value {
            if n_inline < INLINE {
                inline[n_inline] = (w.asset, w.price, q);
                n_inline += 1;
            } else {
                spill.push((w.asset, w.price, q));
            }
        }
    }
    let proceeds: Decimal = out[first..]
        .iter()
        .map(|o| {
            let notional = o.quantity * costs.execution_price(Side::Sell, o.price);
            notional - costs.fee(notional)
        })
        .sum();
    let budget = cash + proceeds;
    let cost = |q: Decimal, p: Decimal| {
        let notional = q * costs.execution_price(Side::Buy, p);
        notional + costs.fee(notional)
    };
    let buys = || inline[..n_inline].iter().chain(&spill).copied();
    let total: Decimal = buys().map(|(_, p, q)| cost(q, p)).sum();
    let push = |out: &mut Vec<SizedOrder>, asset, price, quantity| {
        out.push(SizedOrder {
            asset,
            side: Side::Buy,
            quantity,
            price,
        })
    };
    if total <= budget {
        for (asset, price, q) in buys() {
            push(out, asset, price, q);
        }
        return false;
    }
    if budget <= Decimal::ZERO {
        return true;
    }
    // Scale every buy by budget / total (rounded toward zero), then make sure, buy by buy, that
    // the running cost stays within the budget: decimal division rounds at 28 digits and a
    // minimum fee does not scale.
    let scale = budget / total;
    let step = rules.step();
    let mut spent = Decimal::ZERO;
    for (asset, price, q) in buys() {
        let mut scaled =
            (q * scale).round_dp_with_strategy(rules.quantity_dp, RoundingStrategy::ToZero);
        while scaled > Decimal::ZERO && spent + cost(scaled, price) > budget {
            scaled -= step;
        }
        if scaled > Decimal::ZERO && scaled * price >= rules.min_trade_value {
            spent += cost(scaled, price);
            push(out, asset, price, scaled);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn wanted(asset: usize, price: &str, delta: &str, sellable: &str) -> WantedTrade {
        WantedTrade {
            asset,
            price: d(price),
            delta: d(delta),
            sellable: d(sellable),
            close: false,
            rounding: Rounding::Nearest,
        }
    }

    const WHOLE: QuantityRules = QuantityRules {
        quantity_dp: 0,
        min_trade_value: Decimal::ZERO,
    };

    #[test]
    fn sells_come_first_and_are_capped_at_what_may_be_sold() {
        let mut out = Vec::new();
        let cut = size_orders(
            d("0"),
            [wanted(0, "10", "5", "0"), wanted(1, "20", "-7.4", "3")],
            &WHOLE,
            &CostModel::commission_only(Decimal::ZERO),
            &mut out,
        );
        // Sells 3 (capped) → 60 of cash buys 5 × 10.
        assert!(!cut);
        assert_eq!(
            out,
            vec![
                SizedOrder {
                    asset: 1,
                    side: Side::Sell,
                    quantity: d("3"),
                    price: d("20")
                },
                SizedOrder {
                    asset: 0,
                    side: Side::Buy,
                    quantity: d("5"),
                    price: d("10")
                },
            ]
        );
    }

    #[test]
    fn rounding_nearest_and_down_and_the_minimum_trade() {
        let rules = QuantityRules {
            quantity_dp: 0,
            min_trade_value: d("100"),
        };
        let costs = CostModel::commission_only(Decimal::ZERO);
        let mut out = Vec::new();
        let mut down = wanted(1, "50", "2.9", "0");
        down.rounding = Rounding::Down;
        size_orders(
            d("1000"),
            [
                wanted(0, "50", "2.5", "0"),
                down,
                wanted(2, "50", "1.4", "0"),
            ],
            &rules,
            &costs,
            &mut out,
        );
        // 2.5 → 3 (150 ≥ 100); 2.9 down → 2 (100 ≥ 100); 1.4 → 1 (50 < 100: dropped).
        let got: Vec<(usize, Decimal)> = out.iter().map(|o| (o.asset, o.quantity)).collect();
        assert_eq!(got, vec![(0, d("3")), (1, d("2"))]);
        // A closing sale goes out whatever its size.
        out.clear();
        let mut close = wanted(3, "50", "0", "1");
        close.close = true;
        size_orders(d("0"), [close], &rules, &costs, &mut out);
        assert_eq!(out[0].quantity, d("1"));
        assert_eq!(out[0].side, Side::Sell);
    }

    #[test]
    fn buys_are_scaled_to_cash_including_fees() {
        // 10 shares at 100 cost 1000 + 1 fee > 1000: only 9 fit.
        let mut out = Vec::new();
        let cut = size_orders(
            d("1000"),
            [wanted(0, "100", "10", "0")],
            &WHOLE,
            &CostModel::default(),
            &mut out,
        );
        assert!(cut);
        assert_eq!(out[0].quantity, d("9"));
    }

    proptest! {
        /// Whatever is wanted, the buys' cost never exceeds the cash plus the sells' proceeds,
        /// no sale exceeds what may be sold, and sells precede buys.
        #[test]
        fn sized_orders_fit_the_cash_and_the_holdings(
            cash in 0i64..2_000_000,
            assets in proptest::collection::vec((1i64..90_000, -20_000i64..20_000, 0i64..200, any::<bool>()), 1..12),
            dp in 0u32..3,
            fee_bp in 0i64..50,
            min_fee in prop_oneof![Just(0i64), 1i64..500],
            slip_bp in 0i64..30,
        ) {
            let costs = CostModel {
                commission_rate: Decimal::new(fee_bp, 4),
                min_fee: Decimal::new(min_fee, 2),
                slippage_bps: Decimal::from(slip_bp),
            };
            let rules = QuantityRules { quantity_dp: dp, min_trade_value: Decimal::ZERO };
            let wanted: Vec<WantedTrade> = assets.iter().enumerate().map(|(i, (p, q, held, nearest))| WantedTrade {
                asset: i,
                price: Decimal::new(*p, 2),
                delta: Decimal::new(*q, 2),
                sellable: Decimal::from(*held),
                close: false,
                rounding: if *nearest { Rounding::Nearest } else { Rounding::Down },
            }).collect();
            let mut out = Vec::new();
            size_orders(Decimal::new(cash, 2), wanted.iter().copied(), &rules, &costs, &mut out);
            let mut budget = Decimal::new(cash, 2);
            let mut seen_buy = false;
            for o in &out {
                prop_assert!(o.quantity > Decimal::ZERO);
                prop_assert_eq!(o.quantity, o.quantity.round_dp(dp));
                let notional = o.quantity * costs.execution_price(o.side, o.price);
                match o.side {
                    Side::Sell => {
                        prop_assert!(!seen_buy, "a sell after a buy");
                        prop_assert!(o.quantity <= wanted[o.asset].sellable);
                        budget += notional - costs.fee(notional);
                    }
                    Side::Buy => {
                        seen_buy = true;
                        budget -= notional + costs.fee(notional);
                    }
                }
            }
            prop_assert!(budget >= Decimal::ZERO, "overspent by {}", -budget);
        }
    }
}
