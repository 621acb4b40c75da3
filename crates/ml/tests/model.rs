#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The LightGBM-free parts of pulse_ml::model: the parameter list, the feature selection by
//! cumulative importance, and the training rows streamed from feature files.

use pulse_core::Bar;
use pulse_core::jiff::Timestamp;
use pulse_ml::MlError;
use pulse_ml::features::{FeatureConfig, compute_features};
use pulse_ml::model::{
    LgbmParams, Objective, ParamValue, TrainingSet, names_at, select_by_importance,
};
use pulse_ml::store::{RowReader, write_frame};

#[test]
fn parameter_list_is_documented_and_deterministic() {
    let p = LgbmParams {
        objective: Objective::Quantile { alpha: 0.05 },
        ..LgbmParams::default()
    };
    let list = p.to_lightgbm().unwrap();
    let get = |k: &str| list.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    assert_eq!(get("objective"), Some(ParamValue::Str("quantile")));
    assert_eq!(get("alpha"), Some(ParamValue::Float(0.05)));
    assert_eq!(get("num_iterations"), Some(ParamValue::Int(200)));
    assert_eq!(get("num_leaves"), Some(ParamValue::Int(31)));
    assert_eq!(get("learning_rate"), Some(ParamValue::Float(0.05)));
    assert_eq!(get("min_data_in_leaf"), Some(ParamValue::Int(200)));
    assert_eq!(get("feature_fraction"), Some(ParamValue::Float(0.8)));
    assert_eq!(get("bagging_fraction"), Some(ParamValue::Float(0.8)));
    assert_eq!(get("bagging_freq"), Some(ParamValue::Int(1)));
    assert_eq!(get("seed"), Some(ParamValue::Int(42)));
    assert_eq!(get("num_threads"), Some(ParamValue::Int(2)));
    assert_eq!(get("deterministic"), Some(ParamValue::Str("true")));
    assert_eq!(get("force_col_wise"), Some(ParamValue::Str("true")));
    assert_eq!(ParamValue::Float(0.05).to_string(), "0.05");

    let reg = LgbmParams::default().to_lightgbm().unwrap();
    assert!(reg.contains(&("objective", ParamValue::Str("regression"))));
    assert!(!reg.iter().any(|(k, _)| *k == "alpha"));
    let bin = LgbmParams {
        objective: Objective::Binary,
        ..LgbmParams::default()
    };
    assert!(
        bin.to_lightgbm()
            .unwrap()
            .contains(&("objective", ParamValue::Str("binary")))
    );

    // Out-of-range values are refused, not passed on.
    for bad in [
        LgbmParams {
            objective: Objective::Quantile { alpha: 1.0 },
            ..LgbmParams::default()
        },
        LgbmParams {
            learning_rate: f64::NAN,
            ..LgbmParams::default()
        },
        LgbmParams {
            num_leaves: 1,
            ..LgbmParams::default()
        },
        LgbmParams {
            n_estimators: 0,
            ..LgbmParams::default()
        },
        LgbmParams {
            feature_fraction: 0.0,
            ..LgbmParams::default()
        },
        LgbmParams {
            bagging_fraction: 1.5,
            ..LgbmParams::default()
        },
        LgbmParams {
            seed: u32::MAX,
            ..LgbmParams::default()
        },
        LgbmParams {
            num_threads: 0,
            ..LgbmParams::default()
        },
    ] {
        assert!(
            matches!(bad.to_lightgbm(), Err(MlError::Invalid(_))),
            "{bad:?}"
        );
    }
    // The parameters round-trip through JSON (for run tracking).
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"kind\":\"quantile\""), "{json}");
    assert_eq!(serde_json::from_str::<LgbmParams>(&json).unwrap(), p);
}

