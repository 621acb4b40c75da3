//! `pulse-server` is the dashboard (`pulse serve`, issue 14): HTML pages and a JSON API over the
//! application layer (`pulse_app`), with no use-case logic of its own. This first slice serves
//! the overview (recorded runs, the rebalancer at a glance), the rebalancing admin with time
//! travel (set a date and time, the 08:30 and 09:40 presets, "+1 day", "run now": the same calls
//! as `pulse clock` and `pulse rebalance run`), and the JSON API documented at
//! `/api/openapi.json`.
//!
//! Security: every page and endpoint but `/login` and the OpenAPI document needs the access
//! token, sent by API clients as `Authorization: Bearer <token>`; a browser logs in with it once
//! and gets an HttpOnly, SameSite=Strict session cookie, and its form posts carry the session's
//! CSRF token. Failed logins are rate-limited. The token is never rendered or returned.

// Guards return the refusal itself as their error (`Result<_, Response>`), which the handler
// answers with; the response is large but built once per refused request.
#![allow(clippy::result_large_err)]

mod agents;
mod backtests;
mod ml;
mod overview;
mod pages;
mod pipeline;
mod portfolio;
mod prompt;
mod quotes;
mod risk;
mod setup;
mod trade;
mod upload;

pub use prompt::ChatFn;
pub use quotes::{QuoteReader, QuotesView};
pub use upload::{CsvParser, MAX_UPLOAD_BYTES};
mod sweeps;

use axum::extract::{DefaultBodyLimit, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pulse_app::AppError;
use pulse_app::rebalance::{self, ClockChange, ClockStep};
use pulse_core::ports::Store;
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a browser session lasts after login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Failed logins allowed within a minute; more are answered 429 until the minute has passed.
pub const MAX_FAILED_LOGINS_PER_MINUTE: usize = 5;
/// Name of the session cookie.
const COOKIE: &str = "pulse_session";

/// The dashboard's state: the store every use case runs on, the access token, the sessions.
pub struct Dashboard<S> {
    store: S,
    token: String,
    session_ttl: Duration,
    sessions: Mutex<HashMap<String, Session>>,
    failed_logins: Mutex<VecDeque<Instant>>,
    /// Reports of the runs started here, newest last (`backtests::KEPT_REPORTS` at most).
    reports: Mutex<VecDeque<(i64, String)>>,
    /// Sweeps started here (`sweeps::KEPT_SWEEPS` at most).
    sweeps: Mutex<Vec<Arc<sweeps::SweepJob>>>,
    /// Backtests started from the form (`backtests::KEPT_REPORTS` at most).
    backtest_jobs: Mutex<Vec<Arc<backtests::BacktestJob>>>,
    /// Parses uploaded CSV files (the data page's import); none: no upload.
    csv_parser: Option<CsvParser>,
    /// Reads the quote cache; none: no live quotes.
    quotes: Option<QuoteReader>,
    /// Symbols the overview's live quotes show (and the quote API's default).
    quote_symbols: Vec<pulse_core::Symbol>,
    /// The chat model the macro-prompt editor runs against; none: not configured.
    chat: Option<ChatFn>,
}

struct Session {
    csrf: String,
    expires: Instant,
}

/// Who a request is from.
enum Caller {
    /// An API client with the bearer token (no cookie, so no CSRF check needed).
    Bearer,
    /// A logged-in browser, with its session's CSRF token.
    Browser { csrf: String },
}

impl<S> Dashboard<S> {
    /// A dashboard over `store` that accepts `token`.
    pub fn new(store: S, token: String) -> Self {
        Dashboard {
            store,
            token,
            session_ttl: SESSION_TTL,
            sessions: Mutex::new(HashMap::new()),
            failed_logins: Mutex::new(VecDeque::new()),
            reports: Mutex::new(VecDeque::new()),
            sweeps: Mutex::new(Vec::new()),
            backtest_jobs: Mutex::new(Vec::new()),
            csv_parser: None,
            quotes: None,
            quote_symbols: Vec::new(),
            chat: None,
        }
    }

    /// The same with the macro-prompt editor running prompts through `chat`.
    pub fn with_chat(mut self, chat: ChatFn) -> Self {
        self.chat = Some(chat);
        self
    }

    /// The same with live quotes read through `reader`, the overview showing `symbols`.
    pub fn with_quotes(mut self, reader: QuoteReader, symbols: Vec<pulse_core::Symbol>) -> Self {
        self.quotes = Some(reader);
        self.quote_symbols = symbols;
        self
    }

    /// The same with CSV import by upload on the data page, through `parser`.
    pub fn with_csv_parser(mut self, parser: CsvParser) -> Self {
        self.csv_parser = Some(parser);
        self
    }

    /// The same with another session lifetime.
    pub fn with_session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        if let Some(bearer) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return same(bearer.trim(), &self.token).then_some(Caller::Bearer);
        }
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")))?;
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        sessions.get(id).map(|s| Caller::Browser {
            csrf: s.csrf.clone(),
        })
    }

    /// Counts a failed login; true when the caller must wait (rate limit).
    fn too_many_failures(&self, add: bool) -> bool {
        let mut failed = self.failed_logins.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        while failed
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            failed.pop_front();
        }
        if add {
            failed.push_back(now);
        }
        failed.len() >= MAX_FAILED_LOGINS_PER_MINUTE
    }
}

