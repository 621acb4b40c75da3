//! Reading CSV files into bars and corporate actions.

use crate::error::CsvError;
use crate::layout::Layout;
use crate::limit::{LineLimitReader, LineTooLong};
use pulse_core::jiff::civil::Date;
use pulse_core::jiff::tz::TimeZone;
use pulse_core::jiff::{SignedDuration, Timestamp};
use pulse_core::ports::ImportBatch;
use pulse_core::rust_decimal::Decimal;
use pulse_core::{
    AssetClass, Bar, CorporateAction, CorporateActionKind, Instrument, Symbol, Timeframe,
};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Default per-line limit: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// The plausibility limits of [`pulse_core::Bar::check_plausible`], which every stored bar passes
/// (a fetched one too); the parser applies them with the file, line and column of the value.
pub use pulse_core::bar::{EARLIEST_YEAR, LATEST_YEAR, MAX_PRICE, MAX_VOLUME};

/// How intraday timestamps are labelled in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BarLabel {
    /// `ts` is the start of the bar's interval (the Portfolio Pulse convention).
    #[default]
    Start,
    /// `ts` is the end of the interval (09:31 for the 09:30–09:31 bar): every ts is shifted back
    /// by one interval on import. Ignored for daily layouts.
    End,
}

/// Options of one import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// Symbol of the bars; default: the file stem (`000660.KS.csv` → `000660.KS`).
    pub symbol: Option<Symbol>,
    /// Bar size; default: `1d` for daily layouts, inferred from the row spacing for intraday.
    pub timeframe: Option<Timeframe>,
    /// Whether intraday timestamps label the start or the end of the bar.
    pub bar_label: BarLabel,
    /// Longest physical line accepted, in bytes (default 1 MiB).
    pub max_line_bytes: usize,
    /// Instrument description; default: `Instrument::infer(symbol)`.
    pub instrument: Option<Instrument>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            symbol: None,
            timeframe: None,
            bar_label: BarLabel::Start,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            instrument: None,
        }
    }
}

/// One bar with the file line it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParsedRow {
    /// 1-based line number in the file.
    pub line: u64,
    /// The bar (UTC timestamps; daily bars at 00:00Z).
    pub bar: Bar,
}

/// Everything read from one file, in file order (duplicates and disorder are kept so that a
/// checker can report them; [`ParsedFile::into_batch`] rejects them).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    /// The file read (or the name given to [`parse_reader`]).
    pub path: PathBuf,
    /// Layout detected from the header.
    pub layout: Layout,
    /// Symbol of the bars; `None` for a splits list, or when the file stem is not a valid symbol
    /// and none was given.
    pub symbol: Option<Symbol>,
    /// Bar size.
    pub timeframe: Timeframe,
    /// Bars with their line numbers, in file order.
    pub rows: Vec<ParsedRow>,
    /// Dividends (from a `dividends` column) or splits (from a splits list), with line numbers.
    pub actions: Vec<(u64, CorporateAction)>,
    /// Rows whose values were all `null` (Yahoo's missing rows): skipped, counted here.
    pub skipped_null_rows: u64,
    /// Instrument override from the options (else inferred from the symbol on conversion).
    pub instrument: Option<Instrument>,
}

/// A duplicate or out-of-order row found by [`ParsedFile::order_issues`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderIssue {
    /// `second_line` repeats the timestamp of `first_line`.
    Duplicate {
        /// The repeated timestamp.
        ts: Timestamp,
        /// Line of the first occurrence.
        first_line: u64,
        /// Line of the repeat.
        second_line: u64,
    },
    /// `line` is earlier than `prev_line`, which comes before it in the file.
    OutOfOrder {
        /// Offending line.
        line: u64,
        /// Its timestamp.
        ts: Timestamp,
        /// The latest line so far.
        prev_line: u64,
        /// That line's timestamp.
        prev_ts: Timestamp,
    },
}

