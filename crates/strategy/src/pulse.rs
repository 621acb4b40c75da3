//! The Pulse strategy (SPEC §3): TSLA + TSLL + cash target weights from RSI14, RSI5, MACD,
//! Bollinger Bands, the SMA fast/slow cross and a rolling VWAP of both tickers, with VIX and Fear &
//! Greed as mood filters. Every rule and threshold is in [`PulseConfig`], whose documented default
//! (`pulse_default.toml`) ships with the binary.

use crate::{MarketSnapshot, Strategy, StrategyError, TargetWeights};
use pulse_core::{Bar, Symbol};
use pulse_indicators::{
    BBandsOutput, BollingerBands, Indicator, Macd, MacdOutput, RollingVwap, Rsi, Sma, VwapBar,
};
use serde::{Deserialize, Serialize};

/// The default rule set, as shipped (`pulse strategy show pulse` prints it).
pub const DEFAULT_TOML: &str = include_str!("pulse_default.toml");

/// Which series the strategy trades and reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolsConfig {
    /// The underlying stock (TSLA).
    pub base: Symbol,
    /// Its leveraged fund (TSLL).
    pub leveraged: Symbol,
    /// VIX series (mood filter; optional in the data).
    pub vix: Symbol,
    /// Fear & Greed series (mood filter, 0–100; optional in the data).
    pub fear_greed: Symbol,
}

/// Indicator parameters (bars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorsConfig {
    /// RSI period (Wilder), bars.
    pub rsi_period: usize,
    /// Short RSI period, bars.
    pub rsi_fast_period: usize,
    /// MACD fast EMA, bars.
    pub macd_fast: usize,
    /// MACD slow EMA, bars.
    pub macd_slow: usize,
    /// MACD signal EMA, bars.
    pub macd_signal: usize,
    /// Bollinger period, bars.
    pub bbands_period: usize,
    /// Bollinger width in population standard deviations.
    pub bbands_k: f64,
    /// Fast SMA, bars.
    pub sma_fast: usize,
    /// Slow SMA, bars.
    pub sma_slow: usize,
    /// Rolling VWAP window, bars.
    pub vwap_window: usize,
}

/// Base allocation per trend score 0..=4 (fractions of equity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsConfig {
    /// TSLA weight by score.
    pub tsla: [f64; 5],
    /// TSLL weight by score.
    pub tsll: [f64; 5],
}

/// Overbought rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverboughtConfig {
    /// TSLA RSI above this is overbought (0–100).
    pub rsi: f64,
    /// TSLL RSI above this is overbought (0–100).
    pub rsi_leveraged: f64,
    /// A TSLA close above the upper band is overbought too.
    pub use_upper_band: bool,
    /// Fraction of the TSLL weight removed when overbought.
    pub tsll_cut: f64,
    /// TSLA RSI above this also cuts TSLA (0–100).
    pub rsi_extreme: f64,
    /// Fraction of the TSLA weight removed at the extreme.
    pub tsla_cut: f64,
}

/// Oversold rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OversoldConfig {
    /// TSLA RSI below this (0–100) …
    pub rsi: f64,
    /// … and TSLA RSI5 below this (0–100) is oversold.
    pub rsi_fast: f64,
    /// A TSLA close below the lower band can replace the RSI5 condition.
    pub use_lower_band: bool,
    /// Added to the TSLA weight when oversold (fraction of equity).
    pub tsla_add: f64,
    /// Added to the TSLL weight when oversold (fraction of equity).
    pub tsll_add: f64,
}

/// Mood filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoodConfig {
    /// VIX level (index points) at or above which TSLL is capped.
    pub vix_high: f64,
    /// TSLL cap (fraction) when VIX ≥ `vix_high`.
    pub vix_high_tsll_cap: f64,
    /// VIX level at or above which TSLL is capped harder.
    pub vix_extreme: f64,
    /// TSLL cap (fraction) when VIX ≥ `vix_extreme`.
    pub vix_extreme_tsll_cap: f64,
    /// Fear & Greed level (0–100) at or above which TSLL is capped.
    pub greed_extreme: f64,
    /// TSLL cap (fraction) under extreme greed.
    pub greed_tsll_cap: f64,
}

