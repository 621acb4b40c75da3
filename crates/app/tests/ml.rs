#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The ML use cases on real Binance minute bars (`intraday-1m-many`, 3 pairs × 4 days): features
//! from the store, the split with its embargo, the evaluation of given predictions against a hand
//! computation, cancellation; with `--features ml`, features → train → evaluate end to end, no
//! look-ahead (perturbed futures change neither the models nor a closed trade) and a cancelled
//! training that leaves no model.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use jiff::Timestamp;
use pulse_app::ml::features::{FeaturesRequest, compute_features};
use pulse_app::ml::train::Dataset;
use pulse_core::ports::Store;
use pulse_core::{Bar, Symbol};
use pulse_ml::split::{Part, SplitConfig};
use store_sqlite::SqliteStore;

const PAIRS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "DOGEUSDT"];
const END: &str = "2021-04-06T00:00:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A store with the first four days of the pairs; bars at or after `perturb_from` are scaled by a
/// bar-dependent factor (a different but consistent future) and their volume tripled.
async fn store_with(dir: &Path, perturb_from: Option<Timestamp>) -> SqliteStore {
    let store = SqliteStore::open(&dir.join("ml.db")).await.unwrap();
    let mut batches = Vec::new();
    for symbol in PAIRS {
        let path = pulse_testkit::shared_file(&format!("intraday-1m-many/{symbol}.csv.gz"));
        let parsed = data_csv::parse_path(&path, &data_csv::ImportOptions::default()).unwrap();
        for mut b in parsed.into_batches().unwrap() {
            b.bars.retain(|bar| bar.ts < ts(END));
            if let Some(from) = perturb_from {
                for (i, bar) in b.bars.iter_mut().enumerate() {
                    if bar.ts >= from {
                        let k = 1.0 + 0.03 * ((i as f64) * 0.7).sin();
                        *bar = Bar {
                            open: bar.open * k,
                            high: bar.high * k * 1.001,
                            low: bar.low * k * 0.999,
                            close: bar.close * k,
                            volume: bar.volume.map(|v| v * 3.0),
                            ..*bar
                        };
                    }
                }
            }
            batches.push(b);
        }
    }
    store.import(&batches).await.unwrap();
    store
}

fn symbols() -> Vec<Symbol> {
    PAIRS.iter().map(|s| Symbol::try_new(*s).unwrap()).collect()
}

