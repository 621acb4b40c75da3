//! Shared helpers: TA-Lib's zero tests, parameter validation, a fixed ring buffer.

use crate::IndicatorError;

/// TA-Lib's `TA_EPSILON` (TA-Lib 0.6+/0.8: 1e-14).
pub(crate) const TA_EPSILON: f64 = 0.000_000_000_000_01;

/// TA-Lib's `TA_IS_ZERO(v)`.
#[inline(always)]
pub(crate) fn ta_is_zero(v: f64) -> bool {
    -TA_EPSILON < v && v < TA_EPSILON
}

/// TA-Lib's `TA_IS_ZERO_OR_NEG(v)`.
#[inline(always)]
pub(crate) fn ta_is_zero_or_neg(v: f64) -> bool {
    v < TA_EPSILON
}

/// Reject `value < min` and `value > MAX_PERIOD` (every window is allocated up front, so an
/// unbounded period would be an unbounded allocation).
pub(crate) fn check_period(
    indicator: &'static str,
    param: &'static str,
    value: usize,
    min: usize,
) -> Result<(), IndicatorError> {
    if value < min {
        return Err(IndicatorError::InvalidPeriod {
            indicator,
            param,
            value,
            min,
        });
    }
    if value > crate::MAX_PERIOD {
        return Err(IndicatorError::PeriodTooLarge {
            indicator,
            param,
            value,
            max: crate::MAX_PERIOD,
        });
    }
    Ok(())
}

/// Reject a multiplier that is not finite and strictly positive.
pub(crate) fn check_positive(
    indicator: &'static str,
    param: &'static str,
    value: f64,
) -> Result<(), IndicatorError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(IndicatorError::InvalidParameter {
            indicator,
            param,
            value,
            requirement: "finite and > 0",
        });
    }
    Ok(())
}

/// Reject a slice whose length differs from `expected`.
pub(crate) fn check_len(
    indicator: &'static str,
    field: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), IndicatorError> {
    if expected != got {
        return Err(IndicatorError::LengthMismatch {
            indicator,
            field,
            expected,
            got,
        });
    }
    Ok(())
}

/// Fixed-capacity ring buffer of `f64`, allocated once at construction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "RingState", try_from = "RingState")]
pub(crate) struct Ring {
    buf: Vec<f64>,
    pos: usize,
    len: usize,
}

/// A [`Ring`] as persisted: its capacity, write position and the slots in use in storage order
/// (so that sums over [`Ring::values`] add in the same order after a restore, bit for bit).
#[derive(serde::Serialize, serde::Deserialize)]
struct RingState {
    cap: usize,
    pos: usize,
    values: Vec<f64>,
}

impl From<Ring> for RingState {
    fn from(r: Ring) -> Self {
        RingState {
            cap: r.buf.len(),
            pos: r.pos,
            values: r.buf[..r.len].to_vec(),
        }
    }
}

impl TryFrom<RingState> for Ring {
    type Error = String;

    /// Checks the invariants `push` relies on, so a corrupt state is an error, never a panic or
    /// a huge allocation.
    fn try_from(s: RingState) -> Result<Self, String> {
        let len = s.values.len();
        let ok = (1..=2 * crate::MAX_PERIOD + 1).contains(&s.cap)
            && len <= s.cap
            && s.pos < s.cap
            && (len == s.cap || s.pos == len);
        if !ok {
            return Err(format!(
                "ring buffer state out of range (capacity {}, position {}, {len} values)",
                s.cap, s.pos
            ));
        }
        let mut buf = s.values;
        buf.resize(s.cap, 0.0);
        Ok(Ring {
            buf,
            pos: s.pos,
            len,
        })
    }
}

impl Ring {
    /// A ring holding at most `cap` (≥ 1) values.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            buf: vec![0.0; cap.max(1)],
            pos: 0,
            len: 0,
        }
    }

    /// Append `x`, overwriting the oldest value when full.
    #[inline(always)]
    pub(crate) fn push(&mut self, x: f64) {
        self.buf[self.pos] = x;
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        if self.len < self.buf.len() {
            self.len += 1;
        }
    }

    /// The oldest value held (the next to be overwritten when full).
    #[inline(always)]
    pub(crate) fn oldest(&self) -> f64 {
        if self.len < self.buf.len() {
            self.buf[0]
        } else {
            self.buf[self.pos]
        }
    }

    /// Whether the ring holds `cap` values.
    #[inline(always)]
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// Forget everything (keeps the allocation).
    pub(crate) fn clear(&mut self) {
        self.pos = 0;
        self.len = 0;
    }

    /// All held values in no particular order.
    #[inline(always)]
    pub(crate) fn values(&self) -> &[f64] {
        &self.buf[..self.len]
    }

    /// The held values oldest to newest, as two slices (first, then second).
    #[inline(always)]
    pub(crate) fn chronological(&self) -> (&[f64], &[f64]) {
        if self.len < self.buf.len() {
            (&self.buf[..self.len], &[])
        } else {
            let (a, b) = self.buf.split_at(self.pos);
            (b, a)
        }
    }
}

