//! Volatility: true range, ATR, ATR percentile rank, Bollinger Bands, rolling standard deviation,
//! annualized rolling volatility, z-score.

use crate::ma::Sma;
use crate::util::{
    Moments, Ring, WILDER_BLOCK, Wilder, check_len, check_period, check_positive, moments_batch,
    ta_is_zero_or_neg,
};
use crate::{Hlc, Indicator, IndicatorError, drive};

/// TA-Lib's true range of a bar given the previous close (greatest of h−l, |pc−h|, |pc−l|).
#[inline(always)]
fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut greatest = high - low;
    let v2 = (prev_close - high).abs();
    if v2 > greatest {
        greatest = v2;
    }
    let v3 = (prev_close - low).abs();
    if v3 > greatest {
        greatest = v3;
    }
    greatest
}

/// True range (TA-Lib `TRANGE`, lookback 1), price units.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TrueRange {
    prev_close: Option<f64>,
}

impl TrueRange {
    /// A new true-range stream (no parameters; never fails).
    pub fn try_new() -> Result<Self, IndicatorError> {
        Ok(Self::default())
    }
}

impl Indicator for TrueRange {
    type Input = Hlc;
    type Output = f64;
    #[inline]
    fn update(&mut self, b: Hlc) -> Option<f64> {
        if !b.is_finite() {
            return None;
        }
        let out = self.prev_close.map(|pc| true_range(b.high, b.low, pc));
        self.prev_close = Some(b.close);
        out
    }
    fn reset(&mut self) {
        self.prev_close = None;
    }
    fn warmup_period(&self) -> usize {
        1
    }
}

fn check_hlc(
    ind: &'static str,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    out: usize,
) -> Result<(), IndicatorError> {
    let n = close.len();
    check_len(ind, "high", n, high.len())?;
    check_len(ind, "low", n, low.len())?;
    check_len(ind, "out", n, out)
}

/// Whether bar `0`'s high/low and the last close are finite (the values a fused fast loop over
/// `(high[i], low[i], close[i-1])`, `i ≥ 1`, does not visit).
#[inline(always)]
fn hlc_edges_finite(high: &[f64], low: &[f64], close: &[f64]) -> bool {
    match (high.first(), low.first(), close.last()) {
        (Some(h), Some(l), Some(c)) => h.is_finite() & l.is_finite() & c.is_finite(),
        _ => true,
    }
}

/// Slow path shared by the HLC batch functions: drive the streaming struct (exact skip rule).
fn drive_hlc<I: Indicator<Input = Hlc, Output = f64>>(
    s: &mut I,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    out: &mut [f64],
) {
    drive(
        s,
        close.len(),
        |i| Hlc {
            high: high[i],
            low: low[i],
            close: close[i],
        },
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
}

/// Batch true range into `out`; NaN at index 0.
pub fn trange_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    check_hlc("trange", high, low, close, out.len())?;
    let n = close.len();
    if n == 0 {
        return Ok(());
    }
    out[0] = f64::NAN;
    // Fused single pass: compute and accumulate finiteness; redo exactly if anything was not.
    let mut ok = hlc_edges_finite(high, low, close);
    let (h, l, pc) = (&high[1..n], &low[1..n], &close[..n - 1]);
    for (((o, &h), &l), &pc) in out[1..n].iter_mut().zip(h).zip(l).zip(pc) {
        ok &= h.is_finite() & l.is_finite() & pc.is_finite();
        *o = true_range(h, l, pc);
    }
    if !ok {
        drive_hlc(&mut TrueRange::default(), high, low, close, out);
    }
    Ok(())
}

/// Batch true range, allocating the output.
pub fn trange(high: &[f64], low: &[f64], close: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; close.len()];
    trange_into(high, low, close, &mut out)?;
    Ok(out)
}

