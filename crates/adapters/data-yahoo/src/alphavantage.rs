//! Alpha Vantage (`/query?function=TIME_SERIES_DAILY_ADJUSTED|TIME_SERIES_INTRADAY`): daily
//! bars with dividends and splits, and 1-minute bars.
//!
//! Wire conventions handled here:
//! - Every number is a JSON string; the series is an object keyed by date (newest first).
//! - `TIME_SERIES_DAILY_ADJUSTED` returns RAW open/high/low/close/volume with a split
//!   coefficient per day; bars are split-adjusted here (Yahoo's convention, see `Bar`) by the
//!   product of the later split coefficients. `5. adjusted close` is kept as `adj_close`.
//!   (Source: RomelTorres/alpha_vantage issue #252, where AAPL's `1. open` jumps at the 2014
//!   7:1 split and AV staff point to `5. adjusted close`. The function is premium-only since
//!   2023 (issue #349): a free key gets an `Information` body, reported as rate limited.)
//! - Intraday keys are local times in the `Time Zone` of `Meta Data` (US/Eastern) and label the
//!   END of the interval: the regular session's 1-minute bars run `09:31:00`…`16:00:00`. This
//!   is how the shared AV-style files were documented (`shared/data/README.md`, intraday-1m:
//!   "ts = END-of-minute label (14:31Z = 09:30-09:31 ET bar)", 390 bars per session ending at
//!   16:00) — a `16:00:00` bar only exists under end labels, since the session closes then.
//!   Bars are stored by the START of the interval, so one interval is subtracted.
//! - `Note` / `Information` bodies are rate-limit (or premium-only) notices: retried, then
//!   reported as rate limited. `Error Message` is an error.
//!
//! The API key is never printed: [`ApiKey`]'s `Debug` redacts it, URLs are never put into
//! errors, and any server text is scrubbed of the key.

use crate::error::DataError;
use crate::http::{BodyVerdict, Http, HttpConfig, host_label};
use crate::util::{date_at_midnight_utc, filter_range};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use pulse_core::ports::{FetchRequest, FetchedSeries, MarketData};
use pulse_core::rust_decimal::Decimal;
use pulse_core::{Bar, CorporateAction, CorporateActionKind, Instrument, Symbol, Timeframe};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

const SOURCE: &str = "alphavantage";

/// Default base URL of the Alpha Vantage API.
pub const ALPHAVANTAGE_BASE_URL: &str = "https://www.alphavantage.co";

/// An Alpha Vantage API key. Its `Debug` output is `ApiKey(***)`; it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (as read from `ALPHAVANTAGE_API_KEY` by the CLI), trimmed.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_string())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Settings of an [`AlphaVantageClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaVantageConfig {
    /// Scheme, host and port of the API (default [`ALPHAVANTAGE_BASE_URL`]).
    pub base_url: String,
    /// The API key (redacted in `Debug`).
    pub api_key: ApiKey,
    /// Pacing, retries and timeouts (default: [`HttpConfig::default`] with 1 s between requests).
    pub http: HttpConfig,
    /// Ask for split/dividend-adjusted intraday bars (`adjusted=true`); default `false`: 1-minute
    /// bars as traded.
    pub intraday_adjusted: bool,
}

impl AlphaVantageConfig {
    /// Default settings with the given key.
    pub fn new(api_key: ApiKey) -> Self {
        AlphaVantageConfig {
            base_url: ALPHAVANTAGE_BASE_URL.to_string(),
            api_key,
            http: HttpConfig {
                min_interval: Duration::from_secs(1),
                ..HttpConfig::default()
            },
            intraday_adjusted: false,
        }
    }
}

/// Fetches bars from Alpha Vantage, paced and retried (see [`HttpConfig`]).
pub struct AlphaVantageClient {
    http: Http,
    base: reqwest::Url,
    host: String,
    api_key: ApiKey,
    intraday_adjusted: bool,
}

