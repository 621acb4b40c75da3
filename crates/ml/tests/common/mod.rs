//! Shared test helpers: real minute bars from `../shared/data`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read;

use pulse_core::Bar;
use pulse_core::jiff::Timestamp;

/// All 1-minute bars of `intraday-1m-many/<symbol>.csv.gz` (gzip CSV `ts,open,high,low,close,volume`).
pub fn minute_bars(symbol: &str) -> Vec<Bar> {
    let path = pulse_testkit::shared_file(&format!("intraday-1m-many/{symbol}.csv.gz"));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap().trim(),
        "ts,open,high,low,close,volume"
    );
    lines
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
