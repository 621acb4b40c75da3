//! The client: pacing, rate limits, retries, timeouts and redaction.

use crate::error::HttpError;
use crate::redact::{redact_secret_params, secret_forms};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How requests are paced, retried and timed out.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// Minimum time from the start, and from the end, of one request of a client to the start of
    /// its next request (default 500 ms).
    pub min_interval: Duration,
    /// Retries after the first attempt of an idempotent request (GET, DELETE) on HTTP 429, 5xx,
    /// timeouts and connection errors (default 4, so at most 5 requests). POSTs are never
    /// retried.
    pub max_retries: u32,
    /// Backoff before retry `n` (0-based) is `base_backoff × 2ⁿ`, capped at `max_backoff`, then
    /// scaled by a jitter factor in [0.5, 1.0] (default 500 ms).
    pub base_backoff: Duration,
    /// Upper bound of one backoff delay (default 30 s).
    pub max_backoff: Duration,
    /// Upper bound of a delay asked for by `Retry-After` or `X-Ratelimit-Reset` (default 120 s);
    /// longer asks are capped.
    pub max_retry_after: Duration,
    /// Whole-request timeout, connection to last body byte (default 30 s).
    pub timeout: Duration,
    /// TCP/TLS connection timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Seed of the deterministic jitter generator (default 0x5eed).
    pub jitter_seed: u64,
    /// `User-Agent` header sent with every request.
    pub user_agent: String,
    /// At most this many requests start within any [`HttpConfig::window`] (0, the default: no
    /// cap beyond `min_interval`).
    pub window_limit: u32,
    /// The sliding window of `window_limit` (default 60 s).
    pub window: Duration,
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
            window_limit: 0,
            window: Duration::from_secs(60),
        }
    }
}

/// A complete answer: any 2xx, or a status that is not retried (1xx, 3xx, 4xx other than 429;
/// for a POST every status).
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Why one attempt failed, when it may be retried.
enum Transient {
    Connect(String),
    Timeout,
    /// A 429 or 5xx answer, with its body's excerpt (redacted).
    Status(u16, String),
    RateLimited(String),
}

/// The pacing state: request starts and any pause the server asked for.
#[derive(Default)]
struct Pace {
    /// Start or end of the last request, whichever is later.
    last: Option<Instant>,
    /// Starts within the current window (for `window_limit`).
    starts: VecDeque<Instant>,
    /// No request starts before this (the server's rate-limit headers said so).
    blocked_until: Option<Instant>,
}