/// Equal strings, compared in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// 32 random bytes from the operating system, as 64 hex digits.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The access token stored at `path`, or a new one written there (readable by the owner only,
/// 0600) when there is none; the flag says whether it was created.
pub fn load_or_create_token(path: &Path) -> std::io::Result<(String, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok((text.trim().to_string(), false)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let token = random_token().map_err(std::io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, token.as_bytes())?;
    Ok((token, true))
}

/// The dashboard's routes over `dashboard`.
pub fn router<S: Store + Send + Sync + 'static>(dashboard: Arc<Dashboard<S>>) -> Router {
    Router::new()
        .route("/", get(overview::<S>))
        .route("/login", get(login_page).post(login::<S>))
        .route("/logout", post(logout::<S>))
        .route("/rebalance", get(rebalance_page::<S>))
        .route("/rebalance/clock", post(clock_form::<S>))
        .route("/rebalance/run", post(run_form::<S>))
        .route("/rebalance/init", post(setup::init_form::<S>))
        .route("/rebalance/signal", post(setup::signal_form::<S>))
        .route("/api/rebalance/init", post(setup::init_api::<S>))
        .route("/api/rebalance/signal", post(setup::signal_api::<S>))
        .route(
            "/backtest",
            get(backtests::form_page::<S>).post(backtests::run_form::<S>),
        )
        .route("/runs/compare", get(backtests::compare_page::<S>))
        .route("/runs/{id}", get(backtests::run_page::<S>))
        .route("/runs/{id}/report", get(backtests::report::<S>))
        .route("/api/backtests", post(backtests::run_api::<S>))
        .route("/backtest/jobs/{id}", get(backtests::job_page::<S>))
        .route("/api/backtests/jobs/{id}", get(backtests::job_api::<S>))
        .route(
            "/sweeps",
            get(sweeps::page::<S>).post(sweeps::launch_form::<S>),
        )
        .route("/sweeps/{id}", get(sweeps::job_page::<S>))
        .route("/sweeps/{id}/cancel", post(sweeps::cancel_form::<S>))
        .route("/sweeps/{id}/report", get(sweeps::report::<S>))
        .route("/api/sweeps", post(sweeps::launch_api::<S>))
        .route("/api/sweeps/{id}", get(sweeps::state_api::<S>))
        .route("/api/sweeps/{id}/cancel", post(sweeps::cancel_api::<S>))
        .route(
            "/portfolio",
            get(portfolio::page::<S>).post(portfolio::optimize_form::<S>),
        )
        .route(
            "/portfolio/walk-forward",
            post(portfolio::walk_forward_form::<S>),
        )
        .route(
            "/api/portfolio/optimize",
            post(portfolio::optimize_api::<S>),
        )
        .route(
            "/data/import",
            post(upload::import_form::<S>).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route(
            "/api/data/import",
            post(upload::import_api::<S>).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/risk", get(risk::page::<S>).post(risk::save_form::<S>))
        .route("/risk/reset", post(risk::reset_form::<S>))
        .route(
            "/api/risk",
            get(risk::get_api::<S>)
                .put(risk::put_api::<S>)
                .delete(risk::delete_api::<S>),
        )
        .route("/trade", get(trade::page::<S>))
        .route("/trade/start", post(trade::start_form::<S>))
        .route("/trade/{name}/{action}", post(trade::action_form::<S>))
        .route("/api/trade", get(trade::list_api::<S>))
        .route("/api/trade/{name}/{action}", post(trade::action_api::<S>))
        .route("/data", get(data_page::<S>))
        .route("/api/data", get(api_data::<S>))
        .route("/prompt", get(prompt::page::<S>))
        .route("/prompt/save", post(prompt::save_form::<S>))
        .route("/prompt/run", post(prompt::run_form::<S>))
        .route("/prompt/submit", post(prompt::submit_form::<S>))
        .route(
            "/api/prompt",
            get(prompt::get_api::<S>).put(prompt::put_api::<S>),
        )
        .route(
            "/api/prompt/schedule",
            get(prompt::get_schedule_api::<S>).put(prompt::put_schedule_api::<S>),
        )
        .route("/prompt/schedule", post(prompt::schedule_form::<S>))
        .route("/api/prompt/run", post(prompt::run_api::<S>))
        .route("/api/prompt/submit", post(prompt::submit_api::<S>))
        .route("/agents", get(agents::page::<S>))
        .route("/api/agents/signal", get(agents::api::<S>))
        .route("/ml", get(ml::page::<S>))
        .route("/api/ml/runs", get(ml::api::<S>))
        .route("/pipeline", get(pipeline::page::<S>))
        .route("/api/pipeline", get(pipeline::api::<S>))
        .route("/api/overview", get(overview::api::<S>))
        .route("/api/trade/stream", get(overview::stream::<S>))
        .route("/api/quotes", get(quotes::api::<S>))
        .route("/api/quotes/stream", get(quotes::stream::<S>))
        .route("/api/openapi.json", get(openapi))
        .route("/api/runs", get(api_runs::<S>))
        .route("/api/clock", get(api_clock::<S>).post(api_set_clock::<S>))
        .route("/api/rebalance/status", get(api_status::<S>))
        .route("/api/rebalance/history", get(api_history::<S>))
        .route("/api/rebalance/run", post(api_run::<S>))
        .with_state(dashboard)
}

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// A JSON error `{"error": …, "field": …}` with `status`.
fn json_error(status: StatusCode, error: String, field: Option<&str>) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": error, "field": field })),
    )
        .into_response()
}

