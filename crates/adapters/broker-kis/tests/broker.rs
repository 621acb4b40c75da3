//! The adapter against the loopback fake: tokens, TR ids, orders, outcome-unknown resolution,
//! paging, fills, account, codes and redaction.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use pulse_broker_kis::{JournalState, KisError, KisMode, MemoryOrderJournal, Tr, tr_id};
use pulse_core::ports::QuoteSource;
use pulse_core::{Currency, Side, Symbol};
use pulse_execution::{Broker, OrderState};
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::time::Duration;

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

#[tokio::test]
async fn token_is_issued_once_and_reused_across_calls_and_instances() {
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker();
    b.quote(&sym("005930")).await.unwrap();
    b.account().await.unwrap();
    b.quote(&sym("TSLA")).await.unwrap();
    assert_eq!(env.book().tokens_issued, 1);
    // A new adapter sharing the cache uses the cached token.
    let b2 = env.broker();
    env.advance(3600);
    b2.quote(&sym("005930")).await.unwrap();
    assert_eq!(env.book().tokens_issued, 1);
    assert!(!b2.token_cache_key().contains(APP_KEY));
    // Near its expiry (24 h, minus the 10-minute margin) a new one is issued.
    env.advance(23 * 3600 - 300);
    b2.quote(&sym("005930")).await.unwrap();
    assert_eq!(env.book().tokens_issued, 2);
    b.quote(&sym("005930")).await.unwrap();
    assert_eq!(
        env.book().tokens_issued,
        2,
        "the first adapter picks it up from the cache"
    );
}

#[tokio::test]
async fn expired_token_mid_session_is_reissued_once() {
    let env = Env::new(KisMode::Real).await;
    let b = env.broker();
    b.quote(&sym("005930")).await.unwrap();
    env.advance(120);
    env.book().token_expired = true;
    let q = b.quote(&sym("005930")).await.unwrap();
    assert_eq!(q.last, d("70000"));
    assert_eq!(env.book().tokens_issued, 2);
    // An order refused for the expired token is sent again after the re-issue (it never
    // reached the trading system).
    env.advance(120);
    env.book().token_expired = true;
    b.submit(&limit("o1", "005930", Side::Buy, "3", "69000"))
        .await
        .unwrap();
    assert_eq!(env.book().tokens_issued, 3);
    assert_eq!(env.book().count("005930", d("3")), 1);
}

#[tokio::test]
async fn token_reissue_within_sixty_seconds_is_refused_typed() {
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker();
    b.quote(&sym("005930")).await.unwrap();
    env.advance(10);
    env.book().token_expired = true;
    let e = b.quote(&sym("005930")).await.unwrap_err();
    match e {
        KisError::TokenReissueTooSoon {
            retry_after_secs, ..
        } => assert_eq!(retry_after_secs, 50),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.book().tokens_issued, 1);
    // A second adapter sharing the cache is held to the same minute.
    let e = env.broker().quote(&sym("005930")).await.unwrap_err();
    assert!(matches!(e, KisError::TokenReissueTooSoon { .. }), "{e:?}");
    env.advance(51);
    b.quote(&sym("005930")).await.unwrap();
    assert_eq!(env.book().tokens_issued, 2);
}

