//! Feature computation over the 40 Binance pairs of `shared/data/intraday-1m-many`, one symbol at
//! a time (only one symbol's bars and features in memory), written to the per-symbol `f32` format
//! in memory and discarded. Prints the time per symbol (computation only, CSV parsing excluded).
//!
//! ```sh
//! cargo run --release -p pulse-ml --example feature_timing
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read;
use std::time::Instant;

use pulse_core::Bar;
use pulse_core::jiff::Timestamp;
use pulse_ml::features::{FeatureConfig, compute_features};

fn minute_bars(path: &std::path::Path) -> Vec<Bar> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.trim().split(',').collect();
            let p = |i: usize| f[i].parse::<f64>().unwrap();
            Bar {
                ts: f[0].parse::<Timestamp>().unwrap(),
                open: p(1),
                high: p(2),
                low: p(3),
                close: p(4),
                adj_close: None,
                volume: Some(p(5)),
            }
        })
        .collect()
}

fn main() {
    let dir = pulse_testkit::shared_file("intraday-1m-many");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".csv.gz"))
        .collect();
    files.sort();
    let cfg = FeatureConfig::default();
    let (mut rows, mut secs, mut bytes) = (0usize, 0.0f64, 0usize);
    for f in &files {
        let bars = minute_bars(f);
        let t = Instant::now();
        let frame = compute_features(&bars, &cfg).unwrap();
        let mut out = Vec::new();
        pulse_ml::store::write_frame(&frame, &mut out).unwrap();
        let dt = t.elapsed().as_secs_f64();
        rows += frame.n_rows();
        secs += dt;
        bytes += out.len();
    }
    println!(
        "{} symbols, {rows} rows x {} columns: {:.2} s total ({:.1} ms per symbol, {:.0} ns per row), {:.1} MB of f32 files",
        files.len(),
        pulse_ml::features::feature_names(&cfg).len(),
        secs,
        1e3 * secs / files.len() as f64,
        1e9 * secs / rows as f64,
        bytes as f64 / 1e6
    );
}
