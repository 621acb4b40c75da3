//! The agents' ensemble with the DQN traded by the trading runner (issue 17 item 3) on the
//! bundled TSLA + TSLL data in a real SQLite store, driven by time travel: a small seeded DQN
//! trained through 2023 sits with the technical and factor agents; caught up in pieces (the DQN
//! stored as a reference to its model directory and loaded again at every restart) the runner
//! trades exactly as the agents' backtest of the same window; a DQN trained through the start
//! or later is refused (also during the day of its last trained bar); a model retrained in
//! place after the start (even on the same window) stops the runner with an error naming it,
//! and the other runners' states stay readable.
#![cfg(feature = "deep")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_agents::AgentKind;
use pulse_agents::ensemble::EnsembleConfig;
use pulse_agents::factor::FactorWeights;
use pulse_agents::technical::TechnicalConfig;
use pulse_app::AppError;
use pulse_app::agents::{AgentSet, AgentsBacktestRequest, backtest};
use pulse_app::agents_dqn::{DqnConfig, TrainDqnRequest, train_dqn};
use pulse_app::backtest::RunSettings;
use pulse_app::trade::{BrokerChoice, TradeRequest, meta, run, runners, status};
use pulse_backtest::FillPrice;
use pulse_core::Symbol;
use pulse_core::ports::Store;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use store_sqlite::SqliteStore;

mod common;
use common::{NONE, bundled_store, go, travel};

/// A threshold the ensemble of three agents reaches often enough to trade.
const THRESHOLD: f64 = 0.3;

fn symbols() -> Vec<Symbol> {
    vec![
        Symbol::try_new("TSLA").unwrap(),
        Symbol::try_new("TSLL").unwrap(),
    ]
}

/// Technical, factor and DQN at SPEC §4's weights (the ensemble's defaults).
fn set(model: &Path) -> AgentSet {
    AgentSet {
        symbols: symbols(),
        agents: vec![AgentKind::Technical, AgentKind::Factor, AgentKind::Dqn],
        ensemble: EnsembleConfig {
            threshold: THRESHOLD,
            ..EnsembleConfig::default()
        },
        technical: TechnicalConfig::default(),
        factor_weights: FactorWeights::default(),
        fundamentals: None,
        dqn_model: Some(model.to_path_buf()),
    }
}

/// The paper book fills at the close of the bar after the decision: the backtest's `NextClose`.
fn settings() -> RunSettings {
    RunSettings {
        fill_price: FillPrice::NextClose,
        ..RunSettings::default()
    }
}

fn request(name: &str, model: &Path) -> TradeRequest {
    TradeRequest {
        name: name.to_string(),
        broker: BrokerChoice::Paper,
        mode: pulse_app::trade::TradeMode::Paper,
        settings: settings(),
        limit_offset_bps: None,
        agents: Some(set(model)),
    }
}