impl ParsedFile {
    fn file(&self) -> String {
        self.path.display().to_string()
    }

    /// Every duplicate timestamp and every row earlier than the latest row before it, in file
    /// order. For a splits list, duplicates are per symbol and ex-date.
    pub fn order_issues(&self) -> Vec<OrderIssue> {
        let mut issues = Vec::new();
        if self.layout == Layout::Splits {
            let mut seen: HashMap<(String, Date), u64> = HashMap::new();
            for (line, a) in &self.actions {
                let key = (a.symbol.as_str().to_string(), a.ex_date);
                if let Some(first) = seen.get(&key) {
                    issues.push(OrderIssue::Duplicate {
                        ts: date_ts(a.ex_date).unwrap_or(Timestamp::UNIX_EPOCH),
                        first_line: *first,
                        second_line: *line,
                    });
                } else {
                    seen.insert(key, *line);
                }
            }
            return issues;
        }
        let mut seen: HashMap<Timestamp, u64> = HashMap::with_capacity(self.rows.len());
        let mut latest: Option<(Timestamp, u64)> = None;
        for r in &self.rows {
            if let Some(first) = seen.get(&r.bar.ts) {
                issues.push(OrderIssue::Duplicate {
                    ts: r.bar.ts,
                    first_line: *first,
                    second_line: r.line,
                });
                continue;
            }
            seen.insert(r.bar.ts, r.line);
            match latest {
                Some((prev_ts, prev_line)) if r.bar.ts < prev_ts => {
                    issues.push(OrderIssue::OutOfOrder {
                        line: r.line,
                        ts: r.bar.ts,
                        prev_line,
                        prev_ts,
                    });
                }
                _ => latest = Some((r.bar.ts, r.line)),
            }
        }
        issues
    }

    fn check_order(&self) -> Result<(), CsvError> {
        let file = self.file();
        match self.order_issues().into_iter().next() {
            None => Ok(()),
            Some(OrderIssue::Duplicate {
                ts,
                first_line,
                second_line,
            }) => Err(CsvError::Duplicate {
                file,
                ts,
                first_line,
                second_line,
            }),
            Some(OrderIssue::OutOfOrder {
                line,
                ts,
                prev_line,
                prev_ts,
            }) => Err(CsvError::OutOfOrder {
                file,
                line,
                ts,
                prev_line,
                prev_ts,
            }),
        }
    }

    fn instrument_for(&self, symbol: &Symbol) -> Result<Instrument, CsvError> {
        match &self.instrument {
            Some(i) if &i.symbol == symbol => Ok(i.clone()),
            Some(i) => Err(CsvError::Symbol {
                file: self.file(),
                reason: format!(
                    "instrument override is for {} but the bars are {}",
                    i.symbol, symbol
                ),
            }),
            None => Ok(Instrument::infer(symbol)),
        }
    }

    /// Converts to one import batch, STRICTLY: a duplicate timestamp or a row earlier than a
    /// previous one is an error naming both lines. A splits list must concern a single symbol
    /// (use [`ParsedFile::into_batches`] for several).
    pub fn into_batch(self) -> Result<ImportBatch, CsvError> {
        let mut batches = self.into_batches()?;
        match batches.len() {
            1 => Ok(batches.remove(0)),
            n => Err(CsvError::Symbol {
                file: batches
                    .first()
                    .map(|b| b.source.clone())
                    .unwrap_or_default(),
                reason: format!(
                    "the splits list concerns {n} symbols; convert it with into_batches (one batch per symbol)"
                ),
            }),
        }
    }

