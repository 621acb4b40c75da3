//! Value axes (nice linear and logarithmic ticks) and number formatting by unit.

/// How the numbers of an axis or a cell are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    /// Currency amounts.
    Money,
    /// Fractions written as percent.
    Percent,
    /// Plain numbers.
    Plain,
}

/// A value axis: the drawn domain and its ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAxis {
    /// Lower bound of the domain (value units).
    pub lo: f64,
    /// Upper bound of the domain (value units).
    pub hi: f64,
    /// Logarithmic mapping (lo > 0).
    pub log: bool,
    /// Tick values inside the domain.
    pub ticks: Vec<f64>,
    /// Tick spacing for linear axes (drives the label decimals); 0 for log axes.
    pub step: f64,
}

impl ValueAxis {
    /// Maps a value to 0..1 (0 = lo, 1 = hi); `None` for values a log axis cannot show (≤ 0).
    pub fn unit(&self, v: f64) -> Option<f64> {
        if self.log {
            if v <= 0.0 || self.lo <= 0.0 {
                return None;
            }
            Some((v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln()))
        } else {
            Some((v - self.lo) / (self.hi - self.lo))
        }
    }
}

fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let n = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * mag
}

/// A linear axis covering `[lo, hi]` rounded outward to about `n` nice ticks (1, 2, 2.5, 5 × 10^k).
pub fn linear_axis(lo: f64, hi: f64, n: usize) -> ValueAxis {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if hi <= lo {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        lo -= pad;
        hi += pad;
    }
    let step = nice_step((hi - lo) / (n.max(2) - 1) as f64);
    let dlo = (lo / step).floor() * step;
    let dhi = (hi / step).ceil() * step;
    let count = ((dhi - dlo) / step).round() as i64;
    let ticks = (0..=count).map(|i| dlo + i as f64 * step).collect();
    ValueAxis {
        lo: dlo,
        hi: dhi,
        log: false,
        ticks,
        step,
    }
}

/// A logarithmic axis covering `[lo, hi]` (both > 0): decades, or 1-2-5 ticks, or nice linear
/// ticks placed logarithmically when the range is narrower than a decade.
pub fn log_axis(lo: f64, hi: f64, n: usize) -> ValueAxis {
    if lo.is_nan() || hi.is_nan() || lo <= 0.0 || hi <= 0.0 || !lo.is_finite() || !hi.is_finite() {
        return linear_axis(lo, hi, n);
    }
    let (lo, hi) = if hi <= lo {
        (lo / 1.1, hi * 1.1)
    } else {
        (lo / 1.03, hi * 1.03)
    };
    let d0 = lo.log10().floor() as i32;
    let d1 = hi.log10().ceil() as i32;
    let pick = |mults: &[f64]| -> Vec<f64> {
        let mut t = Vec::new();
        for d in d0..=d1 {
            for m in mults {
                let v = m * 10f64.powi(d);
                if v >= lo && v <= hi {
                    t.push(v);
                }
            }
        }
        t
    };
    let decades = pick(&[1.0]);
    let ticks = if decades.len() >= 3 {
        let stride = decades.len().div_ceil(n.max(2));
        decades.into_iter().step_by(stride.max(1)).collect()
    } else {
        let t = pick(&[1.0, 2.0, 5.0]);
        let finer = pick(&[1.0, 1.5, 2.0, 3.0, 5.0, 7.0]);
        if t.len() >= 4 && t.len() <= n + 2 {
            t
        } else if finer.len() >= 3 && finer.len() <= n + 2 {
            finer
        } else if t.len() >= 3 && t.len() <= n + 2 {
            t
        } else {
            let lin = linear_axis(lo, hi, n);
            lin.ticks
                .into_iter()
                .filter(|v| *v >= lo && *v <= hi && *v > 0.0)
                .collect()
        }
    };
    ValueAxis {
        lo,
        hi,
        log: true,
        ticks,
        step: 0.0,
    }
}

/// The symbol written before money: `$` for USD, `€`, `£`, `¥`, `₩` for EUR, GBP, JPY, KRW,
/// else the code and a space.
pub fn currency_prefix(currency: &str) -> String {
    match currency.to_ascii_uppercase().as_str() {
        "USD" | "" => "$".into(),
        "EUR" => "€".into(),
        "GBP" => "£".into(),
        "JPY" => "¥".into(),
        "KRW" => "₩".into(),
        other => format!("{other} "),
    }
}

/// `1234567.891` with 2 decimals → `1,234,567.89`.
pub fn thousands(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3 + 4);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let neg = v < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0');
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&grouped);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A money amount, e.g. `$1,234.50` or `-$12.00`.
pub fn money(v: f64, currency: &str, decimals: usize) -> String {
    let t = thousands(v, decimals);
    match t.strip_prefix('-') {
        Some(abs) => format!("-{}{abs}", currency_prefix(currency)),
        None => format!("{}{t}", currency_prefix(currency)),
    }
}