/// Average true range, Wilder smoothing (TA-Lib `ATR`, lookback `period`), price units.
/// Seeded by the mean of the first `period` true ranges, then smoothed by
/// `util::Wilder` (crate docs) (`s = s·(p−1)/p + tr/p`, a few ulps from TA-Lib's rounding).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Atr {
    period: usize,
    tr: TrueRange,
    count: usize,
    sum: f64,
    prev: f64,
    wilder: Option<Wilder>,
}

impl Atr {
    /// A new ATR; `period ≥ 1` (period 1 is the true range, as in TA-Lib).
    pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
        check_period("atr", "period", period, 1)?;
        Ok(Self {
            period,
            tr: TrueRange::default(),
            count: 0,
            sum: 0.0,
            prev: 0.0,
            wilder: (period > 1).then(|| Wilder::new(period)),
        })
    }

    #[inline(always)]
    fn on_tr(&mut self, tr: f64) -> Option<f64> {
        if self.period == 1 {
            return Some(tr);
        }
        if self.count < self.period {
            self.sum += tr;
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
        if let Some(w) = &mut self.wilder {
            self.prev = w.step(tr);
        }
        Some(self.prev)
    }
}

impl Indicator for Atr {
    type Input = Hlc;
    type Output = f64;
    #[inline]
    fn update(&mut self, b: Hlc) -> Option<f64> {
        let tr = self.tr.update(b)?;
        self.on_tr(tr)
    }
    fn reset(&mut self) {
        self.tr.reset();
        self.count = 0;
        self.sum = 0.0;
        self.prev = 0.0;
    }
    fn warmup_period(&self) -> usize {
        self.period
    }
}

/// Batch ATR into `out`; NaN in warm-up positions.
pub fn atr_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    let mut s = Atr::try_new(period)?;
    check_hlc("atr", high, low, close, out.len())?;
    let n = close.len();
    if period == 1 || n <= period {
        drive_hlc(&mut s, high, low, close, out);
        return Ok(());
    }
    out[..period].fill(f64::NAN);
    let pf = period as f64;
    // Fused single pass (finiteness accumulated alongside; exact slow path if any was not).
    let mut ok = hlc_edges_finite(high, low, close);
    let mut sum = 0.0;
    for i in 1..=period {
        let (h, l, pc) = (high[i], low[i], close[i - 1]);
        ok &= h.is_finite() & l.is_finite() & pc.is_finite();
        sum += true_range(h, l, pc);
    }
    let seed = sum / pf;
    out[period] = seed;
    let (h, l, pc) = (
        &high[period + 1..n],
        &low[period + 1..n],
        &close[period..n - 1],
    );
    // Wilder blocks in two loops: (1) weighted true ranges (vectorizes), (2) the running sum
    // (one add on the dependency chain) and un-weighting. Same operations as `Atr::update`.
    const B: usize = WILDER_BLOCK;
    let wilder = Wilder::new(period);
    let (w, pw) = wilder.tables();
    let bl = w.len();
    let mut chk = [0.0f64; B];
    let mut trw = [0.0f64; B];
    let mut sm = seed;
    let m = n - (period + 1);
    let mut k0 = 0;
    while k0 < m {
        let len = bl.min(m - k0);
        let (hb, lb, pb) = (&h[k0..k0 + len], &l[k0..k0 + len], &pc[k0..k0 + len]);
        let (trw, chk) = (&mut trw[..len], &mut chk[..len]);
        for (((((t, c), &h), &l), &p), &w) in trw
            .iter_mut()
            .zip(chk.iter_mut())
            .zip(hb)
            .zip(lb)
            .zip(pb)
            .zip(w)
        {
            *c += (h + l + p) * 0.0;
            *t = true_range(h, l, p) * w;
        }
        let o = &mut out[period + 1 + k0..period + 1 + k0 + len];
        let mut u = sm;
        for ((o, &t), &pw) in o.iter_mut().zip(trw.iter()).zip(pw) {
            u += t;
            sm = u * pw;
            *o = sm;
        }
        k0 += len;
    }
    ok &= chk.iter().all(|&c| c == 0.0);
    if !ok {
        drive_hlc(&mut s, high, low, close, out);
    }
    Ok(())
}

