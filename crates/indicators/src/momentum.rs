//! Momentum: RSI, MACD, stochastic, ADX, ROC, momentum, returns and log returns.

use crate::ma::Sma;
use crate::util::{Ring, WILDER_BLOCK, Wilder, check_len, check_period, ta_is_zero};
use crate::{Hlc, Indicator, IndicatorError, drive};

/// Relative Strength Index, Wilder smoothing (TA-Lib `RSI`, lookback `period`), 0..=100.
/// Seed: the plain averages of the first `period` gains and losses (`Σ · (1/p)`, as TA-Lib 0.8.1's
/// compiled code); then gains and losses are smoothed by `util::Wilder` (crate docs)
/// (`s = s·(p−1)/p + x/p`, a few ulps from TA-Lib's rounding).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rsi {
    period: usize,
    count: usize,
    prev: f64,
    gain: f64,
    loss: f64,
    gw: Wilder,
    lw: Wilder,
}

impl Rsi {
    /// A new RSI; `period ≥ 2` (TA-Lib's minimum).
    pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
        check_period("rsi", "period", period, 2)?;
        Ok(Self {
            period,
            count: 0,
            prev: 0.0,
            gain: 0.0,
            loss: 0.0,
            gw: Wilder::new(period),
            lw: Wilder::new(period),
        })
    }

    #[inline(always)]
    fn value(gain: f64, loss: f64) -> f64 {
        let t = gain + loss;
        let r = 100.0 * (gain / t); // unconditional, then selected: the batch loop vectorizes
        if !ta_is_zero(t) { r } else { 0.0 }
    }

    /// `(gain, loss)` parts of a change: `(d, +0)` or `(+0, −d)` (each one `maxsd`). Sums stay
    /// ≥ +0, so adding a ±0 part leaves them bit-identical.
    #[inline(always)]
    fn split(d: f64) -> (f64, f64) {
        let nd = -d;
        (
            if d > 0.0 { d } else { 0.0 },
            if nd > 0.0 { nd } else { 0.0 },
        )
    }
}

impl Indicator for Rsi {
    type Input = f64;
    type Output = f64;
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        if self.count == 0 {
            self.prev = x;
            self.count = 1;
            return None;
        }
        let (g, l) = Self::split(x - self.prev);
        self.prev = x;
        if self.count <= self.period {
            self.gain += g;
            self.loss += l;
            self.count += 1;
            if self.count <= self.period {
                return None;
            }
            let inv = 1.0 / self.period as f64;
            self.gain *= inv;
            self.loss *= inv;
            self.gw.seed(self.gain);
            self.lw.seed(self.loss);
            return Some(Self::value(self.gain, self.loss));
        }
        self.gain = self.gw.step(g);
        self.loss = self.lw.step(l);
        Some(Self::value(self.gain, self.loss))
    }
    fn reset(&mut self) {
        self.count = 0;
        self.prev = 0.0;
        self.gain = 0.0;
        self.loss = 0.0;
    }
    fn warmup_period(&self) -> usize {
        self.period
    }
}

