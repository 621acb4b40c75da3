//! Reading the model's data files: FRED-MD (monthly macro series), the VIX daily history
//! (averaged per month) and the NBER business-cycle dates. Every parse error names the file, the
//! line and, when one is at fault, the column.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CycleError;

/// Fewest daily VIX closes a month needs for its mean to be used (a partly observed month, such
/// as the last month of the file, is missing instead).
pub const MIN_VIX_DAYS: u32 = 10;

/// A calendar month, stored as `year · 12 + (month − 1)`; written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    /// The month `month` (1–12) of `year`; `None` when `month` is out of range.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        if !(1..=12).contains(&month) || !(0..=9999).contains(&year) {
            return None;
        }
        Some(Month(year * 12 + month as i32 - 1))
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// The month of the year, 1–12.
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    /// This month shifted by `n` months (negative: earlier).
    pub fn offset(self, n: i64) -> Month {
        Month((self.0 as i64 + n) as i32)
    }

    /// Months from `earlier` to `self` (negative when `earlier` is later).
    pub fn since(self, earlier: Month) -> i64 {
        self.0 as i64 - earlier.0 as i64
    }

    /// Parses `YYYY-MM`, or the month of a `YYYY-MM-DD` date when `allow_day`.
    pub fn parse(text: &str, allow_day: bool) -> Option<Month> {
        let b = text.as_bytes();
        let ok_len = b.len() == 7 || (allow_day && b.len() == 10);
        if !ok_len || b[4] != b'-' {
            return None;
        }
        let year: i32 = text.get(0..4)?.parse().ok()?;
        let month: u32 = text.get(5..7)?.parse().ok()?;
        if b.len() == 10 {
            let day: u32 = text.get(8..10)?.parse().ok()?;
            if b[7] != b'-' || !(1..=31).contains(&day) {
                return None;
            }
            jiff::civil::Date::new(year as i16, month as i8, day as i8).ok()?;
        }
        Month::new(year, month)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl std::str::FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Month, String> {
        Month::parse(s, false).ok_or_else(|| format!("not a month (YYYY-MM): {s:?}"))
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn parse_error(
    file: &Path,
    line: u64,
    column: Option<(usize, &str)>,
    reason: String,
) -> CycleError {
    CycleError::Parse {
        file: file.to_path_buf(),
        line,
        column: column.map(|(n, name)| (n, name.to_string())),
        reason,
    }
}

fn open(path: &Path) -> Result<std::fs::File, CycleError> {
    std::fs::File::open(path).map_err(|source| CycleError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn csv_error(file: &Path, e: csv::Error, fallback_line: u64) -> CycleError {
    let line = e.position().map_or(fallback_line, |p| p.line());
    parse_error(file, line, None, e.to_string())
}

/// The rows of a CSV text with a header line (fields may vary in number), each with its 1-based
/// line; a CSV error names the file `source` and the line.
struct CsvRows<'a, R: Read> {
    rdr: csv::Reader<R>,
    source: &'a Path,
    header: csv::StringRecord,
    rec: csv::StringRecord,
    line: u64,
}

impl<'a, R: Read> CsvRows<'a, R> {
    /// Reads the header line of `reader`; `source` names it in errors.
    fn new(reader: R, source: &'a Path) -> Result<Self, CycleError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(reader);
        let header = rdr.headers().map_err(|e| csv_error(source, e, 1))?.clone();
        Ok(CsvRows {
            rdr,
            source,
            header,
            rec: csv::StringRecord::new(),
            line: 1,
        })
    }

    /// The header's fields.
    fn header(&self) -> &csv::StringRecord {
        &self.header
    }

    /// The next row and its line (from the reader's position), `None` at the end.
    fn next_row(&mut self) -> Result<Option<(&csv::StringRecord, u64)>, CycleError> {
        match self.rdr.read_record(&mut self.rec) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => return Err(csv_error(self.source, e, self.line + 1)),
        }
        self.line = self.rec.position().map_or(self.line + 1, |p| p.line());
        Ok(Some((&self.rec, self.line)))
    }
}

/// Monthly FRED-MD series in levels, one value per month (`None` = not published), from the
/// first to the last `period` of the file (consecutive months).
#[derive(Debug, Clone)]
pub struct FredMd {
    /// The file it was read from.
    pub source: PathBuf,
    /// The first month.
    pub first: Month,
    /// Number of months.
    pub len: usize,
    /// Series by name; each has `len` values.
    pub series: BTreeMap<String, Vec<Option<f64>>>,
}

impl FredMd {
    /// Reads a FRED-MD CSV file.
    pub fn read(path: &Path) -> Result<FredMd, CycleError> {
        FredMd::from_reader(open(path)?, path)
    }

    /// Parses FRED-MD CSV text from `reader`; `source` names it in errors. The header is
    /// `period` then series names; each row a `YYYY-MM` month, one after the other with no gap,
    /// and finite numbers or empty cells.
    pub fn from_reader<R: Read>(reader: R, source: &Path) -> Result<FredMd, CycleError> {
        let mut rows = CsvRows::new(reader, source)?;
        let header = rows.header();
        if header.get(0).map(str::trim) != Some("period") {
            return Err(parse_error(
                source,
                1,
                Some((1, header.get(0).unwrap_or(""))),
                "the first column must be `period`".into(),
            ));
        }
        let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
        for (i, name) in names.iter().enumerate().skip(1) {
            if name.is_empty() || names[..i].contains(name) {
                return Err(parse_error(
                    source,
                    1,
                    Some((i + 1, name)),
                    "empty or repeated series name".into(),
                ));
            }
        }
        let mut first: Option<Month> = None;
        let mut prev: Option<Month> = None;
        let mut columns: Vec<Vec<Option<f64>>> = vec![Vec::new(); names.len() - 1];
        while let Some((rec, line)) = rows.next_row()? {
            if rec.len() != names.len() {
                return Err(parse_error(
                    source,
                    line,
                    None,
                    format!("{} fields, the header has {}", rec.len(), names.len()),
                ));
            }
            let text = rec.get(0).unwrap_or("").trim();
            let month = Month::parse(text, false).ok_or_else(|| {
                parse_error(
                    source,
                    line,
                    Some((1, "period")),
                    format!("not a month (YYYY-MM): {text:?}"),
                )
            })?;
            if let Some(p) = prev
                && month != p.offset(1)
            {
                return Err(parse_error(
                    source,
                    line,
                    Some((1, "period")),
                    format!("{month} does not follow {p} (months must be consecutive)"),
                ));
            }
            first.get_or_insert(month);
            prev = Some(month);
            for (i, col) in columns.iter_mut().enumerate() {
                let cell = rec.get(i + 1).unwrap_or("").trim();
                let value = if cell.is_empty() {
                    None
                } else {
                    match cell.parse::<f64>() {
                        Ok(v) if v.is_finite() => Some(v),
                        _ => {
                            return Err(parse_error(
                                source,
                                line,
                                Some((i + 2, &names[i + 1])),
                                format!("not a finite number: {cell:?}"),
                            ));
                        }
                    }
                };
                col.push(value);
            }
        }
        let first = first.ok_or_else(|| parse_error(source, 1, None, "no data rows".into()))?;
        let len = columns.first().map_or(0, Vec::len);
        let series = names.into_iter().skip(1).zip(columns).collect();
        Ok(FredMd {
            source: source.to_path_buf(),
            first,
            len,
            series,
        })
    }

    /// The last month.
    pub fn last(&self) -> Month {
        self.first.offset(self.len as i64 - 1)
    }

    /// A series by name; a [`CycleError::Parse`] naming the file's header when absent.
    pub fn require(&self, name: &str) -> Result<&[Option<f64>], CycleError> {
        self.series.get(name).map(Vec::as_slice).ok_or_else(|| {
            parse_error(
                &self.source,
                1,
                None,
                format!("no column {name} (the model needs it)"),
            )
        })
    }
}

/// Monthly means of the VIX daily closes.
#[derive(Debug, Clone)]
pub struct VixMonthly {
    /// The file it was read from.
    pub source: PathBuf,
    /// Mean close and number of daily closes, by month (every month with at least one close).
    pub months: BTreeMap<Month, (f64, u32)>,
}

impl VixMonthly {
    /// Reads a daily OHLCV CSV (`date` `YYYY-MM-DD` and `close` columns; other columns ignored;
    /// a row with an empty close is skipped).
    pub fn read(path: &Path) -> Result<VixMonthly, CycleError> {
        VixMonthly::from_reader(open(path)?, path)
    }

    /// Parses daily OHLCV CSV text from `reader`; `source` names it in errors.
    pub fn from_reader<R: Read>(reader: R, source: &Path) -> Result<VixMonthly, CycleError> {
        let mut rows = CsvRows::new(reader, source)?;
        let header = rows.header();
        let find = |name: &str| header.iter().position(|h| h.trim() == name);
        let (Some(date_col), Some(close_col)) = (find("date"), find("close")) else {
            return Err(parse_error(
                source,
                1,
                None,
                "the header needs `date` and `close` columns".into(),
            ));
        };
        let mut sums: BTreeMap<Month, (f64, u32)> = BTreeMap::new();
        while let Some((rec, line)) = rows.next_row()? {
            let date = rec.get(date_col).unwrap_or("").trim();
            let month = Month::parse(date, true)
                .filter(|_| date.len() == 10)
                .ok_or_else(|| {
                    parse_error(
                        source,
                        line,
                        Some((date_col + 1, "date")),
                        format!("not a date (YYYY-MM-DD): {date:?}"),
                    )
                })?;
            let cell = rec.get(close_col).unwrap_or("").trim();
            if cell.is_empty() {
                continue;
            }
            let close = match cell.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => v,
                _ => {
                    return Err(parse_error(
                        source,
                        line,
                        Some((close_col + 1, "close")),
                        format!("not a positive number: {cell:?}"),
                    ));
                }
            };
            let e = sums.entry(month).or_insert((0.0, 0));
            e.0 += close;
            e.1 += 1;
        }
        if sums.is_empty() {
            return Err(parse_error(source, 1, None, "no data rows".into()));
        }
        let months = sums
            .into_iter()
            .map(|(m, (s, n))| (m, (s / n as f64, n)))
            .collect();
        Ok(VixMonthly {
            source: source.to_path_buf(),
            months,
        })
    }

    /// The mean close of `month`, `None` with fewer than [`MIN_VIX_DAYS`] closes.
    pub fn mean(&self, month: Month) -> Option<f64> {
        self.months
            .get(&month)
            .filter(|(_, n)| *n >= MIN_VIX_DAYS)
            .map(|(m, _)| *m)
    }
}

/// NBER business-cycle dates: recessions from the month after a peak through the trough.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NberDates {
    /// Recessions with both dates: (peak month, trough month).
    pub recessions: Vec<(Month, Month)>,
    /// Peaks without a trough in the file (e.g. 2020-02): not counted as recession months.
    pub open_peaks: Vec<Month>,
}

