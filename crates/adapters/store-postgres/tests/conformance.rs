//! The store conformance suite (`pulse_testkit::store_conformance`) on PostgreSQL: every check
//! runs on a database of its own, created and dropped around it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::TestDb;
use pulse_testkit::store_conformance::{Backend, Counts, ErrorClass, LogRow};
use store_postgres::{PostgresStore, StoreError};

/// A fresh database and a store on it (the store is dropped before the database).
struct Postgres {
    store: PostgresStore,
    db: TestDb,
}

impl Backend for Postgres {
    type Store = PostgresStore;

    async fn fresh() -> Self {
        let db = TestDb::create().await;
        let store = PostgresStore::connect(&db.url).await.unwrap();
        Postgres { store, db }
    }

    fn store(&self) -> &PostgresStore {
        &self.store
    }

    async fn open_again(&self) -> PostgresStore {
        PostgresStore::connect(&self.db.url).await.unwrap()
    }

    async fn close(store: &PostgresStore) {
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

    async fn table_counts(store: &PostgresStore) -> Counts {
        let c = store.table_counts().await.unwrap();
        [
            c.instruments,
            c.bars,
            c.corporate_actions,
            c.quality_findings,
            c.import_log,
        ]
    }

    async fn import_log(store: &PostgresStore) -> Vec<LogRow> {
        store
            .import_log()
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.symbol, e.timeframe, e.source, e.summary))
            .collect()
    }

    async fn schema_version(store: &PostgresStore) -> i64 {
        store.schema_version().await.unwrap()
    }

    fn latest_schema_version() -> i64 {
        store_postgres::latest_schema_version()
    }

    async fn execute_raw(&self, sql: &'static str) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect_with(&self.db.options)
            .await
            .unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

pulse_testkit::store_conformance_tests!(Postgres);
