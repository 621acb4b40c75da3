//! Access tokens: the cached value, the cache port and its in-memory implementation.

use crate::config::KisMode;
use pulse_core::jiff::Timestamp;
use pulse_core::jiff::civil::DateTime;
use pulse_core::jiff::tz::TimeZone;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// An OAuth access token (a secret): no `Display`, `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token string (as read back from a store).
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(token.into())
    }

    /// The token itself, for the `authorization` header or a store that keeps it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// A token as cached between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedToken {
    /// The bearer token.
    pub token: AccessToken,
    /// When KIS says it expires (`access_token_token_expired`, KST, converted to UTC).
    pub expires_at: Timestamp,
    /// When it was issued (by the adapter's clock): KIS issues at most one token per minute, and
    /// a new adapter sharing the cache respects that too.
    pub issued_at: Timestamp,
    /// The mode it was issued for (a paper token is refused by the real host and vice versa).
    pub mode: KisMode,
}

/// Where tokens are kept between calls and runs (the app layer implements it over its store).
///
/// Keys are made by [`token_cache_key`]: they name the mode and a hash of the app key, never the
/// key itself. A cache that fails to read answers `None`; one that fails to write drops the
/// token (the adapter then holds it in memory and issues a new one on the next run).
pub trait TokenCache: Send + Sync {
    /// The token stored under `key`, if any (expired or not; the adapter checks).
    fn load(&self, key: &str) -> impl Future<Output = Option<CachedToken>> + Send;

    /// Stores `token` under `key`, replacing any previous one.
    fn save(&self, key: &str, token: &CachedToken) -> impl Future<Output = ()> + Send;
}

/// A [`TokenCache`] in process memory. Clones share the same map, so two adapters built with
/// clones of one cache share their token.
#[derive(Debug, Clone, Default)]
pub struct MemoryTokenCache {
    map: Arc<Mutex<HashMap<String, CachedToken>>>,
}

impl MemoryTokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, CachedToken>) -> R) -> R {
        let mut guard = match self.map.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

impl TokenCache for MemoryTokenCache {
    async fn load(&self, key: &str) -> Option<CachedToken> {
        self.with(|m| m.get(key).cloned())
    }

    async fn save(&self, key: &str, token: &CachedToken) {
        self.with(|m| {
            m.insert(key.to_string(), token.clone());
        });
    }
}

/// The cache key of the token of `app_key` in `mode`: `kis:<mode>:<first 16 bytes of
/// SHA-256(app key), hex>`. The raw key never appears in it.
pub fn token_cache_key(mode: KisMode, app_key: &str) -> String {
    let digest = Sha256::digest(app_key.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("kis:{}:{hex}", mode.as_str())
}

/// The Korea Standard Time zone (UTC+9, no daylight saving), the zone of KIS's civil times.
pub(crate) fn kst() -> TimeZone {
    TimeZone::get("Asia/Seoul").unwrap_or_else(|_| TimeZone::fixed(pulse_core::jiff::tz::offset(9)))
}

/// Parses `YYYY-MM-DD HH:MM:SS` in KST (the token's expiry) into an instant.
pub(crate) fn parse_kst_datetime(text: &str) -> Option<Timestamp> {
    let dt: DateTime = text.trim().replace(' ', "T").parse().ok()?;
    dt.to_zoned(kst()).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_hides_the_app_key_and_names_the_mode() {
        let k = token_cache_key(KisMode::Paper, "PSabcdefAPPKEY");
        assert!(k.starts_with("kis:paper:"));
        assert!(!k.contains("PSabcdefAPPKEY"));
        assert_eq!(k.len(), "kis:paper:".len() + 32);
        assert_ne!(k, token_cache_key(KisMode::Real, "PSabcdefAPPKEY"));
        assert_ne!(k, token_cache_key(KisMode::Paper, "PSabcdefAPPKEY2"));
    }

    #[test]
    fn expiry_is_read_as_kst() {
        let t = parse_kst_datetime("2026-01-06 09:00:00").unwrap();
        assert_eq!(t, "2026-01-06T00:00:00Z".parse::<Timestamp>().unwrap());
        assert!(parse_kst_datetime("tomorrow").is_none());
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = AccessToken::new("eyJ0eXAiOiJKV1Qi");
        assert!(!format!("{t:?}").contains("eyJ"));
    }
}
