//! The time-ordered split of labelled rows into training, validation and test periods, with an
//! embargo gap between them (never shuffled).
//!
//! With `b₁ = train_end` and `b₂ = validation_end` (exclusive ends) and `g` the embargo:
//! * training = `[first, b₁)`, validation = `[b₁ + g, b₂)`, test = `[b₂ + g, end)` where `end`
//!   is the close of the last bar;
//! * a row (decision at the close of the bar starting at `t`, label exit in the bar starting at
//!   `x`) belongs to a period when `t` is at or after the period's start and its label's window
//!   closes inside it: `x + 1 bar ≤ period end`. A row whose label window crosses a boundary
//!   belongs to no period (it is purged), so **no training label reaches past `b₁`** and no
//!   validation or test row's label window overlaps the training period; the embargo keeps the
//!   rows just after a boundary, whose features look back across it, out as well.

use pulse_core::jiff::{SignedDuration, Timestamp};

use crate::MlError;
use crate::labels::BarrierLabel;

/// Which period a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Models are fitted on it.
    Train,
    /// Held out for model checks during training (validation metrics).
    Validation,
    /// Out of sample: only the evaluation reads it.
    Test,
}

/// How to place the boundaries.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SplitConfig {
    /// Share of the data window for training (0.6), used when `train_end` is not given.
    pub train_fraction: f64,
    /// Share of the data window for validation (0.2), used when `validation_end` is not given.
    pub validation_fraction: f64,
    /// Explicit end of the training period (exclusive), overriding the fraction.
    pub train_end: Option<Timestamp>,
    /// Explicit end of the validation period (exclusive), overriding the fraction.
    pub validation_end: Option<Timestamp>,
    /// Gap after each boundary, in minutes (120: twice the default 60-minute label horizon).
    pub embargo_minutes: u32,
}

impl Default for SplitConfig {
    /// 60 % / 20 % / 20 % with a 120-minute embargo.
    fn default() -> Self {
        SplitConfig {
            train_fraction: 0.6,
            validation_fraction: 0.2,
            train_end: None,
            validation_end: None,
            embargo_minutes: 120,
        }
    }
}

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Period {
    /// First instant (inclusive).
    pub start: Timestamp,
    /// End (exclusive).
    pub end: Timestamp,
}

/// The three periods (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeSplit {
    /// Training period.
    pub train: Period,
    /// Validation period.
    pub validation: Period,
    /// Test period (out of sample).
    pub test: Period,
    /// Bar length, in seconds (60 for minute rows).
    pub bar_seconds: i64,
}

fn minute_floor(ts: Timestamp) -> Result<Timestamp, MlError> {
    let s = ts.as_second();
    Timestamp::from_second(s - s.rem_euclid(60)).map_err(|e| MlError::Invalid(e.to_string()))
}

impl TimeSplit {
    /// The split of the window from the bar starting at `first` to the one starting at `last`
    /// (bars of `bar_seconds`). Errors when a period would be empty or the boundaries are out of
    /// order.
    pub fn new(
        first: Timestamp,
        last: Timestamp,
        bar_seconds: i64,
        cfg: &SplitConfig,
    ) -> Result<Self, MlError> {
        let bad = |m: String| Err(MlError::Invalid(m));
        if bar_seconds <= 0 || last < first {
            return bad("an empty data window".into());
        }
        let frac_ok = |f: f64| f.is_finite() && f > 0.0 && f < 1.0;
        if !frac_ok(cfg.train_fraction)
            || !frac_ok(cfg.validation_fraction)
            || cfg.train_fraction + cfg.validation_fraction >= 1.0
        {
            return bad(format!(
                "train fraction {} and validation fraction {} must be in (0, 1) with a sum < 1",
                cfg.train_fraction, cfg.validation_fraction
            ));
        }
        let time = |e: pulse_core::jiff::Error| MlError::Invalid(e.to_string());
        let end = last
            .checked_add(SignedDuration::from_secs(bar_seconds))
            .map_err(time)?;
        let span = (end.as_second() - first.as_second()) as f64;
        let at = |f: f64| -> Result<Timestamp, MlError> {
            minute_floor(
                first
                    .checked_add(SignedDuration::from_secs((span * f) as i64))
                    .map_err(time)?,
            )
        };
        let b1 = match cfg.train_end {
            Some(t) => t,
            None => at(cfg.train_fraction)?,
        };
        let b2 = match cfg.validation_end {
            Some(t) => t,
            None => at(cfg.train_fraction + cfg.validation_fraction)?,
        };
        let gap = SignedDuration::from_mins(i64::from(cfg.embargo_minutes));
        let v0 = b1.checked_add(gap).map_err(time)?;
        let t0 = b2.checked_add(gap).map_err(time)?;
        if !(first < b1 && v0 < b2 && t0 < end) {
            return bad(format!(
                "the split leaves an empty period: data {first} .. {end}, training ends {b1}, \
                 validation {v0} .. {b2}, test from {t0} (embargo {} min)",
                cfg.embargo_minutes
            ));
        }
        Ok(TimeSplit {
            train: Period {
                start: first,
                end: b1,
            },
            validation: Period { start: v0, end: b2 },
            test: Period { start: t0, end },
            bar_seconds,
        })
    }

    /// The period of the row decided at the close of the bar starting at `ts` with `label`
    /// (`None`: purged, in an embargo gap, or unlabelled).
    pub fn part(&self, ts: Timestamp, label: Option<&BarrierLabel>) -> Option<Part> {
        let label = label?;
        let close = label.exit_ts.as_second().saturating_add(self.bar_seconds);
        let inside = |p: &Period| ts >= p.start && ts < p.end && close <= p.end.as_second();
        if inside(&self.train) {
            Some(Part::Train)
        } else if inside(&self.validation) {
            Some(Part::Validation)
        } else if inside(&self.test) {
            Some(Part::Test)
        } else {
            None
        }
    }
}
