//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while validating, rendering or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A date string is neither `YYYY-MM-DD` nor RFC 3339.
    #[error("{field}[{index}]: invalid date {value:?} (expected YYYY-MM-DD or RFC 3339)")]
    BadDate {
        /// Which field, e.g. `series[0].dates` ("Pulse").
        field: String,
        /// Position in that field.
        index: usize,
        /// The offending text.
        value: String,
    },
    /// Dates are not strictly increasing.
    #[error("{field}[{index}]: date {value:?} is not after the previous one")]
    UnorderedDates {
        /// Which field.
        field: String,
        /// Position of the out-of-order date.
        index: usize,
        /// The offending text.
        value: String,
    },
    /// Two parallel vectors differ in length.
    #[error("{field}: length {actual} does not match {expected} dates")]
    LengthMismatch {
        /// Which field, e.g. `series[1].equity`.
        field: String,
        /// Its length.
        actual: usize,
        /// The length of the matching dates.
        expected: usize,
    },
    /// A value drawn on a chart is NaN or infinite.
    #[error("{field}[{index}]: value {value} is not finite")]
    NonFinite {
        /// Which field.
        field: String,
        /// Position in that field.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A monthly return has a month outside 1..=12.
    #[error("monthly_returns[{index}]: month {month} is not in 1..=12")]
    BadMonth {
        /// Position in `monthly_returns`.
        index: usize,
        /// The month.
        month: i8,
    },
    /// JSON (de)serialisation failed.
    #[error("report JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing the HTML file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file being written (or its temporary sibling).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
