//! The factor agent of SPEC §4: value, quality, momentum and growth by cross-sectional
//! percentile rank, combined 0.4 / 0.3 / 0.2 / 0.1.
//!
//! **Metrics.** Value: trailing P/E, P/B, P/S and P/CF (market cap / operating cash flow), lower is
//! better. Quality: ROE and ROA (higher is better), debt/equity (lower is better) and interest
//! coverage (higher is better). Momentum: the 1-, 3- and 6-month returns (21, 63 and 126 bars)
//! from the agent's own closes. Growth: EPS (earnings) growth, revenue growth and free-cash-flow
//! growth, higher is better.
//!
//! **Ranks.** For each metric, the symbols of the view that have it are ranked: percentile
//! `(rank − 1) / (n − 1)` with ties sharing their average rank (0 = worst, 1 = best; a
//! lower-is-better ratio that is ≤ 0, e.g. a P/E of a loss maker, ranks worst). A metric needs at
//! least two symbols with data. A factor's score is the mean of its metrics' percentiles; the
//! composite `s` is the weighted mean of the factors that have a score for the symbol, with
//! their weights renormalised to sum to 1.
//!
//! **Signal.** `s ≥ 0.6`: buy with confidence `2·(s − 0.5)`; `s ≤ 0.4`: sell with confidence
//! `2·(0.5 − s)`; otherwise hold with confidence 0. No factor with data: [`AgentSignal::NONE`].
//!
//! **Point in time.** A fundamentals table is a snapshot taken at `as_of`; it is used only at
//! bars on or after that instant, never before (before it the agent ranks on momentum alone).
//! [`FactorAgent::coverage`] says which factors had data for which symbols.

use crate::{Action, Agent, AgentError, AgentKind, AgentSignal, AgentView};
use jiff::Timestamp;
use pulse_core::Symbol;
use std::collections::BTreeMap;

/// The four factors.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Factor {
    /// Cheapness: P/E, P/B, P/S, P/CF.
    Value,
    /// Profitability and balance sheet: ROE, ROA, debt/equity, interest coverage.
    Quality,
    /// 1/3/6-month price returns.
    Momentum,
    /// EPS, revenue and FCF growth.
    Growth,
}

impl Factor {
    /// All four, in SPEC §4's order.
    pub const ALL: [Factor; 4] = [
        Factor::Value,
        Factor::Quality,
        Factor::Momentum,
        Factor::Growth,
    ];
}

/// Weights of the four factors in the composite (SPEC §4: 0.4 / 0.3 / 0.2 / 0.1).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FactorWeights {
    /// Value weight.
    pub value: f64,
    /// Quality weight.
    pub quality: f64,
    /// Momentum weight.
    pub momentum: f64,
    /// Growth weight.
    pub growth: f64,
}

impl Default for FactorWeights {
    fn default() -> Self {
        FactorWeights {
            value: 0.4,
            quality: 0.3,
            momentum: 0.2,
            growth: 0.1,
        }
    }
}

impl FactorWeights {
    /// The weight of `f`.
    pub fn of(&self, f: Factor) -> f64 {
        match f {
            Factor::Value => self.value,
            Factor::Quality => self.quality,
            Factor::Momentum => self.momentum,
            Factor::Growth => self.growth,
        }
    }

    /// Every weight finite and ≥ 0, and their sum > 0.
    pub fn validate(&self) -> Result<(), AgentError> {
        let mut sum = 0.0;
        for f in Factor::ALL {
            let w = self.of(f);
            if !w.is_finite() || w < 0.0 {
                return Err(AgentError::Parameter {
                    name: format!("factor_weights.{}", format!("{f:?}").to_lowercase()),
                    reason: format!("{w} must be a finite number >= 0"),
                });
            }
            sum += w;
        }
        if sum <= 0.0 {
            return Err(AgentError::Parameter {
                name: "factor_weights".into(),
                reason: "at least one weight must be > 0".into(),
            });
        }
        Ok(())
    }
}

/// One symbol's fundamentals (any field may be missing).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fundamentals {
    /// Trailing price / earnings.
    pub pe: Option<f64>,
    /// Price / book.
    pub pb: Option<f64>,
    /// Price / sales (trailing 12 months).
    pub ps: Option<f64>,
    /// Price / operating cash flow (market cap / operating cash flow).
    pub pcf: Option<f64>,
    /// Return on equity, fraction.
    pub roe: Option<f64>,
    /// Return on assets, fraction.
    pub roa: Option<f64>,
    /// Debt / equity (any consistent unit; Yahoo's is percent).
    pub debt_to_equity: Option<f64>,
    /// EBIT / interest expense, times.
    pub interest_coverage: Option<f64>,
    /// Earnings (EPS) growth, fraction.
    pub eps_growth: Option<f64>,
    /// Revenue growth, fraction.
    pub revenue_growth: Option<f64>,
    /// Free-cash-flow growth, fraction.
    pub fcf_growth: Option<f64>,
}

