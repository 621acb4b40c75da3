//! Command-line definitions (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Portfolio Pulse: collect market data, compute indicators, backtest, optimize and rebalance.
#[derive(Debug, Parser)]
#[command(name = "pulse", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The store: a SQLite database file (default: $XDG_DATA_HOME/pulse/pulse.db, seeded with
    /// the bundled sample data on first use), `sqlite:PATH`, or a PostgreSQL database
    /// `postgres://user:password@host:port/database` (its password is never printed).
    #[arg(long, global = true, env = "PULSE_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// Configuration file (TOML; default: $XDG_CONFIG_HOME/pulse/config.toml if it exists).
    #[arg(long, global = true, env = "PULSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Machine-readable JSON output on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Market data: import, fetch, list, show, check, export, resample, sectors.
    #[command(subcommand)]
    Data(DataCommand),
    /// Technical indicators over a CSV file or a stored series.
    Ta(TaArgs),
    /// Backtest the Pulse strategy (default: bundled TSLA + TSLL, $100,000, 0.1 % per side)
    /// against buy-and-hold TSLA, buy-and-hold TSLL and a monthly 50/50 mix.
    Backtest(BacktestArgs),
    /// Replay a recent period day by day as if live, printing each decision and alert.
    Simulate(SimulateArgs),
    /// Strategies: show the shipped rule sets.
    #[command(subcommand)]
    Strategy(StrategyCommand),
    /// The risk layer's settings: show them, store the team's settings (applied with `--risk`
    /// and by the dashboard), reset them to the defaults.
    #[command(subcommand)]
    Risk(RiskCommand),
    /// Recorded runs (backtests and simulations), newest first.
    Runs(RunsArgs),
    /// Portfolio construction: optimize weights, turn them into whole shares.
    #[command(subcommand)]
    Portfolio(PortfolioCommand),
    /// The MP/Sub-MP rebalancing engine (SPEC §6).
    #[command(subcommand)]
    Rebalance(RebalanceCommand),
    /// The clock the scheduler runs on: the wall clock, or a simulated one ("time travel").
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Trading runners: the strategy on bars as they close by the clock, orders through a broker
    /// (paper today), journaled before they are sent.
    #[command(subcommand)]
    Trade(TradeCommand),
    /// The real-time collector: poll quotes (and order books) for a symbol list or the top-N by
    /// volume once a second into the quote cache (Redis with --redis / [cache] redis_url, with a
    /// 60-second time to live), until Ctrl-C or --ticks.
    Collect(CollectArgs),
    /// The latest quotes in the quote cache (Redis), as the collector left them.
    Quotes(QuotesArgs),
    /// The macro prompt the chat model answers with the day's MP/Sub-MP view: show, list the
    /// versions, save a new one, run it (PULSE_LLM_BASE_URL, PULSE_LLM_MODEL, PULSE_LLM_API_KEY).
    #[command(subcommand)]
    Prompt(PromptCommand),
    /// The scheduler: every --every seconds, run what is due by the clock (time travel drives
    /// it): the rebalancer's 08:30 intake and 09:40 execution on trading days, and a catch-up of
    /// every running paper trading runner. Until Ctrl-C or --ticks.
    Schedule(ScheduleArgs),
    /// Search the Pulse thresholds on all cores (grid, random or TPE), with walk-forward
    /// validation and overfitting statistics (deflated Sharpe, PBO).
    Sweep(SweepArgs),
    /// The dashboard: recorded runs, the rebalancing admin with time travel, and a JSON API
    /// (`/api/openapi.json`), on 127.0.0.1 unless told otherwise; log in with the access token.
    Serve(ServeArgs),
    /// The daily portfolio pipeline (SPEC §5): sync the KIS account, read the manual-assets
    /// sheet, FX, the eight strategies' targets and the KRW analysis table (`run`), print or
    /// export a stored day's table (`report`).
    #[command(subcommand)]
    Pipeline(crate::commands::pipeline::PipelineCommand),
    /// The ML pipeline: features and labels from stored 1-minute bars, LightGBM training with a
    /// time split and an embargo, out-of-sample evaluation, the recorded runs (`train` and
    /// `evaluate` need a build with `--features ml`).
    #[command(subcommand)]
    Ml(crate::commands::ml::MlCommand),
    /// The trading agents of SPEC §4 (technical, factor, DQN) and their adaptive ensemble:
    /// train the DQN (needs a build with `--features deep`), backtest the agents through the engine.
    #[command(subcommand)]
    Agents(crate::commands::agents::AgentsCommand),
    /// The economic-cycle model: a Transformer over monthly macro features classifying
    /// Expansion / Overheat / Recession / Recovery (needs a build with `--features deep`).
    #[command(subcommand)]
    Cycle(crate::commands::cycle::CycleCommand),
    /// N-BEATS return forecasts per asset: annualised expected returns for the optimizer's
    /// forecast strategies, with out-of-sample accuracy against naive and EWMA forecasts (needs a
    /// build with `--features deep`).
    #[command(subcommand)]
    Forecast(crate::commands::forecast::ForecastCommand),
}

