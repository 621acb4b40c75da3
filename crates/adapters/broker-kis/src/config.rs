//! Where KIS is and who we are: mode, host, keys and account (from the environment only), HTTP
//! pacing.

use crate::error::KisError;
use pulse_http::HttpConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// REST host of real trading (실전).
pub const REAL_BASE_URL: &str = "https://openapi.koreainvestment.com:9443";
/// REST host of paper trading (모의투자).
pub const PAPER_BASE_URL: &str = "https://openapivts.koreainvestment.com:29443";
/// Environment variable holding the app key.
pub const APP_KEY_VAR: &str = "KIS_APP_KEY";
/// Environment variable holding the app secret.
pub const APP_SECRET_VAR: &str = "KIS_APP_SECRET";
/// Environment variable holding the account: 8 digits, an optional `-`, the 2-digit product code.
pub const ACCOUNT_VAR: &str = "KIS_ACCOUNT";
/// Environment variable holding the mode, `paper` or `real`.
pub const MODE_VAR: &str = "KIS_MODE";
/// Optional environment variable overriding the REST base URL (tests, proxies).
pub const BASE_URL_VAR: &str = "KIS_BASE_URL";
/// Environment variable overriding the minimum milliseconds between two requests (0..=10000;
/// default: the mode's, 50 real / 500 paper). For an account with raised limits, or a loopback
/// test server.
pub const MIN_INTERVAL_VAR: &str = "KIS_MIN_INTERVAL_MS";

/// Real money or KIS's paper-trading service. They have different hosts, keys, accounts, TR ids
/// and rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KisMode {
    /// Paper trading (모의투자, host [`PAPER_BASE_URL`]).
    Paper,
    /// Real trading (실전, host [`REAL_BASE_URL`]).
    Real,
}

impl KisMode {
    /// The REST base URL of this mode.
    pub fn base_url(self) -> &'static str {
        match self {
            KisMode::Paper => PAPER_BASE_URL,
            KisMode::Real => REAL_BASE_URL,
        }
    }

    /// `paper` or `real`.
    pub fn as_str(self) -> &'static str {
        match self {
            KisMode::Paper => "paper",
            KisMode::Real => "real",
        }
    }

    /// Parses `paper` or `real` (case-insensitive, trimmed).
    pub fn parse(text: &str) -> Option<KisMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "paper" => Some(KisMode::Paper),
            "real" => Some(KisMode::Real),
            _ => None,
        }
    }

    /// Minimum interval between two requests: 50 ms real (≈20 req/s), 500 ms paper (≈2 req/s),
    /// as KIS's own sample client paces them.
    pub fn min_interval(self) -> Duration {
        match self {
            KisMode::Paper => Duration::from_millis(500),
            KisMode::Real => Duration::from_millis(50),
        }
    }

    /// Rows per page of the domestic balance inquiry: 50 real, 20 paper.
    pub fn balance_page_rows(self) -> usize {
        match self {
            KisMode::Paper => 20,
            KisMode::Real => 50,
        }
    }
}

impl std::fmt::Display for KisMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret string (app key, app secret). It has no `Display`, its `Debug` prints `***`, and
/// it can only be made from the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for a request header or body only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A KIS account: the 8-digit account number (`CANO`, a secret) and the 2-digit product code
/// (`ACNT_PRDT_CD`: 01 stock, 03 domestic F&O, 08 overseas F&O, 22 pension, 29 retirement).
/// Its `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    cano: String,
    product: String,
}

impl Account {
    /// Parses `12345678-01` or `1234567801`; the error names [`ACCOUNT_VAR`] and the expected
    /// shape, never the value.
    pub fn parse(text: &str) -> Result<Account, KisError> {
        let t = text.trim();
        let (cano, product) = match t.split_once('-') {
            Some((a, b)) => (a, b),
            None if t.len() == 10 && t.is_ascii() => t.split_at(8),
            None => ("", ""),
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(cano, 8) || !digits(product, 2) {
            return Err(KisError::Config(format!(
                "{ACCOUNT_VAR} must be the 8-digit account number, an optional '-', and the 2-digit product code (8 digits-01, e.g. for a stock account)"
            )));
        }
        Ok(Account {
            cano: cano.to_string(),
            product: product.to_string(),
        })
    }

    /// The 8-digit account number (`CANO`), for request fields only.
    pub(crate) fn cano(&self) -> &str {
        &self.cano
    }

    /// The 2-digit product code (`ACNT_PRDT_CD`).
    pub fn product_code(&self) -> &str {
        &self.product
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Account(***)")
    }
}

/// The US exchange overseas orders go to. Symbols that are not 6-digit KRX codes are sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OverseasExchange {
    /// NASDAQ (`NASD` for orders and balances, `NAS` for quotes). The default (TSLA, TSLL).
    #[default]
    Nasdaq,
    /// New York Stock Exchange (`NYSE` / `NYS`).
    Nyse,
    /// NYSE American (`AMEX` / `AMS`).
    Amex,
}

