//! End-to-end tests of `pulse data …` on the real shared data, through the real binary and real
//! SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_testkit::shared_file;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

mod common;
use common::{isolated, ok_json, pulse_db as pulse, pulse_home};

/// (rows, first date, last date) of a shared CSV file, read independently of the importer.
fn file_extent(path: &Path) -> (u64, String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).filter(|l| !l.is_empty()).collect();
    let first = rows.first().unwrap().split(',').next().unwrap().to_string();
    let last = rows.last().unwrap().split(',').next().unwrap().to_string();
    (rows.len() as u64, first, last)
}

fn series<'a>(list: &'a Value, symbol: &str, tf: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["symbol"] == symbol && s["timeframe"] == tf)
        .unwrap_or_else(|| panic!("{symbol} {tf} not listed in {list}"))
}

#[test]
fn first_run_seeds_the_default_database_from_the_bundle() {
    let home = tempfile::tempdir().unwrap();
    let out = pulse_home(home.path(), &["data", "list", "--json"]);
    let list = ok_json(out);
    let bundle = pulse_testkit::bundle_dir();
    for sym in ["TSLA", "TSLL", "VIX", "FEAR_GREED"] {
        let (rows, first, last) = file_extent(&bundle.join(format!("{sym}.csv")));
        let s = series(&list, sym, "1d");
        assert_eq!(s["rows"], rows, "{sym}");
        assert_eq!(s["first"], first.as_str(), "{sym}");
        assert_eq!(s["last"], last.as_str(), "{sym}");
    }
    assert!(home.path().join("pulse").join("pulse.db").is_file());
}

#[test]
fn imports_every_daily_file_with_exact_counts_and_reimport_changes_nothing() {
    for folder in ["daily-ohlcv", "daily-adjclose", "daily-index"] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let src = shared_file(folder);
        let summary = ok_json(pulse(
            &db,
            &["--json", "data", "import", src.to_str().unwrap()],
        ));
        assert!(summary["bars_inserted"].as_u64().unwrap() > 0);
        let list = ok_json(pulse(&db, &["--json", "data", "list"]));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in &files {
            let sym = f.file_stem().unwrap().to_str().unwrap();
            let (rows, first, last) = file_extent(f);
            let s = series(&list, sym, "1d");
            assert_eq!(s["rows"], rows, "{folder}/{sym}");
            assert_eq!(s["first"], first.as_str(), "{folder}/{sym}");
            assert_eq!(s["last"], last.as_str(), "{folder}/{sym}");
        }
        let again = ok_json(pulse(
            &db,
            &["--json", "data", "import", src.to_str().unwrap()],
        ));
        assert_eq!(again["bars_inserted"], 0, "{folder}");
        assert_eq!(again["bars_updated"], 0, "{folder}");
        assert_eq!(again["actions_updated"], 0, "{folder}");
        assert_eq!(
            again["bars_unchanged"], summary["bars_inserted"],
            "{folder}"
        );
    }
}

#[test]
fn imports_intraday_files_and_checks_first_and_last_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let btc = shared_file("intraday-1m/BTCUSDT.csv");
    ok_json(pulse(
        &db,
        &["--json", "data", "import", btc.to_str().unwrap()],
    ));
    let tsla = shared_file("intraday-1m/TSLA.csv");
    ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "import",
            "--bar-label",
            "end",
            "--symbol",
            "TSLA",
            tsla.to_str().unwrap(),
        ],
    ));
    let list = ok_json(pulse(&db, &["--json", "data", "list"]));
    let s = series(&list, "BTCUSDT", "1m");
    assert_eq!(s["rows"], 43_200);
    assert_eq!(s["first"], "2025-05-30T16:39:00Z");
    assert_eq!(s["last"], "2025-06-29T16:38:00Z");
    // End-of-minute labels shifted to bar starts: 14:31Z → 14:30Z.
    let s = series(&list, "TSLA", "1m");
    assert_eq!(s["rows"], 1946);
    assert_eq!(s["first"], "2019-02-11T14:30:00Z");
    assert_eq!(s["last"], "2019-02-15T20:59:00Z");
    // Values: first and last bars equal the file's rows.
    let text = std::fs::read_to_string(&btc).unwrap();
    let first: Vec<f64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    let shown = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "show",
            "BTCUSDT",
            "--timeframe",
            "1m",
            "--limit",
            "1",
        ],
    ));
    let bar = &shown[0];
    assert_eq!(bar["open"].as_f64().unwrap(), first[0]);
    assert_eq!(bar["high"].as_f64().unwrap(), first[1]);
    assert_eq!(bar["low"].as_f64().unwrap(), first[2]);
    assert_eq!(bar["close"].as_f64().unwrap(), first[3]);
    assert_eq!(bar["volume"].as_f64().unwrap(), first[4]);
    let last: Vec<f64> = text
        .lines()
        .last()
        .unwrap()
        .split(',')
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    let shown = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "show",
            "BTCUSDT",
            "--timeframe",
            "1m",
            "--limit",
            "1",
            "--tail",
        ],
    ));
    assert_eq!(shown[0]["close"].as_f64().unwrap(), last[3]);
}