/// Where quotes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuoteSourceArg {
    /// Stored bars replayed by the clock (offline, real data): the close of the last bar closed.
    Replay,
    /// KIS Open API quotes, order books and volume ranking (keys from KIS_APP_KEY,
    /// KIS_APP_SECRET, KIS_ACCOUNT; --mode picks the paper or real host).
    Kis,
}

/// `pulse collect`
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Symbols to poll (comma-separated or repeated).
    #[arg(
        long,
        value_delimiter = ',',
        required_unless_present = "top",
        conflicts_with = "top"
    )]
    pub symbols: Vec<String>,
    /// Poll the source's N most traded symbols instead (ranked once, at the start).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// The quote source.
    #[arg(long, value_enum, default_value = "replay")]
    pub source: QuoteSourceArg,
    /// The live source's paper or real host.
    #[arg(long, value_enum, default_value = "paper")]
    pub mode: ModeArg,
    /// Bar size the replay source reads (1m, 15m, 1h, 1d).
    #[arg(long, default_value = "1m")]
    pub timeframe: String,
    /// Replay from this instant (date or RFC 3339) instead of the product's clock, moving
    /// --speed times as fast as the wall clock.
    #[arg(long)]
    pub start: Option<String>,
    /// Replayed seconds per second with --start (1 = real time, 60 = a minute a second).
    #[arg(long, default_value_t = 1.0, requires = "start")]
    pub speed: f64,
    /// Seconds between two polls (at least 0.05).
    #[arg(long, default_value_t = 1.0)]
    pub every: f64,
    /// Seconds a cached quote lives (at least 1).
    #[arg(long, default_value_t = 60)]
    pub ttl: u64,
    /// Also cache order books of this many levels a side.
    #[arg(long, value_name = "LEVELS")]
    pub depth: Option<usize>,
    /// Stop after this many polls (default: until Ctrl-C).
    #[arg(long)]
    pub ticks: Option<u64>,
    /// The Redis quote cache (else [cache] redis_url or PULSE_REDIS_URL; without one the quotes
    /// stay in this process and are printed at the end).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Key prefix in Redis (keys are PREFIX:price:SYMBOL).
    #[arg(long, default_value = "realtime")]
    pub prefix: String,
    /// Also build 1-minute OHLCV bars from the polled quotes and store each finished minute
    /// (never a half-finished one, never over a stored bar), for `pulse trade run` on 1m.
    #[arg(long)]
    pub bars: bool,
}

/// `pulse prompt`
#[derive(Debug, Subcommand)]
pub enum PromptCommand {
    /// Print a version (the latest by default).
    Show {
        /// The version number (from `pulse prompt versions`).
        #[arg(value_name = "VERSION")]
        number: Option<u32>,
    },
    /// Every saved version with its time and first line.
    Versions,
    /// Save the prompt in FILE as a new version.
    Set {
        /// A text file.
        file: PathBuf,
    },
    /// Run a version (the latest by default) against the chat model; the answer, parsed and
    /// checked as a signal.
    Run {
        /// The version number (from `pulse prompt versions`).
        #[arg(value_name = "VERSION")]
        number: Option<u32>,
        /// Submit a valid answer as today's signal.
        #[arg(long)]
        submit: bool,
    },
    /// Show, turn on or turn off the 08:30 run of the prompt by the scheduler (`pulse schedule`,
    /// `pulse serve --schedule-every`): on trading days its valid answer is submitted as the
    /// day's signal before the rebalancer's intake.
    Schedule {
        /// `on`, `off`, or `show` (the default).
        #[arg(value_enum, default_value_t = ScheduleSwitch::Show)]
        switch: ScheduleSwitch,
        /// With `on`: the version to run (default: the latest saved at each run).
        #[arg(value_name = "VERSION")]
        number: Option<u32>,
    },
}

/// `pulse prompt schedule`'s switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScheduleSwitch {
    /// Run the prompt at 08:30 on trading days.
    On,
    /// Stop running it.
    Off,
    /// Print the schedule.
    Show,
}

/// `pulse schedule`
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Seconds between two ticks.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub every: u64,
    /// Stop after this many ticks (default: until Ctrl-C).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub ticks: Option<u64>,
}

/// `pulse quotes`
#[derive(Debug, Args)]
pub struct QuotesArgs {
    /// Symbols to show (comma-separated or repeated).
    #[arg(value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// The Redis quote cache (else [cache] redis_url or PULSE_REDIS_URL).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Key prefix in Redis.
    #[arg(long, default_value = "realtime")]
    pub prefix: String,
}

/// `pulse serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one). Anything but loopback should sit behind
    /// a TLS proxy.
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub bind: std::net::SocketAddr,
    /// The access-token file (created with a new token, mode 0600, when missing). Default:
    /// `<config dir>/pulse/server-token`.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The Redis quote cache the overview's live quotes read (else [cache] redis_url or
    /// PULSE_REDIS_URL; `pulse collect --redis` fills it).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Key prefix in Redis.
    #[arg(long, default_value = "realtime")]
    pub redis_prefix: String,
    /// Symbols the overview's live quotes show (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub quote_symbols: Vec<String>,
    /// Run the scheduler inside the server every SECONDS (the rebalancer's 08:30/09:40 jobs and
    /// the running paper runners' catch-up, by the clock; as `pulse schedule`).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub schedule_every: Option<u64>,
}

