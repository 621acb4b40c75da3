//! Sector data (`pulse data import-sectors FILE`, `pulse data sectors`): a sectors CSV file
//! parsed and checked as a whole, stored in one transaction, and listed with the tradable stored
//! symbols that have no sector (each counts as its own sector in the risk layer).

use crate::error::AppError;
use pulse_core::ports::Store;
use pulse_core::sector::{SectorInfo, SectorMap};
use pulse_core::{Instrument, Symbol};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// The columns a sectors file may have, in the canonical order of the header.
pub const SECTOR_COLUMNS: [&str; 5] = ["symbol", "sector", "industry", "market_cap", "source"];

/// Problems listed in one error message before the rest are only counted.
const MAX_PROBLEMS: usize = 20;

/// Parses a sectors CSV file. `name` (the path as the user gave it) names the file in errors and
/// is the `source` of rows that do not give one.
///
/// Format: a header, then one row per symbol.
///
/// ```text
/// symbol,sector,industry,market_cap,source
/// AAPL,Information Technology,"Technology Hardware, Storage & Peripherals",3729823629312.0,sp500 GICS 2026-08-08
/// TLT,ETF: US Treasuries,20+ year,,
/// ```
///
/// - `symbol` and `sector` are required columns with a value on every row; `industry`,
///   `market_cap` (US dollars, a plain number such as `3729823629312.0` or `3.7e12`, finite and
///   greater than 0) and `source` are optional columns, and their cells may be empty (unknown;
///   an empty `source` is the file's name). Columns may come in any order; names are matched
///   without regard to case; any other column is an error.
/// - Fields are comma-separated, quoted with `"` when they hold a comma; surrounding spaces are
///   trimmed; blank lines are skipped; a UTF-8 byte-order mark is ignored.
/// - Each symbol appears once.
///
/// The whole file is checked before anything is returned: every problem found (up to 20 are
/// listed) names the file, the line and the column, e.g.
/// `sectors.csv line 7, column market_cap: "abc" is not a number`, and a symbol given twice names
/// both lines. Any problem fails the whole file ([`AppError::Data`]).
pub fn parse_sectors(name: &str, text: &str) -> Result<Vec<SectorInfo>, AppError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| AppError::Data(format!("{name} line 1: {e}")))?
        .clone();
    if header.iter().all(str::is_empty) {
        return Err(AppError::Data(format!(
            "{name}: empty file; expected a header `{}`",
            SECTOR_COLUMNS.join(",")
        )));
    }
    let columns = Columns::of(name, &header)?;

    let mut problems = Problems::new(name);
    let mut rows = Vec::new();
    let mut first_line: HashMap<Symbol, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.row(line, e.to_string());
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            problems.row(
                line,
                format!(
                    "{} fields, but the header has {}",
                    record.len(),
                    header.len()
                ),
            );
            continue;
        }
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        // A repeated symbol is found even when one of its rows has a bad cell.
        if let Ok(symbol) = Symbol::try_new(cell(Some(columns.symbol))) {
            match first_line.get(&symbol) {
                Some(first) => {
                    problems.row(line, format!("symbol {symbol} is also on line {first}"))
                }
                None => {
                    first_line.insert(symbol, line);
                }
            }
        }
        if let Some(row) = columns.row(line, &cell, name, &mut problems) {
            rows.push(row);
        }
    }
    problems.finish()?;
    if rows.is_empty() {
        return Err(AppError::Data(format!(
            "{name}: no rows after the header; nothing was imported"
        )));
    }
    Ok(rows)
}

/// Reads and parses a sectors file (see [`parse_sectors`]), after checking that it is a regular
/// file. Errors name the path as given.
pub fn read_sectors_file(path: &Path) -> Result<Vec<SectorInfo>, AppError> {
    let text = super::read_text_file(path)?;
    parse_sectors(&path.display().to_string(), &text)
}

/// Where each known column is in the file's header.
struct Columns {
    symbol: usize,
    sector: usize,
    industry: Option<usize>,
    market_cap: Option<usize>,
    source: Option<usize>,
}

