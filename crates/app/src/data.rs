//! The market-data use cases behind `pulse data …` and `pulse ta`: import, fetch, list, show,
//! check, export, resample, seed, indicator tables, and sector data (import-sectors, sectors).
//!
//! Files are parsed by the front end's CSV adapter and handed over as [`ImportBatch`]es; the
//! vendors are reached through the [`MarketData`] port, the database through [`Store`], and an
//! export goes to an [`ExportSink`]. Progress and Ctrl-C reach the use cases through an
//! [`Observer`]; nothing here prints.

use crate::error::AppError;
use crate::market::{instrument_of, load_series};
use jiff::Timestamp;
use pulse_core::ports::{
    BarPager, BarQuery, ImportBatch, ImportPolicy, ImportSummary, MarketData, SeriesSummary, Store,
};
use pulse_core::quality::{Finding, FindingKind};
use pulse_core::quality_check::{CheckReport, SeriesChecker};
use pulse_core::resample::Resampler;
use pulse_core::{
    AssetClass, Bar, CorporateAction, CorporateActionKind, Instrument, Symbol, Timeframe,
};
use pulse_indicators::spec::{self, IndicatorSpec, OhlcvColumns};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::Poll;

mod sectors;

pub use sectors::{
    SECTOR_COLUMNS, SectorImportOutcome, SectorsOutcome, import_sectors, parse_sectors,
    read_sectors_file, sectors,
};

/// Bars read per page when streaming from the store.
const PAGE: u32 = 10_000;

/// Why `import`, `fetch` and `seed` keep a stored bar.
pub const KEPT_FULLER: &str = "stored row is fuller; --replace overwrites";

/// Why `resample` keeps a stored bar.
pub const KEPT_RESAMPLED: &str =
    "stored bar kept: resampled bars only fill missing ones; --replace overwrites";

// ---------------------------------------------------------------------------------------------
// Progress and cancellation
// ---------------------------------------------------------------------------------------------

/// A step of a long use case, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// A phase (`writing`, `fetching`, `checking`, `exporting`, `resampling`) of `total` units
    /// (bars, or symbols when fetching) begins.
    Begin {
        /// What is being done.
        phase: &'static str,
        /// Units of work in the phase.
        total: u64,
    },
    /// Work on one item (a symbol) begins.
    Item(&'a str),
    /// `n` more units are done.
    Advance(u64),
    /// The phase is over.
    End,
}

/// What a front end lets a use case tell it (progress) and ask it (whether to stop). `()` is a
/// silent observer that never interrupts.
pub trait Observer {
    /// A progress step; ignored by default.
    fn progress(&self, _step: Progress<'_>) {}

    /// Completes when the user asks to stop (Ctrl-C); never, by default. Work in flight is
    /// dropped, so an interrupted store write is rolled back.
    fn cancelled(&self) -> impl Future<Output = ()> {
        std::future::pending()
    }
}

impl Observer for () {}

/// Runs `work` unless `observer` asks to stop first ([`AppError::Interrupted`]).
async fn interruptible<T, O: Observer>(
    observer: &O,
    work: impl Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let mut work = pin!(work);
    let mut cancel = pin!(observer.cancelled());
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = work.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        if cancel.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(AppError::Interrupted));
        }
        Poll::Pending
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Input files
// ---------------------------------------------------------------------------------------------