/// A small DQN (two seeded episodes, narrow layers) trained on TSLA's and TSLL's daily closes of
/// 2023 through `to`, saved into `out`.
async fn train(store: &SqliteStore, out: &Path, to: &str) {
    let request = TrainDqnRequest {
        symbols: symbols(),
        from: Some("2023-01-01T00:00:00Z".parse().unwrap()),
        to: format!("{to}T00:00:00Z").parse().unwrap(),
        config: DqnConfig {
            hidden: vec![32, 16],
            episodes: 2,
            seed: 7,
            ..DqnConfig::default()
        },
        out: out.to_path_buf(),
    };
    let o = train_dqn(store, &request, |_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert_eq!(o.model.as_deref(), Some(out));
    let through = pulse_app::agents_dqn::load_model(out)
        .unwrap()
        .meta()
        .trained_through
        .unwrap();
    assert_eq!(
        through,
        format!("{to}T00:00:00Z")
            .parse::<jiff::Timestamp>()
            .unwrap()
    );
}

fn model_dir(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("dqn")
}

#[tokio::test]
async fn with_the_dqn_caught_up_in_pieces_the_runner_trades_as_the_agents_backtest() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let model = model_dir(&dir);
    train(&store, &model, "2023-12-29").await;
    travel(&store, "2024-03-01T12:00:00Z").await;
    let o = run(&store, &request("dqn", &model), NONE, go)
        .await
        .unwrap();
    assert!(o.started);
    assert_eq!(o.steps, 0, "warm-up only at the start");
    // Every piece restores the ensemble from the store: the DQN loaded again from its directory.
    for day in [
        "2024-03-15",
        "2024-03-18",
        "2024-06-03",
        "2024-09-02",
        "2024-12-31",
    ] {
        travel(&store, &format!("{day}T23:00:00Z")).await;
        let o = run(&store, &request("dqn", &model), NONE, go)
            .await
            .unwrap();
        assert!(o.steps > 0, "{day}: the runner advanced");
    }
    let st = status(&store, "dqn").await.unwrap();
    let last = st.meta.last_close.unwrap();
    assert_eq!(
        last.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
        "2024-12-31"
    );
    assert_eq!(
        st.meta.agents.as_ref(),
        Some(&set(&model)),
        "the set is kept with the runner"
    );
    let runner_fills = common::fill_essence(&st.fills);
    let sells = st
        .fills
        .iter()
        .filter(|f| f.side == pulse_core::Side::Sell)
        .count();
    assert!(
        sells >= 5 && st.fills.len() >= 10,
        "the ensemble with the DQN trades both ways: {runner_fills:?}"
    );
    let bt = backtest(
        &store,
        &AgentsBacktestRequest {
            set: set(&model),
            from: Some("2024-03-01T00:00:00Z".parse().unwrap()),
            to: Some(last),
            settings: settings(),
            more_thresholds: Vec::new(),
        },
    )
    .await
    .unwrap();
    assert_eq!(bt.runs[0].name, "Ensemble");
    assert!(
        bt.runs[0]
            .final_weights
            .as_ref()
            .unwrap()
            .contains_key(&AgentKind::Dqn),
        "the DQN sits in the ensemble"
    );
    let replayed = common::fill_essence(&bt.evaluated[0].result.fills);
    assert_eq!(runner_fills, replayed);
    assert_eq!(st.account, bt.evaluated[0].result.final_portfolio);
    // The DQN's votes count: without it the technical and factor agents trade otherwise.
    let without = AgentsBacktestRequest {
        set: AgentSet {
            agents: vec![AgentKind::Technical, AgentKind::Factor],
            dqn_model: None,
            ..set(&model)
        },
        from: Some("2024-03-01T00:00:00Z".parse().unwrap()),
        to: Some(last),
        settings: settings(),
        more_thresholds: Vec::new(),
    };
    let without = backtest(&store, &without).await.unwrap();
    assert_ne!(
        runner_fills,
        common::fill_essence(&without.evaluated[0].result.fills)
    );
}

/// Starts the runner "dqn" with `model` at the clock instant `at`: refused naming
/// `dqn_model`, and nothing is stored.
async fn refused_at(store: &SqliteStore, model: &Path, at: &str) {
    travel(store, at).await;
    let e = run(store, &request("dqn", model), NONE, go)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AppError::InvalidSetting { setting, .. } if *setting == "dqn_model"),
        "{} at {at}: {e}",
        model.display()
    );
    assert!(e.to_string().contains("trained through"), "{e}");
    assert!(runners(store).await.unwrap().is_empty());
    assert!(status(store, "dqn").await.is_err());
}

#[tokio::test]
async fn a_dqn_trained_through_the_start_or_later_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let later = dir.path().join("later");
    train(&store, &later, "2024-06-28").await;
    refused_at(&store, &later, "2024-03-01T12:00:00Z").await;
    refused_at(&store, &later, "2024-03-01T23:00:00Z").await;
    // Trained through the start day, started the evening before.
    let through = dir.path().join("through");
    train(&store, &through, "2024-03-01").await;
    refused_at(&store, &through, "2024-02-29T23:00:00Z").await;
    // The day after the last trained bar closed: accepted.
    travel(&store, "2024-03-01T23:00:00Z").await;
    let o = run(&store, &request("dqn", &through), NONE, go)
        .await
        .unwrap();
    assert!(o.started);
}

/// Started during the trading day of the model's last trained bar (12:00 UTC, before that bar's
/// close), the runner's first live decision is at that bar's close: in sample, so it must be
/// refused (the bar's close, not its stamp, is compared with the start).
#[tokio::test]
async fn a_dqn_trained_through_the_start_day_is_refused_during_that_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let through = dir.path().join("through");
    train(&store, &through, "2024-03-01").await;
    refused_at(&store, &through, "2024-03-01T12:00:00Z").await;
}

/// The runner's last processed close, read from its stored progress record itself (`status`
/// restores the whole runner, DQN included, and fails once it changed).
async fn last_close(store: &SqliteStore) -> jiff::Timestamp {
    let text = store.document("trade/dqn/meta").await.unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["last_close"].as_str().unwrap().parse().unwrap()
}

