//! Copying a SQLite store into an empty PostgreSQL store (`pulse data migrate`): table by table,
//! in ONE PostgreSQL transaction (all or nothing), from one read snapshot of the SQLite file.
//! Every row is copied with its keys and ids (run ids, audit and finding ids, the fills'
//! recording order), values exactly (the two schemas store the same types: unix seconds, doubles,
//! decimal text). It lives with the PostgreSQL adapter because it is SQL against both schemas.

use crate::PostgresStore;
use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Connection, Row};
use std::path::Path;

/// Why the copy failed (nothing was written: the transaction rolled back).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A statement failed.
    #[error("{context}: {source}")]
    Sql {
        /// What was being done.
        context: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The target already holds data.
    #[error(
        "{target} is not empty (table {table} has {rows} rows): the copy goes into an empty store only"
    )]
    NotEmpty {
        /// host:port/db of the target.
        target: String,
        /// The first non-empty table.
        table: &'static str,
        /// Its rows.
        rows: i64,
    },
    /// One of the schemas is not the version this copy knows.
    #[error(
        "the copy knows schema version {SCHEMA_VERSION}; the SQLite file is at {source_version:?}, this PostgreSQL store at {target_version}"
    )]
    Schema {
        /// The SQLite file's schema version.
        source_version: Option<i64>,
        /// The PostgreSQL store's.
        target_version: i64,
    },
}

fn failed(context: String) -> impl Fn(sqlx::Error) -> CopyError {
    move |source| CopyError::Sql {
        context: context.clone(),
        source,
    }
}

/// A column's stored type (the same in both schemas).
#[derive(Clone, Copy)]
enum Col {
    Text,
    Int,
    Real,
}

/// One table to copy: its name, `(PostgreSQL column, SQLite expression, type)` in order, and the
/// identity column whose sequence must continue after the copied ids.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, &'static str, Col)],
    identity: Option<&'static str>,
}

use Col::{Int, Real, Text};