/// What a path that is not a regular file is, in words ("a FIFO (named pipe)").
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Checks that `path` is a regular file (following symbolic links) without opening it, so that
/// a FIFO never blocks and a device is never read: the error names the path and what it is.
pub fn regular_file(path: &Path) -> Result<(), AppError> {
    let input = |reason: String| AppError::Input {
        path: path.to_path_buf(),
        reason,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) => Err(input(format!(
            "is {}, not a regular file",
            kind_of(m.file_type())
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(input("no such file or directory".to_string()))
        }
        Err(e) => Err(input(format!("cannot read: {e}"))),
    }
}

/// Most bytes a settings or list file (strategy, risk, trades, signals, sectors, config) may
/// hold: 16 MiB.
pub const MAX_TEXT_INPUT: u64 = 16 * 1024 * 1024;

/// Reads a small text input (a strategy or risk TOML, a trades or sectors CSV, a signal or
/// config file): a regular file (a FIFO or device is refused before it is opened, so it never
/// blocks or fills memory), at most [`MAX_TEXT_INPUT`] bytes, UTF-8. Errors name the path.
pub fn read_text_file(path: &Path) -> Result<String, AppError> {
    use std::io::Read;
    regular_file(path)?;
    let file = std::fs::File::open(path).map_err(|source| AppError::File {
        path: path.to_path_buf(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_TEXT_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| AppError::File {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_TEXT_INPUT {
        return Err(AppError::Input {
            path: path.to_path_buf(),
            reason: format!("is larger than {MAX_TEXT_INPUT} bytes"),
        });
    }
    String::from_utf8(bytes).map_err(|e| AppError::Input {
        path: path.to_path_buf(),
        reason: format!("is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// True for `*.csv` and gzip-compressed `*.csv.gz` file names (any case).
fn is_csv_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

/// The files named by `paths`: each regular file as given, and the `*.csv` / `*.csv.gz` regular files of each
/// directory (not recursive, sorted by name). Anything else (a missing path, a FIFO, a device)
/// is an error naming it; no file is opened here.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, AppError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|source| AppError::File {
                path: p.clone(),
                source,
            })?;
            let mut inside: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_csv_name(f))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            regular_file(p)?;
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(AppError::Data(format!(
            "no CSV files found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(files)
}

// ---------------------------------------------------------------------------------------------
// Import, seed, fetch
// ---------------------------------------------------------------------------------------------

/// The policy of a command with a `replace` option.
fn policy(replace: bool, default: ImportPolicy) -> ImportPolicy {
    if replace {
        ImportPolicy::Replace
    } else {
        default
    }
}

/// Bars to store, already parsed (a CSV file, the bundle).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportRequest {
    /// What to write, in one transaction.
    pub batches: Vec<ImportBatch>,
    /// Overwrite stored bars even with poorer ones (default: a fuller stored bar is kept).
    pub replace: bool,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Row counts (serialized as the outcome's own fields).
    #[serde(flatten)]
    pub summary: ImportSummary,
    /// Why bars counted in `summary.bars_kept` were kept (a sentence for the user).
    #[serde(skip)]
    pub kept_because: &'static str,
}

/// Writes `batches` with `policy`, interruptibly, reporting a `writing` phase.
async fn write_batches<S: Store, O: Observer>(
    store: &S,
    observer: &O,
    batches: &[ImportBatch],
    policy: ImportPolicy,
) -> Result<ImportSummary, AppError> {
    let rows: usize = batches.iter().map(|b| b.bars.len()).sum();
    observer.progress(Progress::Begin {
        phase: "writing",
        total: rows as u64,
    });
    let summary = interruptible(observer, async {
        store
            .import_with(batches, policy)
            .await
            .map_err(AppError::port)
    })
    .await?;
    observer.progress(Progress::End);
    Ok(summary)
}

/// Stores parsed bars in one transaction: either everything is written or nothing (an error,
/// or an interruption through `observer`, rolls it back). A stored bar is kept when it is
/// fuller than the incoming one, unless `replace`.
pub async fn import<S: Store, O: Observer>(
    store: &S,
    observer: &O,
    request: &ImportRequest,
) -> Result<ImportOutcome, AppError> {
    let policy = policy(request.replace, ImportPolicy::KeepFuller);
    let summary = write_batches(store, observer, &request.batches, policy).await?;
    Ok(ImportOutcome {
        summary,
        kept_because: KEPT_FULLER,
    })
}

/// Stores the bundled sample data (parsed by the caller), keeping fuller stored bars.
pub async fn seed<S: Store>(
    store: &S,
    batches: Vec<ImportBatch>,
) -> Result<ImportOutcome, AppError> {
    import(
        store,
        &(),
        &ImportRequest {
            batches,
            replace: false,
        },
    )
    .await
}

/// Bars to fetch from a vendor and store.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    /// Symbols, in the vendor's spelling.
    pub symbols: Vec<Symbol>,
    /// Bar size (`interval`): `1d` or `1m`.
    pub timeframe: Timeframe,
    /// First instant wanted (inclusive, UTC).
    pub start: Timestamp,
    /// Last instant wanted (UTC); after `start`.
    pub end: Timestamp,
    /// Overwrite stored bars even with poorer ones.
    pub replace: bool,
}

impl FetchRequest {
    /// Checks the settings: the timeframe is one vendors serve, the range is not empty.
    pub fn validate(&self) -> Result<(), AppError> {
        if !matches!(self.timeframe, Timeframe::D1 | Timeframe::M1) {
            return Err(AppError::setting("interval", "must be 1d or 1m"));
        }
        if self.end <= self.start {
            return Err(AppError::setting("to", "must be after --from"));
        }
        Ok(())
    }
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FetchOutcome {
    /// Row counts of the import.
    #[serde(flatten)]
    pub import: ImportOutcome,
    /// The data-quality check of each fetched series (the same rules as `pulse data check`):
    /// findings are reported, not refused.
    pub checks: Vec<CheckReport>,
}

/// Refuses a batch holding a bar no market produces ([`Bar::check_plausible`]: the rules every
/// CSV import applies), naming the batch's source and the bar. Rates and sentiment scores may be
/// zero or negative.
pub fn check_plausible(batch: &ImportBatch) -> Result<(), AppError> {
    let allow_non_positive = matches!(
        batch.instrument.asset_class,
        AssetClass::Rate | AssetClass::Sentiment
    );
    for bar in &batch.bars {
        bar.check_plausible(allow_non_positive).map_err(|e| {
            AppError::Data(format!(
                "{} ({} {}): {e}; nothing was written",
                batch.source, batch.instrument.symbol, batch.timeframe
            ))
        })?;
    }
    Ok(())
}

/// Fetches every symbol from `source`, refuses implausible bars (as an import of a file would),
/// checks each series' data quality, then stores everything in one transaction. Any failure,
/// or an interruption, writes nothing.
pub async fn fetch<M: MarketData, S: Store, O: Observer>(
    source: &M,
    store: &S,
    observer: &O,
    request: &FetchRequest,
) -> Result<FetchOutcome, AppError> {
    request.validate()?;
    observer.progress(Progress::Begin {
        phase: "fetching",
        total: request.symbols.len() as u64,
    });
    let mut batches = Vec::new();
    let mut checks = Vec::new();
    for symbol in &request.symbols {
        observer.progress(Progress::Item(symbol.as_str()));
        let query = pulse_core::ports::FetchRequest {
            symbol: symbol.clone(),
            timeframe: request.timeframe,
            start: request.start,
            end: request.end,
        };
        let series = interruptible(observer, async {
            source
                .fetch_bars(&query)
                .await
                .map_err(|e| AppError::Fetch {
                    vendor: source.source_name(),
                    symbol: symbol.clone(),
                    start: request.start,
                    source: Box::new(e),
                })
        })
        .await?;
        let batch = ImportBatch {
            instrument: series.instrument,
            timeframe: series.timeframe,
            bars: series.bars,
            actions: series.actions,
            source: format!("{}:{symbol}", source.source_name()),
        };
        check_plausible(&batch)?;
        checks.push(check_bars(
            &batch.instrument,
            batch.timeframe,
            &batch.actions,
            &batch.bars,
        ));
        batches.push(batch);
        observer.progress(Progress::Advance(1));
    }
    observer.progress(Progress::End);
    let policy = policy(request.replace, ImportPolicy::KeepFuller);
    let summary = write_batches(store, observer, &batches, policy).await?;
    Ok(FetchOutcome {
        import: ImportOutcome {
            summary,
            kept_because: KEPT_FULLER,
        },
        checks,
    })
}

// ---------------------------------------------------------------------------------------------
// List, show
// ---------------------------------------------------------------------------------------------

/// Every stored series with its extent, by symbol then timeframe.
pub async fn list<S: Store>(store: &S) -> Result<Vec<SeriesSummary>, AppError> {
    store.series().await.map_err(AppError::port)
}

/// One stored series with the data-quality findings stored for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeriesCoverage {
    /// The series and its extent.
    #[serde(flatten)]
    pub series: SeriesSummary,
    /// Stored findings of the series by kind (from the last `pulse data check`).
    pub findings: BTreeMap<pulse_core::quality::FindingKind, u64>,
}

/// Every stored series with its extent and its stored findings by kind (the dashboard's data
/// page).
pub async fn coverage<S: Store>(store: &S) -> Result<Vec<SeriesCoverage>, AppError> {
    let mut out: Vec<SeriesCoverage> = list(store)
        .await?
        .into_iter()
        .map(|series| SeriesCoverage {
            series,
            findings: BTreeMap::new(),
        })
        .collect();
    let index: BTreeMap<(Symbol, Timeframe), usize> = out
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.series.symbol.clone(), c.series.timeframe), i))
        .collect();
    for f in store.findings().await.map_err(AppError::port)? {
        if let Some(&i) = index.get(&(f.symbol, f.timeframe)) {
            *out[i].findings.entry(f.kind).or_default() += 1;
        }
    }
    Ok(out)
}

/// Which stored bars to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowRequest {
    /// Symbol.
    pub symbol: Symbol,
    /// Bar size.
    pub timeframe: Timeframe,
    /// First instant (inclusive), or from the first bar.
    pub start: Option<Timestamp>,
    /// Last instant (inclusive), or to the last bar.
    pub end: Option<Timestamp>,
    /// At most this many bars (the first ones, or the last ones when `tail`).
    pub limit: Option<usize>,
    /// With `limit`, the most recent bars.
    pub tail: bool,
}

/// The stored bars of one series in a range, at most `limit` of them (memory bounded by the
/// limit, not by the series). A series that is not stored is an error.
pub async fn show<S: Store>(store: &S, request: &ShowRequest) -> Result<Vec<Bar>, AppError> {
    let stored = list(store)
        .await?
        .iter()
        .any(|s| s.symbol == request.symbol && s.timeframe == request.timeframe);
    if !stored {
        return Err(AppError::Data(format!(
            "no {} bars stored for {} (see `pulse data list`)",
            request.timeframe, request.symbol
        )));
    }
    let query = BarQuery {
        symbol: request.symbol.clone(),
        timeframe: request.timeframe,
        start: request.start,
        end: request.end,
    };
    let mut pager = BarPager::new(query, PAGE);
    let limit = request.limit.unwrap_or(usize::MAX);
    let mut kept: VecDeque<Bar> = VecDeque::new();
    while let Some(chunk) = pager.next_chunk(store).await.map_err(AppError::port)? {
        for b in chunk {
            if kept.len() == limit {
                if !request.tail {
                    return Ok(kept.into());
                }
                kept.pop_front();
            }
            kept.push_back(b);
        }
    }
    Ok(kept.into())
}

// ---------------------------------------------------------------------------------------------
// Check
// ---------------------------------------------------------------------------------------------

/// The data-quality check of one series given as bars (a file, a fetch).
pub fn check_bars<'a>(
    instrument: &Instrument,
    timeframe: Timeframe,
    actions: &[CorporateAction],
    bars: impl IntoIterator<Item = &'a Bar>,
) -> CheckReport {
    let mut checker = SeriesChecker::new(instrument, timeframe, actions);
    for bar in bars {
        checker.push(bar);
    }
    checker.finish()
}

/// Findings of a report per kind, the counted-only ones included.
pub fn kind_counts(report: &CheckReport) -> BTreeMap<FindingKind, u64> {
    let mut counts = BTreeMap::new();
    for f in &report.findings {
        *counts.entry(f.kind).or_default() += 1;
    }
    for (k, n) in &report.suppressed {
        *counts.entry(*k).or_default() += n;
    }
    counts
}

/// A report in one line: `clean`, or the findings per kind (`gap 2, price_jump 1`).
pub fn findings_summary(report: &CheckReport) -> String {
    let counts = kind_counts(report);
    if counts.is_empty() {
        return "clean".to_string();
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    parts.join(", ")
}

/// Which stored series to check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckRequest {
    /// Only these symbols (empty: every stored series).
    pub symbols: Vec<Symbol>,
    /// Any finding fails the check ([`CheckOutcome::verdict`]).
    pub strict: bool,
}

/// The reports of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// One report per series, in store (or file) order.
    pub reports: Vec<CheckReport>,
    /// Whether any finding fails the check.
    pub strict: bool,
}

impl CheckOutcome {
    /// Findings in all reports, the counted-only ones included.
    pub fn findings(&self) -> u64 {
        self.reports
            .iter()
            .map(|r| r.findings.len() as u64 + r.suppressed.values().sum::<u64>())
            .sum()
    }

    /// Series with at least one finding.
    pub fn series_with_findings(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| !r.findings.is_empty() || !r.suppressed.is_empty())
            .count()
    }

    /// `Ok` unless the check is strict and found something (a runtime failure, exit code 1).
    pub fn verdict(&self) -> Result<(), AppError> {
        let found = self.findings();
        if self.strict && found > 0 {
            return Err(AppError::Data(format!(
                "data check --strict: {found} finding(s) in {} series",
                self.series_with_findings()
            )));
        }
        Ok(())
    }
}