impl Columns {
    /// The positions of the columns of `header`; a missing required column, an unknown or a
    /// repeated one is an error naming it.
    fn of(name: &str, header: &csv::StringRecord) -> Result<Columns, AppError> {
        let mut found: [Option<usize>; 5] = [None; 5];
        for (i, raw) in header.iter().enumerate() {
            let column = raw.to_ascii_lowercase();
            let Some(k) = SECTOR_COLUMNS.iter().position(|c| *c == column) else {
                return Err(AppError::Data(format!(
                    "{name} line 1: unknown column {raw:?} (expected {})",
                    SECTOR_COLUMNS.join(", ")
                )));
            };
            if found[k].is_some() {
                return Err(AppError::Data(format!(
                    "{name} line 1: column {} appears twice",
                    SECTOR_COLUMNS[k]
                )));
            }
            found[k] = Some(i);
        }
        let required = |k: usize| {
            found[k].ok_or_else(|| {
                AppError::Data(format!(
                    "{name} line 1: no {} column (the header needs at least symbol,sector)",
                    SECTOR_COLUMNS[k]
                ))
            })
        };
        Ok(Columns {
            symbol: required(0)?,
            sector: required(1)?,
            industry: found[2],
            market_cap: found[3],
            source: found[4],
        })
    }

    /// The row at `line`, or `None` after recording its problems.
    fn row<'r>(
        &self,
        line: u64,
        cell: &dyn Fn(Option<usize>) -> &'r str,
        name: &str,
        problems: &mut Problems<'_>,
    ) -> Option<SectorInfo> {
        let before = problems.count;
        let raw_symbol = cell(Some(self.symbol));
        let symbol = if raw_symbol.is_empty() {
            problems.cell(line, "symbol", "is empty".to_string());
            None
        } else {
            match Symbol::try_new(raw_symbol) {
                Ok(s) => Some(s),
                Err(e) => {
                    problems.cell(line, "symbol", e.to_string());
                    None
                }
            }
        };
        let sector = cell(Some(self.sector));
        if sector.is_empty() {
            problems.cell(
                line,
                "sector",
                "is empty (every symbol needs a sector)".to_string(),
            );
        }
        let raw_cap = cell(self.market_cap);
        let market_cap = if raw_cap.is_empty() {
            None
        } else {
            match raw_cap.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => Some(v),
                Ok(_) => {
                    problems.cell(
                        line,
                        "market_cap",
                        format!("{raw_cap:?} is not a positive number of US dollars"),
                    );
                    None
                }
                Err(_) => {
                    problems.cell(line, "market_cap", format!("{raw_cap:?} is not a number"));
                    None
                }
            }
        };
        if problems.count > before {
            return None;
        }
        let industry = cell(self.industry);
        let source = cell(self.source);
        Some(SectorInfo {
            symbol: symbol?,
            sector: sector.to_string(),
            industry: (!industry.is_empty()).then(|| industry.to_string()),
            market_cap,
            source: if source.is_empty() { name } else { source }.to_string(),
        })
    }
}

/// The problems found in one file, turned into one error at the end.
struct Problems<'a> {
    name: &'a str,
    listed: Vec<String>,
    count: usize,
}

impl<'a> Problems<'a> {
    fn new(name: &'a str) -> Problems<'a> {
        Problems {
            name,
            listed: Vec::new(),
            count: 0,
        }
    }

    fn push(&mut self, message: String) {
        self.count += 1;
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(message);
        }
    }

    /// A problem of one cell.
    fn cell(&mut self, line: u64, column: &str, reason: String) {
        let name = self.name;
        self.push(format!("{name} line {line}, column {column}: {reason}"));
    }

    /// A problem of a whole row.
    fn row(&mut self, line: u64, reason: String) {
        let name = self.name;
        self.push(format!("{name} line {line}: {reason}"));
    }

    /// `Ok` when nothing was found; otherwise one error listing the problems.
    fn finish(self) -> Result<(), AppError> {
        match self.count {
            0 => Ok(()),
            1 => Err(AppError::Data(format!(
                "{}; nothing was imported",
                self.listed.join("")
            ))),
            n => {
                let mut message = self.listed.join("\n");
                if n > self.listed.len() {
                    message.push_str(&format!("\n… and {} more", n - self.listed.len()));
                }
                message.push_str(&format!(
                    "\n{n} problems in {}; nothing was imported",
                    self.name
                ));
                Err(AppError::Data(message))
            }
        }
    }
}

/// What an import of sector rows did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SectorImportOutcome {
    /// Rows imported (every row of the file).
    pub rows: usize,
    /// Rows that were new or changed a stored classification.
    pub written: usize,
    /// Rows already stored identically.
    pub unchanged: usize,
}

/// Stores sector rows (upserted by symbol) in one transaction: all of them or, on any error,
/// none.
pub async fn import_sectors<S: Store>(
    store: &S,
    rows: &[SectorInfo],
) -> Result<SectorImportOutcome, AppError> {
    let written = store.put_sectors(rows).await.map_err(AppError::port)?;
    Ok(SectorImportOutcome {
        rows: rows.len(),
        written,
        unchanged: rows.len().saturating_sub(written),
    })
}

