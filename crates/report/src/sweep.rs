//! The "Parameter search" section: top trials (IN-SAMPLE), importance bars, deflated Sharpe and
//! PBO, walk-forward folds (OUT-OF-SAMPLE) and one heatmap per parameter pair.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::error::ReportError;
use crate::escape::{html, push_html};
use crate::html::diverging;
use crate::model::SweepSection;
use crate::scale::{percent, thousands};

const IN_SAMPLE: &str = "<span class=\"badge in-sample\" title=\"chosen and scored on the same data: optimistic by construction\">IN-SAMPLE</span>";
const OUT_OF_SAMPLE: &str = "<span class=\"badge out-of-sample\" title=\"scored on data not used to choose the parameters\">OUT-OF-SAMPLE</span>";

fn finite_opt(field: String, v: Option<f64>) -> Result<(), ReportError> {
    match v {
        Some(x) if !x.is_finite() => Err(ReportError::NonFinite {
            field,
            index: 0,
            value: x,
        }),
        _ => Ok(()),
    }
}

/// Checks heatmap shapes and that every number present is finite.
pub(crate) fn validate(s: &SweepSection) -> Result<(), ReportError> {
    for (i, h) in s.heatmaps.iter().enumerate() {
        let field = format!("sweep.heatmaps[{i}] ({} × {})", h.x_name, h.y_name);
        for (axis, values) in [("x_values", &h.x_values), ("y_values", &h.y_values)] {
            if let Some(k) = values.iter().position(|v| !v.is_finite()) {
                return Err(ReportError::NonFinite {
                    field: format!("{field}.{axis}"),
                    index: k,
                    value: values[k],
                });
            }
        }
        if h.cells.len() != h.y_values.len() {
            return Err(ReportError::LengthMismatch {
                field: format!("{field}.cells (rows = y_values)"),
                actual: h.cells.len(),
                expected: h.y_values.len(),
            });
        }
        for (iy, row) in h.cells.iter().enumerate() {
            if row.len() != h.x_values.len() {
                return Err(ReportError::LengthMismatch {
                    field: format!("{field}.cells[{iy}] (columns = x_values)"),
                    actual: row.len(),
                    expected: h.x_values.len(),
                });
            }
            if let Some(ix) = row.iter().position(|c| c.is_some_and(|v| !v.is_finite())) {
                return Err(ReportError::NonFinite {
                    field: format!("{field}.cells[{iy}]"),
                    index: ix,
                    value: row[ix].unwrap_or(f64::NAN),
                });
            }
        }
    }
    for (i, t) in s.top.iter().enumerate() {
        for (name, v) in [
            ("score", t.score),
            ("sharpe", t.sharpe),
            ("cagr", t.cagr),
            ("max_drawdown", t.max_drawdown),
            ("fills", t.fills),
        ] {
            finite_opt(format!("sweep.top[{i}].{name}"), v)?;
        }
        for (k, v) in &t.params {
            finite_opt(format!("sweep.top[{i}].params.{k}"), Some(*v))?;
        }
    }
    for (i, (name, v)) in s.importance.iter().enumerate() {
        finite_opt(format!("sweep.importance[{i}] ({name})"), Some(*v))?;
    }
    for (name, st) in [("deflated_sharpe", &s.deflated_sharpe), ("pbo", &s.pbo)] {
        finite_opt(format!("sweep.{name}"), st.as_ref().and_then(|x| x.value))?;
    }
    for (i, f) in s.walk_forward.iter().enumerate() {
        finite_opt(format!("sweep.walk_forward[{i}].in_sample"), f.in_sample)?;
        finite_opt(
            format!("sweep.walk_forward[{i}].out_of_sample"),
            f.out_of_sample,
        )?;
        for (k, v) in &f.params {
            finite_opt(format!("sweep.walk_forward[{i}].params.{k}"), Some(*v))?;
        }
    }
    Ok(())
}

/// A parameter value: integers without decimals, others with up to 4.
fn pval(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').to_string()
    }
}

fn score(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => thousands(x, 3),
        _ => "—".into(),
    }
}

fn pct(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => percent(x, 2),
        _ => "—".into(),
    }
}

