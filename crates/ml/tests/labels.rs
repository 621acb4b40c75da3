#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Triple-barrier labels on real BTCUSDT minutes, checked by brute force: for a handful of
//! decision bars, the first bar reaching each barrier is searched separately and the label,
//! exit bar, exit price and holding time derived from those two indices.

mod common;

use pulse_ml::labels::{
    BarrierConfig, dynamic_multipliers, label_at, triple_barrier, triple_barrier_dynamic,
};

fn brute(
    bars: &[pulse_core::Bar],
    atr: &[f64],
    t: usize,
    k_tp: f64,
    k_sl: f64,
    n: usize,
) -> (i8, usize, f64) {
    let entry = bars[t + 1].open;
    let tp = entry + k_tp * atr[t];
    let sl = entry - k_sl * atr[t];
    let window = t + 1..=t + n;
    let first_tp = window.clone().find(|&s| bars[s].high >= tp);
    let first_sl = window.clone().find(|&s| bars[s].low <= sl);
    match (first_tp, first_sl) {
        (Some(a), Some(b)) if a < b => (1, a, bars[a].open.max(tp)),
        (_, Some(b)) => (-1, b, bars[b].open.min(sl)),
        (Some(a), None) => (1, a, bars[a].open.max(tp)),
        (None, None) => (0, t + n, bars[t + n].close),
    }
}

#[test]
fn btcusdt_labels_match_brute_force() {
    let bars = common::minute_bars("BTCUSDT");
    let h: Vec<f64> = bars.iter().map(|b| b.high).collect();
    let l: Vec<f64> = bars.iter().map(|b| b.low).collect();
    let c: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let atr = pulse_indicators::atr(&h, &l, &c, 14).unwrap();
    let n = bars.len();
    let mut seen = [0usize; 3];
    // The default 60-bar barrier rarely ends at the vertical on 1-minute BTC; 5 bars often does.
    let short = BarrierConfig {
        horizon: 5,
        ..BarrierConfig::default()
    };
    for cfg in [BarrierConfig::default(), short] {
        let labels = triple_barrier(&bars, &atr, &cfg).unwrap();
        assert!(labels[..14].iter().all(Option::is_none), "no ATR yet");
        assert!(
            labels[n - cfg.horizon..].iter().all(Option::is_none),
            "no future"
        );
        for t in (14..n - cfg.horizon)
            .step_by(1_009)
            .chain([14, n - cfg.horizon - 1])
        {
            let got = labels[t].unwrap();
            let (label, exit, price) = brute(&bars, &atr, t, cfg.k_tp, cfg.k_sl, cfg.horizon);
            assert_eq!(got.label, label, "t = {t}");
            assert_eq!(got.exit_index, exit, "t = {t}");
            assert_eq!(got.exit_ts, bars[exit].ts);
            assert_eq!(got.exit, price, "t = {t}");
            assert_eq!(got.entry, bars[t + 1].open);
            assert_eq!(got.bars_held, exit - t);
            assert!((got.ret - (price / bars[t + 1].open - 1.0)).abs() < 1e-15);
            // Adverse excursion: lowest low over the held bars, capped by the exit price.
            let low = bars[t + 1..=exit]
                .iter()
                .map(|b| b.low)
                .fold(bars[t + 1].open, f64::min)
                .max(if label == -1 { price } else { f64::MIN });
            let want_mae = low.min(price) / bars[t + 1].open - 1.0;
            assert!(
                (got.mae - want_mae).abs() < 1e-15,
                "t = {t}: mae {} vs {want_mae}",
                got.mae
            );
            assert!(got.mae <= 0.0 && got.mae <= got.ret.min(0.0) + 1e-15);
            let net = price * 0.999 / (bars[t + 1].open * 1.001) - 1.0;
            assert!((got.net_ret(0.001) - net).abs() < 1e-15);
            seen[(label + 1) as usize] += 1;
        }
    }
    // The sample covers all three outcomes.
    assert!(seen.iter().all(|&k| k > 0), "outcomes seen {seen:?}");
    let cfg = BarrierConfig::default();
    let labels = triple_barrier(&bars, &atr, &cfg).unwrap();
    // Class balance over all labels, for the record.
    let all: Vec<i8> = labels.iter().flatten().map(|x| x.label).collect();
    let count = |v: i8| all.iter().filter(|&&x| x == v).count();
    println!(
        "BTCUSDT 1m, tp 1.5 ATR / sl 1.2 ATR / 60 bars: +1 {}, -1 {}, 0 {} of {}",
        count(1),
        count(-1),
        count(0),
        all.len()
    );

    // Dynamic barriers: each label equals the fixed-multiplier label with that bar's multipliers.
    let pct = pulse_indicators::atr_percentile(&h, &l, &c, 14, 100).unwrap();
    let dynamic = triple_barrier_dynamic(&bars, &atr, &pct, 1.5, 30).unwrap();
    for t in (200..n - 30).step_by(2_003) {
        let (ktp, ksl) = dynamic_multipliers(pct[t], 1.5);
        assert_eq!(dynamic[t], label_at(&bars, &atr, t, ktp, ksl, 30));
        let (label, exit, _) = brute(&bars, &atr, t, ktp, ksl, 30);
        let d = dynamic[t].unwrap();
        assert_eq!((d.label, d.exit_index), (label, exit), "t = {t}");
    }
}

#[test]
fn dynamic_multipliers_follow_the_spec() {
    assert_eq!(dynamic_multipliers(85.0, 1.5), (2.25, 1.5));
    assert_eq!(dynamic_multipliers(10.0, 1.5), (0.8 * 1.5, 0.6 * 1.5));
    assert_eq!(dynamic_multipliers(50.0, 1.5), (1.5, 0.8 * 1.5));
    assert_eq!(dynamic_multipliers(80.0, 1.0), (1.0, 0.8));
    assert_eq!(dynamic_multipliers(20.0, 1.0), (1.0, 0.8));
}

#[test]
fn rejects_bad_settings() {
    let bars = common::minute_bars("BTCUSDT");
    let atr = vec![1.0; bars.len()];
    let bad = BarrierConfig {
        horizon: 0,
        ..BarrierConfig::default()
    };
    assert!(triple_barrier(&bars, &atr, &bad).is_err());
    assert!(triple_barrier(&bars[..10], &atr, &BarrierConfig::default()).is_err());
}
