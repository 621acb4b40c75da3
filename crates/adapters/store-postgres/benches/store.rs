//! Import and streaming-read throughput of the PostgreSQL store next to the SQLite store, on the
//! same shared market data in the same run (issue 18: "Measured"). PostgreSQL runs on the
//! server of `PULSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`) in a
//! database created and dropped by the bench; SQLite in a file in a temporary directory.
//!
//! Run: `cargo bench -p store-postgres` (release profile). Prints a markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_core::ports::{BarPager, BarQuery, ImportBatch, Store};
use pulse_testkit::store_conformance::{Layout, read_batch};
use sqlx::Connection;
use std::hint::black_box;
use std::time::Instant;
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;

fn admin_url() -> String {
    std::env::var("PULSE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Every shared data file with its layout, in a stable order.
fn all_batches() -> Vec<ImportBatch> {
    let root = pulse_testkit::shared_data();
    let mut out = Vec::new();
    for (dir, layout) in [
        ("daily-ohlcv", Layout::DailyOhlcv),
        ("daily-adjclose", Layout::DailyValue),
        ("daily-index", Layout::DailyValue),
        ("intraday-1m", Layout::Intraday),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        files.sort();
        // The adjusted-close files repeat the OHLCV files' symbols: a symbol once per run, so
        // that every row is an insert on the first load.
        out.extend(files.iter().map(|p| read_batch(p, layout)));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|b| seen.insert((b.instrument.symbol.clone(), b.timeframe)));
    out
}

/// Imports `batches` (one transaction per 8 batches), then again (no-op), then streams every
/// series with `BarPager` chunks of 4096; returns (rows, first s, re-import s, read s).
async fn measure<S: Store>(store: &S, batches: &[ImportBatch]) -> (u64, f64, f64, f64) {
    let rows: u64 = batches.iter().map(|b| b.bars.len() as u64).sum();
    let t = Instant::now();
    for group in batches.chunks(8) {
        let s = store.import(group).await.unwrap();
        assert_eq!(s.bars_updated + s.bars_unchanged, 0);
    }
    let first = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for group in batches.chunks(8) {
        assert!(store.import(group).await.unwrap().is_no_op());
    }
    let again = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut read = 0u64;
    for s in store.series().await.unwrap() {
        let q = BarQuery {
            symbol: s.symbol,
            timeframe: s.timeframe,
            start: None,
            end: None,
        };
        let mut pager = BarPager::new(q, 4096);
        while let Some(page) = pager.next_chunk(store).await.unwrap() {
            read += page.len() as u64;
            black_box(&page);
        }
    }
    let scan = t.elapsed().as_secs_f64();
    assert_eq!(read, rows);
    (rows, first, again, scan)
}

fn row(backend: &str, (rows, first, again, scan): (u64, f64, f64, f64)) {
    let rate = |s: f64| format!("{:.0}", rows as f64 / s);
    println!(
        "| {backend} | {rows} | {first:.2} | {} | {again:.2} | {} | {scan:.2} | {} |",
        rate(first),
        rate(again),
        rate(scan)
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let batches = all_batches();
    println!(
        "| backend | rows | first import s | rows/s | re-import (no-op) s | rows/s | BarPager read s | rows/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bench.db"))
            .await
            .unwrap();
        row("SQLite (file)", measure(&store, &batches).await);
        store.close().await;

        let name = format!("pulse_bench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
        let create = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut admin)
            .await
            .unwrap();
        let options = std::str::FromStr::from_str(&admin_url());
        let options: sqlx::postgres::PgConnectOptions = options.unwrap();
        let store = PostgresStore::connect_with(options.database(&name))
            .await
            .unwrap();
        row("PostgreSQL 127.0.0.1", measure(&store, &batches).await);
        store.close().await;
        let drop = format!("DROP DATABASE {name} WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut admin)
            .await
            .unwrap();
    });
}
