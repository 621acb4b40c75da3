#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Decision latency of the agents' ensemble (issue 17, "inference latency per decision, goal
//! < 1 ms for the ensemble on one symbol"), on real daily adjusted closes of the shared data
//! (`daily-adjclose/<T>.csv`, 2015-01-02 .. 2026-08-03, the dates every symbol of the universe
//! has).
//!
//! One *decision* is one `Strategy::on_bar_close` of [`AgentStrategy`] (new closes into the
//! windows, the previous signals' outcomes booked, the ensemble's weights adapted, every agent's
//! signal, the combination, the targets when a holding changes), as the engine calls it at each
//! bar close. The strategy is warmed up over the history (not timed), then every bar of the last
//! year (252 bars) is timed one by one; the run is repeated on a fresh strategy.
//!
//! - (a) technical + factor + DQN (SPEC §4 weights 0.3/0.3/0.4, threshold 0.7), one symbol (AAPL);
//! - (b) technical + factor (0.5/0.5), one symbol;
//! - (c) the DQN agent's `decide` alone, one symbol (the last 31 closes);
//! - (d) technical + factor + DQN on 10 symbols: per bar, and per bar / 10 per symbol;
//! - (e) technical + factor on the same 10 symbols (the DQN's share of (d)).
//!
//! The factor agent ranks cross-sectionally: on one symbol it has no rank to give and answers
//! "no opinion" (it still computes its momentum); on 10 symbols it ranks momentum and, from
//! 2024-12-08 on, the S&P 500 fundamentals snapshot of the shared data (value, quality, growth).
//!
//! The DQN is SPEC §4's network (31 → 128 → 64 → 32 → 3) trained here for one episode
//! (seed 42) on AAPL's closes of 2010–2014, before the timed years: a decision evaluates the
//! whole network whatever its weights, so latency does not depend on how well it is trained.
//!
//! Run: `RAYON_NUM_THREADS=2 cargo bench -p pulse-deep --bench ensemble` (the variable only speeds
//! up the training in the setup). Prints a markdown table; nothing is asserted.

use jiff::Timestamp;
use pulse_agents::ensemble::EnsembleConfig;
use pulse_agents::factor::{FactorAgent, FactorWeights, FundamentalsTable};
use pulse_agents::strategy::AgentStrategy;
use pulse_agents::technical::{TechnicalAgent, TechnicalConfig};
use pulse_agents::{Agent, AgentView, SymbolView};
use pulse_core::{Bar, Symbol};
use pulse_deep::dqn::{DqnAgent, DqnConfig, DqnModel, train};
use pulse_strategy::{MarketSnapshot, Strategy};
use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::Instant;

/// The 10-symbol universe (the first is the one-symbol case).
const UNIVERSE: [&str; 10] = [
    "AAPL", "MSFT", "JPM", "XOM", "JNJ", "WMT", "KO", "PG", "NVDA", "TSLA",
];
/// Bars timed at the end of the history (one year of trading days).
const TIMED: usize = 252;
const FIRST_DATE: &str = "2015-01-01";

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

/// `(date, adjusted close)` rows of `daily-adjclose/<symbol>.csv`.
fn read_adjclose(symbol: &str) -> Vec<(String, f64)> {
    let path = pulse_testkit::shared_file(&format!("daily-adjclose/{symbol}.csv"));
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (date, close) = l.split_once(',')?;
            Some((date.to_string(), close.trim().parse().ok()?))
        })
        .collect()
}

/// One snapshot per date every symbol of `symbols` has, from `FIRST_DATE` on.
struct History {
    bars: Vec<(Timestamp, BTreeMap<Symbol, Bar>)>,
}

