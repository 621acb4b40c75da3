//! `store-postgres`: the PostgreSQL implementation of [`pulse_core::ports::Store`], for a shared or
//! large deployment (several processes and machines on one database).
//!
//! The same tables, natural keys and meaning as `store-sqlite` (its own migrations under
//! `migrations/`, embedded by `sqlx::migrate!`): timestamps are unix seconds (`BIGINT`, whole
//! seconds as in SQLite), prices IEEE doubles (`DOUBLE PRECISION`, read back bit for bit), decimal
//! amounts exact `rust_decimal` strings, text keys in byte order (`COLLATE "C"`, as SQLite).
//!
//! Writes are idempotent upserts (`ON CONFLICT`) inside one transaction per port call, with the
//! same exact counts and the same [`ImportPolicy`] rules as SQLite. Where SQLite serializes every
//! writer (`BEGIN IMMEDIATE`), this store serializes only the writers that read, decide and write
//! the same rows: transaction-scoped advisory locks per symbol (imports), per series (findings)
//! and per runner (trading steps), always taken in one global order so they cannot deadlock.
//! [`Store::lock_exclusive`] is a session advisory lock on a connection of its own, released when
//! the guard is dropped or the process dies (the server ends the session). Migrations run under
//! an advisory lock, so processes opening a fresh database at once apply them once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), store_postgres::StoreError> {
//! use pulse_core::ports::Store;
//! let store = store_postgres::PostgresStore::connect("postgres://pulse@db.local/pulse").await?;
//! for series in store.series().await? {
//!     println!("{} {} {} rows", series.symbol, series.timeframe, series.rows);
//! }
//! store.close().await;
//! # Ok(()) }
//! ```

mod sqlite_copy;
pub use sqlite_copy::{CopyError, copy_sqlite_file};

mod error;

pub use error::StoreError;

use pulse_core::jiff::Timestamp;
use pulse_core::jiff::civil::Date;
use pulse_core::ports::{
    AlertRecord, AuditEntry, BarQuery, Clock, ImportBatch, ImportPolicy, ImportSummary, RunHeader,
    RunRecord, SeriesSummary, Store, StoredTrial, TradeOrderRecord, TradingStep,
};
use pulse_core::quality::{Finding, FindingKind};
use pulse_core::rust_decimal::Decimal;
use pulse_core::sector::SectorInfo;
use pulse_core::{
    AssetClass, Bar, ClientOrderId, CorporateAction, CorporateActionKind, Currency, Exchange, Fill,
    Instrument, OrderKind, OrderRequest, Side, Symbol, TimeInForce, Timeframe, WallClock,
};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// The embedded migrations (`crates/adapters/store-postgres/migrations`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Bars per `INSERT … SELECT FROM unnest(…)` statement (and per read of the stored bars).
const UPSERT_CHUNK: usize = 5_000;

/// Connections in the pool.
const MAX_CONNECTIONS: u32 = 4;

/// How long to wait for a free pooled connection before failing (seconds).
const ACQUIRE_TIMEOUT_SECS: u64 = 60;

/// Row counts of every market-data table, for diagnostics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableCounts {
    /// Rows in `instruments`.
    pub instruments: u64,
    /// Rows in `bars`.
    pub bars: u64,
    /// Rows in `corporate_actions`.
    pub corporate_actions: u64,
    /// Rows in `quality_findings`.
    pub quality_findings: u64,
    /// Rows in `import_log` (one per imported batch).
    pub import_log: u64,
}

/// One row of the import log: what one batch of one import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLogEntry {
    /// Sequence number (increasing with time).
    pub id: i64,
    /// When the import ran (UTC, whole seconds).
    pub imported_at: Timestamp,
    /// The batch's source (a file path or `yahoo:TSLA`).
    pub source: String,
    /// Symbol of the batch.
    pub symbol: String,
    /// Timeframe of the batch (`1m`, `1d`…).
    pub timeframe: String,
    /// Row counts of the batch (kept bars are logged among the unchanged ones, as in SQLite, so
    /// `bars_kept` reads 0).
    pub summary: ImportSummary,
}

/// A Portfolio Pulse store in one PostgreSQL database. Cheap to clone (a shared connection
/// pool). Its `Debug` output names the database without credentials.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// For the lock connections (shared: a clone of the store stays small).
    options: std::sync::Arc<PgConnectOptions>,
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// `host:port/database` of connection options: what errors name instead of the URL.
fn target_of(options: &PgConnectOptions) -> String {
    let db = options
        .get_database()
        .unwrap_or_else(|| options.get_username());
    match options.get_socket() {
        Some(socket) => format!("{}/{db}", socket.display()),
        None => format!("{}:{}/{db}", options.get_host(), options.get_port()),
    }
}

