//! The store conformance suite (`pulse_testkit::store_conformance`) on SQLite files: every check
//! runs on a fresh database file of its own in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_testkit::store_conformance::{Backend, Counts, ErrorClass, LogRow};
use std::path::PathBuf;
use store_sqlite::{SqliteStore, StoreError};

/// A fresh SQLite file in a temporary directory (removed when dropped).
struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: SqliteStore,
}

impl Backend for Sqlite {
    type Store = SqliteStore;

    async fn fresh() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pulse.db");
        let store = SqliteStore::open(&path).await.unwrap();
        Sqlite {
            _dir: dir,
            path,
            store,
        }
    }

    fn store(&self) -> &SqliteStore {
        &self.store
    }

    async fn open_again(&self) -> SqliteStore {
        SqliteStore::open(&self.path).await.unwrap()
    }

    async fn close(store: &SqliteStore) {
        store.close().await;
    }

    fn classify(error: &StoreError) -> ErrorClass {
        match error {
            StoreError::InvalidBatch { batch, .. } => ErrorClass::InvalidBatch { batch: *batch },
            StoreError::InvalidFinding { index, .. } => {
                ErrorClass::InvalidFinding { index: *index }
            }
            StoreError::InvalidSector { index, symbol, .. } => ErrorClass::InvalidSector {
                index: *index,
                symbol: symbol.clone(),
            },
            StoreError::Database { .. } => ErrorClass::Database,
            StoreError::Corrupt { .. } => ErrorClass::Corrupt,
            _ => ErrorClass::Other,
        }
    }

    async fn table_counts(store: &SqliteStore) -> Counts {
        let c = store.table_counts().await.unwrap();
        [
            c.instruments,
            c.bars,
            c.corporate_actions,
            c.quality_findings,
            c.import_log,
        ]
    }

    async fn import_log(store: &SqliteStore) -> Vec<LogRow> {
        store
            .import_log()
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.symbol, e.timeframe, e.source, e.summary))
            .collect()
    }

    async fn schema_version(store: &SqliteStore) -> i64 {
        store.schema_version().await.unwrap()
    }

    fn latest_schema_version() -> i64 {
        store_sqlite::latest_schema_version()
    }

    async fn execute_raw(&self, sql: &'static str) {
        use sqlx::Connection;
        let url = format!("sqlite://{}", self.path.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

pulse_testkit::store_conformance_tests!(Sqlite);
