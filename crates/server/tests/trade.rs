//! The trading page and API on the bundled data: start a paper runner, time-travel, "run now"
//! catches it up, flatten sells everything (booked at the next run), stop/resume; the page shows
//! the runner with its orders; a live-broker action is refused from here; without the token
//! nothing is shown or changed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_server::Dashboard;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use serde_json::{Value, json};

const TOKEN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

async fn post(http: &reqwest::Client, url: String, body: Option<Value>) -> (StatusCode, Value) {
    let mut r = http
        .post(url)
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"));
    if let Some(b) = body {
        r = r
            .header(CONTENT_TYPE, "application/json")
            .body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn runners_are_started_run_flattened_and_shown_from_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = ["TSLA", "TSLL", "VIX", "FEAR_GREED"]
        .iter()
        .map(|n| pulse_testkit::bundle_dir().join(format!("{n}.csv")))
        .collect();
    let store = common::store_with(&dir, &files).await;
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
    let clock = |t: &str| json!({"action": "set", "time": t});
    let (st, _) = post(
        &http,
        format!("{base}/api/clock"),
        Some(clock("2024-03-01T12:00:00Z")),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = post(&http, format!("{base}/api/trade/desk-1/start"), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["done"].as_str().unwrap().contains("started"));
    // A bad name is the request's fault.
    let (st, v) = post(&http, format!("{base}/api/trade/no%20spaces/start"), None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

    post(
        &http,
        format!("{base}/api/clock"),
        Some(clock("2024-06-03T12:00:00Z")),
    )
    .await;
    let (st, v) = post(&http, format!("{base}/api/trade/desk-1/run"), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["done"].as_str().unwrap().contains("order(s) sent"), "{v}");
    let list: Value = http
        .get(format!("{base}/api/trade"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let runner = &list[0];
    assert_eq!(runner["meta"]["name"], "desk-1");
    assert_eq!(runner["meta"]["status"]["state"], "running");
    let orders = runner["orders"].as_array().unwrap();
    assert!(!orders.is_empty());
    // Client ids carry the runner's name.
    assert!(orders.iter().all(|o| {
        o["order"]["client_id"]
            .as_str()
            .unwrap()
            .starts_with("desk-1-")
    }));

    let (st, v) = post(&http, format!("{base}/api/trade/desk-1/flatten"), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    post(
        &http,
        format!("{base}/api/clock"),
        Some(clock("2024-06-10T12:00:00Z")),
    )
    .await;
    post(&http, format!("{base}/api/trade/desk-1/run"), None).await;
    let list: Value = http
        .get(format!("{base}/api/trade"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["meta"]["status"]["state"], "stopped");
    let positions = list[0]["account"]["positions"].as_object().unwrap();
    assert!(
        positions
            .values()
            .all(|q| q.as_str().unwrap().parse::<f64>().unwrap() == 0.0)
    );
    let (st, _) = post(&http, format!("{base}/api/trade/desk-1/resume"), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = post(&http, format!("{base}/api/trade/desk-1/explode"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = post(&http, format!("{base}/api/trade/nobody/run"), None).await;
    assert_eq!(st, StatusCode::CONFLICT);

    // The page, logged in: the runner, its state and orders, and the action buttons.
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/trade"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-name=\"desk-1\""), "{page}");
    assert!(page.contains(">running<"), "{page}");
    assert!(page.contains("action=\"/trade/desk-1/stop\""));
    // A form without the session's CSRF token changes nothing.
    let r = http
        .post(format!("{base}/trade/desk-1/stop"))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("csrf=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // With it, stop works.
    let csrf = common::csrf_of(&page);
    let r = http
        .post(format!("{base}/trade/desk-1/stop"))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "{}",
        r.status()
    );
    let page = http
        .get(format!("{base}/trade"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(">stopped<"), "{page}");
    // The overview lists the runner with its state and a start button.
    let overview = http
        .get(format!("{base}/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains("id=\"runners\""), "{overview}");
    assert!(
        overview.contains("action=\"/trade/desk-1/resume\""),
        "{overview}"
    );

    // Without the token: nothing.
    let r = http.get(format!("{base}/api/trade")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .post(format!("{base}/api/trade/desk-1/resume"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_agents_runner_is_started_from_the_api_and_from_the_agents_page() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = ["TSLA", "TSLL"]
        .iter()
        .map(|n| pulse_testkit::bundle_dir().join(format!("{n}.csv")))
        .collect();
    let store = common::store_with(&dir, &files).await;
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
    let clock = |t: &str| json!({"action": "set", "time": t});
    post(
        &http,
        format!("{base}/api/clock"),
        Some(clock("2024-03-01T12:00:00Z")),
    )
    .await;
    // Bad fields are named; a set only with start.
    for (query, field) in [
        ("start?symbols=TSLA&threshold=1.5", "threshold"),
        ("start?symbols=TSLA&agents=magic", "agents"),
        ("run?symbols=TSLA", "symbols"),
    ] {
        let (st, v) = post(&http, format!("{base}/api/trade/ens/{query}"), None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert_eq!(v["field"], field, "{query}: {v}");
    }
    let (st, v) = post(
        &http,
        format!(
            "{base}/api/trade/ens/start?symbols=TSLA,TSLL&agents=technical,factor&threshold=0.3"
        ),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    post(
        &http,
        format!("{base}/api/clock"),
        Some(clock("2024-10-01T12:00:00Z")),
    )
    .await;
    let (st, v) = post(&http, format!("{base}/api/trade/ens/run"), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let list: Value = http
        .get(format!("{base}/api/trade"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ens = &list[0];
    assert_eq!(ens["meta"]["agents"]["symbols"], json!(["TSLA", "TSLL"]));
    assert_eq!(ens["meta"]["agents"]["ensemble"]["threshold"], 0.3);
    assert!(!ens["fills"].as_array().unwrap().is_empty(), "{ens}");
    // The agents page offers to trade the ensemble shown; its form starts a second runner.
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!(
            "{base}/agents?symbols=TSLA,TSLL&agents=technical,factor&threshold=0.3"
        ))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"trade-agents\""), "{page}");
    let csrf = common::csrf_of(&page);
    let r = http
        .post(format!("{base}/trade/start"))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={csrf}&name=ens-2&symbols=TSLA%2CTSLL&agents=technical%2Cfactor&threshold=0.3"
        ))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let trade = http
        .get(format!("{base}/trade"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(trade.contains("data-name=\"ens-2\""), "{trade}");
    assert!(
        trade.contains("ensemble (technical, factor) on TSLA, TSLL · threshold 0.3"),
        "{trade}"
    );
}

#[tokio::test]
async fn a_runner_that_cannot_be_restored_does_not_hide_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = ["TSLA", "TSLL", "VIX", "FEAR_GREED"]
        .iter()
        .map(|n| pulse_testkit::bundle_dir().join(format!("{n}.csv")))
        .collect();
    let store = common::store_with(&dir, &files).await;
    let (base, http) = common::serve(Dashboard::new(store.clone(), TOKEN.into())).await;
    post(
        &http,
        format!("{base}/api/clock"),
        Some(json!({"action": "set", "time": "2024-03-01T12:00:00Z"})),
    )
    .await;
    for name in ["good", "broken"] {
        let (st, v) = post(&http, format!("{base}/api/trade/{name}/start"), None).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    // The broken runner's engine no longer restores (as a DQN model changed since would).
    use pulse_core::ports::Store;
    store
        .save_documents(
            &[(
                "trade/broken/engine",
                "{\"not\": \"an engine\"}".to_string(),
            )],
            &[],
        )
        .await
        .unwrap();
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/trade"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-name=\"good\""), "{page}");
    assert!(page.contains("Cannot be restored: broken"), "{page}");
}
