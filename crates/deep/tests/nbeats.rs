#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! N-BEATS (issue 17 item 5): the forward pass and the generic basis by hand, the doubly
//! residual property, determinism, save/load, no look-ahead, MASE by hand and bad settings, on
//! real daily closes (SPY, TLT, GLD from `daily-adjclose`).

use pulse_deep::nbeats::{
    MODEL_FILE, NbeatsConfig, NbeatsError, NbeatsModel, TrainProgress, TrainSeries, WEIGHTS_FILE,
    annualised, evaluate, ewma_mean, log_returns, mase, naive_mae, train,
};
use std::path::Path;

/// (date, adjusted close) of a ticker from the shared data.
fn closes(ticker: &str) -> Vec<(String, f64)> {
    let root = std::env::var_os("PULSE_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = root.join(format!("daily-adjclose/{ticker}.csv"));
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].parse::<f64>().unwrap())
        })
        .collect()
}

/// Closes of `ticker` from `from` to `to` (ISO dates, inclusive) and how many lie up to `train_to`.
fn window(ticker: &str, from: &str, train_to: &str, to: &str) -> (Vec<f64>, usize) {
    let rows: Vec<(String, f64)> = closes(ticker)
        .into_iter()
        .filter(|(d, _)| d.as_str() >= from && d.as_str() <= to)
        .collect();
    let train_len = rows.iter().filter(|(d, _)| d.as_str() <= train_to).count();
    (rows.into_iter().map(|(_, c)| c).collect(), train_len)
}

fn tiny(seed: u64) -> NbeatsConfig {
    NbeatsConfig {
        lookback: 20,
        horizon: 5,
        stacks: 2,
        blocks_per_stack: 2,
        layers: 2,
        width: 16,
        epochs: 2,
        batch_size: 64,
        seed,
        ..NbeatsConfig::default()
    }
}

fn always(_: &TrainProgress) -> bool {
    true
}

/// SPY and TLT, 2016–2018 closes, training through 2017.
fn two_series() -> Vec<(&'static str, Vec<f64>, usize)> {
    ["SPY", "TLT"]
        .into_iter()
        .map(|t| {
            let (c, n) = window(t, "2016-01-01", "2017-12-29", "2018-12-31");
            (t, c, n)
        })
        .collect()
}