/// Batch ATR, allocating the output.
pub fn atr(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; close.len()];
    atr_into(high, low, close, period, &mut out)?;
    Ok(out)
}

/// ATR percentile rank: percentage of the previous `window` ATR values strictly below the current
/// one (TA-Lib `PERCENTRANK(ATR(period), window)`, lookback `period + window`), 0..=100.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AtrPercentile {
    atr: Atr,
    window: usize,
    ring: Ring,
}

impl AtrPercentile {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(period: usize, window: usize) -> Result<(), IndicatorError> {
        check_period("atrp", "window", window, 2)?;
        Atr::try_new(period).map(drop)
    }

    /// A new ATR percentile rank; `period ≥ 1`, `window ≥ 2` (TA-Lib's PERCENTRANK minimum).
    pub fn try_new(period: usize, window: usize) -> Result<Self, IndicatorError> {
        Self::validate(period, window)?;
        Ok(Self {
            atr: Atr::try_new(period)?,
            window,
            ring: Ring::new(window + 1),
        })
    }
}

impl Indicator for AtrPercentile {
    type Input = Hlc;
    type Output = f64;
    #[inline]
    fn update(&mut self, b: Hlc) -> Option<f64> {
        let a = self.atr.update(b)?;
        self.ring.push(a);
        if !self.ring.is_full() {
            return None;
        }
        // The ring holds the previous `window` values plus `a` itself (never below itself), so
        // counting over all of it, in storage order, is the same count.
        let count = count_below(self.ring.values(), a);
        Some(count as f64 / self.window as f64 * 100.0)
    }
    fn reset(&mut self) {
        self.atr.reset();
        self.ring.clear();
    }
    fn warmup_period(&self) -> usize {
        self.atr.warmup_period() + self.window
    }
}

/// How many of `values` are strictly below `cur`: sixteen independent lanes (vectorizes into
/// compare + subtract of the all-ones mask), then pairs, then at most one scalar.
#[inline(always)]
fn count_below(values: &[f64], cur: f64) -> usize {
    let mut lanes = [0u64; 16];
    let mut chunks = values.chunks_exact(16);
    for c in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += u64::from(v < cur);
        }
    }
    let mut pairs = chunks.remainder().chunks_exact(2);
    let mut two = [0u64; 2];
    for c in &mut pairs {
        for (l, &v) in two.iter_mut().zip(c) {
            *l += u64::from(v < cur);
        }
    }
    let last = pairs.remainder().first().map_or(0, |&v| u64::from(v < cur));
    (lanes.iter().sum::<u64>() + two[0] + two[1] + last) as usize
}

/// For each of four thresholds, how many of `values` are strictly below it (one pass; each
/// threshold keeps two lanes, so each pair of values is one packed compare + subtract).
#[inline(always)]
fn count_below4(values: &[f64], cur: [f64; 4]) -> [usize; 4] {
    let [t0, t1, t2, t3] = cur;
    let mut acc = [0u64; 8];
    let mut chunks = values.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = *c {
            acc[0] += u64::from(a < t0);
            acc[1] += u64::from(b < t0);
            acc[2] += u64::from(a < t1);
            acc[3] += u64::from(b < t1);
            acc[4] += u64::from(a < t2);
            acc[5] += u64::from(b < t2);
            acc[6] += u64::from(a < t3);
            acc[7] += u64::from(b < t3);
        }
    }
    let mut out = [0usize; 4];
    for (m, (o, &t)) in out.iter_mut().zip(&cur).enumerate() {
        let rest = chunks.remainder().iter().filter(|&&v| v < t).count();
        *o = (acc[2 * m] + acc[2 * m + 1]) as usize + rest;
    }
    out
}

