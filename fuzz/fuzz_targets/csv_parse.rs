//! Fuzzes `data_csv::parse_reader` with arbitrary bytes. Beyond "never panics", it checks the
//! crate's promises on whatever parses: bars are finite and strictly convertible data exports
//! and re-imports to the same bars and the same bytes.
#![no_main]

use data_csv::{ImportOptions, Layout, parse_reader, write_series_csv, write_splits_csv};
use libfuzzer_sys::fuzz_target;

fn export(layout: Layout, batch: &pulse_core::ports::ImportBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let r = if layout == Layout::Splits {
        write_splits_csv(&mut out, &batch.actions)
    } else {
        write_series_csv(&mut out, batch.timeframe, &batch.bars, &batch.actions)
    };
    assert!(r.is_ok(), "export failed: {r:?}");
    out
}

fuzz_target!(|data: &[u8]| {
    let opts = ImportOptions {
        max_line_bytes: 4096,
        ..ImportOptions::default()
    };
    let Ok(parsed) = parse_reader("fuzz.csv", data, &opts) else {
        return;
    };
    for row in &parsed.rows {
        assert!(row.line >= 2, "a data row on line {}", row.line);
        assert!(row.bar.validate_finite().is_ok(), "{:?}", row.bar);
    }
    let _ = parsed.order_issues();
    let layout = parsed.layout;
    let Ok(batches) = parsed.into_batches() else {
        return;
    };
    for batch in batches {
        let first = export(layout, &batch);
        let again = match parse_reader("fuzz.csv", first.as_slice(), &ImportOptions::default()) {
            Ok(p) => p,
            Err(e) => panic!("re-import of an export failed: {e}\n{}", String::from_utf8_lossy(&first)),
        };
        let again = match again.into_batches() {
            Ok(mut b) if b.len() == 1 => b.remove(0),
            other => panic!("re-import is not one batch: {other:?}"),
        };
        assert_eq!(again.bars, batch.bars);
        assert_eq!(again.actions, batch.actions);
        let second = export(layout, &again);
        assert!(first == second, "export → import → export differs");
    }
});
