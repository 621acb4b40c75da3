//! `pulse ml features|train|evaluate|runs`: flags → `pulse_app::ml` requests → printed outcome
//! (or `--json`). Progress bars on stderr; Ctrl-C stops cleanly (features: no further symbol
//! and no manifest; train: no model directory). `train` and `evaluate` need the cargo feature
//! `ml` (LightGBM); without it they exit 2.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use pulse_app::ml::features::{FeaturesRequest, RegimeConfig, compute_features};
use pulse_app::ml::runs::MlRun;

use crate::app::{App, usage};
use crate::commands::{parse_instant, parse_optional_instant, parse_symbols, parse_timeframe};
use crate::output::{bar, outln, print_json, print_table};

/// `pulse ml …`
#[derive(Debug, Subcommand)]
pub enum MlCommand {
    /// Compute the features (1m/15m/1h indicators, leader correlation, lead-lag, optional HMM
    /// regimes and Fear & Greed) and triple-barrier labels of stored 1-minute series into a
    /// feature directory, one symbol at a time.
    Features(FeaturesArgs),
    /// Train LightGBM on a feature directory: time split train/validation/test with an embargo,
    /// expected net return after costs and its 5 % quantile, 99.9 % importance selection
    /// (needs a build with `--features ml`).
    Train(TrainArgs),
    /// Trade the trained models on the test period only (out of sample): profit factor,
    /// expectancy, trades, hit rate, equity curve (needs a build with `--features ml`).
    Evaluate(EvaluateArgs),
    /// Recorded ML runs (train and evaluate), newest first.
    Runs(MlRunsArgs),
    /// Make a model version (a trained DQN, cycle or N-BEATS model) the champion of its kind
    /// and universe, retiring the one before.
    Promote {
        /// The version's run id (from `pulse ml runs`).
        id: u64,
    },
    /// Retire a model version.
    Retire {
        /// The version's run id (from `pulse ml runs`).
        id: u64,
    },
}

/// `pulse ml features`
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Symbols with stored 1-minute bars (comma-separated or repeated).
    #[arg(
        long,
        value_delimiter = ',',
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub symbols: Vec<String>,
    /// Every stored 1-minute series.
    #[arg(long)]
    pub all: bool,
    /// The feature directory (created when missing).
    #[arg(long, default_value = "ml-features", value_name = "DIR")]
    pub out: PathBuf,
    /// First bar (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last bar (YYYY-MM-DD: through the end of that day, or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Leader symbols for correlation and lead-lag (default: BTCUSDT and ETHUSDT when stored).
    #[arg(long, value_delimiter = ',')]
    pub leaders: Vec<String>,
    /// A stored daily series (Fear & Greed) joined as of the previous day.
    #[arg(long, value_name = "SYMBOL")]
    pub fear_greed: Option<String>,
    /// Add HMM volatility regimes fitted on the bars before this date only (it must not be after
    /// the training period's end: `train` refuses it otherwise).
    #[arg(long, value_name = "DATE")]
    pub regime_train_end: Option<String>,
    /// Bars the regime HMM reads (15m or 1h).
    #[arg(long, default_value = "15m")]
    pub regime_timeframe: String,
    /// HMM states (2 or 3).
    #[arg(long, default_value_t = 2)]
    pub regime_states: usize,
    /// Vertical barrier of the labels, in 1-minute bars.
    #[arg(long, default_value_t = 60)]
    pub horizon: usize,
    /// Base barrier multiplier in ATRs (spec §7: 1.5).
    #[arg(long, default_value_t = 1.5)]
    pub barrier_base: f64,
}

/// `pulse ml train`
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The feature directory (`pulse ml features --out`).
    #[arg(long, value_name = "DIR")]
    pub features: PathBuf,
    /// Train on these symbols of the directory only (default: all).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Model directory (default: <features>/runs/<run id>); must not exist.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Share of the data window for training.
    #[arg(long, default_value_t = 0.6)]
    pub train_fraction: f64,
    /// Share of the data window for validation (the rest, after the embargoes, is the test).
    #[arg(long, default_value_t = 0.2)]
    pub validation_fraction: f64,
    /// End of the training period (exclusive; overrides --train-fraction).
    #[arg(long, value_name = "DATE")]
    pub train_end: Option<String>,
    /// End of the validation period (exclusive; overrides --validation-fraction).
    #[arg(long, value_name = "DATE")]
    pub validation_end: Option<String>,
    /// Gap after each boundary, in minutes.
    #[arg(long, default_value_t = 120)]
    pub embargo_minutes: u32,
    /// Cost per side in the target and the figures (fraction; 0.001 = 0.1 %).
    #[arg(long, default_value_t = 0.001)]
    pub cost: f64,
    /// Boosting rounds (trees).
    #[arg(long, default_value_t = 200)]
    pub trees: u32,
    /// Leaves a tree.
    #[arg(long, default_value_t = 31)]
    pub leaves: u32,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05)]
    pub learning_rate: f64,
    /// Minimum rows in a leaf.
    #[arg(long, default_value_t = 200)]
    pub min_data_in_leaf: u32,
    /// OpenMP threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// LightGBM seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Entry threshold of the validation figures (predicted net return, fraction).
    #[arg(long, default_value_t = 0.001, allow_negative_numbers = true)]
    pub threshold: f64,
    /// TPE trials per target: accepted but not used yet (the models use the settings above).
    #[arg(long)]
    pub trials: Option<u32>,
}

