//! Risk models: annualized covariance matrices (per-period covariance × periods per year,
//! i.e. variances in (fraction/yr)²). Non-PSD estimates are repaired by eigenvalue clipping
//! ([`fix_nonpositive_semidefinite`]) and the repair is reported in [`CovEstimate::warnings`].

use crate::data::{check_cov, check_returns, col_means, ewm_weights};
use crate::error::{OptimizeError, Result};
use nalgebra::{DMatrix, DVector};
use pulse_core::Periodicity;
use serde::{Deserialize, Serialize};

/// How to estimate the covariance matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RiskModel {
    /// Sample covariance (ddof 1).
    Sample,
    /// Ledoit-Wolf shrinkage towards the constant-variance target `μ·I`, μ = tr(S)/N
    /// (sklearn `LedoitWolf`, PyPortfolioOpt `ledoit_wolf("constant_variance")`).
    LedoitWolf,
    /// Exponentially weighted covariance with a span in periods (PyPortfolioOpt default 180).
    Exponential {
        /// EWM span in periods.
        span: f64,
    },
    /// Semicovariance of returns below a per-period benchmark return (fraction per period;
    /// 0 = downside relative to zero).
    Semi {
        /// Per-period benchmark return (fraction).
        benchmark: f64,
    },
}

/// A covariance estimate with diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct CovEstimate {
    /// Annualized N×N covariance matrix ((fraction/yr)²), symmetric PSD.
    pub cov: DMatrix<f64>,
    /// Ledoit-Wolf shrinkage intensity δ ∈ [0, 1] (only for [`RiskModel::LedoitWolf`]).
    pub shrinkage: Option<f64>,
    /// Human-readable warnings (e.g. the non-PSD repair).
    pub warnings: Vec<String>,
}

/// Estimate an annualized covariance matrix from T×N per-period simple returns.
pub fn estimate_risk(
    model: &RiskModel,
    returns: &DMatrix<f64>,
    periodicity: Periodicity,
) -> Result<CovEstimate> {
    let ppy = periodicity.periods_per_year();
    let (raw, shrinkage) = match model {
        RiskModel::Sample => (sample_cov_raw(returns)? * ppy, None),
        RiskModel::LedoitWolf => {
            let (c, d) = ledoit_wolf_raw(returns)?;
            (c * ppy, Some(d))
        }
        RiskModel::Exponential { span } => (exp_cov_raw(returns, *span)? * ppy, None),
        RiskModel::Semi { benchmark } => (semicov_raw(returns, *benchmark)? * ppy, None),
    };
    let (cov, warning) = fix_nonpositive_semidefinite(&raw)?;
    Ok(CovEstimate {
        cov,
        shrinkage,
        warnings: warning.into_iter().collect(),
    })
}

/// Annualized sample covariance (ddof 1), repaired to PSD if needed; the warning (if any) is
/// returned beside it.
pub fn sample_cov(returns: &DMatrix<f64>, periodicity: Periodicity) -> Result<CovEstimate> {
    estimate_risk(&RiskModel::Sample, returns, periodicity)
}

/// Annualized Ledoit-Wolf constant-variance shrinkage estimate; `shrinkage` holds δ.
pub fn ledoit_wolf(returns: &DMatrix<f64>, periodicity: Periodicity) -> Result<CovEstimate> {
    estimate_risk(&RiskModel::LedoitWolf, returns, periodicity)
}

/// Annualized exponentially weighted covariance (span in periods), as PyPortfolioOpt's `exp_cov`.
pub fn exp_cov(returns: &DMatrix<f64>, span: f64, periodicity: Periodicity) -> Result<CovEstimate> {
    estimate_risk(&RiskModel::Exponential { span }, returns, periodicity)
}

/// Annualized semicovariance below a per-period `benchmark` return, as PyPortfolioOpt's
/// `semicovariance`: `E[min(r_i−B,0)·min(r_j−B,0)] × ppy`.
pub fn semicovariance(
    returns: &DMatrix<f64>,
    benchmark: f64,
    periodicity: Periodicity,
) -> Result<CovEstimate> {
    estimate_risk(&RiskModel::Semi { benchmark }, returns, periodicity)
}

fn demeaned(returns: &DMatrix<f64>) -> DMatrix<f64> {
    let m = col_means(returns);
    let mut x = returns.clone();
    for (j, mut c) in x.column_iter_mut().enumerate() {
        c.add_scalar_mut(-m[j]);
    }
    x
}

/// XᵀX computed block-wise on the upper triangle only (blocks of 64 columns) and mirrored.
pub(crate) fn gram(x: &DMatrix<f64>) -> DMatrix<f64> {
    const B: usize = 64;
    let n = x.ncols();
    if n <= B {
        return x.tr_mul(x);
    }
    let mut g = DMatrix::zeros(n, n);
    let mut bi = 0;
    while bi < n {
        let wi = B.min(n - bi);
        let xi = x.columns(bi, wi);
        let mut bj = bi;
        while bj < n {
            let wj = B.min(n - bj);
            let block = xi.tr_mul(&x.columns(bj, wj));
            g.view_mut((bi, bj), (wi, wj)).copy_from(&block);
            bj += wj;
        }
        bi += wi;
    }
    for i in 0..n {
        for j in (i + 1)..n {
            g[(j, i)] = g[(i, j)];
        }
    }
    g
}

fn symmetrize(m: &mut DMatrix<f64>) {
    let n = m.nrows();
    for i in 0..n {
        for j in (i + 1)..n {
            let v = 0.5 * (m[(i, j)] + m[(j, i)]);
            m[(i, j)] = v;
            m[(j, i)] = v;
        }
    }
}

