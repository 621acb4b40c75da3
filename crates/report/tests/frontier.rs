#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The efficient-frontier section: drawn only when present, values in the data island, names
//! escaped, JSON round trip. The frontier is the exact two-asset curve of TSLA/TSLL daily returns
//! from the shared data (annualized mean and covariance), swept over the weight of TSLA.

mod common;

use pulse_report::*;
use serde_json::Value;

fn island(page: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = page.find(open).expect("data island") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("island parses as JSON")
}

/// Two-asset frontier from real prices: (points, [(name, vol, ret)] for 100 % TSLA and 100 % TSLL).
fn two_asset_frontier() -> FrontierChart {
    let (_, tsla, tsll) = common::aligned();
    let rets = |p: &[f64]| -> Vec<f64> { p.windows(2).map(|w| w[1] / w[0] - 1.0).collect() };
    let (a, b) = (rets(&tsla), rets(&tsll));
    let n = a.len() as f64;
    let mean = |x: &[f64]| x.iter().sum::<f64>() / n;
    let (ma, mb) = (mean(&a), mean(&b));
    let cov = |x: &[f64], mx: f64, y: &[f64], my: f64| {
        x.iter()
            .zip(y)
            .map(|(p, q)| (p - mx) * (q - my))
            .sum::<f64>()
            / (n - 1.0)
            * 252.0
    };
    let (saa, sbb, sab) = (
        cov(&a, ma, &a, ma),
        cov(&b, mb, &b, mb),
        cov(&a, ma, &b, mb),
    );
    let (mua, mub) = (ma * 252.0, mb * 252.0);
    let point = |w: f64| {
        let v = w * w * saa + (1.0 - w) * (1.0 - w) * sbb + 2.0 * w * (1.0 - w) * sab;
        (v.sqrt(), w * mua + (1.0 - w) * mub)
    };
    let mut points: Vec<(f64, f64)> = (0..=20).map(|k| point(k as f64 / 20.0)).collect();
    points.sort_by(|p, q| p.1.total_cmp(&q.1));
    let (va, ra) = point(1.0);
    let (vb, rb) = point(0.0);
    FrontierChart {
        description: "TSLA/TSLL <daily> sample estimates".into(),
        points,
        portfolios: vec![
            MarkedPortfolio {
                name: "all TSLA".into(),
                volatility: va,
                expected_return: ra,
            },
            MarkedPortfolio {
                name: "<script>alert(1)</script> & TSLL".into(),
                volatility: vb,
                expected_return: rb,
            },
        ],
    }
}

#[test]
fn frontier_section_is_drawn_with_exact_hover_values() {
    let frontier = two_asset_frontier();
    let mut report = common::real_report();
    report.frontier = Some(frontier.clone());
    let page = render_html(&report).unwrap();
    assert!(page.contains("<section id=\"frontier\"><h2>Efficient frontier</h2>"));
    assert!(page.contains("<a href=\"#frontier\">"));
    // The frontier section sits before the monthly heatmap.
    assert!(page.find("id=\"frontier\"").unwrap() < page.find("id=\"monthly\"").unwrap());
    assert!(page.contains("Volatility (annualized, %)"));
    assert!(page.contains("Expected return (annualized, %)"));
    assert_eq!(
        page.matches("class=\"frontier-pt\"").count(),
        frontier.points.len()
    );
    assert_eq!(page.matches("class=\"frontier-mark\"").count(), 2);
    let data = island(&page);
    let pts = data["frontier"]["points"].as_array().unwrap();
    assert_eq!(pts.len(), frontier.points.len());
    for (p, (v, r)) in pts.iter().zip(&frontier.points) {
        assert_eq!(p[0].as_f64().unwrap(), *v);
        assert_eq!(p[1].as_f64().unwrap(), *r);
    }
    let marks = data["frontier"]["portfolios"].as_array().unwrap();
    assert_eq!(marks[0]["name"], "all TSLA");
    assert_eq!(
        marks[1]["volatility"].as_f64().unwrap(),
        frontier.portfolios[1].volatility
    );
    // Hover titles carry the values as percentages.
    let title = format!(
        "all TSLA: volatility {:.2}%, expected return {:.2}%",
        frontier.portfolios[0].volatility * 100.0,
        frontier.portfolios[0].expected_return * 100.0
    );
    assert!(page.contains(&title), "{title}");
}

#[test]
fn frontier_names_are_escaped() {
    let mut report = common::real_report();
    report.frontier = Some(two_asset_frontier());
    let page = render_html(&report).unwrap();
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; TSLL"));
    assert!(page.contains("TSLA/TSLL &lt;daily&gt; sample estimates"));
    // Inside the island the name survives verbatim once parsed.
    let data = island(&page);
    assert_eq!(
        data["frontier"]["portfolios"][1]["name"],
        "<script>alert(1)</script> & TSLL"
    );
}

#[test]
fn frontier_is_absent_when_none_and_old_json_still_parses() {
    let report = common::real_report();
    assert!(report.frontier.is_none());
    let page = render_html(&report).unwrap();
    assert!(!page.contains("id=\"frontier\""));
    assert!(!page.contains("#frontier"));
    assert!(island(&page).get("frontier").is_none());
    // JSON written before the field existed has no "frontier" key.
    let json = to_json(&report).unwrap();
    assert!(!json.contains("\"frontier\""));
    assert_eq!(from_json(&json).unwrap(), report);
    // With a frontier, the round trip is lossless.
    let mut with = report.clone();
    with.frontier = Some(two_asset_frontier());
    assert_eq!(from_json(&to_json(&with).unwrap()).unwrap(), with);
}

#[test]
fn non_finite_frontier_values_are_errors_naming_the_field() {
    let mut report = common::real_report();
    let mut f = two_asset_frontier();
    f.portfolios[0].expected_return = f64::NAN;
    report.frontier = Some(f);
    let err = render_html(&report).unwrap_err().to_string();
    assert!(err.contains("frontier.portfolios[0] (all TSLA)"), "{err}");
}
