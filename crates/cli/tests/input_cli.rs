//! Bad input and closed pipes, end to end (issue #12): a reader that closes stdout early is not an
//! error (exit 0, no panic); out-of-range flags and strategy keys are refused with exit 2 or a
//! message naming the flag, file and key, never a panic or a saturated result.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read;
use std::process::{Command, Output, Stdio};

mod common;
use common::{isolated, pulse_db, pulse_home};
use pulse_testkit::shared_file;

/// Runs `cmd` with stdout on a pipe whose reader takes `bytes` bytes (0: none) and then closes it,
/// as `| head -c N` does; returns the finished run (stderr captured).
fn reader_closes_after(mut cmd: Command, bytes: usize) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; bytes];
    stdout.read_exact(&mut buf).unwrap();
    drop(stdout);
    child.wait_with_output().unwrap()
}

/// Exit 0 and nothing on stderr about a panic or the pipe.
fn quiet_success(what: &str, out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what}: exit {:?}: {err}",
        out.status.code()
    );
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{what}: {err}"
    );
}

/// `pulse --db DB args…` as a command (not yet run).
fn pulse_cmd(db: &std::path::Path, args: &[&str]) -> Command {
    let mut c = isolated(db.parent().unwrap());
    c.arg("--db").arg(db).args(args);
    c
}

/// Exit 2 with every `needle` on stderr, and no panic.
fn usage_error(what: &str, out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    for n in needles {
        assert!(err.contains(n), "{what}: {n:?} not in {err}");
    }
}

#[test]
fn a_reader_closing_stdout_early_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let vix = shared_file("daily-ohlcv/VIX.csv");
    let vix = vix.to_str().unwrap();
    // `ta` writes ~9,000 rows (far more than a pipe buffer): `| head -c 10`.
    let out = reader_closes_after(pulse_cmd(&db, &["ta", "--input", vix, "-i", "sma:5"]), 10);
    quiet_success("ta | head -c 10", &out);
    // `--json` output fails inside serde_json (the io error is wrapped in serde_json::Error).
    let out = reader_closes_after(
        pulse_cmd(&db, &["--json", "ta", "--input", vix, "-i", "rsi:14"]),
        10,
    );
    quiet_success("--json ta | head -c 10", &out);
    let out = reader_closes_after(
        pulse_cmd(&db, &["--json", "data", "check", "--all", vix]),
        0,
    );
    quiet_success("--json data check | (closed)", &out);
    // `data check` prints line by line (println! used to panic on the closed pipe).
    let out = reader_closes_after(pulse_cmd(&db, &["data", "check", "--all", vix]), 0);
    quiet_success("data check | (closed)", &out);
    // The same on the seeded default store, whose reader reads its first line only.
    let home = tempfile::tempdir().unwrap();
    let mut cmd = isolated(home.path());
    cmd.args(["data", "check", "--all"])
        .current_dir(home.path())
        .env("XDG_DATA_HOME", home.path());
    let out = reader_closes_after(cmd, 1);
    quiet_success("data check | head -c 1", &out);
    // `rebalance history | head -1` and `sweep … | head -6` (issue 12, crashes).
    for t in ["2024-01-02T08:00:00-05:00", "2024-01-03T08:00:00-05:00"] {
        let out = pulse_db(&db, &["clock", "set", t]);
        assert!(out.status.success());
    }
    let out = reader_closes_after(pulse_cmd(&db, &["rebalance", "history"]), 0);
    quiet_success("rebalance history | (closed)", &out);
    let mut cmd = isolated(home.path());
    cmd.args([
        "sweep",
        "--param",
        "rsi_high=70:75:5",
        "--param",
        "rsi_low=25:30:5",
    ])
    .current_dir(home.path())
    .env("XDG_DATA_HOME", home.path());
    let out = reader_closes_after(cmd, 0);
    quiet_success("sweep | (closed)", &out);
}

#[test]
fn clock_advance_out_of_range_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    for by in [
        "99999999999d",
        "99999999999h",
        "9999999999999999m",
        "3000000d",
    ] {
        let out = pulse_db(&db, &["clock", "advance", by]);
        usage_error(by, &out, &["clock advance", by]);
    }
    // Digits beyond i64 are not a number of anything.
    let out = pulse_db(&db, &["clock", "advance", "99999999999999999999d"]);
    usage_error("20 digits", &out, &["clock advance"]);
    // A sane step still works.
    let out = pulse_db(&db, &["clock", "set", "2024-01-02T08:00:00-05:00"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pulse_db(&db, &["clock", "advance", "2d"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn duplicate_symbols_are_refused_naming_the_flag_and_the_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let out = pulse_db(
        &db,
        &["portfolio", "optimize", "--symbols", "TSLA,TSLL,TSLA"],
    );
    usage_error("optimize", &out, &["--symbols", "TSLA", "twice"]);
    let out = pulse_db(
        &db,
        &[
            "portfolio",
            "optimize",
            "--symbols",
            "TSLA",
            "--symbols",
            " TSLL,TSLL",
        ],
    );
    usage_error("repeated flag", &out, &["--symbols", "TSLL", "twice"]);
}

#[test]
fn allocation_cash_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    for cash in ["1e300", "1e16"] {
        let out = pulse_db(
            &db,
            &[
                "portfolio",
                "allocate",
                "--symbols",
                "SPY,TLT",
                "--cash",
                cash,
            ],
        );
        usage_error(cash, &out, &["--cash"]);
    }
}

#[test]
fn strategy_file_errors_name_the_file_and_the_key() {
    let home = tempfile::tempdir().unwrap();
    let default = pulse_home(home.path(), &["strategy", "show", "pulse"]);
    assert!(default.status.success());
    let toml = String::from_utf8(default.stdout).unwrap();
    let cfg = home.path().join("bad.toml");
    for (line, with, key) in [
        (
            "rsi_period = 14",
            "rsi_period = 18446744073709551615",
            "indicators.rsi_period",
        ),
        ("rsi_period = 14", "rsi_period = 0", "indicators.rsi_period"),
        (
            "sma_slow = 10",
            "sma_slow = 2000000000",
            "indicators.sma_slow",
        ),
        ("macd_fast = 12", "macd_fast = 40", "indicators.macd_fast"),
        ("bbands_k = 2.0", "bbands_k = -2.0", "indicators.bbands_k"),
        (
            "leveraged = \"TSLL\"",
            "leveraged = \"TSLA\"",
            "symbols.leveraged",
        ),
    ] {
        assert!(toml.contains(line), "{line}");
        std::fs::write(&cfg, toml.replacen(line, with, 1)).unwrap();
        let out = pulse_home(
            home.path(),
            &[
                "backtest",
                "--no-report",
                "--strategy-config",
                cfg.to_str().unwrap(),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{with}: accepted");
        assert!(!err.contains("panicked"), "{with}: {err}");
        assert!(
            err.contains("bad.toml") && err.contains(key),
            "{with}: {err}"
        );
    }
}