impl std::fmt::Debug for AlphaVantageClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlphaVantageClient")
            .field("host", &self.host)
            .field("api_key", &self.api_key)
            .field("intraday_adjusted", &self.intraday_adjusted)
            .finish_non_exhaustive()
    }
}

impl AlphaVantageClient {
    /// A client with the given settings; fails on an unparsable base URL or an empty key.
    pub fn new(config: AlphaVantageConfig) -> Result<Self, DataError> {
        if config.api_key.expose().is_empty() {
            return Err(DataError::Config(
                "the Alpha Vantage API key is empty (set ALPHAVANTAGE_API_KEY)".into(),
            ));
        }
        let base = reqwest::Url::parse(&config.base_url).map_err(|e| {
            DataError::Config(format!("alphavantage base URL {:?}: {e}", config.base_url))
        })?;
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(DataError::Config(format!(
                "alphavantage base URL {:?} has no host",
                config.base_url
            )));
        }
        let host = host_label(&base);
        Ok(AlphaVantageClient {
            http: Http::new(config.http, vec![config.api_key.expose().to_string()])?,
            base,
            host,
            api_key: config.api_key,
            intraday_adjusted: config.intraday_adjusted,
        })
    }

    /// The HTTP settings in force.
    pub fn http_config(&self) -> &HttpConfig {
        self.http.config()
    }

    fn query_url(&self, params: &[(&str, &str)]) -> Result<reqwest::Url, DataError> {
        let mut url = self.base.clone();
        {
            let mut segs = url.path_segments_mut().map_err(|()| {
                DataError::Config("alphavantage base URL cannot take a path".into())
            })?;
            segs.pop_if_empty().push("query");
        }
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            q.append_pair("apikey", self.api_key.expose());
        }
        Ok(url)
    }

    async fn get(&self, symbol: &Symbol, url: reqwest::Url) -> Result<Vec<u8>, DataError> {
        self.http
            .get(
                SOURCE,
                &self.host,
                symbol.as_str(),
                url,
                |status, body| match rate_limit_notice(body) {
                    Some(msg) if status.is_success() => BodyVerdict::RateLimited(msg),
                    _ => BodyVerdict::Accept,
                },
            )
            .await
    }

    /// Fetches `request` (1d: one `TIME_SERIES_DAILY_ADJUSTED` call; 1m: one
    /// `TIME_SERIES_INTRADAY` call per US/Eastern calendar month of the range) and returns the
    /// bars and actions inside `[start, end)`, ascending.
    pub async fn fetch(&self, request: &FetchRequest) -> Result<FetchedSeries, DataError> {
        if request.start >= request.end {
            return Err(DataError::Unsupported {
                source_name: SOURCE,
                reason: format!(
                    "empty range: start {} is not before end {}",
                    request.start, request.end
                ),
            });
        }
        let symbol = &request.symbol;
        let (bars, actions) = match request.timeframe {
            Timeframe::D1 => {
                let url = self.query_url(&[
                    ("function", "TIME_SERIES_DAILY_ADJUSTED"),
                    ("symbol", symbol.as_str()),
                    ("outputsize", "full"),
                ])?;
                let body = self.get(symbol, url).await?;
                parse_daily_adjusted(symbol, &body).map_err(|e| self.scrub(e))?
            }
            Timeframe::M1 => {
                let mut bars = Vec::new();
                for month in intraday_months(request.start, request.end) {
                    let url = self.query_url(&[
                        ("function", "TIME_SERIES_INTRADAY"),
                        ("symbol", symbol.as_str()),
                        ("interval", "1min"),
                        ("outputsize", "full"),
                        ("extended_hours", "false"),
                        (
                            "adjusted",
                            if self.intraday_adjusted {
                                "true"
                            } else {
                                "false"
                            },
                        ),
                        ("month", &month),
                    ])?;
                    let body = self.get(symbol, url).await?;
                    bars.extend(parse_intraday(symbol, &body).map_err(|e| self.scrub(e))?);
                }
                (bars, Vec::new())
            }
            other => {
                return Err(DataError::Unsupported {
                    source_name: SOURCE,
                    reason: format!("timeframe {other} (alphavantage is used for 1d and 1m)"),
                });
            }
        };
        let (bars, actions) = filter_range(bars, actions, request.start, request.end);
        Ok(FetchedSeries {
            instrument: Instrument::infer(symbol),
            timeframe: request.timeframe,
            bars,
            actions,
        })
    }

    /// Removes the key from an error that quotes server text.
    fn scrub(&self, e: DataError) -> DataError {
        match e {
            DataError::Api {
                source_name,
                symbol,
                message,
            } => DataError::Api {
                source_name,
                symbol,
                message: self.http.redact(&message),
            },
            DataError::Parse {
                source_name,
                symbol,
                reason,
            } => DataError::Parse {
                source_name,
                symbol,
                reason: self.http.redact(&reason),
            },
            other => other,
        }
    }
}