#[test]
fn resampling_minutes_to_days_matches_hand_computed_bars() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let tsla = shared_file("intraday-1m/TSLA.csv");
    ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "import",
            "--bar-label",
            "end",
            tsla.to_str().unwrap(),
        ],
    ));
    let out = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "resample",
            "--to",
            "1d",
            "--symbols",
            "TSLA",
        ],
    ));
    assert_eq!(out["series"][0]["bars_out"], 5);
    assert_eq!(out["series"][0]["outside_session"], 0);
    // Hand computation from the raw file: every minute labelled 2019-02-15T14:31Z..21:00Z.
    let text = std::fs::read_to_string(&tsla).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[0].starts_with("2019-02-15"))
        .collect();
    let f = |r: &Vec<&str>, i: usize| r[i].parse::<f64>().unwrap();
    let open = f(&rows[0], 1);
    let high = rows.iter().map(|r| f(r, 2)).fold(f64::MIN, f64::max);
    let low = rows.iter().map(|r| f(r, 3)).fold(f64::MAX, f64::min);
    let close = f(rows.last().unwrap(), 4);
    let volume: f64 = rows.iter().map(|r| f(r, 5)).sum();
    let shown = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "show",
            "TSLA",
            "--from",
            "2019-02-15",
            "--to",
            "2019-02-15",
        ],
    ));
    let bar = &shown[0];
    assert_eq!(bar["ts"], "2019-02-15");
    assert_eq!(bar["open"].as_f64().unwrap(), open);
    assert_eq!(bar["high"].as_f64().unwrap(), high);
    assert_eq!(bar["low"].as_f64().unwrap(), low);
    assert_eq!(bar["close"].as_f64().unwrap(), close);
    assert_eq!(bar["volume"].as_f64().unwrap(), volume);
}

#[test]
fn export_then_import_round_trips_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    for p in [
        "daily-ohlcv/TSLA.csv",
        "daily-ohlcv/TSLL.csv",
        "daily-ohlcv/VIX.csv",
        "daily-index/FEAR_GREED.csv",
        "intraday-1m/ETHUSDT.csv",
    ] {
        ok_json(pulse(
            &db,
            &["--json", "data", "import", shared_file(p).to_str().unwrap()],
        ));
    }
    let splits = pulse_testkit::bundle_dir().join("SPLITS.csv");
    ok_json(pulse(
        &db,
        &["--json", "data", "import", splits.to_str().unwrap()],
    ));
    let out_a = dir.path().join("export-a");
    ok_json(pulse(
        &db,
        &["--json", "data", "export", "--out", out_a.to_str().unwrap()],
    ));
    let db_b = dir.path().join("b.db");
    for sub in ["1d", "1m"] {
        ok_json(pulse(
            &db_b,
            &[
                "--json",
                "data",
                "import",
                out_a.join(sub).to_str().unwrap(),
            ],
        ));
    }
    let out_b = dir.path().join("export-b");
    ok_json(pulse(
        &db_b,
        &["--json", "data", "export", "--out", out_b.to_str().unwrap()],
    ));
    let mut compared = 0;
    for sub in ["1d", "1m"] {
        for e in std::fs::read_dir(out_a.join(sub)).unwrap() {
            let a = e.unwrap().path();
            let b = out_b.join(sub).join(a.file_name().unwrap());
            assert_eq!(
                std::fs::read(&a).unwrap(),
                std::fs::read(&b).unwrap(),
                "{}",
                a.display()
            );
            compared += 1;
        }
    }
    assert_eq!(
        compared, 6,
        "TSLA, TSLL, VIX, FEAR_GREED, SPLITS daily + ETHUSDT 1m"
    );
    // Parquet export writes a file per series too.
    let pq = dir.path().join("pq");
    ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "export",
            "--format",
            "parquet",
            "--out",
            pq.to_str().unwrap(),
            "--symbols",
            "TSLL",
        ],
    ));
    assert!(pq.join("1d").join("TSLL.parquet").metadata().unwrap().len() > 1000);
}

