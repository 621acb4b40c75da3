#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The quote collector's use cases on real Binance minute bars (`intraday-1m-many`, gzip CSV):
//! the replay source against the file read independently, no look-ahead (the future perturbed),
//! the volume ranking, one poll into the in-process cache, and its expiry by the clock.

use data_csv::ImportOptions;
use jiff::{SignedDuration, Timestamp};
use pulse_app::quotes::{
    MemoryQuoteCache, ReplayQuotes, cached_quotes, collect_tick, resolve_universe,
};
use pulse_core::ports::{QuoteCache, QuoteSource, Store};
use pulse_core::{Bar, Currency, QuoteUniverse, SimClock, Symbol, Timeframe};
use rust_decimal::Decimal;
use std::io::Read;
use std::str::FromStr;
use store_sqlite::SqliteStore;

const PAIRS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "DOGEUSDT"];

fn gz_path(symbol: &str) -> std::path::PathBuf {
    pulse_testkit::shared_file(&format!("intraday-1m-many/{symbol}.csv.gz"))
}

/// The file's rows (ts, close text, volume text), read without the product's parser.
fn raw_rows(symbol: &str) -> Vec<(Timestamp, String, String)> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(gz_path(symbol)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "ts,open,high,low,close,volume");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[4].to_string(), f[5].to_string())
        })
        .collect()
}

async fn store_with_pairs(dir: &tempfile::TempDir) -> SqliteStore {
    let store = SqliteStore::open(&dir.path().join("q.db")).await.unwrap();
    let mut batches = Vec::new();
    for symbol in PAIRS {
        let parsed = data_csv::parse_path(&gz_path(symbol), &ImportOptions::default()).unwrap();
        batches.extend(parsed.into_batches().unwrap());
    }
    store.import(&batches).await.unwrap();
    store
}

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn replay_quote_is_the_last_closed_minute_with_the_days_volume() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_pairs(&dir).await;
    let stored = store.instrument(&sym("BTCUSDT")).await.unwrap().unwrap();
    assert_eq!(
        stored.symbol,
        sym("BTCUSDT"),
        "the .csv.gz name gave the symbol"
    );
    let clock = SimClock::new(ts("2021-04-05T13:00:30Z"));
    let replay = ReplayQuotes::new(&store, &clock, Timeframe::M1);
    // Polled minute by minute through a day boundary: each quote equals the file.
    for at in [
        "2021-04-05T13:00:30Z",
        "2021-04-05T13:01:00Z",
        "2021-04-05T13:07:59Z",
        "2021-04-05T23:59:59Z",
        "2021-04-06T00:00:30Z",
        "2021-04-06T00:03:00Z",
    ] {
        let now = ts(at);
        clock.set(now);
        for symbol in PAIRS {
            let rows = raw_rows(symbol);
            let day = ts(&format!("{}T00:00:00Z", &at[..10]));
            let closed: Vec<_> = rows
                .iter()
                .filter(|(t, _, _)| *t + SignedDuration::from_secs(60) <= now)
                .collect();
            let (last_ts, close, _) = closed.last().unwrap();
            let volume: Decimal = closed
                .iter()
                .filter(|(t, _, _)| *t >= day)
                .map(|(_, _, v)| Decimal::from_str(v).unwrap())
                .sum();
            let q = replay.quote(&sym(symbol)).await.unwrap();
            assert_eq!(
                q.last,
                Decimal::from_str(close).unwrap(),
                "{symbol} at {at}"
            );
            assert_eq!(
                q.time,
                *last_ts + SignedDuration::from_secs(60),
                "{symbol} at {at}"
            );
            assert_eq!(
                q.volume,
                Some(volume.normalize()),
                "{symbol} volume at {at}"
            );
            assert_eq!(q.currency, Currency::Usdt);
            q.validate().unwrap();
        }
    }
    // Time travel backwards starts the day over: the same answer as a fresh source.
    clock.set(ts("2021-04-05T13:00:30Z"));
    let back = replay.quote(&sym("ETHUSDT")).await.unwrap();
    let fresh = ReplayQuotes::new(&store, &clock, Timeframe::M1)
        .quote(&sym("ETHUSDT"))
        .await
        .unwrap();
    assert_eq!(back, fresh);
    // Before the first bar there is nothing to quote: an error naming the symbol.
    clock.set(ts("2021-04-01T00:00:00Z"));
    let err = ReplayQuotes::new(&store, &clock, Timeframe::M1)
        .quote(&sym("BTCUSDT"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("BTCUSDT"), "{err}");
}

