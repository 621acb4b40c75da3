//! The CSV layouts this crate reads, recognised from the header line alone.

use std::fmt;

/// A known CSV layout, detected from the exact header (case-insensitive, trimmed, BOM tolerated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `date,open,high,low,close,adj_close,volume,dividends` — daily OHLCV with dividends per share
    /// on the ex-date (empty field = not available).
    DailyOhlcv,
    /// `date,open,high,low,close` — daily OHLC without volume (e.g. the VIX).
    DailyOhlc,
    /// `date,adj_close` — adjusted closes only; read as close-only bars with `adj_close` set.
    AdjClose,
    /// `date,value` — an index or rate series; read as close-only bars without `adj_close`.
    Value,
    /// `ts,open,high,low,close,volume` — intraday bars, `ts` ISO-8601 UTC.
    Intraday,
    /// `Date,Open,High,Low,Close,Adj Close,Volume` — Yahoo's CSV download (`null` rows skipped).
    Yahoo,
    /// `date,symbol,ratio` — share splits (new shares per old share); no bars.
    Splits,
}

impl Layout {
    /// Every layout, in the order headers are listed in error messages.
    pub const ALL: [Layout; 7] = [
        Layout::DailyOhlcv,
        Layout::DailyOhlc,
        Layout::AdjClose,
        Layout::Value,
        Layout::Intraday,
        Layout::Yahoo,
        Layout::Splits,
    ];

    /// The header's column names, lower-case, in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Layout::DailyOhlcv => &[
                "date",
                "open",
                "high",
                "low",
                "close",
                "adj_close",
                "volume",
                "dividends",
            ],
            Layout::DailyOhlc => &["date", "open", "high", "low", "close"],
            Layout::AdjClose => &["date", "adj_close"],
            Layout::Value => &["date", "value"],
            Layout::Intraday => &["ts", "open", "high", "low", "close", "volume"],
            Layout::Yahoo => &[
                "date",
                "open",
                "high",
                "low",
                "close",
                "adj close",
                "volume",
            ],
            Layout::Splits => &["date", "symbol", "ratio"],
        }
    }

    /// Short name used in messages and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Layout::DailyOhlcv => "daily-ohlcv",
            Layout::DailyOhlc => "daily-ohlc",
            Layout::AdjClose => "daily-adjclose",
            Layout::Value => "daily-value",
            Layout::Intraday => "intraday",
            Layout::Yahoo => "yahoo",
            Layout::Splits => "splits",
        }
    }

    /// True for the intraday layout (`ts` column); all others are daily (`date` column).
    pub fn is_intraday(self) -> bool {
        self == Layout::Intraday
    }

    /// True when the layout yields bars (all but [`Layout::Splits`]).
    pub fn has_bars(self) -> bool {
        self != Layout::Splits
    }

    /// The layout whose header is exactly `cells` (already trimmed and lower-cased).
    pub fn from_header(cells: &[String]) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| {
            let cols = l.columns();
            cols.len() == cells.len() && cols.iter().zip(cells).all(|(a, b)| *a == b.as_str())
        })
    }

    /// Why `cells` is not a known header: the 1-based column where it first departs from the
    /// closest layout (longest common prefix), and a description of the difference.
    pub fn explain_mismatch(cells: &[String]) -> (usize, String) {
        let prefix = |l: &Layout| {
            l.columns()
                .iter()
                .zip(cells)
                .take_while(|(a, b)| **a == b.as_str())
                .count()
        };
        let mut best = Layout::DailyOhlcv;
        let mut best_len = 0;
        for l in Layout::ALL {
            let p = prefix(&l);
            if p > best_len {
                best = l;
                best_len = p;
            }
        }
        let cols = best.columns();
        let column = best_len + 1;
        let detail = if best_len == 0 && cells.first().is_some_and(|c| c != "date" && c != "ts") {
            format!(
                "column 1 is `{}`, expected `date` or `ts`",
                cells.first().map(String::as_str).unwrap_or("")
            )
        } else if best_len >= cells.len() {
            format!(
                "missing column {column} `{}` of the {} layout",
                cols.get(best_len).copied().unwrap_or(""),
                best.name()
            )
        } else if best_len >= cols.len() {
            format!(
                "unexpected extra column {column} `{}` after the {} layout",
                cells[best_len],
                best.name()
            )
        } else {
            format!(
                "column {column} is `{}`, expected `{}` ({} layout)",
                cells[best_len],
                cols[best_len],
                best.name()
            )
        };
        (column, detail)
    }

    /// All accepted headers, for error messages: `date,open,… | date,adj_close | …`.
    pub fn expected_headers() -> String {
        Layout::ALL
            .iter()
            .map(|l| {
                if *l == Layout::Yahoo {
                    "Date,Open,High,Low,Close,Adj Close,Volume".to_string()
                } else {
                    l.columns().join(",")
                }
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