#[test]
fn bad_files_name_the_place_exit_1_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "import",
            shared_file("daily-ohlcv/TSLL.csv").to_str().unwrap(),
        ],
    ));
    let before = ok_json(pulse(&db, &["--json", "data", "list"]));
    let good = dir.path().join("GOOD.csv");
    std::fs::copy(shared_file("daily-ohlcv/SPY.csv"), &good).unwrap();
    let bad = dir.path().join("BAD.csv");
    std::fs::write(&bad, "date,open,high,low,close,adj_close,volume,dividends\n2024-01-02,1,2,0.5,1.5,1.5,100,0\n2024-01-03,1,two,0.5,1.5,1.5,100,0\n").unwrap();
    let out = pulse(
        &db,
        &[
            "data",
            "import",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BAD.csv") && err.contains(":3:"), "{err}");
    assert!(err.contains("high"), "{err}");
    let after = ok_json(pulse(&db, &["--json", "data", "list"]));
    assert_eq!(before, after, "a failed import must write nothing");
    // Empty and binary files.
    let empty = dir.path().join("EMPTY.csv");
    std::fs::write(&empty, "").unwrap();
    let out = pulse(&db, &["data", "import", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("EMPTY.csv"));
    let binary = dir.path().join("BIN.csv");
    std::fs::write(&binary, [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    let out = pulse(&db, &["data", "import", binary.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(ok_json(pulse(&db, &["--json", "data", "list"])), before);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    assert_eq!(pulse(&db, &["data", "frobnicate"]).status.code(), Some(2));
    assert_eq!(
        pulse(&db, &["data", "resample", "--to", "2m"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        pulse(&db, &["data", "show", "BAD SYMBOL"]).status.code(),
        Some(2)
    );
}

#[test]
fn quality_check_flags_the_tsla_split_ratios_stored_as_dividends() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "import",
            shared_file("daily-ohlcv/TSLA.csv").to_str().unwrap(),
        ],
    ));
    ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "import",
            shared_file("daily-ohlcv/TSLL.csv").to_str().unwrap(),
        ],
    ));
    let reports = ok_json(pulse(&db, &["--json", "data", "check"]));
    let tsla = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["symbol"] == "TSLA")
        .unwrap();
    let flagged: Vec<&str> = tsla["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "dividend_without_adjustment")
        .map(|f| f["ts"].as_str().unwrap())
        .collect();
    assert_eq!(
        flagged,
        vec!["2020-08-31T00:00:00Z", "2022-08-25T00:00:00Z"]
    );
    // TSLL's real distributions all move its adjusted close: nothing to report.
    let tsll = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["symbol"] == "TSLL")
        .unwrap();
    assert_eq!(tsll["findings"].as_array().unwrap().len(), 0, "{tsll}");
    // The same check straight on the file, and on VIX's known anomalies (holiday rows, bad OHLC).
    let file = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "check",
            shared_file("daily-ohlcv/VIX.csv").to_str().unwrap(),
        ],
    ));
    let kinds: Vec<&str> = file[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"outside_session"));
    assert!(kinds.contains(&"high_below_open_close") || kinds.contains(&"low_above_open_close"));
}

