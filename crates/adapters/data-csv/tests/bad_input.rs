#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Bad and unusual input: every error names the file, the line (and column) and the field.

use data_csv::{
    CsvError, ImportOptions, Layout, OrderIssue, ParsedFile, parse_reader, write_series_csv,
};
use pulse_core::jiff::Timestamp;
use pulse_core::{Bar, Symbol, Timeframe};

fn parse(text: &str) -> Result<ParsedFile, CsvError> {
    parse_reader("dir/bad.csv", text.as_bytes(), &ImportOptions::default())
}

fn parse_bytes(bytes: &[u8]) -> Result<ParsedFile, CsvError> {
    parse_reader("dir/bad.csv", bytes, &ImportOptions::default())
}

/// The error's message, checked to contain every fragment.
fn err_has(r: Result<ParsedFile, CsvError>, fragments: &[&str]) -> CsvError {
    let e = r.expect_err("expected an error");
    let msg = e.to_string();
    for f in fragments {
        assert!(msg.contains(f), "message {msg:?} lacks {f:?}");
    }
    e
}

#[test]
fn missing_columns_name_the_first_missing_one() {
    let e = err_has(
        parse("date,open,high,low\n2024-01-02,1,2,3\n"),
        &[
            "dir/bad.csv:1:5:",
            "missing column 5 `close`",
            "expected one of these headers: date,open,high,low,close,adj_close,volume,dividends",
            "Date,Open,High,Low,Close,Adj Close,Volume",
            "date,symbol,ratio",
        ],
    );
    assert!(matches!(
        e,
        CsvError::Header {
            column: 5,
            line: 1,
            ..
        }
    ));
    err_has(
        parse("date,open,high,low,close,adj_close\n"),
        &["dir/bad.csv:1:7:", "missing column 7 `volume`"],
    );
}

#[test]
fn unknown_headers_name_the_column() {
    err_has(
        parse("time,price\n10:00,1\n"),
        &[
            "dir/bad.csv:1:1:",
            "`time,price`",
            "expected `date` or `ts`",
        ],
    );
    err_has(
        parse("date,open,hi,low,close\n"),
        &["dir/bad.csv:1:3:", "column 3 is `hi`, expected `high`"],
    );
    err_has(
        parse("date,value,extra\n"),
        &["dir/bad.csv:1:3:", "unexpected extra column 3 `extra`"],
    );
}

#[test]
fn header_matching_ignores_case_spaces_and_bom() {
    let pf = parse(
        "\u{feff} Date , Open,HIGH,Low ,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,1.4,100\n",
    )
    .unwrap();
    assert_eq!(pf.layout, Layout::Yahoo);
    assert_eq!(pf.rows[0].bar.adj_close, Some(1.4));
    assert_eq!(pf.rows[0].bar.volume, Some(100.0));
    // CRLF line endings.
    let pf = parse("date,value\r\n2024-01-02,7\r\n2024-01-03,8\r\n").unwrap();
    assert_eq!(pf.rows.len(), 2);
    assert_eq!(pf.rows[1].line, 3);
    assert_eq!(pf.rows[1].bar.close, 8.0);
    // Blank lines, blank-looking lines and CRLF do not shift the line numbers of errors.
    err_has(
        parse("\r\ndate,value\r\n\r\n2024-01-02,1\r\n  \r\n2024-01-03,x\r\n"),
        &["dir/bad.csv:6:2:", "field `value`"],
    );
    let e = parse("date,value\n\n\n2024-01-02,1\n2024-01-03,x\n").unwrap_err();
    assert_eq!(e.line(), Some(5), "{e}");
    // A quoted field spanning two lines counts both.
    let e = parse("date,value\n\"2024-01-02\n\",1\n2024-01-03,x\n").unwrap_err();
    assert!(e.to_string().contains("dir/bad.csv:4:2:"), "{e}");
    let pf =
        parse("date,symbol,ratio\n\"2020-08-31\",\"TSLA\",\"5\"\n\n2022-08-25,TSLA,3\n").unwrap();
    assert_eq!(pf.actions[1].0, 4);
}

#[test]
fn bad_dates_are_rejected_with_line_and_column() {
    for (bad, why) in [
        ("2024-13-01", "not a calendar date"),
        ("2023-02-29", "not a calendar date"),
        ("2024/01/02", "expected a date YYYY-MM-DD"),
        ("02-01-2024", "expected a date YYYY-MM-DD"),
        ("2024-01-02T00:00:00Z", "expected a date YYYY-MM-DD"),
        ("", "expected a date YYYY-MM-DD"),
    ] {
        let text = format!("date,value\n2024-01-01,5\n{bad},6\n");
        let e = err_has(parse(&text), &["dir/bad.csv:3:1:", "field `date`", why]);
        assert_eq!(e.line(), Some(3));
    }
    err_has(
        parse("ts,open,high,low,close,volume\n2024-01-02 10:00,1,1,1,1,1\n"),
        &["dir/bad.csv:2:1:", "field `ts`", "ISO-8601"],
    );
}