/// Per-period sample covariance (ddof 1).
pub(crate) fn sample_cov_raw(returns: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    check_returns("sample_cov", returns, 2)?;
    let x = demeaned(returns);
    Ok(gram(&x) / (returns.nrows() as f64 - 1.0))
}

/// Per-period Ledoit-Wolf estimate and shrinkage δ (sklearn `ledoit_wolf_shrinkage`).
pub(crate) fn ledoit_wolf_raw(returns: &DMatrix<f64>) -> Result<(DMatrix<f64>, f64)> {
    check_returns("ledoit_wolf", returns, 2)?;
    let (t, p) = returns.shape();
    let x = demeaned(returns);
    let n = t as f64;
    let pf = p as f64;
    let xtx = gram(&x);
    let emp = &xtx / n;
    if p == 1 {
        return Ok((emp, 0.0));
    }
    let trace: f64 = emp.diagonal().sum();
    let mu = trace / pf;
    // Σ_ij (X²ᵀX²)_ij = Σ_t (Σ_i x_ti²)²: O(T·N) instead of a second Gram matrix.
    let beta_sum: f64 = x.row_iter().map(|r| r.norm_squared().powi(2)).sum();
    let delta_sum: f64 = xtx.iter().map(|v| v * v).sum::<f64>() / (n * n);
    let beta = (beta_sum / n - delta_sum) / (pf * n);
    let delta = (delta_sum - 2.0 * mu * trace + pf * mu * mu) / pf;
    let beta = beta.min(delta);
    let shrinkage = if beta == 0.0 { 0.0 } else { beta / delta };
    let mut s = emp * (1.0 - shrinkage);
    for i in 0..p {
        s[(i, i)] += shrinkage * mu;
    }
    Ok((s, shrinkage))
}

/// Per-period exponentially weighted covariance: the EWM (adjust=True) mean of
/// `(x_t − x̄)(y_t − ȳ)` at the last row, x̄ the full-sample mean (PyPortfolioOpt `_pair_exp_cov`).
pub(crate) fn exp_cov_raw(returns: &DMatrix<f64>, span: f64) -> Result<DMatrix<f64>> {
    check_returns("exp_cov", returns, 1)?;
    let w = ewm_weights(returns.nrows(), span)?;
    let total: f64 = w.iter().sum();
    let mut x = demeaned(returns);
    for (i, mut row) in x.row_iter_mut().enumerate() {
        row *= (w[i] / total).sqrt();
    }
    Ok(gram(&x))
}

/// Per-period semicovariance below `benchmark` (divided by T).
pub(crate) fn semicov_raw(returns: &DMatrix<f64>, benchmark: f64) -> Result<DMatrix<f64>> {
    check_returns("semicovariance", returns, 1)?;
    if !benchmark.is_finite() {
        return Err(OptimizeError::InvalidParameter {
            name: "benchmark",
            value: benchmark,
            reason: "must be finite",
        });
    }
    let d = returns.map(|r| (r - benchmark).min(0.0));
    Ok(gram(&d) / returns.nrows() as f64)
}

/// True when `m + 1e-16·I` has a Cholesky factor (PyPortfolioOpt's PSD test).
pub fn is_positive_semidefinite(m: &DMatrix<f64>) -> bool {
    let n = m.nrows();
    let shifted = m + DMatrix::<f64>::identity(n, n) * 1e-16;
    shifted.cholesky().is_some()
}

/// Repair a symmetric matrix that is not positive semidefinite by clipping negative eigenvalues
/// to zero and rebuilding `V·diag(λ⁺)·Vᵀ` (PyPortfolioOpt `fix_nonpositive_semidefinite`,
/// method "spectral"). Returns the (possibly unchanged) matrix and a warning when it was repaired.
pub fn fix_nonpositive_semidefinite(m: &DMatrix<f64>) -> Result<(DMatrix<f64>, Option<String>)> {
    check_cov(m)?;
    if is_positive_semidefinite(m) {
        return Ok((m.clone(), None));
    }
    let eig = m.clone().symmetric_eigen();
    let min_eig = eig
        .eigenvalues
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let clipped = DVector::from_iterator(
        eig.eigenvalues.len(),
        eig.eigenvalues.iter().map(|l| l.max(0.0)),
    );
    let v = &eig.eigenvectors;
    let mut fixed = v * DMatrix::from_diagonal(&clipped) * v.transpose();
    symmetrize(&mut fixed);
    let mut msg = format!(
        "the covariance matrix is not positive semidefinite (smallest eigenvalue {min_eig:.3e}); negative eigenvalues were clipped to 0"
    );
    if !is_positive_semidefinite(&fixed) {
        msg.push_str("; the repaired matrix is still not PSD to numerical precision");
    }
    Ok((fixed, Some(msg)))
}

/// Correlation matrix of a covariance matrix: `D⁻¹ Σ D⁻¹`, D = diag(√Σ_ii).
pub fn cov_to_corr(cov: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    let n = check_cov(cov)?;
    let sd: Vec<f64> = (0..n).map(|i| cov[(i, i)].sqrt()).collect();
    for (i, s) in sd.iter().enumerate() {
        if *s <= 0.0 {
            return Err(OptimizeError::InvalidValue {
                what: "covariance diagonal (zero variance)",
                row: i,
                col: i,
                value: *s,
            });
        }
    }
    Ok(DMatrix::from_fn(n, n, |i, j| cov[(i, j)] / (sd[i] * sd[j])))
}
