//! The pipeline's analysis table on the dashboard: with no run stored the page says how to make
//! one and the API answers 404; after a run (a manual sheet in KRW, no broker) the API returns
//! the stored table and the page shows it per class, per asset and per holding, laid out for a
//! phone; a bad date is a 400 naming the field; nothing without the token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_app::pipeline::{ManualSheet, PipelineRequest};
use pulse_server::Dashboard;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::Value;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn the_pipeline_page_and_api_show_the_stored_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::store_with(&dir, &[pulse_testkit::bundle_dir().join("TSLA.csv")]).await;
    let (base, http) = common::serve(Dashboard::new(store.clone(), TOKEN.into())).await;
    let api = |query: &str| {
        http.get(format!("{base}/api/pipeline{query}"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .send()
    };
    assert_eq!(
        http.get(format!("{base}/api/pipeline"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(api("").await.unwrap().status(), StatusCode::NOT_FOUND);
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = |query: &'static str| {
        let (http, base, cookie) = (http.clone(), base.clone(), cookie.clone());
        async move {
            http.get(format!("{base}/pipeline{query}"))
                .header(COOKIE, cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(page("").await.contains("id=\"no-run\""));

    // A run on 2024-03-04 (Seoul) with two KRW assets from a sheet, no broker.
    pulse_app::rebalance::clock(
        &store,
        Some(pulse_app::rebalance::ClockChange::Set(
            "2024-03-04T03:00:00Z".parse().unwrap(),
        )),
    )
    .await
    .unwrap();
    let sheet = "asset,class,currency,quantity,price,date,cost\n\
Gold bar,commodity,KRW,2,\"1,000,000\",2024-03-01,1500000\n\
Deposit,cash,KRW,1,3000000,2024-03-01,\n";
    let none: Option<&pulse_execution::NoBroker> = None;
    pulse_app::pipeline::run(
        &store,
        none,
        &PipelineRequest {
            manual: Some(ManualSheet {
                source: "sheet.csv".into(),
                text: sheet.into(),
            }),
            ..PipelineRequest::default()
        },
    )
    .await
    .unwrap();

    let v: Value = api("").await.unwrap().json().await.unwrap();
    let a = &v["analysis"];
    assert_eq!(a["date"], "2024-03-04");
    // 2 × 1,000,000 + 3,000,000 = 5,000,000 KRW; the gold's P&L 2,000,000 − 1,500,000.
    assert_eq!(a["total"]["value_krw"].as_f64().unwrap(), 5_000_000.0);
    let gold = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["asset"] == "Gold bar")
        .unwrap();
    assert_eq!(gold["pnl_krw"].as_f64().unwrap(), 500_000.0);
    assert!((gold["weight"].as_f64().unwrap() - 0.4).abs() < 1e-12);
    assert_eq!(v["dates"], serde_json::json!(["2024-03-04"]));
    assert_eq!(
        api("?date=2024-03-04").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        api("?date=2024-03-05").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let r = api("?date=March").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["field"], "date");

    let html = page("").await;
    for needle in [
        "Portfolio on 2024-03-04",
        "id=\"classes\"",
        "id=\"assets\"",
        "id=\"holdings\"",
        "Gold bar",
        "5,000,000",
        "+33.33%",
        "name=\"viewport\"",
        "@media (max-width:640px)",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
}
