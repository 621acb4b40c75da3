//! The HTTP layer: `pulse-http`'s shared client (one rate limiter, retries with exponential
//! backoff and jitter, `Retry-After`, timeouts, errors that never show a URL — URLs may carry an
//! API key), with its errors told in this crate's terms.

use crate::error::DataError;
use pulse_http::{HeaderMap, HttpClient, HttpError, StatusCode};

pub use pulse_http::{HttpConfig, host_label};

/// What a caller's inspection says about a body (2xx, or 4xx other than 429).
pub(crate) enum BodyVerdict {
    /// A 2xx body is the answer; a 4xx body is a plain rejection.
    Accept,
    /// The body is a rate-limit message (Alpha Vantage `Note`/`Information`): retry.
    RateLimited(String),
    /// The body explains the failure (Yahoo's `chart.error` on a 404): stop with this error.
    Fail(DataError),
}

/// An HTTP client with pacing and retries.
#[derive(Debug)]
pub(crate) struct Http {
    inner: HttpClient,
}

impl Http {
    /// Builds the client; `secrets` are redacted from every message that echoes server text.
    pub(crate) fn new(config: HttpConfig, secrets: Vec<String>) -> Result<Self, DataError> {
        let secrets = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        let inner = HttpClient::new(config, secrets).map_err(|e| match e {
            HttpError::Config(msg) => DataError::Config(msg),
            other => DataError::Config(other.to_string()),
        })?;
        Ok(Http { inner })
    }

    /// The configuration in force.
    pub(crate) fn config(&self) -> &HttpConfig {
        self.inner.config()
    }

    /// Replaces every secret in `text` by `***` (see [`HttpClient::redact`]).
    pub(crate) fn redact(&self, text: &str) -> String {
        self.inner.redact(text)
    }

    /// GETs `url` with pacing and retries, and returns the body of the first 2xx answer that
    /// `inspect` accepts. `host` names the server in errors (never the URL: it may hold a key).
    pub(crate) async fn get(
        &self,
        source_name: &'static str,
        host: &str,
        symbol: &str,
        url: reqwest::Url,
        inspect: impl Fn(StatusCode, &[u8]) -> BodyVerdict + Send + Sync,
    ) -> Result<Vec<u8>, DataError> {
        let resp = self
            .inner
            .get_checked(url, &HeaderMap::new(), |status, body| {
                match inspect(status, body) {
                    BodyVerdict::RateLimited(msg) => Some(msg),
                    BodyVerdict::Accept | BodyVerdict::Fail(_) => None,
                }
            })
            .await
            .map_err(|e| from_http(source_name, e))?;
        let verdict = inspect(resp.status, &resp.body);
        if let BodyVerdict::Fail(e) = verdict {
            return Err(e);
        }
        if resp.is_success() {
            return Ok(resp.body);
        }
        Err(DataError::Rejected {
            host: host.to_string(),
            symbol: symbol.to_string(),
            status: resp.status.as_u16(),
            body: self.inner.snippet(&resp.body),
        })
    }
}

/// The shared client's error in this crate's terms.
fn from_http(source_name: &'static str, e: HttpError) -> DataError {
    match e {
        HttpError::Config(msg) => DataError::Config(msg),
        HttpError::Unreachable {
            host,
            detail,
            attempts,
        } => DataError::Unreachable {
            host,
            detail,
            attempts,
        },
        HttpError::OutcomeUnknown { host, detail } => DataError::Unreachable {
            host,
            detail,
            attempts: 1,
        },
        HttpError::Timeout {
            host,
            timeout_ms,
            attempts,
        } => DataError::Timeout {
            host,
            timeout_ms,
            attempts,
        },
        HttpError::RateLimited {
            detail, attempts, ..
        } => DataError::RateLimited {
            source_name,
            detail,
            attempts,
        },
        HttpError::Server {
            host,
            status,
            attempts,
            ..
        } => DataError::Server {
            host,
            status,
            attempts,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_and_debug_hide_secrets() {
        let http = Http::new(HttpConfig::default(), vec!["SECRETKEY123".to_string()]).unwrap();
        assert_eq!(
            http.redact("bad key SECRETKEY123 given"),
            "bad key *** given"
        );
        assert!(!format!("{http:?}").contains("SECRETKEY123"));
    }

    /// Issue #12: a key with characters that get URL-encoded leaked in its encoded form.
    #[test]
    fn secret_query_parameters_are_redacted_in_any_encoding() {
        let http = Http::new(HttpConfig::default(), vec!["S3CR ET&X=1".to_string()]).unwrap();
        let echoed = "error sending request for url (https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol=SPY&apikey=S3CR+ET%26X%3D1&outputsize=full): connection refused";
        let redacted = http.redact(echoed);
        for leak in ["S3CR", "ET%26", "X%3D1"] {
            assert!(!redacted.contains(leak), "{redacted}");
        }
    }
}
