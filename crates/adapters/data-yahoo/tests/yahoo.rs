#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The Yahoo client against a loopback server replaying the chart API's wire format, with
//! bodies built from the real shared data.

mod common;

use common::{
    DailyRow, Reply, closed_port_base, daily_rows, fast_http, midnight, minute_rows, serve,
};
use data_yahoo::{DataError, YahooClient, YahooConfig, parse_chart_json};
use jiff::Timestamp;
use jiff::civil::Date;
use pulse_core::ports::{FetchRequest, MarketData};
use pulse_core::rust_decimal::Decimal;
use pulse_core::{AssetClass, Bar, CorporateActionKind, Currency, Exchange, Symbol, Timeframe};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

/// The chart API's data for one symbol; `body` serves the part inside `[period1, period2)`.
#[derive(Clone)]
struct Chart {
    meta: Value,
    ts: Vec<i64>,
    open: Vec<Option<f64>>,
    high: Vec<Option<f64>>,
    low: Vec<Option<f64>>,
    close: Vec<Option<f64>>,
    volume: Vec<Option<f64>>,
    adj: Option<Vec<Option<f64>>>,
    dividends: Vec<(i64, f64)>,
    splits: Vec<(i64, f64, f64)>,
}

impl Chart {
    fn body(&self, p1: i64, p2: i64) -> Vec<u8> {
        let keep: Vec<usize> = (0..self.ts.len())
            .filter(|&i| self.ts[i] >= p1 && self.ts[i] < p2)
            .collect();
        let pick = |v: &Vec<Option<f64>>| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let mut divs = serde_json::Map::new();
        for &(t, amount) in self.dividends.iter().filter(|d| d.0 >= p1 && d.0 < p2) {
            divs.insert(t.to_string(), json!({"amount": amount, "date": t}));
        }
        let mut splits = serde_json::Map::new();
        for &(t, num, den) in self.splits.iter().filter(|d| d.0 >= p1 && d.0 < p2) {
            splits.insert(
                t.to_string(),
                json!({"date": t, "numerator": num, "denominator": den,
                       "splitRatio": format!("{num}:{den}")}),
            );
        }
        let mut indicators = json!({"quote": [{
            "open": pick(&self.open), "high": pick(&self.high), "low": pick(&self.low),
            "close": pick(&self.close), "volume": pick(&self.volume)
        }]});
        if let Some(adj) = &self.adj {
            indicators["adjclose"] = json!([{"adjclose": pick(adj)}]);
        }
        let ts: Vec<i64> = keep.iter().map(|&i| self.ts[i]).collect();
        let body = json!({"chart": {"result": [{
            "meta": self.meta,
            "timestamp": ts,
            "events": {"dividends": divs, "splits": splits},
            "indicators": indicators
        }], "error": null}});
        serde_json::to_vec(&body).unwrap()
    }
}

fn meta(symbol: &str, kind: &str, exchange: &str, granularity: &str) -> Value {
    json!({"currency": "USD", "symbol": symbol, "exchangeName": exchange,
           "fullExchangeName": "NasdaqGS", "instrumentType": kind, "firstTradeDate": 1277818200,
           "regularMarketTime": 1759176000, "hasPrePostMarketData": true, "gmtoffset": -14400,
           "timezone": "EDT", "exchangeTimezoneName": "America/New_York",
           "priceHint": 2, "dataGranularity": granularity, "range": "",
           "validRanges": ["1d","5d","1mo","3mo","6mo","1y","2y","5y","10y","ytd","max"]})
}

/// 09:30 New York time of a trading date: where Yahoo puts daily timestamps of US symbols.
fn session_open(date: Date) -> i64 {
    date.at(9, 30, 0, 0)
        .in_tz("America/New_York")
        .unwrap()
        .timestamp()
        .as_second()
}

