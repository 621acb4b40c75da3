//! `pulse-http` owns the one HTTP client the adapters share ([`HttpClient`]): pacing (a minimum
//! interval between requests and a cap per sliding window), the server's own rate-limit headers
//! (`X-Ratelimit-Remaining` / `X-Ratelimit-Reset`), retries with exponential backoff and
//! deterministic jitter on HTTP 429, 5xx, timeouts and connection errors (honouring
//! `Retry-After`), a whole-request timeout, and errors that name the host, never the URL, with
//! every secret redacted (verbatim and URL-encoded).
//!
//! Only idempotent requests (GET, DELETE) are retried. A POST is sent once: a POST whose answer
//! never arrived (timeout, connection lost after sending) fails with
//! [`HttpError::OutcomeUnknown`], which the caller resolves by looking the resource up, never by
//! sending it again blindly.

mod client;
mod error;
mod redact;

pub use client::{HttpClient, HttpConfig, Response, host_label};
pub use error::HttpError;
pub use redact::redact_secret_params;
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use reqwest::{Method, StatusCode, Url};
