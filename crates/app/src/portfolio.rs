//! The portfolio use cases: target weights over a universe of stored daily series
//! ([`optimize`]), those weights as whole shares for an amount of cash ([`allocate`]), and the
//! walk-forward comparison of construction methods ([`walk_forward`]: each re-optimizes on a
//! trailing window at every rebalancing date and trades through the engine), with its report
//! model ([`walk_forward_report`]: equity, weights, prices and trades, and the efficient frontier of
//! the last estimation window).
//!
//! Units: weights, returns, volatilities, rates and caps are fractions (0.12 = 12 %); expected
//! returns and volatilities are annual, annualized with the data's [`Periodicity`]; money is in
//! the account currency.

use crate::backtest::{
    Evaluated, MAX_MONEY, RiskFreeChoice, analyse, date_of, equity_series, metrics_row,
    validate_commission, validate_money,
};
use crate::error::AppError;
use crate::market::{instrument_of, load_series};
use jiff::Timestamp;
use pulse_backtest::{AlignedData, BacktestConfig, BacktestResult};
use pulse_core::money::money_to_f64;
use pulse_core::ports::Store;
use pulse_core::{Currency, Periodicity, Portfolio, Symbol, Timeframe};
use pulse_engine::{CostModel, EngineConfig};
use pulse_optimize::nalgebra::{DMatrix, DVector};
use pulse_optimize::{
    Allocation, AllocationRequest, Constraints, OptimizeError, PortfolioResult, PortfolioSpec,
    ReturnModel, RiskModel,
};
use pulse_report::{
    BacktestReport, FrontierChart, MarkedPortfolio, PriceSeries, SampleLabel, TradeMarker,
    TradeRow, WeightsSeries,
};
use pulse_strategy::portfolio::{PortfolioStrategy, Schedule};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

// ------------------------------------------------------------------------------------------
// Choices
// ------------------------------------------------------------------------------------------

/// A portfolio construction method. Spelled (serialized, and on the command line) in
/// kebab-case: `min-vol`, `max-sharpe`, `efficient-risk`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Minimum volatility (MVO).
    MinVol,
    /// Maximum Sharpe ratio (MVO, exact by change of variables).
    MaxSharpe,
    /// Maximum return at a target volatility (--target).
    EfficientRisk,
    /// Minimum volatility at a target return (--target).
    EfficientReturn,
    /// Maximum quadratic utility (--risk-aversion).
    MaxUtility,
    /// Hierarchical risk parity (--linkage).
    Hrp,
    /// α·max-Sharpe + (1−α)·HRP (--alpha).
    Blend,
    /// Inverse volatility.
    InverseVol,
    /// Equal risk contribution.
    Erc,
    /// Equal weight.
    Equal,
}

impl Method {
    /// Whether the method solves a mean-variance problem (and so takes group caps, a turnover
    /// limit and L2 regularization; a blend applies them to its max-Sharpe leg).
    pub fn is_mean_variance(self) -> bool {
        !matches!(
            self,
            Method::Hrp | Method::InverseVol | Method::Erc | Method::Equal
        )
    }
}

/// An expected-return model. Spelled `mean`, `mean-arithmetic`, `ema`, `capm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Returns {
    /// Mean historical return (geometric/compounded).
    Mean,
    /// Mean historical return, arithmetic.
    MeanArithmetic,
    /// Exponentially weighted mean (--span).
    Ema,
    /// CAPM against --market (or an equal-weight proxy).
    Capm,
}

/// A risk (covariance) model. Spelled `sample`, `ledoit-wolf`, `exp`, `semi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Sample covariance.
    Sample,
    /// Ledoit-Wolf shrinkage toward constant variance.
    LedoitWolf,
    /// Exponentially weighted covariance (--span).
    Exp,
    /// Semicovariance (benchmark 0).
    Semi,
}

/// The linkage of HRP's clustering. Spelled `single`, `complete`, `average`, `ward`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Linkage {
    /// Single linkage.
    Single,
    /// Complete linkage.
    Complete,
    /// Average linkage.
    Average,
    /// Ward linkage.
    Ward,
}

impl Linkage {
    fn optimize(self) -> pulse_optimize::Linkage {
        match self {
            Linkage::Single => pulse_optimize::Linkage::Single,
            Linkage::Complete => pulse_optimize::Linkage::Complete,
            Linkage::Average => pulse_optimize::Linkage::Average,
            Linkage::Ward => pulse_optimize::Linkage::Ward,
        }
    }
}

/// How often the walk-forward strategies re-optimize. Spelled `monthly`, `weekly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum RebalancePeriod {
    /// At the first bar of each calendar month.
    #[default]
    Monthly,
    /// At the first bar of each ISO week.
    Weekly,
}

impl RebalancePeriod {
    /// The name (as printed and recorded in the report).
    pub fn as_str(self) -> &'static str {
        match self {
            RebalancePeriod::Monthly => "monthly",
            RebalancePeriod::Weekly => "weekly",
        }
    }

    /// The strategy's schedule.
    pub fn schedule(self) -> Schedule {
        match self {
            RebalancePeriod::Monthly => Schedule::Monthly,
            RebalancePeriod::Weekly => Schedule::Weekly,
        }
    }
}

impl std::fmt::Display for RebalancePeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A walk-forward strategy: a construction method with fixed estimators. The eight of SPEC §5
/// ([`Preset::SPEC`]) pair min-vol, max-sharpe, HRP and the 50/50 blend with mean historical
/// returns or, in their `-forecast` variants, the forecaster's returns: here the EWMA estimate
/// (span 180 days, named as such in the output) stands in; with the `deep` feature
/// `pulse_app::forecast::optimize` (`pulse forecast optimize`) runs them with N-BEATS expected
/// returns through [`optimize_preset_with_returns`]. Min-vol and HRP do
/// not use expected returns, so their forecast variants differ from the base only through the
/// reported expected return. Inverse-vol, ERC and equal weight are the simple baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Minimum volatility, Ledoit-Wolf covariance.
    MinVol,
    /// Maximum Sharpe, mean historical returns, Ledoit-Wolf covariance.
    MaxSharpe,
    /// HRP (single linkage) on the sample covariance.
    Hrp,
    /// ½ max-Sharpe + ½ HRP.
    Blend,
    /// [`Preset::MinVol`] with the forecast returns.
    MinVolForecast,
    /// [`Preset::MaxSharpe`] with the forecast returns.
    MaxSharpeForecast,
    /// [`Preset::Hrp`] with the forecast returns.
    HrpForecast,
    /// [`Preset::Blend`] with the forecast returns.
    BlendForecast,
    /// Inverse volatility.
    InverseVol,
    /// Equal risk contribution.
    Erc,
    /// Equal weight (1/N).
    Equal,
}

