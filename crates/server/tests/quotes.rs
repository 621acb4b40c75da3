//! Live quotes on the dashboard: real Binance minute bars replayed into the in-process quote
//! cache by the collector's use case, read by `/api/quotes`, streamed by `/api/quotes/stream`
//! (server-sent events) and shown on the overview; without a cache the API says how to get one.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_app::quotes::{MemoryQuoteCache, ReplayQuotes, cached_quotes, collect_tick};
use pulse_core::ports::{QuoteSource, Store};
use pulse_core::{SimClock, Symbol, Timeframe};
use pulse_server::{Dashboard, QuoteReader};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::Value;
use std::sync::Arc;
use store_sqlite::SqliteStore;

const TOKEN: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

async fn store(dir: &tempfile::TempDir) -> SqliteStore {
    let store = SqliteStore::open(&dir.path().join("pulse.db"))
        .await
        .unwrap();
    let mut batches = Vec::new();
    for s in ["BTCUSDT", "ETHUSDT"] {
        let path = pulse_testkit::shared_file(&format!("intraday-1m-many/{s}.csv.gz"));
        let parsed = data_csv::parse_path(&path, &data_csv::ImportOptions::default()).unwrap();
        batches.extend(parsed.into_batches().unwrap());
    }
    store.import(&batches).await.unwrap();
    store
}

#[tokio::test]
async fn quotes_api_stream_and_overview_show_the_cached_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let clock = Arc::new(SimClock::new("2021-05-03T14:05:10Z".parse().unwrap()));
    let cache = Arc::new(MemoryQuoteCache::new(clock.clone()));
    let symbols = vec![sym("BTCUSDT"), sym("ETHUSDT")];
    let expected = {
        let replay = ReplayQuotes::new(&store, clock.as_ref(), Timeframe::M1);
        let report =
            collect_tick(&replay, cache.as_ref(), clock.as_ref(), &symbols, None, 60).await;
        assert_eq!(report.written, 2, "{:?}", report.errors);
        replay.quote(&sym("BTCUSDT")).await.unwrap()
    };
    let reader: QuoteReader = {
        let cache = cache.clone();
        Arc::new(move |symbols| {
            let cache = cache.clone();
            Box::pin(async move {
                cached_quotes(cache.as_ref(), &symbols)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
    };
    let dashboard = Dashboard::new(store, TOKEN.into()).with_quotes(reader, symbols);
    let (base, http) = common::serve(dashboard).await;
    let bearer = format!("Bearer {TOKEN}");

    // JSON: the configured symbols by default, or the ones asked; unknown ones are left out.
    let r = http
        .get(format!("{base}/api/quotes"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let all: Value = r.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let r = http
        .get(format!("{base}/api/quotes?symbols=BTCUSDT,XRPUSDT"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    let one: Value = r.json().await.unwrap();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0], serde_json::to_value(&expected).unwrap());
    // A bad symbol is a 400 naming the field; no token, no quotes.
    let r = http
        .get(format!("{base}/api/quotes?symbols=BTC%20USDT"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "symbols");
    let r = http.get(format!("{base}/api/quotes")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The stream: a `quotes` event carrying the same JSON.
    let mut r = http
        .get(format!("{base}/api/quotes/stream?symbols=BTCUSDT"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), r.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("event: quotes\n"), "{text}");
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let streamed: Value = serde_json::from_str(data).unwrap();
    assert_eq!(streamed, one);

    // The overview: the table with the live price, and the script that follows the stream.
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("<h1>Live quotes</h1>"), "{page}");
    assert!(
        page.contains(&format!(
            "<td class=\"num\">{}</td>",
            expected.last.normalize()
        )),
        "{page}"
    );
    assert!(page.contains("/api/quotes/stream"));

    // Once the quotes expire (60 s by the clock), nothing is live.
    clock.set("2021-05-03T14:06:10Z".parse().unwrap());
    let r = http
        .get(format!("{base}/api/quotes"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), Value::Array(Vec::new()));
}

#[tokio::test]
async fn without_a_quote_cache_the_api_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pulse.db"))
        .await
        .unwrap();
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
    let r = http
        .get(format!("{base}/api/quotes?symbols=BTCUSDT"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("pulse collect --redis"),
        "{body}"
    );
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("No quote cache"));
}
