//! The sweep use case on the bundled TSLA + TSLL data in a real SQLite store: a resumed study
//! reports its stored trials, repeated points are not counted as trials, a huge grid is sampled,
//! and the report section is built from the typed outcome.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_app::AppError;
use pulse_app::backtest::RunSettings;
use pulse_app::sweep::{Objective, SearchMethod};
use pulse_app::sweep_run::{SweepRequest, sweep, sweep_report, sweep_section};
use pulse_core::ports::Store;
use std::sync::atomic::AtomicBool;
use store_sqlite::SqliteStore;

mod common;
use common::bundled_store;

fn request(params: &[&str], method: SearchMethod, budget: u64) -> SweepRequest {
    SweepRequest {
        settings: RunSettings::default(),
        strategy: "pulse".into(),
        params: params.iter().map(|s| s.to_string()).collect(),
        constraints: Vec::new(),
        objective: Objective::Sharpe,
        method,
        seed: 42,
        budget,
        top: 5,
        jobs: Some(2),
        study: None,
        walk_forward: None,
        pbo_blocks: 16,
        heatmaps: false,
    }
}

const GRID16: [&str; 2] = ["rsi_high=65:80:5", "rsi_low=20:35:5"];

fn no_progress(_: u64, _: u64) {}

#[tokio::test]
async fn a_resumed_study_shows_its_stored_trials_and_no_trial_rate_when_nothing_ran() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let cancel = AtomicBool::new(false);
    let req = SweepRequest {
        study: Some("s".into()),
        ..request(&GRID16, SearchMethod::Grid, 16)
    };
    let first = sweep(&store, &req, &no_progress, &cancel).await.unwrap();
    assert_eq!((first.trials, first.new_trials), (16, 16));
    assert!(first.timing.trials_per_second.unwrap() > 0.0);
    assert_eq!(store.trials("s").await.unwrap().len(), 16);
    // Nothing left to run: the top table is the stored trials' (before: empty), and there is no
    // trial rate (before: a misleading 0 trials/s).
    let again = sweep(&store, &req, &no_progress, &cancel).await.unwrap();
    assert_eq!((again.trials, again.new_trials), (16, 0));
    assert_eq!(again.timing.trials_per_second, None);
    assert_eq!(again.top.len(), 5);
    assert_eq!(again.top, first.top);
    assert_eq!(again.best, first.best);
    assert_eq!(
        again.deflated_sharpe.unwrap().n_trials,
        first.deflated_sharpe.unwrap().n_trials
    );
    let json = serde_json::to_value(&again).unwrap();
    assert!(json["timing"]["trials_per_second"].is_null());
    assert_eq!(json["top"].as_array().unwrap().len(), 5);
    // Other settings under the same name: a conflict, not a usage error.
    let other = SweepRequest {
        objective: Objective::Cagr,
        ..req.clone()
    };
    let e = sweep(&store, &other, &no_progress, &cancel)
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Conflict(_)) && !e.is_usage(), "{e}");
}

#[tokio::test]
async fn random_search_counts_each_distinct_point_once_in_trials_and_the_deflated_sharpe() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    // 16 points, 40 draws: 16 trials (before: 40, and the deflated Sharpe deflated by 40).
    for method in [SearchMethod::Random, SearchMethod::Tpe] {
        let out = sweep(
            &store,
            &request(&GRID16, method, 40),
            &no_progress,
            &AtomicBool::new(false),
        )
        .await
        .unwrap();
        assert_eq!((out.trials, out.new_trials), (16, 16), "{method}");
        assert!(out.exhausted, "{method}");
        assert_eq!(out.deflated_sharpe.unwrap().n_trials, 16, "{method}");
        let numbers: std::collections::HashSet<Vec<(String, u64)>> = out
            .top
            .iter()
            .map(|t| {
                t.params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_bits()))
                    .collect()
            })
            .collect();
        assert_eq!(
            numbers.len(),
            out.top.len(),
            "{method}: a point listed twice"
        );
    }
}

