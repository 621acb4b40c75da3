#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The Pulse inputs (RSI 14, RSI 5, MACD 12/26/9, Bollinger 20/2, SMA 5, SMA 10, rolling VWAP 20)
//! computed in streaming form over the real TSLA and TSLL daily bars allocate nothing per bar:
//! a counting global allocator (`stats_alloc`, whose `unsafe impl GlobalAlloc` lives in that
//! crate — this workspace forbids `unsafe`) sees zero allocations, reallocations and
//! deallocations across every `update` call. The batch `*_into` fast paths are held to the same.
//! The binary runs without libtest (`harness = false` in Cargo.toml): `main` runs the check on
//! the only thread there is, so no runner or monitor thread can allocate while a region is
//! measured. A failed check panics, which exits non-zero and fails `cargo test`.

use std::alloc::System;
use std::hint::black_box;

use pulse_indicators::*;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

struct Bars {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

fn load(rel: &str) -> Bars {
    let path = pulse_testkit::shared_file(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (ih, il, ic, iv) = (col("high"), col("low"), col("close"), col("volume"));
    let mut b = Bars {
        high: vec![],
        low: vec![],
        close: vec![],
        volume: vec![],
    };
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        b.high.push(num(ih));
        b.low.push(num(il));
        b.close.push(num(ic));
        b.volume.push(num(iv));
    }
    b
}

fn no_allocation(what: &str, s: Stats) {
    assert_eq!(
        (s.allocations, s.reallocations, s.deallocations),
        (0, 0, 0),
        "{what}: allocator activity {s:?}"
    );
}

fn main() {
    pulse_inputs_do_not_allocate_per_bar();
    println!("no_alloc: the Pulse inputs allocate nothing per bar (streaming and batch): ok");
}

fn pulse_inputs_do_not_allocate_per_bar() {
    // Control: the counter is live (the global allocator is installed and counts).
    let region = Region::new(GLOBAL);
    black_box(Vec::<f64>::with_capacity(64));
    let control = region.change();
    assert!(
        control.allocations >= 1,
        "counting allocator saw nothing: {control:?}"
    );

    for rel in ["daily-ohlcv/TSLA.csv", "daily-ohlcv/TSLL.csv"] {
        let b = load(rel);
        let n = b.close.len();
        assert!(n > 200, "{rel}: only {n} bars");

        // Construction may allocate (ring buffers); the per-bar loop may not.
        let mut rsi14 = Rsi::try_new(14).unwrap();
        let mut rsi5 = Rsi::try_new(5).unwrap();
        let mut macd = Macd::try_new(12, 26, 9).unwrap();
        let mut bb = BollingerBands::try_new(20, 2.0).unwrap();
        let mut sma5 = Sma::try_new(5).unwrap();
        let mut sma10 = Sma::try_new(10).unwrap();
        let mut vwap = RollingVwap::try_new(20).unwrap();
        let mut defined = [0usize; 7];
        let mut checksum = 0.0f64;

        let region = Region::new(GLOBAL);
        for i in 0..n {
            let c = b.close[i];
            let bar = VwapBar {
                high: b.high[i],
                low: b.low[i],
                close: c,
                volume: b.volume[i],
                session: 0,
            };
            let outs = [
                rsi14.update(c),
                rsi5.update(c),
                macd.update(c).map(|m| m.macd + m.signal + m.hist),
                bb.update(c)
                    .map(|o| o.upper + o.middle + o.lower + o.percent_b),
                sma5.update(c),
                sma10.update(c),
                vwap.update(bar),
            ];
            for (d, o) in defined.iter_mut().zip(outs) {
                if let Some(v) = o {
                    *d += 1;
                    checksum += v;
                }
            }
        }
        let stats = region.change(); // before anything else allocates (the message below)
        no_allocation(&format!("{rel}: streaming"), stats);
        black_box(checksum);
        // Every indicator produced a value on every bar after its TA-Lib warm-up.
        let warmups = [14, 5, 33, 19, 4, 9, 19];
        for (k, (&d, &w)) in defined.iter().zip(&warmups).enumerate() {
            assert_eq!(d, n - w, "{rel}: indicator #{k} defined on {d} of {n} bars");
        }

        // Batch fast paths into preallocated outputs: no allocation either.
        let mut o: Vec<Vec<f64>> = (0..5).map(|_| vec![0.0; n]).collect();
        let [o1, o2, o3, o4, o5] = &mut o[..] else {
            unreachable!()
        };
        let region = Region::new(GLOBAL);
        rsi_into(&b.close, 14, o1).unwrap();
        rsi_into(&b.close, 5, o1).unwrap();
        macd_into(&b.close, 12, 26, 9, o1, o2, o3).unwrap();
        bbands_into(
            &b.close,
            20,
            2.0,
            &mut volatility::BBandsOut {
                upper: o1,
                middle: o2,
                lower: o3,
                percent_b: o4,
                bandwidth: o5,
            },
        )
        .unwrap();
        sma_into(&b.close, 5, o1).unwrap();
        sma_into(&b.close, 10, o1).unwrap();
        rolling_vwap_into(&b.high, &b.low, &b.close, &b.volume, 20, o1).unwrap();
        let stats = region.change();
        no_allocation(&format!("{rel}: batch *_into"), stats);
        assert!(
            o1[n - 1].is_finite() && o1[18].is_nan(),
            "{rel}: vwap_20 output"
        );
    }
}
