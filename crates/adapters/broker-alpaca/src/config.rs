//! Where the broker is and who we are: base URL, keys (from the environment), HTTP settings.

use crate::error::AlpacaError;
use pulse_core::jiff::Timestamp;
use pulse_http::HttpConfig;
use std::time::Duration;

/// Base URL of Alpaca's paper-trading API.
pub const PAPER_BASE_URL: &str = "https://paper-api.alpaca.markets";
/// Base URL of Alpaca's live-trading API.
pub const LIVE_BASE_URL: &str = "https://api.alpaca.markets";
/// Environment variable holding the API key id (sent as `APCA-API-KEY-ID`).
pub const KEY_ID_VAR: &str = "APCA_API_KEY_ID";
/// Environment variable holding the API secret key (sent as `APCA-API-SECRET-KEY`).
pub const SECRET_KEY_VAR: &str = "APCA_API_SECRET_KEY";
/// Longest client order id Alpaca accepts, in characters.
pub const MAX_CLIENT_ORDER_ID_LEN: usize = 48;

/// Which Alpaca trading API to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlpacaEndpoint {
    /// Paper trading ([`PAPER_BASE_URL`]).
    #[default]
    Paper,
    /// Live trading with real money ([`LIVE_BASE_URL`]).
    Live,
}

impl AlpacaEndpoint {
    /// The base URL of this endpoint.
    pub fn base_url(self) -> &'static str {
        match self {
            AlpacaEndpoint::Paper => PAPER_BASE_URL,
            AlpacaEndpoint::Live => LIVE_BASE_URL,
        }
    }
}

/// The API secret key. It has no `Display`, its `Debug` prints `SecretKey(***)`, and it can only
/// be made from the environment (see [`AlpacaConfig::from_env`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// The key itself, for the request header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// Settings of an [`crate::AlpacaBroker`].
#[derive(Debug, Clone)]
pub struct AlpacaConfig {
    /// Base URL (scheme, host, optional port; default [`PAPER_BASE_URL`]); overridable for tests.
    pub base_url: String,
    /// The API key id (an identifier, not a secret, but kept out of errors all the same).
    pub key_id: String,
    /// The API secret key (redacted everywhere).
    pub secret_key: SecretKey,
    /// Pacing, retries and timeouts (default: no minimum interval, at most 200 requests per
    /// 60 s, 10 s per request, 4 retries of GET/DELETE).
    pub http: HttpConfig,
    /// Orders per page of `GET /v2/orders` (default 500, Alpaca's maximum).
    pub orders_page_size: u32,
    /// Activities per page of `GET /v2/account/activities/FILL` (default 100, Alpaca's
    /// maximum).
    pub activities_page_size: u32,
    /// Fills executed at or before this instant are never reported (default `None`: the first
    /// `take_fills` reads the account's whole fill history).
    pub fills_after: Option<Timestamp>,
    /// How far back each `take_fills` re-reads before the newest fill it has seen, to catch
    /// fills Alpaca publishes late (default 10 minutes); the already reported ones are skipped
    /// by their id.
    pub fills_lookback: Duration,
}

impl AlpacaConfig {
    /// Settings for `endpoint` with the keys read from `APCA_API_KEY_ID` and
    /// `APCA_API_SECRET_KEY`.
    pub fn from_env(endpoint: AlpacaEndpoint) -> Result<Self, AlpacaError> {
        Self::from_vars(endpoint, |name| std::env::var(name).ok())
    }

    /// As [`AlpacaConfig::from_env`], with the environment given as a lookup function (tests,
    /// or a process that keeps its environment elsewhere).
    pub fn from_vars(
        endpoint: AlpacaEndpoint,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AlpacaError> {
        let get = |name: &str| -> Result<String, AlpacaError> {
            match lookup(name) {
                Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                _ => Err(AlpacaError::Config(format!(
                    "environment variable {name} is not set"
                ))),
            }
        };
        Ok(AlpacaConfig {
            base_url: endpoint.base_url().to_string(),
            key_id: get(KEY_ID_VAR)?,
            secret_key: SecretKey(get(SECRET_KEY_VAR)?),
            http: default_http(),
            orders_page_size: 500,
            activities_page_size: 100,
            fills_after: None,
            fills_lookback: Duration::from_secs(600),
        })
    }
}

/// The HTTP settings Alpaca's limits call for: 200 requests per minute, bursts allowed.
fn default_http() -> HttpConfig {
    HttpConfig {
        min_interval: Duration::ZERO,
        window_limit: 200,
        window: Duration::from_secs(60),
        timeout: Duration::from_secs(10),
        ..HttpConfig::default()
    }
}