fn params_text(names: &[String], params: &BTreeMap<String, f64>) -> String {
    let mut parts: Vec<String> = names
        .iter()
        .filter_map(|n| params.get(n).map(|v| format!("{n} {}", pval(*v))))
        .collect();
    parts.extend(
        params
            .iter()
            .filter(|(k, _)| !names.contains(k))
            .map(|(k, v)| format!("{k} {}", pval(*v))),
    );
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(" · ")
    }
}

fn importance_chart(out: &mut String, importance: &[(String, f64)]) {
    const ROW: f64 = 26.0;
    const LABEL: f64 = 180.0;
    const BAR: f64 = 420.0;
    let h = ROW * importance.len() as f64 + 8.0;
    let _ = write!(
        out,
        "<svg class=\"importance\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Parameter importance\">",
        w = LABEL + BAR + 70.0
    );
    for (i, (name, v)) in importance.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let frac = v.clamp(0.0, 1.0);
        let _ = write!(
            out,
            "<g class=\"imp-bar\"><title>{}: {}</title><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text><rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{BAR}\" height=\"{:.1}\" fill=\"#f1f3f5\"/><rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#1c7ed6\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text></g>",
            html(name),
            percent(*v, 1),
            LABEL - 8.0,
            y + ROW * 0.62,
            html(name),
            y + 3.0,
            ROW - 6.0,
            y + 3.0,
            BAR * frac,
            ROW - 6.0,
            LABEL + BAR + 6.0,
            y + ROW * 0.62,
            percent(*v, 1)
        );
    }
    out.push_str("</svg>");
}