/// `pulse sweep`
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Common backtest settings (data, costs, starting account, base rule set).
    #[command(flatten)]
    pub run: RunArgs,
    /// Strategy to tune (`pulse`).
    #[arg(long, default_value = "pulse")]
    pub strategy: String,
    /// A parameter range `name=lo:hi:step` (or `name=lo:hi`, `name=v`). Names are TOML paths of
    /// the rule set (`overbought.rsi`, `indicators.rsi_period`) or aliases: rsi_high, rsi_low,
    /// rsi_fast_low, rsi_extreme, vix_high, greed_extreme, bbands_k, sma_fast, sma_slow.
    #[arg(long = "param", required = true)]
    pub params: Vec<String>,
    /// A constraint between parameters, e.g. "rsi_low < rsi_high" (repeatable).
    #[arg(long = "constraint")]
    pub constraints: Vec<String>,
    /// What to maximize.
    #[arg(long, value_enum, default_value_t = pulse_app::sweep::Objective::Sharpe)]
    pub objective: pulse_app::sweep::Objective,
    /// Search method.
    #[arg(long, value_enum, default_value_t = pulse_app::sweep::SearchMethod::Grid)]
    pub method: pulse_app::sweep::SearchMethod,
    /// Trial budget (per walk-forward fold when --walk-forward is given). Each trial is a distinct
    /// point; a grid with more points than the budget is sampled uniformly at random (--seed).
    #[arg(long, default_value_t = 10_000)]
    pub budget: u64,
    /// Seed of random/TPE searches and of the sample of a grid larger than the budget.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Walk-forward validation: train=504,test=126[,step=N][,mode=rolling|anchored].
    #[arg(long)]
    pub walk_forward: Option<String>,
    /// Blocks of the CSCV split for the probability of backtest overfitting (even).
    #[arg(long, default_value_t = 16)]
    pub pbo_blocks: usize,
    /// Rows of the top table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Store every finished trial under this study name and resume it: a re-run (after Ctrl-C,
    /// or with a larger --budget) continues without redoing stored trials. The study's settings
    /// (parameters, constraints, objective, method, seed, data window) must not change.
    #[arg(long)]
    pub study: Option<String>,
    /// Keep the --study in Optuna's schema on this PostgreSQL database and share it: every
    /// `pulse sweep --storage URL --study NAME` (other processes or machines, Python Optuna
    /// workers) runs trials of the same study until its budget is reached. Open it with
    /// `optuna-dashboard URL`.
    #[arg(long, value_name = "postgres://…", requires = "study")]
    pub storage: Option<String>,
    /// With --storage: seconds between the heartbeats of this worker's running trials.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub heartbeat: f64,
    /// With --storage: a running trial without a heartbeat for this many seconds belongs to a
    /// dead worker: it is failed and re-queued.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub grace: f64,
    /// Write an HTML report of the best parameters (equity vs benchmarks, trades, weights,
    /// metrics; IN-SAMPLE) with the search results, importance, walk-forward folds and heatmaps.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// `pulse clock …`
#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Print the current time (simulated if set).
    Now,
    /// Travel to a time, e.g. 2025-03-04T08:30+09:00.
    Set {
        /// RFC 3339 time with offset.
        time: String,
    },
    /// Move forward: `1d` = the next day at 08:00 (calendar time zone), `2d`, `90m`, `3h`.
    Advance {
        /// Amount.
        by: String,
    },
    /// Back to the wall clock.
    Reset,
}

