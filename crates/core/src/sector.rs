//! Sector classification of instruments, and the grouping key the risk layer limits exposure by.
//!
//! Stocks carry their GICS sector (and sub-industry, and market capitalization where known);
//! ETFs and crypto carry an asset-class label instead (`ETF: US Treasuries`, `Crypto`). A symbol
//! without a classification is its own group (its key is the symbol itself) and is reported by
//! [`SectorMap::unclassified`], so that an unknown name is never silently pooled with others.

use crate::symbol::Symbol;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What is known about the sector of one symbol, as imported (`pulse data import-sectors`) and
/// stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectorInfo {
    /// The instrument.
    pub symbol: Symbol,
    /// The grouping label: a GICS sector (`Information Technology`) for a stock, an asset-class
    /// label (`ETF: US equity broad`, `Crypto`) for anything else. Never empty.
    pub sector: String,
    /// Finer classification where known: the GICS sub-industry of a stock (`Semiconductors`), a
    /// short description of what an ETF holds. `None` when unknown (never an empty string).
    pub industry: Option<String>,
    /// Market capitalization in US dollars (not thousands, not millions), as of the date the
    /// `source` names; `None` when unknown or not meaningful (ETFs, crypto). Finite and > 0.
    pub market_cap: Option<f64>,
    /// Where the classification comes from (a file name and vintage), never empty.
    pub source: String,
}

/// Why a [`SectorInfo`] cannot be stored: the field at fault and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectorProblem {
    /// The field, spelled as the CSV column (`sector`, `market_cap`…).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for SectorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for SectorProblem {}

impl SectorInfo {
    /// Checks the rules every stored row keeps: a sector and a source that are not blank, an
    /// industry that is `None` rather than blank, and a market cap that is a finite, positive
    /// number of dollars.
    pub fn validate(&self) -> Result<(), SectorProblem> {
        let problem = |field, reason: &str| {
            Err(SectorProblem {
                field,
                reason: reason.to_string(),
            })
        };
        if self.sector.trim().is_empty() {
            return problem("sector", "is empty (every symbol needs a sector)");
        }
        if self
            .industry
            .as_deref()
            .is_some_and(|i| i.trim().is_empty())
        {
            return problem("industry", "is blank (leave it out when unknown)");
        }
        if let Some(cap) = self.market_cap
            && !(cap.is_finite() && cap > 0.0)
        {
            return Err(SectorProblem {
                field: "market_cap",
                reason: format!("{cap} is not a positive number of US dollars"),
            });
        }
        if self.source.trim().is_empty() {
            return problem("source", "is empty");
        }
        Ok(())
    }
}

/// Sectors by symbol, and the grouping rule of the risk layer: a classified symbol belongs to its
/// sector, an unclassified one is a group of its own (keyed by the symbol itself).
///
/// Sector labels and symbols share one key space. The shipped labels cannot collide with a
/// symbol in practice (they hold spaces or colons, which symbols cannot, or are words such as
/// `Energy` that no listed ticker spells in mixed case), but a user file could make them collide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectorMap {
    sectors: BTreeMap<Symbol, String>,
}

