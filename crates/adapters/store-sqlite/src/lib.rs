//! `store-sqlite`: the embedded SQLite implementation of [`pulse_core::ports::Store`].
//!
//! One file holds instruments, bars (keyed by symbol, timeframe and unix-second timestamp),
//! corporate actions, sector classifications, data-quality findings and an import log. The file runs in WAL mode with
//! foreign keys on; its schema is versioned by embedded migrations (`migrations/NNNN_*.sql`).
//!
//! Writes are idempotent upserts inside one transaction per import, with exact counts of
//! inserted / updated / unchanged / kept rows (a stored bar is never replaced by a poorer one
//! unless the import's [`ImportPolicy`] says so). Prices are stored as IEEE doubles, so every `f64` is read
//! back bit for bit; decimal amounts are stored as exact `rust_decimal` strings.
//!
//! ```no_run
//! # async fn demo() -> Result<(), store_sqlite::StoreError> {
//! use pulse_core::ports::Store;
//! let store = store_sqlite::SqliteStore::open(std::path::Path::new("pulse.db")).await?;
//! for series in store.series().await? {
//!     println!("{} {} {} rows", series.symbol, series.timeframe, series.rows);
//! }
//! store.close().await;
//! # Ok(()) }
//! ```

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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

/// The embedded migrations (`crates/adapters/store-sqlite/migrations`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Bars per multi-row `INSERT` statement (7 bound values per bar + 2 shared).
const UPSERT_CHUNK: usize = 500;

/// How long a writer waits for another connection's lock before failing (seconds).
const BUSY_TIMEOUT_SECS: u64 = 30;

/// Connections in the pool (WAL allows concurrent readers beside one writer).
const MAX_CONNECTIONS: u32 = 4;

/// Row counts of every table, for diagnostics (`pulse db stats`) and tests.
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
    /// When the import committed its transaction (UTC, whole seconds).
    pub imported_at: Timestamp,
    /// The batch's source (a file path or `yahoo:TSLA`).
    pub source: String,
    /// Symbol of the batch.
    pub symbol: String,
    /// Timeframe of the batch (`1m`, `1d`…).
    pub timeframe: String,
    /// Row counts of the batch (kept bars are counted among the unchanged ones, which they are:
    /// the log has no column of its own for them, so `bars_kept` reads 0).
    pub summary: ImportSummary,
}

