//! The parameter search of Pulse's rule set: the choices as types (what a sweep maximizes, how it
//! picks points), parameter paths into the TOML rule set, and the evaluation of one trial through
//! the sweep kernel (or the general runner), with a shared, bounded cache of results.

use crate::backtest::{Prepared, SeriesRef, fill_record, fill_records, search_metrics};
use crate::error::AppError;
use pulse_analytics::{FillRecord, SearchMetrics};
use pulse_backtest::kernel::KernelError;
use pulse_backtest::{BacktestConfig, KernelScratch, PulseMarket};
use pulse_search::{BlockMoments, Point, Strategy as PointStrategy, TpeConfig, Trial};
use pulse_strategy::pulse::{PulseConfig, PulseStrategy};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// What a sweep maximizes. Serialized (and spelled on the command line) in kebab-case:
/// `sharpe`, `sortino`, `calmar`, `cagr`, `profit-factor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Annualized Sharpe ratio (excess over the run's risk-free rate).
    Sharpe,
    /// Annualized Sortino ratio.
    Sortino,
    /// CAGR over the maximum drawdown.
    Calmar,
    /// Compound annual growth rate.
    Cagr,
    /// Gross profit over gross loss of the closed trades (a finite value only).
    ProfitFactor,
}

impl Objective {
    /// The kebab-case name (as stored with a study and printed).
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Sharpe => "sharpe",
            Objective::Sortino => "sortino",
            Objective::Calmar => "calmar",
            Objective::Cagr => "cagr",
            Objective::ProfitFactor => "profit-factor",
        }
    }

    /// Whether scoring needs the closed trades (FIFO-matched fills), not only the equity curve.
    pub fn needs_trades(self) -> bool {
        self == Objective::ProfitFactor
    }

    /// The score of a trial's metrics (`NaN` when undefined: such a trial is never best).
    pub fn score(self, m: &SearchMetrics) -> f64 {
        match self {
            Objective::Sharpe => m.sharpe,
            Objective::Sortino => m.sortino,
            Objective::Calmar => m.calmar,
            Objective::Cagr => m.cagr,
            Objective::ProfitFactor => m.profit_factor.filter(|x| x.is_finite()),
        }
        .unwrap_or(f64::NAN)
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a sweep picks the points it evaluates. Spelled `grid`, `random`, `tpe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum SearchMethod {
    /// Every feasible grid point in index order; a grid with more points than the budget is
    /// sampled uniformly at random (seeded) instead of walked from its first corner.
    Grid,
    /// Uniformly random feasible points.
    Random,
    /// Tree-structured Parzen estimator (Optuna's defaults).
    Tpe,
}

impl SearchMethod {
    /// The name (as stored with a study and printed).
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMethod::Grid => "grid",
            SearchMethod::Random => "random",
            SearchMethod::Tpe => "tpe",
        }
    }

    /// The point strategy of the search crate, seeded with `seed` where it draws at random (random,
    /// TPE, and the sample of a grid larger than the budget).
    pub fn strategy(self, seed: u64) -> PointStrategy {
        match self {
            SearchMethod::Grid => PointStrategy::SampledGrid { seed },
            SearchMethod::Random => PointStrategy::Random { seed },
            SearchMethod::Tpe => PointStrategy::Tpe(TpeConfig {
                seed,
                ..TpeConfig::default()
            }),
        }
    }
}

impl std::fmt::Display for SearchMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Short names for the most tuned thresholds.
pub const ALIASES: [(&str, &str); 9] = [
    ("rsi_high", "overbought.rsi"),
    ("rsi_low", "oversold.rsi"),
    ("rsi_fast_low", "oversold.rsi_fast"),
    ("rsi_extreme", "overbought.rsi_extreme"),
    ("vix_high", "mood.vix_high"),
    ("greed_extreme", "mood.greed_extreme"),
    ("bbands_k", "indicators.bbands_k"),
    ("sma_fast", "indicators.sma_fast"),
    ("sma_slow", "indicators.sma_slow"),
];

/// The TOML path of a parameter name (an alias such as `rsi_high`, or the path itself).
pub fn path_of(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, p)| p)
}

/// The base rule set with the point's values written into their TOML paths.
pub fn apply(base: &toml::Value, names: &[String], point: &Point) -> Result<PulseConfig, String> {
    apply_values(base, names, point.values())
}

/// [`apply`] with the values given in the order of `names`.
pub fn apply_values(
    base: &toml::Value,
    names: &[String],
    values: &[f64],
) -> Result<PulseConfig, String> {
    let mut value = base.clone();
    for (name, x) in names.iter().zip(values) {
        let mut slot = &mut value;
        for key in path_of(name).split('.') {
            slot = match slot {
                toml::Value::Table(t) => t
                    .get_mut(key)
                    .ok_or_else(|| format!("{name}: no key {key:?} in the rule set"))?,
                toml::Value::Array(a) => {
                    let i: usize = key
                        .parse()
                        .map_err(|_| format!("{name}: {key:?} is not an index"))?;
                    a.get_mut(i)
                        .ok_or_else(|| format!("{name}: index {i} out of range"))?
                }
                _ => return Err(format!("{name}: {key:?} is not a table")),
            };
        }
        *slot = match slot {
            toml::Value::Integer(_) => toml::Value::Integer(x.round() as i64),
            toml::Value::Float(_) => toml::Value::Float(*x),
            other => return Err(format!("{name}: not a number ({other})")),
        };
    }
    let cfg: PulseConfig = value
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string())?;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// Memory the trial cache may hold (returns of reused runs), bytes.
pub const CACHE_BYTES: usize = 64 << 20;

/// Per worker thread: the kernel's buffers, and the returns and cache key of the trial at hand
/// (reused from trial to trial: no per-trial allocation of full-length series).
#[derive(Default)]
struct Local {
    kernel: KernelScratch,
    returns: Vec<f64>,
    key: Vec<u64>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

/// What a caller needs from a trial besides its score and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing more (walk-forward train windows).
    Score,
    /// The CSCV block moments of the returns, with this many blocks (the full-window search).
    Moments(usize),
    /// The per-period returns themselves (deflated Sharpe of the best, stitched test windows).
    Returns,
}

impl Need {
    /// A word for the cache key.
    fn tag(self) -> u64 {
        match self {
            Need::Score => 0,
            Need::Moments(b) => 1 + b as u64,
            Need::Returns => u64::MAX,
        }
    }
}

/// One evaluated trial.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The objective's score and the stored metrics.
    pub trial: Trial,
    /// With [`Need::Moments`] (`None` if the returns are too short to split).
    pub moments: Option<BlockMoments>,
    /// With [`Need::Returns`].
    pub returns: Option<Arc<Vec<f64>>>,
}

impl Evaluation {
    /// A trial that could not be evaluated (NaN score: never chosen as best).
    pub fn failed() -> Self {
        Evaluation {
            trial: Trial::new(f64::NAN),
            moments: None,
            returns: None,
        }
    }

    fn of(trial: Trial, returns: &[f64], need: Need) -> Self {
        Evaluation {
            trial,
            moments: match need {
                Need::Moments(blocks) => pulse_search::block_moments(returns, blocks).ok(),
                _ => None,
            },
            returns: (need == Need::Returns).then(|| Arc::new(returns.to_vec())),
        }
    }
}

/// The objective and the stored metrics of one analysed run.
pub fn trial_of(m: &SearchMetrics, objective: Objective) -> Trial {
    Trial::new(objective.score(m))
        .with_metric("sharpe", m.sharpe.unwrap_or(f64::NAN))
        .with_metric("cagr", m.cagr.unwrap_or(f64::NAN))
        .with_metric("max_drawdown", m.max_drawdown.unwrap_or(f64::NAN))
        .with_metric("fills", m.fills as f64)
}

/// One backtest of `cfg` over timeline steps `range`: the objective, a few metrics, and what
/// `need` asks for. Runs through the sweep kernel (same fills and equity as the engine, proven
/// by pulse-backtest's tests) when `kernel` is given and handles the account; else through the
/// general runner.
pub fn evaluate(
    p: &Prepared,
    kernel: Option<(&PulseMarket, &TrialCache)>,
    cfg: PulseConfig,
    range: Range<usize>,
    objective: Objective,
    need: Need,
) -> Result<Evaluation, AppError> {
    if let Some((market, cache)) = kernel {
        let done = LOCAL.with(|cell| -> Result<Option<Evaluation>, AppError> {
            let local = &mut *cell.borrow_mut();
            let scratch = &mut local.kernel;
            match market.decide(&cfg, range.clone(), scratch) {
                Ok(()) => {}
                Err(KernelError::Unsupported(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
            // Rule sets that decide the same targets trade the same: reuse the first one's run
            // (key: what is asked, the range, then the decisions).
            let cacheable = need != Need::Returns;
            if cacheable {
                scratch.decision_key(&mut local.key);
                local
                    .key
                    .extend([need.tag(), range.start as u64, range.end as u64]);
                if let Some(hit) = cache.get(&local.key) {
                    return Ok(Some(hit));
                }
            }
            match market.simulate(&p.account, &p.config, range.clone(), scratch) {
                Ok(_) => {}
                Err(KernelError::Unsupported(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
            let symbols = market.symbols();
            let timeline = market.timeline();
            // Fill records are needed only for the profit factor (closed trades).
            let with_trades = objective.needs_trades();
            let fills: Vec<FillRecord> = if with_trades {
                scratch
                    .fills
                    .iter()
                    .map(|f| {
                        fill_record(
                            timeline[f.step],
                            symbols[f.leg],
                            f.side,
                            f.quantity,
                            f.price,
                            f.fee,
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let m = search_metrics(
                &SeriesRef {
                    timestamps: &timeline[range.clone()],
                    equity: &scratch.equity,
                    gross_exposure: &scratch.gross_exposure,
                    fills: &fills,
                },
                p,
                with_trades,
                &mut local.returns,
            )?;
            let m = SearchMetrics {
                fills: scratch.fills.len(),
                ..m
            };
            let done = Evaluation::of(trial_of(&m, objective), &local.returns, need);
            if cacheable {
                cache.put(&local.key, &done);
            }
            Ok(Some(done))
        })?;
        if let Some(done) = done {
            return Ok(done);
        }
    }
    let t = &p.market.data.timeline;
    let config = BacktestConfig {
        start: t.get(range.start).copied(),
        end: t.get(range.end.saturating_sub(1)).copied(),
        ..p.config.clone()
    };
    let r = pulse_backtest::run(
        &p.market.data,
        PulseStrategy::try_new(cfg).map_err(|source| AppError::Strategy {
            origin: "trial rule set".into(),
            source,
        })?,
        p.account.clone(),
        &config,
        |_| {},
    )?;
    let fills = fill_records(&r);
    let mut returns = Vec::with_capacity(r.equity.len());
    let m = search_metrics(
        &SeriesRef {
            timestamps: &r.timestamps,
            equity: &r.equity,
            gross_exposure: &r.gross_exposure,
            fills: &fills,
        },
        p,
        objective.needs_trades(),
        &mut returns,
    )?;
    Ok(Evaluation::of(trial_of(&m, objective), &returns, need))
}

/// Results of kernel runs by decisions, need and step range (an exact key), shared by the
/// workers, with a byte budget (memory stays bounded whatever the grid size: once full, new
/// results are computed but not stored).
pub struct TrialCache {
    // Fx hashing: keys are long word vectors hashed once per trial; SipHash's DoS resistance
    // buys nothing here (the keys come from our own computation).
    map: Mutex<rustc_hash::FxHashMap<Vec<u64>, Evaluation>>,
    bytes: std::sync::atomic::AtomicUsize,
    budget: usize,
    hits: std::sync::atomic::AtomicU64,
}

impl TrialCache {
    /// An empty cache holding at most `budget_bytes` (approximately).
    pub fn new(budget_bytes: usize) -> Self {
        TrialCache {
            map: Mutex::new(rustc_hash::FxHashMap::default()),
            bytes: std::sync::atomic::AtomicUsize::new(0),
            budget: budget_bytes,
            hits: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The stored evaluation of `key`, counting the hit.
    pub fn get(&self, key: &[u64]) -> Option<Evaluation> {
        let hit = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned();
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Stores an evaluation unless the byte budget is spent.
    pub fn put(&self, key: &[u64], value: &Evaluation) {
        let size = key.len() * 8 + std::mem::size_of::<Evaluation>() + 256;
        if self.bytes.fetch_add(size, Ordering::Relaxed) + size > self.budget {
            self.bytes.fetch_sub(size, Ordering::Relaxed);
            return;
        }
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_vec(), value.clone());
    }

    /// How many lookups found a stored evaluation.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

/// Refuses a parameter range that lies wholly outside what the rule set accepts (e.g.
/// `rsi_high=150:200`): when the rule set, with everything else at its base value, is invalid at
/// both the lowest and the highest value of the range for a reason that names the parameter's own
/// key, no trial could succeed. Returns the reason for the range's highest value.
pub fn range_outside_domain(base: &toml::Value, name: &str, lo: f64, hi: f64) -> Option<String> {
    let names = [name.to_string()];
    let key = path_of(name);
    let fails = |x: f64| {
        apply_values(base, &names, &[x])
            .err()
            .filter(|e| e.contains(key))
    };
    match (fails(lo), fails(hi)) {
        (Some(_), Some(reason)) => Some(reason),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_as_the_stored_study_spelling() {
        for o in [
            Objective::Sharpe,
            Objective::Sortino,
            Objective::Calmar,
            Objective::Cagr,
            Objective::ProfitFactor,
        ] {
            let json = serde_json::to_string(&o).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", o.as_str()));
            assert_eq!(serde_json::from_str::<Objective>(&json).ok(), Some(o));
        }
        for m in [SearchMethod::Grid, SearchMethod::Random, SearchMethod::Tpe] {
            let json = serde_json::to_string(&m).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
    }
}
