//! `pulse data …`: import, fetch, list, show, check, export, resample, seed.

use crate::app::{App, usage};
use crate::cli::{
    BarLabelArg, CheckArgs, DataCommand, ExportArgs, ExportFormat, FetchArgs, ImportArgs,
    ResampleArgs, ShowArgs, SourceArg,
};
use crate::commands::{parse_instant, parse_symbols, parse_timeframe};
use crate::output::outln;
use crate::output::{bar, print_json, print_table};
use anyhow::{Context, bail};
use data_csv::{BarLabel, ImportOptions};
use jiff::Timestamp;
use pulse_core::ports::{
    BarPager, BarQuery, FetchRequest, ImportBatch, ImportPolicy, ImportSummary, MarketData,
    SeriesSummary, Store,
};
use pulse_core::quality::Finding;
use pulse_core::quality_check::{CheckReport, SeriesChecker};
use pulse_core::resample::Resampler;
use pulse_core::{Bar, CorporateActionKind, Instrument, Symbol, Timeframe};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use store_sqlite::SqliteStore;

/// Bars read per chunk when streaming from the store.
const CHUNK: u32 = 10_000;

/// Runs one `pulse data` subcommand.
pub async fn run(app: &App, cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Import(args) => import(app, args).await,
        DataCommand::Fetch(args) => fetch(app, args).await,
        DataCommand::List => list(app).await,
        DataCommand::Show(args) => show(app, args).await,
        DataCommand::Check(args) => check(app, args).await,
        DataCommand::Export(args) => export(app, args).await,
        DataCommand::Resample(args) => resample(app, args).await,
        DataCommand::Seed => {
            let (path, _) = app.db_path()?;
            let store = SqliteStore::open(&path)
                .await
                .with_context(|| format!("cannot open database {}", path.display()))?;
            let summary = seed(&store).await?;
            report_import(app, "bundled sample data", &summary, KEPT_FULLER)
        }
    }
}

fn bar_label(arg: BarLabelArg) -> BarLabel {
    match arg {
        BarLabelArg::Start => BarLabel::Start,
        BarLabelArg::End => BarLabel::End,
    }
}

/// Why `import`, `fetch` and `seed` keep a stored bar.
const KEPT_FULLER: &str = "stored row is fuller; --replace overwrites";

/// Why `resample` keeps a stored bar.
const KEPT_RESAMPLED: &str =
    "stored bar kept: resampled bars only fill missing ones; --replace overwrites";

/// The import policy of a command with a `--replace` flag.
fn policy(replace: bool, default: ImportPolicy) -> ImportPolicy {
    if replace {
        ImportPolicy::Replace
    } else {
        default
    }
}

/// Imports the bundled sample data in one transaction.
pub async fn seed(store: &SqliteStore) -> anyhow::Result<ImportSummary> {
    let mut batches = Vec::new();
    for (name, bytes) in crate::bundle::files()? {
        let parsed = data_csv::parse_reader(
            &format!("bundle/{name}"),
            &bytes[..],
            &ImportOptions::default(),
        )?;
        batches.extend(parsed.into_batches()?);
    }
    Ok(store.import(&batches).await?)
}

/// Runs `work` unless Ctrl-C arrives first; an interrupted store write is rolled back.
async fn interruptible<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => bail!("interrupted: the transaction was rolled back, nothing was written"),
    }
}

