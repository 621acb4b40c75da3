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
    if returns.is_empty() {
        return None;
    }
    let mut sorted = returns.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = quantile_sorted(&sorted, tail);
    let tail_values = sorted.partition_point(|&x| x <= q);
    let m = mean(&sorted[..tail_values])?;
    Some((-q, -m))
}

/// [`historical_var_cvar`] of finite `returns`, reordering them in place (no allocation; the
/// order is lost): a selection finds the quantile's two order statistics and only the values
/// below them are sorted, then the tail is summed in ascending order exactly as after a full
/// sort, so the result is bit-identical (property test) at a fraction of the cost.
pub fn historical_var_cvar_in_place(returns: &mut [f64], tail: f64) -> Option<(f64, f64)> {
    let n = returns.len();
    if n == 0 {
        return None;
    }
    // numpy's linear quantile, as `quantile_sorted`: order statistics lo and lo + 1.
    let h = (n - 1) as f64 * tail.clamp(0.0, 1.0);
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    returns.select_nth_unstable_by(hi, f64::total_cmp);
    let (left, rest) = returns.split_at_mut(hi);
    left.sort_unstable_by(f64::total_cmp);
    let b = rest[0];
    let a = if lo < hi { left[lo] } else { b };
    let g = h - lo as f64;
    let d = b - a;
    let q = if g >= 0.5 {
        b - d * (1.0 - g)
    } else {
        a + d * g
    };
    // The values ≤ q in ascending order: a prefix of the sorted left part, then the copies of
    // the pivot (everything after it is ≥ it, and q ≤ the pivot).
    let mut sum = 0.0;
    let mut count = 0usize;
    for &x in left.iter().take_while(|&&x| x <= q) {
        sum += x;
        count += 1;
    }
    if b <= q {
        for &x in rest.iter().filter(|&&x| x == b) {
            sum += x;
            count += 1;
        }
    }
    if count == 0 {
        return None;
    }
    Some((-q, -(sum / count as f64)))
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
    use proptest::prelude::*;

    proptest! {
        /// The in-place selection gives bit for bit what the full sort gives, ties and all.
        #[test]
        fn in_place_var_cvar_equals_the_sorted_one(
            xs in proptest::collection::vec(prop_oneof![(-50i32..50).prop_map(|v| v as f64 / 1000.0), -0.2f64..0.2], 1..150),
            tail in prop_oneof![Just(0.05), Just(0.01), Just(0.5), Just(0.0), Just(1.0), 0.0f64..1.0],
        ) {
            let expected = historical_var_cvar(&xs, tail).map(|(v, c)| (v.to_bits(), c.to_bits()));
            let got = historical_var_cvar_in_place(&mut xs.clone(), tail).map(|(v, c)| (v.to_bits(), c.to_bits()));
            prop_assert_eq!(got, expected);
        }
    }

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
