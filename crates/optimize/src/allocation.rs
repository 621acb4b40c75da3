//! Discrete allocation: continuous weights + latest prices + cash → whole lots of shares and
//! leftover cash. Long only (negative weights are rejected). Money in the prices' currency.

use crate::error::{OptimizeError, Result};
use serde::{Deserialize, Serialize};

/// Inputs of a discrete allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationRequest {
    /// Target weights (fractions ≥ 0, normally summing to 1), one per asset.
    pub weights: Vec<f64>,
    /// Latest price per share (> 0), one per asset.
    pub prices: Vec<f64>,
    /// Minimum lot size in shares per asset (≥ 1); empty = 1 share for every asset.
    pub lot_sizes: Vec<u64>,
    /// Cash to invest (> 0), the total portfolio value.
    pub total_value: f64,
}

/// A whole-share allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Shares to hold per asset (multiples of the lot size).
    pub shares: Vec<u64>,
    /// Cash left over (total value − cost of the shares).
    pub leftover: f64,
    /// Σ_i |w_i·V − shares_i·p_i| + leftover: the absolute dollar weight error plus leftover
    /// (the objective PyPortfolioOpt's `lp_portfolio` minimizes).
    pub objective: f64,
    /// For [`exact_allocation`]: true if the branch and bound proved optimality (false when the
    /// node limit stopped it; the best allocation found is returned). Greedy: false.
    pub proven_optimal: bool,
}

/// The most shares of one asset an allocation may hold: 2^53, the largest count an `f64` holds
/// exactly (the allocation's arithmetic is in `f64`).
pub const MAX_SHARES: f64 = 9_007_199_254_740_992.0;

struct Checked {
    w: Vec<f64>,
    lot_cost: Vec<f64>,
    lot: Vec<u64>,
    v: f64,
}

fn check(req: &AllocationRequest) -> Result<Checked> {
    let n = req.weights.len();
    if req.prices.len() != n {
        return Err(OptimizeError::Shape {
            what: "latest prices",
            expected: n,
            got: req.prices.len(),
        });
    }
    if !req.lot_sizes.is_empty() && req.lot_sizes.len() != n {
        return Err(OptimizeError::Shape {
            what: "lot sizes",
            expected: n,
            got: req.lot_sizes.len(),
        });
    }
    if !(req.total_value.is_finite() && req.total_value > 0.0) {
        return Err(OptimizeError::InvalidParameter {
            name: "total_value",
            value: req.total_value,
            reason: "must be > 0",
        });
    }
    let mut lot = vec![1u64; n];
    let mut lot_cost = vec![0.0; n];
    for i in 0..n {
        let w = req.weights[i];
        if !(w.is_finite() && w >= 0.0) {
            return Err(OptimizeError::InvalidValue {
                what: "weights (long only, finite)",
                row: i,
                col: 0,
                value: w,
            });
        }
        let p = req.prices[i];
        if !(p.is_finite() && p > 0.0) {
            return Err(OptimizeError::InvalidValue {
                what: "latest prices",
                row: i,
                col: 0,
                value: p,
            });
        }
        if let Some(&l) = req.lot_sizes.get(i) {
            if l == 0 {
                return Err(OptimizeError::InvalidValue {
                    what: "lot sizes",
                    row: i,
                    col: 0,
                    value: 0.0,
                });
            }
            lot[i] = l;
        }
        lot_cost[i] = p * lot[i] as f64;
        // Share counts are u64 computed through f64: beyond 2^53 shares of one asset they are no
        // longer exact, and a cast would saturate at u64::MAX (`--cash 1e300`). Refuse instead.
        if req.total_value / p > MAX_SHARES {
            return Err(OptimizeError::InvalidParameter {
                name: "total_value",
                value: req.total_value,
                reason: "buys more than 2^53 shares of one asset at its price",
            });
        }
    }
    Ok(Checked {
        w: req.weights.clone(),
        lot_cost,
        lot,
        v: req.total_value,
    })
}

