#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Inputs found by `cargo fuzz run csv_parse` (fuzz/), kept as regression tests. Each file under
//! tests/fuzz_regressions/ goes through the same checks as the fuzz target; some also have
//! specific expectations below.

use data_csv::{ImportOptions, Layout, parse_reader, write_series_csv, write_splits_csv};
use pulse_core::ports::ImportBatch;

fn export(layout: Layout, batch: &ImportBatch) -> Vec<u8> {
    let mut out = Vec::new();
    if layout == Layout::Splits {
        write_splits_csv(&mut out, &batch.actions).unwrap();
    } else {
        write_series_csv(&mut out, batch.timeframe, &batch.bars, &batch.actions).unwrap();
    }
    out
}

/// The fuzz target's properties: data rows are on line ≥ 2 and finite; strict conversion
/// exports, re-imports to the same bars and actions, and re-exports to the same bytes.
fn fuzz_properties(data: &[u8]) {
    let opts = ImportOptions {
        max_line_bytes: 4096,
        ..ImportOptions::default()
    };
    let Ok(parsed) = parse_reader("fuzz.csv", data, &opts) else {
        return;
    };
    for row in &parsed.rows {
        assert!(row.line >= 2, "a data row on line {}", row.line);
        row.bar.validate_finite().unwrap();
    }
    let layout = parsed.layout;
    let Ok(batches) = parsed.into_batches() else {
        return;
    };
    for batch in batches {
        let first = export(layout, &batch);
        let mut again = parse_reader("fuzz.csv", first.as_slice(), &ImportOptions::default())
            .unwrap()
            .into_batches()
            .unwrap();
        assert_eq!(again.len(), 1);
        let again = again.remove(0);
        assert_eq!(again.bars, batch.bars);
        assert_eq!(again.actions, batch.actions);
        assert!(first == export(layout, &again));
    }
}

fn regression(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz_regressions")
            .join(name),
    )
    .unwrap()
}

#[test]
fn every_saved_input_keeps_the_fuzz_properties() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        fuzz_properties(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn lone_cr_ends_a_line_for_line_numbers() {
    // Found by the fuzzer: a header ended by a lone CR put the first data row on "line 1".
    let data = regression("cr_line_ending_null_row.csv");
    let pf = parse_reader("fuzz.csv", data.as_slice(), &ImportOptions::default()).unwrap();
    assert_eq!(pf.layout, Layout::Yahoo);
    assert_eq!(pf.rows.len(), 1);
    assert_eq!(pf.rows[0].line, 2);
    assert_eq!(pf.skipped_null_rows, 1);
    // Old-Mac CR-only files: lines are counted like CRLF and LF files.
    let e = parse_reader(
        "m.csv",
        "date,value\r2024-01-02,1\r\r2024-01-03,x\r".as_bytes(),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("m.csv:4:2:"), "{e}");
    let e = parse_reader(
        "m.csv",
        "date,value\r\n2024-01-02,1\r\r\n2024-01-03,x\n".as_bytes(),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("m.csv:4:2:"), "{e}");
}
