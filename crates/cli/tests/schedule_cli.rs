//! `pulse schedule` end to end on the bundled data: one tick under time travel runs the
//! rebalancer's intake and catches a paper runner up; a runner keeps the settings it was started
//! with (its strategy file read into its record, so a deleted file does not matter and no
//! default sneaks in); bad flags are usage errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::pulse_home;
use serde_json::Value;

fn ok(home: &std::path::Path, args: &[&str]) -> String {
    let out = pulse_home(home, args);
    assert!(
        out.status.success(),
        "pulse {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn one_tick_runs_the_due_intake_and_catches_up_a_runner_on_its_own_settings() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(h, &["-q", "clock", "set", "2024-03-01T12:00:00-05:00"]);
    // A runner started from a strategy file (the shipped rules with another RSI threshold).
    let rules = ok(h, &["strategy", "show", "pulse"]);
    let strategy = h.join("mine.toml");
    std::fs::write(&strategy, &rules).unwrap();
    ok(
        h,
        &[
            "-q",
            "trade",
            "run",
            "--name",
            "mine",
            "--strategy-config",
            strategy.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(&strategy).unwrap();
    let status: Value =
        serde_json::from_str(&ok(h, &["--json", "trade", "status", "--name", "mine"])).unwrap();
    let kept = &status["meta"]["settings"]["strategy"]["Text"];
    assert_eq!(kept["origin"], strategy.to_str().unwrap());
    assert_eq!(kept["toml"], rules.as_str());

    ok(h, &["-q", "rebalance", "init", "--calendar", "nyse"]);
    ok(
        h,
        &[
            "-q",
            "rebalance",
            "signal",
            "--mp",
            "stocks=0.8,cash=0.2",
            "--sub-mp",
            "stocks=TSLA,TSLL",
        ],
    );
    ok(h, &["-q", "clock", "set", "2024-03-11T08:31:00-04:00"]);
    let out = ok(h, &["schedule", "--ticks", "1"]);
    assert!(out.contains("rebalance: 2024-03-11 intake"), "{out}");
    assert!(
        out.contains("trade:mine: ") && out.contains("bar(s) decided"),
        "{out}"
    );
    // JSON lines, one per tick.
    ok(h, &["-q", "clock", "set", "2024-03-11T09:41:00-04:00"]);
    let json = ok(h, &["--json", "schedule", "--ticks", "1"]);
    let report: Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    let jobs = report["jobs"].as_array().unwrap();
    let rebalance = jobs.iter().find(|j| j["job"] == "rebalance").unwrap();
    assert!(
        rebalance["lines"].to_string().contains("execution"),
        "{report}"
    );
    assert_eq!(report["simulated"], true);
}

#[test]
fn bad_schedule_flags_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        vec!["schedule", "--every", "0"],
        vec!["schedule", "--ticks", "0"],
        vec!["serve", "--schedule-every", "0"],
    ] {
        let out = pulse_home(home.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