/// Appends the section (validated beforehand by [`validate`]).
pub(crate) fn render(out: &mut String, s: &SweepSection) {
    let objective = html(&s.objective);
    crate::html::section_open(
        out,
        "sweep",
        "Parameter search",
        &format!(
            "{} {} trials ({}) maximizing <b>{objective}</b>{}. The equity, metrics and trades below use the best trial's parameters on the same data, so they are IN-SAMPLE too.",
            IN_SAMPLE,
            s.trials,
            html(&s.method),
            if s.window.trim().is_empty() {
                String::new()
            } else {
                format!(" over {}", html(&s.window))
            }
        ),
    );

    // ---- top trials
    let _ = write!(
        out,
        "<h3>Best trials {IN_SAMPLE}</h3><p class=\"hint\">Chosen and scored on the same data: the best of many trials looks better than it will trade.</p>"
    );
    if s.top.is_empty() {
        out.push_str("<p class=\"empty\">No finished trials.</p>");
    } else {
        out.push_str("<div class=\"scroll\"><table class=\"list sweep-top\"><thead><tr><th>#</th><th>Trial</th>");
        for n in &s.parameters {
            out.push_str("<th class=\"num\">");
            push_html(out, n);
            out.push_str("</th>");
        }
        let _ = write!(
            out,
            "<th class=\"num\">Score ({objective})</th><th class=\"num\">Sharpe</th><th class=\"num\">CAGR</th><th class=\"num\">Max drawdown</th><th class=\"num\">Fills</th></tr></thead><tbody>"
        );
        for (i, t) in s.top.iter().enumerate() {
            let _ = write!(
                out,
                "<tr{}><td class=\"num\">{}</td><td class=\"num\">{}</td>",
                if i == 0 { " class=\"best\"" } else { "" },
                i + 1,
                t.number
            );
            for n in &s.parameters {
                let _ = write!(
                    out,
                    "<td class=\"num\">{}</td>",
                    t.params.get(n).map_or("—".into(), |v| pval(*v))
                );
            }
            let _ = write!(
                out,
                "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                score(t.score),
                score(t.sharpe),
                pct(t.cagr),
                pct(t.max_drawdown),
                t.fills
                    .filter(|f| f.is_finite())
                    .map_or("—".into(), |f| thousands(f, 0))
            );
        }
        out.push_str("</tbody></table></div>");
    }

    // ---- importance
    out.push_str("<h3>Parameter importance</h3><p class=\"hint\">Share of the variance of the score explained by each parameter alone (ε², bias-corrected; 0 % = no effect beyond noise).</p>");
    if s.importance.is_empty() {
        out.push_str("<p class=\"empty\">Not enough trials.</p>");
    } else {
        importance_chart(out, &s.importance);
    }

    // ---- overfitting statistics
    out.push_str("<h3>Overfitting statistics</h3><table class=\"list sweep-stats\"><tbody>");
    for (label, st) in [
        ("Deflated Sharpe ratio", &s.deflated_sharpe),
        ("Probability of backtest overfitting", &s.pbo),
    ] {
        out.push_str("<tr><th scope=\"row\">");
        out.push_str(label);
        match st {
            Some(st) => {
                let _ = write!(
                    out,
                    "</th><td class=\"num\">{}</td><td>{}</td></tr>",
                    pct(st.value),
                    html(&st.explanation)
                );
            }
            None => out.push_str("</th><td class=\"num\">—</td><td>not computed</td></tr>"),
        }
    }
    out.push_str("</tbody></table>");

    // ---- walk-forward
    if !s.walk_forward.is_empty() {
        let _ = write!(
            out,
            "<h3>Walk-forward validation {OUT_OF_SAMPLE}</h3><p class=\"hint\">On each fold the search picks the best parameters on the training window (in-sample score) and trades them unchanged on the following test window (out-of-sample score). A large drop from in-sample to out-of-sample means the search mostly fitted noise.</p>"
        );
        let _ = write!(
            out,
            "<div class=\"scroll\"><table class=\"list sweep-wf\"><thead><tr><th>Fold</th><th>Train</th><th>Test</th><th class=\"num\">In-sample {objective}</th><th class=\"num\">Out-of-sample {objective}</th><th>Chosen parameters</th></tr></thead><tbody>"
        );
        for (i, f) in s.walk_forward.iter().enumerate() {
            let _ = write!(
                out,
                "<tr><td class=\"num\">{}</td><td>{}..{}</td><td>{}..{}</td><td class=\"num\">{}</td><td class=\"num oos\">{}</td><td>{}</td></tr>",
                i + 1,
                html(&f.train_from),
                html(&f.train_to),
                html(&f.test_from),
                html(&f.test_to),
                score(f.in_sample),
                score(f.out_of_sample),
                html(&params_text(&s.parameters, &f.params))
            );
        }
        out.push_str("</tbody></table></div>");
    }

    // ---- heatmaps
    for (k, h) in s.heatmaps.iter().enumerate() {
        let values: Vec<f64> = h.cells.iter().flatten().filter_map(|c| *c).collect();
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let centre = if lo.is_finite() && lo < 0.0 && hi > 0.0 {
            0.0
        } else if lo.is_finite() {
            (lo + hi) / 2.0
        } else {
            0.0
        };
        let scale = values
            .iter()
            .map(|v| (v - centre).abs())
            .fold(0.0, f64::max);
        let (xn, yn) = (html(&h.x_name), html(&h.y_name));
        let _ = write!(
            out,
            "<h3>{objective}: {yn} × {xn} {IN_SAMPLE}</h3><p class=\"hint\">Best {objective} over the other parameters for each pair of values (empty = no trial). Green above, red below {}; white at that value.</p>",
            if centre == 0.0 {
                "0".to_string()
            } else {
                format!("the middle of the range ({})", thousands(centre, 3))
            }
        );
        let _ = write!(
            out,
            "<div class=\"scroll\"><table class=\"heat sweep-heat\" id=\"sweep-heat-{k}\"><thead><tr><th class=\"corner\">{yn} ↓ / {xn} →</th>"
        );
        for x in &h.x_values {
            let _ = write!(out, "<th>{}</th>", pval(*x));
        }
        out.push_str("</tr></thead><tbody>");
        for (iy, (y, row)) in h.y_values.iter().zip(&h.cells).enumerate() {
            let _ = write!(out, "<tr><th scope=\"row\">{}</th>", pval(*y));
            for (ix, c) in row.iter().enumerate() {
                match c {
                    Some(v) => {
                        let (bg, light) = diverging(*v, centre, scale);
                        let _ = write!(
                            out,
                            "<td data-ix=\"{ix}\" data-iy=\"{iy}\" style=\"background:{bg}{}\" title=\"{xn} {}, {yn} {}: {objective} {}\">{}</td>",
                            if light { ";color:#fff" } else { "" },
                            pval(h.x_values[ix]),
                            pval(*y),
                            thousands(*v, 3),
                            thousands(*v, 2)
                        );
                    }
                    None => out.push_str("<td class=\"na\"></td>"),
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
}
