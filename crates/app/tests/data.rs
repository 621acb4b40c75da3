//! The `data` use cases on the bundled sample data (../shared/data/bundle) in a real SQLite
//! store: seed, list, show, check, export, resample, fetch through a `MarketData` written here,
//! indicators, cancellation, and the input-path rules.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use data_csv::ImportOptions;
use jiff::Timestamp;
use pulse_app::AppError;
use pulse_app::data::{self, ExportSink, Observer};
use pulse_core::ports::{FetchedSeries, ImportBatch, MarketData, SeriesSummary, Store};
use pulse_core::quality::FindingKind;
use pulse_core::{Bar, CorporateAction, Instrument, Symbol, Timeframe};
use std::path::Path;
use store_sqlite::SqliteStore;

fn bundled_batches() -> Vec<ImportBatch> {
    let mut batches = Vec::new();
    for name in ["TSLA", "TSLL", "VIX", "FEAR_GREED", "SPLITS"] {
        let path = pulse_testkit::bundle_dir().join(format!("{name}.csv"));
        let parsed = data_csv::parse_path(&path, &ImportOptions::default()).unwrap();
        batches.extend(parsed.into_batches().unwrap());
    }
    batches
}

async fn store_in(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("t.db")).await.unwrap()
}

async fn seeded(dir: &tempfile::TempDir) -> SqliteStore {
    let store = store_in(dir).await;
    data::seed(&store, bundled_batches()).await.unwrap();
    store
}

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

fn series_of<'a>(list: &'a [SeriesSummary], s: &str) -> &'a SeriesSummary {
    list.iter()
        .find(|x| x.symbol.as_str() == s && x.timeframe == Timeframe::D1)
        .unwrap()
}

async fn tsla_bars(store: &SqliteStore) -> Vec<Bar> {
    data::stored_bars(store, &sym("TSLA"), Timeframe::D1)
        .await
        .unwrap()
}

#[tokio::test]
async fn seed_lists_every_bundled_series_and_seeding_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).await;
    let batches = bundled_batches();
    let first = data::seed(&store, batches.clone()).await.unwrap();
    let bars: usize = batches.iter().map(|b| b.bars.len()).sum();
    assert_eq!(first.summary.bars_inserted, bars as u64);
    let list = data::list(&store).await.unwrap();
    for b in batches.iter().filter(|b| !b.bars.is_empty()) {
        let s = series_of(&list, b.instrument.symbol.as_str());
        assert_eq!(s.rows, b.bars.len() as u64);
        assert_eq!(s.first, b.bars[0].ts);
        assert_eq!(s.last, b.bars.last().unwrap().ts);
    }
    let again = data::seed(&store, batches).await.unwrap();
    assert!(again.summary.is_no_op(), "{:?}", again.summary);
    assert_eq!(again.summary.bars_unchanged, bars as u64);
    assert_eq!(again.kept_because, data::KEPT_FULLER);
}

#[tokio::test]
async fn an_import_keeps_fuller_stored_bars_unless_replace() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir).await;
    let stored = tsla_bars(&store).await;
    // Close-only rows for the first 10 days: poorer than the stored OHLCV bars.
    let poorer: Vec<Bar> = stored[..10]
        .iter()
        .map(|b| Bar::from_value(b.ts, b.close + 1.0, None))
        .collect();
    let batch = ImportBatch {
        instrument: Instrument::infer(&sym("TSLA")),
        timeframe: Timeframe::D1,
        bars: poorer,
        actions: Vec::new(),
        source: "test".to_string(),
    };
    let mut request = data::ImportRequest {
        batches: vec![batch],
        replace: false,
    };
    let kept = data::import(&store, &(), &request).await.unwrap();
    assert_eq!(kept.summary.bars_kept, 10);
    assert_eq!(tsla_bars(&store).await[..10], stored[..10]);
    request.replace = true;
    let replaced = data::import(&store, &(), &request).await.unwrap();
    assert_eq!(replaced.summary.bars_updated, 10);
    assert_eq!(tsla_bars(&store).await[0].close, stored[0].close + 1.0);
}

#[tokio::test]
async fn show_returns_the_first_or_last_bars_of_a_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir).await;
    let all = tsla_bars(&store).await;
    let mut request = data::ShowRequest {
        symbol: sym("TSLA"),
        timeframe: Timeframe::D1,
        start: None,
        end: None,
        limit: Some(3),
        tail: false,
    };
    assert_eq!(data::show(&store, &request).await.unwrap(), all[..3]);
    request.tail = true;
    assert_eq!(
        data::show(&store, &request).await.unwrap(),
        all[all.len() - 3..]
    );
    request.limit = None;
    request.start = Some(all[5].ts);
    request.end = Some(all[9].ts);
    assert_eq!(data::show(&store, &request).await.unwrap(), all[5..=9]);
    request.timeframe = Timeframe::M1;
    let e = data::show(&store, &request).await.unwrap_err();
    assert!(
        matches!(&e, AppError::Data(m) if m.contains("no 1m bars stored for TSLA")),
        "{e}"
    );
}

