//! Ticker symbols.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A validated ticker symbol such as `TSLA`, `000660.KS`, `^VIX` or `BTCUSDT`.
///
/// 1–32 characters from `A-Z a-z 0-9 . ^ = _ -`; case is preserved as given. Cloning is cheap
/// (a shared, immutable string), so symbols can key per-bar maps on hot paths.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(Arc<str>);

impl Symbol {
    /// Validates and wraps a symbol string.
    pub fn try_new(s: impl Into<String>) -> Result<Self, CoreError> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".^=_-".contains(&b));
        if ok {
            Ok(Symbol(Arc::from(s)))
        } else {
            Err(CoreError::InvalidSymbol(s))
        }
    }

    /// The symbol as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Symbol {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::try_new(s)
    }
}

impl TryFrom<String> for Symbol {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Symbol::try_new(s)
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> String {
        s.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_symbols() {
        for s in [
            "TSLA",
            "000660.KS",
            "^VIX",
            "BTCUSDT",
            "KRW=X",
            "FEAR_GREED",
            "BRK-B",
        ] {
            assert_eq!(Symbol::try_new(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn rejects_bad_symbols() {
        for s in ["", "TS LA", "a/b", "x".repeat(33).as_str(), "TSLA\n"] {
            assert!(Symbol::try_new(s).is_err(), "{s:?} should be rejected");
        }
    }
}
