#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `pulse cycle train|predict` end to end on the real FRED-MD, VIX and NBER files (a tiny
//! network, two epochs): the JSON shapes, the model directory, a second training into the same
//! directory refused, a malformed file named with its line and column. Without the `deep` cargo
//! feature both commands exit 2.

mod common;

use std::path::Path;

#[cfg_attr(not(feature = "deep"), allow(dead_code))]
fn shared(rel: &str) -> String {
    pulse_testkit::shared_file(rel).display().to_string()
}

fn pulse(home: &Path, args: &[&str]) -> std::process::Output {
    common::isolated(home)
        .args(args)
        .current_dir(home)
        .env("XDG_DATA_HOME", home)
        .output()
        .unwrap()
}

#[cfg(not(feature = "deep"))]
#[test]
fn train_and_predict_need_the_deep_feature() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec![
            "cycle",
            "train",
            "--fred-md",
            "f.csv",
            "--vix",
            "v.csv",
            "--out",
            "m",
        ],
        vec![
            "cycle",
            "predict",
            "--model",
            "m",
            "--fred-md",
            "f.csv",
            "--vix",
            "v.csv",
        ],
    ] {
        let out = pulse(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--features deep"), "{err}");
    }
}

#[test]
fn flags_are_required() {
    let dir = tempfile::tempdir().unwrap();
    let out = pulse(dir.path(), &["cycle", "train", "--out", "m"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--fred-md"), "{err}");
}

#[cfg(feature = "deep")]
mod with_deep {
    use super::*;
    use common::ok_json;

    fn train_args<'a>(fred: &'a str, vix: &'a str, nber: &'a str, out: &'a str) -> Vec<&'a str> {
        vec![
            "--json",
            "cycle",
            "train",
            "--fred-md",
            fred,
            "--vix",
            vix,
            "--nber",
            nber,
            "--epochs",
            "2",
            "--d-model",
            "8",
            "--heads",
            "2",
            "--layers",
            "1",
            "--seed",
            "3",
            "--out",
            out,
        ]
    }

    #[test]
    fn train_then_predict() {
        let dir = tempfile::tempdir().unwrap();
        let (fred, vix, nber) = (
            shared("macro/FRED_MD_2026-08.csv"),
            shared("daily-ohlcv/VIX.csv"),
            shared("macro/NBER_recessions.csv"),
        );
        let model = dir.path().join("model");
        let model_s = model.display().to_string();
        let t = ok_json(pulse(dir.path(), &train_args(&fred, &vix, &nber, &model_s)));
        assert_eq!(t["dir"], model_s.as_str());
        assert!(model.join("cycle.safetensors").is_file());
        assert!(model.join("cycle.json").is_file());
        assert!(!dir.path().join("model.partial").exists());
        let card = &t["card"];
        assert_eq!(card["config"]["horizon"], 3);
        assert_eq!(card["config"]["lookback"], 60);
        assert_eq!(card["split"]["test"]["samples"], 144);
        assert_eq!(card["split"]["gap_months"], 3);
        for set in ["validation", "test"] {
            for who in ["model", "persistence", "majority"] {
                let a = card[set][who]["accuracy"].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&a), "{set} {who} {a}");
                assert_eq!(card[set][who]["confusion"].as_array().unwrap().len(), 4);
            }
        }
        assert_eq!(card["test"]["persistence"]["samples"], 144);
        assert_eq!(card["nber"]["nber_recession_months"], 81);
        assert_eq!(card["features"].as_array().unwrap().len(), 7);
        assert_eq!(card["standardizer"]["mean"].as_array().unwrap().len(), 7);
        assert_eq!(t["latest"]["month"], "2026-06");
        // cycle.json on disk is the card.
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(model.join("cycle.json")).unwrap()).unwrap();
        assert_eq!(&on_disk, card);

        let p = ok_json(pulse(
            dir.path(),
            &[
                "--json",
                "cycle",
                "predict",
                "--model",
                &model_s,
                "--fred-md",
                &fred,
                "--vix",
                &vix,
            ],
        ));
        let pred = &p["prediction"];
        assert_eq!(
            pred, &t["latest"],
            "predict from the saved files = the trained model"
        );
        assert_eq!(pred["target_month"], "2026-09");
        let regime = pred["regime"].as_str().unwrap();
        assert!(["expansion", "overheat", "recession", "recovery"].contains(&regime));
        let probs = pred["probabilities"].as_object().unwrap();
        assert_eq!(probs.len(), 4);
        let sum: f64 = probs.values().map(|v| v.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-5);
        let a = &pred["allocation"];
        let total = a["stocks"].as_f64().unwrap()
            + a["bonds"].as_f64().unwrap()
            + a["cash"].as_f64().unwrap();
        assert!((total - 1.0).abs() < 1e-9);
        assert_eq!(p["test_accuracy"], card["test"]["model"]["accuracy"]);

        // Text output.
        let out = pulse(
            dir.path(),
            &[
                "cycle",
                "predict",
                "--model",
                &model_s,
                "--fred-md",
                &fred,
                "--vix",
                &vix,
            ],
        );
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("forecast from 2026-06 for 2026-09"), "{text}");

        // Same seed, same weights; an existing directory is refused (exit 2).
        let again = dir.path().join("again");
        let again_s = again.display().to_string();
        ok_json(pulse(dir.path(), &train_args(&fred, &vix, &nber, &again_s)));
        assert_eq!(
            std::fs::read(model.join("cycle.safetensors")).unwrap(),
            std::fs::read(again.join("cycle.safetensors")).unwrap()
        );
        let out = pulse(dir.path(), &train_args(&fred, &vix, &nber, &model_s));
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));

        // The model registry: the first version became the champion on its test accuracy; the
        // second, with the same score on the same test months, stays a candidate.
        let v = &t["version"];
        assert_eq!(v["kind"], "cycle");
        assert_eq!(v["stage"], "champion");
        assert_eq!(v["metrics"]["oos_score"], card["test"]["model"]["accuracy"]);
        assert_eq!(v["artifacts"]["models_dir"], model_s.as_str());
        let runs = ok_json(pulse(dir.path(), &["--json", "ml", "runs"]));
        let stages: Vec<(&str, &str)> = runs
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["kind"].as_str().unwrap(), r["stage"].as_str().unwrap()))
            .collect();
        assert_eq!(stages, [("cycle", "candidate"), ("cycle", "champion")]);
        let (first, second) = (v["id"].as_u64().unwrap(), runs[0]["id"].as_u64().unwrap());
        // A person promotes the second: the first is retired; then retires it.
        let p = ok_json(pulse(
            dir.path(),
            &["--json", "ml", "promote", &second.to_string()],
        ));
        assert_eq!(p["stage"], "champion");
        let runs = ok_json(pulse(dir.path(), &["--json", "ml", "runs"]));
        let stage_of = |id: u64| {
            runs.as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id)
                .unwrap()["stage"]
                .clone()
        };
        assert_eq!(stage_of(first), "retired");
        assert_eq!(stage_of(second), "champion");
        let r = ok_json(pulse(
            dir.path(),
            &["--json", "ml", "retire", &second.to_string()],
        ));
        assert_eq!(r["stage"], "retired");
        let text = String::from_utf8_lossy(&pulse(dir.path(), &["ml", "runs"]).stdout).to_string();
        assert!(text.contains("retired") && text.contains("stage"), "{text}");
        // An unknown id is refused (exit 2, as every unknown name given on the command line).
        let out = pulse(dir.path(), &["ml", "promote", "99"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no ML run 99"));
    }

    #[test]
    fn ctrl_c_during_training_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("stopped");
        let (fred, vix) = (
            shared("macro/FRED_MD_2026-08.csv"),
            shared("daily-ohlcv/VIX.csv"),
        );
        let child = common::isolated(dir.path())
            .args([
                "--json",
                "cycle",
                "train",
                "--fred-md",
                &fred,
                "--vix",
                &vix,
            ])
            .args(["--epochs", "100000", "--patience", "100000", "--out"])
            .arg(&out)
            .current_dir(dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Reading the files takes well under a second; then the epochs run until stopped.
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
        assert!(String::from_utf8_lossy(&done.stderr).contains("interrupted: training stopped"));
        assert!(!out.exists());
        assert!(!dir.path().join("stopped.partial").exists());
    }

    #[test]
    fn malformed_file_and_bad_settings() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("fred.csv");
        std::fs::write(&bad, "period,INDPRO\n1990-01,1\n1990-02,oops\n").unwrap();
        let bad_s = bad.display().to_string();
        let vix = shared("daily-ohlcv/VIX.csv");
        let out_dir = dir.path().join("m").display().to_string();
        let out = pulse(
            dir.path(),
            &[
                "cycle",
                "train",
                "--fred-md",
                &bad_s,
                "--vix",
                &vix,
                "--out",
                &out_dir,
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("fred.csv:3: column 2 (INDPRO): not a finite number"),
            "{err}"
        );
        assert!(!dir.path().join("m").exists());
        let fred = shared("macro/FRED_MD_2026-08.csv");
        let out = pulse(
            dir.path(),
            &[
                "cycle",
                "train",
                "--fred-md",
                &fred,
                "--vix",
                &vix,
                "--horizon",
                "0",
                "--out",
                &out_dir,
            ],
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--horizon"));
    }

    /// The forecast's allocation as the rebalancer's MP signal: checked, then stored, then carried.
    #[test]
    fn signal_feeds_the_rebalancer() {
        let dir = tempfile::tempdir().unwrap();
        let (fred, vix, nber) = (
            shared("macro/FRED_MD_2026-08.csv"),
            shared("daily-ohlcv/VIX.csv"),
            shared("macro/NBER_recessions.csv"),
        );
        let model = dir.path().join("model");
        let model_s = model.display().to_string();
        let t = ok_json(pulse(dir.path(), &train_args(&fred, &vix, &nber, &model_s)));
        let alloc = &t["latest"]["allocation"];
        let base = ["--model", &model_s, "--fred-md", &fred, "--vix", &vix];
        let signal = |extra: &[&str]| {
            let mut args = vec!["--json", "cycle", "signal"];
            args.extend(base);
            args.extend(extra);
            pulse(dir.path(), &args)
        };
        // No rebalancer yet: a runtime error naming the fix.
        let out = signal(&["--stocks", "SPY", "--bonds", "TLT"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("pulse rebalance init"));
        assert!(
            pulse(
                dir.path(),
                &["-q", "rebalance", "init", "--calendar", "nyse"]
            )
            .status
            .success()
        );
        // Without securities for bonds the rebalancer refuses the class.
        let out = signal(&["--stocks", "SPY"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("bonds"));
        let v = ok_json(signal(&["--stocks", "SPY,QQQ", "--bonds", "TLT"]));
        assert_eq!(v["submitted"], false);
        for (class, key) in [("stocks", "stocks"), ("bonds", "bonds"), ("cash", "cash")] {
            assert_eq!(v["signal"]["mp"][class], alloc[key], "{class}");
        }
        assert_eq!(
            v["signal"]["sub_mp"]["stocks"],
            serde_json::json!(["SPY", "QQQ"])
        );
        // Stored, then a later signal without securities carries the stored Sub-MPs over.
        let v = ok_json(signal(&[
            "--stocks", "SPY,QQQ", "--bonds", "TLT", "--submit",
        ]));
        assert_eq!(v["submitted"], true);
        let v = ok_json(signal(&[]));
        assert_eq!(v["signal"]["sub_mp"]["bonds"], serde_json::json!(["TLT"]));
        let out = signal(&["--classes", "stocks,bonds"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--classes"));
    }
}
