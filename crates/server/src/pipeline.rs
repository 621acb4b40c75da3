//! The daily portfolio pipeline's analysis table on the dashboard (issue 18 item 2), over
//! `pulse_app::pipeline`: every holding (broker and manual) valued in KRW at the day's FX with
//! its cost, profit and loss, weight, target weight and gap, totals per class and per asset, the
//! rates used and the eight strategies' target allocations. Laid out for a phone: the table
//! scrolls sideways and the secondary columns hide on a narrow screen. `GET /pipeline?date=`
//! and `GET /api/pipeline?date=` (`{analysis, targets, dates}`).

use crate::pages::{pct, signed_pct};
use crate::{Dashboard, api_caller, app_error, csrf_of, json_error, to_login};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use jiff::civil::Date;
use pulse_app::AppError;
use pulse_app::pipeline::{self, Analysis, Targets, Total};
use pulse_core::ports::Store;
use pulse_report::escape::html;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::Arc;

/// `?date=YYYY-MM-DD` (empty or absent: the latest run).
#[derive(Deserialize)]
pub(crate) struct DateQuery {
    #[serde(default)]
    date: String,
}

fn date_of(q: &DateQuery) -> Result<Option<Date>, Response> {
    let text = q.date.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<Date>().map(Some).map_err(|_| {
        json_error(
            StatusCode::BAD_REQUEST,
            format!("date {text:?}: expected YYYY-MM-DD"),
            Some("date"),
        )
    })
}

/// What the page and the API show of one run.
#[derive(Serialize)]
struct PipelineView {
    /// The analysis table.
    analysis: Analysis,
    /// The strategies' target allocations of that date, if stored.
    targets: Option<Targets>,
    /// Every date the pipeline ran for, oldest first.
    dates: Vec<Date>,
}

async fn view<S: Store>(store: &S, date: Option<Date>) -> Result<PipelineView, AppError> {
    let analysis = pipeline::report(store, date).await?;
    let targets = pipeline::targets(store, analysis.date).await?;
    Ok(PipelineView {
        targets,
        dates: pipeline::dates(store).await?,
        analysis,
    })
}

/// `GET /api/pipeline?date=`.
pub(crate) async fn api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(q): Query<DateQuery>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    let date = match date_of(&q) {
        Ok(d) => d,
        Err(r) => return r,
    };
    match view(&d.store, date).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => app_error(e),
    }
}

/// `GET /pipeline?date=`.
pub(crate) async fn page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(q): Query<DateQuery>,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let csrf = csrf_of(&caller);
    let date = match date_of(&q) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let body = match view(&d.store, date).await {
        Ok(v) => render(&v),
        Err(AppError::NotFound(why)) => format!(
            "<section><h1>Portfolio</h1><p class=\"muted\" id=\"no-run\">{}</p><p class=\"muted\">`pulse pipeline run [--manual SHEET.csv] [--broker kis]` syncs the account, values every holding in KRW and stores the day's table.</p></section>",
            html(&why)
        ),
        Err(e) => return app_error(e),
    };
    crate::pages::page("Portfolio pipeline", &csrf, &body).into_response()
}

fn krw(v: f64) -> String {
    if v.is_finite() {
        pulse_report::scale::thousands(v, 0)
    } else {
        "—".into()
    }
}

/// Narrow screens: the table scrolls inside its card and the secondary columns hide.
const STYLE: &str = "<style>.tablewrap{overflow-x:auto;-webkit-overflow-scrolling:touch}\
td.neg{color:#c92a2a}td.pos{color:#2b8a3e}\
@media (max-width:640px){main{padding:8px}section{padding:10px}th.wide,td.wide{display:none}th,td{padding:3px 6px;font-size:13px}}</style>";

fn pnl_class(v: Option<f64>) -> &'static str {
    match v {
        Some(x) if x < 0.0 => "num neg",
        Some(x) if x > 0.0 => "num pos",
        _ => "num",
    }
}

