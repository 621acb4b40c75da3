//! `pulse portfolio optimize|allocate` end to end on the real 15-ETF universe (2015–2024),
//! against the PyPortfolioOpt 1.6.0 fixtures of `crates/optimize/tests/fixtures/etf15.json`
//! (made by scripts/reference/optimize/make_fixtures.py; mean historical returns + Ledoit-Wolf).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const ETFS: [&str; 15] = [
    "SPY", "QQQ", "IWM", "EEM", "EFA", "GLD", "SLV", "TLT", "IEF", "SHY", "TIP", "LQD", "HYG",
    "VNQ", "DBC",
];

fn pulse(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pulse"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok_json(out: Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fixture() -> Value {
    let p = pulse_testkit::workspace_root().join("crates/optimize/tests/fixtures/etf15.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let files: Vec<String> = ETFS
        .iter()
        .map(|t| {
            pulse_testkit::shared_file(&format!("daily-adjclose/{t}.csv"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["--json", "data", "import"];
    args.extend(files.iter().map(String::as_str));
    ok_json(pulse(&db, &args));
    (dir, db)
}

fn optimize(db: &Path, extra: &[&str]) -> Value {
    let symbols = ETFS.join(",");
    let mut args = vec![
        "--json",
        "portfolio",
        "optimize",
        "--symbols",
        &symbols,
        "--from",
        "2015-01-01",
        "--to",
        "2024-12-31",
    ];
    args.extend_from_slice(extra);
    ok_json(pulse(db, &args))
}

fn assert_weights(got: &Value, want: &[Value], tol: f64, what: &str) {
    for (t, w) in ETFS.iter().zip(want) {
        let (g, w) = (got["weights"][*t].as_f64().unwrap(), w.as_f64().unwrap());
        assert!(
            (g - w).abs() <= tol,
            "{what} {t}: {g} vs PyPortfolioOpt {w}"
        );
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

#[test]
fn optimize_matches_pyportfolioopt_on_real_etfs() {
    let (_dir, db) = setup();
    let fx = fixture();
    for (method, case) in [("min-vol", "min_volatility"), ("max-sharpe", "max_sharpe")] {
        let got = optimize(
            &db,
            &[
                "--method",
                method,
                "--returns",
                "mean",
                "--risk",
                "ledoit-wolf",
                "--rf",
                "0.02",
            ],
        );
        let want = &fx["frontier"]["cases"][case];
        assert_eq!(got["window"]["rows"], fx["rows"]);
        assert_weights(&got, want["weights"].as_array().unwrap(), 1e-4, method);
        for k in ["expected_return", "volatility", "sharpe"] {
            let (g, w) = (got[k].as_f64().unwrap(), want[k].as_f64().unwrap());
            assert!(rel(g, w) < 1e-6, "{method} {k}: {g} vs {w}");
        }
    }
    let got = optimize(
        &db,
        &["--method", "hrp", "--linkage", "ward", "--risk", "sample"],
    );
    assert_weights(
        &got,
        fx["hrp"]["ward"]["weights"].as_array().unwrap(),
        1e-6,
        "hrp ward",
    );
    // A target below the minimum volatility is refused with the feasible range.
    let symbols = ETFS.join(",");
    let out = pulse(
        &db,
        &[
            "portfolio",
            "optimize",
            "--symbols",
            &symbols,
            "--from",
            "2015-01-01",
            "--to",
            "2024-12-31",
            "--method",
            "efficient-risk",
            "--target",
            "0.01",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("minimum volatility"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn allocate_matches_pyportfolioopt_greedy_shares() {
    let (_dir, db) = setup();
    let fx = fixture();
    let symbols = ETFS.join(",");
    let got = ok_json(pulse(
        &db,
        &[
            "--json",
            "portfolio",
            "allocate",
            "--symbols",
            &symbols,
            "--from",
            "2015-01-01",
            "--to",
            "2024-12-31",
            "--method",
            "min-vol",
            "--cash",
            "100000",
        ],
    ));
    let want = &fx["allocation"]["min_volatility_100000"];
    for (t, q) in ETFS.iter().zip(want["greedy_shares"].as_array().unwrap()) {
        let got_q = got["shares"].get(*t).and_then(Value::as_u64).unwrap_or(0);
        assert_eq!(got_q, q.as_u64().unwrap(), "{t}");
    }
    assert!(
        (got["leftover"].as_f64().unwrap() - want["greedy_leftover"].as_f64().unwrap()).abs()
            < 1e-6
    );
}
