//! N-BEATS benchmark and real-data evaluation (issue 17 item 5, BENCHMARKS.md): seconds per
//! training epoch of the default generic network (2 stacks × 3 blocks, 4 × 128 ReLU layers,
//! lookback 60, horizon 20, batch 256) on the pooled windows of daily adjusted closes, then the
//! out-of-sample MASE of N-BEATS, the naive (zero return), last-return and EWMA(180) forecasts
//! and the annual expected returns at the training end.
//!
//! `cargo run --release -p pulse-deep --example nbeats_bench -- [epochs] [symbols] [from]
//! [train_to] [test_to] [seed] [validation]` (defaults 20, SPY,TLT,GLD,QQQ,EFA, 2010-01-01,
//! 2019-12-31, 2021-12-31, 42, 0.2; validation 0 turns early stopping off, for timing every epoch
//! on every window); prints one JSON line per epoch and per symbol. The scaled training windows'
//! series are written to `target/nbeats_bench_series.csv` (`series,value`: each series' training
//! log returns divided by its scale) so that the PyTorch peer (`scripts/reference/nbeats_torch.py`)
//! trains on exactly the same windows.

use pulse_deep::nbeats::{NbeatsConfig, TrainSeries, annualised, evaluate, log_returns, train};
use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let epochs: usize = arg(1, "20").parse()?;
    let symbols = arg(2, "SPY,TLT,GLD,QQQ,EFA");
    let (from, train_to, test_to) = (
        arg(3, "2010-01-01"),
        arg(4, "2019-12-31"),
        arg(5, "2021-12-31"),
    );
    let seed: u64 = arg(6, "42").parse()?;
    let validation: f64 = arg(7, "0.2").parse()?;
    let root = std::env::var("PULSE_SHARED_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data").into());
    let mut data = Vec::new();
    for sym in symbols.split(',') {
        let mut rdr = csv::Reader::from_path(format!("{root}/daily-adjclose/{sym}.csv"))?;
        let (mut closes, mut train_len) = (Vec::new(), 0);
        for rec in rdr.records() {
            let rec = rec?;
            let date = rec[0].to_string();
            if date.as_str() >= from.as_str() && date.as_str() <= test_to.as_str() {
                closes.push(rec[1].parse::<f64>()?);
                if date.as_str() <= train_to.as_str() {
                    train_len += 1;
                }
            }
        }
        data.push((sym.to_string(), closes, train_len));
    }
    let series: Vec<TrainSeries<'_>> = data
        .iter()
        .map(|(n, c, l)| TrainSeries {
            name: n,
            closes: c,
            train_len: *l,
        })
        .collect();
    let cfg = NbeatsConfig {
        epochs,
        seed,
        validation,
        ..NbeatsConfig::default()
    };
    let mut last = Instant::now();
    let start = last;
    let (model, report) = train(&series, &cfg, |p| {
        if p.epoch_done() {
            let now = Instant::now();
            println!(
                "{{\"impl\":\"candle\",\"what\":\"epoch\",\"epoch\":{},\"batches\":{},\"seconds\":{:.3},\"loss\":{:.5}}}",
                p.epoch,
                p.batches,
                (now - last).as_secs_f64(),
                p.loss
            );
            last = now;
        }
        true
    })?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"impl\":\"candle\",\"what\":\"train\",\"windows\":{},\"validation_windows\":{},\"val_loss\":{:?},\"best_epoch\":{},\"epochs\":{},\"steps\":{},\"seconds\":{:.3},\"sec_per_epoch\":{:.3}}}",
        report.windows,
        report.validation_windows,
        report.val_loss,
        report.best_epoch,
        report.epochs_run,
        report.steps,
        secs,
        secs / report.epochs_run as f64
    );
    let out_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target");
    let mut f = std::fs::File::create(format!("{out_dir}/nbeats_bench_series.csv"))?;
    writeln!(f, "series,value")?;
    for (i, (name, closes, train_len)) in data.iter().enumerate() {
        let scale = model.scale_of(name).ok_or("no scale")?;
        for r in log_returns(name, &closes[..*train_len])? {
            writeln!(f, "{i},{}", r / scale)?;
        }
    }
    let mut sums = [0.0f64; 4];
    for (name, closes, train_len) in &data {
        let scale = model.scale_of(name).ok_or("no scale")?;
        let acc = evaluate(&model, name, closes, *train_len, closes.len(), scale)?
            .ok_or("no test origin")?;
        let f = model.forecast(&log_returns(name, &closes[..*train_len])?, scale)?;
        let annual = annualised(&f, cfg.periods_per_year).unwrap_or(f64::NAN);
        println!(
            "{{\"what\":\"accuracy\",\"symbol\":\"{name}\",\"train_closes\":{train_len},\"test_closes\":{},\"origins\":{},\"mase_nbeats\":{:.4},\"mase_naive\":{:.4},\"mase_last\":{:.4},\"mase_ewma\":{:.4},\"annual_at_training_end\":{:.4}}}",
            closes.len() - train_len,
            acc.origins,
            acc.nbeats,
            acc.naive,
            acc.last,
            acc.ewma,
            annual
        );
        sums[0] += acc.nbeats;
        sums[1] += acc.naive;
        sums[2] += acc.last;
        sums[3] += acc.ewma;
    }
    let n = data.len() as f64;
    println!(
        "{{\"what\":\"mean\",\"symbols\":{},\"mase_nbeats\":{:.4},\"mase_naive\":{:.4},\"mase_last\":{:.4},\"mase_ewma\":{:.4}}}",
        data.len(),
        sums[0] / n,
        sums[1] / n,
        sums[2] / n,
        sums[3] / n
    );
    Ok(())
}
