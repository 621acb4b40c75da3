//! The one error type of this crate.

use pulse_core::ClientOrderId;
use pulse_http::HttpError;
use thiserror::Error;

/// What can go wrong talking to Alpaca.
///
/// No message contains a key: they travel only in headers, and any text echoed from the server
/// or the transport is redacted (verbatim and URL-encoded) first.
#[derive(Debug, Error)]
pub enum AlpacaError {
    /// Missing keys, a bad base URL, or an HTTP client that could not be built.
    #[error("invalid Alpaca configuration: {0}")]
    Config(String),
    /// The client order id is longer than Alpaca accepts (48 characters); nothing was sent.
    #[error("client order id {client_id} is {len} characters long; Alpaca accepts at most 48")]
    ClientOrderIdTooLong {
        /// The id.
        client_id: ClientOrderId,
        /// Its length, in characters.
        len: usize,
    },
    /// The order cannot be expressed for Alpaca (non-positive quantity or limit price); nothing
    /// was sent.
    #[error("order {client_id} cannot be sent to Alpaca: {reason}")]
    InvalidOrder {
        /// The order's client id.
        client_id: ClientOrderId,
        /// Why.
        reason: String,
    },
    /// The order left but no answer came back (timeout, connection lost, HTTP 5xx, unreadable
    /// answer): Alpaca may or may not hold it. Resolve with `order_status`; submit again only if
    /// that returns `None`.
    #[error(
        "outcome of order {client_id} is unknown (no usable answer from Alpaca); look it up by client id before submitting again"
    )]
    OutcomeUnknown {
        /// The order's client id.
        client_id: ClientOrderId,
    },
    /// HTTP 401: the keys were refused.
    #[error("Alpaca refused the API keys (HTTP 401): {message}")]
    Unauthorized {
        /// Alpaca's message (redacted).
        message: String,
    },
    /// HTTP 403: forbidden, e.g. insufficient buying power or a restricted account.
    #[error("Alpaca refused the request (HTTP 403): {message}")]
    Forbidden {
        /// Alpaca's message (redacted).
        message: String,
    },
    /// HTTP 422: the request was understood but not processable (invalid parameters, order
    /// not cancelable…).
    #[error("Alpaca could not process the request (HTTP 422): {message}")]
    Unprocessable {
        /// Alpaca's message (redacted).
        message: String,
    },
    /// HTTP 404, or an order that should exist does not.
    #[error("not found at Alpaca: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// HTTP 429 on an order submission, which is never retried automatically; the order was
    /// refused, so submitting it again later is safe.
    #[error("Alpaca is rate limiting us (HTTP 429) and refused the order: {message}")]
    RateLimited {
        /// Alpaca's message (redacted).
        message: String,
    },
    /// Any other unexpected HTTP status.
    #[error("Alpaca answered HTTP {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// Alpaca's message (redacted).
        message: String,
    },
    /// A body was not JSON of the documented shape.
    #[error("cannot parse Alpaca's {what}: {reason}")]
    Parse {
        /// What was being read (`order`, `account`, `positions`, `activities`).
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The request failed in transport after its retries (unreachable, timeouts, 429s, 5xx).
    #[error(transparent)]
    Http(#[from] HttpError),
}