    /// Converts to import batches (strict, as [`ParsedFile::into_batch`]): one batch for a bar
    /// file, one per symbol (no bars, timeframe `1d`) for a splits list.
    pub fn into_batches(self) -> Result<Vec<ImportBatch>, CsvError> {
        self.check_order()?;
        let source = self.file();
        if self.layout == Layout::Splits {
            let mut by_symbol: BTreeMap<Symbol, Vec<CorporateAction>> = BTreeMap::new();
            for (_, a) in &self.actions {
                by_symbol
                    .entry(a.symbol.clone())
                    .or_default()
                    .push(a.clone());
            }
            let mut out = Vec::with_capacity(by_symbol.len());
            for (symbol, mut actions) in by_symbol {
                actions.sort_by_key(|a| a.ex_date);
                out.push(ImportBatch {
                    instrument: self.instrument_for(&symbol)?,
                    timeframe: Timeframe::D1,
                    bars: Vec::new(),
                    actions,
                    source: source.clone(),
                });
            }
            return Ok(out);
        }
        let Some(symbol) = self.symbol.clone() else {
            return Err(CsvError::Symbol {
                file: source,
                reason: "no symbol: the file name is not a valid symbol and none was given"
                    .to_string(),
            });
        };
        let instrument = self.instrument_for(&symbol)?;
        Ok(vec![ImportBatch {
            instrument,
            timeframe: self.timeframe,
            bars: self.rows.into_iter().map(|r| r.bar).collect(),
            actions: self.actions.into_iter().map(|(_, a)| a).collect(),
            source,
        }])
    }
}

/// Reads a CSV file (layout detected from its header), gzip-compressed or not (told by the
/// gzip magic bytes, whatever the name: `BTCUSDT.csv.gz` is read as `BTCUSDT`). Lenient on
/// order: rows are kept in file order, duplicates included.
pub fn parse_path(path: &Path, opts: &ImportOptions) -> Result<ParsedFile, CsvError> {
    let name = path.display().to_string();
    let io = |source| CsvError::Io {
        file: name.clone(),
        source,
    };
    let mut file = std::io::BufReader::new(File::open(path).map_err(io)?);
    let gzip = std::io::BufRead::fill_buf(&mut file)
        .map_err(io)?
        .starts_with(&[0x1f, 0x8b]);
    if gzip {
        parse_reader(&name, flate2::bufread::MultiGzDecoder::new(file), opts)
    } else {
        parse_reader(&name, file, opts)
    }
}

/// Reads CSV text from any reader; `name` is used in messages and, through its file stem, as
/// the default symbol (`data/TSLA.csv` → `TSLA`).
pub fn parse_reader<R: Read>(
    name: &str,
    r: R,
    opts: &ImportOptions,
) -> Result<ParsedFile, CsvError> {
    Parser::new(name, opts).run(r)
}

/// Midnight UTC of a date.
pub(crate) fn date_ts(d: Date) -> Result<Timestamp, pulse_core::jiff::Error> {
    Ok(d.to_zoned(TimeZone::UTC)?.timestamp())
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(64).collect();
        t.push('…');
        t
    }
}

struct Parser<'a> {
    file: String,
    opts: &'a ImportOptions,
    symbol: Option<Symbol>,
    /// Rates and sentiment scores may be zero or negative (as in the quality check).
    allow_non_positive: bool,
}

/// Raw timestamps before timeframe inference and label shifting.
struct Row {
    line: u64,
    bar: Bar,
}