/// A fundamentals snapshot: per symbol, taken at `as_of`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FundamentalsTable {
    /// When the snapshot was taken: the first instant it may be used at.
    pub as_of: Timestamp,
    /// Per symbol.
    pub rows: BTreeMap<Symbol, Fundamentals>,
}

/// Column names read by [`FundamentalsTable::parse_csv`], per field, first match wins: Yahoo's
/// names (the snapshot in `../shared/data/fundamentals`) and plain ones.
const COLUMNS: &[(&str, &[&str])] = &[
    ("symbol", &["symbol", "Symbol", "Ticker", "ticker"]),
    ("pe", &["trailingPE", "pe", "Price/Earnings"]),
    ("pb", &["priceToBook", "pb", "Price/Book"]),
    ("ps", &["priceToSalesTrailing12Months", "ps", "Price/Sales"]),
    ("pcf", &["pcf"]),
    ("market_cap", &["marketCap", "market_cap", "Market Cap"]),
    (
        "operating_cash_flow",
        &["operatingCashflow", "operating_cash_flow"],
    ),
    ("roe", &["returnOnEquity", "roe"]),
    ("roa", &["returnOnAssets", "roa"]),
    ("debt_to_equity", &["debtToEquity", "debt_to_equity"]),
    (
        "interest_coverage",
        &["interestCoverage", "interest_coverage"],
    ),
    ("eps_growth", &["earningsGrowth", "eps_growth"]),
    ("revenue_growth", &["revenueGrowth", "revenue_growth"]),
    ("fcf_growth", &["fcfGrowth", "fcf_growth"]),
];

impl FundamentalsTable {
    /// Parses a fundamentals CSV (`origin` names it in errors) taken at `as_of`. The header
    /// names the columns (Yahoo's `trailingPE`, `priceToBook`, … or plain `pe`, `pb`, …; see the
    /// module docs for the metrics); a symbol column is required, every other column is
    /// optional; an empty cell or a non-finite number (`Infinity`, `NaN`) is "no data". P/CF is `pcf` when given, else market cap /
    /// operating cash flow. A cell that is not a number, or a symbol given twice, is an error
    /// naming the line and column.
    pub fn parse_csv(origin: &str, text: &str, as_of: Timestamp) -> Result<Self, AgentError> {
        let err = |line: usize, reason: String| AgentError::Fundamentals {
            origin: origin.to_string(),
            line,
            reason,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| err(1, format!("header: {e}")))?
            .clone();
        let index: BTreeMap<&str, (usize, &str)> = COLUMNS
            .iter()
            .filter_map(|(field, names)| {
                names.iter().find_map(|n| {
                    headers
                        .iter()
                        .position(|h| h.trim() == *n)
                        .map(|i| (*field, (i, *n)))
                })
            })
            .collect();
        let Some(&(symbol_col, _)) = index.get("symbol") else {
            return Err(err(
                1,
                "no symbol column (expected one of symbol, Symbol, Ticker)".into(),
            ));
        };
        let mut rows = BTreeMap::new();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| err(line, e.to_string()))?;
            let raw = record.get(symbol_col).unwrap_or("").trim();
            if raw.is_empty() {
                return Err(err(line, "column symbol: empty".into()));
            }
            let symbol =
                Symbol::try_new(raw).map_err(|e| err(line, format!("column symbol: {e}")))?;
            let num = |field: &str| -> Result<Option<f64>, AgentError> {
                let Some(&(col, name)) = index.get(field) else {
                    return Ok(None);
                };
                let cell = record.get(col).unwrap_or("").trim();
                if cell.is_empty() {
                    return Ok(None);
                }
                match cell.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Some(v)),
                    // Yahoo writes `Infinity` for a ratio over zero earnings: no data.
                    Ok(_) => Ok(None),
                    Err(_) => Err(err(
                        line,
                        format!("column {name}: {cell:?} is not a number"),
                    )),
                }
            };
            let pcf = match num("pcf")? {
                Some(v) => Some(v),
                None => match (num("market_cap")?, num("operating_cash_flow")?) {
                    (Some(cap), Some(ocf)) if ocf != 0.0 => Some(cap / ocf),
                    _ => None,
                },
            };
            let f = Fundamentals {
                pe: num("pe")?,
                pb: num("pb")?,
                ps: num("ps")?,
                pcf,
                roe: num("roe")?,
                roa: num("roa")?,
                debt_to_equity: num("debt_to_equity")?,
                interest_coverage: num("interest_coverage")?,
                eps_growth: num("eps_growth")?,
                revenue_growth: num("revenue_growth")?,
                fcf_growth: num("fcf_growth")?,
            };
            if rows.insert(symbol.clone(), f).is_some() {
                return Err(err(line, format!("column symbol: {symbol} given twice")));
            }
        }
        Ok(FundamentalsTable { as_of, rows })
    }
}