/// Batch RSI into `out`; NaN in warm-up positions.
pub fn rsi_into(input: &[f64], period: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_period("rsi", "period", period, 2)?;
    let n = input.len();
    check_len("rsi", "out", n, out.len())?;
    if n > period {
        out[..period].fill(f64::NAN);
        if rsi_fast(input, period, &mut out[..n]) {
            return Ok(());
        }
    }
    drive(
        &mut Rsi::try_new(period)?,
        n,
        |i| input[i],
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// RSI fast path (`n > period`): Wilder blocks of [`WILDER_BLOCK`] bars in three loops —
/// (1) changes split and weighted (vectorizes), (2) the two running sums (one add each on the
/// dependency chain), (3) un-weighting and the RSI ratio (vectorizes, incl. the division). Same
/// operations as [`Rsi::update`], so bit-identical. Returns false if any input was not finite.
fn rsi_fast(input: &[f64], period: usize, out: &mut [f64]) -> bool {
    const B: usize = WILDER_BLOCK;
    let n = input.len();
    let inv = 1.0 / period as f64;
    let (mut gain, mut loss) = (0.0f64, 0.0f64);
    // `x · 0` is ±0 for finite x and NaN otherwise: NaN-sticky per-lane sums detect non-finite
    // input without a branch or a reduction in the hot loop.
    let mut chk = [0.0f64; B];
    chk[0] = input[0] * 0.0;
    for (&x, &p) in input[1..=period].iter().zip(&input[..period]) {
        chk[0] += x * 0.0;
        let (g, l) = Rsi::split(x - p);
        gain += g;
        loss += l;
    }
    gain *= inv;
    loss *= inv;
    out[period] = Rsi::value(gain, loss);
    let wilder = Wilder::new(period);
    let (w, pw) = wilder.tables();
    let bl = w.len();
    let (mut gs, mut ls) = ([0.0f64; B], [0.0f64; B]);
    let mut k0 = period + 1;
    while k0 < n {
        let len = bl.min(n - k0);
        let (xs, ps, o) = (
            &input[k0..k0 + len],
            &input[k0 - 1..k0 - 1 + len],
            &mut out[k0..k0 + len],
        );
        let (gs, ls, chk) = (&mut gs[..len], &mut ls[..len], &mut chk[..len]);
        for (((((g, l), c), &x), &p), &w) in gs
            .iter_mut()
            .zip(ls.iter_mut())
            .zip(chk.iter_mut())
            .zip(xs)
            .zip(ps)
            .zip(w)
        {
            *c += x * 0.0;
            let (dg, dl) = Rsi::split(x - p);
            *g = dg * w;
            *l = dl * w;
        }
        let (mut ug, mut ul) = (gain, loss);
        for (g, l) in gs.iter_mut().zip(ls.iter_mut()) {
            ug += *g;
            ul += *l;
            *g = ug;
            *l = ul;
        }
        for (((o, &ug), &ul), &pw) in o.iter_mut().zip(gs.iter()).zip(ls.iter()).zip(pw) {
            *o = Rsi::value(ug * pw, ul * pw);
        }
        gain = gs[len - 1] * pw[len - 1];
        loss = ls[len - 1] * pw[len - 1];
        k0 += len;
    }
    chk.iter().all(|&c| c == 0.0)
}

/// Batch RSI, allocating the output.
pub fn rsi(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; input.len()];
    rsi_into(input, period, &mut out)?;
    Ok(out)
}

/// One MACD value: line = fast EMA − slow EMA, signal = EMA of the line, histogram = line − signal.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MacdOutput {
    /// MACD line (price units).
    pub macd: f64,
    /// Signal line (price units).
    pub signal: f64,
    /// Histogram = macd − signal (price units).
    pub hist: f64,
}

/// MACD with TA-Lib's alignment (TA-Lib `MACD`, lookback `slow-1 + signal-1`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Macd {
    fast: usize,
    slow: usize,
    signal: usize,
    fast_k: f64,
    slow_k: f64,
    signal_k: f64,
    count: usize,
    slow_sum: f64,
    fast_sum: f64,
    prev_fast: f64,
    prev_slow: f64,
    prev_signal: f64,
}

impl Macd {
    /// A new MACD; `fast, slow ≥ 2`, `signal ≥ 1` (each at most [`crate::MAX_PERIOD`]) and
    /// `fast < slow`. TA-Lib swaps `fast > slow` silently; here it is refused
    /// ([`IndicatorError::ParameterOrder`]), as is `fast == slow` (an identically zero line).
    pub fn try_new(fast: usize, slow: usize, signal: usize) -> Result<Self, IndicatorError> {
        check_period("macd", "fast", fast, 2)?;
        check_period("macd", "slow", slow, 2)?;
        check_period("macd", "signal", signal, 1)?;
        if fast >= slow {
            return Err(IndicatorError::ParameterOrder {
                indicator: "macd",
                param: "fast",
                value: fast,
                other: "slow",
                other_value: slow,
            });
        }
        Ok(Self {
            fast,
            slow,
            signal,
            fast_k: 2.0 / (fast + 1) as f64,
            slow_k: 2.0 / (slow + 1) as f64,
            signal_k: 2.0 / (signal + 1) as f64,
            count: 0,
            slow_sum: 0.0,
            fast_sum: 0.0,
            prev_fast: 0.0,
            prev_slow: 0.0,
            prev_signal: 0.0,
        })
    }
}

