//! The one error type of the SQLite store.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong in the SQLite store. Every message names the database file, the
/// batch, the row or the column concerned.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The parent directory of the database file could not be created.
    #[error("cannot create directory {path} for the SQLite database: {source}")]
    CreateDir {
        /// Directory that could not be created.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },

    /// An exclusive lock beside the database could not be taken.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },

    /// The file exists but is not a SQLite database (or is encrypted / corrupted in its header).
    #[error("{path} is not a SQLite database (or its header is corrupted): {source}")]
    NotADatabase {
        /// The offending file.
        path: PathBuf,
        /// Underlying driver error.
        source: sqlx::Error,
    },

    /// The database cannot be written here: the file (or its `-wal`/`-shm` companion) is
    /// read-only, its directory is not writable, the file system is read-only, or a parent in
    /// the path is not a directory. Every `pulse` command needs to write the database.
    #[error("SQLite database {path} is read-only / not writable: {reason}")]
    NotWritable {
        /// The database file.
        path: PathBuf,
        /// What is not writable, and why.
        reason: String,
    },

    /// The database file could not be opened or configured (permissions, a directory, locks…).
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Underlying driver error.
        source: sqlx::Error,
    },

    /// The schema migrations failed (for example, the file was written by a newer `pulse`).
    #[error("cannot migrate SQLite database {path} to schema version {target}: {source}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// Schema version this build expects.
        target: i64,
        /// Underlying migration error.
        source: sqlx::migrate::MigrateError,
    },

    /// An import batch is invalid (non-increasing timestamps, non-finite values…); nothing of
    /// the whole import was written.
    #[error("import batch {batch} ({series}): {reason}; nothing was imported")]
    InvalidBatch {
        /// Zero-based index of the batch in the import.
        batch: usize,
        /// The batch's source, symbol and timeframe (`data/TSLA.csv, TSLA 1d`).
        series: String,
        /// What is wrong, naming the row.
        reason: String,
    },

    /// A finding passed to `replace_findings` is invalid or outside the replaced scope.
    #[error("finding {index} ({finding}): {reason}; no finding was replaced")]
    InvalidFinding {
        /// Zero-based index of the finding.
        index: usize,
        /// Symbol, timeframe, kind and timestamp of the finding.
        finding: String,
        /// What is wrong.
        reason: String,
    },

    /// A sector row passed to `put_sectors` is invalid or repeats a symbol; no row was written.
    #[error("sector row {index} ({symbol}): {reason}; no sector was written")]
    InvalidSector {
        /// Zero-based index of the row.
        index: usize,
        /// The row's symbol.
        symbol: String,
        /// What is wrong, naming the field.
        reason: String,
    },

    /// A SQL statement failed.
    #[error("SQLite error in {path} while {context}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What the store was doing, naming the batch / row when there is one.
        context: String,
        /// Underlying driver error.
        source: sqlx::Error,
    },

    /// A stored value cannot be read back into the domain type (the file was edited by hand or
    /// written by an incompatible program).
    #[error("corrupt value in {path}, {location}: {value:?} ({reason})")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Table, column and natural key of the row (`bars.ts of TSLA 1d`).
        location: String,
        /// The stored value.
        value: String,
        /// Why it cannot be decoded.
        reason: String,
    },
}