impl<'a> Parser<'a> {
    fn new(name: &str, opts: &'a ImportOptions) -> Self {
        let stem = Path::new(name.strip_suffix(".gz").unwrap_or(name))
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| Symbol::try_new(s).ok());
        let symbol = opts
            .symbol
            .clone()
            .or_else(|| opts.instrument.as_ref().map(|i| i.symbol.clone()))
            .or(stem);
        let allow_non_positive = opts
            .instrument
            .clone()
            .or_else(|| symbol.as_ref().map(Instrument::infer))
            .is_some_and(|i| matches!(i.asset_class, AssetClass::Rate | AssetClass::Sentiment));
        Parser {
            file: name.to_string(),
            opts,
            symbol,
            allow_non_positive,
        }
    }

    fn field_err(
        &self,
        line: u64,
        column: usize,
        field: &'static str,
        value: &str,
        reason: impl Into<String>,
    ) -> CsvError {
        CsvError::Field {
            file: self.file.clone(),
            line,
            column,
            field,
            value: truncate(value),
            reason: reason.into(),
        }
    }

    fn csv_err(&self, e: csv::Error, line: u64) -> CsvError {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => {
                if let Some(t) = io.get_ref().and_then(|r| r.downcast_ref::<LineTooLong>()) {
                    CsvError::LineTooLong {
                        file: self.file.clone(),
                        line: t.line,
                        limit: self.opts.max_line_bytes,
                    }
                } else {
                    CsvError::Io {
                        file: self.file.clone(),
                        source: io,
                    }
                }
            }
            other => CsvError::Malformed {
                file: self.file.clone(),
                line,
                reason: format!("{other:?}"),
            },
        }
    }

    /// One field as text, rejecting NUL bytes and invalid UTF-8.
    fn text<'r>(&self, raw: &'r [u8], line: u64, column: usize) -> Result<&'r str, CsvError> {
        let binary = |what: &str| CsvError::Binary {
            file: self.file.clone(),
            line,
            column,
            what: what.to_string(),
        };
        if raw.contains(&0) {
            return Err(binary("NUL byte"));
        }
        std::str::from_utf8(raw).map_err(|_| binary("invalid UTF-8"))
    }

    /// The fields of a record as text (any number of fields: the header).
    fn texts<'r>(
        &self,
        rec: &'r csv::ByteRecord,
        line: u64,
        out: &mut Vec<&'r str>,
    ) -> Result<(), CsvError> {
        out.clear();
        for (i, raw) in rec.iter().enumerate() {
            out.push(self.text(raw, line, i + 1)?);
        }
        Ok(())
    }

    /// The fields of a data record (at most 8, checked against the header before) without
    /// allocating.
    fn fields<'r>(&self, rec: &'r csv::ByteRecord, line: u64) -> Result<[&'r str; 8], CsvError> {
        let mut out = [""; 8];
        for (i, (slot, raw)) in out.iter_mut().zip(rec.iter()).enumerate() {
            *slot = self.text(raw, line, i + 1)?;
        }
        Ok(out)
    }

    fn run<R: Read>(self, r: R) -> Result<ParsedFile, CsvError> {
        let (limited, mut lines) = LineLimitReader::new(r, self.opts.max_line_bytes);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(limited);
        let mut rec = csv::ByteRecord::new();
        let mut texts: Vec<&str> = Vec::with_capacity(8);
        let mut header_rec = csv::ByteRecord::new();

        // Header.
        match rdr.read_byte_record(&mut header_rec) {
            Ok(true) => {}
            Ok(false) => {
                return Err(CsvError::Empty {
                    file: self.file.clone(),
                    expected: Layout::expected_headers(),
                });
            }
            Err(e) => return Err(self.csv_err(e, 1)),
        }
        let header_line = lines.line_of(header_rec.position().map(|p| p.byte()).unwrap_or(0));
        self.texts(&header_rec, header_line, &mut texts)?;
        let cells: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = if i == 0 {
                    s.trim_start_matches('\u{feff}')
                } else {
                    s
                };
                s.trim().to_ascii_lowercase()
            })
            .collect();
        let Some(layout) = Layout::from_header(&cells) else {
            let (column, detail) = Layout::explain_mismatch(&cells);
            return Err(CsvError::Header {
                file: self.file.clone(),
                line: header_line,
                column,
                found: truncate(&texts.join(",")),
                detail,
                expected: Layout::expected_headers(),
            });
        };
        let ncols = layout.columns().len();

        if let Some(tf) = self.opts.timeframe
            && !layout.is_intraday()
            && tf != Timeframe::D1
        {
            return Err(CsvError::Timeframe {
                file: self.file.clone(),
                reason: format!(
                    "the {layout} layout holds daily bars; timeframe {tf} was asked for"
                ),
            });
        }

        let mut rows: Vec<Row> = Vec::new();
        let mut actions: Vec<(u64, CorporateAction)> = Vec::new();
        let mut skipped = 0u64;
        let mut last_line = header_line;
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(self.csv_err(e, last_line)),
            }
            let line = match rec.position() {
                Some(p) => lines.line_of(p.byte()),
                None => last_line + 1,
            };
            last_line = line;
            if rec.len() == 1 && rec.get(0).is_some_and(<[u8]>::is_empty) {
                continue; // a line of blanks
            }
            if rec.len() != ncols {
                return Err(CsvError::FieldCount {
                    file: self.file.clone(),
                    line,
                    expected: ncols,
                    found: rec.len(),
                    header: layout.columns().join(","),
                });
            }
            let all = self.fields(&rec, line)?;
            let texts = &all[..ncols];
            if layout == Layout::Splits {
                actions.push((line, self.split_row(line, texts)?));
                continue;
            }
            let values = &texts[1..];
            if values.iter().any(|v| v.eq_ignore_ascii_case("null"))
                && values
                    .iter()
                    .all(|v| v.is_empty() || v.eq_ignore_ascii_case("null"))
            {
                skipped += 1;
                continue;
            }
            let (bar, dividend) = self.bar_row(layout, line, texts)?;
            self.check_bar(layout, line, texts, &bar)?;
            if let Some((date, cash)) = dividend {
                let Some(symbol) = self.symbol.clone() else {
                    return Err(CsvError::Symbol {
                        file: self.file.clone(),
                        reason: format!(
                            "line {line} has a dividend but no symbol is known (the file name is not a valid symbol; give one)"
                        ),
                    });
                };
                actions.push((
                    line,
                    CorporateAction {
                        symbol,
                        ex_date: date,
                        kind: CorporateActionKind::Dividend {
                            cash_per_share: cash,
                        },
                    },
                ));
            }
            rows.push(Row { line, bar });
        }

        let timeframe = if layout.is_intraday() {
            match self.opts.timeframe {
                Some(tf) => {
                    self.check_spacing(tf, &rows)?;
                    tf
                }
                None => self.infer_timeframe(&rows)?,
            }
        } else {
            Timeframe::D1
        };
        if layout.is_intraday() && timeframe == Timeframe::D1 {
            // Daily bars are labelled by their date at 00:00Z.
            if let Some(r) = rows
                .iter()
                .find(|r| r.bar.ts.as_nanosecond() % 86_400_000_000_000 != 0)
            {
                return Err(self.field_err(
                    r.line,
                    1,
                    "ts",
                    &r.bar.ts.to_string(),
                    "timeframe 1d needs timestamps at 00:00:00Z",
                ));
            }
        }
        if layout.is_intraday() && self.opts.bar_label == BarLabel::End {
            let shift = SignedDuration::from_secs(timeframe.seconds());
            for r in &mut rows {
                r.bar.ts = r.bar.ts.checked_sub(shift).map_err(|e| {
                    self.field_err(
                        r.line,
                        1,
                        "ts",
                        &r.bar.ts.to_string(),
                        format!("cannot shift to the bar start: {e}"),
                    )
                })?;
            }
        }
        Ok(ParsedFile {
            path: PathBuf::from(&self.file),
            layout,
            symbol: if layout == Layout::Splits {
                self.opts.symbol.clone()
            } else {
                self.symbol.clone()
            },
            timeframe,
            rows: rows
                .into_iter()
                .map(|r| ParsedRow {
                    line: r.line,
                    bar: r.bar,
                })
                .collect(),
            actions,
            skipped_null_rows: skipped,
            instrument: self.opts.instrument.clone(),
        })
    }

    /// A declared intraday timeframe must match the rows: every two consecutive (distinct)
    /// timestamps a whole number of bars apart. `--timeframe 1h` on rows a minute apart would
    /// store 60 "hourly" bars per hour.
    fn check_spacing(&self, tf: Timeframe, rows: &[Row]) -> Result<(), CsvError> {
        if tf == Timeframe::D1 {
            return Ok(()); // checked below: every timestamp at 00:00:00Z
        }
        let step = tf.seconds();
        for w in rows.windows(2) {
            let (a, b) = (w[0].bar.ts, w[1].bar.ts);
            if a == b {
                continue; // a duplicate: reported on conversion
            }
            let secs = (b.as_second() - a.as_second()).abs();
            if a.subsec_nanosecond() != b.subsec_nanosecond() || secs % step != 0 {
                let spacing = if secs < 1 {
                    format!("{} s", (b.as_nanosecond() - a.as_nanosecond()) as f64 / 1e9)
                } else {
                    format!("{secs} s")
                };
                return Err(CsvError::Timeframe {
                    file: self.file.clone(),
                    reason: format!(
                        "timeframe {tf} was given but lines {} and {} are {spacing} apart ({a} and {b}); the rows of a {tf} file must be a whole number of {step} s apart — give the right timeframe, or leave it out to infer it",
                        w[0].line, w[1].line
                    ),
                });
            }
        }
        Ok(())
    }

    /// Refuses values no market produces, naming the file, line, column and field: a price (or
    /// an adjusted close) that is zero or negative (except in a `date,value` series or for a
    /// rate or sentiment instrument: a T-bill yield or a Fear & Greed score may be), a high below the low, a magnitude beyond [`MAX_PRICE`] / [`MAX_VOLUME`],
    /// a year outside [`EARLIEST_YEAR`]..=[`LATEST_YEAR`].
    fn check_bar(&self, layout: Layout, line: u64, f: &[&str], bar: &Bar) -> Result<(), CsvError> {
        let text = |col: usize| f.get(col - 1).copied().unwrap_or("");
        let year = bar.ts.to_zoned(TimeZone::UTC).year();
        if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&year) {
            let field = if layout == Layout::Intraday {
                "ts"
            } else {
                "date"
            };
            return Err(self.field_err(
                line,
                1,
                field,
                text(1),
                format!("year {year} is outside {EARLIEST_YEAR}..={LATEST_YEAR}"),
            ));
        }
        let ohlc = [
            ("open", 2, bar.open),
            ("high", 3, bar.high),
            ("low", 4, bar.low),
            ("close", 5, bar.close),
        ];
        let (prices, volume_col): (Vec<(&'static str, usize, f64)>, Option<usize>) = match layout {
            Layout::Intraday => (ohlc.to_vec(), Some(6)),
            Layout::DailyOhlc => (ohlc.to_vec(), None),
            Layout::DailyOhlcv | Layout::Yahoo => {
                let mut p = ohlc.to_vec();
                if let Some(adj) = bar.adj_close {
                    p.push(("adj_close", 6, adj));
                }
                (p, Some(7))
            }
            Layout::AdjClose => (vec![("adj_close", 2, bar.close)], None),
            Layout::Value | Layout::Splits => (vec![("value", 2, bar.close)], None),
        };
        for (field, col, v) in &prices {
            if v.abs() > MAX_PRICE {
                return Err(self.field_err(
                    line,
                    *col,
                    field,
                    text(*col),
                    format!("beyond the plausible range of ±{MAX_PRICE:e}"),
                ));
            }
            if *v <= 0.0 && !(layout == Layout::Value || self.allow_non_positive) {
                return Err(self.field_err(
                    line,
                    *col,
                    field,
                    text(*col),
                    "a price must be positive (zero or negative; only `date,value` series, rates and scores may be)",
                ));
            }
        }
        if bar.high < bar.low {
            return Err(self.field_err(
                line,
                3,
                "high",
                text(3),
                format!("high is below the low {} of the same line", text(4)),
            ));
        }
        if let (Some(col), Some(v)) = (volume_col, bar.volume)
            && v > MAX_VOLUME
        {
            return Err(self.field_err(
                line,
                col,
                "volume",
                text(col),
                format!("beyond the plausible maximum of {MAX_VOLUME:e}"),
            ));
        }
        Ok(())
    }

    /// Smallest positive spacing between consecutive rows → 1m / 15m / 1h. Fewer than two
    /// distinct timestamps: 1m.
    fn infer_timeframe(&self, rows: &[Row]) -> Result<Timeframe, CsvError> {
        let mut best: Option<(i64, u64, u64)> = None;
        for w in rows.windows(2) {
            let d = (w[1].bar.ts.as_second() - w[0].bar.ts.as_second()).abs();
            let sub = w[1].bar.ts.subsec_nanosecond() != w[0].bar.ts.subsec_nanosecond();
            if (d > 0 || sub) && best.is_none_or(|(b, _, _)| d < b) {
                best = Some((d, w[0].line, w[1].line));
            }
        }
        let Some((secs, a, b)) = best else {
            return Ok(Timeframe::M1);
        };
        [Timeframe::M1, Timeframe::M15, Timeframe::H1]
            .into_iter()
            .find(|tf| tf.seconds() == secs)
            .ok_or_else(|| CsvError::Timeframe {
                file: self.file.clone(),
                reason: format!(
                    "cannot infer the timeframe: the smallest spacing between rows is {secs} s (lines {a} and {b}); expected 60, 900 or 3600 s — give the timeframe (daily data: use a `date` column or give 1d)"
                ),
            })
    }

    fn num(&self, line: u64, col: usize, field: &'static str, s: &str) -> Result<f64, CsvError> {
        if s.is_empty() {
            return Err(self.field_err(line, col, field, s, "empty; expected a number"));
        }
        self.opt_num(line, col, field, s)?
            .ok_or_else(|| self.field_err(line, col, field, s, "empty; expected a number"))
    }

    fn opt_num(
        &self,
        line: u64,
        col: usize,
        field: &'static str,
        s: &str,
    ) -> Result<Option<f64>, CsvError> {
        if s.is_empty() {
            return Ok(None);
        }
        if s.eq_ignore_ascii_case("null") {
            return Err(self.field_err(
                line,
                col,
                field,
                s,
                "null (missing value) in a row that has other values",
            ));
        }
        let v: f64 = s
            .parse()
            .map_err(|_| self.field_err(line, col, field, s, "expected a decimal number"))?;
        if !v.is_finite() {
            return Err(self.field_err(line, col, field, s, "not a finite number"));
        }
        Ok(Some(v))
    }

    fn volume(&self, line: u64, col: usize, s: &str) -> Result<Option<f64>, CsvError> {
        let v = self.opt_num(line, col, "volume", s)?;
        if v.is_some_and(|v| v < 0.0) {
            return Err(self.field_err(line, col, "volume", s, "negative volume"));
        }
        Ok(v)
    }

    fn date(&self, line: u64, col: usize, field: &'static str, s: &str) -> Result<Date, CsvError> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        let bad = |why: &str| self.field_err(line, col, field, s, why);
        if !shape_ok {
            return Err(bad("expected a date YYYY-MM-DD"));
        }
        let y: i16 = s[0..4].parse().map_err(|_| bad("bad year"))?;
        let m: i8 = s[5..7].parse().map_err(|_| bad("bad month"))?;
        let d: i8 = s[8..10].parse().map_err(|_| bad("bad day"))?;
        Date::new(y, m, d).map_err(|e| bad(&format!("not a calendar date ({e})")))
    }

    fn daily_ts(&self, line: u64, s: &str) -> Result<(Date, Timestamp), CsvError> {
        let d = self.date(line, 1, "date", s)?;
        let ts = date_ts(d)
            .map_err(|e| self.field_err(line, 1, "date", s, format!("out of range ({e})")))?;
        Ok((d, ts))
    }

    fn bar_row(
        &self,
        layout: Layout,
        line: u64,
        f: &[&str],
    ) -> Result<(Bar, Option<(Date, Decimal)>), CsvError> {
        if layout == Layout::Intraday {
            let ts: Timestamp = f[0].parse().map_err(|_| {
                self.field_err(
                    line,
                    1,
                    "ts",
                    f[0],
                    "expected an ISO-8601 UTC timestamp such as 2025-05-30T16:40:00Z",
                )
            })?;
            let bar = Bar {
                ts,
                open: self.num(line, 2, "open", f[1])?,
                high: self.num(line, 3, "high", f[2])?,
                low: self.num(line, 4, "low", f[3])?,
                close: self.num(line, 5, "close", f[4])?,
                adj_close: None,
                volume: self.volume(line, 6, f[5])?,
            };
            return Ok((bar, None));
        }
        let (date, ts) = self.daily_ts(line, f[0])?;
        let ohlc = |s: &Self| -> Result<[f64; 4], CsvError> {
            Ok([
                s.num(line, 2, "open", f[1])?,
                s.num(line, 3, "high", f[2])?,
                s.num(line, 4, "low", f[3])?,
                s.num(line, 5, "close", f[4])?,
            ])
        };
        let bar = |[open, high, low, close]: [f64; 4], adj_close, volume| Bar {
            ts,
            open,
            high,
            low,
            close,
            adj_close,
            volume,
        };
        Ok(match layout {
            Layout::DailyOhlcv => {
                let b = bar(
                    ohlc(self)?,
                    self.opt_num(line, 6, "adj_close", f[5])?,
                    self.volume(line, 7, f[6])?,
                );
                (b, self.dividend(line, 8, f[7])?.map(|c| (date, c)))
            }
            Layout::DailyOhlc => (bar(ohlc(self)?, None, None), None),
            Layout::Yahoo => (
                bar(
                    ohlc(self)?,
                    self.opt_num(line, 6, "adj_close", f[5])?,
                    self.volume(line, 7, f[6])?,
                ),
                None,
            ),
            Layout::AdjClose => {
                let v = self.num(line, 2, "adj_close", f[1])?;
                (Bar::from_value(ts, v, Some(v)), None)
            }
            Layout::Value => {
                let v = self.num(line, 2, "value", f[1])?;
                (Bar::from_value(ts, v, None), None)
            }
            Layout::Intraday | Layout::Splits => {
                return Err(self.field_err(
                    line,
                    1,
                    "date",
                    f[0],
                    "internal: not a daily bar layout",
                ));
            }
        })
    }

    /// Dividend cell: empty or 0 → none; > 0 → exact decimal; negative or not a number → error.
    fn dividend(&self, line: u64, col: usize, s: &str) -> Result<Option<Decimal>, CsvError> {
        if s.is_empty() {
            return Ok(None);
        }
        let d = Decimal::from_str_exact(s).map_err(|e| {
            self.field_err(
                line,
                col,
                "dividends",
                s,
                format!("expected a decimal cash amount per share ({e})"),
            )
        })?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(self.field_err(line, col, "dividends", s, "negative dividend"));
        }
        Ok((!d.is_zero()).then_some(d))
    }

    fn split_row(&self, line: u64, f: &[&str]) -> Result<CorporateAction, CsvError> {
        let ex_date = self.date(line, 1, "date", f[0])?;
        let symbol = Symbol::try_new(f[1])
            .map_err(|e| self.field_err(line, 2, "symbol", f[1], e.to_string()))?;
        let ratio = Decimal::from_str_exact(f[2]).map_err(|e| {
            self.field_err(
                line,
                3,
                "ratio",
                f[2],
                format!("expected a decimal ratio of new to old shares ({e})"),
            )
        })?;
        if ratio <= Decimal::ZERO {
            return Err(self.field_err(line, 3, "ratio", f[2], "split ratio must be positive"));
        }
        Ok(CorporateAction {
            symbol,
            ex_date,
            kind: CorporateActionKind::Split { ratio },
        })
    }
}
