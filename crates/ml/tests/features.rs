#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Features: no look-ahead (property test: changing every bar after `t` leaves every feature at
//! rows ≤ t bit-identical), and values on real BTCUSDT minutes against independent computations
//! written here from the definitions (not through pulse-indicators).

mod common;

use proptest::prelude::*;
use pulse_core::Bar;
use pulse_core::Exchange;
use pulse_core::jiff::Timestamp;
use pulse_core::timeframe::Timeframe;
use pulse_ml::features::{
    FeatureConfig, FeatureFrame, IndicatorParams, compute_features, regime_columns, regime_series,
};
use pulse_ml::hmm::{self, FitConfig, GaussianHmm};

/// A small deterministic generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unif(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` random-walk minute bars from 2021-04-02T00:00Z with random missing minutes, an occasional
/// zero volume and (rarely) no volume.
fn synthetic(seed: u64, n: usize) -> Vec<Bar> {
    let mut r = Rng(seed);
    let t0: Timestamp = "2021-04-02T00:00:00Z".parse().unwrap();
    let mut ts = t0.as_second();
    let mut price = 100.0;
    (0..n)
        .map(|_| {
            ts += if r.unif() < 0.05 {
                60 * (1 + (r.next() % 20) as i64)
            } else {
                60
            };
            bar(&mut r, ts, &mut price)
        })
        .collect()
}

fn bar(r: &mut Rng, ts: i64, price: &mut f64) -> Bar {
    let open = *price;
    let close = open * (1.0 + 0.002 * (r.unif() - 0.5));
    *price = close;
    let high = open.max(close) * (1.0 + 0.001 * r.unif());
    let low = open.min(close) * (1.0 - 0.001 * r.unif());
    let u = r.unif();
    let volume = if u < 0.01 {
        None
    } else if u < 0.03 {
        Some(0.0)
    } else {
        Some(10.0 * r.unif())
    };
    Bar {
        ts: Timestamp::from_second(ts).unwrap(),
        open,
        high,
        low,
        close,
        adj_close: None,
        volume,
    }
}

/// Every bar after `t` replaced (new prices and volumes; timestamps kept, or new gaps when
/// `regap`), from another seed.
fn perturb_after(bars: &[Bar], t: usize, seed: u64, regap: bool) -> Vec<Bar> {
    let mut r = Rng(seed);
    let mut out = bars[..=t].to_vec();
    let mut price = bars[t].close * (1.0 + 0.05 * (r.unif() - 0.5));
    let mut ts = bars[t].ts.as_second();
    for b in &bars[t + 1..] {
        ts = if regap {
            ts + 60 * (1 + (r.next() % 3) as i64)
        } else {
            b.ts.as_second()
        };
        out.push(bar(&mut r, ts, &mut price));
    }
    out
}

/// Small windows so that every column, 1h included, has values within a few thousand minutes.
fn small_config() -> FeatureConfig {
    FeatureConfig {
        params: IndicatorParams {
            atr_pct_window: 10,
            ..IndicatorParams::default()
        },
        ..FeatureConfig::default()
    }
}

