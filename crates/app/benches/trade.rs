//! The trading runner's latency on the bundled TSLA + TSLL data in a real SQLite store (a file
//! in a temporary directory, WAL, synchronous commits), paper broker:
//! - one step (bar close → the broker's fills booked, the decision, the `intent` transaction,
//!   the orders submitted, the second transaction), p50 / p99 / max over two years of daily
//!   bars (goal: p99 < 1 ms without the network: the two SQLite commits dominate);
//! - the decision alone (engine step in memory) for comparison;
//! - recovery: a runner restarted with nothing new (load the state, the market, resolve intents,
//!   reconcile), i.e. the time to be trading again after a `kill -9` (goal < 1 s), in process.
//!
//! Run: `cargo bench -p pulse-app --bench trade`. Prints a markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use pulse_app::backtest::RunSettings;
use pulse_app::rebalance::{ClockChange, clock};
use pulse_app::trade::{BrokerChoice, TradeMode, TradeRequest, run};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

const NONE: Option<&broker_alpaca::AlpacaBroker> = None;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::bundled_store(&dir).await;
    let request = TradeRequest {
        name: "bench".into(),
        broker: BrokerChoice::Paper,
        mode: TradeMode::Paper,
        settings: RunSettings::default(),
        limit_offset_bps: None,
        agents: None,
    };
    let set = |t: &str| ClockChange::Set(t.parse().unwrap());
    clock(&store, Some(set("2023-01-03T12:00:00Z")))
        .await
        .unwrap();
    run(&store, &request, NONE, |_| ControlFlow::Continue(()))
        .await
        .unwrap();
    clock(&store, Some(set("2024-12-31T23:00:00Z")))
        .await
        .unwrap();
    // Step times: between successive commits of a step's decision.
    let mut marks: Vec<Instant> = Vec::new();
    let t0 = Instant::now();
    let o = run(&store, &request, NONE, |_| {
        marks.push(Instant::now());
        ControlFlow::Continue(())
    })
    .await
    .unwrap();
    let whole = t0.elapsed();
    let mut steps: Vec<Duration> = marks.windows(2).map(|w| w[1] - w[0]).collect();
    steps.sort();
    // Recovery: restart with nothing new, best of 10.
    let mut recovery = Duration::MAX;
    for _ in 0..10 {
        let t = Instant::now();
        let again = run(&store, &request, NONE, |_| ControlFlow::Continue(()))
            .await
            .unwrap();
        assert_eq!(again.steps, 0);
        recovery = recovery.min(t.elapsed());
    }
    println!(
        "| measure ({} daily steps, {} orders) | value | goal |",
        o.steps,
        o.submitted.len()
    );
    println!("|---|---:|---|");
    println!(
        "| step p50 (fills, decision, 2 commits, submit) | {} | |",
        ms(pct(&steps, 0.5))
    );
    println!(
        "| step p99 | {} | p99 < 1 ms (network excluded) |",
        ms(pct(&steps, 0.99))
    );
    println!("| step max | {} | |", ms(*steps.last().unwrap()));
    println!("| whole catch-up | {} | |", ms(whole));
    println!(
        "| restart with nothing new (recovery, in process) | {} | < 1 s |",
        ms(recovery)
    );
}
