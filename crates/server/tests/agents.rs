//! The agents page and API on real daily closes (AAPL, MSFT, JPM from `daily-adjclose`): the
//! ensemble's decision at the last bar, its score recomputed from the weights and signals, bad
//! query fields named, nothing without the token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_server::Dashboard;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::Value;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn the_agents_decision_at_the_last_bar() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<_> = ["AAPL", "MSFT", "JPM"]
        .iter()
        .map(|t| pulse_testkit::shared_file(&format!("daily-adjclose/{t}.csv")))
        .collect();
    // The bundled TSLA ends on 2025-09-29, before the others.
    files.push(pulse_testkit::bundle_dir().join("TSLA.csv"));
    let store = common::store_with(&dir, &files).await;
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
    let url = format!("{base}/api/agents/signal?symbols=AAPL,MSFT,JPM&threshold=0.3");
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {TOKEN}");
    let r = http
        .get(&url)
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["as_of"], "2026-08-03");
    assert_eq!(v["threshold"], 0.3);
    let weights = v["weights"].as_object().unwrap();
    assert_eq!(weights.keys().collect::<Vec<_>>(), ["factor", "technical"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert_eq!(row["weights"], v["weights"], "same last bar, same weights");
        let mut score = 0.0;
        for (kind, s) in row["signals"].as_object().unwrap() {
            let d = match s["action"].as_str().unwrap() {
                "buy" => 1.0,
                "sell" => -1.0,
                _ => 0.0,
            };
            score += weights[kind].as_f64().unwrap() * s["confidence"].as_f64().unwrap() * d;
        }
        assert!(
            (score - row["score"].as_f64().unwrap()).abs() < 1e-12,
            "{row}"
        );
    }
    // Bad fields are named.
    for (query, field) in [
        ("symbols=AAPL&agents=dqn", "agents"),
        ("symbols=AAPL&agents=magic", "agents"),
        ("symbols=AAPL&threshold=1.5", "threshold"),
        ("symbols=BAD%20SYMBOL", "symbols"),
        ("symbols=", "symbols"),
    ] {
        let r = http
            .get(format!("{base}/api/agents/signal?{query}"))
            .header(AUTHORIZATION, &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["field"], field, "{query}: {e}");
    }
    // The page: the form alone, then the table.
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = |q: &'static str| {
        let http = http.clone();
        let cookie = cookie.clone();
        let base = base.clone();
        async move {
            http.get(format!("{base}/agents{q}"))
                .header(COOKIE, &cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let empty = page("").await;
    assert!(empty.contains("name=\"symbols\"") && !empty.contains("id=\"signals\""));
    let full = page("?symbols=AAPL,MSFT&threshold=0.3").await;
    assert!(full.contains("id=\"signals\""), "{full}");
    assert!(full.contains("data-symbol=\"AAPL\"") && full.contains("data-symbol=\"MSFT\""));
    assert!(full.contains("As of 2026-08-03"));
    assert!(!full.contains("id=\"older-weights\""), "{full}");
    let bad = page("?symbols=AAPL&agents=magic").await;
    assert!(bad.contains("id=\"signal-error\""), "{bad}");
    // A symbol whose last bar is older than the universe's was scored with the weights then:
    // its row carries them, and the page says so.
    let r = http
        .get(format!(
            "{base}/api/agents/signal?symbols=AAPL,MSFT,TSLA&threshold=0.3"
        ))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let rows = v["rows"].as_array().unwrap();
    let tsla = rows.iter().find(|r| r["symbol"] == "TSLA").unwrap();
    assert_eq!(tsla["bar"], "2025-09-29");
    assert_ne!(tsla["weights"], v["weights"], "{v}");
    for row in rows {
        let mut score = 0.0;
        for (kind, s) in row["signals"].as_object().unwrap() {
            let d = match s["action"].as_str().unwrap() {
                "buy" => 1.0,
                "sell" => -1.0,
                _ => 0.0,
            };
            score += row["weights"][kind].as_f64().unwrap() * s["confidence"].as_f64().unwrap() * d;
        }
        assert!(
            (score - row["score"].as_f64().unwrap()).abs() < 1e-12,
            "{row}"
        );
    }
    let mixed = page("?symbols=AAPL,MSFT,TSLA&threshold=0.3").await;
    assert!(
        mixed.contains("id=\"older-weights\"") && mixed.contains("TSLA (last bar 2025-09-29)"),
        "{mixed}"
    );
}