#[tokio::test]
async fn replay_quotes_never_see_a_bar_that_has_not_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_pairs(&dir).await;
    let clock = SimClock::new(ts("2021-04-07T10:15:20Z"));
    let before = ReplayQuotes::new(&store, &clock, Timeframe::M1)
        .quote(&sym("BTCUSDT"))
        .await
        .unwrap();
    // Perturb the future: the bar still forming at 10:15 and everything after it.
    let mut future = Vec::new();
    let mut t = ts("2021-04-07T10:15:00Z");
    for _ in 0..120 {
        future.push(Bar {
            ts: t,
            open: 1.0,
            high: 1_000_000.0,
            low: 0.5,
            close: 999_999.0,
            adj_close: None,
            volume: Some(1e12),
        });
        t += SignedDuration::from_secs(60);
    }
    let instrument = store.instrument(&sym("BTCUSDT")).await.unwrap().unwrap();
    store
        .import_with(
            &[pulse_core::ports::ImportBatch {
                instrument,
                timeframe: Timeframe::M1,
                bars: future,
                actions: Vec::new(),
                source: "perturbed future".into(),
            }],
            pulse_core::ports::ImportPolicy::Replace,
        )
        .await
        .unwrap();
    let after = ReplayQuotes::new(&store, &clock, Timeframe::M1)
        .quote(&sym("BTCUSDT"))
        .await
        .unwrap();
    assert_eq!(before, after);
    // Once the perturbed minute has closed, it is what the quote shows.
    clock.set(ts("2021-04-07T10:16:00Z"));
    let later = ReplayQuotes::new(&store, &clock, Timeframe::M1)
        .quote(&sym("BTCUSDT"))
        .await
        .unwrap();
    assert_eq!(later.last, Decimal::from(999_999));
}

#[tokio::test]
async fn top_by_volume_ranks_by_the_days_traded_value_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_pairs(&dir).await;
    let at = ts("2021-04-16T18:00:00Z");
    let clock = SimClock::new(at);
    let replay = ReplayQuotes::new(&store, &clock, Timeframe::M1);
    let mut expected: Vec<(f64, &str)> = PAIRS
        .iter()
        .map(|s| {
            let value: f64 = raw_rows(s)
                .iter()
                .filter(|(t, _, _)| {
                    *t >= ts("2021-04-16T00:00:00Z") && *t + SignedDuration::from_secs(60) <= at
                })
                .map(|(_, c, v)| c.parse::<f64>().unwrap() * v.parse::<f64>().unwrap())
                .sum();
            (value, *s)
        })
        .collect();
    expected.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top = resolve_universe(&replay, &QuoteUniverse::TopByVolume(2))
        .await
        .unwrap();
    assert_eq!(
        top,
        expected
            .iter()
            .take(2)
            .map(|(_, s)| sym(s))
            .collect::<Vec<_>>()
    );
    assert!(
        resolve_universe(&replay, &QuoteUniverse::TopByVolume(0))
            .await
            .is_err()
    );
    // A list keeps its order and drops repeats.
    let list = QuoteUniverse::Symbols(vec![sym("ETHUSDT"), sym("BTCUSDT"), sym("ETHUSDT")]);
    assert_eq!(
        resolve_universe(&replay, &list).await.unwrap(),
        vec![sym("ETHUSDT"), sym("BTCUSDT")]
    );
}

#[tokio::test]
async fn one_poll_fills_the_cache_and_names_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_pairs(&dir).await;
    let clock = SimClock::new(ts("2021-04-20T09:30:00Z"));
    let replay = ReplayQuotes::new(&store, &clock, Timeframe::M1);
    let cache = MemoryQuoteCache::new(&clock);
    let symbols = vec![sym("BTCUSDT"), sym("ETHUSDT"), sym("NOPEUSDT")];
    let report = collect_tick(&replay, &cache, &clock, &symbols, Some(5), 60).await;
    assert_eq!(report.written, 2);
    assert_eq!(report.books, 2);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].starts_with("NOPEUSDT"),
        "{:?}",
        report.errors
    );
    let cached = cached_quotes(&cache, &symbols).await.unwrap();
    assert_eq!(cached.len(), 2);
    for q in &cached {
        assert_eq!(*q, replay.quote(&q.symbol).await.unwrap());
        let book = cache.order_book(&q.symbol).await.unwrap().unwrap();
        assert!(
            book.bids.is_empty() && book.asks.is_empty(),
            "stored bars carry no depth"
        );
    }
    // The cache's time to live runs on the clock: 60 s later nothing is live.
    clock.set(ts("2021-04-20T09:31:00Z"));
    assert!(cached_quotes(&cache, &symbols).await.unwrap().is_empty());
}

#[tokio::test]
async fn before_the_days_first_bar_the_quote_is_the_last_bar_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_pairs(&dir).await;
    // The files end on 2021-05-14; on the 15th the quote is the last stored minute, every poll.
    let clock = SimClock::new(ts("2021-05-15T12:00:00Z"));
    let replay = ReplayQuotes::new(&store, &clock, Timeframe::M1);
    let rows = raw_rows("ETHUSDT");
    let (last_ts, close, _) = rows.last().unwrap();
    for _ in 0..3 {
        let q = replay.quote(&sym("ETHUSDT")).await.unwrap();
        assert_eq!(q.last, Decimal::from_str(close).unwrap());
        assert_eq!(q.time, *last_ts + SignedDuration::from_secs(60));
        assert_eq!(q.volume, Some(Decimal::ZERO), "nothing traded yet that day");
    }
}
