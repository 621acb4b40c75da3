//! The sweeps pages (issue 14, item 3): launch a parameter search of the Pulse rule set
//! (`pulse_app::sweep_run::sweep`, all cores) in the background, watch its progress, cancel it
//! (finished trials are kept), and open its report (top trials, importance, deflated Sharpe, PBO,
//! heat maps).

use crate::{Dashboard, api_caller, csrf_of, form_caller, json_error, to_login};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use pulse_app::backtest::RunSettings;
use pulse_app::sweep::{Objective, SearchMethod};
use pulse_app::sweep_run::{SweepOutcome, SweepRequest, sweep, sweep_report};
use pulse_core::ports::Store;
use pulse_report::escape::html;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Sweeps kept (running or finished); the oldest finished one is dropped first.
pub const KEPT_SWEEPS: usize = 20;

/// One sweep started from the dashboard.
pub struct SweepJob {
    /// 1, 2, … in launch order.
    id: u64,
    /// What was asked, one line (for the list).
    summary: String,
    done: AtomicU64,
    total: AtomicU64,
    cancel: AtomicBool,
    result: Mutex<Option<Finished>>,
}

/// How a sweep ended.
enum Finished {
    /// The outcome and its rendered report (absent when no trial had a defined score).
    Done(Box<SweepOutcome>, Option<String>),
    /// Why it failed.
    Failed(String),
}

/// A sweep's state as the API reports it.
#[derive(Serialize)]
struct JobState {
    id: u64,
    /// `running`, `done`, `cancelled` or `failed`.
    state: &'static str,
    done: u64,
    total: u64,
    /// The outcome (as `pulse sweep --json`), once finished.
    outcome: Option<serde_json::Value>,
    /// The report page, once finished with a best trial.
    report: Option<String>,
    error: Option<String>,
}

impl SweepJob {
    fn state(&self) -> JobState {
        let result = self.result.lock().unwrap_or_else(|p| p.into_inner());
        let (state, outcome, report, error) = match &*result {
            None => ("running", None, None, None),
            Some(Finished::Done(o, page)) => (
                if o.cancelled { "cancelled" } else { "done" },
                serde_json::to_value(o.as_ref()).ok(),
                page.as_ref().map(|_| format!("/sweeps/{}/report", self.id)),
                None,
            ),
            Some(Finished::Failed(e)) => ("failed", None, None, Some(e.clone())),
        };
        JobState {
            id: self.id,
            state,
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            outcome,
            report,
            error,
        }
    }
}

/// The sweep form as posted (also the API's JSON body).
#[derive(Debug, Deserialize)]
pub struct SweepForm {
    #[serde(default)]
    csrf: String,
    /// Parameter ranges, one per line: `rsi_high=60:85:1`.
    params: String,
    /// Constraints, one per line: `rsi_low < rsi_high`.
    #[serde(default)]
    constraints: String,
    objective: Objective,
    method: SearchMethod,
    /// Trials in total.
    budget: u64,
}

impl SweepForm {
    /// The request, or a 400 naming the field.
    fn request(&self) -> Result<SweepRequest, Response> {
        let lines = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        };
        let request = SweepRequest {
            settings: RunSettings::default(),
            strategy: "pulse".into(),
            params: lines(&self.params),
            constraints: lines(&self.constraints),
            objective: self.objective,
            method: self.method,
            seed: 42,
            budget: self.budget,
            top: 10,
            jobs: None,
            study: None,
            walk_forward: None,
            pbo_blocks: 16,
            heatmaps: true,
        };
        request.validate().map_err(|e| {
            let field = match &e {
                pulse_app::AppError::InvalidSetting { setting, .. } => *setting,
                _ => "params",
            };
            json_error(StatusCode::BAD_REQUEST, e.to_string(), Some(field))
        })?;
        Ok(request)
    }
}