/// A fraction as percent, e.g. `0.12345` → `12.35%`.
pub fn percent(frac: f64, decimals: usize) -> String {
    if !frac.is_finite() {
        return "—".into();
    }
    let s = format!("{:.*}%", decimals, frac * 100.0);
    if s.starts_with("-0") && s.bytes().all(|b| matches!(b, b'-' | b'0' | b'.' | b'%')) {
        s[1..].to_string()
    } else {
        s
    }
}

fn decimals_for_step(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 2;
    }
    (0..8usize)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(8)
}

/// A compact axis label: `$150k`, `$1.2M`, `-40%`, `2.5`.
pub fn axis_label(v: f64, step: f64, format: ValueFormat, currency: &str) -> String {
    match format {
        ValueFormat::Percent => {
            let dec = if step > 0.0 {
                decimals_for_step(step * 100.0)
            } else {
                0
            };
            let dec = if step == 0.0 {
                decimals_for_value(v * 100.0)
            } else {
                dec
            };
            percent(v, dec)
        }
        ValueFormat::Money => {
            let a = v.abs();
            let (scaled, suffix, s) = if a >= 1e9 {
                (v / 1e9, "B", step / 1e9)
            } else if a >= 1e6 {
                (v / 1e6, "M", step / 1e6)
            } else if a >= 1e4 {
                (v / 1e3, "k", step / 1e3)
            } else {
                (v, "", step)
            };
            let dec = if step > 0.0 {
                decimals_for_step(s)
            } else {
                decimals_for_value(scaled)
            };
            let body = money(scaled, currency, dec);
            format!("{body}{suffix}")
        }
        ValueFormat::Plain => {
            let dec = if step > 0.0 {
                decimals_for_step(step)
            } else {
                decimals_for_value(v)
            };
            thousands(v, dec)
        }
    }
}

fn decimals_for_value(v: f64) -> usize {
    let a = v.abs();
    if a == 0.0 || a >= 10.0 {
        0
    } else if a >= 1.0 {
        1
    } else {
        ((-a.log10()).ceil() as usize + 1).min(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_nice() {
        let a = linear_axis(93_000.0, 412_000.0, 6);
        assert_eq!(a.step, 100_000.0);
        assert_eq!(
            a.ticks,
            vec![0.0, 100_000.0, 200_000.0, 300_000.0, 400_000.0, 500_000.0]
        );
        let a = linear_axis(-0.734, 0.0, 6);
        assert_eq!(a.step, 0.2);
        assert!((a.lo + 0.8).abs() < 1e-12 && a.hi == 0.0);
    }

    #[test]
    fn log_ticks() {
        let a = log_axis(20_000.0, 2_500_000.0, 6);
        assert!(a.log);
        assert!(a.ticks.contains(&100_000.0) && a.ticks.contains(&1_000_000.0));
        // $18k..$180k: 1-2-5 gives only 3 ticks, the finer 1-1.5-2-3-5-7 set is used.
        let b = log_axis(18_000.0, 180_000.0, 7);
        assert_eq!(
            b.ticks,
            vec![20_000.0, 30_000.0, 50_000.0, 70_000.0, 100_000.0, 150_000.0]
        );
        let narrow = log_axis(95_000.0, 130_000.0, 6);
        assert!(narrow.ticks.len() >= 3, "{narrow:?}");
        assert!(narrow.unit(0.0).is_none());
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(thousands(-999.999, 2), "-1,000.00");
        assert_eq!(thousands(-0.001, 2), "0.00");
        assert_eq!(money(-12.0, "USD", 2), "-$12.00");
        assert_eq!(money(1500.0, "KRW", 0), "₩1,500");
        assert_eq!(money(1.0, "CHF", 2), "CHF 1.00");
        assert_eq!(percent(0.12345, 2), "12.35%");
        assert_eq!(percent(-0.00001, 2), "0.00%");
        assert_eq!(
            axis_label(150_000.0, 50_000.0, ValueFormat::Money, "USD"),
            "$150k"
        );
        assert_eq!(
            axis_label(1_500_000.0, 500_000.0, ValueFormat::Money, "USD"),
            "$1.5M"
        );
        assert_eq!(axis_label(-0.4, 0.2, ValueFormat::Percent, "USD"), "-40%");
        assert_eq!(axis_label(0.25, 0.25, ValueFormat::Percent, "USD"), "25%");
        assert_eq!(axis_label(2.5, 2.5, ValueFormat::Plain, ""), "2.5");
    }
}
