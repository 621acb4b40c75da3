//! SQLite-only tests of the store: the file itself (creation, WAL, not a database, a newer
//! schema, read-only). Every behaviour of the `Store` port is checked by the shared conformance
//! suite (`tests/conformance.rs`), which also runs on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Layout, read_batch};
use pulse_core::ports::{ImportBatch, Store};
use pulse_testkit::shared_file;
use store_sqlite::{SqliteStore, StoreError, latest_schema_version};

fn tsll() -> ImportBatch {
    read_batch(&shared_file("daily-ohlcv/TSLL.csv"), Layout::DailyOhlcv)
}

#[tokio::test]
async fn open_creates_directories_runs_migrations_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("pulse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.is_file());
    assert_eq!(store.path(), path.as_path());
    assert_eq!(latest_schema_version(), 7);
    assert_eq!(store.schema_version().await.unwrap(), 7);
    let counts = store.table_counts().await.unwrap();
    assert_eq!(counts, store_sqlite::TableCounts::default());
    store.close().await;
    // SQLite header bytes 18/19 are the read/write format versions: 2 = WAL.
    let header = std::fs::read(&path).unwrap();
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!((header[18], header[19]), (2, 2));
    // Opening again is a no-op migration.
    let again = SqliteStore::open(&path).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 7);
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.db");
    // A real CSV file masquerading as a database.
    std::fs::copy(shared_file("daily-ohlcv/TSLA.csv"), &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("not a SQLite database"), "{msg}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file must not be touched"
    );

    // A directory where the file should be.
    let err = SqliteStore::open(dir.path()).await.unwrap_err();
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

/// Opens the raw SQLite file with sqlx directly (what another program editing it would do).
async fn raw(path: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let url = format!("sqlite://{}", path.display());
    sqlx::SqliteConnection::connect(&url).await.unwrap()
}

#[tokio::test]
async fn a_file_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pulse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.close().await;
    let mut conn = raw(&path).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999, 'from a newer pulse', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Migrate { target, .. } if target == latest_schema_version()),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

/// The reason of a `NotWritable` error (panics on anything else).
fn not_writable(r: Result<SqliteStore, StoreError>, path: &std::path::Path) -> String {
    match r {
        Err(e @ StoreError::NotWritable { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()) && msg.contains("not writable"),
                "{msg}"
            );
            msg
        }
        Err(e) => panic!("expected NotWritable, got {e}"),
        Ok(_) => panic!("{} opened", path.display()),
    }
}

#[tokio::test]
async fn a_database_that_cannot_be_written_is_reported_as_read_only_not_as_unable_to_open() {
    let dir = tempfile::tempdir().unwrap();
    // A parent in the path that is a regular file: not writable for anyone, root included.
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "x").unwrap();
    let under_file = file.join("pulse.db");
    let msg = not_writable(SqliteStore::open(&under_file).await, &under_file);
    assert!(msg.contains("notes.txt is not a directory"), "{msg}");
    // A database whose write-ahead log cannot be created (its name is taken by a directory):
    // SQLite itself only says "unable to open database file".
    let path = dir.path().join("pulse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    drop(store);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    std::fs::create_dir(&wal).unwrap();
    let msg = not_writable(SqliteStore::open(&path).await, &path);
    assert!(msg.contains("-wal is a directory"), "{msg}");
    std::fs::remove_dir(&wal).unwrap();
    // Permission bits: a read-only file in a read-only directory. The superuser is exempt from
    // them (the cases above cover it); for anyone else SQLite opens the file read-only without
    // a word and refuses the first write.
    use std::os::unix::fs::PermissionsExt;
    let set = |p: &std::path::Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    set(&path, 0o444);
    set(dir.path(), 0o555);
    let enforced = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .is_err();
    if enforced {
        let result = match SqliteStore::open(&path).await {
            Ok(store) => store.import(&[tsll()]).await.map(|_| store),
            Err(e) => Err(e),
        };
        let msg = not_writable(result, &path);
        assert!(msg.contains("read-only"), "{msg}");
    }
    set(dir.path(), 0o755);
    set(&path, 0o644);
}

/// A file made before the series table (schema version 6, bars already stored) gets the table
/// filled from its bars when it is opened: the extents are those of the bars, and imports keep
/// them from there.
#[tokio::test]
async fn the_series_extents_of_an_older_file_are_counted_from_its_bars() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::migrate!("./migrations")
        .run_to(6, &mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO instruments VALUES ('AAA', 'nyse', 'USD', 'equity', 1.0, NULL), \
         ('BBB', 'crypto', 'USDT', 'crypto', 1.0, NULL); \
         INSERT INTO bars (symbol, timeframe, ts, open, high, low, close) VALUES \
         ('AAA', '1d', 86400, 1, 1, 1, 1), ('AAA', '1d', 259200, 1, 1, 1, 1), \
         ('AAA', '1d', 172800, 1, 1, 1, 1), ('BBB', '1m', 60, 1, 1, 1, 1);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        latest_schema_version()
    );
    let kept: Vec<(String, String, u64, i64, i64)> = store
        .series()
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.symbol.to_string(),
                s.timeframe.to_string(),
                s.rows,
                s.first.as_second(),
                s.last.as_second(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            ("AAA".into(), "1d".into(), 3, 86_400, 259_200),
            ("BBB".into(), "1m".into(), 1, 60, 60),
        ]
    );
    // An import goes on from the counted extent.
    let mut batch = tsll();
    batch.instrument.symbol = pulse_core::Symbol::try_new("AAA").unwrap();
    batch.actions.clear();
    let s = store.import(&[batch.clone()]).await.unwrap();
    let aaa = &store.series().await.unwrap()[0];
    assert_eq!(aaa.rows, 3 + s.bars_inserted);
    assert_eq!(aaa.last, batch.bars.last().unwrap().ts);
    assert_eq!(aaa.first.as_second(), 86_400);
    store.close().await;
}