/// A one-shot HTTP server on 127.0.0.1 answering every request with `status` and `body`.
fn serve(status: u16, body: String, requests: usize) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        for _ in 0..requests {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (format!("http://{addr}"), handle)
}

#[test]
fn fetch_from_a_yahoo_shaped_server_and_report_offline_clearly() {
    // Build a Yahoo chart body from the real TSLL rows of September 2025.
    let text = std::fs::read_to_string(shared_file("daily-ohlcv/TSLL.csv")).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("2025-09"))
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let ts: Vec<i64> = rows
        .iter()
        .map(|r| {
            let d: jiff::civil::Date = r[0].parse().unwrap();
            d.at(9, 30, 0, 0)
                .in_tz("America/New_York")
                .unwrap()
                .timestamp()
                .as_second()
        })
        .collect();
    let col = |i: usize| {
        rows.iter()
            .map(|r| r[i].clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let body = format!(
        r#"{{"chart":{{"result":[{{"meta":{{"currency":"USD","symbol":"TSLL","exchangeName":"NMS","instrumentType":"ETF","exchangeTimezoneName":"America/New_York","gmtoffset":-14400}},"timestamp":[{}],"indicators":{{"quote":[{{"open":[{}],"high":[{}],"low":[{}],"close":[{}],"volume":[{}]}}],"adjclose":[{{"adjclose":[{}]}}]}}}}],"error":null}}}}"#,
        ts.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(","),
        col(1),
        col(2),
        col(3),
        col(4),
        col(6),
        col(5)
    );
    let (url, server) = serve(200, body, 1);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let out = isolated(dir.path())
        .args([
            "--db",
            db.to_str().unwrap(),
            "--json",
            "data",
            "fetch",
            "--symbols",
            "TSLL",
            "--from",
            "2025-09-01",
            "--to",
            "2025-09-30",
        ])
        .env("PULSE_YAHOO_BASE_URL", &url)
        .output()
        .unwrap();
    let summary = ok_json(out);
    server.join().unwrap();
    assert_eq!(summary["bars_inserted"], rows.len());
    let shown = ok_json(pulse(&db, &["--json", "data", "show", "TSLL"]));
    assert_eq!(shown.as_array().unwrap().len(), rows.len());
    assert_eq!(shown[0]["ts"], rows[0][0].as_str());
    assert_eq!(
        shown[0]["close"].as_f64().unwrap(),
        rows[0][4].parse::<f64>().unwrap()
    );
    // Nothing listens on this port: the error says so and points at CSV import.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = dir.path().join("fast.toml");
    std::fs::write(
        &cfg,
        "[yahoo]\nmin_interval_ms = 1\nmax_retries = 1\ntimeout_secs = 2\n",
    )
    .unwrap();
    let out = isolated(dir.path())
        .args([
            "--db",
            db.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "data",
            "fetch",
            "--symbols",
            "TSLA",
            "--from",
            "2025-09-01",
            "--to",
            "2025-09-30",
        ])
        .env("PULSE_YAHOO_BASE_URL", format!("http://{closed}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach") && err.contains("pulse data import"),
        "{err}"
    );
}

/// Dates present in both shared files (their first column), read independently of the importer.
fn common_dates(a: &Path, b: &Path) -> u64 {
    let dates = |p: &Path| -> std::collections::HashSet<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next().map(str::to_string))
            .collect()
    };
    dates(a).intersection(&dates(b)).count() as u64
}

