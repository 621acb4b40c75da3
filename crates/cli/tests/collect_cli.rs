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

/// The 15-minute bars of `symbol`'s shared 1-minute file within [`from`, `to`) (RFC 3339
/// prefixes), aggregated here: (start, open, high, low, close, volume).
fn quarter_hours(symbol: &str, from: &str, to: &str) -> Vec<(String, f64, f64, f64, f64, f64)> {
    let path = pulse_testkit::shared_file(&format!("intraday-1m-many/{symbol}.csv.gz"));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut out: Vec<(String, f64, f64, f64, f64, f64)> = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[0] < from || f[0] >= to {
            continue;
        }
        let v: Vec<f64> = f[1..6].iter().map(|x| x.parse().unwrap()).collect();
        let minute: u32 = f[0][14..16].parse().unwrap();
        let start = format!("{}{:02}:00Z", &f[0][..14], minute - minute % 15);
        match out.last_mut() {
            Some(b) if b.0 == start => {
                b.2 = b.2.max(v[1]);
                b.3 = b.3.min(v[2]);
                b.4 = v[3];
                b.5 += v[4];
            }
            _ => out.push((start, v[0], v[1], v[2], v[3], v[4])),
        }
    }
    out
}

#[test]
fn collect_bars_builds_and_stores_whole_minutes_from_replayed_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    // Real BTCUSDT minutes rolled up into 15-minute bars: the store holds no 1m bars, so every
    // 1m bar after the collection was built from the quotes.
    let quarters = quarter_hours("BTCUSDT", "2021-04-10T08:00", "2021-04-10T16:00");
    assert_eq!(quarters.len(), 32);
    let csv = dir.path().join("BTCUSDT.csv");
    let mut text = String::from("ts,open,high,low,close,volume\n");
    for (ts, o, h, l, c, v) in &quarters {
        text.push_str(&format!("{ts},{o},{h},{l},{c},{v}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let out = pulse_db(
        &db,
        &[
            "-q",
            "data",
            "import",
            csv.to_str().unwrap(),
            "--timeframe",
            "15m",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 15 replayed minutes a second, 20 polls a second, 80 polls: about an hour from 12:00.
    let collect = [
        "--json",
        "collect",
        "--symbols",
        "BTCUSDT",
        "--timeframe",
        "15m",
        "--start",
        "2021-04-10T12:00:00Z",
        "--speed",
        "900",
        "--every",
        "0.05",
        "--ticks",
        "80",
        "--bars",
    ];
    let summary = ok_json(pulse_db(&db, &collect));
    assert_eq!(summary["ticks"], 80);
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["bar_errors"], 0, "{summary}");
    let stored = summary["bars_stored"].as_u64().unwrap();
    assert!(stored >= 2, "{summary}");

    let shown = ok_json(pulse_db(
        &db,
        &["--json", "data", "show", "BTCUSDT", "--timeframe", "1m"],
    ));
    let bars = shown["bars"]
        .as_array()
        .unwrap_or_else(|| shown.as_array().unwrap());
    assert_eq!(bars.len() as u64, stored, "{shown}");
    for bar in bars {
        let ts = bar["ts"].as_str().unwrap();
        // The replayed quote of minute m is the close of the 15m bar that closed at m: quotes
        // change on quarter hours, and the collector's first minute (12:00) is never stored.
        let q = quarters
            .iter()
            .position(|b| b.0.as_str() == ts)
            .expect("a quarter-hour minute");
        assert!(ts > "2021-04-10T12:00:00Z", "{ts}");
        let quoted = &quarters[q - 1];
        for field in ["open", "high", "low", "close"] {
            assert_eq!(bar[field].as_f64().unwrap(), quoted.4, "{ts} {field}");
        }
        // Volume: the growth of the day's cumulative volume, i.e. the quoted bar's.
        let volume = bar["volume"].as_f64().unwrap();
        assert!(
            (volume - quoted.5).abs() < 1e-6,
            "{ts}: {volume} vs {}",
            quoted.5
        );
    }

    // Again over the same hour: the minutes already stored are kept, never overwritten.
    let again = ok_json(pulse_db(&db, &collect));
    assert!(again["bars_kept"].as_u64().unwrap() >= 1, "{again}");
    let shown_again = ok_json(pulse_db(
        &db,
        &["--json", "data", "show", "BTCUSDT", "--timeframe", "1m"],
    ));
    let bars_again = shown_again["bars"]
        .as_array()
        .unwrap_or_else(|| shown_again.as_array().unwrap());
    assert_eq!(&bars_again[..bars.len()], &bars[..]);
}
