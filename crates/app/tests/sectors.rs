//! Sector data: the shipped `data/sectors.csv` against the bundled and shared symbols and the
//! S&P 500 files it was built from, and the import-sectors / sectors use cases on a real SQLite
//! store.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use data_csv::ImportOptions;
use pulse_app::data;
use pulse_core::ports::Store;
use pulse_core::{Exchange, Instrument, SectorInfo, SectorMap, Symbol};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use store_sqlite::SqliteStore;

const GICS: &str = "sp500_constituents_gics_2026-08-08.csv";
const CAPS: &str = "sp500_yfinance_fundamentals_snapshot_2024-12.csv";

/// Series of the shared data that are not instruments one holds (indices, rates, a sentiment
/// score, an exchange rate): the shipped file leaves them out on purpose.
const NOT_HELD: &[&str] = &["VIX", "NDX", "IRX", "TNX", "FEAR_GREED", "USDKRW"];

fn shipped_path() -> PathBuf {
    pulse_testkit::workspace_root()
        .join("data")
        .join("sectors.csv")
}

fn shipped() -> BTreeMap<String, SectorInfo> {
    data::read_sectors_file(&shipped_path())
        .unwrap()
        .into_iter()
        .map(|r| (r.symbol.to_string(), r))
        .collect()
}

/// The symbols named by the `<SYM>.csv` / `<SYM>.csv.gz` files of a folder.
fn stems(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| {
            n.strip_suffix(".csv.gz")
                .or_else(|| n.strip_suffix(".csv"))
                .map(str::to_string)
        })
        .collect();
    out.sort();
    out
}

/// The rows of a shared fundamentals file, by the value of `key`.
fn fundamentals(file: &str, key: &str) -> BTreeMap<String, csv::StringRecord> {
    let path = pulse_testkit::shared_file(&format!("fundamentals/{file}"));
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let k = header.iter().position(|h| h == key).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[k].to_string(), r)
        })
        .collect()
}

fn column(file: &str, name: &str) -> usize {
    let path = pulse_testkit::shared_file(&format!("fundamentals/{file}"));
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    header.iter().position(|h| h == name).unwrap()
}

#[test]
fn the_shipped_file_classifies_every_bundled_us_stock_and_etf() {
    let shipped = shipped();
    let mut checked = 0;
    for stem in stems(&pulse_testkit::bundle_dir()) {
        if stem == "SPLITS" {
            continue; // a list of splits, not a symbol
        }
        let instrument = Instrument::infer(&Symbol::try_new(stem.as_str()).unwrap());
        let us = matches!(instrument.exchange, Exchange::Nyse | Exchange::Nasdaq);
        if !(us && instrument.asset_class.is_tradable()) {
            continue; // VIX (an index), FEAR_GREED (a score)
        }
        assert!(shipped.contains_key(&stem), "bundled {stem} has no sector");
        checked += 1;
    }
    assert_eq!(checked, 2, "TSLA and TSLL");
    assert_eq!(shipped["TSLA"].sector, "Consumer Discretionary");
    assert_eq!(
        shipped["TSLA"].industry.as_deref(),
        Some("Automobile Manufacturers")
    );
    assert_eq!(shipped["TSLL"].sector, "ETF: leveraged single stock");
}

#[test]
fn the_shipped_file_classifies_every_held_us_symbol_and_crypto_pair_of_the_shared_data() {
    let shipped = shipped();
    let mut symbols = Vec::new();
    for folder in [
        "daily-adjclose",
        "daily-ohlcv",
        "intraday-1m",
        "intraday-1m-many",
    ] {
        symbols.extend(stems(&pulse_testkit::shared_file(folder)));
    }
    symbols.sort();
    symbols.dedup();
    let mut missing = Vec::new();
    for s in &symbols {
        if s.ends_with(".KS") || NOT_HELD.contains(&s.as_str()) {
            continue;
        }
        if !shipped.contains_key(s) {
            missing.push(s.clone());
        }
    }
    assert!(missing.is_empty(), "no sector for {missing:?}");
    // Every row is one of those symbols or a bundled one: nothing unexplained is shipped.
    for s in shipped.keys() {
        assert!(
            symbols.contains(s)
                || pulse_testkit::bundle_dir()
                    .join(format!("{s}.csv"))
                    .is_file(),
            "{s} is shipped but in no data folder"
        );
    }
    for (s, row) in &shipped {
        if s.ends_with("USDT") {
            assert_eq!(row.sector, "Crypto", "{s}");
        }
    }
}

