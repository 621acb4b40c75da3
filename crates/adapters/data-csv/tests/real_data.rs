#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Every real file under shared/data and data/bundle: parsed, checked against the README tables and
//! against the raw text of the file, converted strictly, and exported byte-stably.

use data_csv::{
    BarLabel, ImportOptions, Layout, ParsedFile, parse_path, parse_reader, write_series_csv,
    write_splits_csv,
};
use pulse_core::jiff::Timestamp;
use pulse_core::rust_decimal::Decimal;
use pulse_core::{CorporateActionKind, Symbol, Timeframe};
use std::path::{Path, PathBuf};

const DIRS: [&str; 4] = [
    "daily-ohlcv",
    "daily-adjclose",
    "daily-index",
    "intraday-1m",
];

fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    v.sort();
    v
}

fn all_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for d in DIRS {
        v.extend(csv_files(&pulse_testkit::shared_file(d)));
    }
    v.extend(csv_files(&pulse_testkit::bundle_dir()));
    v
}

/// The README's file table: relative path → (first, last, rows).
fn readme_table() -> Vec<(String, String, String, u64)> {
    let text = std::fs::read_to_string(pulse_testkit::shared_file("README.md")).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        if !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // ["", path, source, columns, adjusted, first, last, rows, ""]; later tables (folders of
        // the 2026-12-03 addition) have other columns.
        if cells.len() != 9 {
            continue;
        }
        let path = cells[1].trim_matches('`').to_string();
        let rows: u64 = cells[7].parse().unwrap();
        out.push((path, cells[5].to_string(), cells[6].to_string(), rows));
    }
    out
}

/// Intraday files whose source labels bars by the end of the minute (README).
fn end_labelled(path: &Path) -> bool {
    path.parent().unwrap().ends_with("intraday-1m")
        && ["QQQ", "SPY", "TSLA"].contains(&path.file_stem().unwrap().to_str().unwrap())
}

fn opts_for(path: &Path) -> ImportOptions {
    ImportOptions {
        bar_label: if end_labelled(path) {
            BarLabel::End
        } else {
            BarLabel::Start
        },
        ..ImportOptions::default()
    }
}

fn first_ts_text(pf: &ParsedFile, i: usize) -> String {
    let ts = pf.rows[i].bar.ts;
    if pf.timeframe.is_intraday() {
        ts.to_string()
    } else {
        ts.to_string()[..10].to_string()
    }
}

#[test]
fn readme_table_rows_first_and_last_match() {
    let table = readme_table();
    assert!(table.len() >= 70, "README table has {} rows", table.len());
    let mut checked = 0;
    for (rel, first, last, rows) in &table {
        let path = pulse_testkit::shared_file(rel);
        if !path.is_file() {
            continue; // e.g. the documented missing UNH
        }
        // README first/last are the source labels: read without shifting.
        let pf = parse_path(&path, &ImportOptions::default()).unwrap();
        assert_eq!(pf.rows.len() as u64, *rows, "{rel}: row count");
        assert_eq!(&first_ts_text(&pf, 0), first, "{rel}: first");
        assert_eq!(&first_ts_text(&pf, pf.rows.len() - 1), last, "{rel}: last");
        checked += 1;
    }
    assert!(checked >= 70, "only {checked} README rows checked");
}