impl OverseasExchange {
    /// The code of trading TRs (`OVRS_EXCG_CD`): `NASD`, `NYSE`, `AMEX`.
    pub fn order_code(self) -> &'static str {
        match self {
            OverseasExchange::Nasdaq => "NASD",
            OverseasExchange::Nyse => "NYSE",
            OverseasExchange::Amex => "AMEX",
        }
    }

    /// The code of quote TRs (`EXCD`): `NAS`, `NYS`, `AMS`.
    pub fn quote_code(self) -> &'static str {
        match self {
            OverseasExchange::Nasdaq => "NAS",
            OverseasExchange::Nyse => "NYS",
            OverseasExchange::Amex => "AMS",
        }
    }
}

/// Settings of a [`crate::KisBroker`].
#[derive(Clone)]
pub struct KisConfig {
    /// Paper or real.
    pub mode: KisMode,
    /// REST base URL (scheme, host, port); the mode's host unless `KIS_BASE_URL` overrides it.
    pub base_url: String,
    /// The app key (`appkey` header; redacted everywhere).
    pub app_key: Secret,
    /// The app secret (`appsecret` header; redacted everywhere).
    pub app_secret: Secret,
    /// The account (redacted everywhere).
    pub account: Account,
    /// Where overseas (non 6-digit) symbols trade (default NASDAQ).
    pub overseas_exchange: OverseasExchange,
    /// `custtype` header: `P` individual (default), `B` partner.
    pub customer_type: &'static str,
    /// Pacing, retries and timeouts: the mode's minimum interval ([`KisMode::min_interval`]),
    /// 10 s per request, GETs retried 4 times on HTTP 429/5xx, timeouts and `EGW00201`.
    pub http: HttpConfig,
    /// A cached token is used until this long before its expiry (default 10 minutes).
    pub token_margin: Duration,
    /// Minimum interval between two token issuances (default 60 s, KIS's limit).
    pub token_reissue_interval: Duration,
    /// How many times an order refused with `EGW00201` is sent again, after a backoff
    /// (`http.base_backoff × 2ⁿ`, capped at `http.max_backoff`); default 4.
    pub order_rate_limit_retries: u32,
}

impl std::fmt::Debug for KisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KisConfig")
            .field("mode", &self.mode)
            .field("app_key", &self.app_key)
            .field("app_secret", &self.app_secret)
            .field("account", &self.account)
            .field("overseas_exchange", &self.overseas_exchange)
            .field("customer_type", &self.customer_type)
            .field("http", &self.http)
            .field("token_margin", &self.token_margin)
            .field("token_reissue_interval", &self.token_reissue_interval)
            .finish_non_exhaustive()
    }
}

impl KisConfig {
    /// Settings from the environment: [`APP_KEY_VAR`], [`APP_SECRET_VAR`], [`ACCOUNT_VAR`], the
    /// mode (`mode`, else [`MODE_VAR`]) and the optional [`BASE_URL_VAR`].
    pub fn from_env(mode: Option<KisMode>) -> Result<Self, KisError> {
        Self::from_vars(mode, |name| std::env::var(name).ok())
    }

