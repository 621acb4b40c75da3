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
    /// True when every value equals `other`'s (the time stamp aside): writing one over the other
    /// would change nothing.
    pub fn same_values(&self, other: &Bar) -> bool {
        self.open == other.open
            && self.high == other.high
            && self.low == other.low
            && self.close == other.close
            && self.adj_close == other.adj_close
            && self.volume == other.volume
    }

    /// The fields the bar carries beyond a close: an open/high/low range, an adjusted close, a
    /// volume (what makes a stored row "fuller" than an incoming one).
    pub fn carried_fields(&self) -> [bool; 3] {
        let close_only =
            self.open == self.close && self.high == self.close && self.low == self.close;
        [!close_only, self.adj_close.is_some(), self.volume.is_some()]
    }

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

/// Largest absolute price (or value) a bar may carry: beyond it a number is a unit or parsing
/// accident (`1e308`), not a quote. The largest in the shared data is VIXY's back-adjusted
/// 975,600.
pub const MAX_PRICE: f64 = 1e12;

/// Largest volume a bar may carry (shares or base-coin units per bar).
pub const MAX_VOLUME: f64 = 1e18;

/// Earliest year a bar may carry (`0001-01-01` is a placeholder, not a quote).
pub const EARLIEST_YEAR: i16 = 1800;

/// Latest year a bar may carry.
pub const LATEST_YEAR: i16 = 2199;

impl Bar {
    /// The plausibility rules every bar must pass before it is stored, whatever its source (a
    /// CSV file, a vendor's API): every value finite, a year in
    /// [`EARLIEST_YEAR`]`..=`[`LATEST_YEAR`], prices within ±[`MAX_PRICE`] and positive (zero
    /// and negative values are allowed when `allow_non_positive`, for rates and sentiment
    /// scores), `high ≥ low`, volume not negative and at most [`MAX_VOLUME`]. Values no market
    /// produces are refused, naming the field; economic oddities that do happen (a high below
    /// the close, a split-sized move) are data-quality findings, not refusals.
    pub fn check_plausible(&self, allow_non_positive: bool) -> Result<(), CoreError> {
        self.validate_finite()?;
        let invalid = |reason: String| {
            Err(CoreError::InvalidBar {
                ts: self.ts,
                reason,
            })
        };
        let year = self.ts.to_zoned(jiff::tz::TimeZone::UTC).year();
        if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&year) {
            return invalid(format!(
                "year {year} is outside {EARLIEST_YEAR}..={LATEST_YEAR}"
            ));
        }
        let prices = [
            ("open", Some(self.open)),
            ("high", Some(self.high)),
            ("low", Some(self.low)),
            ("close", Some(self.close)),
            ("adj_close", self.adj_close),
        ];
        for (name, v) in prices {
            let Some(v) = v else { continue };
            if v.abs() > MAX_PRICE {
                return invalid(format!(
                    "{name} {v} is beyond the plausible range of ±{MAX_PRICE:e}"
                ));
            }
            if v <= 0.0 && !allow_non_positive {
                return invalid(format!("{name} {v}: a price must be positive"));
            }
        }
        if self.high < self.low {
            return invalid(format!("high {} is below the low {}", self.high, self.low));
        }
        if let Some(v) = self.volume {
            if v < 0.0 {
                return invalid(format!("volume {v} is negative"));
            }
            if v > MAX_VOLUME {
                return invalid(format!(
                    "volume {v} is beyond the plausible maximum of {MAX_VOLUME:e}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implausible_bars_are_refused_naming_the_field() {
        let ts: Timestamp = "2024-01-02T00:00:00Z".parse().unwrap();
        let ok = Bar {
            ts,
            open: 10.0,
            high: 11.0,
            low: 9.0,
            close: 10.5,
            adj_close: Some(10.4),
            volume: Some(1000.0),
        };
        assert!(ok.check_plausible(false).is_ok());
        let cases = [
            (Bar { close: -1.0, ..ok }, "close"),
            (Bar { open: 0.0, ..ok }, "open"),
            (Bar { high: 8.0, ..ok }, "high 8 is below the low 9"),
            (
                Bar {
                    low: 2e12,
                    high: 3e12,
                    ..ok
                },
                "plausible range",
            ),
            (
                Bar {
                    volume: Some(-5.0),
                    ..ok
                },
                "volume",
            ),
            (
                Bar {
                    volume: Some(1e19),
                    ..ok
                },
                "volume",
            ),
            (
                Bar {
                    ts: "1700-01-04T00:00:00Z".parse().unwrap(),
                    ..ok
                },
                "year 1700",
            ),
            (
                Bar {
                    adj_close: Some(f64::NAN),
                    ..ok
                },
                "adj_close",
            ),
        ];
        for (bar, needle) in cases {
            let e = bar.check_plausible(false).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
        // Rates and scores may be zero or negative, never absurd.
        assert!(
            Bar {
                open: -0.1,
                low: -0.2,
                close: -0.1,
                ..ok
            }
            .check_plausible(true)
            .is_ok()
        );
        assert!(Bar { high: 8.0, ..ok }.check_plausible(true).is_err());
    }

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