/// Batch ATR percentile rank into `out`; NaN in warm-up positions.
pub fn atr_percentile_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    window: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    AtrPercentile::validate(period, window)?;
    check_hlc("atrp", high, low, close, out.len())?;
    let finite = high.iter().chain(low).chain(close).all(|v| v.is_finite());
    if !finite {
        drive_hlc(
            &mut AtrPercentile::try_new(period, window)?,
            high,
            low,
            close,
            out,
        );
        return Ok(());
    }
    atr_into(high, low, close, period, out)?;
    // Rank in place from the end backwards would overwrite needed values; rank forward with a
    // lag: position i needs ATR[i-window..=i], all at or before i, and we overwrite i only after
    // every later position that needs it has been computed — so walk backwards.
    let n = close.len();
    let lb = period + window;
    let wf = window as f64;
    // Groups of four outputs share one pass over the common part of their windows (loads and
    // per-window overhead amortized); the ragged ends are counted separately.
    let mut end = n;
    if window >= 8 {
        while end >= lb + 4 {
            let g = end - 4;
            let cur = [out[g], out[g + 1], out[g + 2], out[g + 3]];
            let mut counts = count_below4(&out[g + 3 - window..g], cur);
            for (m, c) in counts.iter_mut().enumerate() {
                let head = &out[g + m - window..g + 3 - window];
                let tail = &out[g..g + m];
                *c += head.iter().chain(tail).filter(|&&v| v < cur[m]).count();
            }
            for (o, c) in out[g..end].iter_mut().zip(counts) {
                *o = c as f64 / wf * 100.0;
            }
            end = g;
        }
    }
    for i in (lb..end).rev() {
        let cur = out[i];
        let count = count_below(&out[i - window..i], cur);
        out[i] = count as f64 / wf * 100.0;
    }
    out[..lb.min(n)].fill(f64::NAN);
    Ok(())
}

/// Batch ATR percentile rank, allocating the output.
pub fn atr_percentile(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    window: usize,
) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; close.len()];
    atr_percentile_into(high, low, close, period, window, &mut out)?;
    Ok(out)
}

/// One Bollinger Bands value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BBandsOutput {
    /// Upper band = middle + k·σ (price units).
    pub upper: f64,
    /// Middle band = SMA (price units).
    pub middle: f64,
    /// Lower band = middle − k·σ (price units).
    pub lower: f64,
    /// %B = (close − lower) / (upper − lower), 0.5 when the bands collapse (fraction).
    pub percent_b: f64,
    /// Bandwidth = (upper − lower) / middle, 0 when middle is 0 (fraction).
    pub bandwidth: f64,
}

/// Bollinger Bands: SMA ± k·population σ (TA-Lib `BBANDS` with `matype=SMA`, lookback `period-1`).
/// The middle band is TA-Lib's rolling-sum SMA; σ comes from shifted rolling moments (accurate to
/// ~1e-12 relative like TA-Lib 0.8, where the textbook `E[x²]−E[x]²` loses digits on large prices).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BollingerBands {
    period: usize,
    k: f64,
    sma: Sma,
    moments: Moments,
}

impl BollingerBands {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(period: usize, k: f64) -> Result<(), IndicatorError> {
        check_period("bbands", "period", period, 2)?;
        check_positive("bbands", "nbdev", k)?;
        Ok(())
    }

    /// New bands; `2 ≤ period ≤ MAX_PERIOD` (2 is TA-Lib's minimum), `k` finite and > 0.
    pub fn try_new(period: usize, k: f64) -> Result<Self, IndicatorError> {
        Self::validate(period, k)?;
        Ok(Self {
            period,
            k,
            sma: Sma::try_new(period)?,
            moments: Moments::new(period),
        })
    }

    /// `(upper, middle, lower)` from the middle band and the variance.
    #[inline(always)]
    fn bands(middle: f64, var: f64, k: f64) -> (f64, f64, f64) {
        // sqrt computed unconditionally, then selected: branch-free, so the batch finishing
        // loop vectorizes (same values as guarded code).
        let root = var.sqrt();
        let sd = if !ta_is_zero_or_neg(var) { root } else { 0.0 };
        let t = sd * k;
        (middle + t, middle, middle - t)
    }