impl NberDates {
    /// Reads the NBER CSV (`peak,trough,…`, dates `YYYY-MM-DD`, empty when unknown).
    pub fn read(path: &Path) -> Result<NberDates, CycleError> {
        NberDates::from_reader(open(path)?, path)
    }

    /// Parses NBER CSV text from `reader`; `source` names it in errors.
    pub fn from_reader<R: Read>(reader: R, source: &Path) -> Result<NberDates, CycleError> {
        let mut rows = CsvRows::new(reader, source)?;
        let header = rows.header();
        let find = |name: &str| header.iter().position(|h| h.trim() == name);
        let (Some(peak_col), Some(trough_col)) = (find("peak"), find("trough")) else {
            return Err(parse_error(
                source,
                1,
                None,
                "the header needs `peak` and `trough` columns".into(),
            ));
        };
        let mut out = NberDates::default();
        while let Some((rec, line)) = rows.next_row()? {
            let cell = |col: usize, name: &str| -> Result<Option<Month>, CycleError> {
                let text = rec.get(col).unwrap_or("").trim();
                if text.is_empty() {
                    return Ok(None);
                }
                Month::parse(text, true)
                    .filter(|_| text.len() == 10)
                    .map(Some)
                    .ok_or_else(|| {
                        parse_error(
                            source,
                            line,
                            Some((col + 1, name)),
                            format!("not a date (YYYY-MM-DD): {text:?}"),
                        )
                    })
            };
            match (cell(peak_col, "peak")?, cell(trough_col, "trough")?) {
                (Some(p), Some(t)) if t > p => out.recessions.push((p, t)),
                (Some(_), Some(_)) => {
                    return Err(parse_error(
                        source,
                        line,
                        Some((trough_col + 1, "trough")),
                        "the trough is not after the peak".into(),
                    ));
                }
                (Some(p), None) => out.open_peaks.push(p),
                (None, _) => {}
            }
        }
        Ok(out)
    }

    /// True when `month` is in a dated recession (after its peak, through its trough).
    pub fn in_recession(&self, month: Month) -> bool {
        self.recessions
            .iter()
            .any(|&(p, t)| month > p && month <= t)
    }
}
