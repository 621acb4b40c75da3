//! The manual-assets sheet: a Google Sheets CSV export (or any CSV) of what the broker does not
//! hold (deposits, funds, property, other brokers), checked as a whole.
//!
//! Columns (header row, any order, names case-insensitive, other columns ignored):
//! `asset` (name), `class` (e.g. `cash`, `bond`, `real estate`), `currency` (one of
//! [`CURRENCIES`]), `quantity` (units held, ≥ 0; may be empty when `value` is given), `price`
//! (per unit, in `currency`) or `value` (the holding's total, in `currency`) — at least one of
//! the two columns, and a row gives at least one; when both are given `value` must agree with
//! `quantity × price` within 1 % — `date` (the row's valuation date, `YYYY-MM-DD`, `/` or `.`
//! also accepted), and the optional `cost` (total cost basis of the holding, in `currency`).
//! Numbers may carry thousands separators (`1,234,567`). A sheet may keep several dated rows of
//! an asset: the pipeline takes the latest on or before its run date. Rows are numbered as a
//! spreadsheet shows them (the header is row 1); every error names the row and the column.

use crate::error::AppError;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

/// The currencies a sheet (and the pipeline) accepts: ISO codes whose KRW rate is read from the
/// stored daily series `<CODE>KRW=X` (Yahoo's spelling, e.g. `USDKRW=X`).
pub const CURRENCIES: [&str; 11] = [
    "KRW", "USD", "EUR", "JPY", "CNY", "HKD", "GBP", "CAD", "AUD", "CHF", "SGD",
];

/// One row of the manual-assets sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualAsset {
    /// Spreadsheet row number (header = 1).
    pub row: u64,
    /// Asset name.
    pub asset: String,
    /// Asset class.
    pub class: String,
    /// ISO currency code (one of [`CURRENCIES`]).
    pub currency: String,
    /// Units held, when given.
    pub quantity: Option<Decimal>,
    /// Price per unit in `currency`, when given.
    pub price: Option<Decimal>,
    /// The holding's value in `currency` (`quantity × price` when the price is given).
    pub value: Decimal,
    /// Total cost basis in `currency`, when given.
    pub cost: Option<Decimal>,
    /// Valuation date of the row.
    pub date: Date,
}

/// A checked currency code: upper-cased and one of [`CURRENCIES`].
pub fn currency_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    CURRENCIES.contains(&code.as_str()).then_some(code)
}

fn cell_error(row: u64, column: &str, reason: impl std::fmt::Display) -> AppError {
    AppError::Usage(format!("manual sheet row {row}, column {column}: {reason}"))
}

fn number(row: u64, column: &str, raw: &str) -> Result<Option<Decimal>, AppError> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if cleaned.is_empty() {
        return Ok(None);
    }
    let v = Decimal::from_str(&cleaned)
        .or_else(|_| Decimal::from_scientific(&cleaned))
        .map_err(|_| cell_error(row, column, format!("{:?} is not a number", raw.trim())))?;
    if v.is_sign_negative() {
        return Err(cell_error(row, column, format!("{v} is negative")));
    }
    Ok(Some(v))
}

fn date(row: u64, raw: &str) -> Result<Date, AppError> {
    let t = raw.trim().replace(['/', '.'], "-");
    if t.is_empty() {
        return Err(cell_error(row, "date", "is empty (expected YYYY-MM-DD)"));
    }
    Date::from_str(&t).map_err(|_| {
        cell_error(
            row,
            "date",
            format!("{:?} is not a date (expected YYYY-MM-DD)", raw.trim()),
        )
    })
}

