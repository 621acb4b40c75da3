//! The shared HTTP layer: one rate limiter, retries with exponential backoff and jitter,
//! `Retry-After`, timeouts, and errors that never show a URL (URLs may carry an API key).

use crate::error::DataError;
use reqwest::StatusCode;
use std::sync::Mutex as StdMutex;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How requests are paced, retried and timed out. Shared by both sources.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// Minimum time from the start, and from the end, of one request of a client to the start of
    /// its next request (default 500 ms).
    pub min_interval: Duration,
    /// Retries after the first attempt on HTTP 429, 5xx, timeouts and connection errors
    /// (default 4, so at most 5 requests).
    pub max_retries: u32,
    /// Backoff before retry `n` (0-based) is `base_backoff × 2ⁿ`, capped at `max_backoff`, then
    /// scaled by a jitter factor in [0.5, 1.0] (default 500 ms).
    pub base_backoff: Duration,
    /// Upper bound of one backoff delay (default 30 s).
    pub max_backoff: Duration,
    /// Upper bound of a delay asked for by `Retry-After` (default 120 s); longer asks are capped.
    pub max_retry_after: Duration,
    /// Whole-request timeout, connection to last body byte (default 30 s).
    pub timeout: Duration,
    /// TCP/TLS connection timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Seed of the deterministic jitter generator (default 0x5eed).
    pub jitter_seed: u64,
    /// `User-Agent` header sent with every request.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            min_interval: Duration::from_millis(500),
            max_retries: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            jitter_seed: 0x5eed,
            user_agent: concat!("portfolio-pulse/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// What a caller's inspection says about a body (2xx, or 4xx other than 429).
pub(crate) enum BodyVerdict {
    /// A 2xx body is the answer; a 4xx body is a plain rejection.
    Accept,
    /// The body is a rate-limit message (Alpha Vantage `Note`/`Information`): retry.
    RateLimited(String),
    /// The body explains the failure (Yahoo's `chart.error` on a 404): stop with this error.
    Fail(DataError),
}

/// Why one attempt failed, when it may be retried.
enum Transient {
    Connect(String),
    Timeout,
    Status(u16),
    RateLimited(String),
}

/// An HTTP client with pacing and retries.
pub(crate) struct Http {
    client: reqwest::Client,
    config: HttpConfig,
    /// Start or end of the last request, whichever is later (for the rate limiter).
    last_start: Mutex<Option<Instant>>,
    /// State of the jitter generator (splitmix64).
    rng: StdMutex<u64>,
    /// Strings that must never appear in an error (API keys).
    secrets: Vec<String>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("config", &self.config)
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .finish_non_exhaustive()
    }
}

impl Http {
    /// Builds the client; `secrets` are redacted from every message that echoes server text.
    pub(crate) fn new(config: HttpConfig, secrets: Vec<String>) -> Result<Self, DataError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| DataError::Config(format!("cannot build HTTP client: {}", chain(&e))))?;
        let seed = config.jitter_seed;
        Ok(Http {
            client,
            config,
            last_start: Mutex::new(None),
            rng: StdMutex::new(seed),
            secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
        })
    }

    /// The configuration in force.
    pub(crate) fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Replaces every secret in `text` by `***`: the value of every secret-carrying query
    /// parameter (whatever its encoding: `apikey=S3CR+ET%26X%3D1` in a URL an error echoes), then
    /// any verbatim occurrence of a secret.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = redact_secret_params(text);
        for s in &self.secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    /// Waits until the rate limiter lets one more request start.
    async fn pace(&self) {
        let mut last = self.last_start.lock().await;
        if let Some(prev) = *last {
            let next = prev + self.config.min_interval;
            tokio::time::sleep_until(next).await;
        }
        *last = Some(Instant::now());
    }

    /// Records the end of a request: the next one starts at least `min_interval` after it.
    async fn mark_done(&self) {
        let mut last = self.last_start.lock().await;
        let now = Instant::now();
        if last.is_none_or(|t| t < now) {
            *last = Some(now);
        }
    }

    /// Backoff before retry number `retry` (0-based), with jitter in [0.5, 1.0].
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.checked_pow(retry.min(20)).unwrap_or(u32::MAX);
        let raw = self
            .config
            .base_backoff
            .checked_mul(factor)
            .unwrap_or(self.config.max_backoff)
            .min(self.config.max_backoff);
        let jitter = {
            let mut state = match self.rng.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // 53 random bits → [0, 1).
            (z >> 11) as f64 / (1u64 << 53) as f64
        };
        raw.mul_f64(0.5 + 0.5 * jitter)
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
        let attempts_max = self.config.max_retries.saturating_add(1);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.pace().await;
            let (transient, retry_after) = match self.client.get(url.clone()).send().await {
                Err(e) => (classify(e), None),
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        match resp.bytes().await {
                            Ok(body) => match inspect(status, &body) {
                                BodyVerdict::Accept => {
                                    self.mark_done().await;
                                    return Ok(body.to_vec());
                                }
                                BodyVerdict::RateLimited(msg) => {
                                    (Transient::RateLimited(self.redact(&msg)), None)
                                }
                                BodyVerdict::Fail(e) => {
                                    self.mark_done().await;
                                    return Err(e);
                                }
                            },
                            Err(e) => (classify(e), None),
                        }
                    } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        let wait = retry_after(resp.headers());
                        (Transient::Status(status.as_u16()), wait)
                    } else {
                        let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                        self.mark_done().await;
                        if let BodyVerdict::Fail(e) = inspect(status, &body) {
                            return Err(e);
                        }
                        let text = String::from_utf8_lossy(&body);
                        let snippet: String = text.chars().take(200).collect();
                        return Err(DataError::Rejected {
                            host: host.to_string(),
                            symbol: symbol.to_string(),
                            status: status.as_u16(),
                            body: self.redact(snippet.trim()),
                        });
                    }
                }
            };
            self.mark_done().await;
            if attempt >= attempts_max {
                return Err(self.give_up(source_name, host, transient, attempt));
            }
            let delay = match retry_after {
                Some(d) => d.min(self.config.max_retry_after),
                None => self.backoff(attempt - 1),
            };
            tokio::time::sleep(delay).await;
        }
    }

    fn give_up(
        &self,
        source_name: &'static str,
        host: &str,
        last: Transient,
        attempts: u32,
    ) -> DataError {
        let host = host.to_string();
        match last {
            Transient::Connect(detail) => DataError::Unreachable {
                host,
                detail: self.redact(&detail),
                attempts,
            },
            Transient::Timeout => DataError::Timeout {
                host,
                timeout_ms: u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX),
                attempts,
            },
            Transient::Status(429) => DataError::RateLimited {
                source_name,
                detail: "HTTP 429 Too Many Requests".to_string(),
                attempts,
            },
            Transient::Status(status) => DataError::Server {
                host,
                status,
                attempts,
            },
            Transient::RateLimited(detail) => DataError::RateLimited {
                source_name,
                detail,
                attempts,
            },
        }
    }
}

