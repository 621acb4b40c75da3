#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![cfg(feature = "parquet")]
//! Bars of every real bar file → Parquet → bars, bit for bit; and the file's schema.

use data_csv::parquet_io::{ParquetBarWriter, read_parquet_bars, write_parquet_bars};
use data_csv::{ImportOptions, parse_path};
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use pulse_core::Bar;
use std::path::PathBuf;

fn bar_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for d in [
        "daily-ohlcv",
        "daily-adjclose",
        "daily-index",
        "intraday-1m",
    ] {
        for e in std::fs::read_dir(pulse_testkit::shared_file(d)).unwrap() {
            v.push(e.unwrap().path());
        }
    }
    for name in ["TSLA.csv", "TSLL.csv", "VIX.csv", "FEAR_GREED.csv"] {
        v.push(pulse_testkit::bundle_dir().join(name));
    }
    v.sort();
    v
}

fn bits(b: &Bar) -> (i64, [u64; 4], Option<u64>, Option<u64>) {
    (
        b.ts.as_microsecond(),
        [
            b.open.to_bits(),
            b.high.to_bits(),
            b.low.to_bits(),
            b.close.to_bits(),
        ],
        b.adj_close.map(f64::to_bits),
        b.volume.map(f64::to_bits),
    )
}

#[test]
fn every_real_series_round_trips_through_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let files = bar_files();
    assert!(files.len() >= 70);
    for path in files {
        let batch = parse_path(&path, &ImportOptions::default())
            .unwrap()
            .into_batch()
            .unwrap();
        let out = dir.path().join("bars.parquet");
        write_parquet_bars(&out, &batch.bars).unwrap();
        let back = read_parquet_bars(&out).unwrap();
        assert_eq!(back.len(), batch.bars.len(), "{}", path.display());
        for (a, b) in batch.bars.iter().zip(&back) {
            assert_eq!(bits(a), bits(b), "{}", path.display());
        }
    }
}

#[test]
fn schema_is_timestamp_micros_utc_and_nullable_doubles() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.parquet");
    let bars: Vec<Bar> = parse_path(
        &pulse_testkit::shared_file("daily-ohlcv/000660.KS.csv"),
        &ImportOptions::default(),
    )
    .unwrap()
    .rows
    .iter()
    .map(|r| r.bar)
    .collect();
    // Streamed in three chunks → three row groups.
    let mut w = ParquetBarWriter::new("k", std::fs::File::create(&out).unwrap()).unwrap();
    for chunk in bars.chunks(150) {
        w.write_bars(chunk).unwrap();
    }
    w.write_bars(&[]).unwrap();
    w.finish().unwrap();

    let reader = SerializedFileReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.num_row_groups(), 3);
    assert_eq!(meta.file_metadata().num_rows(), 370);
    let schema = meta.file_metadata().schema_descr();
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        ["ts", "open", "high", "low", "close", "adj_close", "volume"]
    );
    let ts = schema.column(0);
    assert_eq!(ts.physical_type(), PhysicalType::INT64);
    assert_eq!(
        ts.logical_type_ref(),
        Some(&LogicalType::timestamp(true, TimeUnit::MICROS))
    );
    for i in 1..7 {
        let c = schema.column(i);
        assert_eq!(c.physical_type(), PhysicalType::DOUBLE);
        assert_eq!(
            c.self_type().get_basic_info().repetition(),
            Repetition::OPTIONAL
        );
    }
    // The Korean file has no adj_close: nulls come back as None.
    let back = read_parquet_bars(&out).unwrap();
    assert!(
        back.iter()
            .all(|b| b.adj_close.is_none() && b.volume.is_some())
    );
    assert_eq!(back, bars);
}