/// Runs every operation once and returns the TR ids the fake saw per path.
async fn exercise(env: &Env) -> Vec<(String, String)> {
    let b = env.broker();
    env.book().auto_fill = true;
    b.submit(&limit("db", "005930", Side::Buy, "2", "71000"))
        .await
        .unwrap();
    b.submit(&market("ds", "005930", Side::Sell, "1"))
        .await
        .unwrap();
    b.submit(&limit("ob", "TSLA", Side::Buy, "2", "251"))
        .await
        .unwrap();
    b.submit(&limit("os", "TSLA", Side::Sell, "1", "250"))
        .await
        .unwrap();
    env.book().auto_fill = false;
    b.submit(&limit("dw", "005930", Side::Buy, "5", "60000"))
        .await
        .unwrap();
    b.submit(&limit("ow", "TSLL", Side::Buy, "5", "10"))
        .await
        .unwrap();
    b.cancel(&cid("dw")).await.unwrap();
    b.cancel(&cid("ow")).await.unwrap();
    b.take_fills().await.unwrap();
    b.account().await.unwrap();
    b.cash_balances().await.unwrap();
    b.open_orders().await.unwrap();
    b.quote(&sym("005930")).await.unwrap();
    b.quote(&sym("TSLA")).await.unwrap();
    b.order_book(&sym("005930"), 5).await.unwrap();
    b.order_book(&sym("TSLA"), 5).await.unwrap();
    b.top_by_volume(3).await.unwrap();
    let book = env.book();
    assert!(book.violations.is_empty(), "{:?}", book.violations);
    book.hits
        .iter()
        .filter(|h| !h.tr_id.is_empty())
        .map(|h| (h.path.clone(), h.tr_id.clone()))
        .collect()
}

#[tokio::test]
async fn tr_ids_sent_match_the_real_and_paper_tables() {
    for (mode, expected) in [
        (
            KisMode::Real,
            [
                "TTTC0012U",
                "TTTC0011U",
                "TTTT1002U",
                "TTTT1006U",
                "TTTC0013U",
                "TTTT1004U",
                "TTTC0081R",
                "TTTS3035R",
                "TTTC8434R",
                "TTTS3012R",
                "CTRP6504R",
                "FHKST01010100",
                "HHDFS00000300",
                "FHKST01010200",
                "HHDFS76200100",
                "FHPST01710000",
            ],
        ),
        (
            KisMode::Paper,
            [
                "VTTC0012U",
                "VTTC0011U",
                "VTTT1002U",
                "VTTT1001U",
                "VTTC0013U",
                "VTTT1004U",
                "VTTC0081R",
                "VTTS3035R",
                "VTTC8434R",
                "VTTS3012R",
                "VTRP6504R",
                "FHKST01010100",
                "HHDFS00000300",
                "FHKST01010200",
                "HHDFS76200100",
                "FHPST01710000",
            ],
        ),
    ] {
        let env = Env::new(mode).await;
        let seen = exercise(&env).await;
        let ids: BTreeSet<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
        let want: BTreeSet<&str> = expected.into_iter().collect();
        assert_eq!(ids, want, "{mode}");
        // Per path, the table's id.
        let order_posts: Vec<(String, String)> = env
            .book()
            .posts
            .iter()
            .map(|(p, t, _)| (p.clone(), t.clone()))
            .collect();
        assert_eq!(order_posts.len(), 8, "{order_posts:?}");
        let sell_us = tr_id(Tr::OverseasSell, mode).unwrap();
        assert!(
            order_posts
                .iter()
                .any(|(p, t)| p.ends_with("/trading/order") && t == sell_us)
        );
    }
}

#[tokio::test]
async fn paper_refuses_overseas_market_orders_before_sending() {
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker();
    let e = b
        .submit(&market("m1", "TSLA", Side::Buy, "1"))
        .await
        .unwrap_err();
    assert!(matches!(e, KisError::PaperLimitOnly { .. }), "{e:?}");
    assert!(e.to_string().contains("limit"), "{e}");
    assert!(
        env.book().hits.is_empty(),
        "nothing sent, not even a token request"
    );
    // The caller can send a marketable limit instead.
    env.book().auto_fill = true;
    let s = b
        .submit(&limit("m1", "TSLA", Side::Buy, "1", "260"))
        .await
        .unwrap();
    assert_eq!(s.state, OrderState::New);
    let st = b.order_status(&cid("m1")).await.unwrap().unwrap();
    assert_eq!(st.state, OrderState::Filled);
    // Real has no plain US market order either.
    let env = Env::new(KisMode::Real).await;
    let e = env
        .broker()
        .submit(&market("m2", "TSLA", Side::Buy, "1"))
        .await
        .unwrap_err();
    assert!(matches!(e, KisError::InvalidOrder { .. }), "{e:?}");
}

