//! Corporate actions: cash dividends and splits.

use crate::symbol::Symbol;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What happened to a security on its ex-date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CorporateActionKind {
    /// A cash dividend or distribution, in the instrument's currency per share.
    Dividend {
        /// Cash paid per share held before the ex-date.
        cash_per_share: Decimal,
    },
    /// A share split: `ratio` new shares for each old share (5 for a 5:1 split; 0.1 for 1:10).
    Split {
        /// New shares per old share.
        ratio: Decimal,
    },
}

/// A dividend or split of one symbol on one ex-date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorporateAction {
    /// The security concerned.
    pub symbol: Symbol,
    /// Ex-date (exchange-local trading date).
    pub ex_date: Date,
    /// Dividend or split.
    pub kind: CorporateActionKind,
}

impl CorporateAction {
    /// The stored kind name: `dividend` or `split`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            CorporateActionKind::Dividend { .. } => "dividend",
            CorporateActionKind::Split { .. } => "split",
        }
    }

    /// The amount: cash per share for a dividend, new-per-old ratio for a split.
    pub fn value(&self) -> Decimal {
        match self.kind {
            CorporateActionKind::Dividend { cash_per_share } => cash_per_share,
            CorporateActionKind::Split { ratio } => ratio,
        }
    }
}
