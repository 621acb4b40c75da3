//! The seven monthly features, the regime labels and the NBER cross-check (formulas in the
//! [module documentation](super)).

use serde::{Deserialize, Serialize};

use super::data::{FredMd, Month, NberDates, VixMonthly};
use super::{CycleError, FEATURE_COUNT, REGIME_COUNT, Regime};

/// Months after a quarter's last month before its GDP (GDPC1) value may be used.
pub const GDP_PUBLICATION_LAG_MONTHS: i64 = 1;

/// Longest internal hole of a monthly series filled with the last published value.
pub const MAX_FILL_MONTHS: usize = 2;

/// One model input feature: its name, the FRED-MD series it comes from, its formula and unit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FeatureSpec {
    /// Short name (`manufacturing`…).
    pub name: &'static str,
    /// Source series (FRED-MD name, or `VIX` for the daily file).
    pub series: &'static str,
    /// Formula for month `t`.
    pub formula: &'static str,
    /// Unit.
    pub unit: &'static str,
}

/// The seven features in model input order.
pub const FEATURES: [FeatureSpec; FEATURE_COUNT] = [
    FeatureSpec {
        name: "manufacturing",
        series: "IPMANSICS",
        formula: "100*ln(IPMANSICS[t]/IPMANSICS[t-12])",
        unit: "percent",
    },
    FeatureSpec {
        name: "inflation",
        series: "CPIAUCSL",
        formula: "100*ln(CPIAUCSL[t]/CPIAUCSL[t-12])",
        unit: "percent",
    },
    FeatureSpec {
        name: "policy_rate",
        series: "FEDFUNDS",
        formula: "FEDFUNDS[t]",
        unit: "percent a year",
    },
    FeatureSpec {
        name: "gdp_growth",
        series: "GDPC1",
        formula: "100*ln(GDPC1[q]/GDPC1[q-12]), q = latest quarter-end month <= t-1 (published one month after the quarter)",
        unit: "percent",
    },
    FeatureSpec {
        name: "unemployment",
        series: "UNRATE",
        formula: "UNRATE[t]",
        unit: "percent",
    },
    FeatureSpec {
        name: "vix",
        series: "VIX",
        formula: "mean of the daily closes of month t (at least 10 closes)",
        unit: "index points",
    },
    FeatureSpec {
        name: "dollar",
        series: "TWEXAFEGSMTHx",
        formula: "100*ln(TWEXAFEGSMTHx[t]/TWEXAFEGSMTHx[t-12])",
        unit: "percent",
    },
];

/// The labelling rule (growth and inflation gaps against a trailing mean, growth momentum).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRule {
    /// Growth series (FRED-MD): `g_t = 100·ln(x_t/x_{t−12})`.
    pub growth_series: String,
    /// Inflation series (FRED-MD): `π_t = 100·ln(x_t/x_{t−12})`.
    pub inflation_series: String,
    /// Months of the trailing trend mean, month `t` included (120).
    pub trend_months: usize,
    /// Months of the growth gap's change (3): `ΔG_t = G_t − G_{t−k}`.
    pub momentum_months: usize,
    /// The rule in words.
    pub description: String,
}

impl Default for LabelRule {
    fn default() -> LabelRule {
        LabelRule {
            growth_series: "INDPRO".into(),
            inflation_series: "CPIAUCSL".into(),
            trend_months: 120,
            momentum_months: 3,
            description:
                "g = 100 ln(INDPRO[t]/INDPRO[t-12]), pi = 100 ln(CPIAUCSL[t]/CPIAUCSL[t-12]); \
                G = g - mean(g[t-119..t]), P = pi - mean(pi[t-119..t]), dG = G[t] - G[t-3]; \
                G >= 0 and P <= 0: expansion; G >= 0 and P > 0: overheat; \
                G < 0 and dG <= 0: recession; G < 0 and dG > 0: recovery"
                    .into(),
        }
    }
}

/// The gaps behind one month's label, percent points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelGaps {
    /// Growth gap `G_t`.
    pub growth_gap: f64,
    /// Inflation gap `P_t`.
    pub inflation_gap: f64,
    /// Growth momentum `ΔG_t`.
    pub growth_momentum: f64,
}

impl LabelGaps {
    /// The regime these gaps give.
    pub fn regime(&self) -> Regime {
        if self.growth_gap >= 0.0 {
            if self.inflation_gap > 0.0 {
                Regime::Overheat
            } else {
                Regime::Expansion
            }
        } else if self.growth_momentum > 0.0 {
            Regime::Recovery
        } else {
            Regime::Recession
        }
    }
}

