//! Rebuilding an account from a trade history file (`--trades FILE.csv`).
//!
//! Format: a header `date,symbol,side,quantity,price,fee` (case-insensitive), one executed trade
//! per line, dates `YYYY-MM-DD` in non-decreasing order, `side` `buy` or `sell`, decimals for
//! quantity, price and fee. Cash starts at the given amount and moves by each trade exactly;
//! selling more than is held, or (without leverage) spending more cash than there is, is an
//! error naming the line.

use jiff::civil::Date;
use pulse_core::{BookingError, ClientOrderId, Fill, Portfolio, Side, Symbol};
use rust_decimal::Decimal;
use std::path::Path;
use std::str::FromStr;

/// Why a trade history could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A malformed line or header.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// File.
        path: String,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A trade that the account could not have made.
    #[error("{path}:{line}: impossible trade: {source}")]
    Impossible {
        /// File.
        path: String,
        /// 1-based line.
        line: u64,
        /// Why.
        source: BookingError,
    },
}

/// The account after the history, and the date of its last trade.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconstructed {
    /// Cash and positions after the last trade.
    pub portfolio: Portfolio,
    /// Date of the last trade (the backtest must start after it).
    pub last_date: Option<Date>,
    /// Number of trades replayed.
    pub trades: usize,
}

/// Largest quantity a history row may carry (10¹²): with [`MAX_PRICE`] a trade's notional stays
/// below 10²¹, so exact decimal cash (28 digits) cannot overflow over any realistic history.
pub const MAX_QUANTITY: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);
/// Largest price a history row may carry (10⁹ per share, account currency).
pub const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
/// Largest fee a history row may carry (10¹², account currency).
pub const MAX_FEE: Decimal = MAX_QUANTITY;

const HEADER: [&str; 6] = ["date", "symbol", "side", "quantity", "price", "fee"];

/// Replays the trades of `path` onto an account holding `initial_cash`.
pub fn reconstruct(
    path: &Path,
    initial_cash: Decimal,
    allow_negative_cash: bool,
) -> Result<Reconstructed, HistoryError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| HistoryError::Io {
        path: name.clone(),
        source,
    })?;
    reconstruct_str(&name, &text, initial_cash, allow_negative_cash)
}

