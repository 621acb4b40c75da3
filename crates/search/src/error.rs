//! The one error type of `pulse-search`.

/// Everything that can go wrong in `pulse-search`; each message names the offending field or input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    /// A `--param` string could not be parsed (`name=lo:hi:step`).
    #[error("parameter `{input}`: {reason}")]
    ParamSyntax {
        /// The string as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A parameter specification is invalid (bounds, step).
    #[error("parameter `{name}`: {reason}")]
    InvalidParam {
        /// Parameter name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A parameter name appears twice in one space.
    #[error("parameter `{0}` is declared twice")]
    DuplicateParam(String),
    /// A constraint string could not be parsed (`a < b`, `a <= b`, `a > b`, `a >= b`).
    #[error("constraint `{input}`: {reason}")]
    ConstraintSyntax {
        /// The string as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A name (in a constraint, a stored trial, a lookup) is not a parameter of the space.
    #[error("unknown parameter `{name}` in {context}")]
    UnknownParam {
        /// The unknown name.
        name: String,
        /// Where it was used.
        context: String,
    },
    /// The space is empty or its grid is too large to index with 64 bits.
    #[error("parameter space: {0}")]
    InvalidSpace(String),
    /// The strategy's configuration is invalid.
    #[error("search strategy: {0}")]
    InvalidStrategy(String),
    /// A walk-forward specification is invalid or does not fit the data.
    #[error("walk-forward: {0}")]
    WalkForward(String),
    /// Input to a statistic is unusable (too short, constant, non-finite, mismatched shape).
    #[error("{statistic}: {reason}")]
    Statistic {
        /// Which statistic (e.g. `deflated Sharpe ratio`).
        statistic: &'static str,
        /// What is wrong with the input.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SearchError>;