/// Position limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest weight of one leg (fraction).
    pub max_weight: f64,
    /// Largest TSLA + TSLL (fraction; 1 = no borrowing).
    pub max_gross: f64,
}

/// The whole Pulse rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PulseConfig {
    /// Traded and mood series.
    pub symbols: SymbolsConfig,
    /// Indicator parameters.
    pub indicators: IndicatorsConfig,
    /// Base allocation by trend score.
    pub weights: WeightsConfig,
    /// Overbought rule.
    pub overbought: OverboughtConfig,
    /// Oversold rule.
    pub oversold: OversoldConfig,
    /// Mood filters.
    pub mood: MoodConfig,
    /// Limits.
    pub limits: LimitsConfig,
}

impl PulseConfig {
    /// Parses and validates a TOML rule set.
    pub fn from_toml(text: &str) -> Result<Self, StrategyError> {
        let cfg: PulseConfig =
            toml::from_str(text).map_err(|e| StrategyError::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The shipped default rule set.
    pub fn default_config() -> Result<Self, StrategyError> {
        Self::from_toml(DEFAULT_TOML)
    }

    /// Serializes to TOML (for recording a run's configuration).
    pub fn to_toml(&self) -> Result<String, StrategyError> {
        toml::to_string(self).map_err(|e| StrategyError::Config(e.to_string()))
    }

    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), StrategyError> {
        let bad = |name: &str, reason: String| {
            Err(StrategyError::Parameter {
                name: name.to_string(),
                reason,
            })
        };
        let fraction = |name: &str, v: f64| -> Result<(), StrategyError> {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                bad(name, format!("{v} is not a fraction in [0, 1]"))
            }
        };
        let level = |name: &str, v: f64| -> Result<(), StrategyError> {
            if v.is_finite() && (0.0..=100.0).contains(&v) {
                Ok(())
            } else {
                bad(name, format!("{v} is not in [0, 100]"))
            }
        };
        for (i, (a, b)) in self.weights.tsla.iter().zip(&self.weights.tsll).enumerate() {
            fraction(&format!("weights.tsla[{i}]"), *a)?;
            fraction(&format!("weights.tsll[{i}]"), *b)?;
        }
        let o = &self.overbought;
        level("overbought.rsi", o.rsi)?;
        level("overbought.rsi_leveraged", o.rsi_leveraged)?;
        level("overbought.rsi_extreme", o.rsi_extreme)?;
        fraction("overbought.tsll_cut", o.tsll_cut)?;
        fraction("overbought.tsla_cut", o.tsla_cut)?;
        let s = &self.oversold;
        level("oversold.rsi", s.rsi)?;
        level("oversold.rsi_fast", s.rsi_fast)?;
        fraction("oversold.tsla_add", s.tsla_add)?;
        fraction("oversold.tsll_add", s.tsll_add)?;
        if s.rsi >= o.rsi {
            return bad(
                "oversold.rsi",
                format!("{} must be below overbought.rsi {}", s.rsi, o.rsi),
            );
        }
        let m = &self.mood;
        fraction("mood.vix_high_tsll_cap", m.vix_high_tsll_cap)?;
        fraction("mood.vix_extreme_tsll_cap", m.vix_extreme_tsll_cap)?;
        fraction("mood.greed_tsll_cap", m.greed_tsll_cap)?;
        level("mood.greed_extreme", m.greed_extreme)?;
        if !(m.vix_high.is_finite() && m.vix_extreme.is_finite() && m.vix_high <= m.vix_extreme) {
            return bad(
                "mood.vix_high",
                format!(
                    "{} must be ≤ mood.vix_extreme {}",
                    m.vix_high, m.vix_extreme
                ),
            );
        }
        fraction("limits.max_weight", self.limits.max_weight)?;
        if !(self.limits.max_gross.is_finite()
            && self.limits.max_gross > 0.0
            && self.limits.max_gross <= 1.0)
        {
            return bad(
                "limits.max_gross",
                format!("{} is not in (0, 1]", self.limits.max_gross),
            );
        }
        if self.indicators.sma_fast >= self.indicators.sma_slow {
            return bad(
                "indicators.sma_fast",
                format!(
                    "{} must be below indicators.sma_slow {}",
                    self.indicators.sma_fast, self.indicators.sma_slow
                ),
            );
        }
        Ok(())
    }
}

