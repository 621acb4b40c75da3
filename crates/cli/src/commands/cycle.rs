//! `pulse cycle train|predict` (issue 17 item 4): flags → `pulse_app::cycle` → printed outcome
//! (or `--json`). Training shows its epochs on stderr and stops cleanly on Ctrl-C (no model
//! directory). Both need the cargo feature `deep` (candle); without it they exit 2.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::app::{App, usage};

/// `pulse cycle …`
#[derive(Debug, Subcommand)]
pub enum CycleCommand {
    /// Train the Transformer on FRED-MD and the VIX history: features up to month t forecast
    /// the regime of month t + horizon; time split train/validation/test (the last 12 years)
    /// with horizon-month gaps; test accuracy against persistence and the majority class
    /// (needs a build with `--features deep`).
    Train(TrainArgs),
    /// Forecast the regime from the latest complete window with a trained model: class
    /// probabilities and the stocks/bonds/cash allocation (needs a build with `--features deep`).
    Predict(PredictArgs),
    /// The forecast's stocks/bonds/cash allocation as the rebalancer's MP signal (an alternative
    /// to the macro prompt at 08:30): checked against the rebalancer, stored with `--submit`.
    Signal(CycleSignalArgs),
}

/// `pulse cycle signal`
#[derive(Debug, Args)]
pub struct CycleSignalArgs {
    /// The model and the data to forecast from.
    #[command(flatten)]
    pub predict: PredictArgs,
    /// The rebalancer's class names for stocks, bonds and cash, in that order.
    #[arg(long, value_delimiter = ',', default_value = "stocks,bonds,cash")]
    pub classes: Vec<String>,
    /// The stocks class's securities, held in equal weight (default: its Sub-MP so far).
    #[arg(long, value_delimiter = ',')]
    pub stocks: Vec<String>,
    /// The bonds class's securities, held in equal weight (default: its Sub-MP so far).
    #[arg(long, value_delimiter = ',')]
    pub bonds: Vec<String>,
    /// Store the signal for the next 08:30 intake (default: only check it).
    #[arg(long)]
    pub submit: bool,
}

/// `pulse cycle train`
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// FRED-MD CSV (e.g. ../shared/data/macro/FRED_MD_2026-08.csv).
    #[arg(long, value_name = "FILE")]
    pub fred_md: PathBuf,
    /// VIX daily OHLCV CSV (e.g. ../shared/data/daily-ohlcv/VIX.csv).
    #[arg(long, value_name = "FILE")]
    pub vix: PathBuf,
    /// NBER recession dates CSV: reports how the labels line up with NBER recessions.
    #[arg(long, value_name = "FILE")]
    pub nber: Option<PathBuf>,
    /// Months ahead of the last input month to forecast (≥ 1).
    #[arg(long, default_value_t = 3)]
    pub horizon: usize,
    /// Months of input.
    #[arg(long, default_value_t = 60)]
    pub lookback: usize,
    /// Most epochs (early stopping on the validation loss may end sooner).
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Epochs without a better validation loss before stopping.
    #[arg(long, default_value_t = 30)]
    pub patience: usize,
    /// Seed of the weights and the batch order (same seed → same model bytes).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Encoder width.
    #[arg(long, default_value_t = 32)]
    pub d_model: usize,
    /// Attention heads (must divide --d-model).
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Encoder layers.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Test months (the last samples).
    #[arg(long, default_value_t = 144)]
    pub test_months: usize,
    /// Validation months (before the test, for early stopping).
    #[arg(long, default_value_t = 60)]
    pub validation_months: usize,
    /// The model directory to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `pulse cycle predict`
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model directory (`pulse cycle train --out`).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// FRED-MD CSV.
    #[arg(long, value_name = "FILE")]
    pub fred_md: PathBuf,
    /// VIX daily OHLCV CSV.
    #[arg(long, value_name = "FILE")]
    pub vix: PathBuf,
}

/// Runs `pulse cycle …`.
pub async fn run(app: &App, cmd: CycleCommand) -> anyhow::Result<()> {
    match cmd {
        CycleCommand::Train(args) => train(app, args).await,
        CycleCommand::Predict(args) => predict(app, args).await,
        CycleCommand::Signal(args) => signal(app, args).await,
    }
}

