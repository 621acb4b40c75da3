//! Yahoo Finance chart API (`/v8/finance/chart/{symbol}`): daily and 1-minute bars, dividends
//! and splits.

use crate::error::DataError;
use crate::http::{BodyVerdict, Http, HttpConfig, host_label};
use crate::util::{
    date_at_midnight_utc, dedup_sorted, f64_to_decimal, filter_range, instrument_from_facts,
};
use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use pulse_core::ports::{FetchRequest, FetchedSeries, MarketData};
use pulse_core::rust_decimal::Decimal;
use pulse_core::{Bar, CorporateAction, CorporateActionKind, Symbol, Timeframe};
use serde::Deserialize;
use std::collections::BTreeMap;

const SOURCE: &str = "yahoo";

/// Default base URL of the chart API.
pub const YAHOO_BASE_URL: &str = "https://query1.finance.yahoo.com";

/// Settings of a [`YahooClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct YahooConfig {
    /// Scheme, host and port of the API (default [`YAHOO_BASE_URL`]; tests use a loopback server).
    pub base_url: String,
    /// Pacing, retries and timeouts.
    pub http: HttpConfig,
    /// Longest span of one 1-minute request, in days (Yahoo serves ~7 days per request; default 7).
    pub intraday_window_days: u32,
}

impl Default for YahooConfig {
    fn default() -> Self {
        YahooConfig {
            base_url: YAHOO_BASE_URL.to_string(),
            http: HttpConfig::default(),
            intraday_window_days: 7,
        }
    }
}

impl YahooConfig {
    /// Default settings against another base URL (a test server, a proxy).
    pub fn with_base_url(base_url: impl Into<String>) -> Self {
        YahooConfig {
            base_url: base_url.into(),
            ..YahooConfig::default()
        }
    }
}

/// The outcome of [`parse_chart_json`]: a series with every bar and action of the body (not
/// yet filtered to a range) and how many all-null bars were skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedChart {
    /// Instrument, bars (ascending, unique timestamps) and actions (by ex-date).
    pub series: FetchedSeries,
    /// Bars whose open, high, low and close were all null (Yahoo's "no trade" rows), skipped.
    pub skipped_null_bars: usize,
}

/// What one [`YahooClient::fetch`] returned, with bookkeeping for the caller's report.
#[derive(Debug, Clone, PartialEq)]
pub struct YahooFetch {
    /// Bars and actions inside the requested range.
    pub series: FetchedSeries,
    /// All-null bars skipped, over all requests.
    pub skipped_null_bars: usize,
    /// HTTP requests that produced an answer (windows fetched; retries not counted).
    pub windows: usize,
}

/// Fetches bars from the Yahoo Finance chart API, paced and retried (see [`HttpConfig`]).
#[derive(Debug)]
pub struct YahooClient {
    http: Http,
    base: reqwest::Url,
    host: String,
    window_secs: i64,
}

