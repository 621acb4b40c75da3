//! OHLCV bars.

use crate::error::CoreError;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One OHLCV bar.
///
/// Conventions:
/// - `ts` is UTC. Intraday bars are labelled by the **start** of their interval (a 09:30–09:31 ET
///   bar is `14:30Z` in winter). Daily bars are labelled by their trading date at `00:00Z`.
/// - Prices are in the instrument's currency per share, as analysed (`f64`); `open/high/low/close`
///   are split-adjusted but not dividend-adjusted where the source says so; `adj_close` is the
///   dividend- and split-adjusted close when the source has one.
/// - Close-only series (an adjusted-close file, an index value such as Fear & Greed) are stored with
///   `open = high = low = close`.
/// - `volume` is in shares (or base-coin units for crypto); `None` where the source has none
///   (indices).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Start of the bar's interval (UTC); daily bars: the trading date at 00:00 UTC.
    pub ts: Timestamp,
    /// First traded price.
    pub open: f64,
    /// Highest traded price.
    pub high: f64,
    /// Lowest traded price.
    pub low: f64,
    /// Last traded price.
    pub close: f64,
    /// Dividend- and split-adjusted close, when known.
    pub adj_close: Option<f64>,
    /// Traded volume, when known.
    pub volume: Option<f64>,
}

impl Bar {
    /// A close-only bar (`open = high = low = close`), for value series and adjusted-close files.
    pub fn from_value(ts: Timestamp, value: f64, adj_close: Option<f64>) -> Bar {
        Bar {
            ts,
            open: value,
            high: value,
            low: value,
            close: value,
            adj_close,
            volume: None,
        }
    }

    /// The close to use for return computations: `adj_close` when present, else `close`.
    pub fn analysis_close(&self) -> f64 {
        self.adj_close.unwrap_or(self.close)
    }

    /// Structural validation done at import: every price finite, volume finite and not negative.
    ///
    /// Economic sanity (non-positive prices, high below open…) is *not* an import error: such bars
    /// are stored as the source has them and reported by the data-quality check.
    pub fn validate_finite(&self) -> Result<(), CoreError> {
        let fields = [
            ("open", Some(self.open)),
            ("high", Some(self.high)),
            ("low", Some(self.low)),
            ("close", Some(self.close)),
            ("adj_close", self.adj_close),
            ("volume", self.volume),
        ];
        for (name, v) in fields {
            if let Some(v) = v
                && !v.is_finite()
            {
                return Err(CoreError::InvalidBar {
                    ts: self.ts,
                    reason: format!("{name} is not a finite number ({v})"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_prices_are_rejected() {
        let ts: Timestamp = "2024-01-02T00:00:00Z".parse().unwrap();
        let mut bar = Bar::from_value(ts, 10.0, None);
        assert!(bar.validate_finite().is_ok());
        bar.high = f64::NAN;
        assert!(bar.validate_finite().is_err());
        bar.high = 10.0;
        bar.volume = Some(f64::INFINITY);
        assert!(bar.validate_finite().is_err());
    }
}
