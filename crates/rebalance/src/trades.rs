//! Netting and order sizing: holdings + in-flight orders against target quantities, then whole
//! shares, minimum trade size, sells before buys and buys scaled to the cash.

use crate::error::{RebalanceError, Result};
use pulse_core::costs::CostModel;
use pulse_core::sizing::{self, QuantityRules, Rounding, WantedTrade};
use pulse_core::{OrderRequest, Portfolio, Side, Symbol};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Holdings and in-flight orders netted against target quantities (result of
/// [`calculate_net_trades`]). Quantities in shares, money in the account currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetTrades {
    /// Cash after reserving in-flight buys (at `price × (1 + fee)`) and crediting in-flight sells
    /// (at `price × (1 − fee)`).
    pub cash: Decimal,
    /// Effective cash + Σ effective quantity × price.
    pub equity: Decimal,
    /// Price used per symbol.
    pub prices: BTreeMap<Symbol, Decimal>,
    /// Holdings + in-flight buys − in-flight sells, per symbol.
    pub effective: BTreeMap<Symbol, Decimal>,
    /// Shares that may still be sold: holdings − in-flight sells (in-flight buys are not yet owned).
    pub sellable: BTreeMap<Symbol, Decimal>,
    /// Target quantity (fractional): weight × equity × (1 − fee rate) / price; zero for symbols
    /// held or in flight but without a target weight.
    pub targets: BTreeMap<Symbol, Decimal>,
    /// Net delta still to trade: target − effective (positive = buy).
    pub net: BTreeMap<Symbol, Decimal>,
}

impl NetTrades {
    /// Current weight (fraction of effective equity) of each symbol, as f64.
    pub fn weights(&self) -> BTreeMap<Symbol, f64> {
        use rust_decimal::prelude::ToPrimitive;
        self.effective
            .iter()
            .map(|(s, q)| {
                let v = q * self.prices.get(s).copied().unwrap_or_default();
                let w = if self.equity > Decimal::ZERO {
                    (v / self.equity).to_f64().unwrap_or(0.0)
                } else {
                    0.0
                };
                (s.clone(), w)
            })
            .collect()
    }
}

fn price_of(prices: &BTreeMap<Symbol, Decimal>, s: &Symbol) -> Result<Decimal> {
    match prices.get(s) {
        Some(p) if *p > Decimal::ZERO => Ok(*p),
        other => Err(RebalanceError::MissingPrice {
            symbol: s.clone(),
            price: other.map_or_else(|| "none".to_string(), |p| p.to_string()),
        }),
    }
}

/// Decimal of an f64 weight or fraction (exact to ~15 significant digits).
pub(crate) fn dec(x: f64, what: &'static str) -> Result<Decimal> {
    Decimal::from_f64(x).ok_or_else(|| RebalanceError::InvalidInput {
        what,
        reason: format!("{x} is not representable as a decimal"),
    })
}

