//! Backtests on the real TSLA/TSLL history: exact fee accounting, fills strictly after
//! decisions, dividends, cash never negative, and no look-ahead (perturbing the future never
//! changes a past decision).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use pulse_backtest::{AlignedData, BacktestConfig, run};
use pulse_core::{Bar, Side, Symbol};
use pulse_strategy::fixed::{FixedWeights, Rebalance};
use pulse_strategy::pulse::{PulseConfig, PulseStrategy};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

mod common;
use common::{cash, market, sym};

#[test]
fn pulse_on_real_data_books_fees_exactly_and_never_trades_on_the_decision_bar() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strategy = PulseStrategy::try_new(PulseConfig::default_config().unwrap()).unwrap();
    let r = run(&data, strategy, cash(), &BacktestConfig::default(), |_| {}).unwrap();
    assert!(
        r.fills.len() > 20,
        "Pulse should trade on 3 years of data: {} fills",
        r.fills.len()
    );
    // Fees are exactly 0.1 % of traded notional, to the last decimal.
    assert_eq!(r.fees_paid, r.traded_notional * Decimal::new(1, 3));
    let fee_sum: Decimal = r.fills.iter().map(|f| f.fee).sum();
    assert_eq!(fee_sum, r.fees_paid);
    // Cash never negative; equity = cash + positions.
    assert!(r.cash.iter().all(|c| *c >= 0.0), "negative cash");
    // Every fill happens strictly after the close its order was decided at.
    let decided: BTreeMap<_, _> = r
        .orders
        .iter()
        .map(|o| (o.client_id.clone(), o.decided_at))
        .collect();
    for f in &r.fills {
        assert!(
            f.ts > decided[&f.client_id],
            "{f:?} filled at or before its decision"
        );
    }
    // The exact cash identity: start − buys − fees + sells + dividends = final cash.
    let flow: Decimal = r.fills.iter().map(|f| f.cash_delta()).sum();
    assert_eq!(
        r.final_portfolio.cash,
        Decimal::from(100_000) + flow + r.dividends_received
    );
    assert_eq!(r.timestamps.len(), 788);
}

#[test]
fn buy_and_hold_tsll_collects_its_distributions() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strat = FixedWeights::new(
        "Buy & hold TSLL",
        BTreeMap::from([(sym("TSLL"), 1.0)]),
        Rebalance::Never,
    );
    let r = run(&data, strat, cash(), &BacktestConfig::default(), |_| {}).unwrap();
    assert_eq!(r.fills.len(), 1);
    let fill = &r.fills[0];
    assert_eq!(fill.side, Side::Buy);
    // Shares bought on day 2 at its open receive every distribution going ex afterwards.
    let expected: Decimal = actions
        .iter()
        .filter(|a| a.symbol == sym("TSLL"))
        .filter(|a| {
            a.ex_date
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                > fill.ts
        })
        .map(|a| a.value() * fill.quantity)
        .sum();
    assert!(expected > Decimal::ZERO);
    assert_eq!(r.dividends_received, expected);
    // Final equity = cash + shares × last close.
    let last_close = data.bars[&sym("TSLL")].last().unwrap().unwrap().close;
    let eq = pulse_core::money::money_to_f64(r.final_portfolio.cash)
        + pulse_core::money::money_to_f64(fill.quantity) * last_close;
    assert!(
        (r.equity.last().unwrap() - eq).abs() < 1e-6,
        "{} vs {eq}",
        r.equity.last().unwrap()
    );
}

fn perturb_after(
    mut traded: BTreeMap<Symbol, Vec<Bar>>,
    after: jiff::Timestamp,
    seed: u64,
) -> BTreeMap<Symbol, Vec<Bar>> {
    let mut state = seed | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        0.7 + 0.6 * ((state % 10_000) as f64 / 10_000.0)
    };
    for bars in traded.values_mut() {
        for b in bars.iter_mut().filter(|b| b.ts > after) {
            let k = next();
            b.open *= k;
            b.high *= k * 1.01;
            b.low *= k * 0.99;
            b.close *= next();
            b.volume = b.volume.map(|v| v * next());
        }
    }
    traded
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn perturbing_the_future_never_changes_past_decisions(cut in 40usize..760, seed in any::<u64>()) {
        let (traded, context, actions) = market();
        let data = AlignedData::new(traded.clone(), context.clone(), &actions);
        let cut_ts = data.timeline[cut];
        let strategy = || PulseStrategy::try_new(PulseConfig::default_config().unwrap()).unwrap();
        let base = run(&data, strategy(), cash(), &BacktestConfig::default(), |_| {}).unwrap();
        let other = AlignedData::new(perturb_after(traded, cut_ts, seed), context, &actions);
        let moved = run(&other, strategy(), cash(), &BacktestConfig::default(), |_| {}).unwrap();
        let past = |r: &pulse_backtest::BacktestResult| {
            let orders: Vec<_> = r.orders.iter().filter(|o| o.decided_at <= cut_ts).cloned().collect();
            let fills: Vec<_> = r.fills.iter().filter(|f| f.ts <= cut_ts).cloned().collect();
            let n = r.timestamps.partition_point(|t| *t <= cut_ts);
            let k = r.symbols.len();
            (orders, fills, r.equity[..n].to_vec(), r.target_weights[..n * k].to_vec())
        };
        prop_assert_eq!(past(&base), past(&moved));
    }
}

#[test]
fn a_window_opened_after_warm_up_alerts_from_the_held_weights_and_reports_partial_fills() {
    // Buy & hold issues its 100 % target during warm-up; the account is all cash when the
    // window opens, so the first evaluated close must alert 0 % → 100 % and buy; a buy capped by
    // cash at the next open is reported at that step as a partial fill.
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strat = FixedWeights::new(
        "Buy & hold TSLL",
        BTreeMap::from([(sym("TSLL"), 1.0)]),
        Rebalance::Never,
    );
    // A window opening on a close followed by a 2 % gap up: the buy sized at the close cannot
    // be paid in full at the next open.
    let tsll = &data.bars[&sym("TSLL")];
    let start = (60..tsll.len() - 1)
        .find(|&i| match (tsll[i], tsll[i + 1]) {
            (Some(a), Some(b)) => b.open > a.close * 1.02,
            _ => false,
        })
        .unwrap();
    let config = BacktestConfig {
        start: Some(data.timeline[start]),
        ..BacktestConfig::default()
    };
    let mut step_rejections = Vec::new();
    let mut first_alert = None;
    let r = run(&data, strat, cash(), &config, |step| {
        if step.ts == data.timeline[start] {
            first_alert = step.alert.map(|a| a.message.clone());
        }
        step_rejections.extend(step.rejections.iter().cloned());
    })
    .unwrap();
    assert_eq!(first_alert.as_deref(), Some("TSLL 0.0% → 100.0%"));
    assert_eq!(r.alerts.len(), 1);
    assert_eq!(r.fills.len(), 1);
    assert_eq!(step_rejections, r.rejections);
    assert_eq!(step_rejections.len(), 1);
    let partial = &step_rejections[0];
    assert_eq!(partial.filled, r.fills[0].quantity);
    assert!(partial.filled > Decimal::ZERO && partial.filled < partial.requested);
    assert!(partial.reason.starts_with("cash"), "{}", partial.reason);
}