/// [`reconstruct`] over the text of a file named `name`.
pub fn reconstruct_str(
    name: &str,
    text: &str,
    initial_cash: Decimal,
    allow_negative_cash: bool,
) -> Result<Reconstructed, HistoryError> {
    let malformed = |line: u64, message: String| HistoryError::Malformed {
        path: name.to_string(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header: Vec<String> = match lines.next() {
        Some((_, h)) => h
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .collect(),
        None => {
            return Err(malformed(
                1,
                format!("empty file: expected the header {}", HEADER.join(",")),
            ));
        }
    };
    if header != HEADER {
        return Err(malformed(
            1,
            format!(
                "header {:?}: expected {}",
                header.join(","),
                HEADER.join(",")
            ),
        ));
    }
    let mut portfolio = Portfolio::with_cash(initial_cash);
    let mut last_date: Option<Date> = None;
    let mut trades = 0;
    for (idx, raw) in lines {
        let line = idx as u64 + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = raw.split(',').map(str::trim).collect();
        if cells.len() != HEADER.len() {
            return Err(malformed(
                line,
                format!("{} fields, expected {}", cells.len(), HEADER.len()),
            ));
        }
        let date: Date = cells[0]
            .parse()
            .map_err(|_| malformed(line, format!("date {:?} is not YYYY-MM-DD", cells[0])))?;
        if last_date.is_some_and(|d| date < d) {
            return Err(malformed(
                line,
                format!("date {date} is before the previous trade's"),
            ));
        }
        let symbol =
            Symbol::try_new(cells[1]).map_err(|e| malformed(line, format!("symbol: {e}")))?;
        let side = match cells[2].to_ascii_lowercase().as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => {
                return Err(malformed(
                    line,
                    format!("side {other:?}: expected buy or sell"),
                ));
            }
        };
        let number = |field: &str, s: &str, max: Decimal| {
            let v = Decimal::from_str(s)
                .map_err(|_| malformed(line, format!("{field} {s:?} is not a decimal number")))?;
            if v.abs() > max {
                return Err(malformed(
                    line,
                    format!("{field} {s} is beyond the supported {max}"),
                ));
            }
            Ok(v)
        };
        let quantity = number("quantity", cells[3], MAX_QUANTITY)?;
        let price = number("price", cells[4], MAX_PRICE)?;
        let fee = number("fee", cells[5], MAX_FEE)?;
        let fill = Fill {
            exec_id: None,
            client_id: ClientOrderId(format!("history-{line}")),
            symbol,
            side,
            quantity,
            price,
            fee,
            ts: date
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|e| malformed(line, e.to_string()))?
                .timestamp(),
        };
        portfolio
            .apply_fill(&fill, allow_negative_cash)
            .map_err(|source| HistoryError::Impossible {
                path: name.to_string(),
                line,
                source,
            })?;
        last_date = Some(date);
        trades += 1;
    }
    Ok(Reconstructed {
        portfolio,
        last_date,
        trades,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn rebuilds_positions_and_cash_exactly() {
        let text = "date,symbol,side,quantity,price,fee\n2024-01-02,TSLA,buy,10,248.42,2.48\n2024-01-05,TSLL,buy,100,17.05,1.71\n2024-02-01,TSLA,sell,4,188.86,0.76\n";
        let r = reconstruct_str("t.csv", text, d("100000"), false).unwrap();
        assert_eq!(r.trades, 3);
        assert_eq!(
            r.portfolio.cash,
            d("100000") - d("2484.20") - d("2.48") - d("1705") - d("1.71") + d("755.44")
                - d("0.76")
        );
        assert_eq!(
            r.portfolio.quantity(&Symbol::try_new("TSLA").unwrap()),
            d("6")
        );
        assert_eq!(r.last_date, Some("2024-02-01".parse().unwrap()));
    }

    #[test]
    fn impossible_and_malformed_histories_name_the_line() {
        let oversell = "date,symbol,side,quantity,price,fee\n2024-01-02,TSLA,buy,1,100,0\n2024-01-03,TSLA,sell,2,100,0\n";
        let e = reconstruct_str("h.csv", oversell, d("1000"), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("h.csv:3:") && e.contains("cannot sell 2 TSLA"),
            "{e}"
        );
        let broke = "date,symbol,side,quantity,price,fee\n2024-01-02,TSLA,buy,100,100,0\n";
        let e = reconstruct_str("h.csv", broke, d("1000"), false)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("h.csv:2:"), "{e}");
        let bad = "date,symbol,side,quantity,price,fee\n2024-01-02,TSLA,hold,1,100,0\n";
        assert!(
            reconstruct_str("h.csv", bad, d("1000"), false)
                .unwrap_err()
                .to_string()
                .contains("h.csv:2: side")
        );
        let header = "when,what\n";
        assert!(
            reconstruct_str("h.csv", header, d("1000"), false)
                .unwrap_err()
                .to_string()
                .starts_with("h.csv:1:")
        );
        let order = "date,symbol,side,quantity,price,fee\n2024-01-03,TSLA,buy,1,1,0\n2024-01-02,TSLA,buy,1,1,0\n";
        assert!(
            reconstruct_str("h.csv", order, d("1000"), false)
                .unwrap_err()
                .to_string()
                .starts_with("h.csv:3:")
        );
    }

    /// Issue #12: a row with a quantity near `Decimal::MAX` overflowed the cash arithmetic
    /// (a panic); amounts beyond the documented bounds are refused naming line and field.
    #[test]
    fn amounts_beyond_the_bounds_are_refused_naming_line_and_field() {
        for (row, field) in [
            (
                "2024-01-02,TSLA,buy,79228162514264337593543950335,250,0",
                "quantity",
            ),
            ("2024-01-02,TSLA,buy,1,1000000001,0", "price"),
            ("2024-01-02,TSLA,buy,1,250,-1000000000001", "fee"),
        ] {
            let text = format!("date,symbol,side,quantity,price,fee\n{row}\n");
            let err = reconstruct_str("h.csv", &text, Decimal::from(1_000), false)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("h.csv:2:") && err.contains(field), "{err}");
        }
        assert_eq!(MAX_QUANTITY, Decimal::from(1_000_000_000_000u64));
        assert_eq!(MAX_PRICE, Decimal::from(1_000_000_000u64));
    }
}
