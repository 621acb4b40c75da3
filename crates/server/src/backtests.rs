//! The backtests pages (issue 14, item 2): a recorded run with every setting it ran with, two
//! runs side by side, and a form that runs a backtest (dates, cash, costs, fill rule, a strategy
//! file's TOML, optionally with the stored risk settings) through `pulse_app::backtest` in the
//! background, shows its progress, records it and opens its report.

use crate::{Dashboard, app_error, csrf_of, day_param, form_caller, json_error, to_login};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use pulse_app::backtest::{BacktestRequest, RiskSource, RunSettings, StrategySource};
use pulse_backtest::FillPrice;
use pulse_core::WallClock;
use pulse_core::ports::Store;
use pulse_report::escape::html;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Reports kept in memory for runs started from the dashboard (the oldest is dropped first).
pub const KEPT_REPORTS: usize = 20;

/// The backtest form as posted.
#[derive(Debug, Deserialize)]
pub struct BacktestForm {
    #[serde(default)]
    csrf: String,
    /// First day, YYYY-MM-DD (empty: the first evaluable bar).
    #[serde(default)]
    from: String,
    /// Last day, YYYY-MM-DD (empty: the last bar).
    #[serde(default)]
    to: String,
    /// Starting cash.
    cash: String,
    /// Commission per side (fraction).
    commission: String,
    /// Slippage in basis points.
    slippage_bps: String,
    /// next_open, next_close or next_typical.
    fill: FillPrice,
    /// Apply the stored risk settings: the form's checkbox (`on`), or `true` in the API.
    #[serde(default)]
    risk: Option<Flag>,
    /// A Pulse rule set as TOML (a strategy file's text); empty: the shipped rule set.
    #[serde(default)]
    strategy: String,
}

/// A checkbox as a form posts it (`on`) or a JSON boolean.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Flag {
    /// A JSON boolean.
    Bool(bool),
    /// A form's value: anything but empty, `false` or `off` is on.
    Text(String),
}

impl Flag {
    fn on(flag: Option<&Flag>) -> bool {
        match flag {
            Some(Flag::Bool(b)) => *b,
            Some(Flag::Text(t)) => !matches!(t.trim(), "" | "false" | "off"),
            None => false,
        }
    }
}

impl BacktestForm {
    /// The request, or a 400 naming the field.
    fn request(&self) -> Result<BacktestRequest, Response> {
        let bad = |field: &str, msg: String| json_error(StatusCode::BAD_REQUEST, msg, Some(field));
        let decimal = |field: &'static str, text: &str| {
            Decimal::from_str(text.trim())
                .map_err(|_| bad(field, format!("{field} {text:?} is not a number")))
        };
        let defaults = RunSettings::default();
        let settings = RunSettings {
            cash: decimal("cash", &self.cash)?,
            costs: pulse_core::costs::CostModel {
                commission_rate: decimal("commission", &self.commission)?,
                slippage_bps: decimal("slippage_bps", &self.slippage_bps)?,
                ..defaults.costs.clone()
            },
            fill_price: self.fill,
            risk: Flag::on(self.risk.as_ref()).then_some(RiskSource::Stored),
            strategy: if self.strategy.trim().is_empty() {
                defaults.strategy.clone()
            } else {
                StrategySource::Text {
                    origin: "the form's strategy".into(),
                    toml: self.strategy.clone(),
                }
            },
            ..defaults
        };
        // A rule set that does not parse is the request's fault, named by its field.
        settings
            .load_strategy()
            .map_err(|e| bad("strategy", e.to_string()))?;
        Ok(BacktestRequest {
            settings,
            from: day_param("from", &self.from, false)?,
            to: day_param("to", &self.to, true)?,
        })
    }
}

/// Why a backtest did not give a run.
enum Failure {
    /// The use case refused or failed (a bad setting names its field).
    App(pulse_app::AppError),
    /// The report could not be rendered (the run is recorded).
    Render(String),
}

impl Failure {
    fn response(self) -> Response {
        match self {
            Failure::App(e) => app_error(e),
            Failure::Render(m) => json_error(StatusCode::INTERNAL_SERVER_ERROR, m, None),
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::App(e) => e.to_string(),
            Failure::Render(m) => m.clone(),
        }
    }
}