impl SectorMap {
    /// The map of `rows` (a later row for the same symbol replaces an earlier one).
    pub fn new<'a>(rows: impl IntoIterator<Item = &'a SectorInfo>) -> SectorMap {
        SectorMap {
            sectors: rows
                .into_iter()
                .map(|r| (r.symbol.clone(), r.sector.clone()))
                .collect(),
        }
    }

    /// The sector of `symbol`, if it is classified.
    pub fn sector(&self, symbol: &Symbol) -> Option<&str> {
        self.sectors.get(symbol).map(String::as_str)
    }

    /// The grouping key of `symbol`: its sector, or the symbol itself when it has none.
    pub fn group<'a>(&'a self, symbol: &'a Symbol) -> &'a str {
        self.sector(symbol).unwrap_or(symbol.as_str())
    }

    /// The symbols of `symbols` that have no sector (each is its own group), sorted, each once:
    /// what a report should name.
    pub fn unclassified<'a>(&self, symbols: impl IntoIterator<Item = &'a Symbol>) -> Vec<Symbol> {
        let mut out: Vec<Symbol> = symbols
            .into_iter()
            .filter(|s| !self.sectors.contains_key(*s))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// `symbols` grouped by [`SectorMap::group`]: key → its symbols (sorted, each once).
    pub fn groups<'a>(
        &self,
        symbols: impl IntoIterator<Item = &'a Symbol>,
    ) -> BTreeMap<String, Vec<Symbol>> {
        let mut out: BTreeMap<String, Vec<Symbol>> = BTreeMap::new();
        for s in symbols {
            let members = out.entry(self.group(s).to_string()).or_default();
            if !members.contains(s) {
                members.push(s.clone());
            }
        }
        for members in out.values_mut() {
            members.sort();
        }
        out
    }

    /// Number of classified symbols.
    pub fn len(&self) -> usize {
        self.sectors.len()
    }

    /// True when no symbol is classified.
    pub fn is_empty(&self) -> bool {
        self.sectors.is_empty()
    }
}

impl FromIterator<SectorInfo> for SectorMap {
    fn from_iter<I: IntoIterator<Item = SectorInfo>>(rows: I) -> SectorMap {
        SectorMap {
            sectors: rows.into_iter().map(|r| (r.symbol, r.sector)).collect(),
        }
    }
}

/// The risk layer's grouping key of `symbol` (see [`SectorMap::group`]): its sector, or the
/// symbol itself when `map` does not classify it.
pub fn sector_of(symbol: &Symbol, map: &SectorMap) -> String {
    map.group(symbol).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::try_new(s).unwrap()
    }

    fn info(symbol: &str, sector: &str) -> SectorInfo {
        SectorInfo {
            symbol: sym(symbol),
            sector: sector.to_string(),
            industry: None,
            market_cap: None,
            source: "test".to_string(),
        }
    }

    #[test]
    fn a_symbol_without_a_sector_is_its_own_group_and_is_reported() {
        let map = SectorMap::new(&[
            info("AAPL", "Information Technology"),
            info("NVDA", "Information Technology"),
            info("TLT", "ETF: US Treasuries"),
        ]);
        assert_eq!(map.group(&sym("AAPL")), "Information Technology");
        assert_eq!(sector_of(&sym("TLT"), &map), "ETF: US Treasuries");
        assert_eq!(map.group(&sym("XYZ")), "XYZ");
        assert_eq!(map.sector(&sym("XYZ")), None);
        let held = [sym("XYZ"), sym("AAPL"), sym("ABC"), sym("XYZ")];
        assert_eq!(map.unclassified(&held), vec![sym("ABC"), sym("XYZ")]);
        let groups = map.groups(&[sym("NVDA"), sym("AAPL"), sym("XYZ"), sym("AAPL")]);
        assert_eq!(
            groups["Information Technology"],
            vec![sym("AAPL"), sym("NVDA")]
        );
        assert_eq!(groups["XYZ"], vec![sym("XYZ")]);
        assert_eq!(groups.len(), 2);
        assert_eq!(map.len(), 3);
        assert!(SectorMap::default().is_empty());
    }

    #[test]
    fn a_later_row_replaces_an_earlier_one() {
        let map: SectorMap = [info("T", "Utilities"), info("T", "Communication Services")]
            .into_iter()
            .collect();
        assert_eq!(map.group(&sym("T")), "Communication Services");
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn validate_names_the_field_at_fault() {
        assert_eq!(info("A", "Energy").validate(), Ok(()));
        let field = |r: SectorInfo| r.validate().unwrap_err().field;
        assert_eq!(field(info("A", " ")), "sector");
        assert_eq!(
            field(SectorInfo {
                industry: Some(String::new()),
                ..info("A", "Energy")
            }),
            "industry"
        );
        for cap in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let r = SectorInfo {
                market_cap: Some(cap),
                ..info("A", "Energy")
            };
            assert_eq!(field(r), "market_cap", "{cap}");
        }
        assert_eq!(
            field(SectorInfo {
                source: String::new(),
                ..info("A", "Energy")
            }),
            "source"
        );
    }
}
