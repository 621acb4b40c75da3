#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Golden tests: every indicator vs the TA-Lib / numpy reference fixtures made by
//! `scripts/reference/make_fixtures.py`, at every position (≤ 1e-9 relative error, identical
//! empty positions). Inputs are read from the real shared data via pulse-testkit.

use std::collections::HashMap;

use pulse_indicators::spec::{OhlcvColumns, compute, parse_spec};

const TOL: f64 = 1e-9;

struct Ohlcv {
    keys: Vec<String>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

/// Minimal CSV reader for the shared OHLCV files (no quoting in these files).
fn load_ohlcv(rel: &str, max_rows: usize) -> Ohlcv {
    let path = pulse_testkit::shared_file(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (io, ih, il, ic, iv) = (
        col("open"),
        col("high"),
        col("low"),
        col("close"),
        col("volume"),
    );
    let mut o = Ohlcv {
        keys: vec![],
        open: vec![],
        high: vec![],
        low: vec![],
        close: vec![],
        volume: vec![],
    };
    for line in lines.take(max_rows) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| {
            f[i].parse::<f64>()
                .unwrap_or_else(|e| panic!("{rel}: `{line}` col {i}: {e}"))
        };
        o.keys.push(f[0].to_string());
        o.open.push(num(io));
        o.high.push(num(ih));
        o.low.push(num(il));
        o.close.push(num(ic));
        o.volume.push(num(iv));
    }
    o
}

struct Fixture {
    keys: Vec<String>,
    cols: HashMap<String, Vec<f64>>,
}

fn load_fixture(name: &str) -> Fixture {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut keys = vec![];
    let mut cols: HashMap<String, Vec<f64>> =
        head[1..].iter().map(|h| (h.clone(), vec![])).collect();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), head.len(), "{name}: ragged row `{line}`");
        keys.push(f[0].to_string());
        for (h, v) in head[1..].iter().zip(&f[1..]) {
            let x = if v.is_empty() {
                f64::NAN
            } else {
                v.parse().unwrap()
            };
            cols.get_mut(h).unwrap().push(x);
        }
    }
    Fixture { keys, cols }
}

/// Relative error |a-b| / max(|a|, |b|, floor) (0 when equal). `floor` = 1e-3 × the column's
/// largest magnitude: it only matters for values that are rounding residue of an exact zero
/// (e.g. a stochastic %K of 1e-13 on a 0..100 scale, where TA-Lib itself prints ±7e-14).
fn rel_err(a: f64, b: f64, floor: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    (a - b).abs() / a.abs().max(b.abs()).max(floor)
}

/// Compare one computed column to the fixture column; returns (max rel err, exact matches).
fn compare(fixture: &str, name: &str, got: &[f64], want: &[f64]) -> (f64, usize) {
    assert_eq!(got.len(), want.len(), "{fixture}/{name}: length");
    let mut worst = 0.0f64;
    let mut exact = 0;
    let floor = 1e-3
        * want
            .iter()
            .filter(|v| !v.is_nan())
            .fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.is_nan(),
            w.is_nan(),
            "{fixture}/{name}[{i}]: got {g}, want {w} (empty positions differ)"
        );
        if w.is_nan() {
            continue;
        }
        let e = rel_err(g, w, floor);
        assert!(
            e <= TOL,
            "{fixture}/{name}[{i}]: got {g:.17e}, want {w:.17e}, rel err {e:.3e} > {TOL:e}"
        );
        if g.to_bits() == w.to_bits() || g == w {
            exact += 1;
        }
        worst = worst.max(e);
    }
    (worst, exact)
}

