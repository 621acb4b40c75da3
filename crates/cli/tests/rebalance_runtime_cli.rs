//! The rebalancing runtime through the CLI under the simulated clock: time travel, the 08:30 /
//! 09:40 schedule on the NYSE calendar, the paper broker on real 2024 prices, state in the store,
//! repeated runs never executing anything twice, and the missed-run policy.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Output;

mod common;
use common::{import_shared_adjclose, pulse_db};

struct Env {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        Env { _dir: dir, db }
    }
    fn run(&self, args: &[&str]) -> Output {
        pulse_db(&self.db, args)
    }
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }
}

fn setup() -> Env {
    let env = Env::new();
    import_shared_adjclose(&env.db, &["SPY", "TLT"]);
    env.ok(&[
        "-q",
        "rebalance",
        "init",
        "--calendar",
        "nyse",
        "--cash",
        "100000",
    ]);
    env.ok(&[
        "-q",
        "rebalance",
        "signal",
        "--mp",
        "stocks=0.6,bonds=0.4",
        "--sub-mp",
        "stocks=SPY",
        "--sub-mp",
        "bonds=TLT",
    ]);
    env
}

fn orders_in_log(env: &Env) -> Vec<String> {
    env.ok(&["--json", "rebalance", "history", "--limit", "1000"])
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["entry"]["order"]["client_id"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn time_travel_runs_the_schedule_once_per_day_and_reaches_the_targets() {
    let env = setup();
    env.ok(&["-q", "clock", "set", "2024-01-02T09:45-05:00"]);
    // 2024-01-02 … 01-11 (10 calendar days, 8 NYSE sessions): 3 days pending, 5 steps.
    for _ in 0..10 {
        env.ok(&["--json", "rebalance", "run"]);
        // A second run at the same time (a restart, a double cron) does nothing.
        let again = env.ok(&["--json", "rebalance", "run"]);
        assert!(again["done"].as_array().unwrap().is_empty(), "{again}");
        env.ok(&["-q", "clock", "advance", "1d"]);
        let early = env.ok(&["--json", "rebalance", "run"]);
        assert!(
            early["done"].as_array().unwrap().is_empty(),
            "08:00 is before the 08:30 intake"
        );
        env.ok(&["-q", "clock", "advance", "105m"]);
    }
    let ids = orders_in_log(&env);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "an order was decided twice");
    assert_eq!(ids.len(), 10, "5 steps × 2 securities");
    let status = env.ok(&["--json", "rebalance", "status"]);
    assert_eq!(status["is_rebalancing_active"], false);
    assert_eq!(status["unfilled_orders"].as_array().unwrap().len(), 0);
    assert!(status["cash"].as_str().unwrap().parse::<f64>().unwrap() >= 0.0);
    // 60/40 at the closes of the last execution day, within one share of each.
    let spy_q: f64 = status["holdings"]["SPY"].as_str().unwrap().parse().unwrap();
    let tlt_q: f64 = status["holdings"]["TLT"].as_str().unwrap().parse().unwrap();
    let close = |t: &str| -> f64 {
        let text = std::fs::read_to_string(pulse_testkit::shared_file(&format!(
            "daily-adjclose/{t}.csv"
        )))
        .unwrap();
        text.lines()
            .find(|l| l.starts_with("2024-01-10"))
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    let (spy_p, tlt_p) = (close("SPY"), close("TLT"));
    let total =
        spy_q * spy_p + tlt_q * tlt_p + status["cash"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(
        (spy_q * spy_p / total - 0.6).abs() < 0.03,
        "SPY weight {}",
        spy_q * spy_p / total
    );
}

#[test]
fn missed_days_are_logged_not_replayed() {
    let env = setup();
    env.ok(&["-q", "clock", "set", "2024-01-02T09:45-05:00"]);
    env.ok(&["-q", "rebalance", "run"]);
    // The machine is off for a week.
    env.ok(&["-q", "clock", "set", "2024-01-10T09:45-05:00"]);
    let out = env.ok(&["--json", "rebalance", "run"]);
    let done: Vec<String> = out["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        done.iter()
            .any(|l| l.starts_with("missed 5 trading day(s) 2024-01-03..=2024-01-09")),
        "{done:?}"
    );
    // The 3-day count restarted: no plan yet, nothing traded retroactively.
    let status = env.ok(&["--json", "rebalance", "status"]);
    assert_eq!(status["plan"], Value::Null);
    assert!(orders_in_log(&env).is_empty());
    assert_eq!(status["pending"]["mp"]["days"], 1);
}

#[test]
fn liquidity_weighting_resolves_sub_mp_weights_from_dollar_volume() {
    let env = Env::new();
    let tsla = pulse_testkit::shared_file("daily-ohlcv/TSLA.csv");
    let spy = pulse_testkit::shared_file("daily-ohlcv/SPY.csv");
    env.ok(&[
        "-q",
        "data",
        "import",
        tsla.to_str().unwrap(),
        spy.to_str().unwrap(),
    ]);
    env.ok(&["-q", "rebalance", "init", "--calendar", "nyse"]);
    env.ok(&[
        "-q",
        "rebalance",
        "signal",
        "--mp",
        "stocks=1.0",
        "--sub-mp",
        "stocks=SPY,TSLA",
        "--weighting",
        "liquidity",
        "--liquidity-days",
        "20",
    ]);
    // Independent computation from the files: mean close × volume over each file's last 20 rows.
    let dollar = |p: &std::path::Path| -> f64 {
        let text = std::fs::read_to_string(p).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        rows[rows.len() - 20..]
            .iter()
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                c[4].parse::<f64>().unwrap() * c[6].parse::<f64>().unwrap()
            })
            .sum::<f64>()
            / 20.0
    };
    let (d_spy, d_tsla) = (dollar(&spy), dollar(&tsla));
    let log = env.ok(&["--json", "rebalance", "history"]);
    let signal = log
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find_map(|e| e["entry"].get("signal").cloned())
        .unwrap();
    let w_spy = signal["sub_mp"]["stocks"]["SPY"].as_f64().unwrap();
    let w_tsla = signal["sub_mp"]["stocks"]["TSLA"].as_f64().unwrap();
    assert!((w_spy - d_spy / (d_spy + d_tsla)).abs() < 1e-12, "{w_spy}");
    assert!((w_spy + w_tsla - 1.0).abs() < 1e-12);
}
