//! The adapters behind `pulse data` and `pulse ta`: CSV files (and the bundle) parsed into
//! import batches, the export directory, the vendors' clients configured from `[yahoo]` /
//! `[alphavantage]`, and the terminal as a `pulse_app::data::Observer` (progress bars, Ctrl-C).

use crate::app::{App, usage};
use crate::cli::{BarLabelArg, ExportFormat};
use crate::output::bar;
use anyhow::Context;
use data_csv::parquet_io::ParquetBarWriter;
use data_csv::{BarLabel, ImportOptions, ParsedFile, SeriesCsvWriter};
use indicatif::ProgressBar;
use pulse_app::data::{ExportSink, Observer, Progress, check_bars, regular_file};
use pulse_core::ports::{ImportBatch, SeriesSummary};
use pulse_core::quality_check::CheckReport;
use pulse_core::{Bar, CorporateAction};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

/// The terminal: a progress bar per phase (hidden with `--quiet` or `--json`); Ctrl-C cancels.
pub struct Console {
    show: bool,
    bar: RefCell<ProgressBar>,
}

impl Console {
    /// The console of this invocation.
    pub fn new(app: &App) -> Console {
        Console {
            show: app.progress(),
            bar: RefCell::new(ProgressBar::hidden()),
        }
    }
}

impl Observer for Console {
    fn progress(&self, step: Progress<'_>) {
        let mut pb = self.bar.borrow_mut();
        match step {
            Progress::Begin { phase, total } => *pb = bar(self.show, total, phase),
            Progress::Item(item) => pb.set_message(item.to_string()),
            Progress::Advance(n) => pb.inc(n),
            Progress::End => pb.finish_and_clear(),
        }
    }

    async fn cancelled(&self) {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handler: nothing can interrupt.
            std::future::pending::<()>().await;
        }
    }
}

/// The parser's options for a `--bar-label`.
pub fn csv_options(label: BarLabelArg) -> ImportOptions {
    ImportOptions {
        bar_label: match label {
            BarLabelArg::Start => BarLabel::Start,
            BarLabelArg::End => BarLabel::End,
        },
        ..ImportOptions::default()
    }
}

/// Parses one CSV file, after checking that it is a regular file (a FIFO or a device is named
/// as such, never opened).
pub fn parse_file(path: &Path, opts: &ImportOptions) -> anyhow::Result<ParsedFile> {
    regular_file(path)?;
    Ok(data_csv::parse_path(path, opts)?)
}

/// The data-quality check of each CSV file (findings are reported, not stored); a splits list,
/// which has no bars, is skipped.
pub fn check_files(files: &[PathBuf], label: BarLabelArg) -> anyhow::Result<Vec<CheckReport>> {
    let opts = csv_options(label);
    let mut reports = Vec::new();
    for file in files {
        let parsed = parse_file(file, &opts)?;
        let Some(symbol) = &parsed.symbol else {
            continue;
        };
        let actions: Vec<_> = parsed.actions.iter().map(|(_, a)| a.clone()).collect();
        let bars = parsed.rows.iter().map(|r| &r.bar);
        let instrument = pulse_core::Instrument::infer(symbol);
        reports.push(check_bars(&instrument, parsed.timeframe, &actions, bars));
    }
    Ok(reports)
}