impl YahooClient {
    /// A client with the given settings; fails on an unparsable base URL.
    pub fn new(config: YahooConfig) -> Result<Self, DataError> {
        let base = reqwest::Url::parse(&config.base_url)
            .map_err(|e| DataError::Config(format!("yahoo base URL {:?}: {e}", config.base_url)))?;
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(DataError::Config(format!(
                "yahoo base URL {:?} has no host",
                config.base_url
            )));
        }
        let host = host_label(&base);
        let window_secs = i64::from(config.intraday_window_days.max(1)) * 86_400;
        Ok(YahooClient {
            http: Http::new(config.http, Vec::new())?,
            base,
            host,
            window_secs,
        })
    }

    /// The HTTP settings in force.
    pub fn http_config(&self) -> &HttpConfig {
        self.http.config()
    }

    /// The chart URL of one request window.
    fn chart_url(
        &self,
        symbol: &Symbol,
        timeframe: Timeframe,
        period1: i64,
        period2: i64,
    ) -> Result<reqwest::Url, DataError> {
        let mut url = self.base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|()| DataError::Config("yahoo base URL cannot take a path".into()))?;
            segs.pop_if_empty()
                .extend(["v8", "finance", "chart", symbol.as_str()]);
        }
        url.query_pairs_mut()
            .append_pair("period1", &period1.to_string())
            .append_pair("period2", &period2.to_string())
            .append_pair("interval", timeframe.as_str())
            .append_pair("events", "div|split")
            .append_pair("includeAdjustedClose", "true");
        Ok(url)
    }

    /// Fetches `request` (1d or 1m), split into ≤ `intraday_window_days` windows for 1m, and
    /// returns the bars and actions inside `[start, end)`.
    pub async fn fetch(&self, request: &FetchRequest) -> Result<YahooFetch, DataError> {
        let timeframe = request.timeframe;
        if !matches!(timeframe, Timeframe::D1 | Timeframe::M1) {
            return Err(DataError::Unsupported {
                source_name: SOURCE,
                reason: format!("timeframe {timeframe} (yahoo serves 1d and 1m)"),
            });
        }
        if request.start >= request.end {
            return Err(DataError::Unsupported {
                source_name: SOURCE,
                reason: format!(
                    "empty range: start {} is not before end {}",
                    request.start, request.end
                ),
            });
        }
        let windows = request_windows(
            timeframe,
            request.start.as_second(),
            request.end.as_second(),
            self.window_secs,
        );
        let mut instrument = None;
        let mut bars = Vec::new();
        let mut actions = Vec::new();
        let mut skipped = 0usize;
        for &(p1, p2) in &windows {
            let url = self.chart_url(&request.symbol, timeframe, p1, p2)?;
            let body = self
                .http
                .get(
                    SOURCE,
                    &self.host,
                    request.symbol.as_str(),
                    url,
                    |status, body| {
                        if status.is_success() {
                            return BodyVerdict::Accept;
                        }
                        // Yahoo answers an unknown symbol with 404 and a chart.error body.
                        match parse_chart_json(&request.symbol, timeframe, body) {
                            Err(e @ DataError::Api { .. }) => BodyVerdict::Fail(e),
                            _ => BodyVerdict::Accept,
                        }
                    },
                )
                .await?;
            let parsed = parse_chart_json(&request.symbol, timeframe, &body)?;
            skipped += parsed.skipped_null_bars;
            instrument.get_or_insert(parsed.series.instrument);
            bars.extend(parsed.series.bars);
            actions.extend(parsed.series.actions);
        }
        let (bars, actions) = filter_range(bars, actions, request.start, request.end);
        Ok(YahooFetch {
            series: FetchedSeries {
                instrument: instrument
                    .unwrap_or_else(|| pulse_core::Instrument::infer(&request.symbol)),
                timeframe,
                bars,
                actions,
            },
            skipped_null_bars: skipped,
            windows: windows.len(),
        })
    }
}

impl MarketData for YahooClient {
    type Error = DataError;

    fn source_name(&self) -> &'static str {
        SOURCE
    }

    async fn fetch_bars(&self, request: &FetchRequest) -> Result<FetchedSeries, DataError> {
        Ok(self.fetch(request).await?.series)
    }
}

/// The `(period1, period2)` pairs (Unix seconds) to request for `[start, end)`.
///
/// Daily: one request, widened by a day on each side so that sessions whose open falls on the
/// previous UTC day are not lost (the exact range is applied after parsing). 1m: consecutive,
/// non-overlapping windows of at most `window_secs`.
pub fn request_windows(
    timeframe: Timeframe,
    start: i64,
    end: i64,
    window_secs: i64,
) -> Vec<(i64, i64)> {
    if timeframe == Timeframe::D1 {
        return vec![(
            start.saturating_sub(86_400).max(0),
            end.saturating_add(86_400),
        )];
    }
    let step = window_secs.max(60);
    let mut out = Vec::new();
    let mut from = start;
    while from < end {
        let to = from.saturating_add(step).min(end);
        out.push((from, to));
        from = to;
    }
    out
}

// ---- wire format ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct Envelope {
    chart: Option<Chart>,
}

#[derive(Deserialize)]
struct Chart {
    result: Option<Vec<ChartResult>>,
    error: Option<ChartError>,
}