/// `pulse ml evaluate`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["run", "models"])))]
pub struct EvaluateArgs {
    /// A training run id (`pulse ml runs`).
    #[arg(long)]
    pub run: Option<u64>,
    /// A model directory (`pulse ml train --out`).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Enter when the predicted net return is above this (fraction).
    #[arg(long, default_value_t = 0.001, allow_negative_numbers = true)]
    pub threshold: f64,
    /// Also require the 5 % quantile model's prediction above this (fraction).
    #[arg(long, allow_negative_numbers = true)]
    pub quantile_floor: Option<f64>,
    /// Cost per side (fraction).
    #[arg(long, default_value_t = 0.001)]
    pub cost: f64,
    /// Write the HTML report (metrics and equity curve) here.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// `pulse ml runs`
#[derive(Debug, Args)]
pub struct MlRunsArgs {
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// Runs `pulse ml …`.
pub async fn run(app: &App, cmd: MlCommand) -> anyhow::Result<()> {
    match cmd {
        MlCommand::Features(args) => features(app, args).await,
        MlCommand::Train(args) => train(app, args).await,
        MlCommand::Evaluate(args) => evaluate(app, args).await,
        MlCommand::Runs(args) => runs(app, args).await,
        MlCommand::Promote { id } => {
            let run = pulse_app::model_registry::promote(&app.store().await?, id).await?;
            stage_changed(app, &run)
        }
        MlCommand::Retire { id } => {
            let run = pulse_app::model_registry::retire(&app.store().await?, id).await?;
            stage_changed(app, &run)
        }
    }
}

/// One line saying how a trained model was recorded in the tracking store.
#[cfg(feature = "deep")]
pub(crate) fn version_line(run: &MlRun) -> String {
    let oos = match (
        run.metrics
            .get("oos_score")
            .and_then(serde_json::Value::as_f64),
        run.metrics
            .get("oos_window")
            .and_then(serde_json::Value::as_str),
    ) {
        (Some(score), Some(window)) => format!("; out-of-sample score {score:.4} over {window}"),
        _ => "; no out-of-sample score: `pulse ml promote` decides".to_string(),
    };
    format!(
        "Recorded as model version {} ({}, {}{oos}).",
        run.id,
        run.kind.as_str(),
        run.stage.map_or("-", |s| s.as_str())
    )
}

fn stage_changed(app: &App, run: &MlRun) -> anyhow::Result<()> {
    if app.json {
        return print_json(run);
    }
    Ok(outln!(
        "Model version {} ({}): {}.",
        run.id,
        run.kind.as_str(),
        run.stage.map_or("-", |s| s.as_str())
    )?)
}

async fn features(app: &App, args: FeaturesArgs) -> anyhow::Result<()> {
    let symbols = match args.all {
        true => None,
        false => Some(parse_symbols(&args.symbols, "--symbols")?),
    };
    let mut req = FeaturesRequest::new(symbols, args.out.clone());
    req.start = parse_optional_instant(args.from.as_deref(), false, "--from")?;
    req.end = parse_optional_instant(args.to.as_deref(), true, "--to")?;
    if !args.leaders.is_empty() {
        req.leaders = Some(parse_symbols(&args.leaders, "--leaders")?);
    }
    req.fear_greed = args
        .fear_greed
        .as_deref()
        .map(|s| pulse_core::Symbol::try_new(s).map_err(|e| usage(format!("--fear-greed: {e}"))))
        .transpose()?;
    if let Some(end) = &args.regime_train_end {
        req.regime = Some(RegimeConfig {
            timeframe: parse_timeframe(&args.regime_timeframe)?,
            states: args.regime_states,
            train_end: parse_instant(end, false, "--regime-train-end")?,
        });
    }
    req.labels.horizon = args.horizon;
    req.labels.base = args.barrier_base;
    let store = app.store().await?;
    let (cancel, ctrl_c) = crate::app::ctrl_c_flag();
    let pb = bar(app.progress(), 0, "symbols");
    let progress = |done: usize, total: usize, symbol: &str| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
        pb.set_message(symbol.to_string());
    };
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::block_in_place(|| {
        handle.block_on(compute_features(&store, &req, &progress, &cancel))
    });
    pb.finish_and_clear();
    ctrl_c.abort();
    let outcome = outcome?;
    if outcome.cancelled {
        anyhow::bail!(
            "interrupted after {} symbol(s): their files are in {}, but no manifest.json was written",
            outcome.manifest.symbols.len(),
            outcome.dir.display()
        );
    }
    if app.json {
        return print_json(&outcome);
    }
    let m = &outcome.manifest;
    outln!(
        "{} symbol(s), {} feature columns, leaders [{}] → {}",
        m.symbols.len(),
        m.columns.len(),
        m.leaders.join(", "),
        outcome.dir.display()
    )?;
    let rows: Vec<Vec<String>> = m
        .symbols
        .iter()
        .map(|e| {
            vec![
                e.symbol.clone(),
                e.rows.to_string(),
                e.labelled.to_string(),
                e.first.to_string(),
                e.last.to_string(),
            ]
        })
        .collect();
    print_table(&["symbol", "rows", "labelled", "first", "last"], &rows)
}

#[cfg(not(feature = "ml"))]
async fn train(_app: &App, _args: TrainArgs) -> anyhow::Result<()> {
    Err(usage("built without ML: cargo build --features ml"))
}

#[cfg(not(feature = "ml"))]
async fn evaluate(_app: &App, _args: EvaluateArgs) -> anyhow::Result<()> {
    Err(usage("built without ML: cargo build --features ml"))
}

#[cfg(feature = "ml")]
async fn train(app: &App, args: TrainArgs) -> anyhow::Result<()> {
    use pulse_app::ml::train::{TRAIN_STEPS, TrainRequest};
    let mut req = TrainRequest::new(args.features.clone());
    if !args.symbols.is_empty() {
        req.symbols = Some(parse_symbols(&args.symbols, "--symbols")?);
    }
    req.out = args.out.clone();
    req.split.train_fraction = args.train_fraction;
    req.split.validation_fraction = args.validation_fraction;
    req.split.train_end = parse_optional_instant(args.train_end.as_deref(), false, "--train-end")?;
    req.split.validation_end =
        parse_optional_instant(args.validation_end.as_deref(), false, "--validation-end")?;
    req.split.embargo_minutes = args.embargo_minutes;
    req.cost = args.cost;
    req.rule.cost = args.cost;
    req.rule.threshold = args.threshold;
    req.params.n_estimators = args.trees;
    req.params.num_leaves = args.leaves;
    req.params.learning_rate = args.learning_rate;
    req.params.min_data_in_leaf = args.min_data_in_leaf;
    req.params.num_threads = args.threads;
    req.params.seed = args.seed;
    req.trials = args.trials;
    req.validate()?;
    if args.trials.is_some() && app.progress() {
        eprintln!(
            "note: --trials is accepted but TPE tuning is not implemented yet; training with the settings given"
        );
    }
    let store = app.store().await?;
    let (cancel, ctrl_c) = crate::app::ctrl_c_flag();
    let pb = bar(app.progress(), TRAIN_STEPS as u64, "training");
    let progress = |step: &str, done: usize, total: usize| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
        pb.set_message(step.to_string());
    };
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::block_in_place(|| {
        handle.block_on(pulse_app::ml::train::train(
            &store,
            &pulse_core::WallClock,
            &req,
            &progress,
            &cancel,
        ))
    });
    pb.finish_and_clear();
    ctrl_c.abort();
    let outcome = outcome?;
    if app.json {
        return print_json(&outcome);
    }
    let m = &outcome.models;
    outln!(
        "ML run {}: trained on {} rows of {} symbol(s) → {}",
        outcome.run.id,
        m.train_rows,
        m.symbols.len(),
        outcome.models_dir.display()
    )?;
    outln!(
        "split: train {} .. {}, validation {} .. {}, test {} .. {} (embargo {} min)",
        m.split.train.start,
        m.split.train.end,
        m.split.validation.start,
        m.split.validation.end,
        m.split.test.start,
        m.split.test.end,
        m.split_config.embargo_minutes
    )?;
    outln!(
        "features kept (99.9 % of gain): expected return {}, quantile {}",
        m.expected_return.features.len(),
        m.quantile.features.len()
    )?;
    outln!("validation (threshold {}):", req.rule.threshold)?;
    print_eval(&[("validation", &outcome.validation)])
}

