//! Backtest speed: the Pulse strategy through the full engine (indicators, sizing, simulated
//! broker, exact decimal booking).
//! - daily TSLA + TSLL since TSLL's launch (bundled real data, 788 bars; goal < 1 ms);
//! - one year of 1-minute bars for two symbols (252 sessions × 390 minutes = 98,280 bars each;
//!   the shared data holds only a week of US minutes, so this is a seeded random walk with
//!   TSLL = 2× TSLA's minute returns; goal < 50 ms);
//! - the same engine over the real BTCUSDT + ETHUSDT month of minutes (43,200 bars each).
//!
//! Each also through the sweep kernel (`PulseMarket::run`: same fills and equity, proven by
//! tests/kernel.rs), and the kernel over the 10,000-point threshold grid of `pulse sweep`'s
//! benchmark on one thread (trials/s per core, backtests only: no metrics).
//!
//! Run: `cargo bench -p pulse-backtest --bench backtest`. Prints a markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_backtest::{AlignedData, BacktestConfig, KernelScratch, PulseMarket, run};
use pulse_core::{Bar, Portfolio, Symbol};
use pulse_risk::{LeverageConfig, LeverageLevel, LimitsConfig, RiskConfig};
use pulse_strategy::Strategy;
use pulse_strategy::pulse::{PulseConfig, PulseStrategy};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

fn read_daily(path: &std::path::Path) -> Vec<Bar> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let f = |i: usize| c[i].parse::<f64>().unwrap();
            Bar {
                ts: format!("{}T00:00:00Z", c[0]).parse().unwrap(),
                open: f(1),
                high: f(2),
                low: f(3),
                close: f(4),
                adj_close: Some(f(5)),
                volume: Some(f(6)),
            }
        })
        .collect()
}

fn read_minutes(path: &std::path::Path) -> Vec<Bar> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let f = |i: usize| c[i].parse::<f64>().unwrap();
            Bar {
                ts: c[0].parse().unwrap(),
                open: f(1),
                high: f(2),
                low: f(3),
                close: f(4),
                adj_close: None,
                volume: Some(f(5)),
            }
        })
        .collect()
}

/// Seeded random-walk minutes for a base symbol and a 2× daily... minute-leveraged twin.
fn synthetic_year() -> (Vec<Bar>, Vec<Bar>) {
    let mut state: u64 = 0x5eed_1234;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0 - 0.5
    };
    let start: pulse_core::jiff::Timestamp = "2024-01-02T14:30:00Z".parse().unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut pa, mut pb) = (250.0_f64, 20.0_f64);
    for day in 0..252i64 {
        for minute in 0..390i64 {
            let ts = start
                .checked_add(pulse_core::jiff::SignedDuration::from_secs(
                    day * 86_400 + minute * 60,
                ))
                .unwrap();
            let r = next() * 0.004;
            let (oa, ob) = (pa, pb);
            pa *= 1.0 + r;
            pb *= 1.0 + 2.0 * r;
            let v = 1000.0 + 1000.0 * (next() + 0.5);
            a.push(Bar {
                ts,
                open: oa,
                high: oa.max(pa) * 1.0005,
                low: oa.min(pa) * 0.9995,
                close: pa,
                adj_close: None,
                volume: Some(v),
            });
            b.push(Bar {
                ts,
                open: ob,
                high: ob.max(pb) * 1.001,
                low: ob.min(pb) * 0.999,
                close: pb,
                adj_close: None,
                volume: Some(v * 3.0),
            });
        }
    }
    (a, b)
}

fn time_run(data: &AlignedData, cfg: &PulseConfig, reps: usize) -> (f64, usize) {
    time_run_with(data, cfg, reps, &BacktestConfig::default())
}

/// A risk layer that computes everything at every close (VaR/CVaR twice, the caps, the
/// drawdown) but never binds: its cost alone, with the same fills as without it.
fn non_binding_risk() -> BacktestConfig {
    let mut config = BacktestConfig::default();
    config.engine.risk = Some(RiskConfig {
        leverage: LeverageConfig {
            levels: vec![LeverageLevel {
                above: 1e9,
                leverage: 0.5,
            }],
            ..LeverageConfig::default()
        },
        limits: LimitsConfig {
            max_position: Some(1.0),
            max_sector: Some(1.0),
            max_drawdown: Some(1.0),
            max_daily_var: Some(1.0),
            stop_loss: None,
        },
        ..RiskConfig::default()
    });
    config
}

