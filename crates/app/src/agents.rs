//! The agents use cases (issue 17): backtest the SPEC §4 agents and their adaptive ensemble
//! through the one engine, next to each agent alone and an equal-weight buy and hold of the
//! same symbols, with the deflated Sharpe of the ensemble over every agent configuration run.
//!
//! Every strategy is an [`AgentStrategy`] replayed by `pulse_backtest::run` (the engine, the
//! simulated broker and the cost model of every backtest), on daily bars, from the first bar at
//! which every agent has warmed up (or `from`, when later).

use crate::AppError;
use crate::backtest::{Evaluated, RiskFreeChoice, RunSettings, analyse, date_of};
use crate::market::{account_currency, load_market};
use jiff::Timestamp;
use pulse_agents::ensemble::EnsembleConfig;
use pulse_agents::factor::{FactorAgent, FactorCoverage, FactorWeights, FundamentalsTable};
use pulse_agents::strategy::{AgentStats, AgentStrategy};
use pulse_agents::technical::{TechnicalAgent, TechnicalConfig};
use pulse_agents::{Action, Agent, AgentError, AgentKind, AgentSignal};
use pulse_analytics::Metrics;
use pulse_core::ports::Store;
use pulse_core::{Currency, Periodicity, Portfolio, Symbol, Timeframe};
use pulse_strategy::fixed::{FixedWeights, Rebalance};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A fundamentals snapshot to give the factor agent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FundamentalsSource {
    /// The CSV file (Yahoo's or plain column names; `pulse_agents::factor`).
    pub path: PathBuf,
    /// When the snapshot was taken: it is used only from this instant on.
    pub as_of: Timestamp,
}

/// The agents and their settings: who sits in the ensemble, on which universe.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentSet {
    /// The universe (daily bars stored for each; one currency).
    pub symbols: Vec<Symbol>,
    /// The ensemble's agents (at least one, each once).
    pub agents: Vec<AgentKind>,
    /// The ensemble's threshold, window, floor.
    pub ensemble: EnsembleConfig,
    /// The technical agent's rules.
    pub technical: TechnicalConfig,
    /// The factor agent's weights.
    pub factor_weights: FactorWeights,
    /// The factor agent's fundamentals (without: momentum only).
    pub fundamentals: Option<FundamentalsSource>,
    /// The DQN agent's model directory (`pulse agents train-dqn`; needs the `deep` feature).
    pub dqn_model: Option<PathBuf>,
}

/// The agents' inputs read once: the fundamentals table.
struct Loaded {
    fundamentals: Option<FundamentalsTable>,
}

impl AgentSet {
    /// Checks the set (symbols, agents named once, the ensemble's settings) and reads its files.
    fn load(&self) -> Result<Loaded, AppError> {
        if self.symbols.is_empty() {
            return Err(AppError::setting(
                "symbols",
                "at least one symbol is needed",
            ));
        }
        if self.agents.is_empty() {
            return Err(AppError::setting("agents", "at least one agent is needed"));
        }
        let mut kinds = self.agents.clone();
        kinds.sort();
        kinds.dedup();
        if kinds.len() != self.agents.len() {
            return Err(AppError::setting("agents", "an agent is named twice"));
        }
        self.ensemble.validate(kinds.len()).map_err(agent_error)?;
        let fundamentals = match &self.fundamentals {
            None => None,
            Some(src) => {
                let text = crate::data::read_text_file(&src.path)?;
                Some(
                    FundamentalsTable::parse_csv(&src.path.display().to_string(), &text, src.as_of)
                        .map_err(agent_error)?,
                )
            }
        };
        Ok(Loaded { fundamentals })
    }

    /// One agent of `kind`.
    fn agent(&self, kind: AgentKind, loaded: &Loaded) -> Result<SetAgent, AppError> {
        match kind {
            AgentKind::Technical => Ok(SetAgent::Technical(
                TechnicalAgent::try_new(self.technical.clone()).map_err(agent_error)?,
            )),
            AgentKind::Factor => Ok(SetAgent::Factor(
                FactorAgent::try_new(self.factor_weights, loaded.fundamentals.clone())
                    .map_err(agent_error)?,
            )),
            AgentKind::Dqn => dqn_agent(self.dqn_model.as_ref()),
        }
    }

