//! The exact active-set solver against Clarabel (1e-10 tolerances) on the real 47-asset
//! universe (every daily-adjclose ticker except IRX/TNX/VIXY, common window) and seeded
//! synthetic 200/500-asset universes.
//!
//! Clarabel stops at a 1e-10 relative duality gap, which leaves its weights up to ~5e-6 away
//! from the exact optimum (a gap ε moves weights by ~√ε along flat directions); the active-set
//! answer is exact to rounding. So each comparison checks: (1) the raw weights agree within
//! 1e-5 and the active-set objective is no worse; (2) Clarabel identifies the same active set
//! (assets strictly inside their bounds by more than 1e-5); (3) Clarabel's answer POLISHED on
//! that active set (the equality-constrained KKT system solved here by LU) equals the
//! active-set answer within 1e-8; (4) the KKT conditions, checked here independently, hold
//! for the active-set answer to 1e-10 relative.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::needless_range_loop,
    missing_docs
)]

mod common;

use common::{real_universe, synthetic};
use pulse_core::Periodicity;
use pulse_optimize::nalgebra::{DMatrix, DVector};
use pulse_optimize::*;

const D: Periodicity = Periodicity::Daily;

/// Independent KKT check of min ½wᵀPw + cᵀw s.t. aᵀw = 1, l ≤ w ≤ u (P = 2Σ + 2γI for min
/// volatility; for max Sharpe the y-problem with a = μ − rf, l = 0, u = ∞, y = w/(aᵀw)).
/// Returns the worst relative residual of stationarity, dual feasibility and primal feasibility.
fn kkt_residual(
    p: &DMatrix<f64>,
    c: &DVector<f64>,
    a: &DVector<f64>,
    lo: &[f64],
    hi: &[f64],
    w: &DVector<f64>,
) -> f64 {
    let n = w.len();
    let g = p * w + c;
    // Variables strictly inside their bounds are free; the rest must sit exactly on one.
    let free: Vec<usize> = (0..n).filter(|&i| w[i] != lo[i] && w[i] != hi[i]).collect();
    // The budget multiplier ν: least squares on the free set; at a vertex (no free variable)
    // any ν that makes every bound multiplier correctly signed will do, so try each g_i/a_i.
    let candidates: Vec<f64> = if free.is_empty() {
        (0..n)
            .filter(|&i| a[i] != 0.0)
            .map(|i| g[i] / a[i])
            .collect()
    } else {
        vec![
            free.iter().map(|&i| g[i] * a[i]).sum::<f64>()
                / free.iter().map(|&i| a[i] * a[i]).sum::<f64>(),
        ]
    };
    let residual = |nu: f64| {
        let scale = g.amax().max(nu.abs() * a.amax());
        let mut worst = 0.0f64;
        for i in 0..n {
            let z = g[i] - nu * a[i];
            let r = if free.contains(&i) {
                z.abs()
            } else if lo[i] == hi[i] {
                0.0 // fixed: any multiplier
            } else if w[i] == lo[i] {
                (-z).max(0.0)
            } else if w[i] == hi[i] {
                z.max(0.0)
            } else {
                unreachable!()
            };
            worst = worst.max(r / scale);
            worst = worst.max((lo[i] - w[i]).max(w[i] - hi[i]).max(0.0));
        }
        worst.max((a.dot(w) - 1.0).abs())
    };
    candidates
        .into_iter()
        .map(residual)
        .fold(f64::INFINITY, f64::min)
}

fn max_abs_diff(a: &DVector<f64>, b: &DVector<f64>) -> f64 {
    (a - b).amax()
}