/// The HTTP answer to an application error: the request's fault → 400 naming the field, missing
/// set-up or a conflict → 409, the rest → 500.
fn app_error(e: AppError) -> Response {
    let status = match &e {
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        _ if e.is_usage() => StatusCode::BAD_REQUEST,
        AppError::State(_) | AppError::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let field = match &e {
        AppError::InvalidSetting { setting, .. } => Some(*setting),
        _ => None,
    };
    json_error(status, e.to_string(), field)
}

/// A form's day field (`YYYY-MM-DD`, or an RFC 3339 time) as an instant by
/// [`pulse_app::input::instant`]; empty is `None`; anything else is a 400 naming `field`.
fn day_param(field: &str, text: &str, end: bool) -> Result<Option<jiff::Timestamp>, Response> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    pulse_app::input::instant(text, end)
        .map(Some)
        .ok_or_else(|| {
            json_error(
                StatusCode::BAD_REQUEST,
                format!("{field} {text:?}: expected YYYY-MM-DD or an RFC 3339 time"),
                Some(field),
            )
        })
}

fn unauthorized() -> Response {
    json_error(
        StatusCode::UNAUTHORIZED,
        "log in, or send the access token as `Authorization: Bearer <token>`".into(),
        None,
    )
}

/// Pages redirect an anonymous browser to the login page.
fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], pages::OPENAPI).into_response()
}