    #[inline(always)]
    fn finish(x: f64, middle: f64, var: f64, k: f64) -> BBandsOutput {
        let (upper, middle, lower) = Self::bands(middle, var, k);
        let w = upper - lower;
        let pb = (x - lower) / w;
        let bw = w / middle;
        BBandsOutput {
            upper,
            middle,
            lower,
            percent_b: if w != 0.0 { pb } else { 0.5 },
            bandwidth: if middle != 0.0 { bw } else { 0.0 },
        }
    }
}

impl Indicator for BollingerBands {
    type Input = f64;
    type Output = BBandsOutput;
    #[inline]
    fn update(&mut self, x: f64) -> Option<BBandsOutput> {
        if !x.is_finite() {
            return None;
        }
        let m = self.sma.step(x);
        let (_, var) = self.moments.push(x)?;
        Some(Self::finish(x, m?, var, self.k))
    }
    fn reset(&mut self) {
        self.sma.reset();
        self.moments.clear();
    }
    fn warmup_period(&self) -> usize {
        self.period - 1
    }
}

/// Output slices for [`bbands_into`], each the length of the input.
#[derive(Debug)]
pub struct BBandsOut<'a> {
    /// Upper band.
    pub upper: &'a mut [f64],
    /// Middle band.
    pub middle: &'a mut [f64],
    /// Lower band.
    pub lower: &'a mut [f64],
    /// %B.
    pub percent_b: &'a mut [f64],
    /// Bandwidth.
    pub bandwidth: &'a mut [f64],
}

impl BBandsOut<'_> {
    #[inline(always)]
    fn set(&mut self, i: usize, o: Option<BBandsOutput>) {
        let v = o.unwrap_or(BBandsOutput {
            upper: f64::NAN,
            middle: f64::NAN,
            lower: f64::NAN,
            percent_b: f64::NAN,
            bandwidth: f64::NAN,
        });
        self.upper[i] = v.upper;
        self.middle[i] = v.middle;
        self.lower[i] = v.lower;
        self.percent_b[i] = v.percent_b;
        self.bandwidth[i] = v.bandwidth;
    }
}

/// Batch Bollinger Bands into `out`; NaN in warm-up positions.
pub fn bbands_into(
    input: &[f64],
    period: usize,
    k: f64,
    out: &mut BBandsOut<'_>,
) -> Result<(), IndicatorError> {
    BollingerBands::validate(period, k)?;
    let n = input.len();
    check_len("bbands", "upper", n, out.upper.len())?;
    check_len("bbands", "middle", n, out.middle.len())?;
    check_len("bbands", "lower", n, out.lower.len())?;
    check_len("bbands", "percent_b", n, out.percent_b.len())?;
    check_len("bbands", "bandwidth", n, out.bandwidth.len())?;
    let extra = Some((&mut *out.percent_b, &mut *out.bandwidth));
    if !bbands_fast(input, period, k, out.upper, out.middle, out.lower, extra) {
        let mut s = BollingerBands::try_new(period, k)?;
        for (i, &x) in input.iter().enumerate() {
            let o = s.update(x);
            out.set(i, o);
        }
    }
    Ok(())
}

/// Batch Bollinger Bands, the three bands only (TA-Lib `BBANDS`' outputs; same values as
/// [`bbands_into`]'s, without computing %B and bandwidth); NaN in warm-up positions.
pub fn bbands_bands_into(
    input: &[f64],
    period: usize,
    k: f64,
    upper: &mut [f64],
    middle: &mut [f64],
    lower: &mut [f64],
) -> Result<(), IndicatorError> {
    BollingerBands::validate(period, k)?;
    let n = input.len();
    check_len("bbands", "upper", n, upper.len())?;
    check_len("bbands", "middle", n, middle.len())?;
    check_len("bbands", "lower", n, lower.len())?;
    if !bbands_fast(input, period, k, upper, middle, lower, None) {
        let mut s = BollingerBands::try_new(period, k)?;
        for (i, &x) in input.iter().enumerate() {
            let o = s.update(x);
            upper[i] = o.map_or(f64::NAN, |o| o.upper);
            middle[i] = o.map_or(f64::NAN, |o| o.middle);
            lower[i] = o.map_or(f64::NAN, |o| o.lower);
        }
    }
    Ok(())
}

