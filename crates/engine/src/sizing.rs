//! Turning target weights into orders: whole shares, a drift band and a minimum trade size so
//! that tiny weight changes do not churn fees, sells before buys, and buys scaled to the cash.

use crate::costs::CostModel;
use pulse_core::money::money_to_f64;
use pulse_core::sizing::{QuantityRules, Rounding, SizedOrder, WantedTrade, size_orders};
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
    /// Buying power beyond the cash (margin), account currency: buys may spend it and leave the
    /// cash negative. 0 (the default) without a margin-enabled risk layer.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub credit: Decimal,
}

impl Default for SizingConfig {
    fn default() -> Self {
        SizingConfig {
            whole_shares: true,
            fractional_dp: 6,
            drift_band: 0.02,
            min_trade_value: Decimal::from(100),
            credit: Decimal::ZERO,
        }
    }
}

impl SizingConfig {
    /// The quantity step and minimum trade of these settings, for the shared sizing rule.
    pub fn quantity_rules(&self) -> QuantityRules {
        QuantityRules {
            quantity_dp: if self.whole_shares {
                0
            } else {
                self.fractional_dp
            },
            min_trade_value: self.min_trade_value,
        }
    }

    fn round_quantity(&self, q: Decimal) -> Decimal {
        q.round_dp_with_strategy(self.quantity_rules().quantity_dp, RoundingStrategy::ToZero)
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

/// The drift-band rule that decides whether a plan is needed at all: true when nothing needs
/// trading. `targets` lists `(target weight, current weight)` of every priced asset with a target
/// (fractions of `equity`); `untargeted_priced_held` says whether a held, priced asset has no target
/// (it must be closed). Inside the band means: equity positive, no targeted position being closed
/// (target ≤ 0 while held), every weight within `drift_band` of its target (less 1e-9, so that a
/// drift of exactly the band trades), and nothing untargeted held. [`Engine`](crate::Engine) and
/// the backtest's sweep kernel both decide with this.
pub fn within_drift_band(
    equity: f64,
    drift_band: f64,
    targets: impl IntoIterator<Item = (f64, f64)>,
    untargeted_priced_held: bool,
) -> bool {
    if equity.is_nan() || equity <= 0.0 {
        return false;
    }
    let band = drift_band - 1e-9;
    targets.into_iter().all(|(target, now)| {
        let closing = target <= 0.0 && now > 0.0;
        !(closing || (target - now).abs() >= band)
    }) && !untargeted_priced_held
}

/// One asset of a dense plan (see [`plan_orders_dense`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanAsset {
    /// Target weight (fraction of equity; 0 when the asset has no target and is only held).
    pub target: f64,
    /// Quantity held now (shares).
    pub held: Decimal,
    /// `money_to_f64(held)` (callers that keep f64 mirrors pass theirs instead of converting).
    pub held_f64: f64,
    /// Price the plan sizes with (the last close), `None` when the asset has no price yet.
    pub price: Option<Decimal>,
    /// `money_to_f64(price)` (NaN without a price).
    pub price_f64: f64,
}

impl PlanAsset {
    /// An asset with its f64 mirrors computed from the exact values.
    pub fn new(target: f64, held: Decimal, price: Option<Decimal>) -> Self {
        PlanAsset {
            target,
            held,
            held_f64: money_to_f64(held),
            price,
            price_f64: price.map_or(f64::NAN, money_to_f64),
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
    let only_held = portfolio
        .positions
        .keys()
        .filter(|s| !target.contains_key(*s));
    let symbols: Vec<&Symbol> = target.keys().chain(only_held).collect();
    let assets: Vec<PlanAsset> = symbols
        .iter()
        .map(|s| {
            PlanAsset::new(
                target.get(*s).copied().unwrap_or(0.0),
                portfolio.quantity(s),
                prices.get(*s).copied(),
            )
        })
        .collect();
    let mut planned = Vec::new();
    plan_orders_dense(portfolio.cash, &assets, sizing, costs, &mut planned);
    planned
        .into_iter()
        .map(|o| (symbols[o.asset].clone(), o.side, o.quantity))
        .collect()
}

/// [`plan_orders`] over assets addressed by index (the backtest's hot path and the sweep kernel
/// call this directly; [`plan_orders`] maps symbols onto it). `assets` must list every asset with
/// a target first, then the held ones without a target (the order orders come out in). The
/// engine's part is which trades are wanted: a priced asset outside the drift band (or being
/// closed) is wanted at its target position truncated to the quantity step. The rest — minimum
/// trade, sells first, buys scaled to the cash with fees — is the one sizing rule of every decision
/// path, [`pulse_core::sizing::size_orders`]. Appends the sized orders (with `asset` = index into
/// `assets`) to `out`.
pub fn plan_orders_dense(
    cash: Decimal,
    assets: &[PlanAsset],
    sizing: &SizingConfig,
    costs: &CostModel,
    out: &mut Vec<SizedOrder>,
) {
    let held_value: Decimal = assets
        .iter()
        .filter(|a| !a.held.is_zero())
        .filter_map(|a| a.price.map(|p| a.held * p))
        .sum();
    let equity = cash + held_value;
    if equity <= Decimal::ZERO {
        return;
    }
    let equity_f = money_to_f64(equity);
    let wanted = assets.iter().enumerate().filter_map(|(i, a)| {
        let price = a.price.filter(|p| *p > Decimal::ZERO)?;
        let w_target = a.target.max(0.0);
        let w_now = a.held_f64 * a.price_f64 / equity_f;
        let close = w_target == 0.0 && a.held > Decimal::ZERO;
        if !close && (w_target - w_now).abs() < sizing.drift_band {
            return None;
        }
        let wanted = if close {
            Decimal::ZERO
        } else {
            sizing.quantity_from_f64(w_target * equity_f / a.price_f64)
        };
        Some(WantedTrade {
            asset: i,
            price,
            delta: wanted - a.held,
            sellable: a.held,
            close,
            rounding: Rounding::Down,
        })
    });
    size_orders(
        cash + sizing.credit.max(Decimal::ZERO),
        wanted,
        &sizing.quantity_rules(),
        costs,
        out,
    );
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
    fn drift_band_edges() {
        // Inside: 0.5 target at 0.49.
        assert!(within_drift_band(100.0, 0.02, [(0.5, 0.49)], false));
        // A drift of exactly the band trades.
        assert!(!within_drift_band(100.0, 0.02, [(0.5, 0.48)], false));
        // Closing a held position trades whatever its size.
        assert!(!within_drift_band(100.0, 0.02, [(0.0, 0.001)], false));
        // An untargeted holding trades; no equity trades.
        assert!(!within_drift_band(100.0, 0.02, [(0.5, 0.5)], true));
        assert!(!within_drift_band(0.0, 0.02, [], false));
        assert!(!within_drift_band(f64::NAN, 0.02, [], false));
        assert!(within_drift_band(100.0, 0.02, [], false));
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