fn expand_paths(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file() && f.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv"))
                })
                .collect();
            inside.sort();
            files.extend(inside);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            bail!("{}: no such file or directory", p.display());
        }
    }
    if files.is_empty() {
        bail!(
            "no CSV files found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(files)
}

async fn import(app: &App, args: ImportArgs) -> anyhow::Result<()> {
    let files = expand_paths(&args.paths)?;
    if args.symbol.is_some() && files.len() > 1 {
        return Err(usage("--symbol needs exactly one file"));
    }
    let opts = ImportOptions {
        symbol: args
            .symbol
            .as_deref()
            .map(Symbol::try_new)
            .transpose()
            .map_err(|e| usage(e.to_string()))?,
        timeframe: args.timeframe.as_deref().map(parse_timeframe).transpose()?,
        bar_label: bar_label(args.bar_label),
        ..ImportOptions::default()
    };
    // Parse and validate everything before touching the database: a bad file writes nothing.
    let pb = bar(app.progress(), files.len() as u64, "parsing");
    let mut batches = Vec::new();
    for file in &files {
        pb.set_message(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let parsed = data_csv::parse_path(file, &opts)?;
        batches.extend(parsed.into_batches()?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let store = app.store().await?;
    let rows: usize = batches.iter().map(|b| b.bars.len()).sum();
    let spinner = bar(app.progress(), rows as u64, "writing");
    let policy = policy(args.replace, ImportPolicy::KeepFuller);
    let summary = interruptible(async { Ok(store.import_with(&batches, policy).await?) }).await?;
    spinner.finish_and_clear();
    report_import(
        app,
        &format!("{} file(s)", files.len()),
        &summary,
        KEPT_FULLER,
    )
}

/// Prints an import's counts; `kept_why` explains the kept bars, if any.
fn report_import(app: &App, what: &str, s: &ImportSummary, kept_why: &str) -> anyhow::Result<()> {
    if app.json {
        return print_json(s);
    }
    if !app.quiet {
        let kept = if s.bars_kept > 0 {
            format!(", {} kept ({kept_why})", s.bars_kept)
        } else {
            String::new()
        };
        outln!(
            "Imported {what}: bars {} new, {} updated, {} unchanged{kept}; corporate actions {} new, {} updated, {} unchanged.",
            s.bars_inserted,
            s.bars_updated,
            s.bars_unchanged,
            s.actions_inserted,
            s.actions_updated,
            s.actions_unchanged
        )?;
    }
    Ok(())
}

async fn fetch(app: &App, args: FetchArgs) -> anyhow::Result<()> {
    let symbols = parse_symbols(&args.symbols)?;
    let timeframe = parse_timeframe(&args.interval)?;
    if !matches!(timeframe, Timeframe::D1 | Timeframe::M1) {
        return Err(usage("--interval must be 1d or 1m"));
    }
    let start = parse_instant(&args.from, false, "--from")?;
    let end = match &args.to {
        Some(to) => parse_instant(to, true, "--to")?,
        None => pulse_core::ports::Clock::now(&pulse_core::WallClock),
    };
    if end <= start {
        return Err(usage("--to must be after --from"));
    }
    let requests: Vec<FetchRequest> = symbols
        .into_iter()
        .map(|symbol| FetchRequest {
            symbol,
            timeframe,
            start,
            end,
        })
        .collect();
    let batches = match args.source {
        SourceArg::Yahoo => {
            let client = data_yahoo::YahooClient::new(yahoo_config(app))?;
            fetch_all(app, &client, &requests).await?
        }
        SourceArg::Alphavantage => {
            let key = std::env::var("ALPHAVANTAGE_API_KEY").map_err(|_| {
                anyhow::anyhow!(
                    "Alpha Vantage needs an API key: set ALPHAVANTAGE_API_KEY in the environment"
                )
            })?;
            let client = data_yahoo::AlphaVantageClient::new(alphavantage_config(app, key))?;
            fetch_all(app, &client, &requests).await?
        }
    };
    let store = app.store().await?;
    let policy = policy(args.replace, ImportPolicy::KeepFuller);
    let summary = interruptible(async { Ok(store.import_with(&batches, policy).await?) }).await?;
    report_import(
        app,
        &format!("{} symbol(s)", batches.len()),
        &summary,
        KEPT_FULLER,
    )
}

/// Applies a `[yahoo]` / `[alphavantage]` section to a client's base URL and HTTP settings.
fn apply_source_config(
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

fn yahoo_config(app: &App) -> data_yahoo::YahooConfig {
    let mut cfg = data_yahoo::YahooConfig::default();
    apply_source_config(&app.config.yahoo, &mut cfg.base_url, &mut cfg.http);
    cfg
}

fn alphavantage_config(app: &App, key: String) -> data_yahoo::AlphaVantageConfig {
    let mut cfg = data_yahoo::AlphaVantageConfig::new(data_yahoo::ApiKey::new(key));
    apply_source_config(&app.config.alphavantage, &mut cfg.base_url, &mut cfg.http);
    cfg
}

async fn fetch_all<M: MarketData>(
    app: &App,
    source: &M,
    requests: &[FetchRequest],
) -> anyhow::Result<Vec<ImportBatch>> {
    let pb = bar(app.progress(), requests.len() as u64, "fetching");
    let mut batches = Vec::new();
    for req in requests {
        pb.set_message(req.symbol.to_string());
        let series = interruptible(async {
            source.fetch_bars(req).await.with_context(|| {
                format!("{} {} from {}", source.source_name(), req.symbol, req.start)
            })
        })
        .await?;
        batches.push(ImportBatch {
            instrument: series.instrument,
            timeframe: series.timeframe,
            bars: series.bars,
            actions: series.actions,
            source: format!("{}:{}", source.source_name(), req.symbol),
        });
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(batches)
}

#[derive(Serialize)]
struct SeriesRow<'a> {
    symbol: &'a str,
    timeframe: &'a str,
    rows: u64,
    first: String,
    last: String,
}

fn format_ts(ts: Timestamp, timeframe: Timeframe) -> String {
    if timeframe == Timeframe::D1 {
        ts.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()
    } else {
        ts.to_string()
    }
}

async fn list(app: &App) -> anyhow::Result<()> {
    let store = app.store().await?;
    let series = store.series().await?;
    let rows: Vec<SeriesRow> = series
        .iter()
        .map(|s| SeriesRow {
            symbol: s.symbol.as_str(),
            timeframe: s.timeframe.as_str(),
            rows: s.rows,
            first: format_ts(s.first, s.timeframe),
            last: format_ts(s.last, s.timeframe),
        })
        .collect();
    if app.json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        outln!(
            "The store is empty. Import data with `pulse data import PATH` or `pulse data seed`."
        )?;
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.symbol.to_string(),
                r.timeframe.to_string(),
                r.rows.to_string(),
                r.first.clone(),
                r.last.clone(),
            ]
        })
        .collect();
    print_table(&["symbol", "timeframe", "rows", "first", "last"], &table)
}

fn query_for(
    symbol: Symbol,
    timeframe: Timeframe,
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<BarQuery> {
    Ok(BarQuery {
        symbol,
        timeframe,
        start: from
            .map(|s| parse_instant(s, false, "--from"))
            .transpose()?,
        end: to.map(|s| parse_instant(s, true, "--to")).transpose()?,
    })
}

#[derive(Serialize)]
struct BarRow {
    ts: String,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    adj_close: Option<f64>,
    volume: Option<f64>,
}

async fn show(app: &App, args: ShowArgs) -> anyhow::Result<()> {
    let symbol = Symbol::try_new(args.symbol.as_str()).map_err(|e| usage(e.to_string()))?;
    let timeframe = parse_timeframe(&args.timeframe)?;
    let store = app.store().await?;
    if !store
        .series()
        .await?
        .iter()
        .any(|s| s.symbol == symbol && s.timeframe == timeframe)
    {
        bail!("no {timeframe} bars stored for {symbol} (see `pulse data list`)");
    }
    let query = query_for(symbol, timeframe, args.from.as_deref(), args.to.as_deref())?;
    let mut pager = BarPager::new(query, CHUNK);
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut kept: VecDeque<Bar> = VecDeque::new();
    'outer: while let Some(chunk) = pager.next_chunk(&store).await? {
        for b in chunk {
            if args.tail {
                if kept.len() == limit {
                    kept.pop_front();
                }
                kept.push_back(b);
            } else {
                if kept.len() == limit {
                    break 'outer;
                }
                kept.push_back(b);
            }
        }
    }
    let rows: Vec<BarRow> = kept
        .iter()
        .map(|b| BarRow {
            ts: format_ts(b.ts, timeframe),
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            adj_close: b.adj_close,
            volume: b.volume,
        })
        .collect();
    if app.json {
        return print_json(&rows);
    }
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.ts.clone(),
                r.open.to_string(),
                r.high.to_string(),
                r.low.to_string(),
                r.close.to_string(),
                opt(r.adj_close),
                opt(r.volume),
            ]
        })
        .collect();
    print_table(
        &[
            if timeframe == Timeframe::D1 {
                "date"
            } else {
                "ts"
            },
            "open",
            "high",
            "low",
            "close",
            "adj_close",
            "volume",
        ],
        &table,
    )
}

