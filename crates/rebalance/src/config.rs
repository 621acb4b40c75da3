//! Settings of the rebalancer; every default is the number given in SPEC §6.

use crate::error::{RebalanceError, Result};
use pulse_core::Exchange;
use pulse_core::costs::{CostModel, costs_or_rate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a plan spreads its delta over the execution days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMode {
    /// The shares of `RebalanceConfig::split_shares` (30/20/20/20/rest by default).
    Scheduled,
    /// `RebalanceConfig::split_days` equal steps (1/N of the remaining delta schedule).
    Equal,
}

/// What a drift beyond the band does when no plan is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftAction {
    /// Emit a `DriftProposed` event only; a caller may accept it with `Rebalancer::start_global_plan`.
    Propose,
    /// Emit the event and start a global plan at once.
    Start,
}

/// Configuration of [`crate::Rebalancer`]. `Default` gives the SPEC §6 numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RebalanceConfig {
    /// Consecutive trading days a changed MP/Sub-MP must be seen before it is confirmed (3).
    pub confirm_days: u32,
    /// Shares of the delta per step for `SplitMode::Scheduled`, as fractions summing to 1
    /// (0.3, 0.2, 0.2, 0.2, 0.1); the last step always takes whatever remains.
    pub split_shares: Vec<f64>,
    /// Split mode of normal plans (scheduled).
    pub split_mode: SplitMode,
    /// Number of equal steps of `SplitMode::Equal` and of the Case 2 netted plan (5).
    pub split_days: u32,
    /// First-step share of a class restarted by a Sub-MP change during a global plan, Case 1 (0.2).
    pub case1_first_share: f64,
    /// Commission, minimum fee and slippage of the account: the sizing prices buys and sells
    /// with it, and its commission rate per side is reserved from the invested targets and from
    /// in-flight orders (0.1 % by default). Configurations stored before the one cost model kept a
    /// bare `fee_rate`, read as that commission.
    #[serde(alias = "fee_rate", deserialize_with = "costs_or_rate")]
    pub costs: CostModel,
    /// Absolute weight drift (fraction of equity) of any security beyond which a rebalance is
    /// proposed when no plan is running (0.05 = 5 percentage points).
    pub drift_band: f64,
    /// What a drift beyond the band does (propose).
    pub drift_action: DriftAction,
    /// Orders below this notional (account currency) are not sent, except a sale closing a position (0).
    pub min_trade_value: Decimal,
    /// Trade whole shares only (true); otherwise quantities are rounded to `quantity_dp` decimals.
    pub whole_shares: bool,
    /// Decimal places of fractional quantities when `whole_shares` is false (6).
    pub quantity_dp: u32,
    /// MP class held as cash: it has no Sub-MP and its weight stays uninvested ("cash").
    pub cash_class: String,
    /// Calendar used to check that debounce observations are on consecutive trading days; `None`
    /// trusts the caller (any later date counts as the next trading day).
    pub calendar: Option<Exchange>,
    /// Tolerance on weight sums and on comparing two signals for equality (1e-9).
    pub weight_tolerance: f64,
}

impl Default for RebalanceConfig {
    fn default() -> Self {
        RebalanceConfig {
            confirm_days: 3,
            split_shares: vec![0.3, 0.2, 0.2, 0.2, 0.1],
            split_mode: SplitMode::Scheduled,
            split_days: 5,
            case1_first_share: 0.2,
            costs: CostModel::default(),
            drift_band: 0.05,
            drift_action: DriftAction::Propose,
            min_trade_value: Decimal::ZERO,
            whole_shares: true,
            quantity_dp: 6,
            cash_class: "cash".to_string(),
            calendar: None,
            weight_tolerance: 1e-9,
        }
    }
}

fn bad(field: &str, reason: impl Into<String>) -> RebalanceError {
    RebalanceError::InvalidConfig {
        field: field.to_string(),
        reason: reason.into(),
    }
}

impl RebalanceConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        if self.confirm_days == 0 {
            return Err(bad("confirm_days", "must be at least 1"));
        }
        if self.split_shares.is_empty() {
            return Err(bad("split_shares", "needs at least one step"));
        }
        if let Some((i, s)) = self
            .split_shares
            .iter()
            .enumerate()
            .find(|(_, s)| !s.is_finite() || **s <= 0.0)
        {
            return Err(bad(
                "split_shares",
                format!("step {} share {s} must be finite and > 0", i + 1),
            ));
        }
        let sum: f64 = self.split_shares.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(bad("split_shares", format!("shares sum to {sum}, not 1")));
        }
        if self.split_days == 0 {
            return Err(bad("split_days", "must be at least 1"));
        }
        if !(self.case1_first_share > 0.0 && self.case1_first_share <= 1.0) {
            return Err(bad(
                "case1_first_share",
                format!("{} is not in (0, 1]", self.case1_first_share),
            ));
        }
        if let Err(e) = self.costs.validate() {
            return Err(bad(&format!("costs.{}", e.field), e.reason));
        }
        if !(self.drift_band.is_finite() && self.drift_band > 0.0) {
            return Err(bad(
                "drift_band",
                format!("{} must be > 0", self.drift_band),
            ));
        }
        if self.min_trade_value < Decimal::ZERO {
            return Err(bad("min_trade_value", "must be >= 0"));
        }
        if self.quantity_dp > 12 {
            return Err(bad("quantity_dp", "at most 12"));
        }
        if self.cash_class.is_empty() {
            return Err(bad("cash_class", "must not be empty"));
        }
        if !(self.weight_tolerance.is_finite()
            && self.weight_tolerance >= 0.0
            && self.weight_tolerance < 1e-3)
        {
            return Err(bad("weight_tolerance", "must be in [0, 1e-3)"));
        }
        Ok(())
    }

    /// The step shares of a plan in `mode` (Scheduled: `split_shares`; Equal: `split_days` × 1/N).
    pub fn shares(&self, mode: SplitMode) -> Vec<f64> {
        match mode {
            SplitMode::Scheduled => self.split_shares.clone(),
            SplitMode::Equal => {
                let n = self.split_days.max(1) as usize;
                vec![1.0 / n as f64; n]
            }
        }
    }

    /// The Case 1 schedule: `case1_first_share`, then the scheduled steps 2.. while they fit, the
    /// last step taking whatever remains (0.2, 0.2, 0.2, 0.2, 0.2 by default).
    pub fn case1_shares(&self) -> Vec<f64> {
        let base = self.shares(self.split_mode);
        let mut out = vec![self.case1_first_share];
        let mut used = self.case1_first_share;
        for s in base.iter().skip(1).take(base.len().saturating_sub(2)) {
            if used + s >= 1.0 - 1e-12 {
                break;
            }
            out.push(*s);
            used += s;
        }
        if 1.0 - used > 1e-12 {
            out.push(1.0 - used);
        }
        out
    }
}
