#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The Alpha Vantage client against a loopback server replaying AV's wire format (numbers as
//! strings, newest first), with bodies built from the real shared data.

mod common;

use common::{
    DailyRow, Reply, closed_port_base, daily_rows, fast_http, midnight, minute_rows, serve,
};
use data_yahoo::{AlphaVantageClient, AlphaVantageConfig, ApiKey, DataError};
use jiff::Timestamp;
use jiff::civil::Date;
use pulse_core::ports::{FetchRequest, MarketData};
use pulse_core::rust_decimal::Decimal;
use pulse_core::{AssetClass, CorporateActionKind, Symbol, Timeframe};

const KEY: &str = "TESTKEY987XYZ";

fn client(base: &str) -> AlphaVantageClient {
    let mut cfg = AlphaVantageConfig::new(ApiKey::new(KEY));
    cfg.base_url = base.to_string();
    cfg.http = fast_http();
    AlphaVantageClient::new(cfg).unwrap()
}

fn request(symbol: &str, tf: Timeframe, start: Timestamp, end: Timestamp) -> FetchRequest {
    FetchRequest {
        symbol: Symbol::try_new(symbol).unwrap(),
        timeframe: tf,
        start,
        end,
    }
}

/// A `TIME_SERIES_DAILY_ADJUSTED` body, newest first. Prices before a split are shown RAW
/// (as traded), as AV does: the file's split-adjusted values times the later split ratios.
fn daily_body(symbol: &str, rows: &[DailyRow], splits: &[(Date, f64)]) -> String {
    let mut entries = Vec::new();
    for r in rows.iter().rev() {
        let factor: f64 = splits
            .iter()
            .filter(|(d, _)| *d > r.date)
            .map(|(_, k)| k)
            .product();
        let coef = splits
            .iter()
            .find(|(d, _)| *d == r.date)
            .map_or(1.0, |(_, k)| *k);
        let dividend = match &r.dividends {
            Some(d) if splits.is_empty() => d.clone(),
            _ => "0.0000".to_string(),
        };
        entries.push(format!(
            r#""{}": {{"1. open": "{}", "2. high": "{}", "3. low": "{}", "4. close": "{}", "5. adjusted close": "{}", "6. volume": "{}", "7. dividend amount": "{}", "8. split coefficient": "{}"}}"#,
            r.date,
            r.open * factor,
            r.high * factor,
            r.low * factor,
            r.close * factor,
            r.adj_close.unwrap(),
            r.volume.unwrap() / factor,
            dividend,
            coef,
        ));
    }
    format!(
        r#"{{"Meta Data": {{"1. Information": "Daily Time Series with Splits and Dividend Events", "2. Symbol": "{symbol}", "3. Last Refreshed": "{}", "4. Output Size": "Full size", "5. Time Zone": "US/Eastern"}}, "Time Series (Daily)": {{{}}}}}"#,
        rows.last().unwrap().date,
        entries.join(", ")
    )
}

