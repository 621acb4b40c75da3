//! The trading page (issue 14 item 1, issue 13 item 4): every runner (`pulse_app::trade`) with
//! its status, broker, account, orders and fills; start a paper runner; catch a paper runner up
//! to the clock ("run now", time travel drives it); stop, resume and flatten any runner. A
//! runner trading through a live broker runs from the command line, whose environment holds
//! the broker's keys (the server never sees them). JSON: `GET /api/trade`,
//! `POST /api/trade/{name}/{start|run|stop|resume|flatten}` (start: a paper runner; with
//! `?symbols=&agents=&threshold=`, or from the agents page's form, the agents' ensemble).

use crate::agents::SignalQuery;
use crate::{Dashboard, api_caller, app_error, csrf_of, form_caller, json_error, to_login};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use pulse_app::AppError;
use pulse_app::agents::AgentSet;
use pulse_app::backtest::RunSettings;
use pulse_app::trade::{
    self as app, BrokerChoice, RunnerStatus, TradeMode, TradeRequest, TradeStatus,
};
use pulse_core::ports::Store;
use pulse_execution::NoBroker;
use pulse_report::escape::html;
use serde::Deserialize;
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::sync::Arc;

const NO_LIVE: Option<&NoBroker> = None;

/// What an action form posts.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// A new runner's name (the start form).
    #[serde(default)]
    name: String,
    /// An agents' runner: its symbols (the agents page's start form; empty: Pulse's rule set).
    #[serde(default)]
    symbols: String,
    /// Its agents (`technical`, `factor`).
    #[serde(default)]
    agents: String,
    /// Its ensemble's threshold (empty: 0.7).
    #[serde(default)]
    threshold: String,
}

impl ActionForm {
    /// The agent set a start form names, if any.
    fn agents(&self) -> Result<Option<AgentSet>, AppError> {
        let threshold = match self.threshold.trim() {
            "" => None,
            t => Some(t.parse::<f64>().map_err(|e| {
                AppError::setting("threshold", format!("{t:?} is not a number: {e}"))
            })?),
        };
        agent_set(SignalQuery::new(
            self.symbols.clone(),
            self.agents.clone(),
            threshold,
        ))
    }
}

/// The set of an agents' runner, when symbols are given.
fn agent_set(q: SignalQuery) -> Result<Option<AgentSet>, AppError> {
    if q.is_given() {
        q.set().map(Some)
    } else {
        Ok(None)
    }
}

/// Every runner's status, in start order.
pub(crate) async fn statuses<S: Store + Sync>(store: &S) -> Result<Vec<TradeStatus>, AppError> {
    let mut out = Vec::new();
    for name in app::runners(store).await? {
        out.push(app::status(store, &name).await?);
    }
    Ok(out)
}

/// Every runner's status for the page: the runners that cannot be restored (a DQN model that
/// changed since) are listed apart with the reason, not hiding the others.
async fn page_statuses<S: Store + Sync>(
    store: &S,
) -> Result<(Vec<TradeStatus>, Vec<String>), AppError> {
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for name in app::runners(store).await? {
        match app::status(store, &name).await {
            Ok(s) => out.push(s),
            Err(e @ AppError::State(_)) => unreadable.push(format!("{name}: {e}")),
            Err(e) => return Err(e),
        }
    }
    Ok((out, unreadable))
}

fn status_text(s: &RunnerStatus) -> String {
    match s {
        RunnerStatus::Running => "running".into(),
        RunnerStatus::Stopped => "stopped".into(),
        RunnerStatus::Halted { reason } => format!("halted: {reason}"),
    }
}

