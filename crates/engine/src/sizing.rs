//! Turning target weights into orders: whole shares, a drift band and a minimum trade size so
//! that tiny weight changes do not churn fees, sells before buys, and buys scaled to the cash.

use crate::costs::CostModel;
use pulse_core::money::money_to_f64;
use pulse_core::{Portfolio, Side, Symbol};
use pulse_strategy::TargetWeights;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Order sizing rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizingConfig {
    /// Trade whole shares only (default). When false, quantities keep `fractional_dp` decimals.
    pub whole_shares: bool,
    /// Decimals of fractional quantities.
    pub fractional_dp: u32,
    /// A position whose weight is within this distance of its (non-zero) target is left alone
    /// (fraction of equity; 0.02 = 2 percentage points).
    pub drift_band: f64,
    /// Trades smaller than this notional (account currency) are skipped, except closing a
    /// position whose target is zero.
    pub min_trade_value: Decimal,
}

impl Default for SizingConfig {
    fn default() -> Self {
        SizingConfig {
            whole_shares: true,
            fractional_dp: 6,
            drift_band: 0.02,
            min_trade_value: Decimal::from(100),
        }
    }
}

impl SizingConfig {
    fn round_quantity(&self, q: Decimal) -> Decimal {
        let dp = if self.whole_shares {
            0
        } else {
            self.fractional_dp
        };
        q.round_dp_with_strategy(dp, RoundingStrategy::ToZero)
    }
}

impl SizingConfig {
    /// Shares wanted for a fractional share count `x` (≥ 0): truncated to whole shares, or to
    /// `fractional_dp` decimals. Sizing is a decision made in f64; what is booked (cash, fills,
    /// fees) stays exact.
    fn quantity_from_f64(&self, x: f64) -> Decimal {
        if !(x.is_finite() && x > 0.0) {
            return Decimal::ZERO;
        }
        let dp = if self.whole_shares {
            0
        } else {
            self.fractional_dp.min(9)
        };
        let scaled = (x * 10f64.powi(dp as i32)).trunc();
        if scaled < 9.0e15 {
            Decimal::new(scaled as i64, dp)
        } else {
            Decimal::from_f64_retain(x)
                .map(|d| self.round_quantity(d))
                .unwrap_or(Decimal::ZERO)
        }
    }
}