/// Runs, records and keeps the report of a backtest; the run's id. `on_progress(done, total)`
/// follows Pulse through the window.
async fn run_backtest<S: Store + Send + Sync + 'static>(
    d: &Dashboard<S>,
    request: &BacktestRequest,
    on_progress: impl FnMut(usize, usize),
) -> Result<i64, Failure> {
    let outcome = pulse_app::backtest::backtest_with_progress(&d.store, request, on_progress)
        .await
        .map_err(Failure::App)?;
    let id = pulse_app::backtest::record(
        &d.store,
        &WallClock,
        "backtest",
        &outcome.prepared,
        &outcome.runs,
        outcome.sample,
    )
    .await
    .map_err(Failure::App)?;
    let page = pulse_report::render_html(&outcome.report).map_err(|e| {
        Failure::Render(format!(
            "the report of run #{id} could not be rendered: {e}"
        ))
    })?;
    let mut reports = d.reports.lock().unwrap_or_else(|p| p.into_inner());
    reports.push_back((id, page));
    while reports.len() > KEPT_REPORTS {
        reports.pop_front();
    }
    Ok(id)
}

/// A backtest started from the form, running in the background.
pub struct BacktestJob {
    /// 1, 2, … in start order.
    id: u64,
    /// Bars of the window Pulse has stepped through.
    done: AtomicU64,
    /// Bars of the window.
    total: AtomicU64,
    /// The recorded run's id, or why it failed.
    result: Mutex<Option<Result<i64, String>>>,
}

impl BacktestJob {
    /// The job's state as `GET /api/backtests/jobs/{id}` reports it.
    fn state(&self) -> serde_json::Value {
        let result = self.result.lock().unwrap_or_else(|p| p.into_inner());
        let (state, run, error) = match &*result {
            None => ("running", None, None),
            Some(Ok(id)) => ("done", Some(*id), None),
            Some(Err(e)) => ("failed", None, Some(e.clone())),
        };
        serde_json::json!({
            "id": self.id,
            "state": state,
            "done": self.done.load(Ordering::Relaxed),
            "total": self.total.load(Ordering::Relaxed),
            "run_id": run,
            "report": run.map(|id| format!("/runs/{id}/report")),
            "error": error,
        })
    }
}

fn find_job<S>(d: &Dashboard<S>, id: u64) -> Option<Arc<BacktestJob>> {
    d.backtest_jobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|j| j.id == id)
        .cloned()
}

/// Starts `request` in the background; the job.
fn start_job<S: Store + Send + Sync + 'static>(
    d: &Arc<Dashboard<S>>,
    request: BacktestRequest,
) -> Arc<BacktestJob> {
    let job = {
        let mut jobs = d.backtest_jobs.lock().unwrap_or_else(|p| p.into_inner());
        let id = jobs.last().map_or(1, |j| j.id + 1);
        let job = Arc::new(BacktestJob {
            id,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            result: Mutex::new(None),
        });
        jobs.push(job.clone());
        // The oldest finished jobs go first.
        while jobs.len() > KEPT_REPORTS {
            let Some(i) = jobs
                .iter()
                .position(|j| j.result.lock().unwrap_or_else(|p| p.into_inner()).is_some())
            else {
                break;
            };
            jobs.remove(i);
        }
        job
    };
    let (d, running) = (d.clone(), job.clone());
    tokio::spawn(async move {
        let result = run_backtest(&d, &request, |done, total| {
            running.total.store(total as u64, Ordering::Relaxed);
            running.done.store(done as u64, Ordering::Relaxed);
        })
        .await
        .map_err(|f| f.message());
        *running.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    });
    job
}