/// A Portfolio Pulse store in one SQLite file. Cheap to clone (a shared connection pool).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if missing) the database at `path`, in WAL
    /// mode with foreign keys on and a busy timeout, and migrates it to the latest schema.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Err(source) = tokio::fs::create_dir_all(parent).await
        {
            return Err(match not_writable(path) {
                Some(reason) => StoreError::NotWritable {
                    path: path.to_path_buf(),
                    reason,
                },
                None => StoreError::CreateDir {
                    path: parent.to_path_buf(),
                    source,
                },
            });
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS));
        // Switching a brand-new file to WAL needs an exclusive lock, and SQLite answers
        // SQLITE_BUSY there without waiting on the busy timeout when another process is creating
        // the same file: retry the connection (with a short, growing pause) for as long as the
        // busy timeout would have waited.
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(10);
        let pool = loop {
            match SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .connect_with(options.clone())
                .await
            {
                Ok(pool) => break pool,
                Err(source)
                    if is_busy(&source)
                        && started.elapsed() < Duration::from_secs(BUSY_TIMEOUT_SECS) =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(source) => return Err(open_error(path, source)),
            }
        };
        // A file that is not SQLite may only fail on its first real read.
        if let Err(source) = sqlx::query("SELECT count(*) FROM sqlite_schema")
            .execute(&pool)
            .await
        {
            pool.close().await;
            return Err(open_error(path, source));
        }
        if let Err(source) = migrate_serialized(&pool).await {
            pool.close().await;
            if let Some(reason) = not_writable(path) {
                return Err(StoreError::NotWritable {
                    path: path.to_path_buf(),
                    reason,
                });
            }
            return Err(StoreError::Migrate {
                path: path.to_path_buf(),
                target: latest_schema_version(),
                source,
            });
        }
        Ok(SqliteStore {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The exclusive advisory lock `<database>.<name>.lock` ([`Store::lock_exclusive`]): a file
    /// lock, so the OS releases it when the process ends, `kill -9` included.
    async fn file_lock(&self, name: &str) -> Result<StoreLock, StoreError> {
        let mut file_name = self.path.as_os_str().to_owned();
        file_name.push(format!(".{name}.lock"));
        let path = PathBuf::from(file_name);
        let lock_path = path.clone();
        let locked = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        match locked {
            Ok(file) => Ok(StoreLock { _file: file }),
            Err(source) => Err(StoreError::Lock { path, source }),
        }
    }

    /// The schema version the file is at (the highest applied migration; 0 if none).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.db("reading the schema version", e))?;
        Ok(v.unwrap_or(0))
    }

    /// Row counts of every table.
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
                        // Not a column of the log: kept bars are logged as unchanged.
                        bars_kept: 0,
                        actions_inserted: to_u64(r.8),
                        actions_updated: to_u64(r.9),
                        actions_unchanged: to_u64(r.10),
                    },
                })
            })
            .collect()
    }

    /// Waits for running queries, then closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Upserts state documents and appends audit entries inside `tx` (one step's state).
    async fn write_state(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        documents: &[(&str, String)],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        for (key, value) in documents {
            sqlx::query(
                "INSERT INTO documents (key, value_json) VALUES (?, ?) \
                 ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json",
            )
            .bind(*key)
            .bind(value)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.db(format!("saving document {key}"), e))?;
        }
        for a in audit {
            sqlx::query("INSERT INTO audit_log (ts, subsystem, entry_json) VALUES (?, ?, ?)")
                .bind(a.ts.as_second())
                .bind(&a.subsystem)
                .bind(&a.entry_json)
                .execute(&mut **tx)
                .await
                .map_err(|e| self.db("appending to the audit log", e))?;
        }
        Ok(())
    }

    fn db(&self, context: impl Into<String>, source: sqlx::Error) -> StoreError {
        // SQLite opens a file it may not write read-only without a word, and says "attempt to
        // write a readonly database" at the first write: name what cannot be written.
        if is_read_only(&source) {
            return StoreError::NotWritable {
                path: self.path.clone(),
                reason: not_writable(&self.path).unwrap_or_else(|| {
                    format!("SQLite opened it read-only, so {} failed", context.into())
                }),
            };
        }
        StoreError::Database {
            path: self.path.clone(),
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
            path: self.path.clone(),
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

    async fn import_all(
        &self,
        batches: &[ImportBatch],
        policy: ImportPolicy,
    ) -> Result<ImportSummary, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db("beginning the import transaction", e))?;
        let imported_at = WallClock.now().as_second();
        let mut total = ImportSummary::default();
        for (index, batch) in batches.iter().enumerate() {
            // Validated inside the transaction, batch by batch: a bad batch after good ones rolls
            // the good ones back.
            let outcome = match validate_batch(index, batch) {
                Ok(()) => {
                    self.import_batch(&mut tx, index, batch, imported_at, policy)
                        .await
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(summary) => total.add(&summary),
                Err(e) => {
                    // Dropping the transaction would roll back too; doing it here reports nothing
                    // new but releases the write lock before returning.
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
        conn: &mut SqliteConnection,
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
            let mut query = sqlx::query(upsert_bars_sql(to_write.len()))
                .bind(symbol)
                .bind(timeframe);
            for bar in to_write {
                query = query
                    .bind(bar.ts.as_second())
                    .bind(bar.open)
                    .bind(bar.high)
                    .bind(bar.low)
                    .bind(bar.close)
                    .bind(bar.adj_close)
                    .bind(bar.volume);
            }
            query
                .execute(&mut *conn)
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
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (symbol, timeframe) DO UPDATE SET \
                 bars = bar_series.bars + excluded.bars, \
                 first_ts = min(bar_series.first_ts, excluded.first_ts), \
                 last_ts = max(bar_series.last_ts, excluded.last_ts)",
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
                "SELECT value FROM corporate_actions WHERE symbol = ?1 AND ex_date = ?2 AND kind = ?3",
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
                        "UPDATE corporate_actions SET value = ?4 \
                         WHERE symbol = ?1 AND ex_date = ?2 AND kind = ?3",
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
                         VALUES (?1, ?2, ?3, ?4)",
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(imported_at)
        .bind(&batch.source)
        .bind(symbol)
        .bind(timeframe)
        .bind(to_i64(summary.bars_inserted))
        .bind(to_i64(summary.bars_updated))
        // The log has no column for kept bars: they left the store unchanged, so they are
        // logged among the unchanged ones.
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
}

/// True for SQLite's "database is locked" / "database table is locked" (codes 5 and 6).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        // Primary code in the low byte of SQLite's (possibly extended) result code.
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        _ => false,
    }
}

/// An exclusive lock taken with [`Store::lock_exclusive`]; released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: std::fs::File,
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

impl SqliteStore {
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
             WHERE run_id = ? ORDER BY seq",
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

type InstrumentRow = (String, String, String, String, f64, Option<String>);
type SectorRow = (String, String, Option<String>, Option<f64>, String);
type BarRow = (i64, f64, f64, f64, f64, Option<f64>, Option<f64>);

/// Runs the migrations inside one `BEGIN IMMEDIATE` transaction (each migration in a savepoint
/// of it), so that processes opening the same (new) file at once are serialized: the first
/// takes the write lock and migrates, the others wait for it (busy timeout) and then find the
/// schema up to date, instead of applying the same migration twice ("table … already exists")
/// or failing on an upgrade of a read transaction ("database is locked", which SQLite returns
/// at once, without waiting, to a deferred transaction that would deadlock).
async fn migrate_serialized(pool: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
    use sqlx::Connection;
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    MIGRATOR.run(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

fn open_error(path: &Path, source: sqlx::Error) -> StoreError {
    let not_a_db = source.as_database_error().is_some_and(|d| {
        d.code().is_some_and(|c| c == "26") || d.message().contains("not a database")
    });
    if not_a_db {
        StoreError::NotADatabase {
            path: path.to_path_buf(),
            source,
        }
    } else if let Some(reason) = not_writable(path) {
        // SQLite only says "unable to open database file" or "attempt to write a readonly
        // database": say which file or directory cannot be written.
        StoreError::NotWritable {
            path: path.to_path_buf(),
            reason,
        }
    } else {
        StoreError::Open {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Whether SQLite refused a write because the database is read-only (`SQLITE_READONLY` and its
/// extended codes).
fn is_read_only(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 8)
}

/// Why the database at `path` cannot be written, if it cannot (checked after an open failed):
/// a parent that is not a directory, the file or its `-wal`/`-shm` companion read-only (or a
/// directory), or a directory in which SQLite cannot create the file or its companions. Files
/// are opened for appending without writing, and the directory is probed with a file created
/// and removed at once, so that the answer is the operating system's own (a read-only mount,
/// permissions, and the superuser's exemption from them are all taken into account).
fn not_writable(path: &Path) -> Option<String> {
    use std::fs::OpenOptions;
    let kind = |e: &std::io::Error| match e.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => "it is on a read-only file system".to_string(),
        std::io::ErrorKind::PermissionDenied => format!("it is read-only for this user ({e})"),
        _ => e.to_string(),
    };
    // A parent that exists but is not a directory (`notes.txt/pulse.db`).
    let mut ancestor = path.parent();
    while let Some(a) = ancestor.filter(|a| !a.as_os_str().is_empty()) {
        if let Ok(m) = std::fs::metadata(a) {
            if !m.is_dir() {
                return Some(format!("{} is not a directory", a.display()));
            }
            break;
        }
        ancestor = a.parent();
    }
    let mut companions = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        companions.push(PathBuf::from(name));
    }
    for file in &companions {
        match std::fs::metadata(file) {
            Ok(m) if m.is_dir() => return Some(format!("{} is a directory", file.display())),
            Ok(_) => {
                if let Err(e) = OpenOptions::new().append(true).open(file) {
                    return Some(format!("{}: {}", file.display(), kind(&e)));
                }
            }
            Err(_) => {}
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let probe = dir.join(format!(".pulse-write-probe-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
        Err(e) => Some(format!(
            "directory {}: {} (SQLite creates the database and its -wal and -shm files there)",
            dir.display(),
            kind(&e)
        )),
    }
}

/// The highest schema version embedded in this build (what [`SqliteStore::open`] migrates to).
pub fn latest_schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `INSERT … SELECT ?, ?, v.* FROM (VALUES (…), (…)) … ON CONFLICT DO UPDATE … WHERE <something
/// differs>` for `rows` bars: the first two (anonymous) parameters are the symbol and timeframe
/// shared by every row, then 7 per bar. Numbered parameters (`?NNN`) are avoided on purpose:
/// `sqlite3_bind_parameter_name`, which the driver calls for every parameter, scans the list of
/// named parameters linearly, which made a 3,500-parameter statement quadratic.
fn upsert_bars_sql(rows: usize) -> SqlStr {
    fn build(rows: usize) -> String {
        let mut sql = String::with_capacity(600 + rows * 16);
        sql.push_str(
            "INSERT INTO bars (symbol, timeframe, ts, open, high, low, close, adj_close, volume) \
             SELECT ?, ?, v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, \
             v.column7 FROM (VALUES ",
        );
        for r in 0..rows {
            if r > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?)");
        }
        // `WHERE true` resolves the parsing ambiguity of an upsert on INSERT … SELECT.
        sql.push_str(
            ") AS v WHERE true ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET \
             open = excluded.open, high = excluded.high, low = excluded.low, \
             close = excluded.close, adj_close = excluded.adj_close, volume = excluded.volume \
             WHERE bars.open IS NOT excluded.open OR bars.high IS NOT excluded.high \
             OR bars.low IS NOT excluded.low OR bars.close IS NOT excluded.close \
             OR bars.adj_close IS NOT excluded.adj_close OR bars.volume IS NOT excluded.volume",
        );
        sql
    }
    static FULL: OnceLock<String> = OnceLock::new();
    if rows == UPSERT_CHUNK {
        FULL.get_or_init(|| build(UPSERT_CHUNK))
            .as_str()
            .into_sql_str()
    } else {
        // Built only from placeholders: no data is interpolated into the SQL text.
        AssertSqlSafe(build(rows)).into_sql_str()
    }
}

async fn upsert_instrument(
    conn: &mut SqliteConnection,
    instrument: &Instrument,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instruments (symbol, exchange, currency, asset_class, leverage, underlying) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (symbol) DO UPDATE SET exchange = excluded.exchange, \
         currency = excluded.currency, asset_class = excluded.asset_class, \
         leverage = excluded.leverage, underlying = excluded.underlying \
         WHERE instruments.exchange IS NOT excluded.exchange \
         OR instruments.currency IS NOT excluded.currency \
         OR instruments.asset_class IS NOT excluded.asset_class \
         OR instruments.leverage IS NOT excluded.leverage \
         OR instruments.underlying IS NOT excluded.underlying",
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
    conn: &mut SqliteConnection,
    symbol: &str,
    timeframe: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<HashMap<i64, Bar>, sqlx::Error> {
    let rows: Vec<BarRow> = sqlx::query_as(
        "SELECT ts, open, high, low, close, adj_close, volume FROM bars \
         WHERE symbol = ?1 AND timeframe = ?2 AND ts BETWEEN ?3 AND ?4",
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
            // An undecodable stored timestamp cannot match an incoming bar's.
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

/// Checks what SQLite would silently mangle or what the contract forbids: whole-second
/// timestamps, strictly increasing time, finite values (SQLite stores NaN as NULL), finite
/// leverage.
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

/// Checks every sector row before the transaction: valid fields (SQLite would store a NaN market
/// cap as NULL) and each symbol once (an upsert would silently keep the last of two).
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

impl SqliteStore {
    /// Upserts sector rows in one transaction; returns how many were new or changed.
    async fn upsert_sectors(&self, rows: &[SectorInfo]) -> Result<usize, StoreError> {
        validate_sectors(rows)?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db("beginning the sectors transaction", e))?;
        let mut changed = 0;
        for (index, row) in rows.iter().enumerate() {
            let done = sqlx::query(
                "INSERT INTO sectors (symbol, sector, industry, market_cap, source) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (symbol) DO UPDATE SET sector = excluded.sector, \
                 industry = excluded.industry, market_cap = excluded.market_cap, \
                 source = excluded.source \
                 WHERE sectors.sector IS NOT excluded.sector \
                 OR sectors.industry IS NOT excluded.industry \
                 OR sectors.market_cap IS NOT excluded.market_cap \
                 OR sectors.source IS NOT excluded.source",
            )
            .bind(row.symbol.as_str())
            .bind(&row.sector)
            .bind(row.industry.as_deref())
            .bind(row.market_cap)
            .bind(&row.source)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("upserting sector row {index} ({})", row.symbol), e))?;
            // 1 when inserted or updated, 0 when the stored row was identical.
            if done.rows_affected() > 0 {
                changed += 1;
            }
        }
        tx.commit()
            .await
            .map_err(|e| self.db("committing sectors", e))?;
        Ok(changed)
    }

    /// Every stored sector row, by symbol.
    async fn read_sectors(&self) -> Result<Vec<SectorInfo>, StoreError> {
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
}

impl Store for SqliteStore {
    type Lock = StoreLock;

    async fn lock_exclusive(&self, name: &str) -> Result<StoreLock, StoreError> {
        self.file_lock(name).await
    }

    type Error = StoreError;

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
             FROM instruments WHERE symbol = ?1",
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
        // Domain order (1m < 15m < 1h < 1d), not SQLite's text order.
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
        let rows: Vec<BarRow> = sqlx::query_as(
            "SELECT ts, open, high, low, close, adj_close, volume FROM bars \
             WHERE symbol = ?1 AND timeframe = ?2 AND ts >= ?3 AND ts <= ?4 \
             ORDER BY ts LIMIT ?5",
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
            "SELECT ex_date, kind, value FROM corporate_actions WHERE symbol = ?1 \
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db("beginning the findings transaction", e))?;
        for (symbol, timeframe) in scope {
            sqlx::query("DELETE FROM quality_findings WHERE symbol = ?1 AND timeframe = ?2")
                .bind(symbol.as_str())
                .bind(timeframe.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db(format!("deleting findings of {symbol} {timeframe}"), e))?;
        }
        for (index, f) in findings.iter().enumerate() {
            sqlx::query(
                "INSERT INTO quality_findings (symbol, timeframe, ts, kind, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db("beginning the run transaction", e))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO runs (kind, created_at, strategy, sample, data_from, data_to, config, metrics_json) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
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
             FROM runs r ORDER BY r.id DESC LIMIT ?",
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
             FROM runs WHERE id = ?",
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db("beginning the delete transaction", e))?;
        sqlx::query("DELETE FROM run_alerts WHERE run_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(format!("deleting the alerts of run {id}"), e))?;
        let done = sqlx::query("DELETE FROM runs WHERE id = ?")
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
        sqlx::query_scalar("SELECT value_json FROM documents WHERE key = ?")
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db("beginning the state transaction", e))?;
        self.write_state(&mut tx, documents, audit).await?;
        tx.commit()
            .await
            .map_err(|e| self.db("committing the state transaction", e))
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "SELECT id, ts, subsystem, entry_json FROM \
             (SELECT * FROM audit_log ORDER BY id DESC LIMIT ?) ORDER BY id",
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db("beginning the trials transaction", e))?;
        for t in trials {
            sqlx::query(
                "INSERT INTO sweep_trials (study, number, params_json, score, details_json) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (study, number) DO NOTHING",
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
            "SELECT number, params_json, score, details_json FROM sweep_trials WHERE study = ? ORDER BY number",
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
        self.upsert_sectors(rows).await
    }

    async fn sectors(&self) -> Result<Vec<SectorInfo>, StoreError> {
        self.read_sectors().await
    }

    async fn save_trading_step(&self, step: &TradingStep<'_>) -> Result<usize, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db("beginning the trading step", e))?;
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
                sqlx::query_as("SELECT status FROM trade_orders WHERE client_id = ?")
                    .bind(&o.client_id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| self.db("reading an order's status", e))?;
            sqlx::query(
                "INSERT INTO trade_orders (client_id, runner, symbol, side, quantity, kind, \
                 limit_price, time_in_force, decided_at, broker_id, status, filled, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (client_id) DO UPDATE SET broker_id = COALESCE(excluded.broker_id, \
                 trade_orders.broker_id), status = excluded.status, filled = excluded.filled, \
                 updated_at = excluded.updated_at",
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
                    "INSERT INTO trade_order_history (client_id, ts, status) VALUES (?, ?, ?)",
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
                 price, fee, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (exec_id) DO NOTHING",
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
             WHERE runner = ? ORDER BY decided_at, client_id",
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
             WHERE runner = ? ORDER BY ts, rowid",
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
            "SELECT ts, status FROM trade_order_history WHERE client_id = ? ORDER BY id",
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

/// `buy` / `sell` as stored.
fn parse_side(s: &str) -> Option<Side> {
    match s {
        "buy" => Some(Side::Buy),
        "sell" => Some(Side::Sell),
        _ => None,
    }
}
