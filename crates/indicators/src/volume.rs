//! Volume: on-balance volume, session-anchored VWAP, rolling-window VWAP.

use crate::util::{Ring, check_len, check_period};
use crate::{Indicator, IndicatorError, drive};

/// On-balance volume (TA-Lib `OBV`, lookback 0), volume units. Input `(close, volume)`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Obv {
    state: Option<(f64, f64)>,
}

impl Obv {
    /// A new OBV stream (no parameters; never fails).
    pub fn try_new() -> Result<Self, IndicatorError> {
        Ok(Self::default())
    }
}

impl Indicator for Obv {
    type Input = (f64, f64);
    type Output = f64;
    #[inline]
    fn update(&mut self, (c, v): (f64, f64)) -> Option<f64> {
        if !(c.is_finite() && v.is_finite()) {
            return None;
        }
        let obv = match self.state {
            None => v,
            Some((prev_c, mut obv)) => {
                if c > prev_c {
                    obv += v;
                } else if c < prev_c {
                    obv -= v;
                }
                obv
            }
        };
        self.state = Some((c, obv));
        Some(obv)
    }
    fn reset(&mut self) {
        self.state = None;
    }
    fn warmup_period(&self) -> usize {
        0
    }
}

/// Batch OBV into `out`.
pub fn obv_into(close: &[f64], volume: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
    let n = close.len();
    check_len("obv", "volume", n, volume.len())?;
    check_len("obv", "out", n, out.len())?;
    if n > 0 {
        // Fused single pass, branch-free: `obv + (-v)` is `obv - v` exactly and adding -0.0 is
        // the identity, so this is bit-identical to the streaming struct's branches.
        let (c0, v0) = (close[0], volume[0]);
        let mut ok = c0.is_finite() & v0.is_finite();
        let mut obv = v0;
        out[0] = obv;
        let (cs, ps, vs) = (&close[1..n], &close[..n - 1], &volume[1..n]);
        for (((o, &c), &p), &v) in out[1..n].iter_mut().zip(cs).zip(ps).zip(vs) {
            ok &= c.is_finite() & v.is_finite();
            let up = if c > p { v } else { -0.0 };
            obv += if c < p { -v } else { up };
            *o = obv;
        }
        if ok {
            return Ok(());
        }
    }
    drive(
        &mut Obv::default(),
        n,
        |i| (close[i], volume[i]),
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch OBV, allocating the output.
pub fn obv(close: &[f64], volume: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; close.len()];
    obv_into(close, volume, &mut out)?;
    Ok(out)
}

/// One bar for VWAP: prices, volume and the id of the trading session it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VwapBar {
    /// High price.
    pub high: f64,
    /// Low price.
    pub low: f64,
    /// Close price.
    pub close: f64,
    /// Volume (units traded).
    pub volume: f64,
    /// Session id (e.g. the UTC day number); a change of id starts a new session.
    pub session: i64,
}

#[inline(always)]
fn typical(h: f64, l: f64, c: f64) -> f64 {
    (h + l + c) / 3.0
}

/// Session-anchored VWAP (TA-Lib `VWAP` over each session's bars, lookback 0), price units.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionVwap {
    session: Option<i64>,
    sum_pv: f64,
    sum_v: f64,
}

impl SessionVwap {
    /// A new session VWAP (no parameters; never fails).
    pub fn try_new() -> Result<Self, IndicatorError> {
        Ok(Self::default())
    }
}

impl Indicator for SessionVwap {
    type Input = VwapBar;
    type Output = f64;
    #[inline]
    fn update(&mut self, b: VwapBar) -> Option<f64> {
        if !(b.high.is_finite() && b.low.is_finite() && b.close.is_finite() && b.volume.is_finite())
        {
            return None;
        }
        if self.session != Some(b.session) {
            self.session = Some(b.session);
            self.sum_pv = 0.0;
            self.sum_v = 0.0;
        }
        let tp = typical(b.high, b.low, b.close);
        let pv = tp * b.volume;
        self.sum_pv += pv;
        self.sum_v += b.volume;
        if self.sum_v > 0.0 {
            Some(self.sum_pv / self.sum_v)
        } else {
            None
        }
    }
    fn reset(&mut self) {
        *self = Self::default();
    }
    fn warmup_period(&self) -> usize {
        0
    }
}