fn run(fixture_name: &str, fx: &Fixture, cols: &OhlcvColumns<'_>, specs: &[&str]) {
    let mut checked = std::collections::HashSet::new();
    for s in specs {
        let spec = parse_spec(s).unwrap();
        for (name, values) in compute(&spec, cols).unwrap() {
            let want = fx
                .cols
                .get(&name)
                .unwrap_or_else(|| panic!("{fixture_name}: fixture lacks column {name}"));
            let (worst, exact) = compare(fixture_name, &name, &values, want);
            let defined = want.iter().filter(|v| !v.is_nan()).count();
            assert!(
                defined > 0,
                "{fixture_name}/{name}: fixture column is empty"
            );
            // The first defined position must be exactly the TA-Lib lookback on gap-free data.
            let first = want.iter().position(|v| !v.is_nan()).unwrap();
            if !matches!(spec, pulse_indicators::IndicatorSpec::Corr { .. }) {
                assert_eq!(
                    first,
                    spec.warmup_period(),
                    "{fixture_name}/{name}: warm-up length"
                );
            }
            eprintln!(
                "{fixture_name:>22} {name:<24} max rel err {worst:.2e}  bit-exact {exact}/{defined}"
            );
            checked.insert(name);
        }
    }
    let mut missing: Vec<_> = fx.cols.keys().filter(|k| !checked.contains(*k)).collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "{fixture_name}: fixture columns not checked: {missing:?}"
    );
}

const COMMON: &[&str] = &[
    "sma:5",
    "sma:10",
    "sma:20",
    "ema:10",
    "ema:12",
    "ema:26",
    "wma:10",
    "rsi:14",
    "rsi:5",
    "macd:12,26,9",
    "bbands:20,2",
    "trange",
    "atr:14",
    "atrp:14,100",
    "adx:14",
    "stoch:5,3,3",
    "obv",
    "roc:10",
    "mom:10",
    "ret",
    "stddev:20,1",
    "logret",
    "zscore:20",
];

fn daily(sym: &str) {
    let o = load_ohlcv(&format!("daily-ohlcv/{sym}.csv"), usize::MAX);
    let fx = load_fixture(&format!("{sym}_daily.csv"));
    assert_eq!(
        o.keys, fx.keys,
        "{sym}: fixture dates differ from the shared data"
    );
    let cols = OhlcvColumns {
        timestamps: &[],
        open: &o.open,
        high: &o.high,
        low: &o.low,
        close: &o.close,
        volume: &o.volume,
        sessions: None,
        benchmark_close: None,
    };
    let mut specs = COMMON.to_vec();
    specs.extend(["vol:20,252", "vwap:20"]);
    run(&format!("{sym}_daily"), &fx, &cols, &specs);
}

#[test]
fn tsla_daily_matches_reference() {
    daily("TSLA");
}

#[test]
fn tsll_daily_matches_reference() {
    daily("TSLL");
}

#[test]
fn btcusdt_1m_matches_reference() {
    let o = load_ohlcv("intraday-1m/BTCUSDT.csv", 5000);
    let fx = load_fixture("BTCUSDT_1m.csv");
    assert_eq!(o.keys, fx.keys);
    // Session id = UTC day, as yyyymmdd parsed from the ISO timestamp.
    let sessions: Vec<i64> = o
        .keys
        .iter()
        .map(|k| k[..10].replace('-', "").parse().unwrap())
        .collect();
    let cols = OhlcvColumns {
        timestamps: &[],
        open: &o.open,
        high: &o.high,
        low: &o.low,
        close: &o.close,
        volume: &o.volume,
        sessions: Some(&sessions),
        benchmark_close: None,
    };
    let mut specs = COMMON.to_vec();
    specs.extend(["vol:20,525600", "vwap"]);
    run("BTCUSDT_1m", &fx, &cols, &specs);
}

#[test]
fn tsll_vs_tsla_corr_beta_match_reference() {
    let a = load_ohlcv("daily-ohlcv/TSLA.csv", usize::MAX);
    let b = load_ohlcv("daily-ohlcv/TSLL.csv", usize::MAX);
    let fx = load_fixture("TSLL_vs_TSLA_daily.csv");
    let idx: HashMap<&str, usize> = a
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let bench: Vec<f64> = b.keys.iter().map(|k| a.close[idx[k.as_str()]]).collect();
    assert_eq!(b.keys, fx.keys);
    let cols = OhlcvColumns {
        timestamps: &[],
        open: &b.open,
        high: &b.high,
        low: &b.low,
        close: &b.close,
        volume: &b.volume,
        sessions: None,
        benchmark_close: Some(&bench),
    };
    run("TSLL_vs_TSLA", &fx, &cols, &["corr:60", "beta:60"]);
}