/// Every table of schema version 7, parents before children (foreign keys).
const TABLES: &[Table] = &[
    Table {
        name: "instruments",
        columns: &[
            ("symbol", "symbol", Text),
            ("exchange", "exchange", Text),
            ("currency", "currency", Text),
            ("asset_class", "asset_class", Text),
            ("leverage", "leverage", Real),
            ("underlying", "underlying", Text),
        ],
        identity: None,
    },
    Table {
        name: "bars",
        columns: &[
            ("symbol", "symbol", Text),
            ("timeframe", "timeframe", Text),
            ("ts", "ts", Int),
            ("open", "open", Real),
            ("high", "high", Real),
            ("low", "low", Real),
            ("close", "close", Real),
            ("adj_close", "adj_close", Real),
            ("volume", "volume", Real),
        ],
        identity: None,
    },
    Table {
        name: "bar_series",
        columns: &[
            ("symbol", "symbol", Text),
            ("timeframe", "timeframe", Text),
            ("bars", "bars", Int),
            ("first_ts", "first_ts", Int),
            ("last_ts", "last_ts", Int),
        ],
        identity: None,
    },
    Table {
        name: "corporate_actions",
        columns: &[
            ("symbol", "symbol", Text),
            ("ex_date", "ex_date", Text),
            ("kind", "kind", Text),
            ("value", "value", Text),
        ],
        identity: None,
    },
    Table {
        name: "quality_findings",
        columns: &[
            ("id", "id", Int),
            ("symbol", "symbol", Text),
            ("timeframe", "timeframe", Text),
            ("ts", "ts", Int),
            ("kind", "kind", Text),
            ("detail", "detail", Text),
        ],
        identity: Some("id"),
    },
    Table {
        name: "import_log",
        columns: &[
            ("id", "id", Int),
            ("imported_at", "imported_at", Int),
            ("source", "source", Text),
            ("symbol", "symbol", Text),
            ("timeframe", "timeframe", Text),
            ("bars_inserted", "bars_inserted", Int),
            ("bars_updated", "bars_updated", Int),
            ("bars_unchanged", "bars_unchanged", Int),
            ("actions_inserted", "actions_inserted", Int),
            ("actions_updated", "actions_updated", Int),
            ("actions_unchanged", "actions_unchanged", Int),
        ],
        identity: Some("id"),
    },
    Table {
        name: "runs",
        columns: &[
            ("id", "id", Int),
            ("kind", "kind", Text),
            ("created_at", "created_at", Int),
            ("strategy", "strategy", Text),
            ("sample", "sample", Text),
            ("data_from", "data_from", Int),
            ("data_to", "data_to", Int),
            ("config", "config", Text),
            ("metrics_json", "metrics_json", Text),
        ],
        identity: Some("id"),
    },
    Table {
        name: "run_alerts",
        columns: &[
            ("run_id", "run_id", Int),
            ("seq", "seq", Int),
            ("ts", "ts", Int),
            ("strategy", "strategy", Text),
            ("message", "message", Text),
            ("old_weights_json", "old_weights_json", Text),
            ("new_weights_json", "new_weights_json", Text),
        ],
        identity: None,
    },
    Table {
        name: "documents",
        columns: &[("key", "key", Text), ("value_json", "value_json", Text)],
        identity: None,
    },
    Table {
        name: "audit_log",
        columns: &[
            ("id", "id", Int),
            ("ts", "ts", Int),
            ("subsystem", "subsystem", Text),
            ("entry_json", "entry_json", Text),
        ],
        identity: Some("id"),
    },
    Table {
        name: "sweep_trials",
        columns: &[
            ("study", "study", Text),
            ("number", "number", Int),
            ("params_json", "params_json", Text),
            ("score", "score", Real),
            ("details_json", "details_json", Text),
        ],
        identity: None,
    },
    Table {
        name: "sectors",
        columns: &[
            ("symbol", "symbol", Text),
            ("sector", "sector", Text),
            ("industry", "industry", Text),
            ("market_cap", "market_cap", Real),
            ("source", "source", Text),
        ],
        identity: None,
    },
    Table {
        name: "trade_orders",
        columns: &[
            ("client_id", "client_id", Text),
            ("runner", "runner", Text),
            ("symbol", "symbol", Text),
            ("side", "side", Text),
            ("quantity", "quantity", Text),
            ("kind", "kind", Text),
            ("limit_price", "limit_price", Text),
            ("time_in_force", "time_in_force", Text),
            ("decided_at", "decided_at", Int),
            ("broker_id", "broker_id", Text),
            ("status", "status", Text),
            ("filled", "filled", Text),
            ("updated_at", "updated_at", Int),
        ],
        identity: None,
    },
    Table {
        name: "trade_order_history",
        columns: &[
            ("id", "id", Int),
            ("client_id", "client_id", Text),
            ("ts", "ts", Int),
            ("status", "status", Text),
        ],
        identity: Some("id"),
    },
    Table {
        name: "trade_fills",
        columns: &[
            ("exec_id", "exec_id", Text),
            // SQLite's recording order (rowid) is PostgreSQL's `seq`.
            ("seq", "rowid", Int),
            ("runner", "runner", Text),
            ("client_id", "client_id", Text),
            ("symbol", "symbol", Text),
            ("side", "side", Text),
            ("quantity", "quantity", Text),
            ("price", "price", Text),
            ("fee", "fee", Text),
            ("ts", "ts", Int),
        ],
        identity: Some("seq"),
    },
];

/// Rows per `INSERT … SELECT FROM unnest(…)`.
const CHUNK: usize = 5_000;

/// The schema version both stores must be at for [`TABLES`] to be the whole schema.
/// The schema version (of both stores) this copy knows.
pub const SCHEMA_VERSION: i64 = 7;

/// One column of a chunk of rows.
enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
}

