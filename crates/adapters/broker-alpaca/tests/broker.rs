//! The adapter against the loopback fake Alpaca: wire formats, idempotent submission,
//! outcome-unknown resolution, retries, rate limits, fills once, errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use broker_alpaca::{AlpacaBroker, AlpacaConfig, AlpacaEndpoint, AlpacaError};
use common::*;
use pulse_core::{ClientOrderId, OrderKind, Side, TimeInForce};
use pulse_execution::{Broker, OrderState};
use std::time::{Duration, Instant};

const SLOW: Duration = Duration::from_secs(10);

fn cid(s: &str) -> ClientOrderId {
    ClientOrderId(s.to_string())
}

#[tokio::test]
async fn orders_go_out_in_alpacas_wire_format() {
    let (fake, base) = start(Book::default()).await;
    let b = broker(&base, SLOW);
    let st = b
        .submit(&market("c-1", "SPY", Side::Buy, "10"))
        .await
        .unwrap();
    assert_eq!(st.client_id, cid("c-1"));
    assert_eq!(st.state, OrderState::Pending, "accepted → pending");
    assert_eq!(st.remaining, d("10"));
    assert!(st.broker_id.is_some());
    let limit = approved(
        "c-2",
        "QQQ",
        Side::Sell,
        "2.5",
        OrderKind::Limit { price: d("101.50") },
        TimeInForce::Gtc,
    );
    b.submit(&limit).await.unwrap();
    let ioc = approved(
        "c-3",
        "SPY",
        Side::Buy,
        "1",
        OrderKind::Market,
        TimeInForce::Ioc,
    );
    b.submit(&ioc).await.unwrap();
    let book = fake.book.lock().unwrap();
    assert_eq!(
        book.posts[0],
        serde_json::json!({"symbol": "SPY", "qty": "10", "side": "buy", "type": "market",
            "time_in_force": "day", "client_order_id": "c-1"})
    );
    assert_eq!(
        book.posts[1],
        serde_json::json!({"symbol": "QQQ", "qty": "2.5", "side": "sell", "type": "limit",
            "time_in_force": "gtc", "limit_price": "101.5", "client_order_id": "c-2"})
    );
    assert_eq!(book.posts[2]["time_in_force"], "ioc");
}

#[tokio::test]
async fn resubmitting_a_known_client_id_returns_its_status() {
    let (fake, base) = start(Book::default()).await;
    let b = broker(&base, SLOW);
    let o = market("dup-1", "SPY", Side::Buy, "4");
    let first = b.submit(&o).await.unwrap();
    fake.book.lock().unwrap().fill("dup-1", d("4"));
    let again = b.submit(&o).await.unwrap();
    assert_eq!(again.broker_id, first.broker_id);
    assert_eq!(again.state, OrderState::Filled);
    assert_eq!(again.filled, d("4"));
    assert_eq!(fake.book.lock().unwrap().count("dup-1"), 1);
}