#[tokio::test]
async fn check_stores_the_findings_it_reports_and_strict_fails_on_any() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir).await;
    let request = data::CheckRequest {
        symbols: vec![sym("TSLA"), sym("VIX")],
        strict: false,
    };
    let outcome = data::check(&store, &(), &request).await.unwrap();
    assert_eq!(outcome.reports.len(), 2);
    let list = data::list(&store).await.unwrap();
    for r in &outcome.reports {
        assert_eq!(r.bars_checked, series_of(&list, r.symbol.as_str()).rows);
    }
    let stored = store.findings().await.unwrap();
    let reported: usize = outcome.reports.iter().map(|r| r.findings.len()).sum();
    assert_eq!(stored.len(), reported);
    // The dashboard's coverage counts the stored findings of each series by kind.
    let coverage = data::coverage(&store).await.unwrap();
    for r in &outcome.reports {
        let c = coverage
            .iter()
            .find(|c| c.series.symbol == r.symbol && c.series.timeframe == r.timeframe)
            .unwrap();
        assert_eq!(c.findings, data::kind_counts(r), "{}", r.symbol);
    }
    assert_eq!(
        outcome.findings(),
        outcome
            .reports
            .iter()
            .map(|r| data::kind_counts(r).values().sum::<u64>())
            .sum::<u64>()
    );
    outcome.verdict().unwrap();
    let strict = data::CheckOutcome {
        strict: true,
        ..outcome.clone()
    };
    if outcome.findings() > 0 {
        let e = strict.verdict().unwrap_err().to_string();
        assert!(
            e.contains(&format!("{} finding(s)", outcome.findings())),
            "{e}"
        );
    } else {
        strict.verdict().unwrap();
    }
    let none = data::CheckRequest {
        symbols: vec![sym("NOPE")],
        strict: false,
    };
    assert!(matches!(
        data::check(&store, &(), &none).await,
        Err(AppError::Data(_))
    ));
}

/// An export sink in memory: bars per series, and a failure on demand.
#[derive(Default)]
struct Memory {
    current: Option<(String, Vec<Bar>)>,
    done: Vec<(String, Vec<Bar>)>,
    splits: Vec<CorporateAction>,
    aborted: usize,
    fail_on: Option<String>,
}

impl ExportSink for Memory {
    type Error = std::io::Error;
    type Written = String;

    fn begin(&mut self, s: &SeriesSummary, _: &[CorporateAction]) -> std::io::Result<()> {
        self.current = Some((format!("{}/{}", s.timeframe, s.symbol), Vec::new()));
        Ok(())
    }
    fn write(&mut self, bars: &[Bar]) -> std::io::Result<()> {
        let (name, out) = self.current.as_mut().unwrap();
        if self.fail_on.as_deref() == Some(name.as_str()) {
            return Err(std::io::Error::other(format!("disk full writing {name}")));
        }
        out.extend_from_slice(bars);
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<String> {
        let (name, bars) = self.current.take().unwrap();
        self.done.push((name.clone(), bars));
        Ok(name)
    }
    fn abort(&mut self) {
        self.current = None;
        self.aborted += 1;
    }
    fn splits(&mut self, splits: &[CorporateAction]) -> std::io::Result<String> {
        self.splits = splits.to_vec();
        Ok("1d/SPLITS".to_string())
    }
}

#[tokio::test]
async fn export_streams_each_series_whole_then_the_splits_and_aborts_on_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir).await;
    let mut sink = Memory::default();
    let request = data::ExportRequest {
        symbols: vec![sym("TSLA"), sym("VIX")],
        timeframe: Some(Timeframe::D1),
    };
    let written = data::export(&store, &mut sink, &(), &request)
        .await
        .unwrap();
    assert_eq!(written, ["1d/TSLA", "1d/VIX", "1d/SPLITS"]);
    assert_eq!(sink.done[0].1, tsla_bars(&store).await);
    assert!(!sink.splits.is_empty());
    assert!(sink.splits.windows(2).all(|w| w[0].ex_date <= w[1].ex_date));
    let mut failing = Memory {
        fail_on: Some("1d/VIX".to_string()),
        ..Memory::default()
    };
    let e = data::export(&store, &mut failing, &(), &request)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("disk full writing 1d/VIX"), "{e}");
    assert_eq!((failing.done.len(), failing.aborted), (1, 1));
}

