//! Engine state that survives a restart (issue #11, item 6): the engine with the Pulse strategy
//! (indicators, account, target, last prices) saved to JSON at any step of the real TSLA/TSLL
//! history and restored decides, orders and fills exactly as the uninterrupted engine, and the
//! uninterrupted step loop below is the general runner's (same equity, fills and alerts).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_backtest::{AlignedData, BacktestConfig, SimBroker, run};
use pulse_core::{Fill, OrderRequest};
use pulse_engine::{Engine, Event};
use pulse_risk::RiskApproved;
use pulse_strategy::MarketSnapshot;
use pulse_strategy::Strategy;
use pulse_strategy::fixed::{FixedWeights, Rebalance};
use pulse_strategy::pulse::{PulseConfig, PulseStrategy};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

mod common;
use common::{cash, market, sym};

/// What a replay produced, comparable exactly (`Debug` prints every digit).
#[derive(Debug, PartialEq)]
struct Trace {
    equity: Vec<u64>,
    fills: Vec<Fill>,
    orders: Vec<OrderRequest>,
    alerts: Vec<String>,
}

/// The runner's protocol per step (dividends at the date's first step, yesterday's orders fill,
/// then the close is decided), with the engine and the orders in flight saved to JSON and
/// restored into fresh values before step `restart_at`.
fn replay<S>(data: &AlignedData, strategy: S, restart_at: Option<usize>) -> Trace
where
    S: Strategy + Serialize + DeserializeOwned,
{
    let config = BacktestConfig::default();
    let e = &config.engine;
    let broker = SimBroker::new(
        e.costs.clone(),
        config.fill_price,
        config.price_dp,
        e.sizing.whole_shares,
        e.sizing.fractional_dp,
        e.allow_negative_cash,
    );
    let mut engine = Engine::new(strategy, e.clone(), cash());
    let mut pending: Vec<RiskApproved<OrderRequest>> = Vec::new();
    let mut trace = Trace {
        equity: Vec::new(),
        fills: Vec::new(),
        orders: Vec::new(),
        alerts: Vec::new(),
    };
    let (mut bars, mut context) = (BTreeMap::new(), BTreeMap::new());
    let mut dividend_date = None;
    for i in 0..data.timeline.len() {
        if restart_at == Some(i) {
            let saved_engine = serde_json::to_string(&engine).unwrap();
            let saved_orders = serde_json::to_string(&pending).unwrap();
            drop(engine);
            engine = serde_json::from_str(&saved_engine).unwrap();
            // Stored orders are plain requests: the restored engine approves them again.
            let stored: Vec<OrderRequest> = serde_json::from_str(&saved_orders).unwrap();
            let (approved, refused) = engine.approve(stored);
            assert!(refused.is_empty(), "{refused:?}");
            assert_eq!(approved.len(), pending.len());
            pending = approved;
        }
        let ts = data.timeline[i];
        data.fill_bars_at(i, &mut bars);
        data.fill_context_at(i, &mut context);
        let date = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
        if dividend_date != Some(date) {
            dividend_date = Some(date);
            for (symbol, cash_per_share) in data.dividends.get(&date).into_iter().flatten() {
                engine
                    .process(Event::Dividend {
                        symbol,
                        cash_per_share: *cash_per_share,
                        ts,
                    })
                    .unwrap();
            }
        }
        let held = engine.portfolio().clone();
        let (fills, _) = broker.execute(&pending, &bars, &held.positions, held.cash);
        for fill in &fills {
            engine.process(Event::Fill(fill)).unwrap();
        }
        trace.fills.extend(fills);
        if i == 0 {
            engine.open_window();
        }
        let snapshot = MarketSnapshot {
            ts,
            bars: &bars,
            context: &context,
        };
        let out = engine.process(Event::BarClose(snapshot)).unwrap();
        trace.equity.push(engine.equity().to_bits());
        trace
            .orders
            .extend(out.orders.iter().map(|o| o.get().clone()));
        trace.alerts.extend(out.alert.map(|a| format!("{a:?}")));
        pending = out.orders;
    }
    trace
}

fn pulse() -> PulseStrategy {
    PulseStrategy::try_new(PulseConfig::default_config().unwrap()).unwrap()
}

#[test]
fn a_restored_pulse_engine_decides_exactly_as_the_uninterrupted_one() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let whole = replay(&data, pulse(), None);
    // The loop is the runner's: same equity, fills and alerts as `run`.
    let r = run(&data, pulse(), cash(), &BacktestConfig::default(), |_| {}).unwrap();
    let runner_equity: Vec<u64> = r.equity.iter().map(|x| x.to_bits()).collect();
    assert_eq!(whole.equity, runner_equity);
    assert_eq!(whole.fills, r.fills);
    assert_eq!(whole.alerts.len(), r.alerts.len());
    assert!(whole.fills.len() > 20, "{} fills", whole.fills.len());
    // Restarts during the warm-up, right after it, on a step with orders in flight, near the end.
    let with_orders = (1..data.timeline.len())
        .find(|&i| {
            whole
                .orders
                .iter()
                .any(|o| o.decided_at == data.timeline[i - 1])
        })
        .unwrap();
    for k in [1, 5, 40, with_orders, 400, data.timeline.len() - 1] {
        assert_eq!(
            replay(&data, pulse(), Some(k)),
            whole,
            "restart before step {k}"
        );
    }
}

#[test]
fn a_restored_fixed_weight_benchmark_keeps_its_schedule() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let mix = || {
        FixedWeights::new(
            "50/50 monthly",
            BTreeMap::from([(sym("TSLA"), 0.5), (sym("TSLL"), 0.5)]),
            Rebalance::Monthly,
        )
    };
    let whole = replay(&data, mix(), None);
    for k in [1, 25, 300] {
        assert_eq!(
            replay(&data, mix(), Some(k)),
            whole,
            "restart before step {k}"
        );
    }
}

/// The re-optimized portfolio strategy keeps its trailing window, its schedule and its failures
/// through a restart (min volatility, Ledoit-Wolf, monthly on 60 closes of TSLA and TSLL).
#[test]
fn a_restored_portfolio_strategy_re_optimizes_as_the_uninterrupted_one() {
    use pulse_optimize::{Method, PortfolioSpec, ReturnModel, RiskModel};
    use pulse_strategy::portfolio::{PortfolioStrategy, Schedule};
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strategy = || {
        PortfolioStrategy::new(
            "min-vol",
            vec![sym("TSLA"), sym("TSLL")],
            PortfolioSpec::new(
                Method::MinVolatility,
                ReturnModel::MeanHistorical { compounding: true },
                RiskModel::LedoitWolf,
            ),
            60,
            Schedule::Monthly,
        )
    };
    let whole = replay(&data, strategy(), None);
    assert!(whole.orders.len() >= 3, "{} orders", whole.orders.len());
    for k in [30, 61, 200, data.timeline.len() - 1] {
        assert_eq!(
            replay(&data, strategy(), Some(k)),
            whole,
            "restart before step {k}"
        );
    }
}
