#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Property tests: streaming == batch bit for bit (random walks at magnitudes 1e-12 … 1e12,
//! constant series, zeros, series with non-finite holes), the non-finite rule (a skipped bar
//! leaves the state untouched), warm-up length == TA-Lib lookback, and `try_new` validation.

use proptest::prelude::*;
use pulse_indicators::spec::{IndicatorSpec, OhlcvColumns, compute, list, parse_spec};
use pulse_indicators::*;

#[derive(Debug, Clone)]
struct Bars {
    h: Vec<f64>,
    l: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
    b: Vec<f64>,
}

fn hlc(x: &Bars, i: usize) -> Hlc {
    Hlc {
        high: x.h[i],
        low: x.l[i],
        close: x.c[i],
    }
}

fn vb(x: &Bars, i: usize) -> VwapBar {
    VwapBar {
        high: x.h[i],
        low: x.l[i],
        close: x.c[i],
        volume: x.v[i],
        session: (i / 7) as i64,
    }
}

fn stream1<I: Indicator<Output = f64>>(
    mut ind: I,
    n: usize,
    input: impl Fn(usize) -> I::Input,
) -> Vec<Vec<f64>> {
    vec![
        (0..n)
            .map(|i| ind.update(input(i)).unwrap_or(f64::NAN))
            .collect(),
    ]
}

