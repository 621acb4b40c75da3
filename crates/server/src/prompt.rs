//! The macro-prompt editor page (issue 14 item 6) over `pulse_app::prompt`: edit the prompt
//! (every save a new version, listed), run a version against the configured chat model and see
//! the raw answer, the JSON found in it and whether it is a valid MP/Sub-MP signal, and submit a
//! valid one as the day's signal; schedule it for the 08:30 job. JSON API: `GET/PUT /api/prompt`,
//! `POST /api/prompt/run`, `POST /api/prompt/submit`, `GET/PUT /api/prompt/schedule`.

use crate::{Dashboard, api_caller, app_error, csrf_of, form_caller, json_error, to_login};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use pulse_app::AppError;
use pulse_app::prompt::{self as app, PromptRun, PromptSchedule, PromptVersion};
use pulse_core::ports::{ChatModel, Store};
use pulse_report::escape::html;
use serde::Deserialize;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Sends `(system, user)` to the chat model the binary configured and returns its answer (the
/// error is a message fit to show: it never holds the key).
pub type ChatFn = Arc<
    dyn Fn(String, String) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>>
        + Send
        + Sync,
>;

/// The chat model error as the port wants it.
#[derive(Debug)]
pub struct ChatError(String);

impl std::fmt::Display for ChatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChatError {}

/// The [`ChatFn`] as a [`ChatModel`].
struct Model(ChatFn);

impl ChatModel for Model {
    type Error = ChatError;

    async fn complete(&self, system: &str, user: &str) -> Result<String, ChatError> {
        (self.0)(system.to_string(), user.to_string())
            .await
            .map_err(ChatError)
    }
}

fn no_model() -> AppError {
    AppError::State(
        "no chat model configured: set PULSE_LLM_BASE_URL and PULSE_LLM_MODEL (and PULSE_LLM_API_KEY) before `pulse serve`".into(),
    )
}

async fn run_with<S: Store + Send + Sync>(
    d: &Dashboard<S>,
    version: Option<u32>,
) -> Result<PromptRun, AppError> {
    let chat = d.chat.clone().ok_or_else(no_model)?;
    app::run(&d.store, &Model(chat), version).await
}

fn render(
    versions: &[PromptVersion],
    schedule: &PromptSchedule,
    run: Option<&PromptRun>,
    error: Option<&str>,
    configured: bool,
    csrf: &str,
) -> Html<String> {
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html(csrf)
    );
    let current = versions.last();
    let mut body = String::from(
        "<section><h1>Macro prompt</h1><p class=\"muted\">The prompt the chat model answers with the day's MP/Sub-MP view (JSON). Every save is a new version; a run checks the answer as a rebalancer signal before it can be submitted.</p>",
    );
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"err\" id=\"error\">{}</p>", html(e));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/prompt/save\">{hidden}<textarea name=\"text\" id=\"prompt-text\" rows=\"10\" cols=\"100\">{}</textarea><p><button id=\"save-prompt\">Save as a new version</button></p></form>",
        html(current.map_or("", |p| p.text.as_str()))
    );
    if configured {
        let options: String = versions
            .iter()
            .rev()
            .map(|p| format!("<option value=\"{v}\">version {v}</option>", v = p.version))
            .collect();
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/prompt/run\">{hidden}<select name=\"version\">{options}</select> <button id=\"run-prompt\">Run against the chat model</button></form>"
        );
    } else {
        body.push_str("<p class=\"muted\">No chat model configured: start <code>pulse serve</code> with PULSE_LLM_BASE_URL and PULSE_LLM_MODEL (and PULSE_LLM_API_KEY) set.</p>");
    }
    body.push_str("</section>");
    if let Some(r) = run {
        let _ = write!(
            body,
            "<section id=\"prompt-run\"><h2>Answer to version {}</h2><h3>Raw</h3><pre id=\"raw-answer\">{}</pre><h3>JSON found</h3><pre id=\"parsed-json\">{}</pre>",
            r.version,
            html(&r.raw),
            html(&r.json.as_ref().map_or("none".to_string(), |j| {
                serde_json::to_string_pretty(j).unwrap_or_default()
            }))
        );
        match &r.signal {
            Some(signal) => {
                let json = serde_json::to_string(signal).unwrap_or_default();
                let _ = write!(
                    body,
                    "<p id=\"verdict\">A valid signal.</p><form method=\"post\" action=\"/prompt/submit\">{hidden}<input type=\"hidden\" name=\"signal\" value=\"{}\"><button id=\"submit-signal\">Submit as today's signal</button></form>",
                    html(&json)
                );
            }
            None => {
                let _ = write!(
                    body,
                    "<p id=\"verdict\" class=\"err\">Not a valid signal: {}</p>",
                    html(&r.errors.join("; "))
                );
            }
        }
        body.push_str("</section>");
    }
    let options: String = versions
        .iter()
        .rev()
        .map(|p| {
            format!(
                "<option value=\"{v}\"{}>version {v}</option>",
                if schedule.version == Some(p.version) {
                    " selected"
                } else {
                    ""
                },
                v = p.version
            )
        })
        .collect();
    let _ = write!(
        body,
        "<section id=\"prompt-schedule\"><h2>Schedule</h2><p id=\"schedule-state\">{}{}</p>\
<form method=\"post\" action=\"/prompt/schedule\">{hidden}<label><input type=\"checkbox\" name=\"enabled\" id=\"schedule-enabled\" value=\"on\"{}> run at 08:30 on trading days (before the rebalancer's intake) and submit a valid answer</label> \
<select name=\"version\" id=\"schedule-version\"><option value=\"\">the latest version</option>{options}</select> <button id=\"save-schedule\">Save the schedule</button></form>{}</section>",
        if schedule.enabled {
            format!(
                "Scheduled: {} runs at 08:30 on trading days.",
                schedule
                    .version
                    .map_or("the latest version".to_string(), |v| format!("version {v}"))
            )
        } else {
            "Not scheduled.".to_string()
        },
        schedule
            .last_day
            .map_or(String::new(), |d| format!(" Last scheduled run: {d}.")),
        if schedule.enabled { " checked" } else { "" },
        if configured {
            ""
        } else {
            "<p class=\"muted\">The scheduler needs the chat model too: without it the 08:30 job reports that none is configured.</p>"
        }
    );
    body.push_str("<section><h2>Versions</h2><table id=\"prompt-versions\"><thead><tr><th>Version</th><th>Saved</th><th>First line</th></tr></thead><tbody>");
    for p in versions.iter().rev() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.version,
            p.saved_at,
            html(p.text.lines().next().unwrap_or(""))
        );
    }
    body.push_str("</tbody></table></section>");
    crate::pages::page("Macro prompt", csrf, &body)
}

