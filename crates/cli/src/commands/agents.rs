//! `pulse agents backtest|train-dqn`: flags → `pulse_app::agents` requests → printed outcome
//! (or `--json`).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use pulse_agents::AgentKind;
use pulse_agents::ensemble::EnsembleConfig;
use pulse_agents::factor::FactorWeights;
use pulse_agents::technical::TechnicalConfig;
use pulse_app::agents::{
    AgentSet, AgentsBacktestOutcome, AgentsBacktestRequest, AgentsSignalOutcome,
    AgentsSignalRequest, FundamentalsSource,
};

use crate::app::App;
use crate::cli::RunArgs;
use crate::commands::backtest::{SUMMARY, run_settings};
use crate::commands::{parse_instant, parse_optional_instant, parse_symbols};
use crate::output::{outln, print_json, print_metrics, print_table};

/// `pulse agents …`
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Backtest the agents' ensemble through the engine on stored daily bars, next to each
    /// agent alone and an equal-weight buy and hold (figures, final weights, which factors had
    /// data, the deflated Sharpe over the configurations run).
    Backtest(Box<AgentsBacktestArgs>),
    /// The ensemble's decision at the last stored bar for every symbol (what it would do at the
    /// next open), with each agent's signal and the current weights.
    Signal(AgentSetArgs),
    /// Train the DQN agent (SPEC §4: 30 daily returns + position in, buy/sell/hold out) on stored
    /// daily closes into a new model directory (needs a build with `--features deep`).
    TrainDqn(TrainDqnArgs),
}

/// `pulse agents train-dqn`
#[derive(Debug, Args)]
pub struct TrainDqnArgs {
    /// Symbols whose daily closes are the training series (episodes cycle through them).
    #[arg(long, value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// First bar trained on (YYYY-MM-DD; default: the first stored).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last bar trained on (YYYY-MM-DD): backtests with the model must start after it.
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Episodes (one pass over one series each).
    #[arg(long, default_value_t = 10)]
    pub episodes: usize,
    /// Seed of every random draw (same seed, same data: bit-identical weights).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Reward of a sell when long: `spec` (SPEC §4 literally: + next return) or `negated`
    /// (− next return).
    #[arg(long, value_enum, default_value = "spec")]
    pub sell_reward: SellRewardArg,
    /// Replays between two target-network synchronisations.
    #[arg(long, default_value_t = 100)]
    pub target_sync: u64,
    /// The new model directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// How a sell when long is rewarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SellRewardArg {
    /// SPEC §4 literally: the next return (%).
    Spec,
    /// Minus the next return (%).
    Negated,
}

/// An agent of the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentArg {
    /// SMA/RSI/MACD/Bollinger rules.
    Technical,
    /// Value/quality/momentum/growth ranks.
    Factor,
    /// The deep Q-network (needs a model and a build with `--features deep`).
    Dqn,
}

impl From<AgentArg> for AgentKind {
    fn from(a: AgentArg) -> AgentKind {
        match a {
            AgentArg::Technical => AgentKind::Technical,
            AgentArg::Factor => AgentKind::Factor,
            AgentArg::Dqn => AgentKind::Dqn,
        }
    }
}

/// The agents and their settings (`pulse agents backtest` and `signal`).
#[derive(Debug, Args)]
pub struct AgentSetArgs {
    /// The universe: symbols with stored daily bars (comma-separated or repeated; required).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// The ensemble's agents [default: technical,factor].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub agents: Vec<AgentArg>,
    /// Act only when the ensemble's confidence exceeds this [default: 0.7, SPEC §4].
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Scored signals per agent its hit rate is measured over [default: 60].
    #[arg(long)]
    pub window: Option<usize>,
    /// Scored signals an agent needs before its hit rate moves its weight [default: 10].
    #[arg(long)]
    pub min_signals: Option<usize>,
    /// Lowest weight an agent can fall to [default: 0.1].
    #[arg(long)]
    pub floor: Option<f64>,
    /// A fundamentals CSV for the factor agent (Yahoo's column names, as in
    /// ../shared/data/fundamentals, or plain ones); without it the factor agent ranks momentum.
    #[arg(long, value_name = "FILE.csv", requires = "fundamentals_as_of")]
    pub fundamentals: Option<PathBuf>,
    /// When the fundamentals snapshot was taken (YYYY-MM-DD): used only from that day on.
    #[arg(long, value_name = "DATE", requires = "fundamentals")]
    pub fundamentals_as_of: Option<String>,
    /// The DQN agent's model directory (`pulse agents train-dqn`).
    #[arg(long, value_name = "DIR")]
    pub dqn_model: Option<PathBuf>,
}