/// Parses `files` into import batches (strictly: a bad row fails before anything is written).
pub fn parse_files(
    app: &App,
    files: &[PathBuf],
    opts: &ImportOptions,
) -> anyhow::Result<Vec<ImportBatch>> {
    let pb = bar(app.progress(), files.len() as u64, "parsing");
    let mut batches = Vec::new();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        pb.set_message(name.unwrap_or_default());
        batches.extend(parse_file(file, opts)?.into_batches()?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(batches)
}

/// The bundled sample data as import batches.
pub fn bundle_batches() -> anyhow::Result<Vec<ImportBatch>> {
    let mut batches = Vec::new();
    for (name, bytes) in crate::bundle::files()? {
        let name = format!("bundle/{name}");
        let parsed = data_csv::parse_reader(&name, &bytes[..], &ImportOptions::default())?;
        batches.extend(parsed.into_batches()?);
    }
    Ok(batches)
}

/// The sectors of the bundled symbols (the rows of `data/sectors.csv` compiled into the binary).
pub fn bundle_sectors() -> anyhow::Result<Vec<pulse_core::SectorInfo>> {
    Ok(pulse_app::data::parse_sectors(
        "bundle/sectors.csv",
        crate::bundle::SECTORS,
    )?)
}

/// Applies a `[yahoo]` / `[alphavantage]` section to a client's base URL and HTTP settings.
fn apply(
    c: &crate::config::SourceConfig,
    base_url: &mut String,
    http: &mut data_yahoo::HttpConfig,
) {
    if let Some(u) = &c.base_url {
        *base_url = u.clone();
    }
    if let Some(ms) = c.min_interval_ms {
        http.min_interval = std::time::Duration::from_millis(ms);
    }
    if let Some(n) = c.max_retries {
        http.max_retries = n;
    }
    if let Some(s) = c.timeout_secs {
        http.timeout = std::time::Duration::from_secs(s);
    }
}

/// The Yahoo client as configured.
pub fn yahoo(app: &App) -> anyhow::Result<data_yahoo::YahooClient> {
    let mut cfg = data_yahoo::YahooConfig::default();
    apply(&app.config.yahoo, &mut cfg.base_url, &mut cfg.http);
    Ok(data_yahoo::YahooClient::new(cfg)?)
}

/// The Alpha Vantage client as configured, with the key from `ALPHAVANTAGE_API_KEY`.
pub fn alphavantage(app: &App) -> anyhow::Result<data_yahoo::AlphaVantageClient> {
    let key = std::env::var("ALPHAVANTAGE_API_KEY").map_err(|_| {
        anyhow::anyhow!(
            "Alpha Vantage needs an API key: set ALPHAVANTAGE_API_KEY in the environment"
        )
    })?;
    let mut cfg = data_yahoo::AlphaVantageConfig::new(data_yahoo::ApiKey::new(key));
    apply(&app.config.alphavantage, &mut cfg.base_url, &mut cfg.http);
    Ok(data_yahoo::AlphaVantageClient::new(cfg)?)
}

enum Writer {
    Csv(SeriesCsvWriter<BufWriter<File>>),
    Parquet(ParquetBarWriter<File>),
}

/// Files under `DIR/<timeframe>/<SYMBOL>.csv|parquet` (splits in `DIR/1d/SPLITS.csv`), each
/// written through a `.partial` sibling renamed into place, so that an error or an interruption
/// never leaves a half-written export.
pub struct ExportDir {
    out: PathBuf,
    format: ExportFormat,
    current: Option<(Writer, PathBuf, PathBuf)>,
}

impl ExportDir {
    /// An export of `format` files into `out`.
    pub fn new(out: PathBuf, format: ExportFormat) -> ExportDir {
        ExportDir {
            out,
            format,
            current: None,
        }
    }
}

fn at(path: &Path, what: &str) -> impl FnOnce(io::Error) -> io::Error {
    let context = format!("cannot {what} {}", path.display());
    move |e| io::Error::new(e.kind(), format!("{context}: {e}"))
}

impl ExportSink for ExportDir {
    type Error = io::Error;
    type Written = PathBuf;

    fn begin(&mut self, s: &SeriesSummary, actions: &[CorporateAction]) -> io::Result<()> {
        let dir = self.out.join(s.timeframe.as_str());
        std::fs::create_dir_all(&dir).map_err(at(&dir, "create"))?;
        let (ext, path) = match self.format {
            ExportFormat::Csv => ("csv", dir.join(format!("{}.csv", s.symbol))),
            ExportFormat::Parquet => ("parquet", dir.join(format!("{}.parquet", s.symbol))),
        };
        let tmp = path.with_extension("partial");
        let file = File::create(&tmp).map_err(at(&path, "create"))?;
        let writer = match ext {
            "csv" => Writer::Csv(
                SeriesCsvWriter::new(BufWriter::new(file), s.timeframe)?.with_dividends(actions),
            ),
            _ => Writer::Parquet(
                ParquetBarWriter::new(&tmp.display().to_string(), file)
                    .map_err(io::Error::other)?,
            ),
        };
        self.current = Some((writer, tmp, path));
        Ok(())
    }

    fn write(&mut self, bars: &[Bar]) -> io::Result<()> {
        match &mut self.current {
            Some((Writer::Csv(w), ..)) => w.write_bars(bars),
            Some((Writer::Parquet(w), ..)) => w.write_bars(bars).map_err(io::Error::other),
            None => Err(io::Error::other("export: no series begun")),
        }
    }

    fn finish(&mut self) -> io::Result<PathBuf> {
        let Some((writer, tmp, path)) = self.current.take() else {
            return Err(io::Error::other("export: no series begun"));
        };
        let done = match writer {
            Writer::Csv(w) => w.finish().map(drop),
            Writer::Parquet(w) => w.finish().map(drop).map_err(io::Error::other),
        };
        if let Err(e) = done.and_then(|()| std::fs::rename(&tmp, &path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(at(&path, "write")(e));
        }
        Ok(path)
    }

    fn abort(&mut self) {
        if let Some((_, tmp, _)) = self.current.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }

    fn splits(&mut self, splits: &[CorporateAction]) -> io::Result<PathBuf> {
        let path = self.out.join("1d").join("SPLITS.csv");
        let file = File::create(&path).map_err(at(&path, "create"))?;
        data_csv::write_splits_csv(BufWriter::new(file), splits)?;
        Ok(path)
    }
}

/// A `--symbol` value.
pub fn symbol(s: &str) -> anyhow::Result<pulse_core::Symbol> {
    pulse_core::Symbol::try_new(s).map_err(|e| usage(e.to_string()))
}

/// A stored timestamp as shown: the date of a daily bar, the instant of an intraday one.
pub fn format_ts(ts: jiff::Timestamp, timeframe: pulse_core::Timeframe) -> String {
    if timeframe == pulse_core::Timeframe::D1 {
        ts.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()
    } else {
        ts.to_string()
    }
}

/// The error of a file that could not be created, with context.
pub fn create(path: &Path) -> anyhow::Result<File> {
    File::create(path).with_context(|| format!("cannot create {}", path.display()))
}
