//! The one error type of the crate.

use jiff::civil::Date;
use pulse_core::{CoreError, Symbol};
use thiserror::Error;

/// Why the rebalancer refused an input. Nothing in the state changes when an error is returned.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RebalanceError {
    /// A signal (MP or Sub-MP) is malformed; `field` names the JSON path, e.g. `sub_mp.stocks.SPY`.
    #[error("invalid signal at {field}: {reason}")]
    InvalidSignal {
        /// JSON path of the offending field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value is out of range; `field` names the `RebalanceConfig` field.
    #[error("invalid rebalance config {field}: {reason}")]
    InvalidConfig {
        /// Field of `RebalanceConfig`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A date earlier than one already processed (`on_signal` or `on_execution_day`).
    #[error(
        "{what} for {date} arrives after {last} was already processed (dates must not go back)"
    )]
    OutOfOrder {
        /// Which call.
        what: &'static str,
        /// Date passed.
        date: Date,
        /// Latest date already processed.
        last: Date,
    },
    /// A symbol to be valued or traded has no price, or a non-positive one.
    #[error(
        "no usable price for {symbol} (got {price}): every held, in-flight or target security needs a price > 0"
    )]
    MissingPrice {
        /// Security.
        symbol: Symbol,
        /// The price found, or `none`.
        price: String,
    },
    /// An in-flight order or holding is malformed (negative quantity…).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// `holdings`, `in_flight`…
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The trading calendar cannot answer for a date.
    #[error("calendar: {0}")]
    Calendar(#[from] CoreError),
    /// A command needs an active model (a confirmed MP) and there is none yet.
    #[error("no confirmed model portfolio yet: {0}")]
    NoModel(&'static str),
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, RebalanceError>;
