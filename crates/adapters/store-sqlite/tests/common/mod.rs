//! Tiny test-only reader of the shared CSV layouts (the real importer lives in `data-csv`; this
//! crate must not depend on it). Also a content checksum computed through the `Store` API.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_core::jiff::Timestamp;
use pulse_core::jiff::civil::Date;
use pulse_core::ports::{BarPager, BarQuery, ImportBatch, Store};
use pulse_core::rust_decimal::Decimal;
use pulse_core::{Bar, CorporateAction, CorporateActionKind, Instrument, Symbol, Timeframe};
use std::path::Path;
use std::str::FromStr;

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

/// Every shared data file with its layout, in a stable order.
pub fn all_shared_files(root: &Path) -> Vec<(std::path::PathBuf, Layout)> {
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
        out.extend(files.into_iter().map(|p| (p, layout)));
    }
    out
}

/// FNV-1a 64 over bytes.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(pub u64);

impl Fnv {
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub fn f64(&mut self, v: f64) {
        self.bytes(&v.to_bits().to_le_bytes());
    }
    pub fn opt(&mut self, v: Option<f64>) {
        match v {
            None => self.bytes(&[0]),
            Some(v) => {
                self.bytes(&[1]);
                self.f64(v);
            }
        }
    }
    pub fn bar(&mut self, b: &Bar) {
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
