//! The store the binary opens: the embedded SQLite file (the default) or a PostgreSQL database
//! (`--db postgres://…`, `[store] url`), as one [`Store`] for the use cases: every call delegates
//! to the backend in use.

use pulse_core::jiff::Timestamp;
use pulse_core::ports::{
    AuditEntry, BarQuery, ImportBatch, ImportPolicy, ImportSummary, RunHeader, RunRecord,
    SeriesSummary, Store, StoredTrial, TradeOrderRecord, TradingStep,
};
use pulse_core::quality::Finding;
use pulse_core::sector::SectorInfo;
use pulse_core::{Bar, CorporateAction, Fill, Instrument, Symbol, Timeframe};
use std::path::PathBuf;
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;

/// Where the store is: a SQLite file or a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://…` / `postgresql://…`); may hold a password, so it is
    /// never printed (see [`Location::describe`]).
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Location {
    /// Reads a `--db` value or a `[store]` setting: `postgres://…` or `postgresql://…` is a
    /// PostgreSQL database, `sqlite:PATH` or anything else a SQLite file.
    pub fn parse(value: &str) -> Location {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Location::Postgres(value.to_string())
        } else {
            let path = value.strip_prefix("sqlite://").unwrap_or(value);
            let path = path.strip_prefix("sqlite:").unwrap_or(path);
            Location::Sqlite(PathBuf::from(path))
        }
    }

    /// The location for messages: the file, or `postgres://host:port/database` without user or
    /// password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
                let (authority, db) = rest.split_once('/').unwrap_or((rest, ""));
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                format!("postgres://{host}/{db}")
            }
        }
    }

    /// Opens (creating a missing SQLite file; migrating either) the store.
    pub async fn open(&self) -> Result<AnyStore, AnyStoreError> {
        Ok(match self {
            Location::Sqlite(path) => AnyStore::Sqlite(SqliteStore::open(path).await?),
            Location::Postgres(url) => AnyStore::Postgres(PostgresStore::connect(url).await?),
        })
    }
}

/// The store in use.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// The embedded SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

/// An error of the store in use.
#[derive(Debug, thiserror::Error)]
pub enum AnyStoreError {
    /// From SQLite.
    #[error(transparent)]
    Sqlite(#[from] store_sqlite::StoreError),
    /// From PostgreSQL.
    #[error(transparent)]
    Postgres(#[from] store_postgres::StoreError),
}

/// The exclusive lock of the store in use (held for its `Drop`, which releases it).
#[derive(Debug)]
#[allow(dead_code)]
pub enum AnyLock {
    /// A SQLite lock file.
    Sqlite(store_sqlite::StoreLock),
    /// A PostgreSQL advisory lock.
    Postgres(store_postgres::StoreLock),
}

/// Delegates one port method to the backend in use, converting its error.
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => Ok($call.await?),
            AnyStore::Postgres($s) => Ok($call.await?),
        }
    };
}

impl Store for AnyStore {
    type Error = AnyStoreError;
    type Lock = AnyLock;

    async fn lock_exclusive(&self, name: &str) -> Result<AnyLock, AnyStoreError> {
        Ok(match self {
            AnyStore::Sqlite(s) => AnyLock::Sqlite(s.lock_exclusive(name).await?),
            AnyStore::Postgres(s) => AnyLock::Postgres(s.lock_exclusive(name).await?),
        })
    }

    async fn import(&self, batches: &[ImportBatch]) -> Result<ImportSummary, AnyStoreError> {
        delegate!(self, s => s.import(batches))
    }

    async fn import_with(
        &self,
        batches: &[ImportBatch],
        policy: ImportPolicy,
    ) -> Result<ImportSummary, AnyStoreError> {
        delegate!(self, s => s.import_with(batches, policy))
    }

    async fn instruments(&self) -> Result<Vec<Instrument>, AnyStoreError> {
        delegate!(self, s => s.instruments())
    }

    async fn instrument(&self, symbol: &Symbol) -> Result<Option<Instrument>, AnyStoreError> {
        delegate!(self, s => s.instrument(symbol))
    }