/// `pulse rebalance …`
#[derive(Debug, Subcommand)]
pub enum RebalanceCommand {
    /// Replay a dated history of MP/Sub-MP signals day by day (08:30 intake, 09:40 execution)
    /// through the rebalancing state machine, a paper broker and the real prices in the store.
    Simulate(RebalanceSimulateArgs),
    /// Set up the paper account and the schedule's calendar (once; later calls change nothing
    /// unless --force).
    Init {
        /// Starting cash of the paper account.
        #[arg(long, default_value = "100000")]
        cash: String,
        /// Exchange calendar of the schedule (08:30 intake, 09:40 execution, local time).
        #[arg(long, value_enum, default_value_t = pulse_app::rebalance::Calendar::Krx)]
        calendar: pulse_app::rebalance::Calendar,
        /// Commission per side.
        #[arg(long, default_value = "0.001")]
        commission: String,
        /// Start over, discarding state and account.
        #[arg(long)]
        force: bool,
    },
    /// Submit the macro view: MP and/or Sub-MP, observed at each 08:30 intake until replaced.
    Signal {
        /// A JSON signal file ({"mp":{…},"sub_mp":{…}}).
        #[arg(long, conflicts_with_all = ["mp", "sub_mp"])]
        file: Option<PathBuf>,
        /// Class weights, e.g. stocks=0.6,bonds=0.3,cash=0.1.
        #[arg(long)]
        mp: Option<String>,
        /// Securities of a class, e.g. stocks=SPY,QQQ; repeat per class.
        #[arg(long = "sub-mp")]
        sub_mp: Vec<String>,
        /// How --sub-mp securities are weighted inside their class: equally, or by liquidity
        /// (average daily dollar volume, close × volume, over the last --liquidity-days stored
        /// bars), resolved into explicit weights when the signal is submitted.
        #[arg(long, value_enum, default_value_t = pulse_app::rebalance::Weighting::Equal)]
        weighting: pulse_app::rebalance::Weighting,
        /// Window of the liquidity rule, in trading days.
        #[arg(long, default_value_t = 20)]
        liquidity_days: u32,
    },
    /// Holdings, targets, pending signals with day counts, the active plan and its step.
    Status,
    /// Run what is due now by the clock (intake at 08:30, execution at 09:40 on trading days).
    Run,
    /// The audit log of every decision.
    History {
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `pulse rebalance simulate`
#[derive(Debug, Args)]
pub struct RebalanceSimulateArgs {
    /// JSON Lines: one observation per line, holding from its date until the next line, e.g.
    /// {"date":"2024-03-04","mp":{"stocks":0.6,"bonds":0.4},"sub_mp":{"stocks":{"SPY":1.0},"bonds":["TLT"]}}
    #[arg(long, value_name = "FILE.jsonl")]
    pub signals: PathBuf,
    /// First trading day.
    #[arg(long)]
    pub from: String,
    /// Last trading day.
    #[arg(long)]
    pub to: String,
    /// Trading-day calendar.
    #[arg(long, value_enum, default_value_t = pulse_app::rebalance::Calendar::Nyse)]
    pub calendar: pulse_app::rebalance::Calendar,
    /// Starting cash.
    #[arg(long, default_value = "100000")]
    pub cash: String,
    /// Commission per side (fraction of notional).
    #[arg(long, default_value = "0.001")]
    pub commission: String,
    /// Split the plan equally over the days (1/N) instead of 30/20/20/20/rest.
    #[arg(long)]
    pub equal_split: bool,
    /// Write an HTML report (NAV, trades).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// `pulse portfolio …`
#[derive(Debug, Subcommand)]
pub enum PortfolioCommand {
    /// Target weights by mean-variance optimization, HRP, blends and simple rules.
    Optimize(OptimizeArgs),
    /// Optimize, then turn the weights into whole shares for an amount of cash.
    Allocate(AllocateArgs),
    /// Walk-forward comparison: re-optimize on a trailing window at each rebalancing date,
    /// trade with the engine's costs, one NAV per strategy.
    Backtest(PortfolioBacktestArgs),
}

/// `pulse portfolio backtest`
#[derive(Debug, Args)]
pub struct PortfolioBacktestArgs {
    /// Comma-separated symbols (stored daily series).
    #[arg(long, value_delimiter = ',', required_unless_present = "universe")]
    pub symbols: Vec<String>,
    /// A file listing the symbols.
    #[arg(long, conflicts_with = "symbols")]
    pub universe: Option<PathBuf>,
    /// Strategies: `all` (the eight of SPEC §5) or a comma list of min-vol, max-sharpe, hrp,
    /// blend, min-vol-forecast, max-sharpe-forecast, hrp-forecast, blend-forecast, inverse-vol,
    /// erc, equal.
    #[arg(long, default_value = "all")]
    pub strategies: String,
    /// Rebalancing schedule.
    #[arg(long, value_enum, default_value_t = pulse_app::portfolio::RebalancePeriod::Monthly)]
    pub rebalance: pulse_app::portfolio::RebalancePeriod,
    /// Trailing window of daily closes each optimization sees.
    #[arg(long, default_value_t = 252)]
    pub lookback: usize,
    /// First date to evaluate (default: as soon as the lookback window is full).
    #[arg(long)]
    pub from: Option<String>,
    /// Last date to evaluate.
    #[arg(long)]
    pub to: Option<String>,
    /// Starting cash.
    #[arg(long, default_value = "100000")]
    pub cash: String,
    /// Commission per side (fraction of notional).
    #[arg(long, default_value = "0.001")]
    pub commission: String,
    /// Annual risk-free rate (fraction) for max-Sharpe and the metrics.
    #[arg(long, default_value_t = 0.02)]
    pub rf: f64,
    /// Write the HTML report here.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Also write every strategy's replay as CSV into this directory: equity.csv, weights.csv
    /// and trades.csv (created when missing; all files or none).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
}

/// `pulse portfolio optimize`
#[derive(Debug, Args, Clone)]
pub struct OptimizeArgs {
    /// Comma-separated symbols (stored daily series; adjusted closes are used when present).
    #[arg(long, value_delimiter = ',', required_unless_present = "universe")]
    pub symbols: Vec<String>,
    /// A file listing the symbols (commas, spaces or one per line; `#` comments).
    #[arg(long, conflicts_with = "symbols")]
    pub universe: Option<PathBuf>,
    /// First date of the price window.
    #[arg(long)]
    pub from: Option<String>,
    /// Last date of the price window.
    #[arg(long)]
    pub to: Option<String>,
    /// Construction method.
    #[arg(long, value_enum, default_value_t = pulse_app::portfolio::Method::MaxSharpe)]
    pub method: pulse_app::portfolio::Method,
    /// Expected-return model.
    #[arg(long, value_enum, default_value_t = pulse_app::portfolio::Returns::Mean)]
    pub returns: pulse_app::portfolio::Returns,
    /// Risk model.
    #[arg(long, value_enum, default_value_t = pulse_app::portfolio::Risk::LedoitWolf)]
    pub risk: pulse_app::portfolio::Risk,
    /// Target annual volatility (efficient-risk) or return (efficient-return), fraction.
    #[arg(long)]
    pub target: Option<f64>,
    /// Largest weight of one asset (fraction).
    #[arg(long)]
    pub max_weight: Option<f64>,
    /// Smallest weight of one asset (fraction; default 0 = long only, negative allows shorts).
    #[arg(long, allow_hyphen_values = true)]
    pub min_weight: Option<f64>,
    /// Group (sector/asset-class) cap `NAME=SYM1+SYM2:CAP`, e.g. `equity=SPY+QQQ+IWM:0.3`
    /// (Σ of the members' weights ≤ CAP, a fraction); repeatable. Mean-variance methods only.
    #[arg(long = "group", value_name = "NAME=SYM+SYM:CAP")]
    pub groups: Vec<String>,
    /// Turnover limit τ: Σ|w − w0| ≤ τ (fraction of capital) against --current-weights.
    #[arg(long, requires = "current_weights")]
    pub turnover_limit: Option<f64>,
    /// Current weights w0 for --turnover-limit, `SYM=W,...` (fractions; unlisted symbols = 0).
    #[arg(long, requires = "turnover_limit")]
    pub current_weights: Option<String>,
    /// L2 regularization γ: adds γ‖w‖² to the objective (spreads weight over more assets).
    #[arg(long)]
    pub l2: Option<f64>,
    /// Annual risk-free rate (fraction).
    #[arg(long, default_value_t = 0.02)]
    pub rf: f64,
    /// Span in days of the exponential models.
    #[arg(long, default_value_t = 500)]
    pub span: usize,
    /// Market symbol for CAPM.
    #[arg(long)]
    pub market: Option<String>,
    /// HRP linkage.
    #[arg(long, value_enum, default_value_t = pulse_app::portfolio::Linkage::Single)]
    pub linkage: pulse_app::portfolio::Linkage,
    /// Weight of the MPT leg in a blend.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// Risk aversion of max-utility.
    #[arg(long, default_value_t = 1.0)]
    pub risk_aversion: f64,
}

/// `pulse portfolio allocate`
#[derive(Debug, Args)]
pub struct AllocateArgs {
    /// How the weights are made.
    #[command(flatten)]
    pub optimize: OptimizeArgs,
    /// Cash to invest.
    #[arg(long, default_value_t = 100_000.0)]
    pub cash: f64,
    /// Use the exact integer method (branch and bound) instead of greedy.
    #[arg(long)]
    pub exact: bool,
}

/// `pulse strategy …`
#[derive(Debug, Subcommand)]
pub enum StrategyCommand {
    /// Print a strategy's default rule set (TOML, with its documentation).
    Show {
        /// Strategy name (`pulse`).
        name: String,
    },
}

/// Which price of the next bar an order fills at.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // the variants spell the CLI values next-open, next-close, …
pub enum FillArg {
    /// Next bar's open (default).
    NextOpen,
    /// Next bar's close.
    NextClose,
    /// Next bar's typical price (H+L+C)/3, a VWAP proxy for intraday bars.
    NextTypical,
}

/// Settings shared by `backtest` and `simulate`.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Strategy rule set (TOML; default: the shipped Pulse rules, see `pulse strategy show pulse`).
    #[arg(long, value_name = "FILE")]
    pub strategy_config: Option<PathBuf>,
    /// Bar size to trade on (1d, or 1m for intraday data of both symbols).
    #[arg(long, default_value = "1d")]
    pub timeframe: String,
    /// Starting cash (account currency).
    #[arg(long, default_value = "100000")]
    pub cash: String,
    /// Start from the positions and cash rebuilt from this trade history
    /// (date,symbol,side,quantity,price,fee) instead of cash only.
    #[arg(long, value_name = "FILE.csv")]
    pub trades: Option<PathBuf>,
    /// Commission per side as a fraction of notional (0.001 = 0.1 %).
    #[arg(long, default_value = "0.001")]
    pub commission: String,
    /// Minimum commission per fill.
    #[arg(long, default_value = "0")]
    pub min_fee: String,
    /// Slippage in basis points against the trader.
    #[arg(long, default_value = "0")]
    pub slippage_bps: String,
    /// Fill price of orders.
    #[arg(long, value_enum, default_value_t = FillArg::NextOpen)]
    pub fill: FillArg,
    /// Allow fractional shares (6 decimals).
    #[arg(long)]
    pub fractional: bool,
    /// Leave a position alone when its weight is within this of its target (fraction).
    #[arg(long, default_value_t = 0.02)]
    pub drift_band: f64,
    /// Skip trades smaller than this notional.
    #[arg(long, default_value = "100")]
    pub min_trade: String,
    /// Raise an alert when a target weight moves by more than this (fraction).
    #[arg(long, default_value_t = 0.05)]
    pub alert_threshold: f64,
    /// Annual risk-free rate as a fraction for Sharpe/Sortino (default: the stored ^IRX 13-week
    /// T-bill yield when present, else 0).
    #[arg(long)]
    pub rf: Option<f64>,
    /// The risk layer between the strategy and sizing (TOML; see `pulse risk show`): leverage
    /// from VaR/CVaR, position/sector/drawdown/VaR limits, the correlation filter. Off without it.
    #[arg(long, value_name = "FILE")]
    pub risk_config: Option<PathBuf>,
    /// Apply the stored risk settings (`pulse risk set FILE`, the dashboard's risk page; the
    /// SPEC §4 defaults when none are stored).
    #[arg(long, conflicts_with = "risk_config")]
    pub risk: bool,
}

/// `pulse trade run`
#[derive(Debug, Args)]
pub struct TradeRunArgs {
    /// The runner's name.
    #[arg(long, default_value = "pulse")]
    pub name: String,
    /// The broker to trade through (alpaca: keys from APCA_API_KEY_ID and
    /// APCA_API_SECRET_KEY, APCA_API_BASE_URL overrides the host; kis: KIS_APP_KEY,
    /// KIS_APP_SECRET, KIS_ACCOUNT, KIS_BASE_URL).
    #[arg(long, value_enum, default_value = "paper")]
    pub broker: BrokerArg,
    /// The broker's paper account or real money.
    #[arg(long, value_enum, default_value = "paper")]
    pub mode: ModeArg,
    /// POST every order, fill, target change, risk event, restart and error as JSON to this
    /// webhook URL (Slack/Discord/Telegram bridges); a failing webhook never stops trading.
    #[arg(long, env = "PULSE_WEBHOOK_URL")]
    pub webhook: Option<String>,
    /// The webhook's body: json (the whole alert, with `text`), slack, discord, or telegram
    /// (the Bot API's sendMessage; needs --telegram-chat-id).
    #[arg(long, value_enum, default_value = "json")]
    pub webhook_format: WebhookFormatArg,
    /// The Telegram chat to post to (with --webhook-format telegram).
    #[arg(long, env = "PULSE_TELEGRAM_CHAT_ID")]
    pub telegram_chat_id: Option<String>,
    /// Keep running: catch up again every SECONDS (bars stored or fetched meanwhile, or the
    /// clock moved by time travel) until Ctrl-C, which stops between two steps.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub every: Option<u64>,
    /// Send marketable limit orders this many basis points through the last close (buys
    /// above, sells below) instead of market orders (default with --broker kis: 50, since
    /// KIS takes no market orders for US stocks). Used when the runner starts.
    #[arg(long, value_name = "BPS", value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub limit_offset_bps: Option<u32>,
    /// Strategy, cash, costs and risk settings (used when the runner starts).
    #[command(flatten)]
    pub run: Box<RunArgs>,
    /// Trade the agents' ensemble on `--symbols` (daily bars) instead of Pulse's rule set,
    /// with the flags of `pulse agents backtest` (used when the runner starts).
    #[command(flatten)]
    pub agents: Option<crate::commands::agents::AgentSetArgs>,
}

/// `pulse trade`
#[derive(Debug, Subcommand)]
pub enum TradeCommand {
    /// Start the runner (warm-up on the bars closed by now) or catch it up to the clock: every
    /// bar closed since its last step is decided, its orders recorded, then sent.
    Run(Box<TradeRunArgs>),
    /// The runner's state, account, orders (with status) and fills.
    Status {
        /// The runner's name.
        #[arg(long, default_value = "pulse")]
        name: String,
    },
    /// Cancel the runner's working orders and stop deciding (it still books fills).
    Stop {
        /// The runner's name.
        #[arg(long, default_value = "pulse")]
        name: String,
    },
    /// Let a stopped or halted runner decide again.
    Resume {
        /// The runner's name.
        #[arg(long, default_value = "pulse")]
        name: String,
    },
    /// Stop the runner and sell every position (through the risk layer's gate).
    Flatten {
        /// The runner's name.
        #[arg(long, default_value = "pulse")]
        name: String,
    },
}

/// Brokers a runner can trade through.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BrokerArg {
    /// The paper book: fills at the stored closes after each decision.
    Paper,
    /// Alpaca (REST v2).
    Alpaca,
    /// Korea Investment & Securities Open API (keys from KIS_APP_KEY, KIS_APP_SECRET and
    /// KIS_ACCOUNT; KIS_BASE_URL overrides the host).
    Kis,
}

/// The body a webhook gets.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum WebhookFormatArg {
    /// The whole alert as JSON, with a `text` line.
    Json,
    /// Slack: `{"text"}`.
    Slack,
    /// Discord: `{"content"}`.
    Discord,
    /// Telegram Bot API: `{"chat_id", "text"}`.
    Telegram,
}

