//! The one error type of `pulse-optimize`.

use thiserror::Error;

/// Everything that can go wrong while estimating inputs or constructing a portfolio.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OptimizeError {
    /// Input shapes disagree (e.g. 3 symbols but a 4×4 covariance matrix).
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// Expected size.
        expected: usize,
        /// Actual size.
        got: usize,
    },
    /// Too few observations for the estimator (returns need ≥ 2 prices; covariance ≥ 2 returns).
    #[error("{what}: need at least {need} rows, got {got}")]
    TooFewRows {
        /// Which estimator.
        what: &'static str,
        /// Minimum rows.
        need: usize,
        /// Rows given.
        got: usize,
    },
    /// A price, return, weight or matrix entry is NaN/infinite or otherwise out of domain.
    #[error("invalid value in {what} at row {row}, column {col}: {value}")]
    InvalidValue {
        /// Which input.
        what: &'static str,
        /// Row (0-based; for vectors the element index).
        row: usize,
        /// Column (0-based; 0 for vectors).
        col: usize,
        /// The offending value.
        value: f64,
    },
    /// A parameter is out of its domain (span < 1, risk aversion ≤ 0, α ∉ \[0, 1\], …).
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Value given.
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The constraints admit no portfolio (bounds, group caps, turnover).
    #[error("constraints are infeasible: {0}")]
    InfeasibleConstraints(String),
    /// A volatility/return target lies outside the feasible range; the message states the range.
    #[error("{0}")]
    InfeasibleTarget(String),
    /// Maximum Sharpe needs at least one asset whose expected return exceeds the risk-free rate.
    #[error(
        "max Sharpe needs an expected return above the risk-free rate {rf}; the highest is {max_return}"
    )]
    NoExcessReturn {
        /// Annual risk-free rate (fraction).
        rf: f64,
        /// Highest annual expected return (fraction).
        max_return: f64,
    },
    /// The conic solver did not reach an optimal solution.
    #[error("solver failed on {problem}: status {status}")]
    Solver {
        /// Which optimization problem.
        problem: &'static str,
        /// Clarabel's status.
        status: String,
    },
    /// A symbol referenced by a constraint or market column is not in the universe.
    #[error("unknown symbol {0:?}")]
    UnknownSymbol(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, OptimizeError>;
