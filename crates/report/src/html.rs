//! Page assembly: validation, sections, tables, heatmap, and the inline CSS/JS.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::chart::{self, ChartSpec, Island, Line, Marker, PALETTE};
use crate::error::ReportError;
use crate::escape::{html, json_for_script, push_html};
use crate::model::{BacktestReport, MetricDef, MetricUnit, SampleLabel, Side};
use crate::scale::{ValueFormat, money, percent, thousands};
use crate::time::parse_day;

/// Cash fractions smaller than this (in absolute value) are rounding noise of `1 − Σ weights`.
const CASH_NOISE: f64 = 1e-9;

const CSS: &str = include_str!("assets/report.css");
/// The charts' styles (also embedded by [`embed_charts`]), with the colour variables.
const CHART_CSS: &str = include_str!("assets/chart.css");
const JS: &str = include_str!("assets/report.js");

/// Parses a date vector into positions, checking order.
pub(crate) fn positions(field: &str, dates: &[String]) -> Result<Vec<f64>, ReportError> {
    let mut out = Vec::with_capacity(dates.len());
    for (index, d) in dates.iter().enumerate() {
        let x = parse_day(d).ok_or_else(|| ReportError::BadDate {
            field: field.to_string(),
            index,
            value: d.clone(),
        })?;
        if let Some(prev) = out.last()
            && x <= *prev
        {
            return Err(ReportError::UnorderedDates {
                field: field.to_string(),
                index,
                value: d.clone(),
            });
        }
        out.push(x);
    }
    Ok(out)
}

fn check_len(field: String, actual: usize, expected: usize) -> Result<(), ReportError> {
    if actual == expected {
        Ok(())
    } else {
        Err(ReportError::LengthMismatch {
            field,
            actual,
            expected,
        })
    }
}

