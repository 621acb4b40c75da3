//! Benchmarks of the rebalancer: one execution-day decision for 4 and 200 securities, one
//! signal observation, a JSON round trip of the state, and a year of daily decisions.
//! `cargo bench -p pulse-rebalance` prints a markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use jiff::civil::Date;
use pulse_core::{Portfolio, Symbol};
use pulse_rebalance::*;
use pulse_testkit::fmt_secs;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

fn sym(i: usize) -> Symbol {
    Symbol::try_new(format!("S{i:03}")).unwrap()
}

/// A model of `n` securities in 4 classes, equal weight inside each.
fn model(n: usize) -> Signal {
    let classes = ["stocks", "bonds", "gold", "reits"];
    let mut sub: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0..n {
        sub.entry(classes[i % 4].to_string())
            .or_default()
            .push(sym(i).to_string());
    }
    let json = format!(
        r#"{{"mp":{{"stocks":0.4,"bonds":0.3,"gold":0.2,"reits":0.1}},"sub_mp":{}}}"#,
        serde_json::to_string(&sub).unwrap()
    );
    serde_json::from_str(&json).unwrap()
}

fn time<F: FnMut()>(iters: u32, mut f: F) -> f64 {
    for _ in 0..iters.min(10) {
        f();
    }
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_secs_f64() / f64::from(iters)
}

fn main() {
    let rb = Rebalancer::new(RebalanceConfig::default()).unwrap();
    let d0: Date = "2024-03-04".parse().unwrap();
    let at = d0.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
    println!("| case | time per call |\n|---|---|");
    for n in [4usize, 200] {
        let sig = model(n);
        let v = validate_signal(&sig, &Model::default(), rb.config()).unwrap();
        let m = Model {
            mp: v.mp.unwrap(),
            sub_mp: v.sub_mp,
        };
        let mut base = RebalanceState::with_model(m);
        rb.start_global_plan(&mut base, d0, "bench").unwrap();
        let book = Portfolio {
            cash: Decimal::from(1_000_000),
            positions: (0..n)
                .map(|i| (sym(i), Decimal::from(50 + i as u64)))
                .collect(),
        };
        let prices: BTreeMap<Symbol, Decimal> = (0..n)
            .map(|i| (sym(i), Decimal::from(20 + (i * 7) % 300)))
            .collect();
        let input = ExecutionInput {
            date: d0,
            decided_at: at,
            holdings: &book,
            prices: &prices,
            in_flight: &[],
        };
        let t = time(2000 / n as u32 * 4, || {
            let mut st = base.clone();
            black_box(rb.on_execution_day(&mut st, black_box(&input)).unwrap());
        });
        println!(
            "| on_execution_day, {n} securities (step 1 of a global plan, state clone included) | {} |",
            fmt_secs(t)
        );
        let t = time(2000 / n as u32 * 4, || {
            black_box(
                calculate_net_trades(
                    &book,
                    &[],
                    &base.active.as_ref().unwrap().target_weights(),
                    &prices,
                    Decimal::new(1, 3),
                )
                .unwrap(),
            );
        });
        println!("| calculate_net_trades, {n} securities | {} |", fmt_secs(t));
        let mut st = base.clone();
        rb.on_execution_day(&mut st, &input).unwrap();
        let t = time(2000 / n as u32 * 4, || {
            let json = serde_json::to_string(black_box(&st)).unwrap();
            black_box(serde_json::from_str::<RebalanceState>(&json).unwrap());
        });
        println!(
            "| state JSON round trip, {n} securities ({} bytes) | {} |",
            serde_json::to_string(&st).unwrap().len(),
            fmt_secs(t)
        );
        let t = time(2000, || {
            let mut st = base.clone();
            black_box(rb.on_signal(&mut st, d0, black_box(&sig)).unwrap());
        });
        println!(
            "| on_signal (unchanged model), {n} securities | {} |",
            fmt_secs(t)
        );
    }
    // A year of 252 decisions (plan every ~25 days), 4 securities.
    let sig = model(4);
    let v = validate_signal(&sig, &Model::default(), rb.config()).unwrap();
    let m = Model {
        mp: v.mp.unwrap(),
        sub_mp: v.sub_mp,
    };
    let prices: BTreeMap<Symbol, Decimal> =
        (0..4).map(|i| (sym(i), Decimal::from(100 + i))).collect();
    let book = Portfolio {
        cash: Decimal::from(1_000_000),
        positions: BTreeMap::new(),
    };
    let t = time(20, || {
        let mut st = RebalanceState::with_model(m.clone());
        let mut day = d0;
        for k in 0..252 {
            if k % 25 == 0 {
                rb.start_global_plan(&mut st, day, "bench").unwrap();
            }
            let input = ExecutionInput {
                date: day,
                decided_at: at,
                holdings: &book,
                prices: &prices,
                in_flight: &[],
            };
            black_box(rb.on_execution_day(&mut st, &input).unwrap());
            day = day.tomorrow().unwrap();
        }
    });
    println!(
        "| 252 execution days with a plan every 25 days, 4 securities | {} |",
        fmt_secs(t)
    );
}