/// Parses and checks a whole sheet (CSV text); every row or none. Errors are
/// [`AppError::Usage`] naming the row and the column.
pub fn parse_sheet(text: &str) -> Result<Vec<ManualAsset>, AppError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(AppError::Usage(format!("manual sheet row 1: {e}"))),
        None => {
            return Err(AppError::Usage(
                "manual sheet: empty (no header row)".into(),
            ));
        }
    };
    let mut columns: BTreeMap<String, usize> = BTreeMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        if !name.is_empty() {
            columns.entry(name).or_insert(i);
        }
    }
    for required in ["asset", "class", "currency", "quantity", "date"] {
        if !columns.contains_key(required) {
            return Err(cell_error(
                1,
                required,
                "missing from the header (columns: asset, class, currency, quantity, price or value, date, optional cost)",
            ));
        }
    }
    if !columns.contains_key("price") && !columns.contains_key("value") {
        return Err(cell_error(
            1,
            "price",
            "missing from the header: give a price or a value column",
        ));
    }
    let mut out: Vec<ManualAsset> = Vec::new();
    let mut seen: BTreeMap<(String, Date), u64> = BTreeMap::new();
    for (i, record) in records.enumerate() {
        let row = i as u64 + 2;
        let record = record.map_err(|e| AppError::Usage(format!("manual sheet row {row}: {e}")))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell =
            |name: &str| -> &str { columns.get(name).and_then(|&i| record.get(i)).unwrap_or("") };
        let asset = cell("asset").trim().to_string();
        if asset.is_empty() {
            return Err(cell_error(row, "asset", "is empty"));
        }
        let class = cell("class").trim().to_string();
        if class.is_empty() {
            return Err(cell_error(row, "class", "is empty"));
        }
        let currency = currency_code(cell("currency")).ok_or_else(|| {
            cell_error(
                row,
                "currency",
                format!(
                    "{:?} is not a supported currency (one of {})",
                    cell("currency").trim(),
                    CURRENCIES.join(", ")
                ),
            )
        })?;
        let quantity = number(row, "quantity", cell("quantity"))?;
        let price = number(row, "price", cell("price"))?;
        let given_value = number(row, "value", cell("value"))?;
        let cost = number(row, "cost", cell("cost"))?;
        let date = date(row, cell("date"))?;
        let value = match (price, given_value) {
            (Some(p), v) => {
                let q = quantity.ok_or_else(|| {
                    cell_error(row, "quantity", "is empty: a price needs a quantity")
                })?;
                let computed = q
                    .checked_mul(p)
                    .ok_or_else(|| cell_error(row, "price", "quantity × price is out of range"))?;
                if let Some(v) = v {
                    let tolerance = computed.abs() / Decimal::from(100);
                    if (v - computed).abs() > tolerance {
                        return Err(cell_error(
                            row,
                            "value",
                            format!("{v} disagrees with quantity × price = {computed}"),
                        ));
                    }
                }
                computed
            }
            (None, Some(v)) => v,
            (None, None) => {
                return Err(cell_error(
                    row,
                    "price",
                    "is empty, and so is value: give one",
                ));
            }
        };
        if let Some(first) = seen.insert((asset.clone(), date), row) {
            return Err(cell_error(
                row,
                "asset",
                format!("{asset:?} on {date} is already given by row {first}"),
            ));
        }
        out.push(ManualAsset {
            row,
            asset,
            class,
            currency,
            quantity,
            price,
            value,
            cost,
            date,
        });
    }
    Ok(out)
}

/// Per asset, the latest row dated on or before `date` (rows after it are ignored), by asset
/// name.
pub fn as_of(rows: &[ManualAsset], date: Date) -> Vec<ManualAsset> {
    let mut latest: BTreeMap<&str, &ManualAsset> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.date <= date) {
        if latest.get(r.asset.as_str()).is_none_or(|l| l.date < r.date) {
            latest.insert(&r.asset, r);
        }
    }
    latest.into_values().cloned().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn rows_and_errors() {
        let ok = "Asset,Class,Currency,Quantity,Price,Value,Date,Cost\n\
                  Deposit,cash,krw,,,\"5,000,000\",2026-01-02,\n\
                  VOO,etf,USD,2,500,,2026/01/02,900\n";
        let rows = parse_sheet(ok).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].value, Decimal::from(5_000_000));
        assert_eq!(rows[1].value, Decimal::from(1000));
        assert_eq!(rows[1].currency, "USD");
        let bad = "asset,class,currency,quantity,price,date\nA,cash,KRW,x,1,2026-01-02\n";
        let e = parse_sheet(bad).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("quantity"), "{e}");
    }
}
