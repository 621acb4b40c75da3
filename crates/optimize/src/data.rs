//! Price/return matrices and validation helpers.

use crate::error::{OptimizeError, Result};
use nalgebra::{DMatrix, DVector};

/// Simple returns `p[t]/p[t-1] − 1` of a T×N price matrix (rows = dates, columns = assets),
/// as PyPortfolioOpt's `returns_from_prices` (pandas `pct_change`). Result: (T−1)×N per-period
/// fractions. Prices must be finite and > 0.
pub fn returns_from_prices(prices: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    let (t, n) = prices.shape();
    if t < 2 {
        return Err(OptimizeError::TooFewRows {
            what: "returns_from_prices",
            need: 2,
            got: t,
        });
    }
    for j in 0..n {
        for i in 0..t {
            let p = prices[(i, j)];
            if !(p.is_finite() && p > 0.0) {
                return Err(OptimizeError::InvalidValue {
                    what: "prices",
                    row: i,
                    col: j,
                    value: p,
                });
            }
        }
    }
    Ok(DMatrix::from_fn(t - 1, n, |i, j| {
        prices[(i + 1, j)] / prices[(i, j)] - 1.0
    }))
}

/// Log returns `ln(p[t]/p[t-1])` of a T×N price matrix: (T−1)×N per-period values.
pub fn log_returns_from_prices(prices: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    Ok(returns_from_prices(prices)?.map(f64::ln_1p))
}

pub(crate) fn check_returns(what: &'static str, returns: &DMatrix<f64>, need: usize) -> Result<()> {
    let (t, n) = returns.shape();
    if t < need {
        return Err(OptimizeError::TooFewRows { what, need, got: t });
    }
    if n == 0 {
        return Err(OptimizeError::Shape {
            what,
            expected: 1,
            got: 0,
        });
    }
    // A branch-free (vectorizable) pass over the column-major storage; only on failure a
    // second pass finds the position, which gives row and column. NaN fails `r > -1`.
    let valid = |r: &f64| *r > -1.0 && *r < f64::INFINITY;
    let all_ok = returns.as_slice().chunks(64).fold(true, |acc, c| {
        acc & c.iter().fold(true, |a, r| a & valid(r))
    });
    if all_ok {
        return Ok(());
    }
    match returns.as_slice().iter().position(|r| !valid(r)) {
        Some(k) => Err(OptimizeError::InvalidValue {
            what,
            row: k % t,
            col: k / t,
            value: returns.as_slice()[k],
        }),
        None => Ok(()),
    }
}

pub(crate) fn check_vec(what: &'static str, v: &DVector<f64>, n: usize) -> Result<()> {
    if v.len() != n {
        return Err(OptimizeError::Shape {
            what,
            expected: n,
            got: v.len(),
        });
    }
    for (i, x) in v.iter().enumerate() {
        if !x.is_finite() {
            return Err(OptimizeError::InvalidValue {
                what,
                row: i,
                col: 0,
                value: *x,
            });
        }
    }
    Ok(())
}

pub(crate) fn check_cov(cov: &DMatrix<f64>) -> Result<usize> {
    let (r, c) = cov.shape();
    if r != c {
        return Err(OptimizeError::Shape {
            what: "covariance (square)",
            expected: r,
            got: c,
        });
    }
    if r == 0 {
        return Err(OptimizeError::Shape {
            what: "covariance",
            expected: 1,
            got: 0,
        });
    }
    for j in 0..c {
        for i in 0..r {
            let v = cov[(i, j)];
            if !v.is_finite() || (i == j && v < 0.0) {
                return Err(OptimizeError::InvalidValue {
                    what: "covariance",
                    row: i,
                    col: j,
                    value: v,
                });
            }
        }
    }
    Ok(r)
}

/// Column means of a T×N matrix.
pub(crate) fn col_means(x: &DMatrix<f64>) -> DVector<f64> {
    let t = x.nrows() as f64;
    DVector::from_iterator(x.ncols(), x.column_iter().map(|c| c.sum() / t))
}

/// Pandas `ewm(span, adjust=True)` weights for T observations, oldest first: (1−α)^(T−1−i).
pub(crate) fn ewm_weights(t: usize, span: f64) -> Result<Vec<f64>> {
    if !(span.is_finite() && span >= 1.0) {
        return Err(OptimizeError::InvalidParameter {
            name: "span",
            value: span,
            reason: "must be ≥ 1 (periods)",
        });
    }
    let alpha = 2.0 / (span + 1.0);
    let decay = 1.0 - alpha;
    let mut w = vec![0.0; t];
    let mut cur = 1.0;
    for i in (0..t).rev() {
        w[i] = cur;
        cur *= decay;
    }
    Ok(w)
}
