#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The "Parameter search" section: drawn only when set, values in the data island, names escaped,
//! heatmap cells coloured and labelled, shapes validated. The search is a real one: a long/flat
//! SMA-crossover on TSLA adj_close (shared data) over a grid of fast × slow windows and an
//! exposure fraction, scored by annualized Sharpe; walk-forward folds choose on one year and score
//! on the next.

mod common;

use std::collections::BTreeMap;

use pulse_report::*;
use serde_json::Value;

fn island(page: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = page.find(open).expect("data island") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("island parses as JSON")
}

/// Daily returns of holding `exposure` of TSLA while SMA(fast) > SMA(slow) at the previous close.
fn strategy_returns(px: &[f64], fast: usize, slow: usize, exposure: f64) -> Vec<f64> {
    let sma = |i: usize, n: usize| px[i + 1 - n..=i].iter().sum::<f64>() / n as f64;
    (slow..px.len())
        .map(|i| {
            let on = sma(i - 1, fast) > sma(i - 1, slow);
            if on {
                exposure * (px[i] / px[i - 1] - 1.0)
            } else {
                0.0
            }
        })
        .collect()
}

fn sharpe(r: &[f64]) -> Option<f64> {
    let n = r.len() as f64;
    let m = r.iter().sum::<f64>() / n;
    let v = r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (v > 0.0).then(|| m / v.sqrt() * 252f64.sqrt())
}

const FAST: [f64; 3] = [5.0, 10.0, 20.0];
const SLOW: [f64; 4] = [50.0, 100.0, 150.0, 200.0];
const EXPOSURE: [f64; 2] = [0.5, 1.0];

struct Search {
    section: SweepSection,
    /// (fast, slow) → best Sharpe over exposure.
    best: BTreeMap<(u64, u64), f64>,
}

fn search() -> Search {
    let (dates, px) = common::load_adj_close("TSLA");
    let mut rows = Vec::new();
    let mut number = 0;
    let mut best = BTreeMap::new();
    for &f in &FAST {
        for &s in &SLOW {
            for &e in &EXPOSURE {
                let r = strategy_returns(&px, f as usize, s as usize, e);
                let sh = sharpe(&r);
                let growth: f64 = r.iter().map(|x| 1.0 + x).product();
                let cagr = growth.powf(252.0 / r.len() as f64) - 1.0;
                let mut peak = 1.0f64;
                let mut eq = 1.0;
                let mut mdd = 0.0f64;
                for x in &r {
                    eq *= 1.0 + x;
                    peak = peak.max(eq);
                    mdd = mdd.min(eq / peak - 1.0);
                }
                let fills = r
                    .windows(2)
                    .filter(|w| (w[0] == 0.0) != (w[1] == 0.0))
                    .count() as f64;
                if let Some(sh) = sh {
                    let k = (f as u64, s as u64);
                    let b = best.entry(k).or_insert(f64::NEG_INFINITY);
                    *b = f64::max(*b, sh);
                }
                rows.push(SweepTrialRow {
                    number,
                    params: [
                        ("fast".into(), f),
                        ("slow".into(), s),
                        ("exposure".into(), e),
                    ]
                    .into_iter()
                    .collect(),
                    score: sh,
                    sharpe: sh,
                    cagr: Some(cagr),
                    max_drawdown: Some(mdd),
                    fills: Some(fills),
                });
                number += 1;
            }
        }
    }
    rows.sort_by(|a, b| {
        b.score
            .unwrap_or(f64::MIN)
            .total_cmp(&a.score.unwrap_or(f64::MIN))
    });
    rows.truncate(5);
    let cells = SLOW
        .iter()
        .map(|s| {
            FAST.iter()
                .map(|f| best.get(&(*f as u64, *s as u64)).copied())
                .collect()
        })
        .collect();
    // Walk-forward: choose (fast, slow) on the year before, score on the year after.
    let mut folds = Vec::new();
    for start in [1000usize, 1252] {
        let (train, test) = (start - 252..start, start..start + 252);
        let score_on = |range: std::ops::Range<usize>, f: f64, s: f64| {
            let r = strategy_returns(
                &px[range.start - 200..range.end],
                f as usize,
                s as usize,
                1.0,
            );
            sharpe(&r[200 - s as usize..]).unwrap_or(f64::NAN)
        };
        let mut pick = (f64::NEG_INFINITY, 0.0, 0.0);
        for &f in &FAST {
            for &s in &SLOW {
                let sc = score_on(train.clone(), f, s);
                if sc > pick.0 {
                    pick = (sc, f, s);
                }
            }
        }
        folds.push(WalkForwardFold {
            train_from: dates[train.start].clone(),
            train_to: dates[train.end - 1].clone(),
            test_from: dates[test.start].clone(),
            test_to: dates[test.end - 1].clone(),
            in_sample: Some(pick.0),
            out_of_sample: Some(score_on(test, pick.1, pick.2)).filter(|x| x.is_finite()),
            params: [("fast".into(), pick.1), ("slow".into(), pick.2)]
                .into_iter()
                .collect(),
        });
    }
    Search {
        section: SweepSection {
            objective: "sharpe".into(),
            method: "grid".into(),
            trials: number,
            window: format!("{}..{}", dates[0], dates[dates.len() - 1]),
            parameters: vec!["fast".into(), "slow".into(), "exposure".into()],
            top: rows,
            importance: vec![("fast".into(), 0.31), ("slow".into(), 0.52), ("exposure".into(), 0.0)],
            deflated_sharpe: Some(SweepStatistic {
                value: Some(0.42),
                explanation: "probability that the best Sharpe beats the best of 24 luck-only trials".into(),
            }),
            pbo: Some(SweepStatistic {
                value: None,
                explanation: "share of CSCV splits where the in-sample winner ranks below the median out-of-sample".into(),
            }),
            walk_forward: folds,
            heatmaps: vec![SweepHeatmap {
                x_name: "fast".into(),
                y_name: "slow".into(),
                x_values: FAST.to_vec(),
                y_values: SLOW.to_vec(),
                cells,
            }],
        },
        best,
    }
}

