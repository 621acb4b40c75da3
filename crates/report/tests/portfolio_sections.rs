#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The parts of the page a portfolio walk-forward report leans on (issue 12): a weights section
//! naming the strategy it shows, a cash panel whose axis is not stretched by rounding noise, and
//! frontier labels that neither overlap nor repeat for portfolios drawn at the same spot.

mod common;

use pulse_report::*;

/// `(x, y, anchor_end, text)` of every frontier label of a rendered page.
fn frontier_labels(page: &str) -> Vec<(f64, f64, bool, String)> {
    let open = "<text class=\"frontier-label\" ";
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(i) = rest.find(open) {
        let tag = &rest[i + open.len()..];
        let attr = |name: &str| -> String {
            let k = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            tag[k..k + tag[k..].find('"').unwrap()].to_string()
        };
        let body = &tag[tag.find('>').unwrap() + 1..];
        let text = body[..body.find("</text>").unwrap()].to_string();
        out.push((
            attr("x").parse().unwrap(),
            attr("y").parse().unwrap(),
            attr("text-anchor") == "end",
            text,
        ));
        rest = &tag[1..];
    }
    out
}

/// Box of a label: 7 units per character of 12.5 px bold text, 11 above the baseline and 3 below
/// (an estimate made independently of the renderer's, and no larger).
fn label_box(&(x, y, end, ref text): &(f64, f64, bool, String)) -> [f64; 4] {
    let w = text.chars().count() as f64 * 7.0;
    let (x0, x1) = if end { (x - w, x) } else { (x, x + w) };
    [x0, y - 11.0, x1, y + 3.0]
}

fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

fn mark(name: &str, volatility: f64, expected_return: f64) -> MarkedPortfolio {
    MarkedPortfolio {
        name: name.into(),
        volatility,
        expected_return,
    }
}

#[test]
fn crowded_frontier_labels_do_not_overlap_and_coincident_portfolios_share_one() {
    // The eight walk-forward strategies as they land on a real last window: the forecast variants
    // of min-vol and HRP hold the same weights as their bases (same spot), and the rest crowd the
    // middle of the curve.
    let points: Vec<(f64, f64)> = (0..25)
        .map(|k| {
            let r = 0.04 + 0.01 * k as f64;
            (
                0.06 + 0.5 * (r - 0.04) * (r - 0.04) / 0.1 + 0.02 * (r - 0.04),
                r,
            )
        })
        .collect();
    let portfolios = vec![
        mark("min-vol", 0.0610, 0.0410),
        mark("max-sharpe", 0.1090, 0.1610),
        mark("hrp", 0.0790, 0.0800),
        mark("blend", 0.0905, 0.1150),
        mark("min-vol-forecast", 0.0610, 0.0410),
        mark("max-sharpe-forecast", 0.1110, 0.1640),
        mark("hrp-forecast", 0.0790, 0.0800),
        mark("blend-forecast", 0.0920, 0.1190),
    ];
    let mut report = common::real_report();
    report.frontier = Some(FrontierChart {
        description: "crowded".into(),
        points,
        portfolios: portfolios.clone(),
    });
    let page = render_html(&report).unwrap();
    // Every portfolio keeps its marker and hover title.
    assert_eq!(page.matches("class=\"frontier-mark\"").count(), 8);
    let labels = frontier_labels(&page);
    let texts: Vec<&str> = labels.iter().map(|l| l.3.as_str()).collect();
    assert_eq!(labels.len(), 6, "{texts:?}");
    assert!(texts.contains(&"min-vol, min-vol-forecast"), "{texts:?}");
    assert!(texts.contains(&"hrp, hrp-forecast"), "{texts:?}");
    // Each name is written once.
    for p in &portfolios {
        let n = texts
            .iter()
            .filter(|t| t.split(", ").any(|x| x == p.name))
            .count();
        assert_eq!(n, 1, "{} in {texts:?}", p.name);
    }
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            assert!(
                !overlaps(label_box(a), label_box(b)),
                "{:?} overlaps {:?}",
                a,
                b
            );
        }
    }
}

#[test]
fn weights_section_names_the_strategy_it_shows() {
    let mut report = common::real_report();
    let page = render_html(&report).unwrap();
    assert!(page.contains("<h2>Target vs actual weights</h2>"));
    report.weights.strategy = "min-vol <fx>".into();
    let page = render_html(&report).unwrap();
    assert!(
        page.contains("<h2>Target vs actual weights: min-vol &lt;fx&gt;</h2>"),
        "weights heading"
    );
    assert!(page.contains("The weights of min-vol &lt;fx&gt; only"));
    // The JSON model carries it; a report without it reads back with an empty name.
    let json = to_json(&report).unwrap();
    assert!(json.contains("\"strategy\": \"min-vol <fx>\""));
    report.weights.strategy.clear();
    assert!(!to_json(&report).unwrap().contains("\"strategy\""));
}

/// Tick labels of the weights panel titled `title`.
fn panel_ticks(page: &str, title: &str) -> Vec<String> {
    let sec = &page[page.find("<section id=\"weights\">").unwrap()..];
    let sec = &sec[..sec.find("</section>").unwrap()];
    let panel = &sec[sec.find(&format!("<h3>{title}</h3>")).unwrap()..];
    let panel = &panel[..panel.find("</svg>").unwrap()];
    panel
        .split("class=\"yt\"")
        .skip(1)
        .map(|t| {
            let t = &t[t.find('>').unwrap() + 1..];
            t[..t.find('<').unwrap()].to_string()
        })
        .collect()
}

#[test]
fn fully_invested_cash_panel_keeps_a_zero_to_one_axis() {
    let mut report = common::real_report();
    // Fully invested rows whose sum is 1 only up to rounding: 0.33 + 0.56 + 0.11 = 1 + 2.2e-16.
    let w = &mut report.weights;
    w.symbols = vec!["A".into(), "B".into(), "C".into()];
    let row = vec![0.33, 0.56, 0.11];
    assert!(1.0 - row.iter().sum::<f64>() < 0.0);
    w.target = vec![row.clone(); w.dates.len()];
    w.actual = vec![row; w.dates.len()];
    let page = render_html(&report).unwrap();
    let ticks = panel_ticks(&page, "Cash");
    assert_eq!(ticks.first().map(String::as_str), Some("0%"), "{ticks:?}");
    assert!(!ticks.iter().any(|t| t.starts_with('-')), "{ticks:?}");
    assert_eq!(ticks.last().map(String::as_str), Some("100%"), "{ticks:?}");
}