/// An HTTP client with pacing, rate limits, retries and redaction. One per remote service.
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
    pace: Mutex<Pace>,
    /// State of the jitter generator (splitmix64).
    rng: StdMutex<u64>,
    /// Strings that must never appear in an error (each secret in every encoding).
    secrets: Vec<String>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client; `secrets` (API keys…) are redacted, verbatim and URL-encoded, from
    /// every message that echoes transport or server text.
    pub fn new(config: HttpConfig, secrets: Vec<String>) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| HttpError::Config(format!("cannot build HTTP client: {}", chain(&e))))?;
        let seed = config.jitter_seed;
        let mut forms: Vec<String> = secrets.iter().flat_map(|s| secret_forms(s)).collect();
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        Ok(HttpClient {
            client,
            config,
            pace: Mutex::new(Pace::default()),
            rng: StdMutex::new(seed),
            secrets: forms,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Replaces every secret in `text` by `***`: the value of every secret-carrying query
    /// parameter (whatever its encoding), then any occurrence of a secret, verbatim or encoded.
    pub fn redact(&self, text: &str) -> String {
        let mut out = redact_secret_params(text);
        for s in &self.secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    /// The start of a body as text, for error messages: at most 200 characters, trimmed,
    /// redacted.
    pub fn snippet(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let snippet: String = text.chars().take(200).collect();
        self.redact(snippet.trim())
    }

    /// Waits until pacing, the window cap and any server-requested pause let one more request
    /// start, and records its start.
    async fn pace(&self) {
        let mut pace = self.pace.lock().await;
        if let Some(until) = pace.blocked_until.take() {
            tokio::time::sleep_until(until).await;
        }
        if let Some(prev) = pace.last {
            tokio::time::sleep_until(prev + self.config.min_interval).await;
        }
        if self.config.window_limit > 0 {
            let limit = usize::try_from(self.config.window_limit).unwrap_or(usize::MAX);
            loop {
                let now = Instant::now();
                while pace
                    .starts
                    .front()
                    .is_some_and(|t| *t + self.config.window <= now)
                {
                    pace.starts.pop_front();
                }
                match pace.starts.front() {
                    Some(first) if pace.starts.len() >= limit => {
                        let until = *first + self.config.window;
                        tokio::time::sleep_until(until).await;
                    }
                    _ => break,
                }
            }
            pace.starts.push_back(Instant::now());
        }
        pace.last = Some(Instant::now());
    }

    /// Records the end of a request, and a pause when the server says no request is left in
    /// its rate-limit window (`X-Ratelimit-Remaining: 0`).
    async fn mark_done(&self, headers: Option<&HeaderMap>) {
        let mut pace = self.pace.lock().await;
        let now = Instant::now();
        if pace.last.is_none_or(|t| t < now) {
            pace.last = Some(now);
        }
        if let Some(wait) = headers.and_then(|h| ratelimit_pause(h, self.config.max_retry_after)) {
            let until = now + wait;
            if pace.blocked_until.is_none_or(|t| t < until) {
                pace.blocked_until = Some(until);
            }
        }
    }

    /// Backoff before retry number `retry` (0-based), with jitter in [0.5, 1.0].
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
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

    /// GETs `url` with `headers`, retried (see [`HttpConfig::max_retries`]).
    pub async fn get(&self, url: Url, headers: &HeaderMap) -> Result<Response, HttpError> {
        self.idempotent(Method::GET, url, headers, |_, _| None)
            .await
    }

    /// GETs `url` as [`HttpClient::get`] does, and also retries a 2xx answer whose body
    /// `rate_limit_notice` recognises as a rate-limit message (it returns that message).
    pub async fn get_checked(
        &self,
        url: Url,
        headers: &HeaderMap,
        rate_limit_notice: impl Fn(StatusCode, &[u8]) -> Option<String> + Send + Sync,
    ) -> Result<Response, HttpError> {
        self.idempotent(Method::GET, url, headers, rate_limit_notice)
            .await
    }

    /// DELETEs `url` with `headers`, retried like a GET (DELETE is idempotent).
    pub async fn delete(&self, url: Url, headers: &HeaderMap) -> Result<Response, HttpError> {
        self.idempotent(Method::DELETE, url, headers, |_, _| None)
            .await
    }

    /// POSTs `body` as JSON, once. Every status received is returned as a [`Response`] (the
    /// caller knows what a 429 or a 5xx means for its resource). A connection that could not be
    /// opened is [`HttpError::Unreachable`] (nothing was sent); a timeout or a connection lost
    /// after sending is [`HttpError::OutcomeUnknown`].
    pub async fn post_json<T: serde::Serialize + ?Sized>(
        &self,
        url: Url,
        headers: &HeaderMap,
        body: &T,
    ) -> Result<Response, HttpError> {
        let host = host_label(&url);
        let bytes = serde_json::to_vec(body)
            .map_err(|e| HttpError::Config(format!("cannot encode the request body: {e}")))?;
        self.pace().await;
        let sent = self
            .client
            .post(url)
            .headers(headers.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes)
            .send()
            .await;
        let resp = match sent {
            Err(e) => {
                self.mark_done(None).await;
                return Err(if e.is_connect() {
                    HttpError::Unreachable {
                        host,
                        detail: self.redact(&chain(&e.without_url())),
                        attempts: 1,
                    }
                } else {
                    HttpError::OutcomeUnknown {
                        host,
                        detail: self.transport_detail(e),
                    }
                });
            }
            Ok(resp) => resp,
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await;
        self.mark_done(Some(&headers)).await;
        match body {
            Ok(body) => Ok(Response {
                status,
                headers,
                body: body.to_vec(),
            }),
            Err(e) => Err(HttpError::OutcomeUnknown {
                host,
                detail: format!(
                    "HTTP {} but the body was lost: {}",
                    status.as_u16(),
                    self.transport_detail(e)
                ),
            }),
        }
    }

    /// "timed out after N ms" or the redacted cause chain of a transport error.
    fn transport_detail(&self, e: reqwest::Error) -> String {
        if e.is_timeout() {
            format!("no answer within {} ms", self.timeout_ms())
        } else {
            self.redact(&chain(&e.without_url()))
        }
    }

    fn timeout_ms(&self) -> u64 {
        u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX)
    }

    /// Sends an idempotent request with pacing and retries.
    async fn idempotent(
        &self,
        method: Method,
        url: Url,
        headers: &HeaderMap,
        rate_limit_notice: impl Fn(StatusCode, &[u8]) -> Option<String> + Send + Sync,
    ) -> Result<Response, HttpError> {
        let host = host_label(&url);
        let attempts_max = self.config.max_retries.saturating_add(1);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.pace().await;
            let sent = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone())
                .send()
                .await;
            let (transient, wait, resp_headers) = match sent {
                Err(e) => (classify(e), None, None),
                Ok(resp) => {
                    let status = resp.status();
                    let resp_headers = resp.headers().clone();
                    let retryable =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    if retryable {
                        let wait = retry_after(&resp_headers);
                        // The body names the vendor's error; a body that cannot be read is
                        // left out (the status is still reported).
                        let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                        let excerpt = self.redact(&excerpt(&body));
                        (
                            Transient::Status(status.as_u16(), excerpt),
                            wait,
                            Some(resp_headers),
                        )
                    } else {
                        match resp.bytes().await {
                            Err(e) => (classify(e), None, Some(resp_headers)),
                            Ok(body) => match rate_limit_notice(status, &body) {
                                Some(msg) if status.is_success() => (
                                    Transient::RateLimited(self.redact(&msg)),
                                    None,
                                    Some(resp_headers),
                                ),
                                _ => {
                                    self.mark_done(Some(&resp_headers)).await;
                                    return Ok(Response {
                                        status,
                                        headers: resp_headers,
                                        body: body.to_vec(),
                                    });
                                }
                            },
                        }
                    }
                }
            };
            self.mark_done(resp_headers.as_ref()).await;
            if attempt >= attempts_max {
                return Err(self.give_up(host, transient, attempt));
            }
            let delay = match wait {
                Some(d) => d.min(self.config.max_retry_after),
                None => self.backoff(attempt - 1),
            };
            tokio::time::sleep(delay).await;
        }
    }

    fn give_up(&self, host: String, last: Transient, attempts: u32) -> HttpError {
        match last {
            Transient::Connect(detail) => HttpError::Unreachable {
                host,
                detail: self.redact(&detail),
                attempts,
            },
            Transient::Timeout => HttpError::Timeout {
                host,
                timeout_ms: self.timeout_ms(),
                attempts,
            },
            Transient::Status(429, body) => HttpError::RateLimited {
                host,
                detail: if body.is_empty() {
                    "HTTP 429 Too Many Requests".to_string()
                } else {
                    format!("HTTP 429 Too Many Requests: {body}")
                },
                attempts,
            },
            Transient::Status(status, detail) => HttpError::Server {
                host,
                status,
                detail,
                attempts,
            },
            Transient::RateLimited(detail) => HttpError::RateLimited {
                host,
                detail,
                attempts,
            },
        }
    }
}

