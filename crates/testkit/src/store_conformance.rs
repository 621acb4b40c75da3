//! The store conformance suite: every behaviour of the [`Store`] port, checked the same way on
//! every backend (SQLite file, PostgreSQL database) with the real shared market data.
//!
//! A backend's test crate implements [`Backend`] for a local type (a fresh, private database per
//! test, plus the few inspections the port does not offer: row counts, the import log, raw SQL
//! for hand-edited values) and expands [`store_conformance_tests!`](crate::store_conformance_tests)
//! with it, which defines one `#[tokio::test]` per check below.

// Test support: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::shared_file;
use pulse_core::jiff::Timestamp;
use pulse_core::jiff::civil::Date;
use pulse_core::ports::{
    AlertRecord, AuditEntry, BarPager, BarQuery, ImportBatch, ImportPolicy, ImportSummary,
    RunRecord, Store, StoredTrial, TradeOrderRecord, TradingStep,
};
use pulse_core::quality::{Finding, FindingKind};
use pulse_core::rust_decimal::Decimal;
use pulse_core::{
    Bar, ClientOrderId, CorporateAction, CorporateActionKind, Fill, Instrument, OrderKind,
    OrderRequest, SectorInfo, Side, Symbol, TimeInForce, Timeframe,
};
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// What kind of error a backend returned (each backend has its own error enum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// An import batch was refused before anything was written (`InvalidBatch`).
    InvalidBatch {
        /// Index of the batch.
        batch: usize,
    },
    /// A finding was refused (`InvalidFinding`).
    InvalidFinding {
        /// Index of the finding.
        index: usize,
    },
    /// A sector row was refused (`InvalidSector`).
    InvalidSector {
        /// Index of the row.
        index: usize,
        /// Its symbol.
        symbol: String,
    },
    /// A statement failed in the database (`Database`).
    Database,
    /// A stored value could not be decoded (`Corrupt`).
    Corrupt,
    /// Anything else.
    Other,
}

/// Row counts `[instruments, bars, corporate_actions, quality_findings, import_log]`.
pub type Counts = [u64; 5];

/// One import-log row: symbol, timeframe, source and counts.
pub type LogRow = (String, String, String, ImportSummary);

/// A store backend under test: a fresh private database per value, dropped with it.
pub trait Backend: Sized {
    /// The store type.
    type Store: Store + Clone + Send + Sync + 'static;

    /// A new, empty, migrated database and a store on it.
    fn fresh() -> impl Future<Output = Self>;

    /// The store opened by [`Backend::fresh`].
    fn store(&self) -> &Self::Store;

    /// A second, independent store on the same database (as another process would open it).
    fn open_again(&self) -> impl Future<Output = Self::Store>;

    /// Closes a store's connections.
    fn close(store: &Self::Store) -> impl Future<Output = ()>;

    /// The kind of a backend error.
    fn classify(error: &<Self::Store as Store>::Error) -> ErrorClass;

    /// Row counts of the market-data tables.
    fn table_counts(store: &Self::Store) -> impl Future<Output = Counts>;

    /// The import log, oldest first.
    fn import_log(store: &Self::Store) -> impl Future<Output = Vec<LogRow>>;

    /// The schema version the database is at.
    fn schema_version(store: &Self::Store) -> impl Future<Output = i64>;

    /// The schema version this build migrates to.
    fn latest_schema_version() -> i64;

