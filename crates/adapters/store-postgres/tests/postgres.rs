//! PostgreSQL-only tests of the store: concurrent first opens of a fresh database, a database
//! from a newer schema, and errors that never print the password of the URL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{TestDb, database_url};
use pulse_core::ports::Store;
use store_postgres::{PostgresStore, StoreError, latest_schema_version};

#[tokio::test]
async fn processes_opening_a_fresh_database_at_once_migrate_it_once() {
    let db = TestDb::create().await;
    // Eight stores (eight pools, as eight processes would have) opening the empty database at
    // the same instant: the migrations' advisory lock lets one migrate; the others wait.
    let opens = (0..8).map(|_| {
        let url = db.url.clone();
        tokio::spawn(async move { PostgresStore::connect(&url).await })
    });
    let mut stores = Vec::new();
    for handle in opens {
        stores.push(handle.await.unwrap().unwrap());
    }
    for store in &stores {
        assert_eq!(
            store.schema_version().await.unwrap(),
            latest_schema_version()
        );
    }
    assert_eq!(latest_schema_version(), 7);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(stores[0].pool())
        .await
        .unwrap();
    assert_eq!(applied, 7);
    assert!(stores[3].instruments().await.unwrap().is_empty());
    for store in &stores {
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_schema_is_refused_naming_it() {
    let db = TestDb::create().await;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999, 'from a newer pulse', true, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
    let err = PostgresStore::connect(&db.url).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Migrate { version, .. } if version == latest_schema_version()),
        "{err:?}"
    );
    assert!(err.to_string().contains(&db.name), "{err}");
}

#[tokio::test]
async fn errors_name_host_port_and_database_never_the_password() {
    let password = "s3cret-pw-9d1f";
    // No server on this port.
    let url = format!("postgres://pulse:{password}@127.0.0.1:1/prices");
    let err = PostgresStore::connect(&url).await.unwrap_err();
    let (text, debug) = (err.to_string(), format!("{err:?}"));
    assert!(matches!(err, StoreError::Connect { .. }), "{debug}");
    assert!(text.contains("127.0.0.1:1/prices"), "{text}");
    assert!(
        !text.contains(password) && !debug.contains(password),
        "{debug}"
    );

    // A database that does not exist on the real server.
    let url = database_url(&common::admin_url(), "pulse_no_such_database_here");
    let url = url.replacen("://", &format!("://postgres:{password}@"), 1);
    let url = match url.find('@') {
        // Drop any user/password the admin URL already had between `//` and our `@`.
        Some(at) if url[at + 1..].contains('@') => {
            let second = at + 1 + url[at + 1..].find('@').unwrap_or(0);
            format!("{}{}", &url[..at + 1], &url[second + 1..])
        }
        _ => url,
    };
    let err = PostgresStore::connect(&url).await.unwrap_err();
    let (text, debug) = (err.to_string(), format!("{err:?}"));
    assert!(text.contains("pulse_no_such_database_here"), "{text}");
    assert!(
        !text.contains(password) && !debug.contains(password),
        "{debug}"
    );

    // A URL that does not parse.
    let err = PostgresStore::connect(&format!("postgres://u:{password}@host:notaport/db"))
        .await
        .unwrap_err();
    let (text, debug) = (err.to_string(), format!("{err:?}"));
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{debug}");
    assert!(
        !text.contains(password) && !debug.contains(password),
        "{debug}"
    );

    // A store's Debug output names the database only.
    let db = TestDb::create().await;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    let debug = format!("{store:?}");
    assert!(
        debug.contains(&db.name) && !debug.contains("postgres://"),
        "{debug}"
    );
    store.close().await;
}

/// Child half of the test below: takes the lock and waits to be killed (runs only when the
/// parent sets `PULSE_LOCK_CHILD_URL`).
#[tokio::test]
#[ignore = "run by the_lock_of_a_killed_process_is_released"]
async fn child_holds_the_lock_until_killed() {
    let Ok(url) = std::env::var("PULSE_LOCK_CHILD_URL") else {
        return;
    };
    let store = PostgresStore::connect(&url).await.unwrap();
    let _guard = store.lock_exclusive("runner").await.unwrap();
    println!("locked");
    tokio::time::sleep(std::time::Duration::from_secs(120)).await;
}

#[tokio::test]
async fn the_lock_of_a_killed_process_is_released() {
    use std::io::BufRead;
    use std::time::Duration;
    let db = TestDb::create().await;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_holds_the_lock_until_killed",
            "--nocapture",
        ])
        .env("PULSE_LOCK_CHILD_URL", &db.url)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let locked = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.trim() == "locked")
    })
    .await
    .unwrap();
    assert!(locked, "the child never took the lock");
    // Held by the other process: this one waits.
    let waiting = tokio::time::timeout(Duration::from_millis(500), store.lock_exclusive("runner"));
    assert!(waiting.await.is_err(), "the lock was taken twice");
    // kill -9: the server ends the child's session and releases its lock.
    child.kill().unwrap();
    child.wait().unwrap();
    let guard = tokio::time::timeout(Duration::from_secs(10), store.lock_exclusive("runner"))
        .await
        .expect("the lock of a killed process must be released")
        .unwrap();
    drop(guard);
    store.close().await;
}

/// A database made before the series table (schema version 6, bars already stored) gets the
/// table filled from its bars when a store connects: the extents are those of the bars.
#[tokio::test]
async fn the_series_extents_of_an_older_database_are_counted_from_its_bars() {
    use sqlx::Connection;
    let db = TestDb::create().await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
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
    let store = PostgresStore::connect(&db.url).await.unwrap();
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
    store.close().await;
}