/// Paper or real money at the broker.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ModeArg {
    /// The broker's paper account.
    Paper,
    /// Real money.
    Live,
}

/// `pulse risk`
#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Print the risk settings in effect as TOML: FILE's, else the stored ones, else the SPEC §4
    /// defaults (the first line, a comment, says which).
    Show {
        /// A risk configuration to read instead of the stored settings.
        #[arg(long, value_name = "FILE")]
        risk_config: Option<PathBuf>,
    },
    /// Store FILE's settings (TOML, as `pulse risk show` prints it) as the team's risk settings,
    /// after checking them; nothing is stored when a key is wrong.
    Set {
        /// The risk configuration to store.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Forget the stored settings: the defaults apply again.
    Reset,
}

/// `pulse backtest`
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Common settings.
    #[command(flatten)]
    pub run: RunArgs,
    /// First date to evaluate (default: as soon as both legs have warmed-up indicators).
    #[arg(long)]
    pub from: Option<String>,
    /// Last date to evaluate (default: the last common bar).
    #[arg(long)]
    pub to: Option<String>,
    /// Write the HTML report here.
    #[arg(long, default_value = "pulse-report.html", value_name = "FILE.html")]
    pub report: PathBuf,
    /// Do not write the HTML report.
    #[arg(long)]
    pub no_report: bool,
    /// Also write the run as CSV into this directory: equity.csv, weights.csv and trades.csv
    /// (every strategy; created when missing; all files or none).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
}