impl Preset {
    /// The eight strategies of SPEC §5, in report order (`--strategies all`).
    pub const SPEC: [Preset; 8] = [
        Preset::MinVol,
        Preset::MaxSharpe,
        Preset::Hrp,
        Preset::Blend,
        Preset::MinVolForecast,
        Preset::MaxSharpeForecast,
        Preset::HrpForecast,
        Preset::BlendForecast,
    ];
    /// Every preset.
    pub const ALL: [Preset; 11] = [
        Preset::MinVol,
        Preset::MaxSharpe,
        Preset::Hrp,
        Preset::Blend,
        Preset::MinVolForecast,
        Preset::MaxSharpeForecast,
        Preset::HrpForecast,
        Preset::BlendForecast,
        Preset::InverseVol,
        Preset::Erc,
        Preset::Equal,
    ];

    /// The kebab-case name (the strategy's name in outputs).
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::MinVol => "min-vol",
            Preset::MaxSharpe => "max-sharpe",
            Preset::Hrp => "hrp",
            Preset::Blend => "blend",
            Preset::MinVolForecast => "min-vol-forecast",
            Preset::MaxSharpeForecast => "max-sharpe-forecast",
            Preset::HrpForecast => "hrp-forecast",
            Preset::BlendForecast => "blend-forecast",
            Preset::InverseVol => "inverse-vol",
            Preset::Erc => "erc",
            Preset::Equal => "equal",
        }
    }

    /// `all` (the eight of [`Preset::SPEC`]) or a comma-separated list of names; empty items are
    /// ignored, unknown or repeated names refused (setting `strategies`).
    pub fn parse_list(raw: &str) -> Result<Vec<Preset>, AppError> {
        if raw.trim() == "all" {
            return Ok(Preset::SPEC.to_vec());
        }
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect()
    }

    /// The construction of this preset under annual risk-free rate `rf` (fraction) on prices of
    /// `periodicity`.
    pub fn spec(self, rf: f64, periodicity: Periodicity) -> PortfolioSpec {
        use pulse_optimize::Method as M;
        let single = pulse_optimize::Linkage::Single;
        let (method, forecast) = match self {
            Preset::MinVol => (M::MinVolatility, false),
            Preset::MaxSharpe => (M::MaxSharpe, false),
            Preset::Hrp => (M::Hrp { linkage: single }, false),
            Preset::Blend => (
                M::Blend {
                    alpha: 0.5,
                    linkage: single,
                },
                false,
            ),
            Preset::MinVolForecast => (M::MinVolatility, true),
            Preset::MaxSharpeForecast => (M::MaxSharpe, true),
            Preset::HrpForecast => (M::Hrp { linkage: single }, true),
            Preset::BlendForecast => (
                M::Blend {
                    alpha: 0.5,
                    linkage: single,
                },
                true,
            ),
            Preset::InverseVol => (M::InverseVolatility, false),
            Preset::Erc => (M::EqualRiskContribution, false),
            Preset::Equal => (M::EqualWeight, false),
        };
        let returns = if forecast {
            ReturnModel::Ema {
                span: FORECAST_SPAN_DAYS,
                compounding: true,
            }
        } else {
            ReturnModel::MeanHistorical { compounding: true }
        };
        let risk = if matches!(method, M::Hrp { .. }) {
            RiskModel::Sample
        } else {
            RiskModel::LedoitWolf
        };
        let mut spec = PortfolioSpec::new(method, returns, risk);
        spec.rf = rf;
        spec.periodicity = periodicity;
        spec
    }
}

/// Span (in bars) of the EWMA returns standing in for the forecaster in the `-forecast` presets.
pub const FORECAST_SPAN_DAYS: f64 = 180.0;

impl FromStr for Preset {
    type Err = AppError;

    fn from_str(s: &str) -> Result<Preset, AppError> {
        Preset::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                AppError::setting(
                    "strategies",
                    format!(
                        "{s:?}: unknown strategy: expected all, or one of {}",
                        Preset::ALL.map(Preset::as_str).join(", ")
                    ),
                )
            })
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ------------------------------------------------------------------------------------------
// Optimize
// ------------------------------------------------------------------------------------------

/// A cap on the summed weight of a group of assets (a sector, an asset class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCap {
    /// The group's name (for errors and output).
    pub name: String,
    /// Member symbols as spelled by the user (matched against the universe ignoring case).
    pub members: Vec<String>,
    /// Largest summed weight of the members (fraction in [0, 1]).
    pub cap: f64,
}

impl FromStr for GroupCap {
    type Err = AppError;

    /// `NAME=SYM1+SYM2:CAP`, e.g. `equity=SPY+QQQ+IWM:0.3` (setting `group` in errors).
    fn from_str(raw: &str) -> Result<GroupCap, AppError> {
        let bad = |why: &str| {
            AppError::setting(
                "group",
                format!(
                    "{raw:?}: {why} (expected NAME=SYM1+SYM2:CAP, e.g. equity=SPY+QQQ+IWM:0.3)"
                ),
            )
        };
        let (name, rest) = raw.split_once('=').ok_or_else(|| bad("missing '='"))?;
        let (members, cap) = rest.rsplit_once(':').ok_or_else(|| bad("missing ':CAP'"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("empty group name"));
        }
        let cap: f64 = cap.trim().parse().map_err(|_| bad("CAP is not a number"))?;
        let members: Vec<String> = members
            .split('+')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        if members.is_empty() {
            return Err(bad("no member symbols"));
        }
        Ok(GroupCap {
            name: name.to_string(),
            members,
            cap,
        })
    }
}

