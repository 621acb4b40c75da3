//! The Pulse strategy (SPEC §3): TSLA + TSLL + cash target weights from RSI14, RSI5, MACD,
//! Bollinger Bands, the SMA fast/slow cross and a rolling VWAP of both tickers, with VIX and Fear &
//! Greed as mood filters. Every rule and threshold is in [`PulseConfig`], whose documented default
//! (`pulse_default.toml`) ships with the binary.

use crate::PositionSizing;
use crate::{MarketSnapshot, Strategy, StrategyError, TargetWeights};
use pulse_core::{Bar, Symbol};
use pulse_indicators::{
    BBandsOutput, BollingerBands, Indicator, IndicatorError, Macd, MacdOutput, RollingVwap, Rsi,
    Sma, VwapBar,
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
    /// How the risk layer sizes the positions (Half Kelly, ATR, the correlation filter);
    /// absent: the weights as decided.
    #[serde(default)]
    pub sizing: PositionSizing,
}

impl PulseConfig {
    /// Parses and validates a TOML rule set.
    pub fn from_toml(text: &str) -> Result<Self, StrategyError> {
        let cfg: PulseConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
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

    /// Checks every parameter's range; an error names the TOML key (`indicators.rsi_period`).
    pub fn validate(&self) -> Result<(), StrategyError> {
        if let Err(pulse_risk::RiskConfigError::Invalid { field, reason }) = self.sizing.validate()
        {
            return Err(StrategyError::Parameter {
                name: field,
                reason,
            });
        }
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
        self.validate_symbols()?;
        self.validate_indicators()
    }

    /// The four series must be four different symbols (`base = leveraged` would trade one
    /// ticker as two legs).
    fn validate_symbols(&self) -> Result<(), StrategyError> {
        let y = &self.symbols;
        let named = [
            ("symbols.base", &y.base),
            ("symbols.leveraged", &y.leveraged),
            ("symbols.vix", &y.vix),
            ("symbols.fear_greed", &y.fear_greed),
        ];
        for (i, (key, sym)) in named.iter().enumerate() {
            if let Some((first, _)) = named[..i].iter().find(|(_, s)| s == sym) {
                return Err(StrategyError::Parameter {
                    name: (*key).to_string(),
                    reason: format!("{sym} is already {first}; every series must differ"),
                });
            }
        }
        Ok(())
    }

    /// Every period within the indicator's own range (at least its minimum, at most
    /// [`pulse_indicators::MAX_PERIOD`] bars), MACD and SMA fast below slow, `bbands_k` > 0: the
    /// indicators' own checks, reported under the TOML key (`indicators.rsi_period`).
    fn validate_indicators(&self) -> Result<(), StrategyError> {
        let c = &self.indicators;
        let bad = |name: &str, reason: String| StrategyError::Parameter {
            name: name.to_string(),
            reason,
        };
        let key = |name: &'static str| move |e: IndicatorError| bad(name, e.to_string());
        for (name, fast, slow) in [
            ("macd", c.macd_fast, c.macd_slow),
            ("sma", c.sma_fast, c.sma_slow),
        ] {
            if fast >= slow {
                return Err(bad(
                    &format!("indicators.{name}_fast"),
                    format!("{fast} must be below indicators.{name}_slow {slow}"),
                ));
            }
        }
        Rsi::try_new(c.rsi_period).map_err(key("indicators.rsi_period"))?;
        Rsi::try_new(c.rsi_fast_period).map_err(key("indicators.rsi_fast_period"))?;
        Macd::try_new(c.macd_fast, c.macd_slow, c.macd_signal).map_err(|e| {
            let name = match &e {
                IndicatorError::InvalidPeriod { param, .. }
                | IndicatorError::PeriodTooLarge { param, .. } => match *param {
                    "fast" => "indicators.macd_fast",
                    "slow" => "indicators.macd_slow",
                    _ => "indicators.macd_signal",
                },
                _ => "indicators.macd_fast",
            };
            bad(name, e.to_string())
        })?;
        BollingerBands::try_new(c.bbands_period, c.bbands_k).map_err(|e| match &e {
            IndicatorError::InvalidParameter { .. } => bad("indicators.bbands_k", e.to_string()),
            _ => bad("indicators.bbands_period", e.to_string()),
        })?;
        Sma::try_new(c.sma_fast).map_err(key("indicators.sma_fast"))?;
        Sma::try_new(c.sma_slow).map_err(key("indicators.sma_slow"))?;
        RollingVwap::try_new(c.vwap_window).map_err(key("indicators.vwap_window"))?;
        Ok(())
    }
}

/// A TOML error that names the line and, when the error points into a `key = value` line, the
/// key's full path (`line 24, indicators.rsi_period: invalid value: integer \`-3\`, expected usize`).
fn toml_error(text: &str, e: &toml::de::Error) -> StrategyError {
    let message = e.message().trim_end();
    let Some(span) = e.span() else {
        return StrategyError::Config(message.to_string());
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line
        .split_once('=')
        .filter(|(k, _)| line_start + k.len() < start)
        .map(|(k, _)| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| {
            l.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
        });
    let place = match (table, key) {
        (Some(t), Some(k)) if !t.is_empty() => format!("line {line_no}, {t}.{k}"),
        (_, Some(k)) => format!("line {line_no}, {k}"),
        _ => format!("line {line_no}"),
    };
    StrategyError::Config(format!("{place}: {message}"))
}

/// Streaming indicators of one ticker.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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

    fn position_sizing(&self) -> Option<PositionSizing> {
        self.config.sizing.is_active().then_some(self.config.sizing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_indicators::{BBandsOutput, MacdOutput};

    #[test]
    fn the_sizing_section_is_optional_validated_and_named_in_errors() {
        let default = PulseConfig::default_config().unwrap();
        assert!(!default.sizing.is_active());
        let without = DEFAULT_TOML.split("\n[sizing]").next().unwrap();
        assert_eq!(
            PulseConfig::from_toml(without).unwrap().sizing,
            default.sizing
        );
        let bad = format!(
            "{without}\n[sizing]\nmethod = \"half_kelly\"\n[sizing.kelly]\nwin_rate = 1.5\n"
        );
        let e = PulseConfig::from_toml(&bad).unwrap_err().to_string();
        assert!(e.contains("sizing.kelly.win_rate"), "{e}");
        let unknown = format!("{without}\n[sizing]\nmethod = \"kelly\"\n");
        assert!(PulseConfig::from_toml(&unknown).is_err());
        let ok = format!("{without}\n[sizing]\nmethod = \"atr\"\n");
        let s = PulseStrategy::try_new(PulseConfig::from_toml(&ok).unwrap()).unwrap();
        assert_eq!(
            s.position_sizing().map(|p| p.method),
            Some(pulse_risk::SizingMethod::Atr)
        );
    }

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

    /// The default rule set with one `key = value` line replaced; the error message.
    fn refused(line: &str, with: &str) -> String {
        assert!(DEFAULT_TOML.contains(line), "{line}");
        let text = DEFAULT_TOML.replacen(line, with, 1);
        PulseConfig::from_toml(&text)
            .map(drop)
            .expect_err(with)
            .to_string()
    }

    #[test]
    fn strategy_file_periods_are_bounded_and_errors_name_the_key() {
        for (line, with, key) in [
            ("rsi_period = 14", "rsi_period = 0", "indicators.rsi_period"),
            ("rsi_period = 14", "rsi_period = 1", "indicators.rsi_period"),
            (
                "rsi_period = 14",
                "rsi_period = 18446744073709551615",
                "indicators.rsi_period",
            ),
            (
                "rsi_period = 14",
                "rsi_period = 9223372036854775807",
                "indicators.rsi_period",
            ),
            (
                "rsi_period = 14",
                "rsi_period = -3",
                "indicators.rsi_period",
            ),
            (
                "rsi_fast_period = 5",
                "rsi_fast_period = 100001",
                "indicators.rsi_fast_period",
            ),
            (
                "sma_slow = 10",
                "sma_slow = 2000000000",
                "indicators.sma_slow",
            ),
            (
                "macd_signal = 9",
                "macd_signal = 0",
                "indicators.macd_signal",
            ),
            (
                "macd_slow = 26",
                "macd_slow = 4000000000",
                "indicators.macd_slow",
            ),
            (
                "bbands_period = 20",
                "bbands_period = 1",
                "indicators.bbands_period",
            ),
            (
                "vwap_window = 20",
                "vwap_window = 0",
                "indicators.vwap_window",
            ),
        ] {
            let err = refused(line, with);
            assert!(err.contains(key), "{with}: {err}");
        }
        let err = refused("sma_slow = 10", "sma_slow = 2000000000");
        assert!(err.contains("too large") && err.contains("100000"), "{err}");
    }

    #[test]
    fn strategy_file_toml_errors_name_line_and_key() {
        let err = refused("rsi_period = 14", "rsi_period = -3");
        assert!(
            err.contains("line 24, indicators.rsi_period") && err.contains("-3"),
            "{err}"
        );
        let err = refused("bbands_k = 2.0", "bbands_k = \"x\"");
        assert!(err.contains("indicators.bbands_k"), "{err}");
        let err = refused("base = \"TSLA\"", "base = \"\"");
        assert!(err.contains("symbols.base"), "{err}");
    }

    #[test]
    fn strategy_file_macd_fast_above_slow_is_refused() {
        let err = refused("macd_fast = 12", "macd_fast = 30");
        assert!(
            err.contains("indicators.macd_fast") && err.contains("indicators.macd_slow 26"),
            "{err}"
        );
        let err = refused("macd_fast = 12", "macd_fast = 26");
        assert!(err.contains("indicators.macd_fast"), "{err}");
    }

    #[test]
    fn strategy_file_bbands_k_must_be_positive() {
        for with in ["bbands_k = -2.0", "bbands_k = 0.0", "bbands_k = nan"] {
            let err = refused("bbands_k = 2.0", with);
            assert!(err.contains("indicators.bbands_k"), "{with}: {err}");
        }
    }

    #[test]
    fn strategy_file_symbols_must_differ() {
        let err = refused("leveraged = \"TSLL\"", "leveraged = \"TSLA\"");
        assert!(
            err.contains("symbols.leveraged") && err.contains("symbols.base"),
            "{err}"
        );
        let err = refused("vix = \"VIX\"", "vix = \"TSLL\"");
        assert!(err.contains("symbols.vix"), "{err}");
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
