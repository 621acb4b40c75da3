//! `pulse rebalance …` and `pulse clock …`: flags → request → `pulse_app::rebalance` → printed
//! outcome.

use crate::app::{App, usage};
use crate::cli::{ClockCommand, RebalanceCommand, RebalanceSimulateArgs};
use crate::commands::backtest::{cash_flag, commission_flag};
use crate::output::{outln, print_json, print_table};
use jiff::civil::Date;
use pulse_app::rebalance::simulate::{SimulateRequest, simulation_report};
use pulse_app::rebalance::{
    self, ClockChange, ClockStep, InitRequest, SignalRequest, parse_mp, parse_sub_mp,
};
use pulse_rebalance::{Signal, SplitMode};

/// Runs `pulse clock …`.
pub async fn clock(app: &App, cmd: ClockCommand) -> anyhow::Result<()> {
    let change = match cmd {
        ClockCommand::Now => None,
        ClockCommand::Reset => Some(ClockChange::Reset),
        ClockCommand::Set { time } => Some(ClockChange::Set(time.parse().map_err(|e| {
            usage(format!(
                "clock set {time:?}: expected an RFC 3339 time with offset ({e})"
            ))
        })?)),
        ClockCommand::Advance { by } => Some(ClockChange::Advance(by.parse::<ClockStep>()?)),
    };
    let reading = rebalance::clock(&app.store().await?, change).await?;
    if app.json {
        return print_json(&reading);
    }
    let simulated = if reading.simulated {
        " [simulated]"
    } else {
        ""
    };
    outln!("{} ({}){simulated}", reading.now, reading.local)?;
    Ok(())
}

/// Runs `pulse rebalance …`.
pub async fn run(app: &App, cmd: RebalanceCommand) -> anyhow::Result<()> {
    match cmd {
        RebalanceCommand::Simulate(args) => simulate(app, args).await,
        RebalanceCommand::Init {
            cash,
            calendar,
            commission,
            force,
        } => {
            let request = InitRequest {
                cash: cash_flag("--cash", &cash)?,
                calendar,
                commission: commission_flag("--commission", &commission)?,
                force,
            };
            rebalance::init(&app.store().await?, &request).await?;
            if !app.quiet && !app.json {
                outln!(
                    "Paper account with {}; schedule on the {} calendar (08:30 intake, 09:40 execution, local time).",
                    request.cash,
                    request.calendar.exchange()
                )?;
            }
            Ok(())
        }
        RebalanceCommand::Signal {
            file,
            mp,
            sub_mp,
            weighting,
            liquidity_days,
        } => {
            let store = app.store().await?;
            let signal: Signal = match file {
                Some(path) => rebalance::read_signal_file(&path)?,
                None => {
                    let request = SignalRequest {
                        mp: mp.as_deref().map(parse_mp).transpose()?,
                        sub_mp: sub_mp
                            .iter()
                            .map(|s| parse_sub_mp(s))
                            .collect::<Result<_, _>>()?,
                        weighting,
                        liquidity_days,
                    };
                    request.resolve(&store).await?
                }
            };
            rebalance::signal(&store, signal).await?;
            if !app.quiet && !app.json {
                outln!("Signal stored; it is observed at every 08:30 intake until replaced.")?;
            }
            Ok(())
        }
        RebalanceCommand::Status => status(app).await,
        RebalanceCommand::Run => {
            let outcome = rebalance::run(&app.store().await?).await?;
            if app.json {
                return print_json(&outcome);
            }
            if outcome.done.is_empty() {
                outln!("{}: nothing due.", outcome.local)?;
            }
            for line in &outcome.done {
                outln!("{line}")?;
            }
            Ok(())
        }
        RebalanceCommand::History { limit } => {
            let log = rebalance::history(&app.store().await?, limit).await?;
            if app.json {
                return print_json(&log);
            }
            for e in log {
                outln!("{}  {:<9} {}", e.ts, e.subsystem, e.entry)?;
            }
            Ok(())
        }
    }
}

async fn status(app: &App) -> anyhow::Result<()> {
    let status = rebalance::status(&app.store().await?).await?;
    if app.json {
        return print_json(&status);
    }
    outln!(
        "clock {}{}; calendar {}; cash {}",
        status.now,
        if status.simulated_clock {
            " [simulated]"
        } else {
            ""
        },
        status.calendar,
        status.cash.round_dp(2)
    )?;
    let rows: Vec<Vec<String>> = status
        .targets
        .iter()
        .map(|(s, w)| {
            let held = status.holdings.get(s).copied().unwrap_or_default();
            vec![
                s.to_string(),
                format!("{:.1}%", w * 100.0),
                held.to_string(),
            ]
        })
        .collect();
    print_table(&["symbol", "target", "shares"], &rows)?;
    outln!("pending: {}", serde_json::to_string(&status.pending)?)?;
    outln!("plan: {}", serde_json::to_string(&status.plan)?)?;
    Ok(())
}

fn date_flag(flag: &str, s: &str) -> anyhow::Result<Date> {
    s.parse()
        .map_err(|_| usage(format!("{flag} {s:?}: expected YYYY-MM-DD")))
}

async fn simulate(app: &App, args: RebalanceSimulateArgs) -> anyhow::Result<()> {
    let request = SimulateRequest {
        commission: commission_flag("--commission", &args.commission)?,
        cash: cash_flag("--cash", &args.cash)?,
        from: date_flag("--from", &args.from)?,
        to: date_flag("--to", &args.to)?,
        calendar: args.calendar,
        split: if args.equal_split {
            SplitMode::Equal
        } else {
            SplitMode::Scheduled
        },
        signals: args.signals,
    };
    let outcome = rebalance::simulate::simulate(&app.store().await?, &request).await?;
    if let Some(path) = &args.report {
        pulse_report::write_html(path, &simulation_report(&request, &outcome)?)?;
    }
    if app.json {
        return print_json(&outcome);
    }
    for e in &outcome.events {
        outln!("{}  {}", e.date, e.reason)?;
    }
    let rows: Vec<Vec<String>> = outcome
        .orders
        .iter()
        .map(|o| {
            vec![
                o.date.to_string(),
                o.symbol.to_string(),
                o.side.to_string(),
                o.quantity.to_string(),
                o.price.to_string(),
                o.fee.round_dp(2).to_string(),
                format!("{} #{}", o.plan, o.step),
            ]
        })
        .collect();
    print_table(
        &["date", "symbol", "side", "qty", "price", "fee", "plan/step"],
        &rows,
    )?;
    let holdings: Vec<String> = outcome
        .holdings
        .iter()
        .map(|(s, q)| format!("{s} {q}"))
        .collect();
    outln!(
        "Final NAV {:.2}; fees {:.2}; holdings: {}",
        outcome.nav.last().map_or(0.0, |n| n.nav),
        outcome.fees,
        holdings.join(", ")
    )?;
    Ok(())
}
