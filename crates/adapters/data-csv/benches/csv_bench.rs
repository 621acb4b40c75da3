#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Throughput of CSV import, CSV export and Parquet export/import on real files.
//! Run: `cargo bench -p data-csv` (prints a markdown table; median of several runs).

use data_csv::{ImportOptions, parse_path, write_series_csv};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    f(); // warm the page cache and allocator
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let files = [
        ("intraday-1m/BTCUSDT.csv", "1m"),
        ("daily-ohlcv/NDX.csv", "1d"),
        ("daily-adjclose/KO.csv", "1d"),
    ];
    println!(
        "| file | rows | MB | parse (ms) | parse MB/s | rows/s | export CSV (ms) | parquet write (ms) | parquet read (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let dir = std::env::temp_dir().join(format!("data-csv-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (rel, _) in files {
        let path = pulse_testkit::shared_file(rel);
        let bytes = std::fs::metadata(&path).unwrap().len() as f64;
        let opts = ImportOptions::default();
        let parsed = parse_path(&path, &opts).unwrap();
        let rows = parsed.rows.len();
        let tf = parsed.timeframe;
        let batch = parsed.into_batch().unwrap();
        let parse = time(9, || {
            black_box(parse_path(black_box(&path), &opts).unwrap());
        });
        let mut buf = Vec::with_capacity(bytes as usize * 2);
        let export = time(9, || {
            buf.clear();
            write_series_csv(&mut buf, tf, &batch.bars, &batch.actions).unwrap();
            black_box(&buf);
        });
        let pq = dir.join("b.parquet");
        let pq_write = time(5, || {
            data_csv::parquet_io::write_parquet_bars(&pq, &batch.bars).unwrap();
        });
        let pq_read = time(5, || {
            black_box(data_csv::parquet_io::read_parquet_bars(&pq).unwrap());
        });
        let s = parse.as_secs_f64();
        println!(
            "| {rel} | {rows} | {:.2} | {:.1} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} |",
            bytes / 1e6,
            s * 1e3,
            bytes / 1e6 / s,
            rows as f64 / s,
            export.as_secs_f64() * 1e3,
            pq_write.as_secs_f64() * 1e3,
            pq_read.as_secs_f64() * 1e3,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
