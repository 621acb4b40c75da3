//! The webhook notifier against a real HTTP server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use notify_webhook::{DeliveryQueue, RetryPolicy, WebhookError, WebhookNotifier};
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

/// Issue 12 defect 7: an unreachable webhook must not abort the run: the queue reports the
/// failures (naming the host, never the secret), tries a dead webhook once per flush, not once
/// per alert, and keeps at most its capacity.
#[tokio::test]
async fn an_unreachable_webhook_is_reported_not_fatal_and_the_queue_is_bounded() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let n = WebhookNotifier::new(&format!("http://{closed}/hook/secret-token"))
        .unwrap()
        .with_retry(fast());
    let mut q = DeliveryQueue::new(n, 2);
    for _ in 0..3 {
        q.push(&alert());
    }
    assert_eq!(q.len(), 2);
    let report = q.flush().await;
    assert_eq!(report.sent, 0);
    assert_eq!(report.failed.len(), 2);
    assert_eq!(report.dropped, 1);
    assert!(!report.is_complete());
    let line = report.summary(q.notifier().host());
    assert!(
        line.contains("2 not delivered") && line.contains("1 dropped"),
        "{line}"
    );
    assert!(!line.contains("secret-token"), "{line}");
    assert!(q.is_empty());
    // A reachable webhook delivers everything queued.
    let (url, seen) = server(StatusCode::OK).await;
    let mut q = DeliveryQueue::new(WebhookNotifier::new(&url).unwrap().with_retry(fast()), 8);
    q.push(&alert());
    q.push(&alert());
    let report = q.flush().await;
    assert!(report.is_complete() && report.sent == 2, "{report:?}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}