/// `GET /backtest`: the form.
pub async fn form_page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let csrf = csrf_of(&caller);
    let body = format!(
        "<section><h1>Run a backtest</h1><p class=\"muted\">Pulse on the stored TSLA + TSLL daily bars against buy-and-hold TSLA, TSLL and a monthly 50/50 mix, with the shipped rule set.</p>\
<form method=\"post\" action=\"/backtest\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<p><label>From <input type=\"date\" name=\"from\"></label> <label>To <input type=\"date\" name=\"to\"></label></p>\
<p><label>Cash <input name=\"cash\" value=\"100000\" size=\"10\"></label> <label>Commission per side <input name=\"commission\" value=\"0.001\" size=\"6\"></label> \
<label>Slippage (bp) <input name=\"slippage_bps\" value=\"0\" size=\"4\"></label> \
<label>Fill <select name=\"fill\"><option value=\"next_open\">next open</option><option value=\"next_close\">next close</option><option value=\"next_typical\">next typical (H+L+C)/3</option></select></label></p>\
<p><label>Strategy file (a Pulse rule set as TOML; empty: the shipped one)<br><textarea name=\"strategy\" rows=\"6\" cols=\"90\" placeholder=\"[symbols]&#10;base = &quot;TSLA&quot;&#10;…\"></textarea></label><br><label>or load one: <input type=\"file\" id=\"strategy-file\" accept=\".toml,text/plain\"></label></p>\
<script>document.getElementById('strategy-file').addEventListener('change',function(e){{var f=e.target.files[0];if(f)f.text().then(function(t){{document.querySelector('textarea[name=strategy]').value=t}})}});</script>\
<p><label><input type=\"checkbox\" name=\"risk\" value=\"on\"> apply the risk settings</label> <span class=\"muted\">(<a href=\"/risk\">the stored settings</a>, the defaults when none are stored; the report gets a Risk section)</span></p>\
<p><button>Run</button></p></form></section>",
        html(&csrf)
    );
    crate::pages::page("Backtest", &csrf, &body).into_response()
}

/// `POST /backtest`: runs it and opens its report.
pub async fn run_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<BacktestForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let request = match form.request() {
        Ok(r) => r,
        Err(r) => return r,
    };
    let job = start_job(&d, request);
    Redirect::to(&format!("/backtest/jobs/{}", job.id)).into_response()
}

/// `GET /backtest/jobs/{id}`: a started backtest's progress (the page follows it and opens the
/// report when it is done; without script it reloads every second); a finished one redirects
/// to its report.
pub async fn job_page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let Some(job) = find_job(&d, id) else {
        return json_error(
            StatusCode::NOT_FOUND,
            format!("no backtest job {id} (kept: the last {KEPT_REPORTS})"),
            Some("id"),
        );
    };
    let state = job.state();
    if let Some(report) = state["report"].as_str() {
        return Redirect::to(report).into_response();
    }
    let csrf = csrf_of(&caller);
    let (done, total) = (
        state["done"].as_u64().unwrap_or(0),
        state["total"].as_u64().unwrap_or(0),
    );
    let body = match state["error"].as_str() {
        Some(error) => format!(
            "<section><h1>Backtest {id}</h1><p class=\"err\" id=\"error\">Failed: {}</p><p><a href=\"/backtest\">back to the form</a></p></section>",
            html(error)
        ),
        None => format!(
            "<section><h1>Backtest {id}</h1><p id=\"state\">running</p><progress id=\"progress\" value=\"{done}\" max=\"{}\"></progress> <span id=\"steps\">{done}/{total} bars</span></section>\
<noscript><meta http-equiv=\"refresh\" content=\"1\"></noscript>\
<script>(function(){{function poll(){{fetch('/api/backtests/jobs/{id}').then(function(r){{return r.json()}}).then(function(s){{\
document.getElementById('progress').max=Math.max(s.total,1);document.getElementById('progress').value=s.done;\
document.getElementById('steps').textContent=s.done+'/'+s.total+' bars';\
if(s.report){{location.href=s.report;return}}if(s.error){{location.reload();return}}setTimeout(poll,300)}})\
.catch(function(){{setTimeout(poll,1000)}})}}poll()}})();</script>",
            total.max(1)
        ),
    };
    crate::pages::page("Backtest", &csrf, &body).into_response()
}

/// `GET /api/backtests/jobs/{id}`: `{id, state: running|done|failed, done, total, run_id,
/// report, error}`.
pub async fn job_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if let Err(r) = crate::api_caller(&d, &headers, false) {
        return r;
    }
    match find_job(&d, id) {
        Some(job) => axum::Json(job.state()).into_response(),
        None => json_error(
            StatusCode::NOT_FOUND,
            format!("no backtest job {id}"),
            Some("id"),
        ),
    }
}

/// `POST /api/backtests`: runs and records a backtest; `{"run_id": …, "report": "/runs/…/report"}`.
pub async fn run_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    axum::Json(form): axum::Json<BacktestForm>,
) -> Response {
    if let Err(r) = crate::api_caller(&d, &headers, true) {
        return r;
    }
    let request = match form.request() {
        Ok(r) => r,
        Err(r) => return r,
    };
    match run_backtest(&d, &request, |_, _| {}).await {
        Ok(id) => axum::Json(serde_json::json!({
            "run_id": id,
            "report": format!("/runs/{id}/report"),
        }))
        .into_response(),
        Err(f) => f.response(),
    }
}

