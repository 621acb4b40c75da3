#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `pulse forecast train|expected` end to end on real daily closes (SPY, TLT, GLD from
//! `daily-adjclose`): the training and test periods, the out-of-sample MASE table, the expected
//! returns at the training end and at the last bar, determinism, no look-ahead, a saved model
//! read back, and bad input; without the deep feature both commands exit 2.

mod common;

#[cfg(feature = "deep")]
use common::ok_json;
use common::{import_shared_adjclose, pulse_db};
use std::path::{Path, PathBuf};

fn store(dir: &Path) -> PathBuf {
    let db = dir.join("f.db");
    import_shared_adjclose(&db, &["SPY", "TLT", "GLD"]);
    db
}

#[cfg(not(feature = "deep"))]
#[test]
fn forecast_needs_the_deep_feature() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let m = dir.path().join("m");
    for args in [
        vec![
            "forecast",
            "train",
            "--symbols",
            "SPY",
            "--to",
            "2019-12-31",
            "--out",
            m.to_str().unwrap(),
        ],
        vec!["forecast", "expected", "--model", m.to_str().unwrap()],
        vec![
            "forecast",
            "optimize",
            "--model",
            m.to_str().unwrap(),
            "--symbols",
            "SPY,TLT",
        ],
    ] {
        let out = pulse_db(&db, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--features deep"));
    }
}

#[cfg(feature = "deep")]
fn train_args<'a>(symbols: &'a str, out: &'a str, seed: &'a str) -> Vec<&'a str> {
    vec![
        "--json",
        "forecast",
        "train",
        "--symbols",
        symbols,
        "--from",
        "2015-01-01",
        "--to",
        "2019-12-31",
        "--test-to",
        "2021-12-31",
        "--lookback",
        "20",
        "--horizon",
        "5",
        "--stacks",
        "2",
        "--blocks-per-stack",
        "1",
        "--layers",
        "2",
        "--width",
        "16",
        "--epochs",
        "2",
        "--seed",
        seed,
        "--out",
        out,
    ]
}

