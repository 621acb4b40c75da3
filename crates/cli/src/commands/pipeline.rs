//! `pulse pipeline run|report`: the daily portfolio pipeline (SPEC §5) — flags → a
//! `pulse_app::pipeline` request → the analysis table printed (or `--json`, or `--csv FILE`).
//! The binary reads the manual-assets sheet (a file, or an http(s) URL through the shared HTTP
//! client) and builds the KIS broker from the environment (KIS_APP_KEY, KIS_APP_SECRET,
//! KIS_ACCOUNT, as `pulse trade run --broker kis` does); the app takes text and ports.

use crate::app::{App, usage};
use crate::cli::ModeArg;
use crate::live::{LiveBroker, live_broker};
use crate::output::{outln, print_json, print_table};
use crate::store::AnyStore;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use pulse_app::pipeline::{self, Analysis, ManualSheet, PipelineRequest};
use pulse_app::portfolio::Preset;
use pulse_app::trade::{BrokerChoice, TradeMode};
use pulse_execution::NoBroker;
use serde::Deserialize;
use std::path::PathBuf;

/// `[pipeline]` of the configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// The manual-assets sheet: a file path or an http(s) URL of a CSV export
    /// (`pulse pipeline run` uses it when `--manual` is not given).
    pub manual: Option<String>,
    /// Local time in Seoul (`HH:MM`) after which the scheduler (`pulse schedule`, `pulse serve
    /// --schedule-every`) runs the day's pipeline, once a KRX trading day; unset: never.
    pub time: Option<String>,
    /// The broker account the scheduled run syncs: `kis` or `none` (default `none`).
    pub broker: Option<String>,
    /// Paper or live account at the broker for the scheduled run (default `paper`).
    pub mode: Option<String>,
}

/// The scheduled pipeline's settings, checked when the scheduler starts.
#[derive(Debug, Clone)]
pub struct PipelineSchedule {
    at: jiff::civil::Time,
    manual: Option<String>,
    broker: PipelineBrokerArg,
    mode: TradeMode,
}

/// The scheduled run of `[pipeline]`, or `None` without `time`; a bad setting is a usage
/// error naming it.
pub fn schedule_of(config: &PipelineConfig) -> anyhow::Result<Option<PipelineSchedule>> {
    let Some(time) = config.time.as_deref() else {
        return Ok(None);
    };
    let at = jiff::civil::Time::strptime("%H:%M", time.trim()).map_err(|_| {
        usage(format!(
            "[pipeline] time {time:?}: expected HH:MM (Seoul time)"
        ))
    })?;
    let broker = match config.broker.as_deref().map(str::trim) {
        None | Some("none") => PipelineBrokerArg::None,
        Some("kis") => PipelineBrokerArg::Kis,
        Some(other) => {
            return Err(usage(format!(
                "[pipeline] broker {other:?}: expected \"kis\" or \"none\""
            )));
        }
    };
    let mode = match config.mode.as_deref().map(str::trim) {
        None | Some("paper") => TradeMode::Paper,
        Some("live") => TradeMode::Live,
        Some(other) => {
            return Err(usage(format!(
                "[pipeline] mode {other:?}: expected \"paper\" or \"live\""
            )));
        }
    };
    Ok(Some(PipelineSchedule {
        at,
        manual: config.manual.clone(),
        broker,
        mode,
    }))
}

/// The scheduler's pipeline job: when the day's run is due ([`pipeline::claim_scheduled`]) it is
/// marked and run (the sheet read, the broker synced) and reported; `None` when not due.
pub async fn scheduled_job(
    schedule: &PipelineSchedule,
    store: &AnyStore,
) -> Option<pulse_app::schedule::JobReport> {
    let report = |ok: bool, lines: Vec<String>| pulse_app::schedule::JobReport {
        job: "pipeline".into(),
        ok,
        lines,
    };
    let date = match pipeline::claim_scheduled(store, schedule.at).await {
        Ok(Some(d)) => d,
        Ok(None) => return None,
        Err(e) => return Some(report(false, vec![e.to_string()])),
    };
    let run = async {
        let manual = match &schedule.manual {
            Some(s) => Some(ManualSheet {
                text: read_sheet(s).await?,
                source: s.clone(),
            }),
            None => None,
        };
        let request = PipelineRequest {
            date: Some(date),
            manual,
            ..PipelineRequest::default()
        };
        execute(store, &request, schedule.broker, schedule.mode).await
    };
    Some(match run.await {
        Ok(o) => report(
            true,
            vec![format!(
                "{}; total {} KRW",
                o.summary(),
                money(o.analysis.total.value_krw)
            )],
        ),
        Err(e) => report(false, vec![format!("{e:#}")]),
    })
}

