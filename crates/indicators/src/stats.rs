//! Two-series statistics: rolling correlation and rolling beta.

use crate::util::{Ring, check_len, check_period, ta_is_zero, ta_is_zero_or_neg};
use crate::{Indicator, IndicatorError, drive};

/// Rolling Pearson correlation of two series (TA-Lib `CORREL`, lookback `period-1`), −1..=1.
/// Input `(a, b)`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Correlation {
    period: usize,
    pf: f64,
    xs: Ring,
    ys: Ring,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Correlation {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(period: usize) -> Result<(), IndicatorError> {
        check_period("corr", "period", period, 2)?;
        Ok(())
    }

    /// A new rolling correlation; `period ≥ 2`.
    pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
        Self::validate(period)?;
        Ok(Self {
            period,
            pf: period as f64,
            xs: Ring::new(period),
            ys: Ring::new(period),
            sx: 0.0,
            sy: 0.0,
            sxx: 0.0,
            syy: 0.0,
            sxy: 0.0,
        })
    }

    #[inline(always)]
    fn value(sx: f64, sy: f64, sxx: f64, syy: f64, sxy: f64, pf: f64) -> f64 {
        let t = (sxx - sx * sx / pf) * (syy - sy * sy / pf);
        if !ta_is_zero_or_neg(t) {
            (sxy - sx * sy / pf) / t.sqrt()
        } else {
            0.0
        }
    }
}

impl Indicator for Correlation {
    type Input = (f64, f64);
    type Output = f64;
    #[inline]
    fn update(&mut self, (x, y): (f64, f64)) -> Option<f64> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        if self.xs.is_full() {
            let tx = self.xs.oldest();
            let ty = self.ys.oldest();
            self.sx -= tx;
            self.sxx -= tx * tx;
            self.sxy -= tx * ty;
            self.sy -= ty;
            self.syy -= ty * ty;
        }
        self.xs.push(x);
        self.ys.push(y);
        self.sx += x;
        self.sxx += x * x;
        self.sxy += x * y;
        self.sy += y;
        self.syy += y * y;
        if !self.xs.is_full() {
            return None;
        }
        Some(Self::value(
            self.sx, self.sy, self.sxx, self.syy, self.sxy, self.pf,
        ))
    }
    fn reset(&mut self) {
        self.xs.clear();
        self.ys.clear();
        self.sx = 0.0;
        self.sy = 0.0;
        self.sxx = 0.0;
        self.syy = 0.0;
        self.sxy = 0.0;
    }
    fn warmup_period(&self) -> usize {
        self.period - 1
    }
}

/// Batch rolling correlation of `a` and `b` into `out`; NaN in warm-up positions.
pub fn correlation_into(
    a: &[f64],
    b: &[f64],
    period: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    Correlation::validate(period)?;
    let n = a.len();
    check_len("corr", "b", n, b.len())?;
    check_len("corr", "out", n, out.len())?;
    let lb = period - 1;
    if n > lb {
        // Fused single pass (finiteness accumulated alongside; exact slow path below).
        let (b, out) = (&b[..n], &mut out[..n]);
        out[..lb].fill(f64::NAN);
        let pf = period as f64;
        let mut ok = true;
        let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (&x, &y) in a[..=lb].iter().zip(&b[..=lb]) {
            ok &= x.is_finite() & y.is_finite();
            sx += x;
            sxx += x * x;
            sxy += x * y;
            sy += y;
            syy += y * y;
        }
        out[lb] = Correlation::value(sx, sy, sxx, syy, sxy, pf);
        let (xs, ys) = (&a[period..n], &b[period..n]);
        let (txs, tys) = (&a[..n - period], &b[..n - period]);
        let lanes = out[period..].iter_mut().zip(xs).zip(ys).zip(txs).zip(tys);
        for ((((o, &x), &y), &tx), &ty) in lanes {
            ok &= x.is_finite() & y.is_finite();
            sx -= tx;
            sxx -= tx * tx;
            sxy -= tx * ty;
            sy -= ty;
            syy -= ty * ty;
            sx += x;
            sxx += x * x;
            sxy += x * y;
            sy += y;
            syy += y * y;
            *o = Correlation::value(sx, sy, sxx, syy, sxy, pf);
        }
        if ok {
            return Ok(());
        }
    }
    drive(
        &mut Correlation::try_new(period)?,
        n,
        |i| (a[i], b[i]),
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch rolling correlation, allocating the output.
pub fn correlation(a: &[f64], b: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; a.len()];
    correlation_into(a, b, period, &mut out)?;
    Ok(out)
}

/// Rolling beta: OLS slope of the asset's simple returns on the benchmark's over the last
/// `period` returns (TA-Lib `BETA(benchmark, asset)`, lookback `period`), dimensionless.
/// Input `(benchmark_price, asset_price)`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Beta {
    period: usize,
    last: Option<(f64, f64)>,
    xs: Ring,
    ys: Ring,
    sxx: f64,
    sxy: f64,
    sx: f64,
    sy: f64,
}

