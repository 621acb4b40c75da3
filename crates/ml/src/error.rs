//! The one error type of `pulse-ml`.

use pulse_core::CoreError;
use pulse_indicators::IndicatorError;

/// Everything that can go wrong in the ML pipeline.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MlError {
    /// A parameter or an input is invalid (the message says which and why).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// An input value is NaN or infinite where a finite number is required.
    #[error("non-finite input at position {0}")]
    NonFinite(usize),
    /// An indicator refused its parameters or inputs.
    #[error(transparent)]
    Indicator(#[from] IndicatorError),
    /// Reading or writing a feature file failed (the I/O error's message).
    #[error("i/o: {0}")]
    Io(String),
    /// LightGBM refused or failed (its own message), e.g. an unreadable model file.
    #[error("LightGBM: {0}")]
    LightGbm(String),
    /// Resampling or another core operation failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

#[cfg(feature = "lightgbm")]
impl From<lightgbm3::Error> for MlError {
    fn from(e: lightgbm3::Error) -> Self {
        let msg = e.to_string();
        MlError::LightGbm(msg.trim_start_matches("LightGBM error: ").to_string())
    }
}
