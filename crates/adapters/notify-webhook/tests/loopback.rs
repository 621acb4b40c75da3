//! The webhook notifier against a real HTTP server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use notify_webhook::{RetryPolicy, WebhookError, WebhookNotifier};
use pulse_core::ports::{AlertRecord, Notifier};
use std::sync::{Arc, Mutex};

fn alert() -> AlertRecord {
    AlertRecord {
        ts: "2025-03-04T00:00:00Z".parse().unwrap(),
        strategy: "Pulse".into(),
        message: "TSLL 50.0% → 0.0%".into(),
        old_weights_json: r#"{"TSLA":0.5,"TSLL":0.5}"#.into(),
        new_weights_json: r#"{"TSLA":0.5,"TSLL":0.0}"#.into(),
    }
}

async fn server(status: StatusCode) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = Router::new().route(
        "/hook/secret-token",
        post(move |body: String| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(serde_json::from_str(&body).unwrap());
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook/secret-token"), seen)
}

#[tokio::test]
async fn posts_the_alert_as_json_with_a_chat_text() {
    let (url, seen) = server(StatusCode::OK).await;
    let n = WebhookNotifier::new(&url).unwrap();
    n.notify(&alert()).await.unwrap();
    let bodies = seen.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    let b = &bodies[0];
    assert_eq!(b["text"], "[Pulse] 2025-03-04T00:00:00Z: TSLL 50.0% → 0.0%");
    assert_eq!(b["new_weights"]["TSLL"], 0.0);
    assert_eq!(b["old_weights"]["TSLA"], 0.5);
    assert!(!format!("{n:?}").contains("secret-token"));
}

#[tokio::test]
async fn errors_name_the_host_but_never_the_secret_path() {
    let (url, _) = server(StatusCode::INTERNAL_SERVER_ERROR).await;
    let err = WebhookNotifier::new(&url)
        .unwrap()
        .notify(&alert())
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::Status { status: 500, .. }));
    assert!(!err.to_string().contains("secret-token"), "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = WebhookNotifier::new(&format!("http://{closed}/hook/secret-token"))
        .unwrap()
        .notify(&alert())
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::Unreachable { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret-token"), "{err}");
    assert!(WebhookNotifier::new("ftp://x").is_err());
}

/// A server answering 503 to the first `failures` posts, then 200.
async fn flaky(failures: usize) -> (String, Arc<Mutex<usize>>) {
    let hits = Arc::new(Mutex::new(0usize));
    let h = hits.clone();
    let app = Router::new().route(
        "/hook/secret-token",
        post(move || {
            let h = h.clone();
            async move {
                let mut n = h.lock().unwrap();
                *n += 1;
                if *n <= failures {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook/secret-token"), hits)
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        backoff: std::time::Duration::from_millis(10),
    }
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let (url, hits) = flaky(2).await;
    let n = WebhookNotifier::new(&url).unwrap().with_retry(fast());
    n.notify(&alert()).await.unwrap();
    assert_eq!(*hits.lock().unwrap(), 3, "two 503s, then delivered");
    // A 4xx is not retried.
    let (url, seen) = server(StatusCode::BAD_REQUEST).await;
    let err = WebhookNotifier::new(&url)
        .unwrap()
        .with_retry(fast())
        .notify(&alert())
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::Status { status: 400, .. }));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// Issue 12 defect 7: an unreachable webhook fails after its retries with an error that names
/// the host but never the secret path (the application's `AlertQueue` then reports it and the
/// run carries on: see pulse-app's alerts tests and the `simulate` CLI test).
#[tokio::test]
async fn an_unreachable_webhook_fails_after_its_retries_naming_only_the_host() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let n = WebhookNotifier::new(&format!("http://{closed}/hook/secret-token"))
        .unwrap()
        .with_retry(fast());
    let err = n.notify(&alert()).await.unwrap_err();
    assert!(matches!(err, WebhookError::Unreachable { .. }), "{err:?}");
    let line = err.to_string();
    assert!(line.contains(&closed.to_string()), "{line}");
    assert!(!line.contains("secret-token"), "{line}");
}