impl MarketData for AlphaVantageClient {
    type Error = DataError;

    fn source_name(&self) -> &'static str {
        SOURCE
    }

    async fn fetch_bars(&self, request: &FetchRequest) -> Result<FetchedSeries, DataError> {
        self.fetch(request).await
    }
}

/// The `YYYY-MM` months (US/Eastern) that `[start, end)` touches, oldest first.
pub fn intraday_months(start: Timestamp, end: Timestamp) -> Vec<String> {
    let tz = eastern();
    let first = start.to_zoned(tz.clone()).date().first_of_month();
    let last_instant = end.checked_sub(1.second()).unwrap_or(end);
    let last = last_instant.to_zoned(tz).date().first_of_month();
    let mut out = Vec::new();
    let mut m = first;
    while m <= last && out.len() < 12 * 200 {
        out.push(format!("{:04}-{:02}", m.year(), m.month()));
        match m.checked_add(1.month()) {
            Ok(next) => m = next,
            Err(_) => break,
        }
    }
    out
}

fn eastern() -> TimeZone {
    TimeZone::get("America/New_York").unwrap_or(TimeZone::UTC)
}

// ---- wire format ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct Notice {
    #[serde(rename = "Note")]
    note: Option<String>,
    #[serde(rename = "Information")]
    information: Option<String>,
}

/// The text of a `Note` / `Information` body (rate limit or premium notice), if that is what
/// `body` is.
fn rate_limit_notice(body: &[u8]) -> Option<String> {
    let n: Notice = serde_json::from_slice(body).ok()?;
    n.note.or(n.information)
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Meta Data")]
    meta: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(rename = "Error Message")]
    error: Option<String>,
    #[serde(rename = "Note")]
    note: Option<String>,
    #[serde(rename = "Information")]
    information: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

fn parse_fail(symbol: &Symbol, reason: String) -> DataError {
    DataError::Parse {
        source_name: SOURCE,
        symbol: symbol.to_string(),
        reason,
    }
}

/// Decodes the envelope and returns the time series object and the meta time zone.
fn series<'a>(
    symbol: &Symbol,
    env: &'a Envelope,
    key: &str,
) -> Result<(&'a serde_json::Map<String, serde_json::Value>, TimeZone), DataError> {
    if let Some(msg) = &env.error {
        return Err(DataError::Api {
            source_name: SOURCE,
            symbol: symbol.to_string(),
            message: msg.clone(),
        });
    }
    if let Some(msg) = env.note.as_ref().or(env.information.as_ref()) {
        return Err(DataError::RateLimited {
            source_name: SOURCE,
            detail: msg.clone(),
            attempts: 1,
        });
    }
    let tz_name = env
        .meta
        .as_ref()
        .and_then(|m| m.iter().find(|(k, _)| k.ends_with("Time Zone")))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("US/Eastern");
    let tz = TimeZone::get(tz_name).map_err(|e| {
        parse_fail(
            symbol,
            format!("unknown Meta Data time zone {tz_name:?}: {e}"),
        )
    })?;
    let obj = env
        .rest
        .get(key)
        .ok_or_else(|| {
            let keys: Vec<&str> = env.rest.keys().map(String::as_str).collect();
            parse_fail(
                symbol,
                format!("no {key:?} object (top-level keys: {keys:?})"),
            )
        })?
        .as_object()
        .ok_or_else(|| parse_fail(symbol, format!("{key:?} is not an object")))?;
    Ok((obj, tz))
}

