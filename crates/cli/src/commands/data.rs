//! `pulse data …`: import, fetch, list, show, check, export, resample, seed, import-sectors,
//! sectors. Flags become a `pulse_app::data` request; the outcome is printed.

use crate::app::{App, usage};
use crate::cli::{
    CheckArgs, DataCommand, ExportArgs, FetchArgs, ImportArgs, ImportSectorsArgs, ResampleArgs,
    ShowArgs, SourceArg,
};
use crate::commands::data_io::{self, Console, ExportDir, format_ts};
use crate::commands::{parse_instant, parse_symbols, parse_timeframe};
use crate::output::{outln, print_json, print_table};
use pulse_app::data::{self as uc, CheckOutcome, ImportOutcome};
use pulse_core::Timeframe;
use pulse_core::ports::Store;
use serde::Serialize;

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
            let store = app.open_store().await?;
            let outcome = uc::seed(&store, data_io::bundle_batches()?).await?;
            let sectors = uc::import_sectors(&store, &data_io::bundle_sectors()?).await?;
            if app.json {
                return print_json(&SeedJson {
                    summary: &outcome.summary,
                    sectors: &sectors,
                });
            }
            report_import(app, "bundled sample data", &outcome)?;
            report_sectors(app, "the bundled symbols", &sectors)
        }
        DataCommand::ImportSectors(args) => import_sectors(app, args).await,
        DataCommand::Sectors => sectors(app).await,
        DataCommand::Migrate(args) => {
            crate::commands::data_migrate::migrate(app, &args.from, &args.to).await
        }
    }
}

/// `pulse data seed --json`: the import's counts, and the sector import's under `sectors`.
#[derive(Serialize)]
struct SeedJson<'a> {
    #[serde(flatten)]
    summary: &'a pulse_core::ports::ImportSummary,
    sectors: &'a uc::SectorImportOutcome,
}

/// Imports the bundled sample data and its symbols' sectors (the first run of the default
/// database).
pub async fn seed<S: Store>(store: &S) -> anyhow::Result<()> {
    uc::seed(store, data_io::bundle_batches()?).await?;
    uc::import_sectors(store, &data_io::bundle_sectors()?).await?;
    Ok(())
}

/// Prints a sector import's counts.
fn report_sectors(app: &App, what: &str, o: &uc::SectorImportOutcome) -> anyhow::Result<()> {
    if !app.quiet {
        outln!(
            "Imported the sectors of {what}: {} row(s), {} new or changed, {} unchanged.",
            o.rows,
            o.written,
            o.unchanged
        )?;
    }
    Ok(())
}

async fn import_sectors(app: &App, args: ImportSectorsArgs) -> anyhow::Result<()> {
    // The whole file is checked before the database is opened: a bad row writes nothing.
    let rows = uc::read_sectors_file(&args.file)?;
    let outcome = uc::import_sectors(&app.store().await?, &rows).await?;
    if app.json {
        return print_json(&outcome);
    }
    report_sectors(app, &args.file.display().to_string(), &outcome)
}

/// A market capitalization in US dollars, short: `3.73T`, `89.8B`, `950.0M`.
fn short_usd(cap: f64) -> String {
    match cap {
        c if c >= 1e12 => format!("{:.2}T", c / 1e12),
        c if c >= 1e9 => format!("{:.1}B", c / 1e9),
        c if c >= 1e6 => format!("{:.1}M", c / 1e6),
        c => format!("{c:.0}"),
    }
}

async fn sectors(app: &App) -> anyhow::Result<()> {
    let outcome = uc::sectors(&app.store().await?).await?;
    if app.json {
        return print_json(&outcome);
    }
    if outcome.sectors.is_empty() {
        outln!(
            "No sectors stored. Import them with `pulse data import-sectors data/sectors.csv`."
        )?;
    } else {
        let table: Vec<Vec<String>> = outcome
            .sectors
            .iter()
            .map(|s| {
                vec![
                    s.symbol.to_string(),
                    s.sector.clone(),
                    s.industry.clone().unwrap_or_default(),
                    s.market_cap.map(short_usd).unwrap_or_default(),
                    s.source.clone(),
                ]
            })
            .collect();
        let header = ["symbol", "sector", "industry", "market cap (USD)", "source"];
        print_table(&header, &table)?;
    }
    if !outcome.unclassified.is_empty() {
        let names: Vec<&str> = outcome.unclassified.iter().map(|s| s.as_str()).collect();
        outln!(
            "No sector for {} stored symbol(s), each counted as its own sector: {}",
            names.len(),
            names.join(", ")
        )?;
    }
    Ok(())
}

