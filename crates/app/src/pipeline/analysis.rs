//! The analysis table: every holding (broker and manual, cash included) valued in KRW at the
//! day's FX, with its cost and profit and loss where a cost is known, its weight, its target
//! weight and the gap, and totals per asset and per class. Statistics, so `f64`.

use super::sheet::ManualAsset;
use super::{AccountSnapshot, FxRate, StrategyTarget};
use pulse_core::money::money_to_f64;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One holding of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldingRow {
    /// Where it comes from: the broker's name (`kis`) or `manual`.
    pub source: String,
    /// Asset name (the broker's symbol, the sheet's asset, or `cash KRW`).
    pub asset: String,
    /// Asset class (`equity` for broker holdings, `cash` for cash, the sheet's class).
    pub class: String,
    /// ISO currency the holding is priced in.
    pub currency: String,
    /// Units held (cash: the amount).
    pub quantity: f64,
    /// Price per unit in `currency`, when known.
    pub price: Option<f64>,
    /// Value in `currency`.
    pub value: f64,
    /// KRW per unit of `currency` used.
    pub fx: f64,
    /// Value in KRW.
    pub value_krw: f64,
    /// Cost basis in KRW (at the day's FX), when known.
    pub cost_krw: Option<f64>,
    /// Profit and loss in KRW (`value_krw − cost_krw`), when the cost is known.
    pub pnl_krw: Option<f64>,
    /// Profit and loss as a fraction of the cost, when the cost is known and positive.
    pub pnl_pct: Option<f64>,
    /// Fraction of the portfolio's KRW total.
    pub weight: f64,
    /// Target weight (fraction of the total), when a stored target allocation covers it.
    pub target_weight: Option<f64>,
    /// `target_weight − weight` (positive: below target), when there is a target.
    pub gap: Option<f64>,
    /// The stored daily series the optimizer used for it, if any.
    pub history_symbol: Option<String>,
}

/// Totals of a group of rows (an asset or a class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Total {
    /// The asset or class name.
    pub name: String,
    /// Value in KRW.
    pub value_krw: f64,
    /// Sum of the known costs in KRW (`None` when no row of the group has one).
    pub cost_krw: Option<f64>,
    /// Profit and loss in KRW over the rows whose cost is known.
    pub pnl_krw: Option<f64>,
    /// `pnl_krw / cost_krw`, when the known cost is positive.
    pub pnl_pct: Option<f64>,
    /// Fraction of the portfolio's KRW total.
    pub weight: f64,
    /// Sum of the rows' target weights (`None` when no row has one).
    pub target_weight: Option<f64>,
    /// `target_weight` minus the weight of the rows that have a target, when there is one.
    pub gap: Option<f64>,
}

/// The day's analysis table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The run date (KST).
    pub date: jiff::civil::Date,
    /// The rates used, by currency (KRW is 1).
    pub fx: Vec<FxRate>,
    /// Every holding.
    pub rows: Vec<HoldingRow>,
    /// Totals per asset name, largest first.
    pub assets: Vec<Total>,
    /// Totals per class, largest first.
    pub classes: Vec<Total>,
    /// The whole portfolio.
    pub total: Total,
    /// The strategy whose stored weights are the targets, and the date they were stored, if any.
    pub target: Option<(String, jiff::civil::Date)>,
}

fn f(d: rust_decimal::Decimal) -> f64 {
    money_to_f64(d)
}

