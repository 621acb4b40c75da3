//! Crash recovery: a runtime that persists the state (as JSON) after every call is killed at every
//! point of every day and restarted; the end result must equal the uninterrupted run, no step may be
//! executed twice and no client order id filled twice.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use pulse_core::{ClientOrderId, Fill, Portfolio, Symbol};
use pulse_rebalance::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

const A: &str =
    r#"{"mp":{"stocks":0.5,"bonds":0.5},"sub_mp":{"stocks":{"SPY":1.0},"bonds":{"TLT":1.0}}}"#;
const B: &str = r#"{"mp":{"stocks":0.8,"bonds":0.2}}"#;
const C: &str = r#"{"mp":{"stocks":0.3,"bonds":0.7}}"#;
const Q: &str = r#"{"sub_mp":{"stocks":{"QQQ":0.5,"SPY":0.5}}}"#;
const G: &str = r#"{"mp":{"stocks":0.4,"bonds":0.4,"gold":0.2},"sub_mp":{"gold":["GLD"]}}"#;

/// (day, signal) of a script that walks through confirm, pause, revert, Case 1 and Case 2.
fn script() -> Vec<(String, Option<&'static str>)> {
    let sigs = [
        Some(B),
        Some(B),
        Some(B),
        None,
        Some(C),
        Some(B),
        None,
        Some(Q),
        Some(Q),
        Some(Q),
        None,
        Some(G),
        Some(G),
        Some(G),
        None,
        None,
        None,
        None,
        None,
        None,
    ];
    let mut day = jiff::civil::date(2024, 3, 4);
    let mut out = Vec::new();
    for s in sigs {
        while matches!(
            day.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        ) {
            day = day.tomorrow().unwrap();
        }
        out.push((day.to_string(), s));
        day = day.tomorrow().unwrap();
    }
    out
}

fn px(k: usize) -> BTreeMap<Symbol, Decimal> {
    let k = Decimal::from(k as u64);
    [
        (sym("SPY"), d("250") + d("1.5") * k),
        (sym("TLT"), d("100") - d("0.4") * k),
        (sym("QQQ"), d("400") + d("2.5") * k),
        (sym("GLD"), d("180") - d("0.3") * k),
    ]
    .into()
}

struct Outcome {
    state: RebalanceState,
    book: Portfolio,
    fills: Vec<Fill>,
    events: Vec<RebalanceEvent>,
    crashed: bool,
}

/// Runs the script; `crash = Some((day, point))` kills the process once at that point of that day.
fn run(crash: Option<(usize, u8)>) -> Outcome {
    let rb = Rebalancer::new(RebalanceConfig::default()).unwrap();
    let mut saved = serde_json::to_string(&RebalanceState::with_model(model(A))).unwrap();
    let mut broker = Paper::new(
        Portfolio {
            cash: d("1000"),
            positions: [(sym("SPY"), d("200")), (sym("TLT"), d("500"))].into(),
        },
        d("0.001"),
    );
    let mut events = Vec::new();
    let mut crashed = false;
    for (i, (date, sig)) in script().iter().enumerate() {
        let date = day(date);
        let prices = px(i);
        let mut attempt = 0;
        'day: loop {
            let mut hit = |p: u8| {
                let h = attempt == 0 && crash == Some((i, p));
                if h {
                    crashed = true;
                    attempt += 1;
                }
                h
            };
            let mut st: RebalanceState = serde_json::from_str(&saved).unwrap();
            if let Some(s) = sig {
                events.extend(rb.on_signal(&mut st, date, &signal(s)).unwrap());
            }
            if hit(1) {
                continue 'day;
            }
            saved = serde_json::to_string(&st).unwrap();
            if hit(2) {
                continue 'day;
            }
            let in_flight = broker.open.clone();
            let input = ExecutionInput {
                date,
                decided_at: ts(date),
                holdings: &broker.book,
                prices: &prices,
                in_flight: &in_flight,
            };
            let dec = rb.on_execution_day(&mut st, &input).unwrap();
            if !dec.replayed {
                events.extend(dec.events);
            }
            if hit(3) {
                continue 'day;
            }
            saved = serde_json::to_string(&st).unwrap();
            if hit(4) {
                continue 'day;
            }
            let todo: Vec<_> = st.unfilled_orders().into_iter().cloned().collect();
            broker.submit(&todo);
            if hit(5) {
                continue 'day;
            }
            broker.fill_all(&prices, date);
            if hit(6) {
                continue 'day;
            }
            let ids: BTreeSet<ClientOrderId> = st
                .unfilled_orders()
                .iter()
                .map(|o| o.client_id.clone())
                .collect();
            events.extend(rb.on_fills(&mut st, date, &broker.fills_for(&ids)));
            if hit(7) {
                continue 'day;
            }
            saved = serde_json::to_string(&st).unwrap();
            break;
        }
    }
    Outcome {
        state: serde_json::from_str(&saved).unwrap(),
        book: broker.book,
        fills: broker.fills,
        events,
        crashed,
    }
}

