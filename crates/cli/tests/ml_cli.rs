#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `pulse ml …` end to end on real Binance minute bars (3 pairs × 4 days of
//! `intraday-1m-many`): features → train → evaluate (JSON, text, HTML report) → runs; a training
//! killed with SIGKILL and one stopped by Ctrl-C (SIGINT) leave no model directory. Without the
//! `ml` cargo feature, `train` and `evaluate` exit 2.

mod common;

use std::io::Read;
use std::path::Path;

use common::pulse_db;

#[cfg(not(feature = "ml"))]
#[test]
fn train_and_evaluate_need_the_ml_feature() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    for args in [
        vec!["ml", "train", "--features", "f"],
        vec!["ml", "evaluate", "--models", "m"],
    ] {
        let out = pulse_db(&db, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("built without ML: cargo build --features ml"),
            "{err}"
        );
    }
}

/// Writes the first four days of each pair as `<dir>/<PAIR>.csv` and imports them into `db`.
#[cfg_attr(not(feature = "ml"), allow(dead_code))]
fn import_pairs(dir: &Path, db: &Path) {
    let mut paths = Vec::new();
    for pair in ["BTCUSDT", "ETHUSDT", "DOGEUSDT"] {
        let gz = pulse_testkit::shared_file(&format!("intraday-1m-many/{pair}.csv.gz"));
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(gz).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ts") || l.as_bytes().get(..10) < Some(b"2021-04-06"))
            .collect();
        let path = dir.join(format!("{pair}.csv"));
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        paths.push(path.display().to_string());
    }
    let mut args = vec!["-q", "data", "import"];
    args.extend(paths.iter().map(String::as_str));
    let out = pulse_db(db, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(feature = "ml")]
mod with_ml {
    use super::*;
    use common::ok_json;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    fn train_cmd(db: &Path, features: &Path, out: &Path, trees: &str) -> std::process::Command {
        let mut c = common::isolated(db.parent().unwrap());
        c.args(["--db"])
            .arg(db)
            .args(["ml", "train", "--features"])
            .arg(features)
            .arg("--out")
            .arg(out)
            .args(["--trees", trees, "--min-data-in-leaf", "100"]);
        c
    }

    /// Starts a long training and waits until its `.partial` directory exists.
    fn start_long_training(db: &Path, features: &Path, out: &Path) -> std::process::Child {
        let mut child = train_cmd(db, features, out, "1000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut partial = out.as_os_str().to_owned();
        partial.push(".partial");
        let started = Instant::now();
        while !Path::new(&partial).exists() {
            assert!(child.try_wait().unwrap().is_none(), "training ended early");
            assert!(started.elapsed() < Duration::from_secs(120));
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            child.try_wait().unwrap().is_none(),
            "training still running"
        );
        child
    }

    #[test]
    fn features_train_evaluate_runs_and_interrupted_trainings() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        import_pairs(dir.path(), &db);
        let features = dir.path().join("features");
        let f = features.display().to_string();
        let out = ok_json(pulse_db(
            &db,
            &[
                "--json",
                "ml",
                "features",
                "--symbols",
                "BTCUSDT,ETHUSDT,DOGEUSDT",
                "--out",
                &f,
            ],
        ));
        let symbols = out["manifest"]["symbols"].as_array().unwrap();
        assert_eq!(symbols.len(), 3);
        assert_eq!(symbols[0]["rows"], 5760);

        let models = dir.path().join("models");
        let trained = train_cmd(&db, &features, &models, "60")
            .arg("--json")
            .output()
            .unwrap();
        let trained = ok_json(trained);
        let run_id = trained["run"]["id"].as_u64().unwrap();
        assert!(trained["models"]["train_rows"].as_u64().unwrap() > 5000);
        assert!(models.join("expected_return.txt").is_file());
        assert!(models.join("quantile.txt").is_file());

        let report = dir.path().join("eval.html");
        let eval = ok_json(pulse_db(
            &db,
            &[
                "--json",
                "ml",
                "evaluate",
                "--run",
                &run_id.to_string(),
                "--threshold",
                "-1",
                "--report",
                report.to_str().unwrap(),
            ],
        ));
        let m = &eval["test"]["metrics"];
        let trades = m["trades"].as_u64().unwrap();
        assert!(trades > 20, "{m}");
        // The JSON's trades give the same figures by hand.
        let nets: Vec<f64> = eval["test"]["trades"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["net_return"].as_f64().unwrap())
            .collect();
        assert_eq!(nets.len() as u64, trades);
        let mean = nets.iter().sum::<f64>() / nets.len() as f64;
        assert!((m["expectancy_pct"].as_f64().unwrap() - mean * 100.0).abs() < 1e-9);
        let html = std::fs::read_to_string(&report).unwrap();
        assert!(html.contains("<svg"));

        let text = pulse_db(
            &db,
            &["ml", "evaluate", "--models", models.to_str().unwrap()],
        );
        assert!(
            text.status.success(),
            "{}",
            String::from_utf8_lossy(&text.stderr)
        );
        let stdout = String::from_utf8_lossy(&text.stdout);
        assert!(
            stdout.contains("profit factor") && stdout.contains("OUT OF SAMPLE"),
            "{stdout}"
        );

        let runs = ok_json(pulse_db(&db, &["--json", "ml", "runs"]));
        let runs = runs.as_array().unwrap();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[2]["kind"], "train");
        assert_eq!(runs[0]["parent"], run_id);

        // Usage errors exit 2: no model source; an unknown run.
        assert_eq!(pulse_db(&db, &["ml", "evaluate"]).status.code(), Some(2));
        let unknown = pulse_db(&db, &["ml", "evaluate", "--run", "99"]);
        assert_eq!(unknown.status.code(), Some(2));
        // A missing feature directory is a runtime error naming the file.
        let missing = pulse_db(&db, &["ml", "train", "--features", "/nonexistent/f"]);
        assert_eq!(missing.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/f/manifest.json"));

        // SIGKILL during the fit: no model directory.
        let killed = dir.path().join("killed");
        let mut child = start_long_training(&db, &features, &killed);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!killed.exists());

        // Ctrl-C (SIGINT): the fit in progress ends, nothing is saved, the .partial directory
        // is removed, exit 1 saying so, and the run is recorded as cancelled.
        let stopped = dir.path().join("stopped");
        let child = start_long_training(&db, &features, &stopped);
        let status = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
        assert!(!stopped.exists());
        let mut partial = stopped.as_os_str().to_owned();
        partial.push(".partial");
        assert!(!Path::new(&partial).exists());
        let runs = ok_json(pulse_db(&db, &["--json", "ml", "runs"]));
        assert_eq!(runs[0]["status"], "cancelled");
    }
}
