#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![cfg(feature = "lightgbm")]
//! pulse_ml::lgbm on real BTCUSDT features (the first 15,000 minutes): deterministic training,
//! save/load with identical predictions, the quantile and binary objectives doing what they
//! say, gain importances and a retrain on the 99.9 % selection, errors mapped to MlError.

mod common;
mod lgbm_common;

use std::path::PathBuf;

use pulse_ml::MlError;
use pulse_ml::lgbm::LgbmModel;
use pulse_ml::model::{LgbmParams, Objective, TrainingSet, names_at, select_by_importance};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lightgbm_model")
}

fn params(objective: Objective) -> LgbmParams {
    LgbmParams {
        objective,
        n_estimators: 60,
        learning_rate: 0.1,
        ..LgbmParams::default()
    }
}

fn training_set(p: &lgbm_common::Prepared, targets: &[Option<f64>]) -> TrainingSet {
    let mut set = TrainingSet::new(&p.names, None).unwrap();
    set.reserve_rows(targets.iter().flatten().count()).unwrap();
    set.push_reader(&mut p.reader(), targets).unwrap();
    set
}

#[test]
fn train_save_load_predict_select() {
    let p = lgbm_common::prepare("BTCUSDT", Some(15_000), 0.8, &dir());
    let set = training_set(&p, &p.net);
    assert!(set.n_rows() > 10_000, "{}", set.n_rows());

    // Deterministic: the same rows and parameters give the same model text.
    let reg = LgbmModel::train(set.clone(), &params(Objective::Regression)).unwrap();
    let again = LgbmModel::train(set.clone(), &params(Objective::Regression)).unwrap();
    let text = reg.to_model_string().unwrap();
    assert_eq!(text, again.to_model_string().unwrap());
    assert!(text.contains("objective=regression"), "{}", &text[..300]);
    assert_eq!(reg.num_trees(), 60);
    assert_eq!(reg.names(), p.names.as_slice());

    // Saved, loaded: the same names, trees and predictions bit for bit, whatever the chunking.
    let path = dir().join("btc_regression.txt");
    reg.save(&path).unwrap();
    assert!(!dir().join("btc_regression.txt.tmp").exists());
    let loaded = LgbmModel::load(&path).unwrap();
    assert_eq!(loaded.names(), reg.names());
    assert_eq!(loaded.num_trees(), 60);
    let a = reg.predict_reader(&mut p.reader(), 4096).unwrap();
    let b = loaded.predict_reader(&mut p.reader(), 777).unwrap();
    assert_eq!(a.len(), p.n_rows);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    // Any chunk size, even absurd ones, gives the same predictions.
    for chunk in [0, 1, usize::MAX] {
        let c = loaded.predict_reader(&mut p.reader(), chunk).unwrap();
        assert!(a.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
    assert_eq!(reg.predict(set.features()).unwrap().len(), set.n_rows());
    // The model fits its training rows better than their mean.
    let pred = reg.predict(set.features()).unwrap();
    let y = set.targets();
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64;
    let sse = |f: &dyn Fn(usize) -> f64| {
        (0..y.len())
            .map(|i| (f64::from(y[i]) - f(i)).powi(2))
            .sum::<f64>()
    };
    assert!(sse(&|i| pred[i]) < sse(&|_| mean));

    // Quantile 5 %: about 5 % of the training targets fall below the prediction.
    let q = LgbmModel::train(set.clone(), &params(Objective::Quantile { alpha: 0.05 })).unwrap();
    let q_text = q.to_model_string().unwrap();
    assert!(q_text.contains("\nobjective=quantile") && q_text.contains("[alpha: 0.05]"));
    let qp = q.predict(set.features()).unwrap();
    let below = (0..y.len()).filter(|&i| f64::from(y[i]) < qp[i]).count() as f64 / y.len() as f64;
    assert!((0.02..0.10).contains(&below), "{below}");
    assert!(qp.iter().sum::<f64>() < pred.iter().sum::<f64>());

    // Binary (the meta-label's objective): probabilities whose mean is near the hit rate.
    let bset = training_set(&p, &p.hit_tp);
    let bin = LgbmModel::train(bset.clone(), &params(Objective::Binary)).unwrap();
    let bp = bin.predict(bset.features()).unwrap();
    assert!(bp.iter().all(|&v| v > 0.0 && v < 1.0));
    let rate = bset.targets().iter().map(|&v| f64::from(v)).sum::<f64>() / bset.n_rows() as f64;
    let mean_p = bp.iter().sum::<f64>() / bp.len() as f64;
    assert!((mean_p - rate).abs() < 0.02, "{mean_p} vs {rate}");
    // Net returns are not 0/1 targets.
    assert!(matches!(
        LgbmModel::train(set.clone(), &params(Objective::Binary)),
        Err(MlError::Invalid(_))
    ));

    // Gain importances, the 99.9 % selection, a retrain on it; the new model still predicts
    // straight from the full feature file (columns matched by name).
    let gain = reg.importance_gain().unwrap();
    assert_eq!(gain.len(), p.names.len());
    assert!(gain.iter().all(|&g| g >= 0.0) && gain.iter().sum::<f64>() > 0.0);
    assert_eq!(reg.importance_split().unwrap().len(), p.names.len());
    let keep = select_by_importance(&gain, 0.999).unwrap();
    assert!(!keep.is_empty() && keep.len() <= p.names.len());
    let mut small = TrainingSet::new(&p.names, Some(&keep)).unwrap();
    small.push_reader(&mut p.reader(), &p.net).unwrap();
    let sel = LgbmModel::train(small, &params(Objective::Regression)).unwrap();
    assert_eq!(sel.names(), names_at(&p.names, &keep).unwrap().as_slice());
    assert_eq!(
        sel.predict_reader(&mut p.reader(), 1000).unwrap().len(),
        p.n_rows
    );
    println!(
        "BTCUSDT 15,000 min: {} training rows; 99.9 % of the gain in {} of {} features",
        set.n_rows(),
        keep.len(),
        p.names.len()
    );
}

#[test]
fn errors_come_back_as_ml_errors() {
    assert!(matches!(
        LgbmModel::from_model_string("not a model"),
        Err(MlError::LightGbm(_))
    ));
    assert!(matches!(
        LgbmModel::from_model_string("tree\0"),
        Err(MlError::Invalid(_))
    ));
    assert!(matches!(
        LgbmModel::load(&dir().join("does-not-exist.txt")),
        Err(MlError::Io(_))
    ));
    let names: Vec<String> = vec!["a".into(), "b".into()];
    let mut set = TrainingSet::new(&names, None).unwrap();
    assert!(matches!(
        LgbmModel::train(set.clone(), &LgbmParams::default()),
        Err(MlError::Invalid(_))
    ));
    for i in 0..400 {
        let x = i as f32;
        set.push_row(&[x, (i % 3) as f32], f64::from(x) * 0.5)
            .unwrap();
    }
    let bad_params = LgbmParams {
        learning_rate: -1.0,
        ..LgbmParams::default()
    };
    assert!(matches!(
        LgbmModel::train(set.clone(), &bad_params),
        Err(MlError::Invalid(_))
    ));
    let spaced = vec!["a b".to_string(), "c".to_string()];
    let mut bad_names = TrainingSet::new(&spaced, None).unwrap();
    bad_names.push_row(&[1.0, 2.0], 1.0).unwrap();
    assert!(matches!(
        LgbmModel::train(bad_names, &LgbmParams::default()),
        Err(MlError::Invalid(_))
    ));
    let m = LgbmModel::train(
        set,
        &LgbmParams {
            n_estimators: 5,
            min_data_in_leaf: 20,
            ..LgbmParams::default()
        },
    )
    .unwrap();
    assert!(matches!(
        m.predict(&[1.0, 2.0, 3.0]),
        Err(MlError::Invalid(_))
    ));
    assert_eq!(m.predict(&[]).unwrap(), Vec::<f64>::new());
    assert_eq!(m.predict(&[1.0, f32::NAN]).unwrap().len(), 1);
    // A model text whose names disagree with its feature count is refused.
    let text = m.to_model_string().unwrap();
    let broken = text.replace("feature_names=a b", "feature_names=a b c");
    assert!(LgbmModel::from_model_string(&broken).is_err());
}
