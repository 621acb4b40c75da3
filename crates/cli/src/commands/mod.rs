//! Command implementations.

pub mod agents;
pub mod backtest;
pub mod collect;
pub mod cycle;
pub mod data;
pub mod data_io;
pub mod data_migrate;
pub mod forecast;
pub mod ml;
pub mod pipeline;
pub mod portfolio;
pub mod prompt;
pub mod rebalance;
pub mod risk;
pub mod schedule;
pub mod serve;
pub mod sweep;
pub mod sweep_shared;
pub mod ta;
pub mod trade;

use crate::app::{App, usage};
use crate::cli::{Cli, Command};
use jiff::Timestamp;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let app = App::new(&cli)?;
    dispatch(&app, cli.command)
        .await
        .map_err(usage_of_app_error)
}

/// An application-layer error that blames the request becomes a usage error (exit 2), with a
/// setting named as its flag (`slippage_bps` → `--slippage-bps`).
fn usage_of_app_error(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<pulse_app::AppError>() {
        Ok(pulse_app::AppError::InvalidSetting { setting, reason }) => {
            usage(format!("--{} {reason}", setting.replace('_', "-")))
        }
        Ok(app) if app.is_usage() => usage(format!("{app}")),
        Ok(app) => anyhow::Error::new(app),
        Err(e) => e,
    }
}

async fn dispatch(app: &App, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Data(cmd) => data::run(app, cmd).await,
        Command::Ta(args) => ta::run(app, args).await,
        Command::Backtest(args) => backtest::backtest(app, args).await,
        Command::Simulate(args) => backtest::simulate(app, args).await,
        Command::Strategy(cmd) => backtest::strategy(app, cmd),
        Command::Risk(cmd) => risk::run(app, cmd).await,
        Command::Trade(cmd) => trade::run(app, cmd).await,
        Command::Runs(args) => backtest::runs(app, args).await,
        Command::Portfolio(cmd) => portfolio::run(app, cmd).await,
        Command::Rebalance(cmd) => rebalance::run(app, cmd).await,
        Command::Clock(cmd) => rebalance::clock(app, cmd).await,
        Command::Collect(args) => collect::collect(app, args).await,
        Command::Quotes(args) => collect::quotes(app, args).await,
        Command::Prompt(cmd) => prompt::run(app, cmd).await,
        Command::Schedule(args) => schedule::schedule(app, args).await,
        Command::Sweep(args) => sweep::sweep(app, args).await,
        Command::Serve(args) => serve::serve(app, args).await,
        Command::Pipeline(cmd) => pipeline::run(app, cmd).await,
        Command::Ml(cmd) => ml::run(app, cmd).await,
        Command::Agents(cmd) => agents::run(app, cmd).await,
        Command::Cycle(cmd) => cycle::run(app, cmd).await,
        Command::Forecast(cmd) => forecast::run(app, cmd).await,
    }
}

/// Parses a user-supplied instant: `YYYY-MM-DD` (that date at 00:00Z, or the end of that day
/// when `end_of_day`) or an RFC 3339 timestamp.
pub fn parse_instant(s: &str, end_of_day: bool, flag: &str) -> anyhow::Result<Timestamp> {
    pulse_app::input::instant(s, end_of_day).ok_or_else(|| {
        usage(format!(
            "{flag} {s:?}: expected a date YYYY-MM-DD or an RFC 3339 timestamp"
        ))
    })
}

/// [`parse_instant`] of an optional flag value.
pub fn parse_optional_instant(
    s: Option<&str>,
    end_of_day: bool,
    flag: &str,
) -> anyhow::Result<Option<Timestamp>> {
    s.map(|s| parse_instant(s, end_of_day, flag)).transpose()
}

/// Parses a comma-separated or repeated symbol list; a symbol given twice is a usage error
/// (`--symbols TSLA,TSLL,TSLA` would otherwise count TSLA twice: weights summing to 0.5).
/// `source` names where the list came from in errors (`--symbols`, a universe file).
pub fn parse_symbols(raw: &[String], source: &str) -> anyhow::Result<Vec<pulse_core::Symbol>> {
    let mut seen = std::collections::BTreeSet::new();
    raw.iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let sym =
                pulse_core::Symbol::try_new(s).map_err(|e| usage(format!("{source}: {e}")))?;
            if !seen.insert(sym.clone()) {
                return Err(usage(format!("{source}: symbol {sym} is listed twice")));
            }
            Ok(sym)
        })
        .collect()
}

/// Parses a timeframe flag.
pub fn parse_timeframe(s: &str) -> anyhow::Result<pulse_core::Timeframe> {
    s.parse()
        .map_err(|e: pulse_core::CoreError| usage(e.to_string()))
}

/// The webhook notifier of `--webhook URL` in `--webhook-format` (telegram needs
/// `--telegram-chat-id`), or `None` without a URL.
pub(crate) fn webhook_notifier(
    url: Option<&str>,
    format: crate::cli::WebhookFormatArg,
    telegram_chat_id: Option<&str>,
) -> anyhow::Result<Option<notify_webhook::WebhookNotifier>> {
    use crate::cli::WebhookFormatArg as F;
    use notify_webhook::WebhookFormat;
    let format = match (format, telegram_chat_id.map(str::trim)) {
        (F::Json, _) => WebhookFormat::Json,
        (F::Slack, _) => WebhookFormat::Slack,
        (F::Discord, _) => WebhookFormat::Discord,
        (F::Telegram, Some(chat_id)) if !chat_id.is_empty() => WebhookFormat::Telegram {
            chat_id: chat_id.to_string(),
        },
        (F::Telegram, _) => {
            return Err(crate::app::usage(
                "--webhook-format telegram needs --telegram-chat-id (or PULSE_TELEGRAM_CHAT_ID)",
            ));
        }
    };
    Ok(url
        .map(notify_webhook::WebhookNotifier::new)
        .transpose()?
        .map(|n| n.with_format(format)))
}
