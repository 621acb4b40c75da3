//! The portfolio page (issue 14, item 4): optimize a universe (method, expected returns, risk
//! model, weight cap) with the weights, their expected return, volatility and Sharpe ratio and,
//! given cash, the whole-share allocation; and the walk-forward comparison of the construction
//! strategies with its report (NAV per strategy, metrics, the last window's efficient frontier).

use crate::{
    Dashboard, api_caller, app_error, csrf_of, day_param, form_caller, json_error, to_login,
};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use pulse_app::portfolio::{
    self, AllocateRequest, Method, OptimizeRequest, Returns, Risk, WalkForwardRequest,
};
use pulse_core::Symbol;
use pulse_core::ports::Store;
use pulse_report::escape::html;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::Arc;

/// The optimize form as posted (also the API's JSON body).
#[derive(Debug, Deserialize)]
pub struct OptimizeForm {
    #[serde(default)]
    csrf: String,
    /// Comma-separated symbols of stored daily series.
    symbols: String,
    method: Method,
    returns: Returns,
    risk: Risk,
    /// Largest weight of one asset (fraction), empty for none.
    #[serde(default)]
    max_weight: String,
    /// Cash for a whole-share allocation, empty for weights only.
    #[serde(default)]
    cash: String,
}

/// What the optimize form produced.
#[derive(Debug, Serialize)]
pub struct Optimized {
    /// Symbols, universe order.
    symbols: Vec<String>,
    /// Weights (fractions).
    weights: Vec<f64>,
    /// Expected annual return (fraction).
    expected_return: f64,
    /// Annual volatility (fraction).
    volatility: f64,
    /// Sharpe ratio.
    sharpe: f64,
    /// First and last day of the price window.
    window: (String, String),
    /// Whole shares per symbol, with cash.
    shares: Option<Vec<u64>>,
    /// Cash left after buying the shares.
    leftover: Option<f64>,
}

impl Optimized {
    fn of(o: &portfolio::OptimizeOutcome, allocation: Option<&pulse_optimize::Allocation>) -> Self {
        let day = |t: jiff::Timestamp| t.strftime("%Y-%m-%d").to_string();
        Optimized {
            symbols: o.portfolio.symbols.clone(),
            weights: o.portfolio.weights.clone(),
            expected_return: o.portfolio.expected_return,
            volatility: o.portfolio.volatility,
            sharpe: o.portfolio.sharpe,
            window: (day(o.window.first), day(o.window.last)),
            shares: allocation.map(|a| a.shares.clone()),
            leftover: allocation.map(|a| a.leftover),
        }
    }
}

fn bad(field: &str, msg: String) -> Response {
    json_error(StatusCode::BAD_REQUEST, msg, Some(field))
}

fn symbols(text: &str) -> Result<Vec<Symbol>, Response> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Symbol::try_new(s).map_err(|e| bad("symbols", format!("symbols {s:?}: {e}"))))
        .collect()
}

fn optional_f64(field: &str, text: &str) -> Result<Option<f64>, Response> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .map(Some)
        .map_err(|_| bad(field, format!("{field} {text:?} is not a number")))
}

/// A usage error of the optimizer names its field (settings by name, the rest as `symbols`).
fn optimize_error(e: pulse_app::AppError) -> Response {
    match &e {
        pulse_app::AppError::InvalidSetting { setting, .. } => bad(setting, e.to_string()),
        _ if e.is_usage() => bad("symbols", e.to_string()),
        _ => app_error(e),
    }
}

async fn optimize_form_request<S: Store + Send + Sync + 'static>(
    d: &Dashboard<S>,
    form: &OptimizeForm,
) -> Result<Optimized, Response> {
    let request = OptimizeRequest {
        symbols: symbols(&form.symbols)?,
        method: form.method,
        returns: form.returns,
        risk: form.risk,
        max_weight: optional_f64("max_weight", &form.max_weight)?,
        ..OptimizeRequest::default()
    };
    match optional_f64("cash", &form.cash)? {
        None => {
            let o = portfolio::optimize(&d.store, &request)
                .await
                .map_err(optimize_error)?;
            Ok(Optimized::of(&o, None))
        }
        Some(cash) => {
            let a = portfolio::allocate(
                &d.store,
                &AllocateRequest {
                    optimize: request,
                    cash,
                    exact: false,
                },
            )
            .await
            .map_err(optimize_error)?;
            Ok(Optimized::of(&a.optimized, Some(&a.allocation)))
        }
    }
}

fn select(name: &str, options: &[(&str, &str)]) -> String {
    let mut out = format!("<select name=\"{name}\">");
    for (v, label) in options {
        let _ = write!(out, "<option value=\"{v}\">{label}</option>");
    }
    out.push_str("</select>");
    out
}