fn finish(c: &Checked, prices: &[f64], lots: &[u64], leftover: f64, proven: bool) -> Allocation {
    let shares: Vec<u64> = lots.iter().zip(&c.lot).map(|(x, l)| x * l).collect();
    let err: f64 = (0..shares.len())
        .map(|i| (c.w[i] * c.v - shares[i] as f64 * prices[i]).abs())
        .sum();
    Allocation {
        shares,
        leftover,
        objective: err + leftover,
        proven_optimal: proven,
    }
}

/// Greedy allocation (PyPortfolioOpt `greedy_portfolio`, long only, generalized to lots):
/// first buy ⌊w_i·V / lot cost⌋ lots of each asset in descending weight order, then repeatedly
/// buy one lot of the affordable asset whose current weight falls furthest below its target
/// (up to 10 skips of unaffordable assets), until nothing more helps.
pub fn greedy_allocation(req: &AllocationRequest) -> Result<Allocation> {
    let c = check(req)?;
    let n = c.w.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| c.w[b].total_cmp(&c.w[a])); // stable: ties keep input order
    let mut available = c.v;
    let mut bought = vec![0u64; n]; // in lots, indexed by position in `order`
    for (k, &i) in order.iter().enumerate() {
        let lots = (c.w[i] * c.v / c.lot_cost[i]).floor();
        let lots = if lots.is_finite() && lots > 0.0 {
            lots as u64
        } else {
            0
        };
        bought[k] = lots;
        available -= lots as f64 * c.lot_cost[i];
    }
    let ideal: Vec<f64> = order.iter().map(|&i| c.w[i]).collect();
    while available > 0.0 {
        let held: Vec<f64> = order
            .iter()
            .enumerate()
            .map(|(k, &i)| c.lot_cost[i] * bought[k] as f64)
            .collect();
        let total: f64 = held.iter().sum();
        let mut deficit: Vec<f64> = (0..n)
            .map(|k| ideal[k] - if total > 0.0 { held[k] / total } else { 0.0 })
            .collect();
        let argmax = |d: &[f64]| {
            let mut best = 0;
            for k in 1..d.len() {
                if d[k] > d[best] {
                    best = k;
                }
            }
            best
        };
        if n == 0 {
            break;
        }
        let mut idx = argmax(&deficit);
        let mut counter = 0;
        while c.lot_cost[order[idx]] > available {
            deficit[idx] = 0.0;
            idx = argmax(&deficit);
            if deficit[idx] < 0.0 || counter == 10 {
                break;
            }
            counter += 1;
        }
        if deficit[idx] <= 0.0 || counter == 10 {
            break;
        }
        bought[idx] += 1;
        available -= c.lot_cost[order[idx]];
    }
    let mut lots = vec![0u64; n];
    for (k, &i) in order.iter().enumerate() {
        lots[i] = bought[k];
    }
    Ok(finish(&c, &req.prices, &lots, available, false))
}

/// Node limit of [`exact_allocation`]'s branch and bound.
pub const EXACT_NODE_LIMIT: u64 = 5_000_000;

