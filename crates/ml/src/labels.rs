//! Triple-barrier labels (López de Prado), long side, for 1-minute (or any) bars.
//!
//! Decision at the **close** of bar `t`; entry at the **open of bar `t+1`** (`e = open_{t+1}`).
//! With `a = ATR_t` (known at `t`'s close) the barriers are
//! * take-profit `e + k_tp · a`, stop-loss `e − k_sl · a` (price units),
//! * vertical: the close of bar `t + horizon` (`horizon` bars after the decision, ≥ 1).
//!
//! Bars `t+1 ..= t+horizon` are scanned in order; bar `s` touches the take-profit when
//! `high_s ≥ tp` and the stop-loss when `low_s ≤ sl`. The first touched barrier decides:
//! `+1` take-profit, `−1` stop-loss, `0` vertical barrier. When one bar touches both, the
//! stop-loss is assumed first (conservative: the bar's path inside the minute is unknown). The
//! exit price is the barrier, or the bar's open when the bar opened beyond it (a gap); at the
//! vertical barrier it is `close_{t+horizon}`.
//!
//! No label (`None`) where `t + horizon` is past the end, where `ATR_t` is not finite and
//! positive, or where a price needed is not finite.
//!
//! Dynamic barriers (spec §7): [`dynamic_multipliers`] maps the ATR percentile rank to
//! `(k_tp, k_sl)`.

use pulse_core::Bar;
use pulse_core::jiff::Timestamp;

use crate::MlError;

/// Barrier settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BarrierConfig {
    /// Take-profit distance in ATRs (> 0).
    pub k_tp: f64,
    /// Stop-loss distance in ATRs (> 0).
    pub k_sl: f64,
    /// Vertical barrier, in bars after the decision bar (≥ 1).
    pub horizon: usize,
}

impl Default for BarrierConfig {
    /// Spec §7's base multiplier 1.5 (take-profit 1.5 ATR, stop-loss 0.8 × 1.5 = 1.2 ATR) and a
    /// 60-bar vertical barrier.
    fn default() -> Self {
        BarrierConfig {
            k_tp: 1.5,
            k_sl: 1.2,
            horizon: 60,
        }
    }
}

/// The outcome of one decision.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BarrierLabel {
    /// `+1` take-profit first, `−1` stop-loss first, `0` vertical barrier.
    pub label: i8,
    /// Index of the bar in which the deciding barrier was touched (`t + horizon` for the vertical).
    pub exit_index: usize,
    /// Start timestamp of that bar (the barrier was hit during it; vertical: at its close).
    pub exit_ts: Timestamp,
    /// Entry price `open_{t+1}` (price units).
    pub entry: f64,
    /// Exit price (price units).
    pub exit: f64,
    /// Gross simple return `exit / entry − 1` (fraction, before costs).
    pub ret: f64,
    /// Holding time in bars, from the entry bar `t+1` to the exit bar inclusive (1..=horizon).
    pub bars_held: usize,
    /// Maximum adverse excursion while held: `min(low_s, exit) / entry − 1` over the bars from
    /// `t+1` to the exit bar (fraction, ≤ 0; the exit price caps it so that a stop-loss fill
    /// counts once, not the rest of its bar).
    pub mae: f64,
}

impl BarrierLabel {
    /// Net return after a proportional cost per side `cost` (fraction, e.g. 0.001 for 0.1 %):
    /// `exit·(1 − cost) / (entry·(1 + cost)) − 1`.
    pub fn net_ret(&self, cost: f64) -> f64 {
        self.exit * (1.0 - cost) / (self.entry * (1.0 + cost)) - 1.0
    }
}

/// Spec §7's dynamic multipliers from the ATR percentile rank `pct` (0..100) and `base`:
/// `> 80` → `(1.5·base, 1.0·base)`; `< 20` → `(0.8·base, 0.6·base)`; otherwise `(base, 0.8·base)`.
/// A NaN percentile gives the middle case.
pub fn dynamic_multipliers(pct: f64, base: f64) -> (f64, f64) {
    if pct > 80.0 {
        (1.5 * base, base)
    } else if pct < 20.0 {
        (0.8 * base, 0.6 * base)
    } else {
        (base, 0.8 * base)
    }
}