fn assert_prefix_identical(a: &FeatureFrame, b: &FeatureFrame, t: usize) {
    assert_eq!(a.names(), b.names());
    for j in 0..a.n_cols() {
        let (ca, cb) = (a.column_at(j).unwrap(), b.column_at(j).unwrap());
        for i in 0..=t {
            assert_eq!(
                ca[i].to_bits(),
                cb[i].to_bits(),
                "{} at row {i} (t = {t}): {} vs {}",
                a.names()[j],
                ca[i],
                cb[i]
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn changing_the_future_changes_no_past_feature(
        seed in any::<u64>(),
        seed2 in any::<u64>(),
        t_frac in 0.0f64..1.0,
        regap in any::<bool>(),
    ) {
        let n = 3_200;
        let bars = synthetic(seed, n);
        let t = ((n - 1) as f64 * t_frac) as usize;
        let cfg = small_config();
        let base = compute_features(&bars, &cfg).unwrap();
        let other = compute_features(&perturb_after(&bars, t, seed2, regap), &cfg).unwrap();
        assert_prefix_identical(&base, &other, t);
        // And the prefix alone gives the same rows.
        let prefix = compute_features(&bars[..=t], &cfg).unwrap();
        assert_prefix_identical(&base, &prefix, t);
        // HMM regime columns (a fixed model: fitting is the caller's, on the training window).
        let model = GaussianHmm::try_new(
            vec![0.5, 0.5],
            vec![0.95, 0.05, 0.1, 0.9],
            vec![0.05, 0.3],
            vec![0.002, 0.05],
        )
        .unwrap();
        let changed = perturb_after(&bars, t, seed2, regap);
        for tf in [Timeframe::M15, Timeframe::H1] {
            let a = regime_columns(&bars, Exchange::Crypto, tf, &model).unwrap();
            let b = regime_columns(&changed, Exchange::Crypto, tf, &model).unwrap();
            for ((na, ca), (nb, cb)) in a.iter().zip(&b) {
                prop_assert_eq!(na, nb);
                for i in 0..=t {
                    prop_assert_eq!(ca[i].to_bits(), cb[i].to_bits(), "{} row {}", na, i);
                }
            }
        }
    }
}

#[test]
fn every_column_has_values_on_synthetic_data() {
    let bars = synthetic(7, 3_200);
    let f = compute_features(&bars, &small_config()).unwrap();
    for (j, name) in f.names().iter().enumerate() {
        let col = f.column_at(j).unwrap();
        assert!(
            col.iter().filter(|v| v.is_finite()).count() > 500,
            "{name} has almost no values"
        );
    }
}

#[test]
fn empty_input_gives_an_empty_frame_with_every_column() {
    let f = compute_features(&[], &FeatureConfig::default()).unwrap();
    assert_eq!((f.n_rows(), f.n_cols()), (0, 32));
    assert_eq!(f.names()[0], "m1_logret_1");
    assert_eq!(f.names()[31], "h1_vwap_dist");
}

#[test]
fn refuses_unsorted_or_off_minute_bars() {
    let mut bars = synthetic(1, 10);
    bars.swap(3, 4);
    assert!(compute_features(&bars, &FeatureConfig::default()).is_err());
    let mut bars = synthetic(1, 10);
    bars[5].ts = Timestamp::from_second(bars[5].ts.as_second() + 1).unwrap();
    assert!(compute_features(&bars, &FeatureConfig::default()).is_err());
}

// ---- Real BTCUSDT minutes against independent computations ----

fn close_enough(name: &str, i: usize, got: f32, want: f64) {
    assert!(
        want.is_finite(),
        "{name} at {i}: reference is not finite ({want})"
    );
    let tol = 2e-6 * want.abs().max(1e-3);
    assert!(
        (f64::from(got) - want).abs() <= tol,
        "{name} at row {i}: feature {got} vs independent {want}"
    );
}

/// Wilder RSI at `i` from scratch (TA-Lib: the first average is the plain mean of the first
/// `p` changes, output from index `p`).
fn rsi_at(c: &[f64], p: usize, i: usize) -> f64 {
    let (mut up, mut down) = (0.0, 0.0);
    for k in 1..=p {
        let d = c[k] - c[k - 1];
        up += d.max(0.0);
        down += (-d).max(0.0);
    }
    let pf = p as f64;
    let (mut up, mut down) = (up / pf, down / pf);
    for k in p + 1..=i {
        let d = c[k] - c[k - 1];
        up = (up * (pf - 1.0) + d.max(0.0)) / pf;
        down = (down * (pf - 1.0) + (-d).max(0.0)) / pf;
    }
    100.0 * up / (up + down)
}

/// Wilder ATR series (TA-Lib: TR from index 1, first ATR = mean of TR 1..=p at index p).
fn atr_series(bars: &[Bar], p: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; bars.len()];
    let tr = |k: usize| {
        let pc = bars[k - 1].close;
        (bars[k].high - bars[k].low)
            .max((bars[k].high - pc).abs())
            .max((bars[k].low - pc).abs())
    };
    let pf = p as f64;
    let mut a = (1..=p).map(tr).sum::<f64>() / pf;
    out[p] = a;
    for (k, o) in out.iter_mut().enumerate().skip(p + 1) {
        a = (a * (pf - 1.0) + tr(k)) / pf;
        *o = a;
    }
    out
}

fn mean_sd(w: &[f64]) -> (f64, f64) {
    let m = w.iter().sum::<f64>() / w.len() as f64;
    let v = w.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / w.len() as f64;
    (m, v.sqrt())
}

/// 15-minute or 1-hour bars by flooring minute timestamps (UTC-anchored, as crypto sessions are).
fn bucket(bars: &[Bar], len: i64) -> Vec<(i64, Bar)> {
    let mut out: Vec<(i64, Bar)> = Vec::new();
    for b in bars {
        let label = b.ts.as_second().div_euclid(len) * len;
        match out.last_mut() {
            Some((l, acc)) if *l == label => {
                acc.high = acc.high.max(b.high);
                acc.low = acc.low.min(b.low);
                acc.close = b.close;
                acc.volume = Some(acc.volume.unwrap() + b.volume.unwrap());
            }
            _ => out.push((label, *b)),
        }
    }
    out
}

#[test]
fn btcusdt_features_match_independent_computations() {
    let bars = common::minute_bars("BTCUSDT");
    let cfg = FeatureConfig::default();
    let f = compute_features(&bars, &cfg).unwrap();
    assert_eq!(f.n_rows(), bars.len());
    let col = |name: &str| f.column(name).unwrap_or_else(|| panic!("no column {name}"));
    let c: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let v: Vec<f64> = bars.iter().map(|b| b.volume.unwrap()).collect();
    let atr = atr_series(&bars, 14);
    let n = bars.len();
    let rows = [200, 1_439, 1_440, 5_000, 17_321, 30_000, 44_444, n - 1];
    for &i in &rows {
        close_enough(
            "m1_logret_1",
            i,
            col("m1_logret_1")[i],
            (c[i] / c[i - 1]).ln(),
        );
        close_enough(
            "m1_logret_60",
            i,
            col("m1_logret_60")[i],
            (c[i] / c[i - 60]).ln(),
        );
        close_enough("m1_rsi_14", i, col("m1_rsi_14")[i], rsi_at(&c, 14, i));
        let (m, sd) = mean_sd(&c[i + 1 - 20..=i]);
        let (lo, hi) = (m - 2.0 * sd, m + 2.0 * sd);
        close_enough(
            "m1_bb_pctb",
            i,
            col("m1_bb_pctb")[i],
            (c[i] - lo) / (hi - lo),
        );
        close_enough("m1_bb_width", i, col("m1_bb_width")[i], (hi - lo) / m);
        close_enough("m1_natr_14", i, col("m1_natr_14")[i], atr[i] / c[i]);
        let below = atr[i - 100..i].iter().filter(|&&a| a < atr[i]).count();
        close_enough("m1_atr_pct", i, col("m1_atr_pct")[i], below as f64);
        let (vm, vsd) = mean_sd(&v[i + 1 - 20..=i]);
        close_enough("m1_vol_z", i, col("m1_vol_z")[i], (v[i] - vm) / vsd);
        let day = bars[i].ts.as_second().div_euclid(86_400);
        let (mut pv, mut vv) = (0.0, 0.0);
        for b in bars[..=i]
            .iter()
            .filter(|b| b.ts.as_second().div_euclid(86_400) == day)
        {
            pv += (b.high + b.low + b.close) / 3.0 * b.volume.unwrap();
            vv += b.volume.unwrap();
        }
        close_enough(
            "m1_vwap_dist",
            i,
            col("m1_vwap_dist")[i],
            c[i] / (pv / vv) - 1.0,
        );
    }
    // Higher timeframes: the last bucket whose every minute is ≤ the row's minute.
    for (prefix, len) in [("m15", 900i64), ("h1", 3_600)] {
        let buckets = bucket(&bars, len);
        let bc: Vec<f64> = buckets.iter().map(|(_, b)| b.close).collect();
        let mut checked = 0;
        for i in (3_000..n).step_by(997).chain([n - 1]) {
            let now = bars[i].ts.as_second() + 60;
            let j = buckets.iter().rposition(|(l, _)| l + len <= now).unwrap();
            close_enough(
                &format!("{prefix}_logret_1"),
                i,
                f.column(&format!("{prefix}_logret_1")).unwrap()[i],
                (bc[j] / bc[j - 1]).ln(),
            );
            close_enough(
                &format!("{prefix}_logret_4"),
                i,
                f.column(&format!("{prefix}_logret_4")).unwrap()[i],
                (bc[j] / bc[j - 4]).ln(),
            );
            if j >= 40 {
                close_enough(
                    &format!("{prefix}_rsi_14"),
                    i,
                    f.column(&format!("{prefix}_rsi_14")).unwrap()[i],
                    rsi_at(&bc, 14, j),
                );
                let (m, sd) = mean_sd(&bc[j + 1 - 20..=j]);
                close_enough(
                    &format!("{prefix}_bb_pctb"),
                    i,
                    f.column(&format!("{prefix}_bb_pctb")).unwrap()[i],
                    (bc[j] - (m - 2.0 * sd)) / (4.0 * sd),
                );
                checked += 1;
            }
        }
        assert!(checked > 20, "{prefix}: only {checked} rows checked");
    }
    // The row at a bucket's last minute sees that bucket; the row before does not.
    let m15 = f.column("m15_logret_1").unwrap();
    let i = (5_000..n)
        .find(|&i| bars[i].ts.as_second() % 900 == 840 && bars[i - 1].ts.as_second() % 900 == 780)
        .unwrap();
    let end = bars[i].ts.as_second() + 60;
    let j = c
        .iter()
        .enumerate()
        .rposition(|(k, _)| bars[k].ts.as_second() < end)
        .unwrap();
    let start = bars[i].ts.as_second() - 840;
    let first = bars.iter().position(|b| b.ts.as_second() >= start).unwrap();
    let prev_close = c[first - 1];
    close_enough(
        "m15_logret_1 at bucket end",
        i,
        m15[i],
        (c[j] / prev_close).ln(),
    );
    assert_ne!(m15[i].to_bits(), m15[i - 1].to_bits());
    // Warm-up is NaN.
    assert!(col("m1_rsi_14")[13].is_nan() && col("m1_rsi_14")[14].is_finite());
    assert!(col("h1_rsi_14")[0].is_nan());
}

#[test]
fn btcusdt_regime_columns_are_the_filtered_probabilities_of_the_last_closed_bucket() {
    let bars = common::minute_bars("BTCUSDT");
    let (labels, x) = regime_series(&bars, Exchange::Crypto, Timeframe::M15).unwrap();
    // Independent series: closes of the last minute of each 15-minute bucket.
    let buckets = bucket(&bars, 900);
    assert_eq!(x.len(), buckets.len() - 1);
    for (j, w) in buckets.windows(2).enumerate().step_by(97) {
        assert_eq!(labels[j].as_second(), w[1].0);
        assert!((x[j] - 100.0 * (w[1].1.close / w[0].1.close).ln().abs()).abs() < 1e-12);
    }
    // Fit on the first half only (the training window), apply everywhere.
    let train = &x[..x.len() / 2];
    let init = GaussianHmm::init_quantiles(train, 3).unwrap();
    let (model, _) = hmm::fit(train, &init, &FitConfig::default()).unwrap();
    let proba = model.predict_proba(&x).unwrap();
    let cols = regime_columns(&bars, Exchange::Crypto, Timeframe::M15, &model).unwrap();
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["m15_regime_p0", "m15_regime_p1", "m15_regime_p2"]);
    let mut frame = compute_features(&bars, &FeatureConfig::default()).unwrap();
    for (name, col) in cols {
        frame.push_column(name, col).unwrap();
    }
    assert_eq!(frame.n_cols(), 35);
    for i in (0..bars.len()).step_by(1_231) {
        let now = bars[i].ts.as_second() + 60;
        match labels.iter().rposition(|l| l.as_second() + 900 <= now) {
            None => assert!(frame.column("m15_regime_p0").unwrap()[i].is_nan()),
            Some(j) => {
                for s in 0..3 {
                    let got = frame.column(&format!("m15_regime_p{s}")).unwrap()[i];
                    assert_eq!(got, proba[j * 3 + s] as f32, "row {i}, state {s}");
                }
            }
        }
    }
}

#[test]
fn feature_file_round_trips_bit_for_bit_row_by_row() {
    let bars = synthetic(3, 2_000);
    let f = compute_features(&bars, &small_config()).unwrap();
    let mut bytes = Vec::new();
    pulse_ml::store::write_frame(&f, &mut bytes).unwrap();
    let mut r = pulse_ml::store::RowReader::new(bytes.as_slice()).unwrap();
    assert_eq!(r.names(), f.names());
    assert_eq!(r.timestamps(), f.timestamps());
    let (mut got, mut want) = (vec![0f32; f.n_cols()], vec![0f32; f.n_cols()]);
    let mut i = 0;
    while r.next_row(&mut got).unwrap() {
        f.row_into(i, &mut want).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "row {i}");
        i += 1;
    }
    assert_eq!(i, f.n_rows());
    assert!(pulse_ml::store::RowReader::new(&bytes[..10]).is_err());
    assert!(pulse_ml::store::RowReader::new(&b"XXXX0000000000000000"[..]).is_err());
}