/// How many outputs a [`Moments`] window rolls before its sums are recomputed from the window
/// (re-anchoring the shift): `max(256, 8·period)`, so the O(period) recompute costs ≤ ~1/8 of
/// the O(1) rolling work while the shift never lags the data by more than a few hundred bars.
#[inline(always)]
pub(crate) fn rebase_interval(period: usize) -> usize {
    period.saturating_mul(8).max(256)
}

/// Shifted sums `(Σ (w - shift), Σ (w - shift)²)` over `window` in chronological order.
#[inline(always)]
pub(crate) fn shifted_sums(window: &[f64], shift: f64, mut s1: f64, mut s2: f64) -> (f64, f64) {
    for &w in window {
        let d = w - shift;
        s1 += d;
        s2 += d * d;
    }
    (s1, s2)
}

/// `(mean, population variance ≥ 0)` from shifted sums (`inv = 1/period`).
#[inline(always)]
pub(crate) fn moments_of(shift: f64, s1: f64, s2: f64, inv: f64) -> (f64, f64) {
    let m = s1 * inv;
    let var = (s2 - s1 * m) * inv;
    (shift + m, if var > 0.0 { var } else { 0.0 })
}

/// Rolling first and second moments of the last `period` values, accurate for data with a large
/// mean relative to its spread. On every [`rebase_interval`]-th output (the first included) the
/// sums are recomputed from the window, oldest to newest, relative to a shift `K` = the newest
/// value; in between they roll: `s1 += d - t`, `s2 += d² - t²` with `d = x - K`, `t = old - K`.
/// This bounds both cancellation (values stay near `K`) and rolling drift. [`moments_batch`] is
/// the same arithmetic over a slice, so batch == streaming bit for bit. Allocated once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Moments {
    ring: Ring,
    inv: f64,
    interval: usize,
    shift: f64,
    s1: f64,
    s2: f64,
    /// Outputs until the next rebase (0 = rebase on the next output).
    until_rebase: usize,
}

impl Moments {
    pub(crate) fn new(period: usize) -> Self {
        Self {
            ring: Ring::new(period),
            inv: 1.0 / period as f64,
            interval: rebase_interval(period),
            shift: 0.0,
            s1: 0.0,
            s2: 0.0,
            until_rebase: 0,
        }
    }

    /// Push `x`; returns `(mean, population variance)` once `period` values are held.
    #[inline(always)]
    pub(crate) fn push(&mut self, x: f64) -> Option<(f64, f64)> {
        let old = self.ring.oldest();
        self.ring.push(x);
        if !self.ring.is_full() {
            return None;
        }
        if self.until_rebase == 0 {
            self.until_rebase = self.interval;
            self.shift = x;
            let (a, b) = self.ring.chronological();
            let (s1, s2) = shifted_sums(a, x, 0.0, 0.0);
            (self.s1, self.s2) = shifted_sums(b, x, s1, s2);
        } else {
            let t = old - self.shift;
            let d = x - self.shift;
            self.s1 += d - t;
            self.s2 += d * d - t * t;
        }
        self.until_rebase -= 1;
        Some(moments_of(self.shift, self.s1, self.s2, self.inv))
    }

    pub(crate) fn clear(&mut self) {
        self.ring.clear();
        self.s1 = 0.0;
        self.s2 = 0.0;
        self.until_rebase = 0;
    }
}

/// [`Moments`] over a whole slice of **finite** values: calls `emit(state, i, input[i], mean,
/// var)` for every index `i ≥ period-1`, bit-identical to pushing `input` into a fresh
/// [`Moments`]; after each re-anchoring segment `[start, end)` (≥ 256 outputs) it calls
/// `flush(state, start..end)`, so callers can finish a cache-resident block in a separate,
/// vectorizable loop.
#[inline(always)]
pub(crate) fn moments_batch<S>(
    input: &[f64],
    period: usize,
    state: &mut S,
    mut emit: impl FnMut(&mut S, usize, f64, f64, f64),
    mut flush: impl FnMut(&mut S, std::ops::Range<usize>),
) {
    let n = input.len();
    if period == 0 || n < period {
        return;
    }
    let inv = 1.0 / period as f64;
    let interval = rebase_interval(period);
    let mut start = period - 1;
    while start < n {
        let end = n.min(start.saturating_add(interval));
        let shift = input[start];
        let (mut s1, mut s2) = shifted_sums(&input[start + 1 - period..=start], shift, 0.0, 0.0);
        let (mean, var) = moments_of(shift, s1, s2, inv);
        emit(state, start, shift, mean, var);
        let xs = &input[start + 1..end];
        let olds = &input[start + 1 - period..end - period];
        for (k, (&x, &old)) in xs.iter().zip(olds).enumerate() {
            let t = old - shift;
            let d = x - shift;
            s1 += d - t;
            s2 += d * d - t * t;
            let (mean, var) = moments_of(shift, s1, s2, inv);
            emit(state, start + 1 + k, x, mean, var);
        }
        flush(state, start..end);
        start = end;
    }
}

