//! The crate's single error type.

use thiserror::Error;

/// Why a metrics computation rejected its input. Every variant names the offending field and index.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AnalyticsError {
    /// Two series that must be aligned point for point have different lengths.
    #[error("{field}: length {got} does not match the equity curve's {expected} points")]
    LengthMismatch {
        /// Name of the mismatched input field.
        field: &'static str,
        /// Required length (the equity curve's).
        expected: usize,
        /// Length actually given.
        got: usize,
    },
    /// An equity value is zero, negative, NaN or infinite (returns would be undefined).
    #[error("equity[{index}] = {value} is not a finite positive amount")]
    NonPositiveEquity {
        /// Index into the equity curve.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A numeric input is NaN/infinite or out of its allowed range.
    #[error("{field}[{index}] = {value} is invalid: {reason}")]
    InvalidValue {
        /// Name of the input field (e.g. `fills.quantity`, `risk_free`).
        field: &'static str,
        /// Index of the element (0 for a scalar).
        index: usize,
        /// The offending value.
        value: f64,
        /// What is required of it.
        reason: &'static str,
    },
    /// Timestamps go backwards.
    #[error("{field}[{index}] is earlier than the element before it (must be chronological)")]
    NotChronological {
        /// Name of the input field (`timestamps` or `fills`).
        field: &'static str,
        /// Index of the first out-of-order element.
        index: usize,
    },
}