/// The password of a URL, if it has one (to scrub it from a driver's message, should one ever
/// repeat it).
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and
    /// migrates it to the latest schema (under an advisory lock, so that processes opening the
    /// same fresh database at once apply each migration once). The database must exist. Errors
    /// name `host:port/database`, never the URL (it may hold a password).
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            let mut reason = e.to_string();
            if let Some(password) = url_password(url) {
                reason = reason.replace(&password, "***");
            }
            StoreError::InvalidUrl { reason }
        })?;
        Self::connect_with(options).await
    }

    /// As [`PostgresStore::connect`], from parsed connection options.
    pub async fn connect_with(options: PgConnectOptions) -> Result<PostgresStore, StoreError> {
        let target = target_of(&options);
        // One direct connection first: a wrong host, password or database fails at once with
        // the server's own reason (the pool would retry until its acquire timeout).
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(|source| StoreError::Connect {
                target: target.clone(),
                source,
            })?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(ACQUIRE_TIMEOUT_SECS))
            .connect_with(options.clone())
            .await
            .map_err(|source| StoreError::Connect {
                target: target.clone(),
                source,
            })?;
        if let Err(source) = migrate_locked(&pool).await {
            pool.close().await;
            return Err(StoreError::Migrate {
                target,
                version: latest_schema_version(),
                source,
            });
        }
        Ok(PostgresStore {
            pool,
            options: std::sync::Arc::new(options),
            target,
        })
    }

    /// The database as `host:port/database` (no user, no password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The connection pool (for tools that need SQL of their own, such as a data migration).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema version the database is at (the highest applied migration; 0 if none).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.db("reading the schema version", e))?;
        Ok(v.unwrap_or(0))
    }

    /// Row counts of every market-data table.
    pub async fn table_counts(&self) -> Result<TableCounts, StoreError> {
        let (instruments, bars, corporate_actions, quality_findings, import_log): (
            i64,
            i64,
            i64,
            i64,
            i64,
        ) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM instruments), (SELECT count(*) FROM bars), \
             (SELECT count(*) FROM corporate_actions), (SELECT count(*) FROM quality_findings), \
             (SELECT count(*) FROM import_log)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| self.db("counting rows", e))?;
        Ok(TableCounts {
            instruments: to_u64(instruments),
            bars: to_u64(bars),
            corporate_actions: to_u64(corporate_actions),
            quality_findings: to_u64(quality_findings),
            import_log: to_u64(import_log),
        })
    }

    /// The import log, oldest first (one entry per imported batch).
    pub async fn import_log(&self) -> Result<Vec<ImportLogEntry>, StoreError> {
        type Row = (
            i64,
            i64,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, imported_at, source, symbol, timeframe, bars_inserted, bars_updated, \
             bars_unchanged, actions_inserted, actions_updated, actions_unchanged \
             FROM import_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading the import log", e))?;
        rows.into_iter()
            .map(|r| {
                Ok(ImportLogEntry {
                    id: r.0,
                    imported_at: self.decode_ts("import_log", "imported_at", &r.0, r.1)?,
                    source: r.2,
                    symbol: r.3,
                    timeframe: r.4,
                    summary: ImportSummary {
                        bars_inserted: to_u64(r.5),
                        bars_updated: to_u64(r.6),
                        bars_unchanged: to_u64(r.7),
                        bars_kept: 0,
                        actions_inserted: to_u64(r.8),
                        actions_updated: to_u64(r.9),
                        actions_unchanged: to_u64(r.10),
                    },
                })
            })
            .collect()
    }

    /// Waits for running queries, then closes every pooled connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn db(&self, context: impl Into<String>, source: sqlx::Error) -> StoreError {
        StoreError::Database {
            target: self.target.clone(),
            context: context.into(),
            source,
        }
    }

    fn corrupt(
        &self,
        table: &'static str,
        column: &'static str,
        key: impl std::fmt::Display,
        value: impl std::fmt::Display,
        reason: impl std::fmt::Display,
    ) -> StoreError {
        StoreError::Corrupt {
            target: self.target.clone(),
            location: format!("{table}.{column} of row {key}"),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    fn decode_ts(
        &self,
        table: &'static str,
        column: &'static str,
        key: &dyn std::fmt::Display,
        secs: i64,
    ) -> Result<Timestamp, StoreError> {
        Timestamp::from_second(secs).map_err(|e| self.corrupt(table, column, key, secs, e))
    }

    /// Begins a transaction.
    async fn begin(&self, what: &str) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool
            .begin()
            .await
            .map_err(|e| self.db(format!("beginning {what}"), e))
    }

    /// Takes the transaction-scoped advisory locks of `names` (deduplicated, in key order, so
    /// that two writers can never wait for each other in a cycle). Released at commit/rollback.
    async fn xact_locks(
        &self,
        tx: &mut PgConnection,
        names: impl IntoIterator<Item = String>,
    ) -> Result<(), StoreError> {
        let mut keys: Vec<i64> = names.into_iter().map(|n| lock_key(&n)).collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(());
        }
        sqlx::query("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS t(k) ORDER BY k")
            .bind(&keys)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db("taking the writers' locks", e))?;
        Ok(())
    }

    /// Upserts state documents and appends audit entries inside `tx` (one step's state).
    async fn write_state(
        &self,
        tx: &mut PgConnection,
        documents: &[(&str, String)],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        for (key, value) in documents {
            sqlx::query(
                "INSERT INTO documents (key, value_json) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value_json = EXCLUDED.value_json",
            )
            .bind(*key)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("saving document {key}"), e))?;
        }
        for a in audit {
            sqlx::query("INSERT INTO audit_log (ts, subsystem, entry_json) VALUES ($1, $2, $3)")
                .bind(a.ts.as_second())
                .bind(&a.subsystem)
                .bind(&a.entry_json)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db("appending to the audit log", e))?;
        }
        Ok(())
    }

    async fn import_all(
        &self,
        batches: &[ImportBatch],
        policy: ImportPolicy,
    ) -> Result<ImportSummary, StoreError> {
        // Validated before anything is written: a bad batch after good ones writes nothing.
        for (index, batch) in batches.iter().enumerate() {
            validate_batch(index, batch)?;
        }
        let mut tx = self.begin("the import transaction").await?;
        // One writer per symbol at a time (the read-decide-write of bars and actions must see
        // what it overwrites); imports of other symbols run beside it.
        let symbols = batches.iter().flat_map(|b| {
            std::iter::once(b.instrument.symbol.as_str())
                .chain(b.actions.iter().map(|a| a.symbol.as_str()))
                .map(|s| format!("import:{s}"))
        });
        self.xact_locks(&mut tx, symbols.collect::<Vec<_>>())
            .await?;
        let imported_at = WallClock.now().as_second();
        let mut total = ImportSummary::default();
        for (index, batch) in batches.iter().enumerate() {
            match self
                .import_batch(&mut tx, index, batch, imported_at, policy)
                .await
            {
                Ok(summary) => total.add(&summary),
                Err(e) => {
                    let _ = tx.rollback().await;
                    return Err(e);
                }
            }
        }
        tx.commit()
            .await
            .map_err(|e| self.db("committing the import transaction", e))?;
        Ok(total)
    }

    async fn import_batch(
        &self,
        conn: &mut PgConnection,
        index: usize,
        batch: &ImportBatch,
        imported_at: i64,
        policy: ImportPolicy,
    ) -> Result<ImportSummary, StoreError> {
        let symbol = batch.instrument.symbol.as_str();
        let timeframe = batch.timeframe.as_str();
        let what = |doing: &str| {
            format!(
                "{doing} of import batch {index} ({}, {symbol} {timeframe})",
                batch.source
            )
        };
        upsert_instrument(conn, &batch.instrument)
            .await
            .map_err(|e| self.db(what("upserting the instrument"), e))?;

        let mut summary = ImportSummary::default();
        for (chunk_no, chunk) in batch.bars.chunks(UPSERT_CHUNK).enumerate() {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                continue;
            };
            let from = chunk_no * UPSERT_CHUNK;
            let range = format!(
                "bars {from}..{} (ts {}..={})",
                from + chunk.len(),
                first.ts,
                last.ts
            );
            let stored = stored_bars(conn, symbol, timeframe, first.ts, last.ts)
                .await
                .map_err(|e| self.db(what(&format!("reading the stored {range}")), e))?;
            let mut to_write: Vec<&Bar> = Vec::with_capacity(chunk.len());
            for bar in chunk {
                match stored.get(&bar.ts.as_second()) {
                    None => {
                        summary.bars_inserted += 1;
                        to_write.push(bar);
                    }
                    Some(old) if old.same_values(bar) => summary.bars_unchanged += 1,
                    Some(old) if policy.may_replace(old, bar) => {
                        summary.bars_updated += 1;
                        to_write.push(bar);
                    }
                    Some(_) => summary.bars_kept += 1,
                }
            }
            if to_write.is_empty() {
                continue;
            }
            upsert_bars(conn, symbol, timeframe, &to_write)
                .await
                .map_err(|e| self.db(what(&format!("upserting {range}")), e))?;
        }

        // The series' extent, in the same transaction: bars are only ever added or replaced,
        // so the count grows by the bars inserted and the bounds widen to the batch's (every bar
        // of which is stored now). Nothing inserted: every bar was already within the bounds.
        if let (Some(first), Some(last)) = (batch.bars.first(), batch.bars.last())
            && summary.bars_inserted > 0
        {
            sqlx::query(
                "INSERT INTO bar_series (symbol, timeframe, bars, first_ts, last_ts) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (symbol, timeframe) DO UPDATE SET \
                 bars = bar_series.bars + excluded.bars, \
                 first_ts = LEAST(bar_series.first_ts, excluded.first_ts), \
                 last_ts = GREATEST(bar_series.last_ts, excluded.last_ts)",
            )
            .bind(symbol)
            .bind(timeframe)
            .bind(to_i64(summary.bars_inserted))
            .bind(first.ts.as_second())
            .bind(last.ts.as_second())
            .execute(&mut *conn)
            .await
            .map_err(|e| self.db(what("updating the series' extent"), e))?;
        }

        for (i, action) in batch.actions.iter().enumerate() {
            let ex_date = action.ex_date.to_string();
            let kind = action.kind_name();
            let value = action.value().to_string();
            let context = || {
                what(&format!(
                    "writing corporate action {i} ({} {ex_date} {kind} {value})",
                    action.symbol
                ))
            };
            let stored: Option<String> = sqlx::query_scalar(
                "SELECT value FROM corporate_actions WHERE symbol = $1 AND ex_date = $2 AND kind = $3",
            )
            .bind(action.symbol.as_str())
            .bind(&ex_date)
            .bind(kind)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| self.db(context(), e))?;
            match stored {
                Some(v) if v == value => summary.actions_unchanged += 1,
                Some(_) => {
                    sqlx::query(
                        "UPDATE corporate_actions SET value = $4 \
                         WHERE symbol = $1 AND ex_date = $2 AND kind = $3",
                    )
                    .bind(action.symbol.as_str())
                    .bind(&ex_date)
                    .bind(kind)
                    .bind(&value)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| self.db(context(), e))?;
                    summary.actions_updated += 1;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO corporate_actions (symbol, ex_date, kind, value) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(action.symbol.as_str())
                    .bind(&ex_date)
                    .bind(kind)
                    .bind(&value)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| self.db(context(), e))?;
                    summary.actions_inserted += 1;
                }
            }
        }

        sqlx::query(
            "INSERT INTO import_log (imported_at, source, symbol, timeframe, bars_inserted, \
             bars_updated, bars_unchanged, actions_inserted, actions_updated, actions_unchanged) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(imported_at)
        .bind(&batch.source)
        .bind(symbol)
        .bind(timeframe)
        .bind(to_i64(summary.bars_inserted))
        .bind(to_i64(summary.bars_updated))
        // No column for kept bars: they left the store unchanged (as in SQLite).
        .bind(to_i64(summary.bars_unchanged + summary.bars_kept))
        .bind(to_i64(summary.actions_inserted))
        .bind(to_i64(summary.actions_updated))
        .bind(to_i64(summary.actions_unchanged))
        .execute(&mut *conn)
        .await
        .map_err(|e| self.db(what("writing the import log"), e))?;
        Ok(summary)
    }

    fn decode_instrument(&self, row: InstrumentRow) -> Result<Instrument, StoreError> {
        let (symbol, exchange, currency, asset_class, leverage, underlying) = row;
        let t = "instruments";
        let sym = Symbol::try_new(symbol.clone())
            .map_err(|e| self.corrupt(t, "symbol", &symbol, &symbol, e))?;
        Ok(Instrument {
            exchange: Exchange::from_str(&exchange)
                .map_err(|e| self.corrupt(t, "exchange", &symbol, &exchange, e))?,
            currency: Currency::from_str(&currency)
                .map_err(|e| self.corrupt(t, "currency", &symbol, &currency, e))?,
            asset_class: AssetClass::from_str(&asset_class)
                .map_err(|e| self.corrupt(t, "asset_class", &symbol, &asset_class, e))?,
            leverage,
            underlying: match underlying {
                None => None,
                Some(u) => Some(
                    Symbol::try_new(u.clone())
                        .map_err(|e| self.corrupt(t, "underlying", &symbol, &u, e))?,
                ),
            },
            symbol: sym,
        })
    }

    /// A `runs` row with its number of alerts as a header.
    fn header_of_row(&self, row: RunHeaderRow) -> Result<RunHeader, StoreError> {
        let (id, kind, created_at, strategy, sample, data_from, data_to, config, metrics_json, n) =
            row;
        Ok(RunHeader {
            id,
            kind,
            created_at: self.decode_ts("runs", "created_at", &id, created_at)?,
            strategy,
            sample,
            data_from: self.decode_ts("runs", "data_from", &id, data_from)?,
            data_to: self.decode_ts("runs", "data_to", &id, data_to)?,
            config,
            metrics_json,
            alert_count: to_u64(n),
        })
    }

    /// A `runs` row with its alerts as a record.
    async fn run_of_row(&self, row: RunRow) -> Result<RunRecord, StoreError> {
        let (id, kind, created_at, strategy, sample, data_from, data_to, config, metrics_json) =
            row;
        let alert_rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT ts, strategy, message, old_weights_json, new_weights_json FROM run_alerts \
             WHERE run_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(format!("reading alerts of run {id}"), e))?;
        let mut alerts = Vec::with_capacity(alert_rows.len());
        for (ts, strategy, message, old_weights_json, new_weights_json) in alert_rows {
            alerts.push(AlertRecord {
                ts: self.decode_ts("run_alerts", "ts", &id, ts)?,
                strategy,
                message,
                old_weights_json,
                new_weights_json,
            });
        }
        Ok(RunRecord {
            id: Some(id),
            kind,
            created_at: self.decode_ts("runs", "created_at", &id, created_at)?,
            strategy,
            sample,
            data_from: self.decode_ts("runs", "data_from", &id, data_from)?,
            data_to: self.decode_ts("runs", "data_to", &id, data_to)?,
            config,
            metrics_json,
            alerts,
        })
    }
}