#[tokio::test]
async fn rate_limit_is_retried_then_succeeds_and_is_typed_when_it_persists() {
    let env = Env::new(KisMode::Real).await;
    let b = env.broker();
    b.quote(&sym("005930")).await.unwrap();
    let before = env.book().hits.len();
    {
        let mut book = env.book();
        book.get_faults
            .push_back(("EGW00201".into(), "초당 거래건수를 초과하였습니다.".into()));
        book.get_faults
            .push_back(("EGW00201".into(), "초당 거래건수를 초과하였습니다.".into()));
        book.get_500s = 1;
    }
    b.quote(&sym("005930")).await.unwrap();
    assert_eq!(env.book().hits.len() - before, 4);
    // Orders refused with EGW00201 are sent again (they were refused, not booked).
    env.book().post_faults.push_back(PostFault::RateLimit);
    env.book().post_faults.push_back(PostFault::RateLimit);
    b.submit(&limit("r1", "005930", Side::Buy, "7", "70000"))
        .await
        .unwrap();
    assert_eq!(env.book().count("005930", d("7")), 1);
    // Persistent: typed, bounded.
    for _ in 0..20 {
        env.book()
            .get_faults
            .push_back(("EGW00201".into(), "초당 거래건수를 초과하였습니다.".into()));
    }
    let e = b.quote(&sym("005930")).await.unwrap_err();
    assert!(matches!(e, KisError::RateLimited { attempts: 5 }), "{e:?}");
    env.book().get_faults.clear();
    for _ in 0..20 {
        env.book().post_faults.push_back(PostFault::RateLimit);
    }
    let e = b
        .submit(&limit("r2", "005930", Side::Buy, "8", "70000"))
        .await
        .unwrap_err();
    assert!(matches!(e, KisError::RateLimited { .. }), "{e:?}");
    assert_eq!(env.book().count("005930", d("8")), 0);
    // Refused, so the same id may be sent again.
    env.book().post_faults.clear();
    b.submit(&limit("r2", "005930", Side::Buy, "8", "70000"))
        .await
        .unwrap();
    assert_eq!(env.book().count("005930", d("8")), 1);
}

#[tokio::test]
async fn wrong_host_and_not_on_paper_are_typed() {
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker();
    env.book()
        .get_faults
        .push_back(("EGW02004".into(), "실전투자 도메인이 아닙니다".into()));
    let e = b.account().await.unwrap_err();
    assert!(matches!(e, KisError::WrongHost { .. }), "{e:?}");
    env.book().get_faults.push_back((
        "MCA00124".into(),
        "모의투자에서는 해당업무가 제공되지 않습니다.".into(),
    ));
    let e = b.top_by_volume(5).await.unwrap_err();
    match e {
        KisError::NotOnPaper { what } => assert_eq!(what, "FHPST01710000"),
        other => panic!("{other:?}"),
    }
    env.book().post_faults.push_back(PostFault::Envelope(
        "APBK0952".into(),
        "주문가능금액을 초과 했습니다".into(),
    ));
    let e = b
        .submit(&limit("x", "005930", Side::Buy, "1", "70000"))
        .await
        .unwrap_err();
    match &e {
        KisError::Rejected { code, .. } => assert_eq!(code, "APBK0952"),
        other => panic!("{other:?}"),
    }
    let s = b.order_status(&cid("x")).await.unwrap().unwrap();
    assert_eq!(s.state, OrderState::Rejected);
}