fn check_finite(field: &str, values: &[f64]) -> Result<(), ReportError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(ReportError::NonFinite {
            field: field.to_string(),
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Drawdown of an equity curve as drawn: `equity[t] / max(equity[..=t]) − 1` (fractions, ≤ 0),
/// the analytics' drawdown series ([`pulse_analytics::Drawdown`]) with the chart's sign.
pub fn drawdown(equity: &[f64]) -> Vec<f64> {
    pulse_analytics::Drawdown::analyze(equity)
        .series
        .iter()
        .map(|&d| if d == 0.0 { 0.0 } else { -d })
        .collect()
}

fn fmt_qty(q: f64) -> String {
    if (q - q.round()).abs() < 1e-9 {
        thousands(q, 0)
    } else {
        thousands(q, 4)
    }
}

fn weights_text(w: &BTreeMap<String, f64>) -> String {
    if w.is_empty() {
        return "—".into();
    }
    w.iter()
        .map(|(k, v)| format!("{k} {}", percent(*v, 1)))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn metric_cell(
    def: Option<&MetricDef>,
    value: Option<f64>,
    text: Option<&str>,
    currency: &str,
) -> String {
    if let Some(t) = text {
        return html(t);
    }
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return "—".into();
    };
    match def.map(|d| d.unit).unwrap_or(MetricUnit::Ratio) {
        MetricUnit::Percent => percent(v, 2),
        MetricUnit::Ratio => thousands(v, 2),
        MetricUnit::Money => html(&money(v, currency, 2)),
        MetricUnit::Count => thousands(v, 0),
        MetricUnit::Date => "—".into(),
    }
}

/// Diverging colour of `v` around `centre`: red below, green above, white at the centre, full
/// strength at `scale` away; the flag says the text on it should be white.
pub(crate) fn diverging(v: f64, centre: f64, scale: f64) -> (String, bool) {
    let d = v - centre;
    let s = if scale > 0.0 {
        (d.abs() / scale).min(1.0)
    } else {
        0.0
    };
    let (tr, tg, tb) = if d >= 0.0 {
        (26.0, 152.0, 80.0)
    } else {
        (215.0, 48.0, 39.0)
    };
    let mix = |t: f64| (255.0 + (t - 255.0) * s).round() as u8;
    (
        format!("#{:02x}{:02x}{:02x}", mix(tr), mix(tg), mix(tb)),
        s > 0.6,
    )
}

pub(crate) fn section_open(out: &mut String, id: &str, title: &str, hint: &str) {
    let _ = write!(out, "<section id=\"{id}\"><h2>{title}</h2>");
    if !hint.is_empty() {
        let _ = write!(out, "<p class=\"hint\">{hint}</p>");
    }
}

/// Date positions of every series, computed while validating.
pub(crate) struct Positions {
    series_x: Vec<Vec<f64>>,
    weights_x: Vec<f64>,
    prices_x: Vec<Vec<f64>>,
    risk_x: Vec<f64>,
}

/// Checks dates, lengths, finiteness and months; returns the parsed date positions.
pub(crate) fn validate(r: &BacktestReport) -> Result<Positions, ReportError> {
    let mut series_x = Vec::with_capacity(r.series.len());
    for (i, s) in r.series.iter().enumerate() {
        let field = format!("series[{i}] ({})", s.name);
        series_x.push(positions(&format!("{field}.dates"), &s.dates)?);
        check_len(format!("{field}.equity"), s.equity.len(), s.dates.len())?;
        check_finite(&format!("{field}.equity"), &s.equity)?;
    }
    let w = &r.weights;
    let weights_x = positions("weights.dates", &w.dates)?;
    for (name, rows) in [("target", &w.target), ("actual", &w.actual)] {
        check_len(format!("weights.{name}"), rows.len(), w.dates.len())?;
        for (i, row) in rows.iter().enumerate() {
            check_len(
                format!("weights.{name}[{i}] (symbols)"),
                row.len(),
                w.symbols.len(),
            )?;
            check_finite(&format!("weights.{name}[{i}]"), row)?;
        }
    }
    let mut prices_x = Vec::with_capacity(r.prices.len());
    for (i, p) in r.prices.iter().enumerate() {
        let field = format!("prices[{i}] ({})", p.symbol);
        prices_x.push(positions(&format!("{field}.dates"), &p.dates)?);
        check_len(format!("{field}.close"), p.close.len(), p.dates.len())?;
        check_finite(&format!("{field}.close"), &p.close)?;
        for (k, m) in p.markers.iter().enumerate() {
            if parse_day(&m.date).is_none() {
                return Err(ReportError::BadDate {
                    field: format!("{field}.markers"),
                    index: k,
                    value: m.date.clone(),
                });
            }
        }
    }
    if let Some(f) = &r.frontier {
        let vols: Vec<f64> = f.points.iter().map(|p| p.0).collect();
        let rets: Vec<f64> = f.points.iter().map(|p| p.1).collect();
        check_finite("frontier.points (volatility)", &vols)?;
        check_finite("frontier.points (expected return)", &rets)?;
        for (i, p) in f.portfolios.iter().enumerate() {
            check_finite(
                &format!("frontier.portfolios[{i}] ({})", p.name),
                &[p.volatility, p.expected_return],
            )?;
        }
    }
    let mut risk_x = Vec::new();
    if let Some(risk) = &r.risk {
        risk_x = positions("risk.dates", &risk.dates)?;
        check_len(
            "risk.leverage".to_string(),
            risk.leverage.len(),
            risk.dates.len(),
        )?;
        check_finite("risk.leverage", &risk.leverage)?;
        for (k, e) in risk.events.iter().enumerate() {
            if parse_day(&e.date).is_none() {
                return Err(ReportError::BadDate {
                    field: "risk.events".into(),
                    index: k,
                    value: e.date.clone(),
                });
            }
        }
    }
    if let Some(s) = &r.sweep {
        crate::sweep::validate(s)?;
    }
    for (index, m) in r.monthly_returns.iter().enumerate() {
        if !(1..=12).contains(&m.month) {
            return Err(ReportError::BadMonth {
                index,
                month: m.month,
            });
        }
    }

    Ok(Positions {
        series_x,
        weights_x,
        prices_x,
        risk_x,
    })
}

/// Renders the whole page. See the crate docs for the layout.
pub fn render(r: &BacktestReport) -> Result<String, ReportError> {
    let cur = r.currency.as_str();
    let Positions {
        series_x,
        weights_x,
        prices_x,
        risk_x,
    } = validate(r)?;
    let w = &r.weights;
    let mut island = Island {
        currency: cur.to_string(),
        prefix: crate::scale::currency_prefix(cur),
        sweep: r.sweep.clone(),
        ..Island::default()
    };
    let mut out = String::with_capacity(256 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    push_html(&mut out, &r.title);
    out.push_str("</title><style>");
    out.push_str(CHART_CSS);
    out.push_str(CSS);
    out.push_str("</style></head><body><main>");

    // ---- header
    let (badge_class, badge_help) = match r.sample_label {
        SampleLabel::InSample => (
            "in-sample",
            "parameters were chosen on this data: results are optimistic",
        ),
        SampleLabel::OutOfSample => ("out-of-sample", "data not used to choose the parameters"),
        SampleLabel::FullHistory => (
            "full-history",
            "whole available history, no parameter search",
        ),
        SampleLabel::Window => (
            "full-history",
            "a chosen date range of the history, no parameter search",
        ),
    };
    out.push_str("<header id=\"summary\"><div class=\"titlerow\"><h1>");
    push_html(&mut out, &r.title);
    let _ = write!(
        out,
        "</h1><span class=\"badge {badge_class}\" title=\"{badge_help}\">{}</span></div><p class=\"sub\">",
        r.sample_label.badge()
    );
    let mut facts: Vec<String> = Vec::new();
    if !r.generated_for.trim().is_empty() {
        facts.push(html(&r.generated_for));
    }
    if r.initial_cash > 0.0 {
        facts.push(format!(
            "initial cash {}",
            html(&money(r.initial_cash, cur, 2))
        ));
    }
    if !cur.trim().is_empty() {
        facts.push(format!("currency {}", html(cur)));
    }
    facts.push(format!(
        "<span class=\"badge-note {badge_class}\">{badge_help}</span>"
    ));
    out.push_str(&facts.join(" · "));
    out.push_str("</p>");
    if !r.notes.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for n in &r.notes {
            out.push_str("<li>");
            push_html(&mut out, n);
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("<nav>");
    for (id, label) in [
        ("sweep", "Parameter search"),
        ("metrics", "Metrics"),
        ("equity", "Equity"),
        ("drawdown", "Drawdown"),
        ("weights", "Weights"),
        ("prices", "Prices & trades"),
        ("frontier", "Efficient frontier"),
        ("monthly", "Monthly returns"),
        ("trades", "Trade list"),
        ("alerts", "Alerts"),
        ("risk", "Risk"),
        ("config", "Configuration"),
    ] {
        if (id == "frontier" && r.frontier.is_none())
            || (id == "sweep" && r.sweep.is_none())
            || (id == "risk" && r.risk.is_none())
        {
            continue;
        }
        let _ = write!(out, "<a href=\"#{id}\">{label}</a>");
    }
    out.push_str("</nav></header>");

    // ---- parameter search (sweep reports only)
    if let Some(s) = &r.sweep {
        crate::sweep::render(&mut out, s);
    }

    // ---- metrics
    section_open(
        &mut out,
        "metrics",
        "Metrics",
        "Strategy and benchmarks over the same dates and costs. Percentages are fractions of capital; ratios are unitless.",
    );
    if r.metrics.is_empty() {
        out.push_str("<p class=\"empty\">No metrics.</p>");
    } else {
        let mut keys: Vec<&str> = Vec::new();
        for def in &r.metric_catalogue {
            if r.metrics
                .iter()
                .any(|row| row.values.iter().any(|c| c.key == def.key))
            {
                keys.push(&def.key);
            }
        }
        for row in &r.metrics {
            for c in &row.values {
                if !keys.contains(&c.key.as_str()) {
                    keys.push(&c.key);
                }
            }
        }
        out.push_str("<div class=\"scroll\"><table class=\"metrics\"><thead><tr><th>Metric</th>");
        for (i, row) in r.metrics.iter().enumerate() {
            let _ = write!(
                out,
                "<th class=\"num{}\">",
                if i == 0 { " strat" } else { "" }
            );
            push_html(&mut out, &row.name);
            out.push_str("</th>");
        }
        out.push_str("</tr></thead><tbody>");
        for key in keys {
            let def = r.metric_catalogue.iter().find(|d| d.key == key);
            out.push_str("<tr><th scope=\"row\">");
            push_html(&mut out, def.map_or(key, |d| d.label.as_str()));
            out.push_str("</th>");
            for (i, row) in r.metrics.iter().enumerate() {
                let cell = row.values.iter().find(|c| c.key == key);
                let v = cell.and_then(|c| c.value);
                let neg = v.is_some_and(|v| v < 0.0)
                    && def.is_some_and(|d| d.unit == MetricUnit::Percent);
                let _ = write!(
                    out,
                    "<td class=\"num{}{}\">{}</td>",
                    if i == 0 { " strat" } else { "" },
                    if neg { " neg" } else { "" },
                    metric_cell(def, v, cell.and_then(|c| c.text.as_deref()), cur)
                );
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");

    // ---- equity + drawdown
    let x_range = {
        let lo = series_x
            .iter()
            .filter_map(|x| x.first())
            .fold(f64::INFINITY, |a, b| a.min(*b));
        let hi = series_x
            .iter()
            .filter_map(|x| x.last())
            .fold(f64::NEG_INFINITY, |a, b| a.max(*b));
        (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
    };
    let ccy = html(cur);
    section_open(
        &mut out,
        "equity",
        "Equity curves",
        &format!(
            "Portfolio value in {ccy}. Hover for values; click a legend entry to hide it; the button switches the y axis to a log scale (equal distances = equal percentage moves)."
        ),
    );
    if r.series.iter().all(|s| s.equity.is_empty()) {
        out.push_str("<p class=\"empty\">No equity data.</p>");
    } else {
        let lines = r
            .series
            .iter()
            .zip(&series_x)
            .enumerate()
            .map(|(i, (s, x))| Line {
                name: s.name.clone(),
                color: PALETTE[i % PALETTE.len()].to_string(),
                dates: &s.dates,
                x: x.clone(),
                y: s.equity.clone(),
                dashed: false,
                fill: false,
                width: if i == 0 { 2.2 } else { 1.4 },
            })
            .collect();
        let spec = ChartSpec {
            id: "equity".into(),
            height: 420.0,
            format: ValueFormat::Money,
            y_title: format!("Equity ({cur})"),
            lines,
            markers: Vec::new(),
            log_toggle: true,
            y_include: Vec::new(),
            x_range,
            legend: true,
            bands: shaded_bands(r),
        };
        out.push_str(&chart::render(&spec, &mut island, cur));
    }
    out.push_str("</section>");

    section_open(
        &mut out,
        "drawdown",
        "Drawdown",
        "Decline from the running peak of each curve, in percent of that peak (0% = at a new high).",
    );
    if r.series.iter().all(|s| s.equity.is_empty()) {
        out.push_str("<p class=\"empty\">No equity data.</p>");
    } else {
        let lines = r
            .series
            .iter()
            .zip(&series_x)
            .enumerate()
            .map(|(i, (s, x))| Line {
                name: s.name.clone(),
                color: PALETTE[i % PALETTE.len()].to_string(),
                dates: &s.dates,
                x: x.clone(),
                y: drawdown(&s.equity),
                dashed: false,
                fill: i == 0,
                width: if i == 0 { 1.8 } else { 1.2 },
            })
            .collect();
        let spec = ChartSpec {
            id: "drawdown".into(),
            height: 260.0,
            format: ValueFormat::Percent,
            y_title: "Drawdown (%)".into(),
            lines,
            markers: Vec::new(),
            log_toggle: false,
            y_include: vec![0.0],
            x_range,
            legend: true,
            bands: shaded_bands(r),
        };
        out.push_str(&chart::render(&spec, &mut island, cur));
    }
    out.push_str("</section>");

    // ---- weights
    let hint = "Fraction of equity per symbol: dashed = target chosen by the strategy, solid = actually held at the close. Cash = 1 − Σ weights.";
    if w.strategy.is_empty() {
        section_open(&mut out, "weights", "Target vs actual weights", hint);
    } else {
        // A report comparing several strategies shows one strategy's weights: name it.
        section_open(
            &mut out,
            "weights",
            &format!("Target vs actual weights: {}", html(&w.strategy)),
            &format!(
                "The weights of {} only (the other strategies' are not drawn). {hint}",
                html(&w.strategy)
            ),
        );
    }
    if w.dates.is_empty() || w.symbols.is_empty() {
        out.push_str("<p class=\"empty\">No weight data.</p>");
    } else {
        let col =
            |rows: &[Vec<f64>], j: usize| -> Vec<f64> { rows.iter().map(|row| row[j]).collect() };
        // 1 − Σ weights of a fully invested row is float noise (±1e-16), not cash: a noise value
        // below 0 would stretch the panel's axis to −100 %. Snap it to 0.
        let cash = |rows: &[Vec<f64>]| -> Vec<f64> {
            rows.iter()
                .map(|row| 1.0 - row.iter().sum::<f64>())
                .map(|c| if c.abs() < CASH_NOISE { 0.0 } else { c })
                .collect()
        };
        let mut panels: Vec<(String, Vec<f64>, Vec<f64>)> = w
            .symbols
            .iter()
            .enumerate()
            .map(|(j, s)| (s.clone(), col(&w.target, j), col(&w.actual, j)))
            .collect();
        panels.push(("Cash".into(), cash(&w.target), cash(&w.actual)));
        out.push_str("<div class=\"panels\">");
        for (j, (sym, target, actual)) in panels.into_iter().enumerate() {
            let color = if j == w.symbols.len() {
                "#666666".to_string()
            } else {
                PALETTE[(j + 1) % PALETTE.len()].to_string()
            };
            out.push_str("<h3>");
            push_html(&mut out, &sym);
            out.push_str("</h3>");
            let spec = ChartSpec {
                id: format!("weights-{j}"),
                height: 190.0,
                format: ValueFormat::Percent,
                y_title: "Weight (%)".into(),
                lines: vec![
                    Line {
                        name: format!("{sym} target"),
                        color: color.clone(),
                        dates: &w.dates,
                        x: weights_x.clone(),
                        y: target,
                        dashed: true,
                        fill: false,
                        width: 1.6,
                    },
                    Line {
                        name: format!("{sym} actual"),
                        color,
                        dates: &w.dates,
                        x: weights_x.clone(),
                        y: actual,
                        dashed: false,
                        fill: true,
                        width: 1.4,
                    },
                ],
                markers: Vec::new(),
                log_toggle: false,
                y_include: vec![0.0, 1.0],
                x_range: None,
                legend: true,
                bands: Vec::new(),
            };
            out.push_str(&chart::render(&spec, &mut island, cur));
        }
        out.push_str("</div>");
    }
    out.push_str("</section>");

    // ---- prices
    section_open(
        &mut out,
        "prices",
        "Prices and trades",
        &format!(
            "Close price per share in {ccy}; ▲ buys and ▼ sells at their fill price (hover a triangle for the fill)."
        ),
    );
    if r.prices.is_empty() {
        out.push_str("<p class=\"empty\">No price data.</p>");
    }
    for (i, (p, x)) in r.prices.iter().zip(&prices_x).enumerate() {
        out.push_str("<h3>");
        push_html(&mut out, &p.symbol);
        let (nb, ns) = p.markers.iter().fold((0, 0), |(b, s), m| {
            if m.side == Side::Buy {
                (b + 1, s)
            } else {
                (b, s + 1)
            }
        });
        let _ = write!(out, " <small>{nb} buys, {ns} sells</small></h3>");
        let markers = p
            .markers
            .iter()
            .filter_map(|m| {
                parse_day(&m.date).map(|mx| Marker {
                    x: mx,
                    y: m.price,
                    buy: m.side == Side::Buy,
                    title: format!(
                        "{} {} {} × {} on {}",
                        m.side.label(),
                        fmt_qty(m.quantity),
                        p.symbol,
                        money(m.price, cur, 2),
                        m.date
                    ),
                })
            })
            .collect();
        let spec = ChartSpec {
            id: format!("price-{i}"),
            height: 300.0,
            format: ValueFormat::Money,
            y_title: format!("Close ({cur}/share)"),
            lines: vec![Line {
                name: format!("{} close", p.symbol),
                color: PALETTE[(i + 1) % PALETTE.len()].to_string(),
                dates: &p.dates,
                x: x.clone(),
                y: p.close.clone(),
                dashed: false,
                fill: false,
                width: 1.3,
            }],
            markers,
            log_toggle: true,
            y_include: Vec::new(),
            x_range: None,
            legend: true,
            bands: Vec::new(),
        };
        out.push_str(&chart::render(&spec, &mut island, cur));
    }
    out.push_str("</section>");

    // ---- efficient frontier (portfolio reports only)
    if let Some(f) = &r.frontier {
        let mut hint = String::from(
            "Annualized expected return against annualized volatility: the line is the long-only efficient frontier (minimum volatility for each target return); each marker is a strategy's chosen portfolio under the same estimates. Hover a point for its values.",
        );
        if !f.description.trim().is_empty() {
            hint.push(' ');
            hint.push_str(&html(&f.description));
        }
        section_open(&mut out, "frontier", "Efficient frontier", &hint);
        if f.points.is_empty() && f.portfolios.is_empty() {
            out.push_str("<p class=\"empty\">No frontier data.</p>");
        } else {
            out.push_str(&chart::render_frontier(f, &mut island));
        }
        out.push_str("</section>");
    }

    // ---- monthly heatmap
    section_open(
        &mut out,
        "monthly",
        "Monthly returns",
        "Strategy return per calendar month in percent; the Year column compounds the months shown.",
    );
    if r.monthly_returns.is_empty() {
        out.push_str("<p class=\"empty\">No monthly returns.</p>");
    } else {
        let mut grid: BTreeMap<i16, [Option<f64>; 12]> = BTreeMap::new();
        for m in &r.monthly_returns {
            grid.entry(m.year).or_insert([None; 12])[(m.month - 1) as usize] = Some(m.ret);
        }
        let mut mags: Vec<f64> = r
            .monthly_returns
            .iter()
            .map(|m| m.ret.abs())
            .filter(|v| v.is_finite())
            .collect();
        mags.sort_by(f64::total_cmp);
        let scale = mags
            .get((mags.len().saturating_sub(1) * 95) / 100)
            .copied()
            .unwrap_or(0.1)
            .max(0.01);
        out.push_str("<div class=\"scroll\"><table class=\"heat\"><thead><tr><th>Year</th>");
        for m in [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ] {
            let _ = write!(out, "<th>{m}</th>");
        }
        out.push_str("<th class=\"yr\">Year</th></tr></thead><tbody>");
        let yearly = pulse_analytics::yearly_returns(&r.monthly_returns);
        for (year, months) in &grid {
            let _ = write!(out, "<tr><th scope=\"row\">{year}</th>");
            for v in months {
                match v {
                    Some(v) if v.is_finite() => {
                        let (bg, light) = diverging(*v, 0.0, scale);
                        let _ = write!(
                            out,
                            "<td style=\"background:{bg}{}\">{}</td>",
                            if light { ";color:#fff" } else { "" },
                            percent(*v, 1)
                        );
                    }
                    _ => out.push_str("<td class=\"na\"></td>"),
                }
            }
            let y = yearly
                .iter()
                .find(|y| y.year == *year)
                .map_or(0.0, |y| y.ret);
            let (bg, light) = diverging(y, 0.0, scale * 3.0);
            let _ = write!(
                out,
                "<td class=\"yr\" style=\"background:{bg}{}\">{}</td></tr>",
                if light { ";color:#fff" } else { "" },
                percent(y, 1)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");

    // ---- trades
    section_open(
        &mut out,
        "trades",
        "Trade list",
        &format!("Every fill; prices, notional and fees in {ccy}."),
    );
    if r.trades.is_empty() {
        out.push_str("<p class=\"empty\">No trades.</p>");
    } else {
        let (fees, notional) = r
            .trades
            .iter()
            .fold((0.0, 0.0), |(f, n), t| (f + t.fee, n + t.notional));
        let _ = write!(
            out,
            "<p class=\"hint\">{} trades · traded notional {} · fees {}</p><div class=\"scroll tall\"><table class=\"list\"><thead><tr><th>#</th><th>Date</th><th>Symbol</th><th>Side</th><th class=\"num\">Quantity</th><th class=\"num\">Price</th><th class=\"num\">Notional</th><th class=\"num\">Fee</th></tr></thead><tbody>",
            r.trades.len(),
            html(&money(notional, cur, 2)),
            html(&money(fees, cur, 2))
        );
        for (i, t) in r.trades.iter().enumerate() {
            let _ = write!(out, "<tr><td class=\"num\">{}</td><td>", i + 1);
            push_html(&mut out, &t.date);
            out.push_str("</td><td>");
            push_html(&mut out, &t.symbol);
            let side = t.side.label();
            let _ = write!(
                out,
                "</td><td class=\"{}\">{side}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                side.to_ascii_lowercase(),
                fmt_qty(t.quantity),
                html(&money(t.price, cur, 2)),
                html(&money(t.notional, cur, 2)),
                html(&money(t.fee, cur, 2))
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");

    // ---- alerts
    section_open(
        &mut out,
        "alerts",
        "Alerts",
        "Changes of target weights beyond the alert threshold.",
    );
    if r.alerts.is_empty() {
        out.push_str("<p class=\"empty\">No alerts.</p>");
    } else {
        out.push_str("<div class=\"scroll tall\"><table class=\"list\"><thead><tr><th>Date</th><th>Message</th><th>Old target</th><th>New target</th></tr></thead><tbody>");
        for a in &r.alerts {
            out.push_str("<tr><td>");
            push_html(&mut out, &a.date);
            out.push_str("</td><td>");
            push_html(&mut out, &a.message);
            out.push_str("</td><td>");
            push_html(&mut out, &weights_text(&a.old_weights));
            out.push_str("</td><td>");
            push_html(&mut out, &weights_text(&a.new_weights));
            out.push_str("</td></tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");

    // ---- risk
    if let Some(risk) = &r.risk {
        section_open(
            &mut out,
            "risk",
            "Risk",
            "The scale the risk layer put on the target weights at each close (1 = as the strategy asked, 0 = halted by the drawdown stop), every limit it enforced with its numbers, and its settings.",
        );
        if risk.dates.is_empty() {
            out.push_str("<p class=\"empty\">No leverage data.</p>");
        } else {
            let spec = ChartSpec {
                id: "risk-leverage".into(),
                height: 200.0,
                format: ValueFormat::Plain,
                y_title: "Leverage (× target)".into(),
                lines: vec![Line {
                    name: "leverage".into(),
                    color: PALETTE[0].to_string(),
                    dates: &risk.dates,
                    x: risk_x.clone(),
                    y: risk.leverage.clone(),
                    dashed: false,
                    fill: false,
                    width: 1.6,
                }],
                markers: Vec::new(),
                log_toggle: false,
                y_include: vec![0.0, 1.0],
                x_range,
                legend: false,
                bands: Vec::new(),
            };
            out.push_str(&chart::render(&spec, &mut island, cur));
        }
        if risk.events.is_empty() {
            out.push_str("<p class=\"empty\">No limit was hit.</p>");
        } else {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for e in &risk.events {
                *counts.entry(e.kind.as_str()).or_default() += 1;
            }
            out.push_str("<p>");
            let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            push_html(&mut out, &summary.join(" · "));
            out.push_str("</p><div class=\"scroll tall\"><table class=\"list\"><thead><tr><th>Date</th><th>Kind</th><th>What happened</th></tr></thead><tbody>");
            for e in &risk.events {
                out.push_str("<tr><td>");
                push_html(&mut out, &e.date);
                out.push_str("</td><td>");
                push_html(&mut out, &e.kind);
                out.push_str("</td><td>");
                push_html(&mut out, &e.message);
                out.push_str("</td></tr>");
            }
            out.push_str("</tbody></table></div>");
        }
        out.push_str("<pre class=\"config\"><code>");
        push_html(&mut out, &risk.config_toml);
        out.push_str("</code></pre></section>");
    }

    // ---- config
    section_open(
        &mut out,
        "config",
        "Configuration",
        "The strategy configuration used for this run (TOML).",
    );
    if r.config_toml.trim().is_empty() {
        out.push_str("<p class=\"empty\">No configuration recorded.</p>");
    } else {
        out.push_str("<pre class=\"config\"><code>");
        push_html(&mut out, &r.config_toml);
        out.push_str("</code></pre>");
    }
    out.push_str("</section></main>");

    // ---- data island + script
    let json = serde_json::to_string(&island)?;
    out.push_str("<script type=\"application/json\" id=\"report-data\">");
    out.push_str(&json_for_script(&json));
    out.push_str("</script><script>");
    out.push_str(JS);
    out.push_str("</script></body></html>\n");
    Ok(out)
}

/// The report's shaded periods as chart bands (spans whose dates do not parse are left out; the
/// model's dates come from the app layer).
fn shaded_bands(r: &BacktestReport) -> Vec<chart::Band> {
    r.shaded
        .iter()
        .filter_map(|s| {
            Some(chart::Band {
                x0: crate::time::parse_day(&s.from)?,
                x1: crate::time::parse_day(&s.to)?,
                label: s.label.clone(),
            })
        })
        .collect()
}

/// Charts drawn outside a report (the dashboard's pages): the blocks that `draw` renders with
/// [`chart::render`] into the island it is given, followed by the chart styles, the data island
/// and the hover script, so that the fragment works inside any page (one per page: the island's
/// element id is fixed).
pub fn embed_charts(
    currency: &str,
    draw: impl FnOnce(&mut Island) -> String,
) -> Result<String, ReportError> {
    let mut island = Island {
        currency: currency.to_string(),
        prefix: crate::scale::currency_prefix(currency),
        ..Island::default()
    };
    let mut out = String::from("<style>");
    out.push_str(CHART_CSS);
    out.push_str("</style>");
    out.push_str(&draw(&mut island));
    let json = serde_json::to_string(&island)?;
    out.push_str("<script type=\"application/json\" id=\"report-data\">");
    out.push_str(&json_for_script(&json));
    out.push_str("</script><script>");
    out.push_str(JS);
    out.push_str("</script>");
    Ok(out)
}
