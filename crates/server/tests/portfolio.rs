//! The dashboard's portfolio page over real HTTP with real ETF closes from the shared data:
//! optimized weights (and whole shares) from the API and the form, the walk-forward report, and
//! bad input answered 400 naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_server::Dashboard;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use serde_json::{Value, json};

const TOKEN: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

async fn start() -> (String, reqwest::Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = ["SPY", "TLT", "GLD"]
        .iter()
        .map(|n| pulse_testkit::shared_file(&format!("daily-adjclose/{n}.csv")))
        .collect();
    let store = common::store_with(&dir, &files).await;
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
    (base, http, dir)
}

#[tokio::test]
async fn the_portfolio_page_optimizes_allocates_and_compares_walk_forward() {
    let (base, http, _dir) = start().await;
    let optimize = |body: Value| {
        http.post(format!("{base}/api/portfolio/optimize"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .json(&body)
            .send()
    };
    let r = optimize(
        json!({"symbols": "SPY,TLT,GLD", "method": "min-vol", "returns": "mean",
                             "risk": "ledoit-wolf", "max_weight": "0.6", "cash": "100000"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let o: Value = r.json().await.unwrap();
    let weights: Vec<f64> = o["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .collect();
    assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-6, "{o}");
    assert!(
        weights.iter().all(|w| *w <= 0.6 + 1e-6),
        "the cap holds: {o}"
    );
    assert_eq!(o["shares"].as_array().unwrap().len(), 3);
    assert!(o["leftover"].as_f64().unwrap() >= 0.0);
    // Bad input names its field.
    for (body, field) in [
        (
            json!({"symbols": "SPY,SP Y", "method": "min-vol", "returns": "mean", "risk": "sample"}),
            "symbols",
        ),
        (
            json!({"symbols": "SPY,TLT", "method": "min-vol", "returns": "mean", "risk": "sample", "max_weight": "x"}),
            "max_weight",
        ),
        (
            json!({"symbols": "SPY,TLT", "method": "min-vol", "returns": "mean", "risk": "sample", "cash": "-5"}),
            "cash",
        ),
        (
            json!({"symbols": "SPY", "method": "min-vol", "returns": "mean", "risk": "sample"}),
            "symbols",
        ),
    ] {
        let r = optimize(body.clone()).await.unwrap();
        let status = r.status();
        let j: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {j}");
        assert_eq!(j["field"], field, "{body}: {j}");
    }

    // The browser forms.
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/portfolio"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::csrf_of(&page);
    let post = |path: &str, body: String| {
        http.post(format!("{base}{path}"))
            .header(COOKIE, &cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = post(
        "/portfolio",
        format!(
            "csrf={csrf}&symbols=SPY,TLT,GLD&method=hrp&returns=mean&risk=sample&max_weight=&cash="
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert_eq!(page.matches("class=\"num weight\"").count(), 3, "{page}");
    let r = post(
        "/portfolio/walk-forward",
        format!("csrf={csrf}&symbols=SPY,TLT,GLD&lookback=126&from=2023-01-01&to=2023-12-31"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let report = r.text().await.unwrap();
    assert!(report.contains("Portfolio walk-forward") && report.contains("Efficient frontier"));
    // Without the CSRF token: refused.
    let r = post(
        "/portfolio/walk-forward",
        "symbols=SPY,TLT&lookback=126".into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