#[tokio::test]
async fn balance_and_fills_follow_continuation_pages() {
    let env = Env::new(KisMode::Paper).await;
    {
        let mut book = env.book();
        for i in 0..45 {
            book.positions
                .insert(format!("{:06}", 100000 + i), Decimal::from(i + 1));
        }
        for i in 0..25 {
            book.positions
                .insert(format!("US{i:02}"), Decimal::from(i + 1));
        }
    }
    let b = env.broker();
    let acct = b.account().await.unwrap();
    assert_eq!(acct.positions, env.book().nonzero_positions());
    assert_eq!(acct.positions.len(), 70);
    assert_eq!(acct.cash, env.book().krw);
    let conts: Vec<String> = env
        .book()
        .hits
        .iter()
        .filter(|h| {
            h.path
                .ends_with("domestic-stock/v1/trading/inquire-balance")
        })
        .map(|h| h.tr_cont.clone())
        .collect();
    assert_eq!(conts, ["", "N", "N"], "45 rows at 20 a page");
    // 40 filled orders: 3 pages of 15 on paper.
    {
        let mut book = env.book();
        book.auto_fill = true;
        for i in 0..40 {
            book.place(false, "005930", "02", Decimal::from(i + 1), Decimal::ZERO);
        }
    }
    let fills = b.take_fills().await.unwrap();
    assert_eq!(fills.len(), 40);
    let ids: BTreeSet<_> = fills.iter().map(|f| f.exec_id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 40);
    assert!(b.take_fills().await.unwrap().is_empty());
    let book = env.book();
    assert!(book.violations.is_empty(), "{:?}", book.violations);
    let pages = book
        .hits
        .iter()
        .filter(|h| h.path.ends_with("inquire-daily-ccld"))
        .count();
    assert_eq!(pages, 6, "two inquiries of three pages");
}

#[tokio::test]
async fn duplicate_rows_and_partial_fills_are_reported_once_even_after_a_restart() {
    let env = Env::new(KisMode::Real).await;
    env.book().duplicate_rows = true;
    let b = env.broker();
    b.submit(&limit("p1", "005930", Side::Buy, "10", "70000"))
        .await
        .unwrap();
    b.submit(&limit("p2", "TSLA", Side::Buy, "4", "250"))
        .await
        .unwrap();
    let (dno, ono) = {
        let book = env.book();
        (book.orders[0].odno, book.orders[1].odno)
    };
    env.book().fill(dno, d("4"), d("70000"));
    env.book().fill(ono, d("1"), d("249.5"));
    let f = b.take_fills().await.unwrap();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].client_id, cid("p1"));
    assert_eq!((f[0].quantity, f[0].price), (d("4"), d("70000")));
    assert_eq!((f[1].quantity, f[1].price), (d("1"), d("249.5")));
    assert!(b.take_fills().await.unwrap().is_empty());
    env.book().fill(dno, d("6"), d("69900"));
    let f2 = b.take_fills().await.unwrap();
    assert_eq!(f2.len(), 1);
    assert_eq!((f2[0].quantity, f2[0].price), (d("6"), d("69900")));
    assert_ne!(f2[0].exec_id, f[0].exec_id);
    // A new adapter with the same journal reports nothing twice.
    let b2 = env.broker();
    assert!(b2.take_fills().await.unwrap().is_empty());
    env.book().fill(ono, d("3"), d("251"));
    let f3 = b2.take_fills().await.unwrap();
    assert_eq!(f3.len(), 1);
    assert_eq!((f3[0].quantity, f3[0].price), (d("3"), d("251")));
    assert_eq!(f3[0].client_id, cid("p2"));
    // An adapter with a lost journal still names unknown orders, by KIS number.
    let b3 = pulse_broker_kis::KisBroker::new(
        config(&env.base, env.mode, Duration::from_secs(5)),
        env.clock.clone(),
        env.cache.clone(),
        MemoryOrderJournal::new(),
    )
    .unwrap();
    let f4 = b3.take_fills().await.unwrap();
    assert_eq!(f4.len(), 2);
    assert!(f4.iter().all(|f| f.client_id.0.starts_with("kis-")));
}

