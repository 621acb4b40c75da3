#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Values no market produces, and a declared timeframe that contradicts the rows, are refused
//! naming the file, the line and the field (issue #12). Built from real shared files with one
//! line altered.

use data_csv::{CsvError, ImportOptions, ParsedFile, parse_path, parse_reader};
use pulse_core::Timeframe;
use pulse_testkit::shared_file;

/// `daily-ohlcv/SPY.csv` with its line 3 (2020-01-03) replaced by `line3`.
fn spy_with_line3(line3: &str) -> Result<ParsedFile, CsvError> {
    let text = std::fs::read_to_string(shared_file("daily-ohlcv/SPY.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(lines[2].starts_with("2020-01-03,"), "{}", lines[2]);
    lines[2] = line3;
    parse_reader(
        "data/SPY.csv",
        lines.join("\n").as_bytes(),
        &ImportOptions::default(),
    )
}

fn refused(r: Result<ParsedFile, CsvError>, fragments: &[&str]) {
    let msg = r.expect_err("expected the line to be refused").to_string();
    for f in fragments {
        assert!(msg.contains(f), "message {msg:?} lacks {f:?}");
    }
}

#[test]
fn implausible_prices_are_refused_naming_file_line_and_field() {
    refused(
        spy_with_line3("2020-01-03,-321.16,323.64,321.1,322.41,296.31,77709700,0.0"),
        &["data/SPY.csv:3:2:", "field `open`", "positive", "-321.16"],
    );
    refused(
        spy_with_line3("2020-01-03,321.16,323.64,321.1,0,296.31,77709700,0.0"),
        &["data/SPY.csv:3:5:", "field `close`", "positive"],
    );
    refused(
        spy_with_line3("2020-01-03,321.16,320.0,321.1,322.41,296.31,77709700,0.0"),
        &["data/SPY.csv:3:3:", "field `high`", "below the low 321.1"],
    );
    refused(
        spy_with_line3("2020-01-03,321.16,1e308,321.1,322.41,296.31,77709700,0.0"),
        &[
            "data/SPY.csv:3:3:",
            "field `high`",
            "plausible range",
            "1e308",
        ],
    );
    refused(
        spy_with_line3("2020-01-03,321.16,323.64,321.1,322.41,296.31,1e300,0.0"),
        &["data/SPY.csv:3:7:", "field `volume`", "plausible maximum"],
    );
    refused(
        spy_with_line3("0001-01-03,321.16,323.64,321.1,322.41,296.31,77709700,0.0"),
        &[
            "data/SPY.csv:3:1:",
            "field `date`",
            "year 1 is outside 1800..=2199",
        ],
    );
    // The unaltered file is accepted.
    assert_eq!(
        parse_path(
            &shared_file("daily-ohlcv/SPY.csv"),
            &ImportOptions::default()
        )
        .unwrap()
        .rows
        .len(),
        1443
    );
}

#[test]
fn non_positive_values_are_accepted_in_value_series_only() {
    // ^IRX went below zero in March 2020: a `date,value` series keeps its genuine values.
    let irx = parse_path(
        &shared_file("daily-adjclose/IRX.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert!(irx.rows.iter().any(|r| r.bar.close < 0.0));
    // An adjusted close is a price.
    let text = std::fs::read_to_string(shared_file("daily-adjclose/SPY.csv")).unwrap();
    let bad = text.replacen("1993-02-01,", "1993-02-01,-", 1);
    assert_ne!(bad, text);
    refused(
        parse_reader("SPY.csv", bad.as_bytes(), &ImportOptions::default()),
        &["SPY.csv:3:2:", "field `adj_close`", "positive"],
    );
}

#[test]
fn a_declared_timeframe_must_match_the_row_spacing() {
    let path = shared_file("intraday-1m/SPY.csv");
    let opts = |tf| ImportOptions {
        timeframe: Some(tf),
        ..ImportOptions::default()
    };
    let msg = parse_path(&path, &opts(Timeframe::H1))
        .unwrap_err()
        .to_string();
    for f in [
        "intraday-1m/SPY.csv",
        "timeframe 1h was given",
        "lines 2 and 3 are 60 s apart",
    ] {
        assert!(msg.contains(f), "message {msg:?} lacks {f:?}");
    }
    assert!(parse_path(&path, &opts(Timeframe::M15)).is_err());
    assert_eq!(
        parse_path(&path, &opts(Timeframe::M1)).unwrap().timeframe,
        Timeframe::M1
    );
}
