//! Hierarchical risk parity (López de Prado; PyPortfolioOpt `HRPOpt`), inverse volatility,
//! equal risk contribution, equal weight and the MPT+HRP blend. All weights are fractions
//! summing to 1, long only.

use crate::data::check_cov;
use crate::error::{OptimizeError, Result};
use crate::risk_models::cov_to_corr;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Agglomerative linkage used to cluster the correlation distance √((1−ρ)/2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Linkage {
    /// Single linkage (PyPortfolioOpt default).
    Single,
    /// Complete linkage.
    Complete,
    /// Average (UPGMA) linkage.
    Average,
    /// Ward linkage.
    Ward,
}

impl Linkage {
    fn kodama(self) -> kodama::Method {
        match self {
            Linkage::Single => kodama::Method::Single,
            Linkage::Complete => kodama::Method::Complete,
            Linkage::Average => kodama::Method::Average,
            Linkage::Ward => kodama::Method::Ward,
        }
    }
}

/// HRP output: weights and the quasi-diagonal leaf order.
#[derive(Debug, Clone, PartialEq)]
pub struct HrpSolution {
    /// Weights (fractions, > 0, sum 1), in the covariance matrix's asset order.
    pub weights: DVector<f64>,
    /// Asset indices in dendrogram (quasi-diagonal) order.
    pub order: Vec<usize>,
}

/// Hierarchical risk parity from a covariance matrix (any scale: per-period or annual).
/// Correlation distance √(clip((1−ρ)/2, 0, 1)), linkage by `kodama`, quasi-diagonalization by
/// the dendrogram's pre-order (left = lower cluster label, as SciPy), recursive bisection of the
/// ordered list into halves with inverse-variance cluster variances; α = 1 − v₁/(v₁+v₂).
pub fn hrp(cov: &DMatrix<f64>, linkage: Linkage) -> Result<HrpSolution> {
    let n = check_cov(cov)?;
    if n == 1 {
        return Ok(HrpSolution {
            weights: DVector::from_element(1, 1.0),
            order: vec![0],
        });
    }
    let corr = cov_to_corr(cov)?;
    let mut condensed = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in (i + 1)..n {
            condensed.push(((1.0 - corr[(i, j)]) / 2.0).clamp(0.0, 1.0).sqrt());
        }
    }
    let dend = kodama::linkage(&mut condensed, n, linkage.kodama());
    // Children of internal node n+s are step s's two clusters (cluster1 < cluster2).
    let steps = dend.steps();
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![n + steps.len() - 1];
    while let Some(node) = stack.pop() {
        if node < n {
            order.push(node);
        } else {
            let s = &steps[node - n];
            let (a, b) = if s.cluster1 < s.cluster2 {
                (s.cluster1, s.cluster2)
            } else {
                (s.cluster2, s.cluster1)
            };
            stack.push(b);
            stack.push(a);
        }
    }
    let weights = recursive_bisection(cov, &order);
    Ok(HrpSolution { weights, order })
}

fn cluster_var(cov: &DMatrix<f64>, items: &[usize]) -> f64 {
    let iv: Vec<f64> = items.iter().map(|&i| 1.0 / cov[(i, i)]).collect();
    let s: f64 = iv.iter().sum();
    let w: Vec<f64> = iv.iter().map(|x| x / s).collect();
    let mut v = 0.0;
    for (a, &i) in items.iter().enumerate() {
        for (b, &j) in items.iter().enumerate() {
            v += w[a] * cov[(i, j)] * w[b];
        }
    }
    v
}

fn recursive_bisection(cov: &DMatrix<f64>, order: &[usize]) -> DVector<f64> {
    let mut w = DVector::from_element(cov.nrows(), 1.0);
    let mut clusters: Vec<&[usize]> = vec![order];
    while !clusters.is_empty() {
        let mut next = Vec::new();
        for c in &clusters {
            if c.len() > 1 {
                let (a, b) = c.split_at(c.len() / 2);
                next.push(a);
                next.push(b);
            }
        }
        for pair in next.chunks(2) {
            if let [a, b] = pair {
                let va = cluster_var(cov, a);
                let vb = cluster_var(cov, b);
                let alpha = 1.0 - va / (va + vb);
                for &i in *a {
                    w[i] *= alpha;
                }
                for &i in *b {
                    w[i] *= 1.0 - alpha;
                }
            }
        }
        clusters = next;
    }
    w
}

