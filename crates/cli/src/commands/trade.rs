//! `pulse trade run|status|stop|resume|flatten`: flags → `pulse_app::trade` → a summary (or
//! JSON with `--json`).

use crate::app::App;
use crate::cli::{BrokerArg, ModeArg, TradeCommand, TradeRunArgs};
use crate::commands::backtest::run_settings;
use crate::live::{LiveBroker, live_broker};
use crate::output::{outln, print_json, print_table};
use pulse_app::trade::{BrokerChoice, TradeMode, TradeRequest};
use serde::Serialize;

#[derive(Serialize)]
struct Sent<'a> {
    name: &'a str,
    orders: &'a [pulse_core::OrderRequest],
}

/// The live broker of a stored runner (`None` on paper).
async fn broker_of(
    store: &crate::store::AnyStore,
    name: &str,
) -> anyhow::Result<Option<LiveBroker>> {
    let meta = pulse_app::trade::meta(store, name).await?;
    live_broker(meta.broker, meta.mode, store)
}

/// Runs `pulse trade …`.
pub async fn run(app: &App, cmd: TradeCommand) -> anyhow::Result<()> {
    let store = app.store().await?;
    match cmd {
        TradeCommand::Run(args) => {
            let TradeRunArgs {
                name,
                broker,
                mode,
                webhook,
                webhook_format,
                telegram_chat_id,
                every,
                limit_offset_bps,
                run,
                agents,
            } = *args;
            let notifier = crate::commands::webhook_notifier(
                webhook.as_deref(),
                webhook_format,
                telegram_chat_id.as_deref(),
            )?;
            let request = TradeRequest {
                name,
                broker: match broker {
                    BrokerArg::Paper => BrokerChoice::Paper,
                    BrokerArg::Alpaca => BrokerChoice::Alpaca,
                    BrokerArg::Kis => BrokerChoice::Kis,
                },
                mode: match mode {
                    ModeArg::Paper => TradeMode::Paper,
                    ModeArg::Live => TradeMode::Live,
                },
                settings: run_settings(&run)?,
                limit_offset_bps,
                agents: agents.map(|a| a.set()).transpose()?,
            };
            let live = live_broker(request.broker, request.mode, &store)?;
            let Some(every) = every else {
                return run_once(
                    app,
                    &store,
                    &request,
                    live.as_ref(),
                    notifier.as_ref(),
                    None,
                )
                .await;
            };
            // Ctrl-C stops the loop between two steps (a step's records are never half written).
            let (stop, ctrl_c) = crate::app::ctrl_c_flag();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                run_once(
                    app,
                    &store,
                    &request,
                    live.as_ref(),
                    notifier.as_ref(),
                    Some(&stop),
                )
                .await?;
                for _ in 0..every * 10 {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            ctrl_c.abort();
            Ok(outln!("Runner {} stopped by Ctrl-C.", request.name)?)
        }
        TradeCommand::Status { name } => {
            let s = pulse_app::trade::status(&store, &name).await?;
            if app.json {
                return print_json(&s);
            }
            outln!(
                "Runner {} ({:?} broker): {:?}; last bar closed {}; cash {}, positions {}.",
                s.meta.name,
                s.meta.broker,
                s.meta.status,
                s.meta.last_close.map_or("-".to_string(), |t| t.to_string()),
                s.account.cash.round_dp(2),
                positions(&s.account)
            )?;
            let rows: Vec<Vec<String>> = s
                .orders
                .iter()
                .map(|r| {
                    vec![
                        r.order.decided_at.to_string(),
                        r.order.client_id.to_string(),
                        r.order.side.to_string(),
                        r.order.quantity.to_string(),
                        r.order.symbol.to_string(),
                        r.status.clone(),
                        r.filled.to_string(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "decided",
                    "client id",
                    "side",
                    "qty",
                    "symbol",
                    "status",
                    "filled",
                ],
                &rows,
            )?;
            Ok(outln!("{} fill(s).", s.fills.len())?)
        }
        TradeCommand::Stop { name } => {
            let live = broker_of(&store, &name).await?;
            let cancelled = pulse_app::trade::stop(&store, &name, live.as_ref()).await?;
            if app.json {
                return print_json(&cancelled);
            }
            Ok(outln!(
                "Runner {name} stopped; {} working order(s) cancelled.",
                cancelled.len()
            )?)
        }
        TradeCommand::Resume { name } => {
            let meta = pulse_app::trade::resume(&store, &name).await?;
            if app.json {
                return print_json(&meta);
            }
            Ok(outln!("Runner {name} resumed.")?)
        }
        TradeCommand::Flatten { name } => {
            let live = broker_of(&store, &name).await?;
            let orders = pulse_app::trade::flatten(&store, &name, live.as_ref()).await?;
            if app.json {
                return print_json(&Sent {
                    name: &name,
                    orders: &orders,
                });
            }
            for x in &orders {
                outln!(
                    "SENT {} {} {} ({})",
                    x.side,
                    x.quantity,
                    x.symbol,
                    x.client_id
                )?;
            }
            Ok(outln!(
                "Runner {name} stopped; {} sell order(s) sent (they fill at the next close: `pulse trade run` books them).",
                orders.len()
            )?)
        }
    }
}

/// One catch-up of a runner to the clock, printed, with its alerts posted.
async fn run_once<S: pulse_core::ports::Store + Sync>(
    app: &App,
    store: &S,
    request: &TradeRequest,
    live: Option<&LiveBroker>,
    notifier: Option<&notify_webhook::WebhookNotifier>,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> anyhow::Result<()> {
    let (result, delivery) =
        pulse_app::trade::run_alerting(store, request, live, notifier, stop).await?;
    for f in delivery.iter().flat_map(|d| &d.failed) {
        eprintln!("warning: alert not delivered: {f}");
    }
    let o = result?;
    if app.json {
        return print_json(&o);
    }
    if o.started {
        outln!(
            "Runner {} started at {} (warm-up to {}).",
            o.meta.name,
            o.now,
            o.meta.last_close.map_or("-".to_string(), |t| t.to_string())
        )?;
    }
    for r in &o.resolved {
        outln!("restart: {r}")?;
    }
    if o.risk_settings_applied {
        outln!("risk: the team's changed risk settings were applied")?;
    }
    for e in &o.risk_events {
        outln!("RISK {} {}", e.ts, e.message)?;
    }
    for f in &o.fills {
        outln!(
            "FILL {} {} {} {} @ {} fee {} ({})",
            f.ts,
            f.side,
            f.quantity,
            f.symbol,
            f.price,
            f.fee,
            f.client_id
        )?;
    }
    for x in &o.submitted {
        outln!(
            "SENT {} {} {} {} ({})",
            x.decided_at,
            x.side,
            x.quantity,
            x.symbol,
            x.client_id
        )?;
    }
    if let Some(last) = o.summaries.last() {
        outln!("{}", pulse_app::trade::summary_message(&o.meta.name, last))?;
    }
    Ok(outln!(
        "{} bar(s) processed up to {}; cash {}, positions {}.",
        o.steps,
        o.meta.last_close.map_or("-".to_string(), |t| t.to_string()),
        o.account.cash.round_dp(2),
        positions(&o.account)
    )?)
}

fn positions(p: &pulse_core::Portfolio) -> String {
    let held: Vec<String> = p
        .positions
        .iter()
        .filter(|(_, q)| !q.is_zero())
        .map(|(s, q)| format!("{q} {s}"))
        .collect();
    if held.is_empty() {
        "none".to_string()
    } else {
        held.join(", ")
    }
}