    async fn series(&self) -> Result<Vec<SeriesSummary>, AnyStoreError> {
        delegate!(self, s => s.series())
    }

    async fn bars_page(
        &self,
        query: &BarQuery,
        after: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<Bar>, AnyStoreError> {
        delegate!(self, s => s.bars_page(query, after, limit))
    }

    async fn corporate_actions(
        &self,
        symbol: &Symbol,
    ) -> Result<Vec<CorporateAction>, AnyStoreError> {
        delegate!(self, s => s.corporate_actions(symbol))
    }

    async fn replace_findings(
        &self,
        scope: &[(Symbol, Timeframe)],
        findings: &[Finding],
    ) -> Result<u64, AnyStoreError> {
        delegate!(self, s => s.replace_findings(scope, findings))
    }

    async fn findings(&self) -> Result<Vec<Finding>, AnyStoreError> {
        delegate!(self, s => s.findings())
    }

    async fn record_run(&self, run: &RunRecord) -> Result<i64, AnyStoreError> {
        delegate!(self, s => s.record_run(run))
    }

    async fn runs(&self, limit: u32) -> Result<Vec<RunHeader>, AnyStoreError> {
        delegate!(self, s => s.runs(limit))
    }

    async fn run(&self, id: i64) -> Result<Option<RunRecord>, AnyStoreError> {
        delegate!(self, s => s.run(id))
    }

    async fn delete_run(&self, id: i64) -> Result<bool, AnyStoreError> {
        delegate!(self, s => s.delete_run(id))
    }

    async fn document(&self, key: &str) -> Result<Option<String>, AnyStoreError> {
        delegate!(self, s => s.document(key))
    }

    async fn save_documents(
        &self,
        documents: &[(&str, String)],
        audit: &[AuditEntry],
    ) -> Result<(), AnyStoreError> {
        delegate!(self, s => s.save_documents(documents, audit))
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, AnyStoreError> {
        delegate!(self, s => s.audit_log(limit))
    }

    async fn save_trials(&self, trials: &[StoredTrial]) -> Result<(), AnyStoreError> {
        delegate!(self, s => s.save_trials(trials))
    }

    async fn trials(&self, study: &str) -> Result<Vec<StoredTrial>, AnyStoreError> {
        delegate!(self, s => s.trials(study))
    }

    async fn put_sectors(&self, rows: &[SectorInfo]) -> Result<usize, AnyStoreError> {
        delegate!(self, s => s.put_sectors(rows))
    }

    async fn sectors(&self) -> Result<Vec<SectorInfo>, AnyStoreError> {
        delegate!(self, s => s.sectors())
    }

    async fn save_trading_step(&self, step: &TradingStep<'_>) -> Result<usize, AnyStoreError> {
        delegate!(self, s => s.save_trading_step(step))
    }

    async fn trade_orders(&self, runner: &str) -> Result<Vec<TradeOrderRecord>, AnyStoreError> {
        delegate!(self, s => s.trade_orders(runner))
    }

    async fn trade_fills(&self, runner: &str) -> Result<Vec<Fill>, AnyStoreError> {
        delegate!(self, s => s.trade_fills(runner))
    }

    async fn trade_order_history(
        &self,
        client_id: &str,
    ) -> Result<Vec<(Timestamp, String)>, AnyStoreError> {
        delegate!(self, s => s.trade_order_history(client_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_values_pick_the_backend_and_urls_are_described_without_credentials() {
        assert_eq!(
            Location::parse("/tmp/p.db"),
            Location::Sqlite(PathBuf::from("/tmp/p.db"))
        );
        assert_eq!(
            Location::parse("sqlite:data/p.db"),
            Location::Sqlite(PathBuf::from("data/p.db"))
        );
        let pg = Location::parse("postgres://pulse:s3cret@db.local:5433/prices?sslmode=disable");
        assert!(matches!(pg, Location::Postgres(_)));
        assert_eq!(pg.describe(), "postgres://db.local:5433/prices");
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert!(matches!(
            Location::parse("postgresql://h/db"),
            Location::Postgres(_)
        ));
    }
}
