//! The one error type of this crate. Every message names the file, and the line (and column,
//! counted from 1 as CSV fields) where the problem is.

use pulse_core::jiff::Timestamp;
use thiserror::Error;

/// What can go wrong when reading or converting a CSV file.
#[derive(Debug, Error)]
pub enum CsvError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// File name or path.
        file: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no line at all (not even a header).
    #[error("{file}:1: empty file: expected a header line, one of these headers: {expected}")]
    Empty {
        /// File name or path.
        file: String,
        /// The accepted headers.
        expected: String,
    },
    /// The header line is not one of the known layouts.
    #[error(
        "{file}:{line}:{column}: unrecognised header `{found}`: {detail}; expected one of these headers: {expected}"
    )]
    Header {
        /// File name or path.
        file: String,
        /// Line of the header (1 unless blank lines precede it).
        line: u64,
        /// First column (1-based) that differs from the closest known header.
        column: usize,
        /// The header as found.
        found: String,
        /// What differs from the closest known header.
        detail: String,
        /// The accepted headers.
        expected: String,
    },
    /// A field could not be read as what its column holds.
    #[error("{file}:{line}:{column}: field `{field}`: {reason} (found {value:?})")]
    Field {
        /// File name or path.
        file: String,
        /// Line (1-based).
        line: u64,
        /// Column (1-based field index).
        column: usize,
        /// Column name.
        field: &'static str,
        /// The offending text (truncated to 64 characters).
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A data line has more or fewer fields than the header.
    #[error("{file}:{line}: expected {expected} fields ({header}), found {found}")]
    FieldCount {
        /// File name or path.
        file: String,
        /// Line (1-based).
        line: u64,
        /// Field count of the header.
        expected: usize,
        /// Field count of the line.
        found: usize,
        /// The header's columns, comma-separated.
        header: String,
    },
    /// A line is longer than `ImportOptions::max_line_bytes`; reading stopped there.
    #[error(
        "{file}:{line}: line longer than the limit of {limit} bytes (not a CSV of bars, or raise max_line_bytes)"
    )]
    LineTooLong {
        /// File name or path.
        file: String,
        /// Line (1-based).
        line: u64,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A field holds a NUL byte or invalid UTF-8: the file is binary, not CSV text.
    #[error("{file}:{line}:{column}: binary data, not CSV text: {what}")]
    Binary {
        /// File name or path.
        file: String,
        /// Line (1-based).
        line: u64,
        /// Column (1-based field index).
        column: usize,
        /// `NUL byte` or `invalid UTF-8`.
        what: String,
    },
    /// The CSV reader itself failed (e.g. an unterminated quote).
    #[error("{file}:{line}: malformed CSV: {reason}")]
    Malformed {
        /// File name or path.
        file: String,
        /// Line (1-based) where the reader stopped.
        line: u64,
        /// The reader's explanation.
        reason: String,
    },
    /// Two rows carry the same timestamp (strict conversion only).
    #[error("{file}: lines {first_line} and {second_line}: duplicate timestamp {ts}")]
    Duplicate {
        /// File name or path.
        file: String,
        /// The timestamp (or ex-date at 00:00Z) found twice.
        ts: Timestamp,
        /// Line of the first occurrence.
        first_line: u64,
        /// Line of the repeat.
        second_line: u64,
    },
    /// A row's timestamp is earlier than a previous row's (strict conversion only).
    #[error(
        "{file}: line {line} ({ts}) is out of order: earlier than line {prev_line} ({prev_ts})"
    )]
    OutOfOrder {
        /// File name or path.
        file: String,
        /// The offending line.
        line: u64,
        /// Its timestamp.
        ts: Timestamp,
        /// The earlier line with a later timestamp.
        prev_line: u64,
        /// That line's timestamp.
        prev_ts: Timestamp,
    },
    /// The timeframe could not be inferred or contradicts the layout.
    #[error("{file}: {reason}")]
    Timeframe {
        /// File name or path.
        file: String,
        /// Explanation.
        reason: String,
    },
    /// No valid symbol is known for the file, or symbols disagree.
    #[error("{file}: {reason}")]
    Symbol {
        /// File name or path.
        file: String,
        /// Explanation.
        reason: String,
    },
    /// Writing or reading a Parquet file failed.
    #[cfg(feature = "parquet")]
    #[error("{file}: parquet: {reason}")]
    Parquet {
        /// File name or path.
        file: String,
        /// The Parquet library's explanation.
        reason: String,
    },
}

impl CsvError {
    /// The line the error points at, when it points at one.
    pub fn line(&self) -> Option<u64> {
        match self {
            CsvError::Header { line, .. }
            | CsvError::Field { line, .. }
            | CsvError::FieldCount { line, .. }
            | CsvError::LineTooLong { line, .. }
            | CsvError::Binary { line, .. }
            | CsvError::Malformed { line, .. }
            | CsvError::OutOfOrder { line, .. } => Some(*line),
            CsvError::Duplicate { second_line, .. } => Some(*second_line),
            CsvError::Empty { .. } => Some(1),
            _ => None,
        }
    }
}
