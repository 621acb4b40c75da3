//! Property tests: for random holdings, weights and price paths a plan never oversells, never
//! takes cash below zero, trades whole shares, and ends within one share under every target
//! (or short of the cash for one more share).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use proptest::prelude::*;
use pulse_core::costs::CostModel;
use pulse_core::sizing::QuantityRules;
use pulse_core::{Portfolio, Side, Symbol};
use pulse_rebalance::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

const TICKERS: [&str; 4] = ["SPY", "QQQ", "TLT", "GLD"];

fn weights_json(w: &[f64; 4], cash: f64) -> String {
    let total: f64 = w.iter().sum::<f64>() + cash;
    let class = |i: usize| w[i] / total;
    format!(
        r#"{{"mp":{{"stocks":{},"bonds":{},"gold":{},"cash":{}}},"sub_mp":{{"stocks":{{"SPY":{},"QQQ":{}}},"bonds":["TLT"],"gold":["GLD"]}}}}"#,
        class(0) + class(1),
        class(2),
        class(3),
        (1.0 - (class(0) + class(1)) - class(2) - class(3)).max(0.0),
        class(0) / (class(0) + class(1)),
        1.0 - class(0) / (class(0) + class(1)),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn plans_never_oversell_never_overdraw_and_reach_the_targets(
        w in [0.05f64..1.0, 0.05f64..1.0, 0.05f64..1.0, 0.05f64..1.0],
        cash_w in 0.0f64..0.3,
        held in [0u32..400, 0u32..400, 0u32..400, 0u32..400],
        cash in 0u32..50_000,
        start in [20u32..600, 20u32..600, 20u32..600, 20u32..600],
        moves in proptest::collection::vec([-0.06f64..0.06, -0.06f64..0.06, -0.06f64..0.06, -0.06f64..0.06], 5),
        equal in any::<bool>(),
    ) {
        let cfg = RebalanceConfig {
            split_mode: if equal { SplitMode::Equal } else { SplitMode::Scheduled },
            ..RebalanceConfig::default()
        };
        let book = Portfolio {
            cash: Decimal::from(cash),
            positions: TICKERS
                .iter()
                .zip(held)
                .filter(|(_, q)| *q > 0)
                .map(|(t, q)| (sym(t), Decimal::from(q)))
                .collect(),
        };
        let json = weights_json(&w, cash_w);
        let m = {
            let v = validate_signal(&signal(&json), &Model::default(), &cfg).unwrap();
            Model { mp: v.mp.unwrap(), sub_mp: v.sub_mp }
        };
        let mut sim = Sim::new(cfg, RebalanceState::with_model(m), book);
        sim.rb.start_global_plan(&mut sim.state, day("2024-03-04"), "prop").unwrap();
        let mut p: Vec<f64> = start.iter().map(|x| f64::from(*x)).collect();
        let days = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"];
        for (k, day_) in days.iter().enumerate() {
            for (i, m) in moves[k].iter().enumerate() {
                p[i] *= 1.0 + m;
            }
            let px: BTreeMap<Symbol, Decimal> = TICKERS
                .iter()
                .zip(&p)
                .map(|(t, x)| (sym(t), pulse_core::money::price_to_money(*x, 2).unwrap()))
                .collect();
            let before = sim.net(&px);
            let held_before = sim.broker.book.clone();
            // The paper broker panics on an oversell or negative cash.
            let dec = sim.execute(day_, &px);
            for o in &dec.orders {
                prop_assert!(o.quantity > Decimal::ZERO && o.quantity.fract().is_zero());
                if o.side == Side::Sell {
                    prop_assert!(o.quantity <= held_before.quantity(&o.symbol));
                }
            }
            prop_assert!(sim.broker.book.cash >= Decimal::ZERO);
            if k == days.len() - 1 {
                prop_assert!(!sim.state.is_rebalancing_active());
                let cheapest = px.values().min().copied().unwrap();
                for (s, t) in &before.targets {
                    let gap = t - sim.qty(s.as_str());
                    prop_assert!(gap > -Decimal::ONE, "{s} over target by {gap}");
                    prop_assert!(
                        gap < Decimal::ONE || sim.broker.book.cash < px[s] * d("1.001") || sim.broker.book.cash < cheapest,
                        "{s} {gap} shares under target with {} cash", sim.broker.book.cash
                    );
                }
            }
        }
    }

    #[test]
    fn sizing_keeps_cash_and_positions_non_negative(
        held in [0u32..100, 0u32..100, 0u32..100],
        cash in 0u32..20_000,
        prices in [1u32..900, 1u32..900, 1u32..900],
        deltas in [-150i32..150, -150i32..150, -150i32..150],
        fee_bp in 0u32..100,
    ) {
        let fee = Decimal::new(i64::from(fee_bp), 4);
        let names = ["A", "B", "C"];
        let book = Portfolio {
            cash: Decimal::from(cash),
            positions: names.iter().zip(held).filter(|(_, q)| *q > 0).map(|(n, q)| (sym(n), Decimal::from(q))).collect(),
        };
        let px: BTreeMap<Symbol, Decimal> = names.iter().zip(prices).map(|(n, p)| (sym(n), Decimal::from(p))).collect();
        let net = calculate_net_trades(&book, &[], &BTreeMap::new(), &px, fee).unwrap();
        let wanted: Vec<Wanted> = names
            .iter()
            .zip(deltas)
            .map(|(n, q)| Wanted { symbol: sym(n), delta: Decimal::new(i64::from(q) * 7, 1), close: false, last: false })
            .collect();
        let (orders, _) = size_orders(&net, &wanted, &QuantityRules { quantity_dp: 0, min_trade_value: Decimal::ZERO }, &CostModel::commission_only(fee));
        let mut paper = Paper::new(book, fee);
        let ids: Vec<_> = orders.iter().enumerate().map(|(i, o)| pulse_core::OrderRequest {
            kind: pulse_core::OrderKind::Market,
            time_in_force: pulse_core::TimeInForce::Day,
            client_id: pulse_core::ClientOrderId(format!("o{i}")),
            symbol: o.symbol.clone(),
            side: o.side,
            quantity: o.quantity,
            decided_at: ts(day("2024-03-04")),
        }).collect();
        paper.submit(&ids);
        paper.fill_all(&px, day("2024-03-04"));
        prop_assert!(paper.book.cash >= Decimal::ZERO);
        let sells_first = orders.iter().position(|o| o.side == Side::Buy).is_none_or(|b| orders[b..].iter().all(|o| o.side == Side::Buy));
        prop_assert!(sells_first);
    }
}
