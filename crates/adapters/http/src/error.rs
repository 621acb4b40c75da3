//! The one error type of this crate.

use thiserror::Error;

/// What can go wrong with one logical request (all its attempts).
///
/// No message ever contains a URL or a secret: hosts are named as `host[:port]`, and any text
/// echoed from a transport error is passed through the client's redaction first.
#[derive(Debug, Error)]
pub enum HttpError {
    /// The client could not be built, or a request could not be formed.
    #[error("invalid HTTP configuration: {0}")]
    Config(String),
    /// The host could not be reached (DNS, refused connection, TLS handshake) on every attempt.
    /// For a POST this means the request never left: it is safe to send it again.
    #[error("cannot reach {host} ({detail}) after {attempts} attempt(s)")]
    Unreachable {
        /// Host (and port, when not the default).
        host: String,
        /// The last transport error (redacted).
        detail: String,
        /// Requests tried.
        attempts: u32,
    },
    /// Every attempt of an idempotent request timed out.
    #[error("{host} did not answer within {timeout_ms} ms on {attempts} attempt(s)")]
    Timeout {
        /// Host (and port, when not the default).
        host: String,
        /// Per-request timeout, in milliseconds.
        timeout_ms: u64,
        /// Requests sent.
        attempts: u32,
    },
    /// The server kept answering "too many requests" (HTTP 429, or a rate-limit notice the
    /// caller recognised in a body) until the retries were exhausted.
    #[error("{host} is rate limiting us ({detail}); gave up after {attempts} attempt(s)")]
    RateLimited {
        /// Host (and port, when not the default).
        host: String,
        /// The last status or message received (redacted).
        detail: String,
        /// Requests sent.
        attempts: u32,
    },
    /// The server answered HTTP 5xx on every attempt.
    #[error("{host} answered HTTP {status} on all {attempts} attempt(s){}", answer_suffix(.detail))]
    Server {
        /// Host (and port, when not the default).
        host: String,
        /// Last HTTP status code.
        status: u16,
        /// The last answer's body (whitespace collapsed, at most 300 bytes, secrets redacted;
        /// empty when it had none): vendors put their error code there (KIS answers a rate
        /// limit as HTTP 500 with `EGW00201`).
        detail: String,
        /// Requests sent.
        attempts: u32,
    },
    /// A non-idempotent request (POST) left, but no complete answer came back (timeout,
    /// connection lost, body cut off): the server may or may not have acted on it. Resolve by
    /// looking the resource up; never resend blindly.
    #[error("outcome of the request to {host} is unknown ({detail}); look it up before resending")]
    OutcomeUnknown {
        /// Host (and port, when not the default).
        host: String,
        /// What went wrong (redacted).
        detail: String,
    },
}

impl HttpError {
    /// True when the request may have reached the server and been acted on without an answer.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, HttpError::OutcomeUnknown { .. })
    }
}

/// `: <detail>` when there is one.
fn answer_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}