impl Indicator for Macd {
    type Input = f64;
    type Output = MacdOutput;
    #[inline]
    fn update(&mut self, x: f64) -> Option<MacdOutput> {
        if !x.is_finite() {
            return None;
        }
        self.count += 1;
        let n = self.count;
        let last_seed = self.slow + self.signal - 1;
        if n <= self.slow {
            if n <= self.slow - self.fast {
                self.slow_sum += x;
            } else {
                self.fast_sum += x;
                self.slow_sum += x;
            }
            if n < self.slow {
                return None;
            }
            self.prev_slow = self.slow_sum / self.slow as f64;
            self.prev_fast = self.fast_sum / self.fast as f64;
            let m = self.prev_fast - self.prev_slow;
            self.prev_signal = 0.0;
            self.prev_signal += m;
            if self.signal == 1 {
                self.prev_signal /= self.signal as f64;
                return Some(MacdOutput {
                    macd: m,
                    signal: self.prev_signal,
                    hist: m - self.prev_signal,
                });
            }
            return None;
        }
        self.prev_fast = (x - self.prev_fast) * self.fast_k + self.prev_fast;
        self.prev_slow = (x - self.prev_slow) * self.slow_k + self.prev_slow;
        let m = self.prev_fast - self.prev_slow;
        if n <= last_seed {
            self.prev_signal += m;
            if n < last_seed {
                return None;
            }
            self.prev_signal /= self.signal as f64;
        } else {
            self.prev_signal = (m - self.prev_signal) * self.signal_k + self.prev_signal;
        }
        Some(MacdOutput {
            macd: m,
            signal: self.prev_signal,
            hist: m - self.prev_signal,
        })
    }
    fn reset(&mut self) {
        self.count = 0;
        self.slow_sum = 0.0;
        self.fast_sum = 0.0;
        self.prev_fast = 0.0;
        self.prev_slow = 0.0;
        self.prev_signal = 0.0;
    }
    fn warmup_period(&self) -> usize {
        self.slow - 1 + self.signal - 1
    }
}

/// Batch MACD into three outputs (line, signal, histogram); NaN in warm-up positions.
pub fn macd_into(
    input: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
    out_macd: &mut [f64],
    out_signal: &mut [f64],
    out_hist: &mut [f64],
) -> Result<(), IndicatorError> {
    let mut s = Macd::try_new(fast, slow, signal)?;
    let n = input.len();
    check_len("macd", "out_macd", n, out_macd.len())?;
    check_len("macd", "out_signal", n, out_signal.len())?;
    check_len("macd", "out_hist", n, out_hist.len())?;
    // MACD is latency-bound (three dependent EMA recurrences); the streaming state machine
    // costs nothing extra there, so batch drives it directly.
    drive(
        &mut s,
        n,
        |i| input[i],
        |i, o| match o {
            Some(v) => {
                out_macd[i] = v.macd;
                out_signal[i] = v.signal;
                out_hist[i] = v.hist;
            }
            None => {
                out_macd[i] = f64::NAN;
                out_signal[i] = f64::NAN;
                out_hist[i] = f64::NAN;
            }
        },
    );
    Ok(())
}

/// MACD batch output columns `(macd, signal, hist)`.
pub type MacdColumns = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Batch MACD, allocating `(macd, signal, hist)`.
pub fn macd(
    input: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
) -> Result<MacdColumns, IndicatorError> {
    let n = input.len();
    let (mut a, mut b, mut c) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    macd_into(input, fast, slow, signal, &mut a, &mut b, &mut c)?;
    Ok((a, b, c))
}

/// One stochastic value: slow %K and %D, 0..=100.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StochOutput {
    /// Slow %K (SMA of fast %K over `slowk` bars).
    pub k: f64,
    /// Slow %D (SMA of slow %K over `slowd` bars).
    pub d: f64,
}

/// Stochastic oscillator with SMA smoothing (TA-Lib `STOCH`, defaults 5,3,3,
/// lookback `fastk-1 + slowk-1 + slowd-1`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stoch {
    fastk: usize,
    highs: Ring,
    lows: Ring,
    slow_k: Sma,
    slow_d: Sma,
}