/// `GET /runs/{id}/report`: the report of a run started here.
pub async fn report<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if d.caller(&headers).is_none() {
        return to_login();
    }
    let reports = d.reports.lock().unwrap_or_else(|p| p.into_inner());
    match reports.iter().find(|(i, _)| *i == id) {
        Some((_, page)) => Html(page.clone()).into_response(),
        None => json_error(
            StatusCode::NOT_FOUND,
            format!(
                "no report of run #{id} here: reports are kept for the last {KEPT_REPORTS} runs started from this dashboard (`pulse backtest --report` writes one to a file)"
            ),
            None,
        ),
    }
}

/// `GET /runs/{id}`: one run with every setting and metric it was recorded with.
pub async fn run_page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let detail = match pulse_app::runs::show_run(&d.store, id).await {
        Ok(detail) => detail,
        Err(e) => return app_error(e),
    };
    let has_report = d
        .reports
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|(i, _)| *i == id);
    let r = &detail.record;
    let mut body = format!(
        "<section><h1>Run #{id}</h1><p>{} of {} · {} · data {}..{} · recorded {}{}</p>",
        html(&r.kind),
        html(&r.strategy),
        html(&r.sample),
        r.data_from.strftime("%Y-%m-%d"),
        r.data_to.strftime("%Y-%m-%d"),
        r.created_at,
        if has_report {
            format!(" · <a href=\"/runs/{id}/report\">report</a>")
        } else {
            String::new()
        }
    );
    body.push_str(&metrics_table(&detail.metrics));
    let _ = write!(
        body,
        "<h2>Settings</h2><pre>{}</pre></section>",
        html(&serde_json::to_string_pretty(&detail.config).unwrap_or_default())
    );
    crate::pages::page(&format!("Run #{id}"), &csrf_of(&caller), &body).into_response()
}

/// The headline metrics of every strategy of a run, one column each.
fn metrics_table(metrics: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    let mut out = String::from("<table><thead><tr><th>Metric</th>");
    for name in metrics.keys() {
        let _ = write!(out, "<th class=\"num\">{}</th>", html(name));
    }
    out.push_str("</tr></thead><tbody>");
    for (label, key, pct) in pulse_app::runs::HEADLINE {
        // A table row label starts with a capital ("Total return").
        let mut chars = label.chars();
        let label: String = chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        let _ = write!(out, "<tr><td>{label}</td>");
        for m in metrics.values() {
            let v = &m[key];
            let text = match (v.as_u64(), v.as_f64()) {
                (Some(n), _) if !pct => n.to_string(),
                (_, Some(x)) if pct => format!("{:.2}%", x * 100.0),
                (_, Some(x)) => format!("{x:.2}"),
                _ => "—".into(),
            };
            let _ = write!(out, "<td class=\"num\">{text}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// Two runs to compare.
#[derive(Debug, Deserialize)]
pub struct Pair {
    a: i64,
    b: i64,
}

/// `GET /runs/compare?a=…&b=…`: two runs side by side with every setting that differs.
pub async fn compare_page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(pair): Query<Pair>,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let c = match pulse_app::runs::compare_runs(&d.store, pair.a, pair.b).await {
        Ok(c) => c,
        Err(e) => return app_error(e),
    };
    let mut body = format!(
        "<section><h1>Run #{} vs run #{}</h1><h2>Run #{}</h2>{}<h2>Run #{}</h2>{}<h2>Settings that differ</h2>",
        pair.a,
        pair.b,
        pair.a,
        metrics_table(&c.a.metrics),
        pair.b,
        metrics_table(&c.b.metrics)
    );
    if c.differences.is_empty() {
        body.push_str("<p class=\"muted\">None: the same settings.</p>");
    } else {
        let _ = write!(
            body,
            "<table><thead><tr><th>Setting</th><th>#{}</th><th>#{}</th></tr></thead><tbody>",
            pair.a, pair.b
        );
        for (path, x, y) in &c.differences {
            let _ = write!(
                body,
                "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                html(path),
                html(&x.to_string()),
                html(&y.to_string())
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
    crate::pages::page("Compare runs", &csrf_of(&caller), &body).into_response()
}
