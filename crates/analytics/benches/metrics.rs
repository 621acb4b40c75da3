#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Timing of `Analysis::compute` on real curves (std::time::Instant, no criterion). Prints a
//! markdown table. Run: `cargo bench -p pulse-analytics --bench metrics`.

use std::fs;
use std::hint::black_box;
use std::time::Instant;

use pulse_analytics::{
    Analysis, FillRecord, PerformanceInput, RiskFree, Side, closed_trades, forward_fill_onto,
    rf_per_period_from_annual_yield_pct,
};
use pulse_core::Periodicity;
use pulse_core::jiff::Timestamp;

/// (timestamp, value) from a shared CSV whose first column is a date or an ISO timestamp and
/// whose `col`-th column is the value.
fn read(rel: &str, col: usize) -> Vec<(Timestamp, f64)> {
    let text = fs::read_to_string(pulse_testkit::shared_file(rel)).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let ts = if f[0].len() == 10 {
                format!("{}T00:00:00Z", f[0])
            } else {
                f[0].to_string()
            };
            Some((ts.parse().ok()?, f.get(col)?.parse().ok()?))
        })
        .collect()
}

/// Alternating all-in buys and sells every `every` points: a churning strategy's fills.
fn churn_fills(series: &[(Timestamp, f64)], every: usize) -> Vec<FillRecord> {
    let mut fills = Vec::new();
    let mut long = false;
    for (i, (ts, p)) in series.iter().enumerate().step_by(every) {
        let side = if long { Side::Sell } else { Side::Buy };
        long = !long;
        let q = 100_000.0 / series[0].1;
        fills.push(FillRecord {
            ts: *ts,
            symbol: "S".into(),
            side,
            quantity: q,
            price: *p,
            fee: q * p * 0.001,
        });
        let _ = i;
    }
    fills
}

fn time<F: FnMut()>(mut f: F) -> (f64, usize) {
    // Warm up, then repeat until ~0.5 s has elapsed; report the median of per-call times.
    f();
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 0.5 || samples.len() < 5 {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], samples.len())
}

fn main() {
    let spy = read("daily-adjclose/SPY.csv", 1);
    let irx = read("daily-adjclose/IRX.csv", 1);
    let btc = read("intraday-1m/BTCUSDT.csv", 4);
    let mut rows = Vec::new();

    for (name, series, periodicity, with_rf) in [
        (
            "SPY daily 1993–2026, ^IRX rf, fills every 20 days",
            &spy,
            Periodicity::Daily,
            true,
        ),
        (
            "BTCUSDT 1-minute (30 days), rf 0, fills every 60 min",
            &btc,
            Periodicity::PerYear(525_600.0),
            false,
        ),
    ] {
        let ts: Vec<Timestamp> = series.iter().map(|x| x.0).collect();
        let equity: Vec<f64> = series
            .iter()
            .map(|x| 100_000.0 * x.1 / series[0].1)
            .collect();
        let rf: Vec<f64> = forward_fill_onto(&ts, &irx)
            .into_iter()
            .map(|y| rf_per_period_from_annual_yield_pct(y.unwrap_or(0.0), periodicity))
            .collect();
        let every = if with_rf { 20 } else { 60 };
        let fills = churn_fills(series, every);
        let exposure = vec![1.0; ts.len()];
        let input = PerformanceInput {
            timestamps: &ts,
            equity: &equity,
            periodicity,
            risk_free: if with_rf {
                RiskFree::PerPeriod(&rf)
            } else {
                RiskFree::Zero
            },
            fills: &fills,
            gross_exposure: Some(&exposure),
        };
        let (t, n) = time(|| {
            black_box(Analysis::compute(black_box(&input)).unwrap());
        });
        rows.push(format!(
            "| Analysis::compute — {name} | {} points, {} fills | {:.3} ms | {n} |",
            ts.len(),
            fills.len(),
            t * 1e3
        ));
        let (t, n) = time(|| {
            black_box(closed_trades(black_box(&fills)).unwrap());
        });
        rows.push(format!(
            "| closed_trades (FIFO) — {name} | {} fills | {:.3} ms | {n} |",
            fills.len(),
            t * 1e3
        ));
    }

    println!("| benchmark | size | median time | runs |");
    println!("|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