fn decode(symbol: &Symbol, bytes: &[u8]) -> Result<Envelope, DataError> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            parse_fail(
                symbol,
                format!(
                    "body ends early after {} bytes (truncated?): {e}",
                    bytes.len()
                ),
            )
        } else {
            parse_fail(symbol, format!("not the Alpha Vantage JSON shape: {e}"))
        }
    })
}

/// A numeric field given as a string (`"1. open": "271.19"`).
fn field(
    symbol: &Symbol,
    key: &str,
    row: &serde_json::Value,
    name: &str,
) -> Result<Option<String>, DataError> {
    match row.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(parse_fail(
            symbol,
            format!("{key}: {name:?} is {other}, not a number string"),
        )),
    }
}

fn number(
    symbol: &Symbol,
    key: &str,
    row: &serde_json::Value,
    name: &str,
) -> Result<f64, DataError> {
    let text = field(symbol, key, row, name)?
        .ok_or_else(|| parse_fail(symbol, format!("{key}: {name:?} is missing")))?;
    let v: f64 = text.parse().map_err(|_| {
        parse_fail(
            symbol,
            format!("{key}: {name:?} = {text:?} is not a number"),
        )
    })?;
    if !v.is_finite() {
        return Err(parse_fail(
            symbol,
            format!("{key}: {name:?} = {text:?} is not finite"),
        ));
    }
    Ok(v)
}

/// Parses a `TIME_SERIES_DAILY_ADJUSTED` body: split-adjusted bars (trading date at 00:00Z),
/// dividends (non-zero `7. dividend amount`) and splits (`8. split coefficient` ≠ 1), ascending.
pub fn parse_daily_adjusted(
    symbol: &Symbol,
    bytes: &[u8],
) -> Result<(Vec<Bar>, Vec<CorporateAction>), DataError> {
    let env = decode(symbol, bytes)?;
    let (obj, _tz) = series(symbol, &env, "Time Series (Daily)")?;
    struct Row {
        date: Date,
        bar: Bar,
        split: Decimal,
        split_f: f64,
    }
    let mut rows = Vec::with_capacity(obj.len());
    let mut actions = Vec::new();
    for (key, row) in obj {
        let date: Date = key
            .parse()
            .map_err(|e| parse_fail(symbol, format!("date key {key:?}: {e}")))?;
        let ts = date_at_midnight_utc(date)
            .map_err(|e| parse_fail(symbol, format!("date key {key:?}: {e}")))?;
        let bar = Bar {
            ts,
            open: number(symbol, key, row, "1. open")?,
            high: number(symbol, key, row, "2. high")?,
            low: number(symbol, key, row, "3. low")?,
            close: number(symbol, key, row, "4. close")?,
            adj_close: Some(number(symbol, key, row, "5. adjusted close")?),
            volume: Some(number(symbol, key, row, "6. volume")?),
        };
        if let Some(text) = field(symbol, key, row, "7. dividend amount")? {
            let cash: Decimal = text.parse().map_err(|_| {
                parse_fail(
                    symbol,
                    format!("{key}: dividend amount {text:?} is not a decimal"),
                )
            })?;
            if !cash.is_zero() {
                actions.push(CorporateAction {
                    symbol: symbol.clone(),
                    ex_date: date,
                    kind: CorporateActionKind::Dividend {
                        cash_per_share: cash.normalize(),
                    },
                });
            }
        }
        let (split, split_f) = match field(symbol, key, row, "8. split coefficient")? {
            Some(text) => {
                let d: Decimal = text.parse().map_err(|_| {
                    parse_fail(
                        symbol,
                        format!("{key}: split coefficient {text:?} is not a decimal"),
                    )
                })?;
                if d <= Decimal::ZERO {
                    return Err(parse_fail(
                        symbol,
                        format!("{key}: split coefficient {text:?} is not positive"),
                    ));
                }
                let f: f64 = text.parse().unwrap_or(1.0);
                (d.normalize(), f)
            }
            None => (Decimal::ONE, 1.0),
        };
        if split != Decimal::ONE {
            actions.push(CorporateAction {
                symbol: symbol.clone(),
                ex_date: date,
                kind: CorporateActionKind::Split { ratio: split },
            });
        }
        bar.validate_finite()
            .map_err(|e| parse_fail(symbol, format!("{key}: {e}")))?;
        rows.push(Row {
            date,
            bar,
            split,
            split_f,
        });
    }
    // Newest first: each split divides the prices (and multiplies the volume) of the days before it.
    rows.sort_by_key(|r| std::cmp::Reverse(r.date));
    let mut factor = 1.0f64;
    let mut bars = Vec::with_capacity(rows.len());
    for r in rows {
        let mut b = r.bar;
        if factor != 1.0 {
            b.open /= factor;
            b.high /= factor;
            b.low /= factor;
            b.close /= factor;
            b.volume = b.volume.map(|v| v * factor);
        }
        bars.push(b);
        if r.split != Decimal::ONE {
            factor *= r.split_f;
        }
    }
    bars.reverse();
    actions.sort_by(|a, b| (a.ex_date, a.kind_name()).cmp(&(b.ex_date, b.kind_name())));
    Ok((bars, actions))
}

