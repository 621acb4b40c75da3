//! Property tests: weights sum to 1 and respect bounds; min-vol volatility ≤ that of random
//! feasible portfolios; HRP weights positive; the exact allocation is optimal (brute force).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::needless_range_loop,
    missing_docs
)]

use proptest::prelude::*;
use pulse_optimize::nalgebra::{DMatrix, DVector};
use pulse_optimize::*;

/// A random positive-definite annualized covariance Σ = BBᵀ/k + diag(d) from a seeded generator.
fn cov_strategy(n: usize) -> impl Strategy<Value = DMatrix<f64>> {
    (
        prop::collection::vec(-0.3f64..0.3, n * 3),
        prop::collection::vec(0.001f64..0.05, n),
    )
        .prop_map(move |(b, d)| {
            let b = DMatrix::from_row_slice(n, 3, &b);
            let mut s = &b * b.transpose() / 3.0;
            for i in 0..n {
                s[(i, i)] += d[i];
            }
            s
        })
}

fn setup() -> impl Strategy<Value = (DMatrix<f64>, DVector<f64>, f64, Vec<f64>)> {
    (3usize..9).prop_flat_map(|n| {
        (
            cov_strategy(n),
            prop::collection::vec(-0.05f64..0.25, n).prop_map(DVector::from_vec),
            (1.0 / n as f64 + 0.02)..1.0,
            prop::collection::vec(0.0f64..1.0, n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn mvo_weights_sum_to_one_and_respect_bounds((cov, mu, cap, _) in setup()) {
        let n = mu.len();
        let cons = Constraints::long_only(n).with_max_weight(cap);
        let mut objectives = vec![Objective::MinVolatility, Objective::MaxQuadraticUtility { risk_aversion: 2.0 }];
        // Max Sharpe needs a feasible portfolio whose return beats rf: the best one fills the
        // highest expected returns up to the cap (with only one asset above rf and a 27 % cap,
        // every feasible portfolio returns less than rf and the problem is rightly infeasible).
        let mut sorted: Vec<f64> = mu.iter().copied().collect();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let mut left = 1.0f64;
        let mut best_return = 0.0;
        for m in sorted {
            let w = left.min(cap);
            best_return += w * m;
            left -= w;
        }
        if best_return > 0.01 + 1e-3 {
            objectives.push(Objective::MaxSharpe { rf: 0.01 });
        }
        if best_return < 0.01 - 1e-3 {
            // No capped portfolio beats rf: max Sharpe is refused, saying why.
            let err = optimize_mvo(Some(&mu), &cov, &Objective::MaxSharpe { rf: 0.01 }, &cons)
                .unwrap_err()
                .to_string();
            prop_assert!(err.contains("above the risk-free rate"), "{}", err);
        }
        for obj in objectives {
            let w = optimize_mvo(Some(&mu), &cov, &obj, &cons).unwrap().weights;
            prop_assert!((w.sum() - 1.0).abs() < 1e-8, "{:?}: sum {}", obj, w.sum());
            for x in w.iter() {
                prop_assert!(*x >= -1e-8 && *x <= cap + 1e-8, "{:?}: weight {} cap {}", obj, x, cap);
            }
        }
    }

    #[test]
    fn min_vol_beats_random_feasible_portfolios((cov, _mu, cap, raw) in setup()) {
        let n = raw.len();
        let cons = Constraints::long_only(n).with_max_weight(cap);
        let w = optimize_mvo(None, &cov, &Objective::MinVolatility, &cons).unwrap().weights;
        let v = w.dot(&(&cov * &w)).sqrt();
        // Random feasible portfolio: mix the raw draw with equal weight until caps hold.
        let s: f64 = raw.iter().sum::<f64>().max(1e-12);
        let mut r = DVector::from_iterator(n, raw.iter().map(|x| x / s));
        let eq = DVector::from_element(n, 1.0 / n as f64);
        for _ in 0..60 {
            if r.max() <= cap { break; }
            r = (&r + &eq) / 2.0;
        }
        prop_assume!(r.max() <= cap);
        let vr = r.dot(&(&cov * &r)).sqrt();
        prop_assert!(v <= vr * (1.0 + 1e-7), "min vol {} > random {}", v, vr);
        prop_assert!(v <= eq.dot(&(&cov * &eq)).sqrt() * (1.0 + 1e-7));
    }

    #[test]
    fn hrp_weights_positive_and_sum_to_one((cov, _mu, _cap, _raw) in setup()) {
        for link in [Linkage::Single, Linkage::Complete, Linkage::Average, Linkage::Ward] {
            let sol = hrp(&cov, link).unwrap();
            prop_assert!(sol.weights.iter().all(|w| *w > 0.0));
            prop_assert!((sol.weights.sum() - 1.0).abs() < 1e-12);
            let mut o = sol.order.clone();
            o.sort_unstable();
            prop_assert_eq!(o, (0..cov.nrows()).collect::<Vec<_>>());
        }
        let erc = equal_risk_contribution(&cov).unwrap();
        let rc = risk_contributions(&erc, &cov).unwrap();
        let m = rc.mean();
        prop_assert!(rc.iter().all(|x| ((x - m) / m).abs() < 1e-8));
    }

    #[test]
    fn exact_allocation_is_optimal_by_brute_force(
        raw in prop::collection::vec(0.0f64..1.0, 1..5),
        prices in prop::collection::vec(5.0f64..400.0, 4),
        lots in prop::collection::vec(1u64..4, 4),
        value in 200.0f64..3000.0,
    ) {
        let n = raw.len();
        let s: f64 = raw.iter().sum::<f64>().max(1e-9);
        let weights: Vec<f64> = raw.iter().map(|x| x / s).collect();
        let req = AllocationRequest { weights: weights.clone(), prices: prices[..n].to_vec(), lot_sizes: lots[..n].to_vec(), total_value: value };
        let e = exact_allocation(&req).unwrap();
        let g = greedy_allocation(&req).unwrap();
        prop_assert!(e.proven_optimal);
        prop_assert!(e.leftover >= -1e-9 && g.leftover >= -1e-9);
        prop_assert!(e.objective <= g.objective + 1e-9);
        for i in 0..n {
            prop_assert_eq!(e.shares[i] % lots[i], 0);
            prop_assert_eq!(g.shares[i] % lots[i], 0);
        }
        // Brute force over all lot counts up to the budget.
        let cost: Vec<f64> = (0..n).map(|i| prices[i] * lots[i] as f64).collect();
        let maxl: Vec<u64> = cost.iter().map(|c| (value / c).floor() as u64).collect();
        let mut best = f64::INFINITY;
        let mut x = vec![0u64; n];
        loop {
            let spent: f64 = (0..n).map(|i| x[i] as f64 * cost[i]).sum();
            if spent <= value {
                let obj: f64 = (0..n).map(|i| (weights[i] * value - x[i] as f64 * cost[i]).abs()).sum::<f64>() + value - spent;
                best = best.min(obj);
            }
            let mut k = 0;
            while k < n { if x[k] < maxl[k] { x[k] += 1; break; } x[k] = 0; k += 1; }
            if k == n { break; }
        }
        prop_assert!((e.objective - best).abs() < 1e-6 * value, "exact {} brute {}", e.objective, best);
    }
}