    /// Runs one SQL statement on the database outside the store (a hand edit).
    fn execute_raw(&self, sql: &'static str) -> impl Future<Output = ()>;
}

/// Defines one `#[tokio::test]` per conformance check for the given [`Backend`] type.
#[macro_export]
macro_rules! store_conformance_tests {
    ($backend:ty) => {
        $crate::store_conformance_tests!(@each $backend;
            daily_tsla_tsll_round_trip_exactly,
            btc_intraday_import_is_idempotent_and_counts_exactly,
            paging_returns_every_bar_once_in_order,
            start_and_end_are_inclusive,
            series_summaries_are_ordered_by_symbol_then_timeframe,
            series_summaries_follow_every_import,
            a_bad_batch_rolls_back_the_whole_import,
            fractions_of_a_second_are_refused,
            instruments_upsert_and_data_survive_reopening,
            findings_are_replaced_per_scope,
            hand_edited_values_are_reported_with_table_column_and_row,
            readers_see_the_data_before_or_after_an_import_never_half_of_it,
            two_processes_worth_of_writers_wait_for_each_other,
            runs_and_their_alerts_round_trip_newest_first,
            runs_are_listed_with_alert_counts_and_read_whole_by_id,
            runs_are_read_and_deleted_by_id,
            documents_and_audit_entries_are_written_together,
            sweep_trials_are_stored_once_and_read_back_in_order,
            importing_close_only_rows_keeps_stored_ohlcv,
            insert_only_imports_never_change_a_stored_bar,
            orders_keep_their_history_and_fills_are_unique_by_execution_id,
            decimals_keep_their_exact_text_and_fills_their_order,
            sectors_round_trip_and_reimport_changes_nothing,
            sectors_survive_reopening,
            a_bad_sector_row_or_a_repeated_symbol_writes_nothing,
            a_hand_edited_sector_symbol_is_reported,
            the_exclusive_lock_waits_for_its_holder,
        );
    };
    (@each $backend:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let backend = <$backend as $crate::store_conformance::Backend>::fresh().await;
                $crate::store_conformance::$name(&backend).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Data helpers (a tiny reader of the shared CSV layouts; the real importer lives in data-csv).

/// Which layout a shared file uses (see shared/data/README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `date,open,high,low,close,adj_close,volume,dividends`
    DailyOhlcv,
    /// `date,value` (daily-adjclose, daily-index): a value series.
    DailyValue,
    /// `ts,open,high,low,close,volume`, ts ISO UTC.
    Intraday,
}

fn opt(field: &str) -> Option<f64> {
    if field.is_empty() {
        None
    } else {
        Some(field.parse().unwrap())
    }
}

fn day(field: &str) -> Timestamp {
    format!("{field}T00:00:00Z").parse().unwrap()
}

/// Reads a shared CSV file into one import batch, symbol = file stem.
pub fn read_batch(path: &Path, layout: Layout) -> ImportBatch {
    let text = std::fs::read_to_string(path).unwrap();
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let symbol = Symbol::try_new(stem).unwrap();
    let mut bars = Vec::new();
    let mut actions = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        match layout {
            Layout::DailyOhlcv => {
                assert_eq!(f.len(), 8, "{}: {line}", path.display());
                bars.push(Bar {
                    ts: day(f[0]),
                    open: f[1].parse().unwrap(),
                    high: f[2].parse().unwrap(),
                    low: f[3].parse().unwrap(),
                    close: f[4].parse().unwrap(),
                    adj_close: opt(f[5]),
                    volume: opt(f[6]),
                });
                if !f[7].is_empty() {
                    let d = Decimal::from_str(f[7]).unwrap();
                    if d > Decimal::ZERO {
                        actions.push(CorporateAction {
                            symbol: symbol.clone(),
                            ex_date: Date::from_str(f[0]).unwrap(),
                            kind: CorporateActionKind::Dividend { cash_per_share: d },
                        });
                    }
                }
            }
            Layout::DailyValue => {
                assert_eq!(f.len(), 2, "{}: {line}", path.display());
                bars.push(Bar::from_value(day(f[0]), f[1].parse().unwrap(), None));
            }
            Layout::Intraday => {
                assert_eq!(f.len(), 6, "{}: {line}", path.display());
                bars.push(Bar {
                    ts: f[0].parse().unwrap(),
                    open: f[1].parse().unwrap(),
                    high: f[2].parse().unwrap(),
                    low: f[3].parse().unwrap(),
                    close: f[4].parse().unwrap(),
                    adj_close: None,
                    volume: opt(f[5]),
                });
            }
        }
    }
    ImportBatch {
        instrument: Instrument::infer(&symbol),
        timeframe: if layout == Layout::Intraday {
            Timeframe::M1
        } else {
            Timeframe::D1
        },
        bars,
        actions,
        source: path.display().to_string(),
    }
}

/// FNV-1a 64 over bytes.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn f64(&mut self, v: f64) {
        self.bytes(&v.to_bits().to_le_bytes());
    }
    fn opt(&mut self, v: Option<f64>) {
        match v {
            None => self.bytes(&[0]),
            Some(v) => {
                self.bytes(&[1]);
                self.f64(v);
            }
        }
    }
    fn bar(&mut self, b: &Bar) {
        self.bytes(&b.ts.as_second().to_le_bytes());
        self.f64(b.open);
        self.f64(b.high);
        self.f64(b.low);
        self.f64(b.close);
        self.opt(b.adj_close);
        self.opt(b.volume);
    }
}

/// Checksum of everything readable through the `Store` trait: instruments, every bar of every
/// series (streamed with `BarPager`), corporate actions and findings; plus the number of bars.
pub async fn content_checksum<S: Store>(store: &S) -> (u64, u64) {
    let mut h = Fnv::new();
    let mut bars = 0u64;
    for i in store.instruments().await.unwrap() {
        h.bytes(format!("{i:?}").as_bytes());
        for a in store.corporate_actions(&i.symbol).await.unwrap() {
            h.bytes(format!("{a:?}").as_bytes());
        }
    }
    for s in store.series().await.unwrap() {
        h.bytes(format!("{} {}", s.symbol, s.timeframe).as_bytes());
        let mut pager = BarPager::new(
            BarQuery {
                symbol: s.symbol.clone(),
                timeframe: s.timeframe,
                start: None,
                end: None,
            },
            4096,
        );
        while let Some(chunk) = pager.next_chunk(store).await.unwrap() {
            for b in &chunk {
                h.bar(b);
                bars += 1;
            }
        }
    }
    for f in store.findings().await.unwrap() {
        h.bytes(format!("{f:?}").as_bytes());
    }
    (h.0, bars)
}

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

