//! The one error type of this crate.

use thiserror::Error;

/// What can go wrong when fetching market data from Yahoo Finance or Alpha Vantage.
///
/// No message ever contains an API key: URLs are never printed, and any text echoed from a
/// server is passed through the client's redaction first.
#[derive(Debug, Error)]
pub enum DataError {
    /// The host could not be reached (DNS, refused or reset connection) on every attempt.
    #[error(
        "cannot reach {host} ({detail}) after {attempts} attempt(s); import CSV instead with `pulse data import`"
    )]
    Unreachable {
        /// Host (and port, when not the default) of the source.
        host: String,
        /// The last transport error.
        detail: String,
        /// Requests sent.
        attempts: u32,
    },
    /// Every attempt timed out.
    #[error(
        "{host} did not answer within {timeout_ms} ms on {attempts} attempt(s); retry later, or import CSV instead with `pulse data import`"
    )]
    Timeout {
        /// Host (and port, when not the default) of the source.
        host: String,
        /// Per-request timeout, in milliseconds.
        timeout_ms: u64,
        /// Requests sent.
        attempts: u32,
    },
    /// The source kept answering "too many requests" (HTTP 429, or an Alpha Vantage `Note` /
    /// `Information` message) until the retries were exhausted.
    #[error(
        "{source_name} is rate limiting us ({detail}); gave up after {attempts} attempt(s): wait and retry, or import CSV with `pulse data import`"
    )]
    RateLimited {
        /// `yahoo` or `alphavantage`.
        source_name: &'static str,
        /// The last status or message received.
        detail: String,
        /// Requests sent.
        attempts: u32,
    },
    /// The server answered with HTTP 5xx on every attempt.
    #[error("{host} answered HTTP {status} on all {attempts} attempt(s)")]
    Server {
        /// Host (and port, when not the default) of the source.
        host: String,
        /// Last HTTP status code.
        status: u16,
        /// Requests sent.
        attempts: u32,
    },
    /// The server rejected the request (HTTP 4xx other than 429); not retried.
    #[error("{host} rejected the request for {symbol} with HTTP {status}: {body}")]
    Rejected {
        /// Host (and port, when not the default) of the source.
        host: String,
        /// Symbol requested.
        symbol: String,
        /// HTTP status code.
        status: u16,
        /// Start of the response body (redacted, at most 200 characters).
        body: String,
    },
    /// The source answered with an error object (`chart.error`, `Error Message`).
    #[error("{source_name} returned an error for {symbol}: {message}")]
    Api {
        /// `yahoo` or `alphavantage`.
        source_name: &'static str,
        /// Symbol requested.
        symbol: String,
        /// The source's code and description.
        message: String,
    },
    /// The body was truncated, not JSON, or JSON of an unexpected shape.
    #[error("cannot parse {source_name} response for {symbol}: {reason}")]
    Parse {
        /// `yahoo` or `alphavantage`.
        source_name: &'static str,
        /// Symbol requested.
        symbol: String,
        /// What was wrong, with the index, timestamp or field concerned.
        reason: String,
    },
    /// The request cannot be served by this source (timeframe, empty range…).
    #[error("{source_name} cannot serve this request: {reason}")]
    Unsupported {
        /// `yahoo` or `alphavantage`.
        source_name: &'static str,
        /// Why.
        reason: String,
    },
    /// The configuration is invalid (bad base URL, HTTP client could not be built).
    #[error("invalid data-source configuration: {0}")]
    Config(String),
}