/// Batch session VWAP into `out` (`session` ids per bar); NaN where undefined.
pub fn session_vwap_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    session: &[i64],
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    let n = close.len();
    check_len("vwap", "high", n, high.len())?;
    check_len("vwap", "low", n, low.len())?;
    check_len("vwap", "volume", n, volume.len())?;
    check_len("vwap", "session", n, session.len())?;
    check_len("vwap", "out", n, out.len())?;
    if vwap_fast(high, low, close, volume, Some(session), out) {
        return Ok(());
    }
    let mut s = SessionVwap::default();
    drive(
        &mut s,
        n,
        |i| VwapBar {
            high: high[i],
            low: low[i],
            close: close[i],
            volume: volume[i],
            session: session[i],
        },
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch cumulative VWAP over the whole input as one session — TA-Lib's `VWAP` definition;
/// equals [`session_vwap_into`] with a constant session id, without reading ids. NaN where the
/// cumulative volume is 0.
pub fn vwap_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    let n = close.len();
    check_len("vwap", "high", n, high.len())?;
    check_len("vwap", "low", n, low.len())?;
    check_len("vwap", "volume", n, volume.len())?;
    check_len("vwap", "out", n, out.len())?;
    if vwap_fast(high, low, close, volume, None, out) {
        return Ok(());
    }
    drive(
        &mut SessionVwap::default(),
        n,
        |i| VwapBar {
            high: high[i],
            low: low[i],
            close: close[i],
            volume: volume[i],
            session: 0,
        },
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch cumulative VWAP (one session), allocating the output.
pub fn vwap(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; close.len()];
    vwap_into(high, low, close, volume, &mut out)?;
    Ok(out)
}

/// Session VWAP fast path (lengths checked; `session: None` = one session). Returns false if
/// any input was not finite (outputs then unspecified).
fn vwap_fast(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    session: Option<&[i64]>,
    out: &mut [f64],
) -> bool {
    let n = close.len();
    if n > 0 {
        // Blocks of 256 bars in three loops: (1) `tp·v` and finiteness (vectorizes), (2) the
        // serial sums, a session change resetting them by a select (same bits as the streaming
        // reset `sum = 0.0; sum += pv`), (3) the ratio (vectorizes). Exact slow path if any
        // input was not finite.
        const BLOCK: usize = 256;
        let (high, low, volume, session, out) = (
            &high[..n],
            &low[..n],
            &volume[..n],
            session.map(|s| &s[..n]),
            &mut out[..n],
        );
        let mut sums_v = [0.0f64; BLOCK];
        // `pv · 0` is ±0 when `pv` is finite, which it is iff all four inputs are (barring
        // overflow, which merely takes the exact slow path): NaN-sticky lanes, no reduction.
        let mut chk = [0.0f64; BLOCK];
        let (mut spv, mut sv) = (0.0f64, 0.0f64);
        let mut cur = session.map_or(0, |s| s[0]);
        let mut start = 0;
        while start < n {
            let end = n.min(start + BLOCK);
            let o = &mut out[start..end];
            let (h, l, c, v) = (
                &high[start..end],
                &low[start..end],
                &close[start..end],
                &volume[start..end],
            );
            let lanes = o.iter_mut().zip(chk.iter_mut()).zip(h).zip(l).zip(c).zip(v);
            for (((((o, k), &h), &l), &c), &v) in lanes {
                let pv = typical(h, l, c) * v;
                *k += pv * 0.0;
                *o = pv;
            }
            let ids = session.map(|s| &s[start..end]);
            let changes = |ids: &&[i64]| !ids.iter().fold(true, |a, &id| a & (id == cur));
            if let Some(ids) = ids.filter(changes) {
                for (((o, &v), &id), s) in o.iter_mut().zip(v).zip(ids).zip(sums_v.iter_mut()) {
                    let fresh = id != cur;
                    cur = id;
                    spv = if fresh { 0.0 } else { spv };
                    sv = if fresh { 0.0 } else { sv };
                    spv += *o;
                    sv += v;
                    *o = spv;
                    *s = sv;
                }
            } else {
                // The whole block continues the current session: only the two sums.
                for ((o, &v), s) in o.iter_mut().zip(v).zip(sums_v.iter_mut()) {
                    spv += *o;
                    sv += v;
                    *o = spv;
                    *s = sv;
                }
            }
            for (o, &s) in o.iter_mut().zip(sums_v.iter()) {
                let q = *o / s; // unconditional, then selected: vectorizes
                *o = if s > 0.0 { q } else { f64::NAN };
            }
            start = end;
        }
        return chk.iter().all(|&k| k == 0.0);
    }
    false
}

/// Batch session VWAP, allocating the output.
pub fn session_vwap(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    session: &[i64],
) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; close.len()];
    session_vwap_into(high, low, close, volume, session, &mut out)?;
    Ok(out)
}

