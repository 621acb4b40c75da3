//! DQN benchmark (issue 17, BENCHMARKS.md): training steps per second of the SPEC §4 network on
//! TSLA daily closes 2015–2019 (every step followed by one replay of a 32-transition minibatch),
//! and the agent's inference latency per decision.
//!
//! `cargo run --release -p pulse-deep --example dqn_bench -- [episodes] [csv] [model-dir]`; prints
//! one JSON line per figure, and saves the trained model when a directory is given. The closes are written to `target/dqn_bench_closes.csv` so that the PyTorch
//! peer (`scripts/reference/dqn_torch.py`) trains on exactly the same series.

use pulse_agents::{AgentView, SymbolView};
use pulse_deep::dqn::{DqnAgent, DqnConfig, train};
use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let episodes: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let csv_path = args.get(2).cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/daily-adjclose/TSLA.csv"
        )
        .to_string()
    });
    let mut rdr = csv::Reader::from_path(&csv_path)?;
    let mut closes = Vec::new();
    for rec in rdr.records() {
        let rec = rec?;
        let date = &rec[0];
        if ("2015-01-01".."2020-01-01").contains(&date) {
            closes.push(rec[1].parse::<f64>()?);
        }
    }
    let out_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target");
    let mut f = std::fs::File::create(format!("{out_dir}/dqn_bench_closes.csv"))?;
    writeln!(f, "close")?;
    for c in &closes {
        writeln!(f, "{c}")?;
    }

    let cfg = DqnConfig {
        episodes,
        ..DqnConfig::default()
    };
    let start = Instant::now();
    let (model, report) = train(std::slice::from_ref(&closes), &cfg, |_| true)?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"impl\":\"candle\",\"what\":\"train\",\"bars\":{},\"episodes\":{},\"steps\":{},\"replays\":{},\"seconds\":{:.3},\"steps_per_sec\":{:.1},\"final_epsilon\":{:.4},\"mean_loss_last\":{}}}",
        closes.len(),
        report.episodes_run,
        report.steps,
        report.replays,
        secs,
        report.steps as f64 / secs,
        report.final_epsilon,
        report
            .mean_loss
            .last()
            .copied()
            .flatten()
            .map_or_else(|| "null".to_string(), |l| format!("{l:.6}"))
    );

    if let Some(dir) = args.get(3) {
        model.save(std::path::Path::new(dir))?;
    }

    // Inference: one decision per call on a sliding 31-close window, as the engine calls it.
    let mut agent = DqnAgent::new(model);
    let sym = pulse_core::Symbol::try_new("TSLA")?;
    let mut out = Vec::with_capacity(1);
    let n = closes.len() - 31;
    let reps = 20;
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let start = Instant::now();
        for t in 0..n {
            let views = [SymbolView {
                symbol: &sym,
                closes: &closes[t..t + 31],
                long: t % 2 == 0,
            }];
            let view = AgentView {
                ts: jiff::Timestamp::UNIX_EPOCH,
                symbols: &views,
            };
            out.clear();
            pulse_agents::Agent::decide(&mut agent, &view, &mut out);
            std::hint::black_box(&out);
        }
        best = best.min(start.elapsed().as_secs_f64() / n as f64);
    }
    println!(
        "{{\"impl\":\"candle\",\"what\":\"decide\",\"decisions\":{n},\"best_of\":{reps},\"us_per_decision\":{:.3}}}",
        best * 1e6
    );
    Ok(())
}