#[tokio::test]
async fn after_a_restart_the_callers_booked_fills_decide_what_is_reported_again() {
    // A runner killed after the adapter reported a fill but before it booked it must get that
    // fill again; one that booked it must not (a partial fill included).
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker();
    b.submit(&limit("k1", "TSLA", Side::Buy, "10", "250"))
        .await
        .unwrap();
    let odno = env.book().orders[0].odno;
    env.book().fill(odno, d("4"), d("249.5"));
    let first = b.take_fills().await.unwrap();
    assert_eq!(first.len(), 1);
    env.book().fill(odno, d("6"), d("250"));
    let second = b.take_fills().await.unwrap();
    assert_eq!((second[0].quantity, second[0].price), (d("6"), d("250")));
    // Restart 1: the caller booked only the first fill (killed before booking the second).
    let b2 = env.broker();
    b2.booked_fills(&first).await.unwrap();
    let again = b2.take_fills().await.unwrap();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!((again[0].quantity, again[0].price), (d("6"), d("250")));
    assert_eq!(
        again[0].exec_id, second[0].exec_id,
        "the same execution id: de-duplicable"
    );
    // Restart 2: the caller booked both: nothing is reported again.
    let b3 = env.broker();
    b3.booked_fills(&[first[0].clone(), second[0].clone()])
        .await
        .unwrap();
    assert!(b3.take_fills().await.unwrap().is_empty());
    // Restart 3: the caller booked nothing (a crash before its first booking): all of it.
    let b4 = env.broker();
    b4.booked_fills(&[]).await.unwrap();
    let all = b4.take_fills().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].quantity, d("10"));
}

#[tokio::test]
async fn an_accepted_order_whose_answer_never_arrives_is_outcome_unknown_and_resolved() {
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker_with(Duration::from_millis(300));
    env.book().post_faults.push_back(PostFault::AcceptThenStall);
    let order = limit("u1", "005930", Side::Buy, "11", "70100");
    let e = b.submit(&order).await.unwrap_err();
    assert!(e.is_outcome_unknown(), "{e:?}");
    assert_eq!(env.book().count("005930", d("11")), 1);
    let posts = env.book().posts.len();
    // Re-submitting resolves it by lookup: no second POST.
    let s = b.submit(&order).await.unwrap();
    assert_eq!(env.book().posts.len(), posts);
    assert_eq!(env.book().count("005930", d("11")), 1);
    let odno = format!("{:010}", env.book().orders[0].odno);
    assert_eq!(s.broker_id.as_deref(), Some(odno.as_str()));
    let st = b.order_status(&cid("u1")).await.unwrap().unwrap();
    assert_eq!(st.state, OrderState::New);
    assert_eq!(st.remaining, d("11"));
    // After a restart the journal and the day's orders answer.
    let b2 = env.broker();
    let st = b2.order_status(&cid("u1")).await.unwrap().unwrap();
    assert_eq!(st.broker_id.as_deref(), Some(odno.as_str()));
    b2.submit(&order).await.unwrap();
    assert_eq!(env.book().posts.len(), posts);
    // A request dropped before booking: unknown, then `None`, then sent again once.
    env.book().post_faults.push_back(PostFault::StallThenDrop);
    let o2 = limit("u2", "005930", Side::Sell, "12", "71000");
    assert!(b.submit(&o2).await.unwrap_err().is_outcome_unknown());
    assert_eq!(b.order_status(&cid("u2")).await.unwrap(), None);
    assert!(matches!(
        env.journal
            .entries()
            .iter()
            .find(|e| e.client_id == cid("u2"))
            .unwrap()
            .state,
        JournalState::NotFound
    ));
    b.submit(&o2).await.unwrap();
    assert_eq!(env.book().count("005930", d("12")), 1);
    // HTTP 500 after booking: unknown, resolved the same way.
    env.book().post_faults.push_back(PostFault::AcceptThen500);
    let o3 = limit("u3", "TSLA", Side::Buy, "13", "240");
    assert!(b.submit(&o3).await.unwrap_err().is_outcome_unknown());
    let st = b.order_status(&cid("u3")).await.unwrap().unwrap();
    assert_eq!(st.state, OrderState::New);
    b.submit(&o3).await.unwrap();
    assert_eq!(env.book().count("TSLA", d("13")), 1);
    // HTTP 500 with a system-error envelope after booking: not a refusal, unknown.
    env.book()
        .post_faults
        .push_back(PostFault::AcceptThen500Envelope);
    let o4 = market("u4", "005930", Side::Buy, "14");
    assert!(b.submit(&o4).await.unwrap_err().is_outcome_unknown());
    assert!(b.order_status(&cid("u4")).await.unwrap().is_some());
    assert_eq!(env.book().count("005930", d("14")), 1);
}