/// Rolling-window VWAP over the last `window` bars (lookback `window-1`), price units.
/// Input [`VwapBar`] (the session id is ignored). Empty while the window's volume is 0.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RollingVwap {
    window: usize,
    pvs: Ring,
    vs: Ring,
    sum_pv: f64,
    sum_v: f64,
}

impl RollingVwap {
    /// Validate the parameters as [`Self::try_new`] does, without allocating.
    pub(crate) fn validate(window: usize) -> Result<(), IndicatorError> {
        check_period("vwap", "window", window, 1)?;
        Ok(())
    }

    /// A new rolling VWAP; `window ≥ 1`.
    pub fn try_new(window: usize) -> Result<Self, IndicatorError> {
        Self::validate(window)?;
        Ok(Self {
            window,
            pvs: Ring::new(window),
            vs: Ring::new(window),
            sum_pv: 0.0,
            sum_v: 0.0,
        })
    }
}

impl Indicator for RollingVwap {
    type Input = VwapBar;
    type Output = f64;
    #[inline]
    fn update(&mut self, b: VwapBar) -> Option<f64> {
        if !(b.high.is_finite() && b.low.is_finite() && b.close.is_finite() && b.volume.is_finite())
        {
            return None;
        }
        if self.pvs.is_full() {
            self.sum_pv -= self.pvs.oldest();
            self.sum_v -= self.vs.oldest();
        }
        let pv = typical(b.high, b.low, b.close) * b.volume;
        self.pvs.push(pv);
        self.vs.push(b.volume);
        self.sum_pv += pv;
        self.sum_v += b.volume;
        if !self.pvs.is_full() || self.sum_v <= 0.0 {
            return None;
        }
        Some(self.sum_pv / self.sum_v)
    }
    fn reset(&mut self) {
        self.pvs.clear();
        self.vs.clear();
        self.sum_pv = 0.0;
        self.sum_v = 0.0;
    }
    fn warmup_period(&self) -> usize {
        self.window - 1
    }
}

/// Batch rolling VWAP into `out`; NaN in warm-up positions.
pub fn rolling_vwap_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    window: usize,
    out: &mut [f64],
) -> Result<(), IndicatorError> {
    RollingVwap::validate(window)?;
    let n = close.len();
    check_len("vwap", "high", n, high.len())?;
    check_len("vwap", "low", n, low.len())?;
    check_len("vwap", "volume", n, volume.len())?;
    check_len("vwap", "out", n, out.len())?;
    let lb = window - 1;
    if n > lb {
        // Fused single pass: the leaving bar's `tp·v` is recomputed (same bits as the ring's).
        let (high, low, volume, out) = (&high[..n], &low[..n], &volume[..n], &mut out[..n]);
        out[..lb].fill(f64::NAN);
        let mut ok = true;
        let (mut spv, mut sv) = (0.0f64, 0.0f64);
        for i in 0..lb {
            let (h, l, c, v) = (high[i], low[i], close[i], volume[i]);
            ok &= h.is_finite() & l.is_finite() & c.is_finite() & v.is_finite();
            spv += typical(h, l, c) * v;
            sv += v;
        }
        for i in lb..n {
            let (h, l, c, v) = (high[i], low[i], close[i], volume[i]);
            ok &= h.is_finite() & l.is_finite() & c.is_finite() & v.is_finite();
            if i >= window {
                let j = i - window;
                spv -= typical(high[j], low[j], close[j]) * volume[j];
                sv -= volume[j];
            }
            spv += typical(h, l, c) * v;
            sv += v;
            out[i] = if sv > 0.0 { spv / sv } else { f64::NAN };
        }
        if ok {
            return Ok(());
        }
    }
    drive(
        &mut RollingVwap::try_new(window)?,
        n,
        |i| VwapBar {
            high: high[i],
            low: low[i],
            close: close[i],
            volume: volume[i],
            session: 0,
        },
        |i, o| out[i] = o.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Batch rolling VWAP, allocating the output.
pub fn rolling_vwap(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    window: usize,
) -> Result<Vec<f64>, IndicatorError> {
    let mut out = vec![0.0; close.len()];
    rolling_vwap_into(high, low, close, volume, window, &mut out)?;
    Ok(out)
}