fn minute_bars(day: &str, n: usize) -> Vec<Bar> {
    let open: Timestamp = format!("{day}T14:30:00Z").parse().unwrap();
    (0..n)
        .map(|i| {
            let p = 100.0 + i as f64 * 0.01;
            Bar {
                ts: open + jiff::SignedDuration::from_mins(i as i64),
                open: p,
                high: p + 0.05,
                low: p - 0.05,
                close: p + 0.01,
                adj_close: None,
                volume: Some(1000.0),
            }
        })
        .collect()
}

#[tokio::test]
async fn resample_builds_whole_sessions_and_never_overwrites_without_replace() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).await;
    let batch = ImportBatch {
        instrument: Instrument::infer(&sym("SPY")),
        timeframe: Timeframe::M1,
        bars: minute_bars("2024-01-03", 390),
        actions: Vec::new(),
        source: "test".to_string(),
    };
    let request = data::ImportRequest {
        batches: vec![batch],
        replace: false,
    };
    data::import(&store, &(), &request).await.unwrap();
    let mut request = data::ResampleRequest {
        from: Timeframe::M1,
        to: Timeframe::M15,
        symbols: Vec::new(),
        replace: false,
    };
    let first = data::resample(&store, &(), &request).await.unwrap();
    assert_eq!(first.series.len(), 1);
    let s = &first.series[0];
    assert_eq!((s.bars_in, s.bars_out, s.outside_session), (390, 26, 0));
    assert_eq!(first.import.summary.bars_inserted, 26);
    assert_eq!(first.import.kept_because, data::KEPT_RESAMPLED);
    let stored = data::stored_bars(&store, &sym("SPY"), Timeframe::M15)
        .await
        .unwrap();
    assert_eq!(stored[0].open, 100.0);
    assert_eq!(stored[0].close, 100.0 + 14.0 * 0.01 + 0.01);
    let again = data::resample(&store, &(), &request).await.unwrap();
    assert_eq!(again.import.summary.bars_unchanged, 26);
    request.from = Timeframe::D1;
    assert!(matches!(
        data::resample(&store, &(), &request).await,
        Err(AppError::Data(_))
    ));
}

/// A vendor replaying fixed bars (a shifted copy of stored TSLA bars, altered by the test).
struct Replay {
    bars: Vec<Bar>,
    instrument: Instrument,
}

impl MarketData for Replay {
    type Error = std::io::Error;

    fn source_name(&self) -> &'static str {
        "replay"
    }

    async fn fetch_bars(
        &self,
        request: &pulse_core::ports::FetchRequest,
    ) -> Result<FetchedSeries, std::io::Error> {
        Ok(FetchedSeries {
            instrument: Instrument {
                symbol: request.symbol.clone(),
                ..self.instrument.clone()
            },
            timeframe: request.timeframe,
            bars: self.bars.clone(),
            actions: Vec::new(),
        })
    }
}

fn fetch_request(symbol: &str, bars: &[Bar]) -> data::FetchRequest {
    data::FetchRequest {
        symbols: vec![sym(symbol)],
        timeframe: Timeframe::D1,
        start: bars[0].ts,
        end: bars.last().unwrap().ts + jiff::SignedDuration::from_hours(24),
        replace: false,
    }
}

#[tokio::test]
async fn fetched_bars_no_market_produces_are_refused_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir).await;
    let good: Vec<Bar> = tsla_bars(&store).await[100..140].to_vec();
    let before = data::list(&store).await.unwrap();
    type Spoil = fn(&mut Bar);
    let cases: Vec<(&str, Spoil)> = vec![
        ("close -", |b| b.close = -b.close),
        ("open 0", |b| b.open = 0.0),
        ("is below the low", |b| {
            std::mem::swap(&mut b.high, &mut b.low)
        }),
        ("plausible range", |b| {
            b.high = 5e12;
            b.close = 5e12;
        }),
        ("volume", |b| b.volume = Some(-10.0)),
    ];
    for (needle, spoil) in cases {
        let mut bars = good.clone();
        spoil(&mut bars[7]);
        let vendor = Replay {
            bars,
            instrument: Instrument::infer(&sym("FETCHED")),
        };
        let e = data::fetch(&vendor, &store, &(), &fetch_request("FETCHED", &good))
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(needle) && msg.contains("replay:FETCHED") && msg.contains("nothing"),
            "{needle}: {msg}"
        );
        assert!(msg.contains(&good[7].ts.to_string()), "{msg} names the bar");
        assert_eq!(data::list(&store).await.unwrap(), before);
    }
}

