//! `pulse ta` end to end: the CLI's columns equal the committed TA-Lib reference fixtures
//! (crates/indicators/tests/fixtures, made by scripts/reference/make_fixtures.py with TA-Lib 0.8.2)
//! at every row, and warm-up cells are empty exactly where TA-Lib's are.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

mod common;
use common::pulse_db;

fn fixture(name: &str) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let path = pulse_testkit::workspace_root()
        .join("crates/indicators/tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols: BTreeMap<String, Vec<String>> =
        header.iter().map(|h| (h.clone(), Vec::new())).collect();
    for l in lines {
        for (h, v) in header.iter().zip(l.split(',')) {
            cols.get_mut(h).unwrap().push(v.to_string());
        }
    }
    (header, cols)
}

#[test]
fn pulse_ta_matches_talib_on_real_tsla() {
    let dir = tempfile::tempdir().unwrap();
    let tsla = pulse_testkit::shared_file("daily-ohlcv/TSLA.csv");
    let out = pulse_db(
        &dir.path().join("p.db"),
        &[
            "ta",
            "--input",
            tsla.to_str().unwrap(),
            "-i",
            "rsi:14",
            "-i",
            "macd:12,26,9",
            "-i",
            "bbands:20,2",
            "-i",
            "sma:5",
            "-i",
            "atr:14",
            "-i",
            "ema:10",
            "-i",
            "rsi:5",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "date");
    for want in [
        "rsi_14",
        "macd_12_26_9",
        "macd_signal_12_26_9",
        "macd_hist_12_26_9",
        "bb_upper_20_2",
        "bb_middle_20_2",
        "bb_lower_20_2",
        "sma_5",
        "atr_14",
        "ema_10",
        "rsi_5",
    ] {
        assert!(
            header.contains(&want),
            "missing column {want} in {header:?}"
        );
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let (_, reference) = fixture("TSLA_daily.csv");
    assert_eq!(rows.len(), reference["date"].len());
    let mut checked = 0;
    for (j, name) in header.iter().enumerate().skip(1) {
        let Some(want) = reference.get(*name) else {
            continue;
        };
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row[0], reference["date"][i]);
            let (got, exp) = (row[j], want[i].as_str());
            if exp.is_empty() || exp.eq_ignore_ascii_case("nan") {
                assert!(
                    got.is_empty(),
                    "{name} row {i}: expected an empty warm-up cell, got {got}"
                );
                continue;
            }
            let (g, e): (f64, f64) = (got.parse().unwrap(), exp.parse().unwrap());
            let rel = (g - e).abs() / e.abs().max(1e-12);
            assert!(
                rel <= 1e-9 || (g - e).abs() < 1e-12,
                "{name} row {i} ({}): {g} vs TA-Lib {e}",
                row[0]
            );
            checked += 1;
        }
    }
    assert!(checked > 15_000, "checked only {checked} cells");
}

#[test]
fn pulse_ta_lists_and_rejects_bad_specs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let list = pulse_db(&db, &["ta", "--list"]);
    let text = String::from_utf8(list.stdout).unwrap();
    for name in [
        "sma", "ema", "wma", "rsi", "macd", "bbands", "atr", "vwap", "stoch", "obv", "adx",
        "zscore", "beta", "corr",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing from --list"
        );
    }
    let tsla = pulse_testkit::shared_file("daily-ohlcv/TSLA.csv");
    let bad = pulse_db(
        &db,
        &["ta", "--input", tsla.to_str().unwrap(), "-i", "rsi:0"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("rsi"));
}

#[test]
fn ta_refuses_unbounded_swapped_and_negative_specs_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let tsla = pulse_testkit::shared_file("daily-ohlcv/TSLA.csv");
    for (spec, why) in [
        ("sma:4000000000", "too large"),
        ("vwap:4000000000", "too large"),
        ("macd:26,12,9", "must be below"),
        ("bbands:20,-2", "> 0"),
        ("stddev:20,-1", "> 0"),
    ] {
        let out = pulse_db(
            &dir.path().join("p.db"),
            &["ta", "--input", tsla.to_str().unwrap(), "-i", spec],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
        assert!(
            err.contains("--indicator") && err.contains(spec) && err.contains(why),
            "{spec}: {err}"
        );
        assert!(out.stdout.is_empty(), "{spec}");
    }
}
