#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `pulse agents backtest` end to end on real daily closes (AAPL, MSFT, JPM, XOM, KO and ^IRX
//! from `daily-adjclose`) with the real S&P 500 fundamentals snapshot: the runs, the figures'
//! consistency, which factors had data before and after the snapshot, and bad input.

mod common;

use common::{import_shared_adjclose, ok_json, pulse_db};
use std::path::Path;

const SNAPSHOT: &str = "fundamentals/sp500_yfinance_fundamentals_snapshot_2024-12.csv";

fn store(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("a.db");
    import_shared_adjclose(&db, &["AAPL", "MSFT", "JPM", "XOM", "KO", "IRX"]);
    db
}

#[test]
fn agents_backtest_runs_the_ensemble_each_agent_and_buy_and_hold() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let snapshot = pulse_testkit::shared_file(SNAPSHOT);
    let v = ok_json(pulse_db(
        &db,
        &[
            "--json",
            "agents",
            "backtest",
            "--symbols",
            "AAPL,MSFT,JPM,XOM,KO",
            "--from",
            "2022-01-03",
            "--to",
            "2025-06-30",
            "--threshold",
            "0.5",
            "--also-thresholds",
            "0.3",
            "--fundamentals",
            snapshot.to_str().unwrap(),
            "--fundamentals-as-of",
            "2024-12-08",
        ],
    ));
    assert_eq!(v["from"], "2022-01-03");
    assert_eq!(v["to"], "2025-06-30");
    assert_eq!(v["currency"], "USD");
    let names: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Ensemble",
            "Ensemble (threshold 0.3)",
            "Technical alone",
            "Factor alone",
            "Buy & hold (equal weight)"
        ]
    );
    for run in v["runs"].as_array().unwrap() {
        let m = &run["metrics"];
        let (e0, e1) = (
            m["initial_equity"].as_f64().unwrap(),
            m["final_equity"].as_f64().unwrap(),
        );
        assert_eq!(e0, 100_000.0, "{}", run["name"]);
        assert!((m["total_return"].as_f64().unwrap() - (e1 / e0 - 1.0)).abs() < 1e-12);
    }
    // Each agent alone trades; the buy and hold buys once per symbol and never sells.
    let runs = v["runs"].as_array().unwrap();
    assert!(runs[2]["stats"]["entries"].as_u64().unwrap() > 5);
    assert!(runs[3]["stats"]["entries"].as_u64().unwrap() > 5);
    assert_eq!(runs[4]["metrics"]["fills"], 5);
    assert!(runs[4]["stats"].is_null());
    // A lower threshold acts at least as often.
    assert!(
        runs[1]["stats"]["entries"].as_u64().unwrap()
            >= runs[0]["stats"]["entries"].as_u64().unwrap()
    );
    // Decisions counted on the evaluated bars only: every trading day of the window.
    let bars = runs[0]["stats"]["decisions"].as_u64().unwrap();
    assert_eq!(
        bars as usize,
        runs[0]["metrics"]["points"].as_u64().unwrap() as usize
    );
    // Final ensemble weights: ≥ the floor, summing to 1.
    let w = runs[0]["final_weights"].as_object().unwrap();
    let total: f64 = w.values().map(|x| x.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-9);
    assert!(w.values().all(|x| x.as_f64().unwrap() >= 0.1 - 1e-12));
    // The snapshot is used only from the first bar on or after 2024-12-08 (a Sunday).
    let c = &v["factor_coverage"];
    assert_eq!(c["fundamentals_first_used"], "2024-12-09T00:00:00Z");
    for f in ["value", "quality", "momentum", "growth"] {
        assert_eq!(c["scored"][f].as_array().unwrap().len(), 5, "{f}");
    }
    assert_eq!(v["deflation"]["configurations"], 4);
    let dsr = v["deflation"]["deflated_sharpe"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&dsr));
}