#[tokio::test]
async fn a_huge_grid_with_a_small_budget_is_sampled_not_walked_from_its_first_corner() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    // 25 001 × 25 001 × 10 001 ≈ 6·10¹² points, 8 trials.
    let out = sweep(
        &store,
        &request(
            &[
                "rsi_high=60:85:0.001",
                "rsi_low=15:40:0.001",
                "bbands_k=1.5:2.5:0.0001",
            ],
            SearchMethod::Grid,
            8,
        ),
        &no_progress,
        &AtomicBool::new(false),
    )
    .await
    .unwrap();
    assert!(out.sampled);
    assert_eq!(out.trials, 8);
    // In index order the first 8 points all had rsi_high = 60 and rsi_low = 15.
    let top = &out.top;
    assert!(top.iter().any(|t| t.params["rsi_high"] != 60.0));
    assert!(top.iter().any(|t| t.params["rsi_low"] != 15.0));
    assert!(top.iter().all(|t| t.number >= 8));
    assert_eq!(serde_json::to_value(&out).unwrap()["sampled"], true);
}

#[tokio::test]
async fn the_report_section_comes_from_the_typed_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let req = SweepRequest {
        heatmaps: true,
        walk_forward: Some("train=378,test=126".into()),
        ..request(&GRID16, SearchMethod::Grid, 16)
    };
    let ticks = std::sync::atomic::AtomicU64::new(0);
    let progress = |done: u64, total: u64| {
        assert!(done <= total);
        ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let out = sweep(&store, &req, &progress, &AtomicBool::new(false))
        .await
        .unwrap();
    let wf = out.walk_forward.as_ref().unwrap();
    assert_eq!(wf.folds.len(), 2);
    assert_eq!(ticks.into_inner(), 16 + 2 * 16);
    let section = sweep_section(&out);
    assert_eq!(section.trials, 16);
    assert_eq!(section.parameters, ["rsi_high", "rsi_low"]);
    assert_eq!(section.top.len(), out.top.len());
    assert_eq!(section.top[0].score, Some(out.best.as_ref().unwrap().score));
    assert_eq!(section.top[0].sharpe, out.top[0].metric("sharpe"));
    assert_eq!(section.heatmaps.len(), 1);
    assert_eq!(section.walk_forward.len(), 2);
    assert_eq!(section.walk_forward[0].train_from, wf.folds[0].train[0]);
    assert!(
        section
            .deflated_sharpe
            .as_ref()
            .unwrap()
            .explanation
            .contains("best of 16 luck-only")
    );
    assert_eq!(
        section.window,
        format!(
            "{}..{} ({} bars)",
            out.window.from, out.window.to, out.window.bars
        )
    );
    let report = sweep_report(&out).unwrap();
    assert!(report.title.contains("best of 16 trials"));
    assert_eq!(report.sweep.as_ref(), Some(&section));
}

#[tokio::test]
async fn usage_errors_name_the_field_before_any_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("empty.db"))
        .await
        .unwrap();
    let cancel = AtomicBool::new(false);
    let setting = |e: AppError| match e {
        AppError::InvalidSetting { setting, reason } => (setting, reason),
        other => panic!("not a setting error: {other}"),
    };
    let zero = request(&GRID16, SearchMethod::Grid, 0);
    assert_eq!(
        setting(zero.validate().unwrap_err()),
        ("budget", "must be at least 1 trial".to_string())
    );
    let e = sweep(&store, &zero, &no_progress, &cancel)
        .await
        .unwrap_err();
    assert_eq!(setting(e).0, "budget");
    let other = SweepRequest {
        strategy: "momentum".into(),
        ..request(&GRID16, SearchMethod::Grid, 4)
    };
    assert_eq!(setting(other.validate().unwrap_err()).0, "strategy");
    assert!(
        request(&["rsi_high=80:60:5"], SearchMethod::Grid, 4)
            .validate()
            .unwrap_err()
            .is_usage()
    );
}

#[tokio::test]
async fn the_sweep_future_is_send_so_a_server_can_spawn_it() {
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("e.db")).await.unwrap();
    let req = request(&GRID16, SearchMethod::Grid, 1);
    let cancel = AtomicBool::new(false);
    let future = sweep(&store, &req, &no_progress, &cancel);
    assert_send(&future);
}
