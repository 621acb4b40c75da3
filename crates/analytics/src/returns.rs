//! Period returns and risk-free rate conversions.

use pulse_core::Periodicity;
use pulse_core::jiff::Timestamp;

/// Simple period returns `r_i = E_i / E_{i−1} − 1` (fractions, per period, not annualized) for
/// `i = 1..n`; the result has `n − 1` elements (empty for fewer than two points). A zero previous
/// value yields ±∞/NaN: callers that need defined returns validate positivity first
/// ([`crate::Metrics::compute`] does).
pub fn returns(equity: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(equity.len().saturating_sub(1));
    returns_into(equity, &mut out);
    out
}

/// [`returns`] into a reused buffer (cleared first).
pub fn returns_into(equity: &[f64], out: &mut Vec<f64>) {
    out.clear();
    out.extend(equity.windows(2).map(|w| w[1] / w[0] - 1.0));
}

/// Log returns `ln(E_i / E_{i−1})` (per period, not annualized), `n − 1` elements.
pub fn log_returns(equity: &[f64]) -> Vec<f64> {
    equity.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

/// Per-period risk-free return from an annual yield quoted in PERCENT per annum (Yahoo `^IRX`,
/// the 13-week T-bill): `(1 + y/100)^(1/ppy) − 1`, a fraction per period, where `ppy` is
/// [`Periodicity::periods_per_year`] (252 for daily). E.g. `y = 5.0` daily → ≈ 0.0001936.
pub fn rf_per_period_from_annual_yield_pct(yield_pct: f64, periodicity: Periodicity) -> f64 {
    rf_per_period_from_annual_rate(yield_pct / 100.0, periodicity)
}

/// Per-period risk-free return from an annual rate given as a FRACTION (0.05 = 5 % p.a.):
/// `(1 + rate)^(1/ppy) − 1`, geometric de-annualization.
pub fn rf_per_period_from_annual_rate(rate: f64, periodicity: Periodicity) -> f64 {
    (1.0 + rate).powf(1.0 / periodicity.periods_per_year()) - 1.0
}

/// Aligns a dated series onto `target` timestamps by forward fill: for each target time, the
/// value of the latest `source` point at or before it (`None` before the first source point).
/// Both inputs must be ascending by time (an unsorted `source` gives unspecified alignment,
/// never a panic). This is how the ^IRX yield is carried onto equity dates it has no quote for.
pub fn forward_fill_onto(target: &[Timestamp], source: &[(Timestamp, f64)]) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(target.len());
    let mut j = 0usize;
    let mut last: Option<f64> = None;
    for t in target {
        while j < source.len() && source[j].0 <= *t {
            last = Some(source[j].1);
            j += 1;
        }
        out.push(last);
    }
    out
}

/// The per-period risk-free series for [`crate::RiskFree::PerPeriod`] from a dated annual yield in
/// PERCENT p.a. (the ^IRX close): forward-fill the yield onto `target` ([`forward_fill_onto`]),
/// then convert each with [`rf_per_period_from_annual_yield_pct`]. Target points before the
/// first quote take the first quote (back-fill; documented approximation for a series starting
/// before the yield data). `None` when `yields_pct` is empty (use `RiskFree::Zero` or a constant).
pub fn rf_series_from_yield_pct(
    target: &[Timestamp],
    yields_pct: &[(Timestamp, f64)],
    periodicity: Periodicity,
) -> Option<Vec<f64>> {
    let first = yields_pct.first()?.1;
    Some(
        forward_fill_onto(target, yields_pct)
            .into_iter()
            .map(|y| rf_per_period_from_annual_yield_pct(y.unwrap_or(first), periodicity))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_log() {
        let e = [100.0, 110.0, 99.0];
        let r = returns(&e);
        assert_eq!(r.len(), 2);
        assert!((r[0] - 0.1).abs() < 1e-15 && (r[1] + 0.1).abs() < 1e-15);
        let l = log_returns(&e);
        assert!((l[0] - 1.1f64.ln()).abs() < 1e-15);
        assert!(returns(&[1.0]).is_empty() && returns(&[]).is_empty());
    }

    #[test]
    fn rf_conversion() {
        let d = rf_per_period_from_annual_yield_pct(5.0, Periodicity::Daily);
        assert!(((1.0 + d).powf(252.0) - 1.05).abs() < 1e-12);
        assert_eq!(
            rf_per_period_from_annual_yield_pct(0.0, Periodicity::Monthly),
            0.0
        );
    }

    #[test]
    fn ffill() {
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        let target = [t(0), t(10), t(20), t(30)];
        let source = [(t(5), 1.0), (t(20), 2.0)];
        assert_eq!(
            forward_fill_onto(&target, &source),
            vec![None, Some(1.0), Some(2.0), Some(2.0)]
        );
    }
}