fn time_run_with(
    data: &AlignedData,
    cfg: &PulseConfig,
    reps: usize,
    config: &BacktestConfig,
) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut fills = 0;
    for _ in 0..reps {
        let strategy = PulseStrategy::try_new(cfg.clone()).unwrap();
        let t = Instant::now();
        let r = run(
            data,
            strategy,
            Portfolio::with_cash(Decimal::from(100_000)),
            config,
            |_| {},
        )
        .unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        fills = black_box(r).fills.len();
    }
    (best, fills)
}

/// Best time of `reps` kernel runs of `cfg` over the whole timeline after the warm-up.
fn time_kernel(data: &AlignedData, cfg: &PulseConfig, reps: usize) -> (f64, usize) {
    let market = PulseMarket::new(data, cfg).unwrap();
    let start =
        data.first_common_index() + PulseStrategy::try_new(cfg.clone()).unwrap().warmup_bars();
    let account = Portfolio::with_cash(Decimal::from(100_000));
    let mut scratch = KernelScratch::default();
    let mut best = f64::MAX;
    for _ in 0..reps {
        let t = Instant::now();
        market
            .run(
                cfg,
                &account,
                &BacktestConfig::default(),
                start..data.timeline.len(),
                &mut scratch,
            )
            .unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, scratch.fills.len())
}

/// Kernel trials per second on one thread over the sweep benchmark's grid (rsi_high 60..84,
/// rsi_low 15..34, bbands_k 1.6..2.4 step 0.2, rsi_fast_low 10..25 step 5: 10,000 points).
fn grid_rate(data: &AlignedData, base: &PulseConfig) -> (f64, usize, usize) {
    let market = PulseMarket::new(data, base).unwrap();
    let start =
        data.first_common_index() + PulseStrategy::try_new(base.clone()).unwrap().warmup_bars();
    let account = Portfolio::with_cash(Decimal::from(100_000));
    let config = BacktestConfig::default();
    let mut scratch = KernelScratch::default();
    let mut trials = 0;
    let mut keys = std::collections::HashSet::new();
    let mut key = Vec::new();
    let t = Instant::now();
    for high in 60..=84 {
        for low in 15..=34 {
            for k in 0..5 {
                for fast in [10.0, 15.0, 20.0, 25.0] {
                    let mut cfg = base.clone();
                    cfg.overbought.rsi = f64::from(high);
                    cfg.oversold.rsi = f64::from(low);
                    cfg.indicators.bbands_k = 1.6 + 0.2 * f64::from(k);
                    cfg.oversold.rsi_fast = fast;
                    market
                        .run(
                            &cfg,
                            &account,
                            &config,
                            start..data.timeline.len(),
                            &mut scratch,
                        )
                        .unwrap();
                    black_box(scratch.equity.last());
                    scratch.decision_key(&mut key);
                    keys.insert(key.clone());
                    trials += 1;
                }
            }
        }
    }
    (
        trials as f64 / t.elapsed().as_secs_f64(),
        trials,
        keys.len(),
    )
}