/// Starts a sweep in the background; its job.
fn launch<S: Store + Send + Sync + 'static>(
    d: &Arc<Dashboard<S>>,
    request: SweepRequest,
) -> Arc<SweepJob> {
    let mut jobs = d.sweeps.lock().unwrap_or_else(|p| p.into_inner());
    let id = jobs.last().map_or(1, |j| j.id + 1);
    let job = Arc::new(SweepJob {
        id,
        summary: format!(
            "{} by {} over {} (budget {})",
            request.objective,
            request.method,
            request.params.join(", "),
            request.budget
        ),
        done: AtomicU64::new(0),
        total: AtomicU64::new(0),
        cancel: AtomicBool::new(false),
        result: Mutex::new(None),
    });
    jobs.push(Arc::clone(&job));
    while jobs.len() > KEPT_SWEEPS {
        match jobs
            .iter()
            .position(|j| j.result.lock().unwrap_or_else(|p| p.into_inner()).is_some())
        {
            Some(i) => {
                jobs.remove(i);
            }
            None => break,
        }
    }
    drop(jobs);
    let (dashboard, running) = (Arc::clone(d), Arc::clone(&job));
    let handle = tokio::runtime::Handle::current();
    // The search blocks its thread on rayon's pool: run it on a blocking thread.
    tokio::task::spawn_blocking(move || {
        let progress = |done: u64, total: u64| {
            running.done.store(done, Ordering::Relaxed);
            running.total.store(total, Ordering::Relaxed);
        };
        let outcome = handle.block_on(sweep(
            &dashboard.store,
            &request,
            &progress,
            &running.cancel,
        ));
        // The budget is an upper bound: an exhausted grid or a cancelled search ends earlier.
        running
            .total
            .store(running.done.load(Ordering::Relaxed), Ordering::Relaxed);
        let finished = match outcome {
            Ok(o) => {
                let page = sweep_report(&o)
                    .ok()
                    .and_then(|r| pulse_report::render_html(&r).ok());
                Finished::Done(Box::new(o), page)
            }
            Err(e) => Finished::Failed(e.to_string()),
        };
        *running.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(finished);
    });
    job
}

fn job_of<S>(d: &Dashboard<S>, id: u64) -> Result<Arc<SweepJob>, Response> {
    d.sweeps
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|j| j.id == id)
        .cloned()
        .ok_or_else(|| {
            json_error(
                StatusCode::NOT_FOUND,
                format!("no sweep #{id} here (the last {KEPT_SWEEPS} are kept)"),
                None,
            )
        })
}