/// Checks every stored series of `request` (streamed page by page) and replaces their stored
/// findings with the new ones. No matching series is an error.
pub async fn check<S: Store, O: Observer>(
    store: &S,
    observer: &O,
    request: &CheckRequest,
) -> Result<CheckOutcome, AppError> {
    let series = matching(store, &request.symbols, None).await?;
    if series.is_empty() {
        return Err(AppError::Data(
            "nothing to check: no stored series match".to_string(),
        ));
    }
    observer.progress(Progress::Begin {
        phase: "checking",
        total: series.iter().map(|s| s.rows).sum(),
    });
    let mut reports = Vec::new();
    for s in &series {
        let instrument = instrument_of(store, &s.symbol).await?;
        let actions = store
            .corporate_actions(&s.symbol)
            .await
            .map_err(AppError::port)?;
        let mut checker = SeriesChecker::new(&instrument, s.timeframe, &actions);
        let mut pager = BarPager::new(whole(s), PAGE);
        while let Some(chunk) = pager.next_chunk(store).await.map_err(AppError::port)? {
            observer.progress(Progress::Advance(chunk.len() as u64));
            for b in &chunk {
                checker.push(b);
            }
        }
        reports.push(checker.finish());
    }
    observer.progress(Progress::End);
    let scope: Vec<(Symbol, Timeframe)> = series
        .iter()
        .map(|s| (s.symbol.clone(), s.timeframe))
        .collect();
    let all: Vec<Finding> = reports
        .iter()
        .flat_map(|r| r.findings.iter().cloned())
        .collect();
    store
        .replace_findings(&scope, &all)
        .await
        .map_err(AppError::port)?;
    Ok(CheckOutcome {
        reports,
        strict: request.strict,
    })
}

