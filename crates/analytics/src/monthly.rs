//! Calendar-month return table (for the report's heatmap).

use pulse_core::jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Compounded return of one calendar month (UTC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthlyReturn {
    /// Calendar year.
    pub year: i16,
    /// Month 1–12.
    pub month: i8,
    /// `Π(1 + r_i) − 1` over the period returns whose END timestamp falls in this month, fraction.
    /// For the first month this is relative to the first equity point, otherwise relative to the
    /// last point of the previous month present in the data.
    pub ret: f64,
}

/// UTC (year, month) of a timestamp, by integer civil-from-days arithmetic (H. Hinnant's
/// algorithm; proleptic Gregorian), avoiding a time-zone lookup per point.
fn utc_year_month(ts: Timestamp) -> (i16, i8) {
    let z = ts.as_second().div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // jiff timestamps span years −9999..=9999, so both fit.
    (year as i16, month as i8)
}

/// Monthly returns table, ascending by (year, month); months without any period end are absent.
/// `timestamps` and `equity` must have the same length (the shorter length is used otherwise).
pub fn monthly_returns(timestamps: &[Timestamp], equity: &[f64]) -> Vec<MonthlyReturn> {
    let n = timestamps.len().min(equity.len());
    let mut out: Vec<MonthlyReturn> = Vec::new();
    let mut growth = 1.0;
    let mut current: Option<(i16, i8)> = None;
    for i in 1..n {
        let key = utc_year_month(timestamps[i]);
        if current != Some(key) {
            if let Some((year, month)) = current {
                out.push(MonthlyReturn {
                    year,
                    month,
                    ret: growth - 1.0,
                });
            }
            current = Some(key);
            growth = 1.0;
        }
        growth *= 1.0 + (equity[i] / equity[i - 1] - 1.0);
    }
    if let Some((year, month)) = current {
        out.push(MonthlyReturn {
            year,
            month,
            ret: growth - 1.0,
        });
    }
    out
}

/// Compounded return of one calendar year (UTC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct YearlyReturn {
    /// Calendar year.
    pub year: i16,
    /// `Π(1 + r_i) − 1` over the period returns whose END timestamp falls in this year, fraction
    /// (the first year is relative to the first equity point).
    pub ret: f64,
}

/// Calendar-year returns (the heatmap's row totals), ascending, compounded from the monthly table.
pub fn yearly_returns(monthly: &[MonthlyReturn]) -> Vec<YearlyReturn> {
    let mut out: Vec<YearlyReturn> = Vec::new();
    for m in monthly {
        match out.last_mut() {
            Some(y) if y.year == m.year => y.ret = (1.0 + y.ret) * (1.0 + m.ret) - 1.0,
            _ => out.push(YearlyReturn {
                year: m.year,
                ret: m.ret,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_core::jiff::tz::TimeZone;

    #[test]
    fn year_month_agrees_with_jiff() {
        let mut s = Timestamp::MIN.as_second();
        let step = 86_400 * 17 + 3_607;
        while s < Timestamp::MAX.as_second() {
            let ts = Timestamp::from_second(s).unwrap();
            let z = ts.to_zoned(TimeZone::UTC);
            assert_eq!(utc_year_month(ts), (z.year(), z.month()), "{ts}");
            s += step;
        }
    }
}
