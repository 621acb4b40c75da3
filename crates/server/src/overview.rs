//! The overview's trading part (issue 14 item 1): every runner with its status, start/stop
//! button and headline figures (total return with the day's change, Sharpe, max drawdown, win
//! rate), its performance chart against its benchmark (pulse-report's chart) and the composition
//! of its account as a pie; the recent trades of all runners; the alert feed. JSON at
//! `GET /api/overview`; the runners' states stream at `GET /api/trade/stream` (a `runners`
//! event when one changes), which a few lines of script apply to the table.

use crate::pages::{num, pct, signed_pct};
use crate::{Dashboard, api_caller, app_error};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use pulse_app::overview::{Overview, RunnerOverview, Slice};
use pulse_app::trade::RunnerStatus;
use pulse_core::ports::Store;
use pulse_report::chart::{self, ChartSpec, Line, PALETTE};
use pulse_report::escape::html;
use pulse_report::scale::ValueFormat;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// Fills listed under "Recent trades".
pub(crate) const RECENT_TRADES: usize = 20;
/// Lines of the alert feed.
pub(crate) const FEED_ITEMS: usize = 30;

/// The state of a runner in words with the button that changes it.
fn state_of(status: &RunnerStatus) -> (String, &'static str, &'static str) {
    match status {
        RunnerStatus::Running => ("running".to_string(), "stop", "Stop"),
        RunnerStatus::Stopped => ("stopped".to_string(), "resume", "Start"),
        RunnerStatus::Halted { reason } => (format!("halted: {reason}"), "resume", "Resume"),
    }
}

/// The runners' table, their performance cards, the recent trades and the alert feed.
pub(crate) fn render(o: &Overview, csrf: &str) -> String {
    let mut body = String::from("<section><h1>Runners</h1>");
    if o.runners.is_empty() {
        body.push_str("<p class=\"muted\">No trading runner: start one on the <a href=\"/trade\">Trading</a> page or with `pulse trade run`.</p>");
    } else {
        body.push_str("<table id=\"runners\"><thead><tr><th>Runner</th><th>Broker</th><th>State</th><th>Last bar</th><th class=\"num\">Equity</th><th class=\"num\">Total return</th><th class=\"num\">Day</th><th class=\"num\">Sharpe</th><th class=\"num\">Max DD</th><th class=\"num\">Win rate</th><th class=\"num\">Fills</th><th></th></tr></thead><tbody>");
        for r in &o.runners {
            let name = html(&r.meta.name);
            let (state, action, label) = state_of(&r.meta.status);
            let f = &r.figures;
            let _ = write!(
                body,
                "<tr data-runner=\"{name}\"><td><a href=\"#runner-{name}\">{name}</a></td><td>{:?} ({:?})</td><td class=\"state\">{}</td><td class=\"last\">{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><form class=\"inline\" method=\"post\" action=\"/trade/{name}/{action}\">{}<button>{label}</button></form></td></tr>",
                r.meta.broker,
                r.meta.mode,
                html(&state),
                r.meta.last_close.map_or("-".to_string(), |t| t.to_string()),
                f.equity,
                signed_pct(f.total_return),
                signed_pct(f.daily_change),
                num(f.sharpe),
                pct(f.max_drawdown),
                pct(f.win_rate),
                r.fills,
                hidden(csrf)
            );
        }
        body.push_str("</tbody></table><p class=\"muted\" id=\"runners-state\">Figures as of this page's load; states are live.</p>");
        body.push_str(RUNNERS_SCRIPT);
    }
    body.push_str("</section>");
    let charts = pulse_report::embed_charts("", |island| {
        let mut out = String::new();
        for (i, r) in o.runners.iter().enumerate() {
            out.push_str(&runner_card(i, r, island));
        }
        out
    });
    match charts {
        Ok(c) => body.push_str(&c),
        Err(e) => {
            let _ = write!(
                body,
                "<section><p class=\"err\">The charts could not be drawn: {}</p></section>",
                html(&e.to_string())
            );
        }
    }
    body.push_str(&recent_trades(o));
    body.push_str(&feed(o));
    body
}

