//! `pulse-backtest` replays history through the same [`pulse_engine::Engine`] that trades live:
//! [`data::AlignedData`] lines up the bars of the traded symbols and the context series (past
//! values only), [`broker::SimBroker`] fills the engine's orders at the next bar (open by
//! default) with exact decimal fees and slippage, and [`runner::run`] drives the loop and records
//! equity, weights, fills and alerts. [`history`] rebuilds a starting account from a trade history.

pub mod broker;
pub mod data;
pub mod history;
pub mod kernel;
pub mod runner;

pub use broker::{FillPrice, SimBroker};
pub use data::AlignedData;
pub use kernel::{KernelFill, KernelScratch, KernelSummary, PulseMarket};
pub use runner::{BacktestConfig, BacktestError, BacktestResult, run};