/// Runs `request` syncing `broker` (KIS built from the environment).
async fn execute(
    store: &AnyStore,
    request: &PipelineRequest,
    broker: PipelineBrokerArg,
    mode: TradeMode,
) -> anyhow::Result<pipeline::PipelineOutcome> {
    Ok(match broker {
        PipelineBrokerArg::None => {
            let none: Option<&NoBroker> = None;
            pipeline::run(store, none, request).await?
        }
        PipelineBrokerArg::Kis => {
            let Some(LiveBroker::Kis(kis)) = live_broker(BrokerChoice::Kis, mode, store)? else {
                anyhow::bail!("the KIS broker could not be built");
            };
            pipeline::run(store, Some(kis.as_ref()), request).await?
        }
    })
}

/// `pulse pipeline …`
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Run the day's pipeline: sync the broker account, read the manual sheet, FX, the eight
    /// strategies' targets, the KRW analysis table; stored by date (a re-run changes nothing).
    Run(RunArgs),
    /// Print a stored day's analysis table (per holding, per asset, per class).
    Report(ReportArgs),
}

/// Which broker account to sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PipelineBrokerArg {
    /// KIS Open API (keys from KIS_APP_KEY, KIS_APP_SECRET, KIS_ACCOUNT; KIS_BASE_URL overrides
    /// the host).
    Kis,
    /// No broker: the date's stored account (if any) is kept.
    None,
}

/// `pulse pipeline run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The date (YYYY-MM-DD, KST; default today by the clock). A broker is synced only for today.
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// The manual-assets sheet: a CSV file or an http(s) URL (default `[pipeline] manual`).
    #[arg(long, value_name = "FILE|URL")]
    pub manual: Option<String>,
    /// The broker account to sync.
    #[arg(long, value_enum, default_value = "kis")]
    pub broker: PipelineBrokerArg,
    /// Paper or real account at the broker.
    #[arg(long, value_enum, default_value = "paper")]
    pub mode: ModeArg,
    /// The strategy whose weights are the table's targets (min-vol, max-sharpe, hrp, blend and
    /// their -forecast variants).
    #[arg(long, default_value = "max-sharpe")]
    pub strategy: String,
    /// Annual risk-free rate of the optimizations (fraction).
    #[arg(long, default_value_t = 0.0)]
    pub rf: f64,
    /// Trailing window of the optimizations, in calendar days.
    #[arg(long, default_value_t = pipeline::DEFAULT_LOOKBACK_DAYS)]
    pub lookback_days: i64,
}

/// `pulse pipeline report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The date (YYYY-MM-DD; default the latest run).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// Also write the per-holding table as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

fn parse_date(raw: Option<&str>) -> anyhow::Result<Option<jiff::civil::Date>> {
    raw.map(|s| {
        s.trim()
            .parse::<jiff::civil::Date>()
            .map_err(|_| usage(format!("--date {s:?}: expected YYYY-MM-DD")))
    })
    .transpose()
}

/// The sheet's text: an http(s) URL fetched through the shared HTTP client (its query, which
/// may carry a key, redacted from errors), else a file.
async fn read_sheet(source: &str) -> anyhow::Result<String> {
    let s = source.trim();
    if s.starts_with("http://") || s.starts_with("https://") {
        let url = pulse_http::Url::parse(s)
            .map_err(|e| usage(format!("--manual {:?}: not a URL: {e}", label(s))))?;
        let secrets: Vec<String> = url.query().map(|q| vec![q.to_string()]).unwrap_or_default();
        let config = pulse_http::HttpConfig {
            min_interval: std::time::Duration::ZERO,
            max_retries: 2,
            ..pulse_http::HttpConfig::default()
        };
        let client = pulse_http::HttpClient::new(config, secrets)?;
        let answer = client
            .get(url, &pulse_http::HeaderMap::new())
            .await
            .with_context(|| format!("cannot fetch the manual sheet {}", label(s)))?;
        if !answer.is_success() {
            anyhow::bail!(
                "cannot fetch the manual sheet {}: HTTP {}",
                label(s),
                answer.status
            );
        }
        String::from_utf8(answer.body)
            .map_err(|_| anyhow::anyhow!("the manual sheet {} is not UTF-8 text", label(s)))
    } else {
        let path = std::path::Path::new(s);
        if !path.is_file() {
            return Err(usage(format!("--manual {s}: no such file")));
        }
        std::fs::read_to_string(path).with_context(|| format!("cannot read {s}"))
    }
}

