//! The agents on the dashboard (issue 17): the ensemble's decision at the last stored bar per
//! symbol (`pulse_app::agents::signal`: each agent's signal, the score, what to do at the next
//! open, the holding) with the current weights. `GET /agents?symbols=&agents=&threshold=` (a
//! form and the table) and `GET /api/agents/signal?…` (the outcome as JSON). The DQN needs a
//! model file on the machine and stays with the CLI (`pulse agents signal --dqn-model`).

use crate::{Dashboard, api_caller, app_error, csrf_of, to_login};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use pulse_agents::ensemble::EnsembleConfig;
use pulse_agents::factor::FactorWeights;
use pulse_agents::technical::TechnicalConfig;
use pulse_agents::{Action, AgentKind};
use pulse_app::AppError;
use pulse_app::agents::{AgentSet, AgentsSignalOutcome, AgentsSignalRequest};
use pulse_core::Symbol;
use pulse_core::ports::Store;
use pulse_report::escape::html;
use std::fmt::Write as _;
use std::sync::Arc;

/// The query of both routes.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct SignalQuery {
    /// Comma-separated symbols.
    #[serde(default)]
    symbols: String,
    /// Comma-separated agents (`technical`, `factor`); default both.
    #[serde(default)]
    agents: String,
    /// The ensemble's threshold (default 0.7).
    #[serde(default)]
    threshold: Option<f64>,
}

impl SignalQuery {
    /// The query of a form or URL naming an agent set (`symbols`, `agents`, `threshold`).
    pub(crate) fn new(symbols: String, agents: String, threshold: Option<f64>) -> Self {
        SignalQuery {
            symbols,
            agents,
            threshold,
        }
    }

    /// Whether it names any symbol (an agent set is asked for).
    pub(crate) fn is_given(&self) -> bool {
        !self.symbols.trim().is_empty()
    }

    /// The agent set it names (errors name the field).
    pub(crate) fn set(&self) -> Result<AgentSet, AppError> {
        self.request().map(|r| r.set)
    }

