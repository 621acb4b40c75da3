//! The one error type of the application layer.

use std::path::PathBuf;

/// Why a use case failed. Front ends map [`AppError::is_usage`] errors to "bad request" (the
/// CLI's exit code 2) and everything else to a runtime failure (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A setting of the request is out of range; `setting` is its name in the request
    /// (`commission`, `slippage_bps`…), which a front end spells as its flag or form field.
    #[error("{setting} {reason}")]
    InvalidSetting {
        /// Name of the setting (snake_case, as in the request struct).
        setting: &'static str,
        /// What is wrong with it, e.g. "must be a fraction in [0, 1)".
        reason: String,
    },
    /// A request that cannot be served as asked (an unknown strategy, a date before the data).
    #[error("{0}")]
    Usage(String),
    /// What the request names does not exist (a run id); a request error too.
    #[error("{0}")]
    NotFound(String),
    /// Data the request needs is missing or inconsistent (no bars, a history after the data).
    #[error("{0}")]
    Data(String),
    /// An input path is not what the request needs (missing, a FIFO, a device…); never opened.
    #[error("{path}: {reason}")]
    Input {
        /// The path as given.
        path: PathBuf,
        /// What it is instead ("is a FIFO (named pipe), not a regular file").
        reason: String,
    },
    /// A market-data vendor failed for one symbol.
    #[error("{vendor} {symbol} from {start}")]
    Fetch {
        /// The vendor (`yahoo`, `alphavantage`).
        vendor: &'static str,
        /// The symbol being fetched.
        symbol: pulse_core::Symbol,
        /// First instant requested.
        start: jiff::Timestamp,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The user interrupted the work (Ctrl-C) before it was stored.
    #[error("interrupted: the transaction was rolled back, nothing was written")]
    Interrupted,
    /// A file of the request could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store (or another port) failed.
    #[error("{0}")]
    Port(Box<dyn std::error::Error + Send + Sync>),
    /// A strategy rule set is invalid; `origin` names where it came from (a file, "default").
    #[error("{origin}: {source}")]
    Strategy {
        /// Where the rule set came from.
        origin: String,
        /// Why it is invalid.
        source: pulse_strategy::StrategyError,
    },
    /// The risk layer's gate refused an order (it was not sent; nothing of the step was saved).
    #[error("order {client_id} refused by the risk layer: {reason}")]
    OrderRefused {
        /// The order's client id.
        client_id: String,
        /// Why.
        reason: String,
    },
    /// The risk-layer settings are invalid; `origin` names where they came from (a file).
    #[error("{origin}: {source}")]
    Risk {
        /// Where the settings came from.
        origin: String,
        /// Why they are invalid.
        source: pulse_risk::RiskConfigError,
    },
    /// The replay failed.
    #[error(transparent)]
    Backtest(#[from] pulse_backtest::BacktestError),
    /// A trade history could not be replayed (names the file and line).
    #[error(transparent)]
    History(#[from] pulse_backtest::history::HistoryError),
    /// The sweep kernel failed on a trial.
    #[error(transparent)]
    Kernel(#[from] pulse_backtest::kernel::KernelError),
    /// A portfolio could not be optimized or allocated (an infeasible target, a degenerate
    /// covariance).
    #[error(transparent)]
    Optimize(#[from] pulse_optimize::OptimizeError),
    /// Metrics could not be computed for a run.
    #[error("metrics of {name}: {source}")]
    Analytics {
        /// The run (strategy name).
        name: String,
        /// Why.
        source: pulse_analytics::AnalyticsError,
    },
    /// The report model could not be built.
    #[error(transparent)]
    Report(#[from] pulse_report::ReportError),
    /// A domain value was invalid (a symbol, a date out of the calendar's range).
    #[error(transparent)]
    Core(#[from] pulse_core::CoreError),
    /// Time arithmetic left the supported range.
    #[error("{what}: {source}")]
    Time {
        /// Which computation.
        what: String,
        /// Why.
        source: jiff::Error,
    },
    /// A value could not be encoded for the store.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// A table could not be encoded for export.
    #[error("cannot encode {what}: {reason}")]
    Export {
        /// Which table.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A parameter search failed (an unusable space, a walk-forward fold where every trial
    /// failed).
    #[error(transparent)]
    Search(#[from] pulse_search::SearchError),
    /// The request conflicts with stored state (a study resumed with other settings).
    #[error("{0}")]
    Conflict(String),
    /// The worker threads could not be started.
    #[error("cannot start the worker threads: {0}")]
    Threads(String),
    /// A rebalancing signal is malformed (names the file and line, or the field).
    #[error("{0}")]
    Signal(String),
    /// Stored state is missing or unreadable (the rebalancer not set up, a corrupt document).
    #[error("{0}")]
    State(String),
    /// The rebalancing state machine refused a step.
    #[error(transparent)]
    Rebalance(#[from] pulse_rebalance::RebalanceError),
}

impl AppError {
    /// A port's (store, broker, notifier) error.
    pub fn port<E: std::error::Error + Send + Sync + 'static>(e: E) -> AppError {
        AppError::Port(Box::new(e))
    }

    /// An out-of-range setting.
    pub fn setting(setting: &'static str, reason: impl Into<String>) -> AppError {
        AppError::InvalidSetting {
            setting,
            reason: reason.into(),
        }
    }

    /// True when the request itself is wrong (a flag or form field to fix), not a file, the data
    /// or the world (a bad strategy file is a runtime error, like any bad file).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            AppError::InvalidSetting { .. } | AppError::Usage(_) | AppError::NotFound(_)
        )
    }
}