#[cfg_attr(not(feature = "ml"), allow(dead_code))]
async fn features_into(store: &SqliteStore, out: &Path) {
    let req = FeaturesRequest::new(Some(symbols()), out.to_path_buf());
    let outcome = compute_features(store, &req, &|_, _, _| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert!(!outcome.cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_split_with_embargo_and_evaluation_of_given_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), None).await;
    let out = dir.path().join("features");
    let seen = std::sync::Mutex::new(Vec::new());
    let req = FeaturesRequest::new(Some(symbols()), out.clone());
    let outcome = compute_features(
        &store,
        &req,
        &|done, total, s| seen.lock().unwrap().push((done, total, s.to_string())),
        &AtomicBool::new(false),
    )
    .await
    .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3, "one progress call a symbol");
    let m = &outcome.manifest;
    assert_eq!(m.symbols.len(), 3);
    assert_eq!(m.leaders, vec!["btcusdt", "ethusdt"]);
    assert!(m.columns.iter().any(|c| c == "corr_btcusdt_60"));
    for e in &m.symbols {
        assert_eq!(e.rows, 4 * 1440, "{}", e.symbol);
        assert!(e.labelled > 5000, "{}: {}", e.symbol, e.labelled);
        assert!(out.join(format!("{}.features", e.symbol)).is_file());
        assert!(out.join(format!("{}.labels", e.symbol)).is_file());
    }
    assert!(out.join("manifest.json").is_file());

    // The split: no training label reaches past the training end; nothing of validation or test
    // starts before the embargo; no test row's label window overlaps the training period.
    let cfg = SplitConfig::default();
    let ds = Dataset::open(&out, None, &cfg).unwrap();
    let s = ds.split;
    let gap = jiff::SignedDuration::from_mins(i64::from(cfg.embargo_minutes));
    assert_eq!(s.validation.start, s.train.end.checked_add(gap).unwrap());
    assert_eq!(s.test.start, s.validation.end.checked_add(gap).unwrap());
    let mut counts = [0usize; 3];
    for e in &ds.symbols {
        let l = ds.labels(&e.symbol).unwrap();
        let mut last_train_close = None;
        for ((t, lab), p) in l.ts.iter().zip(&l.labels).zip(ds.parts(&l)) {
            let Some(p) = p else { continue };
            let lab = lab.as_ref().unwrap();
            let close = lab.exit_ts.as_second() + 60;
            match p {
                Part::Train => {
                    counts[0] += 1;
                    assert!(close <= s.train.end.as_second());
                    last_train_close = last_train_close.max(Some(close));
                }
                Part::Validation => {
                    counts[1] += 1;
                    assert!(*t >= s.validation.start && close <= s.validation.end.as_second());
                }
                Part::Test => {
                    counts[2] += 1;
                    assert!(*t >= s.test.start && close <= s.test.end.as_second());
                    // The decision comes after every training label window closed, by ≥ the
                    // embargo twice over.
                    assert!(t.as_second() >= last_train_close.unwrap() + 2 * gap.as_secs());
                }
            }
        }
    }
    assert!(counts.iter().all(|&c| c > 500), "{counts:?}");

    // Given predictions (no LightGBM): "always enter" trades every eligible test row one
    // position at a time; the figures equal a hand computation from the labels.
    let rule = pulse_ml::eval::EntryRule::default();
    let eval = pulse_app::ml::evaluate::evaluate_part(&ds, Part::Test, &rule, |ds, e| {
        let n = ds.labels(&e.symbol).unwrap().ts.len();
        Ok((vec![1.0; n], None))
    })
    .unwrap();
    let mut hand = Vec::new();
    for e in &ds.symbols {
        let l = ds.labels(&e.symbol).unwrap();
        let parts = ds.parts(&l);
        let mut free = 0;
        for (i, part) in parts.iter().enumerate() {
            if i < free || *part != Some(Part::Test) {
                continue;
            }
            let lab = l.labels[i].unwrap();
            hand.push(lab.exit * 0.999 / (lab.entry * 1.001) - 1.0);
            free = lab.exit_index;
        }
    }
    assert_eq!(eval.metrics.trades, hand.len());
    assert!(hand.len() > 20);
    let gp: f64 = hand.iter().filter(|r| **r > 0.0).sum();
    let gl: f64 = -hand.iter().filter(|r| **r < 0.0).sum::<f64>();
    let mean = hand.iter().sum::<f64>() / hand.len() as f64;
    assert!((eval.metrics.profit_factor.unwrap() - gp / gl).abs() < 1e-9);
    assert!((eval.metrics.expectancy_pct.unwrap() - mean * 100.0).abs() < 1e-9);
    let wins = hand.iter().filter(|r| **r > 0.0).count();
    assert!((eval.metrics.hit_rate.unwrap() - wins as f64 / hand.len() as f64).abs() < 1e-12);
    assert_eq!(eval.equity.len(), hand.len());
    assert!((eval.equity.last().unwrap().equity - 1.0 - hand.iter().sum::<f64>()).abs() < 1e-9);
    assert!(
        eval.trades
            .iter()
            .all(|t| t.decision_ts >= s.test.start && t.exit_ts < s.test.end)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_features_write_no_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), None).await;
    let out = dir.path().join("features");
    let req = FeaturesRequest::new(Some(symbols()), out.clone());
    let outcome = compute_features(&store, &req, &|_, _, _| {}, &AtomicBool::new(true))
        .await
        .unwrap();
    assert!(outcome.cancelled);
    assert!(!out.join("manifest.json").exists());
    // Unknown symbols are a request error naming the symbol.
    let bad = FeaturesRequest::new(Some(vec![Symbol::try_new("NOPEUSDT").unwrap()]), out);
    let err = compute_features(&store, &bad, &|_, _, _| {}, &AtomicBool::new(false))
        .await
        .unwrap_err();
    assert!(
        err.is_usage() && err.to_string().contains("NOPEUSDT"),
        "{err}"
    );
}

