//! Moving averages: SMA, EMA, WMA (TA-Lib `SMA`, `EMA`, `WMA`).

use crate::util::{Ring, WILDER_BLOCK, Wilder, check_len, check_period};
use crate::{Indicator, IndicatorError, drive};

/// Simple moving average of the last `period` inputs (TA-Lib `SMA`, lookback `period-1`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sma {
    period: usize,
    pf: f64,
    total: f64,
    count: usize,
    ring: Ring,
}

impl Sma {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(period: usize) -> Result<(), IndicatorError> {
        check_period("sma", "period", period, 1)?;
        Ok(())
    }

    /// A new SMA; `period ≥ 1`.
    pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
        Self::validate(period)?;
        Ok(Self {
            period,
            pf: period as f64,
            total: 0.0,
            count: 0,
            ring: Ring::new(period),
        })
    }

    /// Update without the finite check (internal composition, e.g. STOCH smoothing).
    #[inline(always)]
    pub(crate) fn step(&mut self, x: f64) -> Option<f64> {
        self.total += x;
        self.ring.push(x);
        if self.count + 1 < self.period {
            self.count += 1;
            return None;
        }
        let t = self.total;
        self.total -= self.ring.oldest();
        Some(t / self.pf)
    }
}

impl Indicator for Sma {
    type Input = f64;
    type Output = f64;
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        self.step(x)
    }
    fn reset(&mut self) {
        self.total = 0.0;
        self.count = 0;
        self.ring.clear();
    }
    fn warmup_period(&self) -> usize {
        self.period - 1
    }
}

/// Batch SMA into `out` (same length as `input`); NaN in warm-up positions.
pub fn sma_into(input: &[f64], period: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    Sma::validate(period)?;
    let n = input.len();
    check_len("sma", "out", n, out.len())?;
    let lb = period - 1;
    if n > lb {
        // Fused single pass (TA-Lib's rolling sum), finiteness accumulated alongside.
        let pf = period as f64;
        out[..lb].fill(f64::NAN);
        let mut ok = true;
        let mut total = 0.0;
        for &x in &input[..lb] {
            ok &= x.is_finite();
            total += x;
        }
        let (head, tail) = (&input[lb..n], &input[..n - lb]);
        for ((o, &x), &t) in out[lb..n].iter_mut().zip(head).zip(tail) {
            ok &= x.is_finite();
            total += x;
            let tmp = total;
            total -= t;
            *o = tmp / pf;
        }
        if ok {
            return Ok(());
        }
    }
    drive(
        &mut Sma::try_new(period)?,
        n,
        |i| input[i],
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch SMA, allocating the output.
pub fn sma(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; input.len()];
    sma_into(input, period, &mut out)?;
    Ok(out)
}

/// Exponential moving average seeded with the SMA of the first `period` inputs
/// (TA-Lib `EMA`, `k = 2/(period+1)`, lookback `period-1`). After the seed,
/// `s = (1−k)·s + k·x` evaluated by `util::Wilder`'s one-add blocks (a few ulps from TA-Lib's
/// `(x − s)·k + s`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ema {
    period: usize,
    count: usize,
    sum: f64,
    prev: f64,
    /// `None` for period 1 (`k = 1`: the EMA is the input).
    wilder: Option<Wilder>,
}

impl Ema {
    /// A new EMA; `period ≥ 1`.
    pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
        check_period("ema", "period", period, 1)?;
        let k = 2.0 / (period + 1) as f64;
        Ok(Self {
            period,
            count: 0,
            sum: 0.0,
            prev: 0.0,
            wilder: (period > 1).then(|| Wilder::with_factors(1.0 - k, k)),
        })
    }
}

impl Indicator for Ema {
    type Input = f64;
    type Output = f64;
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        if self.count < self.period {
            self.sum += x;
            self.count += 1;
            if self.count < self.period {
                return None;
            }
            self.prev = self.sum / self.period as f64;
            if let Some(w) = &mut self.wilder {
                w.seed(self.prev);
            }
            return Some(self.prev);
        }
        self.prev = match &mut self.wilder {
            Some(w) => w.step(x),
            None => x,
        };
        Some(self.prev)
    }
    fn reset(&mut self) {
        self.count = 0;
        self.sum = 0.0;
        self.prev = 0.0;
    }
    fn warmup_period(&self) -> usize {
        self.period - 1
    }
}

