#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The risk layer's per-position stop loss through the engine, with fills at the next bar's open
//! as the backtest runner books them: a hand-computed price path where the stop fires at a close
//! and sells at the next open, stays out while the strategy still wants the symbol, and enters
//! again once the strategy's target has reset; and no look-ahead: changing the bars after a
//! cut never changes a decision, fill or risk event up to it.

use jiff::Timestamp;
use pulse_core::{Bar, ClientOrderId, Fill, OrderRequest, Portfolio, Side, Symbol};
use pulse_engine::{Engine, EngineConfig, Event};
use pulse_risk::{RiskConfig, RiskEvent, RiskEventKind};
use pulse_strategy::{MarketSnapshot, Strategy, TargetWeights};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn tsla() -> Symbol {
    Symbol::try_new("TSLA").unwrap()
}

fn day(i: usize) -> Timestamp {
    Timestamp::from_second(1_704_067_200 + i as i64 * 86_400).unwrap()
}

/// Issues the scripted target (weight of TSLA) at each close, in order.
struct Scripted(Vec<f64>, usize);

impl Strategy for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn on_bar_close(&mut self, _: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        let w = *self.0.get(self.1)?;
        self.1 += 1;
        Some(TargetWeights::from([(tsla(), w)]))
    }
}

/// Long 60 % while the close is within 10 % of the highest of the last ten closes, else flat
/// (slow enough that a 4 % stop loss fires before it exits): decides on the closes seen so far
/// only.
#[derive(Default)]
struct Trend(Vec<f64>);

impl Strategy for Trend {
    fn name(&self) -> &str {
        "trend"
    }
    fn on_bar_close(&mut self, s: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        let close = s.bars.get(&tsla())?.close;
        self.0.push(close);
        let n = self.0.len();
        if n < 3 {
            return None;
        }
        let high = self.0[n.saturating_sub(10)..]
            .iter()
            .copied()
            .fold(f64::MIN, f64::max);
        let w = if close > 0.9 * high { 0.6 } else { 0.0 };
        Some(TargetWeights::from([(tsla(), w)]))
    }
}

/// What a run did: orders (with the bar they were decided at), fills, risk events.
#[derive(Debug, PartialEq)]
struct Trace {
    orders: Vec<OrderRequest>,
    fills: Vec<Fill>,
    events: Vec<RiskEvent>,
}

fn config(stop_loss: Option<f64>) -> EngineConfig {
    let mut risk = RiskConfig::sizing_only();
    risk.limits.stop_loss = stop_loss;
    risk.validate().unwrap();
    EngineConfig {
        risk: Some(risk),
        ..EngineConfig::default()
    }
}

/// Runs `strategy` over `(open, close)` bars: the orders decided at a close fill in full at the
/// next bar's open (0.1 % commission; a buy cut to the whole shares the cash pays for), as the
/// backtest runner's next-open fills do.
fn run<S: Strategy>(
    strategy: S,
    path: &[(f64, f64)],
    stop_loss: Option<f64>,
) -> (Trace, Engine<S>) {
    let mut engine = Engine::new(
        strategy,
        config(stop_loss),
        Portfolio::with_cash(Decimal::new(100_000, 0)),
    );
    let mut trace = Trace {
        orders: Vec::new(),
        fills: Vec::new(),
        events: Vec::new(),
    };
    let mut pending: Vec<OrderRequest> = Vec::new();
    let context = BTreeMap::new();
    for (i, (open, close)) in path.iter().copied().enumerate() {
        let ts = day(i);
        for order in pending.drain(..) {
            let price = Decimal::try_from(open).unwrap().round_dp(6);
            let commission = Decimal::new(1, 3);
            let quantity = match order.side {
                Side::Buy => order
                    .quantity
                    .min((engine.portfolio().cash / (price * (Decimal::ONE + commission))).floor()),
                Side::Sell => order.quantity,
            };
            if quantity <= Decimal::ZERO {
                continue;
            }
            let fill = Fill {
                client_id: ClientOrderId(order.client_id.0.clone()),
                symbol: order.symbol.clone(),
                side: order.side,
                quantity,
                price,
                fee: (quantity * price * commission).round_dp(6),
                ts,
                exec_id: None,
            };
            engine.process(Event::Fill(&fill)).unwrap();
            trace.fills.push(fill);
        }
        let bar = Bar {
            ts,
            open,
            high: open.max(close),
            low: open.min(close),
            close,
            adj_close: None,
            volume: None,
        };
        let bars = BTreeMap::from([(tsla(), bar)]);
        let out = engine
            .process(Event::BarClose(MarketSnapshot {
                ts,
                bars: &bars,
                context: &context,
            }))
            .unwrap();
        trace.events.extend(out.risk_events);
        for o in out.orders {
            pending.push(o.get().clone());
            trace.orders.push(o.get().clone());
        }
    }
    (trace, engine)
}

