//! Settings of the risk layer, read from TOML (`--risk-config FILE`). Every default is the number
//! SPEC §4 gives; a section or field left out keeps its default, an unknown key is an error.

use serde::{Deserialize, Serialize};

/// Why a risk configuration is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RiskConfigError {
    /// The TOML does not parse, or has an unknown key or a wrong type (the message names it).
    #[error("invalid risk configuration: {0}")]
    Parse(String),
    /// A value is out of range.
    #[error("invalid risk setting {field}: {reason}")]
    Invalid {
        /// The setting, as spelled in the TOML (`limits.max_position`).
        field: String,
        /// What is wrong, with the value.
        reason: String,
    },
}

fn invalid(field: &str, reason: impl Into<String>) -> RiskConfigError {
    RiskConfigError::Invalid {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// One step of the leverage table: a risk above `above` gets `leverage`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeverageLevel {
    /// Risk (VaR + weight × CVaR, loss fraction per day) strictly above which this level applies.
    pub above: f64,
    /// Scale on the target weights (0.5 = half the exposure).
    pub leverage: f64,
}

/// Risk-based leverage (SPEC §4): the historical VaR and CVaR of the target portfolio's daily
/// returns over the last `window_days` days give `risk = VaR + cvar_weight × CVaR`; the first
/// level (highest `above` first) whose threshold the risk exceeds sets the scale on the target
/// weights, else `base`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeverageConfig {
    /// Apply the leverage rule (true).
    pub enabled: bool,
    /// Daily returns in the window (60).
    pub window_days: usize,
    /// Fewer returns than this (warm-up, a new symbol) leave the leverage at `base` (20).
    pub min_returns: usize,
    /// Tail probability of VaR and CVaR (0.05, i.e. 95 %).
    pub tail: f64,
    /// Weight of CVaR in the risk figure (0.5).
    pub cvar_weight: f64,
    /// Levels: 0.5 above 0.05, 0.7 above 0.03.
    pub levels: Vec<LeverageLevel>,
    /// Leverage when no level applies (1.0).
    pub base: f64,
    /// Allow a leverage above 1 (margin): only then may a level or `base` exceed 1 and cash go
    /// negative (false).
    pub margin: bool,
    /// Annual borrowing rate charged on negative cash when margin is on (fraction, 0.0).
    pub borrow_rate: f64,
}

impl Default for LeverageConfig {
    fn default() -> Self {
        LeverageConfig {
            enabled: true,
            window_days: 60,
            min_returns: 20,
            tail: 0.05,
            cvar_weight: 0.5,
            levels: vec![
                LeverageLevel {
                    above: 0.05,
                    leverage: 0.5,
                },
                LeverageLevel {
                    above: 0.03,
                    leverage: 0.7,
                },
            ],
            base: 1.0,
            margin: false,
            borrow_rate: 0.0,
        }
    }
}

/// The risk manager's limits (SPEC §4). Each is optional: in the TOML a number sets it and
/// `false` turns it off ([`RiskConfig::from_toml`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest weight of one position (fraction of equity, 0.10); the excess stays in cash.
    pub max_position: Option<f64>,
    /// Largest total weight of one sector (0.30); a sector over it is scaled down pro rata.
    pub max_sector: Option<f64>,
    /// Drawdown from the equity peak at which everything is sold and trading halts until a
    /// person re-arms it (0.15).
    pub max_drawdown: Option<f64>,
    /// Largest daily historical VaR of the target portfolio (0.02); over it, every weight is
    /// scaled down until it is met.
    pub max_daily_var: Option<f64>,
    /// Per-position stop loss (fraction of the entry price, e.g. 0.05 = 5 %; off by default): a
    /// held symbol whose latest close is at or below its average entry price × (1 − stop_loss)
    /// is sold (target 0) and not re-entered until the strategy's own target for it drops to
    /// ≤ 0 at a decision. Older settings without the key keep it off.
    #[serde(default)]
    pub stop_loss: Option<f64>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_position: Some(0.10),
            max_sector: Some(0.30),
            max_drawdown: Some(0.15),
            max_daily_var: Some(0.02),
            stop_loss: None,
        }
    }
}