/// Orders `(symbol, side, quantity)` that move `portfolio` toward `target` at `prices`: sells
/// first, then buys scaled down so that their cost (with slippage and fees) fits the cash plus
/// the sells' proceeds. Symbols without a price are left alone.
pub fn plan_orders(
    portfolio: &Portfolio,
    target: &TargetWeights,
    prices: &BTreeMap<Symbol, Decimal>,
    sizing: &SizingConfig,
    costs: &CostModel,
) -> Vec<(Symbol, Side, Decimal)> {
    let held_value: Decimal = portfolio
        .positions
        .iter()
        .filter_map(|(s, q)| prices.get(s).map(|p| *q * *p))
        .sum();
    let equity = portfolio.cash + held_value;
    if equity <= Decimal::ZERO {
        return Vec::new();
    }
    let equity_f = money_to_f64(equity);
    let only_held = portfolio
        .positions
        .keys()
        .filter(|s| !target.contains_key(*s));
    let mut sells = Vec::new();
    let mut buys = Vec::new();
    for symbol in target.keys().chain(only_held) {
        let Some(&price) = prices.get(symbol) else {
            continue;
        };
        if price <= Decimal::ZERO {
            continue;
        }
        let w_target = target.get(symbol).copied().unwrap_or(0.0).max(0.0);
        let held = portfolio.quantity(symbol);
        let price_f = money_to_f64(price);
        let w_now = money_to_f64(held) * price_f / equity_f;
        let closing = w_target == 0.0 && held > Decimal::ZERO;
        if !closing && (w_target - w_now).abs() < sizing.drift_band {
            continue;
        }
        let wanted = if closing {
            Decimal::ZERO
        } else {
            sizing.quantity_from_f64(w_target * equity_f / price_f)
        };
        let delta = wanted - held;
        if delta.is_zero() {
            continue;
        }
        if !closing && delta.abs() * price < sizing.min_trade_value {
            continue;
        }
        if delta < Decimal::ZERO {
            sells.push((symbol.clone(), Side::Sell, -delta));
        } else {
            buys.push((symbol.clone(), price, delta));
        }
    }
    let proceeds: Decimal = sells
        .iter()
        .filter_map(|(s, _, q)| prices.get(s).map(|p| (*q, *p)))
        .map(|(q, p)| {
            let notional = q * costs.execution_price(Side::Sell, p);
            notional - costs.fee(notional)
        })
        .sum();
    let budget = (portfolio.cash + proceeds).max(Decimal::ZERO);
    let cost = |q: Decimal, p: Decimal| {
        let notional = q * costs.execution_price(Side::Buy, p);
        notional + costs.fee(notional)
    };
    let total: Decimal = buys.iter().map(|(_, p, q)| cost(*q, *p)).sum();
    let mut orders = sells;
    if total > budget && total > Decimal::ZERO {
        let scale = budget / total;
        let mut spent = Decimal::ZERO;
        for (symbol, price, q) in buys {
            let mut scaled = sizing.round_quantity(q * scale);
            // Guard against rounding: never plan more than the remaining budget.
            while scaled > Decimal::ZERO && spent + cost(scaled, price) > budget {
                scaled -= if sizing.whole_shares {
                    Decimal::ONE
                } else {
                    Decimal::new(1, sizing.fractional_dp)
                };
            }
            if scaled > Decimal::ZERO && scaled * price >= sizing.min_trade_value {
                spent += cost(scaled, price);
                orders.push((symbol, Side::Buy, scaled));
            }
        }
    } else {
        orders.extend(buys.into_iter().map(|(s, _, q)| (s, Side::Buy, q)));
    }
    orders
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn sym(s: &str) -> Symbol {
        Symbol::try_new(s).unwrap()
    }

    #[test]
    fn buys_whole_shares_toward_target() {
        let p = Portfolio::with_cash(d("100000"));
        let target = TargetWeights::from([(sym("TSLA"), 0.5), (sym("TSLL"), 0.3)]);
        let prices = BTreeMap::from([(sym("TSLA"), d("250")), (sym("TSLL"), d("13.37"))]);
        let orders = plan_orders(
            &p,
            &target,
            &prices,
            &SizingConfig::default(),
            &CostModel::default(),
        );
        assert_eq!(
            orders,
            vec![
                (sym("TSLA"), Side::Buy, d("200")),
                (sym("TSLL"), Side::Buy, d("2243"))
            ]
        );
    }

    #[test]
    fn drift_band_and_minimum_trade_prevent_churn() {
        let mut p = Portfolio::with_cash(d("50000"));
        p.positions.insert(sym("TSLA"), d("200")); // 50 000 at 250 → weight 0.5
        let prices = BTreeMap::from([(sym("TSLA"), d("250"))]);
        let target = TargetWeights::from([(sym("TSLA"), 0.51)]);
        assert!(
            plan_orders(
                &p,
                &target,
                &prices,
                &SizingConfig::default(),
                &CostModel::default()
            )
            .is_empty()
        );
        // Zero target always closes, whatever the size.
        let close = TargetWeights::from([(sym("TSLA"), 0.0)]);
        assert_eq!(
            plan_orders(
                &p,
                &close,
                &prices,
                &SizingConfig::default(),
                &CostModel::default()
            ),
            vec![(sym("TSLA"), Side::Sell, d("200"))]
        );
    }

    #[test]
    fn buys_are_scaled_to_cash_including_fees() {
        let p = Portfolio::with_cash(d("1000"));
        let target = TargetWeights::from([(sym("A"), 1.0)]);
        let prices = BTreeMap::from([(sym("A"), d("100"))]);
        let orders = plan_orders(
            &p,
            &target,
            &prices,
            &SizingConfig::default(),
            &CostModel::default(),
        );
        // 10 shares would cost 1000 + 1 fee > 1000: only 9 fit.
        assert_eq!(orders, vec![(sym("A"), Side::Buy, d("9"))]);
    }
}
