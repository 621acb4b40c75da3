#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Batch (10,000,000 bars, best of 5, `*_into` variants writing into preallocated outputs) and
//! streaming (ns/update) timings. Writes the synthetic series to /tmp/pulse_bench_10m.f64
//! (close, high, low, volume: 4 × N little-endian f64) for bench/peers/talib_bench.py.
//! Prints a markdown table; `PULSE_BENCH_N` overrides N.

use pulse_testkit::best_of;
use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use pulse_indicators::*;

struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn series(n: usize) -> [Vec<f64>; 4] {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut c, mut h, mut l, mut v) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut p = 100.0f64;
    for _ in 0..n {
        p *= 1.0 + (r.next_f64() - 0.5) * 0.02;
        let hi = p * (1.0 + r.next_f64() * 0.01);
        let lo = p * (1.0 - r.next_f64() * 0.01);
        c.push(p);
        h.push(hi);
        l.push(lo);
        v.push(1000.0 + (r.next_f64() * 1e6).floor());
    }
    [c, h, l, v]
}

fn stream<I: Indicator>(mut ind: I, n: usize, input: impl Fn(usize) -> I::Input) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        black_box(ind.update(black_box(input(i))));
    }
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn main() {
    let n: usize = std::env::var("PULSE_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let [c, h, l, v] = series(n);
    let mut f = std::io::BufWriter::new(std::fs::File::create("/tmp/pulse_bench_10m.f64").unwrap());
    for s in [&c, &h, &l, &v] {
        for x in s.iter() {
            f.write_all(&x.to_le_bytes()).unwrap();
        }
    }
    f.flush().unwrap();
    drop(f);
    let (c, h, l, v) = (&c[..], &h[..], &l[..], &v[..]);
    let hlc = |i: usize| Hlc {
        high: h[i],
        low: l[i],
        close: c[i],
    };
    let vb = |i: usize| VwapBar {
        high: h[i],
        low: l[i],
        close: c[i],
        volume: v[i],
        session: 0,
    };
    let sn = n.min(2_000_000);
    let sessions = vec![0i64; n];
    // Outputs preallocated once and reused: times the computation, not the page faults of a
    // fresh 80 MB allocation (the TA-Lib peer's time includes its numpy output allocation).
    let (mut o1, mut o2, mut o3, mut o4, mut o5) = (
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
    );
    let r = 5;
    let only = std::env::var("PULSE_BENCH_ONLY").unwrap_or_default();
    let mut rows: Vec<(&str, f64, f64)> = Vec::new();
    macro_rules! row {
        ($name:expr, $batch:expr, $stream:expr $(,)?) => {
            if only.is_empty() || $name.contains(only.as_str()) {
                let b = $batch;
                rows.push(($name, b, $stream));
            }
        };
    }

    row!(
        "SMA(5)",
        best_of(r, || sma_into(c, 5, &mut o1).unwrap()),
        stream(Sma::try_new(5).unwrap(), sn, |i| c[i]),
    );
    row!(
        "SMA(20)",
        best_of(r, || sma_into(c, 20, &mut o1).unwrap()),
        stream(Sma::try_new(20).unwrap(), sn, |i| c[i]),
    );
    row!(
        "EMA(10)",
        best_of(r, || ema_into(c, 10, &mut o1).unwrap()),
        stream(Ema::try_new(10).unwrap(), sn, |i| c[i]),
    );
    row!(
        "WMA(10)",
        best_of(r, || wma_into(c, 10, &mut o1).unwrap()),
        stream(Wma::try_new(10).unwrap(), sn, |i| c[i]),
    );
    row!(
        "RSI(14)",
        best_of(r, || rsi_into(c, 14, &mut o1).unwrap()),
        stream(Rsi::try_new(14).unwrap(), sn, |i| c[i]),
    );
    row!(
        "MACD(12,26,9)",
        best_of(r, || {
            macd_into(c, 12, 26, 9, &mut o1, &mut o2, &mut o3).unwrap()
        }),
        stream(Macd::try_new(12, 26, 9).unwrap(), sn, |i| c[i]),
    );
    row!(
        "BBANDS(20,2) +%B +bandwidth",
        best_of(r, || {
            bbands_into(
                c,
                20,
                2.0,
                &mut volatility::BBandsOut {
                    upper: &mut o1,
                    middle: &mut o2,
                    lower: &mut o3,
                    percent_b: &mut o4,
                    bandwidth: &mut o5,
                },
            )
            .unwrap()
        }),
        stream(BollingerBands::try_new(20, 2.0).unwrap(), sn, |i| c[i]),
    );
    row!(
        "BBANDS(20,2) bands only",
        best_of(r, || {
            bbands_bands_into(c, 20, 2.0, &mut o1, &mut o2, &mut o3).unwrap()
        }),
        stream(BollingerBands::try_new(20, 2.0).unwrap(), sn, |i| c[i]),
    );
    row!(
        "TRANGE",
        best_of(r, || trange_into(h, l, c, &mut o1).unwrap()),
        stream(TrueRange::try_new().unwrap(), sn, hlc),
    );
    row!(
        "ATR(14)",
        best_of(r, || atr_into(h, l, c, 14, &mut o1).unwrap()),
        stream(Atr::try_new(14).unwrap(), sn, hlc),
    );
    row!(
        "ATR pct rank(14,100)",
        best_of(r, || {
            atr_percentile_into(h, l, c, 14, 100, &mut o1).unwrap()
        }),
        stream(AtrPercentile::try_new(14, 100).unwrap(), sn, hlc),
    );
    row!(
        "ADX(14)",
        best_of(r, || adx_into(h, l, c, 14, &mut o1).unwrap()),
        stream(Adx::try_new(14).unwrap(), sn, hlc),
    );
    row!(
        "STOCH(5,3,3)",
        best_of(r, || {
            stoch_into(h, l, c, 5, 3, 3, &mut o1, &mut o2).unwrap()
        }),
        stream(Stoch::try_new(5, 3, 3).unwrap(), sn, hlc),
    );
    row!(
        "OBV",
        best_of(r, || obv_into(c, v, &mut o1).unwrap()),
        stream(Obv::try_new().unwrap(), sn, |i| (c[i], v[i])),
    );
    row!(
        "ROC(10)",
        best_of(r, || roc_into(c, 10, &mut o1).unwrap()),
        stream(Roc::try_new(10).unwrap(), sn, |i| c[i]),
    );
    row!(
        "MOM(10)",
        best_of(r, || mom_into(c, 10, &mut o1).unwrap()),
        stream(Mom::try_new(10).unwrap(), sn, |i| c[i]),
    );
    row!(
        "returns (ROCP 1)",
        best_of(r, || returns_into(c, 1, &mut o1).unwrap()),
        stream(Returns::try_new(1).unwrap(), sn, |i| c[i]),
    );
    row!(
        "STDDEV(20)",
        best_of(r, || stddev_into(c, 20, 1.0, &mut o1).unwrap()),
        stream(StdDev::try_new(20, 1.0).unwrap(), sn, |i| c[i]),
    );
    row!(
        "CORREL(60)",
        best_of(r, || correlation_into(c, h, 60, &mut o1).unwrap()),
        stream(Correlation::try_new(60).unwrap(), sn, |i| (c[i], h[i])),
    );
    row!(
        "BETA(60)",
        best_of(r, || beta_into(c, h, 60, &mut o1).unwrap()),
        stream(Beta::try_new(60).unwrap(), sn, |i| (c[i], h[i])),
    );
    row!(
        "VWAP session",
        best_of(r, || {
            session_vwap_into(h, l, c, v, &sessions, &mut o1).unwrap()
        }),
        stream(SessionVwap::try_new().unwrap(), sn, vb),
    );
    row!(
        "VWAP cumulative (one session)",
        best_of(r, || vwap_into(h, l, c, v, &mut o1).unwrap()),
        stream(SessionVwap::try_new().unwrap(), sn, vb),
    );
    row!(
        "VWAP rolling(20)",
        best_of(r, || rolling_vwap_into(h, l, c, v, 20, &mut o1).unwrap()),
        stream(RollingVwap::try_new(20).unwrap(), sn, vb),
    );
    row!(
        "z-score(20)",
        best_of(r, || zscore_into(c, 20, &mut o1).unwrap()),
        stream(ZScore::try_new(20).unwrap(), sn, |i| c[i]),
    );
    row!(
        "volatility(20,252)",
        best_of(r, || {
            rolling_volatility_into(c, 20, 252.0, &mut o1).unwrap()
        }),
        stream(RollingVolatility::try_new(20, 252.0).unwrap(), sn, |i| c[i]),
    );
    row!(
        "log returns",
        best_of(r, || log_returns_into(c, &mut o1).unwrap()),
        stream(LogReturn::try_new().unwrap(), sn, |i| c[i]),
    );

    println!("| indicator | pulse batch ms ({n} bars) | ns/bar batch | ns/update streaming |");
    println!("|---|---:|---:|---:|");
    for (name, secs, ns) in &rows {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} |",
            secs * 1e3,
            secs * 1e9 / n as f64,
            ns
        );
    }
}