impl Stoch {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(fastk: usize, slowk: usize, slowd: usize) -> Result<(), IndicatorError> {
        check_period("stoch", "fastk", fastk, 1)?;
        check_period("stoch", "slowk", slowk, 1)?;
        check_period("stoch", "slowd", slowd, 1)?;
        Ok(())
    }

    /// A new stochastic; every period ≥ 1.
    pub fn try_new(fastk: usize, slowk: usize, slowd: usize) -> Result<Self, IndicatorError> {
        Self::validate(fastk, slowk, slowd)?;
        Ok(Self {
            fastk,
            highs: Ring::new(fastk),
            lows: Ring::new(fastk),
            slow_k: Sma::try_new(slowk)?,
            slow_d: Sma::try_new(slowd)?,
        })
    }

    #[inline(always)]
    pub(crate) fn fast_k(close: f64, highest: f64, lowest: f64) -> f64 {
        let diff = (highest - lowest) / 100.0;
        if diff != 0.0 {
            (close - lowest) / diff
        } else {
            0.0
        }
    }
}

impl Indicator for Stoch {
    type Input = Hlc;
    type Output = StochOutput;
    #[inline]
    fn update(&mut self, b: Hlc) -> Option<StochOutput> {
        if !b.is_finite() {
            return None;
        }
        self.highs.push(b.high);
        self.lows.push(b.low);
        if !self.highs.is_full() {
            return None;
        }
        // `+ 0.0` turns a -0.0 extreme into +0.0, so the result does not depend on which of
        // two equal zeros the scan met first (batch scans in another order).
        let hh = self
            .highs
            .values()
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, max)
            + 0.0;
        let ll = self.lows.values().iter().copied().fold(f64::INFINITY, min) + 0.0;
        let k = self.slow_k.step(Self::fast_k(b.close, hh, ll))?;
        let d = self.slow_d.step(k)?;
        Some(StochOutput { k, d })
    }
    fn reset(&mut self) {
        self.highs.clear();
        self.lows.clear();
        self.slow_k.reset();
        self.slow_d.reset();
    }
    fn warmup_period(&self) -> usize {
        self.fastk - 1 + self.slow_k.warmup_period() + self.slow_d.warmup_period()
    }
}

/// Batch stochastic into `(out_k, out_d)`; NaN in warm-up positions.
#[allow(clippy::too_many_arguments)]
pub fn stoch_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowd: usize,
    out_k: &mut [f64],
    out_d: &mut [f64],
) -> Result<(), IndicatorError> {
    Stoch::validate(fastk, slowk, slowd)?;
    let n = close.len();
    check_len("stoch", "high", n, high.len())?;
    check_len("stoch", "low", n, low.len())?;
    check_len("stoch", "out_k", n, out_k.len())?;
    check_len("stoch", "out_d", n, out_d.len())?;
    let lbk = fastk - 1;
    let lb = lbk + slowk - 1 + slowd - 1;
    out_k[..lb.min(n)].fill(f64::NAN);
    out_d[..lb.min(n)].fill(f64::NAN);
    if n > lb
        && slowk <= STOCH_RING
        && slowd <= STOCH_RING
        && stoch_fast(high, low, close, fastk, slowk, slowd, out_k, out_d)
    {
        return Ok(());
    }
    let mut s = Stoch::try_new(fastk, slowk, slowd)?;
    for i in 0..n {
        let o = s.update(Hlc {
            high: high[i],
            low: low[i],
            close: close[i],
        });
        match o {
            Some(v) => {
                out_k[i] = v.k;
                out_d[i] = v.d;
            }
            None => {
                out_k[i] = f64::NAN;
                out_d[i] = f64::NAN;
            }
        }
    }
    Ok(())
}

#[inline(always)]
fn max(a: f64, v: f64) -> f64 {
    if v > a { v } else { a }
}

#[inline(always)]
fn min(a: f64, v: f64) -> f64 {
    if v < a { v } else { a }
}

/// Capacity of the on-stack rings of the STOCH fast path (slow periods up to this size).
const STOCH_RING: usize = 64;