/// Streaming indicators of one ticker.
#[derive(Debug, Clone)]
struct TickerIndicators {
    rsi: Rsi,
    rsi_fast: Rsi,
    macd: Macd,
    bbands: BollingerBands,
    sma_fast: Sma,
    sma_slow: Sma,
    vwap: RollingVwap,
    last: Option<TickerState>,
}

/// The latest indicator values of one ticker (all warmed up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TickerState {
    /// Close of the bar.
    pub close: f64,
    /// RSI (long period).
    pub rsi: f64,
    /// RSI (short period).
    pub rsi_fast: f64,
    /// MACD line, signal and histogram.
    pub macd: MacdOutput,
    /// Bollinger bands.
    pub bbands: BBandsOutput,
    /// Fast SMA.
    pub sma_fast: f64,
    /// Slow SMA.
    pub sma_slow: f64,
    /// Rolling VWAP.
    pub vwap: f64,
}

impl TickerIndicators {
    fn try_new(c: &IndicatorsConfig) -> Result<Self, StrategyError> {
        Ok(TickerIndicators {
            rsi: Rsi::try_new(c.rsi_period)?,
            rsi_fast: Rsi::try_new(c.rsi_fast_period)?,
            macd: Macd::try_new(c.macd_fast, c.macd_slow, c.macd_signal)?,
            bbands: BollingerBands::try_new(c.bbands_period, c.bbands_k)?,
            sma_fast: Sma::try_new(c.sma_fast)?,
            sma_slow: Sma::try_new(c.sma_slow)?,
            vwap: RollingVwap::try_new(c.vwap_window)?,
            last: None,
        })
    }

