#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Parser throughput on bodies built from the real shared data: Yahoo daily (TSLA, 1,946 bars),
//! Yahoo 1m (SPY, 1,950 bars), Alpha Vantage daily-adjusted (TSLA) and intraday (SPY).
//! Prints a markdown table. Run: `cargo bench -p data-yahoo --bench parse`.

use data_yahoo::alphavantage::{parse_daily_adjusted, parse_intraday};
use data_yahoo::parse_chart_json;
use pulse_core::{Symbol, Timeframe};
use serde_json::json;
use std::hint::black_box;
use std::time::Instant;

fn lines(rel: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(pulse_testkit::shared_file(rel)).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap()
}

fn yahoo_daily() -> Vec<u8> {
    let rows = lines("daily-ohlcv/TSLA.csv");
    let ts: Vec<i64> = rows
        .iter()
        .map(|r| {
            let d: jiff::civil::Date = r[0].parse().unwrap();
            d.at(9, 30, 0, 0)
                .in_tz("America/New_York")
                .unwrap()
                .timestamp()
                .as_second()
        })
        .collect();
    let col = |i: usize| rows.iter().map(|r| num(&r[i])).collect::<Vec<_>>();
    serde_json::to_vec(&json!({"chart": {"result": [{
        "meta": {"currency": "USD", "symbol": "TSLA", "exchangeName": "NMS", "instrumentType": "EQUITY",
                 "exchangeTimezoneName": "America/New_York", "gmtoffset": -14400},
        "timestamp": ts,
        "indicators": {"quote": [{"open": col(1), "high": col(2), "low": col(3), "close": col(4), "volume": col(6)}],
                       "adjclose": [{"adjclose": col(5)}]}}], "error": null}}))
    .unwrap()
}

fn yahoo_minute() -> Vec<u8> {
    let rows = lines("intraday-1m/SPY.csv");
    let ts: Vec<i64> = rows
        .iter()
        .map(|r| r[0].parse::<jiff::Timestamp>().unwrap().as_second() - 60)
        .collect();
    let col = |i: usize| rows.iter().map(|r| num(&r[i])).collect::<Vec<_>>();
    serde_json::to_vec(&json!({"chart": {"result": [{
        "meta": {"currency": "USD", "symbol": "SPY", "exchangeName": "PCX", "instrumentType": "ETF",
                 "exchangeTimezoneName": "America/New_York", "gmtoffset": -18000},
        "timestamp": ts,
        "indicators": {"quote": [{"open": col(1), "high": col(2), "low": col(3), "close": col(4), "volume": col(5)}]}}],
        "error": null}}))
    .unwrap()
}

fn av_daily() -> Vec<u8> {
    let rows = lines("daily-ohlcv/TSLA.csv");
    let mut series = serde_json::Map::new();
    for r in rows.iter().rev() {
        series.insert(r[0].clone(), json!({"1. open": r[1], "2. high": r[2], "3. low": r[3], "4. close": r[4],
            "5. adjusted close": r[5], "6. volume": r[6], "7. dividend amount": "0.0000", "8. split coefficient": "1.0"}));
    }
    serde_json::to_vec(
        &json!({"Meta Data": {"5. Time Zone": "US/Eastern"}, "Time Series (Daily)": series}),
    )
    .unwrap()
}

fn av_minute() -> Vec<u8> {
    let rows = lines("intraday-1m/SPY.csv");
    let mut series = serde_json::Map::new();
    for r in rows.iter().rev() {
        let t: jiff::Timestamp = r[0].parse().unwrap();
        let key = t
            .in_tz("America/New_York")
            .unwrap()
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string();
        series.insert(key, json!({"1. open": r[1], "2. high": r[2], "3. low": r[3], "4. close": r[4], "5. volume": r[5]}));
    }
    serde_json::to_vec(
        &json!({"Meta Data": {"6. Time Zone": "US/Eastern"}, "Time Series (1min)": series}),
    )
    .unwrap()
}

fn time(name: &str, body: &[u8], iters: u32, f: impl Fn(&[u8]) -> usize) {
    let bars = f(body);
    let start = Instant::now();
    for _ in 0..iters {
        black_box(f(black_box(body)));
    }
    let per = start.elapsed() / iters;
    let mb_s = body.len() as f64 / per.as_secs_f64() / 1e6;
    let bars_s = bars as f64 / per.as_secs_f64() / 1e6;
    println!(
        "| {name} | {} | {bars} | {:.3} | {mb_s:.0} | {bars_s:.2} |",
        body.len(),
        per.as_secs_f64() * 1e3
    );
}

fn main() {
    let tsla = Symbol::try_new("TSLA").unwrap();
    let spy = Symbol::try_new("SPY").unwrap();
    println!("| parser | body bytes | bars | ms / body | MB/s | M bars/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    time("yahoo chart 1d (TSLA)", &yahoo_daily(), 200, |b| {
        parse_chart_json(&tsla, Timeframe::D1, b)
            .unwrap()
            .series
            .bars
            .len()
    });
    time("yahoo chart 1m (SPY)", &yahoo_minute(), 200, |b| {
        parse_chart_json(&spy, Timeframe::M1, b)
            .unwrap()
            .series
            .bars
            .len()
    });
    time(
        "alphavantage daily adjusted (TSLA)",
        &av_daily(),
        100,
        |b| parse_daily_adjusted(&tsla, b).unwrap().0.len(),
    );
    time("alphavantage intraday 1min (SPY)", &av_minute(), 100, |b| {
        parse_intraday(&spy, b).unwrap().len()
    });
}