#[tokio::test]
async fn resolution_never_claims_an_order_placed_before_the_intent_or_claimed_by_another_id() {
    let env = Env::new(KisMode::Real).await;
    let b = env.broker_with(Duration::from_millis(300));
    // The same order placed earlier by hand (HTS).
    env.book().place(false, "005930", "02", d("9"), d("70000"));
    env.advance(5);
    b.submit(&limit("a", "005930", Side::Buy, "9", "70000"))
        .await
        .unwrap();
    env.advance(5);
    env.book().post_faults.push_back(PostFault::StallThenDrop);
    let e = b
        .submit(&limit("b", "005930", Side::Buy, "9", "70000"))
        .await
        .unwrap_err();
    assert!(e.is_outcome_unknown());
    assert_eq!(b.order_status(&cid("b")).await.unwrap(), None);
}

#[tokio::test]
async fn cancel_open_orders_and_cash_balances() {
    let env = Env::new(KisMode::Real).await;
    let b = env.broker();
    b.submit(&limit("c1", "005930", Side::Buy, "10", "60000"))
        .await
        .unwrap();
    b.submit(&limit("c2", "TSLA", Side::Buy, "3", "200"))
        .await
        .unwrap();
    let odno = env.book().orders[0].odno;
    env.book().fill(odno, d("4"), d("60000"));
    let open = b.open_orders().await.unwrap();
    assert_eq!(open.len(), 2, "{open:?}");
    assert_eq!(open[0].client_id, cid("c1"));
    assert_eq!(open[0].state, OrderState::PartiallyFilled);
    let s = b.cancel(&cid("c1")).await.unwrap();
    assert_eq!(s.state, OrderState::Canceled);
    assert_eq!((s.filled, s.remaining), (d("4"), d("0")));
    let s = b.cancel(&cid("c2")).await.unwrap();
    assert_eq!(s.state, OrderState::Canceled);
    // Cancelling again returns the status without a new request.
    let posts = env.book().posts.len();
    assert_eq!(
        b.cancel(&cid("c1")).await.unwrap().state,
        OrderState::Canceled
    );
    assert_eq!(env.book().posts.len(), posts);
    assert!(b.open_orders().await.unwrap().is_empty());
    let cash = b.cash_balances().await.unwrap();
    assert_eq!(cash.len(), 2);
    assert_eq!(cash[0].currency, Currency::Krw);
    assert_eq!(cash[0].amount, d("10000000") - d("240000"));
    assert_eq!(cash[1].currency, Currency::Usd);
    assert_eq!(cash[1].amount, d("10000"));
    let e = b.cancel(&cid("nope")).await.unwrap_err();
    assert!(matches!(e, KisError::NotFound { .. }));
    assert_eq!(b.order_status(&cid("nope")).await.unwrap(), None);
}

