//! The model registry's promotion rule on a real SQLite store: the first version with an
//! out-of-sample score becomes the champion of its kind and universe; a better score on the same
//! test window replaces it (the old one retired), a worse one or one on another window stays a
//! candidate; a version without a score stays a candidate; other universes and kinds are apart.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_app::ml::runs::{MlRunKind, ModelStage, get};
use pulse_app::model_registry::{ModelVersion, champion, record};
use store_sqlite::SqliteStore;

fn version(kind: MlRunKind, symbols: &[&str], oos: Option<(f64, &str)>) -> ModelVersion {
    ModelVersion {
        kind,
        symbols: symbols.iter().map(ToString::to_string).collect(),
        params: serde_json::json!({"seed": 7}),
        window: None,
        dir: "m".into(),
        metrics: serde_json::json!({"loss": 0.5}),
        out_of_sample: oos.map(|(s, w)| (s, w.to_string())),
    }
}

#[tokio::test]
async fn better_out_of_sample_scores_on_the_same_window_take_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    let w = "2020-01 .. 2022-12";
    let spy = ["SPY", "TLT"];
    let first = record(&store, version(MlRunKind::Forecast, &spy, Some((-1.02, w))))
        .await
        .unwrap();
    assert_eq!(first.stage, Some(ModelStage::Champion));
    assert_eq!(first.metrics["loss"], 0.5, "the figures are kept");
    let worse = record(&store, version(MlRunKind::Forecast, &spy, Some((-1.10, w))))
        .await
        .unwrap();
    assert_eq!(worse.stage, Some(ModelStage::Candidate));
    let elsewhere = record(
        &store,
        version(
            MlRunKind::Forecast,
            &spy,
            Some((-0.5, "2010-01 .. 2012-12")),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        elsewhere.stage,
        Some(ModelStage::Candidate),
        "another test window is not comparable"
    );
    let better = record(&store, version(MlRunKind::Forecast, &spy, Some((-0.98, w))))
        .await
        .unwrap();
    assert_eq!(better.stage, Some(ModelStage::Champion));
    assert_eq!(
        get(&store, first.id).await.unwrap().stage,
        Some(ModelStage::Retired)
    );
    let now = champion(&store, MlRunKind::Forecast, &better.symbols)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.id, better.id);
    // Other universes and kinds have their own champions; no score, no promotion.
    let qqq = record(
        &store,
        version(MlRunKind::Forecast, &["QQQ"], Some((-1.5, w))),
    )
    .await
    .unwrap();
    assert_eq!(qqq.stage, Some(ModelStage::Champion));
    let dqn = record(&store, version(MlRunKind::Dqn, &spy, None))
        .await
        .unwrap();
    assert_eq!(dqn.stage, Some(ModelStage::Candidate));
    assert!(
        champion(&store, MlRunKind::Dqn, &dqn.symbols)
            .await
            .unwrap()
            .is_none()
    );
    // A person's decision: promote the DQN, retire it.
    let p = pulse_app::model_registry::promote(&store, dqn.id)
        .await
        .unwrap();
    assert_eq!(p.stage, Some(ModelStage::Champion));
    let r = pulse_app::model_registry::retire(&store, dqn.id)
        .await
        .unwrap();
    assert_eq!(r.stage, Some(ModelStage::Retired));
}
