//! `pulse collect` and `pulse quotes` end to end: gzip minute bars imported as they ship, the
//! collector replaying them into a real Redis (scripts/test.sh starts one), `pulse quotes` in
//! another process reading the same keys back; bad flags are usage errors; a Redis password is
//! never printed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::{ok_json, pulse_db};
use std::io::Read;

fn redis_url() -> String {
    std::env::var("PULSE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// The close of the last minute of `symbol` that started before `before` (an RFC 3339 prefix
/// comparison on the file's own timestamps), read straight from the gzip file.
fn close_before(symbol: &str, before: &str) -> String {
    let path = pulse_testkit::shared_file(&format!("intraday-1m-many/{symbol}.csv.gz"));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut close = String::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[0] < before {
            close = f[4].to_string();
        }
    }
    close
}

#[test]
fn collect_replays_gzip_minutes_into_redis_and_quotes_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let files: Vec<String> = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        .iter()
        .map(|s| {
            pulse_testkit::shared_file(&format!("intraday-1m-many/{s}.csv.gz"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["-q", "data", "import"];
    args.extend(files.iter().map(String::as_str));
    let out = pulse_db(&db, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let prefix = format!("pulse-cli-test-{}", std::process::id());
    let url = redis_url();
    let summary = ok_json(pulse_db(
        &db,
        &[
            "--json",
            "collect",
            "--symbols",
            "BTCUSDT,ETHUSDT",
            "--start",
            "2021-04-10T12:00:00Z",
            "--ticks",
            "3",
            "--every",
            "0.05",
            "--redis",
            &url,
            "--prefix",
            &prefix,
        ],
    ));
    assert_eq!(summary["ticks"], 3);
    assert_eq!(summary["written"], 6);
    assert_eq!(summary["errors"], 0);
    assert!(
        summary["cache"]
            .as_str()
            .unwrap()
            .starts_with("redis 127.0.0.1:")
    );
    // The replay at 12:00 (real time from there) shows the 11:59 minute's close.
    let quotes = ok_json(pulse_db(
        &db,
        &[
            "--json",
            "quotes",
            "BTCUSDT,ETHUSDT,SOLUSDT",
            "--redis",
            &url,
            "--prefix",
            &prefix,
        ],
    ));
    let quotes = quotes.as_array().unwrap();
    assert_eq!(quotes.len(), 2, "SOLUSDT was not collected: {quotes:?}");
    for q in quotes {
        let symbol = q["symbol"].as_str().unwrap();
        let want: rust_decimal::Decimal = close_before(symbol, "2021-04-10T12:00").parse().unwrap();
        let got: rust_decimal::Decimal = q["last"].as_str().unwrap().parse().unwrap();
        assert_eq!(got, want, "{symbol}");
        assert_eq!(q["currency"], "USDT");
    }
    // The text form names the symbols without a live quote.
    let out = pulse_db(
        &db,
        &[
            "quotes",
            "BTCUSDT,SOLUSDT",
            "--redis",
            &url,
            "--prefix",
            &prefix,
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("BTCUSDT") && text.contains("No live quote") && text.contains("SOLUSDT"),
        "{text}"
    );

    // Top-N by traded value, into the in-process cache, printed at the end.
    let summary = ok_json(pulse_db(
        &db,
        &[
            "--json",
            "collect",
            "--top",
            "2",
            "--start",
            "2021-04-10T12:00:00Z",
            "--ticks",
            "1",
        ],
    ));
    assert_eq!(summary["cache"], "memory");
    assert_eq!(summary["symbols"].as_array().unwrap().len(), 2);
    assert_eq!(summary["quotes"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_collect_flags_are_usage_errors_and_no_password_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    for (args, needle) in [
        (
            vec!["collect", "--symbols", "TSLA", "--every", "0"],
            "--every",
        ),
        (
            vec!["collect", "--symbols", "TSLA", "--every", "NaN"],
            "--every",
        ),
        (vec!["collect", "--symbols", "TSLA", "--ttl", "0"], "--ttl"),
        (
            vec!["collect", "--symbols", "TSLA", "--depth", "0"],
            "--depth",
        ),
        (vec!["collect", "--top", "0"], "--top"),
        (
            vec!["collect", "--symbols", "TSLA,TSLA"],
            "--symbols: symbol TSLA is listed twice",
        ),
        (
            vec![
                "collect",
                "--symbols",
                "TSLA",
                "--start",
                "2024-01-02",
                "--speed=-1",
            ],
            "--speed",
        ),
        (
            vec!["collect", "--symbols", "TSLA", "--speed", "2"],
            "--start",
        ),
        (vec!["collect"], "--symbols"),
        (vec!["quotes", "TSLA"], "--redis"),
    ] {
        let out = pulse_db(&db, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // A Redis that does not answer: a runtime error naming the host, never the password.
    let out = pulse_db(
        &db,
        &[
            "quotes",
            "TSLA",
            "--redis",
            "redis://:hunter2%26x@127.0.0.1:1/0",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("127.0.0.1:1/0"), "{err}");
    for secret in ["hunter2", "%26x", "&x"] {
        assert!(!err.contains(secret), "{err}");
    }
}