/// The symbols of a universe file's text: separated by commas, spaces, tabs or newlines, `#`
/// starting a comment that runs to the end of its line.
pub fn universe_names(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split([',', ' ', '\t']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses current weights `SYM=W,SYM=W,…` (fractions; setting `current_weights` in errors).
pub fn parse_current_weights(raw: &str) -> Result<Vec<(String, f64)>, AppError> {
    raw.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (sym, v) = item.split_once('=').ok_or_else(|| {
                AppError::setting(
                    "current_weights",
                    format!("{item:?}: expected SYM=W (e.g. SPY=0.4,TLT=0.6)"),
                )
            })?;
            let v: f64 = v.trim().parse().map_err(|_| {
                AppError::setting(
                    "current_weights",
                    format!("{item:?}: the weight is not a number"),
                )
            })?;
            Ok((sym.trim().to_string(), v))
        })
        .collect()
}

/// Target weights over a universe: which data, how returns and risk are estimated, the method
/// and its constraints. [`OptimizeRequest::validate`] checks every setting that does not need the
/// data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimizeRequest {
    /// The universe (stored daily series; adjusted closes are used when present), at least two,
    /// none twice.
    pub symbols: Vec<Symbol>,
    /// First instant of the price window (default: the first stored bar).
    pub from: Option<Timestamp>,
    /// Last instant of the price window (inclusive; default: the last stored bar).
    pub to: Option<Timestamp>,
    /// Construction method.
    pub method: Method,
    /// Expected-return model.
    pub returns: Returns,
    /// Risk model.
    pub risk: Risk,
    /// Annual volatility target (efficient-risk) or return target (efficient-return), fraction.
    pub target: Option<f64>,
    /// Largest weight of one asset (fraction in [0, 1]; default 1).
    pub max_weight: Option<f64>,
    /// Smallest weight of one asset (fraction in [-1, 1]; default 0 = long only, negative allows
    /// shorts).
    pub min_weight: Option<f64>,
    /// Group caps (mean-variance methods only).
    pub groups: Vec<GroupCap>,
    /// Turnover limit τ, Σ|w − w0| ≤ τ (fraction of capital in [0, 2]); needs `current_weights`.
    pub turnover_limit: Option<f64>,
    /// Current weights w0 for the turnover limit (symbol, fraction in [-1, 1]); unlisted = 0.
    pub current_weights: Option<Vec<(String, f64)>>,
    /// L2 regularization γ ≥ 0 (adds γ‖w‖² to the objective).
    pub l2: Option<f64>,
    /// Annual risk-free rate (fraction in (-1, 1)) for max-Sharpe and the reported Sharpe.
    pub rf: f64,
    /// Span of the exponential models, in bars (≥ 1).
    pub span: usize,
    /// Market series for CAPM (default: an equal-weight proxy of the universe).
    pub market: Option<Symbol>,
    /// HRP linkage.
    pub linkage: Linkage,
    /// Weight of the max-Sharpe leg of a blend (fraction in [0, 1]).
    pub alpha: f64,
    /// Risk aversion δ of max-utility (> 0).
    pub risk_aversion: f64,
}

impl Default for OptimizeRequest {
    fn default() -> Self {
        OptimizeRequest {
            symbols: Vec::new(),
            from: None,
            to: None,
            method: Method::MaxSharpe,
            returns: Returns::Mean,
            risk: Risk::LedoitWolf,
            target: None,
            max_weight: None,
            min_weight: None,
            groups: Vec::new(),
            turnover_limit: None,
            current_weights: None,
            l2: None,
            rf: 0.02,
            span: 500,
            market: None,
            linkage: Linkage::Single,
            alpha: 0.5,
            risk_aversion: 1.0,
        }
    }
}

/// A finite number in `[lo, hi]`, or an error naming `setting` (and `what`, e.g. a group name).
fn number_in(setting: &'static str, what: &str, v: f64, lo: f64, hi: f64) -> Result<f64, AppError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        let what = if what.is_empty() {
            String::new()
        } else {
            format!("{what} ")
        };
        Err(AppError::setting(
            setting,
            format!("{what}{v}: expected a number in [{lo}, {hi}]"),
        ))
    }
}

/// An annual risk-free rate: a fraction in (-1, 1).
fn validate_rf(rf: f64) -> Result<f64, AppError> {
    if rf.is_finite() && rf > -1.0 && rf < 1.0 {
        Ok(rf)
    } else {
        Err(AppError::setting(
            "rf",
            format!("must be an annual fraction in (-1, 1) (got {rf})"),
        ))
    }
}

/// Checks a universe: at least two symbols, none twice.
fn validate_universe(symbols: &[Symbol]) -> Result<(), AppError> {
    let mut seen = BTreeSet::new();
    for s in symbols {
        if !seen.insert(s) {
            return Err(AppError::setting(
                "symbols",
                format!("lists {s} twice: each asset may appear once"),
            ));
        }
    }
    if symbols.len() < 2 {
        return Err(AppError::setting(
            "symbols",
            format!(
                "lists {} symbol(s): a portfolio needs at least two symbols",
                symbols.len()
            ),
        ));
    }
    Ok(())
}

impl OptimizeRequest {
    /// Checks every setting that does not need the data (the names of the universe, ranges,
    /// which settings go together); the error names the setting.
    pub fn validate(&self) -> Result<(), AppError> {
        validate_universe(&self.symbols)?;
        self.spec(Periodicity::Daily).map(|_| ())
    }

    fn names(&self) -> Vec<String> {
        self.symbols.iter().map(Symbol::to_string).collect()
    }