#[test]
fn importing_close_only_rows_keeps_stored_ohlcv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let ohlcv = shared_file("daily-ohlcv/SPY.csv");
    let adj = shared_file("daily-adjclose/SPY.csv");
    ok_json(pulse(
        &db,
        &["--json", "data", "import", ohlcv.to_str().unwrap()],
    ));
    let overlap = common_dates(&ohlcv, &adj);
    assert!(overlap > 1000, "{overlap}");
    let out = pulse(&db, &["data", "import", adj.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" 0 updated")
            && text.contains(&format!("{overlap} kept (stored row is fuller")),
        "{text}"
    );
    // The raw OHLCV row of 2020-01-03 is still the file's.
    let shown = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "show",
            "SPY",
            "--from",
            "2020-01-03",
            "--to",
            "2020-01-03",
        ],
    ));
    assert_eq!(shown[0]["open"].as_f64().unwrap(), 321.1600036621094);
    assert_eq!(shown[0]["close"].as_f64().unwrap(), 322.4100036621094);
    assert_eq!(shown[0]["volume"].as_f64().unwrap(), 77709700.0);
    // Only an explicit --replace writes the poorer rows.
    let replaced = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "import",
            "--replace",
            adj.to_str().unwrap(),
        ],
    ));
    assert_eq!(replaced["bars_updated"], overlap);
    assert_eq!(replaced["bars_kept"], 0);
}

#[test]
fn resampling_never_overwrites_stored_daily_bars_and_check_flags_the_jump() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let daily = shared_file("daily-ohlcv/TSLA.csv");
    let minutes = shared_file("intraday-1m/TSLA.csv");
    ok_json(pulse(
        &db,
        &["--json", "data", "import", daily.to_str().unwrap()],
    ));
    ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "import",
            "--bar-label",
            "end",
            minutes.to_str().unwrap(),
        ],
    ));
    let show = |db: &Path| {
        ok_json(pulse(
            db,
            &[
                "--json",
                "data",
                "show",
                "TSLA",
                "--from",
                "2019-02-15",
                "--to",
                "2019-02-15",
            ],
        ))
    };
    let before = show(&db);
    let out = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "resample",
            "--to",
            "1d",
            "--symbols",
            "TSLA",
        ],
    ));
    assert_eq!(out["import"]["bars_kept"], 5, "{out}");
    assert_eq!(out["import"]["bars_updated"], 0, "{out}");
    assert_eq!(show(&db), before);
    let text = pulse(
        &db,
        &["data", "resample", "--to", "1d", "--symbols", "TSLA"],
    );
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("5 kept (stored bar kept"),
        "{text:?}"
    );

    // Forced over the split-adjusted daily series, the raw pre-split minutes make a 15× spike,
    // which the check reports as price jumps (no split in February 2019).
    let forced = ok_json(pulse(
        &db,
        &[
            "--json",
            "data",
            "resample",
            "--to",
            "1d",
            "--symbols",
            "TSLA",
            "--replace",
        ],
    ));
    assert_eq!(forced["import"]["bars_updated"], 5, "{forced}");
    let reports = ok_json(pulse(
        &db,
        &["--json", "data", "check", "--symbols", "TSLA"],
    ));
    let daily = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["timeframe"] == "1d")
        .unwrap();
    let jumps: Vec<&str> = daily["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "price_jump")
        .map(|f| f["ts"].as_str().unwrap())
        .collect();
    assert_eq!(
        jumps,
        vec!["2019-02-11T00:00:00Z", "2019-02-19T00:00:00Z"],
        "{reports}"
    );
}

