//! Session-aware resampling 1m → 15m, 1h, 1d (and 15m → 1h, 1d; 1h → 1d).
//!
//! Buckets follow the exchange calendar ([`crate::calendar`]):
//! - intraday targets (15m, 1h) are anchored at the session open: on NYSE 1h buckets are
//!   09:30-10:30, …, 15:30-16:00 (the last one short); half days end at 13:00;
//! - `1d` is the whole session, labelled with its trading date at 00:00 UTC;
//! - crypto and none use UTC-day sessions, so buckets align to UTC midnight.
//!
//! Input bars are labelled by the START of their interval (see [`Bar`]) and must be strictly
//! increasing. A bar whose start lies outside every session is not aggregated: it is counted and
//! its timestamp reported (the first [`MAX_SAMPLES`]) so that the caller can warn.
//!
//! Aggregation: open = first open, high = max high, low = min low, close = last close,
//! volume = sum of known volumes (`None` when every input volume is `None`), adj_close = the last
//! bar's adj_close.

use crate::bar::Bar;
use crate::calendar::{ExchangeCalendar, Session, calendar};
use crate::error::CoreError;
use crate::instrument::Exchange;
use crate::timeframe::Timeframe;
use jiff::{SignedDuration, Timestamp};

/// How many out-of-session timestamps are kept for reporting.
pub const MAX_SAMPLES: usize = 10;

/// The result of a batch [`resample`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResampleOutput {
    /// The resampled bars, ascending by `ts`.
    pub bars: Vec<Bar>,
    /// Number of input bars that started outside every session (not aggregated).
    pub out_of_session: usize,
    /// The first (at most [`MAX_SAMPLES`]) of those bars' timestamps.
    pub out_of_session_samples: Vec<Timestamp>,
}

/// Checks that `from → to` is a supported resampling step (coarser and a whole multiple).
pub fn check_timeframes(from: Timeframe, to: Timeframe) -> Result<(), CoreError> {
    use Timeframe::{D1, H1, M1, M15};
    match (from, to) {
        (M1, M15 | H1 | D1) | (M15, H1 | D1) | (H1, D1) => Ok(()),
        _ => Err(CoreError::Resample(format!(
            "{from} → {to}: the target must be coarser than the source and a multiple of it \
             (supported: 1m→15m/1h/1d, 15m→1h/1d, 1h→1d)"
        ))),
    }
}

/// A bucket under construction.
#[derive(Debug, Clone, Copy)]
struct Acc {
    /// Label of the bucket (bucket start, or trading date 00:00Z for 1d).
    label: Timestamp,
    bar: Bar,
}

/// Streaming session-aware resampler: push source bars in order, receive completed buckets.
#[derive(Debug, Clone)]
pub struct Resampler {
    cal: &'static ExchangeCalendar,
    to: Timeframe,
    bucket: SignedDuration,
    last_ts: Option<Timestamp>,
    /// The session of the previous in-session bar (cache: most bars share it).
    session: Option<Session>,
    acc: Option<Acc>,
    out_of_session: usize,
    samples: Vec<Timestamp>,
}

impl Resampler {
    /// A resampler for bars of `exchange` from timeframe `from` to the coarser `to`.
    pub fn try_new(exchange: Exchange, from: Timeframe, to: Timeframe) -> Result<Self, CoreError> {
        check_timeframes(from, to)?;
        Ok(Resampler {
            cal: calendar(exchange),
            to,
            bucket: SignedDuration::from_secs(to.seconds()),
            last_ts: None,
            session: None,
            acc: None,
            out_of_session: 0,
            samples: Vec::new(),
        })
    }

    /// Number of bars pushed so far that started outside every session (not aggregated).
    pub fn out_of_session(&self) -> usize {
        self.out_of_session
    }

    /// The first (at most [`MAX_SAMPLES`]) out-of-session timestamps seen so far.
    pub fn out_of_session_samples(&self) -> &[Timestamp] {
        &self.samples
    }

    fn session_for(&mut self, ts: Timestamp) -> Result<Option<Session>, CoreError> {
        if let Some(s) = self.session
            && s.open <= ts
            && ts < s.close
        {
            return Ok(Some(s));
        }
        let s = self.cal.session_at(ts)?;
        if s.is_some() {
            self.session = s;
        }
        Ok(s)
    }

