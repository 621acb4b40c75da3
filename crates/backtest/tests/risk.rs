//! The risk layer in the one decision path: on the real TSLA + TSLL history the 15 % drawdown
//! stop fires and trading halts; for random accounts, prices and targets, no approved order set
//! leaves a position above its cap, a sector above its cap, or cash below zero.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use pulse_backtest::{AlignedData, BacktestConfig, run};
use pulse_core::{Bar, Fill, Portfolio, Side, Symbol};
use pulse_engine::{Engine, EngineConfig, Event};
use pulse_risk::{LeverageConfig, LimitsConfig, RiskConfig, RiskEventKind};
use pulse_strategy::fixed::{FixedWeights, Rebalance};
use pulse_strategy::{MarketSnapshot, Strategy, TargetWeights};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

mod common;
use common::{cash, market, sym};

fn only(limits: LimitsConfig) -> RiskConfig {
    RiskConfig {
        limits,
        leverage: LeverageConfig {
            enabled: false,
            ..LeverageConfig::default()
        },
        ..RiskConfig::default()
    }
}

const NONE: LimitsConfig = LimitsConfig {
    max_position: None,
    max_sector: None,
    max_drawdown: None,
    max_daily_var: None,
};

#[test]
fn the_drawdown_stop_fires_on_real_tsla_tsll_and_trading_halts() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strategy = FixedWeights::new(
        "50/50 TSLA/TSLL",
        BTreeMap::from([(sym("TSLA"), 0.5), (sym("TSLL"), 0.5)]),
        Rebalance::Never,
    );
    let mut config = BacktestConfig::default();
    config.engine.risk = Some(only(LimitsConfig {
        max_drawdown: Some(0.15),
        ..NONE
    }));
    let r = run(&data, strategy, cash(), &config, |_| {}).unwrap();
    let stops: Vec<_> = r
        .risk_events
        .iter()
        .filter(|e| matches!(e.kind, RiskEventKind::DrawdownStop { .. }))
        .collect();
    assert_eq!(stops.len(), 1, "one stop, then halted: {:?}", r.risk_events);
    let stop = stops[0];
    let RiskEventKind::DrawdownStop { drawdown, .. } = stop.kind else {
        unreachable!()
    };
    assert!(drawdown >= 0.15, "{drawdown}");
    // It fires in the 2022 fall of TSLA (TSLL is 2× TSLA).
    assert!(stop.ts.to_string().starts_with("2022-"), "{}", stop.ts);
    // Everything is sold at the next bar, and nothing trades after that.
    let after: Vec<&Fill> = r.fills.iter().filter(|f| f.ts > stop.ts).collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|f| f.side == Side::Sell));
    let sold_at = after[0].ts;
    assert!(after.iter().all(|f| f.ts == sold_at), "trading halted");
    assert!(r.final_portfolio.positions.values().all(|q| q.is_zero()));
    // Leverage 1 until the stop, 0 from it on; the equity is flat (cash) after the sale.
    let k = r.timestamps.iter().position(|t| *t == stop.ts).unwrap();
    assert!(r.leverage[..k].iter().all(|l| *l == 1.0));
    assert!(r.leverage[k..].iter().all(|l| *l == 0.0));
    let j = r.timestamps.iter().position(|t| *t == sold_at).unwrap();
    assert!(r.equity[j..].windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn without_a_risk_config_the_run_is_unchanged_and_records_no_risk() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let mk = || {
        FixedWeights::new(
            "50/50",
            BTreeMap::from([(sym("TSLA"), 0.5), (sym("TSLL"), 0.5)]),
            Rebalance::Never,
        )
    };
    let plain = run(&data, mk(), cash(), &BacktestConfig::default(), |_| {}).unwrap();
    assert!(plain.risk_events.is_empty() && plain.leverage.is_empty());
    // Limits nobody hits change nothing either.
    let mut config = BacktestConfig::default();
    config.engine.risk = Some(only(LimitsConfig {
        max_position: Some(1.0),
        ..NONE
    }));
    let loose = run(&data, mk(), cash(), &config, |_| {}).unwrap();
    assert_eq!(loose.fills, plain.fills);
    assert_eq!(loose.equity, plain.equity);
}

/// Issues one fixed target at every close.
struct Target(TargetWeights);

impl Strategy for Target {
    fn name(&self) -> &str {
        "target"
    }
    fn on_bar_close(&mut self, _: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        Some(self.0.clone())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn approved_orders_respect_the_caps_and_the_cash(
        held in proptest::collection::vec(0u32..400, 4),
        cash_cents in 0i64..20_000_000,
        prices in proptest::collection::vec(100i64..50_000, 4),
        weights in proptest::collection::vec(0.0f64..0.9, 4),
        position_cap in 0.05f64..0.5,
        sector_cap in 0.1f64..0.6,
    ) {
        let names = ["AAA", "BBB", "CCC", "DDD"];
        let symbols: Vec<Symbol> = names.iter().map(|n| sym(n)).collect();
        // AAA and BBB share a sector; CCC and DDD have none (each its own).
        let sectors = BTreeMap::from([(sym("AAA"), "Tech".to_string()), (sym("BBB"), "Tech".to_string())]);
        let mut account = Portfolio::with_cash(Decimal::new(cash_cents, 2));
        for (s, q) in symbols.iter().zip(&held) {
            if *q > 0 {
                account.positions.insert(s.clone(), Decimal::from(*q));
            }
        }
        let total: f64 = weights.iter().sum();
        let scale = if total > 1.0 { 1.0 / total } else { 1.0 };
        let target: TargetWeights = symbols.iter().cloned().zip(weights.iter().map(|w| w * scale)).collect();
        let config = EngineConfig {
            risk: Some(only(LimitsConfig {
                max_position: Some(position_cap),
                max_sector: Some(sector_cap),
                ..NONE
            })),
            sectors,
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(Target(target), config, account);
        let ts = "2024-03-04T21:00:00Z".parse().unwrap();
        let bars: BTreeMap<Symbol, Bar> = symbols.iter().zip(&prices).map(|(s, p)| {
            let p = *p as f64 / 100.0;
            (s.clone(), Bar { ts, open: p, high: p, low: p, close: p, adj_close: None, volume: None })
        }).collect();
        let context = BTreeMap::new();
        let out = engine.process(Event::BarClose(MarketSnapshot { ts, bars: &bars, context: &context })).unwrap();
        // Fill every order at the decision prices (sells first, as planned) through the engine.
        let costs = engine.config().costs.clone();
        for o in &out.orders {
            let price = Decimal::new(prices[names.iter().position(|n| *n == o.symbol.as_str()).unwrap()], 2);
            let notional = o.quantity * price;
            let fill = Fill {
                client_id: o.client_id.clone(),
                symbol: o.symbol.clone(),
                side: o.side,
                quantity: o.quantity,
                price,
                fee: costs.fee(notional),
                ts,
            };
            engine.process(Event::Fill(&fill)).unwrap();
        }
        prop_assert!(engine.portfolio().cash >= Decimal::ZERO, "cash {}", engine.portfolio().cash);
        let after = engine.held_weights();
        // Fees lower the equity after the trades: allow their share (0.1 % of what traded).
        let slack = 2e-3;
        for (s, w) in &after {
            prop_assert!(*w <= position_cap + slack, "{s} at {w} over the cap {position_cap}");
        }
        let tech: f64 = after.iter().filter(|(s, _)| s.as_str() <= "BBB").map(|(_, w)| w).sum();
        prop_assert!(tech <= sector_cap + slack, "Tech at {tech} over {sector_cap}");
    }
}