    /// The optimizer's specification of this request on prices of `periodicity`.
    pub fn spec(&self, periodicity: Periodicity) -> Result<PortfolioSpec, AppError> {
        use pulse_optimize::Method as M;
        let rf = validate_rf(self.rf)?;
        if self.span == 0 {
            return Err(AppError::setting("span", "must be at least 1 bar"));
        }
        let span = self.span as f64;
        let target = || {
            self.target
                .filter(|t| t.is_finite())
                .ok_or_else(|| AppError::setting("target", "a finite target is required by the efficient-risk and efficient-return methods"))
        };
        let linkage = self.linkage.optimize();
        let method = match self.method {
            Method::MinVol => M::MinVolatility,
            Method::MaxSharpe => M::MaxSharpe,
            Method::EfficientRisk => M::EfficientRisk {
                target_volatility: target()?,
            },
            Method::EfficientReturn => M::EfficientReturn {
                target_return: target()?,
            },
            Method::MaxUtility => {
                if !(self.risk_aversion.is_finite() && self.risk_aversion > 0.0) {
                    return Err(AppError::setting(
                        "risk_aversion",
                        format!("{}: expected a positive number", self.risk_aversion),
                    ));
                }
                M::MaxQuadraticUtility {
                    risk_aversion: self.risk_aversion,
                }
            }
            Method::Hrp => M::Hrp { linkage },
            Method::Blend => M::Blend {
                alpha: number_in("alpha", "", self.alpha, 0.0, 1.0)?,
                linkage,
            },
            Method::InverseVol => M::InverseVolatility,
            Method::Erc => M::EqualRiskContribution,
            Method::Equal => M::EqualWeight,
        };
        let returns = match self.returns {
            Returns::Mean => ReturnModel::MeanHistorical { compounding: true },
            Returns::MeanArithmetic => ReturnModel::MeanHistorical { compounding: false },
            Returns::Ema => ReturnModel::Ema {
                span,
                compounding: true,
            },
            Returns::Capm => ReturnModel::Capm {
                rf,
                compounding: true,
            },
        };
        let risk = match self.risk {
            Risk::Sample => RiskModel::Sample,
            Risk::LedoitWolf => RiskModel::LedoitWolf,
            Risk::Exp => RiskModel::Exponential { span },
            Risk::Semi => RiskModel::Semi { benchmark: 0.0 },
        };
        let mut spec = PortfolioSpec::new(method, returns, risk);
        spec.rf = rf;
        spec.periodicity = periodicity;
        spec.constraints = self.constraints()?;
        Ok(spec)
    }

    /// Index of `sym` (ignoring case) in the universe, or an error naming `setting`.
    fn member(&self, setting: &'static str, what: &str, sym: &str) -> Result<usize, AppError> {
        let sym = sym.trim();
        self.symbols
            .iter()
            .position(|n| n.as_str().eq_ignore_ascii_case(sym))
            .ok_or_else(|| {
                AppError::setting(
                    setting,
                    format!(
                        "{what}symbol {sym:?} is not in the universe ({})",
                        self.names().join(",")
                    ),
                )
            })
    }

    /// The mean-variance constraints; `None` = long only without caps (the library default).
    fn constraints(&self) -> Result<Option<Constraints>, AppError> {
        let n = self.symbols.len();
        match (self.turnover_limit, &self.current_weights) {
            (Some(_), None) => {
                return Err(AppError::setting(
                    "current_weights",
                    "are required with a turnover limit",
                ));
            }
            (None, Some(_)) => {
                return Err(AppError::setting(
                    "turnover_limit",
                    "is required with current weights",
                ));
            }
            _ => {}
        }
        let extra = !self.groups.is_empty() || self.turnover_limit.is_some() || self.l2.is_some();
        if extra && !self.method.is_mean_variance() {
            let setting = if !self.groups.is_empty() {
                "group"
            } else if self.turnover_limit.is_some() {
                "turnover_limit"
            } else {
                "l2"
            };
            return Err(AppError::setting(
                setting,
                "applies to the mean-variance methods (min-vol, max-sharpe, efficient-risk, efficient-return, max-utility, and the max-Sharpe leg of blend)",
            ));
        }
        if !extra && self.min_weight.is_none() && self.max_weight.is_none() {
            return Ok(None);
        }
        let lower = self
            .min_weight
            .map(|v| number_in("min_weight", "", v, -1.0, 1.0))
            .transpose()?
            .unwrap_or(0.0);
        let upper = self
            .max_weight
            .map(|v| number_in("max_weight", "", v, 0.0, 1.0))
            .transpose()?
            .unwrap_or(1.0);
        if lower > upper {
            return Err(AppError::setting(
                "min_weight",
                format!("{lower} exceeds the largest weight {upper}"),
            ));
        }
        let equal = 1.0 / n as f64;
        let sum_note = |v: f64| {
            format!(
                "{v}: weights in [{lower}, {upper}] cannot sum to 1 over {n} assets (need min ≤ {equal:.4} ≤ max)"
            )
        };
        if lower * n as f64 > 1.0 + 1e-12 {
            return Err(AppError::setting("min_weight", sum_note(lower)));
        }
        if upper * (n as f64) < 1.0 - 1e-12 {
            return Err(AppError::setting("max_weight", sum_note(upper)));
        }
        let mut c = Constraints::bounds(n, lower, upper);
        for g in &self.groups {
            let cap = number_in("group", &g.name, g.cap, 0.0, 1.0)?;
            let mut idx = Vec::new();
            for sym in &g.members {
                let i = self.member("group", &format!("{}: ", g.name), sym)?;
                if !idx.contains(&i) {
                    idx.push(i);
                }
            }
            c = c.with_group_cap(g.name.clone(), idx, cap);
        }
        if let Some(gamma) = self.l2 {
            c = c.with_l2(number_in("l2", "", gamma, 0.0, f64::MAX)?);
        }
        // (An unpaired limit or current weights were refused above.)
        if let (Some(tau), Some(current)) = (self.turnover_limit, &self.current_weights) {
            let tau = number_in("turnover_limit", "", tau, 0.0, 2.0)?;
            let mut w0 = vec![0.0; n];
            for (sym, v) in current {
                let i = self.member("current_weights", "", sym)?;
                w0[i] = number_in("current_weights", self.symbols[i].as_str(), *v, -1.0, 1.0)?;
            }
            c = c.with_turnover(w0, tau);
        }
        Ok(Some(c))
    }
}

/// The price window an optimization used.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceWindow {
    /// First common date.
    pub first: Timestamp,
    /// Last common date (the allocation's prices are its closes).
    pub last: Timestamp,
    /// Number of common dates.
    pub rows: usize,
    /// Close (adjusted when stored) of every symbol at `last`, in universe order, account
    /// currency per share.
    pub last_prices: Vec<f64>,
    /// How many bars make a year (annualization of the estimates).
    pub periodicity: Periodicity,
}

/// What [`optimize`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizeOutcome {
    /// Weights (universe order) and their expected annual return, volatility and Sharpe ratio.
    pub portfolio: PortfolioResult,
    /// The data it was estimated on.
    pub window: PriceWindow,
}