/// A runner started with the model trained through 2023, advanced to 2024-04-01, then the model
/// retrained in place through 2023-11-30 (a model is never overwritten: removed, then trained
/// again into the same directory): the store, the model, the last close before, and the error
/// of the next run at 2024-06-03.
async fn retrained_after_the_start(
    dir: &tempfile::TempDir,
) -> (SqliteStore, PathBuf, jiff::Timestamp, AppError) {
    let store = bundled_store(dir).await;
    let model = model_dir(dir);
    train(&store, &model, "2023-12-29").await;
    travel(&store, "2024-03-01T12:00:00Z").await;
    run(&store, &request("dqn", &model), NONE, go)
        .await
        .unwrap();
    travel(&store, "2024-04-01T23:00:00Z").await;
    run(&store, &request("dqn", &model), NONE, go)
        .await
        .unwrap();
    let before = last_close(&store).await;
    std::fs::remove_dir_all(&model).unwrap();
    train(&store, &model, "2023-11-30").await;
    travel(&store, "2024-06-03T23:00:00Z").await;
    let e = run(&store, &request("dqn", &model), NONE, go)
        .await
        .unwrap_err();
    (store, model, before, e)
}

#[tokio::test]
async fn a_dqn_retrained_in_place_after_the_start_stops_the_runner() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, before, _) = retrained_after_the_start(&dir).await;
    // The runner did not advance.
    assert_eq!(last_close(&store).await, before);
    // The model restored (trained again as at the start: the same weights), it goes on.
    std::fs::remove_dir_all(&model).unwrap();
    train(&store, &model, "2023-12-29").await;
    let o = run(&store, &request("dqn", &model), NONE, go)
        .await
        .unwrap();
    assert!(o.steps > 0);
    let after = meta(&store, "dqn").await.unwrap().last_close.unwrap();
    assert_eq!(
        after.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
        "2024-06-03"
    );
    assert_eq!(last_close(&store).await, after);
}

/// The error of a run after the model changed says so (`DqnSeat`'s message), naming the model
/// directory (the runner's strategy keeps the error of the variant it is read as).
#[tokio::test]
async fn a_dqn_retrained_in_place_after_the_start_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, model, _, e) = retrained_after_the_start(&dir).await;
    let msg = e.to_string();
    assert!(
        msg.contains("DQN model") && msg.contains("changed"),
        "the error says the DQN model changed: {msg}"
    );
    assert!(msg.contains(&model.display().to_string()), "{msg}");
}

/// The dashboard's list of every runner's state ([`pulse_app::trade::states`], reading only the
/// runners' progress records) stays readable when a runner's DQN changed.
#[tokio::test]
async fn the_runners_states_stay_readable_when_a_dqn_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _model, before, _) = retrained_after_the_start(&dir).await;
    let states = pulse_app::trade::states(&store).await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].last_close, Some(before));
}

/// A model retrained in place on the same window with another seed (other weights, the same
/// `trained_through`) is a changed model too: the runner refuses it (`DqnSeat` keeps the
/// SHA-256 of the weights).
#[tokio::test]
async fn a_dqn_retrained_in_place_on_the_same_window_stops_the_runner() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let model = model_dir(&dir);
    train(&store, &model, "2023-12-29").await;
    travel(&store, "2024-03-01T12:00:00Z").await;
    run(&store, &request("dqn", &model), NONE, go)
        .await
        .unwrap();
    let weights = std::fs::read(model.join("dqn.safetensors")).unwrap();
    std::fs::remove_dir_all(&model).unwrap();
    let other_seed = TrainDqnRequest {
        symbols: symbols(),
        from: Some("2023-01-01T00:00:00Z".parse().unwrap()),
        to: "2023-12-29T00:00:00Z".parse().unwrap(),
        config: DqnConfig {
            hidden: vec![32, 16],
            episodes: 2,
            seed: 8,
            ..DqnConfig::default()
        },
        out: model.clone(),
    };
    train_dqn(&store, &other_seed, |_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert_ne!(
        weights,
        std::fs::read(model.join("dqn.safetensors")).unwrap()
    );
    travel(&store, "2024-06-03T23:00:00Z").await;
    let before = last_close(&store).await;
    assert!(
        run(&store, &request("dqn", &model), NONE, go)
            .await
            .is_err()
    );
    assert_eq!(last_close(&store).await, before);
}
