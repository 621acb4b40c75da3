//! The KIS session: headers, the access token (cached, re-issued on expiry, at most once per
//! minute), the response envelope and its codes, continuation paging, and redaction.

use crate::config::{KisConfig, KisMode, Secret};
use crate::error::KisError;
use crate::token::{AccessToken, CachedToken, TokenCache, parse_kst_datetime, token_cache_key};
use crate::tr::{Tr, tr_id};
use crate::wire::{
    EGW_RATE_LIMIT, EGW_TOKEN_EXPIRED, EGW_WRONG_HOST, Envelope, MCA_NOT_ON_PAPER, text,
};
use pulse_core::jiff::{SignedDuration, Timestamp};
use pulse_core::ports::Clock;
use pulse_http::{HeaderMap, HeaderName, HeaderValue, HttpClient, HttpError, Response, Url};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::sync::Mutex;

/// Path of the token endpoint.
pub(crate) const TOKEN_PATH: &str = "/oauth2/tokenP";
/// Most pages read by one paged inquiry (a guard against a server that never says "last page").
const MAX_PAGES: usize = 200;

/// What the token state remembers.
#[derive(Default)]
struct TokenState {
    /// The token in use.
    current: Option<CachedToken>,
    /// A token the server called expired: never taken from the cache again.
    rejected: Option<AccessToken>,
    /// When this process last issued one.
    last_issue: Option<Timestamp>,
}

/// A POST's fate when it is not a success.
pub(crate) enum PostError {
    /// The request may have been acted on without an answer.
    Unknown,
    /// A definite failure (refused, or never sent).
    Kis(KisError),
}

/// The continuation keys of a paged inquiry: request names and response names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    /// `CTX_AREA_FK100` / `CTX_AREA_FK200` (request); the response uses lower case.
    pub fk: &'static str,
    /// `CTX_AREA_NK100` / `CTX_AREA_NK200`.
    pub nk: &'static str,
}

/// Domestic paging keys.
pub(crate) const PAGING_100: Paging = Paging {
    fk: "CTX_AREA_FK100",
    nk: "CTX_AREA_NK100",
};
/// Overseas paging keys.
pub(crate) const PAGING_200: Paging = Paging {
    fk: "CTX_AREA_FK200",
    nk: "CTX_AREA_NK200",
};

/// The KIS session (one per adapter).
pub(crate) struct Session<T> {
    http: HttpClient,
    base: Url,
    pub(crate) mode: KisMode,
    app_key: Secret,
    app_secret: Secret,
    customer_type: &'static str,
    pub(crate) clock: Arc<dyn Clock>,
    tokens: T,
    cache_key: String,
    state: Mutex<TokenState>,
    token_margin: SignedDuration,
    reissue_interval: SignedDuration,
    order_retries: u32,
    base_backoff: Duration,
    max_backoff: Duration,
    /// Forms of the tokens seen (verbatim and encoded), redacted from every message.
    token_forms: StdMutex<Vec<String>>,
}

impl<T> std::fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("mode", &self.mode)
            .field("host", &pulse_http::host_label(&self.base))
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// The forms a secret takes in text: verbatim, form-encoded, percent-encoded.
fn secret_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    if let Ok(url) = Url::parse_with_params("http://x/", [("k", secret)])
        && let Some(v) = url.query().and_then(|q| q.strip_prefix("k="))
    {
        forms.push(v.to_string());
    }
    if let Ok(mut url) = Url::parse("http://x/") {
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.clear().push(secret);
        }
        if let Some(v) = url.path().strip_prefix('/') {
            forms.push(v.to_string());
        }
    }
    forms.retain(|f| !f.is_empty());
    forms
}

