//! Shared test and bench helpers: load real adjusted closes from ../shared/data and inner-join on
//! date, the real 47-asset universe, seeded synthetic universes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pulse_optimize::nalgebra::DMatrix;
use pulse_optimize::returns_from_prices;
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

/// Returns of the real universe: every `daily-adjclose` ticker except IRX/TNX/VIXY (rates
/// and a volatility product), on their common dates (47 assets; the benchmark's `real47`).
pub fn real_universe() -> DMatrix<f64> {
    let dir = pulse_testkit::shared_file("daily-adjclose");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".csv").map(str::to_string))
        .filter(|t| !["IRX", "TNX", "VIXY"].contains(&t.as_str()))
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "{} tickers in {}",
        names.len(),
        dir.display()
    );
    let series: Vec<BTreeMap<String, f64>> = names.iter().map(|t| read_adjclose(t)).collect();
    let dates: Vec<&String> = series[0]
        .keys()
        .filter(|d| series.iter().all(|s| s.contains_key(*d)))
        .collect();
    let prices = DMatrix::from_fn(dates.len(), names.len(), |i, j| series[j][dates[i]]);
    returns_from_prices(&prices).unwrap()
}

/// Seeded one-factor daily returns (SplitMix64 + Box-Muller); benches/optimize.rs uses it too.
pub fn synthetic(n: usize, t: usize, seed: u64) -> DMatrix<f64> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut normal = move || {
        let u1 = next().max(1e-300);
        let u2 = next();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let beta: Vec<f64> = (0..n)
        .map(|_| 0.5 + normal().abs().min(2.0) * 0.5)
        .collect();
    let drift: Vec<f64> = (0..n).map(|_| 0.0002 + 0.0003 * normal()).collect();
    let idio: Vec<f64> = (0..n).map(|_| 0.008 + 0.006 * normal().abs()).collect();
    let mut r = DMatrix::zeros(t, n);
    for i in 0..t {
        let f = 0.0003 + 0.01 * normal();
        for j in 0..n {
            r[(i, j)] = drift[j] + beta[j] * f + idio[j] * normal();
        }
    }
    r
}