fn dedup(events: &[RebalanceEvent]) -> Vec<RebalanceEvent> {
    let mut out: Vec<RebalanceEvent> = Vec::new();
    for e in events {
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    out
}

#[test]
fn the_reference_run_walks_through_every_rule() {
    let r = run(None);
    let k = kinds(&r.events);
    for needed in [
        "confirmed",
        "paused",
        "held",
        "reverted",
        "resumed",
        "class_restarted",
        "discarded",
        "finished",
        "filled",
    ] {
        assert!(k.contains(&needed), "{needed} missing from {k:?}");
    }
    assert!(r.state.plan.is_none(), "last plan finished");
    // On target at the prices of the day the last plan finished (prices move afterwards).
    let finished = r
        .events
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::PlanFinished { .. }))
        .unwrap()
        .date;
    let k = script()
        .iter()
        .position(|(d, _)| day(d) == finished)
        .unwrap();
    let net = calculate_net_trades(
        &r.book,
        &[],
        &r.state.active.as_ref().unwrap().target_weights(),
        &px(k),
        d("0.001"),
    )
    .unwrap();
    assert!(
        net.net.values().all(|q| q.abs() < Decimal::ONE),
        "{:?}",
        net.net
    );
}

#[test]
fn a_crash_between_any_two_steps_changes_nothing() {
    let reference = run(None);
    let ids: BTreeSet<_> = reference.fills.iter().map(|f| &f.client_id).collect();
    assert_eq!(ids.len(), reference.fills.len(), "one fill per client id");
    let mut runs = 0;
    for day in 0..script().len() {
        for point in 1..=7 {
            let r = run(Some((day, point)));
            assert!(r.crashed);
            runs += 1;
            assert_eq!(r.book, reference.book, "crash at day {day} point {point}");
            assert_eq!(r.fills, reference.fills, "crash at day {day} point {point}");
            assert_eq!(r.state, reference.state, "crash at day {day} point {point}");
            // Replayed calls may repeat an event; nothing new or missing.
            assert_eq!(
                dedup(&r.events),
                dedup(&reference.events),
                "day {day} point {point}"
            );
        }
    }
    assert_eq!(runs, script().len() * 7);
}

#[test]
fn a_repeated_execution_day_returns_the_recorded_orders_and_changes_nothing() {
    let rb = Rebalancer::new(RebalanceConfig::default()).unwrap();
    let mut st = RebalanceState::with_model(model(A));
    for (i, day_) in ["2024-03-04", "2024-03-05", "2024-03-06"]
        .iter()
        .enumerate()
    {
        rb.on_signal(&mut st, day(day_), &signal(B)).unwrap();
        assert_eq!(st.pending.mp.is_some(), i < 2);
    }
    let book = Portfolio {
        cash: d("1000"),
        positions: [(sym("SPY"), d("200")), (sym("TLT"), d("500"))].into(),
    };
    let prices = px(0);
    let input = ExecutionInput {
        date: day("2024-03-06"),
        decided_at: ts(day("2024-03-06")),
        holdings: &book,
        prices: &prices,
        in_flight: &[],
    };
    let first = rb.on_execution_day(&mut st, &input).unwrap();
    let after = st.clone();
    let again = rb.on_execution_day(&mut st, &input).unwrap();
    assert!(again.replayed && !first.replayed);
    assert_eq!(again.orders, first.orders);
    assert_eq!(st, after);
    let (plan, step) = first.step.clone().unwrap();
    assert!(st.is_step_executed(&plan, step));
    assert_eq!(st.client_ids().len(), first.orders.len());
    // An earlier day is refused.
    let earlier = ExecutionInput {
        date: day("2024-03-05"),
        ..input
    };
    assert!(matches!(
        rb.on_execution_day(&mut st, &earlier),
        Err(RebalanceError::OutOfOrder { .. })
    ));
}
