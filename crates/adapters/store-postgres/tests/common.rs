//! A private PostgreSQL database per test: `CREATE DATABASE pulse_test_<pid>_<n>_<random>` on the
//! server of `PULSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//! dropped (`WITH (FORCE)`) when the guard is dropped, even after a failed assertion.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

/// The server the tests use.
pub fn admin_url() -> String {
    std::env::var("PULSE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A test database, dropped with this guard.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Connection options to it.
    pub options: PgConnectOptions,
    /// Its URL.
    pub url: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

async fn admin() -> PgConnection {
    let url = admin_url();
    PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at PULSE_TEST_POSTGRES_URL (run scripts/ensure_postgres.sh): {e}"
        )
    })
}

impl TestDb {
    /// Creates a new, empty database.
    pub async fn create() -> TestDb {
        // A random suffix (std's randomly keyed hasher): test binaries of other sessions on the
        // same server never pick the same name.
        let salt = {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
                % 1_000_000_000
        };
        let name = format!(
            "pulse_test_{}_{}_{salt}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = admin().await;
        // The name is built from digits only: nothing to escape.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let options = PgConnectOptions::from_str(&admin_url())
            .unwrap()
            .database(&name);
        let url = database_url(&admin_url(), &name);
        TestDb { name, options, url }
    }
}

/// `url` with its database replaced by `name`.
pub fn database_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut conn = admin().await;
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
                let _ = conn.close().await;
            });
        })
        .join();
    }
}
