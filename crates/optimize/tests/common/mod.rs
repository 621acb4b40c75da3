//! Shared test helpers: load real adjusted closes from ../shared/data and inner-join on date.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pulse_optimize::nalgebra::DMatrix;
use std::collections::BTreeMap;

/// Read `daily-adjclose/<T>.csv` (date,value) as a date → value map (values parsed from the
/// original strings, like pandas' float parsing).
pub fn read_adjclose(ticker: &str) -> BTreeMap<String, f64> {
    let path = pulse_testkit::shared_file(&format!("daily-adjclose/{ticker}.csv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let (d, v) = line
            .split_once(',')
            .unwrap_or_else(|| panic!("{}:{}: no comma", path.display(), i + 1));
        let v: f64 = v
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        out.insert(d.to_string(), v);
    }
    out
}

/// Prices T×N for `tickers`, inner-joined on date, start ≤ date ≤ end. Returns (dates, prices).
pub fn load_prices(tickers: &[&str], start: &str, end: &str) -> (Vec<String>, DMatrix<f64>) {
    let series: Vec<_> = tickers.iter().map(|t| read_adjclose(t)).collect();
    let dates: Vec<String> = series[0]
        .keys()
        .filter(|d| d.as_str() >= start && d.as_str() <= end)
        .filter(|d| series.iter().all(|s| s.contains_key(*d)))
        .cloned()
        .collect();
    let m = DMatrix::from_fn(dates.len(), tickers.len(), |i, j| series[j][&dates[i]]);
    (dates, m)
}

/// Relative difference |a−b| / max(|b|, floor).
pub fn rel(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / b.abs().max(floor)
}