/// STOCH fast path (warm-up already NaN-filled, `n > lookback`): one pass, window extremes by a
/// direct branch-free scan (small `fastk`) or TA-Lib's incremental tracking, both SMAs inline
/// with on-stack rings. Returns false (outputs unspecified) if any input was not finite.
#[allow(clippy::too_many_arguments)]
fn stoch_fast(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowd: usize,
    out_k: &mut [f64],
    out_d: &mut [f64],
) -> bool {
    const MASK: usize = STOCH_RING - 1;
    let n = close.len();
    let (high, low, out_k, out_d) = (&high[..n], &low[..n], &mut out_k[..n], &mut out_d[..n]);
    let lbk = fastk - 1;
    let mut ok = true;
    for i in 0..lbk {
        ok &= high[i].is_finite() & low[i].is_finite() & close[i].is_finite();
    }
    let (skf, sdf) = (slowk as f64, slowd as f64);
    let (mut fkr, mut kr) = ([0.0f64; STOCH_RING], [0.0f64; STOCH_RING]);
    let (mut tk, mut td) = (0.0f64, 0.0f64);
    let direct = fastk <= 16;
    let (mut hi_idx, mut lo_idx) = (usize::MAX, usize::MAX);
    let (mut highest, mut lowest) = (0.0f64, 0.0f64);
    for i in lbk..n {
        let (h, l, c) = (high[i], low[i], close[i]);
        ok &= h.is_finite() & l.is_finite() & c.is_finite();
        let trailing = i - lbk;
        let (hh, ll) = if direct {
            let hw = &high[trailing..=i];
            let lw = &low[trailing..=i];
            (
                hw.iter().fold(f64::NEG_INFINITY, |a, &v| max(a, v)),
                lw.iter().fold(f64::INFINITY, |a, &v| min(a, v)),
            )
        } else {
            if lo_idx == usize::MAX || lo_idx < trailing {
                lo_idx = trailing;
                lowest = low[trailing];
                for (j, &v) in low.iter().enumerate().take(i + 1).skip(trailing + 1) {
                    if v < lowest {
                        lo_idx = j;
                        lowest = v;
                    }
                }
            } else if l <= lowest {
                lo_idx = i;
                lowest = l;
            }
            if hi_idx == usize::MAX || hi_idx < trailing {
                hi_idx = trailing;
                highest = high[trailing];
                for (j, &v) in high.iter().enumerate().take(i + 1).skip(trailing + 1) {
                    if v > highest {
                        hi_idx = j;
                        highest = v;
                    }
                }
            } else if h >= highest {
                hi_idx = i;
                highest = h;
            }
            (highest, lowest)
        };
        let fk = Stoch::fast_k(c, hh + 0.0, ll + 0.0);
        // Slow %K: TA-Lib's rolling-sum SMA of fast %K (index j), exactly `Sma::step`.
        let j = trailing;
        tk += fk;
        fkr[j & MASK] = fk;
        if j + 1 < slowk {
            continue;
        }
        let t = tk;
        tk -= fkr[(j + 1 - slowk) & MASK];
        let k = t / skf;
        let jj = j + 1 - slowk;
        td += k;
        kr[jj & MASK] = k;
        if jj + 1 < slowd {
            continue;
        }
        let t = td;
        td -= kr[(jj + 1 - slowd) & MASK];
        out_k[i] = k;
        out_d[i] = t / sdf;
    }
    ok
}

/// Batch stochastic, allocating `(k, d)`.
pub fn stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowd: usize,
) -> Result<(Vec<f64>, Vec<f64>), IndicatorError> {
    let n = close.len();
    let (mut k, mut d) = (vec![0.0; n], vec![0.0; n]);
    stoch_into(high, low, close, fastk, slowk, slowd, &mut k, &mut d)?;
    Ok((k, d))
}

/// Average Directional Movement Index, Wilder (TA-Lib `ADX`, lookback `2·period − 1`), 0..=100.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Adx {
    period: usize,
    count: usize,
    prev_high: f64,
    prev_low: f64,
    prev_close: f64,
    minus_dm: f64,
    plus_dm: f64,
    tr: f64,
    sum_dx: f64,
    adx: f64,
}