impl AgentSetArgs {
    /// The agent set the flags describe.
    pub(crate) fn set(&self) -> anyhow::Result<AgentSet> {
        // Defaults applied here, not by clap, so that `pulse trade run` without any agent flag
        // trades Pulse's rule set.
        let defaults = EnsembleConfig::default();
        let symbols = parse_symbols(&self.symbols, "--symbols")?;
        if symbols.is_empty() {
            return Err(crate::app::usage(
                "--symbols: the agents need at least one symbol",
            ));
        }
        Ok(AgentSet {
            symbols,
            agents: if self.agents.is_empty() {
                vec![AgentKind::Technical, AgentKind::Factor]
            } else {
                self.agents.iter().map(|a| AgentKind::from(*a)).collect()
            },
            ensemble: EnsembleConfig {
                threshold: self.threshold.unwrap_or(defaults.threshold),
                window: self.window.unwrap_or(defaults.window),
                min_signals: self.min_signals.unwrap_or(defaults.min_signals),
                floor: self.floor.unwrap_or(defaults.floor),
            },
            technical: TechnicalConfig::default(),
            factor_weights: FactorWeights::default(),
            fundamentals: match (&self.fundamentals, &self.fundamentals_as_of) {
                (Some(path), Some(as_of)) => Some(FundamentalsSource {
                    path: path.clone(),
                    as_of: parse_instant(as_of, false, "--fundamentals-as-of")?,
                }),
                _ => None,
            },
            dqn_model: self.dqn_model.clone(),
        })
    }
}