/// Exact integer allocation minimizing Σ|w_i·V − x_i·p_i| + leftover subject to leftover ≥ 0
/// (the integer program of PyPortfolioOpt's `lp_portfolio`), x_i whole lots.
///
/// Method: the objective equals V + Σt_i − 2·Σ min(x_i·c_i, t_i) (t_i = w_i·V, c_i = lot cost),
/// so buying beyond ⌈t_i/c_i⌉ lots never helps. A depth-first branch and bound over assets
/// (most expensive lot first, trying ⌈t_i/c_i⌉ lots downwards) with the bound
/// `value + min(budget left, Σ remaining t_j)` finds the optimum; it stops after
/// [`EXACT_NODE_LIMIT`] nodes and then returns the best allocation found
/// (`proven_optimal = false`), which is never worse than [`greedy_allocation`]'s.
pub fn exact_allocation(req: &AllocationRequest) -> Result<Allocation> {
    let c = check(req)?;
    let n = c.w.len();
    let greedy = greedy_allocation(req)?;
    let t: Vec<f64> = c.w.iter().map(|w| w * c.v).collect();
    let mut order: Vec<usize> = (0..n).filter(|&i| t[i] > 0.0).collect();
    order.sort_by(|&a, &b| c.lot_cost[b].total_cmp(&c.lot_cost[a]));
    let mut suffix_t = vec![0.0; order.len() + 1];
    for k in (0..order.len()).rev() {
        suffix_t[k] = suffix_t[k + 1] + t[order[k]];
    }
    let value_of = |lots: &[u64]| -> f64 {
        (0..n)
            .map(|i| (lots[i] as f64 * c.lot_cost[i]).min(t[i]))
            .sum()
    };
    let greedy_lots: Vec<u64> = greedy
        .shares
        .iter()
        .zip(&c.lot)
        .map(|(s, l)| s / l)
        .collect();
    let mut best_val = value_of(&greedy_lots);
    let mut best = greedy_lots;
    let mut cur = vec![0u64; n];
    let mut nodes = 0u64;
    let mut complete = true;
    struct Ctx<'a> {
        order: &'a [usize],
        suffix_t: &'a [f64],
        t: &'a [f64],
        cost: &'a [f64],
    }
    #[allow(clippy::too_many_arguments)]
    fn dfs(
        ctx: &Ctx,
        k: usize,
        budget: f64,
        value: f64,
        cur: &mut Vec<u64>,
        best: &mut Vec<u64>,
        best_val: &mut f64,
        nodes: &mut u64,
        complete: &mut bool,
    ) {
        *nodes += 1;
        if *nodes > EXACT_NODE_LIMIT {
            *complete = false;
            return;
        }
        let tol = 1e-9 * ctx.suffix_t[0].max(1.0);
        if k == ctx.order.len() {
            if value > *best_val + tol {
                *best_val = value;
                best.clone_from(cur);
            }
            return;
        }
        if value + budget.min(ctx.suffix_t[k]) <= *best_val + tol {
            return;
        }
        let i = ctx.order[k];
        let ceil = (ctx.t[i] / ctx.cost[i]).ceil().max(0.0);
        let afford = (budget / ctx.cost[i]).floor().max(0.0);
        let top = ceil.min(afford) as u64;
        let mut x = top;
        loop {
            let spend = x as f64 * ctx.cost[i];
            cur[i] = x;
            dfs(
                ctx,
                k + 1,
                budget - spend,
                value + spend.min(ctx.t[i]),
                cur,
                best,
                best_val,
                nodes,
                complete,
            );
            cur[i] = 0;
            if x == 0 || !*complete {
                break;
            }
            // Fewer lots only lose value 1:1; stop when even the full remaining relaxation
            // cannot beat the incumbent.
            let lower_value = value + ((x - 1) as f64 * ctx.cost[i]).min(ctx.t[i]);
            let lower_budget = budget - (x - 1) as f64 * ctx.cost[i];
            if lower_value + lower_budget.min(ctx.suffix_t[k + 1]) <= *best_val + tol {
                break;
            }
            x -= 1;
        }
    }
    let ctx = Ctx {
        order: &order,
        suffix_t: &suffix_t,
        t: &t,
        cost: &c.lot_cost,
    };
    dfs(
        &ctx,
        0,
        c.v,
        0.0,
        &mut cur,
        &mut best,
        &mut best_val,
        &mut nodes,
        &mut complete,
    );
    let spent: f64 = (0..n).map(|i| best[i] as f64 * c.lot_cost[i]).sum();
    Ok(finish(&c, &req.prices, &best, c.v - spent, complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_cash_that_would_saturate_share_counts_is_refused() {
        let req = |v: f64| AllocationRequest {
            weights: vec![0.5, 0.5],
            prices: vec![100.0, 20.0],
            lot_sizes: Vec::new(),
            total_value: v,
        };
        for v in [1e300, f64::MAX, 20.0 * MAX_SHARES * 1.01] {
            for r in [greedy_allocation(&req(v)), exact_allocation(&req(v))] {
                assert!(
                    matches!(
                        r,
                        Err(OptimizeError::InvalidParameter {
                            name: "total_value",
                            ..
                        })
                    ),
                    "{v}: {r:?}"
                );
            }
        }
        let ok = greedy_allocation(&req(10_000.0)).unwrap();
        assert_eq!(ok.shares, vec![50, 250]);
    }
}