/// BBANDS fast path (all slices of `input`'s length): TA-Lib's rolling-sum SMA for the middle,
/// shifted moments for σ. The serial part parks the window sum in `middle` and the variance in
/// `upper`; each cache-resident block is then finished by a branch-free loop that vectorizes
/// (the divisions and sqrt). Non-finite input always makes the rolling sum, hence the middle
/// band, non-finite from that bar on, so the finishing loop's check of the middle band detects
/// it (overflow merely takes the slow path). Returns false if the slow path must run.
#[allow(clippy::too_many_arguments)]
fn bbands_fast(
    input: &[f64],
    period: usize,
    k: f64,
    upper: &mut [f64],
    middle: &mut [f64],
    lower: &mut [f64],
    extra: Option<(&mut [f64], &mut [f64])>,
) -> bool {
    let n = input.len();
    let lb = (period - 1).min(n);
    upper[..lb].fill(f64::NAN);
    middle[..lb].fill(f64::NAN);
    lower[..lb].fill(f64::NAN);
    let mut extra = extra;
    if let Some((pb, bw)) = &mut extra {
        pb[..lb].fill(f64::NAN);
        bw[..lb].fill(f64::NAN);
    }
    let head = &input[..lb];
    let ok = head.iter().fold(true, |a, x| a & x.is_finite());
    let total = head.iter().fold(0.0, |t, &x| t + x);
    let pf = period as f64;
    let mut st = (ok, total, upper, middle, lower, extra);
    moments_batch(
        input,
        period,
        &mut st,
        |(_, total, up, mid, _, _), i, x, _, var| {
            *total += x;
            mid[i] = *total;
            *total -= input[i + 1 - period];
            up[i] = var;
        },
        |(ok, _, up, mid, low, extra), r| {
            let xs = &input[r.clone()];
            let (up, mid, low) = (&mut up[r.clone()], &mut mid[r.clone()], &mut low[r.clone()]);
            let mut fin = true;
            match extra {
                Some((pb, bw)) => {
                    let (pb, bw) = (&mut pb[r.clone()], &mut bw[r]);
                    let lanes = up.iter_mut().zip(mid.iter_mut()).zip(low.iter_mut());
                    let lanes = lanes.zip(pb.iter_mut()).zip(bw.iter_mut()).zip(xs);
                    for (((((u, m), l), p), b), &x) in lanes {
                        let v = BollingerBands::finish(x, *m / pf, *u, k);
                        fin &= v.middle.is_finite();
                        (*u, *m, *l, *p, *b) =
                            (v.upper, v.middle, v.lower, v.percent_b, v.bandwidth);
                    }
                }
                None => {
                    for ((u, m), l) in up.iter_mut().zip(mid.iter_mut()).zip(low.iter_mut()) {
                        let (upper, middle, lower) = BollingerBands::bands(*m / pf, *u, k);
                        fin &= middle.is_finite();
                        (*u, *m, *l) = (upper, middle, lower);
                    }
                }
            }
            *ok &= fin;
        },
    );
    st.0
}

/// Batch Bollinger Bands, allocating `[upper, middle, lower, percent_b, bandwidth]`.
pub fn bbands(input: &[f64], period: usize, k: f64) -> Result<[Vec<f64>; 5], IndicatorError> {
    let n = input.len();
    let mut v: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; n]);
    let [a, b, c, d, e] = &mut v;
    bbands_into(
        input,
        period,
        k,
        &mut BBandsOut {
            upper: a,
            middle: b,
            lower: c,
            percent_b: d,
            bandwidth: e,
        },
    )?;
    Ok(v)
}