/// Compare the active-set answer `fast` with Clarabel's `slow` for min ½xᵀPx + cᵀx s.t.
/// aᵀx = 1, l ≤ x ≤ u: same active set, polished Clarabel == fast within 1e-8, raw within 1e-6,
/// objective no worse, KKT of `fast` to 1e-10.
#[allow(clippy::too_many_arguments)]
fn compare(
    what: &str,
    p: &DMatrix<f64>,
    c: &DVector<f64>,
    a: &DVector<f64>,
    lo: &[f64],
    hi: &[f64],
    fast: &DVector<f64>,
    slow: &DVector<f64>,
) {
    let n = fast.len();
    let raw = max_abs_diff(fast, slow);
    assert!(raw < 1e-5, "{what}: raw |Δw| = {raw:e}");
    let obj = |x: &DVector<f64>| 0.5 * x.dot(&(p * x)) + c.dot(x);
    let (of, os) = (obj(fast), obj(slow));
    assert!(
        of <= os + 1e-12 * os.abs().max(1e-12),
        "{what}: active set {of:e} worse than Clarabel {os:e}"
    );
    let inside = |x: &DVector<f64>, i: usize| x[i] > lo[i] + 1e-5 && x[i] < hi[i] - 1e-5;
    let free: Vec<usize> = (0..n).filter(|&i| inside(slow, i)).collect();
    let free_fast: Vec<usize> = (0..n).filter(|&i| inside(fast, i)).collect();
    assert_eq!(free, free_fast, "{what}: active sets differ");
    // Polish Clarabel: bound variables snapped to their nearest bound, the free ones from
    // [P_FF a_F; a_Fᵀ 0] [x_F; −ν] = [−c_F − P_FB x_B; 1 − a_Bᵀ x_B].
    let mut x = slow.clone();
    for i in 0..n {
        if !free.contains(&i) {
            x[i] = if (x[i] - lo[i]).abs() <= (x[i] - hi[i]).abs() {
                lo[i]
            } else {
                hi[i]
            };
        }
    }
    let k = free.len();
    let mut m = DMatrix::zeros(k + 1, k + 1);
    let mut rhs = DVector::zeros(k + 1);
    let mut budget = 1.0;
    for i in (0..n).filter(|i| !free.contains(i)) {
        budget -= a[i] * x[i];
    }
    for (r, &i) in free.iter().enumerate() {
        for (s, &j) in free.iter().enumerate() {
            m[(r, s)] = p[(i, j)];
        }
        m[(r, k)] = a[i];
        m[(k, r)] = a[i];
        rhs[r] = -c[i]
            - (0..n)
                .filter(|j| !free.contains(j))
                .map(|j| p[(i, j)] * x[j])
                .sum::<f64>();
    }
    rhs[k] = budget;
    let sol = m
        .lu()
        .solve(&rhs)
        .expect("KKT system of the active set is singular");
    for (r, &i) in free.iter().enumerate() {
        x[i] = sol[r];
    }
    let polished = max_abs_diff(fast, &x);
    assert!(polished < 1e-8, "{what}: polished |Δw| = {polished:e}");
    let kkt = kkt_residual(p, c, a, lo, hi, fast);
    assert!(kkt < 1e-10, "{what}: KKT residual {kkt:e}");
}

struct Case {
    name: &'static str,
    cov: DMatrix<f64>,
    mu: DVector<f64>,
}

fn case(name: &'static str, r: &DMatrix<f64>) -> Case {
    Case {
        name,
        cov: ledoit_wolf(r, D).unwrap().cov,
        mu: mean_historical_return(r, true, D).unwrap(),
    }
}

fn solve(c: &Case, obj: &Objective, cons: &Constraints, s: MvoSolver) -> MvoSolution {
    optimize_mvo_with(Some(&c.mu), &c.cov, obj, cons, s)
        .unwrap_or_else(|e| panic!("{} {obj:?} {s:?}: {e}", c.name))
}