async fn page_with<S: Store + Send + Sync>(
    d: &Dashboard<S>,
    run: Option<&PromptRun>,
    error: Option<&str>,
    csrf: &str,
    status: StatusCode,
) -> Response {
    let loaded = match app::versions(&d.store).await {
        Ok(v) => app::schedule(&d.store).await.map(|s| (v, s)),
        Err(e) => Err(e),
    };
    match loaded {
        Ok((v, sched)) => (
            status,
            render(&v, &sched, run, error, d.chat.is_some(), csrf),
        )
            .into_response(),
        Err(e) => app_error(e),
    }
}

/// `GET /prompt`.
pub async fn page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    page_with(&d, None, None, &csrf_of(&caller), StatusCode::OK).await
}

/// The prompt form.
#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /prompt/save`.
pub async fn save_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<SaveForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let csrf = d.caller(&headers).map(|c| csrf_of(&c)).unwrap_or_default();
    match app::save(&d.store, &form.text).await {
        Ok(_) => Redirect::to("/prompt").into_response(),
        Err(e) if e.is_usage() => {
            page_with(
                &d,
                None,
                Some(&e.to_string()),
                &csrf,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => app_error(e),
    }
}

/// The schedule form: the checkbox and the version (empty: the latest).
#[derive(Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    version: String,
}

/// `POST /prompt/schedule`.
pub async fn schedule_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<ScheduleForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let csrf = d.caller(&headers).map(|c| csrf_of(&c)).unwrap_or_default();
    let version = match form.version.trim() {
        "" => Ok(None),
        v => v
            .parse::<u32>()
            .map(Some)
            .map_err(|_| AppError::InvalidSetting {
                setting: "version",
                reason: format!("{v:?} is not a version number"),
            }),
    };
    let result = match version {
        Ok(v) => app::set_schedule(&d.store, form.enabled.is_some(), v).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/prompt").into_response(),
        Err(e) if e.is_usage() => {
            page_with(
                &d,
                None,
                Some(&e.to_string()),
                &csrf,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => app_error(e),
    }
}

/// `GET /api/prompt/schedule`: the schedule.
pub async fn get_schedule_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match app::schedule(&d.store).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => app_error(e),
    }
}

