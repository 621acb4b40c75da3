//! Sector classifications in the SQLite store: round trip, idempotent upsert, all-or-nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_core::ports::Store;
use pulse_core::{SectorInfo, Symbol};
use store_sqlite::{SqliteStore, StoreError, latest_schema_version};

fn row(symbol: &str, sector: &str, industry: Option<&str>, cap: Option<f64>) -> SectorInfo {
    SectorInfo {
        symbol: Symbol::try_new(symbol).unwrap(),
        sector: sector.to_string(),
        industry: industry.map(str::to_string),
        market_cap: cap,
        source: "sp500_constituents_gics_2026-08-08.csv".to_string(),
    }
}

fn rows() -> Vec<SectorInfo> {
    vec![
        row(
            "TSLA",
            "Consumer Discretionary",
            Some("Automobile Manufacturers"),
            Some(1_251_249_356_800.0),
        ),
        // A market cap that is not an integer round-trips bit for bit.
        row(
            "AAPL",
            "Information Technology",
            Some("Technology Hardware, Storage & Peripherals"),
            Some(3_729_823_629_312.25),
        ),
        row("TSLL", "ETF: leveraged single stock", None, None),
    ]
}

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pulse.db"))
        .await
        .unwrap();
    (dir, store)
}

fn by_symbol(mut rows: Vec<SectorInfo>) -> Vec<SectorInfo> {
    rows.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    rows
}

#[tokio::test]
async fn sectors_round_trip_and_reimport_changes_nothing() {
    let (_dir, store) = fresh().await;
    assert!(latest_schema_version() >= 5);
    assert_eq!(
        store.schema_version().await.unwrap(),
        latest_schema_version()
    );
    assert!(store.sectors().await.unwrap().is_empty());

    assert_eq!(store.put_sectors(&rows()).await.unwrap(), 3);
    let stored = store.sectors().await.unwrap();
    assert_eq!(
        stored,
        by_symbol(rows()),
        "ordered by symbol, every field kept"
    );
    assert_eq!(
        stored[0].market_cap.map(f64::to_bits),
        Some(3_729_823_629_312.25f64.to_bits())
    );

    // Idempotent: the same rows again change nothing.
    assert_eq!(store.put_sectors(&rows()).await.unwrap(), 0);
    assert_eq!(store.sectors().await.unwrap(), by_symbol(rows()));

    // An upsert by symbol: one changed row, one new, the others untouched.
    let changed = vec![
        row(
            "TSLL",
            "ETF: leveraged single stock",
            Some("2x daily TSLA"),
            None,
        ),
        row("XOM", "Energy", Some("Integrated Oil & Gas"), None),
        rows()[0].clone(),
    ];
    assert_eq!(store.put_sectors(&changed).await.unwrap(), 2);
    let stored = store.sectors().await.unwrap();
    let symbols: Vec<&str> = stored.iter().map(|r| r.symbol.as_str()).collect();
    assert_eq!(symbols, ["AAPL", "TSLA", "TSLL", "XOM"]);
    assert_eq!(stored[2].industry.as_deref(), Some("2x daily TSLA"));

    // A field going back to unknown is a change too.
    let mut cleared = rows()[0].clone();
    cleared.market_cap = None;
    assert_eq!(store.put_sectors(&[cleared]).await.unwrap(), 1);
    assert_eq!(store.sectors().await.unwrap()[1].market_cap, None);
    assert_eq!(store.put_sectors(&[]).await.unwrap(), 0);
}

#[tokio::test]
async fn sectors_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pulse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.put_sectors(&rows()).await.unwrap();
    store.close().await;
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.sectors().await.unwrap(), by_symbol(rows()));
}

#[tokio::test]
async fn a_bad_row_or_a_repeated_symbol_writes_nothing() {
    let (_dir, store) = fresh().await;
    store.put_sectors(&rows()[..1]).await.unwrap();
    let before = store.sectors().await.unwrap();

    let mut bad = rows();
    bad[2].market_cap = Some(f64::NAN);
    let e = store.put_sectors(&bad).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::InvalidSector { index: 2, symbol, .. } if symbol == "TSLL"),
        "{e}"
    );
    assert!(e.to_string().contains("market_cap"), "{e}");

    let mut twice = rows();
    twice.push(row("AAPL", "Utilities", None, None));
    let e = store.put_sectors(&twice).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::InvalidSector { index: 3, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("also in row 1"), "{e}");

    let mut blank = rows();
    blank[1].sector = String::new();
    assert!(store.put_sectors(&blank).await.is_err());

    assert_eq!(store.sectors().await.unwrap(), before, "nothing written");
}

#[tokio::test]
async fn a_hand_edited_symbol_is_reported_with_table_column_and_row() {
    use sqlx::Connection;
    let (dir, store) = fresh().await;
    store.close().await;
    let url = format!("sqlite://{}", dir.path().join("pulse.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO sectors (symbol, sector, source) VALUES ('BAD SYMBOL', 'Energy', 'x')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&dir.path().join("pulse.db"))
        .await
        .unwrap();
    let e = store.sectors().await.unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("sectors.symbol"), "{e}");
}