fn close_enough(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[tokio::test]
async fn tsll_daily_adjusted_equals_the_shared_file() {
    let rows = daily_rows("TSLL.csv");
    let body = daily_body("TSLL", &rows, &[]);
    let server = serve(move |_, _| Reply::ok(body.clone())).await;
    let av = client(&server.base);
    let req = request(
        "TSLL",
        Timeframe::D1,
        midnight(rows[0].date),
        midnight(rows.last().unwrap().date.tomorrow().unwrap()),
    );
    let got = av.fetch_bars(&req).await.unwrap();
    assert_eq!(av.source_name(), "alphavantage");
    assert_eq!(got.bars.len(), rows.len());
    for (bar, r) in got.bars.iter().zip(&rows) {
        assert_eq!(bar.ts, midnight(r.date));
        assert_eq!(
            (bar.open, bar.high, bar.low, bar.close),
            (r.open, r.high, r.low, r.close),
            "{}",
            r.date
        );
        assert_eq!((bar.adj_close, bar.volume), (r.adj_close, r.volume));
    }
    let want: Vec<(Date, Decimal)> = rows
        .iter()
        .filter_map(|r| {
            let d: Decimal = r.dividends.as_ref()?.parse().ok()?;
            (!d.is_zero()).then(|| (r.date, d.normalize()))
        })
        .collect();
    let divs: Vec<(Date, Decimal)> = got
        .actions
        .iter()
        .map(|a| {
            assert!(matches!(a.kind, CorporateActionKind::Dividend { .. }));
            (a.ex_date, a.value())
        })
        .collect();
    assert_eq!(divs, want);
    assert_eq!(got.instrument.asset_class, AssetClass::LeveragedEtf);

    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/query");
    assert_eq!(hits[0].query["function"], "TIME_SERIES_DAILY_ADJUSTED");
    assert_eq!(hits[0].query["symbol"], "TSLL");
    assert_eq!(hits[0].query["outputsize"], "full");
    assert_eq!(hits[0].query["apikey"], KEY);
}

#[tokio::test]
async fn tsla_raw_prices_are_split_adjusted_and_splits_reported() {
    let rows = daily_rows("TSLA.csv");
    let splits = [
        (Date::constant(2020, 8, 31), 5.0),
        (Date::constant(2022, 8, 25), 3.0),
    ];
    let body = daily_body("TSLA", &rows, &splits);
    let server = serve(move |_, _| Reply::ok(body.clone())).await;
    let start = midnight(Date::constant(2019, 1, 1));
    let end = midnight(Date::constant(2024, 1, 1));
    let got = client(&server.base)
        .fetch(&request("TSLA", Timeframe::D1, start, end))
        .await
        .unwrap();
    let expected: Vec<&DailyRow> = rows
        .iter()
        .filter(|r| midnight(r.date) >= start && midnight(r.date) < end)
        .collect();
    assert_eq!(got.bars.len(), expected.len());
    for (bar, r) in got.bars.iter().zip(&expected) {
        assert_eq!(bar.ts, midnight(r.date));
        for (g, w) in [
            (bar.open, r.open),
            (bar.high, r.high),
            (bar.low, r.low),
            (bar.close, r.close),
            (bar.volume.unwrap(), r.volume.unwrap()),
        ] {
            assert!(close_enough(g, w), "{}: {g} vs {w}", r.date);
        }
        assert_eq!(bar.adj_close, r.adj_close);
    }
    let got_splits: Vec<(Date, Decimal)> =
        got.actions.iter().map(|a| (a.ex_date, a.value())).collect();
    assert_eq!(
        got_splits,
        vec![
            (Date::constant(2020, 8, 31), Decimal::from(5)),
            (Date::constant(2022, 8, 25), Decimal::from(3))
        ]
    );
}

/// A `TIME_SERIES_INTRADAY` 1min body from the shared SPY file, whose END-of-minute labels are
/// written back as US/Eastern local times, newest first.
fn spy_intraday_body() -> String {
    let rows = minute_rows("SPY.csv");
    let mut entries = Vec::new();
    for r in rows.iter().rev() {
        let local = r.ts.in_tz("America/New_York").unwrap();
        entries.push(format!(
            r#""{}": {{"1. open": "{}", "2. high": "{}", "3. low": "{}", "4. close": "{}", "5. volume": "{}"}}"#,
            local.strftime("%Y-%m-%d %H:%M:%S"),
            r.raw[0], r.raw[1], r.raw[2], r.raw[3], r.raw[4],
        ));
    }
    format!(
        r#"{{"Meta Data": {{"1. Information": "Intraday (1min) open, high, low, close prices and volume", "2. Symbol": "SPY", "3. Last Refreshed": "2019-02-15 16:00:00", "4. Interval": "1min", "5. Output Size": "Full size", "6. Time Zone": "US/Eastern"}}, "Time Series (1min)": {{{}}}}}"#,
        entries.join(", ")
    )
}

#[tokio::test]
async fn spy_intraday_end_labels_become_minute_starts() {
    let rows = minute_rows("SPY.csv");
    let body = spy_intraday_body();
    let server = serve(move |_, _| Reply::ok(body.clone())).await;
    let start: Timestamp = "2019-02-11T00:00:00Z".parse().unwrap();
    let end: Timestamp = "2019-02-16T00:00:00Z".parse().unwrap();
    let got = client(&server.base)
        .fetch(&request("SPY", Timeframe::M1, start, end))
        .await
        .unwrap();
    assert_eq!(got.bars.len(), rows.len());
    for (bar, r) in got.bars.iter().zip(&rows) {
        assert_eq!(
            bar.ts,
            r.ts.checked_sub(jiff::SignedDuration::from_secs(60))
                .unwrap()
        );
        assert_eq!(
            (bar.open, bar.high, bar.low, bar.close, bar.volume),
            (r.open, r.high, r.low, r.close, Some(r.volume))
        );
        assert_eq!(bar.adj_close, None);
    }
    assert_eq!(
        got.bars[0].ts,
        "2019-02-11T14:30:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(
        got.bars.last().unwrap().ts,
        "2019-02-15T20:59:00Z".parse::<Timestamp>().unwrap()
    );
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    let q = &hits[0].query;
    assert_eq!(q["function"], "TIME_SERIES_INTRADAY");
    assert_eq!(q["interval"], "1min");
    assert_eq!(q["outputsize"], "full");
    assert_eq!(q["extended_hours"], "false");
    assert_eq!(q["month"], "2019-02");
}

#[tokio::test]
async fn note_is_retried_then_succeeds() {
    let body = spy_intraday_body();
    let server = serve(move |n, _| {
        if n == 0 {
            Reply::ok(r#"{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day."}"#)
        } else {
            Reply::ok(body.clone())
        }
    })
    .await;
    let got = client(&server.base)
        .fetch(&request(
            "SPY",
            Timeframe::M1,
            "2019-02-11T00:00:00Z".parse().unwrap(),
            "2019-02-12T00:00:00Z".parse().unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(got.bars.len(), 390, "one regular session");
    assert_eq!(server.hits().len(), 2);
}

#[tokio::test]
async fn information_forever_is_a_rate_limit_error_without_the_key() {
    let server = serve(|_, _| {
        Reply::ok(format!(
            r#"{{"Information": "We have detected your API key as {KEY} and our standard API rate limit is 25 requests per day."}}"#
        ))
    })
    .await;
    let mut cfg = AlphaVantageConfig::new(ApiKey::new(KEY));
    cfg.base_url = server.base.clone();
    cfg.http = fast_http();
    cfg.http.max_retries = 2;
    let av = AlphaVantageClient::new(cfg).unwrap();
    let err = av
        .fetch(&request(
            "TSLL",
            Timeframe::D1,
            midnight(Date::constant(2024, 1, 2)),
            midnight(Date::constant(2024, 2, 1)),
        ))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, DataError::RateLimited { attempts: 3, .. }),
        "{msg}"
    );
    assert!(msg.contains("25 requests per day"), "{msg}");
    assert!(
        !msg.contains(KEY) && !format!("{err:?}").contains(KEY),
        "{msg}"
    );
    assert!(!format!("{av:?}").contains(KEY));
    assert_eq!(server.hits().len(), 3);
}

#[tokio::test]
async fn error_message_is_an_api_error_without_the_key() {
    let server = serve(|_, _| {
        Reply::ok(format!(
            r#"{{"Error Message": "Invalid API call for apikey={KEY}. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY_ADJUSTED."}}"#
        ))
    })
    .await;
    let err = client(&server.base)
        .fetch(&request(
            "NOPE",
            Timeframe::D1,
            midnight(Date::constant(2024, 1, 2)),
            midnight(Date::constant(2024, 2, 1)),
        ))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Api { .. }), "{msg}");
    assert!(
        msg.contains("NOPE") && msg.contains("Invalid API call"),
        "{msg}"
    );
    assert!(
        !msg.contains(KEY) && !format!("{err:?}").contains(KEY),
        "{msg}"
    );
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn rejected_and_truncated_bodies_never_show_the_key() {
    let server =
        serve(|_, hit| Reply::status(401, format!("bad key {}", hit.query["apikey"]))).await;
    let err = client(&server.base)
        .fetch(&request(
            "SPY",
            Timeframe::D1,
            midnight(Date::constant(2024, 1, 2)),
            midnight(Date::constant(2024, 2, 1)),
        ))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, DataError::Rejected { status: 401, .. }),
        "{msg}"
    );
    assert!(msg.contains("bad key ***") && !msg.contains(KEY), "{msg}");

    let body = spy_intraday_body();
    let cut = body[..body.len() / 3].to_string();
    let server = serve(move |_, _| Reply::ok(cut.clone())).await;
    let err = client(&server.base)
        .fetch(&request(
            "SPY",
            Timeframe::M1,
            "2019-02-11T00:00:00Z".parse().unwrap(),
            "2019-02-12T00:00:00Z".parse().unwrap(),
        ))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Parse { .. }), "{msg}");
    assert!(msg.contains("SPY") && msg.contains("truncated"), "{msg}");
}

#[tokio::test]
async fn unreachable_host_gives_the_offline_message_without_the_key() {
    let base = closed_port_base().await;
    let mut cfg = AlphaVantageConfig::new(ApiKey::new(KEY));
    cfg.base_url = base.clone();
    cfg.http = fast_http();
    cfg.http.max_retries = 1;
    let err = AlphaVantageClient::new(cfg)
        .unwrap()
        .fetch(&request(
            "SPY",
            Timeframe::D1,
            midnight(Date::constant(2024, 1, 2)),
            midnight(Date::constant(2024, 2, 1)),
        ))
        .await
        .unwrap_err();
    let msg = err.to_string();
    let host = base.trim_start_matches("http://");
    assert!(msg.starts_with(&format!("cannot reach {host} (")), "{msg}");
    assert!(
        msg.contains("import CSV instead with `pulse data import`"),
        "{msg}"
    );
    assert!(
        !msg.contains(KEY) && !format!("{err:?}").contains(KEY),
        "{msg}"
    );
}

#[test]
fn empty_key_is_refused() {
    let err = AlphaVantageClient::new(AlphaVantageConfig::new(ApiKey::new("  "))).unwrap_err();
    assert!(err.to_string().contains("ALPHAVANTAGE_API_KEY"));
}
