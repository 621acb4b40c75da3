//! Errors raised by the pure domain layer.

use thiserror::Error;

/// What can go wrong when building or combining domain values.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// A symbol string is empty, too long or has characters outside `[A-Za-z0-9.^=_-]`.
    #[error("invalid symbol {0:?}: expected 1-32 characters from A-Z a-z 0-9 . ^ = _ -")]
    InvalidSymbol(String),
    /// A timeframe string is not one of `1m`, `15m`, `1h`, `1d`.
    #[error("invalid timeframe {0:?}: expected one of 1m, 15m, 1h, 1d")]
    InvalidTimeframe(String),
    /// An exchange name is unknown.
    #[error("invalid exchange {0:?}: expected one of nyse, nasdaq, krx, crypto, none")]
    InvalidExchange(String),
    /// A bar violates a structural rule (non-finite price, negative volume…).
    #[error("invalid bar at {ts}: {reason}")]
    InvalidBar {
        /// Timestamp of the offending bar.
        ts: jiff::Timestamp,
        /// Human-readable reason.
        reason: String,
    },
    /// A calendar question was asked outside the years the calendar tables cover.
    #[error("{exchange} calendar covers {first}..={last}; {date} is outside it")]
    OutsideCalendar {
        /// Exchange name.
        exchange: String,
        /// The date asked about.
        date: jiff::civil::Date,
        /// First covered date.
        first: jiff::civil::Date,
        /// Last covered date.
        last: jiff::civil::Date,
    },
    /// Resampling was asked to go to a finer or equal timeframe, or input is not in order.
    #[error("cannot resample: {0}")]
    Resample(String),
    /// A time computation overflowed or a timezone conversion failed.
    #[error("time error: {0}")]
    Time(String),
}

impl From<jiff::Error> for CoreError {
    fn from(e: jiff::Error) -> Self {
        CoreError::Time(e.to_string())
    }
}