#[test]
fn the_shipped_stock_rows_are_the_sp500_files_values_with_their_source_named() {
    let shipped = shipped();
    let gics = fundamentals(GICS, "Symbol");
    let caps = fundamentals(CAPS, "Ticker");
    let (sector, sub) = (
        column(GICS, "GICS Sector"),
        column(GICS, "GICS Sub-Industry"),
    );
    let cap = column(CAPS, "marketCap");
    let mut stocks = 0;
    for (s, row) in &shipped {
        let Some(g) = gics.get(s) else {
            assert!(
                row.sector.starts_with("ETF: ") || row.sector == "Crypto",
                "{s}: {} is neither a GICS sector nor an asset-class label",
                row.sector
            );
            assert!(row.market_cap.is_none(), "{s}");
            continue;
        };
        stocks += 1;
        assert_eq!(row.sector, &g[sector], "{s}");
        assert_eq!(row.industry.as_deref(), Some(&g[sub]), "{s}");
        let expected: f64 = caps[s][cap].parse().unwrap();
        assert_eq!(row.market_cap, Some(expected), "{s} market cap in USD");
        assert!(
            row.source.contains(GICS) && row.source.contains(CAPS),
            "{s}"
        );
    }
    assert!(stocks >= 30, "{stocks} stocks");
}

#[tokio::test]
async fn imported_sectors_are_listed_and_unclassified_held_symbols_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    // Stored series: a classified stock, an index (never reported) and a Korean stock.
    let mut batches = Vec::new();
    for file in [
        "daily-ohlcv/TSLA.csv",
        "daily-ohlcv/VIX.csv",
        "daily-ohlcv/005930.KS.csv",
    ] {
        let path = pulse_testkit::shared_file(file);
        let parsed = data_csv::parse_path(&path, &ImportOptions::default()).unwrap();
        batches.extend(parsed.into_batches().unwrap());
    }
    store.import(&batches).await.unwrap();
    let before = data::sectors(&store).await.unwrap();
    assert!(before.sectors.is_empty());
    assert_eq!(
        before.unclassified,
        vec![
            Symbol::try_new("005930.KS").unwrap(),
            Symbol::try_new("TSLA").unwrap()
        ]
    );

    let rows = data::read_sectors_file(&shipped_path()).unwrap();
    let first = data::import_sectors(&store, &rows).await.unwrap();
    assert_eq!(
        (first.rows, first.written, first.unchanged),
        (rows.len(), rows.len(), 0)
    );
    let again = data::import_sectors(&store, &rows).await.unwrap();
    assert_eq!((again.written, again.unchanged), (0, rows.len()));

    let listed = data::sectors(&store).await.unwrap();
    assert_eq!(listed.sectors.len(), rows.len());
    assert_eq!(
        listed.unclassified,
        vec![Symbol::try_new("005930.KS").unwrap()]
    );
    let map = SectorMap::new(&listed.sectors);
    assert_eq!(
        map.group(&Symbol::try_new("TSLA").unwrap()),
        "Consumer Discretionary"
    );
    let korean = Symbol::try_new("005930.KS").unwrap();
    assert_eq!(map.group(&korean), "005930.KS", "its own sector");
}

#[test]
fn one_bad_row_after_every_shipped_row_fails_the_whole_file_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sectors.csv");
    let good = std::fs::read_to_string(shipped_path()).unwrap();
    // Every shipped row, then one whose market cap is not a number.
    let lines = good.lines().count();
    std::fs::write(&file, format!("{good}ZZZ,Energy,,abc,\n")).unwrap();
    let e = data::read_sectors_file(&file).unwrap_err();
    assert!(matches!(e, pulse_app::AppError::Data(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "{} line {}, column market_cap: \"abc\" is not a number; nothing was imported",
            file.display(),
            lines + 1
        )
    );
}
