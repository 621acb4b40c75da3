//! The one error type of the PostgreSQL store.
//!
//! Every message names the server and database as `host:port/database` (see
//! [`crate::PostgresStore::target`]), never the connection URL: a password in the URL is never
//! printed.

use thiserror::Error;

/// Everything that can go wrong in the PostgreSQL store. Every message names the database
/// (`host:port/database`, without user or password), the batch, the row or the column concerned.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The connection URL cannot be parsed (the URL itself is not repeated: it may hold a
    /// password).
    #[error("invalid PostgreSQL URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },

    /// The server could not be reached or refused the connection (authentication, no such
    /// database…).
    #[error("cannot connect to PostgreSQL database {target}: {source}")]
    Connect {
        /// `host:port/database`.
        target: String,
        /// Underlying driver error.
        source: sqlx::Error,
    },

    /// The exclusive lock could not be taken.
    #[error("cannot take the lock {name:?} in PostgreSQL database {target}: {source}")]
    Lock {
        /// `host:port/database`.
        target: String,
        /// The lock's name.
        name: String,
        /// Underlying driver error.
        source: sqlx::Error,
    },

    /// The schema migrations failed (for example, the database was written by a newer `pulse`).
    #[error("cannot migrate PostgreSQL database {target} to schema version {version}: {source}")]
    Migrate {
        /// `host:port/database`.
        target: String,
        /// Schema version this build expects.
        version: i64,
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
    #[error("PostgreSQL error in {target} while {context}: {source}")]
    Database {
        /// `host:port/database`.
        target: String,
        /// What the store was doing, naming the batch / row when there is one.
        context: String,
        /// Underlying driver error.
        source: sqlx::Error,
    },

    /// A stored value cannot be read back into the domain type (the database was edited by hand
    /// or written by an incompatible program).
    #[error("corrupt value in {target}, {location}: {value:?} ({reason})")]
    Corrupt {
        /// `host:port/database`.
        target: String,
        /// Table, column and natural key of the row (`bars.ts of TSLA 1d`).
        location: String,
        /// The stored value.
        value: String,
        /// Why it cannot be decoded.
        reason: String,
    },
}