/// A URL without its query and fragment.
fn label(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Runs `pulse pipeline …`.
pub async fn run(app: &App, cmd: PipelineCommand) -> anyhow::Result<()> {
    match cmd {
        PipelineCommand::Run(args) => run_day(app, args).await,
        PipelineCommand::Report(args) => report(app, args).await,
    }
}

async fn run_day(app: &App, args: RunArgs) -> anyhow::Result<()> {
    let date = parse_date(args.date.as_deref())?;
    let strategy: Preset = args
        .strategy
        .parse()
        .map_err(|e: pulse_app::AppError| usage(format!("--strategy {e}")))?;
    if !Preset::SPEC.contains(&strategy) {
        return Err(usage(format!(
            "--strategy {strategy}: not one of the eight pipeline strategies ({})",
            Preset::SPEC.map(Preset::as_str).join(", ")
        )));
    }
    let source = args.manual.clone().or(app.config.pipeline.manual.clone());
    let manual = match source {
        Some(s) => Some(ManualSheet {
            text: read_sheet(&s).await?,
            source: s,
        }),
        None => None,
    };
    let request = PipelineRequest {
        date,
        manual,
        broker_name: "kis".into(),
        strategy,
        rf: args.rf,
        lookback_days: args.lookback_days,
    };
    let store = app.store().await?;
    let mode = match args.mode {
        ModeArg::Paper => TradeMode::Paper,
        ModeArg::Live => TradeMode::Live,
    };
    let outcome = execute(&store, &request, args.broker, mode).await?;
    if app.json {
        return print_json(&outcome);
    }
    outln!("pipeline {}", outcome.summary())?;
    for s in &outcome.targets.skipped {
        outln!("targets: skipped {s}")?;
    }
    print_analysis(&outcome.analysis)
}

async fn report(app: &App, args: ReportArgs) -> anyhow::Result<()> {
    let date = parse_date(args.date.as_deref())?;
    let store = app.store().await?;
    let analysis = pipeline::report(&store, date).await?;
    if let Some(path) = &args.csv {
        pulse_app::export::write_atomic(
            path,
            pulse_app::export::analysis_csv(&analysis)?.as_bytes(),
        )?;
    }
    if app.json {
        return print_json(&analysis);
    }
    print_analysis(&analysis)
}

/// Whole KRW with thousands separators.
fn money(v: f64) -> String {
    pulse_report::scale::thousands(v, 0)
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.2}%", x * 100.0)).unwrap_or_default()
}

fn opt_money(v: Option<f64>) -> String {
    v.map(money).unwrap_or_default()
}

fn print_analysis(a: &Analysis) -> anyhow::Result<()> {
    let fx: Vec<String> =
        a.fx.iter()
            .filter(|r| r.currency != "KRW")
            .map(|r| format!("{}/KRW {} ({} of {})", r.currency, r.rate, r.symbol, r.date))
            .collect();
    outln!(
        "{}: total {} KRW{}{}",
        a.date,
        money(a.total.value_krw),
        if fx.is_empty() {
            String::new()
        } else {
            format!("; {}", fx.join(", "))
        },
        match &a.target {
            Some((s, d)) => format!("; targets: {s} of {d}"),
            None => "; no stored targets".into(),
        }
    )?;
    let rows: Vec<Vec<String>> = a
        .rows
        .iter()
        .map(|r| {
            vec![
                r.source.clone(),
                r.asset.clone(),
                r.class.clone(),
                r.currency.clone(),
                format!("{}", r.quantity),
                r.price.map(|p| format!("{p}")).unwrap_or_default(),
                money(r.value_krw),
                opt_money(r.cost_krw),
                opt_money(r.pnl_krw),
                pct(r.pnl_pct),
                pct(Some(r.weight)),
                pct(r.target_weight),
                pct(r.gap),
            ]
        })
        .collect();
    print_table(
        &[
            "source",
            "asset",
            "class",
            "ccy",
            "quantity",
            "price",
            "value KRW",
            "cost KRW",
            "P&L KRW",
            "P&L %",
            "weight",
            "target",
            "gap",
        ],
        &rows,
    )?;
    for (title, totals) in [("asset", &a.assets), ("class", &a.classes)] {
        outln!()?;
        let rows: Vec<Vec<String>> = totals
            .iter()
            .chain(std::iter::once(&a.total))
            .map(|t| {
                vec![
                    t.name.clone(),
                    money(t.value_krw),
                    opt_money(t.cost_krw),
                    opt_money(t.pnl_krw),
                    pct(t.pnl_pct),
                    pct(Some(t.weight)),
                    pct(t.target_weight),
                    pct(t.gap),
                ]
            })
            .collect();
        print_table(
            &[
                title,
                "value KRW",
                "cost KRW",
                "P&L KRW",
                "P&L %",
                "weight",
                "target",
                "gap",
            ],
            &rows,
        )?;
    }
    Ok(())
}
