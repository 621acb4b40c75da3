//! Benchmarks of pulse-search: lazy grid enumeration, search-driver overhead per trial (grid, random,
//! TPE) with a trivial objective, CSCV PBO and DSR. Prints a markdown table.
//! `PULSE_BENCH_ONLY=<substring>` runs only the matching rows.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use pulse_search::{
    ParamSpace, PboMetric, Strategy, TpeConfig, Trial, deflated_sharpe_ratio, pbo_cscv,
    return_stats, run_search,
};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Deterministic pseudo-random returns (xorshift, uniform noise scaled to ~1% sd).
fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.0346
        })
        .collect()
}

fn row(name: &str, n: f64, unit: &str, secs: f64) {
    println!(
        "| {name} | {n:.0} | {:.3} | {:.0} {unit}/s | {:.2} MiB |",
        secs * 1e3,
        n / secs,
        peak_rss_mib()
    );
}

fn main() {
    let only = std::env::var("PULSE_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || name.contains(&only);
    println!("rayon threads: {}\n", rayon::current_num_threads());
    println!("| case | n | time (ms) | throughput | peak RSS so far |");
    println!("|---|---:|---:|---:|---:|");
    let params: Vec<String> = (0..9).map(|i| format!("p{i}=0:9:1")).collect();
    let big = ParamSpace::parse(&params, &["p7 <= p8"]).unwrap();
    let cancel = AtomicBool::new(false);

    if run("grid enumeration") {
        let t = Instant::now();
        let n = big
            .grid()
            .unwrap()
            .take(5_000_000)
            .map(|(i, p)| black_box(i) as f64 + p.values()[8])
            .sum::<f64>();
        black_box(n);
        row(
            "grid enumeration, 10^9-point space (lazy, feasible points)",
            5e6,
            "points",
            t.elapsed().as_secs_f64(),
        );
    }
    if run("grid search") {
        let t = Instant::now();
        let out = run_search(
            &big,
            &Strategy::Grid,
            2_000_000,
            &[],
            |p| Trial::new(p.values().iter().sum()),
            |r| {
                black_box(r.number);
            },
            &cancel,
        )
        .unwrap();
        row(
            "grid search driver, trivial objective, budget 2M of 10^9",
            out.new_trials as f64,
            "trials",
            t.elapsed().as_secs_f64(),
        );
    }
    let space = ParamSpace::parse(
        &[
            "rsi_low=15:40:1",
            "rsi_high=60:85:1",
            "k=1.5:2.5:0.25",
            "w=0:1",
        ],
        &["rsi_low < rsi_high"],
    )
    .unwrap();
    let obj = |p: &pulse_search::Point| {
        Trial::new(
            -(p.values()[0] - 30.0).powi(2)
                - (p.values()[1] - 70.0).powi(2)
                - (p.values()[2] - 2.0).powi(2)
                - p.values()[3],
        )
    };
    if run("random search") {
        let t = Instant::now();
        let out = run_search(
            &space,
            &Strategy::Random { seed: 1 },
            200_000,
            &[],
            obj,
            |_| {},
            &cancel,
        )
        .unwrap();
        row(
            "random search driver, 4 params + constraint",
            out.new_trials as f64,
            "trials",
            t.elapsed().as_secs_f64(),
        );
    }
    for n in [200u64, 1000] {
        let name = format!("TPE suggest+trivial objective, {n} trials, batch 8");
        if run(&name) {
            let t = Instant::now();
            let out = run_search(
                &space,
                &Strategy::Tpe(TpeConfig::seeded(1)),
                n,
                &[],
                obj,
                |_| {},
                &cancel,
            )
            .unwrap();
            row(
                &name,
                out.new_trials as f64,
                "trials",
                t.elapsed().as_secs_f64(),
            );
        }
    }
    let trials: Vec<Vec<f64>> = (0..100).map(|k| noise(k, 2520)).collect();
    for s in [10usize, 16] {
        let name = format!("PBO by CSCV, N=100 trials, T=2520, S={s}");
        if run(&name) {
            let t = Instant::now();
            let p = pbo_cscv(&trials, s, PboMetric::Sharpe).unwrap();
            black_box(p.pbo);
            row(
                &name,
                p.n_combinations as f64,
                "combinations",
                t.elapsed().as_secs_f64(),
            );
        }
    }
    if run("DSR") {
        let sharpes: Vec<f64> = trials
            .iter()
            .map(|r| return_stats(r).unwrap().sharpe)
            .collect();
        let t = Instant::now();
        let reps = 1000;
        for _ in 0..reps {
            black_box(deflated_sharpe_ratio(black_box(&trials[3]), &sharpes).unwrap());
        }
        row(
            "DSR, T=2520, N=100",
            reps as f64,
            "calls",
            t.elapsed().as_secs_f64(),
        );
    }
}