fn totals_table(id: &str, title: &str, rows: &[Total], total: &Total) -> String {
    let mut out = format!(
        "<h2>{title}</h2><div class=\"tablewrap\"><table id=\"{id}\"><thead><tr><th></th><th class=\"num\">Value (KRW)</th><th class=\"num wide\">Cost (KRW)</th><th class=\"num\">P&amp;L (KRW)</th><th class=\"num\">P&amp;L</th><th class=\"num\">Weight</th><th class=\"num\">Target</th><th class=\"num\">Gap</th></tr></thead><tbody>"
    );
    for t in rows.iter().chain(std::iter::once(total)) {
        let strong = std::ptr::eq(t, total);
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td class=\"num\">{}</td><td class=\"num wide\">{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            if strong {
                " style=\"font-weight:600\""
            } else {
                ""
            },
            html(&t.name),
            krw(t.value_krw),
            t.cost_krw.map_or("—".into(), krw),
            pnl_class(t.pnl_krw),
            t.pnl_krw.map_or("—".into(), krw),
            pnl_class(t.pnl_pct),
            signed_pct(t.pnl_pct),
            pct(Some(t.weight)),
            pct(t.target_weight),
            signed_pct(t.gap)
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn render(v: &PipelineView) -> String {
    let a = &v.analysis;
    let mut body = String::from(STYLE);
    let _ = write!(
        body,
        "<section><h1>Portfolio on {}</h1><p class=\"muted\">Every holding valued in KRW at the day's rates{}. Gap = target − weight (positive: below target).</p>",
        a.date,
        a.target.as_ref().map_or(String::new(), |(s, d)| format!(
            "; targets: {} of {d}",
            html(s)
        ))
    );
    if v.dates.len() > 1 {
        body.push_str(
            "<form method=\"get\" action=\"/pipeline\"><label>Date <select name=\"date\">",
        );
        for d in v.dates.iter().rev() {
            let _ = write!(
                body,
                "<option value=\"{d}\"{}>{d}</option>",
                if *d == a.date { " selected" } else { "" }
            );
        }
        body.push_str("</select></label> <button>Show</button></form>");
    }
    body.push_str(&totals_table("classes", "By class", &a.classes, &a.total));
    body.push_str(&totals_table("assets", "By asset", &a.assets, &a.total));
    body.push_str("<h2>Holdings</h2><div class=\"tablewrap\"><table id=\"holdings\"><thead><tr><th>Asset</th><th class=\"wide\">Source</th><th class=\"wide\">Class</th><th class=\"num wide\">Quantity</th><th class=\"num wide\">Price</th><th class=\"num\">Value (KRW)</th><th class=\"num\">P&amp;L</th><th class=\"num\">Weight</th><th class=\"num\">Gap</th></tr></thead><tbody>");
    for r in &a.rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"wide\">{}</td><td class=\"wide\">{}</td><td class=\"num wide\">{}</td><td class=\"num wide\">{}</td><td class=\"num\">{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            html(&r.asset),
            html(&r.source),
            html(&r.class),
            r.quantity,
            r.price
                .map_or("—".into(), |p| format!("{p} {}", html(&r.currency))),
            krw(r.value_krw),
            pnl_class(r.pnl_pct),
            signed_pct(r.pnl_pct),
            pct(Some(r.weight)),
            signed_pct(r.gap)
        );
    }
    body.push_str("</tbody></table></div>");
    body.push_str("<h2>Rates</h2><p id=\"fx\">");
    let rates: Vec<String> =
        a.fx.iter()
            .map(|f| {
                format!(
                    "{} {} KRW ({}{})",
                    html(&f.currency),
                    f.rate,
                    f.date,
                    if f.symbol.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", html(&f.symbol))
                    }
                )
            })
            .collect();
    body.push_str(&rates.join(" · "));
    body.push_str("</p></section>");
    if let Some(t) = &v.targets {
        body.push_str("<section><h1>Target allocations</h1><div class=\"tablewrap\"><table id=\"strategies\"><thead><tr><th>Strategy</th><th class=\"num\">Expected return</th><th class=\"num\">Volatility</th><th class=\"num\">Sharpe</th><th>Weights</th></tr></thead><tbody>");
        for s in &t.strategies {
            let weights: Vec<String> = s
                .weights
                .iter()
                .filter(|(_, w)| **w > 0.0005)
                .map(|(k, w)| format!("{} {:.1}%", html(k), w * 100.0))
                .collect();
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td style=\"white-space:normal\">{}</td></tr>",
                html(&s.strategy),
                pct(Some(s.expected_return)),
                pct(Some(s.volatility)),
                s.sharpe,
                weights.join(", ")
            );
        }
        body.push_str("</tbody></table></div>");
        if !t.skipped.is_empty() {
            let _ = write!(
                body,
                "<p class=\"muted\">Not optimized: {}</p>",
                html(&t.skipped.join("; "))
            );
        }
        body.push_str("</section>");
    }
    body
}