fn daily_chart(symbol: &str, kind: &str, rows: &[DailyRow]) -> Chart {
    Chart {
        meta: meta(symbol, kind, "NMS", "1d"),
        ts: rows.iter().map(|r| session_open(r.date)).collect(),
        open: rows.iter().map(|r| Some(r.open)).collect(),
        high: rows.iter().map(|r| Some(r.high)).collect(),
        low: rows.iter().map(|r| Some(r.low)).collect(),
        close: rows.iter().map(|r| Some(r.close)).collect(),
        volume: rows.iter().map(|r| r.volume).collect(),
        adj: Some(rows.iter().map(|r| r.adj_close).collect()),
        dividends: Vec::new(),
        splits: Vec::new(),
    }
}

fn expected_bar(r: &DailyRow) -> Bar {
    Bar {
        ts: midnight(r.date),
        open: r.open,
        high: r.high,
        low: r.low,
        close: r.close,
        adj_close: r.adj_close,
        volume: r.volume,
    }
}

/// A server answering every request from `chart`, honouring `period1`/`period2`.
async fn chart_server(chart: Chart) -> common::Server {
    let chart = Arc::new(chart);
    serve(move |_, hit| {
        let p1 = hit.query["period1"].parse().unwrap();
        let p2 = hit.query["period2"].parse().unwrap();
        Reply::ok(chart.body(p1, p2))
    })
    .await
}

fn client(base: &str) -> YahooClient {
    YahooClient::new(YahooConfig {
        base_url: base.to_string(),
        http: fast_http(),
        ..YahooConfig::default()
    })
    .unwrap()
}

fn request(symbol: &str, tf: Timeframe, start: Timestamp, end: Timestamp) -> FetchRequest {
    FetchRequest {
        symbol: sym(symbol),
        timeframe: tf,
        start,
        end,
    }
}