/// Longest excerpt of an error answer's body kept in an error, bytes.
const EXCERPT_BYTES: usize = 300;

/// An answer body as one line: UTF-8 (lossy), whitespace collapsed, cut at [`EXCERPT_BYTES`]
/// on a character boundary (with `…`).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.len() > EXCERPT_BYTES {
        let cut = (0..=EXCERPT_BYTES)
            .rev()
            .find(|i| out.is_char_boundary(*i))
            .unwrap_or(0);
        out.truncate(cut);
        out.push('…');
    }
    out
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

/// The response's own `Date` header, as seconds since the Unix epoch (this crate never reads
/// the wall clock).
fn response_date(headers: &HeaderMap) -> Option<i64> {
    let date = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    Some(
        jiff::fmt::rfc2822::parse(date.trim())
            .ok()?
            .timestamp()
            .as_second(),
    )
}

/// The delay a `Retry-After` header asks for: delta-seconds, or an HTTP date measured against the
/// response's own `Date` header.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let now = response_date(headers)?;
    let secs = when.as_second().saturating_sub(now);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// The pause `X-Ratelimit-Remaining: 0` asks for: until `X-Ratelimit-Reset` (Unix seconds),
/// measured against the response's `Date` header, at least 1 s (both have whole-second
/// resolution), at most `cap`; `cap` itself when the reset time or the date is unreadable.
pub(crate) fn ratelimit_pause(headers: &HeaderMap, cap: Duration) -> Option<Duration> {
    let remaining = headers
        .get("x-ratelimit-remaining")?
        .to_str()
        .ok()?
        .trim()
        .parse::<i64>()
        .ok()?;
    if remaining > 0 {
        return None;
    }
    let reset = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let wait = match (reset, response_date(headers)) {
        (Some(reset), Some(now)) => {
            let secs = u64::try_from(reset.saturating_sub(now)).unwrap_or(0).max(1);
            Duration::from_secs(secs)
        }
        _ => cap,
    };
    Some(wait.min(cap))
}

/// `host[:port]` of a URL, for messages (never the path or query: they may hold a key).
pub fn host_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or("unknown host");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
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
        let a = HttpClient::new(cfg.clone(), vec![]).unwrap();
        let b = HttpClient::new(cfg, vec![]).unwrap();
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
        let mut h = HeaderMap::new();
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
    fn ratelimit_headers_pause_until_reset() {
        let cap = Duration::from_secs(120);
        let mut h = HeaderMap::new();
        assert_eq!(ratelimit_pause(&h, cap), None);
        h.insert("x-ratelimit-remaining", "5".parse().unwrap());
        h.insert("x-ratelimit-reset", "1445412510".parse().unwrap());
        h.insert(
            reqwest::header::DATE,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(ratelimit_pause(&h, cap), None);
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        // 07:28:00 is 1445412480.
        assert_eq!(ratelimit_pause(&h, cap), Some(Duration::from_secs(30)));
        assert_eq!(
            ratelimit_pause(&h, Duration::from_secs(10)),
            Some(Duration::from_secs(10))
        );
        h.remove(reqwest::header::DATE);
        assert_eq!(ratelimit_pause(&h, cap), Some(cap));
    }

    #[test]
    fn redaction_and_debug_hide_secrets_in_every_encoding() {
        let http = HttpClient::new(HttpConfig::default(), vec!["SE CRET/KEY".to_string()]).unwrap();
        assert_eq!(
            http.redact("bad key SE CRET/KEY given"),
            "bad key *** given"
        );
        assert_eq!(http.redact("q=SE+CRET%2FKEY"), "q=***");
        assert_eq!(http.redact("/p/SE%20CRET%2FKEY"), "/p/***");
        assert!(!format!("{http:?}").contains("CRET"));
    }
}