    /// The ensemble of every agent of the set, as a strategy.
    fn ensemble_strategy(&self, loaded: &Loaded) -> Result<SetStrategy, AppError> {
        let agents = self
            .agents
            .iter()
            .map(|k| self.agent(*k, loaded))
            .collect::<Result<Vec<_>, _>>()?;
        AgentStrategy::try_new(
            "Ensemble",
            self.symbols.clone(),
            agents,
            self.ensemble.clone(),
        )
        .map_err(agent_error)
    }
}

/// The ensemble a trading runner starts with: the set's agents (files read now; the runner
/// stores them with its state) counting from `live_from`, the runner's start — the weights
/// learned during the warm-up are forgotten at its first live bar, as in a backtest's
/// evaluation. [`refuse_dqn_in_sample`] then checks its DQN against the first live bar.
pub(crate) fn trading_strategy(
    set: &AgentSet,
    live_from: Timestamp,
) -> Result<SetStrategy, AppError> {
    let loaded = set.load()?;
    Ok(set.ensemble_strategy(&loaded)?.count_from(live_from))
}

/// Refuses an ensemble whose DQN was trained on a bar the runner would decide live: the bar
/// stamped with its `trained_through` closes (by `close_of`) after `now`, the runner's start.
pub(crate) fn refuse_dqn_in_sample(
    strategy: &SetStrategy,
    now: Timestamp,
    close_of: impl Fn(Timestamp) -> Option<Timestamp>,
) -> Result<(), AppError> {
    for agent in strategy.agents() {
        #[cfg(feature = "deep")]
        if let SetAgent::Dqn(seat) = agent {
            let Some(through) = seat.trained_through() else {
                continue;
            };
            if close_of(through).is_none_or(|close| close > now) {
                return Err(AppError::setting(
                    "dqn_model",
                    format!(
                        "the DQN model was trained through {}, a bar this runner (starting {now}) would decide live: start it after that bar's close or train the model on earlier data",
                        date_of(through, Timeframe::D1)
                    ),
                ));
            }
        }
        #[cfg(not(feature = "deep"))]
        let _ = (agent, now, &close_of);
    }
    Ok(())
}

/// Prepares a trading run of the set's ensemble (the market of its symbols, one currency, the
/// starting account, costs and risk layer of `settings`) for an ensemble warming up over
/// `warmup` bars. Daily bars only; a Pulse rule set does not apply.
pub(crate) async fn prepare_trading<S: Store>(
    store: &S,
    settings: &RunSettings,
    set: &AgentSet,
    warmup: usize,
) -> Result<crate::backtest::Prepared, AppError> {
    if settings.strategy != crate::backtest::StrategySource::Default {
        return Err(AppError::setting(
            "strategy_config",
            "does not apply to an agents' runner (its strategy is the agents' ensemble)",
        ));
    }
    if settings.timeframe != Timeframe::D1 {
        return Err(AppError::setting(
            "timeframe",
            "the agents trade daily bars (1d)",
        ));
    }
    let universe = crate::backtest::Universe {
        traded: set.symbols.clone(),
        context: Vec::new(),
        currency: account_currency(store, &set.symbols).await?,
        warmup,
    };
    // The default rule set rides along unused (a Pulse run's field).
    let (cfg, cfg_text) = settings.load_strategy()?;
    crate::backtest::prepare_universe(store, settings, cfg, cfg_text, universe).await
}

/// A backtest of the agents.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentsBacktestRequest {
    /// The agents and the universe.
    pub set: AgentSet,
    /// First bar evaluated (at or after every agent's warm-up); `None`: the first possible.
    pub from: Option<Timestamp>,
    /// Last bar evaluated; `None`: the last stored.
    pub to: Option<Timestamp>,
    /// Cash, costs, fill price, share rounding, drift band, minimum trade and risk-free rate
    /// (its `strategy`, `timeframe`, `trades` and `risk` are not used).
    pub settings: RunSettings,
    /// More ensemble thresholds to run besides the set's (each one more configuration in the
    /// deflated Sharpe); the first run is always the set's own threshold.
    pub more_thresholds: Vec<f64>,
}

/// One replayed strategy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentsRun {
    /// "Ensemble", "Technical alone", …, "Buy & hold (equal weight)".
    pub name: String,
    /// Its figures (pulse-analytics, the same as every report).
    pub metrics: Metrics,
    /// What the strategy decided (none for the buy and hold).
    pub stats: Option<AgentStats>,
    /// The ensemble's weights at the end, per agent (none for the buy and hold).
    pub final_weights: Option<BTreeMap<AgentKind, f64>>,
}