/// `pulse simulate`
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Common settings.
    #[command(flatten)]
    pub run: RunArgs,
    /// How far back to replay: e.g. 1y, 6m, 90d.
    #[arg(long, default_value = "1y")]
    pub last: String,
    /// POST each alert as JSON to this webhook URL (Slack/Discord/Telegram bridges).
    #[arg(long, env = "PULSE_WEBHOOK_URL")]
    pub webhook: Option<String>,
    /// The webhook's body: json (the whole alert, with `text`), slack, discord, or telegram
    /// (the Bot API's sendMessage; needs --telegram-chat-id).
    #[arg(long, value_enum, default_value = "json")]
    pub webhook_format: WebhookFormatArg,
    /// The Telegram chat to post to (with --webhook-format telegram).
    #[arg(long, env = "PULSE_TELEGRAM_CHAT_ID")]
    pub telegram_chat_id: Option<String>,
    /// Print every day, not only days with a decision, trade or alert.
    #[arg(long)]
    pub every_day: bool,
    /// Also write the run as CSV into this directory: equity.csv, weights.csv and trades.csv
    /// (every strategy; created when missing; all files or none).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
}

/// `pulse runs`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Show, compare or delete runs (without one: list the latest).
    #[command(subcommand)]
    pub action: Option<RunsCommand>,
}

