//! How often a series is sampled, for annualizing statistics.

use serde::{Deserialize, Serialize};

/// Sampling frequency of a return series. Annualization multiplies a per-period mean by
/// [`Periodicity::periods_per_year`] and a per-period standard deviation by its square root.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Periodicity {
    /// One observation per trading day: 252 per year.
    Daily,
    /// One per week: 52 per year.
    Weekly,
    /// One per month: 12 per year.
    Monthly,
    /// Intraday bars of `minutes` minutes over `session_minutes` per day and 252 days per year
    /// (US equities: 390-minute sessions).
    Intraday {
        /// Bar length in minutes.
        minutes: u32,
        /// Trading minutes per session.
        session_minutes: u32,
    },
    /// Any other count of periods per year (crypto daily: 365).
    PerYear(f64),
}

impl Periodicity {
    /// Trading days per year used for daily annualization (the √252 convention).
    pub const TRADING_DAYS_PER_YEAR: f64 = 252.0;

    /// The periodicity of bars of `timeframe` on `exchange`: daily bars count 252 per year, intraday
    /// bars as many as fit the exchange's regular session (from its calendar) on 252 days.
    pub fn of_bars(timeframe: crate::Timeframe, exchange: crate::Exchange) -> Periodicity {
        if timeframe.is_intraday() {
            Periodicity::Intraday {
                minutes: u32::try_from(timeframe.seconds() / 60).unwrap_or(u32::MAX),
                session_minutes: crate::calendar::calendar(exchange).regular_session_minutes(),
            }
        } else {
            Periodicity::Daily
        }
    }

    /// Number of periods in one year.
    pub fn periods_per_year(self) -> f64 {
        match self {
            Periodicity::Daily => Self::TRADING_DAYS_PER_YEAR,
            Periodicity::Weekly => 52.0,
            Periodicity::Monthly => 12.0,
            Periodicity::Intraday {
                minutes,
                session_minutes,
            } => {
                Self::TRADING_DAYS_PER_YEAR * f64::from(session_minutes) / f64::from(minutes.max(1))
            }
            Periodicity::PerYear(n) => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_per_year() {
        assert_eq!(Periodicity::Daily.periods_per_year(), 252.0);
        assert_eq!(
            Periodicity::Intraday {
                minutes: 1,
                session_minutes: 390
            }
            .periods_per_year(),
            98_280.0
        );
        assert_eq!(Periodicity::PerYear(365.0).periods_per_year(), 365.0);
    }
}