/// `pulse agents backtest`
#[derive(Debug, Args)]
pub struct AgentsBacktestArgs {
    /// The agents and the universe.
    #[command(flatten)]
    pub set: AgentSetArgs,
    /// First bar evaluated (YYYY-MM-DD or RFC 3339; default: once every agent has warmed up).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last bar evaluated (YYYY-MM-DD: through that day, or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// More ensemble thresholds to run next to --threshold (comma-separated); every one counts
    /// as a configuration tried in the deflated Sharpe.
    #[arg(long, value_delimiter = ',', value_name = "T")]
    pub also_thresholds: Vec<f64>,
    /// Cash, costs, fills, rounding, risk-free rate (the Pulse-only flags are refused).
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `pulse agents …`.
pub async fn run(app: &App, cmd: AgentsCommand) -> anyhow::Result<()> {
    match cmd {
        AgentsCommand::Backtest(args) => backtest(app, *args).await,
        AgentsCommand::TrainDqn(args) => train_dqn(app, args).await,
        AgentsCommand::Signal(args) => signal(app, args).await,
    }
}

#[cfg(not(feature = "deep"))]
async fn train_dqn(_app: &App, _args: TrainDqnArgs) -> anyhow::Result<()> {
    Err(crate::app::usage(
        "built without deep learning: cargo build --features deep (pulse agents train-dqn)",
    ))
}

#[cfg(feature = "deep")]
async fn train_dqn(app: &App, args: TrainDqnArgs) -> anyhow::Result<()> {
    use crate::output::bar;
    use pulse_app::agents_dqn::TrainDqnRequest;
    use pulse_app::agents_dqn::{DqnConfig, SellReward};
    let request = TrainDqnRequest {
        symbols: parse_symbols(&args.symbols, "--symbols")?,
        from: parse_optional_instant(args.from.as_deref(), false, "--from")?,
        to: parse_instant(&args.to, true, "--to")?,
        config: DqnConfig {
            episodes: args.episodes,
            seed: args.seed,
            target_sync: args.target_sync,
            sell_reward: match args.sell_reward {
                SellRewardArg::Spec => SellReward::Spec,
                SellRewardArg::Negated => SellReward::Negated,
            },
            ..DqnConfig::default()
        },
        out: args.out.clone(),
    };
    let store = app.store().await?;
    let (cancel, ctrl_c) = crate::app::ctrl_c_flag();
    let pb = bar(app.progress(), args.episodes as u64, "episodes");
    let progress = |p: &pulse_app::agents_dqn::TrainProgress| {
        pb.set_position((p.episode + usize::from(p.episode_done)) as u64);
        pb.set_message(format!("ε {:.3}", p.epsilon));
    };
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::block_in_place(|| {
        handle.block_on(pulse_app::agents_dqn::train_dqn(
            &store, &request, progress, &cancel,
        ))
    });
    pb.finish_and_clear();
    ctrl_c.abort();
    let outcome = outcome?;
    if app.json {
        return print_json(&outcome);
    }
    let series: Vec<String> = outcome
        .series
        .iter()
        .map(|s| format!("{} ({} closes)", s.symbol, s.closes))
        .collect();
    let r = &outcome.report;
    match &outcome.model {
        Some(dir) => outln!(
            "DQN trained on {}: {} episodes, {} steps, {} replays, {} target syncs, final ε {:.3} → {}",
            series.join(", "),
            r.episodes_run,
            r.steps,
            r.replays,
            r.target_syncs,
            r.final_epsilon,
            dir.display()
        )?,
        None => {
            outln!(
                "interrupted after {} episode(s): nothing was saved",
                r.episodes_run
            )?;
            return Err(anyhow::Error::new(pulse_app::AppError::Interrupted));
        }
    }
    if let Some(v) = &outcome.version {
        outln!("{}", crate::commands::ml::version_line(v))?;
    }
    let rows: Vec<Vec<String>> = r
        .total_reward
        .iter()
        .zip(&r.mean_loss)
        .enumerate()
        .map(|(i, (reward, loss))| {
            vec![
                (i + 1).to_string(),
                format!("{reward:.2}"),
                loss.map_or("—".into(), |l| format!("{l:.4}")),
            ]
        })
        .collect();
    print_table(&["episode", "reward (pp)", "mean loss"], &rows)
}

async fn backtest(app: &App, args: AgentsBacktestArgs) -> anyhow::Result<()> {
    let request = AgentsBacktestRequest {
        set: args.set.set()?,
        from: parse_optional_instant(args.from.as_deref(), false, "--from")?,
        to: parse_optional_instant(args.to.as_deref(), true, "--to")?,
        settings: run_settings(&args.run)?,
        more_thresholds: args.also_thresholds.clone(),
    };
    let store = app.store().await?;
    let outcome = pulse_app::agents::backtest(&store, &request).await?;
    if app.json {
        return print_json(&outcome);
    }
    print_outcome(&outcome)
}

fn print_outcome(o: &AgentsBacktestOutcome) -> anyhow::Result<()> {
    let symbols: Vec<String> = o.symbols.iter().map(ToString::to_string).collect();
    let agents: Vec<&str> = o.agents.iter().map(|a| a.as_str()).collect();
    outln!(
        "agents {} on {} (daily, {}) from {} to {}; act when confidence > {}; {}",
        agents.join("+"),
        symbols.join(", "),
        o.currency.as_str(),
        o.from,
        o.to,
        o.ensemble.threshold,
        o.risk_free
    )?;
    let metrics: Vec<serde_json::Value> = o
        .runs
        .iter()
        .map(|r| serde_json::to_value(&r.metrics))
        .collect::<Result<_, _>>()?;
    let columns: Vec<(&str, Option<&serde_json::Value>)> = o
        .runs
        .iter()
        .zip(&metrics)
        .map(|(r, m)| (r.name.as_str(), Some(m)))
        .collect();
    print_metrics(&columns, &SUMMARY)?;
    let rows: Vec<Vec<String>> = o
        .runs
        .iter()
        .filter_map(|r| {
            let stats = r.stats.as_ref()?;
            let weights = r
                .final_weights
                .as_ref()?
                .iter()
                .map(|(k, w)| format!("{} {:.2}", k.as_str(), w))
                .collect::<Vec<_>>()
                .join(", ");
            Some(vec![
                r.name.clone(),
                stats.decisions.to_string(),
                stats.entries.to_string(),
                stats.exits.to_string(),
                stats.below_threshold.to_string(),
                weights,
            ])
        })
        .collect();
    print_table(
        &[
            "strategy",
            "decisions",
            "entries",
            "exits",
            "held back",
            "final weights",
        ],
        &rows,
    )?;
    if let Some(c) = &o.factor_coverage {
        let scored: Vec<String> = c
            .scored
            .iter()
            .map(|(f, syms)| format!("{f:?} {}", syms.len()).to_lowercase())
            .collect();
        let fundamentals = match (c.fundamentals_as_of, c.fundamentals_first_used) {
            (None, _) => "no fundamentals given: momentum only".to_string(),
            (Some(a), None) => {
                format!("fundamentals as of {a} never in force (the run ended before)")
            }
            (Some(a), Some(u)) => format!("fundamentals as of {a}, used from {u}"),
        };
        outln!(
            "factors with data (symbols scored): {}; {fundamentals}",
            if scored.is_empty() {
                "none".to_string()
            } else {
                scored.join(", ")
            }
        )?;
    }
    if let Some(d) = &o.deflation {
        outln!(
            "deflated Sharpe of the ensemble over {} configurations: {:.3}",
            d.configurations,
            d.deflated_sharpe
        )?;
    }
    Ok(())
}

async fn signal(app: &App, args: AgentSetArgs) -> anyhow::Result<()> {
    let request = AgentsSignalRequest { set: args.set()? };
    let store = app.store().await?;
    let outcome = pulse_app::agents::signal(&store, &request).await?;
    if app.json {
        return print_json(&outcome);
    }
    print_signal(&outcome)
}

fn print_signal(o: &AgentsSignalOutcome) -> anyhow::Result<()> {
    let weights: Vec<String> = o
        .weights
        .iter()
        .map(|(k, w)| format!("{} {w:.2}", k.as_str()))
        .collect();
    outln!(
        "as of {} (weights learned from {}): {}; act when |score| > {}",
        o.as_of,
        o.learned_from,
        weights.join(", "),
        o.threshold
    )?;
    let kinds: Vec<_> = o.weights.keys().copied().collect();
    let mut header = vec!["symbol", "bar"];
    header.extend(kinds.iter().map(|k| k.as_str()));
    header.extend(["score", "action", "holding"]);
    let rows: Vec<Vec<String>> = o
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![r.symbol.to_string(), r.bar.clone()];
            row.extend(kinds.iter().map(|k| match r.signals.get(k) {
                Some(s) => format!("{} {:.2}", action_name(s.action), s.confidence),
                None => "—".into(),
            }));
            row.push(format!("{:+.3}", r.score));
            row.push(action_name(r.action).to_string());
            row.push(if r.holding { "yes" } else { "no" }.to_string());
            row
        })
        .collect();
    print_table(&header, &rows)?;
    // A symbol whose last bar is older than the universe's was scored with the weights then.
    for r in o.rows.iter().filter(|r| r.weights != o.weights) {
        let w: Vec<String> = r
            .weights
            .iter()
            .map(|(k, w)| format!("{} {w:.2}", k.as_str()))
            .collect();
        outln!(
            "{} was scored at its last bar {} with the weights then: {}",
            r.symbol,
            r.bar,
            w.join(", ")
        )?;
    }
    Ok(())
}

fn action_name(a: pulse_agents::Action) -> &'static str {
    match a {
        pulse_agents::Action::Buy => "buy",
        pulse_agents::Action::Sell => "sell",
        pulse_agents::Action::Hold => "hold",
    }
}