#[derive(Deserialize)]
struct ChartError {
    code: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct ChartResult {
    meta: Option<Meta>,
    timestamp: Option<Vec<i64>>,
    events: Option<Events>,
    indicators: Option<Indicators>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    currency: Option<String>,
    exchange_name: Option<String>,
    instrument_type: Option<String>,
    exchange_timezone_name: Option<String>,
    gmtoffset: Option<i64>,
}

#[derive(Deserialize)]
struct Events {
    dividends: Option<BTreeMap<String, DividendEvent>>,
    splits: Option<BTreeMap<String, SplitEvent>>,
}

#[derive(Deserialize)]
struct DividendEvent {
    amount: Option<f64>,
    date: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SplitEvent {
    date: Option<i64>,
    numerator: Option<f64>,
    denominator: Option<f64>,
    split_ratio: Option<String>,
}

#[derive(Deserialize)]
struct Indicators {
    quote: Option<Vec<Quote>>,
    adjclose: Option<Vec<AdjClose>>,
}

#[derive(Deserialize)]
struct Quote {
    open: Option<Vec<Option<f64>>>,
    high: Option<Vec<Option<f64>>>,
    low: Option<Vec<Option<f64>>>,
    close: Option<Vec<Option<f64>>>,
    volume: Option<Vec<Option<f64>>>,
}

#[derive(Deserialize)]
struct AdjClose {
    adjclose: Option<Vec<Option<f64>>>,
}

// ---- parsing -------------------------------------------------------------------------------

/// Parses one chart API body into bars (daily: trading date at 00:00Z in the exchange's time
/// zone; 1m: start of the minute, UTC), dividends and splits (ex-dates in exchange time) and the
/// instrument described by `meta`. Pure: no I/O. Never panics on any input.
pub fn parse_chart_json(
    symbol: &Symbol,
    timeframe: Timeframe,
    bytes: &[u8],
) -> Result<ParsedChart, DataError> {
    let fail = |reason: String| DataError::Parse {
        source_name: SOURCE,
        symbol: symbol.to_string(),
        reason,
    };
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            fail(format!(
                "body ends early after {} bytes (truncated?): {e}",
                bytes.len()
            ))
        } else {
            fail(format!("not the chart JSON shape: {e}"))
        }
    })?;
    let chart = envelope
        .chart
        .ok_or_else(|| fail("no \"chart\" object".into()))?;
    if let Some(err) = chart.error {
        return Err(DataError::Api {
            source_name: SOURCE,
            symbol: symbol.to_string(),
            message: format!(
                "{}: {}",
                err.code.as_deref().unwrap_or("error"),
                err.description.as_deref().unwrap_or("(no description)")
            ),
        });
    }
    let result = chart
        .result
        .and_then(|mut r| {
            if r.is_empty() {
                None
            } else {
                Some(r.swap_remove(0))
            }
        })
        .ok_or_else(|| fail("chart.result is null or empty and chart.error is null".into()))?;

    let meta = result.meta;
    let tz = exchange_tz(meta.as_ref()).map_err(&fail)?;
    let instrument = match &meta {
        Some(m) => instrument_from_facts(
            symbol,
            m.instrument_type.as_deref(),
            m.currency.as_deref(),
            m.exchange_name.as_deref(),
        ),
        None => pulse_core::Instrument::infer(symbol),
    };

    let timestamps = result.timestamp.unwrap_or_default();
    let n = timestamps.len();
    let mut bars = Vec::with_capacity(n);
    let mut skipped = 0usize;
    if n > 0 {
        let indicators = result
            .indicators
            .ok_or_else(|| fail(format!("{n} timestamps but no \"indicators\"")))?;
        let quote = indicators
            .quote
            .and_then(|mut q| {
                if q.is_empty() {
                    None
                } else {
                    Some(q.swap_remove(0))
                }
            })
            .ok_or_else(|| fail(format!("{n} timestamps but no indicators.quote[0]")))?;
        let column =
            |name: &str, v: Option<Vec<Option<f64>>>| -> Result<Vec<Option<f64>>, DataError> {
                let v = v.ok_or_else(|| fail(format!("indicators.quote[0].{name} is missing")))?;
                if v.len() != n {
                    return Err(fail(format!(
                        "indicators.quote[0].{name} has {} entries for {n} timestamps",
                        v.len()
                    )));
                }
                Ok(v)
            };
        let open = column("open", quote.open)?;
        let high = column("high", quote.high)?;
        let low = column("low", quote.low)?;
        let close = column("close", quote.close)?;
        let volume = match quote.volume {
            Some(v) => column("volume", Some(v))?,
            None => vec![None; n],
        };
        let adj = match indicators
            .adjclose
            .and_then(|mut a| {
                if a.is_empty() {
                    None
                } else {
                    Some(a.swap_remove(0))
                }
            })
            .and_then(|a| a.adjclose)
        {
            Some(v) if v.len() == n => v,
            Some(v) => {
                return Err(fail(format!(
                    "indicators.adjclose[0].adjclose has {} entries for {n} timestamps",
                    v.len()
                )));
            }
            None => vec![None; n],
        };
        for i in 0..n {
            let raw_ts = timestamps[i];
            let ts = Timestamp::from_second(raw_ts)
                .map_err(|e| fail(format!("timestamp[{i}] = {raw_ts} is out of range: {e}")))?;
            let prices = [open[i], high[i], low[i], close[i]];
            if prices.iter().all(Option::is_none) {
                skipped += 1;
                continue;
            }
            let [Some(o), Some(h), Some(l), Some(c)] = prices else {
                let nulls: Vec<&str> = ["open", "high", "low", "close"]
                    .iter()
                    .zip(prices)
                    .filter(|(_, p)| p.is_none())
                    .map(|(name, _)| *name)
                    .collect();
                return Err(fail(format!(
                    "bar {i} at {ts} has null {} but not all of open/high/low/close",
                    nulls.join(", ")
                )));
            };
            let bar_ts = match timeframe {
                Timeframe::D1 => {
                    date_at_midnight_utc(ts.to_zoned(tz.clone()).date()).map_err(|e| {
                        fail(format!(
                            "bar {i} at {ts}: cannot compute its trading date: {e}"
                        ))
                    })?
                }
                _ => {
                    let secs = timeframe.seconds();
                    let start = raw_ts - raw_ts.rem_euclid(secs);
                    Timestamp::from_second(start).map_err(|e| {
                        fail(format!("bar {i}: timestamp {raw_ts} out of range: {e}"))
                    })?
                }
            };
            let bar = Bar {
                ts: bar_ts,
                open: o,
                high: h,
                low: l,
                close: c,
                adj_close: adj[i],
                volume: volume[i],
            };
            bar.validate_finite()
                .map_err(|e| fail(format!("bar {i}: {e}")))?;
            bars.push(bar);
        }
    }
    let bars = dedup_sorted(bars);

    let mut actions = Vec::new();
    if let Some(events) = result.events {
        for (key, d) in events.dividends.unwrap_or_default() {
            let when =
                event_time(&key, d.date).map_err(|e| fail(format!("dividend {key:?}: {e}")))?;
            let amount = d
                .amount
                .ok_or_else(|| fail(format!("dividend {key:?} has no amount")))?;
            let cash = f64_to_decimal(amount).ok_or_else(|| {
                fail(format!(
                    "dividend {key:?}: amount {amount} is not a decimal"
                ))
            })?;
            if cash.is_zero() {
                continue;
            }
            actions.push(CorporateAction {
                symbol: symbol.clone(),
                ex_date: when.to_zoned(tz.clone()).date(),
                kind: CorporateActionKind::Dividend {
                    cash_per_share: cash,
                },
            });
        }
        for (key, s) in events.splits.unwrap_or_default() {
            let when = event_time(&key, s.date).map_err(|e| fail(format!("split {key:?}: {e}")))?;
            let ratio = split_ratio(&s).map_err(|e| fail(format!("split {key:?}: {e}")))?;
            actions.push(CorporateAction {
                symbol: symbol.clone(),
                ex_date: when.to_zoned(tz.clone()).date(),
                kind: CorporateActionKind::Split { ratio },
            });
        }
    }
    actions.sort_by(|a, b| (a.ex_date, a.kind_name()).cmp(&(b.ex_date, b.kind_name())));

    Ok(ParsedChart {
        series: FetchedSeries {
            instrument,
            timeframe,
            bars,
            actions,
        },
        skipped_null_bars: skipped,
    })
}