#[tokio::test]
async fn tsll_daily_bars_and_dividends_equal_the_shared_file() {
    let rows = daily_rows("TSLL.csv");
    let mut chart = daily_chart("TSLL", "ETF", &rows);
    let paid: Vec<&DailyRow> = rows
        .iter()
        .filter(|r| {
            r.dividends
                .as_deref()
                .is_some_and(|d| d.parse::<f64>().unwrap() != 0.0)
        })
        .collect();
    assert!(paid.len() >= 10, "TSLL pays monthly-ish distributions");
    chart.dividends = paid
        .iter()
        .map(|r| {
            (
                session_open(r.date),
                r.dividends.as_ref().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let server = chart_server(chart).await;
    let yahoo = client(&server.base);
    let first = rows.first().unwrap().date;
    let last = rows.last().unwrap().date;
    let req = request(
        "TSLL",
        Timeframe::D1,
        midnight(first),
        midnight(last.tomorrow().unwrap()),
    );
    let got = yahoo.fetch(&req).await.unwrap();

    assert_eq!(got.series.timeframe, Timeframe::D1);
    let expected: Vec<Bar> = rows.iter().map(expected_bar).collect();
    assert_eq!(got.series.bars.len(), expected.len());
    for (g, e) in got.series.bars.iter().zip(&expected) {
        assert_eq!(g, e);
    }
    assert_eq!(got.skipped_null_bars, 0);
    let divs: Vec<(Date, Decimal)> = got
        .series
        .actions
        .iter()
        .map(|a| match a.kind {
            CorporateActionKind::Dividend { cash_per_share } => (a.ex_date, cash_per_share),
            CorporateActionKind::Split { .. } => panic!("TSLL has no split"),
        })
        .collect();
    let want: Vec<(Date, Decimal)> = paid
        .iter()
        .map(|r| (r.date, r.dividends.as_ref().unwrap().parse().unwrap()))
        .collect();
    assert_eq!(divs, want);

    // Instrument from meta, but TSLL stays a 2x leveraged ETF on TSLA.
    let inst = &got.series.instrument;
    assert_eq!(inst.asset_class, AssetClass::LeveragedEtf);
    assert_eq!(inst.leverage, 2.0);
    assert_eq!(inst.underlying, Some(sym("TSLA")));
    assert_eq!(
        (inst.exchange, inst.currency),
        (Exchange::Nasdaq, Currency::Usd)
    );

    // One request, with the documented query.
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/v8/finance/chart/TSLL");
    assert_eq!(hits[0].query["interval"], "1d");
    assert_eq!(hits[0].query["events"], "div|split");
    assert_eq!(hits[0].query["includeAdjustedClose"], "true");
    let p1: i64 = hits[0].query["period1"].parse().unwrap();
    let p2: i64 = hits[0].query["period2"].parse().unwrap();
    assert!(p1 <= session_open(first) && p2 > session_open(last));

    // The port trait gives the same series.
    assert_eq!(yahoo.source_name(), "yahoo");
    assert_eq!(yahoo.fetch_bars(&req).await.unwrap(), got.series);
}

#[tokio::test]
async fn tsla_splits_null_bars_and_range_filtering() {
    let rows = daily_rows("TSLA.csv");
    let mut chart = daily_chart("TSLA", "EQUITY", &rows);
    // The file's `dividends` 5.0 and 3.0 are TSLA's 5:1 and 3:1 split ratios (see README).
    chart.splits = rows
        .iter()
        .filter_map(|r| {
            let v: f64 = r.dividends.as_ref()?.parse().ok()?;
            (v != 0.0).then(|| (session_open(r.date), v, 1.0))
        })
        .collect();
    assert_eq!(chart.splits.len(), 2);
    // Yahoo sends all-null rows for sessions without data: blank three of them.
    let nulled: Vec<usize> = vec![600, 601, 1200];
    for &i in &nulled {
        chart.open[i] = None;
        chart.high[i] = None;
        chart.low[i] = None;
        chart.close[i] = None;
        chart.volume[i] = None;
        chart.adj.as_mut().unwrap()[i] = None;
    }
    let server = chart_server(chart).await;
    let yahoo = client(&server.base);
    let start = midnight(Date::constant(2020, 1, 1));
    let end = midnight(Date::constant(2023, 1, 1));
    let got = yahoo
        .fetch(&request("TSLA", Timeframe::D1, start, end))
        .await
        .unwrap();

    let expected: Vec<Bar> = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| !nulled.contains(i) && midnight(r.date) >= start && midnight(r.date) < end)
        .map(|(_, r)| expected_bar(r))
        .collect();
    let nulled_in_range = nulled
        .iter()
        .filter(|&&i| midnight(rows[i].date) >= start && midnight(rows[i].date) < end)
        .count();
    assert_eq!(nulled_in_range, 3, "the blanked rows lie in 2020-2022");
    assert_eq!(got.series.bars.len(), expected.len());
    for (g, e) in got.series.bars.iter().zip(&expected) {
        assert_eq!(g, e);
    }
    assert_eq!(got.skipped_null_bars, 3);
    let splits: Vec<(Date, Decimal)> = got
        .series
        .actions
        .iter()
        .map(|a| (a.ex_date, a.value()))
        .collect();
    assert_eq!(
        splits,
        vec![
            (Date::constant(2020, 8, 31), Decimal::from(5)),
            (Date::constant(2022, 8, 25), Decimal::from(3)),
        ]
    );
    assert!(
        got.series
            .actions
            .iter()
            .all(|a| matches!(a.kind, CorporateActionKind::Split { .. }))
    );
    assert_eq!(got.series.instrument.asset_class, AssetClass::Equity);
}

#[tokio::test]
async fn partially_null_bar_is_an_error_naming_index_and_time() {
    let rows = daily_rows("TSLA.csv");
    let mut chart = daily_chart("TSLA", "EQUITY", &rows[..20]);
    chart.high[7] = None;
    let body = chart.body(i64::MIN, i64::MAX);
    let err = parse_chart_json(&sym("TSLA"), Timeframe::D1, &body).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Parse { .. }), "{msg}");
    assert!(
        msg.contains("TSLA") && msg.contains("bar 7") && msg.contains("high"),
        "{msg}"
    );
    let ts = Timestamp::from_second(session_open(rows[7].date)).unwrap();
    assert!(msg.contains(&ts.to_string()), "{msg}");
}