/// Closes of a universe on the dates all of its symbols share.
struct Closes {
    dates: Vec<Timestamp>,
    /// Rows = dates (oldest first), columns = symbols.
    prices: DMatrix<f64>,
}

/// Adjusted (or plain) closes of every symbol on the dates they all share, in `[start, end]`.
async fn load_closes<S: Store>(
    store: &S,
    symbols: &[Symbol],
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> Result<Closes, AppError> {
    let mut columns: Vec<BTreeMap<Timestamp, f64>> = Vec::new();
    for s in symbols {
        let col: BTreeMap<Timestamp, f64> = load_series(store, s, Timeframe::D1, start, end)
            .await?
            .iter()
            .map(|b| (b.ts, b.analysis_close()))
            .collect();
        if col.is_empty() {
            return Err(AppError::Data(format!(
                "no daily bars for {s} in the window (import it with `pulse data import`)"
            )));
        }
        columns.push(col);
    }
    let dates: Vec<Timestamp> = columns
        .first()
        .map(|c| c.keys().copied().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| columns.iter().all(|c| c.contains_key(t)))
        .collect();
    if dates.len() < 3 {
        return Err(AppError::Data(format!(
            "the symbols share only {} dates in the window: too few to estimate anything",
            dates.len()
        )));
    }
    let prices = DMatrix::from_fn(dates.len(), symbols.len(), |i, j| columns[j][&dates[i]]);
    Ok(Closes { dates, prices })
}

/// The periodicity of daily bars of the universe and its account currency (from its first
/// symbol's instrument: exchange and quote currency).
async fn universe_terms<S: Store>(
    store: &S,
    symbols: &[Symbol],
) -> Result<(Periodicity, Currency), AppError> {
    let Some(first) = symbols.first() else {
        return Err(AppError::setting("symbols", "must not be empty"));
    };
    let instrument = instrument_of(store, first).await?;
    Ok((
        Periodicity::of_bars(Timeframe::D1, instrument.exchange),
        crate::market::account_currency(store, symbols).await?,
    ))
}

/// Optimizes target weights over the request's universe and window.
pub async fn optimize<S: Store>(
    store: &S,
    request: &OptimizeRequest,
) -> Result<OptimizeOutcome, AppError> {
    request.validate()?;
    let closes = load_closes(store, &request.symbols, request.from, request.to).await?;
    let (periodicity, _) = universe_terms(store, &request.symbols).await?;
    let market = match &request.market {
        Some(m) => {
            let by: BTreeMap<Timestamp, f64> =
                load_series(store, m, Timeframe::D1, request.from, request.to)
                    .await?
                    .iter()
                    .map(|b| (b.ts, b.analysis_close()))
                    .collect();
            let v: Option<Vec<f64>> = closes.dates.iter().map(|d| by.get(d).copied()).collect();
            Some(DVector::from_vec(v.ok_or_else(|| {
                AppError::Data(format!("market {m} lacks some of the portfolio's dates"))
            })?))
        }
        None => None,
    };
    let spec = request.spec(periodicity)?;
    let portfolio =
        pulse_optimize::build_portfolio(&request.names(), &closes.prices, market.as_ref(), &spec)?;
    let (Some(&first), Some(&last)) = (closes.dates.first(), closes.dates.last()) else {
        return Err(AppError::Data("no common dates".into()));
    };
    let p = &closes.prices;
    Ok(OptimizeOutcome {
        portfolio,
        window: PriceWindow {
            first,
            last,
            rows: closes.dates.len(),
            last_prices: p.row(p.nrows() - 1).iter().copied().collect(),
            periodicity,
        },
    })
}

/// Optimizes one [`Preset`] over the closes of `symbols` on the dates they share in
/// `[from, to]`, under the annual risk-free rate `rf` (fraction): weights in `symbols` order with
/// the portfolio's expected annual return, volatility and Sharpe ratio (the daily pipeline's
/// target allocations). Unlike [`optimize`], the symbols may be quoted in different currencies:
/// each series' returns are taken in its own currency (no FX).
pub async fn optimize_preset<S: Store>(
    store: &S,
    symbols: &[Symbol],
    preset: Preset,
    rf: f64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<OptimizeOutcome, AppError> {
    optimize_preset_with_returns(store, symbols, preset, rf, from, to, None).await
}

/// [`optimize_preset`] with the preset's expected returns replaced by `supplied` when given:
/// annual expected returns (fractions), one per symbol in `symbols` order, e.g. a forecaster's
/// (the N-BEATS ones of `pulse_app::forecast` for the `-forecast` presets).
pub async fn optimize_preset_with_returns<S: Store>(
    store: &S,
    symbols: &[Symbol],
    preset: Preset,
    rf: f64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    supplied: Option<Vec<f64>>,
) -> Result<OptimizeOutcome, AppError> {
    let Some(first_symbol) = symbols.first() else {
        return Err(AppError::setting("symbols", "must not be empty"));
    };
    let rf = validate_rf(rf)?;
    let closes = load_closes(store, symbols, from, to).await?;
    let exchange = instrument_of(store, first_symbol).await?.exchange;
    let periodicity = Periodicity::of_bars(Timeframe::D1, exchange);
    let names: Vec<String> = symbols.iter().map(Symbol::to_string).collect();
    let mut spec = preset.spec(rf, periodicity);
    if let Some(v) = supplied {
        spec.returns = ReturnModel::Supplied(v);
    }
    let portfolio = pulse_optimize::build_portfolio(&names, &closes.prices, None, &spec)?;
    let (Some(&first), Some(&last)) = (closes.dates.first(), closes.dates.last()) else {
        return Err(AppError::Data("no common dates".into()));
    };
    let p = &closes.prices;
    Ok(OptimizeOutcome {
        portfolio,
        window: PriceWindow {
            first,
            last,
            rows: closes.dates.len(),
            last_prices: p.row(p.nrows() - 1).iter().copied().collect(),
            periodicity,
        },
    })
}

// ------------------------------------------------------------------------------------------
// Allocate
// ------------------------------------------------------------------------------------------

/// Optimized weights turned into whole shares for an amount of cash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocateRequest {
    /// How the weights are made.
    pub optimize: OptimizeRequest,
    /// Cash to invest, account currency (> 0 and at most [`MAX_MONEY`]).
    pub cash: f64,
    /// The exact integer method (branch and bound) instead of greedy.
    pub exact: bool,
}

impl AllocateRequest {
    /// Checks the cash, then the optimization's settings.
    pub fn validate(&self) -> Result<(), AppError> {
        let max = money_to_f64(MAX_MONEY);
        if !(self.cash.is_finite() && self.cash > 0.0) {
            return Err(AppError::setting(
                "cash",
                format!("{}: must be a positive amount", self.cash),
            ));
        }
        if self.cash > max {
            return Err(AppError::setting(
                "cash",
                format!("{}: at most {max:e} can be allocated", self.cash),
            ));
        }
        self.optimize.validate()
    }

    /// "exact" or "greedy".
    pub fn method_name(&self) -> &'static str {
        if self.exact { "exact" } else { "greedy" }
    }
}

