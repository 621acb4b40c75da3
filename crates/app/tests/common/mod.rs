//! Test support of the application layer's tests (and its benches): a real SQLite store in a
//! temporary directory holding the bundled TSLA, TSLL, VIX, Fear & Greed and TSLA split files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use data_csv::ImportOptions;
use pulse_core::ports::Store;
use store_sqlite::SqliteStore;

/// A store `t.db` in `dir` with the bundled sample files imported.
pub async fn bundled_store(dir: &tempfile::TempDir) -> SqliteStore {
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    let mut batches = Vec::new();
    for name in ["TSLA", "TSLL", "VIX", "FEAR_GREED", "SPLITS"] {
        let path = pulse_testkit::bundle_dir().join(format!("{name}.csv"));
        let bytes = std::fs::read(&path).unwrap();
        let parsed = data_csv::parse_reader(
            &path.display().to_string(),
            &bytes[..],
            &ImportOptions::default(),
        )
        .unwrap();
        batches.extend(parsed.into_batches().unwrap());
    }
    store.import(&batches).await.unwrap();
    store
}

/// Fills as `date symbol side quantity price fee`, comparable across a trading runner (stamped
/// with close instants) and a backtest (stamped with bar times).
pub fn fill_essence(fills: &[pulse_core::Fill]) -> Vec<String> {
    fills
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {} {}",
                f.ts.to_zoned(jiff::tz::TimeZone::UTC).date(),
                f.symbol,
                f.side,
                f.quantity,
                f.price,
                f.fee
            )
        })
        .collect()
}

/// Sets the store's clock to `to` (time travel).
pub async fn travel(store: &SqliteStore, to: &str) {
    pulse_app::rebalance::clock(
        store,
        Some(pulse_app::rebalance::ClockChange::Set(to.parse().unwrap())),
    )
    .await
    .unwrap();
}

/// No live broker: these runners trade on paper.
pub const NONE: Option<&broker_alpaca::AlpacaBroker> = None;

/// A step callback that never stops the run.
pub fn go(_: usize) -> std::ops::ControlFlow<()> {
    std::ops::ControlFlow::Continue(())
}