/// Min volatility (optionally capped, optionally L2): active set == Clarabel, KKT holds.
fn check_min_vol(c: &Case, cap: f64, gamma: f64) {
    let n = c.cov.nrows();
    let cons = Constraints::long_only(n)
        .with_max_weight(cap)
        .with_l2(gamma);
    let obj = Objective::MinVolatility;
    let fast = solve(c, &obj, &cons, MvoSolver::ActiveSet);
    let slow = solve(c, &obj, &cons, MvoSolver::Clarabel);
    let auto = solve(c, &obj, &cons, MvoSolver::Auto);
    assert_eq!(auto, fast, "{}: Auto must take the active-set path", c.name);
    let held = fast.weights.iter().filter(|&&w| w > 0.0).count();
    let at_cap = fast.weights.iter().filter(|&&w| w == cap).count();
    assert!(held >= 2 && held < n, "{}: {held} assets held", c.name);
    if cap < 1.0 {
        assert!(
            at_cap >= 1,
            "{}: cap {cap} never binds; test is vacuous",
            c.name
        );
    }
    let p = &c.cov * 2.0 + DMatrix::identity(n, n) * (2.0 * gamma);
    compare(
        &format!("{} min vol cap {cap} γ {gamma}", c.name),
        &p,
        &DVector::zeros(n),
        &DVector::from_element(n, 1.0),
        &cons.lower,
        &cons.upper,
        &fast.weights,
        &slow.weights,
    );
}

/// Long-only max Sharpe: active set == Clarabel, KKT of the y-problem holds.
fn check_max_sharpe(c: &Case, gamma: f64) {
    let n = c.cov.nrows();
    let rf = 0.02;
    let cons = Constraints::long_only(n).with_l2(gamma);
    let obj = Objective::MaxSharpe { rf };
    let fast = solve(c, &obj, &cons, MvoSolver::ActiveSet);
    let slow = solve(c, &obj, &cons, MvoSolver::Clarabel);
    let auto = solve(c, &obj, &cons, MvoSolver::Auto);
    assert_eq!(auto, fast, "{}: Auto must take the active-set path", c.name);
    let raw = max_abs_diff(&fast.weights, &slow.weights);
    assert!(raw < 1e-5, "{} max Sharpe: raw |Δw| = {raw:e}", c.name);
    // Compare in the y-space problem the solvers actually solve (y = w / (μ−rf)ᵀw).
    let excess = c.mu.add_scalar(-rf);
    let y = |w: &DVector<f64>| w / excess.dot(w);
    let p = &c.cov * 2.0 + DMatrix::identity(n, n) * (2.0 * gamma);
    compare(
        &format!("{} max Sharpe γ {gamma}", c.name),
        &p,
        &DVector::zeros(n),
        &excess,
        &vec![0.0; n],
        &vec![f64::INFINITY; n],
        &y(&fast.weights),
        &y(&slow.weights),
    );
    assert!((fast.weights.sum() - 1.0).abs() < 1e-12);
    if gamma == 0.0 {
        let sharpe = |w: &DVector<f64>| excess.dot(w) / w.dot(&(&c.cov * w)).sqrt();
        assert!(sharpe(&fast.weights) >= sharpe(&slow.weights) * (1.0 - 1e-12));
    }
}

/// Max Sharpe over a general box (caps, floors): the parametric QP(λ) route. The optimum w
/// solves min wᵀΣ′w − λeᵀw over the box with λ = 2wᵀΣ′w / eᵀw (Σ′ = Σ + γI, e = μ − rf);
/// checked here: that fixed point, the QP's KKT conditions, and Clarabel's homogenized answer
/// polished on the same active set.
fn check_max_sharpe_box(c: &Case, lo: f64, cap: f64, gamma: f64) {
    let n = c.cov.nrows();
    let rf = 0.02;
    let cons = Constraints::bounds(n, lo, 1.0)
        .with_max_weight(cap)
        .with_l2(gamma);
    let obj = Objective::MaxSharpe { rf };
    let what = format!("{} max Sharpe {lo} ≤ w ≤ {cap} γ {gamma}", c.name);
    let fast = solve(c, &obj, &cons, MvoSolver::ActiveSet);
    let slow = solve(c, &obj, &cons, MvoSolver::Clarabel);
    let auto = solve(c, &obj, &cons, MvoSolver::Auto);
    assert_eq!(auto, fast, "{what}: Auto must take the active-set path");
    assert!(
        fast.weights.iter().any(|&w| w == cap),
        "{what}: cap never binds; test is vacuous"
    );
    let sigma2 = c.cov.clone() + DMatrix::identity(n, n) * gamma;
    let excess = c.mu.add_scalar(-rf);
    let w = &fast.weights;
    let var = w.dot(&(&sigma2 * w));
    let lambda = 2.0 * var / excess.dot(w);
    let sharpe = |w: &DVector<f64>| excess.dot(w) / w.dot(&(&sigma2 * w)).sqrt();
    assert!(
        sharpe(w) >= sharpe(&slow.weights) * (1.0 - 1e-12),
        "{what}: Sharpe {} < Clarabel {}",
        sharpe(w),
        sharpe(&slow.weights)
    );
    compare(
        &what,
        &(&sigma2 * 2.0),
        &(-&excess * lambda),
        &DVector::from_element(n, 1.0),
        &cons.lower,
        &cons.upper,
        w,
        &slow.weights,
    );
}