/// An exclusive lock taken with [`Store::lock_exclusive`]: a session advisory lock held by a
/// connection of its own. Dropping the guard closes that connection, and the server releases the
/// lock with the session (also when the process dies: the socket closes).
#[derive(Debug)]
pub struct StoreLock {
    _conn: PgConnection,
}

/// One row of the `runs` table.
type RunRow = (i64, String, i64, String, String, i64, i64, String, String);

/// One row of the `runs` table and its number of alerts.
type RunHeaderRow = (
    i64,
    String,
    i64,
    String,
    String,
    i64,
    i64,
    String,
    String,
    i64,
);
type InstrumentRow = (String, String, String, String, f64, Option<String>);
type SectorRow = (String, String, Option<String>, Option<f64>, String);
type BarRow = (i64, f64, f64, f64, f64, Option<f64>, Option<f64>);

/// The advisory-lock key of a name: FNV-1a 64 of `pulse:<name>` (the same in every process and
/// on every machine; advisory locks are scoped to the database).
fn lock_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"pulse:".iter().chain(name.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Runs the migrations on one connection holding a session advisory lock, so that processes
/// opening the same (fresh) database at once are serialized: the first migrates, the others wait
/// and then find the schema up to date (instead of racing on `CREATE TABLE`).
async fn migrate_locked(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let key = lock_key("migrate");
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    // `run_direct` is `run` on a connection (it avoids `run`'s "Acquire is not general enough",
    // which would make `connect`'s future not `Send`).
    let outcome = MIGRATOR.run_direct(None, &mut *conn, false).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        // Never hand a connection that may still hold the lock back to the pool.
        conn.detach();
    }
    outcome?;
    unlocked?;
    Ok(())
}

