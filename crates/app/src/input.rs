//! Values as front ends receive them (flags, form fields), parsed by one rule for all of them.

use jiff::Timestamp;
use jiff::civil::Date;

/// An instant as a user types it: an RFC 3339 timestamp, or a day `YYYY-MM-DD` meaning that day
/// at 00:00:00 UTC, or at 23:59:59 UTC when `end_of_day` (an inclusive "to"). `None` when it is
/// neither (or out of range); the front end names its flag or field.
pub fn instant(text: &str, end_of_day: bool) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    let date: Date = text.parse().ok()?;
    let at = if end_of_day {
        date.at(23, 59, 59, 0)
    } else {
        date.at(0, 0, 0, 0)
    };
    at.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn days_cover_the_whole_day_and_timestamps_pass_through() {
        assert_eq!(
            instant("2024-01-02", false).unwrap().to_string(),
            "2024-01-02T00:00:00Z"
        );
        assert_eq!(
            instant(" 2024-01-02 ", true).unwrap().to_string(),
            "2024-01-02T23:59:59Z"
        );
        assert_eq!(
            instant("2024-01-02T08:30:00-05:00", true)
                .unwrap()
                .to_string(),
            "2024-01-02T13:30:00Z"
        );
        for bad in ["2024-13-01", "yesterday", ""] {
            assert!(instant(bad, false).is_none(), "{bad}");
        }
    }
}