/// Inverse-volatility weights w_i ∝ 1/σ_i.
pub fn inverse_volatility(cov: &DMatrix<f64>) -> Result<DVector<f64>> {
    let n = check_cov(cov)?;
    let mut w = DVector::from_fn(n, |i, _| 1.0 / cov[(i, i)].sqrt());
    for (i, x) in w.iter().enumerate() {
        if !x.is_finite() {
            return Err(OptimizeError::InvalidValue {
                what: "covariance diagonal (zero variance)",
                row: i,
                col: i,
                value: cov[(i, i)],
            });
        }
    }
    let s = w.sum();
    w /= s;
    Ok(w)
}

/// Equal weights 1/n.
pub fn equal_weight(n: usize) -> Result<DVector<f64>> {
    if n == 0 {
        return Err(OptimizeError::Shape {
            what: "equal weight universe",
            expected: 1,
            got: 0,
        });
    }
    Ok(DVector::from_element(n, 1.0 / n as f64))
}

/// Equal risk contribution (risk parity): w_i(Σw)_i equal for all i. Solved as the convex
/// problem min ½yᵀΣy − (1/n)Σ ln y_i (y > 0) by cyclical coordinate descent
/// (Griveau-Billion, Richard & Roncalli 2013), then w = y/Σy. Stops when the largest relative
/// deviation of a risk contribution from the mean is below 1e-12 or after 10 000 sweeps.
pub fn equal_risk_contribution(cov: &DMatrix<f64>) -> Result<DVector<f64>> {
    let n = check_cov(cov)?;
    for i in 0..n {
        if cov[(i, i)] <= 0.0 {
            return Err(OptimizeError::InvalidValue {
                what: "covariance diagonal (zero variance)",
                row: i,
                col: i,
                value: cov[(i, i)],
            });
        }
    }
    let b = 1.0 / n as f64;
    let mut y = DVector::from_fn(n, |i, _| 1.0 / cov[(i, i)].sqrt());
    let mut sy = cov * &y;
    for _ in 0..10_000 {
        for i in 0..n {
            let sii = cov[(i, i)];
            let c = sy[i] - sii * y[i];
            let new = (-c + (c * c + 4.0 * sii * b).sqrt()) / (2.0 * sii);
            let d = new - y[i];
            if d != 0.0 {
                for k in 0..n {
                    sy[k] += cov[(k, i)] * d;
                }
                y[i] = new;
            }
        }
        let rc: Vec<f64> = (0..n).map(|i| y[i] * sy[i]).collect();
        let mean = rc.iter().sum::<f64>() / n as f64;
        let dev = rc.iter().map(|r| (r - mean).abs()).fold(0.0, f64::max) / mean;
        if dev < 1e-12 {
            break;
        }
    }
    let s = y.sum();
    y /= s;
    Ok(y)
}

/// Risk contributions w_i(Σw)_i / √(wᵀΣw) (they sum to the portfolio volatility).
pub fn risk_contributions(weights: &DVector<f64>, cov: &DMatrix<f64>) -> Result<DVector<f64>> {
    let n = check_cov(cov)?;
    crate::data::check_vec("weights", weights, n)?;
    let sw = cov * weights;
    let vol = weights.dot(&sw).max(0.0).sqrt();
    Ok(DVector::from_fn(n, |i, _| weights[i] * sw[i] / vol))
}

/// Blend α·w_mpt + (1−α)·w_hrp (α ∈ \[0, 1\]).
pub fn blend(w_mpt: &DVector<f64>, w_hrp: &DVector<f64>, alpha: f64) -> Result<DVector<f64>> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(OptimizeError::InvalidParameter {
            name: "alpha",
            value: alpha,
            reason: "must be in [0, 1]",
        });
    }
    crate::data::check_vec("hrp weights", w_hrp, w_mpt.len())?;
    Ok(w_mpt * alpha + w_hrp * (1.0 - alpha))
}