#[test]
fn text_in_numeric_fields_is_rejected() {
    err_has(
        parse("date,open,high,low,close\n2024-01-02,1,abc,1,1\n"),
        &[
            "dir/bad.csv:2:3:",
            "field `high`",
            "expected a decimal number",
            "\"abc\"",
        ],
    );
    err_has(
        parse(
            "date,open,high,low,close,adj_close,volume,dividends\n2024-01-02,1,1,1,1,1,12 000,0\n",
        ),
        &["dir/bad.csv:2:7:", "field `volume`"],
    );
    err_has(
        parse("date,open,high,low,close\n2024-01-02,1,1,,1\n"),
        &[
            "dir/bad.csv:2:4:",
            "field `low`",
            "empty; expected a number",
        ],
    );
    err_has(
        parse("date,open,high,low,close,adj_close,volume,dividends\n2024-01-02,1,1,1,1,1,-5,0\n"),
        &["dir/bad.csv:2:7:", "field `volume`", "negative volume"],
    );
}

#[test]
fn nan_and_infinities_are_rejected_as_non_finite() {
    for bad in [
        "nan",
        "NaN",
        "inf",
        "-inf",
        "infinity",
        "+Infinity",
        "1e400",
    ] {
        let text = format!("date,value\n2024-01-02,{bad}\n");
        err_has(
            parse(&text),
            &["dir/bad.csv:2:2:", "field `value`", "not a finite number"],
        );
        let text = format!("ts,open,high,low,close,volume\n2024-01-02T10:00:00Z,1,1,1,1,{bad}\n");
        err_has(
            parse(&text),
            &["dir/bad.csv:2:6:", "field `volume`", "not a finite number"],
        );
    }
}

#[test]
fn wrong_field_counts_are_rejected() {
    let e = err_has(
        parse("date,value\n2024-01-02,1\n2024-01-03,1,2\n"),
        &["dir/bad.csv:3:", "expected 2 fields (date,value), found 3"],
    );
    assert!(matches!(e, CsvError::FieldCount { line: 3, .. }));
    err_has(
        parse("date,open,high,low,close\n2024-01-02,1,1,1\n"),
        &["dir/bad.csv:2:", "expected 5 fields", "found 4"],
    );
}

#[test]
fn empty_and_header_only_files() {
    err_has(parse(""), &["dir/bad.csv:1:", "empty file", "expected"]);
    err_has(parse("\n\n"), &["dir/bad.csv:1:", "empty file"]);
    let pf = parse("date,open,high,low,close,adj_close,volume,dividends\n").unwrap();
    assert_eq!(pf.layout, Layout::DailyOhlcv);
    assert!(pf.rows.is_empty());
    let batch = pf.into_batch().unwrap();
    assert!(batch.bars.is_empty());
    assert_eq!(batch.instrument.symbol.as_str(), "bad");
    let pf = parse("ts,open,high,low,close,volume").unwrap();
    assert!(pf.rows.is_empty());
}

#[test]
fn binary_input_is_rejected() {
    let e = err_has(
        parse_bytes(b"date,value\n2024-01-02,1\x00\x00\n"),
        &["dir/bad.csv:2:2:", "binary data", "NUL byte"],
    );
    assert!(matches!(
        e,
        CsvError::Binary {
            line: 2,
            column: 2,
            ..
        }
    ));
    err_has(
        parse_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
        &["dir/bad.csv:1:1:", "binary data", "invalid UTF-8"],
    );
    err_has(
        parse_bytes(b"date,value\n2024-01-02,\xff\xfe\n"),
        &["dir/bad.csv:2:2:", "invalid UTF-8"],
    );
}

