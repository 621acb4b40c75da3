//! Feeds arbitrary bytes to the Yahoo chart parser: it must return Ok or Err, never panic,
//! and whatever it returns must respect the port's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse_core::{Symbol, Timeframe};

fuzz_target!(|data: &[u8]| {
    // First byte picks the timeframe, the rest is the body.
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let timeframe = if first & 1 == 0 { Timeframe::D1 } else { Timeframe::M1 };
    let Ok(symbol) = Symbol::try_new("TSLA") else {
        return;
    };
    if let Ok(parsed) = data_yahoo::parse_chart_json(&symbol, timeframe, body) {
        let bars = &parsed.series.bars;
        assert!(bars.windows(2).all(|w| w[0].ts < w[1].ts), "bars not strictly increasing");
        assert!(bars.iter().all(|b| b.validate_finite().is_ok()), "non-finite bar");
        if timeframe == Timeframe::M1 {
            assert!(bars.iter().all(|b| b.ts.as_second() % 60 == 0), "1m bar not on a minute");
        }
    }
});