impl Adx {
    /// A new ADX; `period ≥ 2` (TA-Lib's minimum).
    pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
        check_period("adx", "period", period, 2)?;
        Ok(Self {
            period,
            count: 0,
            prev_high: 0.0,
            prev_low: 0.0,
            prev_close: 0.0,
            minus_dm: 0.0,
            plus_dm: 0.0,
            tr: 0.0,
            sum_dx: 0.0,
            adx: 0.0,
        })
    }

    /// DX of the current smoothed DM/TR, if defined (TA-Lib's two `TA_IS_ZERO` guards).
    #[inline(always)]
    fn dx(&self) -> Option<f64> {
        adx_dx(self.minus_dm, self.plus_dm, self.tr)
    }
}

impl Indicator for Adx {
    type Input = Hlc;
    type Output = f64;
    #[inline]
    fn update(&mut self, b: Hlc) -> Option<f64> {
        if !b.is_finite() {
            return None;
        }
        self.count += 1;
        let n = self.count;
        let p = self.period;
        let pf = p as f64;
        if n == 1 {
            self.prev_high = b.high;
            self.prev_low = b.low;
            self.prev_close = b.close;
            return None;
        }
        let diff_p = b.high - self.prev_high;
        self.prev_high = b.high;
        let diff_m = self.prev_low - b.low;
        self.prev_low = b.low;
        let smoothing = n > p;
        if smoothing {
            self.minus_dm -= self.minus_dm / pf;
            self.plus_dm -= self.plus_dm / pf;
        }
        if diff_m > 0.0 && diff_p < diff_m {
            self.minus_dm += diff_m;
        } else if diff_p > 0.0 && diff_p > diff_m {
            self.plus_dm += diff_p;
        }
        let range = adx_range(self.prev_high, self.prev_low, self.prev_close);
        self.prev_close = b.close;
        if !smoothing {
            self.tr += range;
            return None;
        }
        self.tr = self.tr - self.tr / pf + range;
        if n <= 2 * p {
            if let Some(dx) = self.dx() {
                self.sum_dx += dx;
            }
            if n < 2 * p {
                return None;
            }
            self.adx = self.sum_dx / pf;
            return Some(self.adx);
        }
        if let Some(dx) = self.dx() {
            self.adx = (self.adx * (p - 1) as f64 + dx) / pf;
        }
        Some(self.adx)
    }
    fn reset(&mut self) {
        let p = self.period;
        *self = Self {
            period: p,
            count: 0,
            prev_high: 0.0,
            prev_low: 0.0,
            prev_close: 0.0,
            minus_dm: 0.0,
            plus_dm: 0.0,
            tr: 0.0,
            sum_dx: 0.0,
            adx: 0.0,
        };
    }
    fn warmup_period(&self) -> usize {
        2 * self.period - 1
    }
}

/// Batch ADX into `out`; NaN in warm-up positions.
pub fn adx_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    let mut s = Adx::try_new(period)?;
    let n = close.len();
    check_len("adx", "high", n, high.len())?;
    check_len("adx", "low", n, low.len())?;
    check_len("adx", "out", n, out.len())?;
    let lb = 2 * period - 1;
    if n > lb {
        out[..lb].fill(f64::NAN);
        if adx_fast(high, low, close, period, out) {
            return Ok(());
        }
    }
    drive(
        &mut s,
        n,
        |i| Hlc {
            high: high[i],
            low: low[i],
            close: close[i],
        },
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// DX from smoothed −DM, +DM and TR, if defined (TA-Lib's two `TA_IS_ZERO` guards).
#[inline(always)]
fn adx_dx(minus_dm: f64, plus_dm: f64, tr: f64) -> Option<f64> {
    if ta_is_zero(tr) {
        return None;
    }
    let minus_di = 100.0 * (minus_dm / tr);
    let plus_di = 100.0 * (plus_dm / tr);
    let t = minus_di + plus_di;
    if ta_is_zero(t) {
        return None;
    }
    Some(100.0 * ((minus_di - plus_di).abs() / t))
}

/// TA-Lib ADX's true range (its own order of comparisons).
#[inline(always)]
fn adx_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut range = high - low;
    let t = (high - prev_close).abs();
    if t > range {
        range = t;
    }
    let t = (low - prev_close).abs();
    if t > range {
        range = t;
    }
    range
}