#[test]
fn duplicates_and_disorder_are_kept_by_parse_and_refused_by_into_batch() {
    let text = "date,value\n2024-01-02,1\n2024-01-03,2\n2024-01-03,3\n";
    let pf = parse(text).unwrap();
    assert_eq!(pf.rows.len(), 3);
    let ts: Timestamp = "2024-01-03T00:00:00Z".parse().unwrap();
    assert_eq!(
        pf.order_issues(),
        vec![OrderIssue::Duplicate {
            ts,
            first_line: 3,
            second_line: 4
        }]
    );
    let e = pf.into_batch().unwrap_err();
    assert!(
        e.to_string()
            .contains("dir/bad.csv: lines 3 and 4: duplicate timestamp 2024-01-03T00:00:00Z"),
        "{e}"
    );

    let text = "date,value\n2024-01-02,1\n2024-01-04,2\n2024-01-03,3\n";
    let pf = parse(text).unwrap();
    assert_eq!(pf.rows.len(), 3);
    assert_eq!(pf.order_issues().len(), 1);
    let e = pf.into_batch().unwrap_err().to_string();
    assert!(
        e.contains("line 4 (2024-01-03T00:00:00Z) is out of order: earlier than line 3 (2024-01-04T00:00:00Z)"),
        "{e}"
    );
    // A duplicate that is not adjacent is still named with both lines.
    let pf = parse("date,value\n2024-01-02,1\n2024-01-03,2\n2024-01-02,3\n").unwrap();
    assert!(matches!(
        pf.order_issues()[0],
        OrderIssue::Duplicate {
            first_line: 2,
            second_line: 4,
            ..
        }
    ));
    // Splits: same symbol and date twice.
    let pf = parse("date,symbol,ratio\n2020-08-31,TSLA,5\n2020-08-31,TSLA,5\n").unwrap();
    let e = pf.into_batch().unwrap_err().to_string();
    assert!(e.contains("lines 2 and 3"), "{e}");
}

#[test]
fn dividends_negative_zero_empty_and_exact() {
    let head = "date,open,high,low,close,adj_close,volume,dividends\n";
    err_has(
        parse(&format!("{head}2024-01-02,1,1,1,1,1,10,-0.25\n")),
        &["dir/bad.csv:2:8:", "field `dividends`", "negative dividend"],
    );
    err_has(
        parse(&format!("{head}2024-01-02,1,1,1,1,1,10,nan\n")),
        &["dir/bad.csv:2:8:", "field `dividends`"],
    );
    let pf = parse(&format!(
        "{head}2024-01-02,1,1,1,1,1,10,0\n2024-01-03,1,1,1,1,1,10,\n2024-01-04,1,1,1,1,1,10,0.0\n2024-01-05,1,1,1,1,,,0.10000000000000001\n"
    ))
    .unwrap();
    assert_eq!(pf.actions.len(), 1);
    let (line, a) = &pf.actions[0];
    assert_eq!(*line, 5);
    assert_eq!(a.value().to_string(), "0.10000000000000001");
    assert_eq!(a.symbol.as_str(), "bad");
    assert_eq!(pf.rows[3].bar.adj_close, None);
    assert_eq!(pf.rows[3].bar.volume, None);
}

#[test]
fn yahoo_null_rows_are_skipped_and_counted() {
    let text = "Date,Open,High,Low,Close,Adj Close,Volume\n\
                2020-01-02,1,2,0.5,1.5,1.4,100\n\
                2020-01-03,null,null,null,null,null,null\n\
                2020-01-06,1,2,0.5,1.5,1.4,100\n";
    let pf = parse(text).unwrap();
    assert_eq!(pf.rows.len(), 2);
    assert_eq!(pf.skipped_null_rows, 1);
    assert_eq!(pf.rows[1].line, 4);
    err_has(
        parse("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-03,1,null,1,1,1,1\n"),
        &["dir/bad.csv:2:3:", "field `high`", "null"],
    );
}