/// Parses a `TIME_SERIES_INTRADAY` 1-minute body: keys are END-of-minute local times in the
/// meta time zone; bars are returned by the start of their minute (UTC), ascending.
pub fn parse_intraday(symbol: &Symbol, bytes: &[u8]) -> Result<Vec<Bar>, DataError> {
    let env = decode(symbol, bytes)?;
    let (obj, tz) = series(symbol, &env, "Time Series (1min)")?;
    let mut bars = Vec::with_capacity(obj.len());
    for (key, row) in obj {
        let local: DateTime = key
            .parse()
            .map_err(|e| parse_fail(symbol, format!("time key {key:?}: {e}")))?;
        let end = local
            .to_zoned(tz.clone())
            .map_err(|e| parse_fail(symbol, format!("time key {key:?}: {e}")))?
            .timestamp();
        let ts = end
            .checked_sub(60.seconds())
            .map_err(|e| parse_fail(symbol, format!("time key {key:?}: {e}")))?;
        let bar = Bar {
            ts,
            open: number(symbol, key, row, "1. open")?,
            high: number(symbol, key, row, "2. high")?,
            low: number(symbol, key, row, "3. low")?,
            close: number(symbol, key, row, "4. close")?,
            adj_close: None,
            volume: Some(number(symbol, key, row, "5. volume")?),
        };
        bar.validate_finite()
            .map_err(|e| parse_fail(symbol, format!("{key}: {e}")))?;
        bars.push(bar);
    }
    bars.sort_by_key(|b| b.ts);
    Ok(bars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_debug_is_redacted() {
        let key = ApiKey::new("ABCDEF123456");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        let cfg = AlphaVantageConfig::new(key.clone());
        assert!(!format!("{cfg:?}").contains("ABCDEF123456"));
        let client = AlphaVantageClient::new(cfg).unwrap();
        assert!(!format!("{client:?}").contains("ABCDEF123456"));
    }

    #[test]
    fn months_span_the_range_in_new_york_time() {
        let s: Timestamp = "2019-02-11T14:30:00Z".parse().unwrap();
        let e: Timestamp = "2019-04-01T04:00:00Z".parse().unwrap(); // 00:00 ET on 2019-04-01
        assert_eq!(intraday_months(s, e), vec!["2019-02", "2019-03"]);
    }

    #[test]
    fn us_eastern_is_known() {
        assert!(TimeZone::get("US/Eastern").is_ok());
    }
}