/// The highest schema version embedded in this build (what [`PostgresStore::connect`] migrates
/// to).
pub fn latest_schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Upserts `bars` of one series with one statement over arrays (`unnest`), changing only rows
/// whose values differ.
async fn upsert_bars(
    conn: &mut PgConnection,
    symbol: &str,
    timeframe: &str,
    bars: &[&Bar],
) -> Result<(), sqlx::Error> {
    let ts: Vec<i64> = bars.iter().map(|b| b.ts.as_second()).collect();
    let open: Vec<f64> = bars.iter().map(|b| b.open).collect();
    let high: Vec<f64> = bars.iter().map(|b| b.high).collect();
    let low: Vec<f64> = bars.iter().map(|b| b.low).collect();
    let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let adj: Vec<Option<f64>> = bars.iter().map(|b| b.adj_close).collect();
    let volume: Vec<Option<f64>> = bars.iter().map(|b| b.volume).collect();
    sqlx::query(
        "INSERT INTO bars (symbol, timeframe, ts, open, high, low, close, adj_close, volume) \
         SELECT $1, $2, v.* FROM unnest($3::bigint[], $4::float8[], $5::float8[], $6::float8[], \
         $7::float8[], $8::float8[], $9::float8[]) AS v \
         ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET \
         open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, \
         close = EXCLUDED.close, adj_close = EXCLUDED.adj_close, volume = EXCLUDED.volume \
         WHERE bars.open IS DISTINCT FROM EXCLUDED.open OR bars.high IS DISTINCT FROM EXCLUDED.high \
         OR bars.low IS DISTINCT FROM EXCLUDED.low OR bars.close IS DISTINCT FROM EXCLUDED.close \
         OR bars.adj_close IS DISTINCT FROM EXCLUDED.adj_close \
         OR bars.volume IS DISTINCT FROM EXCLUDED.volume",
    )
    .bind(symbol)
    .bind(timeframe)
    .bind(ts)
    .bind(open)
    .bind(high)
    .bind(low)
    .bind(close)
    .bind(adj)
    .bind(volume)
    .execute(conn)
    .await
    .map(|_| ())
}

async fn upsert_instrument(
    conn: &mut PgConnection,
    instrument: &Instrument,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instruments (symbol, exchange, currency, asset_class, leverage, underlying) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (symbol) DO UPDATE SET exchange = EXCLUDED.exchange, \
         currency = EXCLUDED.currency, asset_class = EXCLUDED.asset_class, \
         leverage = EXCLUDED.leverage, underlying = EXCLUDED.underlying \
         WHERE instruments.exchange IS DISTINCT FROM EXCLUDED.exchange \
         OR instruments.currency IS DISTINCT FROM EXCLUDED.currency \
         OR instruments.asset_class IS DISTINCT FROM EXCLUDED.asset_class \
         OR instruments.leverage IS DISTINCT FROM EXCLUDED.leverage \
         OR instruments.underlying IS DISTINCT FROM EXCLUDED.underlying",
    )
    .bind(instrument.symbol.as_str())
    .bind(instrument.exchange.as_str())
    .bind(instrument.currency.as_str())
    .bind(instrument.asset_class.as_str())
    .bind(instrument.leverage)
    .bind(instrument.underlying.as_ref().map(|u| u.as_str()))
    .execute(conn)
    .await
    .map(|_| ())
}

/// The stored bars of one series with `ts` in `[from, to]`, keyed by unix second.
async fn stored_bars(
    conn: &mut PgConnection,
    symbol: &str,
    timeframe: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<HashMap<i64, Bar>, sqlx::Error> {
    let rows: Vec<BarRow> = sqlx::query_as(
        "SELECT ts, open, high, low, close, adj_close, volume FROM bars \
         WHERE symbol = $1 AND timeframe = $2 AND ts BETWEEN $3 AND $4",
    )
    .bind(symbol)
    .bind(timeframe)
    .bind(from.as_second())
    .bind(to.as_second())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(ts, open, high, low, close, adj_close, volume)| {
            let ts_decoded = Timestamp::from_second(ts).ok()?;
            Some((
                ts,
                Bar {
                    ts: ts_decoded,
                    open,
                    high,
                    low,
                    close,
                    adj_close,
                    volume,
                },
            ))
        })
        .collect())
}

