//! Integration tests of the SQLite store on real SQLite files and the real shared market data.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Layout, content_checksum, read_batch};
use pulse_core::jiff::Timestamp;
use pulse_core::ports::{BarPager, BarQuery, ImportBatch, ImportPolicy, Store};
use pulse_core::quality::{Finding, FindingKind};
use pulse_core::{Bar, CorporateActionKind, Symbol, Timeframe};
use pulse_testkit::shared_file;
use store_sqlite::{SqliteStore, StoreError, latest_schema_version};

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn tsla() -> ImportBatch {
    read_batch(&shared_file("daily-ohlcv/TSLA.csv"), Layout::DailyOhlcv)
}

fn tsll() -> ImportBatch {
    read_batch(&shared_file("daily-ohlcv/TSLL.csv"), Layout::DailyOhlcv)
}

fn btc() -> ImportBatch {
    read_batch(&shared_file("intraday-1m/BTCUSDT.csv"), Layout::Intraday)
}

fn query(symbol: &str, tf: Timeframe) -> BarQuery {
    BarQuery {
        symbol: sym(symbol),
        timeframe: tf,
        start: None,
        end: None,
    }
}

async fn read_all(store: &SqliteStore, q: BarQuery, chunk: u32) -> (Vec<Bar>, usize) {
    let mut pager = BarPager::new(q, chunk);
    let mut out = Vec::new();
    let mut chunks = 0;
    while let Some(page) = pager.next_chunk(store).await.unwrap() {
        assert!(page.len() <= chunk as usize);
        out.extend(page);
        chunks += 1;
    }
    (out, chunks)
}

/// Bit-for-bit equality of two bars (NaN-free data, but `==` would hide -0.0 vs 0.0).
fn assert_same_bits(stored: &Bar, file: &Bar) {
    assert_eq!(stored.ts, file.ts);
    for (a, b) in [
        (stored.open, file.open),
        (stored.high, file.high),
        (stored.low, file.low),
        (stored.close, file.close),
    ] {
        assert_eq!(a.to_bits(), b.to_bits(), "at {}", file.ts);
    }
    assert_eq!(
        stored.adj_close.map(f64::to_bits),
        file.adj_close.map(f64::to_bits)
    );
    assert_eq!(
        stored.volume.map(f64::to_bits),
        file.volume.map(f64::to_bits)
    );
}

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pulse.db"))
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn open_creates_directories_runs_migrations_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("pulse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.is_file());
    assert_eq!(store.path(), path.as_path());
    assert_eq!(latest_schema_version(), 6);
    assert_eq!(store.schema_version().await.unwrap(), 6);
    let counts = store.table_counts().await.unwrap();
    assert_eq!(counts, store_sqlite::TableCounts::default());
    store.close().await;
    // SQLite header bytes 18/19 are the read/write format versions: 2 = WAL.
    let header = std::fs::read(&path).unwrap();
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!((header[18], header[19]), (2, 2));
    // Opening again is a no-op migration.
    let again = SqliteStore::open(&path).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 6);
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