/// What [`allocate`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocateOutcome {
    /// The weights and the window whose last closes price the shares.
    pub optimized: OptimizeOutcome,
    /// Shares per symbol (universe order), leftover cash and the allocation's objective.
    pub allocation: Allocation,
}

/// Optimizes, then allocates `request.cash` in whole shares at the window's last closes.
pub async fn allocate<S: Store>(
    store: &S,
    request: &AllocateRequest,
) -> Result<AllocateOutcome, AppError> {
    request.validate()?;
    let optimized = optimize(store, &request.optimize).await?;
    let alloc = AllocationRequest {
        weights: optimized.portfolio.weights.clone(),
        prices: optimized.window.last_prices.clone(),
        lot_sizes: Vec::new(),
        total_value: request.cash,
    };
    let allocation = if request.exact {
        pulse_optimize::exact_allocation(&alloc)
    } else {
        pulse_optimize::greedy_allocation(&alloc)
    }
    .map_err(|e| match e {
        // Cash that would buy more than 2^53 shares of a very cheap asset.
        OptimizeError::InvalidParameter {
            name: "total_value",
            ..
        } => AppError::setting("cash", format!("{}: {e}", request.cash)),
        e => AppError::from(e),
    })?;
    Ok(AllocateOutcome {
        optimized,
        allocation,
    })
}

// ------------------------------------------------------------------------------------------
// Walk-forward comparison
// ------------------------------------------------------------------------------------------

/// The shortest trailing window a walk-forward optimization may use, in bars.
pub const MIN_LOOKBACK: usize = 20;

/// A walk-forward comparison of construction methods over one universe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkForwardRequest {
    /// The universe (stored daily series), at least two, none twice.
    pub symbols: Vec<Symbol>,
    /// The strategies compared, in report order (at least one, none twice).
    pub strategies: Vec<Preset>,
    /// When each strategy re-optimizes.
    pub rebalance: RebalancePeriod,
    /// Trailing window each optimization sees, in daily closes (≥ [`MIN_LOOKBACK`]).
    pub lookback: usize,
    /// First instant evaluated (default: as soon as the lookback window is full).
    pub from: Option<Timestamp>,
    /// Last instant evaluated (inclusive; default: the last bar).
    pub to: Option<Timestamp>,
    /// Starting cash of every strategy, account currency.
    pub cash: Decimal,
    /// Commission per side, fraction of notional in [0, 1).
    pub commission: Decimal,
    /// Annual risk-free rate (fraction in (-1, 1)) for max-Sharpe and the metrics.
    pub rf: f64,
}

impl Default for WalkForwardRequest {
    fn default() -> Self {
        WalkForwardRequest {
            symbols: Vec::new(),
            strategies: Preset::SPEC.to_vec(),
            rebalance: RebalancePeriod::Monthly,
            lookback: 252,
            from: None,
            to: None,
            cash: Decimal::from(100_000),
            commission: Decimal::new(1, 3),
            rf: 0.02,
        }
    }
}

impl WalkForwardRequest {
    /// Checks every setting's range; the error names the setting.
    pub fn validate(&self) -> Result<(), AppError> {
        validate_universe(&self.symbols)?;
        if self.strategies.is_empty() {
            return Err(AppError::setting("strategies", "must name at least one"));
        }
        let mut seen = BTreeSet::new();
        for p in &self.strategies {
            if !seen.insert(p.as_str()) {
                return Err(AppError::setting("strategies", format!("lists {p} twice")));
            }
        }
        if self.lookback < MIN_LOOKBACK {
            return Err(AppError::setting(
                "lookback",
                format!("must be at least {MIN_LOOKBACK} days"),
            ));
        }
        validate_money("cash", self.cash)?;
        if self.cash.is_zero() {
            return Err(AppError::setting(
                "cash",
                "must be positive: an account of 0 has no returns to measure",
            ));
        }
        validate_commission(self.commission)?;
        validate_rf(self.rf)?;
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to < from
        {
            return Err(AppError::setting(
                "to",
                format!(
                    "{} is before the start {}",
                    date_of(to, Timeframe::D1),
                    date_of(from, Timeframe::D1)
                ),
            ));
        }
        Ok(())
    }
}

/// What [`walk_forward`] produced.
#[derive(Debug, Clone)]
pub struct WalkForwardOutcome {
    /// Every strategy's replay and analysis, in request order.
    pub runs: Vec<Evaluated>,
    /// Caveats of the replays, each prefixed with its strategy's name.
    pub notes: Vec<String>,
    /// How many bars make a year (annualization of the estimates and the metrics).
    pub periodicity: Periodicity,
    /// Account currency (the first symbol's quote currency).
    pub currency: Currency,
    /// The universe's daily bars on one timeline (the frontier and the report's prices use it).
    pub data: AlignedData,
}

/// Rebalancing days of a replay: the distinct dates it traded on.
pub fn rebalance_days(r: &BacktestResult) -> usize {
    r.fills.iter().map(|f| f.ts).collect::<BTreeSet<_>>().len()
}

/// Orders the simulated broker reduced, summarized: buys sized at the decision close that no
/// longer fit the cash at the next open.
fn broker_notes(r: &BacktestResult) -> Vec<String> {
    if r.rejections.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{} buy order(s) trimmed to the cash available at the fill price (prices moved between decision and fill)",
        r.rejections.len()
    )]
}