    fn label(&self, s: &Session, ts: Timestamp) -> Result<Timestamp, CoreError> {
        if self.to == Timeframe::D1 {
            return Ok(s.date.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp());
        }
        let since_open = ts.duration_since(s.open).as_secs();
        let len = self.bucket.as_secs();
        let start = since_open.div_euclid(len) * len;
        Ok(s.open.checked_add(SignedDuration::from_secs(start))?)
    }

    /// Adds one source bar; returns the previous bucket when this bar starts a new one.
    ///
    /// Errors when `bar.ts` is not strictly after the previous bar's, or when the calendar does not
    /// cover the bar's date.
    pub fn push(&mut self, bar: Bar) -> Result<Option<Bar>, CoreError> {
        if let Some(prev) = self.last_ts
            && bar.ts <= prev
        {
            return Err(CoreError::Resample(format!(
                "input is not strictly increasing: bar at {} follows bar at {prev}",
                bar.ts
            )));
        }
        self.last_ts = Some(bar.ts);
        let Some(session) = self.session_for(bar.ts)? else {
            self.out_of_session += 1;
            if self.samples.len() < MAX_SAMPLES {
                self.samples.push(bar.ts);
            }
            return Ok(None);
        };
        let label = self.label(&session, bar.ts)?;
        match &mut self.acc {
            Some(acc) if acc.label == label => {
                let b = &mut acc.bar;
                b.high = b.high.max(bar.high);
                b.low = b.low.min(bar.low);
                b.close = bar.close;
                b.adj_close = bar.adj_close;
                b.volume = match (b.volume, bar.volume) {
                    (Some(a), Some(v)) => Some(a + v),
                    (a, v) => a.or(v),
                };
                Ok(None)
            }
            slot => {
                let done = slot.map(|a| a.bar);
                *slot = Some(Acc {
                    label,
                    bar: Bar { ts: label, ..bar },
                });
                Ok(done)
            }
        }
    }

    /// Ends the stream and returns the last (possibly incomplete) bucket.
    pub fn finish(self) -> Option<Bar> {
        self.acc.map(|a| a.bar)
    }
}

