//! The macro-prompt editor over real HTTP on 127.0.0.1:0: versions saved by the API and the
//! form, a run against the chat model (a canned model standing in for the endpoint, which the
//! app layer's test drives over HTTP) shown raw, parsed and judged, a valid signal submitted
//! and found pending on the rebalancer; without a model the run says how to configure one.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_server::{ChatFn, Dashboard};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "1111222233334444555566667777888899990000aaaabbbbccccddddeeeeffff";

#[tokio::test]
async fn prompt_versions_run_and_submit_through_the_api_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::store_with(
        &dir,
        &[
            pulse_testkit::bundle_dir().join("TSLA.csv"),
            pulse_testkit::bundle_dir().join("TSLL.csv"),
        ],
    )
    .await;
    pulse_app::rebalance::init(
        &store,
        &pulse_app::rebalance::InitRequest {
            cash: rust_decimal::Decimal::from(100_000),
            calendar: pulse_app::rebalance::Calendar::Nyse,
            commission: rust_decimal::Decimal::new(1, 3),
            force: false,
        },
    )
    .await
    .unwrap();
    let answer = Arc::new(Mutex::new(String::new()));
    let prompts = Arc::new(Mutex::new(Vec::<String>::new()));
    let chat: ChatFn = {
        let (answer, prompts) = (answer.clone(), prompts.clone());
        Arc::new(move |_system, user| {
            prompts.lock().unwrap().push(user);
            let a = answer.lock().unwrap().clone();
            Box::pin(async move { Ok(a) })
        })
    };
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into()).with_chat(chat)).await;
    let bearer = format!("Bearer {TOKEN}");
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .header(AUTHORIZATION, &bearer)
    };
    // Versions by the API: an empty prompt is refused naming the field.
    let r = api(reqwest::Method::PUT, "/api/prompt")
        .json(&json!({"text": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "prompt");
    let r = api(reqwest::Method::PUT, "/api/prompt")
        .json(&json!({"text": "Weigh TSLA and TSLL against cash."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 1);
    // A run: raw, parsed and judged.
    *answer.lock().unwrap() =
        "```json\n{\"mp\": {\"stocks\": 0.6, \"cash\": 0.4}, \"sub_mp\": {\"stocks\": [\"TSLA\", \"TSLL\"]}}\n```".into();
    let run: Value = api(reqwest::Method::POST, "/api/prompt/run")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(run["version"], 1);
    assert!(run["errors"].as_array().unwrap().is_empty(), "{run}");
    assert!(prompts.lock().unwrap()[0].starts_with("Weigh TSLA and TSLL against cash."));
    // Submitted, it is the rebalancer's observation.
    let r = api(reqwest::Method::POST, "/api/prompt/submit")
        .json(&json!({"signal": run["signal"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = api(reqwest::Method::POST, "/api/prompt/submit")
        .json(&json!({"signal": {"mp": {"stocks": 0.9, "cash": 0.3}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "signal");

    // The page: save a second version by the form, run it, see the verdict, submit.
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/prompt"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Weigh TSLA and TSLL against cash."), "{page}");
    let csrf = common::csrf_of(&page);
    let form = |path: &str, body: String| {
        http.post(format!("{base}{path}"))
            .header(COOKIE, &cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
    };
    let r = form(
        "/prompt/save",
        format!("csrf={csrf}&text=Stocks+or+cash%3F"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    *answer.lock().unwrap() = "I would rather not say.".into();
    let r = form("/prompt/run", format!("csrf={csrf}&version=2"))
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Not a valid signal: the answer holds no JSON object"),
        "{page}"
    );
    assert!(page.contains("I would rather not say."));
    *answer.lock().unwrap() = "{\"mp\": {\"stocks\": 0.5, \"cash\": 0.5}}".into();
    let page = form("/prompt/run", format!("csrf={csrf}&version=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("A valid signal."), "{page}");
    assert!(page.contains("id=\"submit-signal\""));
    // Without the CSRF token a form post is refused.
    let r = form("/prompt/save", "text=x".into()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn without_a_chat_model_a_run_says_how_to_configure_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::store_with(&dir, &[]).await;
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
    let r = http
        .post(format!("{base}/api/prompt/run"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("PULSE_LLM_BASE_URL")
    );
    let r = http.get(format!("{base}/api/prompt")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// The prompt's 08:30 schedule through the API and the page's form: refused (naming the field)
/// before a prompt is saved or for a version that does not exist, stored and shown once valid.
#[tokio::test]
async fn the_prompt_schedule_is_set_through_the_api_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::store_with(&dir, &[pulse_testkit::bundle_dir().join("TSLA.csv")]).await;
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
    let put = |body: serde_json::Value| {
        http.put(format!("{base}/api/prompt/schedule"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .json(&body)
            .send()
    };
    let r = put(serde_json::json!({"enabled": true})).await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["field"], "version", "{j}");
    let r = http
        .put(format!("{base}/api/prompt"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .json(&serde_json::json!({"text": "The day's view, please."}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = put(serde_json::json!({"enabled": true, "version": 9}))
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    let r = put(serde_json::json!({"enabled": "yes"})).await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    let r = put(serde_json::json!({"enabled": true, "version": 1}))
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let s: serde_json::Value = http
        .get(format!("{base}/api/prompt/schedule"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (s["enabled"].as_bool(), s["version"].as_u64()),
        (Some(true), Some(1))
    );
    // The page shows it; its form turns it off (CSRF checked).
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/prompt"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Scheduled: version 1 runs at 08:30"),
        "{page}"
    );
    let csrf = common::csrf_of(&page);
    let form = |csrf: &str| {
        http.post(format!("{base}/prompt/schedule"))
            .header(COOKIE, &cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&version="))
            .send()
    };
    assert_eq!(
        form("wrong").await.unwrap().status(),
        reqwest::StatusCode::FORBIDDEN
    );
    assert_eq!(
        form(&csrf).await.unwrap().status(),
        reqwest::StatusCode::SEE_OTHER
    );
    let s: serde_json::Value = http
        .get(format!("{base}/api/prompt/schedule"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["enabled"], false);
    // No token: nothing.
    let r = http
        .get(format!("{base}/api/prompt/schedule"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
}
