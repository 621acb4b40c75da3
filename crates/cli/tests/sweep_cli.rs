//! `pulse sweep` end to end on the bundled TSLA/TSLL data: the best trial is re-checked by an
//! independent `pulse backtest` with its parameters written into the rule set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::Value;

mod common;
use common::{ok_json, pulse_home as pulse};

#[test]
fn sweep_finds_a_best_trial_that_an_independent_backtest_reproduces() {
    let home = tempfile::tempdir().unwrap();
    let report = home.path().join("sweep report.html");
    let j = ok_json(pulse(
        home.path(),
        &[
            "--json",
            "sweep",
            "--param",
            "rsi_high=65:80:5",
            "--param",
            "rsi_low=20:35:5",
            "--param",
            "indicators.rsi_period=10:14:4",
            "--constraint",
            "rsi_low < rsi_high",
            "--objective",
            "sharpe",
            "--method",
            "grid",
            "--budget",
            "32",
            "--walk-forward",
            "train=378,test=126",
            "--report",
            report.to_str().unwrap(),
        ],
    ));
    assert_eq!(j["trials"], 32);
    assert_eq!(j["window"]["sample"], "in-sample");
    // Trials ran through the sweep kernel (the backtest below is the general engine).
    assert_eq!(j["timing"]["engine"], "kernel");
    assert!(j["timing"]["trials_per_second"].as_f64().unwrap() > 0.0);
    let best = &j["best"];
    let score = best["score"].as_f64().unwrap();
    let top = j["top"].as_array().unwrap();
    assert!(top.iter().all(|t| t["score"].as_f64().unwrap() <= score));
    // Write the best parameters into the shipped rule set and backtest it independently.
    let toml =
        String::from_utf8(pulse(home.path(), &["strategy", "show", "pulse"]).stdout).unwrap();
    let p = &best["params"];
    let cfg = toml
        .replace(
            "rsi = 70.0 ",
            &format!("rsi = {:.1} ", p["rsi_high"].as_f64().unwrap()),
        )
        .replace(
            "rsi = 30.0 ",
            &format!("rsi = {:.1} ", p["rsi_low"].as_f64().unwrap()),
        )
        .replace(
            "rsi_period = 14",
            &format!(
                "rsi_period = {}",
                p["indicators.rsi_period"].as_f64().unwrap() as i64
            ),
        );
    let path = home.path().join("best.toml");
    std::fs::write(&path, cfg).unwrap();
    let bt = ok_json(pulse(
        home.path(),
        &[
            "--json",
            "backtest",
            "--no-report",
            "--strategy-config",
            path.to_str().unwrap(),
        ],
    ));
    let sharpe = bt["strategies"][0]["metrics"]["sharpe"].as_f64().unwrap();
    assert!(
        (sharpe - score).abs() < 1e-12,
        "sweep {score} vs backtest {sharpe}"
    );
    // Overfitting statistics and walk-forward are reported.
    let pbo = j["pbo"]["pbo"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&pbo));
    let dsr = j["deflated_sharpe"]["dsr"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&dsr));
    let folds = j["walk_forward"]["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 2);
    assert!(
        folds[0]["test"][0].as_str().unwrap() > folds[0]["train"][1].as_str().unwrap(),
        "test follows train"
    );
    // The report: the best parameters' backtest (IN-SAMPLE) with the search section.
    assert_eq!(j["report"].as_str(), report.to_str());
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for external in ["<script src", "<link ", "http://", "https://"] {
        assert!(!page.contains(external), "not self-contained: {external}");
    }
    assert!(page.contains("<section id=\"sweep\"><h2>Parameter search</h2>"));
    assert!(page.contains("<span class=\"badge in-sample\""));
    assert!(page.contains(">IN-SAMPLE</span>"));
    assert!(page.contains("<h3>Walk-forward validation <span class=\"badge out-of-sample\""));
    // Three heatmaps (every pair of the three parameters) and the strategy vs three benchmarks.
    assert!(page.contains("id=\"sweep-heat-2\""));
    assert!(!page.contains("id=\"sweep-heat-3\""));
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = page.find(open).unwrap() + open.len();
    let island: Value =
        serde_json::from_str(&page[start..start + page[start..].find("</script>").unwrap()])
            .unwrap();
    let sweep = &island["sweep"];
    assert_eq!(sweep["trials"], 32);
    assert_eq!(sweep["top"][0]["score"].as_f64().unwrap(), score);
    assert_eq!(sweep["heatmaps"].as_array().unwrap().len(), 3);
    assert_eq!(sweep["heatmaps"][0]["x_name"], "rsi_high");
    assert_eq!(sweep["heatmaps"][0]["y_name"], "rsi_low");
    // Max over the other parameter: the best trial's cell holds the best score.
    let hm = &sweep["heatmaps"][0];
    let ix = hm["x_values"]
        .as_array()
        .unwrap()
        .iter()
        .position(|v| v.as_f64() == p["rsi_high"].as_f64())
        .unwrap();
    let iy = hm["y_values"]
        .as_array()
        .unwrap()
        .iter()
        .position(|v| v.as_f64() == p["rsi_low"].as_f64())
        .unwrap();
    assert_eq!(hm["cells"][iy][ix].as_f64().unwrap(), score);
    assert_eq!(sweep["walk_forward"].as_array().unwrap().len(), 2);
    // The report's strategy curve is the best trial: same Sharpe as the independent backtest.
    let metrics_start = page.find("id=\"metrics\"").unwrap();
    assert!(page[metrics_start..].contains(&format!("{sharpe:.2}")));
    assert_eq!(island["charts"][0]["id"], "equity");
    assert_eq!(island["charts"][0]["series"].as_array().unwrap().len(), 4);
    // A bad parameter name is a usage error naming it.
    let bad = pulse(
        home.path(),
        &["sweep", "--param", "nonsense.key=1:2:1", "--budget", "2"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nonsense.key"));
    // Issue #12 item 8: a range wholly outside the parameter's domain, and a zero budget, are
    // usage errors instead of an empty table or a silent exit 0.
    for (args, needle) in [
        (
            vec!["sweep", "--param", "rsi_high=150:200:10", "--budget", "5"],
            "rsi_high",
        ),
        (
            vec!["sweep", "--param", "rsi_high=60:80:5", "--budget", "0"],
            "--budget",
        ),
    ] {
        let out = pulse(home.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn a_stored_study_resumes_without_redoing_trials_and_refuses_changed_settings() {
    let home = tempfile::tempdir().unwrap();
    let sweep = |budget: &str, objective: &str| {
        pulse(
            home.path(),
            &[
                "--json",
                "sweep",
                "--study",
                "s1",
                "--param",
                "rsi_high=65:80:5",
                "--param",
                "rsi_low=20:35:5",
                "--objective",
                objective,
                "--budget",
                budget,
            ],
        )
    };
    let first = ok_json(sweep("6", "sharpe"));
    assert_eq!(
        (first["trials"].as_u64(), first["new_trials"].as_u64()),
        (Some(6), Some(6))
    );
    // A bigger budget runs only the remaining grid points; the best covers all 16.
    let second = ok_json(sweep("16", "sharpe"));
    assert_eq!(
        (second["trials"].as_u64(), second["new_trials"].as_u64()),
        (Some(16), Some(10))
    );
    let fresh = ok_json(pulse(
        home.path(),
        &[
            "--json",
            "sweep",
            "--param",
            "rsi_high=65:80:5",
            "--param",
            "rsi_low=20:35:5",
            "--budget",
            "16",
        ],
    ));
    assert_eq!(second["best"]["number"], fresh["best"]["number"]);
    assert_eq!(second["best"]["score"], fresh["best"]["score"]);
    // PBO of the resumed study uses every trial's stored block moments.
    assert_eq!(second["pbo"]["pbo"], fresh["pbo"]["pbo"]);
    // Nothing left to do: a third run evaluates nothing.
    assert_eq!(
        ok_json(sweep("16", "sharpe"))["new_trials"].as_u64(),
        Some(0)
    );
    // The same study name with another objective is refused.
    let changed = sweep("16", "cagr");
    assert_eq!(changed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&changed.stderr).contains("other settings"));
}

#[test]
fn a_resumed_study_lists_its_stored_trials_and_prints_no_zero_trial_rate() {
    let home = tempfile::tempdir().unwrap();
    let args = |json: bool| {
        let mut a = vec![
            "sweep",
            "--study",
            "s2",
            "--param",
            "rsi_high=65:80:5",
            "--param",
            "rsi_low=20:35:5",
            "--budget",
            "16",
            "--top",
            "3",
        ];
        if json {
            a.insert(0, "--json");
        }
        a
    };
    let first = ok_json(pulse(home.path(), &args(true)));
    assert_eq!(first["new_trials"], 16);
    // Nothing new: the top table still lists the study's best (stored) trials, the JSON has no
    // trial rate, and the text says so instead of "0 trials/s".
    let again = ok_json(pulse(home.path(), &args(true)));
    assert_eq!(again["new_trials"], 0);
    assert_eq!(again["top"], first["top"]);
    assert!(again["timing"]["trials_per_second"].is_null());
    let out = pulse(home.path(), &args(false));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no new trials"), "{text}");
    assert!(!text.contains(" 0 trials/s"), "{text}");
    assert!(text.contains("study s2: 16 stored trials, 0 new"), "{text}");
    let best = first["top"][0]["number"].to_string();
    assert!(
        text.lines()
            .any(|l| l.starts_with("1 ") && l.split_whitespace().nth(1) == Some(best.as_str())),
        "{text}"
    );
}
