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
        if let Some(s) = self.session {
            if s.open <= ts && ts < s.close {
                return Ok(Some(s));
            }
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
        if let Some(prev) = self.last_ts {
            if bar.ts <= prev {
                return Err(CoreError::Resample(format!(
                    "input is not strictly increasing: bar at {} follows bar at {prev}",
                    bar.ts
                )));
            }
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
