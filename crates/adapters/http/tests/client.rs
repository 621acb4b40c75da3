//! The shared client against a loopback axum server: GETs retried, POSTs never, and a POST
//! without an answer is "outcome unknown".
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use pulse_http::{HeaderMap, HttpClient, HttpConfig, HttpError, Url};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Default)]
struct Counts {
    get: AtomicUsize,
    post: AtomicUsize,
}

/// GET: 503 twice, then 200. POST /slow stalls 1 s; POST /fail answers 503.
async fn start() -> (Arc<Counts>, String) {
    let counts = Arc::new(Counts::default());
    let app = Router::new()
        .route(
            "/x",
            get(|State(c): State<Arc<Counts>>| async move {
                if c.get.fetch_add(1, Ordering::SeqCst) < 2 {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy")
                } else {
                    (StatusCode::OK, "{\"ok\":true}")
                }
            }),
        )
        .route(
            "/slow",
            axum::routing::post(|State(c): State<Arc<Counts>>| async move {
                c.post.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(1)).await;
                "late"
            }),
        )
        .route(
            "/fail",
            axum::routing::post(|State(c): State<Arc<Counts>>| async move {
                c.post.fetch_add(1, Ordering::SeqCst);
                (StatusCode::SERVICE_UNAVAILABLE, "busy")
            }),
        )
        .with_state(counts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (counts, format!("http://{addr}"))
}

fn fast() -> HttpConfig {
    HttpConfig {
        min_interval: Duration::ZERO,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        timeout: Duration::from_millis(300),
        ..HttpConfig::default()
    }
}

#[tokio::test]
async fn gets_are_retried_on_5xx() {
    let (counts, base) = start().await;
    let http = HttpClient::new(fast(), vec![]).unwrap();
    let url = Url::parse(&format!("{base}/x")).unwrap();
    let resp = http.get(url, &HeaderMap::new()).await.unwrap();
    assert!(resp.is_success());
    assert_eq!(resp.json::<serde_json::Value>().unwrap()["ok"], true);
    assert_eq!(counts.get.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_post_without_an_answer_is_outcome_unknown_and_not_resent() {
    let (counts, base) = start().await;
    let http = HttpClient::new(fast(), vec![]).unwrap();
    let url = Url::parse(&format!("{base}/slow")).unwrap();
    let err = http
        .post_json(url, &HeaderMap::new(), &serde_json::json!({"a": 1}))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!err.to_string().contains("/slow"), "no URL in {err}");
    assert_eq!(counts.post.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_post_answered_5xx_is_returned_not_retried() {
    let (counts, base) = start().await;
    let http = HttpClient::new(fast(), vec![]).unwrap();
    let url = Url::parse(&format!("{base}/fail")).unwrap();
    let resp = http
        .post_json(url, &HeaderMap::new(), &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(resp.status.as_u16(), 503);
    assert_eq!(counts.post.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_post_to_a_closed_port_never_left() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let http = HttpClient::new(fast(), vec!["sekrit".into()]).unwrap();
    let url = Url::parse(&format!("http://{addr}/p?apikey=sekrit")).unwrap();
    let err = http
        .post_json(url, &HeaderMap::new(), &serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Unreachable { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("sekrit"));
}

/// A GET answered 5xx on every attempt names the last answer's body (the vendor's error code),
/// on one line, cut, with the client's secrets redacted.
#[tokio::test]
async fn a_get_that_keeps_failing_names_the_answers_body_without_secrets() {
    let secret = "app-secret-42";
    let app = Router::new().route(
        "/kis",
        get(move || async move {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "{{\"rt_cd\": \"1\",\n \"msg_cd\": \"EGW00201\", \"msg1\": \"too many requests for {secret}\"}}{}",
                    " pad".repeat(200)
                ),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = HttpClient::new(fast(), vec![secret.to_string()]).unwrap();
    let url = Url::parse(&format!("http://{addr}/kis")).unwrap();
    let err = http.get(url, &HeaderMap::new()).await.unwrap_err();
    let HttpError::Server { status, detail, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*status, 500);
    assert!(detail.contains("\"msg_cd\": \"EGW00201\""), "{detail}");
    assert!(!detail.contains('\n'));
    assert!(
        detail.len() <= 300 + '…'.len_utf8() && detail.ends_with('…'),
        "{detail}"
    );
    let text = err.to_string();
    assert!(
        text.contains("EGW00201") && !text.contains(secret),
        "{text}"
    );
}