#[cfg(feature = "ml")]
async fn evaluate(app: &App, args: EvaluateArgs) -> anyhow::Result<()> {
    use pulse_app::ml::evaluate::{EvaluateRequest, ModelSource};
    let models = match (args.run, args.models) {
        (Some(id), _) => ModelSource::Run(id),
        (None, Some(dir)) => ModelSource::Dir(dir),
        (None, None) => return Err(usage("give --run ID or --models DIR")),
    };
    let req = EvaluateRequest {
        models,
        rule: pulse_ml::eval::EntryRule {
            threshold: args.threshold,
            quantile_floor: args.quantile_floor,
            cost: args.cost,
        },
        report: args.report.clone(),
    };
    req.rule.validate().map_err(|e| usage(e.to_string()))?;
    let store = app.store().await?;
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::block_in_place(|| {
        handle.block_on(pulse_app::ml::evaluate::evaluate(
            &store,
            &pulse_core::WallClock,
            &req,
        ))
    })?;
    if app.json {
        return print_json(&outcome);
    }
    outln!(
        "ML run {} (evaluation of run {}): test period {} .. {}, OUT OF SAMPLE, {} % costs a side",
        outcome.run.id,
        outcome.run.parent.map_or("—".into(), |p| p.to_string()),
        outcome.period.start,
        outcome.period.end,
        outcome.rule.cost * 100.0
    )?;
    let mut cols: Vec<(&str, &pulse_ml::eval::EvalMetrics)> = vec![("all", &outcome.test.metrics)];
    cols.extend(outcome.test.per_symbol.iter().map(|(s, m)| (s.as_str(), m)));
    print_eval(&cols)?;
    if let Some(path) = &args.report {
        outln!("Report: {}", path.display())?;
    }
    Ok(())
}

