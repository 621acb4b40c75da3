#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Persisted state: every streaming indicator, saved to JSON after any bar of the real TSLA
//! daily history and restored, goes on producing exactly (bit for bit) what it would have without
//! the restart; a corrupt state is an error, never a panic.

use pulse_indicators::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

struct Daily {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

fn tsla() -> Daily {
    let text = std::fs::read_to_string(pulse_testkit::bundle_dir().join("TSLA.csv")).unwrap();
    let mut d = Daily {
        high: Vec::new(),
        low: Vec::new(),
        close: Vec::new(),
        volume: Vec::new(),
    };
    for line in text.lines().skip(1) {
        let f: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        d.high.push(f[1]);
        d.low.push(f[2]);
        d.close.push(f[3]);
        d.volume.push(f[5]);
    }
    d
}

/// Outputs of `fresh` over all inputs, uninterrupted and with a save/restore after bar `k` for
/// several `k`, compared through their `Debug` text (which prints every f64 digit).
fn check<I>(name: &str, fresh: impl Fn() -> I, inputs: &[I::Input])
where
    I: Indicator + Serialize + DeserializeOwned,
    I::Input: Copy,
    I::Output: Debug,
{
    let mut whole = fresh();
    let expected: Vec<String> = inputs
        .iter()
        .map(|x| format!("{:?}", whole.update(*x)))
        .collect();
    for k in [0, 1, 7, 33, 300, 1_000, inputs.len() - 1] {
        let mut first = fresh();
        let mut got: Vec<String> = inputs[..k]
            .iter()
            .map(|x| format!("{:?}", first.update(*x)))
            .collect();
        let saved = serde_json::to_string(&first).unwrap();
        drop(first);
        let mut restored: I = serde_json::from_str(&saved).unwrap();
        got.extend(
            inputs[k..]
                .iter()
                .map(|x| format!("{:?}", restored.update(*x))),
        );
        assert_eq!(got, expected, "{name} restored after bar {k}");
    }
}

#[test]
fn every_streaming_indicator_resumes_bit_for_bit_after_a_restore() {
    let d = tsla();
    assert!(d.close.len() > 1_500);
    let c = &d.close;
    let hlc: Vec<Hlc> = (0..c.len())
        .map(|i| Hlc {
            high: d.high[i],
            low: d.low[i],
            close: c[i],
        })
        .collect();
    let vwap: Vec<VwapBar> = (0..c.len())
        .map(|i| VwapBar {
            high: d.high[i],
            low: d.low[i],
            close: c[i],
            volume: d.volume[i],
            session: (i / 5) as i64,
        })
        .collect();
    let pairs: Vec<(f64, f64)> = (1..c.len()).map(|i| (c[i], c[i - 1] * 1.01)).collect();
    let with_volume: Vec<(f64, f64)> = (0..c.len()).map(|i| (c[i], d.volume[i])).collect();
    check("sma", || Sma::try_new(20).unwrap(), c);
    check("ema", || Ema::try_new(12).unwrap(), c);
    check("wma", || Wma::try_new(10).unwrap(), c);
    check("rsi", || Rsi::try_new(14).unwrap(), c);
    check("macd", || Macd::try_new(12, 26, 9).unwrap(), c);
    check("roc", || Roc::try_new(10).unwrap(), c);
    check("mom", || Mom::try_new(10).unwrap(), c);
    check("returns", || Returns::try_new(5).unwrap(), c);
    check("log return", || LogReturn::try_new().unwrap(), c);
    check("bbands", || BollingerBands::try_new(20, 2.0).unwrap(), c);
    check("stddev", || StdDev::try_new(20, 1.0).unwrap(), c);
    check(
        "volatility",
        || RollingVolatility::try_new(20, 252.0).unwrap(),
        c,
    );
    check("zscore", || ZScore::try_new(20).unwrap(), c);
    check("stoch", || Stoch::try_new(14, 3, 3).unwrap(), &hlc);
    check("adx", || Adx::try_new(14).unwrap(), &hlc);
    check("true range", || TrueRange::try_new().unwrap(), &hlc);
    check("atr", || Atr::try_new(14).unwrap(), &hlc);
    check(
        "atr percentile",
        || AtrPercentile::try_new(14, 100).unwrap(),
        &hlc,
    );
    check("correlation", || Correlation::try_new(60).unwrap(), &pairs);
    check("beta", || Beta::try_new(60).unwrap(), &pairs);
    check("obv", || Obv::try_new().unwrap(), &with_volume);
    check("session vwap", || SessionVwap::try_new().unwrap(), &vwap);
    check("rolling vwap", || RollingVwap::try_new(20).unwrap(), &vwap);
}

#[test]
fn a_corrupt_state_is_an_error_not_a_panic() {
    let mut sma = Sma::try_new(3).unwrap();
    for x in [1.0, 2.0, 3.0, 4.0] {
        sma.update(x);
    }
    let saved: serde_json::Value = serde_json::to_value(&sma).unwrap();
    let text = saved.to_string();
    // A write position past the capacity, a capacity of 0, an absurd capacity.
    for (from, to) in [
        ("\"pos\":1", "\"pos\":9"),
        ("\"cap\":3", "\"cap\":0"),
        ("\"cap\":3", "\"cap\":99999999999"),
    ] {
        assert!(text.contains(from), "{text}");
        let bad = text.replacen(from, to, 1);
        let err = serde_json::from_str::<Sma>(&bad).unwrap_err();
        assert!(err.to_string().contains("ring buffer state"), "{err}");
    }
    let mut rsi = Rsi::try_new(14).unwrap();
    for x in 0..40 {
        rsi.update(100.0 + f64::from(x % 7));
    }
    let text = serde_json::to_string(&rsi).unwrap();
    let bad = text.replacen("\"a\":", "\"a\":2.5,\"x\":", 1);
    assert!(serde_json::from_str::<Rsi>(&bad).is_err());
}