/// Nets `holdings` plus `in_flight` (submitted, unfilled) orders against `target_weights`
/// (fractions of equity) at `prices`, so that nothing in flight is bought or sold again.
/// Targets reserve `commission_rate` of equity for fees (target value = weight × equity × (1 − fee)).
/// Every held, in-flight or targeted symbol needs a price > 0.
pub fn calculate_net_trades(
    holdings: &Portfolio,
    in_flight: &[OrderRequest],
    target_weights: &BTreeMap<Symbol, f64>,
    prices: &BTreeMap<Symbol, Decimal>,
    commission_rate: Decimal,
) -> Result<NetTrades> {
    let mut effective: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    let mut sellable: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    let mut used: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    for (s, q) in &holdings.positions {
        if *q < Decimal::ZERO {
            return Err(RebalanceError::InvalidInput {
                what: "holdings",
                reason: format!("{s} has negative quantity {q}"),
            });
        }
        if q.is_zero() {
            continue;
        }
        used.insert(s.clone(), price_of(prices, s)?);
        effective.insert(s.clone(), *q);
        sellable.insert(s.clone(), *q);
    }
    let mut cash = holdings.cash;
    for o in in_flight {
        if o.quantity <= Decimal::ZERO {
            return Err(RebalanceError::InvalidInput {
                what: "in_flight",
                reason: format!("order {} has quantity {}", o.client_id, o.quantity),
            });
        }
        let p = price_of(prices, &o.symbol)?;
        used.insert(o.symbol.clone(), p);
        let e = effective.entry(o.symbol.clone()).or_default();
        match o.side {
            Side::Buy => {
                *e += o.quantity;
                cash -= o.quantity * p * (Decimal::ONE + commission_rate);
            }
            Side::Sell => {
                *e -= o.quantity;
                *sellable.entry(o.symbol.clone()).or_default() -= o.quantity;
                cash += o.quantity * p * (Decimal::ONE - commission_rate);
            }
        }
    }
    for (s, w) in target_weights {
        if !w.is_finite() || *w < 0.0 {
            return Err(RebalanceError::InvalidInput {
                what: "target weights",
                reason: format!("{s} has weight {w}"),
            });
        }
        if *w > 0.0 {
            used.insert(s.clone(), price_of(prices, s)?);
        }
    }
    let mut equity = cash;
    for (s, q) in &effective {
        equity += q * used.get(s).copied().unwrap_or_default();
    }
    let investable = (equity * (Decimal::ONE - commission_rate)).max(Decimal::ZERO);
    let mut targets = BTreeMap::new();
    let mut net = BTreeMap::new();
    for (s, p) in &used {
        let w = target_weights.get(s).copied().unwrap_or(0.0);
        let t = if w > 0.0 {
            investable * dec(w, "target weight")? / p
        } else {
            Decimal::ZERO
        };
        let e = effective.get(s).copied().unwrap_or_default();
        targets.insert(s.clone(), t);
        net.insert(s.clone(), t - e);
    }
    Ok(NetTrades {
        cash,
        equity,
        prices: used,
        effective,
        sellable,
        targets,
        net,
    })
}

/// One wanted trade before rounding and cash checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    /// Security.
    pub symbol: Symbol,
    /// Signed fractional shares (positive = buy).
    pub delta: Decimal,
    /// Sell everything sellable (the target is zero and this is the last step).
    pub close: bool,
    /// Last step of its track: round down (toward −∞), so the position ends within one share
    /// under the target and the fee reserve is not overrun by rounding.
    pub last: bool,
}

/// A sized order (before it gets a client id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizedOrder {
    /// Security.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Shares (positive).
    pub quantity: Decimal,
    /// Price used for the estimate.
    pub price: Decimal,
}

/// Turns wanted deltas into orders with the one sizing rule of every decision path
/// ([`pulse_core::sizing::size_orders`]): rounded to the quantity step (nearest; down on a last
/// step), never selling more than is sellable, orders under the minimum notional dropped (except
/// closing sales), then buys scaled down (rounding down) so that their cost under `costs` fits
/// the cash plus the sells' proceeds. Returns sells first, then buys, each in the order of
/// `wanted`; the flag tells whether buys were cut.
pub fn size_orders(
    net: &NetTrades,
    wanted: &[Wanted],
    rules: &QuantityRules,
    costs: &CostModel,
) -> (Vec<SizedOrder>, bool) {
    let trades = wanted.iter().enumerate().filter_map(|(i, w)| {
        Some(WantedTrade {
            asset: i,
            price: net.prices.get(&w.symbol).copied()?,
            delta: w.delta,
            sellable: net.sellable.get(&w.symbol).copied().unwrap_or_default(),
            close: w.close,
            rounding: if w.last {
                Rounding::Down
            } else {
                Rounding::Nearest
            },
        })
    });
    let mut sized = Vec::with_capacity(wanted.len());
    let cut = sizing::size_orders(net.cash, trades, rules, costs, &mut sized);
    let orders = sized
        .into_iter()
        .map(|o| SizedOrder {
            symbol: wanted[o.asset].symbol.clone(),
            side: o.side,
            quantity: o.quantity,
            price: o.price,
        })
        .collect();
    (orders, cut)
}
