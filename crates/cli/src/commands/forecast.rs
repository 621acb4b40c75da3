//! `pulse forecast train|expected` (issue 17 item 5): N-BEATS forecasts per asset, their
//! out-of-sample accuracy (MASE against the naive and EWMA forecasts) and the annual expected
//! returns they imply. Needs a build with `--features deep`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::app::{App, usage};

/// `pulse forecast …`
#[derive(Debug, Subcommand)]
pub enum ForecastCommand {
    /// Train one N-BEATS network on the stored daily closes of the symbols up to --to, score it
    /// on the bars after it (MASE of N-BEATS, the naive zero-return forecast, the last return
    /// and the EWMA mean) and print each symbol's annual expected return at the training end and
    /// at the last stored bar (needs a build with `--features deep`).
    Train(Box<ForecastTrainArgs>),
    /// Annual expected returns of the symbols from a trained model and the stored daily closes
    /// (needs a build with `--features deep`).
    Expected(ForecastExpectedArgs),
    /// Target weights of a forecast-informed strategy of SPEC §5 (min-vol-forecast,
    /// max-sharpe-forecast, hrp-forecast, blend-forecast) with the model's N-BEATS annual
    /// expected returns in place of the EWMA stand-in of `pulse portfolio` (needs a build with
    /// `--features deep`).
    Optimize(ForecastOptimizeArgs),
}

/// `pulse forecast optimize`
#[derive(Debug, Args)]
pub struct ForecastOptimizeArgs {
    /// The model directory (from `pulse forecast train`).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The universe: at least two symbols the model was trained on.
    #[arg(long, value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// min-vol-forecast, max-sharpe-forecast, hrp-forecast or blend-forecast.
    #[arg(long, default_value = "max-sharpe-forecast")]
    pub strategy: String,
    /// Annual risk-free rate (fraction).
    #[arg(long, default_value_t = 0.02, allow_hyphen_values = true)]
    pub rf: f64,
    /// First date of the price window (covariance; default: the first stored).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last date of the price window and the date the forecasts are made at (default: the last
    /// stored).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
}

