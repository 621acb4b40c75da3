//! The daily portfolio pipeline end to end: the loopback fake KIS server (KRW and USD cash, a
//! domestic and an overseas holding, an open order) plus a manual-assets sheet, the FX and
//! price histories in a real SQLite store; the analysis table checked against hand-computed KRW
//! numbers; a second run changes nothing; bad sheets name the row and column.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../adapters/broker-kis/tests/common/mod.rs"]
mod kis;

use kis::{Env, d};
use pulse_app::AppError;
use pulse_app::pipeline::{self, ManualSheet, PipelineRequest};
use pulse_app::rebalance::{ClockChange, clock};
use pulse_broker_kis::KisMode;
use pulse_core::ports::{AuditEntry, ImportBatch, Store};
use pulse_core::{Bar, Instrument, Symbol, Timeframe};
use pulse_execution::NoBroker;
use store_sqlite::SqliteStore;

const SHEET: &str = "asset,class,currency,quantity,price,value,date,cost\n\
Deposit,cash,KRW,,,\"3,000,000\",2026-01-02,\n\
VOO,etf,usd,2,500,,2026-01-02,900\n\
Gold,commodity,KRW,10,100000,,2025-12-01,800000\n\
Gold,commodity,KRW,10,110000,,2026-01-06,\n";

/// Daily bars at 00:00 UTC for `days` weekdays ending on 2026-01-05, close = f(i).
fn series(symbol: &str, days: usize, f: impl Fn(usize) -> f64) -> ImportBatch {
    let sym = Symbol::try_new(symbol).unwrap();
    let mut dates = Vec::new();
    let mut day: jiff::civil::Date = "2026-01-05".parse().unwrap();
    while dates.len() < days {
        if !matches!(
            day.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        ) {
            dates.push(day);
        }
        day = day.yesterday().unwrap();
    }
    dates.reverse();
    let bars = dates
        .iter()
        .enumerate()
        .map(|(i, dt)| {
            let c = f(i);
            Bar {
                ts: dt.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp(),
                open: c,
                high: c,
                low: c,
                close: c,
                adj_close: None,
                volume: Some(1000.0),
            }
        })
        .collect();
    ImportBatch {
        instrument: Instrument::infer(&sym),
        timeframe: Timeframe::D1,
        bars,
        actions: Vec::new(),
        source: format!("test:{symbol}"),
    }
}

async fn store(dir: &tempfile::TempDir, fx: bool) -> SqliteStore {
    let store = SqliteStore::open(&dir.path().join("p.db")).await.unwrap();
    let mut batches = vec![
        series("005930.KS", 300, |i| {
            60000.0 + 40.0 * i as f64 + 3000.0 * ((i as f64) * 0.3).sin()
        }),
        series("TSLA", 300, |i| {
            200.0 + 0.2 * i as f64 + 15.0 * ((i as f64) * 0.17).cos()
        }),
    ];
    if fx {
        // The last USD/KRW close before 2026-01-05 is 1450 (on Friday 2026-01-02); the rate of
        // the run date itself is not stored yet.
        let mut b = series("USDKRW=X", 30, |i| 1400.0 + i as f64);
        b.bars.pop();
        b.bars.last_mut().unwrap().close = 1450.0;
        batches.push(b);
    }
    store.import(&batches).await.unwrap();
    // The store's clock: 2026-01-05 10:00 KST, the fake broker's day.
    clock(
        &store,
        Some(ClockChange::Set("2026-01-05T01:00:00Z".parse().unwrap())),
    )
    .await
    .unwrap();
    store
}

async fn kis_env() -> Env {
    let env = Env::new(KisMode::Real).await;
    {
        let mut book = env.book();
        book.positions.insert("005930".into(), d("10"));
        book.positions.insert("TSLA".into(), d("4"));
        book.costs.insert("005930".into(), d("60000"));
        book.costs.insert("TSLA".into(), d("200"));
        // An open limit order of the day (not filled).
        book.place(false, "005930", "02", d("1"), d("69000"));
    }
    env
}

fn request(sheet: &str) -> PipelineRequest {
    PipelineRequest {
        manual: Some(ManualSheet {
            source: "https://docs.google.com/spreadsheets/d/x/export?format=csv&key=secret".into(),
            text: sheet.into(),
        }),
        ..PipelineRequest::default()
    }
}

async fn pipeline_docs(store: &SqliteStore) -> Vec<(String, Option<String>)> {
    let date: jiff::civil::Date = "2026-01-05".parse().unwrap();
    let mut out = Vec::new();
    for part in ["account", "manual", "fx", "targets", "analysis"] {
        let k = pipeline::key(date, part);
        let v = store.document(&k).await.unwrap();
        out.push((k, v));
    }
    out.push((
        pipeline::INDEX_KEY.into(),
        store.document(pipeline::INDEX_KEY).await.unwrap(),
    ));
    out
}

