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

/// Reject `value < min`.
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
    Ok(())
}

/// Reject a non-finite multiplier.
pub(crate) fn check_finite(
    indicator: &'static str,
    param: &'static str,
    value: f64,
) -> Result<(), IndicatorError> {
    if !value.is_finite() {
        return Err(IndicatorError::InvalidParameter {
            indicator,
            param,
            value,
            requirement: "finite",
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

/// True when every value is finite (branch-free inner chunks so it vectorizes).
#[inline]
pub(crate) fn all_finite(xs: &[f64]) -> bool {
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        let mut ok = true;
        for x in c {
            ok &= x.is_finite();
        }
        if !ok {
            return false;
        }
    }
    chunks.remainder().iter().all(|x| x.is_finite())
}

/// Fixed-capacity ring buffer of `f64`, allocated once at construction.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    buf: Vec<f64>,
    pos: usize,
    len: usize,
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

    /// The `k`-th most recent value (`k = 0` is the newest); `k < len`.
    #[inline(always)]
    pub(crate) fn back(&self, k: usize) -> f64 {
        let cap = self.buf.len();
        self.buf[(self.pos + cap - 1 - k) % cap]
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
}

/// Rolling first and second moments of the last `period` values, accurate for data with a large
/// mean relative to its spread: sums are kept relative to a shift `K` that is re-anchored on the
/// window mean (sums recomputed exactly from the ring) every `32·period` pushes, bounding both
/// cancellation and rolling-sum drift. Allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    ring: Ring,
    period: usize,
    pf: f64,
    shift: f64,
    s1: f64,
    s2: f64,
    since_rebase: usize,
}

impl Moments {
    pub(crate) fn new(period: usize) -> Self {
        Self {
            ring: Ring::new(period),
            period,
            pf: period as f64,
            shift: 0.0,
            s1: 0.0,
            s2: 0.0,
            since_rebase: 0,
        }
    }

    /// Push `x`; returns `(mean, population variance)` once `period` values are held.
    #[inline(always)]
    pub(crate) fn push(&mut self, x: f64) -> Option<(f64, f64)> {
        if self.ring.len == 0 {
            self.shift = x;
        }
        if self.ring.is_full() {
            let t = self.ring.oldest() - self.shift;
            self.s1 -= t;
            self.s2 -= t * t;
        }
        self.ring.push(x);
        let d = x - self.shift;
        self.s1 += d;
        self.s2 += d * d;
        if !self.ring.is_full() {
            return None;
        }
        self.since_rebase += 1;
        if self.since_rebase >= 32 * self.period {
            self.since_rebase = 0;
            self.rebase();
        }
        let m = self.s1 / self.pf;
        let var = (self.s2 - self.s1 * m) / self.pf;
        Some((self.shift + m, if var > 0.0 { var } else { 0.0 }))
    }

    fn rebase(&mut self) {
        let mut s = 0.0;
        for &v in self.ring.values() {
            s += v;
        }
        self.shift = s / self.pf;
        let (mut s1, mut s2) = (0.0, 0.0);
        for &v in self.ring.values() {
            let d = v - self.shift;
            s1 += d;
            s2 += d * d;
        }
        self.s1 = s1;
        self.s2 = s2;
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::new(self.period);
    }
}
