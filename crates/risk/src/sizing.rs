//! Position sizing chosen per strategy (SPEC §7), in the strategy's TOML `[sizing]` section:
//! Half Kelly from the strategy's estimated win rate and payoff, ATR-based size (risk a fixed
//! fraction of equity per ATR move against the position), and whether the correlation filter
//! applies to its new entries. Each sizing rule caps the weight of every position the strategy
//! wants: the position is the smaller of what the strategy asks and what the rule allows.

use crate::config::RiskConfigError;
use serde::{Deserialize, Serialize};

/// Which rule sizes a strategy's positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizingMethod {
    /// The strategy's own weights (default).
    #[default]
    Weights,
    /// Each position at most half the Kelly fraction of equity.
    HalfKelly,
    /// Each position at most what loses `risk_fraction` of equity on a move of `multiple` ATRs.
    Atr,
}

/// The Kelly inputs: the strategy's estimated win rate and payoff (from its backtest: the
/// report's win rate and average win / average loss).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KellyConfig {
    /// Probability that a trade wins (0..1).
    pub win_rate: f64,
    /// Average win divided by average loss (> 0).
    pub payoff: f64,
    /// Largest weight Half Kelly may give one position (0.25).
    pub cap: f64,
}

impl Default for KellyConfig {
    fn default() -> Self {
        KellyConfig {
            win_rate: 0.5,
            payoff: 1.0,
            cap: 0.25,
        }
    }
}

impl KellyConfig {
    /// Half the Kelly fraction `W − (1 − W) / R`, within `[0, cap]` (0 when the edge is negative).
    pub fn half_kelly(&self) -> f64 {
        let full = self.win_rate - (1.0 - self.win_rate) / self.payoff;
        (0.5 * full).clamp(0.0, self.cap)
    }
}

/// ATR-based size: a position of weight `risk_fraction × close / (multiple × ATR)` loses
/// `risk_fraction` of equity when the price moves `multiple` ATRs against it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AtrSizingConfig {
    /// ATR period in bars of the traded timeframe (14, Wilder).
    pub period: usize,
    /// Fraction of equity risked per position (0.01).
    pub risk_fraction: f64,
    /// ATRs of adverse move the risk is measured over (2).
    pub multiple: f64,
}

impl Default for AtrSizingConfig {
    fn default() -> Self {
        AtrSizingConfig {
            period: 14,
            risk_fraction: 0.01,
            multiple: 2.0,
        }
    }
}

impl AtrSizingConfig {
    /// The weight that risks `risk_fraction` of equity on `multiple` ATRs at `close`; `None`
    /// when the ATR or the close is unusable (the strategy's weight then stands).
    pub fn weight(&self, close: f64, atr: f64) -> Option<f64> {
        let w = self.risk_fraction * close / (self.multiple * atr);
        (close > 0.0 && atr > 0.0 && w.is_finite()).then_some(w)
    }
}

/// A strategy's `[sizing]` section.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PositionSizing {
    /// The sizing rule (`weights`, `half_kelly`, `atr`).
    pub method: SizingMethod,
    /// Half Kelly's inputs.
    pub kelly: KellyConfig,
    /// ATR sizing's inputs.
    pub atr: AtrSizingConfig,
    /// Refuse this strategy's new entries that correlate with a held position (the risk
    /// configuration's `[correlation]` window and threshold).
    pub correlation_filter: bool,
}

impl PositionSizing {
    /// True when it changes anything (a rule other than the weights, or the filter).
    pub fn is_active(&self) -> bool {
        self.method != SizingMethod::Weights || self.correlation_filter
    }

    /// Checks every range; the error names the key under `sizing.`.
    pub fn validate(&self) -> Result<(), RiskConfigError> {
        let bad = |field: &str, reason: String| {
            Err(RiskConfigError::Invalid {
                field: format!("sizing.{field}"),
                reason,
            })
        };
        let k = &self.kelly;
        if !(k.win_rate.is_finite() && k.win_rate > 0.0 && k.win_rate < 1.0) {
            return bad(
                "kelly.win_rate",
                format!("must be in (0, 1) (got {})", k.win_rate),
            );
        }
        if !(k.payoff.is_finite() && k.payoff > 0.0) {
            return bad("kelly.payoff", format!("must be > 0 (got {})", k.payoff));
        }
        if !(k.cap.is_finite() && k.cap > 0.0 && k.cap <= 1.0) {
            return bad("kelly.cap", format!("must be in (0, 1] (got {})", k.cap));
        }
        let a = &self.atr;
        if a.period == 0 || a.period > 1000 {
            return bad(
                "atr.period",
                format!("must be in [1, 1000] (got {})", a.period),
            );
        }
        if !(a.risk_fraction.is_finite() && a.risk_fraction > 0.0 && a.risk_fraction <= 1.0) {
            return bad(
                "atr.risk_fraction",
                format!("must be in (0, 1] (got {})", a.risk_fraction),
            );
        }
        if !(a.multiple.is_finite() && a.multiple > 0.0) {
            return bad("atr.multiple", format!("must be > 0 (got {})", a.multiple));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_kelly_by_the_textbook_formula_and_its_bounds() {
        // W = 0.6, R = 2: Kelly = 0.6 − 0.4 / 2 = 0.4; half = 0.2.
        let k = KellyConfig {
            win_rate: 0.6,
            payoff: 2.0,
            cap: 0.25,
        };
        assert!((k.half_kelly() - 0.2).abs() < 1e-15);
        // Capped.
        let k = KellyConfig { cap: 0.1, ..k };
        assert_eq!(k.half_kelly(), 0.1);
        // No edge: W = 0.4, R = 1 → Kelly −0.2 → 0.
        let k = KellyConfig {
            win_rate: 0.4,
            payoff: 1.0,
            cap: 0.25,
        };
        assert_eq!(k.half_kelly(), 0.0);
        // Exactly break-even: W = 0.5, R = 1 → 0.
        assert_eq!(KellyConfig::default().half_kelly(), 0.0);
    }

    #[test]
    fn atr_weight_risks_the_fraction_on_the_multiple() {
        let a = AtrSizingConfig::default();
        // Close 200, ATR 8: 2 ATRs = 16 = 8 % of the price; risking 1 % → weight 0.125.
        assert!((a.weight(200.0, 8.0).unwrap() - 0.125).abs() < 1e-15);
        assert_eq!(a.weight(200.0, 0.0), None);
        assert_eq!(a.weight(200.0, f64::NAN), None);
        assert_eq!(a.weight(0.0, 1.0), None);
    }

    #[test]
    fn validation_names_the_key() {
        let mut s = PositionSizing::default();
        s.kelly.win_rate = 1.0;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("sizing.kelly.win_rate")
        );
        let mut s = PositionSizing::default();
        s.atr.period = 0;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("sizing.atr.period")
        );
        assert!(PositionSizing::default().validate().is_ok());
        assert!(!PositionSizing::default().is_active());
    }
}