/// Rolling population standard deviation × `nbdev` (TA-Lib `STDDEV`, lookback `period-1`), from
/// shifted rolling moments (see [`BollingerBands`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StdDev {
    period: usize,
    nbdev: f64,
    moments: Moments,
}

impl StdDev {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(period: usize, nbdev: f64) -> Result<(), IndicatorError> {
        check_period("stddev", "period", period, 2)?;
        check_positive("stddev", "nbdev", nbdev)?;
        Ok(())
    }

    /// A new rolling σ; `2 ≤ period ≤ MAX_PERIOD`, `nbdev` finite and > 0.
    pub fn try_new(period: usize, nbdev: f64) -> Result<Self, IndicatorError> {
        Self::validate(period, nbdev)?;
        Ok(Self {
            period,
            nbdev,
            moments: Moments::new(period),
        })
    }
}

impl Indicator for StdDev {
    type Input = f64;
    type Output = f64;
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        let (_, var) = self.moments.push(x)?;
        Some(if !ta_is_zero_or_neg(var) {
            var.sqrt() * self.nbdev
        } else {
            0.0
        })
    }
    fn reset(&mut self) {
        self.moments.clear();
    }
    fn warmup_period(&self) -> usize {
        self.period - 1
    }
}

/// Batch rolling σ into `out`; NaN in warm-up positions.
pub fn stddev_into(
    input: &[f64],
    period: usize,
    nbdev: f64,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    StdDev::validate(period, nbdev)?;
    let n = input.len();
    check_len("stddev", "out", n, out.len())?;
    let lb = (period - 1).min(n);
    out[..lb].fill(f64::NAN);
    let ok = input[..lb].iter().fold(true, |a, x| a & x.is_finite());
    // Serial part parks the variance; each block is finished by a vectorizable loop.
    let mut st = (ok, &mut out[..n]);
    moments_batch(
        input,
        period,
        &mut st,
        |(ok, o), i, x, _, var| {
            *ok &= x.is_finite();
            o[i] = var;
        },
        |(_, o), r| {
            for v in &mut o[r] {
                let var = *v;
                let sd = var.sqrt() * nbdev; // unconditional, then selected: vectorizes
                *v = if !ta_is_zero_or_neg(var) { sd } else { 0.0 };
            }
        },
    );
    let ok = st.0;
    if !ok {
        drive(
            &mut StdDev::try_new(period, nbdev)?,
            n,
            |i| input[i],
            |i, o| out[i] = o.unwrap_or(f64::NAN),
        );
    }
    Ok(())
}

/// Batch rolling σ, allocating the output.
pub fn stddev(input: &[f64], period: usize, nbdev: f64) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; input.len()];
    stddev_into(input, period, nbdev, &mut out)?;
    Ok(out)
}

/// Annualized rolling volatility: sample σ (ddof 1) of the last `window` log returns ×
/// `sqrt(periods_per_year)` (lookback `window`), as a fraction (0.5 = 50 %/yr).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RollingVolatility {
    window: usize,
    ann: f64,
    prev: Option<f64>,
    s: f64,
    ss: f64,
    ring: Ring,
}

impl RollingVolatility {
    /// New rolling volatility; `window ≥ 2`, `periods_per_year` finite and > 0 (252 for daily).
    pub fn try_new(window: usize, periods_per_year: f64) -> Result<Self, IndicatorError> {
        check_period("vol", "window", window, 2)?;
        if !(periods_per_year.is_finite() && periods_per_year > 0.0) {
            return Err(IndicatorError::InvalidParameter {
                indicator: "vol",
                param: "periods_per_year",
                value: periods_per_year,
                requirement: "finite and > 0",
            });
        }
        Ok(Self {
            window,
            ann: periods_per_year.sqrt(),
            prev: None,
            s: 0.0,
            ss: 0.0,
            ring: Ring::new(window),
        })
    }
}