/// Every indicator, computed both ways: (name, batch columns, streaming columns).
type Case = (&'static str, Vec<Vec<f64>>, Vec<Vec<f64>>);

fn all(x: &Bars) -> Vec<Case> {
    let n = x.c.len();
    let c = &x.c;
    let sessions: Vec<i64> = (0..n).map(|i| (i / 7) as i64).collect();
    let mut out = vec![
        (
            "sma",
            vec![sma(c, 5).unwrap()],
            stream1(Sma::try_new(5).unwrap(), n, |i| c[i]),
        ),
        (
            "ema",
            vec![ema(c, 4).unwrap()],
            stream1(Ema::try_new(4).unwrap(), n, |i| c[i]),
        ),
        (
            "wma",
            vec![wma(c, 6).unwrap()],
            stream1(Wma::try_new(6).unwrap(), n, |i| c[i]),
        ),
        (
            "rsi",
            vec![rsi(c, 5).unwrap()],
            stream1(Rsi::try_new(5).unwrap(), n, |i| c[i]),
        ),
        (
            "trange",
            vec![trange(&x.h, &x.l, c).unwrap()],
            stream1(TrueRange::try_new().unwrap(), n, |i| hlc(x, i)),
        ),
        (
            "atr",
            vec![atr(&x.h, &x.l, c, 5).unwrap()],
            stream1(Atr::try_new(5).unwrap(), n, |i| hlc(x, i)),
        ),
        (
            "atr1",
            vec![atr(&x.h, &x.l, c, 1).unwrap()],
            stream1(Atr::try_new(1).unwrap(), n, |i| hlc(x, i)),
        ),
        (
            "atrp",
            vec![atr_percentile(&x.h, &x.l, c, 3, 6).unwrap()],
            stream1(AtrPercentile::try_new(3, 6).unwrap(), n, |i| hlc(x, i)),
        ),
        (
            "adx",
            vec![adx(&x.h, &x.l, c, 4).unwrap()],
            stream1(Adx::try_new(4).unwrap(), n, |i| hlc(x, i)),
        ),
        (
            "obv",
            vec![obv(c, &x.v).unwrap()],
            stream1(Obv::try_new().unwrap(), n, |i| (c[i], x.v[i])),
        ),
        (
            "roc",
            vec![roc(c, 3).unwrap()],
            stream1(Roc::try_new(3).unwrap(), n, |i| c[i]),
        ),
        (
            "mom",
            vec![mom(c, 3).unwrap()],
            stream1(Mom::try_new(3).unwrap(), n, |i| c[i]),
        ),
        (
            "ret",
            vec![returns(c, 1).unwrap()],
            stream1(Returns::try_new(1).unwrap(), n, |i| c[i]),
        ),
        (
            "logret",
            vec![log_returns(c).unwrap()],
            stream1(LogReturn::try_new().unwrap(), n, |i| c[i]),
        ),
        (
            "stddev",
            vec![stddev(c, 5, 1.5).unwrap()],
            stream1(StdDev::try_new(5, 1.5).unwrap(), n, |i| c[i]),
        ),
        (
            "vol",
            vec![rolling_volatility(c, 5, 252.0).unwrap()],
            stream1(RollingVolatility::try_new(5, 252.0).unwrap(), n, |i| c[i]),
        ),
        (
            "zscore",
            vec![zscore(c, 5).unwrap()],
            stream1(ZScore::try_new(5).unwrap(), n, |i| c[i]),
        ),
        (
            "corr",
            vec![correlation(c, &x.b, 5).unwrap()],
            stream1(Correlation::try_new(5).unwrap(), n, |i| (c[i], x.b[i])),
        ),
        (
            "beta",
            vec![beta(&x.b, c, 5).unwrap()],
            stream1(Beta::try_new(5).unwrap(), n, |i| (x.b[i], c[i])),
        ),
        (
            "vwap",
            vec![session_vwap(&x.h, &x.l, c, &x.v, &sessions).unwrap()],
            stream1(SessionVwap::try_new().unwrap(), n, |i| vb(x, i)),
        ),
        (
            "vwap_cum",
            vec![vwap(&x.h, &x.l, c, &x.v).unwrap()],
            stream1(SessionVwap::try_new().unwrap(), n, |i| VwapBar {
                session: 0,
                ..vb(x, i)
            }),
        ),
        (
            "rvwap",
            vec![rolling_vwap(&x.h, &x.l, c, &x.v, 4).unwrap()],
            stream1(RollingVwap::try_new(4).unwrap(), n, |i| vb(x, i)),
        ),
    ];
    let (a, b, d) = macd(c, 5, 9, 4).unwrap();
    let mut m = Macd::try_new(5, 9, 4).unwrap();
    let ms: Vec<Option<MacdOutput>> = (0..n).map(|i| m.update(c[i])).collect();
    let col = |f: fn(&MacdOutput) -> f64| {
        ms.iter()
            .map(|o| o.as_ref().map(f).unwrap_or(f64::NAN))
            .collect::<Vec<_>>()
    };
    out.push((
        "macd",
        vec![a, b, d],
        vec![col(|o| o.macd), col(|o| o.signal), col(|o| o.hist)],
    ));
    let bb = bbands(c, 5, 2.0).unwrap();
    let mut s = BollingerBands::try_new(5, 2.0).unwrap();
    let bs: Vec<Option<BBandsOutput>> = (0..n).map(|i| s.update(c[i])).collect();
    let colb = |f: fn(&BBandsOutput) -> f64| {
        bs.iter()
            .map(|o| o.as_ref().map(f).unwrap_or(f64::NAN))
            .collect::<Vec<_>>()
    };
    let (mut u3, mut m3, mut l3) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    bbands_bands_into(c, 5, 2.0, &mut u3, &mut m3, &mut l3).unwrap();
    out.push((
        "bbands_bands",
        vec![u3, m3, l3],
        vec![colb(|o| o.upper), colb(|o| o.middle), colb(|o| o.lower)],
    ));
    out.push((
        "bbands",
        bb.to_vec(),
        vec![
            colb(|o| o.upper),
            colb(|o| o.middle),
            colb(|o| o.lower),
            colb(|o| o.percent_b),
            colb(|o| o.bandwidth),
        ],
    ));
    let (k, dd) = stoch(&x.h, &x.l, c, 4, 3, 2).unwrap();
    let mut st = Stoch::try_new(4, 3, 2).unwrap();
    let ss: Vec<Option<StochOutput>> = (0..n).map(|i| st.update(hlc(x, i))).collect();
    out.push((
        "stoch",
        vec![k, dd],
        vec![
            ss.iter()
                .map(|o| o.map(|o| o.k).unwrap_or(f64::NAN))
                .collect(),
            ss.iter()
                .map(|o| o.map(|o| o.d).unwrap_or(f64::NAN))
                .collect(),
        ],
    ));
    out
}

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_stream_eq_batch(x: &Bars) {
    for (name, batch, streamed) in all(x) {
        assert_eq!(batch.len(), streamed.len(), "{name}");
        for (j, (bc, sc)) in batch.iter().zip(&streamed).enumerate() {
            for i in 0..bc.len() {
                assert!(
                    same_bits(bc[i], sc[i]),
                    "{name} col {j} bar {i}: batch {:e} != stream {:e}",
                    bc[i],
                    sc[i]
                );
            }
        }
    }
}

/// A random-walk bar series at `scale`, with optional non-finite holes.
fn bars(scale: f64, steps: Vec<(f64, f64, f64, f64)>, holes: Vec<usize>) -> Bars {
    let mut p = 1.0f64;
    let mut x = Bars {
        h: vec![],
        l: vec![],
        c: vec![],
        v: vec![],
        b: vec![],
    };
    for (i, (r, up, dn, vol)) in steps.into_iter().enumerate() {
        p *= 1.0 + r;
        x.c.push(p * scale);
        x.h.push(p * scale * (1.0 + up));
        x.l.push(p * scale * (1.0 - dn));
        x.v.push(vol);
        x.b.push(scale * (1.0 + 0.5 * r + 0.001 * (i % 5) as f64));
    }
    for k in holes {
        if !x.c.is_empty() {
            let i = k % x.c.len();
            match k % 3 {
                0 => x.c[i] = f64::NAN,
                1 => x.h[i] = f64::INFINITY,
                _ => x.v[i] = f64::NEG_INFINITY,
            }
        }
    }
    x
}

fn step() -> impl Strategy<Value = (f64, f64, f64, f64)> {
    (-0.05f64..0.05, 0.0f64..0.03, 0.0f64..0.03, 0.0f64..1e6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn streaming_equals_batch_random_walks(
        scale in prop::sample::select(vec![1e-12, 1e-3, 1.0, 250.0, 1e6, 1e12]),
        steps in prop::collection::vec(step(), 0..120),
    ) {
        assert_stream_eq_batch(&bars(scale, steps, vec![]));
    }

    #[test]
    fn streaming_equals_batch_with_non_finite_holes(
        steps in prop::collection::vec(step(), 1..120),
        holes in prop::collection::vec(0usize..1000, 1..6),
    ) {
        assert_stream_eq_batch(&bars(100.0, steps, holes));
    }

    /// Long series: the batch fast paths' periodic re-anchoring of rolling moments (every
    /// `max(256, 8·period)` outputs) and long fused loops, with and without non-finite holes.
    #[test]
    fn streaming_equals_batch_long_series(
        scale in prop::sample::select(vec![1e-6, 1.0, 250.0, 1e9]),
        steps in prop::collection::vec(step(), 600..1400),
        holes in prop::collection::vec(0usize..5000, 0..3),
    ) {
        assert_stream_eq_batch(&bars(scale, steps, holes));
    }

    #[test]
    fn constant_and_zero_series(value in prop::sample::select(vec![0.0, 1e-12, 1.0, 42.5, 1e12]), n in 0usize..80) {
        let x = Bars { h: vec![value; n], l: vec![value; n], c: vec![value; n], v: vec![value; n], b: vec![value; n] };
        assert_stream_eq_batch(&x);
        // Nothing emits NaN/inf after warm-up on finite constant input (except undefined VWAP at 0 volume
        // and log returns of zeros, which are skipped by rule).
        for (name, batch, _) in all(&x) {
            if matches!(name, "vwap" | "rvwap" | "logret" | "vol") && value == 0.0 { continue; }
            for col in &batch {
                for v in col { prop_assert!(v.is_nan() || v.is_finite(), "{name}: {v}"); }
            }
        }
    }

    /// The non-finite rule: a NaN bar yields no value and leaves the state exactly as it was, so
    /// the outputs on the remaining bars equal the outputs on the series without that bar.
    #[test]
    fn non_finite_bar_is_skipped_without_state_change(
        steps in prop::collection::vec(step(), 2..100),
        at in 0usize..1000,
    ) {
        let full = bars(50.0, steps, vec![]);
        let n = full.c.len();
        let k = at % n;
        let mut holed = full.clone();
        holed.c[k] = f64::NAN;
        holed.h[k] = f64::NAN;
        holed.l[k] = f64::NAN;
        holed.v[k] = f64::NAN;
        holed.b[k] = f64::NAN;
        let mut removed = full.clone();
        for s in [&mut removed.c, &mut removed.h, &mut removed.l, &mut removed.v, &mut removed.b] { s.remove(k); }
        let with_hole = all(&holed);
        let without = all(&removed);
        for ((name, _, sh), (_, _, sr)) in with_hole.iter().zip(&without) {
            if matches!(*name, "vwap") { continue; } // session ids are positional (i / 7)
            for (ch, cr) in sh.iter().zip(sr) {
                prop_assert!(ch[k].is_nan(), "{name}: output at the skipped bar");
                let kept: Vec<f64> = ch.iter().enumerate().filter(|(i, _)| *i != k).map(|(_, v)| *v).collect();
                for (i, (a, b)) in kept.iter().zip(cr).enumerate() {
                    prop_assert!(same_bits(*a, *b), "{name} bar {i}: {a:e} vs {b:e}");
                }
            }
        }
    }
}

/// Larger periods than `all()` uses: STOCH's incremental extreme tracking (fastk > 16) and its
/// slow path (slow periods beyond the on-stack rings), moments re-anchored every 8·period.
#[test]
fn large_periods_streaming_equals_batch() {
    let steps: Vec<_> = (0..3000)
        .map(|i| {
            let f = i as f64;
            (
                0.01 * (f * 0.37).sin(),
                0.004 * (1.0 + (f * 0.11).cos()),
                0.005 * (1.0 + (f * 0.23).sin()),
                1000.0 + 500.0 * (f * 0.05).cos(),
            )
        })
        .collect();
    // Clean; a NaN hole; ±∞ closes (checks the fast paths' detection of infinite input).
    for (holes, infs) in [(vec![], false), (vec![1234], false), (vec![], true)] {
        let mut x = bars(300.0, steps.clone(), holes);
        if infs {
            x.c[777] = f64::INFINITY;
            x.c[2000] = f64::NEG_INFINITY;
            x.h[2500] = f64::INFINITY;
        }
        let n = x.c.len();
        let c = &x.c;
        let cols = |v: Vec<Option<f64>>| {
            v.into_iter()
                .map(|o| o.unwrap_or(f64::NAN))
                .collect::<Vec<_>>()
        };
        let check = |name: &str, batch: &[f64], stream: &[f64]| {
            for i in 0..n {
                assert!(
                    same_bits(batch[i], stream[i]),
                    "{name} bar {i}: {} vs {}",
                    batch[i],
                    stream[i]
                );
            }
        };
        for (fk, sk, sd) in [(20, 3, 3), (5, 70, 3), (14, 3, 80), (40, 10, 5)] {
            let (k, d) = stoch(&x.h, &x.l, c, fk, sk, sd).unwrap();
            let mut st = Stoch::try_new(fk, sk, sd).unwrap();
            let ss: Vec<Option<StochOutput>> = (0..n).map(|i| st.update(hlc(&x, i))).collect();
            check(
                "stoch k",
                &k,
                &cols(ss.iter().map(|o| o.map(|o| o.k)).collect()),
            );
            check(
                "stoch d",
                &d,
                &cols(ss.iter().map(|o| o.map(|o| o.d)).collect()),
            );
        }
        // ATR percentile rank: windows ≥ 8 take the four-outputs-per-pass batch path.
        for (p, w) in [(14, 100), (3, 8), (5, 9), (2, 31)] {
            let mut a = AtrPercentile::try_new(p, w).unwrap();
            let batch = atr_percentile(&x.h, &x.l, c, p, w).unwrap();
            check(
                "atrp",
                &batch,
                &cols((0..n).map(|i| a.update(hlc(&x, i))).collect()),
            );
        }
        for p in [2, 50, 300] {
            let mut s = StdDev::try_new(p, 2.0).unwrap();
            check(
                "stddev",
                &stddev(c, p, 2.0).unwrap(),
                &cols((0..n).map(|i| s.update(c[i])).collect()),
            );
            let mut z = ZScore::try_new(p).unwrap();
            check(
                "zscore",
                &zscore(c, p).unwrap(),
                &cols((0..n).map(|i| z.update(c[i])).collect()),
            );
            let bb = bbands(c, p, 1.5).unwrap();
            let mut b = BollingerBands::try_new(p, 1.5).unwrap();
            let bs: Vec<Option<BBandsOutput>> = (0..n).map(|i| b.update(c[i])).collect();
            check(
                "bb upper",
                &bb[0],
                &cols(bs.iter().map(|o| o.map(|o| o.upper)).collect()),
            );
            check(
                "bb pctb",
                &bb[3],
                &cols(bs.iter().map(|o| o.map(|o| o.percent_b)).collect()),
            );
            let (mut u3, mut m3, mut l3) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            bbands_bands_into(c, p, 1.5, &mut u3, &mut m3, &mut l3).unwrap();
            check("bb3 upper", &u3, &bb[0]);
            check("bb3 middle", &m3, &bb[1]);
            check("bb3 lower", &l3, &bb[2]);
            let mut a = Adx::try_new(p).unwrap();
            check(
                "adx",
                &adx(&x.h, &x.l, c, p).unwrap(),
                &cols((0..n).map(|i| a.update(hlc(&x, i))).collect()),
            );
            let mut r = Rsi::try_new(p).unwrap();
            check(
                "rsi",
                &rsi(c, p).unwrap(),
                &cols((0..n).map(|i| r.update(c[i])).collect()),
            );
        }
    }
}

/// Warm-up length == TA-Lib lookback: first defined output index on gap-free input equals
/// `warmup_period()` of the streaming struct and of the spec.
#[test]
fn warmup_equals_talib_lookback() {
    let steps: Vec<_> = (0..300)
        .map(|i| {
            (
                ((i * 7919) % 101) as f64 / 1000.0 - 0.05,
                0.01,
                0.012,
                1000.0 + i as f64,
            )
        })
        .collect();
    let x = bars(100.0, steps, vec![]);
    let cols = OhlcvColumns {
        timestamps: &[],
        open: &x.c,
        high: &x.h,
        low: &x.l,
        close: &x.c,
        volume: &x.v,
        sessions: Some(&vec![0; 300]),
        benchmark_close: Some(&x.b),
    };
    let expected: &[(&str, usize)] = &[
        ("sma:5", 4),
        ("ema:10", 9),
        ("wma:10", 9),
        ("rsi:14", 14),
        ("rsi:5", 5),
        ("macd:12,26,9", 33),
        ("bbands:20,2", 19),
        ("trange", 1),
        ("atr:14", 14),
        ("atrp:14,100", 114),
        ("vwap", 0),
        ("vwap:20", 19),
        ("stddev:20", 19),
        ("vol:20,252", 20),
        ("beta:60", 60),
        ("zscore:20", 19),
        ("roc:10", 10),
        ("mom:10", 10),
        ("ret", 1),
        ("logret", 1),
        ("stoch:5,3,3", 8),
        ("obv", 0),
        ("adx:14", 27),
        ("corr:60", 60), // correlation of returns: 1 (returns) + 59
    ];
    for (s, lb) in expected {
        let spec = parse_spec(s).unwrap();
        assert_eq!(spec.warmup_period(), *lb, "{s}: spec warm-up");
        for (name, col) in compute(&spec, &cols).unwrap() {
            let first = col.iter().position(|v| !v.is_nan()).unwrap();
            assert_eq!(first, *lb, "{name}: first defined index");
        }
    }
    assert_eq!(Sma::try_new(5).unwrap().warmup_period(), 4);
    assert_eq!(Macd::try_new(12, 26, 9).unwrap().warmup_period(), 33);
    assert_eq!(Adx::try_new(14).unwrap().warmup_period(), 27);
    assert_eq!(Stoch::try_new(5, 3, 3).unwrap().warmup_period(), 8);
    assert_eq!(
        AtrPercentile::try_new(14, 100).unwrap().warmup_period(),
        114
    );
}

#[test]
fn try_new_rejects_bad_parameters() {
    use IndicatorError::*;
    assert!(matches!(
        Sma::try_new(0),
        Err(InvalidPeriod {
            indicator: "sma",
            value: 0,
            ..
        })
    ));
    assert!(matches!(Ema::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(Wma::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(Rsi::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(Rsi::try_new(1), Err(InvalidPeriod { min: 2, .. })));
    assert!(matches!(
        Macd::try_new(0, 26, 9),
        Err(InvalidPeriod { param: "fast", .. })
    ));
    assert!(matches!(
        Macd::try_new(12, 26, 0),
        Err(InvalidPeriod {
            param: "signal",
            ..
        })
    ));
    assert!(matches!(
        BollingerBands::try_new(0, 2.0),
        Err(InvalidPeriod { .. })
    ));
    assert!(matches!(
        BollingerBands::try_new(20, f64::NAN),
        Err(InvalidParameter { param: "nbdev", .. })
    ));
    assert!(matches!(
        BollingerBands::try_new(20, f64::INFINITY),
        Err(InvalidParameter { .. })
    ));
    assert!(matches!(
        StdDev::try_new(20, f64::NEG_INFINITY),
        Err(InvalidParameter { .. })
    ));
    assert!(matches!(Atr::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(
        AtrPercentile::try_new(14, 0),
        Err(InvalidPeriod { .. })
    ));
    assert!(matches!(Adx::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(
        Stoch::try_new(5, 0, 3),
        Err(InvalidPeriod { param: "slowk", .. })
    ));
    assert!(matches!(Roc::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(Mom::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(Returns::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(Correlation::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(Beta::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(ZScore::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(RollingVwap::try_new(0), Err(InvalidPeriod { .. })));
    assert!(matches!(
        RollingVolatility::try_new(20, f64::NAN),
        Err(InvalidParameter { .. })
    ));
    assert!(matches!(
        RollingVolatility::try_new(0, 252.0),
        Err(InvalidPeriod { .. })
    ));
    // Batch functions validate too, and check lengths.
    assert!(sma(&[1.0, 2.0], 0).is_err());
    let mut out = vec![0.0; 1];
    assert!(matches!(
        sma_into(&[1.0, 2.0], 1, &mut out),
        Err(LengthMismatch { field: "out", .. })
    ));
    let msg = BollingerBands::try_new(20, f64::NAN)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("bbands") && msg.contains("nbdev"), "{msg}");
}

#[test]
fn periods_above_max_period_are_refused_before_allocating() {
    use IndicatorError::*;
    // 4e9 bars would be a 32 GB ring buffer: refused by the constructor, the batch function and
    // the spec parser alike, naming the indicator and the parameter.
    let huge = 4_000_000_000usize;
    assert!(Sma::try_new(MAX_PERIOD).is_ok());
    assert!(matches!(
        Sma::try_new(MAX_PERIOD + 1),
        Err(PeriodTooLarge {
            indicator: "sma",
            param: "period",
            max: MAX_PERIOD,
            ..
        })
    ));
    assert!(matches!(Ema::try_new(huge), Err(PeriodTooLarge { .. })));
    assert!(matches!(
        Rsi::try_new(usize::MAX),
        Err(PeriodTooLarge { .. })
    ));
    assert!(matches!(
        Macd::try_new(12, huge, 9),
        Err(PeriodTooLarge { param: "slow", .. })
    ));
    assert!(matches!(
        BollingerBands::try_new(huge, 2.0),
        Err(PeriodTooLarge { .. })
    ));
    assert!(matches!(
        RollingVwap::try_new(huge),
        Err(PeriodTooLarge { .. })
    ));
    assert!(matches!(
        AtrPercentile::try_new(14, huge),
        Err(PeriodTooLarge {
            param: "window",
            ..
        })
    ));
    assert!(matches!(
        Stoch::try_new(5, 3, huge),
        Err(PeriodTooLarge { param: "slowd", .. })
    ));
    assert!(matches!(sma(&[1.0; 4], huge), Err(PeriodTooLarge { .. })));
    for spec in [
        "sma:4000000000",
        "vwap:4000000000",
        "macd:12,4000000000,9",
        "atrp:14,200000",
    ] {
        let err = parse_spec(spec).unwrap_err().to_string();
        assert!(
            err.contains("too large") && err.contains("100000"),
            "{spec}: {err}"
        );
    }
}

#[test]
fn macd_fast_not_below_slow_is_refused_not_swapped() {
    let err = Macd::try_new(26, 12, 9).unwrap_err();
    assert!(matches!(
        err,
        IndicatorError::ParameterOrder {
            indicator: "macd",
            param: "fast",
            value: 26,
            other: "slow",
            other_value: 12
        }
    ));
    assert!(
        err.to_string()
            .contains("`fast` = 26 must be below `slow` = 12"),
        "{err}"
    );
    assert!(Macd::try_new(12, 12, 9).is_err());
    assert!(macd(&[1.0; 64], 26, 12, 9).is_err());
    assert!(parse_spec("macd:26,12,9").is_err());
    assert!(parse_spec("macd:12,12,9").is_err());
    // An omitted slow takes its default 26: `macd:30` is fast 30 > slow 26.
    assert!(parse_spec("macd:30").is_err());
}

#[test]
fn band_multipliers_must_be_positive() {
    use IndicatorError::*;
    for k in [-2.0, 0.0, -0.0] {
        assert!(matches!(
            BollingerBands::try_new(20, k),
            Err(InvalidParameter { param: "nbdev", .. })
        ));
        assert!(matches!(
            StdDev::try_new(20, k),
            Err(InvalidParameter { param: "nbdev", .. })
        ));
        assert!(bbands(&[1.0; 30], 20, k).is_err());
        assert!(stddev(&[1.0; 30], 20, k).is_err());
    }
    for spec in ["bbands:20,-2", "bbands:20,0", "stddev:20,-1", "stddev:20,0"] {
        let err = parse_spec(spec).unwrap_err().to_string();
        assert!(
            err.contains("nbdev") && err.contains("> 0"),
            "{spec}: {err}"
        );
    }
    assert!(parse_spec("bbands:20,0.5").is_ok());
    assert!(parse_spec("stddev:20,1").is_ok());
}

#[test]
fn spec_parsing_and_column_names() {
    let names = |s: &str| parse_spec(s).unwrap().column_names();
    assert_eq!(names("rsi:14"), ["rsi_14"]);
    assert_eq!(
        names("macd:12,26,9"),
        ["macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9"]
    );
    assert_eq!(
        names("bbands:20,2"),
        [
            "bb_upper_20_2",
            "bb_middle_20_2",
            "bb_lower_20_2",
            "bb_pctb_20_2",
            "bb_width_20_2"
        ]
    );
    assert_eq!(names("bbands:20,2.5")[0], "bb_upper_20_2.5");
    assert_eq!(names("sma:5"), ["sma_5"]);
    assert_eq!(names("atr:14"), ["atr_14"]);
    assert_eq!(names("ema:10"), ["ema_10"]);
    assert_eq!(names("vwap"), ["vwap"]);
    assert_eq!(names("vwap:20"), ["vwap_20"]);
    assert_eq!(names("stoch"), ["stoch_k_5_3_3", "stoch_d_5_3_3"]);
    assert_eq!(names("adx:14"), ["adx_14"]);
    assert_eq!(
        names("MACD"),
        ["macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9"]
    );
    assert_eq!(
        parse_spec("macd:12,26,9").unwrap(),
        IndicatorSpec::Macd {
            fast: 12,
            slow: 26,
            signal: 9
        }
    );
    for bad in [
        "",
        "foo",
        "rsi:",
        "rsi:x",
        "rsi:0",
        "rsi:14,3",
        "bbands:20,nan",
        "bbands:20,inf",
        "sma:-1",
        "macd:12,26,0",
    ] {
        assert!(parse_spec(bad).is_err(), "{bad:?} should be rejected");
    }
    // Every listed indicator parses with its defaults and names as many columns as it lists outputs.
    let l = list();
    assert!(l.len() >= 22);
    for info in l {
        let spec = parse_spec(info.name).unwrap();
        assert_eq!(
            spec.column_names().len(),
            info.outputs.len(),
            "{}",
            info.name
        );
        assert!(!info.description.is_empty());
    }
    // corr/beta need a benchmark.
    let c = vec![1.0; 10];
    let cols = OhlcvColumns {
        timestamps: &[],
        open: &c,
        high: &c,
        low: &c,
        close: &c,
        volume: &c,
        sessions: None,
        benchmark_close: None,
    };
    assert!(matches!(
        compute(&parse_spec("beta:5").unwrap(), &cols),
        Err(IndicatorError::MissingInput { .. })
    ));
    // Session VWAP without session ids needs timestamps.
    assert!(compute(&parse_spec("vwap").unwrap(), &cols).is_err());
}

/// Reset really forgets: after reset, outputs equal a fresh instance's.
#[test]
fn reset_restarts_warmup() {
    let xs: Vec<f64> = (0..100).map(|i| 100.0 + ((i * 37) % 17) as f64).collect();
    let mut a = Macd::try_new(12, 26, 9).unwrap();
    for &x in &xs {
        a.update(x);
    }
    a.reset();
    let mut b = Macd::try_new(12, 26, 9).unwrap();
    for &x in &xs {
        assert_eq!(a.update(x), b.update(x));
    }
    let mut r = Rsi::try_new(14).unwrap();
    for &x in &xs {
        r.update(x);
    }
    r.reset();
    assert_eq!(r.update(1.0), None);
}

/// Values near `f64::MAX / 1e8`: the block-weighted recurrences (EMA, RSI, ATR; weights ≤ 2^20·b)
/// neither overflow nor disagree between batch and streaming.
#[test]
fn huge_values_stay_finite() {
    let n = 400;
    let c: Vec<f64> = (0..n)
        .map(|i| 1e300 * (1.5 + (i as f64 * 0.7).sin()))
        .collect();
    let h: Vec<f64> = c.iter().map(|v| v * 1.01).collect();
    let l: Vec<f64> = c.iter().map(|v| v * 0.99).collect();
    for p in [2, 3, 14] {
        let e = ema(&c, p).unwrap();
        let mut es = Ema::try_new(p).unwrap();
        let r = rsi(&c, p).unwrap();
        let mut rs = Rsi::try_new(p).unwrap();
        let a = atr(&h, &l, &c, p).unwrap();
        let mut at = Atr::try_new(p).unwrap();
        for i in 0..n {
            let b = Hlc {
                high: h[i],
                low: l[i],
                close: c[i],
            };
            let s = [es.update(c[i]), rs.update(c[i]), at.update(b)];
            for (name, batch, st) in [
                ("ema", e[i], s[0]),
                ("rsi", r[i], s[1]),
                ("atr", a[i], s[2]),
            ] {
                let st = st.unwrap_or(f64::NAN);
                assert!(
                    same_bits(batch, st),
                    "{name}({p}) bar {i}: {batch:e} vs {st:e}"
                );
                assert!(
                    batch.is_nan() || batch.is_finite(),
                    "{name}({p}) bar {i}: {batch:e}"
                );
            }
            if i >= p {
                assert!(
                    e[i].is_finite() && r[i].is_finite() && a[i].is_finite(),
                    "{p} bar {i}"
                );
            }
        }
    }
}