/// One runner's card: the performance chart against the benchmark and the composition pie.
fn runner_card(i: usize, r: &RunnerOverview, island: &mut chart::Island) -> String {
    let name = html(&r.meta.name);
    let mut out = format!("<section id=\"runner-{name}\"><h1>{name}: performance</h1>");
    if r.curve.len() < 2 {
        out.push_str(
            "<p class=\"muted\">The curve starts at the runner's first finished trading day.</p>",
        );
    } else {
        let dates: Vec<String> = r.curve.iter().map(|p| p.day.to_string()).collect();
        let x: Vec<f64> = r
            .curve
            .iter()
            .map(|p| {
                pulse_report::time::days_from_civil(
                    i64::from(p.day.year()),
                    u32::try_from(p.day.month()).unwrap_or(1),
                    u32::try_from(p.day.day()).unwrap_or(1),
                ) as f64
            })
            .collect();
        let mut lines = vec![Line {
            name: r.meta.name.clone(),
            color: PALETTE[0].to_string(),
            dates: &dates,
            x: x.clone(),
            y: r.curve.iter().map(|p| p.equity).collect(),
            dashed: false,
            fill: false,
            width: 2.0,
        }];
        if let Some(b) = &r.benchmark {
            lines.push(Line {
                name: format!("{} buy and hold", b.symbol),
                color: PALETTE[1].to_string(),
                dates: &dates,
                x,
                y: b.values.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
                dashed: true,
                fill: false,
                width: 1.5,
            });
        }
        let spec = ChartSpec {
            id: format!("runner-{i}"),
            height: 260.0,
            format: ValueFormat::Plain,
            y_title: "Equity (account currency)".into(),
            lines,
            markers: Vec::new(),
            log_toggle: false,
            y_include: Vec::new(),
            x_range: None,
            legend: true,
            bands: Vec::new(),
        };
        out.push_str(&chart::render(&spec, island, ""));
    }
    out.push_str("<h3>Composition</h3><div style=\"display:flex;gap:24px;align-items:center;flex-wrap:wrap\">");
    out.push_str(&pie(&r.composition));
    out.push_str("<table><thead><tr><th></th><th>Holding</th><th class=\"num\">Value</th><th class=\"num\">Weight</th></tr></thead><tbody>");
    for (k, s) in r.composition.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td><span style=\"display:inline-block;width:12px;height:12px;background:{}\"></span></td><td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td></tr>",
            PALETTE[k % PALETTE.len()],
            html(&s.name),
            s.value,
            pct(Some(s.weight))
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

/// The composition as an SVG pie (positive values only: borrowed cash is listed, not drawn).
fn pie(slices: &[Slice]) -> String {
    let total: f64 = slices
        .iter()
        .filter(|s| s.value.is_finite() && s.value > 0.0)
        .map(|s| s.value)
        .sum();
    let mut out = String::from(
        "<svg class=\"pie\" width=\"160\" height=\"160\" viewBox=\"-1 -1 2 2\" role=\"img\" aria-label=\"composition\">",
    );
    if total <= 0.0 {
        out.push_str("<circle r=\"1\" fill=\"#eceef2\"/></svg>");
        return out;
    }
    let mut angle = -std::f64::consts::FRAC_PI_2;
    for (k, s) in slices.iter().enumerate() {
        if !(s.value.is_finite() && s.value > 0.0) {
            continue;
        }
        let color = PALETTE[k % PALETTE.len()];
        let share = s.value / total;
        let title = format!("{} {:.2}%", s.name, share * 100.0);
        if share >= 0.9999 {
            let _ = write!(
                out,
                "<circle r=\"1\" fill=\"{color}\"><title>{}</title></circle>",
                html(&title)
            );
            continue;
        }
        let end = angle + share * std::f64::consts::TAU;
        let large = u8::from(share > 0.5);
        let _ = write!(
            out,
            "<path d=\"M0 0L{:.5} {:.5}A1 1 0 {large} 1 {:.5} {:.5}Z\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"0.01\"><title>{}</title></path>",
            angle.cos(),
            angle.sin(),
            end.cos(),
            end.sin(),
            html(&title)
        );
        angle = end;
    }
    out.push_str("</svg>");
    out
}

fn recent_trades(o: &Overview) -> String {
    let mut out = String::from("<section><h1>Recent trades</h1>");
    if o.recent_trades.is_empty() {
        out.push_str("<p class=\"muted\">No fill yet.</p>");
    } else {
        out.push_str("<table id=\"recent-trades\"><thead><tr><th>Time</th><th>Runner</th><th>Side</th><th class=\"num\">Quantity</th><th>Symbol</th><th class=\"num\">Price</th><th class=\"num\">Fee</th></tr></thead><tbody>");
        for t in &o.recent_trades {
            let f = &t.fill;
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                f.ts,
                html(&t.runner),
                f.side,
                f.quantity.normalize(),
                html(f.symbol.as_str()),
                f.price.normalize(),
                f.fee.normalize()
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
    out
}

fn feed(o: &Overview) -> String {
    let mut out = String::from("<section><h1>Alerts</h1>");
    if o.feed.is_empty() {
        out.push_str("<p class=\"muted\">Nothing recorded yet.</p>");
    } else {
        out.push_str("<table id=\"feed\"><thead><tr><th>Time</th><th>Source</th><th>Kind</th><th>Message</th></tr></thead><tbody>");
        for item in &o.feed {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"white-space:normal\">{}</td></tr>",
                item.ts,
                html(&item.source),
                html(&item.kind),
                html(&item.message)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
    out
}

fn hidden(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html(csrf)
    )
}

/// Keeps the runners' state and last bar current from `/api/trade/stream` (textContent only).
const RUNNERS_SCRIPT: &str = "<script>(function(){if(!window.EventSource)return;var es=new EventSource('/api/trade/stream');\
var st=document.getElementById('runners-state');\
es.addEventListener('runners',function(e){var rs=JSON.parse(e.data);var moved=false;\
document.querySelectorAll('#runners tbody tr').forEach(function(r){var m=rs.find(function(x){return x.name===r.dataset.runner});if(!m)return;\
var s=m.status.state==='halted'?'halted: '+m.status.reason:m.status.state;var c=r.querySelector('.state'),l=r.querySelector('.last');\
if(c.textContent!==s){c.textContent=s;var f=r.querySelector('form'),b=f&&f.querySelector('button');\
if(f&&b){var run=m.status.state==='running';f.action='/trade/'+m.name+'/'+(run?'stop':'resume');b.textContent=run?'Stop':(m.status.state==='halted'?'Resume':'Start')}}var lc=m.last_close||'-';if(l.textContent!==lc){l.textContent=lc;moved=true}});\
st.textContent=moved?'New bars were processed: reload for the figures. States are live.':'Figures as of this page\\'s load; states live, checked '+new Date().toLocaleTimeString()});})();</script>";

/// `GET /api/overview`: every runner's figures, curve and composition, the recent trades and the
/// alert feed.
pub(crate) async fn api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match pulse_app::overview::overview(&d.store, RECENT_TRADES, FEED_ITEMS).await {
        Ok(o) => Json(o).into_response(),
        Err(e) => app_error(e),
    }
}

/// `GET /api/trade/stream`: server-sent events, a `runners` event (every runner's name, status
/// and last processed close) at the start and whenever one changes (checked every second).
pub(crate) async fn stream<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, std::convert::Infallible>>(4);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last = String::new();
        loop {
            tick.tick().await;
            // The client went away: stop watching for it.
            if tx.is_closed() {
                break;
            }
            let event = match pulse_app::trade::states(&d.store).await {
                Ok(states) => {
                    let json = serde_json::to_string(&states).unwrap_or_else(|_| "[]".into());
                    if json == last {
                        continue;
                    }
                    last.clone_from(&json);
                    Event::default().event("runners").data(json)
                }
                Err(e) => Event::default().event("error").data(e.to_string()),
            };
            if tx.send(Ok(event)).await.is_err() {
                break;
            }
        }
    });
    Sse::new(crate::quotes::futures_stream(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}