#[test]
fn section_is_absent_without_a_sweep() {
    let page = render_html(&common::real_report()).unwrap();
    assert!(!page.contains("id=\"sweep\""));
    assert!(!page.contains("href=\"#sweep\""));
    assert!(!page.contains("Parameter search"));
    assert!(island(&page).get("sweep").is_none());
    let json = to_json(&common::real_report()).unwrap();
    assert!(!json.contains("\"sweep\""));
}

#[test]
fn section_shows_tables_badges_importance_and_heatmap() {
    let Search { section, best } = search();
    let mut report = common::real_report();
    report.sample_label = SampleLabel::InSample;
    report.sweep = Some(section.clone());
    let page = render_html(&report).unwrap();
    assert!(page.contains("<section id=\"sweep\"><h2>Parameter search</h2>"));
    assert!(page.contains("<a href=\"#sweep\">Parameter search</a>"));
    assert!(page.find("id=\"sweep\"").unwrap() < page.find("id=\"metrics\"").unwrap());
    // Badges: the search results are in-sample, the walk-forward table out-of-sample.
    let sweep_html =
        &page[page.find("id=\"sweep\"").unwrap()..page.find("id=\"metrics\"").unwrap()];
    assert!(sweep_html.contains("<h3>Best trials <span class=\"badge in-sample\""));
    let wf = sweep_html.find("<h3>Walk-forward validation").unwrap();
    assert!(
        sweep_html[wf..]
            .starts_with("<h3>Walk-forward validation <span class=\"badge out-of-sample\"")
    );
    // Top table: one row per trial, the best score first, formatted to 3 decimals.
    let top = sweep_html.find("sweep-top").unwrap();
    let top_html = &sweep_html[top..top + sweep_html[top..].find("</table>").unwrap()];
    assert_eq!(top_html.matches("<tr").count(), 1 + section.top.len());
    let first = section.top[0].score.unwrap();
    assert!(
        top_html.contains(&format!("<td class=\"num\">{first:.3}</td>")),
        "{first}"
    );
    // Importance bars: one per parameter, widths proportional.
    assert_eq!(sweep_html.matches("class=\"imp-bar\"").count(), 3);
    assert!(sweep_html.contains(&format!("width=\"{:.1}\"", 420.0 * 0.52)));
    // DSR and PBO with their explanations; an undefined value shows a dash.
    assert!(sweep_html.contains("42.00%") || sweep_html.contains("42.00 %"));
    assert!(sweep_html.contains("luck-only trials"));
    assert!(sweep_html.contains("below the median out-of-sample"));
    // Walk-forward rows with their dates.
    for f in &section.walk_forward {
        assert!(sweep_html.contains(&format!("<td>{}..{}</td>", f.test_from, f.test_to)));
    }
    // Heatmap: axis labels, one cell per (fast, slow) with its value and a diverging colour.
    assert!(sweep_html.contains("slow ↓ / fast →"));
    let heat = &sweep_html[sweep_html.find("id=\"sweep-heat-0\"").unwrap()..];
    let heat = &heat[..heat.find("</table>").unwrap()];
    assert_eq!(heat.matches("<td data-ix=").count(), best.len());
    for ((f, s), v) in &best {
        let title = format!("title=\"fast {f}, slow {s}: sharpe {v:.3}\"");
        assert!(heat.contains(&title), "{title}");
    }
    let (hi_key, _) = best.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
    let hi_cell = heat
        .split("<td ")
        .find(|c| c.contains(&format!("fast {}, slow {}:", hi_key.0, hi_key.1)))
        .unwrap();
    // The best cell is the most saturated green (white text on a dark background).
    assert!(
        hi_cell.contains("background:#1a9850;color:#fff"),
        "{hi_cell}"
    );
    // The island carries the same numbers.
    let data = island(&page);
    let cells = &data["sweep"]["heatmaps"][0]["cells"];
    for (iy, s) in SLOW.iter().enumerate() {
        for (ix, f) in FAST.iter().enumerate() {
            let want = best.get(&(*f as u64, *s as u64)).copied();
            assert_eq!(cells[iy][ix].as_f64(), want);
        }
    }
    assert_eq!(
        data["sweep"]["top"][0]["score"].as_f64(),
        section.top[0].score
    );
    assert_eq!(data["sweep"]["trials"], 24);
    assert_eq!(
        data["sweep"]["walk_forward"][1]["out_of_sample"].as_f64(),
        section.walk_forward[1].out_of_sample
    );
    // JSON round trip keeps the section.
    let back = from_json(&to_json(&report).unwrap()).unwrap();
    assert_eq!(back.sweep, Some(section));
}