fn as_train<'a>(s: &'a [(&'static str, Vec<f64>, usize)]) -> Vec<TrainSeries<'a>> {
    s.iter()
        .map(|(n, c, l)| TrainSeries {
            name: n,
            closes: c,
            train_len: *l,
        })
        .collect()
}

/// Two blocks of one layer of width 2, lookback 2, horizon 1: every product by hand.
#[test]
fn forward_pass_and_generic_basis_by_hand() {
    let cfg = NbeatsConfig {
        lookback: 2,
        horizon: 1,
        stacks: 1,
        blocks_per_stack: 2,
        layers: 1,
        width: 2,
        ..NbeatsConfig::default()
    };
    #[rustfmt::skip]
    let weights: Vec<f32> = vec![
        // block 0: fc0 W [[1,0],[0,-1]], b [0,0]
        1.0, 0.0, 0.0, -1.0, 0.0, 0.0,
        // θ_b W [[2,0],[0,3]], θ_f W [[1,1]]
        2.0, 0.0, 0.0, 3.0, 1.0, 1.0,
        // backcast basis W [[.5,0],[0,.5]], b [0,1]; forecast basis W [[2]], b [.5]
        0.5, 0.0, 0.0, 0.5, 0.0, 1.0, 2.0, 0.5,
        // block 1: fc0 W [[1,1],[1,-1]], b [.5,0]
        1.0, 1.0, 1.0, -1.0, 0.5, 0.0,
        // θ_b W [[1,0],[1,0]], θ_f W [[2,5]]
        1.0, 0.0, 1.0, 0.0, 2.0, 5.0,
        // backcast basis W identity, b [0,0]; forecast basis W [[1]], b [-1]
        1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0,
    ];
    let model = NbeatsModel::from_flat(cfg, &weights).unwrap();
    let d = model.decompose(&[1.0, 2.0]).unwrap();
    // Block 0: h = relu([1, −2]) = [1, 0]; θ_b = [2, 0]; θ_f = [1];
    // backcast = [.5·2 + 0, .5·0 + 1] = [1, 1]; forecast = 2·1 + .5 = 2.5.
    assert_eq!(d.backcasts[0], vec![1.0, 1.0]);
    assert_eq!(d.forecasts[0], vec![2.5]);
    assert_eq!(d.residuals[1], vec![0.0, 1.0]);
    // Block 1 reads [0, 1]: h = relu([1.5, −1]) = [1.5, 0]; θ_b = [1.5, 1.5]; θ_f = [3];
    // backcast = [1.5, 1.5]; forecast = 3 − 1 = 2.
    assert_eq!(d.backcasts[1], vec![1.5, 1.5]);
    assert_eq!(d.forecasts[1], vec![2.0]);
    assert_eq!(d.residuals[2], vec![-1.5, -0.5]);
    assert_eq!(d.forecast, vec![4.5]);
    // In log returns at scale 0.1: inputs divided by it, the forecast multiplied back.
    let f = model.forecast(&[0.3, 0.1, 0.2], 0.1).unwrap();
    assert!((f[0] - 0.45).abs() < 1e-6, "{f:?}");
    assert!(model.forecast(&[0.1], 0.1).is_err());
    assert!(model.forecast(&[0.1, 0.2], 0.0).is_err());
    assert!(model.decompose(&[1.0]).is_err());
    assert!(NbeatsModel::from_flat(tiny(1), &weights).is_err());
}

#[test]
fn doubly_residual_on_a_trained_network() {
    let data = two_series();
    let (model, report) = train(&as_train(&data), &tiny(3), always).unwrap();
    assert_eq!(report.epochs_run, 2);
    assert_eq!(report.loss.len(), 2);
    let (_, c, n) = &data[0];
    let r = log_returns("SPY", &c[..*n]).unwrap();
    let scale = model.scale_of("SPY").unwrap();
    let input: Vec<f32> = r[r.len() - 20..]
        .iter()
        .map(|v| (v / scale) as f32)
        .collect();
    let d = model.decompose(&input).unwrap();
    assert_eq!(d.forecasts.len(), 4);
    assert_eq!(d.residuals.len(), 5);
    assert_eq!(d.residuals[0], input);
    for l in 0..4 {
        for i in 0..20 {
            let expect = d.residuals[l][i] - d.backcasts[l][i];
            assert!((d.residuals[l + 1][i] - expect).abs() < 1e-6);
        }
    }
    for h in 0..5 {
        let sum: f32 = d.forecasts.iter().map(|f| f[h]).sum();
        assert!((d.forecast[h] - sum).abs() < 1e-5);
    }
    // The scale is the sample standard deviation of the training log returns.
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    let sd = (r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64).sqrt();
    assert!((scale - sd).abs() < 1e-12);
    // The last 20 % of the training returns are the validation tail.
    let n = r.len();
    let split = n - (n as f64 * 0.2).ceil() as usize;
    assert_eq!(model.meta().series[0].windows, split - 25 + 1);
    assert_eq!(model.meta().series[0].validation_windows, n - split - 5 + 1);
}

/// The model keeps the epoch with the lowest validation loss: the same weights as a training
/// that stops at that epoch.
#[test]
fn early_stopping_keeps_the_best_epoch() {
    let data = two_series();
    let cfg = NbeatsConfig {
        epochs: 8,
        patience: 2,
        learning_rate: 0.01,
        ..tiny(9)
    };
    let (model, report) = train(&as_train(&data), &cfg, always).unwrap();
    assert_eq!(report.val_loss.len(), report.epochs_run);
    let argmin = report
        .val_loss
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(report.best_epoch, argmin + 1);
    if report.stopped_early {
        assert_eq!(report.epochs_run, report.best_epoch + 2);
    }
    let shorter = NbeatsConfig {
        epochs: report.best_epoch,
        ..cfg.clone()
    };
    let (same, _) = train(&as_train(&data), &shorter, always).unwrap();
    assert_eq!(model.weights_flat(), same.weights_flat());
    // Without a validation tail every window trains and every epoch runs.
    let all = NbeatsConfig {
        validation: 0.0,
        ..cfg
    };
    let (_, r) = train(&as_train(&data), &all, always).unwrap();
    assert!(r.val_loss.is_empty() && !r.stopped_early);
    assert_eq!((r.epochs_run, r.best_epoch), (8, 8));
    assert_eq!(r.validation_windows, 0);
    assert_eq!(
        r.windows,
        report.windows + report.validation_windows + 2 * (5 - 1)
    );
}

#[test]
fn same_seed_identical_weights_other_seed_differs_and_save_load() {
    let data = two_series();
    let series = as_train(&data);
    let (a, ra) = train(&series, &tiny(7), always).unwrap();
    let (b, rb) = train(&series, &tiny(7), always).unwrap();
    let (c, _) = train(&series, &tiny(8), always).unwrap();
    assert_eq!(ra, rb);
    let dir = tempfile::tempdir().unwrap();
    let save = |m: &NbeatsModel, name: &str| {
        let d = dir.path().join(name);
        m.save(&d).unwrap();
        d
    };
    let (da, db, dc) = (save(&a, "a"), save(&b, "b"), save(&c, "c"));
    let bytes = |d: &Path| std::fs::read(d.join(WEIGHTS_FILE)).unwrap();
    assert_eq!(
        bytes(&da),
        bytes(&db),
        "same seed: bit-identical safetensors"
    );
    assert_ne!(bytes(&da), bytes(&dc), "another seed: other weights");
    // Round trip.
    let loaded = NbeatsModel::load(&da).unwrap();
    assert_eq!(loaded, a);
    let r = log_returns("TLT", &data[1].1).unwrap();
    let scale = a.scale_of("TLT").unwrap();
    assert_eq!(
        loaded.forecast(&r, scale).unwrap(),
        a.forecast(&r, scale).unwrap()
    );
    // Never overwritten; no temporary directory left behind.
    let err = a.save(&da).unwrap_err();
    assert!(err.to_string().contains("never overwritten"), "{err}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    // A broken file is named.
    std::fs::write(da.join(MODEL_FILE), "{").unwrap();
    let err = NbeatsModel::load(&da).unwrap_err().to_string();
    assert!(err.contains(MODEL_FILE), "{err}");
    std::fs::remove_file(db.join(WEIGHTS_FILE)).unwrap();
    let err = NbeatsModel::load(&db).unwrap_err().to_string();
    assert!(err.contains(WEIGHTS_FILE), "{err}");
}

/// Closes after the training end change neither the trained weights nor the forecast made at the
/// training end; they do change the out-of-sample scores.
#[test]
fn no_look_ahead() {
    let data = two_series();
    let mut perturbed = data.clone();
    for (_, c, n) in &mut perturbed {
        for (i, v) in c.iter_mut().enumerate().skip(*n) {
            *v *= 1.0 + 0.05 * ((i as f64) * 0.37).sin();
        }
    }
    let (a, _) = train(&as_train(&data), &tiny(5), always).unwrap();
    let (b, _) = train(&as_train(&perturbed), &tiny(5), always).unwrap();
    assert_eq!(a.weights_flat(), b.weights_flat());
    for ((name, c, n), (_, p, _)) in data.iter().zip(&perturbed) {
        let scale = a.scale_of(name).unwrap();
        let fa = a
            .forecast(&log_returns(name, &c[..*n]).unwrap(), scale)
            .unwrap();
        let fb = b
            .forecast(&log_returns(name, &p[..*n]).unwrap(), scale)
            .unwrap();
        assert_eq!(fa, fb);
        let ea = evaluate(&a, name, c, *n, c.len(), scale).unwrap().unwrap();
        let eb = evaluate(&b, name, p, *n, p.len(), scale).unwrap().unwrap();
        assert_eq!(ea.scale, eb.scale, "the MASE scale is in sample");
        assert_ne!(ea.nbeats, eb.nbeats);
    }
}

#[test]
fn mase_and_baselines_by_hand() {
    // Hyndman's scale: (|3−1| + |2−3| + |6−2|) / 3 = 7/3.
    assert!((naive_mae(&[1.0, 3.0, 2.0, 6.0]).unwrap() - 7.0 / 3.0).abs() < 1e-12);
    // mean(|1−0|, |2−4|) / (7/3) = 1.5 · 3/7 = 9/14.
    assert!((mase(&[1.0, 2.0], &[0.0, 4.0], 7.0 / 3.0).unwrap() - 9.0 / 14.0).abs() < 1e-12);
    assert!(mase(&[1.0], &[1.0, 2.0], 1.0).is_none());
    assert!(mase(&[1.0], &[1.0], 0.0).is_none());
    assert!(naive_mae(&[1.0]).is_none());
    // EWMA span 3: α = ½, (3 + ½·2 + ¼·1) / (1 + ½ + ¼) = 4.25 / 1.75.
    assert!((ewma_mean(&[1.0, 2.0, 3.0], 3.0).unwrap() - 4.25 / 1.75).abs() < 1e-12);
    // 20 daily log returns of 0.001: exp(252 · 0.001) − 1.
    assert!((annualised(&[0.001; 20], 252.0).unwrap() - (0.252f64.exp() - 1.0)).abs() < 1e-12);
    assert!(annualised(&[], 252.0).is_none());

    // evaluate on GLD 2019–2020 (training 2019) against the textbook formulas written out here.
    let (c, n) = window("GLD", "2019-01-01", "2019-12-31", "2020-12-31");
    let cfg = tiny(11);
    let (model, _) = train(
        &[TrainSeries {
            name: "GLD",
            closes: &c,
            train_len: n,
        }],
        &cfg,
        always,
    )
    .unwrap();
    let scale = model.scale_of("GLD").unwrap();
    let acc = evaluate(&model, "GLD", &c, n, c.len(), scale)
        .unwrap()
        .unwrap();
    let r: Vec<f64> = c.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let train_r = &r[..n - 1];
    let q =
        train_r.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (train_r.len() - 1) as f64;
    assert!((acc.scale - q).abs() < 1e-15);
    let (l, h) = (cfg.lookback, cfg.horizon);
    let origins: Vec<usize> = (n - 1..=r.len() - h).filter(|&t| t >= l).collect();
    assert_eq!(acc.origins, origins.len());
    let (mut e_naive, mut e_last, mut e_ewma, mut e_nb, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let alpha = 2.0 / (cfg.ewma_span + 1.0);
    for &t in &origins {
        let (mut num, mut den) = (0.0, 0.0);
        for (j, v) in r[..t].iter().rev().enumerate() {
            let w = (1.0f64 - alpha).powi(j as i32);
            num += w * v;
            den += w;
        }
        let f = model.forecast(&r[..t], scale).unwrap();
        for i in 0..h {
            let y = r[t + i];
            e_naive += y.abs();
            e_last += (y - r[t - 1]).abs();
            e_ewma += (y - num / den).abs();
            e_nb += (y - f[i]).abs();
            k += 1.0;
        }
    }
    assert!((acc.naive - e_naive / k / q).abs() < 1e-9, "{acc:?}");
    assert!((acc.last - e_last / k / q).abs() < 1e-9);
    assert!((acc.ewma - e_ewma / k / q).abs() < 1e-9);
    assert!((acc.nbeats - e_nb / k / q).abs() < 1e-9);
    // No origin fits when the test period is shorter than the horizon.
    assert!(
        evaluate(&model, "GLD", &c, n, n + 3, scale)
            .unwrap()
            .is_none()
    );
}

#[test]
fn bad_settings_name_the_field() {
    let field = |cfg: NbeatsConfig| match cfg.validate() {
        Err(NbeatsError::Config { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let d = NbeatsConfig::default;
    assert_eq!(field(NbeatsConfig { lookback: 0, ..d() }), "lookback");
    assert_eq!(field(NbeatsConfig { horizon: 0, ..d() }), "horizon");
    assert_eq!(field(NbeatsConfig { width: 0, ..d() }), "width");
    assert_eq!(field(NbeatsConfig { layers: 0, ..d() }), "layers");
    assert_eq!(field(NbeatsConfig { stacks: 0, ..d() }), "stacks");
    assert_eq!(field(NbeatsConfig { epochs: 0, ..d() }), "epochs");
    assert_eq!(
        field(NbeatsConfig {
            batch_size: 0,
            ..d()
        }),
        "batch_size"
    );
    assert_eq!(
        field(NbeatsConfig {
            learning_rate: f64::NAN,
            ..d()
        }),
        "learning_rate"
    );
    assert_eq!(
        field(NbeatsConfig {
            ewma_span: 0.5,
            ..d()
        }),
        "ewma_span"
    );
    assert_eq!(
        field(NbeatsConfig {
            validation: 0.95,
            ..d()
        }),
        "validation"
    );
    assert_eq!(field(NbeatsConfig { patience: 0, ..d() }), "patience");
    let unknown: Result<NbeatsConfig, _> = serde_json::from_str(r#"{"horizn": 5}"#);
    assert!(unknown.unwrap_err().to_string().contains("horizn"));

    // Too short a training period, a bad close: the series (and close) named.
    let short = vec![100.0; 10];
    let err = train(
        &[TrainSeries {
            name: "XYZ",
            closes: &short,
            train_len: 10,
        }],
        &tiny(1),
        always,
    )
    .unwrap_err();
    assert!(
        matches!(&err, NbeatsError::Data { series, .. } if series == "XYZ"),
        "{err}"
    );
    let (mut c, n) = window("SPY", "2016-01-01", "2016-12-30", "2016-12-30");
    c[7] = -1.0;
    let err = train(
        &[TrainSeries {
            name: "SPY",
            closes: &c,
            train_len: n,
        }],
        &tiny(1),
        always,
    )
    .unwrap_err();
    assert!(
        matches!(&err, NbeatsError::Data { series, index: Some(7), .. } if series == "SPY"),
        "{err}"
    );
    let flat = vec![100.0; 40];
    let err = train(
        &[TrainSeries {
            name: "FLAT",
            closes: &flat,
            train_len: 40,
        }],
        &tiny(1),
        always,
    )
    .unwrap_err();
    assert!(err.to_string().contains("FLAT"), "{err}");
}

#[test]
fn cancelling_stops_at_once() {
    let data = two_series();
    let mut calls = 0;
    let (_, report) = train(&as_train(&data), &tiny(1), |p| {
        calls += 1;
        assert_eq!(p.epochs, 2);
        calls < 3
    })
    .unwrap();
    assert!(report.cancelled);
    assert_eq!(report.steps, 3);
    assert_eq!(report.epochs_run, 1);
}