/// The ensemble's deflated Sharpe ratio over every agent configuration of the run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Deflation {
    /// Configurations tried (the ensemble and each agent alone).
    pub configurations: usize,
    /// Probability that the ensemble's true Sharpe exceeds the best of that many tries by luck.
    pub deflated_sharpe: f64,
}

/// What a backtest of the agents produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentsBacktestOutcome {
    /// The universe.
    pub symbols: Vec<Symbol>,
    /// Account currency.
    pub currency: Currency,
    /// First evaluated bar (date).
    pub from: String,
    /// Last evaluated bar (date).
    pub to: String,
    /// The ensemble's agents.
    pub agents: Vec<AgentKind>,
    /// The ensemble's settings.
    pub ensemble: EnsembleConfig,
    /// The risk-free rate used (one sentence).
    pub risk_free: String,
    /// Every replay: the ensemble, each agent alone, the buy and hold.
    pub runs: Vec<AgentsRun>,
    /// Which factors had data (when the factor agent ran).
    pub factor_coverage: Option<FactorCoverage>,
    /// The ensemble's deflated Sharpe (none when it cannot be computed: too few returns).
    pub deflation: Option<Deflation>,
    /// The replays themselves (equity curves, fills, analyses), for reports.
    #[serde(skip)]
    pub evaluated: Vec<Evaluated>,
}

fn agent_error(e: AgentError) -> AppError {
    match e {
        // The ensemble's settings are the request's own fields (and the CLI's flags).
        AgentError::Parameter { name, reason } => match name.as_str() {
            "threshold" => AppError::setting("threshold", reason),
            "window" => AppError::setting("window", reason),
            "min_signals" => AppError::setting("min_signals", reason),
            "floor" => AppError::setting("floor", reason),
            "agents" => AppError::setting("agents", reason),
            "symbols" => AppError::setting("symbols", reason),
            _ => AppError::Usage(format!("invalid agent parameter {name}: {reason}")),
        },
        // A fundamentals file that does not parse is a bad file (exit 1), like a bad strategy file.
        other => AppError::Data(other.to_string()),
    }
}

#[cfg(feature = "deep")]
fn dqn_agent(model: Option<&PathBuf>) -> Result<SetAgent, AppError> {
    let Some(dir) = model else {
        return Err(AppError::setting(
            "dqn_model",
            "the DQN agent needs a trained model (pulse agents train-dqn)",
        ));
    };
    Ok(SetAgent::Dqn(Box::new(crate::agents_dqn::DqnSeat::load(
        dir,
    )?)))
}

#[cfg(not(feature = "deep"))]
fn dqn_agent(_model: Option<&PathBuf>) -> Result<SetAgent, AppError> {
    Err(AppError::Usage(
        "the DQN agent needs a build with the `deep` feature (cargo build --features deep)".into(),
    ))
}

/// One agent of an [`AgentSet`]: a concrete type, so that an ensemble of them serializes (a
/// trading runner stores it at every step). The DQN is stored as a reference to its model
/// directory (`pulse_app::agents_dqn::DqnSeat`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "agent", rename_all = "lowercase")]
pub enum SetAgent {
    /// The technical agent with its indicator state.
    Technical(TechnicalAgent),
    /// The factor agent with its fundamentals table.
    Factor(FactorAgent),
    /// The DQN agent of a trained model (the `deep` feature).
    #[cfg(feature = "deep")]
    Dqn(Box<crate::agents_dqn::DqnSeat>),
}

impl SetAgent {
    fn agent(&self) -> &dyn Agent {
        match self {
            SetAgent::Technical(a) => a,
            SetAgent::Factor(a) => a,
            #[cfg(feature = "deep")]
            SetAgent::Dqn(a) => a.as_ref(),
        }
    }

    fn agent_mut(&mut self) -> &mut dyn Agent {
        match self {
            SetAgent::Technical(a) => a,
            SetAgent::Factor(a) => a,
            #[cfg(feature = "deep")]
            SetAgent::Dqn(a) => a.as_mut(),
        }
    }
}

impl Agent for SetAgent {
    fn kind(&self) -> AgentKind {
        self.agent().kind()
    }
    fn name(&self) -> &str {
        self.agent().name()
    }
    fn history_bars(&self) -> usize {
        self.agent().history_bars()
    }
    fn warmup_bars(&self) -> usize {
        self.agent().warmup_bars()
    }
    fn decide(&mut self, view: &pulse_agents::AgentView<'_>, out: &mut Vec<AgentSignal>) {
        self.agent_mut().decide(view, out)
    }
    fn factor_coverage(&self) -> Option<&FactorCoverage> {
        self.agent().factor_coverage()
    }
}

