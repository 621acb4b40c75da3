//! Benchmark: Ledoit-Wolf, min volatility, max Sharpe and HRP on the 47-asset real universe
//! (every daily-adjclose ticker except IRX/TNX/VIXY, common window) and seeded synthetic
//! 200- and 500-asset universes. Writes each returns matrix to /tmp/pulse_opt_<name>.f64
//! (little-endian f64: T, N, then the T×N returns row-major) for bench/peers/pypfopt_bench.py,
//! and prints a markdown table (best of R runs, wall time), then a second table: the exact
//! active-set solver against Clarabel (`optimize_mvo_with`) on the same problems, long only
//! and with a per-asset cap (10 % / 5 % / 2 % for 47 / 200 / 500 assets).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_core::Periodicity;
use pulse_optimize::nalgebra::DMatrix;
use pulse_optimize::*;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{real_universe, synthetic};
use pulse_testkit::{best_of, fmt_secs};

fn write_matrix(name: &str, r: &DMatrix<f64>) {
    let mut bytes = Vec::with_capacity((r.len() + 2) * 8);
    bytes.extend_from_slice(&(r.nrows() as f64).to_le_bytes());
    bytes.extend_from_slice(&(r.ncols() as f64).to_le_bytes());
    for i in 0..r.nrows() {
        for j in 0..r.ncols() {
            bytes.extend_from_slice(&r[(i, j)].to_le_bytes());
        }
    }
    std::fs::write(format!("/tmp/pulse_opt_{name}.f64"), bytes).unwrap();
}

fn main() {
    let d = Periodicity::Daily;
    let real = real_universe();
    let universes = vec![
        (format!("real{}", real.ncols()), real),
        ("synth200".to_string(), synthetic(200, 1260, 42)),
        ("synth500".to_string(), synthetic(500, 1260, 43)),
    ];
    println!(
        "| universe | T×N | Ledoit-Wolf | sample cov | min volatility | max Sharpe (rf 0.02) | HRP (single, from returns) | max-Sharpe solver status |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut solver_rows = vec![];
    let mut psd_rows = vec![];
    for (name, r) in &universes {
        write_matrix(name, r);
        let n = r.ncols();
        let reps = if n >= 500 { 3 } else { 7 };
        // Ledoit-Wolf is cheap on both sides: best of 15 (the peer script does the same).
        let lw = best_of(15, || ledoit_wolf(r, d).unwrap());
        let sc = best_of(15, || sample_cov(r, d).unwrap());
        let sample = sample_cov(r, d).unwrap().cov;
        // The share of the sample covariance's time that is its PSD check (a Cholesky factor).
        psd_rows.push((
            name.clone(),
            best_of(15, || risk_models::is_positive_semidefinite(&sample)),
            sc,
        ));
        let cov = ledoit_wolf(r, d).unwrap().cov;
        let mu = mean_historical_return(r, true, d).unwrap();
        let cons = Constraints::long_only(n);
        let mv = best_of(reps, || {
            optimize_mvo(None, &cov, &Objective::MinVolatility, &cons).unwrap()
        });
        let ms_sol =
            optimize_mvo(Some(&mu), &cov, &Objective::MaxSharpe { rf: 0.02 }, &cons).unwrap();
        let ms = best_of(reps, || {
            optimize_mvo(Some(&mu), &cov, &Objective::MaxSharpe { rf: 0.02 }, &cons).unwrap()
        });
        // From returns, as PyPortfolioOpt's HRPOpt(returns).optimize(): the PSD-checked sample
        // covariance is part of the timing.
        let h = best_of(reps, || {
            hrp(&sample_cov(r, d).unwrap().cov, Linkage::Single).unwrap()
        });
        let perf = portfolio_performance(&ms_sol.weights, Some(&mu), &cov, 0.02).unwrap();
        solver_rows.push((name.clone(), n, cov.clone(), mu.clone(), reps));
        println!(
            "| {name} | {}×{n} | {} | {} | {} | {} | {} | {} ({} it, Sharpe {:.4}) |",
            r.nrows(),
            fmt_secs(lw),
            fmt_secs(sc),
            fmt_secs(mv),
            fmt_secs(ms),
            fmt_secs(h),
            ms_sol.status,
            ms_sol.iterations,
            perf.sharpe.unwrap()
        );
    }
    println!();
    println!(
        "| universe | problem | active set | Clarabel | ratio | active-set it / Clarabel it |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, n, cov, mu, reps) in &solver_rows {
        let cap = match n {
            0..=100 => 0.10,
            101..=300 => 0.05,
            _ => 0.02,
        };
        let long = Constraints::long_only(*n);
        let capped = Constraints::long_only(*n).with_max_weight(cap);
        let ms = Objective::MaxSharpe { rf: 0.02 };
        let cases = [
            ("min volatility, long only", Objective::MinVolatility, &long),
            ("max Sharpe, long only", ms, &long),
            ("min volatility, cap", Objective::MinVolatility, &capped),
            ("max Sharpe, cap", ms, &capped),
        ];
        for (label, obj, cons) in cases {
            let run = |s: MvoSolver| optimize_mvo_with(Some(mu), cov, &obj, cons, s).unwrap();
            let (fast, slow) = (run(MvoSolver::ActiveSet), run(MvoSolver::Clarabel));
            let tf = best_of(*reps, || run(MvoSolver::ActiveSet));
            let ts = best_of(*reps, || run(MvoSolver::Clarabel));
            let label = label.replace("cap", &format!("cap {:.0} %", cap * 100.0));
            println!(
                "| {name} | {label} | {} | {} | {:.0}× | {} / {} |",
                fmt_secs(tf),
                fmt_secs(ts),
                ts / tf,
                fast.iterations,
                slow.iterations
            );
        }
    }
    println!();
    println!("| universe | PSD check of the sample covariance | share of `sample_cov` |");
    println!("|---|---|---|");
    for (name, psd, sc) in psd_rows {
        println!("| {name} | {} | {:.0} % |", fmt_secs(psd), 100.0 * psd / sc);
    }
}