/// `PUT /api/prompt/schedule` `{enabled, version?}`.
#[derive(Deserialize)]
pub struct ScheduleBody {
    enabled: bool,
    #[serde(default)]
    version: Option<u32>,
}

/// `PUT /api/prompt/schedule`: the schedule as saved.
pub async fn put_schedule_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    body: Result<Json<ScheduleBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    let Ok(Json(body)) = body else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expected {\"enabled\": true|false, \"version\": N (optional)}".into(),
            Some("enabled"),
        );
    };
    match app::set_schedule(&d.store, body.enabled, body.version).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => app_error(e),
    }
}

/// The run form.
#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    csrf: String,
    version: Option<u32>,
}

/// `POST /prompt/run`: the answer, shown on the page.
pub async fn run_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<RunForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let csrf = d.caller(&headers).map(|c| csrf_of(&c)).unwrap_or_default();
    match run_with(&d, form.version).await {
        Ok(run) => page_with(&d, Some(&run), None, &csrf, StatusCode::OK).await,
        Err(e) => {
            page_with(
                &d,
                None,
                Some(&e.to_string()),
                &csrf,
                StatusCode::BAD_GATEWAY,
            )
            .await
        }
    }
}

/// The submit form: the checked signal's JSON.
#[derive(Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    signal: String,
}

fn parse_signal(text: &str) -> Result<pulse_rebalance::Signal, Response> {
    serde_json::from_str(text).map_err(|e| {
        json_error(
            StatusCode::BAD_REQUEST,
            format!("not an MP/Sub-MP signal: {e}"),
            Some("signal"),
        )
    })
}

/// `POST /prompt/submit`: stores the signal as the day's view, then the rebalancing page.
pub async fn submit_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<SubmitForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let signal = match parse_signal(&form.signal) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match app::submit(&d.store, signal).await {
        Ok(_) => Redirect::to("/rebalance").into_response(),
        Err(e) => {
            let csrf = d.caller(&headers).map(|c| csrf_of(&c)).unwrap_or_default();
            page_with(
                &d,
                None,
                Some(&e.to_string()),
                &csrf,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `GET /api/prompt`: every version, oldest first.
pub async fn get_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match app::versions(&d.store).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => app_error(e),
    }
}

/// `PUT /api/prompt` `{text}`: the saved version.
#[derive(Deserialize)]
pub struct PutBody {
    text: String,
}

/// `PUT /api/prompt`.
pub async fn put_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    body: Result<Json<PutBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    let Ok(Json(body)) = body else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expected {\"text\": \"…\"}".into(),
            Some("text"),
        );
    };
    match app::save(&d.store, &body.text).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => app_error(e),
    }
}

/// `POST /api/prompt/run` `{version?}`.
#[derive(Deserialize, Default)]
pub struct RunBody {
    version: Option<u32>,
}

/// `POST /api/prompt/run`: `{version, raw, json, signal, errors}`.
pub async fn run_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    body: Option<Json<RunBody>>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    let version = body.and_then(|Json(b)| b.version);
    if d.chat.is_none() {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            no_model().to_string(),
            None,
        );
    }
    match run_with(&d, version).await {
        Ok(run) => Json(run).into_response(),
        Err(AppError::Data(message)) => json_error(StatusCode::BAD_GATEWAY, message, None),
        Err(e) => app_error(e),
    }
}

/// `POST /api/prompt/submit` `{signal}`.
#[derive(Deserialize)]
pub struct SubmitBody {
    signal: serde_json::Value,
}

/// `POST /api/prompt/submit`: the signal as stored.
pub async fn submit_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    body: Result<Json<SubmitBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    let Ok(Json(body)) = body else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expected {\"signal\": {…}}".into(),
            Some("signal"),
        );
    };
    let signal = match parse_signal(&body.signal.to_string()) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match app::submit(&d.store, signal).await {
        Ok(s) => Json(s).into_response(),
        Err(AppError::Signal(message)) => {
            json_error(StatusCode::BAD_REQUEST, message, Some("signal"))
        }
        Err(e) => app_error(e),
    }
}