/// Runs one action on a runner through the application layer.
/// `agents`: a starting runner trades that set's ensemble (else Pulse's rule set).
async fn act<S: Store + Sync>(
    store: &S,
    name: &str,
    action: &str,
    agents: Option<AgentSet>,
) -> Result<String, AppError> {
    match action {
        "start" => {
            let request = TradeRequest {
                name: name.to_string(),
                broker: BrokerChoice::Paper,
                mode: TradeMode::Paper,
                settings: RunSettings::default(),
                limit_offset_bps: None,
                agents,
            };
            let o = app::run(store, &request, NO_LIVE, |_| ControlFlow::Continue(())).await?;
            Ok(if o.started {
                format!("runner {name} started")
            } else {
                format!("runner {name} exists: {} bar(s) processed", o.steps)
            })
        }
        "run" => {
            let st = app::status(store, name).await?;
            if st.meta.broker != BrokerChoice::Paper {
                return Err(AppError::State(format!(
                    "runner {name} trades through {:?}: run it with `pulse trade run --broker alpaca` (its keys are in that environment)",
                    st.meta.broker
                )));
            }
            let request = TradeRequest {
                name: name.to_string(),
                broker: BrokerChoice::Paper,
                mode: TradeMode::Paper,
                settings: RunSettings::default(),
                limit_offset_bps: None,
                agents: None,
            };
            let o = app::run(store, &request, NO_LIVE, |_| ControlFlow::Continue(())).await?;
            Ok(format!(
                "{} bar(s) processed, {} order(s) sent, {} fill(s)",
                o.steps,
                o.submitted.len(),
                o.fills.len()
            ))
        }
        "stop" | "flatten" | "resume" => {
            let st = app::status(store, name).await?;
            if st.meta.broker != BrokerChoice::Paper && action != "resume" {
                return Err(AppError::State(format!(
                    "runner {name} trades through {:?}: `pulse trade {action} --name {name}` from the command line",
                    st.meta.broker
                )));
            }
            Ok(match action {
                "stop" => format!(
                    "{} working order(s) cancelled",
                    app::stop(store, name, NO_LIVE).await?.len()
                ),
                "flatten" => format!(
                    "{} sell order(s) sent",
                    app::flatten(store, name, NO_LIVE).await?.len()
                ),
                _ => {
                    app::resume(store, name).await?;
                    "resumed".to_string()
                }
            })
        }
        other => Err(AppError::NotFound(format!("no action {other:?}"))),
    }
}

fn render(
    list: &[TradeStatus],
    unreadable: &[String],
    csrf: &str,
    note: Option<&str>,
) -> Html<String> {
    let h = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html(csrf)
    );
    let mut body = String::from("<section><h1>Trading</h1>");
    if let Some(n) = note {
        let _ = write!(body, "<p id=\"note\">{}</p>", html(n));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/trade/start\">{h}<label>New paper runner <input name=\"name\" value=\"pulse\" size=\"16\"></label> <button>Start</button> <span class=\"muted\">(the Pulse strategy, 100,000 cash; it warms up on the bars closed by the clock)</span></form></section>"
    );
    if list.is_empty() && unreadable.is_empty() {
        body.push_str("<section><p class=\"muted\">No runner yet.</p></section>");
    }
    for problem in unreadable {
        let _ = write!(
            body,
            "<section class=\"unreadable\"><p class=\"err\">Cannot be restored: {}</p></section>",
            html(problem)
        );
    }
    for s in list {
        let name = html(&s.meta.name);
        let positions: Vec<String> = s
            .account
            .positions
            .iter()
            .filter(|(_, q)| !q.is_zero())
            .map(|(sym, q)| format!("{q} {sym}"))
            .collect();
        let _ = write!(
            body,
            "<section class=\"runner\" data-name=\"{name}\"><h2>{name}</h2><p><span class=\"state\">{}</span> · {:?} ({:?}) · last bar closed {} · cash <span class=\"cash\">{}</span> · positions <span class=\"positions\">{}</span> · {} order(s), {} fill(s)</p><p>",
            html(&status_text(&s.meta.status)),
            s.meta.broker,
            s.meta.mode,
            s.meta.last_close.map_or("-".to_string(), |t| t.to_string()),
            s.account.cash.round_dp(2),
            html(&if positions.is_empty() {
                "none".to_string()
            } else {
                positions.join(", ")
            }),
            s.orders.len(),
            s.fills.len()
        );
        if let Some(set) = &s.meta.agents {
            let agents: Vec<&str> = set.agents.iter().map(|a| a.as_str()).collect();
            let symbols: Vec<&str> = set.symbols.iter().map(|s| s.as_str()).collect();
            let _ = write!(
                body,
                "<span class=\"strategy\">the agents' ensemble ({}) on {} · threshold {}</span></p><p>",
                html(&agents.join(", ")),
                html(&symbols.join(", ")),
                set.ensemble.threshold
            );
        }
        for (action, label) in [
            ("run", "Run now (to the clock)"),
            ("stop", "Stop"),
            ("resume", "Resume"),
            ("flatten", "Flatten"),
        ] {
            let _ = write!(
                body,
                "<form class=\"inline\" method=\"post\" action=\"/trade/{name}/{action}\">{h}<button>{label}</button></form> "
            );
        }
        body.push_str("</p><table><thead><tr><th>decided</th><th>client id</th><th>side</th><th>qty</th><th>symbol</th><th>status</th><th>filled</th></tr></thead><tbody>");
        for r in s.orders.iter().rev().take(20) {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.order.decided_at,
                html(&r.order.client_id.0),
                r.order.side,
                r.order.quantity,
                html(r.order.symbol.as_str()),
                html(&r.status),
                r.filled
            );
        }
        body.push_str("</tbody></table></section>");
    }
    crate::pages::page("Trading", csrf, &body)
}