#[tokio::test]
async fn spy_1m_is_fetched_in_7_day_windows_and_labelled_by_minute_start() {
    let rows = minute_rows("SPY.csv");
    // The file labels bars by the END of the minute; Yahoo by the start.
    let chart = Chart {
        meta: meta("SPY", "ETF", "PCX", "1m"),
        ts: rows.iter().map(|r| r.ts.as_second() - 60).collect(),
        open: rows.iter().map(|r| Some(r.open)).collect(),
        high: rows.iter().map(|r| Some(r.high)).collect(),
        low: rows.iter().map(|r| Some(r.low)).collect(),
        close: rows.iter().map(|r| Some(r.close)).collect(),
        volume: rows.iter().map(|r| Some(r.volume)).collect(),
        adj: None,
        dividends: Vec::new(),
        splits: Vec::new(),
    };
    let server = chart_server(chart).await;
    let yahoo = client(&server.base);
    let start: Timestamp = "2019-02-01T00:00:00Z".parse().unwrap();
    let end: Timestamp = "2019-02-20T00:00:00Z".parse().unwrap();
    let got = yahoo
        .fetch(&request("SPY", Timeframe::M1, start, end))
        .await
        .unwrap();

    let hits = server.hits();
    let windows: Vec<(i64, i64)> = hits
        .iter()
        .map(|h| {
            assert_eq!(h.query["interval"], "1m");
            (
                h.query["period1"].parse().unwrap(),
                h.query["period2"].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(windows.len(), 3, "19 days → 3 windows: {windows:?}");
    assert_eq!(got.windows, 3);
    assert_eq!(windows[0].0, start.as_second());
    assert_eq!(windows.last().unwrap().1, end.as_second());
    for w in &windows {
        assert!(w.1 - w.0 <= 7 * 86_400 && w.1 > w.0, "{w:?}");
    }
    for pair in windows.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "contiguous, no overlap");
    }

    assert_eq!(got.series.bars.len(), rows.len());
    for (bar, row) in got.series.bars.iter().zip(&rows) {
        let want = Bar {
            ts: row
                .ts
                .checked_sub(jiff::SignedDuration::from_secs(60))
                .unwrap(),
            open: row.open,
            high: row.high,
            low: row.low,
            close: row.close,
            adj_close: None,
            volume: Some(row.volume),
        };
        assert_eq!(bar, &want);
    }
    assert_eq!(
        got.series.bars[0].ts,
        "2019-02-11T14:30:00Z".parse::<Timestamp>().unwrap(),
        "first bar is 09:30 ET"
    );
    assert_eq!(got.series.instrument.asset_class, AssetClass::Etf);
    assert_eq!(got.series.instrument.exchange, Exchange::Nyse);
}

fn small_tsla_body() -> Vec<u8> {
    let rows = daily_rows("TSLA.csv");
    daily_chart("TSLA", "EQUITY", &rows[..30]).body(i64::MIN, i64::MAX)
}

fn tsla_req() -> FetchRequest {
    let rows = daily_rows("TSLA.csv");
    request(
        "TSLA",
        Timeframe::D1,
        midnight(rows[0].date),
        midnight(rows[30].date),
    )
}

#[tokio::test]
async fn http_429_then_200_honours_retry_after() {
    let body = small_tsla_body();
    let server = serve(move |n, _| {
        if n == 0 {
            Reply::status(429, "Too Many Requests").header("retry-after", "1")
        } else {
            Reply::ok(body.clone())
        }
    })
    .await;
    let got = client(&server.base).fetch(&tsla_req()).await.unwrap();
    assert_eq!(got.series.bars.len(), 30);
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    // Server-side arrival stamps: a late-stamped first arrival (loaded machine) shortens the gap
    // by its delay, so allow 100 ms of it; without honouring Retry-After the gap is the 5 ms backoff.
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(900),
        "Retry-After: 1 honoured, gap {gap:?}"
    );
}