#[tokio::test]
async fn a_stall_after_acceptance_is_outcome_unknown_and_the_lookup_finds_it() {
    let book = Book {
        post_faults: [PostFault::AcceptThenStall].into(),
        stall: Duration::from_millis(1500),
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    let b = broker(&base, Duration::from_millis(400));
    let o = market("stall-1", "SPY", Side::Buy, "3");
    let err = b.submit(&o).await.unwrap_err();
    assert!(
        matches!(&err, AlpacaError::OutcomeUnknown { client_id } if client_id.0 == "stall-1"),
        "{err:?}"
    );
    assert_eq!(fake.book.lock().unwrap().posts.len(), 1, "never re-POSTed");
    let found = b.order_status(&cid("stall-1")).await.unwrap().unwrap();
    assert_eq!(found.client_id, cid("stall-1"));
    // A driver that submits again anyway gets the same order back (Alpaca's 422 → lookup).
    let again = b.submit(&o).await.unwrap();
    assert_eq!(again.broker_id, found.broker_id);
    assert_eq!(fake.book.lock().unwrap().count("stall-1"), 1);
}

#[tokio::test]
async fn a_lost_post_is_outcome_unknown_and_the_lookup_says_none() {
    let book = Book {
        post_faults: [PostFault::StallThenDrop].into(),
        stall: Duration::from_millis(1500),
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    let b = broker(&base, Duration::from_millis(400));
    let o = market("lost-1", "SPY", Side::Buy, "3");
    let err = b.submit(&o).await.unwrap_err();
    assert!(matches!(err, AlpacaError::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(b.order_status(&cid("lost-1")).await.unwrap(), None);
    b.submit(&o).await.unwrap();
    assert_eq!(fake.book.lock().unwrap().count("lost-1"), 1);
}

#[tokio::test]
async fn a_5xx_after_acceptance_is_outcome_unknown() {
    let book = Book {
        post_faults: [PostFault::AcceptThen500].into(),
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    let b = broker(&base, SLOW);
    let err = b
        .submit(&market("five-1", "SPY", Side::Buy, "1"))
        .await
        .unwrap_err();
    assert!(matches!(err, AlpacaError::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(fake.book.lock().unwrap().posts.len(), 1);
    assert!(b.order_status(&cid("five-1")).await.unwrap().is_some());
}

#[tokio::test]
async fn a_429_on_get_is_retried_after_retry_after() {
    let book = Book {
        get_faults: [GetFault::TooMany { retry_after: 1 }].into(),
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    let b = broker(&base, SLOW);
    let t = Instant::now();
    assert_eq!(b.order_status(&cid("none")).await.unwrap(), None);
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    let hits = fake.book.lock().unwrap().hits.len();
    assert_eq!(hits, 2);
}

#[tokio::test]
async fn a_429_on_post_is_not_retried() {
    let book = Book {
        post_faults: [PostFault::TooMany].into(),
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    let b = broker(&base, SLOW);
    let err = b
        .submit(&market("rl-1", "SPY", Side::Buy, "1"))
        .await
        .unwrap_err();
    assert!(matches!(err, AlpacaError::RateLimited { .. }), "{err:?}");
    let book = fake.book.lock().unwrap();
    assert_eq!(book.posts.len(), 1);
    assert_eq!(book.count("rl-1"), 0);
}

#[tokio::test]
async fn server_errors_on_get_are_retried_then_succeed() {
    let book = Book {
        get_faults: [
            GetFault::Status(500),
            GetFault::Status(503),
            GetFault::Status(502),
        ]
        .into(),
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    let b = broker(&base, SLOW);
    let acct = b.account().await.unwrap();
    assert_eq!(acct.cash, d("100000"));
    assert!(acct.positions.is_empty());
    assert_eq!(
        fake.book.lock().unwrap().hits.len(),
        5,
        "3 failures + account + positions"
    );
}

#[tokio::test]
async fn server_errors_exhaust_the_retries() {
    let book = Book {
        get_faults: std::iter::repeat_n(GetFault::Status(503), 10).collect(),
        ..Book::default()
    };
    let (_fake, base) = start(book).await;
    let b = broker(&base, SLOW);
    let err = b.open_orders().await.unwrap_err();
    assert!(
        matches!(
            err,
            AlpacaError::Http(pulse_http::HttpError::Server {
                status: 503,
                attempts: 5,
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn partial_fills_are_reported_once_each() {
    let (fake, base) = start(Book::default()).await;
    let b = broker(&base, SLOW);
    let o = approved(
        "pf-1",
        "SPY",
        Side::Buy,
        "10",
        OrderKind::Limit { price: d("470") },
        TimeInForce::Day,
    );
    b.submit(&o).await.unwrap();
    fake.book.lock().unwrap().fill("pf-1", d("3"));
    let st = b.order_status(&cid("pf-1")).await.unwrap().unwrap();
    assert_eq!(st.state, OrderState::PartiallyFilled);
    assert_eq!((st.filled, st.remaining), (d("3"), d("7")));
    let fills = b.take_fills().await.unwrap();
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].client_id, cid("pf-1"));
    assert_eq!(fills[0].quantity, d("3"));
    assert_eq!(fills[0].price, d("470"));
    assert_eq!(fills[0].side, Side::Buy);
    assert!(fills[0].exec_id.is_some());
    assert!(b.take_fills().await.unwrap().is_empty());
    fake.book.lock().unwrap().fill("pf-1", d("7"));
    let fills = b.take_fills().await.unwrap();
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].quantity, d("7"));
    let st = b.order_status(&cid("pf-1")).await.unwrap().unwrap();
    assert_eq!(st.state, OrderState::Filled);
    assert_eq!(st.remaining, d("0"));
    let acct = b.account().await.unwrap();
    assert_eq!(
        acct.positions,
        fake.book.lock().unwrap().nonzero_positions()
    );
    assert_eq!(acct.cash, d("100000") - d("4700"));
}

#[tokio::test]
async fn duplicate_fill_reports_come_out_once_across_pages() {
    let book = Book {
        duplicate_activities: true,
        auto_fill: true,
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    let mut cfg = config(&base, SLOW);
    cfg.activities_page_size = 3;
    let b = AlpacaBroker::new(cfg).unwrap();
    for (i, sym) in ["SPY", "QQQ", "IWM"].iter().enumerate() {
        b.submit(&market(&format!("df-{i}"), sym, Side::Buy, "5"))
            .await
            .unwrap();
    }
    let fills = b.take_fills().await.unwrap();
    // Three orders, each filled in two executions.
    assert_eq!(fills.len(), 6, "{fills:#?}");
    let mut ids: Vec<_> = fills.iter().map(|f| f.exec_id.clone().unwrap()).collect();
    let sorted = ids.clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    assert_eq!(ids, sorted, "oldest first");
    assert!(b.take_fills().await.unwrap().is_empty());
    // The client id comes from the order, looked up once per order.
    assert_eq!(fills[0].client_id, cid("df-0"));
    assert_eq!(fills[5].client_id, cid("df-2"));
    let lookups = fake
        .book
        .lock()
        .unwrap()
        .hits
        .iter()
        .filter(|h| h.starts_with("GET /v2/orders/"))
        .count();
    assert_eq!(lookups, 0, "ids cached from the submissions");
}

#[tokio::test]
async fn a_fresh_adapter_looks_up_client_ids_of_fills() {
    let book = Book {
        auto_fill: true,
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    broker(&base, SLOW)
        .submit(&market("fr-1", "SPY", Side::Buy, "2"))
        .await
        .unwrap();
    let b = broker(&base, SLOW);
    let fills = b.take_fills().await.unwrap();
    assert_eq!(fills.len(), 2);
    assert!(fills.iter().all(|f| f.client_id == cid("fr-1")));
    let lookups = fake
        .book
        .lock()
        .unwrap()
        .hits
        .iter()
        .filter(|h| h.starts_with("GET /v2/orders/"))
        .count();
    assert_eq!(lookups, 1, "cached after the first lookup");
}

#[tokio::test]
async fn rejects_are_typed() {
    let book = Book {
        post_faults: [
            PostFault::Reject403,
            PostFault::Reject422("qty must be > 0".into()),
        ]
        .into(),
        ..Book::default()
    };
    let (_fake, base) = start(book).await;
    let b = broker(&base, SLOW);
    let err = b
        .submit(&market("rj-1", "SPY", Side::Buy, "1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AlpacaError::Forbidden { message } if message == "insufficient buying power"),
        "{err:?}"
    );
    let err = b
        .submit(&market("rj-2", "SPY", Side::Buy, "1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AlpacaError::Unprocessable { message } if message == "qty must be > 0"),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_orders_are_none_and_cannot_be_cancelled() {
    let (_fake, base) = start(Book::default()).await;
    let b = broker(&base, SLOW);
    assert_eq!(b.order_status(&cid("nope")).await.unwrap(), None);
    let err = b.cancel(&cid("nope")).await.unwrap_err();
    assert!(matches!(err, AlpacaError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn too_long_client_ids_are_refused_before_sending() {
    let (fake, base) = start(Book::default()).await;
    let b = broker(&base, SLOW);
    let id = "x".repeat(49);
    let err = b
        .submit(&market(&id, "SPY", Side::Buy, "1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AlpacaError::ClientOrderIdTooLong { len: 49, .. }),
        "{err:?}"
    );
    assert!(fake.book.lock().unwrap().posts.is_empty());
    let ok = "y".repeat(48);
    b.submit(&market(&ok, "SPY", Side::Buy, "1")).await.unwrap();
}

#[tokio::test]
async fn cancel_and_open_orders_across_pages() {
    let (fake, base) = start(Book::default()).await;
    let mut cfg = config(&base, SLOW);
    cfg.orders_page_size = 2;
    let b = AlpacaBroker::new(cfg).unwrap();
    for i in 0..5 {
        let o = approved(
            &format!("oo-{i}"),
            "SPY",
            Side::Buy,
            "1",
            OrderKind::Limit { price: d("400") },
            TimeInForce::Gtc,
        );
        b.submit(&o).await.unwrap();
    }
    let open = b.open_orders().await.unwrap();
    let ids: Vec<_> = open.iter().map(|s| s.client_id.0.clone()).collect();
    assert_eq!(ids, ["oo-0", "oo-1", "oo-2", "oo-3", "oo-4"]);
    let st = b.cancel(&cid("oo-2")).await.unwrap();
    assert_eq!(st.state, OrderState::Canceled);
    assert_eq!(st.remaining, d("0"));
    // Cancelling again returns it as it is.
    assert_eq!(
        b.cancel(&cid("oo-2")).await.unwrap().state,
        OrderState::Canceled
    );
    fake.book.lock().unwrap().fill("oo-3", d("1"));
    let st = b.cancel(&cid("oo-3")).await.unwrap();
    assert_eq!(st.state, OrderState::Filled);
    let open = b.open_orders().await.unwrap();
    let ids: Vec<_> = open.iter().map(|s| s.client_id.0.clone()).collect();
    assert_eq!(ids, ["oo-0", "oo-1", "oo-4"]);
    let deletes = fake
        .book
        .lock()
        .unwrap()
        .hits
        .iter()
        .filter(|h| h.starts_with("DELETE"))
        .count();
    assert_eq!(deletes, 1, "done orders are not sent a DELETE");
}

#[tokio::test]
async fn an_exhausted_rate_limit_waits_for_the_reset() {
    let (fake, base) = start(Book::default()).await;
    let b = broker(&base, SLOW);
    // Date 07:28:00, reset at 07:28:02: the request after the answer carrying
    // `X-Ratelimit-Remaining: 0` waits 2 s (account() reads /v2/account, then /v2/positions).
    fake.book.lock().unwrap().exhaust_next =
        Some(("Wed, 21 Oct 2015 07:28:00 GMT".into(), "1445412482".into()));
    let t = Instant::now();
    b.account().await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        t.elapsed()
    );
    // The pause is over: the next request goes at once.
    let t = Instant::now();
    b.open_orders().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn requests_are_capped_per_window() {
    let (_fake, base) = start(Book::default()).await;
    let mut cfg = config(&base, SLOW);
    cfg.http.window_limit = 3;
    cfg.http.window = Duration::from_millis(600);
    let b = AlpacaBroker::new(cfg).unwrap();
    let t = Instant::now();
    for _ in 0..4 {
        b.order_status(&cid("none")).await.unwrap();
    }
    assert!(
        t.elapsed() >= Duration::from_millis(550),
        "{:?}",
        t.elapsed()
    );
}

/// Every error's Display and Debug, and the config's and broker's Debug, are free of the secret
/// in any encoding, even when the server echoes it.
#[tokio::test]
async fn secrets_never_show() {
    let encoded_forms = [
        SECRET.to_string(),
        "s3cr%2FEt%2BK%3Dy%26z%251".to_string(),
        "s3cr%2FEt+K=y&z%251".to_string(),
        "s3cr/Et+K=y&z%1".replace('+', "%2B"),
    ];
    let echo = format!(
        " key {SECRET} in url ?apikey={} path /{}",
        encoded_forms[1], encoded_forms[2]
    );
    let book = Book {
        post_faults: [
            PostFault::Reject403,
            PostFault::Reject422("bad".into()),
            PostFault::AcceptThenStall,
        ]
        .into(),
        echo: Some(echo),
        stall: Duration::from_millis(800),
        ..Book::default()
    };
    let (_fake, base) = start(book).await;
    let b = broker(&base, Duration::from_millis(300));
    let mut errors: Vec<AlpacaError> = Vec::new();
    for i in 0..3 {
        errors.push(
            b.submit(&market(&format!("s-{i}"), "SPY", Side::Buy, "1"))
                .await
                .unwrap_err(),
        );
    }
    // Unreachable host.
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}")
    };
    let mut cfg = config(&closed, SLOW);
    cfg.http.max_retries = 1;
    let dead = AlpacaBroker::new(cfg).unwrap();
    errors.push(dead.account().await.unwrap_err());
    errors.push(
        dead.submit(&market("s-9", "SPY", Side::Buy, "1"))
            .await
            .unwrap_err(),
    );
    // Missing keys; a bad base URL.
    errors.push(AlpacaConfig::from_vars(AlpacaEndpoint::Live, |_| None).unwrap_err());
    let mut bad = config(&base, SLOW);
    bad.base_url = format!("not a url {SECRET}");
    errors.push(AlpacaBroker::new(bad).unwrap_err());
    let mut texts: Vec<String> = errors
        .iter()
        .flat_map(|e| [e.to_string(), format!("{e:?}")])
        .collect();
    texts.push(format!("{:?}", config(&base, SLOW)));
    texts.push(format!("{b:?}"));
    for t in &texts {
        for form in &encoded_forms {
            assert!(!t.contains(form.as_str()), "leak of {form:?} in {t}");
        }
        assert!(!t.contains("s3cr"), "leak in {t}");
    }
    // The echoed messages did arrive (so the redaction was exercised).
    assert!(texts[0].contains("***"), "{}", texts[0]);
}