/// Max quadratic utility (box + budget + linear term): active set == Clarabel.
fn check_utility(c: &Case, cap: f64) {
    let n = c.cov.nrows();
    let cons = Constraints::long_only(n).with_max_weight(cap);
    let obj = Objective::MaxQuadraticUtility { risk_aversion: 2.0 };
    let fast = solve(c, &obj, &cons, MvoSolver::ActiveSet);
    let slow = solve(c, &obj, &cons, MvoSolver::Clarabel);
    compare(
        &format!("{} utility cap {cap}", c.name),
        &(&c.cov * 2.0),
        &(-&c.mu),
        &DVector::from_element(n, 1.0),
        &cons.lower,
        &cons.upper,
        &fast.weights,
        &slow.weights,
    );
}

#[test]
fn real47_active_set_matches_clarabel() {
    let c = case("real47", &real_universe());
    check_min_vol(&c, 1.0, 0.0);
    check_min_vol(&c, 0.10, 0.0);
    check_min_vol(&c, 1.0, 0.05);
    check_max_sharpe(&c, 0.0);
    check_max_sharpe(&c, 0.05);
    check_max_sharpe_box(&c, 0.0, 0.10, 0.0);
    check_max_sharpe_box(&c, 0.0, 0.10, 0.05);
    check_max_sharpe_box(&c, -0.05, 0.25, 0.0);
    check_utility(&c, 1.0);
    check_utility(&c, 0.2);
}

#[test]
fn synth200_active_set_matches_clarabel() {
    let c = case("synth200", &synthetic(200, 1260, 42));
    check_min_vol(&c, 1.0, 0.0);
    check_min_vol(&c, 0.03, 0.0);
    check_max_sharpe(&c, 0.0);
    check_max_sharpe_box(&c, 0.0, 0.05, 0.0);
}

#[test]
fn synth500_active_set_matches_clarabel() {
    let c = case("synth500", &synthetic(500, 1260, 43));
    check_min_vol(&c, 1.0, 0.0);
    check_min_vol(&c, 0.02, 0.0);
    check_max_sharpe(&c, 0.0);
    check_max_sharpe_box(&c, 0.0, 0.02, 0.0);
}

#[test]
fn active_set_refuses_group_caps_and_turnover() {
    let c = case("real47", &real_universe());
    let n = c.cov.nrows();
    let grouped = Constraints::long_only(n).with_group_cap("first five", (0..5).collect(), 0.1);
    let turnover = Constraints::long_only(n).with_turnover(vec![1.0 / n as f64; n], 0.2);
    for cons in [grouped, turnover] {
        let r = optimize_mvo_with(
            None,
            &c.cov,
            &Objective::MinVolatility,
            &cons,
            MvoSolver::ActiveSet,
        );
        assert!(matches!(r, Err(OptimizeError::Solver { .. })), "{r:?}");
        let auto = solve(&c, &Objective::MinVolatility, &cons, MvoSolver::Auto);
        let slow = solve(&c, &Objective::MinVolatility, &cons, MvoSolver::Clarabel);
        assert_eq!(auto, slow);
    }
}