async fn instrument_of(store: &SqliteStore, symbol: &Symbol) -> anyhow::Result<Instrument> {
    Ok(store
        .instrument(symbol)
        .await?
        .unwrap_or_else(|| Instrument::infer(symbol)))
}

fn wanted(filter: &[Symbol], symbol: &Symbol) -> bool {
    filter.is_empty() || filter.contains(symbol)
}

async fn check(app: &App, args: CheckArgs) -> anyhow::Result<()> {
    let filter = parse_symbols(&args.symbols)?;
    let mut reports: Vec<CheckReport> = Vec::new();
    if !args.files.is_empty() {
        let opts = ImportOptions {
            bar_label: bar_label(args.bar_label),
            ..ImportOptions::default()
        };
        for file in expand_paths(&args.files)? {
            let parsed = data_csv::parse_path(&file, &opts)?;
            let Some(symbol) = parsed.symbol.clone() else {
                continue;
            };
            let instrument = Instrument::infer(&symbol);
            let actions: Vec<_> = parsed.actions.iter().map(|(_, a)| a.clone()).collect();
            let mut checker = SeriesChecker::new(&instrument, parsed.timeframe, &actions);
            for row in &parsed.rows {
                checker.push(&row.bar);
            }
            reports.push(checker.finish());
        }
    } else {
        let store = app.store().await?;
        let series: Vec<SeriesSummary> = store
            .series()
            .await?
            .into_iter()
            .filter(|s| wanted(&filter, &s.symbol))
            .collect();
        if series.is_empty() {
            bail!("nothing to check: no stored series match");
        }
        let total: u64 = series.iter().map(|s| s.rows).sum();
        let pb = bar(app.progress(), total, "checking");
        for s in &series {
            let instrument = instrument_of(&store, &s.symbol).await?;
            let actions = store.corporate_actions(&s.symbol).await?;
            let mut checker = SeriesChecker::new(&instrument, s.timeframe, &actions);
            let mut pager = BarPager::new(
                BarQuery {
                    symbol: s.symbol.clone(),
                    timeframe: s.timeframe,
                    start: None,
                    end: None,
                },
                CHUNK,
            );
            while let Some(chunk) = pager.next_chunk(&store).await? {
                pb.inc(chunk.len() as u64);
                for b in &chunk {
                    checker.push(b);
                }
            }
            reports.push(checker.finish());
        }
        pb.finish_and_clear();
        let scope: Vec<(Symbol, Timeframe)> = series
            .iter()
            .map(|s| (s.symbol.clone(), s.timeframe))
            .collect();
        let all: Vec<Finding> = reports
            .iter()
            .flat_map(|r| r.findings.iter().cloned())
            .collect();
        store.replace_findings(&scope, &all).await?;
    }
    let found: u64 = reports
        .iter()
        .map(|r| r.findings.len() as u64 + r.suppressed.values().sum::<u64>())
        .sum();
    let strict = || -> anyhow::Result<()> {
        if args.strict && found > 0 {
            bail!(
                "data check --strict: {found} finding(s) in {} series",
                reports
                    .iter()
                    .filter(|r| !r.findings.is_empty() || !r.suppressed.is_empty())
                    .count()
            );
        }
        Ok(())
    };
    if app.json {
        print_json(&reports)?;
        return strict();
    }
    for r in &reports {
        let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for f in &r.findings {
            *counts.entry(f.kind.as_str()).or_default() += 1;
        }
        for (k, n) in &r.suppressed {
            *counts.entry(k.as_str()).or_default() += n;
        }
        let summary = if counts.is_empty() {
            "clean".to_string()
        } else {
            counts
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        outln!(
            "{} {} ({} bars): {summary}",
            r.symbol,
            r.timeframe,
            r.bars_checked
        )?;
        if let Some(note) = &r.calendar_note {
            outln!("  note: {note}")?;
        }
        let shown = if args.all { r.findings.len() } else { 20 };
        for f in r.findings.iter().take(shown) {
            outln!("  {} {} {}", format_ts(f.ts, f.timeframe), f.kind, f.detail)?;
        }
        if r.findings.len() > shown {
            outln!(
                "  … {} more (use --all or --json)",
                r.findings.len() - shown
            )?;
        }
    }
    strict()
}

async fn export(app: &App, args: ExportArgs) -> anyhow::Result<()> {
    let filter = parse_symbols(&args.symbols)?;
    let tf_filter = args.timeframe.as_deref().map(parse_timeframe).transpose()?;
    let store = app.store().await?;
    let series: Vec<SeriesSummary> = store
        .series()
        .await?
        .into_iter()
        .filter(|s| wanted(&filter, &s.symbol) && tf_filter.is_none_or(|t| t == s.timeframe))
        .collect();
    if series.is_empty() {
        bail!("nothing to export: no stored series match");
    }
    let total: u64 = series.iter().map(|s| s.rows).sum();
    let pb = bar(app.progress(), total, "exporting");
    let mut written = Vec::new();
    let mut splits = Vec::new();
    for s in &series {
        let dir = args.out.join(s.timeframe.as_str());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let actions = store.corporate_actions(&s.symbol).await?;
        if s.timeframe == Timeframe::D1 {
            splits.extend(
                actions
                    .iter()
                    .filter(|a| matches!(a.kind, CorporateActionKind::Split { .. }))
                    .cloned(),
            );
        }
        let ext = match args.format {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
        };
        let path = dir.join(format!("{}.{ext}", s.symbol));
        let query = BarQuery {
            symbol: s.symbol.clone(),
            timeframe: s.timeframe,
            start: None,
            end: None,
        };
        // Write through a temporary sibling and rename it into place, so that an error or an
        // interruption never leaves a half-written export.
        let tmp = path.with_extension("partial");
        match export_one(&store, args.format, &tmp, query, &actions, &pb).await {
            Ok(()) => std::fs::rename(&tmp, &path)
                .with_context(|| format!("cannot move {} into place", path.display()))?,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
        written.push(path);
    }
    if !splits.is_empty() {
        splits.sort_by(|a, b| (a.ex_date, &a.symbol).cmp(&(b.ex_date, &b.symbol)));
        splits.dedup();
        let path = args.out.join("1d").join("SPLITS.csv");
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        data_csv::write_splits_csv(std::io::BufWriter::new(file), &splits)?;
        written.push(path);
    }
    pb.finish_and_clear();
    if app.json {
        return print_json(&written);
    }
    for p in &written {
        outln!("{}", p.display())?;
    }
    Ok(())
}

async fn export_one(
    store: &SqliteStore,
    format: ExportFormat,
    path: &Path,
    query: BarQuery,
    actions: &[pulse_core::CorporateAction],
    pb: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let timeframe = query.timeframe;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut pager = BarPager::new(query, CHUNK);
    match format {
        ExportFormat::Csv => {
            let mut w = data_csv::SeriesCsvWriter::new(std::io::BufWriter::new(file), timeframe)?
                .with_dividends(actions);
            while let Some(chunk) = pager.next_chunk(store).await? {
                w.write_bars(&chunk)?;
                pb.inc(chunk.len() as u64);
            }
            w.finish()?;
        }
        ExportFormat::Parquet => {
            let mut w =
                data_csv::parquet_io::ParquetBarWriter::new(&path.display().to_string(), file)?;
            while let Some(chunk) = pager.next_chunk(store).await? {
                w.write_bars(&chunk)?;
                pb.inc(chunk.len() as u64);
            }
            w.finish()?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct ResampleRow {
    symbol: String,
    from: String,
    to: String,
    bars_in: u64,
    bars_out: usize,
    outside_session: u64,
}

async fn resample(app: &App, args: ResampleArgs) -> anyhow::Result<()> {
    let from = parse_timeframe(&args.from)?;
    let to = parse_timeframe(&args.to)?;
    let filter = parse_symbols(&args.symbols)?;
    let store = app.store().await?;
    let series: Vec<SeriesSummary> = store
        .series()
        .await?
        .into_iter()
        .filter(|s| s.timeframe == from && wanted(&filter, &s.symbol))
        .collect();
    if series.is_empty() {
        bail!("no stored {from} series to resample (see `pulse data list`)");
    }
    let total: u64 = series.iter().map(|s| s.rows).sum();
    let pb = bar(app.progress(), total, "resampling");
    let mut batches = Vec::new();
    let mut rows = Vec::new();
    for s in &series {
        let instrument = instrument_of(&store, &s.symbol).await?;
        let mut resampler =
            Resampler::try_new(instrument.exchange, from, to).map_err(|e| usage(e.to_string()))?;
        let mut out = Vec::new();
        let mut pager = BarPager::new(
            BarQuery {
                symbol: s.symbol.clone(),
                timeframe: from,
                start: None,
                end: None,
            },
            CHUNK,
        );
        while let Some(chunk) = pager.next_chunk(&store).await? {
            pb.inc(chunk.len() as u64);
            for b in chunk {
                if let Some(done) = resampler.push(b)? {
                    out.push(done);
                }
            }
        }
        let outside = resampler.out_of_session() as u64;
        if let Some(last) = resampler.finish() {
            out.push(last);
        }
        rows.push(ResampleRow {
            symbol: s.symbol.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            bars_in: s.rows,
            bars_out: out.len(),
            outside_session: outside,
        });
        batches.push(ImportBatch {
            instrument,
            timeframe: to,
            bars: out,
            actions: Vec::new(),
            source: format!("resample:{}:{from}->{to}", s.symbol),
        });
    }
    pb.finish_and_clear();
    let policy = policy(args.replace, ImportPolicy::InsertOnly);
    let summary = interruptible(async { Ok(store.import_with(&batches, policy).await?) }).await?;
    if app.json {
        return print_json(&serde_json::json!({ "series": rows, "import": summary }));
    }
    for r in &rows {
        let warn = if r.outside_session > 0 {
            format!(" ({} bars outside sessions skipped)", r.outside_session)
        } else {
            String::new()
        };
        outln!(
            "{} {} → {}: {} bars → {}{warn}",
            r.symbol,
            r.from,
            r.to,
            r.bars_in,
            r.bars_out
        )?;
    }
    report_import(app, "resampled bars", &summary, KEPT_RESAMPLED)
}