async fn audit(store: &SqliteStore) -> Vec<AuditEntry> {
    store.audit_log(10_000).await.unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[tokio::test]
async fn kis_and_sheet_valued_in_krw_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, true).await;
    let env = kis_env().await;
    let broker = env.broker();

    let first = pipeline::run(&store, Some(&broker), &request(SHEET))
        .await
        .unwrap();
    assert_eq!(first.date.to_string(), "2026-01-05");
    assert_eq!(first.changed.len(), 6, "{:?}", first.changed);

    // The account as synced: KRW and USD cash, both holdings with cost and price, the order.
    let account = first.account.as_ref().unwrap();
    assert_eq!(account.cash.len(), 2);
    assert_eq!(account.holdings.len(), 2);
    assert_eq!(account.orders.len(), 1);
    assert_eq!(account.orders[0].symbol, "005930");
    assert_eq!(account.orders[0].filled, d("0"));

    // Hand-computed, at USD/KRW 1450:
    //   cash KRW      10,000,000                                   = 10,000,000
    //   cash USD      10,000 × 1450                                = 14,500,000
    //   005930        10 × 70,000 = 700,000; cost 10 × 60,000 = 600,000; P&L 100,000 (16.667 %)
    //   TSLA          4 × 250.5 = 1,002 USD → 1,452,900; cost 4 × 200 × 1450 = 1,160,000;
    //                 P&L 292,900 (25.25 %)
    //   Deposit       3,000,000
    //   VOO           2 × 500 × 1450 = 1,450,000; cost 900 × 1450 = 1,305,000; P&L 145,000
    //   Gold          the 2025-12-01 row (the 2026-01-06 row is after the date):
    //                 10 × 100,000 = 1,000,000; cost 800,000; P&L 200,000 (25 %)
    //   total         32,102,900
    let a = &first.analysis;
    assert_eq!(
        a.fx.iter().find(|r| r.currency == "USD").unwrap().rate,
        1450.0
    );
    assert_eq!(
        a.fx.iter()
            .find(|r| r.currency == "USD")
            .unwrap()
            .date
            .to_string(),
        "2026-01-02"
    );
    let total = 32_102_900.0;
    assert!(close(a.total.value_krw, total), "{}", a.total.value_krw);
    let row = |asset: &str| a.rows.iter().find(|r| r.asset == asset).unwrap();
    assert!(close(row("cash KRW").value_krw, 10_000_000.0));
    assert!(close(row("cash USD").value_krw, 14_500_000.0));
    let sam = row("005930");
    assert!(close(sam.value_krw, 700_000.0));
    assert!(close(sam.cost_krw.unwrap(), 600_000.0));
    assert!(close(sam.pnl_krw.unwrap(), 100_000.0));
    assert!(close(sam.pnl_pct.unwrap(), 100_000.0 / 600_000.0));
    assert!(close(sam.weight, 700_000.0 / total));
    let tsla = row("TSLA");
    assert_eq!(tsla.currency, "USD");
    assert!(close(tsla.value, 1002.0));
    assert!(close(tsla.value_krw, 1_452_900.0));
    assert!(close(tsla.cost_krw.unwrap(), 1_160_000.0));
    assert!(close(tsla.pnl_krw.unwrap(), 292_900.0));
    assert!(close(tsla.pnl_pct.unwrap(), 0.2525));
    assert!(close(row("Deposit").value_krw, 3_000_000.0));
    assert!(row("Deposit").cost_krw.is_none());
    let voo = row("VOO");
    assert!(close(voo.value_krw, 1_450_000.0));
    assert!(close(voo.pnl_krw.unwrap(), 145_000.0));
    let gold = row("Gold");
    assert!(close(gold.value_krw, 1_000_000.0));
    assert!(close(gold.pnl_pct.unwrap(), 0.25));

    // Per class.
    let class = |name: &str| a.classes.iter().find(|c| c.name == name).unwrap();
    assert!(close(class("cash").value_krw, 27_500_000.0));
    assert!(close(class("equity").value_krw, 2_152_900.0));
    assert!(close(class("equity").pnl_krw.unwrap(), 392_900.0));
    assert!(close(class("etf").value_krw, 1_450_000.0));
    assert!(close(class("commodity").value_krw, 1_000_000.0));
    assert_eq!(a.classes[0].name, "cash");
    let weights: f64 = a.rows.iter().map(|r| r.weight).sum();
    assert!(close(weights, 1.0));

    // Targets: the eight strategies over the two holdings with stored history; the table's
    // targets are max Sharpe's weights scaled to the two holdings' share of the portfolio.
    assert_eq!(first.targets.symbols, vec!["005930.KS", "TSLA"]);
    assert_eq!(
        first.targets.strategies.len(),
        8,
        "{:?}",
        first.targets.skipped
    );
    let ms = first
        .targets
        .strategies
        .iter()
        .find(|s| s.strategy == "max-sharpe")
        .unwrap();
    assert!(close(ms.weights.values().sum::<f64>(), 1.0));
    assert!(ms.volatility > 0.0 && ms.expected_return.is_finite());
    assert_eq!(a.target.as_ref().unwrap().0, "max-sharpe");
    let sleeve = (700_000.0 + 1_452_900.0) / total;
    assert!(close(
        sam.target_weight.unwrap(),
        ms.weights["005930.KS"] * sleeve
    ));
    assert!(close(
        tsla.target_weight.unwrap(),
        ms.weights["TSLA"] * sleeve
    ));
    assert!(close(
        sam.gap.unwrap(),
        sam.target_weight.unwrap() - sam.weight
    ));
    assert!(voo.target_weight.is_none() && row("cash KRW").target_weight.is_none());

    // The URL's query (which may carry a key) is not stored.
    let manual = first.manual.as_ref().unwrap();
    assert_eq!(
        manual.source,
        "https://docs.google.com/spreadsheets/d/x/export"
    );
    let docs = pipeline_docs(&store).await;
    assert!(docs.iter().all(|(_, v)| v.is_some()));
    assert!(
        docs.iter()
            .all(|(_, v)| !v.as_ref().unwrap().contains("secret"))
    );
    let log = audit(&store).await;

    // The same day again: nothing changes (no document, no audit entry).
    let second = pipeline::run(&store, Some(&broker), &request(SHEET))
        .await
        .unwrap();
    assert!(second.changed.is_empty(), "{:?}", second.changed);
    assert_eq!(second.analysis, first.analysis);
    assert_eq!(pipeline_docs(&store).await, docs);
    assert_eq!(audit(&store).await, log);

    // Without the broker and the sheet: the date's stored parts are used; still nothing changes.
    let none: Option<&NoBroker> = None;
    let third = pipeline::run(&store, none, &PipelineRequest::default())
        .await
        .unwrap();
    assert!(third.changed.is_empty(), "{:?}", third.changed);
    assert_eq!(audit(&store).await, log);

    // The report reads the stored table.
    let report = pipeline::report(&store, None).await.unwrap();
    assert_eq!(report, first.analysis);

    // A changed sheet rewrites only what it changes.
    let more = format!("{SHEET}Fund,fund,KRW,1,500000,,2026-01-05,\n");
    let fourth = pipeline::run(&store, none, &request(&more)).await.unwrap();
    assert!(fourth.changed.iter().any(|k| k.ends_with("/manual")));
    assert!(!fourth.changed.iter().any(|k| k.ends_with("/account")));
    assert!(close(fourth.analysis.total.value_krw, total + 500_000.0));
    assert_eq!(audit(&store).await.len(), log.len() + 1);
}

