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
        // 08:00 is before the 08:30 intake: nothing is decided (yesterday's orders may fill at
        // yesterday's close, which exists by now).
        let early = env.ok(&["--json", "rebalance", "run"]);
        assert!(
            early["done"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l.as_str().unwrap().starts_with("filled")),
            "08:00 is before the 08:30 intake: {early}"
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

fn done_lines(v: &Value) -> Vec<String> {
    v["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Issue 12 defect 1: a changed MP or Sub-MP can be fed from the CLI on any day after the first
/// intake (the submission was checked against a hard-coded date and refused), the identical
/// signal is accepted again, and the 3-day rule confirms a change seen on three consecutive
/// trading days (Case 2 flavour: an MP change during a plan; Case 1: a Sub-MP-only change, whose
/// omitted MP is "unchanged").
#[test]
fn a_changed_signal_is_accepted_every_day_and_confirmed_by_the_three_day_rule() {
    let env = Env::new();
    import_shared_adjclose(&env.db, &["SPY", "QQQ", "TLT"]);
    env.ok(&["-q", "rebalance", "init", "--calendar", "nyse"]);
    env.ok(&["-q", "clock", "set", "2024-01-02T08:30-05:00"]);
    let a = [
        "-q",
        "rebalance",
        "signal",
        "--mp",
        "stocks=0.6,bonds=0.3,cash=0.1",
        "--sub-mp",
        "stocks=SPY,QQQ",
        "--sub-mp",
        "bonds=TLT",
    ];
    let b = [
        "-q",
        "rebalance",
        "signal",
        "--mp",
        "stocks=0.4,bonds=0.5,cash=0.1",
    ];
    env.ok(&a);
    let run = |env: &Env| env.ok(&["--json", "rebalance", "run"]);
    let at_0945 = |env: &Env, day: &str| {
        env.ok(&["-q", "clock", "set", &format!("{day}T09:45-05:00")]);
    };
    let r = run(&env);
    assert!(
        done_lines(&r).iter().any(|l| l.contains("day 1 of 3")),
        "{r}"
    );
    // The same view again, right after the intake: accepted (it was refused).
    env.ok(&a);
    at_0945(&env, "2024-01-03");
    env.ok(&a);
    run(&env);
    at_0945(&env, "2024-01-04"); // A confirmed, step 1 of the first plan.
    let r = run(&env);
    assert!(
        done_lines(&r)
            .iter()
            .any(|l| l.contains("held 3 consecutive")),
        "{r}"
    );
    // A changed MP (without --sub-mp: the Sub-MPs are unchanged) on three consecutive days.
    for (day, expect) in [
        ("2024-01-05", "MP seen on day 1 of 3"),
        ("2024-01-08", "MP seen on day 2 of 3"),
        ("2024-01-09", "MP held 3 consecutive trading days"),
    ] {
        at_0945(&env, day);
        let out = env.run(&b);
        assert!(
            out.status.success(),
            "{day}: changed signal refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = run(&env);
        assert!(
            done_lines(&r)
                .iter()
                .any(|l| l.starts_with(day) && l.contains(expect)),
            "{day}: {r}"
        );
    }
    let status = env.ok(&["--json", "rebalance", "status"]);
    let t = &status["targets"];
    assert!((t["SPY"].as_f64().unwrap() - 0.2).abs() < 1e-12, "{t}");
    assert!((t["TLT"].as_f64().unwrap() - 0.5).abs() < 1e-12, "{t}");
    assert_eq!(status["plan"]["paused"], false);
    // A Sub-MP-only change (Case 1): pending while the MP stays as it is, confirmed on day 3.
    at_0945(&env, "2024-01-10");
    env.ok(&["-q", "rebalance", "signal", "--sub-mp", "stocks=SPY"]);
    run(&env);
    at_0945(&env, "2024-01-11");
    run(&env);
    at_0945(&env, "2024-01-12");
    let r = run(&env);
    assert!(
        done_lines(&r)
            .iter()
            .any(|l| l.contains("Sub-MP of stocks held 3 consecutive")),
        "{r}"
    );
    let status = env.ok(&["--json", "rebalance", "status"]);
    assert!((status["targets"]["SPY"].as_f64().unwrap() - 0.4).abs() < 1e-12);
    assert!(status["targets"].get("QQQ").is_none());
    assert!(status["pending"]["mp"].is_null(), "{}", status["pending"]);
    let ids = orders_in_log(&env);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "an order was decided twice");
}

/// Issue 12 defect 5: the runtime's paper broker fills at the real (raw) close of a session that
/// has closed by the clock: SPY's step-1 buy decided 2024-01-04 09:45 New York is not filled at
/// 10:00 (its close does not exist yet) and fills after 16:00 at the raw close 467.28 (not the
/// adjusted 457.35), stamped 21:00Z, never after the clock.
#[test]
fn paper_fills_at_the_raw_close_only_once_the_session_has_closed() {
    let env = Env::new();
    let files: Vec<String> = ["SPY", "TSLA"]
        .iter()
        .map(|t| {
            pulse_testkit::shared_file(&format!("daily-ohlcv/{t}.csv"))
                .display()
                .to_string()
        })
        .collect();
    env.ok(&["-q", "data", "import", &files[0], &files[1]]);
    env.ok(&["-q", "rebalance", "init", "--calendar", "nyse"]);
    env.ok(&[
        "-q",
        "rebalance",
        "signal",
        "--mp",
        "stocks=0.6,growth=0.4",
        "--sub-mp",
        "stocks=SPY",
        "--sub-mp",
        "growth=TSLA",
    ]);
    for day in ["2024-01-02", "2024-01-03", "2024-01-04"] {
        env.ok(&["-q", "clock", "set", &format!("{day}T09:45-05:00")]);
        env.ok(&["-q", "rebalance", "run"]);
    }
    // 10:00 New York = 15:00Z: the orders are decided, nothing can have filled yet.
    env.ok(&["-q", "clock", "set", "2024-01-04T10:00-05:00"]);
    let r = env.ok(&["--json", "rebalance", "run"]);
    assert!(
        !done_lines(&r).iter().any(|l| l.starts_with("filled")),
        "{r}"
    );
    let status = env.ok(&["--json", "rebalance", "status"]);
    assert_eq!(status["holdings"], serde_json::json!({}), "{status}");
    assert_eq!(status["unfilled_orders"].as_array().unwrap().len(), 2);
    // After the close: filled at the raw closes of 2024-01-04, stamped at the close.
    env.ok(&["-q", "clock", "set", "2024-01-04T16:30-05:00"]);
    env.ok(&["-q", "rebalance", "run"]);
    let raw_close = |t: &str| -> String {
        let text =
            std::fs::read_to_string(pulse_testkit::shared_file(&format!("daily-ohlcv/{t}.csv")))
                .unwrap();
        let line = text.lines().find(|l| l.starts_with("2024-01-04")).unwrap();
        let close: f64 = line.split(',').nth(4).unwrap().parse().unwrap();
        format!("{close:.2}")
    };
    assert_eq!(raw_close("SPY"), "467.28");
    let log = env.ok(&["--json", "rebalance", "history", "--limit", "1000"]);
    let fills: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entry"].get("fill").is_some())
        .collect();
    assert_eq!(fills.len(), 2, "{log}");
    for e in fills {
        let f = &e["entry"]["fill"];
        let sym = f["symbol"].as_str().unwrap();
        assert_eq!(f["price"].as_str().unwrap(), raw_close(sym), "{f}");
        assert_eq!(f["ts"], "2024-01-04T21:00:00Z");
        let (fill_ts, logged) = (f["ts"].as_str().unwrap(), e["ts"].as_str().unwrap());
        let parse = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert!(parse(fill_ts) <= parse(logged), "fill after the clock: {e}");
    }
}

/// Issue 12 defect 3: two `pulse rebalance run` started at the same due time (a double cron, a
/// manual run beside the scheduler) execute each day's step once: every client id appears once
/// in `rebalance history`.
#[test]
fn concurrent_runs_at_the_same_due_time_execute_each_step_once() {
    let env = setup();
    let mut day = "2024-01-02".parse::<jiff::civil::Date>().unwrap();
    let mut days = 0;
    while days < 8 {
        if day.weekday() != jiff::civil::Weekday::Saturday
            && day.weekday() != jiff::civil::Weekday::Sunday
        {
            env.ok(&["-q", "clock", "set", &format!("{day}T09:45-05:00")]);
            let runners: Vec<std::process::Child> = (0..2)
                .map(|_| {
                    common::isolated(env.db.parent().unwrap())
                        .arg("--db")
                        .arg(&env.db)
                        .args(["-q", "rebalance", "run"])
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for r in runners {
                let out = r.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "{day}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            days += 1;
        }
        day = day.tomorrow().unwrap();
    }
    let ids = orders_in_log(&env);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "a step ran twice: {ids:?}");
    assert!(ids.len() >= 8, "the steps ran: {ids:?}");
    let log = env.ok(&["--json", "rebalance", "history", "--limit", "1000"]);
    let fills: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["entry"]["fill"]["client_id"].as_str())
        .collect();
    let unique_fills: BTreeSet<&&str> = fills.iter().collect();
    assert_eq!(fills.len(), unique_fills.len(), "an order filled twice");
}

/// Issue 12 defect 3: processes opening the same brand-new database at once are serialized
/// through its migrations (no "table … already exists", no "database is locked").
#[test]
fn concurrent_first_opens_of_a_new_database_all_succeed() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(format!("fresh-{round}.db"));
        let procs: Vec<std::process::Child> = (0..4)
            .map(|_| {
                common::isolated(dir.path())
                    .arg("--db")
                    .arg(&db)
                    .args(["--json", "clock", "now"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for p in procs {
            let out = p.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