/// Longest block of [`Wilder`] smoothing (the accumulator is re-based every block).
pub(crate) const WILDER_BLOCK: usize = 32;

/// Smallest `a^j` a block may reach (`2^-20`): the weights `b/a^j` stay ≤ `2^20·b`, so the
/// weighted inputs cannot overflow unless the inputs are within ~1e6 of `f64::MAX`.
const WILDER_MIN_DECAY: f64 = 1.0 / (1u64 << 20) as f64;

/// Wilder smoothing `s_n = a·s_{n−1} + b·x_n` (`a = (p−1)/p`, `b = 1/p`) computed with a
/// one-addition dependency chain: within a block of up to [`WILDER_BLOCK`] steps from `s_0`,
/// `u_j = u_{j−1} + x_j · (b / a^j)` with `u_0 = s_0`, and `s_j = u_j · a^j` (off the chain); at
/// the block's end `s` becomes the next block's `s_0`. Mathematically TA-Lib's recurrence; the
/// rounding differs by a few ulps (error does not accumulate: the recurrence contracts).
/// Streaming ([`Wilder::step`]) and the batch loops (RSI, ATR: blocks of [`WILDER_BLOCK`] using
/// [`Wilder::tables`]) do the same operations in the same order, so they agree bit for bit. No
/// heap allocation (the tables live inline).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "WilderState", try_from = "WilderState")]
pub(crate) struct Wilder {
    /// `w[j] = b / a^j`, `j = 1..=WILDER_BLOCK` (index 0 unused; 64 entries so `j & 63` needs
    /// no bounds check).
    w: [f64; 64],
    /// `pw[j] = a^j`.
    pw: [f64; 64],
    /// Steps per block: [`WILDER_BLOCK`], fewer when `a` decays fast (`a^block ≥ 2^-20`).
    block: usize,
    u: f64,
    j: usize,
    /// Decay factor `a` the tables were built from.
    a: f64,
    /// Input factor `b` the tables were built from.
    b: f64,
}

/// A [`Wilder`] as persisted: its factors (the tables are rebuilt from them, identically) and the
/// running sum and step within the block.
#[derive(serde::Serialize, serde::Deserialize)]
struct WilderState {
    a: f64,
    b: f64,
    u: f64,
    j: usize,
}

impl From<Wilder> for WilderState {
    fn from(w: Wilder) -> Self {
        WilderState {
            a: w.a,
            b: w.b,
            u: w.u,
            j: w.j,
        }
    }
}

impl TryFrom<WilderState> for Wilder {
    type Error = String;

    fn try_from(s: WilderState) -> Result<Self, String> {
        if !(s.a > 0.0 && s.a < 1.0 && s.b.is_finite()) {
            return Err(format!(
                "smoothing factors out of range (a {}, b {})",
                s.a, s.b
            ));
        }
        let mut w = Wilder::with_factors(s.a, s.b);
        if s.j >= w.block {
            return Err(format!(
                "smoothing step {} beyond its block {}",
                s.j, w.block
            ));
        }
        w.u = s.u;
        w.j = s.j;
        Ok(w)
    }
}

impl Wilder {
    /// Tables for Wilder's period `p ≥ 2` (`a = (p−1)/p`, `b = 1/p`).
    pub(crate) fn new(period: usize) -> Self {
        Self::with_factors((period - 1) as f64 / period as f64, 1.0 / period as f64)
    }

    /// Tables for `s = a·s + b·x` with `0 < a < 1` (EMA: `a = 1 − k`, `b = k`).
    pub(crate) fn with_factors(a: f64, b: f64) -> Self {
        let mut w = [0.0; 64];
        let mut pw = [1.0; 64];
        let mut block = 1;
        for j in 1..=WILDER_BLOCK {
            pw[j] = pw[j - 1] * a;
            w[j] = b / pw[j];
            if pw[j] >= WILDER_MIN_DECAY {
                block = j;
            }
        }
        Self {
            w,
            pw,
            block,
            u: 0.0,
            j: 0,
            a,
            b,
        }
    }

    /// Start from the smoothed value `s`.
    #[inline(always)]
    pub(crate) fn seed(&mut self, s: f64) {
        self.u = s;
        self.j = 0;
    }

    /// One step with input `x`; returns the new smoothed value.
    #[inline(always)]
    pub(crate) fn step(&mut self, x: f64) -> f64 {
        self.j += 1;
        let j = self.j & 63;
        self.u += x * self.w[j];
        let s = self.u * self.pw[j];
        if self.j == self.block {
            self.u = s;
            self.j = 0;
        }
        s
    }

    /// The tables `(w[1..=block], pw[1..=block])` for hand-written batch loops: step `j` of a
    /// block (1-based) uses `w[j]`, `pw[j]`; the slices' length is the block length.
    #[inline(always)]
    pub(crate) fn tables(&self) -> (&[f64], &[f64]) {
        let b = self.block.clamp(1, WILDER_BLOCK);
        (&self.w[1..=b], &self.pw[1..=b])
    }
}
