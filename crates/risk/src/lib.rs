//! `pulse-risk`: the risk layer between a strategy's target weights and sizing (SPEC §4, §7).
//! [`RiskManager::assess`] takes the target weights of one decision and returns the weights
//! sizing may use, applying in order: the drawdown stop (sell everything and halt until a person
//! re-arms), the per-position stop loss (off by default: a held symbol whose close falls to its
//! average entry × (1 − stop_loss) is sold and kept out until the strategy's target for it
//! resets), the correlation filter (refuse a new entry that moves with a held position),
//! risk-based leverage (`risk = VaR + 0.5·CVaR` of the target portfolio's daily returns → 0.5,
//! 0.7 or 1.0), the position cap, the sector cap and the daily VaR limit. Every breach is
//! recorded with its numbers ([`RiskEvent`]). Pure and deterministic: no I/O, no clock; the state
//! serializes so that a live runner persists it with the engine.

pub mod approval;
pub mod config;
pub mod history;
pub mod manager;
pub mod sizing;

pub use approval::{Approval, GateLimits, Refusal, RiskApproved, approve_orders};
pub use config::{
    CorrelationConfig, LeverageConfig, LeverageLevel, LimitsConfig, RiskConfig, RiskConfigError,
};
pub use history::{DailyCloses, utc_day};
pub use manager::{Assessment, Entry, Halt, RiskEvent, RiskEventKind, RiskManager, Weights};
pub use sizing::{AtrSizingConfig, KellyConfig, PositionSizing, SizingMethod};
