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
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// SQLite file (overridden by --db / PULSE_DB).
    pub path: Option<PathBuf>,
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
    /// then applies environment overrides (`PULSE_YAHOO_BASE_URL`, `PULSE_ALPHAVANTAGE_BASE_URL`).
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
        Ok(config)
    }

    fn read(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
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
}