/// Whether higher or lower values of a metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    /// Lower is better; values ≤ 0 are the worst (a negative P/E is a loss, not a bargain).
    LowerPositive,
    /// Lower is better, any sign (debt/equity).
    Lower,
}

/// Percentile ranks in [0, 1] (1 = best) of the present values; `None` where a value is missing
/// or fewer than two values are present. Ties share their average rank.
pub fn percentile_ranks(values: &[Option<f64>], higher_is_better: bool) -> Vec<Option<f64>> {
    let better = if higher_is_better {
        Better::Higher
    } else {
        Better::Lower
    };
    ranks(values, better)
}

fn ranks(values: &[Option<f64>], better: Better) -> Vec<Option<f64>> {
    // Map to "goodness" keys where larger is better.
    let keys: Vec<Option<f64>> = values
        .iter()
        .map(|v| {
            v.filter(|x| x.is_finite()).map(|x| match better {
                Better::Higher => x,
                Better::Lower => -x,
                Better::LowerPositive if x > 0.0 => -x,
                Better::LowerPositive => f64::NEG_INFINITY,
            })
        })
        .collect();
    let mut present: Vec<(usize, f64)> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| k.map(|k| (i, k)))
        .collect();
    let n = present.len();
    let mut out = vec![None; values.len()];
    if n < 2 {
        return out;
    }
    present.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && present[j].1 == present[i].1 {
            j += 1;
        }
        // Ranks i+1..=j (1-based) share their mean; percentile = (rank − 1)/(n − 1).
        let mean_rank0 = (i + j - 1) as f64 / 2.0;
        let pct = mean_rank0 / (n - 1) as f64;
        for &(idx, _) in &present[i..j] {
            out[idx] = Some(pct);
        }
        i = j;
    }
    out
}

/// Which factors had data, over a whole run: per factor, the symbols that had a score at least
/// once, and whether the fundamentals were in force at any bar.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FactorCoverage {
    /// Per factor, the symbols that were scored on it at least once.
    pub scored: BTreeMap<Factor, Vec<Symbol>>,
    /// The fundamentals' snapshot instant, when a table was given.
    pub fundamentals_as_of: Option<Timestamp>,
    /// The first bar at which the fundamentals were used (none: the run ended before `as_of`).
    pub fundamentals_first_used: Option<Timestamp>,
}

/// The factor agent (module docs).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FactorAgent {
    weights: FactorWeights,
    fundamentals: Option<FundamentalsTable>,
    coverage: FactorCoverage,
}

/// Momentum horizons: 1, 3 and 6 months of daily bars.
const MOMENTUM_BARS: [usize; 3] = [21, 63, 126];

impl FactorAgent {
    /// A factor agent with these weights and an optional fundamentals snapshot.
    pub fn try_new(
        weights: FactorWeights,
        fundamentals: Option<FundamentalsTable>,
    ) -> Result<Self, AgentError> {
        weights.validate()?;
        let coverage = FactorCoverage {
            fundamentals_as_of: fundamentals.as_ref().map(|f| f.as_of),
            ..FactorCoverage::default()
        };
        Ok(FactorAgent {
            weights,
            fundamentals,
            coverage,
        })
    }

    /// Which factors had data so far.
    pub fn coverage(&self) -> &FactorCoverage {
        &self.coverage
    }