/// The stored sectors, and who has none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectorsOutcome {
    /// Every stored classification, by symbol.
    pub sectors: Vec<SectorInfo>,
    /// Tradable instruments in the store (stocks, ETFs, crypto; not indices, rates or sentiment
    /// scores) without a classification: each counts as its own sector. Sorted.
    pub unclassified: Vec<Symbol>,
}

/// Every stored sector classification, with the tradable stored instruments that have none.
pub async fn sectors<S: Store>(store: &S) -> Result<SectorsOutcome, AppError> {
    let sectors = store.sectors().await.map_err(AppError::port)?;
    let instruments = store.instruments().await.map_err(AppError::port)?;
    let map = SectorMap::new(&sectors);
    let unclassified = map.unclassified(
        instruments
            .iter()
            .filter(|i| i.asset_class.is_tradable())
            .map(|i: &Instrument| &i.symbol),
    );
    Ok(SectorsOutcome {
        sectors,
        unclassified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_sectors("sectors.csv", text).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_column_in_any_order_and_defaults_the_source() {
        let text = "\u{feff}Sector, symbol ,market_cap,industry,source\n\
                    Information Technology,AAPL,3729823629312.0,\"Technology Hardware, Storage & Peripherals\",gics\n\
                    \n\
                    ETF: US Treasuries,TLT,,20+ year,\n";
        let rows = parse_sectors("data/s.csv", text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].symbol.as_str(), "AAPL");
        assert_eq!(rows[0].sector, "Information Technology");
        assert_eq!(
            rows[0].industry.as_deref(),
            Some("Technology Hardware, Storage & Peripherals")
        );
        assert_eq!(rows[0].market_cap, Some(3_729_823_629_312.0));
        assert_eq!(rows[0].source, "gics");
        assert_eq!(rows[1].market_cap, None);
        assert_eq!(rows[1].source, "data/s.csv");
        let minimal = parse_sectors("m.csv", "symbol,sector\nBTCUSDT,Crypto\n").unwrap();
        assert_eq!(minimal[0].industry, None);
        assert_eq!(minimal[0].source, "m.csv");
    }

    #[test]
    fn a_bad_cell_names_the_file_line_and_column() {
        let text = "symbol,sector,industry,market_cap,source\n\
                    AAPL,Information Technology,,1e12,\n\
                    TSLA,Consumer Discretionary,,abc,\n";
        assert_eq!(
            err(text),
            "sectors.csv line 3, column market_cap: \"abc\" is not a number; nothing was imported"
        );
        assert!(err("symbol,sector,market_cap\nA,Energy,-5\n").contains(
            "sectors.csv line 2, column market_cap: \"-5\" is not a positive number of US dollars"
        ));
        assert!(err("symbol,sector,market_cap\nA,Energy,NaN\n").contains("column market_cap"));
        assert!(
            err("symbol,sector\nBAD SYMBOL,Energy\n")
                .starts_with("sectors.csv line 2, column symbol: invalid symbol")
        );
        assert!(
            err("symbol,sector\n,Energy\n").contains("sectors.csv line 2, column symbol: is empty")
        );
        assert!(err("symbol,sector\nA,\n").contains("sectors.csv line 2, column sector: is empty"));
    }

    #[test]
    fn every_problem_is_listed_and_a_repeated_symbol_names_both_lines() {
        let text = "symbol,sector,market_cap\n\
                    A,Energy,1\n\
                    B,Energy,x\n\
                    A,Utilities,2\n\
                    C,Energy\n\
                    B,Energy,3\n";
        let e = err(text);
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(
            lines,
            [
                "sectors.csv line 3, column market_cap: \"x\" is not a number",
                "sectors.csv line 4: symbol A is also on line 2",
                "sectors.csv line 5: 2 fields, but the header has 3",
                "sectors.csv line 6: symbol B is also on line 3",
                "4 problems in sectors.csv; nothing was imported",
            ]
        );
        let many: String = std::iter::once("symbol,sector\n".to_string())
            .chain((0..25).map(|i| format!("S{i},\n")))
            .collect();
        let e = err(&many);
        assert!(e.contains("… and 5 more"), "{e}");
        assert!(e.ends_with("25 problems in sectors.csv; nothing was imported"));
    }

    #[test]
    fn a_bad_header_is_refused() {
        assert!(err("").contains("empty file"));
        assert!(err("symbol,sector\n").contains("no rows"));
        assert_eq!(
            err("symbol,industry\nA,x\n"),
            "sectors.csv line 1: no sector column (the header needs at least symbol,sector)"
        );
        assert!(err("symbol,sector,mkt_cap\nA,Energy,1\n").contains("unknown column \"mkt_cap\""));
        assert!(err("symbol,sector,Sector\nA,Energy,x\n").contains("column sector appears twice"));
    }
}