/// A cell filled with the previous month's value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilledCell {
    /// The series.
    pub series: String,
    /// The month filled.
    pub month: Month,
}

/// Features, labels and gaps for every month of the FRED-MD file.
#[derive(Debug, Clone)]
pub struct MacroPanel {
    /// The first month.
    pub first: Month,
    /// Raw (not standardized) features by month; `None` where an input is missing.
    pub features: Vec<Option<[f64; FEATURE_COUNT]>>,
    /// Label gaps by month (`None` before enough history).
    pub gaps: Vec<Option<LabelGaps>>,
    /// Cells filled by carrying the previous value forward.
    pub filled: Vec<FilledCell>,
    /// The label rule used.
    pub rule: LabelRule,
}

fn fill_holes(
    name: &str,
    raw: &[Option<f64>],
    first: Month,
    filled: &mut Vec<FilledCell>,
) -> Vec<Option<f64>> {
    let mut out = raw.to_vec();
    let last_present = raw.iter().rposition(Option::is_some);
    let mut i = 0;
    while i < out.len() {
        if out[i].is_none() && i > 0 && out[i - 1].is_some() {
            let mut j = i;
            while j < out.len() && raw[j].is_none() {
                j += 1;
            }
            let internal = last_present.is_some_and(|l| j <= l);
            if internal && j - i <= MAX_FILL_MONTHS {
                for k in i..j {
                    out[k] = out[k - 1];
                    filled.push(FilledCell {
                        series: name.to_string(),
                        month: first.offset(k as i64),
                    });
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn log_growth(x: &[Option<f64>], i: usize, months: usize) -> Option<f64> {
    let now = (*x.get(i)?)?;
    let then = (*x.get(i.checked_sub(months)?)?)?;
    (now > 0.0 && then > 0.0).then(|| 100.0 * (now / then).ln())
}

fn trailing_gap(x: &[Option<f64>], i: usize, window: usize) -> Option<f64> {
    let start = (i + 1).checked_sub(window)?;
    let mut sum = 0.0;
    for v in &x[start..=i] {
        sum += (*v)?;
    }
    Some(x[i]? - sum / window as f64)
}

impl MacroPanel {
    /// Computes the features and labels of every month of `fred` (see the module docs).
    pub fn build(
        fred: &FredMd,
        vix: &VixMonthly,
        rule: &LabelRule,
    ) -> Result<MacroPanel, CycleError> {
        if rule.trend_months < 1 || rule.momentum_months < 1 {
            return Err(CycleError::Config {
                setting: "label_rule",
                reason: "needs trend_months and momentum_months >= 1".into(),
            });
        }
        let n = fred.len;
        let first = fred.first;
        let mut filled = Vec::new();
        let mut monthly = |name: &str| -> Result<Vec<Option<f64>>, CycleError> {
            Ok(fill_holes(name, fred.require(name)?, first, &mut filled))
        };
        let ip_mfg = monthly("IPMANSICS")?;
        let cpi = monthly("CPIAUCSL")?;
        let ff = monthly("FEDFUNDS")?;
        let unrate = monthly("UNRATE")?;
        let dollar = monthly("TWEXAFEGSMTHx")?;
        let growth_src = monthly(&rule.growth_series)?;
        let infl_src = if rule.inflation_series == "CPIAUCSL" {
            cpi.clone()
        } else {
            monthly(&rule.inflation_series)?
        };
        let gdp = fred.require("GDPC1")?;
        let mut features = Vec::with_capacity(n);
        for i in 0..n {
            let month = first.offset(i as i64);
            let gdp_growth = (0..3).find_map(|back| {
                let q = i as i64 - GDP_PUBLICATION_LAG_MONTHS - back;
                let q = usize::try_from(q).ok()?;
                gdp.get(q).copied().flatten().map(|_| q)
            });
            let row = (|| {
                Some([
                    log_growth(&ip_mfg, i, 12)?,
                    log_growth(&cpi, i, 12)?,
                    ff[i]?,
                    log_growth(gdp, gdp_growth?, 12)?,
                    unrate[i]?,
                    vix.mean(month)?,
                    log_growth(&dollar, i, 12)?,
                ])
            })();
            features.push(row);
        }
        let g: Vec<Option<f64>> = (0..n).map(|i| log_growth(&growth_src, i, 12)).collect();
        let pi: Vec<Option<f64>> = (0..n).map(|i| log_growth(&infl_src, i, 12)).collect();
        let gg: Vec<Option<f64>> = (0..n)
            .map(|i| trailing_gap(&g, i, rule.trend_months))
            .collect();
        let gaps = (0..n)
            .map(|i| {
                let growth_gap = gg[i]?;
                let inflation_gap = trailing_gap(&pi, i, rule.trend_months)?;
                let before = gg[i.checked_sub(rule.momentum_months)?]?;
                Some(LabelGaps {
                    growth_gap,
                    inflation_gap,
                    growth_momentum: growth_gap - before,
                })
            })
            .collect();
        Ok(MacroPanel {
            first,
            features,
            gaps,
            filled,
            rule: rule.clone(),
        })
    }

    /// Number of months.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// True when the panel has no month.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The month of index `i`.
    pub fn month(&self, i: usize) -> Month {
        self.first.offset(i as i64)
    }

    /// The index of `month`, `None` outside the panel.
    pub fn index(&self, month: Month) -> Option<usize> {
        let i = usize::try_from(month.since(self.first)).ok()?;
        (i < self.len()).then_some(i)
    }

    /// The raw features of `month`.
    pub fn features_at(&self, month: Month) -> Option<[f64; FEATURE_COUNT]> {
        self.features.get(self.index(month)?).copied().flatten()
    }

    /// The label (regime) of `month`.
    pub fn label(&self, month: Month) -> Option<Regime> {
        self.gaps
            .get(self.index(month)?)
            .copied()
            .flatten()
            .map(|g| g.regime())
    }

    /// The label gaps of `month`.
    pub fn gaps_at(&self, month: Month) -> Option<LabelGaps> {
        self.gaps.get(self.index(month)?).copied().flatten()
    }

    /// True when the `lookback` months ending at index `end` all have features.
    pub fn window_complete(&self, end: usize, lookback: usize) -> bool {
        lookback >= 1
            && end + 1 >= lookback
            && end < self.len()
            && self.features[end + 1 - lookback..=end]
                .iter()
                .all(Option::is_some)
    }

    /// The last month whose `lookback`-month window is complete.
    pub fn latest_complete(&self, lookback: usize) -> Option<Month> {
        (0..self.len())
            .rev()
            .find(|&i| self.window_complete(i, lookback))
            .map(|i| self.month(i))
    }

    /// Compares the labels with the NBER recession months (over labelled months only).
    pub fn nber_check(&self, nber: &NberDates) -> NberCheck {
        let mut counts = [0usize; REGIME_COUNT];
        let mut labelled_recession = 0;
        let mut recession_in_nber = 0;
        let mut first = None;
        let mut last = None;
        for i in 0..self.len() {
            let month = self.month(i);
            let Some(label) = self.label(month) else {
                continue;
            };
            first.get_or_insert(month);
            last = Some(month);
            let in_nber = nber.in_recession(month);
            if in_nber {
                counts[label.index()] += 1;
            }
            if label == Regime::Recession {
                labelled_recession += 1;
                if in_nber {
                    recession_in_nber += 1;
                }
            }
        }
        let nber_months: usize = counts.iter().sum();
        let share = |k: usize, n: usize| (n > 0).then(|| k as f64 / n as f64);
        NberCheck {
            first,
            last,
            nber_recession_months: nber_months,
            labels_in_nber_recessions: Regime::ALL
                .iter()
                .map(|r| (r.name().to_string(), counts[r.index()]))
                .collect(),
            share_labelled_recession: share(counts[Regime::Recession.index()], nber_months),
            share_labelled_below_trend: share(
                counts[Regime::Recession.index()] + counts[Regime::Recovery.index()],
                nber_months,
            ),
            recession_labels: labelled_recession,
            share_of_recession_labels_in_nber: share(recession_in_nber, labelled_recession),
            open_peaks_not_counted: nber.open_peaks.clone(),
        }
    }
}

/// How the labels line up with the NBER recession months.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NberCheck {
    /// First labelled month compared.
    pub first: Option<Month>,
    /// Last labelled month compared.
    pub last: Option<Month>,
    /// NBER recession months among the labelled months.
    pub nber_recession_months: usize,
    /// Labels given to those months, by regime.
    pub labels_in_nber_recessions: std::collections::BTreeMap<String, usize>,
    /// Share of NBER recession months labelled Recession (fraction).
    pub share_labelled_recession: Option<f64>,
    /// Share of NBER recession months labelled Recession or Recovery (growth below trend).
    pub share_labelled_below_trend: Option<f64>,
    /// Months labelled Recession.
    pub recession_labels: usize,
    /// Share of the Recession labels that fall in NBER recessions (fraction).
    pub share_of_recession_labels_in_nber: Option<f64>,
    /// Peaks without a trough in the file (not counted).
    pub open_peaks_not_counted: Vec<Month>,
}