/// The exchange's time zone: `exchangeTimezoneName`, else the fixed `gmtoffset`, else UTC.
fn exchange_tz(meta: Option<&Meta>) -> Result<TimeZone, String> {
    let Some(meta) = meta else {
        return Ok(TimeZone::UTC);
    };
    if let Some(name) = &meta.exchange_timezone_name
        && let Ok(tz) = TimeZone::get(name)
    {
        return Ok(tz);
    }
    match meta.gmtoffset {
        Some(secs) => {
            let secs = i32::try_from(secs).map_err(|_| format!("gmtoffset {secs} out of range"))?;
            let offset =
                Offset::from_seconds(secs).map_err(|e| format!("gmtoffset {secs}: {e}"))?;
            Ok(TimeZone::fixed(offset))
        }
        None => Ok(TimeZone::UTC),
    }
}

/// The instant of an event: its `date` field, else its map key (both Unix seconds).
fn event_time(key: &str, date: Option<i64>) -> Result<Timestamp, String> {
    let secs = match date {
        Some(d) => d,
        None => key
            .parse::<i64>()
            .map_err(|_| "no date and the key is not a Unix time".to_string())?,
    };
    Timestamp::from_second(secs).map_err(|e| format!("date {secs} out of range: {e}"))
}

/// New shares per old share: `numerator / denominator`, else the `splitRatio` text `"n:d"`.
fn split_ratio(s: &SplitEvent) -> Result<Decimal, String> {
    let (num, den) = match (s.numerator, s.denominator) {
        (Some(n), Some(d)) => (
            f64_to_decimal(n).ok_or_else(|| format!("numerator {n} is not a decimal"))?,
            f64_to_decimal(d).ok_or_else(|| format!("denominator {d} is not a decimal"))?,
        ),
        _ => {
            let text = s
                .split_ratio
                .as_deref()
                .ok_or("no numerator/denominator and no splitRatio")?;
            let (n, d) = text
                .split_once([':', '/'])
                .ok_or_else(|| format!("splitRatio {text:?} is not \"n:d\""))?;
            let parse = |x: &str| {
                x.trim()
                    .parse::<Decimal>()
                    .map_err(|_| format!("splitRatio {text:?} is not \"n:d\""))
            };
            (parse(n)?, parse(d)?)
        }
    };
    if num <= Decimal::ZERO || den <= Decimal::ZERO {
        return Err(format!("ratio {num}:{den} is not positive"));
    }
    num.checked_div(den)
        .ok_or_else(|| format!("ratio {num}:{den} cannot be divided"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsla() -> Symbol {
        Symbol::try_new("TSLA").unwrap()
    }

    #[test]
    fn windows_cover_the_range_without_overlap() {
        let w = request_windows(Timeframe::M1, 0, 20 * 86_400 + 5, 7 * 86_400);
        assert_eq!(
            w,
            vec![
                (0, 7 * 86_400),
                (7 * 86_400, 14 * 86_400),
                (14 * 86_400, 20 * 86_400 + 5)
            ]
        );
        assert_eq!(
            request_windows(Timeframe::D1, 86_400 * 10, 86_400 * 20, 7),
            vec![(86_400 * 9, 86_400 * 21)]
        );
    }

    #[test]
    fn error_shape_becomes_an_api_error() {
        let body = br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;
        let e = parse_chart_json(&tsla(), Timeframe::D1, body).unwrap_err();
        assert!(matches!(e, DataError::Api { .. }));
        assert!(
            e.to_string()
                .contains("No data found, symbol may be delisted")
        );
    }

    #[test]
    fn split_ratio_from_text_and_reverse_splits() {
        let s = SplitEvent {
            date: Some(0),
            numerator: None,
            denominator: None,
            split_ratio: Some("1:10".into()),
        };
        assert_eq!(split_ratio(&s).unwrap(), "0.1".parse::<Decimal>().unwrap());
        let s = SplitEvent {
            date: Some(0),
            numerator: Some(3.0),
            denominator: Some(0.0),
            split_ratio: None,
        };
        assert!(split_ratio(&s).is_err());
    }
}
