#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Cross-symbol features: no look-ahead (changing every symbol and leader bar after `t` and every
//! daily value from `t`'s day on leaves rows ≤ t bit-identical), and BTCUSDT vs ETHUSDT
//! correlation / lead-lag and Fear & Greed as of the previous day against plain computations.

mod common;

use proptest::prelude::*;
use pulse_core::Bar;
use pulse_core::jiff::Timestamp;
use pulse_ml::cross::{LeaderConfig, leader_columns, previous_day_column};

fn bar_at(ts: i64, close: f64) -> Bar {
    Bar {
        ts: Timestamp::from_second(ts).unwrap(),
        open: close,
        high: close,
        low: close,
        close,
        adj_close: None,
        volume: Some(1.0),
    }
}

/// A random walk with random gaps (seeded LCG), starting 2021-04-02T00:00Z, continuing
/// `base[..from]` with new bars strictly after both its last bar and `after` (seconds).
fn walk(seed: u64, n: usize, from: usize, base: &[Bar], after: i64) -> Vec<Bar> {
    let mut s = seed | 1;
    let mut u = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out: Vec<Bar> = base[..from].to_vec();
    let (ts, mut p) = out
        .last()
        .map_or((1_617_321_600 - 60, 100.0), |b| (b.ts.as_second(), b.close));
    let mut ts = ts.max(after);
    while out.len() < n {
        ts += if u() < 0.1 { 120 } else { 60 };
        p *= 1.0 + 0.004 * (u() - 0.5);
        out.push(bar_at(ts, p));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn changing_the_future_changes_no_past_cross_feature(
        seed in any::<u64>(), seed2 in any::<u64>(), t_frac in 0.0f64..1.0,
    ) {
        let n = 1_500;
        let sym = walk(seed, n, 0, &[], 0);
        let lead = walk(seed ^ 0xABCD, n, 0, &[], 0);
        let t = ((n - 1) as f64 * t_frac) as usize;
        let cut = sym[t].ts;
        // Everything after t replaced: the symbol's bars after t, the leader's bars after ts_t.
        let sym2 = walk(seed2, n, t + 1, &sym, 0);
        let keep = lead.iter().take_while(|b| b.ts <= cut).count();
        let lead2 = walk(seed2 ^ 1, n, keep, &lead, cut.as_second());
        let cfg = LeaderConfig { window: 30, max_lag: 3 };
        let a = leader_columns(&sym, "lead", &lead, &cfg).unwrap();
        let b = leader_columns(&sym2, "lead", &lead2, &cfg).unwrap();
        for ((na, ca), (_, cb)) in a.iter().zip(&b) {
            for i in 0..=t {
                prop_assert_eq!(ca[i].to_bits(), cb[i].to_bits(), "{} row {}", na, i);
            }
        }
        // Daily values from t's day on changed.
        let days: Vec<Bar> = (0..5).map(|d| bar_at(1_617_321_600 - 86_400 + d * 86_400, d as f64)).collect();
        let today = cut.as_second().div_euclid(86_400) * 86_400;
        let days2: Vec<Bar> = days.iter().map(|b| if b.ts.as_second() >= today { bar_at(b.ts.as_second(), -1.0) } else { *b }).collect();
        let (x, y) = (previous_day_column(&sym, &days).unwrap(), previous_day_column(&sym2, &days2).unwrap());
        for i in 0..=t {
            prop_assert_eq!(x[i].to_bits(), y[i].to_bits(), "daily row {}", i);
        }
    }
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

#[test]
fn btc_against_eth_matches_plain_pearson() {
    let btc = common::minute_bars("BTCUSDT");
    let eth = common::minute_bars("ETHUSDT");
    let cfg = LeaderConfig::default();
    let cols = leader_columns(&btc, "eth", &eth, &cfg).unwrap();
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "corr_eth_60",
            "leadlag_eth_1",
            "leadlag_eth_2",
            "leadlag_eth_3",
            "leadlag_eth_4",
            "leadlag_eth_5"
        ]
    );
    // Aligned ETH closes by a plain ts → close map, forward-filled.
    let map: std::collections::HashMap<i64, f64> =
        eth.iter().map(|b| (b.ts.as_second(), b.close)).collect();
    let mut last = f64::NAN;
    let aligned: Vec<f64> = btc
        .iter()
        .map(|b| {
            // Every ETH bar at or before this BTC bar: the BTC grid covers ETH's here, and a
            // missing ETH minute keeps the previous close.
            if let Some(c) = map.get(&b.ts.as_second()) {
                last = *c;
            }
            last
        })
        .collect();
    let r: Vec<f64> = btc
        .windows(2)
        .map(|w| (w[1].close / w[0].close).ln())
        .collect();
    let l: Vec<f64> = aligned.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let mut mean_corr = 0.0;
    let rows: Vec<usize> = (100..btc.len()).step_by(3_001).collect();
    for &i in &rows {
        // Row i's return is r[i-1] (returns start at row 1).
        let x = &r[i - 60..i];
        let got = cols[0].1[i];
        let want = pearson(x, &l[i - 60..i]);
        assert!(
            (f64::from(got) - want).abs() < 1e-5,
            "corr row {i}: {got} vs {want}"
        );
        mean_corr += want;
        for k in 1..=5 {
            let want = pearson(x, &l[i - 60 - k..i - k]);
            let got = cols[k].1[i];
            assert!(
                (f64::from(got) - want).abs() < 1e-5,
                "lag {k} row {i}: {got} vs {want}"
            );
        }
    }
    mean_corr /= rows.len() as f64;
    assert!(
        mean_corr > 0.5,
        "BTC/ETH minute returns should co-move: {mean_corr}"
    );
}

#[test]
fn fear_and_greed_as_of_the_previous_day() {
    let text =
        std::fs::read_to_string(pulse_testkit::shared_file("daily-index/FEAR_GREED.csv")).unwrap();
    let daily: Vec<Bar> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (d, v) = l.split_once(',').unwrap();
            let ts: Timestamp = format!("{d}T00:00:00Z").parse().unwrap();
            bar_at(ts.as_second(), v.trim().parse().unwrap())
        })
        .collect();
    let btc = common::minute_bars("BTCUSDT");
    let col = previous_day_column(&btc, &daily).unwrap();
    let at = |s: &str| {
        let ts: Timestamp = s.parse().unwrap();
        col[btc.iter().position(|b| b.ts == ts).unwrap()]
    };
    // 2021-04-02..04 have no value (Good Friday, weekend): 04-01's holds until 04-05 ends.
    assert_eq!(at("2021-04-02T00:00:00Z"), 46.400000000000006f64 as f32);
    assert_eq!(at("2021-04-05T23:59:00Z"), 46.400000000000006f64 as f32);
    assert_eq!(at("2021-04-06T00:00:00Z"), 54.56666666666667f64 as f32);
    assert_eq!(at("2021-04-07T12:00:00Z"), 53.5f32);
}