#[test]
fn before_the_snapshot_the_factor_agent_ranks_momentum_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let snapshot = pulse_testkit::shared_file(SNAPSHOT);
    let v = ok_json(pulse_db(
        &db,
        &[
            "--json",
            "agents",
            "backtest",
            "--symbols",
            "AAPL,MSFT,JPM",
            "--agents",
            "factor",
            "--from",
            "2020-01-02",
            "--to",
            "2023-12-29",
            "--fundamentals",
            snapshot.to_str().unwrap(),
            "--fundamentals-as-of",
            "2024-12-08",
        ],
    ));
    let c = &v["factor_coverage"];
    assert!(c["fundamentals_first_used"].is_null());
    let scored = c["scored"].as_object().unwrap();
    assert_eq!(scored.keys().collect::<Vec<_>>(), ["momentum"]);
    // One agent: no "alone" duplicate, so the ensemble and the buy and hold.
    assert_eq!(v["runs"].as_array().unwrap().len(), 2);
    // Text output names what had data.
    let out = pulse_db(
        &db,
        &[
            "agents",
            "backtest",
            "--symbols",
            "AAPL,MSFT,JPM",
            "--agents",
            "factor",
            "--from",
            "2020-01-02",
            "--to",
            "2023-12-29",
            "--fundamentals",
            snapshot.to_str().unwrap(),
            "--fundamentals-as-of",
            "2024-12-08",
        ],
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("factors with data (symbols scored): momentum 3; fundamentals as of 2024-12-08T00:00:00Z never in force"),
        "{text}"
    );
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let bad_csv = dir.path().join("f.csv");
    std::fs::write(&bad_csv, "symbol,trailingPE\nAAPL,12\nMSFT,cheap\n").unwrap();
    let base = ["agents", "backtest", "--symbols", "AAPL,MSFT"];
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["--threshold", "1.5"], 2, "--threshold"),
        (vec!["--floor", "0.9"], 2, "--floor"),
        (vec!["--also-thresholds", "0.5,1.2"], 2, "--also-thresholds"),
        (vec!["--trades", "t.csv"], 2, "--trades"),
        (vec!["--from", "1986-04-01"], 2, "--from"),
        (
            vec![
                "--fundamentals",
                bad_csv.to_str().unwrap(),
                "--fundamentals-as-of",
                "2024-12-08",
            ],
            1,
            "line 3: column trailingPE: \"cheap\" is not a number",
        ),
        (vec!["--symbols", "NOPE"], 1, "NOPE"),
    ];
    for (extra, code, needle) in cases {
        let mut args = base.to_vec();
        if extra[0] == "--symbols" {
            args.truncate(2);
        }
        args.extend(extra.iter());
        let out = pulse_db(&db, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[cfg(not(feature = "deep"))]
#[test]
fn the_dqn_agent_needs_the_deep_feature() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let out = pulse_db(
        &db,
        &[
            "agents",
            "backtest",
            "--symbols",
            "AAPL",
            "--agents",
            "technical,dqn",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features deep"));
}

/// The DQN trained on five stocks' 2010–2014 closes, then traded out of sample in the ensemble.
#[cfg(feature = "deep")]
#[test]
fn train_dqn_then_trade_it_out_of_sample() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let model = dir.path().join("dqn");
    let train = |out: &Path, seed: &str| {
        ok_json(pulse_db(
            &db,
            &[
                "--json",
                "agents",
                "train-dqn",
                "--symbols",
                "AAPL,MSFT",
                "--from",
                "2013-01-01",
                "--to",
                "2014-12-31",
                "--episodes",
                "2",
                "--seed",
                seed,
                "--out",
                out.to_str().unwrap(),
            ],
        ))
    };
    let v = train(&model, "7");
    assert_eq!(v["model"], model.to_str().unwrap());
    assert_eq!(v["series"][0]["closes"], 504);
    assert_eq!(v["series"][1]["last"], "2014-12-31T00:00:00Z");
    assert_eq!(v["report"]["episodes_run"], 2);
    assert!(v["report"]["replays"].as_u64().unwrap() > 0);
    // Recorded in the tracking store; no held-out period: a candidate until a person decides.
    assert_eq!(v["version"]["kind"], "dqn");
    assert_eq!(v["version"]["stage"], "candidate");
    assert_eq!(v["version"]["symbols"], serde_json::json!(["AAPL", "MSFT"]));
    assert_eq!(v["version"]["window"]["to"], "2014-12-31T00:00:00Z");
    // Same seed, same data: the same weights, bit for bit.
    let again = dir.path().join("dqn-again");
    train(&again, "7");
    assert_eq!(
        std::fs::read(model.join("dqn.safetensors")).unwrap(),
        std::fs::read(again.join("dqn.safetensors")).unwrap()
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("dqn.json")).unwrap()).unwrap();
    assert_eq!(meta["meta"]["trained_through"], "2014-12-31T00:00:00Z");
    // A model is never overwritten.
    let out = pulse_db(
        &db,
        &[
            "agents",
            "train-dqn",
            "--symbols",
            "AAPL",
            "--to",
            "2014-12-31",
            "--out",
            model.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
    // Inside the training window: refused, naming --from.
    let backtest = |from: &str| {
        pulse_db(
            &db,
            &[
                "--json",
                "agents",
                "backtest",
                "--symbols",
                "AAPL,MSFT",
                "--agents",
                "dqn,technical",
                "--dqn-model",
                model.to_str().unwrap(),
                "--from",
                from,
                "--to",
                "2016-12-30",
            ],
        )
    };
    let out = backtest("2014-06-02");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--from") && err.contains("trained through 2014-12-31"),
        "{err}"
    );
    let v = ok_json(backtest("2015-01-02"));
    let names: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Ensemble",
            "DQN alone",
            "Technical alone",
            "Buy & hold (equal weight)"
        ]
    );
    // DQN 0.4 and technical 0.3 renormalised: 4/7 and 3/7 before adaptation.
    let dqn_alone = &v["runs"][1];
    assert!(dqn_alone["stats"]["decisions"].as_u64().unwrap() > 400);
    assert!(dqn_alone["metrics"]["fills"].as_u64().unwrap() > 0);
    let w = v["runs"][0]["final_weights"].as_object().unwrap();
    assert_eq!(w.len(), 2);
}

