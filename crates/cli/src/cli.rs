//! Command-line definitions (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Portfolio Pulse: collect market data, compute indicators, backtest, optimize and rebalance.
#[derive(Debug, Parser)]
#[command(name = "pulse", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// SQLite database file (default: $XDG_DATA_HOME/pulse/pulse.db, seeded with the bundled
    /// sample data on first use).
    #[arg(long, global = true, env = "PULSE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Configuration file (TOML; default: $XDG_CONFIG_HOME/pulse/config.toml if it exists).
    #[arg(long, global = true, env = "PULSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Machine-readable JSON output on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Market data: import, fetch, list, show, check, export, resample.
    #[command(subcommand)]
    Data(DataCommand),
    /// Technical indicators over a CSV file or a stored series.
    Ta(TaArgs),
}

/// `pulse data …`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Import CSV files (or directories of them) into the store, in one transaction.
    Import(ImportArgs),
    /// Fetch bars from Yahoo Finance or Alpha Vantage into the store.
    Fetch(FetchArgs),
    /// List stored series: symbol, timeframe, rows, first and last timestamps.
    List,
    /// Print the bars of one stored series.
    Show(ShowArgs),
    /// Data-quality check of the stored series (or of CSV files), storing the findings.
    Check(CheckArgs),
    /// Export stored series to CSV or Parquet files.
    Export(ExportArgs),
    /// Resample stored intraday series to a coarser timeframe and store the result.
    Resample(ResampleArgs),
    /// Import the bundled sample data (TSLA, TSLL, VIX, Fear & Greed, TSLA splits).
    Seed,
}

/// How intraday timestamps in a file are labelled.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BarLabelArg {
    /// Timestamps are the start of each bar (Portfolio Pulse's convention).
    Start,
    /// Timestamps are the end of each bar (some vendors): shifted back by one bar on import.
    End,
}

/// `pulse data import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV files or directories (every *.csv inside, not recursive).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Symbol to store under (default: the file name without `.csv`). Only with one file.
    #[arg(long)]
    pub symbol: Option<String>,
    /// Timeframe of the file (default: 1d for date layouts, inferred from spacing for ts layouts).
    #[arg(long)]
    pub timeframe: Option<String>,
    /// Intraday timestamp convention of the files.
    #[arg(long, value_enum, default_value_t = BarLabelArg::Start)]
    pub bar_label: BarLabelArg,
}

/// Data sources for `pulse data fetch`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SourceArg {
    /// Yahoo Finance chart API.
    Yahoo,
    /// Alpha Vantage (needs ALPHAVANTAGE_API_KEY in the environment).
    Alphavantage,
}

/// `pulse data fetch`
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Source to fetch from.
    #[arg(long, value_enum, default_value_t = SourceArg::Yahoo)]
    pub source: SourceArg,
    /// Comma-separated symbols.
    #[arg(long, value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// First date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub from: String,
    /// Last date (YYYY-MM-DD, inclusive; default today).
    #[arg(long)]
    pub to: Option<String>,
    /// Bar size: 1d or 1m.
    #[arg(long, default_value = "1d")]
    pub interval: String,
}

/// `pulse data show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Symbol to show.
    pub symbol: String,
    /// Timeframe.
    #[arg(long, default_value = "1d")]
    pub timeframe: String,
    /// First date or timestamp (inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last date or timestamp (inclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Print at most this many bars (the last ones when --tail).
    #[arg(long)]
    pub limit: Option<usize>,
    /// With --limit, show the most recent bars.
    #[arg(long)]
    pub tail: bool,
}

/// `pulse data check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check these CSV files instead of the store (findings are printed, not stored).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only these symbols (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Intraday timestamp convention of the files.
    #[arg(long, value_enum, default_value_t = BarLabelArg::Start)]
    pub bar_label: BarLabelArg,
    /// Print every finding (default: the first 20 per series).
    #[arg(long)]
    pub all: bool,
}

/// Export file formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV in the import layouts (round-trips byte for byte).
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// `pulse data export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Output directory (files go to DIR/<timeframe>/<SYMBOL>.csv|parquet).
    #[arg(long, default_value = "export")]
    pub out: PathBuf,
    /// Only these symbols (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Only this timeframe.
    #[arg(long)]
    pub timeframe: Option<String>,
}

/// `pulse data resample`
#[derive(Debug, Args)]
pub struct ResampleArgs {
    /// Target timeframe: 15m, 1h or 1d.
    #[arg(long)]
    pub to: String,
    /// Source timeframe.
    #[arg(long, default_value = "1m")]
    pub from: String,
    /// Only these symbols (comma-separated; default: every series of the source timeframe).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
}

/// Output formats of `pulse ta`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TaFormat {
    /// CSV with one row per bar.
    Csv,
    /// A JSON array of row objects.
    Json,
}

/// `pulse ta`
#[derive(Debug, Args)]
pub struct TaArgs {
    /// Read bars from this CSV file.
    #[arg(long, conflicts_with = "symbol", value_name = "FILE.csv")]
    pub input: Option<PathBuf>,
    /// Read bars of this stored symbol.
    #[arg(long)]
    pub symbol: Option<String>,
    /// Timeframe of the stored series.
    #[arg(long, default_value = "1d")]
    pub timeframe: String,
    /// Indicator specs such as rsi:14, macd:12,26,9, bbands:20,2, sma:5, atr:14, vwap.
    #[arg(long = "indicator", short = 'i', value_name = "SPEC")]
    pub indicators: Vec<String>,
    /// Output format (default csv; --json implies json).
    #[arg(long, value_enum)]
    pub format: Option<TaFormat>,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// List the indicators and their parameters.
    #[arg(long)]
    pub list: bool,
}