#[test]
fn check_strict_exits_1_on_findings_and_0_when_clean() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    for f in ["daily-ohlcv/TSLA.csv", "daily-ohlcv/TSLL.csv"] {
        ok_json(pulse(
            &db,
            &["--json", "data", "import", shared_file(f).to_str().unwrap()],
        ));
    }
    let clean = pulse(&db, &["data", "check", "--strict", "--symbols", "TSLL"]);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    // TSLA's split ratios stored as dividends are findings.
    let found = pulse(&db, &["data", "check", "--strict", "--symbols", "TSLA"]);
    assert_eq!(found.status.code(), Some(1), "{found:?}");
    assert!(String::from_utf8_lossy(&found.stdout).contains("dividend_without_adjustment"));
    assert!(
        String::from_utf8_lossy(&found.stderr).contains("finding(s) in 1 series"),
        "{found:?}"
    );
    let json = pulse(
        &db,
        &["--json", "data", "check", "--strict", "--symbols", "TSLA"],
    );
    assert_eq!(json.status.code(), Some(1));
    let printed: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(printed[0]["symbol"], "TSLA");
    // Without --strict the same findings exit 0.
    assert_eq!(
        pulse(&db, &["data", "check", "--symbols", "TSLA"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn imports_refuse_implausible_rows_and_a_timeframe_the_rows_contradict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let text = std::fs::read_to_string(shared_file("daily-ohlcv/SPY.csv")).unwrap();
    let line3 = text.lines().nth(2).unwrap();
    for (name, altered, fragments) in [
        (
            "NEG",
            line3.replacen("2020-01-03,321.16", "2020-01-03,-321.16", 1),
            vec![":3:2:", "open", "positive"],
        ),
        (
            "HL",
            line3.replacen(",323.6400146484375,", ",300,", 1),
            vec![":3:3:", "high", "below the low"],
        ),
        (
            "HUGE",
            line3.replacen(",322.4100036621094,", ",1e308,", 1),
            vec![":3:5:", "close", "plausible range"],
        ),
        (
            "YEAR1",
            line3.replacen("2020-01-03", "0001-01-03", 1),
            vec![":3:1:", "date", "year 1"],
        ),
    ] {
        assert_ne!(altered, line3, "{name}");
        let path = dir.path().join(format!("{name}.csv"));
        std::fs::write(&path, text.replacen(line3, &altered, 1)).unwrap();
        let out = pulse(&db, &["data", "import", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{name}.csv")), "{err}");
        for f in fragments {
            assert!(err.contains(f), "{name}: {err} lacks {f}");
        }
    }
    let minutes = shared_file("intraday-1m/SPY.csv");
    let out = pulse(
        &db,
        &[
            "data",
            "import",
            "--timeframe",
            "1h",
            minutes.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("intraday-1m/SPY.csv")
            && err.contains("timeframe 1h was given")
            && err.contains("60 s apart"),
        "{err}"
    );
    // Nothing was written by any of them.
    let list = ok_json(pulse(&db, &["--json", "data", "list"]));
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}

/// Runs `cmd`, failing the test if it has not finished within 60 s (a FIFO must never block).
fn output_within_a_minute(mut cmd: std::process::Command) -> std::process::Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(out) => out,
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .arg(id.to_string())
                .status();
            panic!("pulse hung on its input");
        }
    }
}

#[test]
fn a_fifo_or_a_device_given_as_import_file_is_named_as_such_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let fifo = dir.path().join("PIPE.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let fifo = fifo.to_str().unwrap();
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &["data", "import", "/dev/zero"],
            "/dev/zero",
            "character device",
        ),
        (&["data", "import", fifo], fifo, "FIFO"),
        (&["data", "check", fifo], fifo, "FIFO"),
        (&["ta", "--input", fifo, "-i", "sma:3"], fifo, "FIFO"),
    ];
    for (args, path, what) in cases {
        let mut cmd = isolated(dir.path());
        cmd.arg("--db").arg(&db).args(args);
        let out = output_within_a_minute(cmd);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(path) && err.contains(what) && err.contains("not a regular file"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("no such file"), "{err}");
    }
    let missing = dir.path().join("MISSING.csv");
    let out = pulse(&db, &["data", "import", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
}

#[test]
fn a_database_that_cannot_be_written_is_reported_as_read_only_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "x").unwrap();
    let db = file.join("p.db");
    let out = pulse(&db, &["data", "seed"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(db.to_str().unwrap())
            && err.contains("read-only / not writable")
            && err.contains("notes.txt is not a directory"),
        "{err}"
    );
    assert!(!err.contains("unable to open database file"), "{err}");
}

#[test]
fn fetched_bars_no_market_produces_are_refused_before_they_are_stored() {
    // A Yahoo chart body (its documented wire format) whose second bar has a high below its low.
    let body = r#"{"chart":{"result":[{"meta":{"currency":"USD","symbol":"TSLL","exchangeName":"NMS","instrumentType":"ETF","exchangeTimezoneName":"America/New_York","gmtoffset":-14400},"timestamp":[1756820400,1756906800,1756993200],"indicators":{"quote":[{"open":[10.0,10.2,10.4],"high":[10.5,9.0,10.9],"low":[9.8,10.1,10.2],"close":[10.1,10.3,10.6],"volume":[1000,1100,1200]}],"adjclose":[{"adjclose":[10.1,10.3,10.6]}]}}],"error":null}}"#;
    let (url, server) = serve(200, body.to_string(), 1);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let out = isolated(dir.path())
        .args([
            "--db",
            db.to_str().unwrap(),
            "data",
            "fetch",
            "--symbols",
            "TSLL",
        ])
        .args(["--from", "2025-09-01", "--to", "2025-09-30"])
        .env("PULSE_YAHOO_BASE_URL", &url)
        .output()
        .unwrap();
    server.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("yahoo:TSLL")
            && err.contains("2025-09-03")
            && err.contains("high 9 is below the low 10.1")
            && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(
        ok_json(pulse(&db, &["--json", "data", "list"])),
        serde_json::json!([])
    );
}

/// A server on 127.0.0.1 answering `requests` requests with `status` and a body that echoes the
/// request target (as Alpha Vantage's error messages and many error pages do), `{path}` in `body`
/// replaced by it.
fn serve_echo(
    status: u16,
    body: &'static str,
    requests: usize,
) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        for _ in 0..requests {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
            let body = body.replace("{path}", &target);
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (format!("http://{addr}"), handle)
}

/// Issue #12 (secrets): an Alpha Vantage key with characters that get URL-encoded
/// (`S3CR ET&X=1` is sent as `S3CR+ET%26X%3D1`) never appears, in any encoding, in what pulse
/// prints (errors echoing the request URL, the rate-limit note, an unreachable host, trace logs):
/// the `apikey` parameter is redacted, not the raw string.
#[test]
fn an_api_key_that_gets_url_encoded_never_leaks_in_errors_or_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let cfg = dir.path().join("fast.toml");
    std::fs::write(
        &cfg,
        "[alphavantage]\nmin_interval_ms = 1\nmax_retries = 0\ntimeout_secs = 5\n",
    )
    .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cases: Vec<(Option<(u16, &'static str)>, &str)> = vec![
        (
            Some((200, r#"{"Error Message": "Invalid API call for {path}"}"#)),
            "Invalid API call",
        ),
        (
            Some((
                200,
                r#"{"Note": "Thank you for using Alpha Vantage! {path}"}"#,
            )),
            "rate limiting",
        ),
        (Some((404, "<html>not found: {path}</html>")), "HTTP 404"),
        (Some((500, "<html>boom at {path}</html>")), "HTTP 500"),
        (None, "cannot reach"),
    ];
    for (answer, expect) in cases {
        let (url, server) = match answer {
            Some((status, body)) => {
                let (url, h) = serve_echo(status, body, 1);
                (url, Some(h))
            }
            None => (format!("http://{closed}"), None),
        };
        let out = isolated(dir.path())
            .args([
                "--db",
                db.to_str().unwrap(),
                "--config",
                cfg.to_str().unwrap(),
                "-vvv",
                "data",
                "fetch",
                "--source",
                "alphavantage",
                "--symbols",
                "SPY",
                "--from",
                "2024-01-01",
            ])
            .env("ALPHAVANTAGE_API_KEY", "S3CR ET&X=1")
            .env("PULSE_ALPHAVANTAGE_BASE_URL", &url)
            .output()
            .unwrap();
        if let Some(h) = server {
            h.join().unwrap();
        }
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{expect}: {printed}");
        assert!(printed.contains(expect), "{expect}: {printed}");
        if answer.is_some_and(|(_, body)| body.contains("{path}") && !body.contains("boom")) {
            // The echoed URL is printed, with its key parameter redacted.
            assert!(printed.contains("apikey=***"), "{expect}: {printed}");
        }
        for leak in ["S3CR", "ET%26", "X%3D1", "ET&X", "ET%20", "ET+"] {
            assert!(!printed.contains(leak), "{expect}: {leak} in {printed}");
        }
    }
}