async fn read_all<S: Store>(store: &S, q: BarQuery, chunk: u32) -> (Vec<Bar>, usize) {
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

// ---------------------------------------------------------------------------------------------
// Bars, corporate actions, instruments.

/// TSLA and TSLL daily bars, actions and instruments read back exactly.
pub async fn daily_tsla_tsll_round_trip_exactly<B: Backend>(b: &B) {
    let store = b.store();
    let (a, bb) = (tsla(), tsll());
    assert_eq!((a.bars.len(), bb.bars.len()), (1946, 788));
    let summary = store.import(&[a.clone(), bb.clone()]).await.unwrap();
    assert_eq!(summary.bars_inserted, 1946 + 788);
    assert_eq!((summary.bars_updated, summary.bars_unchanged), (0, 0));
    assert_eq!(
        summary.actions_inserted,
        (a.actions.len() + bb.actions.len()) as u64
    );
    assert_eq!((a.actions.len(), bb.actions.len()), (2, 16));

    for batch in [&a, &bb] {
        let (bars, _) = read_all(
            store,
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

/// Re-imports change nothing, one changed value is one update, kept/replaced rules, the log.
pub async fn btc_intraday_import_is_idempotent_and_counts_exactly<B: Backend>(b: &B) {
    let store = b.store();
    let batch = btc();
    assert_eq!(batch.bars.len(), 43_200);
    let first = store.import(std::slice::from_ref(&batch)).await.unwrap();
    assert_eq!(first.bars_inserted, 43_200);
    assert_eq!((first.bars_updated, first.bars_unchanged), (0, 0));
    let (sum1, n1) = content_checksum(store).await;
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
    assert_eq!(content_checksum(store).await, (sum1, n1));

    // Change exactly one value (the close of one bar in the middle of a chunk).
    let mut changed = batch.clone();
    changed.bars[20_123].close = 104_000.25;
    let one = store.import(std::slice::from_ref(&changed)).await.unwrap();
    assert_eq!(
        (one.bars_inserted, one.bars_updated, one.bars_unchanged),
        (0, 1, 43_199)
    );
    let (sum2, n2) = content_checksum(store).await;
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

    // A value → NULL change is an update too when replacing is asked for (by default a bar that
    // lost its volume is poorer and is kept), and a NULL → value change back.
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
    assert_eq!(content_checksum(store).await, (sum1, n1));

    // Extending the series: a batch of the last 100 file bars plus 3 new minutes.
    let mut tail = batch.clone();
    tail.bars = batch.bars[43_100..].to_vec();
    let last = *batch.bars.last().unwrap();
    for k in 1..=3 {
        let mut bar = last;
        bar.ts = Timestamp::from_second(last.ts.as_second() + 60 * k).unwrap();
        tail.bars.push(bar);
    }
    let s = store.import(&[tail]).await.unwrap();
    assert_eq!(
        (s.bars_inserted, s.bars_updated, s.bars_unchanged),
        (3, 0, 100)
    );

    let log = B::import_log(store).await;
    assert_eq!(log.len(), 7);
    assert_eq!(log[0].3, first);
    assert_eq!(log[1].3, again);
    assert_eq!(log[0].0, "BTCUSDT");
    assert_eq!(log[0].1, "1m");
    assert!(log[0].2.ends_with("BTCUSDT.csv"));
}

/// Keyset paging returns every bar once, in order, whatever the chunk size.
pub async fn paging_returns_every_bar_once_in_order<B: Backend>(b: &B) {
    let store = b.store();
    let batch = btc();
    store.import(std::slice::from_ref(&batch)).await.unwrap();
    let (bars, chunks) = read_all(store, query("BTCUSDT", Timeframe::M1), 1000).await;
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
    let (bars, chunks) = read_all(store, query("BTCUSDT", Timeframe::M1), 43_200).await;
    assert_eq!((bars.len(), chunks), (43_200, 1));
    let (bars, _) = read_all(store, query("BTCUSDT", Timeframe::M1), 7).await;
    assert_eq!(bars.len(), 43_200);

    // Unknown series / other timeframe / zero limit: nothing.
    for (q, limit) in [
        (query("BTCUSDT", Timeframe::D1), 10),
        (query("NOPE", Timeframe::M1), 10),
        (query("BTCUSDT", Timeframe::M1), 0),
    ] {
        assert!(store.bars_page(&q, None, limit).await.unwrap().is_empty());
    }
}

/// `start` and `end` are inclusive; bounds between bars; `after` beats `start`.
pub async fn start_and_end_are_inclusive<B: Backend>(b: &B) {
    let store = b.store();
    let batch = tsla();
    store.import(std::slice::from_ref(&batch)).await.unwrap();
    let mut q = query("TSLA", Timeframe::D1);
    q.start = Some(ts("2020-08-31T00:00:00Z"));
    q.end = Some(ts("2020-09-04T00:00:00Z"));
    let (bars, _) = read_all(store, q.clone(), 2).await;
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
    assert_eq!(read_all(store, q.clone(), 1000).await.0, bars);
    q.start = Some(ts("2020-08-30T23:59:59.999Z"));
    assert_eq!(read_all(store, q.clone(), 1000).await.0, bars);
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
    let (tail, _) = read_all(store, q.clone(), 1000).await;
    assert_eq!(tail.len(), 3);
    assert_same_bits(tail.last().unwrap(), batch.bars.last().unwrap());
    // Empty range.
    q.start = Some(ts("2021-01-01T00:00:00Z"));
    q.end = Some(ts("2020-01-01T00:00:00Z"));
    assert!(store.bars_page(&q, None, 10).await.unwrap().is_empty());
}

/// Series summaries: symbol order, then the domain order of timeframes; NULLs round-trip.
pub async fn series_summaries_are_ordered_by_symbol_then_timeframe<B: Backend>(b: &B) {
    let store = b.store();
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
    for (s, batch) in series
        .iter()
        .zip([&batches[3], &batches[1], &batches[0], &batches[2]])
    {
        assert_eq!(s.first, batch.bars.first().unwrap().ts);
        assert_eq!(s.last, batch.bars.last().unwrap().ts);
    }
    assert_eq!(series[1].first, ts("2019-02-11T14:31:00Z"));
    assert_eq!(series[3].last, ts("2026-07-07T00:00:00Z"));
    // VIX has no volume and no adjusted close in places: NULLs round-trip.
    let (vix_bars, _) = read_all(store, query("VIX", Timeframe::D1), 5000).await;
    for (s, f) in vix_bars.iter().zip(&vix.bars) {
        assert_same_bits(s, f);
    }
    assert!(vix_bars.iter().all(|b| b.volume.is_none()));
}

/// The series summaries as counted from the stored bars themselves (every series in `keys`
/// that has bars), for comparing with what [`Store::series`] keeps.
async fn series_counted<S: Store>(
    store: &S,
    keys: &[(&str, Timeframe)],
) -> Vec<(String, Timeframe, u64, Timestamp, Timestamp)> {
    let mut out = Vec::new();
    for (symbol, tf) in keys {
        let (bars, _) = read_all(store, query(symbol, *tf), 10_000).await;
        if let (Some(first), Some(last)) = (bars.first(), bars.last()) {
            out.push((
                symbol.to_string(),
                *tf,
                bars.len() as u64,
                first.ts,
                last.ts,
            ));
        }
    }
    out
}

/// [`Store::series`] as comparable tuples.
async fn series_kept<S: Store>(store: &S) -> Vec<(String, Timeframe, u64, Timestamp, Timestamp)> {
    store
        .series()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.symbol.to_string(), s.timeframe, s.rows, s.first, s.last))
        .collect()
}

/// The series summaries stay exactly what the stored bars say through every kind of write:
/// imports that extend a series at either end or fill its middle, no-op re-imports,
/// replacements, insert-only imports, an import that fails and rolls back, and a reopening.
pub async fn series_summaries_follow_every_import<B: Backend>(b: &B) {
    let store = b.store();
    let keys = [
        ("BTCUSDT", Timeframe::M1),
        ("TSLA", Timeframe::D1),
        ("TSLL", Timeframe::D1),
    ];
    let check = |step: &'static str| async move {
        let kept = series_kept(store).await;
        assert_eq!(kept, series_counted(store, &keys).await, "after {step}");
        let total: u64 = kept.iter().map(|s| s.2).sum();
        assert_eq!(total, B::table_counts(store).await[1], "after {step}");
    };
    check("nothing").await;
    assert!(store.series().await.unwrap().is_empty());
    let full = tsla();
    let slice = |from: usize, to: usize| {
        let mut b = full.clone();
        b.bars = full.bars[from..to].to_vec();
        b.actions.clear();
        b
    };
    // The middle, then an overlap reaching back, then one reaching forward, then a gap filled.
    store.import(&[slice(500, 600)]).await.unwrap();
    check("a middle slice").await;
    assert_eq!(store.series().await.unwrap()[0].rows, 100);
    store.import(&[slice(300, 550)]).await.unwrap();
    check("an earlier overlapping slice").await;
    store.import(&[slice(1000, 1200)]).await.unwrap();
    check("a later slice with a gap").await;
    assert_eq!(store.series().await.unwrap()[0].rows, 500);
    store.import(&[full.clone(), tsll()]).await.unwrap();
    check("the whole series and another one").await;
    // Nothing new: no change.
    assert!(
        store
            .import(&[full.clone(), tsll()])
            .await
            .unwrap()
            .is_no_op()
    );
    check("a no-op re-import").await;
    // Replacements change values, not the extent.
    let mut changed = full.clone();
    for bar in &mut changed.bars[10..20] {
        bar.close *= 1.01;
    }
    let s = store
        .import_with(std::slice::from_ref(&changed), ImportPolicy::Replace)
        .await
        .unwrap();
    assert_eq!(s.bars_updated, 10);
    check("a replacement").await;
    // Insert-only: a stored bar is kept, a new one (a day after the last) is added.
    let mut extended = changed.clone();
    let last = *extended.bars.last().unwrap();
    extended.bars.push(Bar {
        ts: Timestamp::from_second(last.ts.as_second() + 86_400).unwrap(),
        ..last
    });
    extended.bars[0].close *= 2.0;
    let s = store
        .import_with(std::slice::from_ref(&extended), ImportPolicy::InsertOnly)
        .await
        .unwrap();
    assert_eq!(s.bars_inserted, 1);
    check("an insert-only extension").await;
    // A failed import (a good new series, then a bad batch) changes nothing.
    let before = series_kept(store).await;
    let mut bad = tsll();
    bad.bars.swap(3, 4);
    store.import(&[btc(), bad]).await.unwrap_err();
    assert_eq!(series_kept(store).await, before);
    check("a rolled-back import").await;
    // Another store on the same database (another process) reads the same.
    let other = b.open_again().await;
    assert_eq!(series_kept(&other).await, before);
    store.import(&[btc()]).await.unwrap();
    check("a new intraday series").await;
    assert_eq!(series_kept(&other).await, series_kept(store).await);
    B::close(&other).await;
}

/// A bad batch, a non-finite value or a failure inside the database writes nothing at all.
pub async fn a_bad_batch_rolls_back_the_whole_import<B: Backend>(b: &B) {
    let store = b.store();
    store.import(&[tsla()]).await.unwrap();
    let counts = B::table_counts(store).await;
    let checksum = content_checksum(store).await;

    // [good, bad]: the bad batch has two bars swapped (non-increasing ts) near its end.
    let good = tsll();
    let mut bad = btc();
    bad.bars.swap(40_000, 40_001);
    let err = store.import(&[good.clone(), bad]).await.unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        B::classify(&err),
        ErrorClass::InvalidBatch { batch: 1 },
        "{err:?}"
    );
    assert!(msg.contains("bar 40001"), "{msg}");
    assert!(msg.contains("BTCUSDT.csv"), "{msg}");
    assert_eq!(B::table_counts(store).await, counts);
    assert_eq!(content_checksum(store).await, checksum);
    assert_eq!(store.instrument(&sym("TSLL")).await.unwrap(), None);

    // A non-finite value is refused the same way.
    let mut nan = btc();
    nan.bars[5].high = f64::NAN;
    let err = store.import(&[good.clone(), nan]).await.unwrap_err();
    assert!(err.to_string().contains("bar 5"), "{err}");
    assert_eq!(content_checksum(store).await, checksum);

    // A failure inside the database after rows were written (a corporate action of an unknown
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
    assert_eq!(B::classify(&err), ErrorClass::Database, "{err:?}");
    assert!(err.to_string().contains("NOT_IMPORTED"), "{err}");
    assert_eq!(B::table_counts(store).await, counts);
    assert_eq!(content_checksum(store).await, checksum);

    // The store is still usable and the good batch imports on its own.
    let s = store.import(&[good]).await.unwrap();
    assert_eq!(s.bars_inserted, 788);
}