    fn request(&self) -> Result<AgentsSignalRequest, AppError> {
        let symbols = self
            .symbols
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                Symbol::try_new(s).map_err(|e| AppError::setting("symbols", format!("{s:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let agents = if self.agents.trim().is_empty() {
            vec![AgentKind::Technical, AgentKind::Factor]
        } else {
            self.agents
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|a| match a {
                    "technical" => Ok(AgentKind::Technical),
                    "factor" => Ok(AgentKind::Factor),
                    "dqn" => Err(AppError::setting(
                        "agents",
                        "the DQN needs a model file: use `pulse agents signal --dqn-model DIR`",
                    )),
                    other => Err(AppError::setting(
                        "agents",
                        format!("{other:?}: expected technical or factor"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(AgentsSignalRequest {
            set: AgentSet {
                symbols,
                agents,
                ensemble: EnsembleConfig {
                    threshold: self.threshold.unwrap_or(0.7),
                    ..EnsembleConfig::default()
                },
                technical: TechnicalConfig::default(),
                factor_weights: FactorWeights::default(),
                fundamentals: None,
                dqn_model: None,
            },
        })
    }
}

/// `GET /api/agents/signal?symbols=&agents=&threshold=`.
pub(crate) async fn api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(q): Query<SignalQuery>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    let request = match q.request() {
        Ok(r) => r,
        Err(e) => return app_error(e),
    };
    match pulse_app::agents::signal(&d.store, &request).await {
        Ok(o) => Json(o).into_response(),
        Err(e) => app_error(e),
    }
}

/// `GET /agents?symbols=&agents=&threshold=`: the form, and the table once symbols are given.
pub(crate) async fn page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(q): Query<SignalQuery>,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    let csrf = csrf_of(&caller);
    let mut body = form(&q);
    if !q.symbols.trim().is_empty() {
        let outcome = match q.request() {
            Ok(request) => pulse_app::agents::signal(&d.store, &request).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(o) => {
                body.push_str(&render(&o));
                body.push_str(&trade_form(&q, &csrf));
            }
            Err(e) if e.is_usage() || matches!(e, AppError::Data(_)) => {
                let _ = write!(
                    body,
                    "<p class=\"err\" id=\"signal-error\">{}</p>",
                    html(&e.to_string())
                );
            }
            Err(e) => return app_error(e),
        }
    }
    body.push_str("</section>");
    crate::pages::page("Agents", &csrf, &body).into_response()
}

fn form(q: &SignalQuery) -> String {
    format!(
        "<section><h1>Agents</h1><p class=\"muted\">The SPEC §4 ensemble (technical and factor agents; momentum only here — fundamentals and the DQN are given to <code>pulse agents signal</code>) replayed over every stored daily bar, and its decision at the last one: what it would do at the next open. The score is Σ weight × confidence × direction; it acts past the threshold.</p>\
<form method=\"get\" action=\"/agents\" class=\"inline\"><label>Symbols <input name=\"symbols\" value=\"{}\" placeholder=\"AAPL,MSFT\"></label> <label>Agents <input name=\"agents\" value=\"{}\" placeholder=\"technical,factor\"></label> <label>Threshold <input name=\"threshold\" type=\"number\" step=\"0.05\" min=\"0\" max=\"0.95\" value=\"{}\"></label> <button>Show</button></form>",
        html(&q.symbols),
        html(&q.agents),
        q.threshold.unwrap_or(0.7)
    )
}

/// The form that starts a paper runner trading this ensemble (`POST /trade/start`).
fn trade_form(q: &SignalQuery, csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/trade/start\" id=\"trade-agents\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"symbols\" value=\"{}\"><input type=\"hidden\" name=\"agents\" value=\"{}\"><input type=\"hidden\" name=\"threshold\" value=\"{}\"><label>Trade it on paper as runner <input name=\"name\" value=\"agents\" size=\"16\"></label> <button>Start</button> <span class=\"muted\">(100,000 cash; it warms up on the bars closed by the clock, then trades this ensemble at every close: the Trading page)</span></form>",
        html(csrf),
        html(&q.symbols),
        html(&q.agents),
        q.threshold.unwrap_or(0.7)
    )
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Buy => "buy",
        Action::Sell => "sell",
        Action::Hold => "hold",
    }
}

fn render(o: &AgentsSignalOutcome) -> String {
    let weights: Vec<String> = o
        .weights
        .iter()
        .map(|(k, w)| format!("{} {:.2}", k.as_str(), w))
        .collect();
    let mut body = format!(
        "<p id=\"as-of\">As of {} · weights {} · act when |score| &gt; {}</p><div style=\"overflow-x:auto\"><table id=\"signals\"><thead><tr><th>Symbol</th><th>Bar</th>",
        html(&o.as_of),
        html(&weights.join(", ")),
        o.threshold
    );
    for k in o.weights.keys() {
        let _ = write!(body, "<th>{}</th>", k.as_str());
    }
    body.push_str("<th class=\"num\">Score</th><th>Action</th><th>Held</th></tr></thead><tbody>");
    for r in &o.rows {
        let _ = write!(
            body,
            "<tr data-symbol=\"{}\"><td>{}</td><td>{}</td>",
            html(r.symbol.as_str()),
            html(r.symbol.as_str()),
            html(&r.bar)
        );
        for k in o.weights.keys() {
            let cell = r.signals.get(k).map_or("—".to_string(), |s| {
                format!("{} {:.2}", action_name(s.action), s.confidence)
            });
            let _ = write!(body, "<td>{}</td>", html(&cell));
        }
        let _ = write!(
            body,
            "<td class=\"num\">{:+.3}</td><td class=\"action\">{}</td><td>{}</td></tr>",
            r.score,
            action_name(r.action),
            if r.holding { "yes" } else { "no" }
        );
    }
    body.push_str("</tbody></table></div>");
    // A symbol whose last bar is older than the universe's was scored with the weights then.
    let older: Vec<String> = o
        .rows
        .iter()
        .filter(|r| r.weights != o.weights)
        .map(|r| {
            let w: Vec<String> = r
                .weights
                .iter()
                .map(|(k, w)| format!("{} {:.2}", k.as_str(), w))
                .collect();
            format!("{} (last bar {}): {}", r.symbol, r.bar, w.join(", "))
        })
        .collect();
    if !older.is_empty() {
        let _ = write!(
            body,
            "<p class=\"muted\" id=\"older-weights\">Scored with the weights at their own last bar: {}.</p>",
            html(&older.join("; "))
        );
    }
    body
}
