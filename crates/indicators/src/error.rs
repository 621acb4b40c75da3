//! The one error type of `pulse-indicators`.

/// Everything that can go wrong when building or running an indicator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    /// An integer parameter (a period, a window length) is out of range.
    #[error("{indicator}: parameter `{param}` = {value} is invalid (must be an integer >= {min})")]
    InvalidPeriod {
        /// Indicator name, e.g. `"rsi"`.
        indicator: &'static str,
        /// Parameter name, e.g. `"period"`.
        param: &'static str,
        /// The rejected value.
        value: usize,
        /// The smallest accepted value.
        min: usize,
    },
    /// An integer parameter (a period, a window length) exceeds [`crate::MAX_PERIOD`] bars.
    #[error("{indicator}: parameter `{param}` = {value} is too large (at most {max} bars)")]
    PeriodTooLarge {
        /// Indicator name, e.g. `"sma"`.
        indicator: &'static str,
        /// Parameter name, e.g. `"period"`.
        param: &'static str,
        /// The rejected value.
        value: usize,
        /// The largest accepted value ([`crate::MAX_PERIOD`]).
        max: usize,
    },
    /// Two integer parameters are in the wrong order (MACD's `fast` must be below `slow`).
    #[error("{indicator}: parameter `{param}` = {value} must be below `{other}` = {other_value}")]
    ParameterOrder {
        /// Indicator name, e.g. `"macd"`.
        indicator: &'static str,
        /// The parameter that must be smaller, e.g. `"fast"`.
        param: &'static str,
        /// Its value.
        value: usize,
        /// The parameter that must be larger, e.g. `"slow"`.
        other: &'static str,
        /// Its value.
        other_value: usize,
    },
    /// A real-valued parameter (a multiplier, periods per year) is non-finite or out of range.
    #[error("{indicator}: parameter `{param}` = {value} is invalid (must be {requirement})")]
    InvalidParameter {
        /// Indicator name.
        indicator: &'static str,
        /// Parameter name, e.g. `"nbdev"`.
        param: &'static str,
        /// The rejected value.
        value: f64,
        /// What the value must satisfy, e.g. `"finite"`.
        requirement: &'static str,
    },
    /// An input or output slice does not have the length of the primary input.
    #[error("{indicator}: slice `{field}` has length {got}, expected {expected}")]
    LengthMismatch {
        /// Indicator name.
        indicator: &'static str,
        /// Which slice, e.g. `"out"` or `"high"`.
        field: &'static str,
        /// Expected length (the primary input's).
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// An input column required by the indicator is absent (e.g. a benchmark series for `beta`).
    #[error("{indicator}: required input column `{field}` is missing")]
    MissingInput {
        /// Indicator name.
        indicator: &'static str,
        /// Missing column.
        field: &'static str,
    },
    /// An indicator spec string such as `"macd:12,26,9"` could not be parsed.
    #[error("indicator spec `{spec}`: {reason}")]
    InvalidSpec {
        /// The spec as given.
        spec: String,
        /// Why it was rejected.
        reason: String,
    },
}
