//! Expected-return estimators. Inputs are per-period simple returns (T×N, rows = periods);
//! outputs are ANNUAL expected returns as fractions (0.08 = 8 %/yr), annualized with
//! [`Periodicity::periods_per_year`] exactly as PyPortfolioOpt does with `frequency`.

use crate::data::{check_returns, check_vec, col_means, ewm_weights};
use crate::error::{OptimizeError, Result};
use nalgebra::{DMatrix, DVector};
use pulse_core::Periodicity;
use serde::{Deserialize, Serialize};

/// How to estimate expected returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReturnModel {
    /// Historical mean: geometric (CAGR, `compounding = true`) or arithmetic × periods/yr.
    MeanHistorical {
        /// Geometric (true) or arithmetic (false).
        compounding: bool,
    },
    /// Exponentially weighted mean with a span in periods (PyPortfolioOpt default 500).
    Ema {
        /// EWM span in periods (α = 2/(span+1)).
        span: f64,
        /// Compound the per-period mean `(1+m)^ppy − 1` (true) or `m × ppy` (false).
        compounding: bool,
    },
    /// CAPM: `rf + β_i (E[R_m] − rf)` with β from the sample covariance against the market.
    /// The market return series is passed to [`estimate_returns`]; without it the equally
    /// weighted average of the assets is the market proxy (as PyPortfolioOpt).
    Capm {
        /// Annual risk-free rate (fraction).
        rf: f64,
        /// Geometric (true) or arithmetic (false) market mean.
        compounding: bool,
    },
    /// A user- or forecast-supplied vector of annual expected returns (fractions), one per asset.
    Supplied(Vec<f64>),
}

impl ReturnModel {
    /// Short human-readable name of the source, for output ("mean (geometric)", "ema(500)", …).
    pub fn source_name(&self) -> String {
        match self {
            ReturnModel::MeanHistorical { compounding: true } => {
                "mean historical (geometric)".into()
            }
            ReturnModel::MeanHistorical { compounding: false } => {
                "mean historical (arithmetic)".into()
            }
            ReturnModel::Ema { span, .. } => format!("exponentially weighted (span {span})"),
            ReturnModel::Capm { rf, .. } => format!("CAPM (rf {rf})"),
            ReturnModel::Supplied(_) => "supplied".into(),
        }
    }
}

/// Estimate annual expected returns of the N assets in `returns` (T×N per-period simple returns).
/// `market` holds the market's per-period returns for [`ReturnModel::Capm`] (length T, same
/// rows); other models ignore it.
pub fn estimate_returns(
    model: &ReturnModel,
    returns: &DMatrix<f64>,
    market: Option<&DVector<f64>>,
    periodicity: Periodicity,
) -> Result<DVector<f64>> {
    match model {
        ReturnModel::MeanHistorical { compounding } => {
            mean_historical_return(returns, *compounding, periodicity)
        }
        ReturnModel::Ema { span, compounding } => {
            ema_historical_return(returns, *span, *compounding, periodicity)
        }
        ReturnModel::Capm { rf, compounding } => {
            capm_return(returns, market, *rf, *compounding, periodicity)
        }
        ReturnModel::Supplied(v) => {
            let v = DVector::from_vec(v.clone());
            check_vec("supplied expected returns", &v, returns.ncols())?;
            Ok(v)
        }
    }
}

/// Historical mean return per asset, annualized: geometric `Π(1+r)^(ppy/T) − 1`
/// (`compounding = true`) or arithmetic `mean(r) × ppy`. As PyPortfolioOpt's
/// `mean_historical_return`.
pub fn mean_historical_return(
    returns: &DMatrix<f64>,
    compounding: bool,
    periodicity: Periodicity,
) -> Result<DVector<f64>> {
    check_returns("mean_historical_return", returns, 1)?;
    let ppy = periodicity.periods_per_year();
    Ok(mean_of(returns, compounding, ppy))
}

fn mean_of(returns: &DMatrix<f64>, compounding: bool, ppy: f64) -> DVector<f64> {
    let t = returns.nrows() as f64;
    if compounding {
        DVector::from_iterator(
            returns.ncols(),
            returns
                .column_iter()
                .map(|c| c.iter().map(|r| 1.0 + r).product::<f64>().powf(ppy / t) - 1.0),
        )
    } else {
        col_means(returns) * ppy
    }
}

/// Exponentially weighted mean return per asset (pandas `ewm(span).mean()` at the last row,
/// `adjust=True`), annualized: `(1+m)^ppy − 1` if `compounding`, else `m × ppy`. As
/// PyPortfolioOpt's `ema_historical_return`. `span` in periods (≥ 1).
pub fn ema_historical_return(
    returns: &DMatrix<f64>,
    span: f64,
    compounding: bool,
    periodicity: Periodicity,
) -> Result<DVector<f64>> {
    check_returns("ema_historical_return", returns, 1)?;
    let w = ewm_weights(returns.nrows(), span)?;
    let total: f64 = w.iter().sum();
    let ppy = periodicity.periods_per_year();
    Ok(DVector::from_iterator(
        returns.ncols(),
        returns.column_iter().map(|c| {
            let m = c.iter().zip(&w).map(|(r, w)| r * w).sum::<f64>() / total;
            if compounding {
                (1.0 + m).powf(ppy) - 1.0
            } else {
                m * ppy
            }
        }),
    ))
}

/// CAPM expected returns `rf + β_i (E[R_m] − rf)`, annual fractions. β_i = cov(r_i, r_m)/var(r_m)
/// from sample (co)variances; E\[R_m\] geometric or arithmetic like [`mean_historical_return`].
/// `market = None` uses the equally weighted average of the assets as the market (as
/// PyPortfolioOpt's `capm_return` without `market_prices`). `rf` is annual.
pub fn capm_return(
    returns: &DMatrix<f64>,
    market: Option<&DVector<f64>>,
    rf: f64,
    compounding: bool,
    periodicity: Periodicity,
) -> Result<DVector<f64>> {
    check_returns("capm_return", returns, 2)?;
    if !rf.is_finite() {
        return Err(OptimizeError::InvalidParameter {
            name: "rf",
            value: rf,
            reason: "must be finite",
        });
    }
    let (t, n) = returns.shape();
    let mkt: DVector<f64> = match market {
        Some(m) => {
            check_vec("market returns", m, t)?;
            m.clone()
        }
        None => DVector::from_iterator(t, returns.row_iter().map(|r| r.sum() / n as f64)),
    };
    let tm = t as f64;
    let mm = mkt.sum() / tm;
    let var_m = mkt.iter().map(|x| (x - mm) * (x - mm)).sum::<f64>() / (tm - 1.0);
    if var_m <= 0.0 {
        return Err(OptimizeError::InvalidParameter {
            name: "market variance",
            value: var_m,
            reason: "market returns are constant",
        });
    }
    let ppy = periodicity.periods_per_year();
    let mkt_mat = DMatrix::from_column_slice(t, 1, mkt.as_slice());
    let mkt_ret = mean_of(&mkt_mat, compounding, ppy)[0];
    Ok(DVector::from_iterator(
        n,
        returns.column_iter().map(|c| {
            let mc = c.sum() / tm;
            let cov = c
                .iter()
                .zip(mkt.iter())
                .map(|(a, b)| (a - mc) * (b - mm))
                .sum::<f64>()
                / (tm - 1.0);
            rf + cov / var_m * (mkt_ret - rf)
        }),
    ))
}
