//! Date parsing to a numeric axis (days since 1970-01-01 UTC, fractional for intraday) and date ticks.

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(y: i64, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)) as u32
}

/// Parses `YYYY-MM-DD` or RFC 3339 (`YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`, a space may replace
/// `T`, no offset = UTC) into fractional days since 1970-01-01 UTC. `None` when malformed.
pub fn parse_day(text: &str) -> Option<f64> {
    let s = text.trim();
    if s.len() < 10 || !s.is_char_boundary(10) {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let b = date.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = num(&date[0..4])?;
    let m = u32::try_from(num(&date[5..7])?).ok()?;
    let d = u32::try_from(num(&date[8..10])?).ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let day = days_from_civil(y, m, d) as f64;
    if rest.is_empty() {
        return Some(day);
    }
    let rest = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix('t'))
        .or_else(|| rest.strip_prefix(' '))?;
    // Split off the zone designator.
    let (clock, offset_minutes) =
        if let Some(c) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) {
            (c, 0i64)
        } else if rest.len() > 6 && rest.is_char_boundary(rest.len() - 6) {
            let (c, z) = rest.split_at(rest.len() - 6);
            let zb = z.as_bytes();
            if (zb[0] == b'+' || zb[0] == b'-') && zb[3] == b':' {
                let h = num(&z[1..3])?;
                let mi = num(&z[4..6])?;
                let sign = if zb[0] == b'-' { -1 } else { 1 };
                (c, sign * (h * 60 + mi))
            } else {
                (rest, 0)
            }
        } else {
            (rest, 0)
        };
    let mut parts = clock.splitn(3, ':');
    let two = |p: Option<&str>| p.filter(|p| p.len() == 2).and_then(num);
    let h = two(parts.next())?;
    let mi = two(parts.next())?;
    let sec: f64 = match parts.next() {
        None => 0.0,
        Some(sx) => {
            let (whole, frac) = match sx.split_once('.') {
                Some((w, f)) if !f.is_empty() && f.len() <= 9 => (w, f),
                Some(_) => return None,
                None => (sx, ""),
            };
            let w = two(Some(whole))? as f64;
            let f = if frac.is_empty() {
                0.0
            } else {
                num(frac)? as f64 / 10f64.powi(frac.len() as i32)
            };
            w + f
        }
    };
    if h > 23 || mi > 59 || sec >= 61.0 {
        return None;
    }
    let secs = (h * 3600 + mi * 60 - offset_minutes * 60) as f64 + sec;
    Some(day + secs / 86_400.0)
}

/// A tick on a date axis: position (days) and label.
#[derive(Debug, Clone, PartialEq)]
pub struct DateTick {
    /// Position in days since 1970-01-01 UTC.
    pub x: f64,
    /// Label, e.g. "2023", "Apr 2023", "2023-04-12", "04-12 14:00".
    pub label: String,
}