/// Prints an import's counts, explaining the kept bars, if any.
fn report_import(app: &App, what: &str, o: &ImportOutcome) -> anyhow::Result<()> {
    let s = &o.summary;
    if app.json {
        return print_json(s);
    }
    if !app.quiet {
        let kept = if s.bars_kept > 0 {
            format!(", {} kept ({})", s.bars_kept, o.kept_because)
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

async fn import(app: &App, args: ImportArgs) -> anyhow::Result<()> {
    let files = uc::expand_paths(&args.paths)?;
    if args.symbol.is_some() && files.len() > 1 {
        return Err(usage("--symbol needs exactly one file"));
    }
    let opts = data_csv::ImportOptions {
        symbol: args.symbol.as_deref().map(data_io::symbol).transpose()?,
        timeframe: args.timeframe.as_deref().map(parse_timeframe).transpose()?,
        ..data_io::csv_options(args.bar_label)
    };
    // Parse and validate everything before touching the database: a bad file writes nothing.
    let batches = data_io::parse_files(app, &files, &opts)?;
    let store = app.store().await?;
    let request = uc::ImportRequest {
        batches,
        replace: args.replace,
    };
    let outcome = uc::import(&store, &Console::new(app), &request).await?;
    report_import(app, &format!("{} file(s)", files.len()), &outcome)
}

async fn fetch(app: &App, args: FetchArgs) -> anyhow::Result<()> {
    let request = uc::FetchRequest {
        symbols: parse_symbols(&args.symbols, "--symbols")?,
        timeframe: parse_timeframe(&args.interval)?,
        start: parse_instant(&args.from, false, "--from")?,
        end: match &args.to {
            Some(to) => parse_instant(to, true, "--to")?,
            None => pulse_core::ports::Clock::now(&pulse_core::WallClock),
        },
        replace: args.replace,
    };
    request.validate()?;
    let console = Console::new(app);
    let store = app.store().await?;
    let outcome = match args.source {
        SourceArg::Yahoo => uc::fetch(&data_io::yahoo(app)?, &store, &console, &request).await?,
        SourceArg::Alphavantage => {
            let source = data_io::alphavantage(app)?;
            uc::fetch(&source, &store, &console, &request).await?
        }
    };
    if app.json {
        return print_json(&outcome);
    }
    for r in outcome.checks.iter().filter(|r| !r.findings.is_empty()) {
        eprintln!(
            "warning: fetched {} {}: {} (stored as delivered; see `pulse data check`)",
            r.symbol,
            r.timeframe,
            uc::findings_summary(r)
        );
    }
    let what = format!("{} symbol(s)", request.symbols.len());
    report_import(app, &what, &outcome.import)
}

#[derive(Serialize)]
struct SeriesRow {
    symbol: String,
    timeframe: Timeframe,
    rows: u64,
    first: String,
    last: String,
}

async fn list(app: &App) -> anyhow::Result<()> {
    let rows: Vec<SeriesRow> = uc::list(&app.store().await?)
        .await?
        .into_iter()
        .map(|s| SeriesRow {
            symbol: s.symbol.to_string(),
            timeframe: s.timeframe,
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
        .into_iter()
        .map(|r| {
            let (rows, tf) = (r.rows.to_string(), r.timeframe.to_string());
            vec![r.symbol, tf, rows, r.first, r.last]
        })
        .collect();
    print_table(&["symbol", "timeframe", "rows", "first", "last"], &table)
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
    let instant = |s: Option<String>, end, flag| s.map(|s| parse_instant(&s, end, flag));
    let request = uc::ShowRequest {
        symbol: data_io::symbol(&args.symbol)?,
        timeframe: parse_timeframe(&args.timeframe)?,
        start: instant(args.from, false, "--from").transpose()?,
        end: instant(args.to, true, "--to").transpose()?,
        limit: args.limit,
        tail: args.tail,
    };
    let bars = uc::show(&app.store().await?, &request).await?;
    let tf = request.timeframe;
    let row = |b: &pulse_core::Bar| BarRow {
        ts: format_ts(b.ts, tf),
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        adj_close: b.adj_close,
        volume: b.volume,
    };
    if app.json {
        return print_json(&bars.iter().map(row).collect::<Vec<_>>());
    }
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let table: Vec<Vec<String>> = (bars.iter().map(row))
        .map(|r| {
            let prices = [r.open, r.high, r.low, r.close].map(|p| p.to_string());
            [
                vec![r.ts],
                prices.to_vec(),
                vec![opt(r.adj_close), opt(r.volume)],
            ]
            .concat()
        })
        .collect();
    let key = if tf == Timeframe::D1 { "date" } else { "ts" };
    let header = [key, "open", "high", "low", "close", "adj_close", "volume"];
    print_table(&header, &table)
}

async fn check(app: &App, args: CheckArgs) -> anyhow::Result<()> {
    let symbols = parse_symbols(&args.symbols, "--symbols")?;
    let outcome = if args.files.is_empty() {
        let request = uc::CheckRequest {
            symbols,
            strict: args.strict,
        };
        uc::check(&app.store().await?, &Console::new(app), &request).await?
    } else {
        let files = uc::expand_paths(&args.files)?;
        let reports = data_io::check_files(&files, args.bar_label)?;
        CheckOutcome {
            reports,
            strict: args.strict,
        }
    };
    if app.json {
        print_json(&outcome.reports)?;
        return Ok(outcome.verdict()?);
    }
    for r in &outcome.reports {
        let (symbol, tf, n) = (&r.symbol, r.timeframe, r.bars_checked);
        outln!("{symbol} {tf} ({n} bars): {}", uc::findings_summary(r))?;
        if let Some(note) = &r.calendar_note {
            outln!("  note: {note}")?;
        }
        let shown = if args.all { r.findings.len() } else { 20 };
        for f in r.findings.iter().take(shown) {
            outln!("  {} {} {}", format_ts(f.ts, f.timeframe), f.kind, f.detail)?;
        }
        if r.findings.len() > shown {
            let more = r.findings.len() - shown;
            outln!("  … {more} more (use --all or --json)")?;
        }
    }
    Ok(outcome.verdict()?)
}

async fn export(app: &App, args: ExportArgs) -> anyhow::Result<()> {
    let request = uc::ExportRequest {
        symbols: parse_symbols(&args.symbols, "--symbols")?,
        timeframe: args.timeframe.as_deref().map(parse_timeframe).transpose()?,
    };
    let store = app.store().await?;
    let mut sink = ExportDir::new(args.out, args.format);
    let written = uc::export(&store, &mut sink, &Console::new(app), &request).await?;
    if app.json {
        return print_json(&written);
    }
    for p in &written {
        outln!("{}", p.display())?;
    }
    Ok(())
}

async fn resample(app: &App, args: ResampleArgs) -> anyhow::Result<()> {
    let request = uc::ResampleRequest {
        from: parse_timeframe(&args.from)?,
        to: parse_timeframe(&args.to)?,
        symbols: parse_symbols(&args.symbols, "--symbols")?,
        replace: args.replace,
    };
    let store = app.store().await?;
    let outcome = uc::resample(&store, &Console::new(app), &request).await?;
    if app.json {
        let json =
            serde_json::json!({ "series": outcome.series, "import": outcome.import.summary });
        return print_json(&json);
    }
    for r in &outcome.series {
        let n = r.outside_session;
        let warn = (n > 0).then(|| format!(" ({n} bars outside sessions skipped)"));
        let (s, from, to, bin, bout) = (&r.symbol, r.from, r.to, r.bars_in, r.bars_out);
        outln!(
            "{s} {from} → {to}: {bin} bars → {bout}{}",
            warn.unwrap_or_default()
        )?;
    }
    report_import(app, "resampled bars", &outcome.import)
}