fn main() {
    let bundle = pulse_testkit::bundle_dir();
    let mut daily_cfg = PulseConfig::default_config().unwrap();
    let tsla = read_daily(&bundle.join("TSLA.csv"));
    let tsll = read_daily(&bundle.join("TSLL.csv"));
    let first = tsll[0].ts;
    let traded = BTreeMap::from([
        (
            sym("TSLA"),
            tsla.into_iter()
                .filter(|b| b.ts >= first)
                .collect::<Vec<_>>(),
        ),
        (sym("TSLL"), tsll),
    ]);
    let t = Instant::now();
    let daily = AlignedData::new(traded, BTreeMap::new(), &[]);
    let align_daily = t.elapsed().as_secs_f64();
    let (daily_time, daily_fills) = time_run(&daily, &daily_cfg, 200);
    let (daily_risk_time, daily_risk_fills) =
        time_run_with(&daily, &daily_cfg, 200, &non_binding_risk());
    assert_eq!(
        daily_risk_fills, daily_fills,
        "the risk layer must not bind here"
    );
    let (daily_kernel, daily_kernel_fills) = time_kernel(&daily, &daily_cfg, 200);
    let (grid_per_s, grid_trials, grid_distinct) = grid_rate(&daily, &daily_cfg);

    let (a, b) = synthetic_year();
    let n = a.len();
    let minutes = AlignedData::new(
        BTreeMap::from([(sym("TSLA"), a), (sym("TSLL"), b)]),
        BTreeMap::new(),
        &[],
    );
    let (minute_time, minute_fills) = time_run(&minutes, &daily_cfg, 10);
    let (minute_risk_time, minute_risk_fills) =
        time_run_with(&minutes, &daily_cfg, 10, &non_binding_risk());
    assert_eq!(
        minute_risk_fills, minute_fills,
        "the risk layer must not bind here"
    );
    let (minute_kernel, minute_kernel_fills) = time_kernel(&minutes, &daily_cfg, 10);

    daily_cfg.symbols.base = sym("BTCUSDT");
    daily_cfg.symbols.leveraged = sym("ETHUSDT");
    let btc = read_minutes(&pulse_testkit::shared_file("intraday-1m/BTCUSDT.csv"));
    let eth = read_minutes(&pulse_testkit::shared_file("intraday-1m/ETHUSDT.csv"));
    let crypto_n = btc.len();
    let crypto = AlignedData::new(
        BTreeMap::from([(sym("BTCUSDT"), btc), (sym("ETHUSDT"), eth)]),
        BTreeMap::new(),
        &[],
    );
    let (crypto_time, crypto_fills) = time_run(&crypto, &daily_cfg, 10);
    let (crypto_kernel, crypto_kernel_fills) = time_kernel(&crypto, &daily_cfg, 10);

    println!("| run | bars per symbol | fills | best time | per bar | goal |");
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| Pulse daily TSLA+TSLL (real, since TSLL launch) | 788 | {daily_fills} | {:.3} ms | {:.0} ns | < 1 ms |",
        daily_time * 1e3,
        daily_time * 1e9 / 788.0
    );
    println!(
        "| Pulse 1-minute, 1 year, 2 symbols (synthetic) | {n} | {minute_fills} | {:.1} ms | {:.0} ns | < 50 ms |",
        minute_time * 1e3,
        minute_time * 1e9 / n as f64
    );
    println!(
        "| Pulse 1-minute BTCUSDT+ETHUSDT (real, 30 days) | {crypto_n} | {crypto_fills} | {:.1} ms | {:.0} ns | — |",
        crypto_time * 1e3,
        crypto_time * 1e9 / crypto_n as f64
    );
    for (what, n, fills, time) in [
        ("daily TSLA+TSLL", 788, daily_kernel_fills, daily_kernel),
        (
            "1-minute, 1 year (synthetic)",
            n,
            minute_kernel_fills,
            minute_kernel,
        ),
        (
            "1-minute BTCUSDT+ETHUSDT",
            crypto_n,
            crypto_kernel_fills,
            crypto_kernel,
        ),
    ] {
        println!(
            "| sweep kernel: {what} | {n} | {fills} | {:.3} ms | {:.0} ns | — |",
            time * 1e3,
            time * 1e9 / n as f64
        );
    }
    println!();
    println!("| risk layer (computing, never binding) | without | with | added | goal |");
    println!("|---|---:|---:|---:|---|");
    for (what, without, with) in [
        ("Pulse daily TSLA+TSLL", daily_time, daily_risk_time),
        (
            "Pulse 1-minute, 1 year (synthetic)",
            minute_time,
            minute_risk_time,
        ),
    ] {
        println!(
            "| {what} | {:.3} ms | {:.3} ms | {:+.1} % | < 5 % |",
            without * 1e3,
            with * 1e3,
            (with / without - 1.0) * 100.0
        );
    }
    println!();
    println!(
        "Sweep kernel over the {grid_trials}-point daily grid, one thread: {grid_per_s:.0} trials/s \
         ({grid_distinct} distinct decision sequences)"
    );
    println!();
    println!(
        "(aligning the daily data: {:.3} ms, not included above)",
        align_daily * 1e3
    );
}