/// Copies every table of the SQLite store file at `path` (already opened once as a store, so at
/// the latest schema) into `target`, which must be empty, in one transaction; the rows copied per
/// table.
pub async fn copy_sqlite_file(
    path: &Path,
    target: &PostgresStore,
) -> Result<Vec<(&'static str, u64)>, CopyError> {
    let file = path.display().to_string();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut reader = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(failed(format!("cannot read {file}")))?;
    // One read transaction: every table from the same snapshot.
    let mut snapshot = reader
        .begin()
        .await
        .map_err(failed(format!("cannot read {file}")))?;
    // Both schemas at the version this copy knows (the SQLite file migrated by opening it as a
    // store first, this store by connecting).
    let source_version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *snapshot)
            .await
            .map_err(failed(format!("reading the schema version of {file}")))?;
    if source_version != Some(SCHEMA_VERSION) || crate::latest_schema_version() != SCHEMA_VERSION {
        return Err(CopyError::Schema {
            source_version,
            target_version: crate::latest_schema_version(),
        });
    }
    let mut tx = target.pool().begin().await.map_err(failed(format!(
        "cannot begin a transaction in {}",
        target.target()
    )))?;
    for table in TABLES {
        let sql = format!("SELECT count(*) FROM {}", table.name);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *tx)
            .await
            .map_err(failed(format!("counting the rows of {}", table.name)))?;
        if n > 0 {
            return Err(CopyError::NotEmpty {
                target: target.target().to_string(),
                table: table.name,
                rows: n,
            });
        }
    }
    let mut copied = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let select = format!(
            "SELECT {} FROM {}",
            table
                .columns
                .iter()
                .map(|(_, expr, _)| *expr)
                .collect::<Vec<_>>()
                .join(", "),
            table.name
        );
        let mut rows = sqlx::query(AssertSqlSafe(select)).fetch(&mut *snapshot);
        let mut chunk = new_chunk(table);
        let mut count = 0u64;
        let mut len = 0usize;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(failed(format!("reading table {} of {file}", table.name)))?
        {
            let read = failed(format!("reading table {} of {file}", table.name));
            for (i, column) in chunk.iter_mut().enumerate() {
                let got = match column {
                    Column::Text(v) => row.try_get(i).map(|x| v.push(x)),
                    Column::Int(v) => row.try_get(i).map(|x| v.push(x)),
                    Column::Real(v) => row.try_get(i).map(|x| v.push(x)),
                };
                got.map_err(&read)?;
            }
            len += 1;
            if len == CHUNK {
                insert(
                    &mut tx,
                    table,
                    std::mem::replace(&mut chunk, new_chunk(table)),
                )
                .await?;
                count += len as u64;
                len = 0;
            }
        }
        if len > 0 {
            insert(&mut tx, table, chunk).await?;
            count += len as u64;
        }
        if let Some(id) = table.identity {
            // New rows continue after the copied ids.
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{0}', '{id}'), max({id})) FROM {0} \
                 HAVING count(*) > 0",
                table.name
            );
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .map_err(failed(format!("continuing the ids of {}", table.name)))?;
        }
        copied.push((table.name, count));
    }
    drop(snapshot);
    tx.commit().await.map_err(failed(format!(
        "cannot commit the copy into {}",
        target.target()
    )))?;
    Ok(copied)
}

fn new_chunk(table: &Table) -> Vec<Column> {
    table
        .columns
        .iter()
        .map(|(_, _, col)| match col {
            Text => Column::Text(Vec::with_capacity(CHUNK)),
            Int => Column::Int(Vec::with_capacity(CHUNK)),
            Real => Column::Real(Vec::with_capacity(CHUNK)),
        })
        .collect()
}

/// Inserts one chunk of rows with one statement over arrays.
async fn insert(
    tx: &mut sqlx::PgConnection,
    table: &Table,
    chunk: Vec<Column>,
) -> Result<(), CopyError> {
    let names: Vec<&str> = table.columns.iter().map(|(name, _, _)| *name).collect();
    let arrays: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, _, col))| {
            let ty = match col {
                Text => "text",
                Int => "bigint",
                Real => "float8",
            };
            format!("${}::{ty}[]", i + 1)
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) SELECT * FROM unnest({})",
        table.name,
        names.join(", "),
        arrays.join(", ")
    );
    // Built from the constant table list only: no data in the SQL text.
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for column in chunk {
        query = match column {
            Column::Text(v) => query.bind(v),
            Column::Int(v) => query.bind(v),
            Column::Real(v) => query.bind(v),
        };
    }
    query
        .execute(tx)
        .await
        .map_err(failed(format!("copying rows of table {}", table.name)))?;
    Ok(())
}
