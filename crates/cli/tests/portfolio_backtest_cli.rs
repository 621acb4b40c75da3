//! `pulse portfolio backtest` end to end on real ETF closes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::{import_shared_adjclose, pulse_db};

#[test]
fn walk_forward_compares_strategies_on_real_etfs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let pulse = |args: &[&str]| pulse_db(&db, args);
    import_shared_adjclose(&db, &["SPY", "TLT", "GLD", "IEF", "QQQ"]);
    let report = dir.path().join("wf.html");
    let out = pulse(&[
        "--json",
        "portfolio",
        "backtest",
        "--symbols",
        "SPY,TLT,GLD,IEF,QQQ",
        "--strategies",
        "min-vol,max-sharpe,hrp,equal",
        "--from",
        "2023-01-01",
        "--to",
        "2024-12-31",
        "--lookback",
        "126",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let strategies = j["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 4);
    let days = j["dates"].as_array().unwrap().len();
    assert_eq!(j["dates"][0], "2023-01-03");
    for s in strategies {
        let nav = s["nav"].as_array().unwrap();
        assert_eq!(nav.len(), days);
        assert_eq!(nav[0].as_f64().unwrap(), 100_000.0, "{}", s["name"]);
        // Monthly re-optimization over 24 months: at most one trading day per month (plus the
        // first allocation); months whose new weights stay inside the drift band trade nothing.
        let r = s["rebalances"].as_u64().unwrap();
        assert!((6..=25).contains(&r), "{}: {r} rebalancing days", s["name"]);
    }
    // Min-vol is the least volatile of the four, as it should be out of sample too.
    let vol = |n: &str| {
        strategies.iter().find(|s| s["name"] == n).unwrap()["metrics"]["volatility"]
            .as_f64()
            .unwrap()
    };
    assert!(vol("min-vol") < vol("equal") && vol("min-vol") < vol("max-sharpe"));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("Portfolio walk-forward") && !html.contains("https://"));

    // The efficient frontier of the last estimation window, with the four strategies marked.
    assert!(html.contains("<section id=\"frontier\"><h2>Efficient frontier</h2>"));
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    let island: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    let points = island["frontier"]["points"].as_array().unwrap();
    assert!(points.len() >= 10, "{} frontier points", points.len());
    let pts: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    // Sorted by return, and volatility rises with return along the efficient branch.
    assert!(
        pts.windows(2)
            .all(|w| w[0].1 <= w[1].1 && w[0].0 <= w[1].0 + 1e-9)
    );
    let marks = island["frontier"]["portfolios"].as_array().unwrap();
    assert_eq!(marks.len(), 4);
    let mark = |n: &str| {
        let m = marks.iter().find(|m| m["name"] == n).unwrap();
        (
            m["volatility"].as_f64().unwrap(),
            m["expected_return"].as_f64().unwrap(),
        )
    };
    let (mv, _) = mark("min-vol");
    for n in ["max-sharpe", "hrp", "equal"] {
        assert!(mv < mark(n).0, "min-vol {mv} vs {n} {:?}", mark(n));
    }
    // Min-vol optimized on exactly this window with the same estimates: it IS the frontier's
    // left end, and no marker lies to the left of (better than) the frontier.
    assert!(
        (mv - pts[0].0).abs() < 1e-6 * pts[0].0,
        "{mv} vs {:?}",
        pts[0]
    );
    for n in ["min-vol", "max-sharpe", "hrp", "equal"] {
        let (v, r) = mark(n);
        // The first frontier point at or beyond this volatility returns at least as much.
        if let Some(p) = pts.iter().find(|p| p.0 >= v - 1e-9) {
            assert!(
                r <= p.1 + 1e-6,
                "{n} ({v}, {r}) beats the frontier point {p:?}"
            );
        }
    }
}

/// `--csv DIR` exports every strategy's walk-forward replay: the NAV of each day as the JSON
/// reports it, the weights held and every fill.
#[test]
fn portfolio_backtest_csv_exports_each_strategys_nav_weights_and_fills() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    import_shared_adjclose(&db, &["SPY", "TLT", "GLD"]);
    let export = dir.path().join("export");
    let out = pulse_db(
        &db,
        &[
            "--json",
            "portfolio",
            "backtest",
            "--symbols",
            "SPY,TLT,GLD",
            "--strategies",
            "min-vol,equal",
            "--from",
            "2023-01-01",
            "--to",
            "2023-12-31",
            "--lookback",
            "126",
            "--csv",
            export.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["csv"].as_array().unwrap().len(), 3, "{}", j["csv"]);
    let rows = |name: &str| -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_path(export.join(name)).unwrap();
        r.records()
            .map(|x| x.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    let equity = rows("equity.csv");
    let trades = rows("trades.csv");
    let weights = rows("weights.csv");
    for s in j["strategies"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        let curve: Vec<f64> = equity
            .iter()
            .filter(|r| r[0] == name)
            .map(|r| r[2].parse().unwrap())
            .collect();
        let nav: Vec<f64> = s["nav"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(curve, nav, "{name}");
        assert!(
            trades.iter().filter(|r| r[0] == name).count() >= 3,
            "{name}"
        );
        assert!(weights.iter().any(|r| r[0] == name), "{name}");
    }
}
