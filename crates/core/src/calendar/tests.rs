//! Calendar tests: spot facts, trading-day arithmetic, and equality with the trading days of the real
//! daily files under the shared data directory.

use super::*;
use jiff::civil::date;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The `date` column of a shared daily CSV (first column, header skipped).
fn file_dates(relative: &str) -> Vec<Date> {
    let path = pulse_testkit::shared_file(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').next().unwrap().parse::<Date>().unwrap())
        .collect()
}

/// Every date of the file must be a trading day, and every trading day inside the file's range must
/// appear in the file. Returns the number of dates checked.
fn assert_file_matches(ex: Exchange, relative: &str, from: Option<Date>) -> usize {
    let cal = calendar(ex);
    let mut dates = file_dates(relative);
    if let Some(from) = from {
        dates.retain(|d| *d >= from);
    }
    let set: BTreeSet<Date> = dates.iter().copied().collect();
    assert_eq!(set.len(), dates.len(), "{relative}: duplicate dates");
    let (first, last) = (dates[0], dates[dates.len() - 1]);
    let expected: BTreeSet<Date> = cal.trading_days(first, last).unwrap().into_iter().collect();
    let extra: Vec<_> = set.difference(&expected).collect();
    let missing: Vec<_> = expected.difference(&set).collect();
    assert!(
        extra.is_empty(),
        "{relative}: dates that are not {ex} trading days: {extra:?}"
    );
    assert!(
        missing.is_empty(),
        "{relative}: {ex} trading days missing from the file: {missing:?}"
    );
    dates.len()
}

#[test]
fn compiled_tables_parse() {
    for ex in [Exchange::Nyse, Exchange::Nasdaq, Exchange::Krx] {
        let cal = calendar(ex);
        if let Kind::Broken(msg) = &cal.kind {
            panic!("{ex}: {msg}");
        }
        assert!(matches!(cal.kind, Kind::Table(_)));
    }
    assert_eq!(
        calendar(Exchange::Nyse).coverage(),
        (date(1990, 1, 1), date(2027, 12, 31))
    );
    assert_eq!(
        calendar(Exchange::Krx).coverage(),
        (date(2001, 1, 1), date(2027, 12, 31))
    );
}

#[test]
fn spy_daily_dates_equal_nyse_trading_days() {
    let n = assert_file_matches(Exchange::Nyse, "daily-ohlcv/SPY.csv", None);
    assert_eq!(n, 1443);
    // Longer histories: SPY adjusted closes 1993-2026 and JNJ from the calendar's first year.
    assert!(assert_file_matches(Exchange::Nyse, "daily-adjclose/SPY.csv", None) > 8000);
    assert!(
        assert_file_matches(
            Exchange::Nasdaq,
            "daily-adjclose/JNJ.csv",
            Some(date(1990, 1, 1))
        ) > 9000
    );
}

#[test]
fn krx_daily_dates_equal_krx_trading_days() {
    for f in [
        "daily-ohlcv/005930.KS.csv",
        "daily-ohlcv/069500.KS.csv",
        "daily-ohlcv/000660.KS.csv",
        "daily-ohlcv/114800.KS.csv",
    ] {
        assert!(assert_file_matches(Exchange::Krx, f, None) > 300, "{f}");
    }
}

#[test]
fn nyse_one_off_closures_and_half_days() {
    let nyse = calendar(Exchange::Nyse);
    assert!(!nyse.is_trading_day(date(2018, 12, 5)).unwrap());
    assert!(!nyse.is_trading_day(date(2025, 1, 9)).unwrap());
    assert_eq!(nyse.session(date(2025, 1, 9)).unwrap(), None);
    for d in [date(2001, 9, 11), date(2001, 9, 14), date(2012, 10, 29)] {
        assert!(!nyse.is_trading_day(d).unwrap(), "{d}");
    }
    let half = nyse.session(date(2024, 7, 3)).unwrap().unwrap();
    assert!(half.early_close);
    assert_eq!(half.open, ts("2024-07-03T13:30:00Z"));
    assert_eq!(half.close, ts("2024-07-03T17:00:00Z"));
    for d in [date(2024, 11, 29), date(2024, 12, 24)] {
        let s = nyse.session(d).unwrap().unwrap();
        assert!(s.early_close, "{d}");
        assert_eq!(
            s.close,
            ts(&format!("{d}T18:00:00Z")),
            "{d} (EST: 13:00 = 18:00Z)"
        );
    }
    let normal = nyse.session(date(2024, 7, 2)).unwrap().unwrap();
    assert!(!normal.early_close);
    assert_eq!(normal.close, ts("2024-07-02T20:00:00Z"));
    // Nasdaq shares the NYSE calendar.
    let nasdaq = calendar(Exchange::Nasdaq);
    assert_eq!(nasdaq.exchange(), Exchange::Nasdaq);
    assert_eq!(nasdaq.session(date(2024, 7, 3)).unwrap(), Some(half));
}

#[test]
fn nyse_open_follows_dst() {
    let nyse = calendar(Exchange::Nyse);
    // DST began 2024-03-10 and ended 2024-11-03.
    let open = |d: Date| nyse.session(d).unwrap().unwrap().open;
    assert_eq!(open(date(2024, 3, 8)), ts("2024-03-08T14:30:00Z"));
    assert_eq!(open(date(2024, 3, 11)), ts("2024-03-11T13:30:00Z"));
    assert_eq!(open(date(2024, 11, 1)), ts("2024-11-01T13:30:00Z"));
    assert_eq!(open(date(2024, 11, 4)), ts("2024-11-04T14:30:00Z"));
    let close = nyse.session(date(2024, 11, 4)).unwrap().unwrap().close;
    assert_eq!(close, ts("2024-11-04T21:00:00Z"));
    assert_eq!(nyse.time_zone().iana_name(), Some("America/New_York"));
}

#[test]
fn krx_holidays_and_hours() {
    let krx = calendar(Exchange::Krx);
    assert_eq!(krx.time_zone().iana_name(), Some("Asia/Seoul"));
    for d in [
        date(2025, 6, 3),  // presidential election
        date(2024, 9, 16), // Chuseok
        date(2024, 9, 17),
        date(2024, 9, 18),
        date(2024, 12, 31), // year-end closing day
        date(2023, 12, 29), // year-end closing day (12-31 was a Sunday)
        date(2025, 1, 28),  // Seollal
        date(2025, 1, 29),
        date(2025, 1, 30),
        date(2024, 2, 9), // Seollal 2024
        date(2026, 6, 3), // local elections (override)
    ] {
        assert!(!krx.is_trading_day(d).unwrap(), "{d} should be closed");
    }
    // Regular session 09:00-15:30 KST = 00:00-06:30Z.
    let s = krx.session(date(2024, 6, 4)).unwrap().unwrap();
    assert_eq!(
        (s.open, s.close),
        (ts("2024-06-04T00:00:00Z"), ts("2024-06-04T06:30:00Z"))
    );
    assert!(!s.early_close);
    // First trading day of the year opens at 10:00.
    let s = krx.session(date(2025, 1, 2)).unwrap().unwrap();
    assert_eq!(
        (s.open, s.close),
        (ts("2025-01-02T01:00:00Z"), ts("2025-01-02T06:30:00Z"))
    );
    // CSAT day (override): 10:00-16:30.
    let s = krx.session(date(2024, 11, 14)).unwrap().unwrap();
    assert_eq!(
        (s.open, s.close),
        (ts("2024-11-14T01:00:00Z"), ts("2024-11-14T07:30:00Z"))
    );
    assert!(!s.early_close);
    // 2017-11-16: CSAT postponed, regular hours (override corrects the generated table).
    let s = krx.session(date(2017, 11, 16)).unwrap().unwrap();
    assert_eq!(s.open, ts("2017-11-16T00:00:00Z"));
    // Before 2016-08-01 the close was 15:00.
    let s = krx.session(date(2016, 7, 29)).unwrap().unwrap();
    assert_eq!(s.close, ts("2016-07-29T06:00:00Z"));
}

#[test]
fn next_and_previous_cross_holidays_and_weekends() {
    let nyse = calendar(Exchange::Nyse);
    assert_eq!(
        nyse.next_trading_day(date(2024, 7, 3)).unwrap(),
        date(2024, 7, 5)
    );
    assert_eq!(
        nyse.previous_trading_day(date(2024, 7, 5)).unwrap(),
        date(2024, 7, 3)
    );
    assert_eq!(
        nyse.next_trading_day(date(2024, 7, 4)).unwrap(),
        date(2024, 7, 5)
    );
    assert_eq!(
        nyse.next_trading_day(date(2024, 11, 22)).unwrap(),
        date(2024, 11, 25)
    );
    assert_eq!(
        nyse.next_trading_day(date(2024, 11, 23)).unwrap(),
        date(2024, 11, 25)
    );
    assert_eq!(
        nyse.next_trading_day(date(2025, 1, 8)).unwrap(),
        date(2025, 1, 10)
    );
    assert_eq!(
        nyse.previous_trading_day(date(2025, 1, 10)).unwrap(),
        date(2025, 1, 8)
    );
    assert_eq!(
        nyse.previous_trading_day(date(2024, 12, 2)).unwrap(),
        date(2024, 11, 29)
    );
    let krx = calendar(Exchange::Krx);
    assert_eq!(
        krx.next_trading_day(date(2024, 9, 13)).unwrap(),
        date(2024, 9, 19)
    );
    assert_eq!(
        krx.previous_trading_day(date(2024, 9, 19)).unwrap(),
        date(2024, 9, 13)
    );
    assert_eq!(
        krx.previous_trading_day(date(2025, 1, 2)).unwrap(),
        date(2024, 12, 30)
    );
    assert_eq!(
        krx.next_trading_day(date(2025, 1, 24)).unwrap(),
        date(2025, 1, 31)
    );
}

#[test]
fn add_trading_days_across_year_ends() {
    let nyse = calendar(Exchange::Nyse);
    let d = date(2024, 12, 30);
    assert_eq!(nyse.add_trading_days(d, 0).unwrap(), d);
    assert_eq!(nyse.add_trading_days(d, 1).unwrap(), date(2024, 12, 31));
    assert_eq!(nyse.add_trading_days(d, 2).unwrap(), date(2025, 1, 2));
    assert_eq!(nyse.add_trading_days(d, 3).unwrap(), date(2025, 1, 3));
    assert_eq!(nyse.add_trading_days(date(2025, 1, 3), -3).unwrap(), d);
    assert_eq!(
        nyse.add_trading_days(date(2025, 1, 1), 0).unwrap(),
        date(2025, 1, 2)
    );
    assert_eq!(
        nyse.add_trading_days(date(2025, 1, 1), 1).unwrap(),
        date(2025, 1, 2)
    );
    assert_eq!(
        nyse.add_trading_days(date(2025, 1, 1), -1).unwrap(),
        date(2024, 12, 31)
    );
    // 2024 had 252 NYSE sessions: 252 trading days after the last one of 2023 is the last of 2024.
    assert_eq!(
        nyse.trading_days(date(2024, 1, 1), date(2024, 12, 31))
            .unwrap()
            .len(),
        252
    );
    assert_eq!(
        nyse.add_trading_days(date(2023, 12, 29), 252).unwrap(),
        date(2024, 12, 31)
    );
    let krx = calendar(Exchange::Krx);
    assert_eq!(
        krx.add_trading_days(date(2024, 12, 27), 1).unwrap(),
        date(2024, 12, 30)
    );
    assert_eq!(
        krx.add_trading_days(date(2024, 12, 27), 2).unwrap(),
        date(2025, 1, 2)
    );
    assert_eq!(
        krx.add_trading_days(date(2025, 1, 2), -2).unwrap(),
        date(2024, 12, 27)
    );
}

#[test]
fn coverage_errors() {
    let nyse = calendar(Exchange::Nyse);
    let err = nyse.is_trading_day(date(1989, 12, 29)).unwrap_err();
    assert!(matches!(err, CoreError::OutsideCalendar { date: d, .. } if d == date(1989, 12, 29)));
    assert!(err.to_string().contains("1990-01-01..=2027-12-31"), "{err}");
    assert!(nyse.session(date(2028, 1, 3)).is_err());
    // 2027-12-31 is a Friday session; the next one lies beyond the table.
    assert!(nyse.is_trading_day(date(2027, 12, 31)).unwrap());
    let err = nyse.next_trading_day(date(2027, 12, 31)).unwrap_err();
    assert!(matches!(err, CoreError::OutsideCalendar { date: d, .. } if d == date(2028, 1, 1)));
    // 1990-01-01 is a holiday and the first covered date.
    assert!(nyse.previous_trading_day(date(1990, 1, 2)).is_err());
    assert!(nyse.add_trading_days(date(2027, 12, 1), 100).is_err());
    assert!(nyse.add_trading_days(date(1990, 1, 3), -5).is_err());
    assert!(nyse.add_trading_days(date(2020, 1, 2), i32::MAX).is_err());
    assert!(
        nyse.trading_days(date(2027, 1, 1), date(2028, 1, 1))
            .is_err()
    );
    assert!(nyse.session_at(ts("1985-06-03T15:00:00Z")).is_err());
    let krx = calendar(Exchange::Krx);
    assert!(krx.is_trading_day(date(2000, 12, 29)).is_err());
    let crypto = calendar(Exchange::Crypto);
    assert!(crypto.is_trading_day(date(1899, 12, 31)).is_err());
    assert!(crypto.add_trading_days(date(2199, 12, 30), 5).is_err());
    let none = calendar(Exchange::None);
    assert!(none.add_trading_days(date(1900, 1, 2), -5).is_err());
    assert!(none.add_trading_days(date(2024, 1, 1), i32::MIN).is_err());
}

#[test]
fn session_at_and_local_date() {
    let nyse = calendar(Exchange::Nyse);
    let s = nyse
        .session_at(ts("2024-07-03T16:59:59Z"))
        .unwrap()
        .unwrap();
    assert_eq!(s.date, date(2024, 7, 3));
    assert_eq!(nyse.session_at(ts("2024-07-03T17:00:00Z")).unwrap(), None);
    assert_eq!(nyse.session_at(ts("2024-07-03T13:29:59Z")).unwrap(), None);
    assert!(
        nyse.session_at(ts("2024-07-03T13:30:00Z"))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        nyse.local_date(ts("2024-07-03T02:00:00Z")),
        date(2024, 7, 2)
    );
    let krx = calendar(Exchange::Krx);
    // 2024-06-03T23:30Z is 08:30 KST on 06-04: before the open.
    assert_eq!(krx.local_date(ts("2024-06-03T23:30:00Z")), date(2024, 6, 4));
    assert_eq!(krx.session_at(ts("2024-06-03T23:30:00Z")).unwrap(), None);
    let s = krx.session_at(ts("2024-06-04T00:00:00Z")).unwrap().unwrap();
    assert_eq!(s.date, date(2024, 6, 4));
}

#[test]
fn crypto_and_none_calendars() {
    let crypto = calendar(Exchange::Crypto);
    assert_eq!(crypto.exchange(), Exchange::Crypto);
    assert_eq!(crypto.time_zone().iana_name(), Some("UTC"));
    let s = crypto.session(date(2025, 6, 1)).unwrap().unwrap(); // a Sunday
    assert_eq!(
        (s.open, s.close),
        (ts("2025-06-01T00:00:00Z"), ts("2025-06-02T00:00:00Z"))
    );
    assert_eq!(
        crypto.next_trading_day(date(2025, 6, 1)).unwrap(),
        date(2025, 6, 2)
    );
    assert_eq!(
        crypto.add_trading_days(date(2024, 12, 30), 3).unwrap(),
        date(2025, 1, 2)
    );
    assert_eq!(
        crypto
            .trading_days(date(2024, 2, 1), date(2024, 2, 29))
            .unwrap()
            .len(),
        29
    );
    assert_eq!(
        crypto
            .session_at(ts("2025-06-01T23:59:59Z"))
            .unwrap()
            .map(|s| s.date),
        Some(date(2025, 6, 1))
    );
    let none = calendar(Exchange::None);
    assert!(!none.is_trading_day(date(2025, 6, 1)).unwrap());
    assert_eq!(none.session(date(2025, 6, 1)).unwrap(), None);
    assert!(none.is_trading_day(date(2025, 1, 1)).unwrap()); // holidays do not exist here
    assert_eq!(
        none.next_trading_day(date(2025, 5, 30)).unwrap(),
        date(2025, 6, 2)
    );
    assert_eq!(
        none.previous_trading_day(date(2025, 6, 2)).unwrap(),
        date(2025, 5, 30)
    );
    assert_eq!(
        none.add_trading_days(date(2025, 5, 31), 0).unwrap(),
        date(2025, 6, 2)
    );
    assert_eq!(
        none.add_trading_days(date(2025, 5, 28), 10).unwrap(),
        date(2025, 6, 11)
    );
    assert_eq!(
        none.add_trading_days(date(2025, 6, 11), -10).unwrap(),
        date(2025, 5, 28)
    );
    assert_eq!(
        none.trading_days(date(2025, 6, 1), date(2025, 6, 30))
            .unwrap()
            .len(),
        21
    );
    assert!(
        none.trading_days(date(2025, 6, 2), date(2025, 6, 1))
            .unwrap()
            .is_empty()
    );
}

/// Brute-force reference: walk day by day.
fn brute_add(cal: &ExchangeCalendar, d: Date, n: i32) -> Option<Date> {
    let (first, last) = cal.coverage();
    let trading = |x: Date| cal.is_trading_day(x).unwrap();
    let mut cur = d;
    if n == 0 {
        while !trading(cur) {
            cur = cur.tomorrow().ok().filter(|x| *x <= last)?;
        }
        return Some(cur);
    }
    let mut left = n.unsigned_abs();
    while left > 0 {
        cur = if n > 0 {
            cur.tomorrow().ok().filter(|x| *x <= last)?
        } else {
            cur.yesterday().ok().filter(|x| *x >= first)?
        };
        if trading(cur) {
            left -= 1;
        }
    }
    Some(cur)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn add_trading_days_matches_brute_force(
        ex in prop::sample::select(vec![Exchange::Nyse, Exchange::Krx, Exchange::Crypto, Exchange::None]),
        offset in 0i32..6_800,
        n in -40i32..40,
    ) {
        let cal = calendar(ex);
        let (first, _) = cal.coverage();
        let d = first.checked_add(jiff::Span::new().days(offset + 3_000)).unwrap();
        let got = cal.add_trading_days(d, n).ok();
        prop_assert_eq!(got, brute_add(cal, d, n));
        if let Some(g) = got
            && n != 0
            && cal.is_trading_day(d).unwrap()
        {
            prop_assert_eq!(cal.add_trading_days(g, -n).unwrap(), d);
        }
        prop_assert_eq!(cal.next_trading_day(d).ok(), brute_add(cal, d, 1));
        prop_assert_eq!(cal.previous_trading_day(d).ok(), brute_add(cal, d, -1));
    }
}

#[test]
fn regular_session_minutes_come_from_the_latest_regular_hours() {
    assert_eq!(calendar(Exchange::Nyse).regular_session_minutes(), 390);
    assert_eq!(calendar(Exchange::Nasdaq).regular_session_minutes(), 390);
    // KRX: 09:00-15:30 since 2016-08-01.
    assert_eq!(calendar(Exchange::Krx).regular_session_minutes(), 390);
    assert_eq!(calendar(Exchange::Crypto).regular_session_minutes(), 1_440);
}