#[test]
fn named_facts_from_the_brief() {
    let tsla = parse_path(
        &pulse_testkit::shared_file("daily-ohlcv/TSLA.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(tsla.layout, Layout::DailyOhlcv);
    assert_eq!(tsla.rows.len(), 1946);
    assert_eq!(tsla.symbol, Some(Symbol::try_new("TSLA").unwrap()));
    assert_eq!(tsla.timeframe, Timeframe::D1);
    assert_eq!(
        tsla.rows[0].bar.ts,
        "2018-01-02T00:00:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(tsla.rows[0].line, 2);
    // The two split ratios the source stored as "dividends" come through as dividends (the
    // data-quality check flags them), exactly as decimals.
    let divs: Vec<(String, Decimal)> = tsla
        .actions
        .iter()
        .map(|(_, a)| (a.ex_date.to_string(), a.value()))
        .collect();
    assert_eq!(
        divs,
        vec![
            ("2020-08-31".to_string(), Decimal::new(50, 1)),
            ("2022-08-25".to_string(), Decimal::new(30, 1)),
        ]
    );

    let irx = parse_path(
        &pulse_testkit::shared_file("daily-adjclose/IRX.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(irx.layout, Layout::Value);
    assert_eq!(irx.rows.len(), 12525);
    assert_eq!(irx.rows[0].bar.adj_close, None);

    let btc = parse_path(
        &pulse_testkit::shared_file("intraday-1m/BTCUSDT.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(btc.layout, Layout::Intraday);
    assert_eq!(btc.rows.len(), 43200);
    assert_eq!(btc.timeframe, Timeframe::M1);

    let ks = parse_path(
        &pulse_testkit::shared_file("daily-ohlcv/000660.KS.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(ks.symbol.unwrap().as_str(), "000660.KS");
    assert!(ks.rows.iter().all(|r| r.bar.adj_close.is_none()));
    assert!(ks.actions.is_empty());

    let spy = parse_path(
        &pulse_testkit::shared_file("daily-adjclose/SPY.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(spy.layout, Layout::AdjClose);
    let b = spy.rows[0].bar;
    assert_eq!(b.adj_close, Some(b.close));
    assert_eq!((b.open, b.high, b.low), (b.close, b.close, b.close));

    let vix = parse_path(
        &pulse_testkit::bundle_dir().join("VIX.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(vix.layout, Layout::DailyOhlc);
    assert!(vix.rows.iter().all(|r| r.bar.volume.is_none()));

    let splits = parse_path(
        &pulse_testkit::bundle_dir().join("SPLITS.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(splits.layout, Layout::Splits);
    assert!(splits.rows.is_empty());
    let ratios: Vec<(String, String, Decimal)> = splits
        .actions
        .iter()
        .map(|(_, a)| {
            assert!(matches!(a.kind, CorporateActionKind::Split { .. }));
            (a.ex_date.to_string(), a.symbol.to_string(), a.value())
        })
        .collect();
    assert_eq!(
        ratios,
        vec![
            ("2020-08-31".into(), "TSLA".into(), Decimal::from(5)),
            ("2022-08-25".into(), "TSLA".into(), Decimal::from(3)),
        ]
    );
    let batch = splits.into_batch().unwrap();
    assert_eq!(batch.instrument.symbol.as_str(), "TSLA");
    assert_eq!(batch.actions.len(), 2);
}

#[test]
fn bundle_ranges_match_its_readme() {
    let text = std::fs::read_to_string(pulse_testkit::bundle_dir().join("README.md")).unwrap();
    let mut checked = 0;
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let file = cells[1].trim_matches('`');
        let Some((first, last)) = cells[3].split_once(" → ") else {
            continue; // SPLITS.csv lists events, not a range
        };
        let pf = parse_path(
            &pulse_testkit::bundle_dir().join(file),
            &ImportOptions::default(),
        )
        .unwrap();
        assert_eq!(first_ts_text(&pf, 0), first, "{file}");
        assert_eq!(first_ts_text(&pf, pf.rows.len() - 1), last, "{file}");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

/// Splits a raw line without the crate, for an independent comparison.
fn raw_fields(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

fn parse_opt(s: &str) -> Option<f64> {
    if s.is_empty() {
        None
    } else {
        Some(s.parse().unwrap())
    }
}

#[test]
fn every_value_equals_the_f64_of_its_source_string() {
    for path in all_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let pf = parse_path(&path, &ImportOptions::default()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let cols = pf.layout.columns();
        for r in &pf.rows {
            let raw = raw_fields(lines[(r.line - 1) as usize]);
            assert_eq!(raw.len(), cols.len(), "{}:{}", path.display(), r.line);
            let b = &r.bar;
            let at = |name: &str| raw[cols.iter().position(|c| *c == name).unwrap()];
            let ctx = format!("{}:{}", path.display(), r.line);
            match pf.layout {
                Layout::AdjClose => {
                    let v: f64 = at("adj_close").parse().unwrap();
                    assert_eq!(b.close.to_bits(), v.to_bits(), "{ctx}");
                    assert_eq!(b.adj_close.map(f64::to_bits), Some(v.to_bits()), "{ctx}");
                }
                Layout::Value => {
                    let v: f64 = at("value").parse().unwrap();
                    assert_eq!(b.close.to_bits(), v.to_bits(), "{ctx}");
                    assert_eq!(b.open.to_bits(), v.to_bits(), "{ctx}");
                }
                _ => {
                    for (name, got) in [
                        ("open", b.open),
                        ("high", b.high),
                        ("low", b.low),
                        ("close", b.close),
                    ] {
                        let v: f64 = at(name).parse().unwrap();
                        assert_eq!(got.to_bits(), v.to_bits(), "{ctx} {name}");
                    }
                    if cols.contains(&"volume") {
                        assert_eq!(b.volume, parse_opt(at("volume")), "{ctx} volume");
                    }
                    if cols.contains(&"adj_close") {
                        assert_eq!(b.adj_close, parse_opt(at("adj_close")), "{ctx} adj_close");
                    }
                }
            }
            // The date/ts column, as text.
            let ts_text = raw[0];
            if pf.timeframe.is_intraday() {
                assert_eq!(b.ts, ts_text.parse::<Timestamp>().unwrap(), "{ctx}");
            } else {
                assert_eq!(&b.ts.to_string()[..10], ts_text, "{ctx}");
            }
        }
        // Every data line became a row (no null rows in the real data).
        assert_eq!(pf.skipped_null_rows, 0);
        if pf.layout.has_bars() {
            assert_eq!(pf.rows.len(), lines.len() - 1, "{}", path.display());
        }
    }
}

#[test]
fn every_file_converts_strictly_and_exports_byte_stably() {
    for path in all_files() {
        let opts = opts_for(&path);
        let pf = parse_path(&path, &opts).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let layout = pf.layout;
        let tf = pf.timeframe;
        let batch = pf.clone().into_batch().unwrap();
        assert!(batch.bars.windows(2).all(|w| w[0].ts < w[1].ts));
        assert_eq!(batch.bars.len(), pf.rows.len());
        for b in &batch.bars {
            b.validate_finite().unwrap();
        }

        let mut first = Vec::new();
        if layout == Layout::Splits {
            write_splits_csv(&mut first, &batch.actions).unwrap();
        } else {
            write_series_csv(&mut first, tf, &batch.bars, &batch.actions).unwrap();
        }
        // Re-import the export (labels are now bar starts), compare, export again.
        let again = parse_reader(&name, first.as_slice(), &ImportOptions::default()).unwrap();
        assert_eq!(again.timeframe, tf, "{name}");
        let batch2 = again.into_batch().unwrap();
        assert_eq!(batch2.bars, batch.bars, "{name}: bars after round trip");
        assert_eq!(
            batch2.actions, batch.actions,
            "{name}: actions after round trip"
        );
        let mut second = Vec::new();
        if layout == Layout::Splits {
            write_splits_csv(&mut second, &batch2.actions).unwrap();
        } else {
            write_series_csv(&mut second, tf, &batch2.bars, &batch2.actions).unwrap();
        }
        assert!(first == second, "{name}: export → import → export differs");
    }
}

#[test]
fn end_labelled_minutes_shift_to_bar_starts() {
    let path = pulse_testkit::shared_file("intraday-1m/TSLA.csv");
    let start = parse_path(&path, &ImportOptions::default()).unwrap();
    let end = parse_path(&path, &opts_for(&path)).unwrap();
    assert_eq!(end.rows.len(), 1946);
    assert_eq!(
        end.rows[0].bar.ts,
        "2019-02-11T14:30:00Z".parse::<Timestamp>().unwrap()
    );
    for (a, b) in start.rows.iter().zip(&end.rows) {
        assert_eq!(a.bar.ts.as_second() - 60, b.bar.ts.as_second());
        assert_eq!(a.bar.close, b.bar.close);
    }
}

#[test]
fn the_source_text_of_the_first_and_last_rows_is_what_was_parsed() {
    // The brief asks for first/last values against the files: read them as text here.
    for path in all_files() {
        let pf = parse_path(&path, &ImportOptions::default()).unwrap();
        if !pf.layout.has_bars() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let data: Vec<&str> = text.lines().skip(1).collect();
        for (raw, row) in [
            (data[0], pf.rows.first().unwrap()),
            (data[data.len() - 1], pf.rows.last().unwrap()),
        ] {
            let f = raw_fields(raw);
            let close_col = match pf.layout {
                Layout::AdjClose | Layout::Value => 1,
                _ => 4,
            };
            assert_eq!(
                row.bar.close,
                f[close_col].parse::<f64>().unwrap(),
                "{}",
                path.display()
            );
        }
    }
}
