//! The one error type of this crate.

use pulse_core::ClientOrderId;
use pulse_http::HttpError;
use thiserror::Error;

/// What can go wrong talking to KIS.
///
/// No message contains a secret: the app key, app secret, access token and account number travel
/// only in headers (marked sensitive) or request fields, and every text echoed from the server or
/// the transport is redacted (verbatim and URL-encoded) before it is put into an error.
#[derive(Debug, Error)]
pub enum KisError {
    /// A missing or malformed setting (the message names the environment variable, never its
    /// value), a bad base URL, or an HTTP client that could not be built.
    #[error("invalid KIS configuration: {0}")]
    Config(String),
    /// The order cannot be expressed for KIS (non-positive or fractional quantity, bad price,
    /// unsupported time in force); nothing was sent.
    #[error("order {client_id} cannot be sent to KIS: {reason}")]
    InvalidOrder {
        /// The order's client id.
        client_id: ClientOrderId,
        /// Why.
        reason: String,
    },
    /// A market order for an overseas stock on a paper account: KIS paper trading accepts limit
    /// orders (`ORD_DVSN 00`) only for US stocks. Send a marketable limit order instead; nothing
    /// was sent.
    #[error(
        "order {client_id} ({symbol}): KIS paper trading accepts only limit orders for overseas stocks; send a marketable limit order instead"
    )]
    PaperLimitOnly {
        /// The order's client id.
        client_id: ClientOrderId,
        /// The overseas symbol.
        symbol: String,
    },
    /// The service is not available on paper (모의투자): either a real-only TR of the TR table
    /// (refused before any request) or the server's `MCA00124`.
    #[error("KIS service {what} is not available on paper trading")]
    NotOnPaper {
        /// The TR id or service name.
        what: String,
    },
    /// `EGW02004`: the host refused the key, typically a paper key used on the real host (or
    /// the reverse). Check `KIS_MODE` against the key pair.
    #[error(
        "KIS refused the key on this host (EGW02004: {message}); check KIS_MODE against the app key"
    )]
    WrongHost {
        /// KIS's message (redacted).
        message: String,
    },
    /// `EGW00201` (too many requests per second) on every attempt, or on an order submission
    /// after its bounded retries. The request was refused, so sending it again later is safe.
    #[error("KIS is rate limiting us (EGW00201) after {attempts} attempt(s)")]
    RateLimited {
        /// Requests sent.
        attempts: u32,
    },
    /// A new access token is needed but one was issued less than the minimum interval ago (KIS
    /// issues at most one per minute); try again after `retry_after_secs` seconds.
    #[error(
        "a new KIS access token is needed but one was issued {elapsed_secs} s ago; KIS allows one per {interval_secs} s, retry in {retry_after_secs} s"
    )]
    TokenReissueTooSoon {
        /// Seconds since the last issuance.
        elapsed_secs: i64,
        /// The minimum interval between issuances, in seconds.
        interval_secs: i64,
        /// Seconds to wait before an issuance is allowed.
        retry_after_secs: i64,
    },
    /// `POST /oauth2/tokenP` did not give a token.
    #[error("KIS refused to issue an access token (HTTP {status}, {code}): {message}")]
    TokenRefused {
        /// HTTP status.
        status: u16,
        /// KIS's error code (`EGW00133`…) or `-`.
        code: String,
        /// KIS's message (redacted).
        message: String,
    },
    /// The server answered `rt_cd` other than `0` with this code and message (an order refused
    /// for insufficient funds, an invalid field…).
    #[error("KIS refused the request ({code}): {message}")]
    Rejected {
        /// KIS's `msg_cd`.
        code: String,
        /// KIS's `msg1` (redacted).
        message: String,
    },
    /// The order left but no usable answer came back (timeout, connection lost, HTTP 5xx with no
    /// KIS envelope, unreadable answer): KIS may or may not hold it. It is never re-sent
    /// automatically; resolve with `order_status` (which searches the day's orders, see the crate
    /// docs), and submit again only if that returns `None`.
    #[error(
        "outcome of order {client_id} is unknown (no usable answer from KIS); look it up with order_status before submitting again"
    )]
    OutcomeUnknown {
        /// The order's client id.
        client_id: ClientOrderId,
    },
    /// An order that should exist does not (unknown client id, or not in KIS's inquiries).
    #[error("not found at KIS: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// A body was not the documented JSON, or a field did not hold what it should (a number
    /// that does not parse…).
    #[error("cannot parse KIS's {what}: field {field}: {reason}")]
    Parse {
        /// What was being read (`order`, `balance`, `quote`…).
        what: &'static str,
        /// The wire field at fault.
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// A quote or order book that parsed but failed validation (`Quote::validate`, book order).
    #[error("invalid quote from KIS: {0}")]
    InvalidQuote(String),
    /// The order journal failed to read or record an entry.
    #[error("order journal: {0}")]
    Journal(String),
    /// An unexpected HTTP status with no KIS envelope in the body.
    #[error("KIS answered HTTP {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the body (redacted).
        message: String,
    },
    /// The request failed in transport after its retries (unreachable, timeouts, HTTP 429/5xx).
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl KisError {
    /// True for [`KisError::OutcomeUnknown`].
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, KisError::OutcomeUnknown { .. })
    }
}
