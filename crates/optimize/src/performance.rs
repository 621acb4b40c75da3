//! Portfolio performance: expected return, volatility and Sharpe ratio (PyPortfolioOpt
//! `portfolio_performance`).

use crate::data::{check_cov, check_vec};
use crate::error::Result;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Annual figures of a weight vector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// Expected annual return μᵀw (fraction); `None` when no expected returns were given.
    pub expected_return: Option<f64>,
    /// Annual volatility √(wᵀΣw) (fraction).
    pub volatility: f64,
    /// Sharpe ratio (μᵀw − rf)/σ (annual rf); `None` without expected returns.
    pub sharpe: Option<f64>,
}

/// Expected return, volatility and Sharpe of `weights` under `mu` (annual, optional) and the
/// annualized `cov`, with annual risk-free rate `rf` (fraction).
pub fn portfolio_performance(
    weights: &DVector<f64>,
    mu: Option<&DVector<f64>>,
    cov: &DMatrix<f64>,
    rf: f64,
) -> Result<Performance> {
    let n = check_cov(cov)?;
    check_vec("weights", weights, n)?;
    let volatility = weights.dot(&(cov * weights)).max(0.0).sqrt();
    let (expected_return, sharpe) = match mu {
        Some(m) => {
            check_vec("expected returns", m, n)?;
            let r = m.dot(weights);
            (Some(r), Some((r - rf) / volatility))
        }
        None => (None, None),
    };
    Ok(Performance {
        expected_return,
        volatility,
        sharpe,
    })
}
