//! `data-csv` imports and exports market data as CSV files (and, with the `parquet` feature,
//! Parquet files of bars). Pure parsing and file I/O: no async, no SQL.
//!
//! Layouts are recognised from the header alone (see [`Layout`]); every error names the file,
//! the line and, where it applies, the column. [`parse_path`] is lenient on row order (so that a
//! checker can report duplicates); [`ParsedFile::into_batch`] is strict.
//!
//! ```no_run
//! use data_csv::{parse_path, ImportOptions};
//! let parsed = parse_path("TSLA.csv".as_ref(), &ImportOptions::default())?;
//! let batch = parsed.into_batch()?;
//! # Ok::<(), data_csv::CsvError>(())
//! ```

mod error;
mod export;
mod layout;
mod limit;
#[cfg(feature = "parquet")]
pub mod parquet_io;
mod parse;

pub use error::CsvError;
pub use export::{
    DAILY_HEADER, INTRADAY_HEADER, SPLITS_HEADER, SeriesCsvWriter, write_series_csv,
    write_splits_csv,
};
pub use layout::Layout;
pub use parse::{
    BarLabel, DEFAULT_MAX_LINE_BYTES, EARLIEST_YEAR, ImportOptions, LATEST_YEAR, MAX_PRICE,
    MAX_VOLUME, OrderIssue, ParsedFile, ParsedRow, parse_path, parse_reader,
};
