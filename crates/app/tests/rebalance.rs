//! The rebalancing replay on the bundled real TSLA + TSLL closes in a real SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use data_csv::ImportOptions;
use jiff::civil::Date;
use pulse_app::rebalance::Calendar;
use pulse_app::rebalance::simulate::{SimulateOutcome, SimulateRequest, simulate};
use pulse_core::Symbol;
use pulse_core::ports::ImportBatch;
use pulse_core::ports::Store;
use pulse_rebalance::SplitMode;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use store_sqlite::SqliteStore;

fn bundled(name: &str) -> Vec<ImportBatch> {
    let path = pulse_testkit::bundle_dir().join(format!("{name}.csv"));
    let bytes = std::fs::read(&path).unwrap();
    data_csv::parse_reader(
        &path.display().to_string(),
        &bytes[..],
        &ImportOptions::default(),
    )
    .unwrap()
    .into_batches()
    .unwrap()
}

/// A store with TSLA and TSLL, without TSLL's bars on `missing` days.
async fn store_without(dir: &tempfile::TempDir, name: &str, missing: &[Date]) -> SqliteStore {
    let store = SqliteStore::open(&dir.path().join(name)).await.unwrap();
    let mut batches = bundled("TSLA");
    for mut b in bundled("TSLL") {
        b.bars
            .retain(|bar| !missing.contains(&bar.ts.to_zoned(jiff::tz::TimeZone::UTC).date()));
        batches.push(b);
    }
    store.import(&batches).await.unwrap();
    store
}

/// Raw close per symbol per day, as stored.
fn closes(batches: &[ImportBatch]) -> BTreeMap<(Symbol, Date), Decimal> {
    batches
        .iter()
        .flat_map(|b| {
            b.bars.iter().map(|bar| {
                (
                    (
                        b.instrument.symbol.clone(),
                        bar.ts.to_zoned(jiff::tz::TimeZone::UTC).date(),
                    ),
                    pulse_core::money::price_to_money(bar.close, 2).unwrap(),
                )
            })
        })
        .collect()
}

fn request(dir: &tempfile::TempDir) -> SimulateRequest {
    let signals = dir.path().join("signals.jsonl");
    std::fs::write(
        &signals,
        "{\"date\":\"2024-01-02\",\"mp\":{\"stocks\":0.8,\"cash\":0.2},\"sub_mp\":{\"stocks\":[\"TSLA\",\"TSLL\"]}}\n",
    )
    .unwrap();
    SimulateRequest {
        signals,
        from: "2024-01-02".parse().unwrap(),
        to: "2024-02-15".parse().unwrap(),
        calendar: Calendar::Nyse,
        cash: Decimal::from(100_000),
        commission: Decimal::new(1, 3),
        split: SplitMode::Scheduled,
    }
}

fn assert_fills_at_their_days_close(
    outcome: &SimulateOutcome,
    closes: &BTreeMap<(Symbol, Date), Decimal>,
) {
    for o in &outcome.orders {
        assert_eq!(
            Some(&o.price),
            closes.get(&(o.symbol.clone(), o.date)),
            "{} {} booked on {} at {}",
            o.side,
            o.symbol,
            o.date,
            o.price
        );
    }
}

/// Issue 11 (one protocol): an order of a symbol without a bar on the day of its step stays
/// working and is booked on the first later day that has a close, at that close; before, the
/// replay booked it on the step's day at a price from the future.
#[tokio::test]
async fn an_order_without_a_bar_that_day_fills_on_the_day_its_close_exists() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(&dir);
    let all = {
        let mut b = bundled("TSLA");
        b.extend(bundled("TSLL"));
        closes(&b)
    };
    let full = simulate(&store_without(&dir, "full.db", &[]).await, &req)
        .await
        .unwrap();
    assert_fills_at_their_days_close(&full, &all);
    let tsll = Symbol::try_new("TSLL").unwrap();
    let first = full
        .orders
        .iter()
        .find(|o| o.symbol == tsll)
        .expect("TSLL is bought");
    let gap = first.date;
    let gapped = simulate(&store_without(&dir, "gap.db", &[gap]).await, &req)
        .await
        .unwrap();
    assert_fills_at_their_days_close(&gapped, &all);
    let moved = gapped
        .orders
        .iter()
        .find(|o| o.symbol == tsll)
        .expect("TSLL is still bought");
    assert!(
        moved.date > gap,
        "{} not after the missing {gap}",
        moved.date
    );
    assert_eq!(
        (moved.plan.as_str(), moved.step),
        (first.plan.as_str(), first.step)
    );
    // The past is untouched: every day before the gap is the same in both replays.
    let before = |o: &SimulateOutcome| -> Vec<(Date, f64)> {
        o.nav
            .iter()
            .filter(|n| n.date < gap)
            .map(|n| (n.date, n.nav))
            .collect()
    };
    assert_eq!(before(&full), before(&gapped));
}

#[tokio::test]
async fn a_replay_refuses_bad_settings_before_reading_the_signals() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_without(&dir, "s.db", &[]).await;
    let mut req = request(&dir);
    req.signals = dir.path().join("missing.jsonl");
    req.commission = Decimal::from(2);
    let err = simulate(&store, &req).await.unwrap_err();
    assert!(
        err.is_usage() && err.to_string().contains("commission"),
        "{err}"
    );
    req.commission = Decimal::new(1, 3);
    let err = simulate(&store, &req).await.unwrap_err();
    assert!(
        !err.is_usage() && err.to_string().contains("missing.jsonl"),
        "{err}"
    );
}

/// The replay books in the securities' own currency (was always "USD"), and refuses securities
/// quoted in different currencies.
#[tokio::test]
async fn the_replay_books_in_the_securities_currency_and_refuses_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_without(&dir, "c.db", &[]).await;
    let req = request(&dir);
    let outcome = simulate(&store, &req).await.unwrap();
    assert_eq!(outcome.currency, pulse_core::Currency::Usd);
    let report = pulse_app::rebalance::simulate::simulation_report(&req, &outcome).unwrap();
    assert_eq!(report.currency, "USD");
    // A Korean stock beside TSLA: KRW and USD in one account.
    let mut krx = bundled("TSLA");
    for b in &mut krx {
        b.instrument = pulse_core::Instrument::infer(&Symbol::try_new("005930.KS").unwrap());
    }
    store.import(&krx).await.unwrap();
    std::fs::write(
        &req.signals,
        "{\"date\":\"2024-01-02\",\"mp\":{\"stocks\":1.0},\"sub_mp\":{\"stocks\":[\"TSLA\",\"005930.KS\"]}}\n",
    )
    .unwrap();
    let err = simulate(&store, &req).await.unwrap_err().to_string();
    assert!(err.contains("USD") && err.contains("KRW"), "{err}");
}