/// `GET /sweeps`: the launch form and the sweeps started here.
pub async fn page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let csrf = csrf_of(&caller);
    let option = |v: &str, label: &str| format!("<option value=\"{v}\">{label}</option>");
    let mut body = format!(
        "<section><h1>Launch a sweep</h1><p class=\"muted\">Searches the Pulse rule set on the stored TSLA + TSLL daily bars on all cores; names are keys of the rule set or their aliases (see `pulse strategy show pulse`).</p>\
<form method=\"post\" action=\"/sweeps\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<p><label>Parameters (one per line)<br><textarea name=\"params\" rows=\"3\" cols=\"40\">rsi_high=60:85:1\nrsi_low=15:40:1</textarea></label> \
<label>Constraints<br><textarea name=\"constraints\" rows=\"3\" cols=\"30\">rsi_low &lt; rsi_high</textarea></label></p>\
<p><label>Objective <select name=\"objective\">{}{}{}{}{}</select></label> <label>Method <select name=\"method\">{}{}{}</select></label> \
<label>Budget <input name=\"budget\" value=\"1000\" size=\"7\"></label> <button>Launch</button></p></form></section>",
        html(&csrf),
        option("sharpe", "Sharpe"),
        option("sortino", "Sortino"),
        option("calmar", "Calmar"),
        option("cagr", "CAGR"),
        option("profit-factor", "profit factor"),
        option("grid", "grid"),
        option("random", "random"),
        option("tpe", "TPE")
    );
    let jobs: Vec<Arc<SweepJob>> = d.sweeps.lock().unwrap_or_else(|p| p.into_inner()).clone();
    body.push_str("<section><h1>Sweeps</h1>");
    if jobs.is_empty() {
        body.push_str("<p class=\"muted\">None started here yet.</p>");
    } else {
        body.push_str("<table><thead><tr><th>#</th><th>Search</th><th>State</th><th class=\"num\">Trials</th></tr></thead><tbody>");
        for j in jobs.iter().rev() {
            let s = j.state();
            let _ = write!(
                body,
                "<tr><td><a href=\"/sweeps/{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td class=\"num\">{3}/{4}</td></tr>",
                s.id,
                html(&j.summary),
                s.state,
                s.done,
                s.total
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
    crate::pages::page("Sweeps", &csrf, &body).into_response()
}

/// `POST /sweeps`: launches one and shows its progress.
pub async fn launch_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<SweepForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    match form.request() {
        Ok(request) => {
            let job = launch(&d, request);
            Redirect::to(&format!("/sweeps/{}", job.id)).into_response()
        }
        Err(r) => r,
    }
}

/// `GET /sweeps/{id}`: progress (the page refreshes itself every second while it runs) with a
/// cancel button, then the outcome.
pub async fn job_page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let job = match job_of(&d, id) {
        Ok(j) => j,
        Err(r) => return r,
    };
    let csrf = csrf_of(&caller);
    let s = job.state();
    let mut body = format!(
        "<section><h1>Sweep #{id}</h1><p>{}</p><p>State: <b id=\"state\">{}</b> · trials <span id=\"trials\">{}/{}</span></p>",
        html(&job.summary),
        s.state,
        s.done,
        s.total
    );
    if s.state == "running" {
        let _ = write!(
            body,
            "<progress value=\"{}\" max=\"{}\" style=\"width:60%\"></progress>\
<form class=\"inline\" method=\"post\" action=\"/sweeps/{id}/cancel\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>Cancel</button></form>",
            s.done,
            s.total.max(1),
            html(&csrf)
        );
    }
    if let Some(e) = &s.error {
        let _ = write!(body, "<p class=\"err\">{}</p>", html(e));
    }
    if let Some(best) = s.outcome.as_ref().and_then(|o| o.get("best")) {
        let _ = write!(
            body,
            "<p>Best: <code>{}</code></p>",
            html(&best.to_string())
        );
    }
    if let Some(report) = &s.report {
        let _ = write!(body, "<p><a href=\"{report}\">Open the report</a></p>");
    }
    body.push_str("</section>");
    let mut page = crate::pages::page(&format!("Sweep #{id}"), &csrf, &body).0;
    if s.state == "running" {
        page = page.replacen(
            "<head>",
            "<head><meta http-equiv=\"refresh\" content=\"1\">",
            1,
        );
    }
    Html(page).into_response()
}

/// `POST /sweeps/{id}/cancel`: stops launching trials; finished ones are kept.
pub async fn cancel_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(form): Form<crate::CsrfForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    match job_of(&d, id) {
        Ok(job) => {
            job.cancel.store(true, Ordering::Relaxed);
            Redirect::to(&format!("/sweeps/{id}")).into_response()
        }
        Err(r) => r,
    }
}

/// `GET /sweeps/{id}/report`: the finished sweep's report.
pub async fn report<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if d.caller(&headers).is_none() {
        return to_login();
    }
    let job = match job_of(&d, id) {
        Ok(j) => j,
        Err(r) => return r,
    };
    let result = job.result.lock().unwrap_or_else(|p| p.into_inner());
    match &*result {
        Some(Finished::Done(_, Some(page))) => Html(page.clone()).into_response(),
        _ => json_error(
            StatusCode::NOT_FOUND,
            format!("sweep #{id} has no report (still running, failed, or no trial scored)"),
            None,
        ),
    }
}

/// `POST /api/sweeps`: launches a sweep; its state.
pub async fn launch_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    axum::Json(form): axum::Json<SweepForm>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    match form.request() {
        Ok(request) => axum::Json(launch(&d, request).state()).into_response(),
        Err(r) => r,
    }
}

/// `GET /api/sweeps/{id}`: progress and, once finished, the outcome.
pub async fn state_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match job_of(&d, id) {
        Ok(job) => axum::Json(job.state()).into_response(),
        Err(r) => r,
    }
}

/// `POST /api/sweeps/{id}/cancel`.
pub async fn cancel_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    match job_of(&d, id) {
        Ok(job) => {
            job.cancel.store(true, Ordering::Relaxed);
            axum::Json(job.state()).into_response()
        }
        Err(r) => r,
    }
}
