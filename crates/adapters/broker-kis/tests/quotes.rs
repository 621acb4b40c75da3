//! `QuoteSource` against the loopback fake: prices, books, the ranking, and malformed input
//! as typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use pulse_broker_kis::{KisError, KisMode};
use pulse_core::ports::QuoteSource;
use pulse_core::{Currency, Symbol};
use serde_json::json;

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

#[tokio::test]
async fn quotes_books_and_ranking() {
    let env = Env::new(KisMode::Paper).await;
    let b = env.broker();
    assert_eq!(b.source_name(), "kis");
    let q = b.quote(&sym("005930")).await.unwrap();
    assert_eq!(
        (q.last, q.volume, q.currency),
        (d("70000"), Some(d("1234567")), Currency::Krw)
    );
    assert_eq!(q.time, t0());
    let q = b.quote(&sym("TSLA")).await.unwrap();
    assert_eq!(
        (q.last, q.volume, q.currency),
        (d("250.5"), Some(d("98765")), Currency::Usd)
    );
    let book = b.order_book(&sym("005930"), 3).await.unwrap();
    assert_eq!(book.bids.len(), 3);
    assert_eq!(book.asks.len(), 3);
    assert_eq!(book.bids[0].price, d("70000"));
    assert_eq!(book.asks[0].price, d("70100"));
    assert_eq!(book.bids[0].quantity, d("20"));
    assert!(book.bids[0].price > book.bids[1].price);
    let book = b.order_book(&sym("TSLA"), 10).await.unwrap();
    assert_eq!((book.bids.len(), book.asks.len()), (1, 1));
    assert_eq!(book.asks[0].price, d("250.55"));
    let top = b.top_by_volume(3).await.unwrap();
    assert_eq!(top, vec![sym("005930"), sym("000660"), sym("035720")]);
    let top = b.top_by_volume(10).await.unwrap();
    assert_eq!(top.len(), 4, "duplicates dropped");
}

#[tokio::test]
async fn malformed_or_invalid_quotes_are_typed_errors() {
    let env = Env::new(KisMode::Real).await;
    let b = env.broker();
    env.book().quote_override = Some(json!({"stck_prpr": "7O000", "acml_vol": "1"}));
    match b.quote(&sym("005930")).await.unwrap_err() {
        KisError::Parse { field, .. } => assert_eq!(field, "stck_prpr"),
        e => panic!("{e:?}"),
    }
    env.book().quote_override = Some(json!({"stck_prpr": "0", "acml_vol": "1"}));
    assert!(matches!(
        b.quote(&sym("005930")).await.unwrap_err(),
        KisError::InvalidQuote(_)
    ));
    env.book().quote_override = Some(json!({"last": "", "tvol": "5"}));
    match b.quote(&sym("TSLA")).await.unwrap_err() {
        KisError::Parse { field, .. } => assert_eq!(field, "last"),
        e => panic!("{e:?}"),
    }
    env.book().quote_override = Some(json!({"stck_prpr": "1", "acml_vol": "-5"}));
    assert!(matches!(
        b.quote(&sym("005930")).await.unwrap_err(),
        KisError::InvalidQuote(_)
    ));
    // A crossed book.
    env.book().quote_override = Some(json!({"bidp1": "90000"}));
    assert!(matches!(
        b.order_book(&sym("005930"), 5).await.unwrap_err(),
        KisError::InvalidQuote(_)
    ));
    env.book().quote_override = Some(json!({"askp_rsqn2": "many"}));
    match b.order_book(&sym("005930"), 5).await.unwrap_err() {
        KisError::Parse { field, .. } => assert_eq!(field, "askp_rsqn2"),
        e => panic!("{e:?}"),
    }
}