/// The correlation filter (SPEC §7): a new entry (a symbol with a positive target that is not
/// held) whose rolling correlation of daily returns with a held position exceeds `threshold` is
/// refused (its target set to 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// Apply the filter (false: it is chosen per strategy).
    pub enabled: bool,
    /// Daily returns in the window (60).
    pub window_days: usize,
    /// Fewer common returns than this and the pair is not judged (20).
    pub min_returns: usize,
    /// Correlation above which an entry is refused (0.8).
    pub threshold: f64,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            enabled: false,
            window_days: 60,
            min_returns: 20,
            threshold: 0.8,
        }
    }
}

/// Everything the risk layer does, with the SPEC §4 numbers by default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Risk-based leverage.
    pub leverage: LeverageConfig,
    /// Position, sector, drawdown and VaR limits.
    pub limits: LimitsConfig,
    /// The correlation filter.
    pub correlation: CorrelationConfig,
}

impl RiskConfig {
    /// Reads a configuration from TOML text and validates it. In `[limits]`, a limit set to
    /// `false` is off (`max_sector = false`); a number sets it.
    pub fn from_toml(text: &str) -> Result<RiskConfig, RiskConfigError> {
        let mut value: toml::Table =
            toml::from_str(text).map_err(|e| RiskConfigError::Parse(e.to_string()))?;
        // Limits turned off (`false`) are removed from the table and set to None after parsing.
        let mut off = Vec::new();
        if let Some(toml::Value::Table(limits)) = value.get_mut("limits") {
            let keys: Vec<String> = limits.keys().cloned().collect();
            for key in keys {
                match limits.get(&key).and_then(toml::Value::as_bool) {
                    Some(false) => {
                        limits.remove(&key);
                        off.push(key);
                    }
                    Some(true) => {
                        return Err(invalid(
                            &format!("limits.{key}"),
                            "true is not a limit: give a number, or false to turn it off",
                        ));
                    }
                    None => {}
                }
            }
        }
        let mut config: RiskConfig = value
            .try_into()
            .map_err(|e: toml::de::Error| RiskConfigError::Parse(e.to_string()))?;
        for key in off {
            match key.as_str() {
                "max_position" => config.limits.max_position = None,
                "max_sector" => config.limits.max_sector = None,
                "max_drawdown" => config.limits.max_drawdown = None,
                "max_daily_var" => config.limits.max_daily_var = None,
                "stop_loss" => config.limits.stop_loss = None,
                other => {
                    return Err(RiskConfigError::Parse(format!(
                        "unknown field `{other}` in [limits]"
                    )));
                }
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// The configuration as TOML (what `pulse risk show` prints).
    pub fn to_toml(&self) -> String {
        let mut text = String::new();
        let l = &self.leverage;
        text.push_str("[leverage]\n");
        text.push_str(&format!("enabled = {}\n", l.enabled));
        text.push_str(&format!("window_days = {}\n", l.window_days));
        text.push_str(&format!("min_returns = {}\n", l.min_returns));
        text.push_str(&format!("tail = {}\n", l.tail));
        text.push_str(&format!("cvar_weight = {}\n", l.cvar_weight));
        let levels: Vec<String> = l
            .levels
            .iter()
            .map(|x| format!("{{ above = {}, leverage = {} }}", x.above, x.leverage))
            .collect();
        text.push_str(&format!("levels = [{}]\n", levels.join(", ")));
        text.push_str(&format!("base = {}\n", l.base));
        text.push_str(&format!("margin = {}\n", l.margin));
        text.push_str(&format!("borrow_rate = {}\n", l.borrow_rate));
        let lim = &self.limits;
        let show = |v: Option<f64>| v.map_or_else(|| "false".to_string(), |x| x.to_string());
        text.push_str("\n[limits]\n");
        text.push_str(&format!("max_position = {}\n", show(lim.max_position)));
        text.push_str(&format!("max_sector = {}\n", show(lim.max_sector)));
        text.push_str(&format!("max_drawdown = {}\n", show(lim.max_drawdown)));
        text.push_str(&format!("max_daily_var = {}\n", show(lim.max_daily_var)));
        text.push_str(&format!("stop_loss = {}\n", show(lim.stop_loss)));
        let c = &self.correlation;
        text.push_str("\n[correlation]\n");
        text.push_str(&format!("enabled = {}\n", c.enabled));
        text.push_str(&format!("window_days = {}\n", c.window_days));
        text.push_str(&format!("min_returns = {}\n", c.min_returns));
        text.push_str(&format!("threshold = {}\n", c.threshold));
        text
    }

    /// Checks every range; the error names the setting as spelled in the TOML.
    pub fn validate(&self) -> Result<(), RiskConfigError> {
        let fraction = |field: &str, v: f64, lo_open: bool| -> Result<(), RiskConfigError> {
            let ok = v.is_finite() && v <= 1.0 && if lo_open { v > 0.0 } else { v >= 0.0 };
            if ok {
                Ok(())
            } else {
                let range = if lo_open { "(0, 1]" } else { "[0, 1]" };
                Err(invalid(field, format!("must be in {range} (got {v})")))
            }
        };
        let l = &self.leverage;
        if l.window_days < 2 {
            return Err(invalid("leverage.window_days", "must be at least 2"));
        }
        if l.min_returns < 2 || l.min_returns > l.window_days {
            return Err(invalid(
                "leverage.min_returns",
                format!("must be in [2, window_days = {}]", l.window_days),
            ));
        }
        if !(l.tail.is_finite() && l.tail > 0.0 && l.tail < 0.5) {
            return Err(invalid(
                "leverage.tail",
                format!("must be in (0, 0.5) (got {})", l.tail),
            ));
        }
        if !(l.cvar_weight.is_finite() && l.cvar_weight >= 0.0) {
            return Err(invalid("leverage.cvar_weight", "must be >= 0"));
        }
        let max_leverage = if l.margin { 10.0 } else { 1.0 };
        let lev_ok = |v: f64| v.is_finite() && v > 0.0 && v <= max_leverage;
        let why = if l.margin {
            "must be in (0, 10]"
        } else {
            "must be in (0, 1] (a leverage above 1 needs margin = true)"
        };
        if !lev_ok(l.base) {
            return Err(invalid("leverage.base", format!("{why} (got {})", l.base)));
        }
        for (i, level) in l.levels.iter().enumerate() {
            if !(level.above.is_finite() && level.above >= 0.0) {
                return Err(invalid(
                    &format!("leverage.levels[{i}].above"),
                    format!("must be >= 0 (got {})", level.above),
                ));
            }
            if !lev_ok(level.leverage) {
                return Err(invalid(
                    &format!("leverage.levels[{i}].leverage"),
                    format!("{why} (got {})", level.leverage),
                ));
            }
        }
        if !(l.borrow_rate.is_finite() && (0.0..1.0).contains(&l.borrow_rate)) {
            return Err(invalid(
                "leverage.borrow_rate",
                format!("must be in [0, 1) (got {})", l.borrow_rate),
            ));
        }
        let lim = &self.limits;
        for (field, v) in [
            ("limits.max_position", lim.max_position),
            ("limits.max_sector", lim.max_sector),
            ("limits.max_drawdown", lim.max_drawdown),
            ("limits.max_daily_var", lim.max_daily_var),
        ] {
            if let Some(v) = v {
                fraction(field, v, true)?;
            }
        }
        if let Some(v) = lim.stop_loss
            && !(v.is_finite() && v > 0.0 && v < 1.0)
        {
            // A stop at 100 % would need the price to reach zero: it is no stop.
            return Err(invalid(
                "limits.stop_loss",
                format!("must be in (0, 1) (got {v})"),
            ));
        }
        let c = &self.correlation;
        if c.window_days < 2 {
            return Err(invalid("correlation.window_days", "must be at least 2"));
        }
        if c.min_returns < 2 || c.min_returns > c.window_days {
            return Err(invalid(
                "correlation.min_returns",
                format!("must be in [2, window_days = {}]", c.window_days),
            ));
        }
        if !(c.threshold.is_finite() && c.threshold > -1.0 && c.threshold <= 1.0) {
            return Err(invalid(
                "correlation.threshold",
                format!("must be in (-1, 1] (got {})", c.threshold),
            ));
        }
        Ok(())
    }

    /// The leverage for a risk figure: the level with the highest threshold the risk exceeds,
    /// else `base`. NaN risk (no data) gives `base`.
    pub fn leverage_for(&self, risk: f64) -> f64 {
        let mut best: Option<&LeverageLevel> = None;
        for level in &self.leverage.levels {
            if risk > level.above && best.is_none_or(|b| level.above > b.above) {
                best = Some(level);
            }
        }
        best.map_or(self.leverage.base, |b| b.leverage)
    }

    /// A configuration with every rule off: what a strategy's own `[sizing]` section runs in
    /// when no risk configuration is given.
    pub fn sizing_only() -> RiskConfig {
        RiskConfig {
            leverage: LeverageConfig {
                enabled: false,
                ..LeverageConfig::default()
            },
            limits: LimitsConfig {
                max_position: None,
                max_sector: None,
                max_drawdown: None,
                max_daily_var: None,
                stop_loss: None,
            },
            correlation: CorrelationConfig::default(),
        }
    }

    /// Days of daily closes the manager must keep (the longest window plus one).
    pub fn history_days(&self) -> usize {
        self.leverage.window_days.max(self.correlation.window_days) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_numbers_and_round_trip_through_toml() {
        let c = RiskConfig::default();
        assert_eq!(c.limits.max_position, Some(0.10));
        assert_eq!(c.limits.max_sector, Some(0.30));
        assert_eq!(c.limits.max_drawdown, Some(0.15));
        assert_eq!(c.limits.max_daily_var, Some(0.02));
        assert_eq!(c.leverage.window_days, 60);
        assert_eq!(RiskConfig::from_toml(&c.to_toml()).unwrap(), c);
        assert_eq!(RiskConfig::from_toml("").unwrap(), c);
    }

    #[test]
    fn the_leverage_table_at_its_edges() {
        let c = RiskConfig::default();
        assert_eq!(c.leverage_for(0.0), 1.0);
        assert_eq!(c.leverage_for(0.03), 1.0, "exactly at 0.03 is not above it");
        assert_eq!(c.leverage_for(0.0300001), 0.7);
        assert_eq!(c.leverage_for(0.05), 0.7);
        assert_eq!(c.leverage_for(0.0500001), 0.5);
        assert_eq!(c.leverage_for(f64::NAN), 1.0);
    }

    #[test]
    fn limits_turn_off_with_false_and_errors_name_the_setting() {
        let c =
            RiskConfig::from_toml("[limits]\nmax_sector = false\nmax_position = 0.25\n").unwrap();
        assert_eq!(c.limits.max_sector, None);
        assert_eq!(c.limits.max_position, Some(0.25));
        let e = RiskConfig::from_toml("[limits]\nmax_position = 1.5\n").unwrap_err();
        assert!(e.to_string().contains("limits.max_position"), "{e}");
        let e = RiskConfig::from_toml("[leverage]\nbase = 1.5\n").unwrap_err();
        assert!(e.to_string().contains("margin = true"), "{e}");
        assert!(RiskConfig::from_toml("[leverage]\nbase = 1.5\nmargin = true\n").is_ok());
        let e = RiskConfig::from_toml("[limits]\nmax_positoin = 0.1\n").unwrap_err();
        assert!(e.to_string().contains("max_positoin"), "{e}");
        let e = RiskConfig::from_toml("[limits]\nmax_position = true\n").unwrap_err();
        assert!(e.to_string().contains("limits.max_position"), "{e}");
        let e =
            RiskConfig::from_toml("[leverage]\nwindow_days = 10\nmin_returns = 20\n").unwrap_err();
        assert!(e.to_string().contains("leverage.min_returns"), "{e}");
    }
}