#[test]
fn signal_gives_the_decision_at_the_last_bar() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let v = ok_json(pulse_db(
        &db,
        &[
            "--json",
            "agents",
            "signal",
            "--symbols",
            "AAPL,MSFT,JPM,XOM,KO",
            "--threshold",
            "0.3",
        ],
    ));
    // The last stored bar of daily-adjclose.
    assert_eq!(v["as_of"], "2026-08-03");
    let weights = v["weights"].as_object().unwrap();
    assert_eq!(weights.len(), 2);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        assert_eq!(row["bar"], "2026-08-03");
        // The score is the weighted sum of the agents' signals under the reported weights.
        let mut score = 0.0;
        for (kind, s) in row["signals"].as_object().unwrap() {
            let d = match s["action"].as_str().unwrap() {
                "buy" => 1.0,
                "sell" => -1.0,
                _ => 0.0,
            };
            score += weights[kind].as_f64().unwrap() * s["confidence"].as_f64().unwrap() * d;
        }
        assert!(
            (score - row["score"].as_f64().unwrap()).abs() < 1e-12,
            "{row}"
        );
        let expected = if score > 0.3 {
            "buy"
        } else if score < -0.3 {
            "sell"
        } else {
            "hold"
        };
        assert_eq!(row["action"], expected, "{row}");
        if expected != "hold" {
            assert_eq!(row["holding"], expected == "buy");
        }
    }
    // The text table has one line per symbol.
    let out = pulse_db(&db, &["agents", "signal", "--symbols", "AAPL,MSFT"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("as of 2026-08-03"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("AAPL ") || l.starts_with("MSFT "))
            .count(),
        2,
        "{text}"
    );
    assert!(!text.contains("was scored at its last bar"), "{text}");
    // The bundled TSLA ends on 2025-09-29: its row was scored with the weights of that bar,
    // and the text says so.
    let tsla = pulse_testkit::bundle_dir().join("TSLA.csv");
    let out = pulse_db(&db, &["data", "import", tsla.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pulse_db(&db, &["agents", "signal", "--symbols", "AAPL,TSLA"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("TSLA was scored at its last bar 2025-09-29 with the weights then: factor "),
        "{text}"
    );
}