/// The ensemble of an [`AgentSet`] as the engine's strategy (serializable).
pub type SetStrategy = AgentStrategy<SetAgent>;

/// The last bar the DQN model was trained on (when the ensemble has one and it is recorded).
#[cfg(feature = "deep")]
fn dqn_trained_through(set: &AgentSet) -> Result<Option<Timestamp>, AppError> {
    match (&set.dqn_model, set.agents.contains(&AgentKind::Dqn)) {
        (Some(dir), true) => Ok(crate::agents_dqn::load_model(dir)?.meta().trained_through),
        _ => Ok(None),
    }
}

#[cfg(not(feature = "deep"))]
fn dqn_trained_through(_set: &AgentSet) -> Result<Option<Timestamp>, AppError> {
    Ok(None)
}

/// Backtests the ensemble of the set's agents, each of them alone, and an equal-weight buy and
/// hold of the universe, on the stored daily bars.
pub async fn backtest<S: Store>(
    store: &S,
    request: &AgentsBacktestRequest,
) -> Result<AgentsBacktestOutcome, AppError> {
    let settings = &request.settings;
    settings.validate()?;
    // The Pulse-only settings do not apply: daily bars, a cash start, no risk layer.
    for (given, setting) in [
        (
            settings.strategy != crate::backtest::StrategySource::Default,
            "strategy_config",
        ),
        (settings.trades.is_some(), "trades"),
        (settings.risk.is_some(), "risk"),
        (settings.timeframe != Timeframe::D1, "timeframe"),
    ] {
        if given {
            return Err(AppError::setting(
                setting,
                "does not apply to the agents' backtest (daily bars, cash only, no risk layer)",
            ));
        }
    }
    let set = &request.set;
    // The request's own inputs before the data: a bad model or file is reported as such.
    let loaded = set.load()?;
    if let Some(t) = request
        .more_thresholds
        .iter()
        .find(|t| !(t.is_finite() && (0.0..1.0).contains(*t)))
    {
        return Err(AppError::setting(
            "also_thresholds",
            format!("{t} must be in [0, 1)"),
        ));
    }
    let ensemble = set.ensemble_strategy(&loaded)?;
    let currency = account_currency(store, &set.symbols).await?;
    let market = load_market(store, &set.symbols, &[], Timeframe::D1).await?;
    let timeline = &market.data.timeline;
    let Some(&last_bar) = timeline.last() else {
        return Err(AppError::Data(
            "no daily bars stored for these symbols".into(),
        ));
    };
    let warmup = pulse_strategy::Strategy::warmup_bars(&ensemble);
    let first_eval = market.data.first_common_index() + warmup;
    let Some(&first) = timeline.get(first_eval) else {
        return Err(AppError::Data(format!(
            "not enough history: every agent needs {warmup} bars of every symbol before the first decision, and the data ends at {}",
            date_of(last_bar, Timeframe::D1)
        )));
    };
    let start = match request.from {
        Some(from) if from < first => {
            return Err(AppError::setting(
                "from",
                format!(
                    "{} is too early: the agents need history until {} (first evaluable bar)",
                    date_of(from, Timeframe::D1),
                    date_of(first, Timeframe::D1)
                ),
            ));
        }
        Some(from) => from,
        None => first,
    };
    // The DQN is evaluated out of sample only: after the last bar it was trained on.
    if let Some(through) = dqn_trained_through(set)?.filter(|t| start <= *t) {
        return Err(AppError::setting(
            "from",
            format!(
                "{} is inside the DQN model's training window (trained through {}): start after it",
                date_of(start, Timeframe::D1),
                date_of(through, Timeframe::D1)
            ),
        ));
    }
    if let Some(to) = request.to.filter(|to| *to < start) {
        return Err(AppError::setting(
            "to",
            format!(
                "{} is before the start {}",
                date_of(to, Timeframe::D1),
                date_of(start, Timeframe::D1)
            ),
        ));
    }
    let price_dp = match currency {
        Currency::Usdt => 8,
        _ => 2,
    };
    let mut config = settings.backtest_config(price_dp);
    config.start = Some(start);
    config.end = request.to;
    let rf = match (settings.rf, market.irx.is_empty()) {
        (Some(x), _) => RiskFreeChoice::Constant(x),
        (None, false) => RiskFreeChoice::Irx(market.irx.clone()),
        (None, true) => RiskFreeChoice::Zero,
    };
    let periodicity = Periodicity::of_bars(Timeframe::D1, market.exchange);
    let account = Portfolio::with_cash(settings.cash);
    let mut ensemble = ensemble.count_from(start);
    let mut runs = Vec::new();
    let mut evaluated = Vec::new();
    let mut replay = |strategy: &mut SetStrategy| -> Result<(), AppError> {
        let r = pulse_backtest::run(
            &market.data,
            &mut *strategy,
            account.clone(),
            &config,
            |_| {},
        )?;
        let e = analyse(r, periodicity, &rf)?;
        runs.push(AgentsRun {
            name: e.result.strategy.clone(),
            metrics: e.analysis.metrics.clone(),
            stats: Some(strategy.stats().clone()),
            final_weights: Some(
                strategy
                    .ensemble()
                    .seats()
                    .iter()
                    .map(|s| (s.kind, s.weight))
                    .collect(),
            ),
        });
        evaluated.push(e);
        Ok(())
    };
    replay(&mut ensemble)?;
    let factor_coverage = coverage_of(&ensemble);
    // The same ensemble under the other thresholds asked for.
    for &threshold in &request.more_thresholds {
        let config = EnsembleConfig {
            threshold,
            ..set.ensemble.clone()
        };
        let agents = set
            .agents
            .iter()
            .map(|k| set.agent(*k, &loaded))
            .collect::<Result<Vec<_>, _>>()?;
        let mut other = AgentStrategy::try_new(
            format!("Ensemble (threshold {threshold})"),
            set.symbols.clone(),
            agents,
            config,
        )
        .map_err(agent_error)?
        .count_from(start);
        replay(&mut other)?;
    }
    // Each agent alone, acting on every buy and sell it gives (threshold 0).
    if set.agents.len() > 1 {
        for kind in &set.agents {
            let agent = set.agent(*kind, &loaded)?;
            let mut alone = AgentStrategy::try_new(
                format!("{} alone", agent.name()),
                set.symbols.clone(),
                vec![agent],
                EnsembleConfig {
                    threshold: 0.0,
                    floor: 0.0,
                    ..set.ensemble.clone()
                },
            )
            .map_err(agent_error)?
            .count_from(start);
            replay(&mut alone)?;
        }
    }
    // The reference: equal weights bought once and held, without the agents.
    let n = set.symbols.len() as f64;
    let hold = FixedWeights::new(
        "Buy & hold (equal weight)",
        set.symbols.iter().map(|s| (s.clone(), 1.0 / n)).collect(),
        Rebalance::Never,
    );
    let r = pulse_backtest::run(&market.data, hold, account.clone(), &config, |_| {})?;
    let e = analyse(r, periodicity, &rf)?;
    runs.push(AgentsRun {
        name: e.result.strategy.clone(),
        metrics: e.analysis.metrics.clone(),
        stats: None,
        final_weights: None,
    });
    evaluated.push(e);
    let deflation = deflation(&evaluated);
    let (from, to) = match (
        evaluated[0].result.timestamps.first(),
        evaluated[0].result.timestamps.last(),
    ) {
        (Some(a), Some(b)) => (date_of(*a, Timeframe::D1), date_of(*b, Timeframe::D1)),
        _ => (String::new(), String::new()),
    };
    Ok(AgentsBacktestOutcome {
        symbols: set.symbols.clone(),
        currency,
        from,
        to,
        agents: set.agents.clone(),
        ensemble: set.ensemble.clone(),
        risk_free: rf.describe(),
        runs,
        factor_coverage,
        deflation,
        evaluated,
    })
}

