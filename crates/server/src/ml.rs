//! The ML experiments on the dashboard (issue 16 item 6): every recorded training and
//! evaluation run (`pulse_app::ml::runs`) with its status, data window, symbols, features kept
//! and headline metrics (out-of-sample profit factor, expectancy per trade, trades, hit rate),
//! and where its artifacts are. `GET /ml` and `GET /api/ml/runs` (the records as stored). The
//! artifacts (models, reports) stay on disk: the dashboard names them and serves no file paths.

use crate::{Dashboard, api_caller, app_error, csrf_of, to_login};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use pulse_app::ml::runs::{MlRun, MlRunKind, MlRunStatus};
use pulse_core::ports::Store;
use pulse_report::escape::html;
use std::fmt::Write as _;
use std::sync::Arc;

/// `GET /api/ml/runs`: every run, newest first.
pub(crate) async fn api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match pulse_app::ml::runs::list(&d.store).await {
        Ok(runs) => Json(runs).into_response(),
        Err(e) => app_error(e),
    }
}

/// `GET /ml`.
pub(crate) async fn page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let csrf = csrf_of(&caller);
    match pulse_app::ml::runs::list(&d.store).await {
        Ok(runs) => crate::pages::page("ML runs", &csrf, &render(&runs)).into_response(),
        Err(e) => app_error(e),
    }
}

fn num(v: Option<&serde_json::Value>, pct: bool) -> String {
    match v.and_then(serde_json::Value::as_f64) {
        Some(x) if x.is_finite() && pct => format!("{x:+.3}%"),
        Some(x) if x.is_finite() => format!("{x:.2}"),
        Some(_) => "∞".into(),
        None => "—".into(),
    }
}

/// The metrics block a run's headline figures come from: the test period of an evaluation,
/// the validation period of a training.
fn headline(run: &MlRun) -> Option<&serde_json::Value> {
    match run.kind {
        MlRunKind::Evaluate => run.metrics.get("test"),
        MlRunKind::Train => run.metrics.get("validation"),
        // The deep models' versions carry no trading figures.
        MlRunKind::Dqn | MlRunKind::Cycle | MlRunKind::Forecast => None,
    }
}

fn render(runs: &[MlRun]) -> String {
    let mut body = String::from(
        "<section><h1>ML runs</h1><p class=\"muted\">Every `pulse ml train` and `pulse ml evaluate` run as recorded. Figures after 0.1 % costs per side: a training's on its validation period, an evaluation's on the test period only (out of sample).</p>",
    );
    if runs.is_empty() {
        body.push_str("<p class=\"muted\" id=\"no-runs\">No run yet: `pulse ml features`, then `pulse ml train` and `pulse ml evaluate` (see the README's ML section).</p></section>");
        return body;
    }
    body.push_str("<div style=\"overflow-x:auto\"><table id=\"ml-runs\"><thead><tr><th>#</th><th>Kind</th><th>Status</th><th>Created</th><th>Data</th><th class=\"num\">Symbols</th><th class=\"num\">Features</th><th class=\"num\">Trades</th><th class=\"num\">Profit factor</th><th class=\"num\">Expectancy / trade</th><th class=\"num\">Hit rate</th><th>Artifacts</th></tr></thead><tbody>");
    for r in runs {
        let m = headline(r);
        let status = match r.status {
            MlRunStatus::Running => "running".to_string(),
            MlRunStatus::Finished => "finished".to_string(),
            MlRunStatus::Cancelled => "cancelled".to_string(),
            MlRunStatus::Failed => format!("failed: {}", r.error.as_deref().unwrap_or("")),
        };
        let window = r.window.as_ref().map_or("—".to_string(), |w| {
            format!(
                "{} → {}",
                w.from.strftime("%Y-%m-%d %H:%M"),
                w.to.strftime("%Y-%m-%d %H:%M")
            )
        });
        let artifacts: Vec<String> = [
            r.artifacts
                .models_dir
                .as_deref()
                .map(|p| format!("models {p}")),
            r.artifacts.report.as_deref().map(|p| format!("report {p}")),
            r.parent.map(|p| format!("models of run #{p}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let hit = m
            .and_then(|m| m.get("hit_rate"))
            .and_then(serde_json::Value::as_f64)
            .map_or("—".to_string(), |h| format!("{:.1}%", h * 100.0));
        let _ = write!(
            body,
            "<tr data-run=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td style=\"white-space:normal\">{}</td></tr>",
            r.id,
            r.id,
            html(&match r.stage {
                Some(stage) => format!("{} ({})", r.kind.as_str(), stage.as_str()),
                None => r.kind.as_str().to_string(),
            }),
            html(&status),
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            html(&window),
            r.symbols.len(),
            r.features.len(),
            m.and_then(|m| m.get("trades"))
                .and_then(serde_json::Value::as_u64)
                .map_or("—".to_string(), |t| t.to_string()),
            num(m.and_then(|m| m.get("profit_factor")), false),
            num(m.and_then(|m| m.get("expectancy_pct")), true),
            hit,
            html(&artifacts.join("; "))
        );
    }
    body.push_str("</tbody></table></div></section>");
    body
}
