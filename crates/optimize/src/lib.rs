//! `pulse-optimize`: portfolio construction as pure `f64` functions (no I/O).
//!
//! Conventions: rows of a price/return matrix are dates (oldest first), columns are assets;
//! returns are per-period simple returns; expected returns and volatilities are ANNUAL
//! fractions (0.12 = 12 %/yr), covariances annualized ((fraction/yr)²), annualized with
//! [`pulse_core::Periodicity::periods_per_year`]; weights are fractions of capital summing to 1.
//!
//! - [`expected_returns`]: mean historical (geometric/arithmetic), EMA, CAPM, supplied.
//! - [`risk_models`]: sample, Ledoit-Wolf (constant variance), exponential, semicovariance,
//!   nearest-PSD repair.
//! - [`mvo`]: min volatility, max Sharpe, efficient risk/return, max quadratic utility with
//!   bounds, caps, group caps, L2 and turnover; box-constrained problems solved exactly by an
//!   active-set method, the rest by Clarabel.
//! - [`hrp`](mod@hrp): hierarchical risk parity, inverse volatility, equal risk contribution, equal
//!   weight, MPT+HRP blend.
//! - [`allocation`]: greedy and exact whole-share allocation with lot sizes.
//! - [`build_portfolio`]: the one-call preset used by `pulse portfolio optimize`.
//!
//! ```
//! use nalgebra::DMatrix;
//! use pulse_core::Periodicity;
//! use pulse_optimize::{build_portfolio, Method, PortfolioSpec, ReturnModel, RiskModel};
//! // 4 dates × 2 assets of prices.
//! let prices = DMatrix::from_row_slice(4, 2, &[100.0, 50.0, 101.0, 50.5, 100.5, 50.2, 102.0, 50.9]);
//! let spec = PortfolioSpec::new(Method::MinVolatility, ReturnModel::MeanHistorical { compounding: true }, RiskModel::Sample);
//! let out = build_portfolio(&["A".into(), "B".into()], &prices, None, &spec).unwrap();
//! assert!((out.weights.iter().sum::<f64>() - 1.0).abs() < 1e-8);
//! ```

mod active_set;
pub mod allocation;
pub mod data;
pub mod error;
pub mod expected_returns;
pub mod hrp;
pub mod mvo;
pub mod performance;
pub mod risk_models;

pub use allocation::{Allocation, AllocationRequest, exact_allocation, greedy_allocation};
pub use data::{log_returns_from_prices, returns_from_prices};
pub use error::{OptimizeError, Result};
pub use expected_returns::{
    ReturnModel, capm_return, ema_historical_return, estimate_returns, mean_historical_return,
};
pub use hrp::{
    HrpSolution, Linkage, blend, equal_risk_contribution, equal_weight, hrp, inverse_volatility,
    risk_contributions,
};
pub use mvo::{
    Constraints, GroupConstraint, MvoSolution, MvoSolver, Objective, TurnoverLimit, optimize_mvo,
    optimize_mvo_with,
};
pub use nalgebra;
pub use performance::{Performance, portfolio_performance};
pub use risk_models::{
    CovEstimate, RiskModel, cov_to_corr, estimate_risk, exp_cov, fix_nonpositive_semidefinite,
    ledoit_wolf, sample_cov, semicovariance,
};

use nalgebra::{DMatrix, DVector};
use pulse_core::Periodicity;
use serde::{Deserialize, Serialize};

/// A portfolio construction method (the `--method` of `pulse portfolio optimize`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Method {
    /// Minimum volatility (MVO).
    MinVolatility,
    /// Maximum Sharpe ratio (MVO, exact by change of variables).
    MaxSharpe,
    /// Maximum return with volatility ≤ target (annual fraction).
    EfficientRisk {
        /// Annual volatility target (fraction).
        target_volatility: f64,
    },
    /// Minimum volatility with return ≥ target (annual fraction).
    EfficientReturn {
        /// Annual return target (fraction).
        target_return: f64,
    },
    /// Maximum quadratic utility μᵀw − δ/2·wᵀΣw.
    MaxQuadraticUtility {
        /// Risk aversion δ (> 0).
        risk_aversion: f64,
    },
    /// Hierarchical risk parity on the risk model's covariance.
    Hrp {
        /// Linkage of the clustering.
        linkage: Linkage,
    },
    /// α·w_maxSharpe + (1−α)·w_HRP.
    Blend {
        /// Weight α ∈ \[0, 1\] of the max-Sharpe portfolio.
        alpha: f64,
        /// Linkage of the HRP part.
        linkage: Linkage,
    },
    /// w ∝ 1/σ.
    InverseVolatility,
    /// Equal risk contribution.
    EqualRiskContribution,
    /// 1/N.
    EqualWeight,
}