/// Resamples `bars` (strictly increasing, timeframe `from`) of `exchange` to timeframe `to`.
pub fn resample(
    exchange: Exchange,
    from: Timeframe,
    to: Timeframe,
    bars: &[Bar],
) -> Result<ResampleOutput, CoreError> {
    let mut r = Resampler::try_new(exchange, from, to)?;
    let mut out = Vec::with_capacity(bars.len() / 4 + 1);
    for bar in bars {
        if let Some(done) = r.push(*bar)? {
            out.push(done);
        }
    }
    let out_of_session = r.out_of_session;
    let samples = std::mem::take(&mut r.samples);
    if let Some(last) = r.finish() {
        out.push(last);
    }
    Ok(ResampleOutput {
        bars: out,
        out_of_session,
        out_of_session_samples: samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// One raw row of an intraday-1m file: (label as written, open, high, low, close, volume).
    type Row = (String, f64, f64, f64, f64, f64);

    fn raw_rows(relative: &str) -> Vec<Row> {
        let path = pulse_testkit::shared_file(relative);
        let text = std::fs::read_to_string(&path).unwrap();
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let n = |i: usize| f[i].parse::<f64>().unwrap();
                (f[0].to_string(), n(1), n(2), n(3), n(4), n(5))
            })
            .collect()
    }

    /// Bars of an intraday-1m file, with `ts` moved by `shift_secs` (−60 turns the END-of-minute
    /// labels of the TSLA/SPY/QQQ files into the START-of-interval convention of [`Bar`]).
    fn load_1m(relative: &str, shift_secs: i64) -> Vec<Bar> {
        raw_rows(relative)
            .into_iter()
            .map(|(t, open, high, low, close, volume)| Bar {
                ts: ts(&t)
                    .checked_add(SignedDuration::from_secs(shift_secs))
                    .unwrap(),
                open,
                high,
                low,
                close,
                adj_close: None,
                volume: Some(volume),
            })
            .collect()
    }

    /// Aggregates the raw rows whose file label lies in `(after, upto]` (END labels), by hand.
    fn hand_bar(rows: &[Row], after: &str, upto: &str) -> (f64, f64, f64, f64, f64, usize) {
        let sel: Vec<&Row> = rows
            .iter()
            .filter(|r| r.0.as_str() > after && r.0.as_str() <= upto)
            .collect();
        assert!(!sel.is_empty());
        let high = sel.iter().map(|r| r.2).fold(f64::MIN, f64::max);
        let low = sel.iter().map(|r| r.3).fold(f64::MAX, f64::min);
        let vol: f64 = sel.iter().map(|r| r.5).sum();
        (sel[0].1, high, low, sel[sel.len() - 1].4, vol, sel.len())
    }

    fn ohlcv(b: &Bar) -> (f64, f64, f64, f64, f64) {
        (b.open, b.high, b.low, b.close, b.volume.unwrap())
    }

    fn find(out: &ResampleOutput, label: &str) -> Bar {
        let t = ts(label);
        *out.bars
            .iter()
            .find(|b| b.ts == t)
            .unwrap_or_else(|| panic!("no bar at {label}"))
    }

    #[test]
    fn tsla_15m_1h_1d_match_hand_computed_bars() {
        let rows = raw_rows("intraday-1m/TSLA.csv");
        let bars = load_1m("intraday-1m/TSLA.csv", -60);
        let m15 = resample(Exchange::Nasdaq, Timeframe::M1, Timeframe::M15, &bars).unwrap();
        let h1 = resample(Exchange::Nasdaq, Timeframe::M1, Timeframe::H1, &bars).unwrap();
        let d1 = resample(Exchange::Nasdaq, Timeframe::M1, Timeframe::D1, &bars).unwrap();
        for out in [&m15, &h1, &d1] {
            assert_eq!(out.out_of_session, 0);
        }
        // 5 sessions of 390 minutes: 26 fifteen-minute and 7 hourly buckets each (none fully missing).
        assert_eq!((m15.bars.len(), h1.bars.len(), d1.bars.len()), (130, 35, 5));

        // First 15m bar of 2019-02-11: 09:30-09:45 ET = 14:30-14:45Z = file labels 14:31..=14:45.
        let b = find(&m15, "2019-02-11T14:30:00Z");
        let h = hand_bar(&rows, "2019-02-11T14:30:00Z", "2019-02-11T14:45:00Z");
        assert_eq!(h.5, 15);
        assert_eq!(ohlcv(&b), (h.0, h.1, h.2, h.3, h.4));
        // Pasted from pandas (see the module note below): the same bar.
        assert_eq!(ohlcv(&b), (311.685, 315.5, 310.56, 312.27, 1_346_903.0));

        // First 1h bar of 2019-02-11 (09:30-10:30 ET) and the last, short one (15:30-16:00 ET).
        let b = find(&h1, "2019-02-11T14:30:00Z");
        let h = hand_bar(&rows, "2019-02-11T14:30:00Z", "2019-02-11T15:30:00Z");
        assert_eq!(ohlcv(&b), (h.0, h.1, h.2, h.3, h.4));
        assert_eq!(ohlcv(&b), (311.685, 318.5, 310.56, 315.855, 3_141_993.0));
        let b = find(&h1, "2019-02-11T20:30:00Z");
        let h = hand_bar(&rows, "2019-02-11T20:30:00Z", "2019-02-11T21:00:00Z");
        assert_eq!(h.5, 30);
        assert_eq!(ohlcv(&b), (h.0, h.1, h.2, h.3, h.4));
        assert_eq!(ohlcv(&b), (313.9127, 314.2, 312.32, 312.85, 640_110.0));

        // 1d bar of 2019-02-15, labelled 00:00Z.
        let b = find(&d1, "2019-02-15T00:00:00Z");
        let h = hand_bar(&rows, "2019-02-15T00:00:00Z", "2019-02-15T23:59:59Z");
        assert_eq!(h.5, 389);
        assert_eq!(ohlcv(&b), (h.0, h.1, h.2, h.3, h.4));
        assert_eq!(ohlcv(&b), (304.27, 308.0, 304.0, 307.86, 3_758_088.0));
        // Pasted numbers were made once with (pandas 3.1.1):
        //   df = pd.read_csv("intraday-1m/TSLA.csv", parse_dates=["ts"]); df["start"] = df.ts - 60 s;
        //   x = df.set_index("start")["2019-02-15 14:30":"2019-02-15 20:59"];
        //   (x.open.iloc[0], x.high.max(), x.low.min(), x.close.iloc[-1], x.volume.sum())
    }

    #[test]
    fn cascaded_resampling_equals_direct() {
        let bars = load_1m("intraday-1m/TSLA.csv", -60);
        let ex = Exchange::Nasdaq;
        let m15 = resample(ex, Timeframe::M1, Timeframe::M15, &bars).unwrap();
        let h1 = resample(ex, Timeframe::M1, Timeframe::H1, &bars).unwrap();
        let h1_from_15 = resample(ex, Timeframe::M15, Timeframe::H1, &m15.bars).unwrap();
        let d1 = resample(ex, Timeframe::M1, Timeframe::D1, &bars).unwrap();
        let d1_from_1h = resample(ex, Timeframe::H1, Timeframe::D1, &h1.bars).unwrap();
        let close = |a: &[Bar], b: &[Bar]| {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert_eq!(
                    (x.ts, x.open, x.high, x.low, x.close),
                    (y.ts, y.open, y.high, y.low, y.close)
                );
                assert!((x.volume.unwrap() - y.volume.unwrap()).abs() < 1e-6);
            }
        };
        close(&h1.bars, &h1_from_15.bars);
        close(&d1.bars, &d1_from_1h.bars);
    }

    #[test]
    fn end_labelled_input_is_reported_out_of_session() {
        // Without the −60 s shift every session's 16:00 ET label (21:00Z) lies after the close.
        let bars = load_1m("intraday-1m/TSLA.csv", 0);
        let out = resample(Exchange::Nyse, Timeframe::M1, Timeframe::D1, &bars).unwrap();
        assert_eq!(out.out_of_session, 5);
        let expected: Vec<Timestamp> = (11..=15)
            .map(|d| ts(&format!("2019-02-{d}T21:00:00Z")))
            .collect();
        assert_eq!(out.out_of_session_samples, expected);
        let in_session: f64 = out.bars.iter().map(|b| b.volume.unwrap()).sum();
        let skipped: f64 = bars
            .iter()
            .filter(|b| expected.contains(&b.ts))
            .map(|b| b.volume.unwrap())
            .sum();
        let total: f64 = bars.iter().map(|b| b.volume.unwrap()).sum();
        assert!((in_session + skipped - total).abs() < 1e-6);
    }

    #[test]
    fn btcusdt_1m_to_1d() {
        let rows = raw_rows("intraday-1m/BTCUSDT.csv");
        let bars = load_1m("intraday-1m/BTCUSDT.csv", 0);
        let out = resample(Exchange::Crypto, Timeframe::M1, Timeframe::D1, &bars).unwrap();
        // 2025-05-30T16:39Z .. 2025-06-29T16:38Z touches 31 UTC days (first and last partial).
        assert_eq!(out.bars.len(), 31);
        assert_eq!(out.out_of_session, 0);
        assert_eq!(out.bars[0].ts, ts("2025-05-30T00:00:00Z"));
        assert_eq!(out.bars[30].ts, ts("2025-06-29T00:00:00Z"));
        let b = find(&out, "2025-06-10T00:00:00Z");
        let h = hand_bar(&rows, "2025-06-09T23:59:59Z", "2025-06-10T23:59:59Z");
        assert_eq!(h.5, 1440);
        assert_eq!((b.open, b.high, b.low, b.close), (h.0, h.1, h.2, h.3));
        assert!((b.volume.unwrap() - h.4).abs() < 1e-6);
        // Pasted from pandas: b.loc["2025-06-10 00:00":"2025-06-10 23:59"] → 110219.9, 110351.0,
        // 108279.2, 110227.5, volume 73253.028.
        assert_eq!(
            (b.open, b.high, b.low, b.close),
            (110_219.9, 110_351.0, 108_279.2, 110_227.5)
        );
        assert!((b.volume.unwrap() - 73_253.028).abs() < 1e-6);
        // 1h buckets align to UTC hours.
        let h1 = resample(Exchange::Crypto, Timeframe::M1, Timeframe::H1, &bars).unwrap();
        assert!(h1.bars.iter().all(|b| b.ts.as_second() % 3600 == 0));
        assert_eq!(h1.bars.len(), 30 * 24 + 1); // 16:39 → 16:38 thirty days later spans 721 hours
    }

    /// Synthetic minute bars (price = minute index) over a UTC window, for session-edge checks.
    fn minutes(from: &str, count: i64) -> Vec<Bar> {
        let start = ts(from);
        (0..count)
            .map(|i| {
                let p = 100.0 + i as f64;
                Bar {
                    ts: start.checked_add(SignedDuration::from_mins(i)).unwrap(),
                    open: p,
                    high: p + 0.5,
                    low: p - 0.5,
                    close: p + 0.25,
                    adj_close: Some(p),
                    volume: Some(1.0),
                }
            })
            .collect()
    }

    #[test]
    fn half_day_and_krx_buckets_follow_the_session() {
        // NYSE 2024-07-03 closes 13:00 ET = 17:00Z; feed 13:30Z..18:00Z.
        let bars = minutes("2024-07-03T13:30:00Z", 270);
        let out = resample(Exchange::Nyse, Timeframe::M1, Timeframe::H1, &bars).unwrap();
        let labels: Vec<Timestamp> = out.bars.iter().map(|b| b.ts).collect();
        let want: Vec<Timestamp> = ["13:30", "14:30", "15:30", "16:30"]
            .iter()
            .map(|h| ts(&format!("2024-07-03T{h}:00Z")))
            .collect();
        assert_eq!(labels, want);
        assert_eq!(out.bars[3].volume, Some(30.0)); // 12:30-13:00 ET only
        assert_eq!(out.out_of_session, 60);
        assert_eq!(out.out_of_session_samples.len(), MAX_SAMPLES);
        assert_eq!(out.out_of_session_samples[0], ts("2024-07-03T17:00:00Z"));
        // adj_close is the last bar's.
        assert_eq!(out.bars[0].adj_close, Some(159.0));
        // KRX 2024-06-04: 09:00-15:30 KST = 00:00-06:30Z: 7 hourly buckets, last one 06:00-06:30Z.
        let bars = minutes("2024-06-03T23:00:00Z", 8 * 60);
        let out = resample(Exchange::Krx, Timeframe::M1, Timeframe::H1, &bars).unwrap();
        assert_eq!(out.bars.len(), 7);
        assert_eq!(out.bars[0].ts, ts("2024-06-04T00:00:00Z"));
        assert_eq!(out.bars[6].volume, Some(30.0));
        assert_eq!(out.out_of_session, 60 + 30); // 08:00-09:00 and 15:30-16:00 KST
        let d = resample(Exchange::Krx, Timeframe::M1, Timeframe::D1, &bars).unwrap();
        assert_eq!(d.bars.len(), 1);
        assert_eq!(d.bars[0].ts, ts("2024-06-04T00:00:00Z"));
        assert_eq!(d.bars[0].volume, Some(390.0));
    }

    #[test]
    fn rejects_bad_input_and_timeframes() {
        let mut bars = load_1m("intraday-1m/TSLA.csv", -60);
        bars.truncate(10);
        bars[5].ts = bars[4].ts;
        let err = resample(Exchange::Nyse, Timeframe::M1, Timeframe::M15, &bars).unwrap_err();
        assert!(err.to_string().contains("2019-02-11T14:34:00Z"), "{err}");
        bars.swap(2, 3);
        assert!(resample(Exchange::Nyse, Timeframe::M1, Timeframe::M15, &bars).is_err());
        for (from, to) in [
            (Timeframe::M15, Timeframe::M1),
            (Timeframe::M15, Timeframe::M15),
            (Timeframe::D1, Timeframe::D1),
            (Timeframe::H1, Timeframe::M15),
            (Timeframe::D1, Timeframe::H1),
        ] {
            let err = Resampler::try_new(Exchange::Nyse, from, to).unwrap_err();
            assert!(matches!(err, CoreError::Resample(_)), "{from}->{to}");
        }
        // A bar outside the calendar's coverage is an error, not a silent skip.
        let old = minutes("1985-06-03T15:00:00Z", 3);
        assert!(matches!(
            resample(Exchange::Nyse, Timeframe::M1, Timeframe::D1, &old),
            Err(CoreError::OutsideCalendar { .. })
        ));
    }

    #[test]
    fn volume_none_only_when_all_none() {
        let mut bars = minutes("2025-06-02T00:00:00Z", 4);
        for b in &mut bars {
            b.volume = None;
        }
        let out = resample(Exchange::Crypto, Timeframe::M1, Timeframe::M15, &bars).unwrap();
        assert_eq!(out.bars[0].volume, None);
        bars[2].volume = Some(7.5);
        let out = resample(Exchange::Crypto, Timeframe::M1, Timeframe::M15, &bars).unwrap();
        assert_eq!(out.bars[0].volume, Some(7.5));
    }

    /// Reference aggregation: group by (session, bucket) with a map, independently of `Resampler`.
    fn reference(ex: Exchange, to: Timeframe, bars: &[Bar]) -> (Vec<Bar>, usize) {
        let cal = calendar(ex);
        let mut groups: BTreeMap<Timestamp, Vec<Bar>> = BTreeMap::new();
        let mut skipped = 0;
        for b in bars {
            match cal.session_at(b.ts).unwrap() {
                None => skipped += 1,
                Some(s) => {
                    let key = if to == Timeframe::D1 {
                        s.date
                            .to_zoned(jiff::tz::TimeZone::UTC)
                            .unwrap()
                            .timestamp()
                    } else {
                        let k = (b.ts.as_second() - s.open.as_second()) / to.seconds();
                        Timestamp::from_second(s.open.as_second() + k * to.seconds()).unwrap()
                    };
                    groups.entry(key).or_default().push(*b);
                }
            }
        }
        let out = groups
            .into_iter()
            .map(|(k, g)| Bar {
                ts: k,
                open: g[0].open,
                high: g.iter().map(|b| b.high).fold(f64::MIN, f64::max),
                low: g.iter().map(|b| b.low).fold(f64::MAX, f64::min),
                close: g[g.len() - 1].close,
                adj_close: g[g.len() - 1].adj_close,
                volume: g.iter().filter_map(|b| b.volume).reduce(|a, v| a + v),
            })
            .collect();
        (out, skipped)
    }

    fn arb_bars() -> impl Strategy<Value = (Exchange, Timeframe, Vec<Bar>)> {
        let ex = prop::sample::select(vec![
            Exchange::Nyse,
            Exchange::Krx,
            Exchange::Crypto,
            Exchange::None,
        ]);
        let to = prop::sample::select(vec![Timeframe::M15, Timeframe::H1, Timeframe::D1]);
        // Minute offsets over ~9 days starting Thu 2024-07-03 00:00Z (holiday, half day, weekend).
        let steps = prop::collection::vec(
            (
                1i64..240,
                1.0f64..500.0,
                0.0f64..5.0,
                prop::option::weighted(0.9, 0.0f64..1e6),
            ),
            1..400,
        );
        (ex, to, steps).prop_map(|(ex, to, steps)| {
            let mut t = ts("2024-07-03T00:00:00Z").as_second();
            let bars = steps
                .into_iter()
                .map(|(dt, p, spread, vol)| {
                    t += dt * 60;
                    Bar {
                        ts: Timestamp::from_second(t).unwrap(),
                        open: p,
                        high: p + spread,
                        low: p - spread,
                        close: p + spread / 2.0,
                        adj_close: Some(p),
                        volume: vol,
                    }
                })
                .collect();
            (ex, to, bars)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn streaming_equals_batch_and_reference((ex, to, bars) in arb_bars()) {
            let batch = resample(ex, Timeframe::M1, to, &bars).unwrap();
            // Streaming, one bar at a time.
            let mut r = Resampler::try_new(ex, Timeframe::M1, to).unwrap();
            let mut streamed = Vec::new();
            for b in &bars {
                if let Some(done) = r.push(*b).unwrap() {
                    // An emitted bucket is complete: every later bar lies after it.
                    prop_assert!(done.ts <= b.ts);
                    streamed.push(done);
                }
            }
            prop_assert_eq!(r.out_of_session(), batch.out_of_session);
            streamed.extend(r.finish());
            prop_assert_eq!(&streamed, &batch.bars);
            let (want, skipped) = reference(ex, to, &bars);
            prop_assert_eq!(skipped, batch.out_of_session);
            prop_assert_eq!(batch.bars.len(), want.len());
            for (got, want) in batch.bars.iter().zip(&want) {
                prop_assert_eq!((got.ts, got.open, got.high, got.low, got.close, got.adj_close),
                                (want.ts, want.open, want.high, want.low, want.close, want.adj_close));
                match (got.volume, want.volume) {
                    (Some(a), Some(b)) => prop_assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0)),
                    (a, b) => prop_assert_eq!(a, b),
                }
                // High/low bounds.
                prop_assert!(got.high >= got.open && got.high >= got.close && got.low <= got.open && got.low <= got.close);
            }
            // Volume conservation over in-session bars.
            let vin: f64 = bars.iter()
                .filter(|b| calendar(ex).session_at(b.ts).unwrap().is_some())
                .filter_map(|b| b.volume).sum();
            let vout: f64 = batch.bars.iter().filter_map(|b| b.volume).sum();
            prop_assert!((vin - vout).abs() <= 1e-6 * vin.max(1.0));
            // Output strictly increasing.
            prop_assert!(batch.bars.windows(2).all(|w| w[0].ts < w[1].ts));
        }
    }
}