#[tokio::test]
async fn fetched_split_sized_moves_are_reported_as_findings_and_stored_as_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir).await;
    let mut bars: Vec<Bar> = tsla_bars(&store).await[100..140].to_vec();
    // Bars of two adjustments mixed: every price from the 20th bar on is 3× too high.
    for b in &mut bars[20..] {
        for p in [&mut b.open, &mut b.high, &mut b.low, &mut b.close] {
            *p *= 3.0;
        }
        b.adj_close = b.adj_close.map(|a| a * 3.0);
    }
    let vendor = Replay {
        bars: bars.clone(),
        instrument: Instrument::infer(&sym("JUMPY")),
    };
    let outcome = data::fetch(&vendor, &store, &(), &fetch_request("JUMPY", &bars))
        .await
        .unwrap();
    assert_eq!(outcome.import.summary.bars_inserted, 40);
    assert_eq!(outcome.checks.len(), 1);
    let jumps: Vec<_> = outcome.checks[0]
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::PriceJump)
        .collect();
    assert_eq!(jumps.len(), 1, "{:?}", outcome.checks[0].findings);
    assert_eq!(jumps[0].ts, bars[20].ts);
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["bars_inserted"], 40);
    assert_eq!(json["checks"][0]["symbol"], "JUMPY");
    let stored = data::stored_bars(&store, &sym("JUMPY"), Timeframe::D1)
        .await
        .unwrap();
    assert_eq!(stored, bars);
}

#[tokio::test]
async fn fetch_settings_are_checked_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).await;
    let bars = minute_bars("2024-01-03", 2);
    let vendor = Replay {
        bars: bars.clone(),
        instrument: Instrument::infer(&sym("SPY")),
    };
    let mut request = fetch_request("SPY", &bars);
    request.timeframe = Timeframe::M15;
    let e = data::fetch(&vendor, &store, &(), &request)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AppError::InvalidSetting {
                setting: "interval",
                ..
            }
        ),
        "{e}"
    );
    request.timeframe = Timeframe::D1;
    request.end = request.start;
    let e = data::fetch(&vendor, &store, &(), &request)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::InvalidSetting { setting: "to", .. }),
        "{e}"
    );
}

/// An observer that asks to stop at once.
struct Impatient;

impl Observer for Impatient {
    async fn cancelled(&self) {}
}

#[tokio::test]
async fn an_interrupted_import_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).await;
    let request = data::ImportRequest {
        batches: bundled_batches(),
        replace: false,
    };
    let e = data::import(&store, &Impatient, &request)
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Interrupted), "{e}");
    assert!(data::list(&store).await.unwrap().is_empty());
}

#[tokio::test]
async fn indicators_of_a_stored_series_line_up_with_its_bars() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir).await;
    let bars = tsla_bars(&store).await;
    let mut request = data::IndicatorRequest {
        symbol: sym("TSLA"),
        timeframe: Timeframe::D1,
        benchmark: None,
        specs: vec![pulse_indicators::spec::parse_spec("sma:5").unwrap()],
    };
    let table = data::stored_indicators(&store, &request).await.unwrap();
    assert_eq!(table.timestamps.len(), bars.len());
    let (name, values) = &table.columns[0];
    assert!(name.contains("sma"), "{name}");
    assert!(values[..4].iter().all(|v| v.is_nan()));
    let mean = bars[..5].iter().map(|b| b.close).sum::<f64>() / 5.0;
    assert!((values[4] - mean).abs() < 1e-9);
    request.benchmark = Some(sym("NOPE"));
    let e = data::stored_indicators(&store, &request).await.unwrap_err();
    assert!(e.to_string().contains("no 1d bars stored for NOPE"), "{e}");
    let none = data::indicators(&[], Timeframe::D1, &Instrument::infer(&sym("X")), None, &[]);
    assert!(matches!(none, Err(AppError::Data(_))));
}

fn input_reason(path: &Path) -> String {
    match data::expand_paths(&[path.to_path_buf()]) {
        Err(AppError::Input { path: p, reason }) => {
            assert_eq!(p, path);
            reason
        }
        other => panic!("{}: {other:?}", path.display()),
    }
}

#[test]
fn a_device_or_a_fifo_given_as_input_is_named_as_such_and_never_opened() {
    assert!(input_reason(Path::new("/dev/zero")).contains("character device"));
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("MISSING.csv");
    assert!(input_reason(&missing).contains("no such file"));
    let fifo = dir.path().join("PIPE.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    // Nobody writes to the FIFO: opening it would block forever.
    let reason = input_reason(&fifo);
    assert!(
        reason.contains("FIFO") && reason.contains("not a regular file"),
        "{reason}"
    );
    assert!(data::regular_file(&fifo).is_err());
    // Inside a directory, only regular CSV files are taken.
    std::fs::write(dir.path().join("A.csv"), "date,close\n").unwrap();
    let files = data::expand_paths(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(files, [dir.path().join("A.csv")]);
}
