//! Bar timeframes.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The bar sizes Portfolio Pulse stores and resamples between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timeframe {
    /// One minute.
    #[serde(rename = "1m")]
    M1,
    /// Fifteen minutes.
    #[serde(rename = "15m")]
    M15,
    /// One hour.
    #[serde(rename = "1h")]
    H1,
    /// One trading session (daily bar).
    #[serde(rename = "1d")]
    D1,
}

impl Timeframe {
    /// All timeframes, finest first.
    pub const ALL: [Timeframe; 4] = [Timeframe::M1, Timeframe::M15, Timeframe::H1, Timeframe::D1];

    /// The canonical short name (`1m`, `15m`, `1h`, `1d`).
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::M1 => "1m",
            Timeframe::M15 => "15m",
            Timeframe::H1 => "1h",
            Timeframe::D1 => "1d",
        }
    }

    /// Nominal length in seconds (a daily bar counts 86 400 s; sessions are shorter).
    pub fn seconds(self) -> i64 {
        match self {
            Timeframe::M1 => 60,
            Timeframe::M15 => 900,
            Timeframe::H1 => 3600,
            Timeframe::D1 => 86_400,
        }
    }

    /// True for timeframes shorter than a session.
    pub fn is_intraday(self) -> bool {
        self != Timeframe::D1
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Timeframe {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1m" | "1min" => Ok(Timeframe::M1),
            "15m" | "15min" => Ok(Timeframe::M15),
            "1h" | "60m" | "60min" => Ok(Timeframe::H1),
            "1d" | "d" | "daily" => Ok(Timeframe::D1),
            _ => Err(CoreError::InvalidTimeframe(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_names() {
        for tf in Timeframe::ALL {
            assert_eq!(tf.as_str().parse::<Timeframe>().unwrap(), tf);
        }
        assert!("2m".parse::<Timeframe>().is_err());
    }
}