/// Indices of the timeline at which every traded symbol has a bar.
fn common_steps(data: &AlignedData) -> impl Iterator<Item = usize> + '_ {
    (0..data.timeline.len()).filter(|&i| data.bars.values().all(|col| col[i].is_some()))
}

/// Replays every requested strategy over the universe: each re-optimizes on its trailing
/// `lookback` closes at every rebalancing date and trades at the next open through the engine.
pub async fn walk_forward<S: Store>(
    store: &S,
    request: &WalkForwardRequest,
) -> Result<WalkForwardOutcome, AppError> {
    request.validate()?;
    let mut traded = BTreeMap::new();
    for s in &request.symbols {
        let bars = load_series(store, s, Timeframe::D1, None, None).await?;
        if bars.is_empty() {
            return Err(AppError::Data(format!(
                "no daily bars for {s} (import it with `pulse data import`)"
            )));
        }
        traded.insert(s.clone(), bars);
    }
    let (periodicity, currency) = universe_terms(store, &request.symbols).await?;
    let data = AlignedData::new(traded, BTreeMap::new(), &[]);
    // The first step with `lookback` common dates behind it.
    let common: Vec<usize> = common_steps(&data).collect();
    let Some(&first_eval) = common.get(request.lookback) else {
        return Err(AppError::Data(format!(
            "the symbols share only {} dates: fewer than the lookback of {}",
            common.len(),
            request.lookback
        )));
    };
    let mut config = BacktestConfig {
        engine: EngineConfig {
            costs: CostModel {
                commission_rate: request.commission,
                ..CostModel::default()
            },
            ..EngineConfig::default()
        },
        start: data.timeline.get(first_eval).copied(),
        ..BacktestConfig::default()
    };
    if let Some(from) = request.from {
        if data.index_at_or_after(from) < first_eval {
            return Err(AppError::setting(
                "from",
                format!(
                    "{} is too early: the first full {}-day window ends {}",
                    date_of(from, Timeframe::D1),
                    request.lookback,
                    date_of(data.timeline[first_eval], Timeframe::D1)
                ),
            ));
        }
        config.start = Some(from);
    }
    config.end = request.to;
    let rf = RiskFreeChoice::Constant(request.rf);
    let mut runs = Vec::new();
    let mut notes = Vec::new();
    for preset in &request.strategies {
        let strategy = PortfolioStrategy::new(
            preset.as_str(),
            request.symbols.clone(),
            preset.spec(request.rf, periodicity),
            request.lookback,
            request.rebalance.schedule(),
        );
        let result = pulse_backtest::run(
            &data,
            strategy,
            Portfolio::with_cash(request.cash),
            &config,
            |_| {},
        )?;
        notes.extend(
            broker_notes(&result)
                .into_iter()
                .map(|n| format!("{preset}: {n}")),
        );
        runs.push(analyse(result, periodicity, &rf)?);
    }
    if runs.first().is_none_or(|e| e.result.timestamps.is_empty()) {
        return Err(AppError::Data(
            "the window holds no step to evaluate".into(),
        ));
    }
    Ok(WalkForwardOutcome {
        runs,
        notes,
        periodicity,
        currency,
        data,
    })
}

/// Number of efficient-return targets swept for the report's frontier.
pub const FRONTIER_TARGETS: usize = 25;

/// The efficient frontier of the run's LAST estimation window: the trailing `lookback` common
/// closes up to the last rebalancing decision (the latest data the strategies optimized on).
/// Mean historical (geometric) returns + Ledoit-Wolf, long only; efficient-return at
/// [`FRONTIER_TARGETS`] targets from the min-vol return to the largest asset return (infeasible
/// targets skipped). Each strategy's final target weights are placed under the same μ/Σ, with the
/// optimizer's own [`pulse_optimize::portfolio_performance`].
pub fn last_window_frontier(
    request: &WalkForwardRequest,
    outcome: &WalkForwardOutcome,
) -> Result<Option<FrontierChart>, AppError> {
    let data = &outcome.data;
    let Some(first) = outcome.runs.first() else {
        return Ok(None);
    };
    let ts = &first.result.timestamps;
    let Some(&start) = ts.first() else {
        return Ok(None);
    };
    // The last decision: the first step of the last calendar period of the run.
    let schedule = request.rebalance.schedule();
    let decision = ts
        .windows(2)
        .rev()
        .find(|w| schedule.calendar_period(w[0]) != schedule.calendar_period(w[1]))
        .map_or(start, |w| w[1]);
    let common: Vec<usize> = common_steps(data)
        .filter(|&i| data.timeline[i] <= decision)
        .collect();
    let Some(window) = common
        .len()
        .checked_sub(request.lookback)
        .map(|k| &common[k..])
    else {
        return Ok(None);
    };
    let (Some(&w0), Some(&w1)) = (window.first(), window.last()) else {
        return Ok(None);
    };
    let symbols = &request.symbols;
    let n = symbols.len();
    let mut prices = DMatrix::<f64>::zeros(window.len(), n);
    for (j, s) in symbols.iter().enumerate() {
        let col = data
            .bars
            .get(s)
            .ok_or_else(|| AppError::Data(format!("no aligned bars for {s}")))?;
        for (i, &k) in window.iter().enumerate() {
            let bar = col[k]
                .as_ref()
                .ok_or_else(|| AppError::Data(format!("{s} lacks a bar in the frontier window")))?;
            prices[(i, j)] = bar.analysis_close();
        }
    }
    let periodicity = outcome.periodicity;
    let returns = pulse_optimize::returns_from_prices(&prices)?;
    let mu = pulse_optimize::mean_historical_return(&returns, true, periodicity)?;
    let cov = pulse_optimize::ledoit_wolf(&returns, periodicity)?.cov;
    let constraints = Constraints::long_only(n);
    let point = |w: &DVector<f64>| -> Result<(f64, f64), AppError> {
        let p = pulse_optimize::portfolio_performance(w, Some(&mu), &cov, request.rf)?;
        Ok((p.volatility, p.expected_return.unwrap_or(f64::NAN)))
    };
    let min_vol = pulse_optimize::optimize_mvo(
        None,
        &cov,
        &pulse_optimize::Objective::MinVolatility,
        &constraints,
    )?;
    let lowest = point(&min_vol.weights)?;
    let (r_min, r_max) = (lowest.1, mu.max());
    let mut points = vec![lowest];
    for k in 1..FRONTIER_TARGETS {
        let target = r_min + (r_max - r_min) * k as f64 / (FRONTIER_TARGETS - 1) as f64;
        // Infeasible or numerically failing targets (the top end) are skipped.
        if let Ok(sol) = pulse_optimize::optimize_mvo(
            Some(&mu),
            &cov,
            &pulse_optimize::Objective::EfficientReturn {
                target_return: target,
            },
            &constraints,
        ) {
            points.push(point(&sol.weights)?);
        }
    }
    points.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut portfolios = Vec::new();
    for e in &outcome.runs {
        let k = e.result.symbols.len();
        let Some(last) = e.result.target_weights.len().checked_sub(k) else {
            continue;
        };
        // Columns follow `result.symbols`; map them onto the frontier's symbol order.
        let w = DVector::from_iterator(
            n,
            symbols.iter().map(|s| {
                e.result
                    .symbols
                    .iter()
                    .position(|x| x == s)
                    .map_or(0.0, |j| e.result.target_weights[last + j])
            }),
        );
        let (volatility, expected_return) = point(&w)?;
        portfolios.push(MarkedPortfolio {
            name: e.result.strategy.clone(),
            volatility,
            expected_return,
        });
    }
    Ok(Some(FrontierChart {
        description: format!(
            "Estimated on the last window the strategies optimized on: {} daily closes {}..{} (mean historical returns, Ledoit-Wolf covariance, long only); markers use each strategy's final target weights.",
            window.len(),
            date_of(data.timeline[w0], Timeframe::D1),
            date_of(data.timeline[w1], Timeframe::D1)
        ),
        points,
        portfolios,
    }))
}