/// Batch EMA into `out`; NaN in warm-up positions.
pub fn ema_into(input: &[f64], period: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    let mut s = Ema::try_new(period)?;
    let n = input.len();
    check_len("ema", "out", n, out.len())?;
    let lb = period - 1;
    if let Some(wilder) = s.wilder.as_ref().filter(|_| n > lb) {
        out[..lb].fill(f64::NAN);
        if ema_fast(input, period, wilder, out) {
            return Ok(());
        }
    }
    drive(
        &mut s,
        n,
        |i| input[i],
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// EMA fast path (`n ≥ period ≥ 2`): SMA seed, then blocks of [`WILDER_BLOCK`] in two loops —
/// (1) weighted inputs (vectorizes), (2) the running sum (one add on the dependency chain) and
/// un-weighting; the same operations as `Ema::update`. False if any input was not finite.
fn ema_fast(input: &[f64], period: usize, wilder: &Wilder, out: &mut [f64]) -> bool {
    const B: usize = WILDER_BLOCK;
    let n = input.len();
    let mut chk = [0.0f64; B];
    let mut sum = 0.0;
    for &x in &input[..period] {
        chk[0] += x * 0.0;
        sum += x;
    }
    let mut sm = sum / period as f64;
    out[period - 1] = sm;
    let (w, pw) = wilder.tables();
    let bl = w.len();
    let mut xw = [0.0f64; B];
    let mut k0 = period;
    while k0 < n {
        let len = bl.min(n - k0);
        let (xs, o) = (&input[k0..k0 + len], &mut out[k0..k0 + len]);
        let (xw, chk) = (&mut xw[..len], &mut chk[..len]);
        for (((t, c), &x), &w) in xw.iter_mut().zip(chk.iter_mut()).zip(xs).zip(w) {
            *c += x * 0.0;
            *t = x * w;
        }
        let mut u = sm;
        for ((o, &t), &pw) in o.iter_mut().zip(xw.iter()).zip(pw) {
            u += t;
            sm = u * pw;
            *o = sm;
        }
        k0 += len;
    }
    chk.iter().all(|&c| c == 0.0)
}

/// Batch EMA, allocating the output.
pub fn ema(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; input.len()];
    ema_into(input, period, &mut out)?;
    Ok(out)
}

/// Linearly weighted moving average, weights `1..=period` (TA-Lib `WMA`, lookback `period-1`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Wma {
    period: usize,
    divider: f64,
    count: usize,
    period_sum: f64,
    period_sub: f64,
    trailing: f64,
    ring: Ring,
}

impl Wma {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(period: usize) -> Result<(), IndicatorError> {
        check_period("wma", "period", period, 1)?;
        Ok(())
    }

    /// A new WMA; `period ≥ 1`.
    pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
        Self::validate(period)?;
        Ok(Self {
            period,
            divider: ((period * (period + 1)) >> 1) as f64,
            count: 0,
            period_sum: 0.0,
            period_sub: 0.0,
            trailing: 0.0,
            ring: Ring::new(period),
        })
    }
}

impl Indicator for Wma {
    type Input = f64;
    type Output = f64;
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        if self.period == 1 {
            return Some(x);
        }
        self.ring.push(x);
        if self.count + 1 < self.period {
            self.count += 1;
            self.period_sub += x;
            self.period_sum += x * self.count as f64;
            return None;
        }
        self.period_sub += x;
        self.period_sub -= self.trailing;
        self.period_sum += x * self.period as f64;
        self.trailing = self.ring.oldest();
        let out = self.period_sum / self.divider;
        self.period_sum -= self.period_sub;
        Some(out)
    }
    fn reset(&mut self) {
        self.count = 0;
        self.period_sum = 0.0;
        self.period_sub = 0.0;
        self.trailing = 0.0;
        self.ring.clear();
    }
    fn warmup_period(&self) -> usize {
        self.period - 1
    }
}

/// Batch WMA into `out`; NaN in warm-up positions.
pub fn wma_into(input: &[f64], period: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    Wma::validate(period)?;
    let n = input.len();
    check_len("wma", "out", n, out.len())?;
    let lb = period - 1;
    if n > lb && period > 1 {
        // Fused single pass (TA-Lib's running sums), finiteness accumulated alongside.
        out[..lb].fill(f64::NAN);
        let mut ok = true;
        let (mut sum, mut sub) = (0.0f64, 0.0f64);
        for (i, &x) in input[..lb].iter().enumerate() {
            ok &= x.is_finite();
            sub += x;
            sum += x * (i + 1) as f64;
        }
        let pf = period as f64;
        let divider = ((period * (period + 1)) >> 1) as f64;
        let mut trailing = 0.0;
        let (head, tail) = (&input[lb..n], &input[..n - lb]);
        for ((o, &x), &t) in out[lb..n].iter_mut().zip(head).zip(tail) {
            ok &= x.is_finite();
            sub += x;
            sub -= trailing;
            sum += x * pf;
            trailing = t;
            *o = sum / divider;
            sum -= sub;
        }
        if ok {
            return Ok(());
        }
    }
    drive(
        &mut Wma::try_new(period)?,
        n,
        |i| input[i],
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch WMA, allocating the output.
pub fn wma(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; input.len()];
    wma_into(input, period, &mut out)?;
    Ok(out)
}