/// The factor agent's coverage, when the strategy has one.
fn coverage_of(strategy: &SetStrategy) -> Option<FactorCoverage> {
    strategy.agents().iter().find_map(|a| {
        (a.kind() == AgentKind::Factor)
            .then(|| a.factor_coverage().cloned())
            .flatten()
    })
}

/// The ensemble's (first run's) deflated Sharpe over the agent runs (all but the buy and hold).
fn deflation(evaluated: &[Evaluated]) -> Option<Deflation> {
    let agent_runs = &evaluated[..evaluated.len().saturating_sub(1)];
    let sharpes: Vec<f64> = agent_runs
        .iter()
        .map(|e| {
            pulse_search::return_stats(&e.analysis.returns)
                .ok()
                .map(|r| r.sharpe)
        })
        .collect::<Option<_>>()?;
    let first = agent_runs.first()?;
    let d = pulse_search::deflated_sharpe_ratio(&first.analysis.returns, &sharpes).ok()?;
    Some(Deflation {
        configurations: sharpes.len(),
        deflated_sharpe: d.dsr,
    })
}

/// Today's decision of the agents: what the ensemble would do at the next open.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentsSignalRequest {
    /// The agents and the universe.
    pub set: AgentSet,
}

/// One symbol's latest decision.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignalRow {
    /// The symbol.
    pub symbol: Symbol,
    /// The bar the decision was taken at (its last stored daily bar).
    pub bar: String,
    /// Every agent's signal.
    pub signals: BTreeMap<AgentKind, AgentSignal>,
    /// The weights the score was computed with: the ensemble's at the row's bar (they differ
    /// from the outcome's `weights` when the symbol's last bar is older than the universe's).
    pub weights: BTreeMap<AgentKind, f64>,
    /// The ensemble's score `Σ wᵢ·cᵢ·dᵢ` in [−1, 1].
    pub score: f64,
    /// What to do at the next open: buy / sell only past the threshold, else hold.
    pub action: Action,
    /// Whether the ensemble holds the symbol after the decision.
    pub holding: bool,
}