#[cfg(not(feature = "deep"))]
async fn signal(_app: &App, _args: CycleSignalArgs) -> anyhow::Result<()> {
    Err(usage(NO_DEEP))
}

#[cfg(feature = "deep")]
async fn signal(app: &App, args: CycleSignalArgs) -> anyhow::Result<()> {
    use crate::output::outln;
    let [stocks, bonds, cash] = <[String; 3]>::try_from(args.classes)
        .map_err(|_| usage("--classes: give three class names: stocks,bonds,cash"))?;
    let req = pulse_app::cycle::SignalRequest {
        predict: pulse_app::cycle::PredictRequest {
            model: args.predict.model,
            fred_md: args.predict.fred_md,
            vix: args.predict.vix,
        },
        classes: [stocks, bonds, cash],
        stocks: crate::commands::parse_symbols(&args.stocks, "--stocks")?,
        bonds: crate::commands::parse_symbols(&args.bonds, "--bonds")?,
        submit: args.submit,
    };
    let store = app.store().await?;
    let outcome = pulse_app::cycle::signal(&store, &req).await?;
    if app.json {
        return crate::output::print_json(&outcome);
    }
    print_prediction(&outcome.forecast.prediction)?;
    let mp = outcome
        .signal
        .mp
        .iter()
        .flatten()
        .map(|(class, w)| format!("{class} {:.0} %", w * 100.0))
        .collect::<Vec<_>>()
        .join(", ");
    outln!(
        "MP signal {}: {mp}",
        if outcome.submitted {
            "stored for the next intake"
        } else {
            "checked against the rebalancer (not stored; --submit stores it)"
        }
    )?;
    Ok(())
}

#[cfg(not(feature = "deep"))]
const NO_DEEP: &str = "built without the deep-learning models: cargo build --features deep";

#[cfg(not(feature = "deep"))]
async fn train(_app: &App, _args: TrainArgs) -> anyhow::Result<()> {
    Err(usage(NO_DEEP))
}

#[cfg(not(feature = "deep"))]
async fn predict(_app: &App, _args: PredictArgs) -> anyhow::Result<()> {
    Err(usage(NO_DEEP))
}

#[cfg(feature = "deep")]
async fn train(app: &App, args: TrainArgs) -> anyhow::Result<()> {
    use crate::output::{bar, outln};
    use pulse_app::cycle::TrainRequest;

    let mut req = TrainRequest::new(args.fred_md, args.vix, args.out);
    req.nber = args.nber;
    let c = &mut req.config;
    c.horizon = args.horizon;
    c.lookback = args.lookback;
    c.epochs = args.epochs;
    c.patience = args.patience;
    c.seed = args.seed;
    c.d_model = args.d_model;
    c.heads = args.heads;
    c.layers = args.layers;
    c.test_months = args.test_months;
    c.validation_months = args.validation_months;
    if let Err(e) = req.config.validate() {
        return Err(usage(format!("--{}", e.to_string().replace('_', "-"))));
    }
    let (cancel, ctrl_c) = crate::app::ctrl_c_flag();
    let pb = bar(app.progress(), req.config.epochs as u64, "epochs");
    let progress = |e: &pulse_app::cycle::deep::EpochReport| {
        pb.set_position(e.epoch as u64);
        pb.set_message(format!("val {:.3}", e.validation_loss));
    };
    let outcome = tokio::task::block_in_place(|| pulse_app::cycle::train(&req, &progress, &cancel));
    pb.finish_and_clear();
    ctrl_c.abort();
    let mut outcome = match outcome {
        Err(pulse_app::AppError::Interrupted) => {
            anyhow::bail!("interrupted: training stopped, no model directory was written")
        }
        other => other?,
    };
    outcome.version = Some(pulse_app::cycle::record(&app.store().await?, &req, &outcome).await?);
    if app.json {
        return crate::output::print_json(&outcome);
    }
    if let Some(v) = &outcome.version {
        outln!("{}", crate::commands::ml::version_line(v))?;
    }
    let card = &outcome.card;
    let s = &card.split;
    outln!(
        "cycle model → {} (horizon {} months, lookback {}, {} epochs run, kept epoch {})",
        outcome.dir.display(),
        card.config.horizon,
        card.config.lookback,
        card.epochs_run,
        card.best_epoch
    )?;
    outln!(
        "split (input months): train {} .. {} ({}), validation {} .. {} ({}), test {} .. {} ({}), gap {} months",
        s.train.first,
        s.train.last,
        s.train.samples,
        s.validation.first,
        s.validation.last,
        s.validation.samples,
        s.test.first,
        s.test.last,
        s.test.samples,
        s.gap_months
    )?;
    print_evaluation("validation (early stopping)", &card.validation)?;
    print_evaluation("test, OUT OF SAMPLE", &card.test)?;
    if let Some(n) = &card.nber {
        outln!(
            "labels vs NBER: {} recession months, {} labelled recession, {} below trend; {} of the recession labels fall in NBER recessions{}",
            n.nber_recession_months,
            pct(n.share_labelled_recession),
            pct(n.share_labelled_below_trend),
            pct(n.share_of_recession_labels_in_nber),
            if n.open_peaks_not_counted.is_empty() {
                String::new()
            } else {
                format!(
                    " (peaks without a trough not counted: {})",
                    n.open_peaks_not_counted
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )?;
    }
    print_prediction(&outcome.latest)
}

#[cfg(feature = "deep")]
fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.1} %", v * 100.0))
}