/// The HTML report model of a walk-forward comparison: every strategy's equity and metrics; the
/// first strategy's weights, trades (on the price charts and in the trade list) and monthly
/// returns, labelled with its name; the efficient frontier of the last estimation window.
pub fn walk_forward_report(
    request: &WalkForwardRequest,
    outcome: &WalkForwardOutcome,
) -> Result<BacktestReport, AppError> {
    let tf = Timeframe::D1;
    let Some(lead) = outcome.runs.first() else {
        return Err(AppError::Data("no run to report".into()));
    };
    let first = &lead.result;
    let (Some(&t0), Some(&t1)) = (first.timestamps.first(), first.timestamps.last()) else {
        return Err(AppError::Data("the run recorded no step".into()));
    };
    let dates: Vec<String> = first.timestamps.iter().map(|t| date_of(*t, tf)).collect();
    let k = first.symbols.len().max(1);
    let rows = |flat: &[f64]| -> Vec<Vec<f64>> { flat.chunks(k).map(<[f64]>::to_vec).collect() };
    let data = &outcome.data;
    let prices = first
        .symbols
        .iter()
        .map(|s| {
            let (mut pd, mut pc) = (Vec::new(), Vec::new());
            if let Some(col) = data.bars.get(s) {
                for (ts, bar) in data.timeline.iter().zip(col) {
                    if let Some(b) = bar.as_ref().filter(|_| (t0..=t1).contains(ts)) {
                        pd.push(date_of(*ts, tf));
                        pc.push(b.close);
                    }
                }
            }
            PriceSeries {
                symbol: s.to_string(),
                dates: pd,
                close: pc,
                markers: first
                    .fills
                    .iter()
                    .filter(|f| &f.symbol == s)
                    .map(|f| TradeMarker {
                        date: date_of(f.ts, tf),
                        side: f.side,
                        price: money_to_f64(f.price),
                        quantity: money_to_f64(f.quantity),
                    })
                    .collect(),
            }
        })
        .collect();
    let trades = first
        .fills
        .iter()
        .map(|f| TradeRow {
            date: date_of(f.ts, tf),
            symbol: f.symbol.to_string(),
            side: f.side,
            quantity: money_to_f64(f.quantity),
            price: money_to_f64(f.price),
            fee: money_to_f64(f.fee),
            notional: money_to_f64(f.notional()),
        })
        .collect();
    let mut notes = vec![
        format!(
            "Walk-forward: each strategy re-optimizes {} on the trailing {} daily closes it has seen and trades at the next open with {} commission.",
            request.rebalance, request.lookback, request.commission
        ),
        format!(
            "Weights, price-chart trades, the trade list and the monthly returns are those of {} (the first strategy); the equity curves and metrics cover every strategy.",
            first.strategy
        ),
    ];
    notes.extend(outcome.notes.iter().cloned());
    let symbols = request
        .symbols
        .iter()
        .map(Symbol::as_str)
        .collect::<Vec<_>>()
        .join(",");
    Ok(BacktestReport {
        title: format!(
            "Portfolio walk-forward: {} strategies over {} assets",
            outcome.runs.len(),
            request.symbols.len()
        ),
        generated_for: format!("{symbols} {}..{}", date_of(t0, tf), date_of(t1, tf)),
        sample_label: SampleLabel::OutOfSample,
        notes,
        config_toml: format!(
            "strategies = {:?}\nrebalance = {:?}\nlookback = {}\ncommission = \"{}\"\nrf = {}\n",
            request
                .strategies
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>(),
            request.rebalance.as_str(),
            request.lookback,
            request.commission,
            request.rf
        ),
        initial_cash: lead.analysis.metrics.initial_equity.unwrap_or(0.0),
        currency: outcome.currency.as_str().into(),
        series: equity_series(&outcome.runs, tf),
        metrics: outcome.runs.iter().map(metrics_row).collect(),
        metric_catalogue: pulse_report::default_metric_catalogue(),
        weights: WeightsSeries {
            strategy: first.strategy.clone(),
            dates: dates.clone(),
            symbols: first.symbols.iter().map(|s| s.to_string()).collect(),
            target: rows(&first.target_weights),
            actual: rows(&first.actual_weights),
        },
        prices,
        monthly_returns: lead.analysis.monthly.clone(),
        trades,
        alerts: Vec::new(),
        frontier: last_window_frontier(request, outcome)?,
        sweep: None,
        risk: None,
        shaded: Vec::new(),
    })
}