/// The label of the decision at bar `t` with explicit multipliers (see the module docs).
pub fn label_at(
    bars: &[Bar],
    atr: &[f64],
    t: usize,
    k_tp: f64,
    k_sl: f64,
    horizon: usize,
) -> Option<BarrierLabel> {
    let a = *atr.get(t)?;
    let last = t.checked_add(horizon)?;
    if last >= bars.len() || !(a.is_finite() && a > 0.0) {
        return None;
    }
    let entry = bars[t + 1].open;
    if !(entry.is_finite() && entry > 0.0) {
        return None;
    }
    let tp = entry + k_tp * a;
    let sl = entry - k_sl * a;
    // Lowest low before the exit bar (the exit bar's own part is capped by the exit price).
    let mut low = entry;
    let done = |s: usize, label: i8, exit: f64, low: f64| BarrierLabel {
        label,
        exit_index: s,
        exit_ts: bars[s].ts,
        entry,
        exit,
        ret: exit / entry - 1.0,
        bars_held: s - t,
        mae: low.min(exit) / entry - 1.0,
    };
    for (s, b) in bars.iter().enumerate().take(last + 1).skip(t + 1) {
        if !(b.high.is_finite() && b.low.is_finite() && b.open.is_finite()) {
            return None;
        }
        if b.low <= sl {
            return Some(done(s, -1, if b.open < sl { b.open } else { sl }, low));
        }
        if b.high >= tp {
            // Inside the take-profit bar the low may come before or after the high: counted.
            return Some(done(
                s,
                1,
                if b.open > tp { b.open } else { tp },
                low.min(b.low),
            ));
        }
        low = low.min(b.low);
    }
    let c = bars[last].close;
    c.is_finite().then(|| done(last, 0, c, low))
}

/// Labels for every decision bar (`None` where no label exists), fixed multipliers.
pub fn triple_barrier(
    bars: &[Bar],
    atr: &[f64],
    cfg: &BarrierConfig,
) -> Result<Vec<Option<BarrierLabel>>, MlError> {
    check(bars, atr, cfg.k_tp, cfg.k_sl, cfg.horizon)?;
    Ok((0..bars.len())
        .map(|t| label_at(bars, atr, t, cfg.k_tp, cfg.k_sl, cfg.horizon))
        .collect())
}

/// Labels with spec §7's dynamic barriers: at each `t` the multipliers are
/// [`dynamic_multipliers`]`(atr_pct[t], base)`.
pub fn triple_barrier_dynamic(
    bars: &[Bar],
    atr: &[f64],
    atr_pct: &[f64],
    base: f64,
    horizon: usize,
) -> Result<Vec<Option<BarrierLabel>>, MlError> {
    check(bars, atr, base, base, horizon)?;
    if atr_pct.len() != bars.len() {
        return Err(MlError::Invalid(format!(
            "atr_pct has {} values for {} bars",
            atr_pct.len(),
            bars.len()
        )));
    }
    Ok((0..bars.len())
        .map(|t| {
            let (k_tp, k_sl) = dynamic_multipliers(atr_pct[t], base);
            label_at(bars, atr, t, k_tp, k_sl, horizon)
        })
        .collect())
}

fn check(bars: &[Bar], atr: &[f64], k_tp: f64, k_sl: f64, horizon: usize) -> Result<(), MlError> {
    if atr.len() != bars.len() {
        return Err(MlError::Invalid(format!(
            "atr has {} values for {} bars",
            atr.len(),
            bars.len()
        )));
    }
    let pos = |k: f64| k.is_finite() && k > 0.0;
    if !pos(k_tp) || !pos(k_sl) || horizon == 0 {
        return Err(MlError::Invalid(
            "barrier multipliers must be finite and > 0, horizon ≥ 1".into(),
        ));
    }
    Ok(())
}