/// Calendar-aligned ticks inside `[lo, hi]`, at most `max_ticks` of them (at least 2 when the range
/// allows): whole years, months, days, hours or minutes, whichever step fits.
pub fn date_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<DateTick> {
    if hi.is_nan() || lo.is_nan() || hi <= lo {
        return Vec::new();
    }
    let max_ticks = max_ticks.max(2);
    // Sub-day steps (minutes), day steps, month steps, year steps, from fine to coarse.
    let span = hi - lo;
    for minutes in [1i64, 5, 10, 15, 30, 60, 120, 180, 360, 720] {
        let step = minutes as f64 / 1440.0;
        if span / step > max_ticks as f64 {
            continue;
        }
        let mut out = Vec::new();
        let mut k = (lo / step).ceil() as i64;
        while (k as f64) * step <= hi + 1e-9 {
            let x = k as f64 * step;
            let day = x.floor() as i64;
            let (_, m, d) = civil_from_days(day);
            let mins = ((x - day as f64) * 1440.0).round() as i64;
            out.push(DateTick {
                x,
                label: format!("{m:02}-{d:02} {:02}:{:02}", mins / 60, mins % 60),
            });
            k += 1;
        }
        return out;
    }
    for days in [1i64, 2, 7, 14] {
        if span / days as f64 > max_ticks as f64 {
            continue;
        }
        let mut out = Vec::new();
        // Weekly steps start on Mondays (day 4 = Monday 1970-01-05).
        let origin = if days >= 7 { 4 } else { 0 };
        let mut k = ((lo - origin as f64) / days as f64).ceil() as i64;
        while ((origin + k * days) as f64) <= hi + 1e-9 {
            let day = origin + k * days;
            let (y, m, d) = civil_from_days(day);
            out.push(DateTick {
                x: day as f64,
                label: format!("{y:04}-{m:02}-{d:02}"),
            });
            k += 1;
        }
        return out;
    }
    let (y0, _, _) = civil_from_days(lo.floor() as i64);
    let (y1, _, _) = civil_from_days(hi.floor() as i64);
    for months in [1u32, 2, 3, 6] {
        if span / (30.4 * f64::from(months)) > max_ticks as f64 + 1.0 {
            continue;
        }
        let mut out = Vec::new();
        for y in y0..=y1 {
            for m in (1..=12).step_by(months as usize) {
                let x = days_from_civil(y, m, 1) as f64;
                if x >= lo && x <= hi {
                    out.push(DateTick {
                        x,
                        label: format!("{} {y}", MONTHS[(m - 1) as usize]),
                    });
                }
            }
        }
        if out.len() <= max_ticks {
            return out;
        }
    }
    for years in [1i64, 2, 5, 10, 20, 50, 100, 200, 500, 1000] {
        let mut out = Vec::new();
        let start = y0.div_euclid(years) * years;
        let mut y = start;
        while y <= y1 {
            let x = days_from_civil(y, 1, 1) as f64;
            if x >= lo && x <= hi {
                out.push(DateTick {
                    x,
                    label: format!("{y}"),
                });
            }
            y += years;
        }
        if out.len() <= max_ticks {
            return out;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_roundtrip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in [-1000i64, 0, 11_016, 19_213, 20_000, 40_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn parses_dates_and_rfc3339() {
        assert_eq!(parse_day("2022-08-09"), Some(19_213.0));
        assert_eq!(parse_day("2022-08-09T12:00:00Z"), Some(19_213.5));
        assert_eq!(parse_day("2022-08-09T21:00:00+09:00"), Some(19_213.5));
        assert_eq!(parse_day("2022-08-09 06:00"), Some(19_213.25));
        assert_eq!(
            parse_day("2022-08-09T00:00:00.5Z"),
            Some(19_213.0 + 0.5 / 86_400.0)
        );
        for bad in [
            "",
            "2022-8-9",
            "2022-02-30",
            "2022-13-01",
            "abcd-ef-gh",
            "2022-08-09T25:00Z",
            "2022-08-09x",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn never_panics_on_odd_text() {
        for s in [
            "2022-08-0é",
            "é022-08-09",
            "2022-08-09Té",
            "2022-08-09T10:00é00:00",
            "2022-08-09T10:00+0é:00",
            "２０２２-08-09",
            "2022-08-09T",
            "2022-08-09T1:2:3.",
            "2022-08-09T10:00:00.ééZ",
        ] {
            assert_eq!(parse_day(s), None, "{s}");
        }
    }

    #[test]
    fn ticks_fit_and_align() {
        let lo = parse_day("2018-01-02").unwrap();
        let hi = parse_day("2025-09-29").unwrap();
        let t = date_ticks(lo, hi, 10);
        assert_eq!(t.first().map(|t| t.label.as_str()), Some("2019"));
        assert!(t.len() <= 10 && t.len() >= 4);
        let t = date_ticks(lo, lo + 200.0, 8);
        assert!(t.iter().all(|t| t.label.contains(' ')), "{t:?}");
        // A month of minutes: weekly ticks on Mondays.
        let t = date_ticks(
            parse_day("2025-05-30").unwrap(),
            parse_day("2025-06-29").unwrap(),
            10,
        );
        assert_eq!(
            t.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(),
            ["2025-06-02", "2025-06-09", "2025-06-16", "2025-06-23"]
        );
        let t = date_ticks(lo + 0.3, lo + 0.7, 8);
        assert!(!t.is_empty() && t[0].label.contains(':'), "{t:?}");
    }
}