/// The same checks as the SQLite store: whole-second timestamps, strictly increasing time, finite
/// values, finite leverage.
fn validate_batch(index: usize, batch: &ImportBatch) -> Result<(), StoreError> {
    let fail = |reason: String| StoreError::InvalidBatch {
        batch: index,
        series: format!(
            "{}, {} {}",
            batch.source, batch.instrument.symbol, batch.timeframe
        ),
        reason,
    };
    if !batch.instrument.leverage.is_finite() {
        return Err(fail(format!(
            "instrument leverage {} is not finite",
            batch.instrument.leverage
        )));
    }
    let mut previous: Option<Timestamp> = None;
    for (row, bar) in batch.bars.iter().enumerate() {
        if bar.ts.subsec_nanosecond() != 0 {
            return Err(fail(format!(
                "bar {row} at {}: timestamp has a fraction of a second",
                bar.ts
            )));
        }
        if let Some(prev) = previous
            && bar.ts <= prev
        {
            return Err(fail(format!(
                "bar {row} at {} is not after the previous bar at {prev} (bars must be strictly increasing in time)",
                bar.ts
            )));
        }
        bar.validate_finite()
            .map_err(|e| fail(format!("bar {row}: {e}")))?;
        previous = Some(bar.ts);
    }
    Ok(())
}

/// Smallest whole second `>= ts`.
fn ceil_second(ts: Timestamp) -> i64 {
    let s = ts.as_second();
    if ts.subsec_nanosecond() > 0 { s + 1 } else { s }
}

/// Largest whole second `<= ts`.
fn floor_second(ts: Timestamp) -> i64 {
    let s = ts.as_second();
    if ts.subsec_nanosecond() < 0 { s - 1 } else { s }
}

fn finding_in_scope(f: &Finding, scope: &[(Symbol, Timeframe)]) -> bool {
    scope
        .iter()
        .any(|(s, tf)| *s == f.symbol && *tf == f.timeframe)
}

/// Checks every sector row before the transaction: valid fields and each symbol once.
fn validate_sectors(rows: &[SectorInfo]) -> Result<(), StoreError> {
    let mut seen: HashMap<&Symbol, usize> = HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let fail = |reason: String| StoreError::InvalidSector {
            index,
            symbol: row.symbol.to_string(),
            reason,
        };
        row.validate().map_err(|p| fail(p.to_string()))?;
        if let Some(first) = seen.insert(&row.symbol, index) {
            return Err(fail(format!("symbol also in row {first}")));
        }
    }
    Ok(())
}

/// `buy` / `sell` as stored.
fn parse_side(s: &str) -> Option<Side> {
    match s {
        "buy" => Some(Side::Buy),
        "sell" => Some(Side::Sell),
        _ => None,
    }
}

impl Store for PostgresStore {
    type Error = StoreError;
    type Lock = StoreLock;

    async fn lock_exclusive(&self, name: &str) -> Result<StoreLock, StoreError> {
        let fail = |source| StoreError::Lock {
            target: self.target.clone(),
            name: name.to_string(),
            source,
        };
        let mut conn = PgConnection::connect_with(&self.options)
            .await
            .map_err(fail)?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(lock_key(&format!("lock:{name}")))
            .execute(&mut conn)
            .await
            .map_err(fail)?;
        Ok(StoreLock { _conn: conn })
    }

    async fn import(&self, batches: &[ImportBatch]) -> Result<ImportSummary, StoreError> {
        self.import_all(batches, ImportPolicy::KeepFuller).await
    }

    async fn import_with(
        &self,
        batches: &[ImportBatch],
        policy: ImportPolicy,
    ) -> Result<ImportSummary, StoreError> {
        self.import_all(batches, policy).await
    }