impl Indicator for RollingVolatility {
    type Input = f64;
    type Output = f64;
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if !(x.is_finite() && x > 0.0) {
            return None;
        }
        let prev = self.prev.replace(x)?;
        let r = (x / prev).ln();
        if self.ring.is_full() {
            let t = self.ring.oldest();
            self.s -= t;
            self.ss -= t * t;
        }
        self.ring.push(r);
        self.s += r;
        self.ss += r * r;
        if !self.ring.is_full() {
            return None;
        }
        let nf = self.window as f64;
        let var = (self.ss - self.s * self.s / nf) / (nf - 1.0);
        Some(if var > 0.0 {
            var.sqrt() * self.ann
        } else {
            0.0
        })
    }
    fn reset(&mut self) {
        self.prev = None;
        self.s = 0.0;
        self.ss = 0.0;
        self.ring.clear();
    }
    fn warmup_period(&self) -> usize {
        self.window
    }
}

/// Batch annualized rolling volatility into `out`; NaN in warm-up positions.
pub fn rolling_volatility_into(
    input: &[f64],
    window: usize,
    periods_per_year: f64,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    let mut s = RollingVolatility::try_new(window, periods_per_year)?;
    check_len("vol", "out", input.len(), out.len())?;
    drive(
        &mut s,
        input.len(),
        |i| input[i],
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch annualized rolling volatility, allocating the output.
pub fn rolling_volatility(
    input: &[f64],
    window: usize,
    periods_per_year: f64,
) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; input.len()];
    rolling_volatility_into(input, window, periods_per_year, &mut out)?;
    Ok(out)
}

/// Rolling z-score `(x − mean) / σ` over the last `window` inputs, population σ; 0 when σ is 0
/// (lookback `window-1`), dimensionless. Uses shifted rolling moments (see [`BollingerBands`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ZScore {
    window: usize,
    moments: Moments,
}

impl ZScore {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(window: usize) -> Result<(), IndicatorError> {
        check_period("zscore", "window", window, 2)?;
        Ok(())
    }

    /// A new z-score; `window ≥ 2`.
    pub fn try_new(window: usize) -> Result<Self, IndicatorError> {
        Self::validate(window)?;
        Ok(Self {
            window,
            moments: Moments::new(window),
        })
    }
}

impl Indicator for ZScore {
    type Input = f64;
    type Output = f64;
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        let (mean, var) = self.moments.push(x)?;
        Some(if var > 0.0 {
            (x - mean) / var.sqrt()
        } else {
            0.0
        })
    }
    fn reset(&mut self) {
        self.moments.clear();
    }
    fn warmup_period(&self) -> usize {
        self.window - 1
    }
}

/// Batch z-score into `out`; NaN in warm-up positions.
pub fn zscore_into(input: &[f64], window: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    ZScore::validate(window)?;
    let n = input.len();
    check_len("zscore", "out", n, out.len())?;
    let lb = (window - 1).min(n);
    out[..lb].fill(f64::NAN);
    let ok = input[..lb].iter().fold(true, |a, x| a & x.is_finite());
    let mut st = (ok, &mut out[..n]);
    moments_batch(
        input,
        window,
        &mut st,
        |(ok, o), i, x, mean, var| {
            *ok &= x.is_finite();
            o[i] = if var > 0.0 {
                (x - mean) / var.sqrt()
            } else {
                0.0
            };
        },
        |_, _| {},
    );
    let ok = st.0;
    if !ok {
        drive(
            &mut ZScore::try_new(window)?,
            n,
            |i| input[i],
            |i, o| out[i] = o.unwrap_or(f64::NAN),
        );
    }
    Ok(())
}

/// Batch z-score, allocating the output.
pub fn zscore(input: &[f64], window: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; input.len()];
    zscore_into(input, window, &mut out)?;
    Ok(out)
}