#[cfg(feature = "deep")]
#[test]
fn train_scores_out_of_sample_and_forecasts_expected_returns() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let model = dir.path().join("nb");
    let m = model.to_str().unwrap();
    let v = ok_json(pulse_db(&db, &train_args("SPY,TLT,GLD", m, "7")));
    assert_eq!(v["model"], m);
    for (i, sym) in ["SPY", "TLT", "GLD"].into_iter().enumerate() {
        let s = &v["series"][i];
        assert_eq!(s["symbol"], sym);
        assert_eq!(s["train_closes"], 1258);
        assert_eq!(s["first"], "2015-01-02T00:00:00Z");
        assert_eq!(s["train_last"], "2019-12-31T00:00:00Z");
        assert_eq!(s["test_closes"], 505);
        assert_eq!(s["test_last"], "2021-12-31T00:00:00Z");
        let a = &v["accuracy"][i]["accuracy"];
        // Every origin whose 5 targets lie in the 505 test returns.
        assert_eq!(a["origins"], 505 - 5 + 1);
        for k in ["nbeats", "naive", "last", "ewma", "scale"] {
            let x = a[k].as_f64().unwrap();
            assert!(x.is_finite() && x > 0.0, "{sym} {k}: {x}");
        }
        // Repeating the last daily return is a poor forecast of the next ones.
        assert!(a["last"].as_f64().unwrap() > a["naive"].as_f64().unwrap());
        let e = &v["expected"][i];
        assert_eq!(e["at_training_end"]["as_of"], "2019-12-31T00:00:00Z");
        assert_eq!(e["latest"]["as_of"], "2026-08-03T00:00:00Z");
        let ann = e["at_training_end"]["annual"].as_f64().unwrap();
        let sum = e["at_training_end"]["horizon_log_return"].as_f64().unwrap();
        assert!((ann - ((252.0 / 5.0) * sum).exp_m1()).abs() < 1e-9);
    }
    let mean = &v["mean"];
    assert_eq!(mean["symbols"], 3);
    let avg: f64 = (0..3)
        .map(|i| v["accuracy"][i]["accuracy"]["nbeats"].as_f64().unwrap())
        .sum::<f64>()
        / 3.0;
    assert!((mean["nbeats"].as_f64().unwrap() - avg).abs() < 1e-12);
    // Recorded in the tracking store: the first version of its kind and universe with an
    // out-of-sample score (minus the mean MASE over the test window) is the champion.
    let version = &v["version"];
    assert_eq!(version["kind"], "forecast");
    assert_eq!(version["stage"], "champion");
    assert_eq!(
        version["metrics"]["oos_score"].as_f64().unwrap(),
        -mean["nbeats"].as_f64().unwrap()
    );
    assert_eq!(version["symbols"], serde_json::json!(["SPY", "TLT", "GLD"]));
    assert_eq!(v["report"]["epochs_run"], 2);
    assert_eq!(v["report"]["loss"].as_array().unwrap().len(), 2);

    // Same seed, same data: the same weights, bit for bit.
    let again = dir.path().join("nb-again");
    ok_json(pulse_db(
        &db,
        &train_args("SPY,TLT,GLD", again.to_str().unwrap(), "7"),
    ));
    let bytes = |d: &Path| std::fs::read(d.join("nbeats.safetensors")).unwrap();
    assert_eq!(bytes(&model), bytes(&again));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("nbeats.json")).unwrap()).unwrap();
    assert_eq!(meta["meta"]["trained_through"], "2019-12-31T00:00:00Z");

    // The saved model read back: the same expected returns, now and at the training end.
    let e = ok_json(pulse_db(
        &db,
        &["--json", "forecast", "expected", "--model", m],
    ));
    assert_eq!(e["horizon"], 5);
    assert_eq!(e["trained_through"], "2019-12-31T00:00:00Z");
    // The EWMA column reads every stored return here, those from --from in training: the
    // weights of returns older than five years are below 2e-5.
    let same = |a: &serde_json::Value, b: &serde_json::Value| {
        for k in ["as_of", "annual", "horizon_log_return"] {
            assert_eq!(a[k], b[k], "{k}");
        }
        let (x, y) = (
            a["ewma_annual"].as_f64().unwrap(),
            b["ewma_annual"].as_f64().unwrap(),
        );
        assert!((x - y).abs() < 1e-9, "{x} {y}");
    };
    for i in 0..3 {
        assert_eq!(e["rows"][i]["symbol"], v["expected"][i]["symbol"]);
        same(&e["rows"][i]["expected"], &v["expected"][i]["latest"]);
        assert_eq!(e["rows"][i]["in_sample"], false);
    }
    let e = ok_json(pulse_db(
        &db,
        &[
            "--json",
            "forecast",
            "expected",
            "--model",
            m,
            "--symbols",
            "GLD",
            "--as-of",
            "2019-12-31",
        ],
    ));
    assert_eq!(e["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        e["rows"][0]["expected"],
        v["expected"][2]["at_training_end"]
    );
    assert_eq!(e["rows"][0]["in_sample"], true);
    // The text output: the MASE table and the expected returns.
    let out = pulse_db(&db, &["forecast", "expected", "--model", m]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("N-BEATS") && text.contains("TLT"), "{text}");

    // The forecast-informed strategies of SPEC §5 with the N-BEATS returns at --to.
    let o = ok_json(pulse_db(
        &db,
        &[
            "--json",
            "forecast",
            "optimize",
            "--model",
            m,
            "--symbols",
            "SPY,TLT,GLD",
            "--strategy",
            "min-vol-forecast",
            "--from",
            "2017-01-01",
            "--to",
            "2019-12-31",
        ],
    ));
    assert_eq!(o["return_source"], "N-BEATS");
    assert_eq!(o["window"]["last"], "2019-12-31");
    let w: f64 = ["SPY", "TLT", "GLD"]
        .iter()
        .map(|s| o["weights"][s].as_f64().unwrap())
        .sum();
    assert!((w - 1.0).abs() < 1e-9);
    // The portfolio's expected return is the weighted N-BEATS returns at the training end.
    let mu: f64 = (0..3)
        .map(|i| {
            let s = v["expected"][i]["symbol"].as_str().unwrap();
            assert_eq!(
                o["expected"][i]["expected"],
                v["expected"][i]["at_training_end"]
            );
            o["weights"][s].as_f64().unwrap()
                * v["expected"][i]["at_training_end"]["annual"]
                    .as_f64()
                    .unwrap()
        })
        .sum();
    assert!((o["expected_return"].as_f64().unwrap() - mu).abs() < 1e-9);
    let out = pulse_db(
        &db,
        &[
            "forecast",
            "optimize",
            "--model",
            m,
            "--symbols",
            "SPY,TLT",
            "--strategy",
            "hrp",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--strategy"));

    // A model is never overwritten; a symbol the model does not know is named.
    let out = pulse_db(&db, &train_args("SPY", m, "7"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
    let out = pulse_db(
        &db,
        &["forecast", "expected", "--model", m, "--symbols", "QQQ"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--symbols") && err.contains("QQQ"), "{err}");
}

/// Closes after the training end (here SPY's, moved by up to ±20 %) change neither the trained
/// weights nor the expected return forecast at the training end.
#[cfg(feature = "deep")]
#[test]
fn closes_after_the_training_end_are_never_read_in_training() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    import_shared_adjclose(&db, &["SPY"]);
    let src = pulse_testkit::shared_file("daily-adjclose/SPY.csv");
    let text = std::fs::read_to_string(&src).unwrap();
    let mut lines = text.lines();
    let mut out = String::from(lines.next().unwrap());
    out.push('\n');
    for (i, line) in lines.enumerate() {
        let (date, close) = line.split_once(',').unwrap();
        let mut c: f64 = close.parse().unwrap();
        if date > "2019-12-31" {
            c *= 1.0 + 0.2 * ((i as f64) * 0.61).sin();
        }
        out.push_str(&format!("{date},{c}\n"));
    }
    let pdir = dir.path().join("perturbed");
    std::fs::create_dir(&pdir).unwrap();
    let pfile = pdir.join("SPY.csv");
    std::fs::write(&pfile, out).unwrap();
    let db2 = dir.path().join("b.db");
    let imp = pulse_db(&db2, &["-q", "data", "import", pfile.to_str().unwrap()]);
    assert!(
        imp.status.success(),
        "{}",
        String::from_utf8_lossy(&imp.stderr)
    );

    let (ma, mb) = (dir.path().join("ma"), dir.path().join("mb"));
    let a = ok_json(pulse_db(&db, &train_args("SPY", ma.to_str().unwrap(), "3")));
    let b = ok_json(pulse_db(
        &db2,
        &train_args("SPY", mb.to_str().unwrap(), "3"),
    ));
    assert_eq!(
        std::fs::read(ma.join("nbeats.safetensors")).unwrap(),
        std::fs::read(mb.join("nbeats.safetensors")).unwrap()
    );
    assert_eq!(
        a["expected"][0]["at_training_end"],
        b["expected"][0]["at_training_end"]
    );
    assert_eq!(a["series"][0]["scale"], b["series"][0]["scale"]);
    assert_ne!(
        a["accuracy"][0]["accuracy"]["nbeats"],
        b["accuracy"][0]["accuracy"]["nbeats"]
    );
}

#[cfg(feature = "deep")]
#[test]
fn bad_settings_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let m = dir.path().join("m");
    let m = m.to_str().unwrap();
    let base = |extra: &[&'static str]| {
        let mut args = vec![
            "forecast",
            "train",
            "--symbols",
            "SPY",
            "--to",
            "2019-12-31",
            "--epochs",
            "1",
            "--width",
            "8",
            "--out",
            m,
        ];
        args.extend_from_slice(extra);
        args
    };
    for (extra, needle) in [
        (&["--horizon", "0"][..], "--horizon"),
        (&["--lookback", "0"][..], "--lookback"),
        (&["--learning-rate", "2"][..], "--learning-rate"),
        (&["--blocks-per-stack", "0"][..], "--blocks-per-stack"),
        (&["--validation", "0.95"][..], "--validation"),
        (&["--test-to", "2019-06-30"][..], "--test-to"),
        (&["--from", "2020-01-01"][..], "--from"),
        (&["--to", "someday"][..], "--to"),
    ] {
        let args = base(extra);
        let out = pulse_db(&db, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!Path::new(m).exists());
    }
    // No model there: named, exit 2.
    let out = pulse_db(&db, &["forecast", "expected", "--model", m]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--model"));
    // Too little data in the training period: a data error (exit 1) naming the symbol.
    let out = pulse_db(
        &db,
        &[
            "forecast",
            "train",
            "--symbols",
            "GLD",
            "--from",
            "2019-11-01",
            "--to",
            "2019-12-31",
            "--out",
            m,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GLD"));
}

/// Ctrl-C during training: exit 1, nothing saved (neither the model directory nor a temporary
/// sibling).
#[cfg(all(feature = "deep", unix))]
#[test]
fn ctrl_c_during_training_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    import_shared_adjclose(&db, &["SPY"]);
    let out = dir.path().join("stopped");
    let child = common::isolated(dir.path())
        .arg("--db")
        .arg(&db)
        .args([
            "forecast",
            "train",
            "--symbols",
            "SPY",
            "--to",
            "2019-12-31",
            "--epochs",
            "100000",
            "--validation",
            "0",
            "--width",
            "8",
            "--out",
        ])
        .arg(&out)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Loading the closes takes well under a second; then the epochs run until stopped.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let done = child.wait_with_output().unwrap();
    assert_eq!(
        done.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("nothing was saved"));
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("stopped"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
