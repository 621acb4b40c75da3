//! The evaluation's HTML page: the out-of-sample figures (all symbols and per symbol) and the
//! equity curve drawn by pulse-report's chart.

use std::fmt::Write;

use pulse_ml::eval::EvalMetrics;
use pulse_report::chart::{ChartSpec, Line, PALETTE};
use pulse_report::escape::html;
use pulse_report::scale::ValueFormat;

use super::evaluate::EvaluateOutcome;
use crate::AppError;

fn num(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "—".into(),
    }
}

fn row(name: &str, m: &EvalMetrics) -> String {
    format!(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        html(name),
        m.trades,
        num(m.profit_factor, 2),
        num(m.expectancy_pct, 3),
        num(m.hit_rate.map(|h| h * 100.0), 1),
        num(Some(m.total_net_return * 100.0), 2),
        num(Some(m.max_drawdown * 100.0), 2),
    )
}

/// The page.
pub fn render(o: &EvaluateOutcome) -> Result<String, AppError> {
    let mut body = String::new();
    let _ = write!(
        body,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>ML evaluation {id}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:24px;max-width:1100px}}\
         table{{border-collapse:collapse}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd}}\
         .num{{text-align:right}}</style></head><body>\
         <h1>ML evaluation (run {id}), out of sample</h1>\
         <p>Test period {from} → {to}; entry when the predicted net return &gt; {thr}{floor}; \
         each trade held to its triple-barrier exit; costs {cost:.2} % a side. Models: {dir}.</p>",
        id = o.run.id,
        from = o.period.start,
        to = o.period.end,
        thr = o.rule.threshold,
        floor = o
            .rule
            .quantile_floor
            .map_or(String::new(), |f| format!(" and its 5 % quantile &gt; {f}")),
        cost = o.rule.cost * 100.0,
        dir = html(&o.models_dir.display().to_string()),
    );
    body.push_str(
        "<table><thead><tr><th></th><th class=\"num\">Trades</th><th class=\"num\">Profit factor</th>\
         <th class=\"num\">Expectancy %</th><th class=\"num\">Hit rate %</th>\
         <th class=\"num\">Σ net return %</th><th class=\"num\">Max drawdown %</th></tr></thead><tbody>",
    );
    body.push_str(&row("All symbols", &o.test.metrics));
    for (s, m) in &o.test.per_symbol {
        body.push_str(&row(s, m));
    }
    body.push_str("</tbody></table><h2>Equity (1 + Σ net returns, one unit a trade)</h2>");
    if o.test.equity.is_empty() {
        body.push_str("<p>No trade.</p>");
    } else {
        let dates: Vec<String> = o
            .test
            .equity
            .iter()
            .map(|p| p.ts.strftime("%Y-%m-%d %H:%M").to_string())
            .collect();
        let x: Vec<f64> = o
            .test
            .equity
            .iter()
            .map(|p| p.ts.as_second() as f64 / 86_400.0)
            .collect();
        let charts = pulse_report::embed_charts("", |island| {
            let spec = ChartSpec {
                id: "ml-equity".into(),
                height: 320.0,
                format: ValueFormat::Plain,
                y_title: "Equity (stakes)".into(),
                lines: vec![Line {
                    name: "equity".into(),
                    color: PALETTE[0].to_string(),
                    dates: &dates,
                    x,
                    y: o.test.equity.iter().map(|p| p.equity).collect(),
                    dashed: false,
                    fill: false,
                    width: 2.0,
                }],
                markers: Vec::new(),
                log_toggle: false,
                y_include: vec![1.0],
                x_range: None,
                legend: false,
                bands: Vec::new(),
            };
            pulse_report::chart::render(&spec, island, "")
        })?;
        body.push_str(&charts);
    }
    body.push_str("</body></html>\n");
    Ok(body)
}
