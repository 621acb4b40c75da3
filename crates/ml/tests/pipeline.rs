#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The per-symbol pipeline on real data: BTCUSDT with ETHUSDT as leader, Fear & Greed,
//! and an HMM fitted on the first 20 days only (bars after the training window cannot change it).

mod common;

use pulse_core::jiff::Timestamp;
use pulse_core::timeframe::Timeframe;
use pulse_core::{Bar, Exchange};
use pulse_ml::hmm::FitConfig;
use pulse_ml::pipeline::{PipelineConfig, SymbolInputs, fit_regime_model, symbol_frame};

fn fear_greed() -> Vec<Bar> {
    let text =
        std::fs::read_to_string(pulse_testkit::shared_file("daily-index/FEAR_GREED.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (d, v) = l.split_once(',').unwrap();
            let ts: Timestamp = format!("{d}T00:00:00Z").parse().unwrap();
            Bar::from_value(ts, v.trim().parse().unwrap(), None)
        })
        .collect()
}

#[test]
fn btcusdt_full_frame_with_a_training_window_regime_model() {
    let btc = common::minute_bars("BTCUSDT");
    let eth = common::minute_bars("ETHUSDT");
    let fg = fear_greed();
    let train_end: Timestamp = "2021-04-22T00:00:00Z".parse().unwrap();
    let fit = FitConfig::default();
    let model =
        fit_regime_model(&btc, Exchange::Crypto, Timeframe::M15, train_end, 3, &fit).unwrap();
    // Bars after the training window do not change the model: drop them, or change them.
    let cut = btc.iter().position(|b| b.ts >= train_end).unwrap();
    let only_train = fit_regime_model(
        &btc[..cut],
        Exchange::Crypto,
        Timeframe::M15,
        train_end,
        3,
        &fit,
    )
    .unwrap();
    assert_eq!(model, only_train);
    let mut changed = btc.clone();
    for b in &mut changed[cut..] {
        b.close *= 1.5;
        b.high *= 1.5;
    }
    let m2 = fit_regime_model(
        &changed,
        Exchange::Crypto,
        Timeframe::M15,
        train_end,
        3,
        &fit,
    )
    .unwrap();
    assert_eq!(model, m2);
    assert!(model.means.windows(2).all(|w| w[0] < w[1]), "{model:?}");

    let leaders: [(&str, &[Bar]); 1] = [("eth", &eth)];
    let inputs = SymbolInputs {
        bars: &btc,
        leaders: &leaders,
        fear_greed: Some(&fg),
        regime: Some((Timeframe::M15, &model)),
    };
    let frame = symbol_frame(&inputs, &PipelineConfig::default()).unwrap();
    assert_eq!(frame.n_rows(), btc.len());
    // 32 own + 6 leader + Fear & Greed + 3 regimes.
    assert_eq!(frame.n_cols(), 42);
    let names = frame.names();
    assert_eq!(names[32], "corr_eth_60");
    assert_eq!(names[38], "fear_greed");
    assert_eq!(names[41], "m15_regime_p2");
    // Past warm-up, every column has a value at the last row.
    let last = frame.n_rows() - 1;
    for (j, name) in names.iter().enumerate() {
        assert!(
            frame.get(last, j).unwrap().is_finite(),
            "{name} at the last row"
        );
    }
}