#[cfg(feature = "ml")]
fn print_eval(cols: &[(&str, &pulse_ml::eval::EvalMetrics)]) -> anyhow::Result<()> {
    use crate::output::fmt_opt;
    let mut header = vec!["metric"];
    header.extend(cols.iter().map(|(n, _)| *n));
    let line = |label: &str, f: &dyn Fn(&pulse_ml::eval::EvalMetrics) -> String| {
        let mut r = vec![label.to_string()];
        r.extend(cols.iter().map(|(_, m)| f(m)));
        r
    };
    let rows = vec![
        line("trades", &|m| m.trades.to_string()),
        line("profit factor", &|m| fmt_opt(m.profit_factor, false)),
        line("expectancy / trade", &|m| {
            fmt_opt(m.expectancy_pct.map(|e| e / 100.0), true)
        }),
        line("hit rate", &|m| fmt_opt(m.hit_rate, true)),
        line("Σ net return", &|m| {
            fmt_opt(Some(m.total_net_return), true)
        }),
        line("max drawdown", &|m| fmt_opt(Some(m.max_drawdown), true)),
    ];
    print_table(&header, &rows)
}

async fn runs(app: &App, args: MlRunsArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let mut list: Vec<MlRun> = pulse_app::ml::runs::list(&store).await?;
    list.truncate(args.limit);
    if app.json {
        return print_json(&list);
    }
    if list.is_empty() {
        outln!("no ML runs recorded (pulse ml train records one)")?;
        return Ok(());
    }
    let metric = |r: &MlRun, key: &str| -> String {
        let m = r
            .metrics
            .get("test")
            .or_else(|| r.metrics.get("validation"));
        match m.and_then(|m| m.get(key)) {
            Some(serde_json::Value::Number(n)) => n
                .as_u64()
                .map(|v| v.to_string())
                .or_else(|| n.as_f64().map(|v| format!("{v:.3}")))
                .unwrap_or_default(),
            _ => "—".into(),
        }
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.kind.as_str().to_string(),
                r.stage.map_or(String::new(), |s| s.as_str().to_string()),
                format!("{:?}", r.status).to_lowercase(),
                r.created_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                r.parent.map_or(String::new(), |p| p.to_string()),
                r.symbols.len().to_string(),
                metric(r, "trades"),
                metric(r, "profit_factor"),
                metric(r, "expectancy_pct"),
                r.metrics
                    .get("oos_score")
                    .and_then(serde_json::Value::as_f64)
                    .map_or(String::new(), |v| format!("{v:.3}")),
                r.artifacts.models_dir.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "id", "kind", "stage", "status", "created", "parent", "symbols", "trades", "PF",
            "exp %", "oos", "models",
        ],
        &rows,
    )
}
