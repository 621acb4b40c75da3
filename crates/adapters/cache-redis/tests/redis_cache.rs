#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Against a real `redis-server` on 127.0.0.1 (scripts/test.sh starts one when none runs;
//! `PULSE_TEST_REDIS_URL` points elsewhere). Every test writes under its own key prefix.

use cache_redis::{RedisCacheError, RedisQuoteCache};
use pulse_core::ports::QuoteCache;
use pulse_core::{BookLevel, Currency, OrderBook, Quote, Symbol};
use rust_decimal::Decimal;
use std::str::FromStr;

fn url() -> String {
    std::env::var("PULSE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

fn prefix(test: &str) -> String {
    format!("pulse-test-{}-{test}", std::process::id())
}

async fn cache(test: &str) -> RedisQuoteCache {
    RedisQuoteCache::connect(&url(), &prefix(test))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "no Redis at {} ({e}); run scripts/test.sh, which starts one",
                url()
            )
        })
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn quote(symbol: &str) -> Quote {
    Quote {
        symbol: Symbol::try_new(symbol).unwrap(),
        time: "2021-04-05T13:37:00Z".parse().unwrap(),
        last: d("58123.45"),
        bid: Some(d("58123.40")),
        ask: Some(d("58123.50")),
        volume: Some(d("1234.5678")),
        currency: Currency::Usdt,
    }
}

async fn raw(command: &str, key: &str) -> redis::Value {
    let client = redis::Client::open(url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd(command)
        .arg(key)
        .query_async(&mut c)
        .await
        .unwrap()
}

#[tokio::test]
async fn quote_and_book_round_trip_under_the_spec_keys_with_their_ttl() {
    let cache = cache("roundtrip").await;
    let q = quote("BTCUSDT");
    let book = OrderBook {
        symbol: q.symbol.clone(),
        time: q.time,
        bids: vec![BookLevel {
            price: d("58123.40"),
            quantity: d("0.5"),
        }],
        asks: vec![BookLevel {
            price: d("58123.50"),
            quantity: d("1.25"),
        }],
        currency: Currency::Usdt,
    };
    cache.put(&q, Some(&book), 60).await.unwrap();
    assert_eq!(
        cache.price_key(&q.symbol),
        format!("{}:price:BTCUSDT", prefix("roundtrip"))
    );
    assert_eq!(cache.quote(&q.symbol).await.unwrap(), Some(q.clone()));
    assert_eq!(cache.order_book(&q.symbol).await.unwrap(), Some(book));
    for key in [cache.price_key(&q.symbol), cache.book_key(&q.symbol)] {
        let redis::Value::Int(ttl) = raw("TTL", &key).await else {
            panic!("TTL of {key} is not an integer")
        };
        assert!((1..=60).contains(&ttl), "{key} expires in {ttl} s");
    }
    // A newer quote replaces the older one.
    let mut newer = q.clone();
    newer.last = d("58200");
    cache.put(&newer, None, 60).await.unwrap();
    assert_eq!(
        cache.quote(&q.symbol).await.unwrap().unwrap().last,
        d("58200")
    );
    // Unknown symbols have no quote.
    let other = Symbol::try_new("ETHUSDT").unwrap();
    assert_eq!(cache.quote(&other).await.unwrap(), None);
}

#[tokio::test]
async fn quotes_expire_after_their_ttl() {
    let cache = cache("expiry").await;
    let q = quote("ETHUSDT");
    cache.put(&q, None, 1).await.unwrap();
    assert!(cache.quote(&q.symbol).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(cache.quote(&q.symbol).await.unwrap(), None);
    assert!(matches!(
        cache.put(&q, None, 0).await,
        Err(RedisCacheError::ZeroTtl)
    ));
}

#[tokio::test]
async fn a_corrupt_value_is_an_error_naming_its_key() {
    let cache = cache("corrupt").await;
    let symbol = Symbol::try_new("SOLUSDT").unwrap();
    let key = cache.price_key(&symbol);
    let client = redis::Client::open(url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("{not json")
        .arg("EX")
        .arg(30)
        .query_async(&mut c)
        .await
        .unwrap();
    let err = cache.quote(&symbol).await.unwrap_err().to_string();
    assert!(err.contains(&key), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_fails_without_showing_the_password() {
    let err = RedisQuoteCache::connect("redis://:s3cr3t%26pw@127.0.0.1:1/0", "realtime")
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("127.0.0.1:1/0"), "{text}");
    for secret in ["s3cr3t", "%26pw", "&pw"] {
        assert!(!text.contains(secret), "{text}");
    }
    let err = RedisQuoteCache::connect("http://:s3cr3t@host", "realtime")
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, RedisCacheError::Url(_)), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
}