/// Everything [`build_portfolio`] needs besides the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioSpec {
    /// Construction method.
    pub method: Method,
    /// Expected-return model.
    pub returns: ReturnModel,
    /// Risk model.
    pub risk: RiskModel,
    /// MVO constraints; `None` = long only, 0 ≤ w ≤ 1. Ignored by HRP/IV/ERC/equal
    /// (applied to the max-Sharpe leg of a blend).
    pub constraints: Option<Constraints>,
    /// Annual risk-free rate (fraction) for max Sharpe and the reported Sharpe ratio.
    pub rf: f64,
    /// Sampling frequency of the prices (annualization).
    pub periodicity: Periodicity,
}

impl PortfolioSpec {
    /// Spec with rf = 0.02, daily prices, long only.
    pub fn new(method: Method, returns: ReturnModel, risk: RiskModel) -> Self {
        PortfolioSpec {
            method,
            returns,
            risk,
            constraints: None,
            rf: 0.02,
            periodicity: Periodicity::Daily,
        }
    }
}

/// The result printed by `pulse portfolio optimize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioResult {
    /// Asset symbols, in input order.
    pub symbols: Vec<String>,
    /// Weights (fractions summing to 1), aligned with `symbols`.
    pub weights: Vec<f64>,
    /// Expected annual return μᵀw (fraction) under the chosen return model.
    pub expected_return: f64,
    /// Annual volatility √(wᵀΣw) (fraction) under the chosen risk model.
    pub volatility: f64,
    /// (expected_return − rf)/volatility.
    pub sharpe: f64,
    /// Name of the expected-return source ("mean historical (geometric)", "supplied", …).
    pub return_source: String,
    /// Ledoit-Wolf shrinkage δ when that risk model was used.
    pub shrinkage: Option<f64>,
    /// Warnings (non-PSD repair, solver reduced accuracy).
    pub warnings: Vec<String>,
}

/// Estimate inputs from `prices` (T×N, rows = dates oldest first, aligned, > 0) and construct
/// the portfolio of `spec`. `market_prices` (length T, same dates) is the CAPM market; without
/// it CAPM uses the equally weighted average of the assets.
pub fn build_portfolio(
    symbols: &[String],
    prices: &DMatrix<f64>,
    market_prices: Option<&DVector<f64>>,
    spec: &PortfolioSpec,
) -> Result<PortfolioResult> {
    let n = prices.ncols();
    if symbols.len() != n {
        return Err(OptimizeError::Shape {
            what: "symbols",
            expected: n,
            got: symbols.len(),
        });
    }
    let returns = returns_from_prices(prices)?;
    let market = match market_prices {
        Some(m) => {
            if m.len() != prices.nrows() {
                return Err(OptimizeError::Shape {
                    what: "market prices",
                    expected: prices.nrows(),
                    got: m.len(),
                });
            }
            let mp = DMatrix::from_column_slice(m.len(), 1, m.as_slice());
            Some(returns_from_prices(&mp)?.column(0).into_owned())
        }
        None => None,
    };
    let mu = estimate_returns(&spec.returns, &returns, market.as_ref(), spec.periodicity)?;
    let risk = estimate_risk(&spec.risk, &returns, spec.periodicity)?;
    let cov = &risk.cov;
    let mut warnings = risk.warnings.clone();
    let constraints = spec
        .constraints
        .clone()
        .unwrap_or_else(|| Constraints::long_only(n));
    let mut mvo = |objective: Objective| -> Result<DVector<f64>> {
        let sol = optimize_mvo(Some(&mu), cov, &objective, &constraints)?;
        if sol.status != "Solved" {
            warnings.push(format!("solver status {} (reduced accuracy)", sol.status));
        }
        Ok(sol.weights)
    };
    let weights = match spec.method {
        Method::MinVolatility => mvo(Objective::MinVolatility)?,
        Method::MaxSharpe => mvo(Objective::MaxSharpe { rf: spec.rf })?,
        Method::EfficientRisk { target_volatility } => {
            mvo(Objective::EfficientRisk { target_volatility })?
        }
        Method::EfficientReturn { target_return } => {
            mvo(Objective::EfficientReturn { target_return })?
        }
        Method::MaxQuadraticUtility { risk_aversion } => {
            mvo(Objective::MaxQuadraticUtility { risk_aversion })?
        }
        Method::Hrp { linkage } => hrp(cov, linkage)?.weights,
        Method::Blend { alpha, linkage } => {
            let w_mpt = mvo(Objective::MaxSharpe { rf: spec.rf })?;
            blend(&w_mpt, &hrp(cov, linkage)?.weights, alpha)?
        }
        Method::InverseVolatility => inverse_volatility(cov)?,
        Method::EqualRiskContribution => equal_risk_contribution(cov)?,
        Method::EqualWeight => equal_weight(n)?,
    };
    let perf = portfolio_performance(&weights, Some(&mu), cov, spec.rf)?;
    Ok(PortfolioResult {
        symbols: symbols.to_vec(),
        weights: weights.iter().copied().collect(),
        expected_return: perf.expected_return.unwrap_or(f64::NAN),
        volatility: perf.volatility,
        sharpe: perf.sharpe.unwrap_or(f64::NAN),
        return_source: spec.returns.source_name(),
        shrinkage: risk.shrinkage,
        warnings,
    })
}
