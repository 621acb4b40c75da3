#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![cfg(feature = "deep")]
//! `pulse_app::cycle` on the real data: a training writes the model directory (and no
//! `.partial`), progress is reported per epoch, a cancelled training writes nothing, the saved
//! model predicts what the trained one did, missing inputs are file errors.

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use pulse_app::AppError;
use pulse_app::cycle::{PredictRequest, TrainRequest, load, predict, train};

fn request(out: std::path::PathBuf) -> TrainRequest {
    let mut req = TrainRequest::new(
        pulse_testkit::shared_file("macro/FRED_MD_2026-08.csv"),
        pulse_testkit::shared_file("daily-ohlcv/VIX.csv"),
        out,
    );
    req.config.d_model = 8;
    req.config.heads = 2;
    req.config.layers = 1;
    req.config.ff = 16;
    req.config.epochs = 2;
    req
}

#[test]
fn train_save_load_predict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let req = request(out.clone());
    let epochs = Mutex::new(Vec::new());
    let outcome = train(
        &req,
        &|e| epochs.lock().unwrap().push(e.epoch),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(*epochs.lock().unwrap(), vec![1, 2]);
    assert!(out.join("cycle.safetensors").is_file());
    assert!(!dir.path().join("m.partial").exists());
    assert!(outcome.card.nber.is_none());
    let model = load(&out).unwrap();
    assert_eq!(model.card.split, outcome.card.split);
    let p = predict(&PredictRequest {
        model: out.clone(),
        fred_md: req.fred_md.clone(),
        vix: req.vix.clone(),
    })
    .unwrap();
    assert_eq!(p.prediction.probabilities, outcome.latest.probabilities);
    assert_eq!(p.test_accuracy, outcome.card.test.model.accuracy);
    // The directory exists now: a request error.
    let e = train(&req, &|_| {}, &AtomicBool::new(false)).unwrap_err();
    assert!(e.is_usage(), "{e}");
}

#[test]
fn cancelled_training_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let e = train(&request(out.clone()), &|_| {}, &AtomicBool::new(true)).unwrap_err();
    assert!(matches!(e, AppError::Interrupted), "{e}");
    assert!(!out.exists());
    assert!(!dir.path().join("m.partial").exists());
}

#[test]
fn missing_input_and_bad_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(dir.path().join("m"));
    req.fred_md = dir.path().join("nope.csv");
    let e = train(&req, &|_| {}, &AtomicBool::new(false)).unwrap_err();
    assert!(matches!(e, AppError::File { .. }), "{e}");
    let mut req = request(dir.path().join("m"));
    req.config.horizon = 0;
    let e = train(&req, &|_| {}, &AtomicBool::new(false)).unwrap_err();
    assert!(
        matches!(
            e,
            AppError::InvalidSetting {
                setting: "horizon",
                ..
            }
        ),
        "{e}"
    );
    assert!(load(dir.path()).is_err());
}
