//! `pulse` on a PostgreSQL store (`--db postgres://…`, `[store] url`) and `pulse data migrate`
//! from SQLite, through the real binary against the PostgreSQL of `PULSE_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`; scripts/ensure_postgres.sh starts one).
//! Each test creates and drops a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{isolated, ok_json, pulse_db};
use pulse_testkit::shared_file;
use serde_json::Value;
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// A password the URLs carry (trust auth ignores it): it must never be printed.
const PASSWORD: &str = "n0t-pr1nted-7c";

fn admin_url() -> String {
    std::env::var("PULSE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// `url` with its database replaced by `db` and `PASSWORD` as the password.
fn url_of(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let rest = rest.split(['/', '?']).next().unwrap();
    let (user, host) = match rest.rsplit_once('@') {
        Some((userinfo, host)) => (userinfo.split(':').next().unwrap(), host),
        None => ("postgres", rest),
    };
    format!("{scheme}://{user}:{PASSWORD}@{host}/{db}")
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A database of this test's own, dropped with the guard.
struct TestDb {
    name: String,
    url: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    fn create() -> TestDb {
        let name = format!(
            "pulse_cli_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        let url = url_of(&admin_url(), &name);
        TestDb { name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        block_on(async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        });
    }
}

/// Runs `pulse --db URL args…`; stdout and stderr never hold the password.
fn pulse_pg(db: &TestDb, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let out = isolated(home.path())
        .arg("--db")
        .arg(&db.url)
        .args(args)
        .output()
        .unwrap();
    assert_no_password(&out);
    out
}

fn assert_no_password(out: &std::process::Output) {
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(PASSWORD), "the password was printed: {text}");
    }
}

fn files() -> Vec<String> {
    [
        "daily-ohlcv/TSLA.csv",
        "daily-ohlcv/TSLL.csv",
        "intraday-1m/BTCUSDT.csv",
    ]
    .iter()
    .map(|f| shared_file(f).display().to_string())
    .collect()
}

#[test]
fn the_same_commands_give_the_same_answers_on_postgresql_and_sqlite() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("p.db");
    let files = files();
    let mut import = vec!["--json", "data", "import"];
    import.extend(files.iter().map(String::as_str));

    let on_pg = ok_json(pulse_pg(&db, &import));
    let on_sqlite = ok_json(pulse_db(&sqlite, &import));
    assert_eq!(on_pg, on_sqlite);
    assert_eq!(on_pg["bars_inserted"], 1946 + 788 + 43_200);
    // Idempotent.
    let again = ok_json(pulse_pg(&db, &import));
    assert_eq!(again["bars_inserted"], 0);
    assert_eq!(again["bars_unchanged"], 1946 + 788 + 43_200);

    for args in [
        &["--json", "data", "list"][..],
        &["--json", "data", "show", "TSLL", "--limit", "5"][..],
    ] {
        let pg: Value = ok_json(pulse_pg(&db, args));
        let lite: Value = ok_json(pulse_db(&sqlite, args));
        assert_eq!(pg, lite, "{args:?}");
    }

    // `[store] url` selects it too.
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[store]\nurl = \"{}\"\n", db.url)).unwrap();
    let out = isolated(dir.path())
        .args([
            "--config",
            config.to_str().unwrap(),
            "--json",
            "data",
            "list",
        ])
        .output()
        .unwrap();
    assert_no_password(&out);
    assert_eq!(
        ok_json(out),
        ok_json(pulse_db(&sqlite, &["--json", "data", "list"]))
    );
}