    /// As [`KisConfig::from_env`], with the environment given as a lookup function (tests, or a
    /// process that keeps its environment elsewhere).
    pub fn from_vars(
        mode: Option<KisMode>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, KisError> {
        let get = |name: &str| -> Result<String, KisError> {
            match lookup(name) {
                Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                _ => Err(KisError::Config(format!(
                    "environment variable {name} is not set"
                ))),
            }
        };
        let mode = match mode {
            Some(m) => m,
            None => {
                let text = get(MODE_VAR)?;
                KisMode::parse(&text).ok_or_else(|| {
                    KisError::Config(format!("{MODE_VAR} must be `paper` or `real`"))
                })?
            }
        };
        let app_key = Secret(get(APP_KEY_VAR)?);
        let app_secret = Secret(get(APP_SECRET_VAR)?);
        let account = Account::parse(&get(ACCOUNT_VAR)?)?;
        let base_url = match lookup(BASE_URL_VAR) {
            Some(u) if !u.trim().is_empty() => u.trim().to_string(),
            _ => mode.base_url().to_string(),
        };
        let mut http = default_http(mode);
        if let Some(text) = lookup(MIN_INTERVAL_VAR).filter(|t| !t.trim().is_empty()) {
            let ms: u64 = text
                .trim()
                .parse()
                .ok()
                .filter(|ms| *ms <= 10_000)
                .ok_or_else(|| {
                    KisError::Config(format!(
                        "{MIN_INTERVAL_VAR} must be a whole number of milliseconds in 0..=10000"
                    ))
                })?;
            http.min_interval = Duration::from_millis(ms);
        }
        Ok(KisConfig {
            mode,
            base_url,
            app_key,
            app_secret,
            account,
            overseas_exchange: OverseasExchange::default(),
            customer_type: "P",
            http,
            token_margin: Duration::from_secs(600),
            token_reissue_interval: Duration::from_secs(60),
            order_rate_limit_retries: 4,
        })
    }

    /// Every secret of this configuration (app key, app secret, account number in its forms), for
    /// redaction.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let a = &self.account;
        vec![
            self.app_key.expose().to_string(),
            self.app_secret.expose().to_string(),
            format!("{}-{}", a.cano, a.product),
            format!("{}{}", a.cano, a.product),
            a.cano.clone(),
        ]
    }
}

/// The HTTP settings KIS's limits call for in `mode`.
fn default_http(mode: KisMode) -> HttpConfig {
    HttpConfig {
        min_interval: mode.min_interval(),
        timeout: Duration::from_secs(10),
        base_backoff: Duration::from_millis(250),
        max_backoff: Duration::from_secs(5),
        ..HttpConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_interval_can_be_overridden_and_is_validated() {
        let with = |ms: &'static str| {
            KisConfig::from_vars(Some(KisMode::Paper), move |name| match name {
                "KIS_APP_KEY" => Some("k".into()),
                "KIS_APP_SECRET" => Some("s".into()),
                "KIS_ACCOUNT" => Some("12345678-01".into()),
                "KIS_MIN_INTERVAL_MS" => Some(ms.into()),
                _ => None,
            })
        };
        assert_eq!(with("0").unwrap().http.min_interval, Duration::ZERO);
        assert_eq!(
            with("120").unwrap().http.min_interval,
            Duration::from_millis(120)
        );
        for bad in ["-1", "10001", "fast"] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains("KIS_MIN_INTERVAL_MS"), "{err}");
        }
    }

    fn vars(account: &str) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| match name {
            APP_KEY_VAR => Some("PSkey0123456789".into()),
            APP_SECRET_VAR => Some("sec/ret+=".into()),
            ACCOUNT_VAR => Some(account.into()),
            MODE_VAR => Some("Paper".into()),
            _ => None,
        }
    }

    #[test]
    fn account_forms_are_validated_without_echoing_the_value() {
        for ok in ["12345678-01", "1234567801", " 50012345-22 "] {
            assert!(Account::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1234567-01",
            "12345678-1",
            "12345678",
            "abcdefgh-01",
            "123456789-01",
            "",
        ] {
            let e = Account::parse(bad).unwrap_err().to_string();
            assert!(e.contains(ACCOUNT_VAR), "{e}");
            if !bad.is_empty() {
                assert!(!e.contains(bad.trim()), "{e}");
            }
        }
    }

    #[test]
    fn config_reads_mode_hosts_and_redacts_debug() {
        let c = KisConfig::from_vars(None, vars("12345678-01")).unwrap();
        assert_eq!(c.mode, KisMode::Paper);
        assert_eq!(c.base_url, PAPER_BASE_URL);
        assert_eq!(c.http.min_interval, Duration::from_millis(500));
        let c = KisConfig::from_vars(Some(KisMode::Real), vars("1234567801")).unwrap();
        assert_eq!(c.base_url, REAL_BASE_URL);
        assert_eq!(c.http.min_interval, Duration::from_millis(50));
        assert_eq!(c.account.product_code(), "01");
        let dbg = format!("{c:?}");
        for s in ["PSkey0123456789", "sec/ret", "12345678"] {
            assert!(!dbg.contains(s), "{dbg}");
        }
        let e = KisConfig::from_vars(None, |n| {
            (n != MODE_VAR).then(|| vars("12345678-01")(n)).flatten()
        })
        .unwrap_err();
        assert!(e.to_string().contains(MODE_VAR));
        let e = KisConfig::from_vars(None, |n| {
            if n == MODE_VAR {
                Some("live".into())
            } else {
                vars("12345678-01")(n)
            }
        })
        .unwrap_err();
        assert!(e.to_string().contains(MODE_VAR));
    }
}
