//! `data-yahoo` owns the HTTP market-data fetchers behind [`pulse_core::ports::MarketData`]:
//! [`YahooClient`] (Yahoo Finance chart API: daily and 1-minute bars, dividends, splits) and
//! [`AlphaVantageClient`] (Alpha Vantage daily-adjusted and 1-minute series).
//!
//! Both share one HTTP layer (`pulse-http`'s client, configured by [`HttpConfig`]): a rate limiter (minimum interval between request
//! starts), retries with exponential backoff and deterministic jitter on HTTP 429, 5xx, timeouts
//! and connection errors (honouring `Retry-After`), and errors that name the host, never the URL.
//! The parsers ([`parse_chart_json`], [`alphavantage::parse_daily_adjusted`],
//! [`alphavantage::parse_intraday`]) are pure functions that never panic on any input.

pub mod alphavantage;
mod error;
mod http;
mod util;
mod yahoo;

pub use alphavantage::{AlphaVantageClient, AlphaVantageConfig, ApiKey};
pub use error::DataError;
pub use http::HttpConfig;
pub use yahoo::{
    ParsedChart, YAHOO_BASE_URL, YahooClient, YahooConfig, YahooFetch, parse_chart_json,
    request_windows,
};
