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
    stop_loss: None,
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
                exec_id: None,
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

fn pulse_with(sizing: &str) -> pulse_strategy::pulse::PulseStrategy {
    let text = format!(
        "{}\n{sizing}",
        pulse_strategy::pulse::DEFAULT_TOML
            .split("\n[sizing]")
            .next()
            .unwrap()
    );
    let cfg = pulse_strategy::pulse::PulseConfig::from_toml(&text).unwrap();
    pulse_strategy::pulse::PulseStrategy::try_new(cfg).unwrap()
}

#[test]
fn half_kelly_from_the_strategy_toml_caps_every_target_on_real_data() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strategy = pulse_with(
        "[sizing]\nmethod = \"half_kelly\"\n[sizing.kelly]\nwin_rate = 0.55\npayoff = 1.4\ncap = 0.25\n",
    );
    let r = run(&data, strategy, cash(), &BacktestConfig::default(), |_| {}).unwrap();
    // ½·(0.55 − 0.45 / 1.4), by hand.
    let half_kelly = 0.5 * (0.55 - 0.45 / 1.4);
    assert!(r.target_weights.iter().all(|w| *w <= half_kelly + 1e-12));
    assert!(
        r.target_weights
            .iter()
            .any(|w| (*w - half_kelly).abs() < 1e-12)
    );
    assert!(r.risk_events.iter().any(|e| e.kind.name() == "sized_down"));
    assert!(!r.fills.is_empty());
}

#[test]
fn atr_sizing_matches_the_batch_atr_of_the_traded_bars() {
    let (traded, context, actions) = market();
    let bars = traded.clone();
    let data = AlignedData::new(traded, context, &actions);
    let strategy = pulse_with("[sizing]\nmethod = \"atr\"\n");
    let r = run(&data, strategy, cash(), &BacktestConfig::default(), |_| {}).unwrap();
    let mut checked = 0;
    for (j, symbol) in r.symbols.iter().enumerate() {
        let leg = &bars[symbol];
        let high: Vec<f64> = leg.iter().map(|b| b.high).collect();
        let low: Vec<f64> = leg.iter().map(|b| b.low).collect();
        let close: Vec<f64> = leg.iter().map(|b| b.close).collect();
        let atr = pulse_indicators::atr(&high, &low, &close, 14).unwrap();
        let by_ts: BTreeMap<_, _> = leg.iter().enumerate().map(|(i, b)| (b.ts, i)).collect();
        for (i, ts) in r.timestamps.iter().enumerate() {
            let Some(&k) = by_ts.get(ts) else { continue };
            if !atr[k].is_finite() {
                continue;
            }
            // 1 % of equity on a 2-ATR move: weight ≤ 0.01 × close / (2 × ATR).
            let allowed = 0.01 * close[k] / (2.0 * atr[k]);
            let target = r.target_at(i)[j];
            assert!(
                target <= allowed + 1e-12,
                "{symbol} {ts}: {target} > {allowed}"
            );
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
    assert!(r.risk_events.iter().any(|e| e.kind.name() == "sized_down"));
}

#[test]
fn the_correlation_filter_from_the_strategy_toml_refuses_tsll_next_to_tsla() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strategy = pulse_with("[sizing]\ncorrelation_filter = true\n");
    let r = run(&data, strategy, cash(), &BacktestConfig::default(), |_| {}).unwrap();
    let refused: Vec<_> = r
        .risk_events
        .iter()
        .filter_map(|e| match &e.kind {
            RiskEventKind::CorrelationRefused { correlation, .. } => Some(*correlation),
            _ => None,
        })
        .collect();
    assert!(!refused.is_empty());
    // TSLL is a 2× TSLA fund: their daily returns correlate far above 0.8.
    assert!(refused.iter().all(|c| *c > 0.9), "{refused:?}");
}

#[test]
fn margin_leverage_borrows_and_pays_interest_on_the_negative_cash() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strategy = FixedWeights::new(
        "TSLA",
        BTreeMap::from([(sym("TSLA"), 1.0)]),
        Rebalance::Monthly,
    );
    let rate = 0.05;
    let mut config = BacktestConfig::default();
    config.engine.allow_negative_cash = true;
    config.engine.risk = Some(RiskConfig {
        limits: NONE,
        leverage: LeverageConfig {
            levels: Vec::new(),
            base: 1.5,
            margin: true,
            borrow_rate: rate,
            ..LeverageConfig::default()
        },
        ..RiskConfig::default()
    });
    let r = run(&data, strategy, cash(), &config, |_| {}).unwrap();
    // The account holds about 1.5× its equity in TSLA, borrowing the rest.
    let first_buy = r.fills.first().unwrap();
    assert_eq!(first_buy.side, Side::Buy);
    let k = r
        .timestamps
        .iter()
        .position(|t| *t == first_buy.ts)
        .unwrap();
    assert!(
        r.cash[k] < -0.45 * r.equity[k],
        "{} {}",
        r.cash[k],
        r.equity[k]
    );
    let held = &r.gross_exposure[k..];
    let mean = held.iter().sum::<f64>() / held.len() as f64;
    assert!((mean - 1.5).abs() < 0.1, "mean gross exposure {mean}");
    assert!(r.leverage.iter().all(|l| *l == 1.5));
    // Interest: act/365 on the cash left at each close, for the days to the next close.
    let mut expected = 0.0;
    for i in 1..r.timestamps.len() {
        let days = pulse_risk::utc_day(r.timestamps[i]) - pulse_risk::utc_day(r.timestamps[i - 1]);
        expected += (-r.cash[i - 1]).max(0.0) * rate * days as f64 / 365.0;
    }
    let charged = pulse_core::money::money_to_f64(r.borrow_cost);
    assert!(charged > 1000.0, "{charged}");
    assert!(
        (charged - expected).abs() < 1e-6 * expected,
        "{charged} vs {expected}"
    );
    // Without margin the same run never borrows.
    let mut plain = config.clone();
    plain.engine.allow_negative_cash = false;
    plain.engine.risk = None;
    let strategy = FixedWeights::new(
        "TSLA",
        BTreeMap::from([(sym("TSLA"), 1.0)]),
        Rebalance::Monthly,
    );
    let p = run(&data, strategy, cash(), &plain, |_| {}).unwrap();
    assert!(p.cash.iter().all(|c| *c >= 0.0));
    assert!(p.borrow_cost.is_zero());
}