/// `pulse forecast train`
#[derive(Debug, Args)]
pub struct ForecastTrainArgs {
    /// Symbols whose daily closes are trained on (one model for all).
    #[arg(long, value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// First bar of the training period (YYYY-MM-DD; default: the first stored).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last bar of the training period (YYYY-MM-DD); the test period starts after it.
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Last bar of the test period (YYYY-MM-DD; default: the last stored).
    #[arg(long, value_name = "DATE")]
    pub test_to: Option<String>,
    /// Daily log returns the network reads, in bars.
    #[arg(long, default_value_t = 60)]
    pub lookback: usize,
    /// Daily log returns it forecasts, in bars.
    #[arg(long, default_value_t = 20)]
    pub horizon: usize,
    /// Stacks of blocks.
    #[arg(long, default_value_t = 2)]
    pub stacks: usize,
    /// Blocks per stack.
    #[arg(long, default_value_t = 3)]
    pub blocks_per_stack: usize,
    /// Fully connected ReLU layers per block.
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// Units per fully connected layer.
    #[arg(long, default_value_t = 128)]
    pub width: usize,
    /// Passes over all the training windows.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Windows per Adam step.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.001)]
    pub learning_rate: f64,
    /// Fraction of each symbol's training returns held out at its end for early stopping
    /// (0: no early stopping, every epoch runs on every window).
    #[arg(long, default_value_t = 0.2)]
    pub validation: f64,
    /// Epochs without a lower validation loss before training stops.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// Span of the EWMA baseline and stand-in, in daily returns.
    #[arg(long, default_value_t = 180.0)]
    pub ewma_span: f64,
    /// Seed of every random draw (same seed, same data: bit-identical weights).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The new model directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `pulse forecast expected`
#[derive(Debug, Args)]
pub struct ForecastExpectedArgs {
    /// The model directory (from `pulse forecast train`).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Symbols (default: every symbol the model was trained on).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Forecast at this bar (YYYY-MM-DD; default: the last stored bar).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

/// Runs `pulse forecast …`.
pub async fn run(app: &App, cmd: ForecastCommand) -> anyhow::Result<()> {
    match cmd {
        ForecastCommand::Train(args) => train(app, *args).await,
        ForecastCommand::Expected(args) => expected(app, args).await,
        ForecastCommand::Optimize(args) => optimize(app, args).await,
    }
}

#[cfg(not(feature = "deep"))]
async fn optimize(_app: &App, _args: ForecastOptimizeArgs) -> anyhow::Result<()> {
    Err(usage(
        "built without deep learning: cargo build --features deep (pulse forecast optimize)",
    ))
}

#[cfg(feature = "deep")]
async fn optimize(app: &App, args: ForecastOptimizeArgs) -> anyhow::Result<()> {
    use crate::commands::{parse_optional_instant, parse_symbols};
    use crate::output::{outln, print_json, print_table};
    use pulse_app::forecast::ForecastOptimizeRequest;

    let request = ForecastOptimizeRequest {
        model: args.model.clone(),
        symbols: parse_symbols(&args.symbols, "--symbols")?,
        strategy: args
            .strategy
            .trim()
            .parse()
            .map_err(|e: pulse_app::AppError| {
                usage(format!(
                    "--strategy {}",
                    e.to_string().trim_start_matches("strategies ")
                ))
            })?,
        rf: args.rf,
        from: parse_optional_instant(args.from.as_deref(), false, "--from")?,
        to: parse_optional_instant(args.to.as_deref(), true, "--to")?,
    };
    let store = app.store().await?;
    let outcome = pulse_app::forecast::optimize(&store, &request).await?;
    let (p, w) = (&outcome.optimized.portfolio, &outcome.optimized.window);
    if app.json {
        let weights: serde_json::Map<String, serde_json::Value> = p
            .symbols
            .iter()
            .zip(&p.weights)
            .map(|(s, x)| (s.clone(), (*x).into()))
            .collect();
        return print_json(&serde_json::json!({
            "strategy": request.strategy.as_str(),
            "weights": weights,
            "expected_return": p.expected_return,
            "volatility": p.volatility,
            "sharpe": p.sharpe,
            "return_source": "N-BEATS",
            "warnings": p.warnings,
            "window": { "first": day(w.first), "last": day(w.last), "rows": w.rows },
            "expected": outcome.expected,
        }));
    }
    outln!(
        "{} on prices {}..{} ({} common days); expected returns: N-BEATS {} at each symbol's last bar up to {}",
        request.strategy,
        day(w.first),
        day(w.last),
        w.rows,
        args.model.display(),
        day(w.last)
    )?;
    let rows: Vec<Vec<String>> = p
        .symbols
        .iter()
        .zip(&p.weights)
        .zip(&outcome.expected)
        .map(|((s, x), e)| {
            vec![
                s.clone(),
                format!("{:.2} %", 100.0 * x),
                pct(e.expected.annual),
                pct(e.expected.ewma_annual),
            ]
        })
        .collect();
    print_table(&["symbol", "weight", "N-BEATS", "EWMA"], &rows)?;
    outln!(
        "expected return {} · volatility {} · Sharpe {:.2}",
        pct(p.expected_return),
        pct(p.volatility),
        p.sharpe
    )?;
    for warning in &p.warnings {
        outln!("warning: {warning}")?;
    }
    Ok(())
}

#[cfg(not(feature = "deep"))]
async fn train(_app: &App, _args: ForecastTrainArgs) -> anyhow::Result<()> {
    Err(usage(
        "built without deep learning: cargo build --features deep (pulse forecast train)",
    ))
}

#[cfg(not(feature = "deep"))]
async fn expected(_app: &App, _args: ForecastExpectedArgs) -> anyhow::Result<()> {
    Err(usage(
        "built without deep learning: cargo build --features deep (pulse forecast expected)",
    ))
}

#[cfg(feature = "deep")]
fn pct(v: f64) -> String {
    format!("{:.2} %", 100.0 * v)
}

#[cfg(feature = "deep")]
fn day(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%d").to_string()
}

#[cfg(feature = "deep")]
async fn train(app: &App, args: ForecastTrainArgs) -> anyhow::Result<()> {
    use crate::commands::{parse_instant, parse_optional_instant, parse_symbols};
    use crate::output::{bar, outln, print_json, print_table};
    use pulse_app::forecast::{ForecastTrainRequest, NbeatsConfig, TrainProgress};

    let request = ForecastTrainRequest {
        symbols: parse_symbols(&args.symbols, "--symbols")?,
        from: parse_optional_instant(args.from.as_deref(), false, "--from")?,
        to: parse_instant(&args.to, true, "--to")?,
        test_to: parse_optional_instant(args.test_to.as_deref(), true, "--test-to")?,
        config: NbeatsConfig {
            lookback: args.lookback,
            horizon: args.horizon,
            stacks: args.stacks,
            blocks_per_stack: args.blocks_per_stack,
            layers: args.layers,
            width: args.width,
            epochs: args.epochs,
            batch_size: args.batch_size,
            learning_rate: args.learning_rate,
            validation: args.validation,
            patience: args.patience,
            seed: args.seed,
            ewma_span: args.ewma_span,
            ..NbeatsConfig::default()
        },
        out: args.out.clone(),
    };
    if request.symbols.is_empty() {
        return Err(usage("--symbols needs at least one symbol"));
    }
    let store = app.store().await?;
    let (cancel, ctrl_c) = crate::app::ctrl_c_flag();
    let pb = bar(app.progress(), args.epochs as u64, "epochs");
    let progress = |p: &TrainProgress| {
        let total = (p.epochs * p.batches) as u64;
        if pb.length() != Some(total) {
            pb.set_length(total);
        }
        pb.set_position(((p.epoch - 1) * p.batches + p.batch) as u64);
        pb.set_message(format!("loss {:.4}", p.loss));
    };
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::block_in_place(|| {
        handle.block_on(pulse_app::forecast::train(
            &store, &request, progress, &cancel,
        ))
    });
    pb.finish_and_clear();
    ctrl_c.abort();
    let outcome = outcome?;
    if outcome.model.is_none() {
        if !app.json {
            outln!(
                "interrupted in epoch {}: nothing was saved",
                outcome.report.epochs_run
            )?;
        }
        return Err(anyhow::Error::new(pulse_app::AppError::Interrupted));
    }
    if app.json {
        return print_json(&outcome);
    }
    if let Some(v) = &outcome.version {
        outln!("{}", crate::commands::ml::version_line(v))?;
    }
    let r = &outcome.report;
    let series: Vec<String> = outcome
        .series
        .iter()
        .map(|s| {
            format!(
                "{} ({} closes {}…{}, {} test closes)",
                s.symbol,
                s.train_closes,
                day(s.first),
                day(s.train_last),
                s.test_closes
            )
        })
        .collect();
    outln!(
        "N-BEATS ({} blocks of {}×{}, lookback {}, horizon {}) trained on {}: {} epochs, {} training and {} validation windows, {} Adam steps, kept epoch {} (validation MSE {}) → {}",
        outcome.config.stacks * outcome.config.blocks_per_stack,
        outcome.config.layers,
        outcome.config.width,
        outcome.config.lookback,
        outcome.config.horizon,
        series.join(", "),
        r.epochs_run,
        r.windows,
        r.validation_windows,
        r.steps,
        r.best_epoch,
        r.val_loss
            .get(r.best_epoch.wrapping_sub(1))
            .map_or("—".into(), |l| format!("{l:.4}")),
        outcome
            .model
            .as_ref()
            .map_or(String::new(), |d| d.display().to_string())
    )?;
    outln!(
        "out-of-sample MASE (lower is better; scaled by the in-sample one-step naive MAE of the daily log returns):"
    )?;
    let mut rows: Vec<Vec<String>> = outcome
        .accuracy
        .iter()
        .map(|a| match &a.accuracy {
            Some(x) => vec![
                a.symbol.to_string(),
                x.origins.to_string(),
                format!("{:.3}", x.nbeats),
                format!("{:.3}", x.naive),
                format!("{:.3}", x.last),
                format!("{:.3}", x.ewma),
            ],
            None => vec![
                a.symbol.to_string(),
                "0".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
            ],
        })
        .collect();
    if let Some(m) = &outcome.mean {
        rows.push(vec![
            format!("mean of {}", m.symbols),
            String::new(),
            format!("{:.3}", m.nbeats),
            format!("{:.3}", m.naive),
            format!("{:.3}", m.last),
            format!("{:.3}", m.ewma),
        ]);
    }
    print_table(
        &[
            "symbol",
            "origins",
            "N-BEATS",
            "naive (0)",
            "last return",
            &format!("EWMA {}", outcome.config.ewma_span),
        ],
        &rows,
    )?;
    outln!("annual expected returns:")?;
    let rows: Vec<Vec<String>> = outcome
        .expected
        .iter()
        .map(|e| {
            vec![
                e.symbol.to_string(),
                day(e.at_training_end.as_of),
                pct(e.at_training_end.annual),
                pct(e.at_training_end.ewma_annual),
                day(e.latest.as_of),
                pct(e.latest.annual),
                pct(e.latest.ewma_annual),
            ]
        })
        .collect();
    print_table(
        &[
            "symbol",
            "training end",
            "N-BEATS",
            "EWMA",
            "latest",
            "N-BEATS",
            "EWMA",
        ],
        &rows,
    )
}

#[cfg(feature = "deep")]
async fn expected(app: &App, args: ForecastExpectedArgs) -> anyhow::Result<()> {
    use crate::commands::{parse_optional_instant, parse_symbols};
    use crate::output::{outln, print_json, print_table};
    use pulse_app::forecast::ExpectedRequest;

    let symbols = parse_symbols(&args.symbols, "--symbols")?;
    let request = ExpectedRequest {
        model: args.model.clone(),
        symbols: (!symbols.is_empty()).then_some(symbols),
        as_of: parse_optional_instant(args.as_of.as_deref(), true, "--as-of")?,
    };
    let store = app.store().await?;
    let outcome = pulse_app::forecast::expected(&store, &request).await?;
    if app.json {
        return print_json(&outcome);
    }
    outln!(
        "N-BEATS {} (trained through {}, lookback {}, horizon {}): annual expected return exp(252/H · Σ forecast log returns) − 1",
        outcome.model.display(),
        outcome.trained_through.map_or("—".into(), day),
        outcome.lookback,
        outcome.horizon
    )?;
    let rows: Vec<Vec<String>> = outcome
        .rows
        .iter()
        .map(|r| {
            vec![
                r.symbol.to_string(),
                if r.in_sample {
                    format!("{} (in sample)", day(r.expected.as_of))
                } else {
                    day(r.expected.as_of)
                },
                format!("{:.4}", r.expected.horizon_log_return),
                pct(r.expected.annual),
                pct(r.expected.ewma_annual),
            ]
        })
        .collect();
    print_table(
        &["symbol", "as of", "Σ log return", "N-BEATS", "EWMA"],
        &rows,
    )
}
