//! End-to-end tests of `pulse data import-sectors` and `pulse data sectors` through the real
//! binary and real SQLite files, with the shipped `data/sectors.csv`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::Value;
use std::path::PathBuf;

mod common;
use common::{ok_json, pulse_db as pulse, pulse_home};

fn shipped() -> PathBuf {
    pulse_testkit::workspace_root()
        .join("data")
        .join("sectors.csv")
}

/// The shipped file's data rows, read independently of the parser (symbol first; quoted
/// industries may hold commas but never start a line).
fn shipped_symbols() -> Vec<String> {
    let text = std::fs::read_to_string(shipped()).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

fn row<'a>(list: &'a Value, symbol: &str) -> &'a Value {
    list["sectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["symbol"] == symbol)
        .unwrap_or_else(|| panic!("{symbol} not listed"))
}

#[test]
fn imports_the_shipped_file_lists_it_and_reimporting_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let file = shipped();
    let file = file.to_str().unwrap();
    let symbols = shipped_symbols();

    let first = ok_json(pulse(&db, &["--json", "data", "import-sectors", file]));
    assert_eq!(first["rows"], symbols.len());
    assert_eq!(first["written"], symbols.len());
    assert_eq!(first["unchanged"], 0);
    let again = ok_json(pulse(&db, &["data", "import-sectors", file, "--json"]));
    assert_eq!(again["written"], 0);
    assert_eq!(again["unchanged"], symbols.len());

    let list = ok_json(pulse(&db, &["data", "sectors", "--json"]));
    let listed: Vec<&str> = list["sectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["symbol"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = symbols.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(listed, expected, "every row, by symbol");
    assert_eq!(
        list["unclassified"],
        serde_json::json!([]),
        "no bars stored"
    );
    let aapl = row(&list, "AAPL");
    assert_eq!(aapl["sector"], "Information Technology");
    assert_eq!(
        aapl["industry"],
        "Technology Hardware, Storage & Peripherals"
    );
    assert_eq!(aapl["market_cap"], 3_729_823_629_312.0);
    assert!(
        aapl["source"]
            .as_str()
            .unwrap()
            .contains("sp500_constituents_gics_2026-08-08.csv")
    );
    let tlt = row(&list, "TLT");
    assert_eq!(tlt["sector"], "ETF: US Treasuries");
    assert_eq!(tlt["market_cap"], Value::Null);
    assert_eq!(row(&list, "BTCUSDT")["sector"], "Crypto");

    // The text table: a header and one line per row.
    let out = pulse(&db, &["data", "sectors"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    for column in ["symbol", "sector", "industry", "market cap (USD)", "source"] {
        assert!(header.contains(column), "{header}");
    }
    assert_eq!(lines.count(), symbols.len());
    assert!(
        text.lines()
            .any(|l| l.starts_with("AAPL ") && l.contains("3.73T")),
        "{text}"
    );
}

#[test]
fn a_bad_file_writes_nothing_and_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let bad = dir.path().join("sectors.csv");
    std::fs::write(
        &bad,
        "symbol,sector,industry,market_cap,source\n\
         AAPL,Information Technology,,1e12,\n\
         MSFT,Information Technology,,2e12,\n\
         TSLA,Consumer Discretionary,,abc,\n\
         AAPL,Utilities,,,\n",
    )
    .unwrap();
    let out = pulse(&db, &["data", "import-sectors", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let name = bad.display();
    assert!(
        err.contains(&format!(
            "{name} line 4, column market_cap: \"abc\" is not a number"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{name} line 5: symbol AAPL is also on line 2")),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    let list = ok_json(pulse(&db, &["--json", "data", "sectors"]));
    assert_eq!(list["sectors"], serde_json::json!([]), "nothing written");

    // A missing file is a runtime error; a missing argument a usage error.
    let missing = dir.path().join("missing.csv");
    let out = pulse(&db, &["data", "import-sectors", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
    let out = pulse(&db, &["data", "import-sectors"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stored_symbols_without_a_sector_are_reported_as_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let files: Vec<String> = [
        "daily-ohlcv/TSLA.csv",
        "daily-ohlcv/VIX.csv",
        "daily-ohlcv/005930.KS.csv",
    ]
    .iter()
    .map(|f| pulse_testkit::shared_file(f).display().to_string())
    .collect();
    let mut args = vec!["-q", "data", "import"];
    args.extend(files.iter().map(String::as_str));
    assert!(pulse(&db, &args).status.success());
    let file = shipped();
    ok_json(pulse(
        &db,
        &["--json", "data", "import-sectors", file.to_str().unwrap()],
    ));
    let list = ok_json(pulse(&db, &["--json", "data", "sectors"]));
    // VIX is an index (never held), TSLA is classified, the Korean stock is not.
    assert_eq!(list["unclassified"], serde_json::json!(["005930.KS"]));
    let out = pulse(&db, &["data", "sectors"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "No sector for 1 stored symbol(s), each counted as its own sector: 005930.KS"
        ),
        "{text}"
    );
}

#[test]
fn seeding_stores_the_sectors_of_the_bundled_symbols() {
    // `pulse data seed` on any database.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let seeded = ok_json(pulse(&db, &["--json", "data", "seed"]));
    assert_eq!(seeded["sectors"]["rows"], 2);
    assert!(seeded["bars_inserted"].as_u64().unwrap() > 0);
    let list = ok_json(pulse(&db, &["--json", "data", "sectors"]));
    let symbols: Vec<&str> = list["sectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["TSLA", "TSLL"]);
    assert_eq!(list["unclassified"], serde_json::json!([]));
    assert_eq!(row(&list, "TSLA")["sector"], "Consumer Discretionary");
    assert_eq!(row(&list, "TSLL")["sector"], "ETF: leveraged single stock");

    // The first run of the default database seeds them too.
    let home = tempfile::tempdir().unwrap();
    let list = ok_json(pulse_home(home.path(), &["data", "sectors", "--json"]));
    assert_eq!(list["sectors"].as_array().unwrap().len(), 2);
    assert_eq!(list["unclassified"], serde_json::json!([]));
}