fn form_html(csrf: &str) -> String {
    let h = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html(csrf)
    );
    format!(
        "<section><h1>Optimize</h1><form method=\"post\" action=\"/portfolio\">{h}\
<p><label>Symbols <input name=\"symbols\" value=\"SPY,TLT,GLD\" size=\"30\" required></label> \
<label>Method {}</label> <label>Returns {}</label> <label>Risk {}</label></p>\
<p><label>Max weight <input name=\"max_weight\" size=\"5\" placeholder=\"0.4\"></label> \
<label>Cash for whole shares <input name=\"cash\" size=\"10\" placeholder=\"100000\"></label> <button>Optimize</button></p></form></section>\
<section><h1>Walk-forward comparison</h1><p class=\"muted\">Every strategy of SPEC §5 re-optimizes monthly on the trailing window and trades at the next open with 0.1 % commission; the report compares their NAVs.</p>\
<form method=\"post\" action=\"/portfolio/walk-forward\">{h}<p><label>Symbols <input name=\"symbols\" value=\"SPY,TLT,GLD\" size=\"30\" required></label> \
<label>Lookback (days) <input name=\"lookback\" value=\"252\" size=\"5\"></label> <label>From <input type=\"date\" name=\"from\"></label> <label>To <input type=\"date\" name=\"to\"></label> <button>Compare</button></p></form></section>",
        select(
            "method",
            &[
                ("min-vol", "min volatility"),
                ("max-sharpe", "max Sharpe"),
                ("hrp", "HRP"),
                ("blend", "blend"),
                ("inverse-vol", "inverse volatility"),
                ("erc", "equal risk contribution"),
                ("equal", "equal weight"),
            ]
        ),
        select(
            "returns",
            &[("mean", "mean"), ("ema", "EMA"), ("capm", "CAPM")]
        ),
        select(
            "risk",
            &[
                ("ledoit-wolf", "Ledoit-Wolf"),
                ("sample", "sample"),
                ("exp", "exponential"),
                ("semi", "semicovariance")
            ]
        ),
    )
}

/// `GET /portfolio`: the forms.
pub async fn page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let csrf = csrf_of(&caller);
    crate::pages::page("Portfolio", &csrf, &form_html(&csrf)).into_response()
}

/// `POST /portfolio`: the optimized weights (and shares) under the forms.
pub async fn optimize_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<OptimizeForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let o = match optimize_form_request(&d, &form).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut body = format!(
        "<section><h1>Optimized weights</h1><p>{} · {} returns · {} risk · prices {}..{}</p>\
<p>Expected return <b>{:.2}%</b> · volatility <b>{:.2}%</b> · Sharpe <b>{:.2}</b></p>\
<table><thead><tr><th>Symbol</th><th class=\"num\">Weight</th>{}</tr></thead><tbody>",
        html(&serde_json::to_string(&form.method).unwrap_or_default()),
        html(&serde_json::to_string(&form.returns).unwrap_or_default()),
        html(&serde_json::to_string(&form.risk).unwrap_or_default()),
        o.window.0,
        o.window.1,
        o.expected_return * 100.0,
        o.volatility * 100.0,
        o.sharpe,
        if o.shares.is_some() {
            "<th class=\"num\">Shares</th>"
        } else {
            ""
        }
    );
    for (i, (s, w)) in o.symbols.iter().zip(&o.weights).enumerate() {
        let shares = o
            .shares
            .as_ref()
            .and_then(|v| v.get(i))
            .map(|n| format!("<td class=\"num\">{n}</td>"))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num weight\">{:.2}%</td>{shares}</tr>",
            html(s),
            w * 100.0
        );
    }
    body.push_str("</tbody></table>");
    if let Some(left) = o.leftover {
        let _ = write!(body, "<p>Cash left over: {left:.2}</p>");
    }
    body.push_str("</section>");
    let csrf = csrf_of(&d.caller(&headers).unwrap_or(crate::Caller::Bearer));
    body.push_str(&form_html(&csrf));
    crate::pages::page("Portfolio", &csrf, &body).into_response()
}

/// `POST /api/portfolio/optimize`.
pub async fn optimize_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    axum::Json(form): axum::Json<OptimizeForm>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match optimize_form_request(&d, &form).await {
        Ok(o) => axum::Json(o).into_response(),
        Err(r) => r,
    }
}

/// The walk-forward form.
#[derive(Debug, Deserialize)]
pub struct WalkForwardForm {
    #[serde(default)]
    csrf: String,
    symbols: String,
    lookback: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `POST /portfolio/walk-forward`: the comparison's report.
pub async fn walk_forward_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<WalkForwardForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    let request = match (|| -> Result<WalkForwardRequest, Response> {
        Ok(WalkForwardRequest {
            symbols: symbols(&form.symbols)?,
            lookback: form.lookback.trim().parse().map_err(|_| {
                bad(
                    "lookback",
                    format!("lookback {:?}: a number of days", form.lookback),
                )
            })?,
            from: day_param("from", &form.from, false)?,
            to: day_param("to", &form.to, true)?,
            ..WalkForwardRequest::default()
        })
    })() {
        Ok(r) => r,
        Err(r) => return r,
    };
    let outcome = match portfolio::walk_forward(&d.store, &request).await {
        Ok(o) => o,
        Err(e) => return optimize_error(e),
    };
    match portfolio::walk_forward_report(&request, &outcome)
        .map_err(app_error)
        .and_then(|r| {
            pulse_report::render_html(&r)
                .map_err(|e| json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None))
        }) {
        Ok(page) => Html(page).into_response(),
        Err(r) => r,
    }
}