/// Stored series of `symbols` (all when empty) and `timeframe` (any when `None`).
async fn matching<S: Store>(
    store: &S,
    symbols: &[Symbol],
    timeframe: Option<Timeframe>,
) -> Result<Vec<SeriesSummary>, AppError> {
    Ok(list(store)
        .await?
        .into_iter()
        .filter(|s| symbols.is_empty() || symbols.contains(&s.symbol))
        .filter(|s| timeframe.is_none_or(|t| t == s.timeframe))
        .collect())
}

/// A query over the whole of a stored series.
fn whole(s: &SeriesSummary) -> BarQuery {
    BarQuery {
        symbol: s.symbol.clone(),
        timeframe: s.timeframe,
        start: None,
        end: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// Where exported series go (a file per series, …): the front end's adapter. The use case calls
/// `begin`, `write` for each page and `finish` (or `abort` on failure) per series, then `splits`
/// once when there are splits.
pub trait ExportSink {
    /// The sink's error type.
    type Error: std::error::Error + Send + Sync + 'static;
    /// What one finished series (or the splits list) became, e.g. a file path.
    type Written;

    /// Starts a series, knowing its corporate actions (dividends go beside the bars).
    fn begin(
        &mut self,
        series: &SeriesSummary,
        actions: &[CorporateAction],
    ) -> Result<(), Self::Error>;

    /// Writes the next bars of the current series, in time order.
    fn write(&mut self, bars: &[Bar]) -> Result<(), Self::Error>;

    /// Completes the current series.
    fn finish(&mut self) -> Result<Self::Written, Self::Error>;

    /// Abandons the current series, leaving nothing half-written.
    fn abort(&mut self);

    /// Writes the splits of the exported daily series (sorted by ex-date then symbol).
    fn splits(&mut self, splits: &[CorporateAction]) -> Result<Self::Written, Self::Error>;
}

/// Which stored series to export.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportRequest {
    /// Only these symbols (empty: all).
    pub symbols: Vec<Symbol>,
    /// Only this timeframe (`None`: all).
    pub timeframe: Option<Timeframe>,
}

/// Streams every matching stored series into `sink` (memory bounded by a page), then the splits
/// of the exported daily series. Returns what was written, in order. No matching series is an
/// error.
pub async fn export<S: Store, K: ExportSink, O: Observer>(
    store: &S,
    sink: &mut K,
    observer: &O,
    request: &ExportRequest,
) -> Result<Vec<K::Written>, AppError> {
    let series = matching(store, &request.symbols, request.timeframe).await?;
    if series.is_empty() {
        return Err(AppError::Data(
            "nothing to export: no stored series match".to_string(),
        ));
    }
    observer.progress(Progress::Begin {
        phase: "exporting",
        total: series.iter().map(|s| s.rows).sum(),
    });
    let mut written = Vec::new();
    let mut splits = Vec::new();
    for s in &series {
        let actions = store
            .corporate_actions(&s.symbol)
            .await
            .map_err(AppError::port)?;
        if s.timeframe == Timeframe::D1 {
            splits.extend(
                actions
                    .iter()
                    .filter(|a| matches!(a.kind, CorporateActionKind::Split { .. }))
                    .cloned(),
            );
        }
        sink.begin(s, &actions).map_err(AppError::port)?;
        match export_one(store, sink, observer, whole(s)).await {
            Ok(()) => written.push(sink.finish().map_err(AppError::port)?),
            Err(e) => {
                sink.abort();
                return Err(e);
            }
        }
    }
    if !splits.is_empty() {
        splits.sort_by(|a, b| (a.ex_date, &a.symbol).cmp(&(b.ex_date, &b.symbol)));
        splits.dedup();
        written.push(sink.splits(&splits).map_err(AppError::port)?);
    }
    observer.progress(Progress::End);
    Ok(written)
}

async fn export_one<S: Store, K: ExportSink, O: Observer>(
    store: &S,
    sink: &mut K,
    observer: &O,
    query: BarQuery,
) -> Result<(), AppError> {
    let mut pager = BarPager::new(query, PAGE);
    while let Some(chunk) = pager.next_chunk(store).await.map_err(AppError::port)? {
        sink.write(&chunk).map_err(AppError::port)?;
        observer.progress(Progress::Advance(chunk.len() as u64));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Resample
// ---------------------------------------------------------------------------------------------

/// Which stored series to resample.
#[derive(Debug, Clone, PartialEq)]
pub struct ResampleRequest {
    /// Source bar size.
    pub from: Timeframe,
    /// Target bar size.
    pub to: Timeframe,
    /// Only these symbols (empty: every series of `from`).
    pub symbols: Vec<Symbol>,
    /// Overwrite stored target bars (by default resampled bars only fill missing ones).
    pub replace: bool,
}

/// One resampled series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResampledSeries {
    /// Symbol.
    pub symbol: Symbol,
    /// Source bar size.
    pub from: Timeframe,
    /// Target bar size.
    pub to: Timeframe,
    /// Source bars read.
    pub bars_in: u64,
    /// Target bars built.
    pub bars_out: u64,
    /// Source bars outside the exchange's sessions, skipped.
    pub outside_session: u64,
}

/// What a resample did.
#[derive(Debug, Clone, PartialEq)]
pub struct ResampleOutcome {
    /// Per series.
    pub series: Vec<ResampledSeries>,
    /// The import of the built bars.
    pub import: ImportOutcome,
}

/// Rebuilds `to` bars from the stored `from` bars of each matching series (on its exchange's
/// sessions) and stores them in one transaction. Without `replace`, stored `to` bars are kept:
/// derived bars never overwrite what a source delivered.
pub async fn resample<S: Store, O: Observer>(
    store: &S,
    observer: &O,
    request: &ResampleRequest,
) -> Result<ResampleOutcome, AppError> {
    let (from, to) = (request.from, request.to);
    let series = matching(store, &request.symbols, Some(from)).await?;
    if series.is_empty() {
        return Err(AppError::Data(format!(
            "no stored {from} series to resample (see `pulse data list`)"
        )));
    }
    observer.progress(Progress::Begin {
        phase: "resampling",
        total: series.iter().map(|s| s.rows).sum(),
    });
    let mut batches = Vec::new();
    let mut rows = Vec::new();
    for s in &series {
        let instrument = instrument_of(store, &s.symbol).await?;
        let mut resampler = Resampler::try_new(instrument.exchange, from, to)
            .map_err(|e| AppError::Usage(e.to_string()))?;
        let mut out = Vec::new();
        let mut pager = BarPager::new(whole(s), PAGE);
        while let Some(chunk) = pager.next_chunk(store).await.map_err(AppError::port)? {
            observer.progress(Progress::Advance(chunk.len() as u64));
            for b in chunk {
                if let Some(done) = resampler.push(b)? {
                    out.push(done);
                }
            }
        }
        let outside_session = resampler.out_of_session() as u64;
        if let Some(last) = resampler.finish() {
            out.push(last);
        }
        rows.push(ResampledSeries {
            symbol: s.symbol.clone(),
            from,
            to,
            bars_in: s.rows,
            bars_out: out.len() as u64,
            outside_session,
        });
        batches.push(ImportBatch {
            instrument,
            timeframe: to,
            bars: out,
            actions: Vec::new(),
            source: format!("resample:{}:{from}->{to}", s.symbol),
        });
    }
    observer.progress(Progress::End);
    let policy = policy(request.replace, ImportPolicy::InsertOnly);
    let summary = write_batches(store, observer, &batches, policy).await?;
    Ok(ResampleOutcome {
        series: rows,
        import: ImportOutcome {
            summary,
            kept_because: KEPT_RESAMPLED,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Indicators
// ---------------------------------------------------------------------------------------------

/// Indicator columns over a series, one value per bar (NaN while warming up).
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorTable {
    /// Bar size of the series.
    pub timeframe: Timeframe,
    /// The bars' timestamps.
    pub timestamps: Vec<Timestamp>,
    /// `(column name, values)` in spec order; each has one value per timestamp.
    pub columns: Vec<(String, Vec<f64>)>,
}

/// The stored bars of a series; an empty series is an error.
pub async fn stored_bars<S: Store>(
    store: &S,
    symbol: &Symbol,
    timeframe: Timeframe,
) -> Result<Vec<Bar>, AppError> {
    let bars = load_series(store, symbol, timeframe, None, None).await?;
    if bars.is_empty() {
        return Err(AppError::Data(format!(
            "no {timeframe} bars stored for {symbol} (see `pulse data list`)"
        )));
    }
    Ok(bars)
}

/// Indicators of a stored series.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorRequest {
    /// The series' symbol.
    pub symbol: Symbol,
    /// Its bar size.
    pub timeframe: Timeframe,
    /// A stored benchmark of the same bar size (for `corr` and `beta`).
    pub benchmark: Option<Symbol>,
    /// What to compute.
    pub specs: Vec<IndicatorSpec>,
}

/// Computes indicators over a stored series (see [`indicators`]).
pub async fn stored_indicators<S: Store>(
    store: &S,
    request: &IndicatorRequest,
) -> Result<IndicatorTable, AppError> {
    let instrument = instrument_of(store, &request.symbol).await?;
    let bars = stored_bars(store, &request.symbol, request.timeframe).await?;
    let benchmark = match &request.benchmark {
        Some(b) => Some(stored_bars(store, b, request.timeframe).await?),
        None => None,
    };
    indicators(
        &bars,
        request.timeframe,
        &instrument,
        benchmark.as_deref(),
        &request.specs,
    )
}

/// Computes `specs` over `bars` of `instrument`. Intraday session-anchored indicators (VWAP)
/// restart on each exchange-local trading date; `benchmark` bars are matched by timestamp (NaN
/// where the benchmark has no bar). A missing volume counts as 0.
pub fn indicators(
    bars: &[Bar],
    timeframe: Timeframe,
    instrument: &Instrument,
    benchmark: Option<&[Bar]>,
    specs: &[IndicatorSpec],
) -> Result<IndicatorTable, AppError> {
    if bars.is_empty() {
        return Err(AppError::Data(
            "no bars to compute indicators on".to_string(),
        ));
    }
    let timestamps: Vec<i64> = bars.iter().map(|b| b.ts.as_second()).collect();
    let col = |f: fn(&Bar) -> f64| bars.iter().map(f).collect::<Vec<f64>>();
    let (open, high, low, close) = (
        col(|b| b.open),
        col(|b| b.high),
        col(|b| b.low),
        col(|b| b.close),
    );
    let volume = col(|b| b.volume.unwrap_or(0.0));
    let cal = pulse_core::calendar::calendar(instrument.exchange);
    let sessions: Option<Vec<i64>> = timeframe.is_intraday().then(|| {
        bars.iter()
            .map(|b| {
                i64::from(
                    cal.local_date(b.ts)
                        .since(jiff::civil::date(1970, 1, 1))
                        .map(|s| s.get_days())
                        .unwrap_or(0),
                )
            })
            .collect()
    });
    let benchmark_close: Option<Vec<f64>> = benchmark.map(|bench| {
        let by_ts: BTreeMap<i64, f64> = bench.iter().map(|b| (b.ts.as_second(), b.close)).collect();
        timestamps
            .iter()
            .map(|t| by_ts.get(t).copied().unwrap_or(f64::NAN))
            .collect()
    });
    let input = OhlcvColumns {
        timestamps: &timestamps,
        open: &open,
        high: &high,
        low: &low,
        close: &close,
        volume: &volume,
        sessions: sessions.as_deref(),
        benchmark_close: benchmark_close.as_deref(),
    };
    let mut columns = Vec::new();
    for s in specs {
        columns.extend(spec::compute(s, &input).map_err(|e| AppError::Usage(e.to_string()))?);
    }
    Ok(IndicatorTable {
        timeframe,
        timestamps: bars.iter().map(|b| b.ts).collect(),
        columns,
    })
}