    /// The composite score in [0, 1] per symbol of the view (`None`: no factor had data), and
    /// per factor the score of each symbol.
    pub fn scores(&mut self, view: &AgentView<'_>) -> Vec<Option<f64>> {
        let n = view.symbols.len();
        let mut per_factor: Vec<(Factor, Vec<Option<f64>>)> = Vec::new();
        // Momentum from the closes.
        let mut metric_ranks: Vec<Vec<Option<f64>>> = Vec::new();
        for bars in MOMENTUM_BARS {
            let values: Vec<Option<f64>> = view
                .symbols
                .iter()
                .map(|s| {
                    let c = s.closes;
                    if c.len() > bars {
                        let (now, then) = (c[c.len() - 1], c[c.len() - 1 - bars]);
                        (then > 0.0).then(|| now / then - 1.0)
                    } else {
                        None
                    }
                })
                .collect();
            metric_ranks.push(ranks(&values, Better::Higher));
        }
        per_factor.push((Factor::Momentum, mean_of(&metric_ranks, n)));
        // Fundamentals, only once the snapshot exists.
        if let Some(table) = self.fundamentals.as_ref().filter(|t| view.ts >= t.as_of) {
            if self.coverage.fundamentals_first_used.is_none() {
                self.coverage.fundamentals_first_used = Some(view.ts);
            }
            let rows: Vec<Option<&Fundamentals>> = view
                .symbols
                .iter()
                .map(|s| table.rows.get(s.symbol))
                .collect();
            let col = |get: fn(&Fundamentals) -> Option<f64>| -> Vec<Option<f64>> {
                rows.iter().map(|r| r.and_then(get)).collect()
            };
            let value = [
                ranks(&col(|f| f.pe), Better::LowerPositive),
                ranks(&col(|f| f.pb), Better::LowerPositive),
                ranks(&col(|f| f.ps), Better::LowerPositive),
                ranks(&col(|f| f.pcf), Better::LowerPositive),
            ];
            let quality = [
                ranks(&col(|f| f.roe), Better::Higher),
                ranks(&col(|f| f.roa), Better::Higher),
                ranks(&col(|f| f.debt_to_equity), Better::Lower),
                ranks(&col(|f| f.interest_coverage), Better::Higher),
            ];
            let growth = [
                ranks(&col(|f| f.eps_growth), Better::Higher),
                ranks(&col(|f| f.revenue_growth), Better::Higher),
                ranks(&col(|f| f.fcf_growth), Better::Higher),
            ];
            per_factor.push((Factor::Value, mean_of(&value, n)));
            per_factor.push((Factor::Quality, mean_of(&quality, n)));
            per_factor.push((Factor::Growth, mean_of(&growth, n)));
        }
        for (factor, scores) in &per_factor {
            for (s, score) in view.symbols.iter().zip(scores) {
                if score.is_some() {
                    let list = self.coverage.scored.entry(*factor).or_default();
                    if !list.contains(s.symbol) {
                        list.push(s.symbol.clone());
                    }
                }
            }
        }
        (0..n)
            .map(|i| {
                let (mut num, mut den) = (0.0, 0.0);
                for (factor, scores) in &per_factor {
                    if let Some(s) = scores[i] {
                        let w = self.weights.of(*factor);
                        num += w * s;
                        den += w;
                    }
                }
                (den > 0.0).then(|| num / den)
            })
            .collect()
    }
}

/// Per symbol, the mean of the present metric percentiles (`None` when none is present).
fn mean_of(metrics: &[Vec<Option<f64>>], n: usize) -> Vec<Option<f64>> {
    (0..n)
        .map(|i| {
            let present: Vec<f64> = metrics.iter().filter_map(|m| m[i]).collect();
            (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
        })
        .collect()
}

/// The composite score's signal (module docs).
pub fn signal_of_score(score: Option<f64>) -> AgentSignal {
    match score {
        None => AgentSignal::NONE,
        Some(s) if s >= 0.6 => AgentSignal {
            action: Action::Buy,
            confidence: (2.0 * (s - 0.5)).clamp(0.0, 1.0),
        },
        Some(s) if s <= 0.4 => AgentSignal {
            action: Action::Sell,
            confidence: (2.0 * (0.5 - s)).clamp(0.0, 1.0),
        },
        Some(_) => AgentSignal {
            action: Action::Hold,
            confidence: 0.0,
        },
    }
}

impl Agent for FactorAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Factor
    }

    fn name(&self) -> &str {
        "Factor"
    }

    /// The 6-month momentum needs 127 closes.
    fn history_bars(&self) -> usize {
        MOMENTUM_BARS[2] + 1
    }

    /// The 1-month momentum (22 closes) gives the first scores.
    fn warmup_bars(&self) -> usize {
        MOMENTUM_BARS[0] + 1
    }

    fn decide(&mut self, view: &AgentView<'_>, out: &mut Vec<AgentSignal>) {
        let scores = self.scores(view);
        out.extend(scores.into_iter().map(signal_of_score));
    }

    fn factor_coverage(&self) -> Option<&FactorCoverage> {
        Some(&self.coverage)
    }
}