#[test]
fn names_are_escaped_and_survive_in_the_island() {
    let mut section = search().section;
    section.parameters[0] = "<b>fast</b>&".into();
    section.heatmaps[0].x_name = "<script>alert(1)</script>".into();
    section.objective = "sharpe\"'".into();
    section.pbo.as_mut().unwrap().explanation = "<img src=x onerror=alert(2)>".into();
    let mut report = common::real_report();
    report.sweep = Some(section);
    let page = render_html(&report).unwrap();
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(!page.contains("<img src=x"));
    assert!(!page.contains("<b>fast</b>&"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt;fast&lt;/b&gt;&amp;"));
    assert!(page.contains("sharpe&quot;&#39;"));
    let data = island(&page);
    assert_eq!(
        data["sweep"]["heatmaps"][0]["x_name"],
        "<script>alert(1)</script>"
    );
    assert_eq!(data["sweep"]["parameters"][0], "<b>fast</b>&");
}

#[test]
fn inconsistent_heatmaps_and_non_finite_values_are_rejected() {
    let good = search().section;
    let mut report = common::real_report();

    let mut s = good.clone();
    s.heatmaps[0].cells.pop();
    report.sweep = Some(s);
    let e = render_html(&report).unwrap_err().to_string();
    assert!(e.contains("sweep.heatmaps[0] (fast × slow).cells"), "{e}");

    let mut s = good.clone();
    s.heatmaps[0].cells[1].push(Some(1.0));
    report.sweep = Some(s);
    let e = render_html(&report).unwrap_err().to_string();
    assert!(e.contains("cells[1]"), "{e}");

    let mut s = good.clone();
    s.heatmaps[0].cells[2][0] = Some(f64::INFINITY);
    report.sweep = Some(s);
    assert!(render_html(&report).is_err());
    assert!(to_json(&report).is_err());

    let mut s = good;
    s.top[0].cagr = Some(f64::NAN);
    report.sweep = Some(s);
    let e = to_json(&report).unwrap_err().to_string();
    assert!(e.contains("sweep.top[0].cagr"), "{e}");
}

/// Issue #12 (reports): wide tables never overflow their card. With eight strategies (the
/// portfolio walk-forward report) and the sweep section, every table of the page sits in a box
/// that scrolls sideways (`.scroll`, overflow auto) or is a two-column table whose text wraps;
/// the metrics table wraps its headers and cells.
#[test]
fn wide_tables_scroll_or_wrap_inside_their_card() {
    let Search { section, .. } = search();
    let mut report = common::real_report();
    report.sweep = Some(section);
    let first = report.metrics[0].clone();
    report.metrics = (0..8)
        .map(|i| MetricsRow {
            name: format!("a rather long strategy name {i}"),
            ..first.clone()
        })
        .collect();
    let page = render_html(&report).unwrap();
    let css = |rule: &str| assert!(page.contains(rule), "stylesheet lacks {rule}");
    css(".scroll{overflow:auto}");
    css("table.metrics td{white-space:normal}");
    css("table.metrics thead th{white-space:normal;");
    css("table.sweep-stats td{white-space:normal;");
    let mut tables = 0;
    for (at, _) in page.match_indices("<table") {
        tables += 1;
        let before = &page[..at];
        let tag = &page[at..at + page[at..].find('>').unwrap()];
        let in_scroll = before.ends_with("<div class=\"scroll\">")
            || before.ends_with("<div class=\"scroll tall\">");
        assert!(
            in_scroll || tag.contains("sweep-stats"),
            "a table outside a scrolling box: {tag}"
        );
    }
    assert!(tables >= 6, "{tables} tables");
    assert!(page.contains("a rather long strategy name 7"));
}
