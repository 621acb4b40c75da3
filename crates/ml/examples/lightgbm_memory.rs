//! Batch training over the 40 Binance pairs of `shared/data/intraday-1m-many` within bounded
//! memory (issue 16 item 4, first measurement): one symbol at a time, its 32 own features are
//! written to a per-symbol `f32` feature file and its triple-barrier net returns (0.1 % per side)
//! kept as targets (the first 80 % of each symbol: labels whose exit is before the cut); then one
//! LightGBM regression (the documented defaults: 200 trees, 31 leaves, 2 threads) trains on the
//! rows streamed from the 40 files into one `f32` matrix, and predicts the last 20 % of every
//! symbol chunk by chunk from the files. Prints the time and the peak RSS (VmHWM) after each phase.
//!
//! ```sh
//! export CMAKE="$(bash scripts/ensure_lightgbm.sh)"
//! cargo run -p pulse-ml --features lightgbm --example lightgbm_memory [-- N_SYMBOLS]
//! ```
//! (The dev profile is fine: LightGBM's C++ is always built in Release; only the feature pass is
//! slower than in a release build.)
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::time::Instant;

use pulse_core::Bar;
use pulse_core::jiff::Timestamp;
use pulse_ml::features::{FeatureConfig, compute_features};
use pulse_ml::labels::{BarrierConfig, triple_barrier};
use pulse_ml::lgbm::LgbmModel;
use pulse_ml::model::{LgbmParams, TrainingSet};
use pulse_ml::store::{RowReader, write_frame};

fn minute_bars(path: &std::path::Path) -> Vec<Bar> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.trim().split(',').collect();
            let p = |i: usize| f[i].parse::<f64>().unwrap();
            Bar {
                ts: f[0].parse::<Timestamp>().unwrap(),
                open: p(1),
                high: p(2),
                low: p(3),
                close: p(4),
                adj_close: None,
                volume: Some(p(5)),
            }
        })
        .collect()
}

/// (VmRSS, VmHWM) of this process in MB.
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

fn report(phase: &str, t: Instant) {
    let (rss, hwm) = rss_mb();
    println!(
        "{phase}: {:.1} s; RSS {rss:.0} MB, peak so far {hwm:.0} MB",
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let limit: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().unwrap())
        .unwrap_or(usize::MAX);
    let data = pulse_testkit::shared_file("intraday-1m-many");
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".csv.gz"))
        .collect();
    files.sort();
    files.truncate(limit);
    let out = std::env::temp_dir().join(format!("pulse-ml-lightgbm-memory-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let cfg = FeatureConfig::default();

    // 1. Features and targets, one symbol at a time. Targets: f32 (NaN = no training row).
    let t = Instant::now();
    let mut symbols = Vec::new();
    let mut names = Vec::new();
    for f in &files {
        let bars = minute_bars(f);
        let frame = compute_features(&bars, &cfg).unwrap();
        let path = out.join(format!("{}.pmlf", symbols.len()));
        write_frame(&frame, BufWriter::new(File::create(&path).unwrap())).unwrap();
        names = frame.names().to_vec();
        let h: Vec<f64> = bars.iter().map(|b| b.high).collect();
        let l: Vec<f64> = bars.iter().map(|b| b.low).collect();
        let c: Vec<f64> = bars.iter().map(|b| b.close).collect();
        let atr = pulse_indicators::atr(&h, &l, &c, 14).unwrap();
        let labels = triple_barrier(&bars, &atr, &BarrierConfig::default()).unwrap();
        let cut = bars.len() * 4 / 5;
        let y: Vec<f32> = labels
            .iter()
            .map(|lb| match lb {
                Some(lb) if lb.exit_index < cut => lb.net_ret(0.001) as f32,
                _ => f32::NAN,
            })
            .collect();
        symbols.push((path, cut, y));
    }
    let total_rows: usize = symbols.iter().map(|s| s.2.len()).sum();
    println!(
        "{} symbols, {total_rows} rows x {} features written to {}",
        symbols.len(),
        names.len(),
        out.display()
    );
    report("features + labels (one symbol at a time)", t);

    // 2. The training matrix, streamed from the files, allocated once.
    let t = Instant::now();
    let mut set = TrainingSet::new(&names, None).unwrap();
    let n_train: usize = symbols
        .iter()
        .map(|s| s.2.iter().filter(|v| !v.is_nan()).count())
        .sum();
    set.reserve_rows(n_train).unwrap();
    for (path, _, y) in &symbols {
        let targets: Vec<Option<f64>> = y
            .iter()
            .map(|&v| (!v.is_nan()).then_some(f64::from(v)))
            .collect();
        let mut r = RowReader::new(BufReader::new(File::open(path).unwrap())).unwrap();
        set.push_reader(&mut r, &targets).unwrap();
    }
    println!(
        "training matrix: {} rows x {} = {:.0} MB of f32",
        set.n_rows(),
        set.n_cols(),
        (set.features().len() * 4) as f64 / 1e6
    );
    report("training rows streamed", t);

    // 3. Train (the matrix is freed once LightGBM has binned it).
    let t = Instant::now();
    let params = LgbmParams::default();
    let model = LgbmModel::train(set, &params).unwrap();
    report(
        &format!("LightGBM regression, {} trees", model.num_trees()),
        t,
    );

    // 4. Predict every row of every file (the last 20 % of each symbol is out of sample),
    //    4096 rows at a time.
    let t = Instant::now();
    let mut n = 0usize;
    let mut held_out = 0usize;
    for (path, cut, _) in &symbols {
        let mut r = RowReader::new(BufReader::new(File::open(path).unwrap())).unwrap();
        let pred = model.predict_reader(&mut r, 4096).unwrap();
        n += pred.len();
        held_out += pred.len() - cut;
    }
    report(
        &format!("predicted {n} rows ({held_out} out of sample) from the files"),
        t,
    );
    let model_path = out.join("model.txt");
    model.save(&model_path).unwrap();
    println!(
        "model file: {:.1} MB",
        std::fs::metadata(&model_path).unwrap().len() as f64 / 1e6
    );
    std::fs::remove_dir_all(&out).unwrap();
}
