//! Data-quality findings: detected and reported, never "fixed".

use crate::symbol::Symbol;
use crate::timeframe::Timeframe;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of problems the data-quality check reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Trading sessions (per the exchange calendar) with no bar.
    Gap,
    /// Two bars with the same timestamp (only possible in files; the store is keyed by time).
    Duplicate,
    /// Bars out of time order (files only).
    OutOfOrder,
    /// A price that is zero or negative.
    NonPositivePrice,
    /// A price or volume that is NaN or infinite.
    NonFinite,
    /// `high < max(open, close)`.
    HighBelowOpenClose,
    /// `low > min(open, close)`.
    LowAboveOpenClose,
    /// Volume below zero.
    NegativeVolume,
    /// The adjusted close moved differently from the close with no corporate action that day.
    AdjCloseJumpWithoutAction,
    /// A dividend on a day the adjusted close did not move relative to the close (e.g. a split
    /// ratio stored in a dividend column).
    DividendWithoutAdjustment,
    /// A bar on a day or at a time the exchange was closed.
    OutsideSession,
    /// A split-sized move between consecutive bars (close to close, or previous close to open)
    /// with no matching split among the corporate actions: an unadjusted split, or bars of two
    /// different adjustments mixed in one series.
    PriceJump,
}

impl FindingKind {
    /// Stored snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Gap => "gap",
            FindingKind::Duplicate => "duplicate",
            FindingKind::OutOfOrder => "out_of_order",
            FindingKind::NonPositivePrice => "non_positive_price",
            FindingKind::NonFinite => "non_finite",
            FindingKind::HighBelowOpenClose => "high_below_open_close",
            FindingKind::LowAboveOpenClose => "low_above_open_close",
            FindingKind::NegativeVolume => "negative_volume",
            FindingKind::AdjCloseJumpWithoutAction => "adj_close_jump_without_action",
            FindingKind::DividendWithoutAdjustment => "dividend_without_adjustment",
            FindingKind::OutsideSession => "outside_session",
            FindingKind::PriceJump => "price_jump",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<FindingKind> {
        ALL_KINDS.iter().copied().find(|k| k.as_str() == s)
    }
}

/// Every finding kind, for parsing and reporting.
pub const ALL_KINDS: [FindingKind; 12] = [
    FindingKind::Gap,
    FindingKind::Duplicate,
    FindingKind::OutOfOrder,
    FindingKind::NonPositivePrice,
    FindingKind::NonFinite,
    FindingKind::HighBelowOpenClose,
    FindingKind::LowAboveOpenClose,
    FindingKind::NegativeVolume,
    FindingKind::AdjCloseJumpWithoutAction,
    FindingKind::DividendWithoutAdjustment,
    FindingKind::OutsideSession,
    FindingKind::PriceJump,
];

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One data-quality problem in one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Series symbol.
    pub symbol: Symbol,
    /// Series timeframe.
    pub timeframe: Timeframe,
    /// The bar concerned (for a gap: the first missing session's date at 00:00 UTC).
    pub ts: Timestamp,
    /// What is wrong.
    pub kind: FindingKind,
    /// Human-readable detail with the values involved.
    pub detail: String,
}