/// `pulse runs show|compare|delete`
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// One run with every setting it ran with, its metrics per strategy and its alerts.
    Show {
        /// Run id (from `pulse runs`).
        id: i64,
    },
    /// Two runs side by side: headline metrics and every setting that differs.
    Compare {
        /// First run id.
        a: i64,
        /// Second run id.
        b: i64,
    },
    /// Delete a run and its alerts.
    Delete {
        /// Run id.
        id: i64,
    },
}

/// `pulse data …`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Import CSV files (or directories of them) into the store, in one transaction.
    Import(ImportArgs),
    /// Fetch bars from Yahoo Finance or Alpha Vantage into the store.
    Fetch(FetchArgs),
    /// List stored series: symbol, timeframe, rows, first and last timestamps.
    List,
    /// Print the bars of one stored series.
    Show(ShowArgs),
    /// Data-quality check of the stored series (or of CSV files), storing the findings.
    Check(CheckArgs),
    /// Export stored series to CSV or Parquet files.
    Export(ExportArgs),
    /// Resample stored intraday series to a coarser timeframe and store the result.
    Resample(ResampleArgs),
    /// Import the bundled sample data (TSLA, TSLL, VIX, Fear & Greed, TSLA splits, and the
    /// sectors of TSLA and TSLL).
    Seed,
    /// Import sector classifications from a CSV file (`symbol,sector[,industry,market_cap,source]`,
    /// e.g. data/sectors.csv), checked as a whole and stored in one transaction.
    ImportSectors(ImportSectorsArgs),
    /// List the stored sectors (symbol, sector, industry, market cap, source) and the stored
    /// tradable symbols that have none (each counts as its own sector).
    Sectors,
    /// Copy a SQLite store into an empty PostgreSQL store, in one transaction
    /// (`--from sqlite:PATH --to postgres://user@host:port/database`).
    Migrate(MigrateArgs),
}

/// `pulse data migrate`
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite store to copy: `sqlite:PATH` (or a path).
    #[arg(long, value_name = "sqlite:PATH")]
    pub from: String,
    /// The PostgreSQL store to fill (must be empty; migrated first):
    /// `postgres://user:password@host:port/database` (its password is never printed).
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// `pulse data import-sectors`
#[derive(Debug, Args)]
pub struct ImportSectorsArgs {
    /// The sectors CSV file: header `symbol,sector,industry,market_cap,source` (industry,
    /// market_cap in US dollars and source are optional columns; empty cells mean unknown).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// How intraday timestamps in a file are labelled.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BarLabelArg {
    /// Timestamps are the start of each bar (Portfolio Pulse's convention).
    Start,
    /// Timestamps are the end of each bar (some vendors): shifted back by one bar on import.
    End,
}