async fn login_page() -> Html<String> {
    pages::login(None)
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login<S>(State(d): State<Arc<Dashboard<S>>>, Form(form): Form<LoginForm>) -> Response {
    if d.too_many_failures(false) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(Some("Too many failed logins: wait a minute.")),
        )
            .into_response();
    }
    if !same(form.token.trim(), &d.token) {
        d.too_many_failures(true);
        return (
            StatusCode::UNAUTHORIZED,
            pages::login(Some("That is not the access token.")),
        )
            .into_response();
    }
    let (Ok(id), Ok(csrf)) = (random_token(), random_token()) else {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a session".into(),
            None,
        );
    };
    d.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(
        id.clone(),
        Session {
            csrf,
            expires: Instant::now() + d.session_ttl,
        },
    );
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        d.session_ttl.as_secs()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A browser form post: logged in and carrying the session's CSRF token.
fn form_caller<S>(d: &Dashboard<S>, headers: &HeaderMap, csrf: &str) -> Result<(), Response> {
    match d.caller(headers) {
        Some(Caller::Browser { csrf: expected }) if same(csrf, &expected) => Ok(()),
        Some(Caller::Browser { .. }) => Err(json_error(
            StatusCode::FORBIDDEN,
            "the form's csrf token is missing or wrong: reload the page".into(),
            Some("csrf"),
        )),
        Some(Caller::Bearer) => Ok(()),
        None => Err(to_login()),
    }
}

async fn logout<S>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    if let Some(Caller::Browser { csrf }) = d.caller(&headers) {
        d.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, s| s.csrf != csrf);
    }
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

async fn overview<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let runs = match pulse_app::runs::list_runs(&d.store, 20).await {
        Ok(r) => r,
        Err(e) => return app_error(e),
    };
    let status = rebalance::status(&d.store).await.ok();
    let trading = match pulse_app::overview::overview(
        &d.store,
        overview::RECENT_TRADES,
        overview::FEED_ITEMS,
    )
    .await
    {
        Ok(o) => o,
        Err(e) => return app_error(e),
    };
    let quotes = quotes::view(&d).await;
    pages::overview(&runs, status.as_ref(), &trading, &quotes, &csrf_of(&caller)).into_response()
}

fn csrf_of(caller: &Caller) -> String {
    match caller {
        Caller::Browser { csrf } => csrf.clone(),
        Caller::Bearer => String::new(),
    }
}

async fn data_page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    match pulse_app::data::coverage(&d.store).await {
        Ok(series) => {
            pages::data(&series, &csrf_of(&caller), d.csv_parser.is_some()).into_response()
        }
        Err(e) => app_error(e),
    }
}

async fn api_data<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match pulse_app::data::coverage(&d.store).await {
        Ok(series) => Json(series).into_response(),
        Err(e) => app_error(e),
    }
}

async fn rebalance_page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let clock = match rebalance::clock(&d.store, None).await {
        Ok(c) => c,
        Err(e) => return app_error(e),
    };
    let status = rebalance::status(&d.store).await;
    let history = match rebalance::history(&d.store, 30).await {
        Ok(h) => h,
        Err(e) => return app_error(e),
    };
    pages::rebalance(&clock, status.as_ref(), &history, &csrf_of(&caller)).into_response()
}

/// A clock change as posted by the admin page's forms or the API.
#[derive(Deserialize)]
struct ClockRequest {
    #[serde(default)]
    csrf: String,
    /// `set` (with `time`), `at` (with `time` = HH:MM, today), `advance` (with `by`), `reset`.
    action: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    by: String,
}

