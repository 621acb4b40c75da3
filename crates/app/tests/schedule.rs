//! The scheduler's tick on the bundled TSLA + TSLL data in a real SQLite store, driven by time
//! travel: before 08:30 nothing is due; at 08:30 the rebalancer's intake runs, at 09:40 its
//! execution, each once a day however often the tick runs; a running paper runner is caught
//! up to the clock by the same tick (its stored settings), a stopped one is left alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_app::backtest::RunSettings;
use pulse_app::rebalance::{
    Calendar, ClockChange, InitRequest, SignalRequest, Weighting, clock, init, parse_mp,
    parse_sub_mp, signal,
};
use pulse_app::schedule::tick;
use pulse_app::trade::{BrokerChoice, TradeMode, TradeRequest};
use rust_decimal::Decimal;
use std::ops::ControlFlow;
use store_sqlite::SqliteStore;

mod common;
use common::bundled_store;

/// No chat model: the prompt is not scheduled in these tests.
const NONE: Option<&pulse_app::prompt::NoChatModel> = None;

async fn travel(store: &SqliteStore, to: &str) {
    clock(store, Some(ClockChange::Set(to.parse().unwrap())))
        .await
        .unwrap();
}

fn lines(report: &pulse_app::schedule::TickReport, job: &str) -> Vec<String> {
    report
        .jobs
        .iter()
        .find(|j| j.job == job)
        .unwrap_or_else(|| panic!("no job {job}: {report:?}"))
        .lines
        .clone()
}

#[tokio::test]
async fn a_tick_runs_what_the_clock_says_is_due_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    // Nothing set up: nothing to do.
    travel(&store, "2024-03-04T08:00:00-05:00").await;
    assert!(tick(&store, NONE).await.unwrap().jobs.is_empty());

    init(
        &store,
        &InitRequest {
            cash: Decimal::from(100_000),
            calendar: Calendar::Nyse,
            commission: Decimal::new(1, 3),
            force: false,
        },
    )
    .await
    .unwrap();
    let request = SignalRequest {
        mp: Some(parse_mp("stocks=0.8,cash=0.2").unwrap()),
        sub_mp: vec![parse_sub_mp("stocks=TSLA,TSLL").unwrap()],
        weighting: Weighting::Equal,
        liquidity_days: 20,
    };
    signal(&store, request.resolve(&store).await.unwrap())
        .await
        .unwrap();
    // A paper runner started at the same time, then left behind by the clock.
    let trader = TradeRequest {
        name: "pulse".into(),
        broker: BrokerChoice::Paper,
        mode: TradeMode::Paper,
        settings: RunSettings::default(),
        limit_offset_bps: None,
        agents: None,
    };
    let none: Option<&pulse_execution::NoBroker> = None;
    pulse_app::trade::run(&store, &trader, none, |_| ControlFlow::Continue(()))
        .await
        .unwrap();

    // 08:00 on a Monday: the rebalancer has nothing due.
    let r = tick(&store, NONE).await.unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(lines(&r, "rebalance"), vec!["nothing due".to_string()]);
    // 08:31: the intake; a second tick at 08:35 does not take it again.
    travel(&store, "2024-03-04T08:31:00-05:00").await;
    let r = tick(&store, NONE).await.unwrap();
    let intake = lines(&r, "rebalance");
    assert!(intake.iter().any(|l| l.contains("intake")), "{intake:?}");
    travel(&store, "2024-03-04T08:35:00-05:00").await;
    let again = lines(&tick(&store, NONE).await.unwrap(), "rebalance");
    assert!(!again.iter().any(|l| l.contains("intake")), "{again:?}");
    // 09:41: the execution, once.
    travel(&store, "2024-03-04T09:41:00-05:00").await;
    let exec = lines(&tick(&store, NONE).await.unwrap(), "rebalance");
    assert!(exec.iter().any(|l| l.contains("execution")), "{exec:?}");
    let status = pulse_app::rebalance::status(&store).await.unwrap();
    assert!(status.last_execution.is_some());
    let once = lines(&tick(&store, NONE).await.unwrap(), "rebalance");
    assert!(!once.iter().any(|l| l.contains("execution")), "{once:?}");

    // A week later the runner is caught up by the tick: the bars closed since were decided.
    let before = pulse_app::trade::meta(&store, "pulse")
        .await
        .unwrap()
        .last_close;
    travel(&store, "2024-03-11T12:00:00-05:00").await;
    let r = tick(&store, NONE).await.unwrap();
    assert!(r.ok(), "{r:?}");
    let trade = lines(&r, "trade:pulse");
    assert!(trade[0].contains("bar(s) decided"), "{trade:?}");
    let after = pulse_app::trade::meta(&store, "pulse")
        .await
        .unwrap()
        .last_close;
    assert!(after > before, "{before:?} → {after:?}");
    // A stopped runner is left alone.
    pulse_app::trade::stop(&store, "pulse", none).await.unwrap();
    travel(&store, "2024-03-18T12:00:00-05:00").await;
    let r = tick(&store, NONE).await.unwrap();
    assert!(
        lines(&r, "trade:pulse")[0].starts_with("not running"),
        "{r:?}"
    );
    assert_eq!(
        pulse_app::trade::meta(&store, "pulse")
            .await
            .unwrap()
            .last_close,
        after
    );
}