#[tokio::test]
async fn a_missing_rate_names_the_currency() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, false).await;
    let none: Option<&NoBroker> = None;
    let e = pipeline::run(&store, none, &request(SHEET))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("USD") && text.contains("USDKRW=X"), "{text}");
    assert!(matches!(e, AppError::Data(_)));
    assert!(store.document(pipeline::INDEX_KEY).await.unwrap().is_none());
}

#[tokio::test]
async fn bad_sheets_name_the_row_and_column_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, true).await;
    let none: Option<&NoBroker> = None;
    let cases = [
        (
            "asset,class,currency,price,date\nA,cash,KRW,1,2026-01-02\n",
            "row 1, column quantity",
        ),
        (
            "asset,class,currency,quantity,price,date\nA,cash,KRW,1,1,2026-01-02\nB,cash,KRW,1x,1,2026-01-02\n",
            "row 3, column quantity",
        ),
        (
            "asset,class,currency,quantity,price,date\nA,cash,KRW,1,1,2026-01-02\nB,cash,XYZ,1,1,2026-01-02\n",
            "row 3, column currency",
        ),
        (
            "asset,class,currency,quantity,price,date\nA,cash,KRW,1,abc,2026-01-02\n",
            "row 2, column price",
        ),
        (
            "asset,class,currency,quantity,price,date\nA,cash,KRW,1,,2026-01-02\n",
            "row 2, column price",
        ),
        (
            "asset,class,currency,quantity,price,date\nA,cash,KRW,1,1,02-01-2026\n",
            "row 2, column date",
        ),
        (
            "asset,class,currency,quantity,value,date\nA,cash,KRW,1,-5,2026-01-02\n",
            "row 2, column value",
        ),
    ];
    for (sheet, want) in cases {
        let e = pipeline::run(&store, none, &request(sheet))
            .await
            .unwrap_err();
        assert!(e.is_usage(), "{e}");
        assert!(e.to_string().contains(want), "{e} should name {want}");
    }
    assert!(store.document(pipeline::INDEX_KEY).await.unwrap().is_none());
    assert!(
        audit(&store)
            .await
            .iter()
            .all(|a| a.subsystem != "pipeline")
    );
}

#[tokio::test]
async fn a_broker_is_synced_only_for_today() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, true).await;
    let env = kis_env().await;
    let broker = env.broker();
    let mut r = request(SHEET);
    r.date = Some("2026-01-02".parse().unwrap());
    let e = pipeline::run(&store, Some(&broker), &r).await.unwrap_err();
    assert!(e.is_usage() && e.to_string().contains("today"), "{e}");
    r.date = Some("2026-01-06".parse().unwrap());
    let none: Option<&NoBroker> = None;
    let e = pipeline::run(&store, none, &r).await.unwrap_err();
    assert!(e.is_usage() && e.to_string().contains("after today"), "{e}");
}