impl ClockRequest {
    /// The request field a refused change blames (an out-of-range step is `by`'s fault).
    fn field(&self) -> &'static str {
        if self.action == "advance" {
            "by"
        } else {
            "time"
        }
    }

    /// An application error of this change: a usage error names the request's field.
    fn error(&self, e: AppError) -> Response {
        if e.is_usage() {
            json_error(StatusCode::BAD_REQUEST, e.to_string(), Some(self.field()))
        } else {
            app_error(e)
        }
    }

    /// The change asked for, or a 400 naming the field.
    fn change(&self) -> Result<ClockChange, Response> {
        let bad = |field: &str, msg: String| json_error(StatusCode::BAD_REQUEST, msg, Some(field));
        match self.action.as_str() {
            "set" => {
                if let Ok(t) = self.time.parse::<jiff::Timestamp>() {
                    return Ok(ClockChange::Set(t));
                }
                self.time
                    .parse::<jiff::civil::DateTime>()
                    .map(ClockChange::SetLocal)
                    .map_err(|_| {
                        bad(
                            "time",
                            format!(
                                "time {:?}: expected 2024-01-02T08:30 (schedule time) or an RFC 3339 time",
                                self.time
                            ),
                        )
                    })
            }
            "at" => self
                .time
                .parse::<jiff::civil::Time>()
                .map(ClockChange::At)
                .map_err(|_| bad("time", format!("time {:?}: expected HH:MM", self.time))),
            "advance" => self
                .by
                .parse::<ClockStep>()
                .map(ClockChange::Advance)
                .map_err(|e| bad("by", e.to_string())),
            "reset" => Ok(ClockChange::Reset),
            other => Err(bad(
                "action",
                format!("action {other:?}: expected set, at, advance or reset"),
            )),
        }
    }
}

async fn clock_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<ClockRequest>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let change = match form.change() {
        Ok(c) => c,
        Err(r) => return r,
    };
    match rebalance::clock(&d.store, Some(change)).await {
        Ok(_) => Redirect::to("/rebalance").into_response(),
        Err(e) => form.error(e),
    }
}

async fn run_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    match rebalance::run(&d.store).await {
        Ok(_) => Redirect::to("/rebalance").into_response(),
        Err(e) => app_error(e),
    }
}

/// An API call: the bearer token, or a logged-in browser that sends its CSRF token in
/// `X-CSRF-Token` when it changes something.
fn api_caller<S>(d: &Dashboard<S>, headers: &HeaderMap, changes: bool) -> Result<(), Response> {
    match d.caller(headers) {
        Some(Caller::Bearer) => Ok(()),
        Some(Caller::Browser { csrf }) => {
            let sent = headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !changes || same(sent, &csrf) {
                Ok(())
            } else {
                Err(json_error(
                    StatusCode::FORBIDDEN,
                    "send the session's csrf token in X-CSRF-Token".into(),
                    Some("X-CSRF-Token"),
                ))
            }
        }
        None => Err(unauthorized()),
    }
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<u32>,
}

async fn api_runs<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(q): Query<Limit>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match pulse_app::runs::run_headers(&d.store, q.limit.unwrap_or(50)).await {
        Ok(runs) => Json(runs).into_response(),
        Err(e) => app_error(e),
    }
}

async fn api_clock<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match rebalance::clock(&d.store, None).await {
        Ok(c) => Json(c).into_response(),
        Err(e) => app_error(e),
    }
}

async fn api_set_clock<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Json(request): Json<ClockRequest>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    let change = match request.change() {
        Ok(c) => c,
        Err(r) => return r,
    };
    match rebalance::clock(&d.store, Some(change)).await {
        Ok(c) => Json(c).into_response(),
        Err(e) => request.error(e),
    }
}

async fn api_status<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match rebalance::status(&d.store).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => app_error(e),
    }
}

async fn api_history<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(q): Query<Limit>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match rebalance::history(&d.store, q.limit.unwrap_or(50)).await {
        Ok(h) => Json(h).into_response(),
        Err(e) => app_error(e),
    }
}

async fn api_run<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    match rebalance::run(&d.store).await {
        Ok(o) => Json(o).into_response(),
        Err(e) => app_error(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_compare_exactly() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b) && !same(&a, &a[..63]));
    }

    #[test]
    fn the_token_file_is_created_once_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pulse").join("server-token");
        let (token, created) = load_or_create_token(&path).unwrap();
        assert!(created);
        let (again, created) = load_or_create_token(&path).unwrap();
        assert!(!created);
        assert_eq!(token, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
