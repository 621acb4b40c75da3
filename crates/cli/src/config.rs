//! The configuration file (TOML) with environment overrides. Secrets never live here: API keys
//! come from the environment only.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Everything configurable, with defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Database settings.
    pub store: StoreConfig,
    /// Yahoo Finance client settings.
    pub yahoo: SourceConfig,
    /// Alpha Vantage client settings (the key comes from ALPHAVANTAGE_API_KEY).
    pub alphavantage: SourceConfig,
    /// The quote cache.
    pub cache: CacheConfig,
    /// The daily portfolio pipeline (`[pipeline] manual`).
    pub pipeline: crate::commands::pipeline::PipelineConfig,
}

/// `[cache]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Redis URL of the quote cache (overridden by PULSE_REDIS_URL and --redis); a password in
    /// it is never printed.
    pub redis_url: Option<String>,
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// SQLite file (overridden by --db / PULSE_DB and by `url`).
    pub path: Option<PathBuf>,
    /// The store as a URL: `postgres://user:password@host:port/database` for PostgreSQL, or
    /// `sqlite:PATH` (overridden by --db / PULSE_DB). A password in it is never printed.
    pub url: Option<String>,
}

/// `[yahoo]` / `[alphavantage]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// Base URL of the API (tests point it at a loopback server).
    pub base_url: Option<String>,
    /// Minimum milliseconds between two requests.
    pub min_interval_ms: Option<u64>,
    /// Retries on HTTP 429 / 5xx / connection errors.
    pub max_retries: Option<u32>,
    /// Per-request timeout in seconds.
    pub timeout_secs: Option<u64>,
}

impl Config {
    /// Loads `explicit` (an error if missing), else the default file if it exists, else defaults;
    /// then applies environment overrides (`PULSE_YAHOO_BASE_URL`, `PULSE_ALPHAVANTAGE_BASE_URL`,
    /// `PULSE_REDIS_URL`).
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match explicit {
            Some(path) => Self::read(path)?,
            None => match dirs::config_dir().map(|d| d.join("pulse").join("config.toml")) {
                Some(path) if path.is_file() => Self::read(&path)?,
                _ => Config::default(),
            },
        };
        if let Ok(url) = std::env::var("PULSE_YAHOO_BASE_URL") {
            config.yahoo.base_url = Some(url);
        }
        if let Ok(url) = std::env::var("PULSE_ALPHAVANTAGE_BASE_URL") {
            config.alphavantage.base_url = Some(url);
        }
        if let Ok(url) = std::env::var("PULSE_REDIS_URL")
            && !url.trim().is_empty()
        {
            config.cache.redis_url = Some(url);
        }
        Ok(config)
    }

    fn read(path: &Path) -> anyhow::Result<Config> {
        let text = pulse_app::data::read_text_file(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        for (table, source) in [
            ("yahoo", &config.yahoo),
            ("alphavantage", &config.alphavantage),
        ] {
            source
                .validate()
                .with_context(|| format!("invalid config file {}: [{table}]", path.display()))?;
        }
        Ok(config)
    }
}

impl SourceConfig {
    /// Longest pause between two requests a config may ask for, milliseconds (one minute: a
    /// larger value would make a fetch look hung).
    pub const MAX_INTERVAL_MS: u64 = 60_000;
    /// Most retries a config may ask for.
    pub const MAX_RETRIES: u32 = 20;
    /// Longest per-request timeout, seconds.
    pub const MAX_TIMEOUT_SECS: u64 = 600;

    /// Checks the bounds of the client settings, naming the key.
    fn validate(&self) -> anyhow::Result<()> {
        if let Some(ms) = self.min_interval_ms
            && ms > Self::MAX_INTERVAL_MS
        {
            anyhow::bail!("min_interval_ms = {ms}: at most {}", Self::MAX_INTERVAL_MS);
        }
        if let Some(n) = self.max_retries
            && n > Self::MAX_RETRIES
        {
            anyhow::bail!("max_retries = {n}: at most {}", Self::MAX_RETRIES);
        }
        if let Some(t) = self.timeout_secs
            && !(1..=Self::MAX_TIMEOUT_SECS).contains(&t)
        {
            anyhow::bail!(
                "timeout_secs = {t}: between 1 and {}",
                Self::MAX_TIMEOUT_SECS
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_keys_and_reads_known_ones() {
        let ok: Config = toml::from_str("[yahoo]\nmin_interval_ms = 250\n").unwrap();
        assert_eq!(ok.yahoo.min_interval_ms, Some(250));
        assert!(toml::from_str::<Config>("[yahoo]\napi_key = \"x\"\n").is_err());
    }

    /// Issue #12: a huge `min_interval_ms` made a fetch hang; it is refused naming file and key.
    #[test]
    fn client_settings_out_of_bounds_are_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        for (text, key) in [
            (
                "[yahoo]\nmin_interval_ms = 99999999999\n",
                "min_interval_ms",
            ),
            ("[alphavantage]\nmax_retries = 1000\n", "max_retries"),
            ("[yahoo]\ntimeout_secs = 0\n", "timeout_secs"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = format!("{:#}", Config::load(Some(&path)).unwrap_err());
            assert!(err.contains(key) && err.contains("config.toml"), "{err}");
        }
        std::fs::write(&path, "[yahoo]\nmin_interval_ms = 60000\n").unwrap();
        assert!(Config::load(Some(&path)).is_ok());
    }
}