/// The agents' latest decisions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentsSignalOutcome {
    /// The latest stored bar of the universe.
    pub as_of: String,
    /// The first bar whose outcome the ensemble's weights learned from (after the DQN's
    /// training window when a DQN sits in the ensemble, else the first bar).
    pub learned_from: String,
    /// The ensemble's threshold.
    pub threshold: f64,
    /// The ensemble's weights now, per agent.
    pub weights: BTreeMap<AgentKind, f64>,
    /// One row per symbol that has bars.
    pub rows: Vec<SignalRow>,
    /// Which factors had data (when the factor agent sits in the ensemble).
    pub factor_coverage: Option<FactorCoverage>,
}

/// Replays the ensemble over every stored daily bar of the universe (its weights adapting as in
/// a backtest) and returns its decision at the last bar: what it would do at the next open.
pub async fn signal<S: Store>(
    store: &S,
    request: &AgentsSignalRequest,
) -> Result<AgentsSignalOutcome, AppError> {
    let set = &request.set;
    let loaded = set.load()?;
    let mut ensemble = set.ensemble_strategy(&loaded)?;
    let market = load_market(store, &set.symbols, &[], Timeframe::D1).await?;
    let timeline = &market.data.timeline;
    let (Some(&first), Some(&last)) = (timeline.first(), timeline.last()) else {
        return Err(AppError::Data(
            "no daily bars stored for these symbols".into(),
        ));
    };
    let mut learned_from = first;
    if let Some(through) = dqn_trained_through(set)? {
        let after = market
            .data
            .timeline
            .iter()
            .find(|t| **t > through)
            .copied()
            .ok_or_else(|| {
                AppError::Data(format!(
                    "the last stored bar {} is inside the DQN model's training window (trained through {}): its signal would be in sample",
                    date_of(last, Timeframe::D1),
                    date_of(through, Timeframe::D1)
                ))
            })?;
        learned_from = after;
        ensemble = ensemble.count_from(after);
    }
    let context = BTreeMap::new();
    let mut bars = BTreeMap::new();
    for (i, ts) in timeline.iter().enumerate() {
        market.data.fill_bars_at(i, &mut bars);
        pulse_strategy::Strategy::on_bar_close(
            &mut ensemble,
            &pulse_strategy::MarketSnapshot {
                ts: *ts,
                bars: &bars,
                context: &context,
            },
        );
    }
    let kinds: Vec<AgentKind> = ensemble.agents().iter().map(|a| a.kind()).collect();
    let rows = ensemble
        .last_decisions()
        .filter_map(|(symbol, d)| {
            let d = d?;
            Some(SignalRow {
                symbol: symbol.clone(),
                bar: date_of(d.ts, Timeframe::D1),
                signals: kinds
                    .iter()
                    .copied()
                    .zip(d.signals.iter().copied())
                    .collect(),
                weights: kinds
                    .iter()
                    .copied()
                    .zip(d.weights.iter().copied())
                    .collect(),
                score: d.decision.score,
                action: d.decision.action,
                holding: d.long,
            })
        })
        .collect();
    Ok(AgentsSignalOutcome {
        as_of: date_of(last, Timeframe::D1),
        learned_from: date_of(learned_from, Timeframe::D1),
        threshold: set.ensemble.threshold,
        weights: ensemble
            .ensemble()
            .seats()
            .iter()
            .map(|s| (s.kind, s.weight))
            .collect(),
        rows,
        factor_coverage: coverage_of(&ensemble),
    })
}