#[tokio::test]
async fn http_500_twice_then_200_succeeds_on_the_third_request() {
    let body = small_tsla_body();
    let server = serve(move |n, _| {
        if n < 2 {
            Reply::status(500, "oops")
        } else {
            Reply::ok(body.clone())
        }
    })
    .await;
    let got = client(&server.base).fetch(&tsla_req()).await.unwrap();
    assert_eq!(got.series.bars.len(), 30);
    assert_eq!(server.hits().len(), 3);
}

#[tokio::test]
async fn http_500_forever_fails_after_max_retries() {
    let server = serve(|_, _| Reply::status(503, "down")).await;
    let mut cfg = YahooConfig::with_base_url(&server.base);
    cfg.http = fast_http();
    cfg.http.max_retries = 2;
    let err = YahooClient::new(cfg)
        .unwrap()
        .fetch(&tsla_req())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Server {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.hits().len(), 3);
}

#[tokio::test]
async fn http_404_other_4xx_fails_immediately() {
    let server = serve(|_, _| Reply::status(403, "forbidden")).await;
    let err = client(&server.base).fetch(&tsla_req()).await.unwrap_err();
    assert!(
        matches!(err, DataError::Rejected { status: 403, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("forbidden"));
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn truncated_body_is_a_parse_error_naming_the_symbol() {
    let body = small_tsla_body();
    let cut = body[..body.len() / 2].to_vec();
    let server = serve(move |_, _| Reply::ok(cut.clone())).await;
    let err = client(&server.base).fetch(&tsla_req()).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Parse { .. }), "{msg}");
    assert!(msg.contains("TSLA") && msg.contains("truncated"), "{msg}");
    assert_eq!(server.hits().len(), 1, "a bad body is not retried");
}

#[tokio::test]
async fn malformed_bodies_are_parse_errors() {
    let s = sym("TSLA");
    for (body, needle) in [
        (&b"<html>Will be right back</html>"[..], "not the chart JSON shape"),
        (br#"{"chart":{"result":[{"meta":5}]}}"#, "not the chart JSON shape"),
        (br#"{"chart":{"result":[],"error":null}}"#, "empty"),
        (br#"{"nothing":1}"#, "no \"chart\""),
        (
            br#"{"chart":{"result":[{"timestamp":[1,2],"indicators":{"quote":[{"open":[1.0],"high":[1.0,2.0],"low":[1.0,2.0],"close":[1.0,2.0]}]}}],"error":null}}"#,
            "open has 1 entries for 2 timestamps",
        ),
    ] {
        let err = parse_chart_json(&s, Timeframe::D1, body).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::Parse { .. }), "{msg}");
        assert!(msg.contains("TSLA") && msg.contains(needle), "{msg}");
    }
}

#[tokio::test]
async fn chart_error_shape_is_reported_on_404_and_on_200() {
    let body = br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;
    for status in [404u16, 200] {
        let server = serve(move |_, _| Reply::status(status, &body[..])).await;
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
        assert!(matches!(err, DataError::Api { .. }), "{status}: {msg}");
        assert!(
            msg.contains("NOPE") && msg.contains("No data found, symbol may be delisted"),
            "{msg}"
        );
        assert_eq!(server.hits().len(), 1);
    }
}

#[tokio::test]
async fn unreachable_host_gives_the_offline_message() {
    let base = closed_port_base().await;
    let mut cfg = YahooConfig::with_base_url(&base);
    cfg.http = fast_http();
    cfg.http.max_retries = 2;
    let err = YahooClient::new(cfg)
        .unwrap()
        .fetch(&tsla_req())
        .await
        .unwrap_err();
    let msg = err.to_string();
    let host = base.trim_start_matches("http://");
    assert!(
        matches!(err, DataError::Unreachable { attempts: 3, .. }),
        "{msg}"
    );
    assert!(msg.starts_with(&format!("cannot reach {host} (")), "{msg}");
    assert!(
        msg.contains("import CSV instead with `pulse data import`"),
        "{msg}"
    );

    // A name that cannot resolve reads the same way.
    let mut cfg = YahooConfig::with_base_url("http://no-such-host.invalid");
    cfg.http = fast_http();
    cfg.http.max_retries = 0;
    let err = YahooClient::new(cfg)
        .unwrap()
        .fetch(&tsla_req())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot reach no-such-host.invalid ("),
        "{err}"
    );
}

#[tokio::test]
async fn slow_server_times_out_and_is_retried() {
    let server = serve(|_, _| {
        let mut r = Reply::ok("{}");
        r.delay = Duration::from_secs(3);
        r
    })
    .await;
    let mut cfg = YahooConfig::with_base_url(&server.base);
    cfg.http = fast_http();
    cfg.http.timeout = Duration::from_millis(300);
    cfg.http.max_retries = 1;
    let err = YahooClient::new(cfg)
        .unwrap()
        .fetch(&tsla_req())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Timeout {
                attempts: 2,
                timeout_ms: 300,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.hits().len(), 2);
}

#[tokio::test]
async fn rate_limiter_spaces_requests_on_the_server_side() {
    let rows = minute_rows("SPY.csv");
    let chart = Chart {
        meta: meta("SPY", "ETF", "PCX", "1m"),
        ts: rows.iter().map(|r| r.ts.as_second() - 60).collect(),
        open: rows.iter().map(|r| Some(r.open)).collect(),
        high: rows.iter().map(|r| Some(r.high)).collect(),
        low: rows.iter().map(|r| Some(r.low)).collect(),
        close: rows.iter().map(|r| Some(r.close)).collect(),
        volume: rows.iter().map(|r| Some(r.volume)).collect(),
        adj: None,
        dividends: Vec::new(),
        splits: Vec::new(),
    };
    let server = chart_server(chart).await;
    let interval = Duration::from_millis(150);
    let mut cfg = YahooConfig::with_base_url(&server.base);
    cfg.http = fast_http();
    cfg.http.min_interval = interval;
    cfg.intraday_window_days = 1;
    let yahoo = YahooClient::new(cfg).unwrap();
    let start: Timestamp = "2019-02-11T00:00:00Z".parse().unwrap();
    let end: Timestamp = "2019-02-16T00:00:00Z".parse().unwrap();
    let got = yahoo
        .fetch(&request("SPY", Timeframe::M1, start, end))
        .await
        .unwrap();
    assert_eq!(got.series.bars.len(), rows.len());
    let hits = server.hits();
    assert_eq!(hits.len(), 5, "five 1-day windows");
    // The limiter spaces the *sends*; the server stamps *arrivals*, and on a loaded machine one
    // arrival can be stamped late, shortening the next gap. So each gap must be at least half the
    // interval (no limiter at all gives about 1 ms), and the whole span at least four intervals
    // minus one scheduling slack.
    for pair in hits.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= interval / 2,
            "requests {gap:?} apart, limiter says {interval:?}"
        );
    }
    let span = hits[4].at - hits[0].at;
    assert!(
        span >= interval * 4 - Duration::from_millis(30),
        "five requests within {span:?}, limiter says {interval:?} apart"
    );
}

#[test]
fn default_config_targets_query1() {
    let cfg = YahooConfig::default();
    assert_eq!(cfg.base_url, "https://query1.finance.yahoo.com");
    assert_eq!(cfg.http.min_interval, Duration::from_millis(500));
    assert_eq!(cfg.http.max_retries, 4);
    assert_eq!(cfg.intraday_window_days, 7);
    assert!(YahooClient::new(YahooConfig::with_base_url("not a url")).is_err());
}