/// One bar of ADX's directional movement: updates `(minus_dm, plus_dm)` branch-free (adding
/// -0.0 is the identity, so this is bit-identical to the streaming struct's branches).
#[inline(always)]
fn adx_dm(diff_p: f64, diff_m: f64, minus_dm: &mut f64, plus_dm: &mut f64) {
    let m = (diff_m > 0.0) & (diff_p < diff_m);
    let p = (diff_p > 0.0) & (diff_p > diff_m);
    *minus_dm += if m { diff_m } else { -0.0 };
    *plus_dm += if p { diff_p } else { -0.0 };
}

/// ADX fast path over finite input (`n > 2p-1`, warm-up already NaN-filled): the streaming
/// arithmetic unrolled into its three phases. Returns false if any input was not finite.
fn adx_fast(high: &[f64], low: &[f64], close: &[f64], p: usize, out: &mut [f64]) -> bool {
    let n = close.len();
    let (high, low, out) = (&high[..n], &low[..n], &mut out[..n]);
    let pf = p as f64;
    let pm1 = (p - 1) as f64;
    let (mut ph, mut pl, mut pc) = (high[0], low[0], close[0]);
    let mut ok = ph.is_finite() & pl.is_finite() & pc.is_finite();
    let (mut mdm, mut pdm, mut tr) = (0.0f64, 0.0f64, 0.0f64);
    for i in 1..p {
        let (h, l, c) = (high[i], low[i], close[i]);
        ok &= h.is_finite() & l.is_finite() & c.is_finite();
        adx_dm(h - ph, pl - l, &mut mdm, &mut pdm);
        (ph, pl) = (h, l);
        tr += adx_range(h, l, pc);
        pc = c;
    }
    let mut sum_dx = 0.0;
    for i in p..2 * p {
        let (h, l, c) = (high[i], low[i], close[i]);
        ok &= h.is_finite() & l.is_finite() & c.is_finite();
        mdm -= mdm / pf;
        pdm -= pdm / pf;
        adx_dm(h - ph, pl - l, &mut mdm, &mut pdm);
        (ph, pl) = (h, l);
        tr = tr - tr / pf + adx_range(h, l, pc);
        pc = c;
        if let Some(dx) = adx_dx(mdm, pdm, tr) {
            sum_dx += dx;
        }
    }
    let mut adx = sum_dx / pf;
    out[2 * p - 1] = adx;
    let (hs, ls, cs) = (&high[2 * p..], &low[2 * p..], &close[2 * p..]);
    for (((o, &h), &l), &c) in out[2 * p..].iter_mut().zip(hs).zip(ls).zip(cs) {
        ok &= h.is_finite() & l.is_finite() & c.is_finite();
        mdm -= mdm / pf;
        pdm -= pdm / pf;
        adx_dm(h - ph, pl - l, &mut mdm, &mut pdm);
        (ph, pl) = (h, l);
        tr = tr - tr / pf + adx_range(h, l, pc);
        pc = c;
        if let Some(dx) = adx_dx(mdm, pdm, tr) {
            adx = (adx * pm1 + dx) / pf;
        }
        *o = adx;
    }
    ok
}

/// Batch ADX, allocating the output.
pub fn adx(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; close.len()];
    adx_into(high, low, close, period, &mut out)?;
    Ok(out)
}