/// Bounds with shorts (−0.02 ≤ w ≤ 0.3): floors bind as well as caps.
#[test]
fn shorting_bounds_match_clarabel() {
    let c = case("real47", &real_universe());
    let n = c.cov.nrows();
    let cons = Constraints::bounds(n, -0.02, 0.3);
    let obj = Objective::MinVolatility;
    let fast = solve(&c, &obj, &cons, MvoSolver::ActiveSet);
    let slow = solve(&c, &obj, &cons, MvoSolver::Clarabel);
    assert!(fast.weights.iter().any(|&w| w == -0.02));
    assert!(fast.weights.iter().any(|&w| w == 0.3));
    compare(
        "real47 min vol −0.02 ≤ w ≤ 0.3",
        &(&c.cov * 2.0),
        &DVector::zeros(n),
        &DVector::from_element(n, 1.0),
        &cons.lower,
        &cons.upper,
        &fast.weights,
        &slow.weights,
    );
}

/// A singular covariance (sample covariance of 20 daily returns for 47 assets, rank ≤ 19):
/// the active-set path either certifies an answer (KKT is sufficient for any PSD Σ) or hands
/// over to Clarabel; either way Auto is at least as good as Clarabel's answer.
#[test]
fn singular_covariance_is_solved_or_handed_to_clarabel() {
    let r = real_universe();
    let last = r.rows(r.nrows() - 20, 20).into_owned();
    let cov = sample_cov(&last, D).unwrap().cov;
    let n = cov.nrows();
    let cons = Constraints::long_only(n).with_max_weight(0.2);
    let obj = Objective::MinVolatility;
    let auto = optimize_mvo_with(None, &cov, &obj, &cons, MvoSolver::Auto).unwrap();
    let slow = optimize_mvo_with(None, &cov, &obj, &cons, MvoSolver::Clarabel).unwrap();
    match optimize_mvo_with(None, &cov, &obj, &cons, MvoSolver::ActiveSet) {
        Ok(fast) => {
            println!("singular Σ: active set certified ({} it)", fast.iterations);
            assert_eq!(fast, auto);
        }
        Err(e) => {
            println!("singular Σ: handed to Clarabel ({e})");
            assert_eq!(auto, slow);
        }
    }
    let var = |w: &DVector<f64>| w.dot(&(&cov * w));
    assert!((auto.weights.sum() - 1.0).abs() < 1e-9);
    assert!(
        auto.weights
            .iter()
            .all(|&w| (-1e-9..=0.2 + 1e-9).contains(&w))
    );
    assert!(
        var(&auto.weights) <= var(&slow.weights) + 1e-9 * var(&slow.weights).abs().max(1e-12),
        "auto {:e} clarabel {:e}",
        var(&auto.weights),
        var(&slow.weights)
    );
}

/// A fixed position (lower = upper = 5 % for one asset) next to capped free ones: the fixed
/// asset is never released, and the answer equals Clarabel's polished one.
#[test]
fn fixed_positions_match_clarabel() {
    let c = case("real47", &real_universe());
    let n = c.cov.nrows();
    let mut cons = Constraints::long_only(n).with_max_weight(0.3);
    cons.lower[0] = 0.05;
    cons.upper[0] = 0.05;
    for obj in [Objective::MinVolatility, Objective::MaxSharpe { rf: 0.02 }] {
        let fast = solve(&c, &obj, &cons, MvoSolver::ActiveSet);
        let slow = solve(&c, &obj, &cons, MvoSolver::Clarabel);
        assert_eq!(fast.weights[0], 0.05, "{obj:?}");
        let d = max_abs_diff(&fast.weights, &slow.weights);
        assert!(d < 1e-5, "{obj:?}: |Δw| = {d:e}");
    }
    let fast = solve(&c, &Objective::MinVolatility, &cons, MvoSolver::ActiveSet);
    let slow = solve(&c, &Objective::MinVolatility, &cons, MvoSolver::Clarabel);
    compare(
        "real47 min vol with a fixed 5 % position",
        &(&c.cov * 2.0),
        &DVector::zeros(n),
        &DVector::from_element(n, 1.0),
        &cons.lower,
        &cons.upper,
        &fast.weights,
        &slow.weights,
    );
}
