//! Shared by the LightGBM tests: one symbol's features written to a feature file (the store),
//! and its training targets from triple-barrier labels on the real minute bars.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use pulse_ml::features::{FeatureConfig, compute_features};
use pulse_ml::labels::{BarrierConfig, triple_barrier};
use pulse_ml::store::{RowReader, write_frame};

/// Cost per side for the net-return target (0.1 %).
pub const COST: f64 = 0.001;

/// One symbol prepared for training: its feature file and targets a row (`None` = not a
/// training row: no label, or a label whose exit is at or after the training cut).
pub struct Prepared {
    pub symbol: String,
    pub path: PathBuf,
    pub names: Vec<String>,
    pub n_rows: usize,
    /// First row after the training window.
    pub cut: usize,
    /// Net return after costs of the long trade decided at the row (fraction).
    pub net: Vec<Option<f64>>,
    /// 1 when that trade hit its take-profit first, else 0.
    pub hit_tp: Vec<Option<f64>>,
}

impl Prepared {
    pub fn reader(&self) -> RowReader<BufReader<File>> {
        RowReader::new(BufReader::new(File::open(&self.path).unwrap())).unwrap()
    }
}

/// Features of `symbol`'s first `max_rows` minute bars (all when `None`) written to
/// `dir/<symbol>.pmlf`; bars, frame and labels are dropped on return (one symbol at a time).
pub fn prepare(symbol: &str, max_rows: Option<usize>, train_frac: f64, dir: &Path) -> Prepared {
    let mut bars = crate::common::minute_bars(symbol);
    if let Some(m) = max_rows {
        bars.truncate(m);
    }
    let frame = compute_features(&bars, &FeatureConfig::default()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{symbol}.pmlf"));
    write_frame(&frame, BufWriter::new(File::create(&path).unwrap())).unwrap();
    let h: Vec<f64> = bars.iter().map(|b| b.high).collect();
    let l: Vec<f64> = bars.iter().map(|b| b.low).collect();
    let c: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let atr = pulse_indicators::atr(&h, &l, &c, 14).unwrap();
    let labels = triple_barrier(&bars, &atr, &BarrierConfig::default()).unwrap();
    let n = bars.len();
    let cut = (n as f64 * train_frac) as usize;
    let train = |i: usize| labels[i].filter(|lb| lb.exit_index < cut);
    Prepared {
        symbol: symbol.to_string(),
        path,
        names: frame.names().to_vec(),
        n_rows: n,
        cut,
        net: (0..n)
            .map(|i| train(i).map(|lb| lb.net_ret(COST)))
            .collect(),
        hit_tp: (0..n)
            .map(|i| train(i).map(|lb| f64::from(u8::from(lb.label == 1))))
            .collect(),
    }
}
