//! The macro-prompt editor's use cases against a loopback fake of an OpenAI-compatible
//! chat-completions endpoint (the wire format of `POST /v1/chat/completions`): versions saved
//! and audited, a run's answer parsed out of its prose and checked as a rebalancer signal (a
//! wrong one refused with the reason), a valid one submitted as the day's signal, an endpoint
//! error reported without the key.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use llm_openai::{LlmConfig, OpenAiChat};
use pulse_app::prompt;
use pulse_app::rebalance::{Calendar, InitRequest, init};
use pulse_core::ports::Store;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

mod common;
use common::bundled_store;

const KEY: &str = "sk-test/S3cr&t";

#[derive(Default)]
struct Fake {
    answer: String,
    status: u16,
    seen: Vec<(Option<String>, Value)>,
}

async fn completions(
    State(fake): State<Arc<Mutex<Fake>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (axum::http::StatusCode, Json<Value>) {
    let mut f = fake.lock().unwrap();
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string());
    f.seen.push((auth, body));
    let status = axum::http::StatusCode::from_u16(f.status).unwrap();
    if !status.is_success() {
        return (
            status,
            Json(json!({"error": {"message": format!("overloaded (key {KEY})")}})),
        );
    }
    (
        status,
        Json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "fake-1",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f.answer}}],
        })),
    )
}

async fn fake() -> (Arc<Mutex<Fake>>, String) {
    let state = Arc::new(Mutex::new(Fake {
        status: 200,
        ..Fake::default()
    }));
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, base)
}