#[cfg(feature = "deep")]
fn print_evaluation(title: &str, e: &pulse_app::cycle::deep::Evaluation) -> anyhow::Result<()> {
    use crate::output::{outln, print_table};
    outln!("{title}: {} months", e.model.samples)?;
    let row = |name: &str, m: &pulse_app::cycle::deep::Metrics| {
        vec![
            name.to_string(),
            pct(Some(m.accuracy)),
            pct(Some(m.balanced_accuracy)),
        ]
    };
    print_table(
        &["predictor", "accuracy", "balanced accuracy"],
        &[
            row("transformer", &e.model),
            row("persistence (label at t)", &e.persistence),
            row(&format!("majority ({})", e.majority_regime), &e.majority),
        ],
    )?;
    let rows: Vec<Vec<String>> = e
        .model
        .per_class
        .iter()
        .map(|(name, c)| {
            vec![
                name.clone(),
                pct(c.precision),
                pct(c.recall),
                c.support.to_string(),
                c.predicted.to_string(),
            ]
        })
        .collect();
    print_table(
        &["regime", "precision", "recall", "months", "predicted"],
        &rows,
    )?;
    outln!(
        "confusion (rows true, columns predicted: expansion, overheat, recession, recovery): {:?}",
        e.model.confusion
    )?;
    Ok(())
}

#[cfg(feature = "deep")]
fn print_prediction(p: &pulse_app::cycle::deep::Prediction) -> anyhow::Result<()> {
    use crate::output::outln;
    outln!(
        "forecast from {} for {}: {} → stocks {:.0} %, bonds {:.0} %, cash {:.0} %",
        p.month,
        p.target_month,
        p.regime,
        p.allocation.stocks * 100.0,
        p.allocation.bonds * 100.0,
        p.allocation.cash * 100.0
    )?;
    outln!(
        "probabilities: {}; rule's label of {}: {}",
        p.probabilities
            .iter()
            .map(|(k, v)| format!("{k} {:.1} %", v * 100.0))
            .collect::<Vec<_>>()
            .join(", "),
        p.month,
        p.label_at_month.map_or("—".into(), |r| r.to_string())
    )?;
    Ok(())
}

#[cfg(feature = "deep")]
async fn predict(app: &App, args: PredictArgs) -> anyhow::Result<()> {
    use crate::output::outln;
    let req = pulse_app::cycle::PredictRequest {
        model: args.model,
        fred_md: args.fred_md,
        vix: args.vix,
    };
    let outcome = tokio::task::block_in_place(|| pulse_app::cycle::predict(&req))?;
    if app.json {
        return crate::output::print_json(&outcome);
    }
    print_prediction(&outcome.prediction)?;
    outln!(
        "the model's test accuracy when trained (out of sample): {}, persistence {}, majority {}",
        pct(Some(outcome.test_accuracy)),
        pct(Some(outcome.persistence_accuracy)),
        pct(Some(outcome.majority_accuracy))
    )?;
    Ok(())
}