    async fn instruments(&self) -> Result<Vec<Instrument>, StoreError> {
        let rows: Vec<InstrumentRow> = sqlx::query_as(
            "SELECT symbol, exchange, currency, asset_class, leverage, underlying \
             FROM instruments ORDER BY symbol",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading instruments", e))?;
        rows.into_iter()
            .map(|r| self.decode_instrument(r))
            .collect()
    }

    async fn instrument(&self, symbol: &Symbol) -> Result<Option<Instrument>, StoreError> {
        let row: Option<InstrumentRow> = sqlx::query_as(
            "SELECT symbol, exchange, currency, asset_class, leverage, underlying \
             FROM instruments WHERE symbol = $1",
        )
        .bind(symbol.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(format!("reading instrument {symbol}"), e))?;
        row.map(|r| self.decode_instrument(r)).transpose()
    }

    async fn series(&self) -> Result<Vec<SeriesSummary>, StoreError> {
        let rows: Vec<(String, String, i64, i64, i64)> =
            sqlx::query_as("SELECT symbol, timeframe, bars, first_ts, last_ts FROM bar_series")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.db("summarising stored series", e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (symbol, timeframe, rows, first, last) in rows {
            let key = format!("{symbol} {timeframe}");
            out.push(SeriesSummary {
                symbol: Symbol::try_new(symbol.clone())
                    .map_err(|e| self.corrupt("bar_series", "symbol", &key, &symbol, e))?,
                timeframe: Timeframe::from_str(&timeframe)
                    .map_err(|e| self.corrupt("bar_series", "timeframe", &key, &timeframe, e))?,
                rows: to_u64(rows),
                first: self.decode_ts("bar_series", "first_ts", &key, first)?,
                last: self.decode_ts("bar_series", "last_ts", &key, last)?,
            });
        }
        // Domain order (1m < 15m < 1h < 1d), not text order.
        out.sort_by(|a, b| (&a.symbol, a.timeframe).cmp(&(&b.symbol, b.timeframe)));
        Ok(out)
    }

    async fn bars_page(
        &self,
        query: &BarQuery,
        after: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<Bar>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut lo = query.start.map(ceil_second).unwrap_or(i64::MIN);
        if let Some(after) = after {
            lo = lo.max(floor_second(after).saturating_add(1));
        }
        let hi = query.end.map(floor_second).unwrap_or(i64::MAX);
        if lo > hi {
            return Ok(Vec::new());
        }
        // Keyset paging on the primary key (symbol, timeframe, ts).
        let rows: Vec<BarRow> = sqlx::query_as(
            "SELECT ts, open, high, low, close, adj_close, volume FROM bars \
             WHERE symbol = $1 AND timeframe = $2 AND ts >= $3 AND ts <= $4 \
             ORDER BY ts LIMIT $5",
        )
        .bind(query.symbol.as_str())
        .bind(query.timeframe.as_str())
        .bind(lo)
        .bind(hi)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| {
            self.db(
                format!(
                    "reading bars of {} {} (ts {lo}..={hi})",
                    query.symbol, query.timeframe
                ),
                e,
            )
        })?;
        let key = format!("{} {}", query.symbol, query.timeframe);
        rows.into_iter()
            .map(|(ts, open, high, low, close, adj_close, volume)| {
                Ok(Bar {
                    ts: self.decode_ts("bars", "ts", &key, ts)?,
                    open,
                    high,
                    low,
                    close,
                    adj_close,
                    volume,
                })
            })
            .collect()
    }

    async fn corporate_actions(&self, symbol: &Symbol) -> Result<Vec<CorporateAction>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT ex_date, kind, value FROM corporate_actions WHERE symbol = $1 \
             ORDER BY ex_date, kind",
        )
        .bind(symbol.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(format!("reading corporate actions of {symbol}"), e))?;
        let t = "corporate_actions";
        rows.into_iter()
            .map(|(ex_date, kind, value)| {
                let key = format!("{symbol} {ex_date} {kind}");
                let date = Date::from_str(&ex_date)
                    .map_err(|e| self.corrupt(t, "ex_date", &key, &ex_date, e))?;
                let v = Decimal::from_str(&value)
                    .map_err(|e| self.corrupt(t, "value", &key, &value, e))?;
                let kind = match kind.as_str() {
                    "dividend" => CorporateActionKind::Dividend { cash_per_share: v },
                    "split" => CorporateActionKind::Split { ratio: v },
                    _ => {
                        return Err(self.corrupt(
                            t,
                            "kind",
                            &key,
                            &kind,
                            "expected dividend or split",
                        ));
                    }
                };
                Ok(CorporateAction {
                    symbol: symbol.clone(),
                    ex_date: date,
                    kind,
                })
            })
            .collect()
    }

    async fn replace_findings(
        &self,
        scope: &[(Symbol, Timeframe)],
        findings: &[Finding],
    ) -> Result<u64, StoreError> {
        for (index, f) in findings.iter().enumerate() {
            let reason = if !finding_in_scope(f, scope) {
                Some("its series is not in the replaced scope")
            } else if f.ts.subsec_nanosecond() != 0 {
                Some("timestamp has a fraction of a second")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(StoreError::InvalidFinding {
                    index,
                    finding: format!("{} {} {} at {}", f.symbol, f.timeframe, f.kind, f.ts),
                    reason: reason.to_string(),
                });
            }
        }
        let mut tx = self.begin("the findings transaction").await?;
        // One replacer per series at a time: two would both delete, then both insert.
        self.xact_locks(
            &mut tx,
            scope
                .iter()
                .map(|(s, tf)| format!("findings:{s} {tf}"))
                .collect::<Vec<_>>(),
        )
        .await?;
        for (symbol, timeframe) in scope {
            sqlx::query("DELETE FROM quality_findings WHERE symbol = $1 AND timeframe = $2")
                .bind(symbol.as_str())
                .bind(timeframe.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db(format!("deleting findings of {symbol} {timeframe}"), e))?;
        }
        for (index, f) in findings.iter().enumerate() {
            sqlx::query(
                "INSERT INTO quality_findings (symbol, timeframe, ts, kind, detail) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(f.symbol.as_str())
            .bind(f.timeframe.as_str())
            .bind(f.ts.as_second())
            .bind(f.kind.as_str())
            .bind(&f.detail)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                self.db(
                    format!(
                        "storing finding {index} ({} {} {} at {})",
                        f.symbol, f.timeframe, f.kind, f.ts
                    ),
                    e,
                )
            })?;
        }
        tx.commit()
            .await
            .map_err(|e| self.db("committing findings", e))?;
        Ok(findings.len() as u64)
    }

    async fn findings(&self) -> Result<Vec<Finding>, StoreError> {
        let rows: Vec<(i64, String, String, i64, String, String)> = sqlx::query_as(
            "SELECT id, symbol, timeframe, ts, kind, detail FROM quality_findings \
             ORDER BY symbol, timeframe, ts, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading findings", e))?;
        let t = "quality_findings";
        let mut out = Vec::with_capacity(rows.len());
        for (id, symbol, timeframe, ts, kind, detail) in rows {
            out.push(Finding {
                symbol: Symbol::try_new(symbol.clone())
                    .map_err(|e| self.corrupt(t, "symbol", id, &symbol, e))?,
                timeframe: Timeframe::from_str(&timeframe)
                    .map_err(|e| self.corrupt(t, "timeframe", id, &timeframe, e))?,
                ts: self.decode_ts(t, "ts", &id, ts)?,
                kind: FindingKind::parse(&kind)
                    .ok_or_else(|| self.corrupt(t, "kind", id, &kind, "unknown finding kind"))?,
                detail,
            });
        }
        // Domain order of timeframes; the sort is stable, so ties keep insertion (id) order.
        out.sort_by(|a, b| (&a.symbol, a.timeframe, a.ts).cmp(&(&b.symbol, b.timeframe, b.ts)));
        Ok(out)
    }

    async fn record_run(&self, run: &RunRecord) -> Result<i64, StoreError> {
        let mut tx = self.begin("the run transaction").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO runs (kind, created_at, strategy, sample, data_from, data_to, config, metrics_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&run.kind)
        .bind(run.created_at.as_second())
        .bind(&run.strategy)
        .bind(&run.sample)
        .bind(run.data_from.as_second())
        .bind(run.data_to.as_second())
        .bind(&run.config)
        .bind(&run.metrics_json)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.db("recording a run", e))?;
        for (seq, a) in run.alerts.iter().enumerate() {
            sqlx::query(
                "INSERT INTO run_alerts (run_id, seq, ts, strategy, message, old_weights_json, new_weights_json) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(seq as i64)
            .bind(a.ts.as_second())
            .bind(&a.strategy)
            .bind(&a.message)
            .bind(&a.old_weights_json)
            .bind(&a.new_weights_json)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("recording alert {seq} of run {id}"), e))?;
        }
        tx.commit()
            .await
            .map_err(|e| self.db("committing a run", e))?;
        Ok(id)
    }

    async fn runs(&self, limit: u32) -> Result<Vec<RunHeader>, StoreError> {
        // One query: the alerts are counted on the (run_id, seq) key, never read.
        let rows: Vec<RunHeaderRow> = sqlx::query_as(
            "SELECT r.id, r.kind, r.created_at, r.strategy, r.sample, r.data_from, r.data_to, \
             r.config, r.metrics_json, \
             (SELECT count(*) FROM run_alerts a WHERE a.run_id = r.id) \
             FROM runs r ORDER BY r.id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading runs", e))?;
        rows.into_iter()
            .map(|row| self.header_of_row(row))
            .collect()
    }

    async fn run(&self, id: i64) -> Result<Option<RunRecord>, StoreError> {
        let row: Option<RunRow> = sqlx::query_as(
            "SELECT id, kind, created_at, strategy, sample, data_from, data_to, config, metrics_json \
             FROM runs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(format!("reading run {id}"), e))?;
        match row {
            Some(row) => Ok(Some(self.run_of_row(row).await?)),
            None => Ok(None),
        }
    }

    async fn delete_run(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin("the delete transaction").await?;
        sqlx::query("DELETE FROM run_alerts WHERE run_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("deleting the alerts of run {id}"), e))?;
        let done = sqlx::query("DELETE FROM runs WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("deleting run {id}"), e))?;
        tx.commit()
            .await
            .map_err(|e| self.db("committing a run deletion", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn document(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value_json FROM documents WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db(format!("reading document {key}"), e))
    }

    async fn save_documents(
        &self,
        documents: &[(&str, String)],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin("the state transaction").await?;
        self.write_state(&mut tx, documents, audit).await?;
        tx.commit()
            .await
            .map_err(|e| self.db("committing the state transaction", e))
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "SELECT id, ts, subsystem, entry_json FROM \
             (SELECT * FROM audit_log ORDER BY id DESC LIMIT $1) AS recent ORDER BY id",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading the audit log", e))?;
        rows.into_iter()
            .map(|(id, ts, subsystem, entry_json)| {
                Ok(AuditEntry {
                    ts: self.decode_ts("audit_log", "ts", &id, ts)?,
                    subsystem,
                    entry_json,
                })
            })
            .collect()
    }

    async fn save_trials(&self, trials: &[StoredTrial]) -> Result<(), StoreError> {
        // Written in key order, so that two writers of overlapping trials cannot deadlock.
        let mut ordered: Vec<&StoredTrial> = trials.iter().collect();
        ordered.sort_by(|a, b| (&a.study, a.number).cmp(&(&b.study, b.number)));
        let mut tx = self.begin("the trials transaction").await?;
        for t in ordered {
            sqlx::query(
                "INSERT INTO sweep_trials (study, number, params_json, score, details_json) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (study, number) DO NOTHING",
            )
            .bind(&t.study)
            .bind(i64::try_from(t.number).unwrap_or(i64::MAX))
            .bind(&t.params_json)
            .bind(t.score.filter(|x| x.is_finite()))
            .bind(&t.details_json)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                self.db(
                    format!("storing trial {} of study {}", t.number, t.study),
                    e,
                )
            })?;
        }
        tx.commit()
            .await
            .map_err(|e| self.db("committing trials", e))
    }

    async fn trials(&self, study: &str) -> Result<Vec<StoredTrial>, StoreError> {
        let rows: Vec<(i64, String, Option<f64>, String)> = sqlx::query_as(
            "SELECT number, params_json, score, details_json FROM sweep_trials WHERE study = $1 ORDER BY number",
        )
        .bind(study)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(format!("reading trials of study {study}"), e))?;
        Ok(rows
            .into_iter()
            .map(|(number, params_json, score, details_json)| StoredTrial {
                study: study.to_string(),
                number: u64::try_from(number).unwrap_or(0),
                params_json,
                score,
                details_json,
            })
            .collect())
    }

    async fn put_sectors(&self, rows: &[SectorInfo]) -> Result<usize, StoreError> {
        validate_sectors(rows)?;
        // Written in symbol order, so that two writers cannot deadlock on each other's rows.
        let mut ordered: Vec<(usize, &SectorInfo)> = rows.iter().enumerate().collect();
        ordered.sort_by(|a, b| a.1.symbol.cmp(&b.1.symbol));
        let mut tx = self.begin("the sectors transaction").await?;
        let mut changed = 0;
        for (index, row) in ordered {
            let done = sqlx::query(
                "INSERT INTO sectors (symbol, sector, industry, market_cap, source) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (symbol) DO UPDATE SET sector = EXCLUDED.sector, \
                 industry = EXCLUDED.industry, market_cap = EXCLUDED.market_cap, \
                 source = EXCLUDED.source \
                 WHERE sectors.sector IS DISTINCT FROM EXCLUDED.sector \
                 OR sectors.industry IS DISTINCT FROM EXCLUDED.industry \
                 OR sectors.market_cap IS DISTINCT FROM EXCLUDED.market_cap \
                 OR sectors.source IS DISTINCT FROM EXCLUDED.source",
            )
            .bind(row.symbol.as_str())
            .bind(&row.sector)
            .bind(row.industry.as_deref())
            .bind(row.market_cap)
            .bind(&row.source)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("upserting sector row {index} ({})", row.symbol), e))?;
            if done.rows_affected() > 0 {
                changed += 1;
            }
        }
        tx.commit()
            .await
            .map_err(|e| self.db("committing sectors", e))?;
        Ok(changed)
    }

    async fn sectors(&self) -> Result<Vec<SectorInfo>, StoreError> {
        let rows: Vec<SectorRow> = sqlx::query_as(
            "SELECT symbol, sector, industry, market_cap, source FROM sectors ORDER BY symbol",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading sectors", e))?;
        rows.into_iter()
            .map(|(symbol, sector, industry, market_cap, source)| {
                Ok(SectorInfo {
                    symbol: Symbol::try_new(symbol.clone())
                        .map_err(|e| self.corrupt("sectors", "symbol", &symbol, &symbol, e))?,
                    sector,
                    industry,
                    market_cap,
                    source,
                })
            })
            .collect()
    }

    async fn save_trading_step(&self, step: &TradingStep<'_>) -> Result<usize, StoreError> {
        let mut tx = self.begin("the trading step").await?;
        // One step of a runner at a time (the status history compares with the stored status).
        self.xact_locks(&mut tx, [format!("trade:{}", step.runner)])
            .await?;
        self.write_state(&mut tx, step.documents, step.audit)
            .await?;
        for r in step.orders {
            let o = &r.order;
            let (kind, limit) = match o.kind {
                OrderKind::Market => ("market", None),
                OrderKind::Limit { price } => ("limit", Some(price.to_string())),
            };
            let tif = match o.time_in_force {
                TimeInForce::Day => "day",
                TimeInForce::Gtc => "gtc",
                TimeInForce::Ioc => "ioc",
            };
            let previous: Option<(String,)> =
                sqlx::query_as("SELECT status FROM trade_orders WHERE client_id = $1 FOR UPDATE")
                    .bind(&o.client_id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| self.db("reading an order's status", e))?;
            sqlx::query(
                "INSERT INTO trade_orders (client_id, runner, symbol, side, quantity, kind, \
                 limit_price, time_in_force, decided_at, broker_id, status, filled, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (client_id) DO UPDATE SET broker_id = COALESCE(EXCLUDED.broker_id, \
                 trade_orders.broker_id), status = EXCLUDED.status, filled = EXCLUDED.filled, \
                 updated_at = EXCLUDED.updated_at",
            )
            .bind(&o.client_id.0)
            .bind(&r.runner)
            .bind(o.symbol.as_str())
            .bind(o.side.as_str())
            .bind(o.quantity.to_string())
            .bind(kind)
            .bind(limit)
            .bind(tif)
            .bind(o.decided_at.as_second())
            .bind(&r.broker_id)
            .bind(&r.status)
            .bind(r.filled.to_string())
            .bind(r.updated_at.as_second())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("recording order {}", o.client_id), e))?;
            if previous.is_none_or(|(p,)| p != r.status) {
                sqlx::query(
                    "INSERT INTO trade_order_history (client_id, ts, status) VALUES ($1, $2, $3)",
                )
                .bind(&o.client_id.0)
                .bind(r.updated_at.as_second())
                .bind(&r.status)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db("appending to an order's history", e))?;
            }
        }
        let mut new_fills = 0;
        for f in step.fills {
            let exec_id = f
                .exec_id
                .clone()
                .unwrap_or_else(|| format!("{}@{}", f.client_id, f.ts.as_second()));
            let done = sqlx::query(
                "INSERT INTO trade_fills (exec_id, runner, client_id, symbol, side, quantity, \
                 price, fee, ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (exec_id) DO NOTHING",
            )
            .bind(&exec_id)
            .bind(step.runner)
            .bind(&f.client_id.0)
            .bind(f.symbol.as_str())
            .bind(f.side.as_str())
            .bind(f.quantity.to_string())
            .bind(f.price.to_string())
            .bind(f.fee.to_string())
            .bind(f.ts.as_second())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("recording fill {exec_id}"), e))?;
            new_fills += done.rows_affected() as usize;
        }
        tx.commit()
            .await
            .map_err(|e| self.db("committing the trading step", e))?;
        Ok(new_fills)
    }

    async fn trade_orders(&self, runner: &str) -> Result<Vec<TradeOrderRecord>, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            i64,
            Option<String>,
            String,
            String,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT client_id, symbol, side, quantity, kind, limit_price, time_in_force, \
             decided_at, broker_id, status, filled, updated_at FROM trade_orders \
             WHERE runner = $1 ORDER BY decided_at, client_id",
        )
        .bind(runner)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading the orders", e))?;
        rows.into_iter()
            .map(
                |(
                    id,
                    symbol,
                    side,
                    qty,
                    kind,
                    limit,
                    tif,
                    decided,
                    broker_id,
                    status,
                    filled,
                    upd,
                )| {
                    let bad = |col: &'static str, v: &str, why: &str| {
                        self.corrupt("trade_orders", col, &id, v, why)
                    };
                    let dec = |col: &'static str, v: &str| {
                        Decimal::from_str(v).map_err(|_| bad(col, v, "not a decimal"))
                    };
                    let kind = match (kind.as_str(), limit) {
                        ("market", _) => OrderKind::Market,
                        ("limit", Some(p)) => OrderKind::Limit {
                            price: dec("limit_price", &p)?,
                        },
                        (k, _) => return Err(bad("kind", k, "not market or limit with a price")),
                    };
                    let time_in_force = match tif.as_str() {
                        "day" => TimeInForce::Day,
                        "gtc" => TimeInForce::Gtc,
                        "ioc" => TimeInForce::Ioc,
                        t => return Err(bad("time_in_force", t, "not day, gtc or ioc")),
                    };
                    Ok(TradeOrderRecord {
                        runner: runner.to_string(),
                        order: OrderRequest {
                            client_id: ClientOrderId(id.clone()),
                            symbol: Symbol::try_new(&symbol)
                                .map_err(|e| bad("symbol", &symbol, &e.to_string()))?,
                            side: parse_side(&side)
                                .ok_or_else(|| bad("side", &side, "not buy/sell"))?,
                            quantity: dec("quantity", &qty)?,
                            decided_at: self.decode_ts(
                                "trade_orders",
                                "decided_at",
                                &id,
                                decided,
                            )?,
                            kind,
                            time_in_force,
                        },
                        broker_id,
                        status,
                        filled: dec("filled", &filled)?,
                        updated_at: self.decode_ts("trade_orders", "updated_at", &id, upd)?,
                    })
                },
            )
            .collect()
    }

    async fn trade_fills(&self, runner: &str) -> Result<Vec<Fill>, StoreError> {
        type Row = (String, String, String, String, String, String, String, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT exec_id, client_id, symbol, side, quantity, price, fee, ts FROM trade_fills \
             WHERE runner = $1 ORDER BY ts, seq",
        )
        .bind(runner)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading the fills", e))?;
        rows.into_iter()
            .map(|(exec_id, client_id, symbol, side, qty, price, fee, ts)| {
                let bad = |col: &'static str, v: &str, why: &str| {
                    self.corrupt("trade_fills", col, &exec_id, v, why)
                };
                let dec = |col: &'static str, v: &str| {
                    Decimal::from_str(v).map_err(|_| bad(col, v, "not a decimal"))
                };
                Ok(Fill {
                    client_id: ClientOrderId(client_id.clone()),
                    symbol: Symbol::try_new(&symbol)
                        .map_err(|e| bad("symbol", &symbol, &e.to_string()))?,
                    side: parse_side(&side).ok_or_else(|| bad("side", &side, "not buy/sell"))?,
                    quantity: dec("quantity", &qty)?,
                    price: dec("price", &price)?,
                    fee: dec("fee", &fee)?,
                    ts: self.decode_ts("trade_fills", "ts", &exec_id, ts)?,
                    exec_id: Some(exec_id.clone()),
                })
            })
            .collect()
    }

    async fn trade_order_history(
        &self,
        client_id: &str,
    ) -> Result<Vec<(Timestamp, String)>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT ts, status FROM trade_order_history WHERE client_id = $1 ORDER BY id",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db("reading an order's history", e))?;
        rows.into_iter()
            .map(|(ts, status)| {
                Ok((
                    self.decode_ts("trade_order_history", "ts", &client_id, ts)?,
                    status,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_names_host_port_and_database_but_no_credentials() {
        let url = "postgres://pulse:s3cret-pw@db.example:6543/prices?sslmode=disable";
        let options = PgConnectOptions::from_str(url).unwrap_or_else(|e| panic!("{e}"));
        let target = target_of(&options);
        assert_eq!(target, "db.example:6543/prices");
        assert_eq!(url_password(url).as_deref(), Some("s3cret-pw"));
        assert_eq!(url_password("postgres://pulse@h/db"), None);
    }

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(lock_key("migrate"), lock_key("migrate"));
        assert_ne!(lock_key("lock:a"), lock_key("lock:b"));
    }
}
