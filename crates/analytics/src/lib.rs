//! `pulse-analytics`: performance and risk metrics of an equity curve and its fills — returns,
//! CAGR, volatility, Sharpe, Sortino, drawdown, Calmar, VaR/CVaR, FIFO round-trip trade
//! statistics, turnover, exposure and a monthly returns table.
//!
//! Pure `f64` math: no I/O, no async. Every ratio is a FRACTION (0.12 = 12 %), never percent.
//! Annualization uses [`pulse_core::Periodicity::periods_per_year`] (`ppy`): means × `ppy`,
//! standard deviations × `√ppy`; calendar-based figures (CAGR, turnover) use 365.25-day years.
//!
//! ```
//! use pulse_analytics::{Metrics, PerformanceInput, RiskFree};
//! use pulse_core::{Periodicity, jiff::Timestamp};
//! let ts: Vec<Timestamp> = (0..3).map(|d| Timestamp::from_second(d * 86_400).unwrap()).collect();
//! let equity = [100_000.0, 101_000.0, 99_990.0];
//! let m = Metrics::compute(&PerformanceInput {
//!     timestamps: &ts,
//!     equity: &equity,
//!     periodicity: Periodicity::Daily,
//!     risk_free: RiskFree::Zero,
//!     fills: &[],
//!     gross_exposure: None,
//! })
//! .unwrap();
//! assert!((m.max_drawdown.unwrap() - 0.01).abs() < 1e-12);
//! ```

pub mod drawdown;
pub mod error;
pub mod metrics;
pub mod monthly;
pub mod returns;
pub mod stats;
pub mod trades;

pub use drawdown::Drawdown;
pub use error::AnalyticsError;
pub use metrics::{
    Analysis, DAYS_PER_YEAR, Metrics, PerformanceInput, RiskFree, SearchMetrics, VAR_TAIL, ZERO_STD,
};
pub use monthly::{MonthlyReturn, YearlyReturn, monthly_returns, yearly_returns};
pub use returns::{
    forward_fill_onto, log_returns, returns, returns_into, rf_per_period_from_annual_rate,
    rf_per_period_from_annual_yield_pct, rf_series_from_yield_pct,
};
pub use trades::{ClosedTrade, Direction, FillRecord, Side, TradeStats, closed_trades};