impl History {
    fn load(symbols: &[&str]) -> History {
        let series: Vec<BTreeMap<String, f64>> = symbols
            .iter()
            .map(|s| {
                read_adjclose(s)
                    .into_iter()
                    .filter(|(d, _)| d.as_str() >= FIRST_DATE)
                    .collect()
            })
            .collect();
        let mut dates: BTreeSet<&String> = series[0].keys().collect();
        for s in &series[1..] {
            dates.retain(|d| s.contains_key(*d));
        }
        let bars = dates
            .into_iter()
            .map(|d| {
                let ts: Timestamp = format!("{d}T00:00:00Z").parse().unwrap();
                let snapshot = symbols
                    .iter()
                    .zip(&series)
                    .map(|(s, closes)| {
                        let c = closes[d];
                        let bar = Bar {
                            ts,
                            open: c,
                            high: c,
                            low: c,
                            close: c,
                            adj_close: Some(c),
                            volume: None,
                        };
                        (sym(s), bar)
                    })
                    .collect();
                (ts, snapshot)
            })
            .collect();
        History { bars }
    }
}

fn fundamentals() -> FundamentalsTable {
    let path =
        pulse_testkit::shared_file("fundamentals/sp500_yfinance_fundamentals_snapshot_2024-12.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let as_of = "2024-12-08T00:00:00Z".parse().unwrap();
    FundamentalsTable::parse_csv(&path.display().to_string(), &text, as_of).unwrap()
}

/// SPEC §4's DQN trained for one episode (seed 42) on AAPL 2010–2014.
fn dqn_model() -> DqnModel {
    let closes: Vec<f64> = read_adjclose("AAPL")
        .into_iter()
        .filter(|(d, _)| ("2010-01-01".."2015-01-01").contains(&d.as_str()))
        .map(|(_, c)| c)
        .collect();
    let cfg = DqnConfig {
        episodes: 1,
        seed: 42,
        ..DqnConfig::default()
    };
    let start = Instant::now();
    let (model, report) = train(&[closes], &cfg, |_| true).unwrap();
    eprintln!(
        "DQN trained in {:.2} s: {} steps, {} replays",
        start.elapsed().as_secs_f64(),
        report.steps,
        report.replays
    );
    model
}

fn strategy(
    symbols: &[&str],
    with_dqn: Option<&DqnModel>,
    fundamentals: &FundamentalsTable,
) -> AgentStrategy {
    let mut agents: Vec<Box<dyn Agent + Send>> = vec![
        Box::new(TechnicalAgent::try_new(TechnicalConfig::default()).unwrap()),
        Box::new(
            FactorAgent::try_new(FactorWeights::default(), Some(fundamentals.clone())).unwrap(),
        ),
    ];
    if let Some(model) = with_dqn {
        agents.push(Box::new(DqnAgent::new(model.clone())));
    }
    let universe = symbols.iter().map(|s| sym(s)).collect();
    AgentStrategy::try_new("Ensemble", universe, agents, EnsembleConfig::default()).unwrap()
}

/// Per-call times of every rep, and the best rep's mean, in seconds.
struct Timing {
    calls: Vec<f64>,
    best_mean: f64,
}

impl Timing {
    fn new() -> Timing {
        Timing {
            calls: Vec::new(),
            best_mean: f64::INFINITY,
        }
    }

    fn add_rep(&mut self, calls: &[f64]) {
        let mean = calls.iter().sum::<f64>() / calls.len() as f64;
        self.best_mean = self.best_mean.min(mean);
        self.calls.extend_from_slice(calls);
    }

    fn quantile(&self, q: f64) -> f64 {
        let mut v = self.calls.clone();
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    }
}

/// Warms a fresh strategy up over all but the last [`TIMED`] bars, then times each of them.
fn time_strategy(
    history: &History,
    reps: usize,
    mut build: impl FnMut() -> AgentStrategy,
) -> (Timing, pulse_agents::strategy::AgentStats) {
    let context = BTreeMap::new();
    let split = history.bars.len() - TIMED;
    let mut timing = Timing::new();
    let mut stats = Default::default();
    for _ in 0..reps {
        let mut s = build();
        for (ts, bars) in &history.bars[..split] {
            black_box(s.on_bar_close(&MarketSnapshot {
                ts: *ts,
                bars,
                context: &context,
            }));
        }
        let mut calls = Vec::with_capacity(TIMED);
        for (ts, bars) in &history.bars[split..] {
            let snapshot = MarketSnapshot {
                ts: *ts,
                bars,
                context: &context,
            };
            let t = Instant::now();
            black_box(s.on_bar_close(black_box(&snapshot)));
            calls.push(t.elapsed().as_secs_f64());
        }
        timing.add_rep(&calls);
        stats = s.stats().clone();
    }
    (timing, stats)
}

/// The DQN agent's `decide` alone on one symbol, over the same last bars.
fn time_dqn(history: &History, model: &DqnModel, reps: usize) -> Timing {
    let symbol = sym(UNIVERSE[0]);
    let closes: Vec<f64> = history.bars.iter().map(|(_, b)| b[&symbol].close).collect();
    let need = model.config().closes_needed();
    let split = closes.len() - TIMED;
    let mut timing = Timing::new();
    let mut out = Vec::with_capacity(1);
    for _ in 0..reps {
        let mut agent = DqnAgent::new(model.clone());
        let mut calls = Vec::with_capacity(TIMED);
        for t in split..closes.len() {
            let views = [SymbolView {
                symbol: &symbol,
                closes: &closes[t + 1 - need..=t],
                long: t % 2 == 0,
            }];
            let view = AgentView {
                ts: history.bars[t].0,
                symbols: &views,
            };
            out.clear();
            let start = Instant::now();
            agent.decide(black_box(&view), &mut out);
            black_box(&out);
            calls.push(start.elapsed().as_secs_f64());
        }
        timing.add_rep(&calls);
    }
    timing
}

fn main() {
    let one = History::load(&UNIVERSE[..1]);
    let ten = History::load(&UNIVERSE);
    let table = fundamentals();
    let model = dqn_model();
    let (first, last) = (ten.bars[0].0, ten.bars[ten.bars.len() - 1].0);
    eprintln!(
        "{} bars of {} ({} .. {}), {} of the 10 symbols; the last {TIMED} timed",
        one.bars.len(),
        UNIVERSE[0],
        one.bars[0].0,
        one.bars[one.bars.len() - 1].0,
        ten.bars.len(),
    );
    eprintln!("10 symbols: {first} .. {last}");

    let fmt = pulse_testkit::fmt_secs;
    println!(
        "| case | agents | symbols | reps × bars | best mean per decision | median | p99 | max | per symbol (best mean) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let row = |case: &str, agents: &str, n: usize, reps: usize, t: &Timing| {
        println!(
            "| {case} | {agents} | {n} | {reps} × {TIMED} | {} | {} | {} | {} | {} |",
            fmt(t.best_mean),
            fmt(t.quantile(0.5)),
            fmt(t.quantile(0.99)),
            fmt(t.quantile(1.0)),
            fmt(t.best_mean / n as f64),
        );
    };
    let stats_line = |case: &str, s: &pulse_agents::strategy::AgentStats| {
        eprintln!(
            "{case}: last rep over the whole history: {} decisions, {} entries, {} exits, {} below the threshold",
            s.decisions, s.entries, s.exits, s.below_threshold
        );
    };

    let reps = 20;
    let (a, sa) = time_strategy(&one, reps, || {
        strategy(&UNIVERSE[..1], Some(&model), &table)
    });
    row(
        "(a) ensemble, one symbol",
        "technical + factor + DQN",
        1,
        reps,
        &a,
    );
    stats_line("(a)", &sa);
    let (b, sb) = time_strategy(&one, reps, || strategy(&UNIVERSE[..1], None, &table));
    row(
        "(b) ensemble, one symbol",
        "technical + factor",
        1,
        reps,
        &b,
    );
    stats_line("(b)", &sb);
    let c = time_dqn(&one, &model, reps);
    row("(c) DQN `decide` alone", "DQN", 1, reps, &c);
    let reps = 10;
    let (d, sd) = time_strategy(&ten, reps, || strategy(&UNIVERSE, Some(&model), &table));
    row(
        "(d) ensemble, 10 symbols",
        "technical + factor + DQN",
        10,
        reps,
        &d,
    );
    stats_line("(d)", &sd);
    let (e, se) = time_strategy(&ten, reps, || strategy(&UNIVERSE, None, &table));
    row(
        "(e) ensemble, 10 symbols",
        "technical + factor",
        10,
        reps,
        &e,
    );
    stats_line("(e)", &se);
}
