//! Calendar-month return table (for the report's heatmap).

use pulse_core::jiff::{Timestamp, tz::TimeZone};
use serde::Serialize;

/// Compounded return of one calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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

/// Monthly returns table, ascending by (year, month); months without any period end are absent.
/// `timestamps` and `equity` must have the same length (the shorter length is used otherwise).
pub fn monthly_returns(timestamps: &[Timestamp], equity: &[f64]) -> Vec<MonthlyReturn> {
    let n = timestamps.len().min(equity.len());
    let mut out: Vec<MonthlyReturn> = Vec::new();
    let mut growth = 1.0;
    let mut current: Option<(i16, i8)> = None;
    for i in 1..n {
        let z = timestamps[i].to_zoned(TimeZone::UTC);
        let key = (z.year(), z.month());
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