    fn warmup(&self) -> usize {
        [
            self.rsi.warmup_period(),
            self.rsi_fast.warmup_period(),
            self.macd.warmup_period(),
            self.bbands.warmup_period(),
            self.sma_fast.warmup_period(),
            self.sma_slow.warmup_period(),
            self.vwap.warmup_period(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// Feeds one bar (every indicator, always, so that they stay aligned) and returns the state
    /// once all are warm.
    fn update(&mut self, bar: &Bar) -> Option<TickerState> {
        let c = bar.close;
        let rsi = self.rsi.update(c);
        let rsi_fast = self.rsi_fast.update(c);
        let macd = self.macd.update(c);
        let bbands = self.bbands.update(c);
        let sma_fast = self.sma_fast.update(c);
        let sma_slow = self.sma_slow.update(c);
        let vwap = self.vwap.update(VwapBar {
            high: bar.high,
            low: bar.low,
            close: c,
            volume: bar.volume.unwrap_or(0.0),
            session: 0,
        });
        let state = TickerState {
            close: c,
            rsi: rsi?,
            rsi_fast: rsi_fast?,
            macd: macd?,
            bbands: bbands?,
            sma_fast: sma_fast?,
            sma_slow: sma_slow?,
            vwap: vwap.unwrap_or(c),
        };
        self.last = Some(state);
        Some(state)
    }
}

/// Why the last target was chosen (for alerts and the simulate printout).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PulseDecision {
    /// Trend score 0..=4.
    pub score: usize,
    /// Overbought rule fired.
    pub overbought: bool,
    /// Extreme RSI rule fired.
    pub extreme: bool,
    /// Oversold rule fired.
    pub oversold: bool,
    /// A mood cap applied to TSLL (its value).
    pub mood_cap: Option<f64>,
    /// TSLA weight chosen.
    pub tsla: f64,
    /// TSLL weight chosen.
    pub tsll: f64,
}

/// The Pulse strategy.
#[derive(Debug, Clone)]
pub struct PulseStrategy {
    config: PulseConfig,
    base: TickerIndicators,
    leveraged: TickerIndicators,
    last_decision: Option<PulseDecision>,
}

impl PulseStrategy {
    /// Builds the strategy from a validated configuration.
    pub fn try_new(config: PulseConfig) -> Result<Self, StrategyError> {
        config.validate()?;
        let base = TickerIndicators::try_new(&config.indicators)?;
        let leveraged = TickerIndicators::try_new(&config.indicators)?;
        Ok(PulseStrategy {
            config,
            base,
            leveraged,
            last_decision: None,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &PulseConfig {
        &self.config
    }

    /// The reasons behind the latest target, if any.
    pub fn last_decision(&self) -> Option<&PulseDecision> {
        self.last_decision.as_ref()
    }

    /// The pure decision rule: indicator states and mood values in, target weights out.
    pub fn decide(
        config: &PulseConfig,
        base: &TickerState,
        leveraged: &TickerState,
        vix: Option<f64>,
        fear_greed: Option<f64>,
    ) -> PulseDecision {
        let score = usize::from(base.sma_fast > base.sma_slow)
            + usize::from(base.macd.hist > 0.0)
            + usize::from(base.close > base.vwap)
            + usize::from(base.close > base.bbands.middle);
        let mut tsla = config.weights.tsla[score];
        let mut tsll = config.weights.tsll[score];
        let o = &config.overbought;
        let overbought = base.rsi > o.rsi
            || leveraged.rsi > o.rsi_leveraged
            || (o.use_upper_band && base.close > base.bbands.upper);
        let extreme = base.rsi > o.rsi_extreme;
        if overbought {
            tsll *= 1.0 - o.tsll_cut;
        }
        if extreme {
            tsla *= 1.0 - o.tsla_cut;
        }
        let s = &config.oversold;
        let oversold = !overbought
            && base.rsi < s.rsi
            && (base.rsi_fast < s.rsi_fast || (s.use_lower_band && base.close < base.bbands.lower));
        if oversold {
            tsla += s.tsla_add;
            tsll += s.tsll_add;
        }
        let m = &config.mood;
        let mut cap: Option<f64> = None;
        let mut apply_cap = |c: f64| cap = Some(cap.map_or(c, |x: f64| x.min(c)));
        if let Some(v) = vix {
            if v >= m.vix_extreme {
                apply_cap(m.vix_extreme_tsll_cap);
            } else if v >= m.vix_high {
                apply_cap(m.vix_high_tsll_cap);
            }
        }
        if let Some(g) = fear_greed
            && g >= m.greed_extreme
        {
            apply_cap(m.greed_tsll_cap);
        }
        if let Some(c) = cap {
            tsll = tsll.min(c);
        }
        let l = &config.limits;
        tsla = tsla.clamp(0.0, l.max_weight);
        tsll = tsll.clamp(0.0, l.max_weight);
        let gross = tsla + tsll;
        if gross > l.max_gross {
            let k = l.max_gross / gross;
            tsla *= k;
            tsll *= k;
        }
        PulseDecision {
            score,
            overbought,
            extreme,
            oversold,
            mood_cap: cap,
            tsla,
            tsll,
        }
    }
}

impl Strategy for PulseStrategy {
    fn name(&self) -> &str {
        "Pulse"
    }

    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Option<TargetWeights> {
        let syms = &self.config.symbols;
        // Each ticker's indicators advance on that ticker's own bars only.
        let base = snapshot
            .bars
            .get(&syms.base)
            .and_then(|b| self.base.update(b));
        let lev = snapshot
            .bars
            .get(&syms.leveraged)
            .and_then(|b| self.leveraged.update(b));
        // Decide only at a bar where both tickers traded and both are warm.
        let (base, lev) = (base?, lev?);
        let vix = snapshot.context.get(&syms.vix).copied();
        let fear_greed = snapshot.context.get(&syms.fear_greed).copied();
        let d = Self::decide(&self.config, &base, &lev, vix, fear_greed);
        let target = TargetWeights::from([
            (syms.base.clone(), d.tsla),
            (syms.leveraged.clone(), d.tsll),
        ]);
        self.last_decision = Some(d);
        Some(target)
    }

    fn warmup_bars(&self) -> usize {
        self.base.warmup().max(self.leveraged.warmup())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_indicators::{BBandsOutput, MacdOutput};

    fn state(close: f64, rsi: f64, rsi_fast: f64, hist: f64) -> TickerState {
        TickerState {
            close,
            rsi,
            rsi_fast,
            macd: MacdOutput {
                macd: hist,
                signal: 0.0,
                hist,
            },
            bbands: BBandsOutput {
                upper: 110.0,
                middle: 100.0,
                lower: 90.0,
                percent_b: 0.5,
                bandwidth: 0.2,
            },
            sma_fast: close,
            sma_slow: 100.0,
            vwap: 100.0,
        }
    }

    #[test]
    fn default_config_parses_and_validates() {
        let c = PulseConfig::default_config().unwrap();
        assert_eq!(c.symbols.leveraged.as_str(), "TSLL");
        assert_eq!(PulseConfig::from_toml(&c.to_toml().unwrap()).unwrap(), c);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_ranges() {
        let extra = format!("{DEFAULT_TOML}\n[extra]\nx = 1\n");
        assert!(PulseConfig::from_toml(&extra).is_err());
        let bad = DEFAULT_TOML.replace("rsi = 30.0", "rsi = 75.0");
        let err = PulseConfig::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains("oversold.rsi"), "{err}");
    }

    #[test]
    fn rules_follow_the_documented_order() {
        let c = PulseConfig::default_config().unwrap();
        // Strong trend, neutral RSI: score 4 → 0.5 / 0.5.
        let d = PulseStrategy::decide(
            &c,
            &state(105.0, 60.0, 60.0, 1.0),
            &state(50.0, 60.0, 60.0, 1.0),
            None,
            None,
        );
        assert_eq!((d.score, d.tsla, d.tsll), (4, 0.5, 0.5));
        // Overbought cuts TSLL first.
        let d = PulseStrategy::decide(
            &c,
            &state(105.0, 72.0, 60.0, 1.0),
            &state(50.0, 60.0, 60.0, 1.0),
            None,
            None,
        );
        assert!(d.overbought && !d.extreme);
        assert_eq!((d.tsla, d.tsll), (0.5, 0.0));
        // Extreme RSI also halves TSLA.
        let d = PulseStrategy::decide(
            &c,
            &state(105.0, 85.0, 60.0, 1.0),
            &state(50.0, 60.0, 60.0, 1.0),
            None,
            None,
        );
        assert_eq!((d.tsla, d.tsll), (0.25, 0.0));
        // Oversold in a downtrend (score 0: 0.2 / 0.0) adds 0.2 to each leg.
        let d = PulseStrategy::decide(
            &c,
            &state(95.0, 25.0, 15.0, -1.0),
            &state(40.0, 25.0, 15.0, -1.0),
            None,
            None,
        );
        assert!(d.oversold);
        assert_eq!(d.score, 0);
        assert!((d.tsla - 0.4).abs() < 1e-12 && (d.tsll - 0.2).abs() < 1e-12);
        // High VIX caps TSLL at 0.1, extreme greed too, extreme VIX at 0.
        let up = state(105.0, 60.0, 60.0, 1.0);
        assert_eq!(
            PulseStrategy::decide(&c, &up, &up, Some(31.0), None).tsll,
            0.1
        );
        assert_eq!(
            PulseStrategy::decide(&c, &up, &up, None, Some(85.0)).tsll,
            0.1
        );
        assert_eq!(
            PulseStrategy::decide(&c, &up, &up, Some(45.0), Some(85.0)).tsll,
            0.0
        );
    }
}