#[test]
fn a_wrong_database_is_named_without_the_password() {
    let db = TestDb {
        name: "pulse_cli_no_such_db".into(),
        url: url_of(&admin_url(), "pulse_cli_no_such_db"),
    };
    let out = pulse_pg(&db, &["data", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pulse_cli_no_such_db"), "{stderr}");
    std::mem::forget(db);
}

#[test]
fn data_migrate_copies_a_sqlite_store_into_an_empty_postgresql_one() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("p.db");
    let files = files();
    let mut import = vec!["-q", "data", "import"];
    import.extend(files.iter().map(String::as_str));
    assert!(pulse_db(&sqlite, &import).status.success());
    assert!(pulse_db(&sqlite, &["-q", "data", "seed"]).status.success());
    assert!(pulse_db(&sqlite, &["-q", "data", "check"]).status.success());

    let from = format!("sqlite:{}", sqlite.display());
    let copied = ok_json(pulse_pg(
        &db,
        &[
            "--json", "data", "migrate", "--from", &from, "--to", &db.url,
        ],
    ));
    assert_eq!(
        copied["to"],
        format!("postgres://{}", db.url.rsplit_once('@').unwrap().1)
    );
    assert!(copied["tables"]["bars"].as_u64().unwrap() > 1946 + 788 + 43_200);
    assert!(copied["tables"]["import_log"].as_u64().unwrap() >= 3);
    assert!(copied["tables"]["sectors"].as_u64().unwrap() >= 2);

    for args in [
        &["--json", "data", "list"][..],
        &["--json", "data", "sectors"][..],
        &[
            "--json",
            "data",
            "show",
            "BTCUSDT",
            "--timeframe",
            "1m",
            "--limit",
            "50",
        ][..],
    ] {
        let pg: Value = ok_json(pulse_pg(&db, args));
        let lite: Value = ok_json(pulse_db(&sqlite, args));
        assert_eq!(pg, lite, "{args:?}");
    }

    // Into a store that is no longer empty: refused, nothing written.
    let out = pulse_pg(&db, &["data", "migrate", "--from", &from, "--to", &db.url]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not empty"), "{stderr}");

    // The wrong way round is a usage error.
    let out = pulse_pg(&db, &["data", "migrate", "--from", &db.url, "--to", &from]);
    assert_eq!(out.status.code(), Some(2));
}

/// Orders, fills and account of `pulse trade status --json`.
fn essence(status: &Value) -> Value {
    let orders: Vec<Value> = status["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!([
                r["order"]["client_id"],
                r["order"]["side"],
                r["order"]["quantity"],
                r["status"],
                r["filled"]
            ])
        })
        .collect();
    serde_json::json!({"orders": orders, "fills": status["fills"], "account": status["account"]})
}

#[test]
fn a_paper_runner_and_a_backtest_run_the_same_on_postgresql_and_sqlite() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("p.db");
    let both = |args: &[&str]| -> (String, String) {
        let pg = pulse_pg(&db, args);
        let lite = pulse_db(&sqlite, args);
        for (name, out) in [("PostgreSQL", &pg), ("SQLite", &lite)] {
            assert!(
                out.status.success(),
                "{name}: pulse {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        (
            String::from_utf8(pg.stdout).unwrap(),
            String::from_utf8(lite.stdout).unwrap(),
        )
    };
    both(&["-q", "data", "seed"]);
    // The runner's steps: documents, the trading journal and the runner lock on each backend.
    both(&["clock", "set", "2024-03-01T12:00:00Z"]);
    both(&["trade", "run"]);
    both(&["clock", "set", "2024-07-01T12:00:00Z"]);
    let (pg, lite) = both(&["trade", "run"]);
    assert!(pg.contains("FILL "), "{pg}");
    assert_eq!(pg, lite);
    let (pg, lite) = both(&["--json", "trade", "status"]);
    let (pg, lite): (Value, Value) = (
        serde_json::from_str(&pg).unwrap(),
        serde_json::from_str(&lite).unwrap(),
    );
    assert!(!pg["fills"].as_array().unwrap().is_empty());
    assert_eq!(essence(&pg), essence(&lite));

    // A backtest records the same run.
    let (pg, lite) = both(&["--json", "backtest", "--no-report"]);
    let (pg, lite): (Value, Value) = (
        serde_json::from_str(&pg).unwrap(),
        serde_json::from_str(&lite).unwrap(),
    );
    assert!(
        pg["strategies"].as_array().is_some_and(|s| !s.is_empty()),
        "{pg}"
    );
    assert_eq!(pg["strategies"], lite["strategies"]);
    assert_eq!(pg["equity"], lite["equity"]);
    let (pg, lite) = both(&["--json", "runs"]);
    let (pg, lite): (Value, Value) = (
        serde_json::from_str(&pg).unwrap(),
        serde_json::from_str(&lite).unwrap(),
    );
    assert_eq!(pg.as_array().unwrap().len(), 1);
    assert!(pg[0]["metrics_json"].is_string(), "{pg}");
    assert_eq!(pg[0]["metrics_json"], lite[0]["metrics_json"]);
    assert_eq!(pg[0]["alert_count"], lite[0]["alert_count"]);
    assert!(pg[0]["alert_count"].as_u64().is_some_and(|n| n > 0), "{pg}");
    assert_eq!(pg[0]["kind"], "backtest");
}
