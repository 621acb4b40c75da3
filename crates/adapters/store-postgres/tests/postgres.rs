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
    assert_eq!(latest_schema_version(), 6);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(stores[0].pool())
        .await
        .unwrap();
    assert_eq!(applied, 6);
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