#[test]
fn the_stop_sells_at_the_next_open_and_waits_for_the_target_to_reset() {
    // Day:         0        1        2       3       4       5        6        7        8
    // (open, close)
    let path = [
        (100.0, 100.0), // 0: target 50 %: buy 500 at the close's price
        (102.0, 100.0), // 1: the buy fills at 102: entry 102, stop at 102 × 0.95 = 96.90
        (99.0, 97.0),   // 2: 97 > 96.90: held
        (98.0, 96.0),   // 3: 96 ≤ 96.90: stop, sell decided at this close
        (94.0, 95.0),   // 4: the sell fills at the open, 94; the target is still 50 %: no buy
        (100.0, 110.0), // 5: recovered, still 50 %: still out (latched)
        (110.0, 110.0), // 6: the strategy's target drops to 0: released
        (110.0, 110.0), // 7: target 50 % again: buy
        (111.0, 111.0), // 8: the buy fills at 111, the new entry
    ];
    let targets = vec![0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5];
    let (trace, engine) = run(Scripted(targets, 0), &path, Some(0.05));

    let decided: Vec<(Timestamp, Side)> = trace
        .orders
        .iter()
        .map(|o| (o.decided_at, o.side))
        .collect();
    assert_eq!(
        decided,
        vec![
            (day(0), Side::Buy),
            (day(3), Side::Sell),
            (day(7), Side::Buy)
        ],
        "{:#?}",
        trace.orders
    );
    // Day 0: 50 % of 100,000 at 100: 500 shares (50,050 with the commission fits the cash).
    let bought = trace.orders[0].quantity;
    assert_eq!(bought, Decimal::from(500));
    let fills: Vec<(Timestamp, Side, Decimal, Decimal)> = trace
        .fills
        .iter()
        .map(|f| (f.ts, f.side, f.quantity, f.price))
        .collect();
    assert_eq!(
        fills[..2],
        [
            (day(1), Side::Buy, bought, Decimal::from(102)),
            (day(4), Side::Sell, bought, Decimal::from(94)),
        ],
        "the stop decided at day 3's close sells everything at day 4's open"
    );
    assert_eq!(
        (fills[2].0, fills[2].1, fills[2].3),
        (day(8), Side::Buy, Decimal::from(111)),
        "entered again after the target reset"
    );

    // One stop-loss event, at day 3, with its numbers.
    assert_eq!(trace.events.len(), 1, "{:#?}", trace.events);
    let e = &trace.events[0];
    assert_eq!(e.ts, day(3));
    let RiskEventKind::StopLoss {
        symbol,
        entry,
        close,
        loss,
        limit,
    } = &e.kind
    else {
        panic!("{e:?}");
    };
    assert_eq!(
        (symbol, *entry, *close, *limit),
        (&tsla(), 102.0, 96.0, 0.05)
    );
    assert!((loss - (1.0 - 96.0 / 102.0)).abs() < 1e-12);

    // Cash after the round trip: 100,000 − 500 × 102 × 1.001 + 500 × 94 × 0.999, then the
    // second buy at 111.
    let risk = engine.risk().unwrap();
    assert_eq!(risk.entry(&tsla()).unwrap().price, 111.0);
    assert!(!risk.is_stopped(&tsla()));
    let after_round_trip = Decimal::from(100_000)
        - Decimal::from(500 * 102) * Decimal::new(1001, 3)
        + Decimal::from(500 * 94) * Decimal::new(999, 3);
    let second = &trace.fills[2];
    assert_eq!(
        engine.portfolio().cash,
        after_round_trip - second.notional() - second.fee
    );
}

#[test]
fn without_a_stop_loss_the_same_path_holds_through_the_drop() {
    let path = [(100.0, 100.0), (102.0, 100.0), (98.0, 96.0), (94.0, 95.0)];
    let (trace, engine) = run(Scripted(vec![0.5; 4], 0), &path, None);
    assert!(trace.events.is_empty());
    assert_eq!(trace.orders.len(), 1, "only the first buy");
    // The entry is tracked all the same (a stop loss turned on later judges by it).
    assert_eq!(engine.risk().unwrap().entry(&tsla()).unwrap().price, 102.0);
}

/// A random walk of (open, close) bars from `seed` (xorshift), with drops deep enough to stop.
fn walk(seed: u64, n: usize) -> Vec<(f64, f64)> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 10_000) as f64 / 10_000.0
    };
    let mut price = 100.0;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let open = price * (0.97 + 0.06 * next());
        price = open * (0.92 + 0.15 * next());
        out.push((open, price));
    }
    out
}

#[test]
fn perturbing_the_bars_after_a_cut_never_changes_a_decision_up_to_it() {
    let (mut stops, mut released) = (0, 0);
    for seed in 1..=40u64 {
        let base_path = walk(seed, 60);
        let (base, _) = run(Trend::default(), &base_path, Some(0.04));
        let stop_days: Vec<Timestamp> = base
            .events
            .iter()
            .filter(|e| e.kind.name() == "stop_loss")
            .map(|e| e.ts)
            .collect();
        stops += stop_days.len();
        // A buy decided after a stop is a re-entry after the target reset.
        released += stop_days
            .iter()
            .filter(|t| {
                base.orders
                    .iter()
                    .any(|o| o.side == Side::Buy && o.decided_at > **t)
            })
            .count();
        for cut in [5, 17, 30, 44, 58] {
            let mut moved_path = base_path.clone();
            let other = walk(seed.wrapping_mul(7919).wrapping_add(cut as u64), 60);
            for (i, bar) in moved_path.iter_mut().enumerate().skip(cut + 1) {
                *bar = other[i];
            }
            let (moved, _) = run(Trend::default(), &moved_path, Some(0.04));
            let cut_ts = day(cut);
            let past = |t: &Trace| {
                (
                    t.orders
                        .iter()
                        .filter(|o| o.decided_at <= cut_ts)
                        .cloned()
                        .collect::<Vec<_>>(),
                    t.fills
                        .iter()
                        .filter(|f| f.ts <= cut_ts)
                        .cloned()
                        .collect::<Vec<_>>(),
                    t.events
                        .iter()
                        .filter(|e| e.ts <= cut_ts)
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            };
            assert_eq!(past(&base), past(&moved), "seed {seed}, cut {cut}");
        }
    }
    assert!(
        stops > 20 && released > 5,
        "the walks stop and release often enough to test: {stops} stops, {released} re-entries"
    );
}