#[test]
fn selection_keeps_the_smallest_set_reaching_the_share() {
    // Total 1000: the top three make 990, the fourth reaches 999 = 99.9 %.
    let imp = [9.0, 500.0, 0.0, 300.0, 190.0, 1.0];
    assert_eq!(select_by_importance(&imp, 0.999).unwrap(), vec![0, 1, 3, 4]);
    assert_eq!(select_by_importance(&imp, 0.99).unwrap(), vec![1, 3, 4]);
    assert_eq!(select_by_importance(&imp, 0.5).unwrap(), vec![1]);
    assert_eq!(select_by_importance(&imp, 0.5001).unwrap(), vec![1, 3]);
    // Everything with any importance, never a zero one.
    assert_eq!(
        select_by_importance(&imp, 1.0).unwrap(),
        vec![0, 1, 3, 4, 5]
    );
    // Ties: the lower index first.
    assert_eq!(
        select_by_importance(&[1.0, 1.0, 1.0, 1.0], 0.5).unwrap(),
        vec![0, 1]
    );
    // keep = 1 keeps a feature too small to change the float sum; 0.999 does not need it.
    let awkward = [0.1, 0.2, 0.3, 1e-17, 0.7];
    assert_eq!(
        select_by_importance(&awkward, 1.0).unwrap(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        select_by_importance(&awkward, 0.999).unwrap(),
        vec![0, 1, 2, 4]
    );

    let names: Vec<String> = ["a", "b", "c", "d", "e", "f"].map(String::from).to_vec();
    assert_eq!(names_at(&names, &[1, 3]).unwrap(), vec!["b", "d"]);
    assert!(names_at(&names, &[6]).is_err());

    assert!(select_by_importance(&[0.0, 0.0], 0.999).is_err());
    assert!(select_by_importance(&[], 0.999).is_err());
    assert!(select_by_importance(&[1.0, -1.0], 0.999).is_err());
    assert_eq!(
        select_by_importance(&[1.0, f64::NAN], 0.999),
        Err(MlError::NonFinite(1))
    );
    for keep in [0.0, -0.1, 1.01, f64::NAN] {
        assert!(select_by_importance(&imp, keep).is_err(), "{keep}");
    }
}

fn synthetic_bars(n: usize, seed: u64) -> Vec<Bar> {
    let t0: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let mut s = seed;
    let mut price = 100.0;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = ((s >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.004;
            let open = price;
            price *= 1.0 + r;
            Bar {
                ts: Timestamp::from_second(t0.as_second() + 60 * i as i64).unwrap(),
                open,
                high: open.max(price) * 1.0005,
                low: open.min(price) * 0.9995,
                close: price,
                adj_close: None,
                volume: Some(1.0 + (i % 7) as f64),
            }
        })
        .collect()
}

#[test]
fn training_rows_stream_from_feature_files() {
    let cfg = FeatureConfig::default();
    let a = compute_features(&synthetic_bars(300, 1), &cfg).unwrap();
    let b = compute_features(&synthetic_bars(200, 2), &cfg).unwrap();
    let mut fa = Vec::new();
    let mut fb = Vec::new();
    write_frame(&a, &mut fa).unwrap();
    write_frame(&b, &mut fb).unwrap();
    let names = a.names().to_vec();
    let keep = [0usize, 3, 7];
    let mut set = TrainingSet::new(&names, Some(&keep)).unwrap();
    // Every other row of `a` labelled, rows 10..20 of `b`; one NaN target is skipped too.
    let ta: Vec<Option<f64>> = (0..300).map(|i| (i % 2 == 0).then_some(i as f64)).collect();
    let mut tb: Vec<Option<f64>> = (0..200)
        .map(|i| (10..20).contains(&i).then_some(-(i as f64)))
        .collect();
    tb[15] = Some(f64::NAN);
    set.reserve_rows(150 + 9).unwrap();
    let added_a = set
        .push_reader(&mut RowReader::new(fa.as_slice()).unwrap(), &ta)
        .unwrap();
    let added_b = set
        .push_reader(&mut RowReader::new(fb.as_slice()).unwrap(), &tb)
        .unwrap();
    assert_eq!((added_a, added_b), (150, 9));
    assert_eq!(set.n_rows(), 159);
    assert_eq!(set.n_cols(), 3);
    assert_eq!(set.columns(), &keep);
    assert_eq!(set.names(), names_at(&names, &keep).unwrap().as_slice());
    // Reserved once: no reallocation happened while streaming.
    assert_eq!(set.features().len(), 159 * 3);
    // Row k of the set is row 2k of `a` (then rows 10..20 of `b` without 15), kept columns only.
    let same = |x: f32, y: f32| x == y || (x.is_nan() && y.is_nan());
    for k in 0..150 {
        for (c, &j) in keep.iter().enumerate() {
            assert!(same(set.features()[3 * k + c], a.get(2 * k, j).unwrap()));
        }
        assert_eq!(set.targets()[k], (2 * k) as f32);
    }
    let b_rows: Vec<usize> = (10..20).filter(|&i| i != 15).collect();
    for (k, &i) in b_rows.iter().enumerate() {
        for (c, &j) in keep.iter().enumerate() {
            assert!(same(
                set.features()[3 * (150 + k) + c],
                b.get(i, j).unwrap()
            ));
        }
        assert_eq!(set.targets()[150 + k], -(i as f32));
    }

    // A file with other columns, a wrong target count, bad column choices are refused.
    let mut other = names.clone();
    other[0] = "something_else".into();
    let mut wrong = TrainingSet::new(&other, None).unwrap();
    assert!(
        wrong
            .push_reader(&mut RowReader::new(fa.as_slice()).unwrap(), &ta)
            .is_err()
    );
    assert!(
        set.push_reader(&mut RowReader::new(fa.as_slice()).unwrap(), &ta[..10])
            .is_err()
    );
    assert!(TrainingSet::new(&names, Some(&[3, 1])).is_err());
    assert!(TrainingSet::new(&names, Some(&[1, 1])).is_err());
    assert!(TrainingSet::new(&names, Some(&[names.len()])).is_err());
    assert!(TrainingSet::new(&names, Some(&[])).is_err());
    assert!(set.push_row(&[0.0; 3], 1.0).is_err());
    assert!(
        set.push_row(&vec![0.0; names.len()], f64::INFINITY)
            .is_err()
    );
    // A target beyond f32 is refused rather than stored as infinity.
    assert!(set.push_row(&vec![0.0; names.len()], 1e300).is_err());
    set.push_row(&vec![1.5; names.len()], 2.0).unwrap();
    assert_eq!(set.n_rows(), 160);
    assert_eq!(&set.features()[159 * 3..], &[1.5, 1.5, 1.5]);
}
