//! The agents' ensemble traded by the trading runner (issue 17 item 3) on the bundled TSLA +
//! TSLL data in a real SQLite store, driven by time travel: caught up in pieces (its state —
//! windows, indicator states, the ensemble's weights — stored and restored between them) it
//! trades exactly as the agents' backtest of the same window in one piece (same fills, same
//! prices, same quantities); a crash between recording and sending is resolved at the restart;
//! settings that do not apply are refused naming the setting.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_agents::AgentKind;
use pulse_agents::ensemble::EnsembleConfig;
use pulse_agents::factor::FactorWeights;
use pulse_agents::technical::TechnicalConfig;
use pulse_app::AppError;
use pulse_app::agents::{AgentSet, AgentsBacktestRequest, backtest};
use pulse_app::backtest::RunSettings;
use pulse_app::trade::{BrokerChoice, TradeRequest, run, status};
use pulse_backtest::FillPrice;
use pulse_core::Symbol;
use pulse_core::ports::Store;
use std::ops::ControlFlow;
use store_sqlite::SqliteStore;

mod common;
use common::{NONE, bundled_store, go, travel};

fn set(threshold: f64) -> AgentSet {
    AgentSet {
        symbols: vec![
            Symbol::try_new("TSLA").unwrap(),
            Symbol::try_new("TSLL").unwrap(),
        ],
        agents: vec![AgentKind::Technical, AgentKind::Factor],
        ensemble: EnsembleConfig {
            threshold,
            ..EnsembleConfig::default()
        },
        technical: TechnicalConfig::default(),
        factor_weights: FactorWeights::default(),
        fundamentals: None,
        dqn_model: None,
    }
}

/// The paper book fills at the close of the bar after the decision: the backtest's `NextClose`.
fn settings() -> RunSettings {
    RunSettings {
        fill_price: FillPrice::NextClose,
        ..RunSettings::default()
    }
}

fn request(threshold: f64) -> TradeRequest {
    TradeRequest {
        name: "agents".to_string(),
        broker: BrokerChoice::Paper,
        mode: pulse_app::trade::TradeMode::Paper,
        settings: settings(),
        limit_offset_bps: None,
        agents: Some(set(threshold)),
    }
}

#[tokio::test]
async fn caught_up_in_pieces_the_runner_trades_as_the_agents_backtest() {
    // A threshold the ensemble of two agents reaches often enough to trade both ways.
    let threshold = 0.3;
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    travel(&store, "2024-03-01T12:00:00Z").await;
    let o = run(&store, &request(threshold), NONE, go).await.unwrap();
    assert!(o.started);
    assert_eq!(o.steps, 0, "warm-up only at the start");
    let mut summaries = Vec::new();
    for day in [
        "2024-03-15",
        "2024-03-18",
        "2024-06-03",
        "2024-09-02",
        "2024-12-31",
    ] {
        travel(&store, &format!("{day}T23:00:00Z")).await;
        let o = run(&store, &request(threshold), NONE, go).await.unwrap();
        summaries.extend(o.summaries);
    }
    // Every day's summary evaluates each agent: its weight (summing to 1) and rolling hit rate.
    assert!(summaries.len() > 200, "{}", summaries.len());
    for d in &summaries {
        assert_eq!(d.agents.len(), 2, "{d:?}");
        let total: f64 = d.agents.iter().map(|a| a.weight).sum();
        assert!((total - 1.0).abs() < 1e-9, "{d:?}");
        assert!(
            d.agents
                .iter()
                .all(|a| a.hit_rate.is_none_or(|h| (0.0..=1.0).contains(&h)))
        );
    }
    let last = summaries.last().unwrap();
    assert!(
        last.agents
            .iter()
            .all(|a| a.hit_rate.is_some() && a.scored > 0)
    );
    let message = pulse_app::trade::summary_message("agents", last);
    assert!(message.contains("; agents: technical "), "{message}");
    assert!(message.contains(", factor "), "{message}");
    let st = status(&store, "agents").await.unwrap();
    let last = st.meta.last_close.unwrap();
    assert!(st.meta.agents.is_some(), "the set is kept with the runner");
    // The last decision's orders fill at the next bar, after the window: the backtest of the
    // same decisions has those fills only when it runs one bar further.
    let runner_fills = common::fill_essence(&st.fills);
    let sells = st
        .fills
        .iter()
        .filter(|f| f.side == pulse_core::Side::Sell)
        .count();
    assert!(
        sells >= 2 && st.fills.len() >= 6,
        "the ensemble trades both ways: {runner_fills:?}"
    );
    let bt = backtest(
        &store,
        &AgentsBacktestRequest {
            set: set(threshold),
            from: Some("2024-03-01T00:00:00Z".parse().unwrap()),
            to: Some(last),
            settings: settings(),
            more_thresholds: Vec::new(),
        },
    )
    .await
    .unwrap();
    let replayed = common::fill_essence(&bt.evaluated[0].result.fills);
    assert_eq!(runner_fills, replayed);
    // The same account to the last decimal: TSLL's ex-dividend in 2024 is paid to the paper
    // book as to the backtest.
    assert!(bt.evaluated[0].result.dividends_received > rust_decimal::Decimal::ZERO);
    assert_eq!(st.account, bt.evaluated[0].result.final_portfolio);
}

/// Client id, quantity and status of every order of the runner.
async fn orders(store: &SqliteStore) -> Vec<String> {
    store
        .trade_orders("agents")
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r.order.client_id, r.order.quantity, r.status))
        .collect()
}

#[tokio::test]
async fn a_crash_between_recording_and_sending_is_resolved_once_at_the_restart() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (plain, crashed) = (bundled_store(&a).await, bundled_store(&b).await);
    for s in [&plain, &crashed] {
        travel(s, "2024-03-01T12:00:00Z").await;
        run(s, &request(0.3), NONE, go).await.unwrap();
        travel(s, "2024-08-01T12:00:00Z").await;
    }
    run(&plain, &request(0.3), NONE, go).await.unwrap();
    // Stop after every step: its orders recorded as intent, never sent; the next run restores
    // the ensemble from the store, resolves the intents and goes on.
    loop {
        let o = run(&crashed, &request(0.3), NONE, |_| ControlFlow::Break(()))
            .await
            .unwrap();
        if o.steps == 0 {
            break;
        }
    }
    run(&crashed, &request(0.3), NONE, go).await.unwrap();
    let (p, c) = (orders(&plain).await, orders(&crashed).await);
    assert!(!p.is_empty());
    assert_eq!(p, c);
    assert!(c.iter().all(|r| !r.ends_with(" intent")), "{c:?}");
}

#[tokio::test]
async fn settings_that_do_not_apply_to_an_agents_runner_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    travel(&store, "2024-03-01T12:00:00Z").await;
    let mut hourly = request(0.7);
    hourly.settings.timeframe = pulse_core::Timeframe::H1;
    let e = run(&store, &hourly, NONE, go).await.unwrap_err();
    assert!(
        matches!(&e, AppError::InvalidSetting { setting, .. } if *setting == "timeframe"),
        "{e}"
    );
    let mut bad = request(1.5);
    bad.name = "bad".into();
    let e = run(&store, &bad, NONE, go).await.unwrap_err();
    assert!(e.to_string().contains("threshold"), "{e}");
    // Nothing was stored for a refused runner.
    assert!(pulse_app::trade::runners(&store).await.unwrap().is_empty());
}
