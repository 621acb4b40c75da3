//! Drawdown analysis of an equity curve.

use serde::Serialize;

/// Drawdowns of an equity curve, as POSITIVE fractions below the running peak
/// (`0.35` means the equity stood 35 % below its prior high).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drawdown {
    /// Maximum drawdown `max_t (1 − E_t / max_{s≤t} E_s)`, fraction in `[0, 1]` for positive equity;
    /// `0.0` for an empty, one-point or never-falling curve.
    pub max_drawdown: f64,
    /// Index of the running peak preceding the maximum drawdown; `None` when `max_drawdown == 0`.
    pub peak_index: Option<usize>,
    /// Index of the trough (first index where the maximum drawdown is reached); `None` when it is 0.
    pub trough_index: Option<usize>,
    /// First index after the trough where equity is back at or above the peak value; `None` if not
    /// recovered by the end of the series (or no drawdown).
    pub recovery_index: Option<usize>,
    /// Drawdown at every point, `1 − E_t / peak_t` (positive fraction, same length as the equity);
    /// a point whose running peak is not positive gets `0.0`.
    pub series: Vec<f64>,
}

impl Drawdown {
    /// Analyzes `equity` (positive amounts in any currency; scale does not matter). Never panics:
    /// an empty slice gives an empty series and `max_drawdown = 0`.
    pub fn analyze(equity: &[f64]) -> Drawdown {
        let mut series = Vec::with_capacity(equity.len());
        let (best, best_peak, best_trough) = Self::scan(equity, |dd| series.push(dd));
        let recovery_index = match (best_peak, best_trough) {
            (Some(p), Some(t)) => {
                let level = equity[p];
                (t + 1..equity.len()).find(|&i| equity[i] >= level)
            }
            _ => None,
        };
        Drawdown {
            max_drawdown: best,
            peak_index: best_peak,
            trough_index: best_trough,
            recovery_index,
            series,
        }
    }

    /// The maximum drawdown alone (positive fraction), the same value as
    /// [`Drawdown::analyze`]'s without building the series (for parameter searches).
    pub fn max_drawdown_of(equity: &[f64]) -> f64 {
        Self::scan(equity, |_| {}).0
    }

    /// One pass over the curve: the drawdown at each point goes to `each`; returns the maximum
    /// drawdown with its peak and trough indices.
    fn scan(equity: &[f64], mut each: impl FnMut(f64)) -> (f64, Option<usize>, Option<usize>) {
        let mut peak = f64::NEG_INFINITY;
        let mut peak_idx = 0usize;
        let mut best = 0.0f64;
        let mut best_peak = None;
        let mut best_trough = None;
        for (i, &e) in equity.iter().enumerate() {
            if e > peak {
                peak = e;
                peak_idx = i;
            }
            let dd = if peak > 0.0 { 1.0 - e / peak } else { 0.0 };
            if dd > best {
                best = dd;
                best_peak = Some(peak_idx);
                best_trough = Some(i);
            }
            each(dd);
        }
        (best, best_peak, best_trough)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_trough_recovery() {
        let d = Drawdown::analyze(&[100.0, 120.0, 90.0, 100.0, 130.0, 117.0]);
        assert!((d.max_drawdown - 0.25).abs() < 1e-15);
        assert_eq!(
            (d.peak_index, d.trough_index, d.recovery_index),
            (Some(1), Some(2), Some(4))
        );
        assert!((d.series[5] - 0.1).abs() < 1e-12);
        let flat = Drawdown::analyze(&[1.0, 2.0, 3.0]);
        assert_eq!(
            (flat.max_drawdown, flat.peak_index, flat.recovery_index),
            (0.0, None, None)
        );
        assert!(Drawdown::analyze(&[]).series.is_empty());
        let unrecovered = Drawdown::analyze(&[10.0, 5.0, 9.0]);
        assert_eq!(unrecovered.recovery_index, None);
    }
}
