//! `pulse-app` is Portfolio Pulse's application layer: every use case as a typed function
//! generic over the ports of `pulse_core::ports` (`Store`, `Clock`, `Notifier`, …): a request
//! struct in, an outcome struct out, one error enum ([`AppError`]), no printing. The CLI, the web
//! server and the live runner call these; none of them holds use-case logic of its own.
//!
//! - [`backtest`]: backtest and simulate Pulse against its benchmarks, the report model, the
//!   run record (shared by the sweep, which replays the same prepared run many times).
//! - [`export`]: CSV export of a run's equity, weights and fills (`--csv DIR`), all or nothing.
//! - [`data`]: market data in and out of the store: import, fetch (any `MarketData` vendor,
//!   plausibility-checked), list, show, data-quality check, export (to any `ExportSink`),
//!   resample, seed, indicator tables, and sector data (a sectors CSV checked as a whole and
//!   stored in one transaction; the stored sectors with the symbols that have none).
//! - [`alerts`]: a bounded alert queue in front of any `Notifier`; failures are reported, never
//!   fatal.
//! - [`input`]: values as front ends receive them (instants typed as days or timestamps).
//! - [`market`]: reading series and aligned markets out of the store.
//! - [`ml`]: the ML pipeline (issue 16): features from the store into a feature directory,
//!   LightGBM training with a time split and an embargo (cargo feature `ml`), out-of-sample
//!   evaluation, and the run records.
//! - [`portfolio`]: portfolio optimization over a universe, whole-share allocation, and the
//!   walk-forward comparison of construction methods with its report model.
//! - [`pipeline`]: the daily portfolio pipeline (SPEC §5): broker account sync, manual assets
//!   from a sheet, FX, the eight strategies' target allocations and the KRW analysis table.
//! - [`prompt`]: the macro-prompt editor: the LLM prompt's versions, a run against a chat model
//!   with its answer parsed and checked as a rebalancer signal, and its submission.
//! - [`quotes`]: live quotes: one poll of a symbol list or the top-N by volume into a quote
//!   cache (Redis or in-process) with a time to live, the in-process cache, and a quote source
//!   replaying stored bars by the clock.
//! - [`rebalance`]: the MP/Sub-MP rebalancer of SPEC §6: clock and time travel, set-up, signal
//!   intake, the scheduled run against the paper broker, status, history, and the replay of a
//!   dated signal history.
//! - [`risk`]: the team's risk settings, stored as one document (show, save validated, reset),
//!   which runs apply with `RiskSource::Stored`.
//! - [`runs`]: the recorded runs.
//! - [`schedule`]: the scheduler's tick: every job due by the clock (the rebalancer's 08:30
//!   intake and 09:40 execution, the running paper runners' catch-up).
//! - [`trade`]: the trading runner (paper broker today): the engine fed as bars close by the
//!   clock, orders journaled before they are sent, restarts resolved by lookup and reconciled.
//! - [`sweep`]: the parameter search's choices (objective, method) as types, the evaluation of
//!   one trial.
//! - [`sweep_run`]: the sweep use case (search, study, statistics, walk-forward, report model).

pub mod agents;
#[cfg(feature = "deep")]
pub mod agents_dqn;
pub mod alerts;
pub mod backtest;
#[cfg(feature = "deep")]
pub mod cycle;
pub mod data;
pub mod error;
pub mod export;
#[cfg(feature = "deep")]
pub mod forecast;
pub mod input;
pub mod market;
pub mod ml;
pub mod model_registry;
pub mod overview;
pub mod pipeline;
pub mod portfolio;
pub mod prompt;
pub mod quotes;
pub mod rebalance;
pub mod risk;
pub mod runs;
pub mod schedule;
pub mod sweep;
pub mod sweep_run;
pub mod sweep_study;
pub mod trade;
pub mod traded;

pub use error::AppError;