/// Builds the table from the day's account, manual rows and rates. `rate(currency)` must know
/// every currency of the inputs. `history` maps a row's (source, asset) to the stored series the
/// optimizer would use; `target` is the strategy's stored weights by series symbol.
pub(crate) fn build(
    date: jiff::civil::Date,
    account: Option<&AccountSnapshot>,
    manual: &[ManualAsset],
    fx: &[FxRate],
    history: &BTreeMap<(String, String), String>,
    target: Option<(&StrategyTarget, jiff::civil::Date)>,
) -> Analysis {
    let rate = |c: &str| fx.iter().find(|r| r.currency == c).map_or(1.0, |r| r.rate);
    let mut rows: Vec<HoldingRow> = Vec::new();
    let mut push = |source: &str,
                    asset: String,
                    class: String,
                    currency: &str,
                    quantity: f64,
                    price: Option<f64>,
                    value: f64,
                    cost: Option<f64>| {
        let fx = rate(currency);
        let value_krw = value * fx;
        let cost_krw = cost.map(|c| c * fx);
        let pnl_krw = cost_krw.map(|c| value_krw - c);
        let pnl_pct = match (pnl_krw, cost_krw) {
            (Some(p), Some(c)) if c > 0.0 => Some(p / c),
            _ => None,
        };
        let history_symbol = history.get(&(source.to_string(), asset.clone())).cloned();
        rows.push(HoldingRow {
            source: source.to_string(),
            asset,
            class,
            currency: currency.to_string(),
            quantity,
            price,
            value,
            fx,
            value_krw,
            cost_krw,
            pnl_krw,
            pnl_pct,
            weight: 0.0,
            target_weight: None,
            gap: None,
            history_symbol,
        });
    };
    if let Some(a) = account {
        for c in &a.cash {
            let amount = f(c.amount);
            push(
                &a.broker,
                format!("cash {}", c.currency),
                "cash".into(),
                &c.currency,
                amount,
                None,
                amount,
                None,
            );
        }
        for h in &a.holdings {
            let quantity = f(h.quantity);
            let price = h.price.map(f).unwrap_or(0.0);
            let cost = h.avg_price.map(|p| f(p) * quantity);
            push(
                &a.broker,
                h.symbol.to_string(),
                "equity".into(),
                &h.currency,
                quantity,
                Some(price),
                quantity * price,
                cost,
            );
        }
    }
    for m in manual {
        let value = f(m.value);
        push(
            "manual",
            m.asset.clone(),
            m.class.clone(),
            &m.currency,
            m.quantity.map(f).unwrap_or(1.0),
            m.price.map(f),
            value,
            m.cost.map(f),
        );
    }
    let total_krw: f64 = rows.iter().map(|r| r.value_krw).sum();
    for r in &mut rows {
        r.weight = if total_krw > 0.0 {
            r.value_krw / total_krw
        } else {
            0.0
        };
    }
    // Targets: the strategy's weights over the optimized sleeve, scaled to the sleeve's
    // current share of the portfolio (the rest has no target).
    if let Some((t, _)) = target {
        let sleeve: f64 = rows
            .iter()
            .filter(|r| {
                r.history_symbol
                    .as_ref()
                    .is_some_and(|s| t.weights.contains_key(s))
            })
            .map(|r| r.weight)
            .sum();
        // Rows sharing a series (one asset at the broker and in the sheet) share its weight
        // by value.
        let mut by_symbol: BTreeMap<String, f64> = BTreeMap::new();
        for r in &rows {
            if let Some(s) = &r.history_symbol {
                *by_symbol.entry(s.clone()).or_default() += r.weight;
            }
        }
        for r in &mut rows {
            let Some(s) = &r.history_symbol else { continue };
            let Some(w) = t.weights.get(s) else { continue };
            let held = by_symbol.get(s).copied().unwrap_or(0.0);
            let share = if held > 0.0 { r.weight / held } else { 0.0 };
            let tw = w * sleeve * share;
            r.target_weight = Some(tw);
            r.gap = Some(tw - r.weight);
        }
    }
    let group = |key: &dyn Fn(&HoldingRow) -> String| -> Vec<Total> {
        let mut groups: BTreeMap<String, Vec<&HoldingRow>> = BTreeMap::new();
        for r in &rows {
            groups.entry(key(r)).or_default().push(r);
        }
        let mut out: Vec<Total> = groups
            .into_iter()
            .map(|(name, members)| totals(name, &members))
            .collect();
        out.sort_by(|a, b| {
            b.value_krw
                .total_cmp(&a.value_krw)
                .then(a.name.cmp(&b.name))
        });
        out
    };
    let assets = group(&|r| r.asset.clone());
    let classes = group(&|r| r.class.clone());
    let all: Vec<&HoldingRow> = rows.iter().collect();
    let total = totals("total".into(), &all);
    Analysis {
        date,
        fx: fx.to_vec(),
        assets,
        classes,
        total,
        rows,
        target: target.map(|(t, d)| (t.strategy.clone(), d)),
    }
}

fn totals(name: String, rows: &[&HoldingRow]) -> Total {
    let value_krw: f64 = rows.iter().map(|r| r.value_krw).sum();
    let weight: f64 = rows.iter().map(|r| r.weight).sum();
    let costed: Vec<&&HoldingRow> = rows.iter().filter(|r| r.cost_krw.is_some()).collect();
    let (cost_krw, pnl_krw) = if costed.is_empty() {
        (None, None)
    } else {
        (
            Some(costed.iter().filter_map(|r| r.cost_krw).sum::<f64>()),
            Some(costed.iter().filter_map(|r| r.pnl_krw).sum::<f64>()),
        )
    };
    let pnl_pct = match (pnl_krw, cost_krw) {
        (Some(p), Some(c)) if c > 0.0 => Some(p / c),
        _ => None,
    };
    let targeted: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| r.target_weight.map(|t| (t, r.weight)))
        .collect();
    let target_weight = (!targeted.is_empty()).then(|| targeted.iter().map(|t| t.0).sum::<f64>());
    let targeted_weight: f64 = targeted.iter().map(|t| t.1).sum();
    Total {
        name,
        value_krw,
        cost_krw,
        pnl_krw,
        pnl_pct,
        weight,
        target_weight,
        gap: target_weight.map(|t| t - targeted_weight),
    }
}