#[inline(always)]
fn ta_ret(price: f64, last: f64) -> f64 {
    if !ta_is_zero(last) {
        (price - last) / last
    } else {
        0.0
    }
}

impl Beta {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(period: usize) -> Result<(), IndicatorError> {
        check_period("beta", "period", period, 1)?;
        Ok(())
    }

    /// A new rolling beta; `period ≥ 1`.
    pub fn try_new(period: usize) -> Result<Self, IndicatorError> {
        Self::validate(period)?;
        Ok(Self {
            period,
            last: None,
            xs: Ring::new(period),
            ys: Ring::new(period),
            sxx: 0.0,
            sxy: 0.0,
            sx: 0.0,
            sy: 0.0,
        })
    }

    #[inline(always)]
    fn value(n: f64, sxx: f64, sxy: f64, sx: f64, sy: f64) -> f64 {
        let t = n * sxx - sx * sx;
        if !ta_is_zero(t) {
            (n * sxy - sx * sy) / t
        } else {
            0.0
        }
    }
}

impl Indicator for Beta {
    type Input = (f64, f64);
    type Output = f64;
    #[inline]
    fn update(&mut self, (px, py): (f64, f64)) -> Option<f64> {
        if !(px.is_finite() && py.is_finite()) {
            return None;
        }
        let (lx, ly) = self.last.replace((px, py))?;
        let x = ta_ret(px, lx);
        let y = ta_ret(py, ly);
        self.sxx += x * x;
        self.sxy += x * y;
        self.sx += x;
        self.sy += y;
        self.xs.push(x);
        self.ys.push(y);
        if !self.xs.is_full() {
            return None;
        }
        let out = Self::value(self.period as f64, self.sxx, self.sxy, self.sx, self.sy);
        let (tx, ty) = (self.xs.oldest(), self.ys.oldest());
        self.sxx -= tx * tx;
        self.sxy -= tx * ty;
        self.sx -= tx;
        self.sy -= ty;
        Some(out)
    }
    fn reset(&mut self) {
        self.last = None;
        self.xs.clear();
        self.ys.clear();
        self.sxx = 0.0;
        self.sxy = 0.0;
        self.sx = 0.0;
        self.sy = 0.0;
    }
    fn warmup_period(&self) -> usize {
        self.period
    }
}

/// Batch rolling beta of `asset` on `benchmark` (prices) into `out`; NaN in warm-up positions.
pub fn beta_into(
    benchmark: &[f64],
    asset: &[f64],
    period: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    Beta::validate(period)?;
    let n = benchmark.len();
    check_len("beta", "asset", n, asset.len())?;
    check_len("beta", "out", n, out.len())?;
    if n > period {
        // Fused single pass (finiteness accumulated alongside; exact slow path below).
        let (bm, asset, out) = (benchmark, &asset[..n], &mut out[..n]);
        out[..period].fill(f64::NAN);
        let nf = period as f64;
        let mut ok = bm[0].is_finite() & asset[0].is_finite();
        let (mut sxx, mut sxy, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for i in 1..period {
            let (x, y) = (ta_ret(bm[i], bm[i - 1]), ta_ret(asset[i], asset[i - 1]));
            ok &= bm[i].is_finite() & asset[i].is_finite();
            sxx += x * x;
            sxy += x * y;
            sx += x;
            sy += y;
        }
        // Bar i adds return i and, after the output, drops return i + 1 - period.
        let (bx, bp) = (&bm[period..n], &bm[period - 1..n - 1]);
        let (ax, ap) = (&asset[period..n], &asset[period - 1..n - 1]);
        let (tbx, tbp) = (&bm[1..n + 1 - period], &bm[..n - period]);
        let (tax, tap) = (&asset[1..n + 1 - period], &asset[..n - period]);
        let lanes = out[period..].iter_mut().zip(bx).zip(bp).zip(ax).zip(ap);
        for (k, ((((o, &bx), &bp), &ax), &ap)) in lanes.enumerate() {
            ok &= bx.is_finite() & ax.is_finite();
            let (x, y) = (ta_ret(bx, bp), ta_ret(ax, ap));
            sxx += x * x;
            sxy += x * y;
            sx += x;
            sy += y;
            *o = Beta::value(nf, sxx, sxy, sx, sy);
            let (tx, ty) = (ta_ret(tbx[k], tbp[k]), ta_ret(tax[k], tap[k]));
            sxx -= tx * tx;
            sxy -= tx * ty;
            sx -= tx;
            sy -= ty;
        }
        if ok {
            return Ok(());
        }
    }
    drive(
        &mut Beta::try_new(period)?,
        n,
        |i| (benchmark[i], asset[i]),
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch rolling beta, allocating the output.
pub fn beta(benchmark: &[f64], asset: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; benchmark.len()];
    beta_into(benchmark, asset, period, &mut out)?;
    Ok(out)
}