#[test]
fn timeframes_are_inferred_from_spacing_or_given() {
    let rows = |step: i64, n: i64| {
        let mut s = String::from("ts,open,high,low,close,volume\n");
        for i in 0..n {
            let ts =
                Timestamp::from_second(1_700_000_000 - 1_700_000_000 % 3600 + i * step).unwrap();
            s.push_str(&format!("{ts},1,1,1,1,1\n"));
        }
        s
    };
    assert_eq!(parse(&rows(60, 5)).unwrap().timeframe, Timeframe::M1);
    assert_eq!(parse(&rows(900, 5)).unwrap().timeframe, Timeframe::M15);
    assert_eq!(parse(&rows(3600, 5)).unwrap().timeframe, Timeframe::H1);
    err_has(
        parse(&rows(120, 5)),
        &[
            "dir/bad.csv:",
            "smallest spacing between rows is 120 s (lines 2 and 3)",
        ],
    );
    let given = ImportOptions {
        timeframe: Some(Timeframe::H1),
        ..ImportOptions::default()
    };
    // A given timeframe must match the spacing (issue #12: 1h on rows minutes apart).
    let e = parse_reader("x.csv", rows(120, 5).as_bytes(), &given).unwrap_err();
    assert!(e.to_string().contains("x.csv: "), "{e}");
    assert!(
        e.to_string().contains("lines 2 and 3 are 120 s apart"),
        "{e}"
    );
    let pf = parse_reader("x.csv", rows(7200, 5).as_bytes(), &given).unwrap();
    assert_eq!(pf.timeframe, Timeframe::H1);
    // Daily spacing is not guessed for a `ts` file; given as 1d, timestamps must be midnights.
    err_has(
        parse(&rows(86_400, 3)),
        &["spacing between rows is 86400 s"],
    );
    let d1 = ImportOptions {
        timeframe: Some(Timeframe::D1),
        ..ImportOptions::default()
    };
    let e = parse_reader("x.csv", rows(86_400, 3).as_bytes(), &d1).unwrap_err();
    assert!(
        e.to_string()
            .contains("x.csv:2:1: field `ts`: timeframe 1d needs"),
        "{e}"
    );
    let midnights = "ts,open,high,low,close,volume\n2024-01-02T00:00:00Z,1,1,1,1,\n2024-01-03T00:00:00Z,1,1,1,1,\n";
    let pf = parse_reader("x.csv", midnights.as_bytes(), &d1).unwrap();
    assert_eq!(pf.timeframe, Timeframe::D1);
    assert_eq!(pf.rows[1].bar.volume, None);
    // Daily layouts are daily.
    let m1 = ImportOptions {
        timeframe: Some(Timeframe::M1),
        ..ImportOptions::default()
    };
    let e = parse_reader("x.csv", "date,value\n2024-01-02,1\n".as_bytes(), &m1).unwrap_err();
    assert!(
        e.to_string()
            .contains("x.csv: the daily-value layout holds daily bars"),
        "{e}"
    );
}

#[test]
fn symbols_come_from_the_file_stem_or_the_options() {
    let pf = parse_reader(
        "a/000660.KS.csv",
        "date,value\n".as_bytes(),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(pf.symbol.unwrap().as_str(), "000660.KS");
    let o = ImportOptions {
        symbol: Some(Symbol::try_new("^VIX").unwrap()),
        ..ImportOptions::default()
    };
    let pf = parse_reader("vix data.csv", "date,value\n2024-01-02,1\n".as_bytes(), &o).unwrap();
    assert_eq!(pf.into_batch().unwrap().instrument.symbol.as_str(), "^VIX");
    // A stem that is not a symbol: parse works (a checker can read it), conversion says why.
    let pf = parse_reader(
        "my data.csv",
        "date,value\n2024-01-02,1\n".as_bytes(),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(pf.symbol, None);
    let e = pf.into_batch().unwrap_err().to_string();
    assert!(e.contains("my data.csv: no symbol"), "{e}");
}

#[test]
fn bad_split_rows() {
    err_has(
        parse("date,symbol,ratio\n2020-08-31,TSLA,0\n"),
        &["dir/bad.csv:2:3:", "field `ratio`", "must be positive"],
    );
    err_has(
        parse("date,symbol,ratio\n2020-08-31,TS LA,5\n"),
        &["dir/bad.csv:2:2:", "field `symbol`"],
    );
    let pf = parse("date,symbol,ratio\n2020-08-31,TSLA,5\n2021-01-04,AAPL,4\n").unwrap();
    assert_eq!(pf.clone().into_batches().unwrap().len(), 2);
    assert!(
        pf.into_batch()
            .unwrap_err()
            .to_string()
            .contains("2 symbols")
    );
}

#[test]
fn export_refuses_daily_bars_off_midnight_and_streams_in_chunks() {
    let ts: Timestamp = "2024-01-02T14:30:00Z".parse().unwrap();
    let e = write_series_csv(
        Vec::new(),
        Timeframe::D1,
        [Bar::from_value(ts, 1.0, None)],
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("not at 00:00:00Z"), "{e}");

    let pf = data_csv::parse_path(
        &pulse_testkit::shared_file("intraday-1m/ETHUSDT.csv"),
        &ImportOptions::default(),
    )
    .unwrap();
    let bars: Vec<Bar> = pf.rows.iter().map(|r| r.bar).collect();
    let mut whole = Vec::new();
    write_series_csv(&mut whole, Timeframe::M1, &bars, &[]).unwrap();
    let mut w = data_csv::SeriesCsvWriter::new(Vec::new(), Timeframe::M1).unwrap();
    for chunk in bars.chunks(997) {
        w.write_bars(chunk).unwrap();
    }
    let chunked = w.finish().unwrap();
    assert!(whole == chunked);
    assert!(whole.starts_with(b"ts,open,high,low,close,volume\n2025-05-30T16:39:00Z,"));
}