/// `GET /trade`.
pub async fn page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    match page_statuses(&d.store).await {
        Ok((list, unreadable)) => {
            render(&list, &unreadable, &csrf_of(&caller), None).into_response()
        }
        Err(e) => app_error(e),
    }
}

/// `POST /trade/start`: starts a paper runner named by the form.
pub async fn start_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let started = match form.agents() {
        Ok(agents) => act(&d.store, form.name.trim(), "start", agents).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(_) => Redirect::to("/trade").into_response(),
        Err(e) => action_page(&d, &headers, e).await,
    }
}

/// An action refused: the page again with the reason (409/400).
async fn action_page<S: Store + Send + Sync + 'static>(
    d: &Dashboard<S>,
    headers: &HeaderMap,
    e: AppError,
) -> Response {
    let status = if e.is_usage() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::CONFLICT
    };
    let csrf = d.caller(headers).map(|c| csrf_of(&c)).unwrap_or_default();
    match page_statuses(&d.store).await {
        Ok((list, unreadable)) => (
            status,
            render(&list, &unreadable, &csrf, Some(&format!("Not done: {e}"))),
        )
            .into_response(),
        Err(e2) => app_error(e2),
    }
}

/// `POST /trade/{name}/{action}` from the page.
pub async fn action_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    match act(&d.store, &name, &action, None).await {
        Ok(_) => Redirect::to("/trade").into_response(),
        Err(e) => action_page(&d, &headers, e).await,
    }
}

/// `GET /api/trade`: every runner's status.
pub async fn list_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match statuses(&d.store).await {
        Ok(list) => axum::Json(list).into_response(),
        Err(e) => app_error(e),
    }
}

/// `POST /api/trade/{name}/{action}[?symbols=&agents=&threshold=]`: `{"done": "…"}`, or the
/// error. `start` with `symbols` starts an agents' runner.
pub async fn action_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    Query(q): Query<SignalQuery>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    let agents = match agent_set(q) {
        Ok(a) => a,
        Err(e) => return app_error(e),
    };
    if agents.is_some() && action != "start" {
        return app_error(AppError::setting(
            "symbols",
            "names an agents' runner to start: only with the start action",
        ));
    }
    match act(&d.store, &name, &action, agents).await {
        Ok(done) => axum::Json(serde_json::json!({ "done": done })).into_response(),
        Err(e @ AppError::NotFound(_)) => json_error(StatusCode::NOT_FOUND, e.to_string(), None),
        Err(e) => app_error(e),
    }
}