/// Timestamps are whole seconds in every backend: a fraction is refused, never rounded.
pub async fn fractions_of_a_second_are_refused<B: Backend>(b: &B) {
    let store = b.store();
    let mut batch = tsll();
    batch.bars[3].ts = Timestamp::new(batch.bars[3].ts.as_second(), 1_000).unwrap();
    let err = store.import(&[batch]).await.unwrap_err();
    assert_eq!(
        B::classify(&err),
        ErrorClass::InvalidBatch { batch: 0 },
        "{err:?}"
    );
    assert!(err.to_string().contains("bar 3"), "{err}");
    assert_eq!(B::table_counts(store).await, [0; 5]);
    let finding = Finding {
        symbol: sym("TSLL"),
        timeframe: Timeframe::D1,
        ts: Timestamp::new(1_700_000_000, 5).unwrap(),
        kind: FindingKind::Gap,
        detail: "x".into(),
    };
    let err = store
        .replace_findings(&[(sym("TSLL"), Timeframe::D1)], &[finding])
        .await
        .unwrap_err();
    assert_eq!(B::classify(&err), ErrorClass::InvalidFinding { index: 0 });
}

/// Instrument changes are upserts (not counted as bar changes); everything survives reopening.
pub async fn instruments_upsert_and_data_survive_reopening<B: Backend>(b: &B) {
    let store = b.store();
    let mut batch = tsll();
    store.import(std::slice::from_ref(&batch)).await.unwrap();
    batch.instrument.leverage = 3.0;
    batch.instrument.underlying = None;
    let s = store.import(std::slice::from_ref(&batch)).await.unwrap();
    assert!(
        s.is_no_op(),
        "instrument changes are not bar/action changes: {s:?}"
    );
    assert_eq!(
        store.instrument(&sym("TSLL")).await.unwrap(),
        Some(batch.instrument.clone())
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
    let checksum = content_checksum(store).await;
    let counts = B::table_counts(store).await;
    B::close(store).await;

    let reopened = b.open_again().await;
    assert_eq!(B::latest_schema_version(), 7);
    assert_eq!(B::schema_version(&reopened).await, 7);
    assert_eq!(B::table_counts(&reopened).await, counts);
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

/// Findings are replaced per series scope, read in domain order, refused outside the scope.
pub async fn findings_are_replaced_per_scope<B: Backend>(b: &B) {
    let store = b.store();
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
    assert_eq!(
        B::classify(&err),
        ErrorClass::InvalidFinding { index: 0 },
        "{err:?}"
    );
    assert!(err.to_string().contains("VIX"), "{err}");
    assert_eq!(store.findings().await.unwrap().len(), 2);
}

/// Values edited by hand into something undecodable are reported with table, column and row.
pub async fn hand_edited_values_are_reported_with_table_column_and_row<B: Backend>(b: &B) {
    let store = b.store();
    store.import(&[tsll()]).await.unwrap();
    b.execute_raw("UPDATE instruments SET exchange = 'lse' WHERE symbol = 'TSLL'")
        .await;
    b.execute_raw("UPDATE corporate_actions SET value = 'ten cents' WHERE ex_date = '2022-09-20'")
        .await;
    let err = store.instruments().await.unwrap_err();
    let msg = err.to_string();
    assert_eq!(B::classify(&err), ErrorClass::Corrupt, "{err:?}");
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

// ---------------------------------------------------------------------------------------------
// Concurrency.

/// Readers running beside an import see all of it or none of it.
pub async fn readers_see_the_data_before_or_after_an_import_never_half_of_it<B: Backend>(b: &B) {
    let store = b.store();
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
    let mut seen = std::collections::BTreeSet::new();
    while !writer.is_finished() {
        let total: u64 = store.series().await.unwrap().iter().map(|s| s.rows).sum();
        seen.insert(total);
        tokio::task::yield_now().await;
    }
    let summary = writer.await.unwrap();
    assert_eq!(summary.bars_inserted, 3 * 43_200);
    seen.insert(B::table_counts(store).await[1]);
    assert!(seen.iter().all(|&n| n == 0 || n == 3 * 43_200), "{seen:?}");
}

/// Two independent stores on one database (two processes): writers wait for each other instead
/// of failing, and both imports land.
pub async fn two_processes_worth_of_writers_wait_for_each_other<B: Backend>(b: &B) {
    let a = b.store();
    let other = b.open_again().await;
    let eth = read_batch(&shared_file("intraday-1m/ETHUSDT.csv"), Layout::Intraday);
    let (btc_batch, eth_batch) = (btc(), eth);
    // The same series from both sides at once, too: counted once, never a conflict error.
    let (ra, rb, rc) = tokio::join!(
        a.import(std::slice::from_ref(&btc_batch)),
        other.import(std::slice::from_ref(&eth_batch)),
        other.import(std::slice::from_ref(&btc_batch)),
    );
    let (ra, rb, rc) = (ra.unwrap(), rb.unwrap(), rc.unwrap());
    assert_eq!(rb.bars_inserted, 43_200);
    assert_eq!(ra.bars_inserted + rc.bars_inserted, 43_200, "{ra:?} {rc:?}");
    assert_eq!(
        ra.bars_unchanged + rc.bars_unchanged,
        43_200,
        "{ra:?} {rc:?}"
    );
    assert_eq!(B::table_counts(a).await[1], 86_400);
    assert_eq!(B::table_counts(&other).await[4], 3);
}

/// The exclusive lock is held until its guard is dropped; other names are independent; a second
/// store (another process) waits for it.
pub async fn the_exclusive_lock_waits_for_its_holder<B: Backend>(b: &B) {
    let store = b.store();
    let other = b.open_again().await;
    let guard = store.lock_exclusive("runner-a").await.unwrap();
    // Another name is free.
    let free = tokio::time::timeout(Duration::from_secs(10), other.lock_exclusive("runner-b"))
        .await
        .expect("another lock name must not wait")
        .unwrap();
    drop(free);
    let waiter = {
        let other = other.clone();
        tokio::spawn(async move { other.lock_exclusive("runner-a").await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the lock was taken twice");
    drop(guard);
    tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter must get the lock once it is released")
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Runs, documents, audit log, trials.

fn sample_run() -> RunRecord {
    RunRecord {
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
    }
}

/// Runs are listed newest first, each with its alert count (not its alerts); `run(id)` reads
/// the alerts.
pub async fn runs_and_their_alerts_round_trip_newest_first<B: Backend>(b: &B) {
    let store = b.store();
    let mut run = sample_run();
    let first = store.record_run(&run).await.unwrap();
    run.kind = "simulate".into();
    run.alerts.clear();
    let second = store.record_run(&run).await.unwrap();
    assert!(second > first);
    let runs = store.runs(10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, second);
    assert_eq!(runs[0].kind, "simulate");
    assert_eq!(runs[1].alert_count, 1);
    let mut expected = run.clone();
    expected.id = Some(second);
    assert_eq!(Some(runs[0].clone()), expected.header());
    let whole = store.run(first).await.unwrap().unwrap();
    assert_eq!(whole.alerts.len(), 1);
    assert_eq!(whole.alerts[0].message, "TSLL 50.0% → 0.0%");
    assert_eq!(Some(runs[1].clone()), whole.header());
    assert_eq!(store.runs(1).await.unwrap().len(), 1);
}

/// The list of runs counts each run's alerts exactly (none, one, many; after a deletion too),
/// honours the limit newest first, and never carries the alerts, which `run(id)` still reads in
/// their recorded order.
pub async fn runs_are_listed_with_alert_counts_and_read_whole_by_id<B: Backend>(b: &B) {
    let store = b.store();
    assert!(store.runs(10).await.unwrap().is_empty());
    let alert = |i: usize| AlertRecord {
        ts: Timestamp::from_second(1_672_704_000 + 86_400 * i as i64).unwrap(),
        strategy: "Pulse".into(),
        message: format!("alert {i}"),
        old_weights_json: format!(r#"{{"TSLL":{i}}}"#),
        new_weights_json: "{}".into(),
    };
    let mut ids = Vec::new();
    for (n, alerts) in [0usize, 1, 313, 2, 0].into_iter().enumerate() {
        let mut run = sample_run();
        run.created_at = Timestamp::from_second(1_763_719_200 + n as i64).unwrap();
        run.metrics_json = format!(r#"{{"Pulse":{{"sharpe":{n}}}}}"#);
        run.alerts = (0..alerts).map(alert).collect();
        let id = store.record_run(&run).await.unwrap();
        run.id = Some(id);
        ids.push((id, run));
    }
    let listed = store.runs(100).await.unwrap();
    let expected: Vec<_> = ids.iter().rev().map(|(_, r)| r.header().unwrap()).collect();
    assert_eq!(listed, expected);
    assert_eq!(
        listed.iter().map(|h| h.alert_count).collect::<Vec<_>>(),
        [0, 2, 313, 1, 0]
    );
    // The limit keeps the newest.
    let two = store.runs(2).await.unwrap();
    assert_eq!(two, expected[..2]);
    assert!(store.runs(0).await.unwrap().is_empty());
    // Every run read by id carries its alerts in order.
    for (id, run) in &ids {
        assert_eq!(store.run(*id).await.unwrap().as_ref(), Some(run));
    }
    // Deleting the run with many alerts leaves the others' counts as they were.
    assert!(store.delete_run(ids[2].0).await.unwrap());
    let listed = store.runs(100).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|h| (h.id, h.alert_count))
            .collect::<Vec<_>>(),
        [(ids[4].0, 0), (ids[3].0, 2), (ids[1].0, 1), (ids[0].0, 0)]
    );
}

/// One run by id; deleting it removes its alerts; deleting again reports there was none.
pub async fn runs_are_read_and_deleted_by_id<B: Backend>(b: &B) {
    let store = b.store();
    let run = sample_run();
    let id = store.record_run(&run).await.unwrap();
    let mut expected = run.clone();
    expected.id = Some(id);
    assert_eq!(store.run(id).await.unwrap(), Some(expected));
    assert_eq!(store.run(id + 1000).await.unwrap(), None);
    assert!(store.delete_run(id).await.unwrap());
    assert!(!store.delete_run(id).await.unwrap());
    assert_eq!(store.run(id).await.unwrap(), None);
    assert!(store.runs(10).await.unwrap().is_empty());
    // Ids are not reused.
    assert!(store.record_run(&run).await.unwrap() > id);
}

/// State documents are upserted and audit entries appended together; the log reads oldest first.
pub async fn documents_and_audit_entries_are_written_together<B: Backend>(b: &B) {
    let store = b.store();
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
    assert_eq!(log[0], entry("{\"a\":1}"));
    assert_eq!(store.audit_log(1).await.unwrap()[0].entry_json, "{\"b\":2}");
}

/// Trials are stored once per (study, number), NaN scores as none, read back by number.
pub async fn sweep_trials_are_stored_once_and_read_back_in_order<B: Backend>(b: &B) {
    let store = b.store();
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
    assert_eq!(got[2], t(2, Some(0.5)));
    assert_eq!(got[1].score, None);
    assert!(store.trials("other").await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Import policies.

/// `daily-adjclose/SPY.csv` as the CSV importer reads it: close-only bars whose close is the
/// adjusted close (`open = high = low = close = adj_close`, no volume).
fn spy_adjclose() -> ImportBatch {
    let mut batch = read_batch(&shared_file("daily-adjclose/SPY.csv"), Layout::DailyValue);
    for b in &mut batch.bars {
        b.adj_close = Some(b.close);
    }
    batch
}

/// KeepFuller: close-only rows never replace stored OHLCV; Replace writes them.
pub async fn importing_close_only_rows_keeps_stored_ohlcv<B: Backend>(b: &B) {
    let store = b.store();
    let ohlcv = read_batch(&shared_file("daily-ohlcv/SPY.csv"), Layout::DailyOhlcv);
    store.import(std::slice::from_ref(&ohlcv)).await.unwrap();
    let n_before = content_checksum(store).await.1;

    let adj = spy_adjclose();
    let stored: std::collections::HashSet<Timestamp> = ohlcv.bars.iter().map(|b| b.ts).collect();
    let overlap = adj.bars.iter().filter(|b| stored.contains(&b.ts)).count() as u64;
    assert!(overlap > 1000, "{overlap}");
    let s = store.import(std::slice::from_ref(&adj)).await.unwrap();
    assert_eq!(s.bars_kept, overlap, "{s:?}");
    assert_eq!(s.bars_updated, 0, "{s:?}");
    assert_eq!(s.bars_inserted, adj.bars.len() as u64 - overlap);
    // Every stored OHLCV bar is still the file's, bit for bit.
    let (bars, _) = read_all(store, query("SPY", Timeframe::D1), 4096).await;
    let by_ts: std::collections::HashMap<Timestamp, Bar> =
        bars.iter().map(|b| (b.ts, *b)).collect();
    for b in &ohlcv.bars {
        assert_same_bits(&by_ts[&b.ts], b);
    }
    assert_eq!(content_checksum(store).await.1, n_before + s.bars_inserted);

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

/// InsertOnly never changes a stored bar; the log counts kept bars as unchanged.
pub async fn insert_only_imports_never_change_a_stored_bar<B: Backend>(b: &B) {
    let store = b.store();
    let batch = tsla();
    store.import(std::slice::from_ref(&batch)).await.unwrap();
    let (sum, n) = content_checksum(store).await;
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
    assert_eq!(content_checksum(store).await, (sum, n));
    let log = B::import_log(store).await;
    assert_eq!(log[1].3.bars_unchanged, batch.bars.len() as u64);
}

// ---------------------------------------------------------------------------------------------
// The trading journal.

/// Orders upserted by client id with a status history; fills unique by execution id; state
/// documents in the same step.
pub async fn orders_keep_their_history_and_fills_are_unique_by_execution_id<B: Backend>(b: &B) {
    let store = b.store();
    let order = OrderRequest {
        client_id: ClientOrderId("pulse-1-TSLA".into()),
        symbol: sym("TSLA"),
        side: Side::Buy,
        quantity: Decimal::new(10, 0),
        decided_at: ts("2024-01-02T21:00:00Z"),
        kind: OrderKind::Limit {
            price: Decimal::new(24_850, 2),
        },
        time_in_force: TimeInForce::Gtc,
    };
    let record = |status: &str, filled: i64, at: &str| TradeOrderRecord {
        runner: "pulse".into(),
        order: order.clone(),
        broker_id: (status != "intent").then(|| "b-1".to_string()),
        status: status.into(),
        filled: Decimal::new(filled, 0),
        updated_at: ts(at),
    };
    let fill = Fill {
        client_id: order.client_id.clone(),
        symbol: order.symbol.clone(),
        side: Side::Buy,
        quantity: Decimal::new(10, 0),
        price: Decimal::new(24_800, 2),
        fee: Decimal::new(248, 2),
        ts: ts("2024-01-03T21:00:00Z"),
        exec_id: Some("x-1".into()),
    };
    let step = |orders: &[TradeOrderRecord], fills: &[Fill]| {
        let docs = [("trade/pulse/meta", "{\"n\":1}".to_string())];
        let orders = orders.to_vec();
        let fills = fills.to_vec();
        async move {
            store
                .save_trading_step(&TradingStep {
                    runner: "pulse",
                    documents: &docs,
                    orders: &orders,
                    fills: &fills,
                    audit: &[],
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(
        step(&[record("intent", 0, "2024-01-02T21:00:00Z")], &[]).await,
        0
    );
    assert_eq!(
        step(&[record("new", 0, "2024-01-02T21:00:01Z")], &[]).await,
        0
    );
    // The same status again adds no history; the fill is new once.
    assert_eq!(
        step(&[record("new", 0, "2024-01-02T21:00:02Z")], &[]).await,
        0
    );
    assert_eq!(
        step(
            &[record("filled", 10, "2024-01-03T21:00:00Z")],
            std::slice::from_ref(&fill)
        )
        .await,
        1
    );
    assert_eq!(
        step(&[], std::slice::from_ref(&fill)).await,
        0,
        "a repeated execution id"
    );
    let orders = store.trade_orders("pulse").await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order, order, "limit and time in force read back");
    assert_eq!(orders[0].status, "filled");
    assert_eq!(orders[0].broker_id.as_deref(), Some("b-1"));
    let history: Vec<String> = store
        .trade_order_history("pulse-1-TSLA")
        .await
        .unwrap()
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(history, ["intent", "new", "filled"]);
    assert_eq!(store.trade_fills("pulse").await.unwrap(), vec![fill]);
    assert!(store.trade_fills("other").await.unwrap().is_empty());
    assert_eq!(
        store.document("trade/pulse/meta").await.unwrap().as_deref(),
        Some("{\"n\":1}")
    );
}

/// Decimal amounts read back with their exact text (scale included: `248.50` stays `248.50`);
/// fills of one instant read back in the order they were recorded; audit entries of a step land.
pub async fn decimals_keep_their_exact_text_and_fills_their_order<B: Backend>(b: &B) {
    let store = b.store();
    let dec = |s: &str| Decimal::from_str(s).unwrap();
    let order = OrderRequest {
        client_id: ClientOrderId("pulse-2-005930".into()),
        symbol: sym("005930.KS"),
        side: Side::Sell,
        quantity: dec("0.000123456789012345678901"),
        decided_at: ts("2025-03-04T00:30:00Z"),
        kind: OrderKind::Limit {
            price: dec("71900.00"),
        },
        time_in_force: TimeInForce::Day,
    };
    let fill = |exec: &str, qty: &str, price: &str, fee: &str| Fill {
        client_id: order.client_id.clone(),
        symbol: order.symbol.clone(),
        side: Side::Sell,
        quantity: dec(qty),
        price: dec(price),
        fee: dec(fee),
        ts: ts("2025-03-04T00:31:00Z"),
        exec_id: Some(exec.into()),
    };
    // Recorded "z" first, then "a": read back in that order, not by id.
    let fills = [
        fill("z-9", "0.000100000000000000000000", "71900.50", "-0.0"),
        fill(
            "a-1",
            "0.000023456789012345678901",
            "79228162514264.337593543950335",
            "7.9",
        ),
    ];
    let audit = [AuditEntry {
        ts: ts("2025-03-04T00:31:00Z"),
        subsystem: "trade".into(),
        entry_json: "{\"filled\":2}".into(),
    }];
    let n = store
        .save_trading_step(&TradingStep {
            runner: "krx",
            documents: &[],
            orders: &[TradeOrderRecord {
                runner: "krx".into(),
                order: order.clone(),
                broker_id: None,
                status: "partially_filled".into(),
                filled: dec("0.000100000000000000000000"),
                updated_at: ts("2025-03-04T00:31:00Z"),
            }],
            fills: &fills,
            audit: &audit,
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    let got = store.trade_fills("krx").await.unwrap();
    assert_eq!(got, fills);
    let text = |f: &Fill| {
        (
            f.quantity.to_string(),
            f.price.to_string(),
            f.fee.to_string(),
        )
    };
    assert_eq!(
        got.iter().map(text).collect::<Vec<_>>(),
        fills.iter().map(text).collect::<Vec<_>>()
    );
    let orders = store.trade_orders("krx").await.unwrap();
    assert_eq!(orders[0].filled.to_string(), "0.000100000000000000000000");
    assert_eq!(orders[0].broker_id, None);
    match orders[0].order.kind {
        OrderKind::Limit { price } => assert_eq!(price.to_string(), "71900.00"),
        OrderKind::Market => panic!("a limit order read back as market"),
    }
    assert_eq!(orders[0].order, order);
    assert_eq!(store.audit_log(10).await.unwrap(), audit);
}

// ---------------------------------------------------------------------------------------------
// Sector classifications.

fn sector_row(symbol: &str, sector: &str, industry: Option<&str>, cap: Option<f64>) -> SectorInfo {
    SectorInfo {
        symbol: sym(symbol),
        sector: sector.to_string(),
        industry: industry.map(str::to_string),
        market_cap: cap,
        source: "sp500_constituents_gics_2026-08-08.csv".to_string(),
    }
}

fn sector_rows() -> Vec<SectorInfo> {
    vec![
        sector_row(
            "TSLA",
            "Consumer Discretionary",
            Some("Automobile Manufacturers"),
            Some(1_251_249_356_800.0),
        ),
        // A market cap that is not an integer round-trips bit for bit.
        sector_row(
            "AAPL",
            "Information Technology",
            Some("Technology Hardware, Storage & Peripherals"),
            Some(3_729_823_629_312.25),
        ),
        sector_row("TSLL", "ETF: leveraged single stock", None, None),
    ]
}

fn by_symbol(mut rows: Vec<SectorInfo>) -> Vec<SectorInfo> {
    rows.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    rows
}

/// Sector rows round-trip, re-storing them changes nothing, upserts count what changed.
pub async fn sectors_round_trip_and_reimport_changes_nothing<B: Backend>(b: &B) {
    let store = b.store();
    assert!(B::latest_schema_version() >= 5);
    assert_eq!(B::schema_version(store).await, B::latest_schema_version());
    assert!(store.sectors().await.unwrap().is_empty());

    assert_eq!(store.put_sectors(&sector_rows()).await.unwrap(), 3);
    let stored = store.sectors().await.unwrap();
    assert_eq!(
        stored,
        by_symbol(sector_rows()),
        "ordered by symbol, every field kept"
    );
    assert_eq!(
        stored[0].market_cap.map(f64::to_bits),
        Some(3_729_823_629_312.25f64.to_bits())
    );

    // Idempotent: the same rows again change nothing.
    assert_eq!(store.put_sectors(&sector_rows()).await.unwrap(), 0);
    assert_eq!(store.sectors().await.unwrap(), by_symbol(sector_rows()));

    // An upsert by symbol: one changed row, one new, the others untouched.
    let changed = vec![
        sector_row(
            "TSLL",
            "ETF: leveraged single stock",
            Some("2x daily TSLA"),
            None,
        ),
        sector_row("XOM", "Energy", Some("Integrated Oil & Gas"), None),
        sector_rows()[0].clone(),
    ];
    assert_eq!(store.put_sectors(&changed).await.unwrap(), 2);
    let stored = store.sectors().await.unwrap();
    let symbols: Vec<&str> = stored.iter().map(|r| r.symbol.as_str()).collect();
    assert_eq!(symbols, ["AAPL", "TSLA", "TSLL", "XOM"]);
    assert_eq!(stored[2].industry.as_deref(), Some("2x daily TSLA"));

    // A field going back to unknown is a change too.
    let mut cleared = sector_rows()[0].clone();
    cleared.market_cap = None;
    assert_eq!(store.put_sectors(&[cleared]).await.unwrap(), 1);
    assert_eq!(store.sectors().await.unwrap()[1].market_cap, None);
    assert_eq!(store.put_sectors(&[]).await.unwrap(), 0);
}

/// Sector rows survive closing and reopening the database.
pub async fn sectors_survive_reopening<B: Backend>(b: &B) {
    let store = b.store();
    store.put_sectors(&sector_rows()).await.unwrap();
    B::close(store).await;
    let store = b.open_again().await;
    assert_eq!(store.sectors().await.unwrap(), by_symbol(sector_rows()));
}

/// A bad row, a repeated symbol or a blank sector writes nothing.
pub async fn a_bad_sector_row_or_a_repeated_symbol_writes_nothing<B: Backend>(b: &B) {
    let store = b.store();
    store.put_sectors(&sector_rows()[..1]).await.unwrap();
    let before = store.sectors().await.unwrap();

    let mut bad = sector_rows();
    bad[2].market_cap = Some(f64::NAN);
    let e = store.put_sectors(&bad).await.unwrap_err();
    assert_eq!(
        B::classify(&e),
        ErrorClass::InvalidSector {
            index: 2,
            symbol: "TSLL".into()
        },
        "{e}"
    );
    assert!(e.to_string().contains("market_cap"), "{e}");

    let mut twice = sector_rows();
    twice.push(sector_row("AAPL", "Utilities", None, None));
    let e = store.put_sectors(&twice).await.unwrap_err();
    assert!(
        matches!(B::classify(&e), ErrorClass::InvalidSector { index: 3, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("also in row 1"), "{e}");

    let mut blank = sector_rows();
    blank[1].sector = String::new();
    assert!(store.put_sectors(&blank).await.is_err());

    assert_eq!(store.sectors().await.unwrap(), before, "nothing written");
}

/// A hand-edited, invalid sector symbol is reported with table, column and row.
pub async fn a_hand_edited_sector_symbol_is_reported<B: Backend>(b: &B) {
    b.execute_raw(
        "INSERT INTO sectors (symbol, sector, source) VALUES ('BAD SYMBOL', 'Energy', 'x')",
    )
    .await;
    let e = b.store().sectors().await.unwrap_err();
    assert_eq!(B::classify(&e), ErrorClass::Corrupt, "{e:?}");
    assert!(e.to_string().contains("sectors.symbol"), "{e}");
}