#[tokio::test]
async fn no_secret_appears_in_any_error() {
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker_with(Duration::from_millis(300));
    b.quote(&sym("005930")).await.unwrap();
    let token = token_text(1);
    let mut secrets = vec![
        APP_KEY.to_string(),
        APP_SECRET.to_string(),
        token.clone(),
        CANO.to_string(),
        ACCOUNT.to_string(),
    ];
    for s in secrets.clone() {
        let q = pulse_http::Url::parse_with_params("http://x/", [("k", s.as_str())]).unwrap();
        secrets.push(q.query().unwrap().trim_start_matches("k=").to_string());
        let mut p = pulse_http::Url::parse("http://x/").unwrap();
        p.path_segments_mut().unwrap().push(&s);
        secrets.push(p.path().trim_start_matches('/').to_string());
    }
    let echo = format!(
        " appkey={} appsecret={} token={} acct {} {} {}",
        APP_KEY, secrets[7], secrets[8], CANO, ACCOUNT, token
    );
    env.book().echo = echo.clone();
    let mut errors: Vec<KisError> = Vec::new();
    env.book().post_faults.push_back(PostFault::Envelope(
        "APBK0952".into(),
        "주문가능금액 초과".into(),
    ));
    errors.push(
        b.submit(&limit("s1", "005930", Side::Buy, "1", "1000"))
            .await
            .unwrap_err(),
    );
    env.book()
        .get_faults
        .push_back(("OPSQ9999".into(), echo.clone()));
    errors.push(b.account().await.unwrap_err());
    env.book()
        .get_faults
        .push_back(("EGW02004".into(), echo.clone()));
    errors.push(b.account().await.unwrap_err());
    env.book().post_faults.push_back(PostFault::AcceptThenStall);
    errors.push(
        b.submit(&limit("s2", "005930", Side::Buy, "2", "1000"))
            .await
            .unwrap_err(),
    );
    env.book().quote_override =
        Some(serde_json::json!({"stck_prpr": echo.clone(), "acml_vol": "1"}));
    errors.push(b.quote(&sym("005930")).await.unwrap_err());
    // A token the server no longer knows (EGW00121, not re-issued).
    env.book().current_token = Some("other".into());
    errors.push(b.account().await.unwrap_err());
    // An unreachable host.
    let dead = pulse_broker_kis::KisBroker::new(
        config(
            "http://127.0.0.1:9",
            KisMode::Paper,
            Duration::from_millis(300),
        ),
        env.clock.clone(),
        pulse_broker_kis::MemoryTokenCache::new(),
        MemoryOrderJournal::new(),
    )
    .unwrap();
    errors.push(dead.quote(&sym("005930")).await.unwrap_err());
    assert!(errors.len() >= 6);
    for e in &errors {
        let shown = format!("{e} | {e:?}");
        for s in &secrets {
            assert!(!shown.contains(s.as_str()), "{s:?} leaked in {shown}");
        }
    }
    let dbg = format!("{b:?}");
    for s in &secrets {
        assert!(!dbg.contains(s.as_str()), "{s:?} leaked in {dbg}");
    }
    assert!(!b.redact(&echo).contains(&token));
}

#[test]
fn krx_limits_move_onto_the_tick_grid_toward_the_market() {
    use pulse_broker_kis::{krx_limit, krx_tick};
    // The tick table: 1 / 5 / 10 / 50 / 100 / 500 / 1,000 won by price band.
    for (price, tick) in [
        ("1999", "1"),
        ("2000", "5"),
        ("4999", "5"),
        ("5000", "10"),
        ("19990", "10"),
        ("20000", "50"),
        ("70350.35", "100"),
        ("200000", "500"),
        ("500000", "1000"),
    ] {
        assert_eq!(krx_tick(d(price)), d(tick), "{price}");
    }
    // A buy goes down, a sell up: never past the approved limit.
    assert_eq!(krx_limit(d("70350.35"), Side::Buy), d("70300"));
    assert_eq!(krx_limit(d("70350.35"), Side::Sell), d("70400"));
    assert_eq!(krx_limit(d("70300"), Side::Buy), d("70300"));
    // Across a band boundary a sell lands on the coarser grid.
    assert_eq!(krx_limit(d("19995.5"), Side::Sell), d("20000"));
    assert_eq!(krx_limit(d("2003"), Side::Buy), d("2000"));
}

#[tokio::test]
async fn a_domestic_limit_off_the_tick_grid_is_sent_on_it() {
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker();
    b.submit(&limit("t1", "005930", Side::Buy, "3", "70350.35"))
        .await
        .unwrap();
    b.submit(&limit("t2", "005930", Side::Sell, "1", "70350.35"))
        .await
        .unwrap();
    let prices: Vec<String> = env
        .book()
        .posts
        .iter()
        .map(|(_, _, body)| body["ORD_UNPR"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prices, vec!["70300".to_string(), "70400".to_string()]);
    // The journal keeps the price sent, so a lookup after a restart matches the order.
    let status = env
        .broker()
        .order_status(&cid("t1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.client_id, cid("t1"));
}