#[cfg(feature = "ml")]
mod with_lightgbm {
    use super::*;
    use pulse_app::ml::evaluate::{
        EvaluateRequest, ModelSource, evaluate, evaluate_part, lgbm_predictor,
    };
    use pulse_app::ml::runs::{self, MlRunKind, MlRunStatus};
    use pulse_app::ml::train::{TrainRequest, train};
    use pulse_core::SimClock;
    use pulse_ml::lgbm::LgbmModel;

    fn request(features: &Path, out: &Path) -> TrainRequest {
        let mut req = TrainRequest::new(features.to_path_buf());
        req.out = Some(out.to_path_buf());
        req.params.n_estimators = 60;
        req.params.min_data_in_leaf = 100;
        req
    }

    fn clock() -> SimClock {
        SimClock::new(ts("2026-01-02T03:04:05Z"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn features_train_evaluate_end_to_end_with_run_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), None).await;
        let features = dir.path().join("features");
        features_into(&store, &features).await;
        let models = dir.path().join("models");
        let steps = std::sync::Mutex::new(Vec::new());
        let trained = train(
            &store,
            &clock(),
            &request(&features, &models),
            &|s, d, t| steps.lock().unwrap().push((s.to_string(), d, t)),
            &AtomicBool::new(false),
        )
        .await
        .unwrap();
        assert_eq!(steps.lock().unwrap().len(), 6);
        assert!(trained.models.train_rows > 5000);
        for f in [
            "expected_return.txt",
            "quantile.txt",
            "importances.json",
            "train.json",
        ] {
            assert!(models.join(f).is_file(), "{f}");
        }
        assert!(!dir.path().join("models.partial").exists());
        let er = LgbmModel::load(&models.join("expected_return.txt")).unwrap();
        assert_eq!(
            er.names(),
            trained.models.expected_return.features.as_slice()
        );
        let columns = Dataset::open(&features, None, &SplitConfig::default())
            .unwrap()
            .manifest
            .columns
            .len();
        assert!(!er.names().is_empty() && er.names().len() <= columns);

        // The default threshold, then an "enter on everything" one so that trades exist.
        let report = dir.path().join("report.html");
        let mut req = EvaluateRequest {
            models: ModelSource::Run(trained.run.id),
            rule: pulse_ml::eval::EntryRule::default(),
            report: Some(report.clone()),
        };
        let default = evaluate(&store, &clock(), &req).await.unwrap();
        assert!(default.test.trades.iter().all(|t| t.predicted > 0.001));
        req.rule.threshold = -1.0;
        req.models = ModelSource::Dir(models.clone());
        let all = evaluate(&store, &clock(), &req).await.unwrap();
        assert!(all.test.metrics.trades > 20);
        assert!(all.test.metrics.trades >= default.test.metrics.trades);
        let s = trained.models.split;
        assert!(
            all.test
                .trades
                .iter()
                .all(|t| t.decision_ts >= s.test.start)
        );
        let html = std::fs::read_to_string(&report).unwrap();
        assert!(html.contains("<svg") && html.contains("Profit factor"));

        let list = runs::list(&store).await.unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[2].kind, MlRunKind::Train);
        assert_eq!(list[2].status, MlRunStatus::Finished);
        assert_eq!(list[2].features, trained.models.expected_return.features);
        assert!(
            list[2]
                .artifacts
                .models
                .iter()
                .all(|m| Path::new(m).is_file())
        );
        assert_eq!(list[0].kind, MlRunKind::Evaluate);
        assert_eq!(list[0].parent, Some(trained.run.id));
        assert_eq!(
            list[0].metrics["test"]["trades"].as_u64().unwrap() as usize,
            all.test.metrics.trades
        );
        assert!(list[0].artifacts.report.is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_look_ahead_in_the_models_or_a_closed_trade() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        std::fs::create_dir_all(&base).unwrap();
        let store = store_with(&base, None).await;
        features_into(&store, &base.join("features")).await;
        let trained = train(
            &store,
            &clock(),
            &request(&base.join("features"), &base.join("models")),
            &|_, _, _| {},
            &AtomicBool::new(false),
        )
        .await
        .unwrap();
        let split = trained.models.split;

        // Every bar from the test period's start on changed: the training rows and the models
        // are the same.
        let moved = dir.path().join("moved");
        std::fs::create_dir_all(&moved).unwrap();
        let store2 = store_with(&moved, Some(split.test.start)).await;
        features_into(&store2, &moved.join("features")).await;
        let retrained = train(
            &store2,
            &clock(),
            &request(&moved.join("features"), &moved.join("models")),
            &|_, _, _| {},
            &AtomicBool::new(false),
        )
        .await
        .unwrap();
        assert_eq!(retrained.models.split, split);
        let cfg = SplitConfig::default();
        let a = Dataset::open(&base.join("features"), None, &cfg).unwrap();
        let b = Dataset::open(&moved.join("features"), None, &cfg).unwrap();
        let ta = a.training_set(Part::Train, None, 0.001).unwrap();
        let tb = b.training_set(Part::Train, None, 0.001).unwrap();
        assert_eq!(ta.targets(), tb.targets());
        assert!(
            ta.features()
                .iter()
                .zip(tb.features())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
        for f in ["expected_return.txt", "quantile.txt"] {
            let x = std::fs::read_to_string(base.join("models").join(f)).unwrap();
            let y = std::fs::read_to_string(moved.join("models").join(f)).unwrap();
            assert!(x == y, "{f} differs");
        }

        // A trade of the test period, then every bar after its exit changed: that trade and
        // every earlier one are the same.
        let er = LgbmModel::load(&base.join("models/expected_return.txt")).unwrap();
        let rule = pulse_ml::eval::EntryRule {
            threshold: -1.0,
            ..Default::default()
        };
        let before = evaluate_part(&a, Part::Test, &rule, lgbm_predictor(&er, None)).unwrap();
        let pick = &before.trades[before.trades.len() / 2];
        let cut = pick
            .exit_ts
            .checked_add(jiff::SignedDuration::from_secs(60))
            .unwrap();
        let later = dir.path().join("later");
        std::fs::create_dir_all(&later).unwrap();
        let store3 = store_with(&later, Some(cut)).await;
        features_into(&store3, &later.join("features")).await;
        let c = Dataset::open(&later.join("features"), None, &cfg).unwrap();
        let after = evaluate_part(&c, Part::Test, &rule, lgbm_predictor(&er, None)).unwrap();
        let closed = |e: &pulse_app::ml::evaluate::PartEvaluation| {
            e.trades
                .iter()
                .filter(|t| t.exit_ts <= pick.exit_ts)
                .cloned()
                .collect::<Vec<_>>()
        };
        assert!(closed(&after).contains(pick));
        assert_eq!(closed(&before), closed(&after));
        assert_ne!(
            before.trades, after.trades,
            "the perturbation changed later trades"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_training_leaves_no_model() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), None).await;
        let features = dir.path().join("features");
        features_into(&store, &features).await;
        let models = dir.path().join("models");
        let err = train(
            &store,
            &clock(),
            &request(&features, &models),
            &|_, _, _| {},
            &AtomicBool::new(true),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, pulse_app::AppError::Interrupted), "{err}");
        assert!(!models.exists());
        assert!(!dir.path().join("models.partial").exists());
        let run = &runs::list(&store).await.unwrap()[0];
        assert_eq!(run.status, MlRunStatus::Cancelled);
    }
}
