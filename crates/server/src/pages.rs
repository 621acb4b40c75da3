//! The dashboard's HTML pages (self-contained: inline CSS, no external resources; the only script keeps the overview's live
//! quotes current) and
//! its OpenAPI document. Every value shown comes from the application layer's outcomes.

use axum::response::Html;
use pulse_app::rebalance::{ClockReading, HistoryEntry, Status};
use pulse_app::runs::RunSummary;
use pulse_report::escape::html;
use std::fmt::Write as _;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c2733}\
header{background:#1f4e9c;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center}\
header a{color:#fff;text-decoration:none;font-weight:600}main{padding:16px 20px;max-width:1200px}\
section{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:12px 16px;margin-bottom:14px}\
table{border-collapse:collapse}th,td{padding:3px 10px;border-bottom:1px solid #eceef2;text-align:left}\
.num{text-align:right}.muted{color:#667}.err{color:#c92a2a}form.inline{display:inline-block;margin:0 8px 6px 0}\
button{padding:4px 10px}code{font-size:12px}";

/// A page of the dashboard: header with the navigation (and a logout button when logged in).
pub fn page(title: &str, csrf: &str, body: &str) -> Html<String> {
    let logout = if csrf.is_empty() {
        String::new()
    } else {
        format!(
            "<form class=\"inline\" method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>Log out</button></form>",
            html(csrf)
        )
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · Portfolio Pulse</title><style>{STYLE}</style></head>\
<body><header><span>Portfolio Pulse</span><a href=\"/\">Overview</a><a href=\"/backtest\">Backtest</a><a href=\"/sweeps\">Sweeps</a><a href=\"/portfolio\">Portfolio</a><a href=\"/risk\">Risk</a><a href=\"/trade\">Trading</a><a href=\"/rebalance\">Rebalancing</a><a href=\"/prompt\">Prompt</a><a href=\"/pipeline\">Holdings</a><a href=\"/ml\">ML</a><a href=\"/agents\">Agents</a><a href=\"/data\">Data</a><span style=\"flex:1\"></span>{logout}</header><main>{body}</main></body></html>",
        html(title)
    ))
}

/// The login form, with an error when the last attempt failed.
pub fn login(error: Option<&str>) -> Html<String> {
    let error = error
        .map(|e| format!("<p class=\"err\">{}</p>", html(e)))
        .unwrap_or_default();
    page(
        "Log in",
        "",
        &format!(
            "<section><h1>Log in</h1>{error}<p class=\"muted\">The access token was printed when `pulse serve` first started; it is stored in the config directory.</p>\
<form method=\"post\" action=\"/login\"><input type=\"password\" name=\"token\" autocomplete=\"current-password\" size=\"70\" required> <button>Log in</button></form></section>"
        ),
    )
}

/// A fraction as a percentage with two decimals (`—` when undefined).
pub(crate) fn pct(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or("—".into(), |x| format!("{:.2}%", x * 100.0))
}

/// A fraction as a signed percentage with two decimals (`—` when undefined).
pub(crate) fn signed_pct(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or("—".into(), |x| format!("{:+.2}%", x * 100.0))
}

/// A number with two decimals (`—` when undefined).
pub(crate) fn num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or("—".into(), |x| format!("{x:.2}"))
}

/// The overview's "Live quotes" section: the cached quotes in a table that a few lines of script
/// keep current from `/api/quotes/stream` (the page works without script: reload to refresh).
fn live_quotes(view: &crate::QuotesView) -> String {
    use crate::QuotesView as V;
    let mut out = String::from("<section><h1>Live quotes</h1>");
    match view {
        V::NotConfigured => out.push_str("<p class=\"muted\">No quote cache: start `pulse serve --redis URL --quote-symbols A,B` and `pulse collect --redis URL`.</p>"),
        V::NoSymbols => out.push_str("<p class=\"muted\">No symbols to show: start `pulse serve` with `--quote-symbols A,B`.</p>"),
        V::Failed(e) => {
            let _ = write!(out, "<p class=\"err\">The quote cache failed: {}</p>", html(e));
        }
        V::Quotes { symbols, quotes } => {
            out.push_str("<table id=\"quotes\"><thead><tr><th>Symbol</th><th class=\"num\">Last</th><th class=\"num\">Bid</th><th class=\"num\">Ask</th><th class=\"num\">Volume</th><th>As of</th></tr></thead><tbody>");
            for symbol in symbols {
                let q = quotes.iter().find(|q| &q.symbol == symbol);
                let cell = |v: Option<rust_decimal::Decimal>| v.map_or("—".to_string(), |d| d.normalize().to_string());
                let _ = write!(
                    out,
                    "<tr data-symbol=\"{s}\"><td>{s}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    cell(q.map(|q| q.last)),
                    cell(q.and_then(|q| q.bid)),
                    cell(q.and_then(|q| q.ask)),
                    cell(q.and_then(|q| q.volume)),
                    q.map_or("no live quote".to_string(), |q| q.time.to_string()),
                    s = html(symbol.as_str()),
                );
            }
            out.push_str("</tbody></table><p class=\"muted\" id=\"quotes-state\">Updated every second from the quote cache.</p>");
            out.push_str(QUOTES_SCRIPT);
        }
    }
    out.push_str("</section>");
    out
}

/// Keeps the live-quotes table current from the SSE stream (textContent only: no HTML from data).
const QUOTES_SCRIPT: &str = "<script>(function(){if(!window.EventSource)return;var es=new EventSource('/api/quotes/stream');\
var st=document.getElementById('quotes-state');function f(v){return v===null||v===undefined?'—':String(Number(v))}\
es.addEventListener('quotes',function(e){var qs=JSON.parse(e.data);var rows=document.querySelectorAll('#quotes tbody tr');\
rows.forEach(function(r){var q=qs.find(function(x){return x.symbol===r.dataset.symbol});var c=r.children;\
if(!q){c[5].textContent='no live quote';return}c[1].textContent=f(q.last);c[2].textContent=f(q.bid);c[3].textContent=f(q.ask);\
c[4].textContent=f(q.volume);c[5].textContent=q.time});st.textContent='Live: updated '+new Date().toLocaleTimeString()});\
es.addEventListener('error',function(e){if(e.data)st.textContent='Quote cache: '+e.data})})();</script>";

/// The overview: the trading runners (state, start/stop, figures, performance chart, composition,
/// recent trades, alert feed: [`crate::overview`]), the live quotes, recorded runs with their
/// headline metrics, and the rebalancer at a glance.
pub fn overview(
    runs: &[RunSummary],
    status: Option<&Status>,
    trading: &pulse_app::overview::Overview,
    quotes: &crate::QuotesView,
    csrf: &str,
) -> Html<String> {
    let live = live_quotes(quotes);
    let mut body = crate::overview::render(trading, csrf);
    body.push_str(&live);
    body.push_str("<section><h1>Recorded runs</h1>");
    if runs.is_empty() {
        body.push_str(
            "<p class=\"muted\">No runs yet: `pulse backtest` or `pulse simulate` records one.</p>",
        );
    } else {
        body.push_str("<table><thead><tr><th>#</th><th>Kind</th><th>Strategy</th><th>Sample</th><th>Data</th><th class=\"num\">Return</th><th class=\"num\">Sharpe</th><th class=\"num\">Max DD</th><th class=\"num\">Win rate</th><th class=\"num\">Alerts</th></tr></thead><tbody>");
        for r in runs {
            let m = r.headline.as_ref();
            let rec = &r.record;
            let id = rec.id;
            let _ = write!(
                body,
                "<tr><td><a href=\"/runs/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}..{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                html(&rec.kind),
                html(&rec.strategy),
                html(&rec.sample),
                rec.data_from.strftime("%Y-%m-%d"),
                rec.data_to.strftime("%Y-%m-%d"),
                pct(m.and_then(|m| m.total_return)),
                num(m.and_then(|m| m.sharpe)),
                pct(m.and_then(|m| m.max_drawdown)),
                pct(m.and_then(|m| m.win_rate)),
                rec.alert_count
            );
        }
        body.push_str("</tbody></table><form method=\"get\" action=\"/runs/compare\"><p>Compare run <input name=\"a\" size=\"4\" required> with run <input name=\"b\" size=\"4\" required> <button>Compare</button> · <a href=\"/backtest\">run a backtest</a></p></form>");
    }
    body.push_str("</section><section><h1>Rebalancer</h1>");
    match status {
        None => body.push_str(
            "<p class=\"muted\">Not set up: `pulse rebalance init` creates its paper account.</p>",
        ),
        Some(s) => {
            let _ = write!(
                body,
                "<p>Rebalancing active: <b>{}</b> · cash {} · {} holding(s) · clock {}{} · <a href=\"/rebalance\">admin and time travel</a></p>",
                s.is_rebalancing_active,
                s.cash.round_dp(2),
                s.holdings.len(),
                s.now,
                if s.simulated_clock {
                    " (simulated)"
                } else {
                    ""
                }
            );
        }
    }
    body.push_str("</section>");
    page("Overview", csrf, &body)
}

/// The data page: every stored series with its extent and its stored quality findings.
pub fn data(series: &[pulse_app::data::SeriesCoverage], csrf: &str, upload: bool) -> Html<String> {
    let mut body = String::new();
    if upload {
        let _ = write!(
            body,
            "<section><h1>Import a CSV</h1><p class=\"muted\">Any layout `pulse data import` reads (Yahoo, OHLCV, adjusted close, minute bars; the file name gives the symbol); one transaction, nothing written when a row is bad; a fuller stored bar is kept unless replaced.</p>\
<form method=\"post\" action=\"/data/import\" enctype=\"multipart/form-data\">{}<input type=\"file\" name=\"file\" accept=\".csv\" required> \
<label><input type=\"checkbox\" name=\"replace\" value=\"on\"> replace stored bars</label> <button>Import</button></form></section>",
            hidden(csrf)
        );
    }
    body.push_str("<section><h1>Stored series</h1>");
    if series.is_empty() {
        body.push_str(
            "<p class=\"muted\">Nothing stored: `pulse data import FILE` or `pulse data seed`.</p>",
        );
    } else {
        body.push_str("<p class=\"muted\">Findings are those stored by the last `pulse data check`.</p><table><thead><tr><th>Symbol</th><th>Bars</th><th class=\"num\">Rows</th><th>First</th><th>Last</th><th>Findings</th></tr></thead><tbody>");
        for c in series {
            let findings = if c.findings.is_empty() {
                "—".to_string()
            } else {
                c.findings
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(c.series.symbol.as_str()),
                c.series.timeframe,
                c.series.rows,
                c.series.first,
                c.series.last,
                html(&findings)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
    page("Data", csrf, &body)
}

fn hidden(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html(csrf)
    )
}

/// The rebalancing admin (SPEC §6 test environment): state, pending signals with their day
/// counts, the plan, history, and the time-travel controls.
pub fn rebalance(
    clock: &ClockReading,
    status: Result<&Status, &pulse_app::AppError>,
    history: &[HistoryEntry],
    csrf: &str,
) -> Html<String> {
    let h = hidden(csrf);
    let mut body = String::from("<section><h1>Clock</h1>");
    let _ = write!(
        body,
        "<p id=\"clock\">{} <span class=\"muted\">({})</span>{}</p>",
        clock.now,
        html(&clock.local),
        if clock.simulated {
            " <b>simulated</b>"
        } else {
            ""
        }
    );
    let _ = write!(
        body,
        "<form class=\"inline\" method=\"post\" action=\"/rebalance/clock\">{h}<input type=\"hidden\" name=\"action\" value=\"set\"><input type=\"datetime-local\" name=\"time\" required> <button>Set</button></form>\
<form class=\"inline\" method=\"post\" action=\"/rebalance/clock\">{h}<input type=\"hidden\" name=\"action\" value=\"at\"><input type=\"hidden\" name=\"time\" value=\"08:30\"><button>08:30</button></form>\
<form class=\"inline\" method=\"post\" action=\"/rebalance/clock\">{h}<input type=\"hidden\" name=\"action\" value=\"at\"><input type=\"hidden\" name=\"time\" value=\"09:40\"><button>09:40</button></form>\
<form class=\"inline\" method=\"post\" action=\"/rebalance/clock\">{h}<input type=\"hidden\" name=\"action\" value=\"advance\"><input type=\"hidden\" name=\"by\" value=\"1d\"><button>+1 day (08:00)</button></form>\
<form class=\"inline\" method=\"post\" action=\"/rebalance/clock\">{h}<input type=\"hidden\" name=\"action\" value=\"reset\"><button>Wall clock</button></form>\
<form class=\"inline\" method=\"post\" action=\"/rebalance/run\">{h}<button><b>Run now</b></button></form></section>"
    );
    let set_up = status.is_ok();
    let _ = write!(
        body,
        "<section><h1>{}</h1><form method=\"post\" action=\"/rebalance/init\">{h}\
<label>Cash <input name=\"cash\" value=\"100000\" size=\"10\"></label> <label>Calendar <select name=\"calendar\"><option value=\"krx\">KRX</option><option value=\"nyse\">NYSE</option></select></label> \
<label>Commission <input name=\"commission\" value=\"0.001\" size=\"6\"></label> {}<button>{}</button></form></section>\
<section><h1>Signal</h1><p class=\"muted\">Observed at every 08:30 intake until replaced; what is left empty stays as observed so far.</p>\
<form method=\"post\" action=\"/rebalance/signal\">{h}<p><label>MP <input name=\"mp\" size=\"40\" placeholder=\"stocks=0.6,bonds=0.3,cash=0.1\"></label></p>\
<p><label>Sub-MP (one class per line)<br><textarea name=\"sub_mp\" rows=\"3\" cols=\"40\" placeholder=\"stocks=SPY,QQQ\"></textarea></label></p>\
<p><label>Weighting <select name=\"weighting\"><option value=\"equal\">equal</option><option value=\"liquidity\">liquidity (dollar volume)</option></select></label> \
<label>Liquidity days <input name=\"liquidity_days\" value=\"20\" size=\"4\"></label> <button>Submit signal</button></p></form></section>",
        if set_up {
            "Start over"
        } else {
            "Set up the paper account"
        },
        if set_up {
            "<label><input type=\"checkbox\" name=\"force\" value=\"on\" required> discard the state and account</label> "
        } else {
            ""
        },
        if set_up { "Start over" } else { "Set up" }
    );
    body.push_str("<section><h1>State</h1>");
    match status {
        Err(e) => {
            let _ = write!(body, "<p class=\"muted\">{}</p>", html(&e.to_string()));
        }
        Ok(s) => {
            let _ = write!(
                body,
                "<p>is_rebalancing_active: <b id=\"active\">{}</b> · calendar {} · cash {} · last intake {} · last execution {}</p>",
                s.is_rebalancing_active,
                s.calendar,
                s.cash.round_dp(2),
                s.last_intake.map(|d| d.to_string()).unwrap_or("—".into()),
                s.last_execution
                    .map(|d| d.to_string())
                    .unwrap_or("—".into())
            );
            body.push_str("<h2>Targets and holdings</h2><table><thead><tr><th>Symbol</th><th class=\"num\">Target</th><th class=\"num\">Shares</th></tr></thead><tbody>");
            for (sym, w) in &s.targets {
                let held = s.holdings.get(sym).copied().unwrap_or_default();
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td class=\"num\">{:.1}%</td><td class=\"num\">{held}</td></tr>",
                    html(sym.as_str()),
                    w * 100.0
                );
            }
            body.push_str("</tbody></table><h2>Pending signals</h2><table><thead><tr><th>Signal</th><th>Value</th><th class=\"num\">Days</th></tr></thead><tbody>");
            if let Some(mp) = &s.pending.mp {
                let _ = write!(
                    body,
                    "<tr class=\"pending\"><td>MP</td><td><code>{}</code></td><td class=\"num days\">{}</td></tr>",
                    html(&serde_json::to_string(&mp.value).unwrap_or_default()),
                    mp.days
                );
            }
            for (class, p) in &s.pending.sub_mp {
                let _ = write!(
                    body,
                    "<tr class=\"pending\"><td>Sub-MP {}</td><td><code>{}</code></td><td class=\"num days\">{}</td></tr>",
                    html(class),
                    html(&serde_json::to_string(&p.value).unwrap_or_default()),
                    p.days
                );
            }
            body.push_str("</tbody></table><h2>Plan</h2>");
            match &s.plan {
                None => body.push_str("<p class=\"muted\">No plan running.</p>"),
                Some(p) => {
                    let _ = write!(
                        body,
                        "<p>{} since {} · steps done {}{} · scope <code>{}</code></p>",
                        html(&p.id.0),
                        p.started,
                        p.steps_done,
                        if p.paused {
                            " · <b>paused</b> (a signal is pending)"
                        } else {
                            ""
                        },
                        html(&serde_json::to_string(&p.scope).unwrap_or_default())
                    );
                }
            }
        }
    }
    body.push_str("</section><section><h1>History</h1><table><thead><tr><th>Time</th><th>Part</th><th>Entry</th></tr></thead><tbody>");
    for e in history.iter().rev() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.ts,
            html(&e.subsystem),
            html(&e.entry.to_string())
        );
    }
    body.push_str("</tbody></table></section>");
    page("Rebalancing", csrf, &body)
}

/// The JSON API's OpenAPI 3.1 document.
pub const OPENAPI: &str = r##"{
  "openapi": "3.1.0",
  "info": {"title": "Portfolio Pulse dashboard API", "version": "0.1.0",
    "description": "Every endpoint but this document needs `Authorization: Bearer <token>` (or a logged-in session whose changes send X-CSRF-Token). Errors are {\"error\": message, \"field\": name or null}."},
  "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {"RiskConfig": {"type": "object", "additionalProperties": false,
      "description": "The risk layer's settings; every section and key is optional (a missing one keeps its default)",
      "properties": {
        "leverage": {"type": "object", "additionalProperties": false, "properties": {
          "enabled": {"type": "boolean"}, "window_days": {"type": "integer", "minimum": 2}, "min_returns": {"type": "integer", "minimum": 2},
          "tail": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}, "cvar_weight": {"type": "number", "minimum": 0},
          "levels": {"type": "array", "items": {"type": "object", "required": ["above", "leverage"], "additionalProperties": false,
            "properties": {"above": {"type": "number", "minimum": 0}, "leverage": {"type": "number", "exclusiveMinimum": 0}}}},
          "base": {"type": "number", "exclusiveMinimum": 0}, "margin": {"type": "boolean", "description": "allows a leverage above 1"},
          "borrow_rate": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}}},
        "limits": {"type": "object", "additionalProperties": false, "description": "fractions of equity in (0, 1]; null or false turns a limit off",
          "properties": {"max_position": {"type": ["number", "null", "boolean"]}, "max_sector": {"type": ["number", "null", "boolean"]},
            "max_drawdown": {"type": ["number", "null", "boolean"]}, "max_daily_var": {"type": ["number", "null", "boolean"]},
            "stop_loss": {"type": ["number", "null", "boolean"], "description": "per-position stop loss in (0, 1), a fraction of the average entry price; off (null) by default"}}},
        "correlation": {"type": "object", "additionalProperties": false, "properties": {
          "enabled": {"type": "boolean"}, "window_days": {"type": "integer", "minimum": 2}, "min_returns": {"type": "integer", "minimum": 2},
          "threshold": {"type": "number", "exclusiveMinimum": -1, "maximum": 1}}}}}}},
  "security": [{"bearer": []}],
  "paths": {
    "/api/backtests": {"post": {"summary": "Run and record a backtest of Pulse against its benchmarks; its report is served at /runs/{id}/report",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["cash", "commission", "slippage_bps", "fill"],
        "properties": {"from": {"type": "string", "description": "YYYY-MM-DD or empty"}, "to": {"type": "string", "description": "YYYY-MM-DD or empty"},
          "cash": {"type": "string"}, "commission": {"type": "string", "description": "fraction per side, e.g. 0.001"},
          "slippage_bps": {"type": "string"}, "fill": {"enum": ["next_open", "next_close", "next_typical"]},
          "risk": {"type": ["boolean", "string"], "description": "true (or \"on\"): apply the stored risk settings (GET /api/risk); the report then has its Risk section"},
          "strategy": {"type": "string", "description": "a Pulse rule set as TOML (a strategy file's text); empty or absent: the shipped rule set"}}}}}},
      "responses": {"200": {"description": "{run_id, report}"}, "400": {"description": "A field is wrong (named in `field`)"}}}},
    "/api/sweeps": {"post": {"summary": "Launch a parameter search of the Pulse rule set in the background",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["params", "objective", "method", "budget"],
        "properties": {"params": {"type": "string", "description": "one range per line, e.g. rsi_high=60:85:1"},
          "constraints": {"type": "string", "description": "one per line, e.g. rsi_low < rsi_high"},
          "objective": {"enum": ["sharpe", "sortino", "calmar", "cagr", "profit-factor"]},
          "method": {"enum": ["grid", "random", "tpe"]}, "budget": {"type": "integer", "minimum": 1}}}}}},
      "responses": {"200": {"description": "{id, state, done, total}"}, "400": {"description": "A field is wrong (named in `field`)"}}}},
    "/api/sweeps/{id}": {"get": {"summary": "Progress, and the outcome once finished (state running, done, cancelled or failed)",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
      "responses": {"200": {"description": "{id, state, done, total, outcome, report, error}"}, "404": {"description": "No such sweep"}}}},
    "/api/sweeps/{id}/cancel": {"post": {"summary": "Stop launching trials; finished ones are kept",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
      "responses": {"200": {"description": "The state"}, "404": {"description": "No such sweep"}}}},
    "/api/portfolio/optimize": {"post": {"summary": "Optimized weights of stored daily series, with whole shares when cash is given",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["symbols", "method", "returns", "risk"],
        "properties": {"symbols": {"type": "string", "description": "comma-separated"},
          "method": {"enum": ["min-vol", "max-sharpe", "efficient-risk", "efficient-return", "max-utility", "hrp", "blend", "inverse-vol", "erc", "equal"]},
          "returns": {"enum": ["mean", "ema", "capm"]}, "risk": {"enum": ["sample", "ledoit-wolf", "exp", "semi"]},
          "max_weight": {"type": "string"}, "cash": {"type": "string"}}}}}},
      "responses": {"200": {"description": "{symbols, weights, expected_return, volatility, sharpe, window, shares, leftover}"}, "400": {"description": "A field is wrong (named in `field`)"}}}},
    "/api/risk": {
      "get": {"summary": "The team's risk settings in effect (the stored ones, else the SPEC §4 defaults): what `pulse risk show` prints and runs with `--risk` or the backtest form's risk checkbox apply",
        "responses": {"200": {"description": "{stored, config, toml}: config in the shape PUT takes, toml as `pulse risk show` prints it"}, "409": {"description": "The stored settings are unreadable"}}},
      "put": {"summary": "Store the team's risk settings, validated; nothing is stored when a setting is refused",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RiskConfig"}}}},
        "responses": {"200": {"description": "{stored: true, config, toml}"}, "400": {"description": "A setting is refused (named in `field` as in the TOML, e.g. limits.max_position); nothing stored"}}},
      "delete": {"summary": "Forget the stored risk settings: the defaults apply",
        "responses": {"200": {"description": "{stored: false, config, toml}"}}}},
    "/api/prompt": {
      "get": {"summary": "Every saved version of the macro prompt, oldest first", "responses": {"200": {"description": "[{version, saved_at, text}]"}}},
      "put": {"summary": "Save the macro prompt as a new version (an unchanged text keeps its version)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}},
        "responses": {"200": {"description": "{version, saved_at, text}"}, "400": {"description": "Empty or too long (field `prompt`)"}}}},
    "/api/prompt/run": {"post": {"summary": "Run a version (the latest without one) against the chat model; the answer raw, the JSON found in it, and the signal it makes or why it is not one (nothing stored)",
      "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"version": {"type": "integer"}}}}}},
      "responses": {"200": {"description": "{version, raw, json, signal, errors}"}, "404": {"description": "No such version"}, "502": {"description": "The chat model failed"}, "503": {"description": "No chat model configured"}}}},
    "/api/prompt/submit": {"post": {"summary": "Submit a signal (a run's `signal`) as the day's MP/Sub-MP view, validated as `pulse rebalance signal` does",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["signal"], "properties": {"signal": {"type": "object"}}}}}},
      "responses": {"200": {"description": "The signal as stored"}, "400": {"description": "Not a valid signal (field `signal`)"}}}},
    "/api/prompt/schedule": {"get": {"summary": "The prompt's 08:30 schedule: {enabled, version (null: the latest), last_day}", "responses": {"200": {"description": "The schedule"}}},
      "put": {"summary": "Turn the 08:30 run of the prompt on or off (on trading days, before the rebalancer's intake; a valid answer is submitted as the day's signal; at most once a day)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["enabled"], "properties": {"enabled": {"type": "boolean"}, "version": {"type": ["integer", "null"], "minimum": 1}}}}}},
        "responses": {"200": {"description": "The schedule as saved"}, "400": {"description": "A missing version, or no prompt saved (field `version`)"}}}},
    "/api/backtests/jobs/{id}": {"get": {"summary": "A backtest started from the dashboard's form (it runs in the background): {id, state: running|done|failed, done, total (bars of the window Pulse has stepped through / in all), run_id, report, error}",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
      "responses": {"200": {"description": "The job's state"}, "404": {"description": "No such job (the last 20 are kept)"}}}},
    "/api/agents/signal": {"get": {"summary": "The SPEC §4 ensemble (technical and factor agents, momentum only) replayed over every stored daily bar and its decision at the last one per symbol: {as_of, learned_from, threshold, weights: {agent: weight}, rows: [{symbol, bar, signals: {agent: {action: buy|sell|hold, confidence}}, score, action, holding}], factor_coverage}. Query: symbols (comma-separated, required), agents (technical,factor; default both), threshold (default 0.7). 400 naming the field on bad input."}},
    "/api/ml/runs": {"get": {"summary": "Every recorded ML run (pulse ml train / evaluate), newest first: {id, kind: train|evaluate, status: running|finished|cancelled|failed, created_at, finished_at, parent, params, metrics (an evaluation's `test` and a training's `validation`: trades, wins, hit_rate, gross_profit, gross_loss, profit_factor, expectancy_pct (percent), total_net_return, mean_bars_held, max_drawdown; after 0.1 % costs per side), features, symbols, window, artifacts (paths on the machine that ran it), error}",
      "responses": {"200": {"description": "[run]"}}}},
    "/api/pipeline": {"get": {"summary": "The daily portfolio pipeline's stored analysis table (every holding, broker and manual, valued in KRW at the day's FX: cost, P&L, weight, target weight, gap; totals per asset and class; the rates) with that date's strategy target allocations and every date the pipeline ran for",
      "parameters": [{"name": "date", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}, "description": "YYYY-MM-DD; absent: the latest run"}],
      "responses": {"200": {"description": "{analysis, targets, dates}"}, "400": {"description": "A bad date (field `date`)"}, "404": {"description": "No run stored (for that date)"}}}},
    "/api/overview": {"get": {"summary": "The overview's trading part: every runner with its daily equity curve (a point at its start and at each finished trading day, plus the latest close), its benchmark (the strategy's base symbol bought and held, scaled to the first equity), figures (equity, total_return, daily_change, sharpe: daily returns × √252 with a zero risk-free rate, max_drawdown, win_rate over FIFO-matched closed trades; fractions, null when undefined), composition (positions at their last close and cash, with weights); the 20 most recent fills of all runners; the 30 most recent alert-feed lines",
      "responses": {"200": {"description": "{runners: [{meta, curve: [{day, at, equity}], benchmark: {symbol, values} | null, figures, composition: [{name, value, weight}], fills}], recent_trades: [{runner, fill}], feed: [{ts, source, kind, message}]}"}}}},
    "/api/trade/stream": {"get": {"summary": "Server-sent events: a `runners` event with [{name, status: {state, reason?}, last_close}] at the start and whenever a runner's state or last processed bar changes (checked every second)",
      "responses": {"200": {"description": "text/event-stream"}}}},
    "/api/trade": {"get": {"summary": "Every trading runner: its meta (broker, mode, status, last bar), account, orders with status and fills",
      "responses": {"200": {"description": "[{meta, account, orders, fills}]"}}}},
    "/api/trade/{name}/{action}": {"post": {"summary": "start (a paper runner; warm-up to the clock; with symbols: the agents' ensemble instead of Pulse's rule set), run (catch a paper runner up to the clock), stop (cancel working orders, stop deciding), resume, flatten (stop and sell every position)",
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}, {"name": "action", "in": "path", "required": true, "schema": {"enum": ["start", "run", "stop", "resume", "flatten"]}},
        {"name": "symbols", "in": "query", "schema": {"type": "string"}, "description": "start only: comma-separated symbols of an agents' runner"},
        {"name": "agents", "in": "query", "schema": {"type": "string"}, "description": "start only: technical,factor (default both)"},
        {"name": "threshold", "in": "query", "schema": {"type": "number"}, "description": "start only: the ensemble's threshold (default 0.7)"}],
      "responses": {"200": {"description": "{done: what happened}"}, "400": {"description": "A bad runner name, or a bad agents field (named in `field`)"}, "404": {"description": "No such action"}, "409": {"description": "The runner is missing, halted, or trades through a live broker (run it from the CLI)"}}}},
    "/api/data/import": {"post": {"summary": "Import a CSV file by upload (multipart field `file`, optional `replace`), in one transaction",
      "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}, "replace": {"type": "string"}}}}}},
      "responses": {"200": {"description": "Row counts {bars_inserted, bars_updated, bars_unchanged, bars_kept, …}"}, "400": {"description": "The file is refused (file, line and field named)"}}}},
    "/api/data": {"get": {"summary": "Every stored series with its extent and stored quality findings by kind",
      "responses": {"200": {"description": "[{symbol, timeframe, rows, first, last, findings}]"}}}},
    "/api/runs": {"get": {"summary": "Recorded backtests and simulations, newest first",
      "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
      "responses": {"200": {"description": "[{id, kind, created_at, strategy, sample, data_from, data_to, config, metrics_json, alert_count}]: each run without its alerts, counted in alert_count (the run page /runs/{id} shows them)"}, "400": {"description": "Bad limit"}, "401": {"description": "No or wrong token"}}}},
    "/api/clock": {
      "get": {"summary": "The clock (simulated when time travel is on)", "responses": {"200": {"description": "{now, local, simulated}"}}},
      "post": {"summary": "Time travel: set, a preset time today, advance, or back to the wall clock",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["action"],
          "properties": {"action": {"enum": ["set", "at", "advance", "reset"]},
            "time": {"type": "string", "description": "set: RFC 3339, or 2024-01-02T08:30 in the schedule's time zone; at: HH:MM"},
            "by": {"type": "string", "description": "advance: 1d (next day 08:00), 3h, 90m"}}}}}},
        "responses": {"200": {"description": "{now, local, simulated}"}, "400": {"description": "A field is wrong (named in `field`)"}}}},
    "/api/rebalance/init": {"post": {"summary": "Set up the paper account and the schedule's calendar (once; again only with force)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["cash", "calendar", "commission"],
        "properties": {"cash": {"type": "string"}, "calendar": {"enum": ["krx", "nyse"]}, "commission": {"type": "string"}, "force": {"type": "string", "description": "on: start over"}}}}}},
      "responses": {"200": {"description": "The status"}, "400": {"description": "A field is wrong (named in `field`)"}, "409": {"description": "Already set up"}}}},
    "/api/rebalance/signal": {"post": {"summary": "Submit the macro view, observed at every 08:30 intake until replaced",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
        "properties": {"mp": {"type": "string", "description": "stocks=0.6,bonds=0.3,cash=0.1"}, "sub_mp": {"type": "string", "description": "one class per line: stocks=SPY,QQQ"},
          "weighting": {"enum": ["equal", "liquidity"]}, "liquidity_days": {"type": "string"}}}}}},
      "responses": {"200": {"description": "The signal as stored"}, "400": {"description": "A field is wrong (named in `field`)"}}}},
    "/api/rebalance/status": {"get": {"summary": "Holdings, targets, pending signals with day counts, the plan",
      "responses": {"200": {"description": "Status"}, "409": {"description": "The rebalancer is not set up"}}}},
    "/api/rebalance/history": {"get": {"summary": "The audit log, oldest first",
      "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
      "responses": {"200": {"description": "Entries {ts, subsystem, entry}"}}}},
    "/api/rebalance/run": {"post": {"summary": "Run what is due now by the clock (08:30 intake, 09:40 execution)",
      "responses": {"200": {"description": "{now, trading_day, done}"}, "409": {"description": "The rebalancer is not set up"}}}}
  }
}"##;