/// Sorts a transport error into timeout or connection trouble, with its cause chain (no URL).
fn classify(e: reqwest::Error) -> Transient {
    if e.is_timeout() {
        Transient::Timeout
    } else {
        Transient::Connect(chain(&e.without_url()))
    }
}

/// An error and its sources, joined by `: ` (deduplicated, since hyper repeats itself).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// The delay a `Retry-After` header asks for: delta-seconds, or an HTTP date measured against the
/// response's own `Date` header (this crate never reads the wall clock).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let date = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    let now = jiff::fmt::rfc2822::parse(date.trim()).ok()?.timestamp();
    let secs = when.as_second().saturating_sub(now.as_second());
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// `host[:port]` of a URL, for messages.
pub(crate) fn host_label(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("unknown host");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// Query parameters whose value is a secret (vendors' spellings, compared case-insensitively).
const SECRET_PARAMS: [&str; 6] = [
    "apikey",
    "api_key",
    "token",
    "access_token",
    "appkey",
    "appsecret",
];

/// `text` with the value of every `name=value` pair whose name is in [`SECRET_PARAMS`] replaced
/// by `***`. A pair starts after `?`, `&`, whitespace or the start of the text; its value runs to
/// the next `&`, `#`, whitespace, quote or closing bracket. The value is hidden as the URL
/// carries it, so an encoded secret (`S3CR+ET%26X%3D1`) is hidden too.
fn redact_secret_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_boundary = true;
    while let Some(c) = rest.chars().next() {
        if at_boundary
            && let Some(name) = SECRET_PARAMS.iter().find(|name| {
                rest.len() > name.len()
                    && rest.is_char_boundary(name.len())
                    && rest[..name.len()].eq_ignore_ascii_case(name)
                    && rest[name.len()..].starts_with('=')
            })
        {
            let value_start = name.len() + 1;
            let value_len = rest[value_start..]
                .find(|ch: char| {
                    ch == '&' || ch == '#' || ch.is_whitespace() || "\"')]}>".contains(ch)
                })
                .unwrap_or(rest.len() - value_start);
            out.push_str(&rest[..value_start]);
            out.push_str("***");
            rest = &rest[value_start + value_len..];
            at_boundary = false;
            continue;
        }
        at_boundary = c == '?' || c == '&' || c.is_whitespace() || c == '(';
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered_deterministically() {
        let cfg = HttpConfig {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..HttpConfig::default()
        };
        let a = Http::new(cfg.clone(), vec![]).unwrap();
        let b = Http::new(cfg, vec![]).unwrap();
        for retry in 0..8 {
            let da = a.backoff(retry);
            let db = b.backoff(retry);
            assert_eq!(da, db, "same seed → same jitter");
            let nominal =
                Duration::from_millis(100 * (1u64 << retry)).min(Duration::from_millis(1000));
            assert!(
                da >= nominal / 2 && da <= nominal,
                "retry {retry}: {da:?} vs {nominal:?}"
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:30 GMT".parse().unwrap(),
        );
        h.insert(
            reqwest::header::DATE,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(30)));
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

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
        assert_eq!(
            redacted,
            "error sending request for url (https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol=SPY&apikey=***&outputsize=full): connection refused"
        );
        for leak in ["S3CR", "ET%26", "X%3D1"] {
            assert!(!redacted.contains(leak), "{redacted}");
        }
        // At the end of the text, upper case, and several parameters.
        assert_eq!(
            redact_secret_params("GET /q?APIKEY=abc%20d token=xyz&x=1"),
            "GET /q?APIKEY=*** token=***&x=1"
        );
        // Names that merely end in a secret parameter's name are left alone.
        assert_eq!(
            redact_secret_params("?monkey=1&mytoken=2"),
            "?monkey=1&mytoken=2"
        );
    }
}