impl<T: TokenCache> Session<T> {
    /// A session for `config`, its token kept in `tokens`.
    pub(crate) fn new(
        config: &KisConfig,
        clock: Arc<dyn Clock>,
        tokens: T,
    ) -> Result<Self, KisError> {
        // The URL itself is not echoed: a mistyped one may hold a pasted key.
        let base = Url::parse(&config.base_url)
            .map_err(|e| KisError::Config(format!("the KIS base URL is invalid: {e}")))?;
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(KisError::Config("the KIS base URL has no host".to_string()));
        }
        let http = HttpClient::new(config.http.clone(), config.secrets())
            .map_err(|e| KisError::Config(e.to_string()))?;
        for (var, value) in [
            (crate::config::APP_KEY_VAR, config.app_key.expose()),
            (crate::config::APP_SECRET_VAR, config.app_secret.expose()),
        ] {
            if HeaderValue::from_str(value).is_err() {
                return Err(KisError::Config(format!(
                    "{var} is not a valid HTTP header value"
                )));
            }
        }
        let dur =
            |d: Duration, default: SignedDuration| SignedDuration::try_from(d).unwrap_or(default);
        Ok(Session {
            http,
            base,
            mode: config.mode,
            app_key: config.app_key.clone(),
            app_secret: config.app_secret.clone(),
            customer_type: config.customer_type,
            clock,
            tokens,
            cache_key: token_cache_key(config.mode, config.app_key.expose()),
            state: Mutex::new(TokenState::default()),
            token_margin: dur(config.token_margin, SignedDuration::from_mins(10)),
            reissue_interval: dur(config.token_reissue_interval, SignedDuration::from_mins(1)),
            order_retries: config.order_rate_limit_retries,
            base_backoff: config.http.base_backoff,
            max_backoff: config.http.max_backoff,
            token_forms: StdMutex::new(Vec::new()),
        })
    }

    /// The token-cache key of this session (mode + hash of the app key).
    pub(crate) fn cache_key(&self) -> &str {
        &self.cache_key
    }

    /// Replaces every secret in `text` (keys, account, tokens; verbatim and URL-encoded) by
    /// `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = self.http.redact(text);
        let forms = match self.token_forms.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        for f in forms {
            out = out.replace(f.as_str(), "***");
        }
        out
    }

    fn remember_token(&self, token: &AccessToken) {
        let mut forms = match self.token_forms.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        for f in secret_forms(token.expose()) {
            if !forms.contains(&f) {
                forms.push(f);
            }
        }
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    /// `base` + `path` + the query pairs.
    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, KisError> {
        let mut url = self.base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|()| KisError::Config("the KIS base URL cannot take a path".into()))?;
            segs.pop_if_empty()
                .extend(path.split('/').filter(|s| !s.is_empty()));
        }
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    fn usable(&self, t: &CachedToken, now: Timestamp) -> bool {
        t.mode == self.mode
            && now
                .checked_add(self.token_margin)
                .is_ok_and(|limit| limit < t.expires_at)
    }

    /// The token to use: the one in memory, else the cached one, else a new one (at most one
    /// issuance per [`KisConfig::token_reissue_interval`]).
    pub(crate) async fn token(&self) -> Result<CachedToken, KisError> {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        if let Some(t) = &st.current
            && self.usable(t, now)
        {
            return Ok(t.clone());
        }
        let cached = self.tokens.load(&self.cache_key).await;
        if let Some(t) = &cached
            && self.usable(t, now)
            && st.rejected.as_ref() != Some(&t.token)
        {
            self.remember_token(&t.token);
            st.current = Some(t.clone());
            return Ok(t.clone());
        }
        let last = match (st.last_issue, cached.as_ref().map(|t| t.issued_at)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(last) = last {
            let elapsed = now.duration_since(last);
            if elapsed < self.reissue_interval {
                let interval = self.reissue_interval.as_secs();
                let elapsed_secs = elapsed.as_secs();
                return Err(KisError::TokenReissueTooSoon {
                    elapsed_secs,
                    interval_secs: interval,
                    retry_after_secs: (interval - elapsed_secs).max(1),
                });
            }
        }
        let fresh = self.issue(now).await?;
        st.last_issue = Some(now);
        st.current = Some(fresh.clone());
        st.rejected = None;
        self.tokens.save(&self.cache_key, &fresh).await;
        Ok(fresh)
    }

    /// Forgets `stale` (the server called it expired), so that the next [`Session::token`]
    /// issues a new one. Another task that already replaced it is left alone.
    pub(crate) async fn invalidate(&self, stale: &AccessToken) {
        let mut st = self.state.lock().await;
        if st.current.as_ref().is_some_and(|t| &t.token == stale) {
            st.current = None;
        }
        st.rejected = Some(stale.clone());
    }

    /// `POST /oauth2/tokenP`.
    async fn issue(&self, now: Timestamp) -> Result<CachedToken, KisError> {
        let url = self.url(TOKEN_PATH, &[])?;
        let body = json!({
            "grant_type": "client_credentials",
            "appkey": self.app_key.expose(),
            "appsecret": self.app_secret.expose(),
        });
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("accept"),
            HeaderValue::from_static("application/json"),
        );
        // A token request changes nothing at KIS but the token: safe to report any failure.
        let resp = self
            .http
            .post_json(url, &headers, &body)
            .await
            .map_err(|e| self.redact_http(e))?;
        let parsed: Option<Value> = resp.json().ok();
        let refused = |code: String, message: String| KisError::TokenRefused {
            status: resp.status.as_u16(),
            code: if code.is_empty() { "-".into() } else { code },
            message,
        };
        let Some(v) = parsed else {
            return Err(refused(String::new(), self.http.snippet(&resp.body)));
        };
        let token = text(&v, "access_token");
        if !resp.is_success() || token.is_empty() {
            let env = Envelope::of(&v);
            let (code, message) = env.map(|e| (e.code, e.message)).unwrap_or_default();
            if code == EGW_WRONG_HOST {
                return Err(KisError::WrongHost {
                    message: self.redact(&message),
                });
            }
            return Err(refused(self.redact(&code), self.redact(&message)));
        }
        let token = AccessToken::new(token);
        self.remember_token(&token);
        let expires_at = parse_kst_datetime(&text(&v, "access_token_token_expired"))
            .or_else(|| {
                let secs: i64 = text(&v, "expires_in").parse().ok()?;
                now.checked_add(SignedDuration::from_secs(secs)).ok()
            })
            .ok_or_else(|| KisError::Parse {
                what: "token",
                field: "access_token_token_expired".into(),
                reason: "neither it nor expires_in is a time".into(),
            })?;
        Ok(CachedToken {
            token,
            expires_at,
            issued_at: now,
            mode: self.mode,
        })
    }

    /// A transport error with the tokens redacted too (pulse-http knows only the keys).
    fn redact_http(&self, e: HttpError) -> KisError {
        KisError::Http(match e {
            HttpError::Config(m) => HttpError::Config(self.redact(&m)),
            HttpError::Unreachable {
                host,
                detail,
                attempts,
            } => HttpError::Unreachable {
                host,
                detail: self.redact(&detail),
                attempts,
            },
            HttpError::RateLimited {
                host,
                detail,
                attempts,
            } => HttpError::RateLimited {
                host,
                detail: self.redact(&detail),
                attempts,
            },
            HttpError::OutcomeUnknown { host, detail } => HttpError::OutcomeUnknown {
                host,
                detail: self.redact(&detail),
            },
            other => other,
        })
    }

    /// The headers of a request with `tr` and `tr_cont`.
    fn headers(&self, tr: &str, tr_cont: &str, token: &CachedToken) -> Result<HeaderMap, KisError> {
        let mut h = HeaderMap::new();
        let sensitive = |v: &str, what: &str| -> Result<HeaderValue, KisError> {
            let mut hv = HeaderValue::from_str(v)
                .map_err(|_| KisError::Config(format!("{what} is not a valid header value")))?;
            hv.set_sensitive(true);
            Ok(hv)
        };
        h.insert(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h.insert(
            HeaderName::from_static("authorization"),
            sensitive(&format!("Bearer {}", token.token.expose()), "the token")?,
        );
        h.insert(
            HeaderName::from_static("appkey"),
            sensitive(self.app_key.expose(), "the app key")?,
        );
        h.insert(
            HeaderName::from_static("appsecret"),
            sensitive(self.app_secret.expose(), "the app secret")?,
        );
        h.insert(
            HeaderName::from_static("tr_id"),
            HeaderValue::from_str(tr).map_err(|_| KisError::Config("bad TR id".into()))?,
        );
        h.insert(
            HeaderName::from_static("custtype"),
            HeaderValue::from_static(if self.customer_type == "B" { "B" } else { "P" }),
        );
        h.insert(
            HeaderName::from_static("tr_cont"),
            HeaderValue::from_str(tr_cont).map_err(|_| KisError::Config("bad tr_cont".into()))?,
        );
        Ok(h)
    }

    /// The error a refused envelope stands for.
    pub(crate) fn code_error(&self, tr: &str, env: &Envelope, attempts: u32) -> KisError {
        let message = self.redact(&env.message);
        match env.code.as_str() {
            EGW_RATE_LIMIT => KisError::RateLimited { attempts },
            EGW_WRONG_HOST => KisError::WrongHost { message },
            MCA_NOT_ON_PAPER => KisError::NotOnPaper {
                what: tr.to_string(),
            },
            code => KisError::Rejected {
                code: if code.is_empty() {
                    format!("rt_cd {}", env.rt_cd.as_deref().unwrap_or("?"))
                } else {
                    self.redact(code)
                },
                message,
            },
        }
    }

    /// The JSON body of a GET answer, or the error it stands for.
    fn read_get(&self, resp: &Response) -> Result<Value, Result<Envelope, KisError>> {
        let Ok(v) = resp.json::<Value>() else {
            return Err(Err(if resp.is_success() {
                KisError::Parse {
                    what: "answer",
                    field: "(body)".into(),
                    reason: "not JSON".into(),
                }
            } else {
                KisError::Status {
                    status: resp.status.as_u16(),
                    message: self.redact(&self.http.snippet(&resp.body)),
                }
            }));
        };
        match Envelope::of(&v) {
            Some(env) if !env.ok() => Err(Ok(env)),
            None if !resp.is_success() => Err(Err(KisError::Status {
                status: resp.status.as_u16(),
                message: self.redact(&self.http.snippet(&resp.body)),
            })),
            _ => Ok(v),
        }
    }

    /// GETs `path` with `tr` and returns the body and the answer's `tr_cont` header. `EGW00201`
    /// is retried with backoff by the HTTP client; `EGW00123` re-issues the token once.
    pub(crate) async fn get(
        &self,
        path: &str,
        tr: Tr,
        query: &[(&str, String)],
        tr_cont: &str,
    ) -> Result<(Value, String), KisError> {
        let tr = tr_id(tr, self.mode)?;
        let url = self.url(path, query)?;
        let mut refreshed = false;
        loop {
            let token = self.token().await?;
            let headers = self.headers(tr, tr_cont, &token)?;
            let resp = self
                .http
                .get_checked(url.clone(), &headers, |_, body| {
                    let v: Value = serde_json::from_slice(body).ok()?;
                    let env = Envelope::of(&v)?;
                    (env.code == EGW_RATE_LIMIT).then(|| format!("{}: {}", env.code, env.message))
                })
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(HttpError::RateLimited { attempts, .. }) => {
                    return Err(KisError::RateLimited { attempts });
                }
                Err(e) => return Err(self.redact_http(e)),
            };
            match self.read_get(&resp) {
                Ok(v) => {
                    let cont = resp
                        .headers
                        .get("tr_cont")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    return Ok((v, cont));
                }
                Err(Ok(env)) if env.code == EGW_TOKEN_EXPIRED && !refreshed => {
                    refreshed = true;
                    self.invalidate(&token.token).await;
                }
                Err(Ok(env)) => return Err(self.code_error(tr, &env, 1)),
                Err(Err(e)) => return Err(e),
            }
        }
    }

    /// Every page of a paged inquiry: the first with `tr_cont` empty, the next ones with `N`
    /// and the previous answer's continuation keys, while the answer's `tr_cont` is `F` or `M`.
    pub(crate) async fn get_pages(
        &self,
        path: &str,
        tr: Tr,
        query: &[(&str, String)],
        paging: Paging,
    ) -> Result<Vec<Value>, KisError> {
        let mut pages = Vec::new();
        let (mut fk, mut nk) = (String::new(), String::new());
        let mut cont = String::new();
        for _ in 0..MAX_PAGES {
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push((paging.fk, fk.clone()));
            q.push((paging.nk, nk.clone()));
            let (body, next) = self.get(path, tr, &q, &cont).await?;
            let next_fk = text(&body, &paging.fk.to_ascii_lowercase());
            let next_nk = text(&body, &paging.nk.to_ascii_lowercase());
            pages.push(body);
            let more = matches!(next.as_str(), "F" | "M");
            if !more || (next_fk == fk && next_nk == nk) {
                break;
            }
            fk = next_fk;
            nk = next_nk;
            cont = "N".to_string();
        }
        Ok(pages)
    }

    /// Backoff before retry `n` (0-based) of an order refused with `EGW00201`.
    fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.checked_pow(n.min(16)).unwrap_or(u32::MAX);
        self.base_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// POSTs `body` with `tr`, sent once per attempt: retried only when KIS's gateway refused it
    /// before it reached the trading system (`EGW00201` rate limit, with bounded backoff;
    /// `EGW00123` expired token, once after a re-issue). A request that left without a usable
    /// answer is [`PostError::Unknown`], never re-sent.
    pub(crate) async fn post(&self, path: &str, tr: Tr, body: &Value) -> Result<Value, PostError> {
        let tr = tr_id(tr, self.mode).map_err(PostError::Kis)?;
        let url = self.url(path, &[]).map_err(PostError::Kis)?;
        let mut refreshed = false;
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let token = self.token().await.map_err(PostError::Kis)?;
            let headers = self.headers(tr, "", &token).map_err(PostError::Kis)?;
            let resp = match self.http.post_json(url.clone(), &headers, body).await {
                Ok(r) => r,
                Err(HttpError::OutcomeUnknown { .. }) => return Err(PostError::Unknown),
                Err(e) => return Err(PostError::Kis(self.redact_http(e))),
            };
            let parsed: Option<Value> = resp.json().ok();
            let env = parsed.as_ref().and_then(Envelope::of);
            let Some(env) = env else {
                // No envelope: a 2xx or 5xx may have been booked; a 4xx was refused.
                return Err(if resp.is_success() || resp.status.is_server_error() {
                    PostError::Unknown
                } else {
                    PostError::Kis(KisError::Status {
                        status: resp.status.as_u16(),
                        message: self.redact(&self.http.snippet(&resp.body)),
                    })
                });
            };
            if env.ok() {
                return match parsed {
                    Some(v) => Ok(v),
                    None => Err(PostError::Unknown),
                };
            }
            match env.code.as_str() {
                EGW_RATE_LIMIT if attempts <= self.order_retries => {
                    tokio::time::sleep(self.backoff(attempts - 1)).await;
                }
                EGW_TOKEN_EXPIRED if !refreshed => {
                    refreshed = true;
                    self.invalidate(&token.token).await;
                }
                // A 5xx with some other code (a gateway or system error) may come after the
                // order reached the trading system: not a refusal we can rely on.
                code if resp.status.is_server_error()
                    && ![
                        EGW_RATE_LIMIT,
                        EGW_TOKEN_EXPIRED,
                        EGW_WRONG_HOST,
                        MCA_NOT_ON_PAPER,
                    ]
                    .contains(&code) =>
                {
                    return Err(PostError::Unknown);
                }
                _ => return Err(PostError::Kis(self.code_error(tr, &env, attempts))),
            }
        }
    }
}
