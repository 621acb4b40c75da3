//! The ML runs page and API: empty at first; a training and an evaluation recorded through
//! `pulse_app::ml::runs` are listed newest first with their out-of-sample figures; nothing
//! without the token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_app::ml::runs::{self, MlRunKind, MlRunStatus};
use pulse_core::WallClock;
use pulse_server::Dashboard;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::{Value, json};

const TOKEN: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

#[tokio::test]
async fn ml_runs_are_listed_with_their_out_of_sample_figures() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::store_with(&dir, &[pulse_testkit::bundle_dir().join("TSLA.csv")]).await;
    let (base, http) = common::serve(Dashboard::new(store.clone(), TOKEN.into())).await;
    let r = http
        .get(format!("{base}/api/ml/runs"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = || async {
        http.get(format!("{base}/ml"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(page().await.contains("id=\"no-runs\""));

    let mut train = runs::begin(
        &store,
        &WallClock,
        MlRunKind::Train,
        json!({"trees": 200}),
        None,
    )
    .await
    .unwrap();
    train.symbols = vec!["BTCUSDT".into(), "ETHUSDT".into()];
    train.features = vec!["ret_1".into(), "rsi_14".into(), "atr_pct".into()];
    train.metrics = json!({"validation": {"trades": 358, "profit_factor": 0.8, "expectancy_pct": -0.14, "hit_rate": 0.45}});
    runs::end(&store, &WallClock, &mut train, MlRunStatus::Finished, None)
        .await
        .unwrap();
    let mut eval = runs::begin(
        &store,
        &WallClock,
        MlRunKind::Evaluate,
        json!({"threshold": 0.001}),
        Some(train.id),
    )
    .await
    .unwrap();
    eval.metrics = json!({"test": {"trades": 508, "profit_factor": 0.66, "expectancy_pct": -0.22, "hit_rate": 0.417}});
    runs::end(&store, &WallClock, &mut eval, MlRunStatus::Finished, None)
        .await
        .unwrap();

    let list: Value = http
        .get(format!("{base}/api/ml/runs"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![eval.id, train.id], "newest first");
    assert_eq!(list[0]["metrics"]["test"]["trades"], 508);
    assert_eq!(list[0]["parent"], train.id);

    let html = page().await;
    for needle in [
        "id=\"ml-runs\"",
        "<td>evaluate</td>",
        "<td>train</td>",
        ">508<",
        ">0.66<",
        "-0.220%",
        "41.7%",
        &format!("models of run #{}", train.id),
    ] {
        assert!(html.contains(needle), "{needle}");
    }
}