#[tokio::test]
async fn daily_tsla_tsll_round_trip_exactly() {
    let (_dir, store) = fresh().await;
    let (a, b) = (tsla(), tsll());
    assert_eq!((a.bars.len(), b.bars.len()), (1946, 788));
    let summary = store.import(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(summary.bars_inserted, 1946 + 788);
    assert_eq!((summary.bars_updated, summary.bars_unchanged), (0, 0));
    assert_eq!(
        summary.actions_inserted,
        (a.actions.len() + b.actions.len()) as u64
    );
    assert_eq!((a.actions.len(), b.actions.len()), (2, 16));

    for batch in [&a, &b] {
        let (bars, _) = read_all(
            &store,
            query(batch.instrument.symbol.as_str(), Timeframe::D1),
            1000,
        )
        .await;
        assert_eq!(bars.len(), batch.bars.len());
        for (s, f) in bars.iter().zip(&batch.bars) {
            assert_same_bits(s, f);
        }
        let actions = store
            .corporate_actions(&batch.instrument.symbol)
            .await
            .unwrap();
        assert_eq!(actions, batch.actions);
        assert_eq!(
            store.instrument(&batch.instrument.symbol).await.unwrap(),
            Some(batch.instrument.clone())
        );
    }

    // The float32-derived values of the files, bit for bit.
    let first = store
        .bars_page(&query("TSLL", Timeframe::D1), None, 1)
        .await
        .unwrap();
    assert_eq!(first[0].ts, ts("2022-08-09T00:00:00Z"));
    assert_eq!(
        first[0].adj_close.unwrap().to_bits(),
        21.592281341552734f64.to_bits()
    );
    assert_eq!(first[0].close.to_bits(), 24.1299991607666f64.to_bits());
    assert_eq!(first[0].volume, Some(144000.0));

    // Exact decimal strings of dividends (TSLL 2022-09-20 paid 0.015; TSLA's 5.0 split-as-dividend).
    let tsll_actions = store.corporate_actions(&sym("TSLL")).await.unwrap();
    assert_eq!(tsll_actions[0].ex_date.to_string(), "2022-09-20");
    assert_eq!(tsll_actions[0].value().to_string(), "0.015");
    let tsla_actions = store.corporate_actions(&sym("TSLA")).await.unwrap();
    assert!(matches!(
        tsla_actions[0].kind,
        CorporateActionKind::Dividend { cash_per_share } if cash_per_share.to_string() == "5.0"
    ));

    let instruments = store.instruments().await.unwrap();
    let names: Vec<_> = instruments.iter().map(|i| i.symbol.as_str()).collect();
    assert_eq!(names, ["TSLA", "TSLL"]);
    assert_eq!(instruments[1].leverage, 2.0);
    assert_eq!(instruments[1].underlying, Some(sym("TSLA")));
}

#[tokio::test]
async fn btc_intraday_import_is_idempotent_and_counts_exactly() {
    let (_dir, store) = fresh().await;
    let batch = btc();
    assert_eq!(batch.bars.len(), 43_200);
    let first = store.import(std::slice::from_ref(&batch)).await.unwrap();
    assert_eq!(first.bars_inserted, 43_200);
    assert_eq!((first.bars_updated, first.bars_unchanged), (0, 0));
    let (sum1, n1) = content_checksum(&store).await;
    assert_eq!(n1, 43_200);

    let again = store.import(std::slice::from_ref(&batch)).await.unwrap();
    assert_eq!(
        (
            again.bars_inserted,
            again.bars_updated,
            again.bars_unchanged
        ),
        (0, 0, 43_200)
    );
    assert!(again.is_no_op());
    assert_eq!(content_checksum(&store).await, (sum1, n1));

    // Change exactly one value (the close of one bar in the middle of a 500-row chunk).
    let mut changed = batch.clone();
    changed.bars[20_123].close = 104_000.25;
    let one = store.import(std::slice::from_ref(&changed)).await.unwrap();
    assert_eq!(
        (one.bars_inserted, one.bars_updated, one.bars_unchanged),
        (0, 1, 43_199)
    );
    let (sum2, n2) = content_checksum(&store).await;
    assert_eq!(n2, n1);
    assert_ne!(sum2, sum1);
    let at = changed.bars[20_123].ts;
    let page = store
        .bars_page(
            &query("BTCUSDT", Timeframe::M1),
            Some(Timestamp::from_second(at.as_second() - 1).unwrap()),
            1,
        )
        .await
        .unwrap();
    assert_eq!(page[0].ts, at);
    assert_eq!(page[0].close, 104_000.25);

    // A value → NULL change is an update too (`IS NOT`) when replacing is asked for (by default
    // a bar that lost its volume is poorer and is kept), and a NULL → value change back.
    let mut vol = changed.clone();
    vol.bars[7].volume = None;
    let s = store.import(std::slice::from_ref(&vol)).await.unwrap();
    assert_eq!((s.bars_inserted, s.bars_updated, s.bars_kept), (0, 0, 1));
    let s = store
        .import_with(std::slice::from_ref(&vol), ImportPolicy::Replace)
        .await
        .unwrap();
    assert_eq!((s.bars_inserted, s.bars_updated), (0, 1));
    let s = store.import(std::slice::from_ref(&batch)).await.unwrap();
    assert_eq!(
        (s.bars_inserted, s.bars_updated, s.bars_unchanged),
        (0, 2, 43_198)
    );
    assert_eq!(content_checksum(&store).await, (sum1, n1));

    // Extending the series: a batch of the last 100 file bars plus 3 new minutes.
    let mut tail = batch.clone();
    tail.bars = batch.bars[43_100..].to_vec();
    let last = *batch.bars.last().unwrap();
    for k in 1..=3 {
        let mut b = last;
        b.ts = Timestamp::from_second(last.ts.as_second() + 60 * k).unwrap();
        tail.bars.push(b);
    }
    let s = store.import(&[tail]).await.unwrap();
    assert_eq!(
        (s.bars_inserted, s.bars_updated, s.bars_unchanged),
        (3, 0, 100)
    );

    let log = store.import_log().await.unwrap();
    assert_eq!(log.len(), 7);
    assert_eq!(log[0].summary, first);
    assert_eq!(log[1].summary, again);
    assert_eq!(log[0].symbol, "BTCUSDT");
    assert_eq!(log[0].timeframe, "1m");
    assert!(log[0].source.ends_with("BTCUSDT.csv"));
}

#[tokio::test]
async fn paging_returns_every_bar_once_in_order() {
    let (_dir, store) = fresh().await;
    let batch = btc();
    store.import(std::slice::from_ref(&batch)).await.unwrap();
    let (bars, chunks) = read_all(&store, query("BTCUSDT", Timeframe::M1), 1000).await;
    assert_eq!(bars.len(), 43_200);
    // 43 full chunks + one of 200.
    assert_eq!(chunks, 44);
    assert!(bars.windows(2).all(|w| w[0].ts < w[1].ts));
    for (s, f) in bars.iter().zip(&batch.bars) {
        assert_same_bits(s, f);
    }
    assert_eq!(bars[0].ts, ts("2025-05-30T16:39:00Z"));
    assert_eq!(bars[43_199].ts, ts("2025-06-29T16:38:00Z"));
    assert_eq!(bars[0].open, 104_217.5);
    assert_eq!(bars[0].volume, Some(477.605));

    // A chunk that divides the size exactly ends with an empty page, not a duplicate.
    let (bars, chunks) = read_all(&store, query("BTCUSDT", Timeframe::M1), 43_200).await;
    assert_eq!((bars.len(), chunks), (43_200, 1));
    let (bars, _) = read_all(&store, query("BTCUSDT", Timeframe::M1), 7).await;
    assert_eq!(bars.len(), 43_200);

    // Unknown series / other timeframe: nothing.
    assert!(
        store
            .bars_page(&query("BTCUSDT", Timeframe::D1), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .bars_page(&query("NOPE", Timeframe::M1), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .bars_page(&query("BTCUSDT", Timeframe::M1), None, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn start_and_end_are_inclusive() {
    let (_dir, store) = fresh().await;
    let batch = tsla();
    store.import(std::slice::from_ref(&batch)).await.unwrap();
    let mut q = query("TSLA", Timeframe::D1);
    q.start = Some(ts("2020-08-31T00:00:00Z"));
    q.end = Some(ts("2020-09-04T00:00:00Z"));
    let (bars, _) = read_all(&store, q.clone(), 2).await;
    let days: Vec<String> = bars.iter().map(|b| b.ts.to_string()).collect();
    assert_eq!(
        days,
        [
            "2020-08-31T00:00:00Z",
            "2020-09-01T00:00:00Z",
            "2020-09-02T00:00:00Z",
            "2020-09-03T00:00:00Z",
            "2020-09-04T00:00:00Z"
        ]
    );
    let expected: Vec<&Bar> = batch
        .bars
        .iter()
        .filter(|b| b.ts >= q.start.unwrap() && b.ts <= q.end.unwrap())
        .collect();
    assert_eq!(expected.len(), 5);
    for (s, f) in bars.iter().zip(expected) {
        assert_same_bits(s, f);
    }
    // Bounds between bars (a weekend and a fraction of a second) select the same days.
    q.start = Some(ts("2020-08-29T12:00:00Z"));
    q.end = Some(ts("2020-09-04T00:00:00.5Z"));
    assert_eq!(read_all(&store, q.clone(), 1000).await.0, bars);
    q.start = Some(ts("2020-08-30T23:59:59.999Z"));
    assert_eq!(read_all(&store, q.clone(), 1000).await.0, bars);
    // `after` beats `start`.
    let page = store
        .bars_page(&q, Some(ts("2020-09-02T00:00:00Z")), 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].ts, ts("2020-09-03T00:00:00Z"));
    // Open-ended: from a date to the end of the file.
    q.start = Some(ts("2025-09-25T00:00:00Z"));
    q.end = None;
    let (tail, _) = read_all(&store, q.clone(), 1000).await;
    assert_eq!(tail.len(), 3);
    assert_same_bits(tail.last().unwrap(), batch.bars.last().unwrap());
    // Empty range.
    q.start = Some(ts("2021-01-01T00:00:00Z"));
    q.end = Some(ts("2020-01-01T00:00:00Z"));
    assert!(store.bars_page(&q, None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn series_summaries_are_ordered_by_symbol_then_timeframe() {
    let (_dir, store) = fresh().await;
    let intraday_tsla = read_batch(&shared_file("intraday-1m/TSLA.csv"), Layout::Intraday);
    let vix = read_batch(&shared_file("daily-ohlcv/VIX.csv"), Layout::DailyOhlcv);
    let batches = [tsla(), intraday_tsla.clone(), vix.clone(), btc()];
    store.import(&batches).await.unwrap();
    let series = store.series().await.unwrap();
    let keys: Vec<(String, Timeframe, u64)> = series
        .iter()
        .map(|s| (s.symbol.to_string(), s.timeframe, s.rows))
        .collect();
    assert_eq!(
        keys,
        [
            ("BTCUSDT".to_string(), Timeframe::M1, 43_200),
            ("TSLA".to_string(), Timeframe::M1, 1946),
            ("TSLA".to_string(), Timeframe::D1, 1946),
            ("VIX".to_string(), Timeframe::D1, 9223),
        ]
    );
    for (s, b) in series
        .iter()
        .zip([&batches[3], &batches[1], &batches[0], &batches[2]])
    {
        assert_eq!(s.first, b.bars.first().unwrap().ts);
        assert_eq!(s.last, b.bars.last().unwrap().ts);
    }
    assert_eq!(series[1].first, ts("2019-02-11T14:31:00Z"));
    assert_eq!(series[3].last, ts("2026-07-07T00:00:00Z"));
    // VIX has no volume and no adjusted close in places: NULLs round-trip.
    let (vix_bars, _) = read_all(&store, query("VIX", Timeframe::D1), 5000).await;
    for (s, f) in vix_bars.iter().zip(&vix.bars) {
        assert_same_bits(s, f);
    }
    assert!(vix_bars.iter().all(|b| b.volume.is_none()));
}

#[tokio::test]
async fn a_bad_batch_rolls_back_the_whole_import() {
    let (_dir, store) = fresh().await;
    store.import(&[tsla()]).await.unwrap();
    let counts = store.table_counts().await.unwrap();
    let checksum = content_checksum(&store).await;

    // [good, bad]: the bad batch has two bars swapped (non-increasing ts) near its end.
    let good = tsll();
    let mut bad = btc();
    bad.bars.swap(40_000, 40_001);
    let err = store.import(&[good.clone(), bad]).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, StoreError::InvalidBatch { batch: 1, .. }),
        "{err:?}"
    );
    assert!(msg.contains("bar 40001"), "{msg}");
    assert!(msg.contains("BTCUSDT.csv"), "{msg}");
    assert_eq!(store.table_counts().await.unwrap(), counts);
    assert_eq!(content_checksum(&store).await, checksum);
    assert_eq!(store.instrument(&sym("TSLL")).await.unwrap(), None);

    // A non-finite value (SQLite would store NaN as NULL) is refused the same way.
    let mut nan = btc();
    nan.bars[5].high = f64::NAN;
    let err = store.import(&[good.clone(), nan]).await.unwrap_err();
    assert!(err.to_string().contains("bar 5"), "{err}");
    assert_eq!(content_checksum(&store).await, checksum);

    // A failure inside SQLite after rows were written (a corporate action of an unknown
    // instrument violates the foreign key) rolls back the bars already upserted too, including
    // changes to existing rows.
    let mut changed_tsla = tsla();
    changed_tsla.bars[0].close = 1.0;
    let mut orphan = btc();
    let mut action = good.actions[0].clone();
    action.symbol = sym("NOT_IMPORTED");
    orphan.actions.push(action);
    let err = store
        .import(&[changed_tsla, good.clone(), orphan])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
    assert!(err.to_string().contains("NOT_IMPORTED"), "{err}");
    assert_eq!(store.table_counts().await.unwrap(), counts);
    assert_eq!(content_checksum(&store).await, checksum);

    // The store is still usable and the good batch imports on its own.
    let s = store.import(&[good]).await.unwrap();
    assert_eq!(s.bars_inserted, 788);
}

#[tokio::test]
async fn instruments_upsert_and_data_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pulse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let mut b = tsll();
    store.import(std::slice::from_ref(&b)).await.unwrap();
    b.instrument.leverage = 3.0;
    b.instrument.underlying = None;
    let s = store.import(std::slice::from_ref(&b)).await.unwrap();
    assert!(
        s.is_no_op(),
        "instrument changes are not bar/action changes: {s:?}"
    );
    assert_eq!(
        store.instrument(&sym("TSLL")).await.unwrap(),
        Some(b.instrument.clone())
    );
    store
        .replace_findings(
            &[(sym("TSLL"), Timeframe::D1)],
            &[Finding {
                symbol: sym("TSLL"),
                timeframe: Timeframe::D1,
                ts: ts("2022-08-09T00:00:00Z"),
                kind: FindingKind::Gap,
                detail: "test detail".into(),
            }],
        )
        .await
        .unwrap();
    let checksum = content_checksum(&store).await;
    let counts = store.table_counts().await.unwrap();
    store.close().await;
    drop(store);

    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.schema_version().await.unwrap(), 6);
    assert_eq!(reopened.table_counts().await.unwrap(), counts);
    assert_eq!(content_checksum(&reopened).await, checksum);
    assert_eq!(
        reopened
            .instrument(&sym("TSLL"))
            .await
            .unwrap()
            .unwrap()
            .leverage,
        3.0
    );
}

#[tokio::test]
async fn findings_are_replaced_per_scope() {
    let (_dir, store) = fresh().await;
    let f = |s: &str, tf: Timeframe, t: &str, kind: FindingKind, d: &str| Finding {
        symbol: sym(s),
        timeframe: tf,
        ts: ts(t),
        kind,
        detail: d.to_string(),
    };
    let vix_scope = [(sym("VIX"), Timeframe::D1)];
    let vix = vec![
        f(
            "VIX",
            Timeframe::D1,
            "1992-03-05T00:00:00Z",
            FindingKind::HighBelowOpenClose,
            "high 1 < open 2",
        ),
        f(
            "VIX",
            Timeframe::D1,
            "1997-01-31T00:00:00Z",
            FindingKind::Gap,
            "missing session",
        ),
        f(
            "VIX",
            Timeframe::D1,
            "1992-03-05T00:00:00Z",
            FindingKind::LowAboveOpenClose,
            "low 3 > close 2",
        ),
    ];
    assert_eq!(store.replace_findings(&vix_scope, &vix).await.unwrap(), 3);
    let btc_scope = [
        (sym("BTCUSDT"), Timeframe::M1),
        (sym("BTCUSDT"), Timeframe::D1),
    ];
    let btc = vec![
        f(
            "BTCUSDT",
            Timeframe::D1,
            "2025-06-01T00:00:00Z",
            FindingKind::OutsideSession,
            "d",
        ),
        f(
            "BTCUSDT",
            Timeframe::M1,
            "2025-06-01T00:01:00Z",
            FindingKind::NonPositivePrice,
            "m",
        ),
    ];
    assert_eq!(store.replace_findings(&btc_scope, &btc).await.unwrap(), 2);

    let all = store.findings().await.unwrap();
    // symbol, then timeframe in domain order (1m before 1d), then ts, ties in insertion order.
    assert_eq!(
        all,
        vec![
            btc[1].clone(),
            btc[0].clone(),
            vix[0].clone(),
            vix[2].clone(),
            vix[1].clone()
        ]
    );

    // Replacing VIX with nothing leaves BTCUSDT untouched.
    assert_eq!(store.replace_findings(&vix_scope, &[]).await.unwrap(), 0);
    assert_eq!(
        store.findings().await.unwrap(),
        vec![btc[1].clone(), btc[0].clone()]
    );

    // A finding outside the scope is refused and nothing changes.
    let err = store.replace_findings(&btc_scope, &vix).await.unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidFinding { index: 0, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("VIX"), "{err}");
    assert_eq!(store.findings().await.unwrap().len(), 2);
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

#[tokio::test]
async fn hand_edited_values_are_reported_with_table_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pulse.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.import(&[tsll()]).await.unwrap();
    let mut conn = raw(&path).await;
    sqlx::query("UPDATE instruments SET exchange = 'lse' WHERE symbol = 'TSLL'")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE corporate_actions SET value = 'ten cents' WHERE ex_date = '2022-09-20'")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let err = store.instruments().await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        msg.contains("instruments.exchange") && msg.contains("TSLL") && msg.contains("lse"),
        "{msg}"
    );
    let err = store.corporate_actions(&sym("TSLL")).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("corporate_actions.value")
            && msg.contains("2022-09-20")
            && msg.contains("ten cents"),
        "{msg}"
    );
}

#[tokio::test]
async fn readers_see_the_data_before_or_after_an_import_never_half_of_it() {
    let (_dir, store) = fresh().await;
    let batches: Vec<ImportBatch> = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        .iter()
        .map(|s| {
            read_batch(
                &shared_file(&format!("intraday-1m/{s}.csv")),
                Layout::Intraday,
            )
        })
        .collect();
    let writer = {
        let store = store.clone();
        let batches = batches.clone();
        tokio::spawn(async move { store.import(&batches).await.unwrap() })
    };
    // WAL: readers run beside the writer and see either nothing or everything.
    let mut seen = std::collections::BTreeSet::new();
    while !writer.is_finished() {
        let total: u64 = store.series().await.unwrap().iter().map(|s| s.rows).sum();
        seen.insert(total);
        tokio::task::yield_now().await;
    }
    let summary = writer.await.unwrap();
    assert_eq!(summary.bars_inserted, 3 * 43_200);
    seen.insert(store.table_counts().await.unwrap().bars);
    assert!(seen.iter().all(|&n| n == 0 || n == 3 * 43_200), "{seen:?}");
}

#[tokio::test]
async fn two_processes_worth_of_writers_wait_for_each_other() {
    // Two independent stores (two pools, as two `pulse` processes would have) on one file: the
    // busy timeout and BEGIN IMMEDIATE make the second writer wait instead of failing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pulse.db");
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    let eth = read_batch(&shared_file("intraday-1m/ETHUSDT.csv"), Layout::Intraday);
    let (btc_batch, eth_batch) = (btc(), eth);
    let (ra, rb) = tokio::join!(
        a.import(std::slice::from_ref(&btc_batch)),
        b.import(std::slice::from_ref(&eth_batch))
    );
    assert_eq!(ra.unwrap().bars_inserted, 43_200);
    assert_eq!(rb.unwrap().bars_inserted, 43_200);
    assert_eq!(a.table_counts().await.unwrap().bars, 86_400);
    assert_eq!(b.table_counts().await.unwrap().import_log, 2);
}

#[tokio::test]
async fn runs_and_their_alerts_round_trip_newest_first() {
    use pulse_core::ports::{AlertRecord, RunRecord};
    let (_dir, store) = fresh().await;
    let ts = |s: &str| s.parse::<Timestamp>().unwrap();
    let mut run = RunRecord {
        id: None,
        kind: "backtest".into(),
        created_at: ts("2026-11-21T10:00:00Z"),
        strategy: "Pulse".into(),
        sample: "full history".into(),
        data_from: ts("2022-09-27T00:00:00Z"),
        data_to: ts("2025-09-29T00:00:00Z"),
        config: "[limits]\nmax_gross = 1.0\n".into(),
        metrics_json: r#"{"Pulse":{"sharpe":1.2}}"#.into(),
        alerts: vec![AlertRecord {
            ts: ts("2023-01-03T00:00:00Z"),
            strategy: "Pulse".into(),
            message: "TSLL 50.0% → 0.0%".into(),
            old_weights_json: r#"{"TSLL":0.5}"#.into(),
            new_weights_json: r#"{"TSLL":0.0}"#.into(),
        }],
    };
    let first = store.record_run(&run).await.unwrap();
    run.kind = "simulate".into();
    run.alerts.clear();
    let second = store.record_run(&run).await.unwrap();
    assert!(second > first);
    let runs = store.runs(10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, Some(second));
    assert_eq!(runs[0].kind, "simulate");
    assert_eq!(runs[1].alerts.len(), 1);
    assert_eq!(runs[1].alerts[0].message, "TSLL 50.0% → 0.0%");
    let mut expected = run.clone();
    expected.id = Some(second);
    assert_eq!(runs[0], expected);
    assert_eq!(store.runs(1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn documents_and_audit_entries_are_written_together() {
    use pulse_core::ports::AuditEntry;
    let (_dir, store) = fresh().await;
    assert_eq!(store.document("clock").await.unwrap(), None);
    let entry = |s: &str| AuditEntry {
        ts: "2025-03-04T00:30:00Z".parse().unwrap(),
        subsystem: "rebalance".into(),
        entry_json: s.into(),
    };
    store
        .save_documents(
            &[
                ("clock", "\"2025-03-04T08:30:00+09:00\"".into()),
                ("state", "{}".into()),
            ],
            &[entry("{\"a\":1}")],
        )
        .await
        .unwrap();
    store
        .save_documents(&[("state", "{\"step\":2}".into())], &[entry("{\"b\":2}")])
        .await
        .unwrap();
    assert_eq!(
        store.document("state").await.unwrap().as_deref(),
        Some("{\"step\":2}")
    );
    assert_eq!(
        store.document("clock").await.unwrap().as_deref(),
        Some("\"2025-03-04T08:30:00+09:00\"")
    );
    let log = store.audit_log(10).await.unwrap();
    assert_eq!(
        log.iter()
            .map(|e| e.entry_json.as_str())
            .collect::<Vec<_>>(),
        vec!["{\"a\":1}", "{\"b\":2}"]
    );
    assert_eq!(store.audit_log(1).await.unwrap()[0].entry_json, "{\"b\":2}");
}

#[tokio::test]
async fn sweep_trials_are_stored_once_and_read_back_in_order() {
    use pulse_core::ports::StoredTrial;
    let (_dir, store) = fresh().await;
    let t = |n: u64, score: Option<f64>| StoredTrial {
        study: "s1".into(),
        number: n,
        params_json: format!("{{\"rsi_high\":{}}}", 60 + n),
        score,
        details_json: "{}".into(),
    };
    store
        .save_trials(&[t(2, Some(0.5)), t(0, None)])
        .await
        .unwrap();
    // Re-saving a stored number changes nothing; NaN scores are stored as NULL.
    store
        .save_trials(&[t(2, Some(9.0)), t(1, Some(f64::NAN))])
        .await
        .unwrap();
    let got = store.trials("s1").await.unwrap();
    assert_eq!(
        got.iter().map(|x| x.number).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(got[2].score, Some(0.5));
    assert_eq!(got[1].score, None);
    assert!(store.trials("other").await.unwrap().is_empty());
}

/// `daily-adjclose/SPY.csv` as the CSV importer reads it: close-only bars whose close is the
/// adjusted close (`open = high = low = close = adj_close`, no volume).
fn spy_adjclose() -> ImportBatch {
    let mut batch = read_batch(&shared_file("daily-adjclose/SPY.csv"), Layout::DailyValue);
    for b in &mut batch.bars {
        b.adj_close = Some(b.close);
    }
    batch
}

#[tokio::test]
async fn importing_close_only_rows_keeps_stored_ohlcv() {
    let (_dir, store) = fresh().await;
    let ohlcv = read_batch(&shared_file("daily-ohlcv/SPY.csv"), Layout::DailyOhlcv);
    store.import(std::slice::from_ref(&ohlcv)).await.unwrap();
    let n_before = content_checksum(&store).await.1;

    let adj = spy_adjclose();
    let stored: std::collections::HashSet<Timestamp> = ohlcv.bars.iter().map(|b| b.ts).collect();
    let overlap = adj.bars.iter().filter(|b| stored.contains(&b.ts)).count() as u64;
    assert!(overlap > 1000, "{overlap}");
    let s = store.import(std::slice::from_ref(&adj)).await.unwrap();
    assert_eq!(s.bars_kept, overlap, "{s:?}");
    assert_eq!(s.bars_updated, 0, "{s:?}");
    assert_eq!(s.bars_inserted, adj.bars.len() as u64 - overlap);
    // Every stored OHLCV bar is still the file's, bit for bit.
    let (bars, _) = read_all(&store, query("SPY", Timeframe::D1), 4096).await;
    let by_ts: std::collections::HashMap<Timestamp, Bar> =
        bars.iter().map(|b| (b.ts, *b)).collect();
    for b in &ohlcv.bars {
        assert_same_bits(&by_ts[&b.ts], b);
    }
    assert_eq!(content_checksum(&store).await.1, n_before + s.bars_inserted);

    // The fuller rows replace the close-only ones again: nothing kept the other way round.
    let s = store.import(std::slice::from_ref(&ohlcv)).await.unwrap();
    assert_eq!((s.bars_kept, s.bars_updated), (0, 0), "{s:?}");

    // With an explicit replace, the poorer rows are written.
    let s = store
        .import_with(std::slice::from_ref(&adj), ImportPolicy::Replace)
        .await
        .unwrap();
    assert_eq!((s.bars_kept, s.bars_updated), (0, overlap), "{s:?}");
    let s = store.import(std::slice::from_ref(&ohlcv)).await.unwrap();
    assert_eq!((s.bars_kept, s.bars_updated), (0, overlap), "{s:?}");
}

#[tokio::test]
async fn insert_only_imports_never_change_a_stored_bar() {
    let (_dir, store) = fresh().await;
    let batch = tsla();
    store.import(std::slice::from_ref(&batch)).await.unwrap();
    let (sum, n) = content_checksum(&store).await;
    // Same fields, other values (as bars rebuilt from raw minutes would be): kept, not written.
    let mut other = batch.clone();
    for b in &mut other.bars {
        b.close *= 15.0;
    }
    let s = store
        .import_with(std::slice::from_ref(&other), ImportPolicy::InsertOnly)
        .await
        .unwrap();
    assert_eq!(
        (s.bars_inserted, s.bars_updated, s.bars_kept),
        (0, 0, batch.bars.len() as u64)
    );
    assert_eq!(content_checksum(&store).await, (sum, n));
    let log = store.import_log().await.unwrap();
    assert_eq!(log[1].summary.bars_unchanged, batch.bars.len() as u64);
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