fn model(base: &str) -> OpenAiChat {
    let base = base.to_string();
    let config = LlmConfig::from_vars(|name| match name {
        "PULSE_LLM_BASE_URL" => Some(base.clone()),
        "PULSE_LLM_MODEL" => Some("fake-1".into()),
        "PULSE_LLM_API_KEY" => Some(KEY.into()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    OpenAiChat::new(config).unwrap()
}

#[tokio::test]
async fn versions_run_check_and_submit_against_a_chat_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    init(
        &store,
        &InitRequest {
            cash: Decimal::from(100_000),
            calendar: Calendar::Nyse,
            commission: Decimal::new(1, 3),
            force: false,
        },
    )
    .await
    .unwrap();
    // Versions.
    assert!(prompt::save(&store, "   ").await.is_err());
    assert!(
        prompt::version(&store, None).await.is_err(),
        "nothing saved yet"
    );
    let v1 = prompt::save(&store, "Weigh stocks against cash given the cycle.")
        .await
        .unwrap();
    let same = prompt::save(&store, "Weigh stocks against cash given the cycle.")
        .await
        .unwrap();
    assert_eq!(
        (v1.version, same.version),
        (1, 1),
        "an unchanged prompt is not a new version"
    );
    let v2 = prompt::save(&store, "Weigh TSLA and TSLL against cash.")
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(prompt::versions(&store).await.unwrap().len(), 2);
    assert_eq!(
        prompt::version(&store, Some(1)).await.unwrap().text,
        v1.text
    );

    let (state, base) = fake().await;
    let chat = model(&base);
    // A valid view wrapped in prose and a code fence.
    state.lock().unwrap().answer = "My view:\n```json\n{\"mp\": {\"stocks\": 0.7, \"cash\": 0.3}, \"sub_mp\": {\"stocks\": [\"TSLA\", \"TSLL\"]}}\n```".into();
    let run = prompt::run(&store, &chat, None).await.unwrap();
    assert_eq!(run.version, 2);
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let signal = run.signal.clone().unwrap();
    assert_eq!(run.json.as_ref().unwrap()["mp"]["stocks"], 0.7);
    {
        let f = state.lock().unwrap();
        let (auth, body) = f.seen.last().unwrap();
        assert_eq!(auth.as_deref(), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(body["model"], "fake-1");
        assert_eq!(body["temperature"], 0);
        assert_eq!(body["messages"][0]["role"], "system");
        assert!(
            body["messages"][1]["content"]
                .as_str()
                .unwrap()
                .starts_with(&v2.text)
        );
    }
    // A wrong view is refused with the reason, nothing stored.
    state.lock().unwrap().answer = "{\"mp\": {\"stocks\": 0.9, \"cash\": 0.3}}".into();
    let bad = prompt::run(&store, &chat, Some(1)).await.unwrap();
    assert_eq!(bad.version, 1);
    assert!(bad.signal.is_none());
    assert!(bad.errors[0].contains("invalid signal"), "{:?}", bad.errors);
    state.lock().unwrap().answer = "I cannot say.".into();
    let none = prompt::run(&store, &chat, None).await.unwrap();
    assert_eq!(
        none.errors,
        vec!["the answer holds no JSON object".to_string()]
    );
    // The valid one is submitted as the day's signal (audited by the rebalancer).
    prompt::submit(&store, signal).await.unwrap();
    let audit = store.audit_log(1_000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.subsystem == "rebalance" && a.entry_json.contains("\"signal\""))
    );
    assert!(
        audit
            .iter()
            .any(|a| a.subsystem == "prompt" && a.entry_json.contains("\"saved\":2"))
    );
    // An endpoint error names the host, never the key (nor its URL-encoded form).
    state.lock().unwrap().status = 503;
    let err = prompt::run(&store, &chat, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("503") && err.contains("127.0.0.1"), "{err}");
    for secret in [KEY, "sk-test%2FS3cr%26t"] {
        assert!(!err.contains(secret), "{err}");
    }
}

/// The 08:30 job: the saved prompt runs before the rebalancer's intake on a trading day, once a
/// day, its valid answer submitted as the day's signal; a wrong answer submits nothing; with no
/// model configured the job fails by name; a schedule of a missing version is refused.
#[tokio::test]
async fn the_scheduled_prompt_runs_once_at_the_intake_of_a_trading_day() {
    use pulse_app::rebalance::{ClockChange, clock};
    use pulse_app::schedule::tick;
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    init(
        &store,
        &InitRequest {
            cash: Decimal::from(100_000),
            calendar: Calendar::Nyse,
            commission: Decimal::new(1, 3),
            force: false,
        },
    )
    .await
    .unwrap();
    let travel = |to: &'static str| {
        let store = &store;
        async move {
            clock(store, Some(ClockChange::Set(to.parse().unwrap())))
                .await
                .unwrap();
        }
    };
    let none: Option<&prompt::NoChatModel> = None;
    // Nothing saved: scheduling is refused, naming the field.
    let e = prompt::set_schedule(&store, true, None).await.unwrap_err();
    assert!(
        matches!(
            e,
            pulse_app::AppError::InvalidSetting {
                setting: "version",
                ..
            }
        ),
        "{e}"
    );
    prompt::save(&store, "Weigh TSLA and TSLL against cash.")
        .await
        .unwrap();
    assert!(prompt::set_schedule(&store, true, Some(7)).await.is_err());
    let s = prompt::set_schedule(&store, true, None).await.unwrap();
    assert!(s.enabled && s.version.is_none() && s.last_day.is_none());

    let (state, base) = fake().await;
    let chat = model(&base);
    state.lock().unwrap().answer =
        "{\"mp\": {\"stocks\": 0.6, \"cash\": 0.4}, \"sub_mp\": {\"stocks\": [\"TSLA\"]}}".into();
    let job = |r: &pulse_app::schedule::TickReport, name: &str| {
        r.jobs.iter().find(|j| j.job == name).cloned().unwrap()
    };
    // 08:00 on a Monday: not due; the model is not asked.
    travel("2024-03-04T08:00:00-05:00").await;
    let r = tick(&store, Some(&chat)).await.unwrap();
    assert_eq!(
        job(&r, "prompt").lines,
        vec!["not due (08:30 on a trading day)".to_string()]
    );
    assert!(state.lock().unwrap().seen.is_empty());
    // 08:31: the prompt runs first, then the intake takes its signal in the same tick.
    travel("2024-03-04T08:31:00-05:00").await;
    let r = tick(&store, Some(&chat)).await.unwrap();
    assert_eq!(r.jobs[0].job, "prompt");
    assert!(r.ok(), "{r:?}");
    assert!(job(&r, "prompt").lines[0].contains("submitted"), "{r:?}");
    assert!(
        job(&r, "rebalance")
            .lines
            .iter()
            .any(|l| l.contains("intake")),
        "{r:?}"
    );
    let signals = |store: &store_sqlite::SqliteStore| {
        let store = store.clone();
        async move {
            store
                .audit_log(10_000)
                .await
                .unwrap()
                .iter()
                .filter(|a| a.subsystem == "rebalance" && a.entry_json.contains("\"signal\""))
                .count()
        }
    };
    assert_eq!(signals(&store).await, 1);
    // Once a day, however often the tick runs.
    travel("2024-03-04T10:00:00-05:00").await;
    let r = tick(&store, Some(&chat)).await.unwrap();
    assert_eq!(
        job(&r, "prompt").lines,
        vec!["already ran on 2024-03-04".to_string()]
    );
    assert_eq!(state.lock().unwrap().seen.len(), 1);
    // Next day: a wrong answer fails the job and submits nothing.
    state.lock().unwrap().answer = "{\"mp\": {\"stocks\": 0.9, \"cash\": 0.3}}".into();
    travel("2024-03-05T08:45:00-05:00").await;
    let r = tick(&store, Some(&chat)).await.unwrap();
    let p = job(&r, "prompt");
    assert!(!p.ok && p.lines[0].contains("nothing submitted"), "{p:?}");
    assert_eq!(signals(&store).await, 1);
    // Saturday: no trading day, nothing due.
    travel("2024-03-09T09:00:00-05:00").await;
    let r = tick(&store, Some(&chat)).await.unwrap();
    assert!(job(&r, "prompt").lines[0].starts_with("not due"));
    // No model configured on a due day: the job fails by name, the day is not used up.
    travel("2024-03-11T08:40:00-04:00").await;
    let r = tick(&store, none).await.unwrap();
    let p = job(&r, "prompt");
    assert!(!p.ok && p.lines[0].contains("PULSE_LLM_BASE_URL"), "{p:?}");
    assert_eq!(
        prompt::schedule(&store)
            .await
            .unwrap()
            .last_day
            .unwrap()
            .to_string(),
        "2024-03-05"
    );
    // Off: no prompt job at all.
    prompt::set_schedule(&store, false, None).await.unwrap();
    let r = tick(&store, Some(&chat)).await.unwrap();
    assert!(r.jobs.iter().all(|j| j.job != "prompt"));
}
