//! Plain descriptive statistics on `f64` slices (the same conventions as numpy).

/// Arithmetic mean `Σx / n`; `None` for an empty slice.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some(xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample standard deviation with Bessel's correction (numpy `std(ddof=1)`):
/// `sqrt(Σ(x − mean)² / (n − 1))`, two-pass. `None` when fewer than two values.
pub fn sample_std(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// Empirical quantile with numpy's default `method="linear"` (Hyndman & Fan type 7):
/// sort, `h = (n − 1)·q`, `lo = ⌊h⌋`, result `x[lo] + (h − lo)·(x[lo+1] − x[lo])`
/// (computed as `x[lo+1] − (x[lo+1] − x[lo])·(1 − g)` when `g ≥ 0.5`, like numpy's `_lerp`).
/// `q` is a fraction in `[0, 1]` (clamped). `None` for an empty slice; NaNs sort last.
pub fn quantile_linear(xs: &[f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    Some(quantile_sorted(&v, q))
}

/// Historical value at risk and conditional VaR (expected shortfall) of per-period returns at
/// tail probability `tail` (0.05 for 95 %): `VaR = −Q_tail(r)` with numpy's linear quantile, and
/// `CVaR = −mean(r | r ≤ Q_tail)`. Both are loss fractions per period (positive = a loss), with
/// `CVaR ≥ VaR`. `None` for no returns; NaNs sort last (as in [`quantile_linear`]). The one VaR
/// rule of the product:
/// the metrics and the risk layer's leverage and VaR limit use it.
pub fn historical_var_cvar(returns: &[f64], tail: f64) -> Option<(f64, f64)> {
    historical_var_cvar_in_place(&mut returns.to_vec(), tail)
}

/// [`historical_var_cvar`] sorting `returns` in place (no allocation; the order is lost).
pub fn historical_var_cvar_in_place(returns: &mut [f64], tail: f64) -> Option<(f64, f64)> {
    if returns.is_empty() {
        return None;
    }
    returns.sort_unstable_by(f64::total_cmp);
    let q = quantile_sorted(returns, tail);
    let tail_values = returns.partition_point(|&x| x <= q);
    let m = mean(&returns[..tail_values])?;
    Some((-q, -m))
}

/// [`quantile_linear`] on an already ascending, non-empty slice (returns NaN when empty).
pub(crate) fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let q = q.clamp(0.0, 1.0);
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let g = h - lo as f64;
    let (a, b) = (v[lo], v[hi]);
    let d = b - a;
    if g >= 0.5 {
        b - d * (1.0 - g)
    } else {
        a + d * g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_conventions() {
        let x = [3.0, 1.0, 2.0, 4.0];
        assert_eq!(mean(&x), Some(2.5));
        // numpy.std([1,2,3,4], ddof=1) = 1.2909944487358056
        assert!((sample_std(&x).unwrap() - 1.290_994_448_735_805_6).abs() < 1e-15);
        // numpy.quantile([1,2,3,4], 0.05) = 1.15 ; 0.5 -> 2.5 ; 1.0 -> 4
        assert!((quantile_linear(&x, 0.05).unwrap() - 1.15).abs() < 1e-15);
        assert_eq!(quantile_linear(&x, 0.5), Some(2.5));
        assert_eq!(quantile_linear(&x, 1.0), Some(4.0));
        assert_eq!(quantile_linear(&[], 0.5), None);
        assert_eq!(sample_std(&[1.0]), None);
        assert_eq!(mean(&[]), None);
    }
}