/// Generates a "value vs value `period` bars ago" indicator (ROC, MOM, returns).
macro_rules! lag_indicator {
    ($(#[$doc:meta])* $name:ident, $key:literal, $min:literal, $into:ident, $alloc:ident, |$x:ident, $prev:ident| $f:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            period: usize,
            ring: Ring,
        }

        impl $name {
            /// Validate the parameters as [`Self::try_new`] does, without allocating.
            pub(crate) fn validate(period: usize) -> Result<(), IndicatorError> {
                check_period($key, "period", period, $min)?;
                Ok(())
            }

            /// A new instance; `period ≥ 1`.
            pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
                Self::validate(period)?;
                Ok(Self { period, ring: Ring::new(period) })
            }

            #[inline(always)]
            fn calc($x: f64, $prev: f64) -> f64 {
                $f
            }
        }

        impl Indicator for $name {
            type Input = f64;
            type Output = f64;
            #[inline]
            fn update(&mut self, x: f64) -> Option<f64> {
                if !x.is_finite() {
                    return None;
                }
                let out = if self.ring.is_full() { Some(Self::calc(x, self.ring.oldest())) } else { None };
                self.ring.push(x);
                out
            }
            fn reset(&mut self) {
                self.ring.clear();
            }
            fn warmup_period(&self) -> usize {
                self.period
            }
        }

        /// Batch version into `out`; NaN in warm-up positions.
        pub fn $into(input: &[f64], period: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
            $name::validate(period)?;
            let n = input.len();
            check_len($key, "out", n, out.len())?;
            if n > period {
                // Fused single pass (vectorizes): finiteness accumulated alongside, exact slow
                // path below if any input was not finite.
                out[..period].fill(f64::NAN);
                let mut ok = input[..period].iter().fold(true, |a, x| a & x.is_finite());
                let (xs, ps) = (&input[period..n], &input[..n - period]);
                for ((o, &x), &p) in out[period..n].iter_mut().zip(xs).zip(ps) {
                    ok &= x.is_finite();
                    *o = $name::calc(x, p);
                }
                if ok {
                    return Ok(());
                }
            }
            drive(&mut $name::try_new(period)?, n, |i| input[i], |i, o| out[i] = o.unwrap_or(f64::NAN));
            Ok(())
        }

        /// Batch version, allocating the output.
        pub fn $alloc(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
            let mut out = vec![0.0; input.len()];
            $into(input, period, &mut out)?;
            Ok(out)
        }
    };
}

lag_indicator!(
    /// Rate of change in percent, `((x / x[-period]) - 1) * 100`, 0 when `x[-period]` is 0
    /// (TA-Lib `ROC`, lookback `period`).
    Roc, "roc", 1, roc_into, roc,
    |x, prev| if prev != 0.0 { ((x / prev) - 1.0) * 100.0 } else { 0.0 }
);
lag_indicator!(
    /// Momentum, `x - x[-period]` in price units (TA-Lib `MOM`, lookback `period`).
    Mom, "mom", 1, mom_into, mom,
    |x, prev| x - prev
);
lag_indicator!(
    /// Simple returns over `period` bars, `(x - x[-period]) / x[-period]` as a fraction, 0 when
    /// `x[-period]` is 0 (TA-Lib `ROCP`; `period = 1` gives bar returns).
    Returns, "ret", 1, returns_into, returns,
    |x, prev| if prev != 0.0 { (x - prev) / prev } else { 0.0 }
);

/// Log returns `ln(x_t / x_{t-1})` (lookback 1). Non-positive prices count as non-finite.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LogReturn {
    prev: Option<f64>,
}

impl LogReturn {
    /// A new log-return stream (no parameters; never fails).
    pub fn try_new() -> Result<Self, IndicatorError> {
        Ok(Self { prev: None })
    }
}

impl Indicator for LogReturn {
    type Input = f64;
    type Output = f64;
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if !(x.is_finite() && x > 0.0) {
            return None;
        }
        let out = self.prev.map(|p| (x / p).ln());
        self.prev = Some(x);
        out
    }
    fn reset(&mut self) {
        self.prev = None;
    }
    fn warmup_period(&self) -> usize {
        1
    }
}

/// Batch log returns into `out`; NaN in warm-up positions.
pub fn log_returns_into(input: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
    let n = input.len();
    check_len("logret", "out", n, out.len())?;
    if n > 1 {
        out[0] = f64::NAN;
        let x0 = input[0];
        let mut ok = x0.is_finite() & (x0 > 0.0);
        for ((o, &x), &p) in out[1..n].iter_mut().zip(&input[1..n]).zip(&input[..n - 1]) {
            ok &= x.is_finite() & (x > 0.0);
            *o = (x / p).ln();
        }
        if ok {
            return Ok(());
        }
    }
    let mut s = LogReturn::default();
    drive(
        &mut s,
        input.len(),
        |i| input[i],
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch log returns, allocating the output.
pub fn log_returns(input: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; input.len()];
    log_returns_into(input, &mut out)?;
    Ok(out)
}