/// `pulse data import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV files or directories (every *.csv inside, not recursive).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Symbol to store under (default: the file name without `.csv`). Only with one file.
    #[arg(long)]
    pub symbol: Option<String>,
    /// Timeframe of the file (default: 1d for date layouts, inferred from spacing for ts layouts).
    #[arg(long)]
    pub timeframe: Option<String>,
    /// Intraday timestamp convention of the files.
    #[arg(long, value_enum, default_value_t = BarLabelArg::Start)]
    pub bar_label: BarLabelArg,
    /// Overwrite stored bars even with poorer rows (by default a stored bar that has an
    /// adj_close, a volume or an open/high/low range the file's row lacks is kept).
    #[arg(long)]
    pub replace: bool,
}

/// Data sources for `pulse data fetch`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SourceArg {
    /// Yahoo Finance chart API.
    Yahoo,
    /// Alpha Vantage (needs ALPHAVANTAGE_API_KEY in the environment).
    Alphavantage,
}

/// `pulse data fetch`
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Source to fetch from.
    #[arg(long, value_enum, default_value_t = SourceArg::Yahoo)]
    pub source: SourceArg,
    /// Comma-separated symbols.
    #[arg(long, value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// First date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub from: String,
    /// Last date (YYYY-MM-DD, inclusive; default today).
    #[arg(long)]
    pub to: Option<String>,
    /// Bar size: 1d or 1m.
    #[arg(long, default_value = "1d")]
    pub interval: String,
    /// Overwrite stored bars even with poorer rows (by default a fuller stored bar is kept).
    #[arg(long)]
    pub replace: bool,
}

/// `pulse data show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Symbol to show.
    pub symbol: String,
    /// Timeframe.
    #[arg(long, default_value = "1d")]
    pub timeframe: String,
    /// First date or timestamp (inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last date or timestamp (inclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Print at most this many bars (the last ones when --tail).
    #[arg(long)]
    pub limit: Option<usize>,
    /// With --limit, show the most recent bars.
    #[arg(long)]
    pub tail: bool,
}

/// `pulse data check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check these CSV files instead of the store (findings are printed, not stored).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only these symbols (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Intraday timestamp convention of the files.
    #[arg(long, value_enum, default_value_t = BarLabelArg::Start)]
    pub bar_label: BarLabelArg,
    /// Print every finding (default: the first 20 per series).
    #[arg(long)]
    pub all: bool,
    /// Exit with status 1 when there is any finding (for scripts and CI).
    #[arg(long)]
    pub strict: bool,
}

/// Export file formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV in the import layouts (round-trips byte for byte).
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// `pulse data export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Output directory (files go to DIR/<timeframe>/<SYMBOL>.csv|parquet).
    #[arg(long, default_value = "export")]
    pub out: PathBuf,
    /// Only these symbols (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Only this timeframe.
    #[arg(long)]
    pub timeframe: Option<String>,
}

/// `pulse data resample`
#[derive(Debug, Args)]
pub struct ResampleArgs {
    /// Target timeframe: 15m, 1h or 1d.
    #[arg(long)]
    pub to: String,
    /// Source timeframe.
    #[arg(long, default_value = "1m")]
    pub from: String,
    /// Only these symbols (comma-separated; default: every series of the source timeframe).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Overwrite stored bars of the target timeframe (by default resampled bars only fill
    /// missing ones: they are rebuilt from raw bars and must not replace source bars).
    #[arg(long)]
    pub replace: bool,
}

/// Output formats of `pulse ta`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TaFormat {
    /// CSV with one row per bar.
    Csv,
    /// A JSON array of row objects.
    Json,
}

/// `pulse ta`
#[derive(Debug, Args)]
pub struct TaArgs {
    /// Read bars from this CSV file.
    #[arg(long, conflicts_with = "symbol", value_name = "FILE.csv")]
    pub input: Option<PathBuf>,
    /// Read bars of this stored symbol.
    #[arg(long)]
    pub symbol: Option<String>,
    /// Timeframe of the stored series.
    #[arg(long, default_value = "1d")]
    pub timeframe: String,
    /// Indicator specs such as rsi:14, macd:12,26,9, bbands:20,2, sma:5, atr:14, vwap.
    #[arg(long = "indicator", short = 'i', value_name = "SPEC")]
    pub indicators: Vec<String>,
    /// Output format (default csv; --json implies json).
    #[arg(long, value_enum)]
    pub format: Option<TaFormat>,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// List the indicators and their parameters.
    #[arg(long)]
    pub list: bool,
    /// Benchmark symbol (stored, same timeframe) for `corr` and `beta`.
    #[arg(long)]
    pub benchmark: Option<String>,
    /// Intraday timestamp convention of --input.
    #[arg(long, value_enum, default_value_t = BarLabelArg::Start)]
    pub bar_label: BarLabelArg,
}

#[cfg(test)]
mod tests {
    /// Every command's arguments are consistent (unique names, no clash with `--version` or
    /// `--help`): clap checks this only when a command is parsed, so a clash would otherwise
    /// surface as a panic in front of a user.
    #[test]
    fn every_command_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
