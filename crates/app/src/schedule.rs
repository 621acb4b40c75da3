//! The scheduler (issue 13 item 4): one tick runs every job that is due by the clock (time
//! travel drives it): the scheduled macro prompt (its answer submitted as the day's signal
//! before the intake), the rebalancer's 08:30 intake and 09:40 execution on the trading days
//! of its calendar ([`crate::rebalance::run`], which knows what is due and does each at most
//! once a day), and a catch-up of every running paper trading runner (its decisions at each
//! bar close since its last step, [`crate::trade::run`]). `pulse serve --schedule-every S` and
//! `pulse schedule` call it periodically. Live runners are left to `pulse trade run --every`,
//! the process that holds their broker's keys.

use crate::error::AppError;
use crate::trade::{self, BrokerChoice, RunnerStatus, TradeMode, TradeRequest};
use pulse_core::ports::{ChatModel, Store};
use pulse_execution::NoBroker;
use serde::Serialize;
use std::ops::ControlFlow;

/// What one job of a tick did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobReport {
    /// The job: `prompt`, `rebalance` or `trade:<runner>`.
    pub job: String,
    /// True when it ran without error (possibly with nothing due).
    pub ok: bool,
    /// What it did, one line each (or why it failed, or why it was skipped).
    pub lines: Vec<String>,
}

/// What a tick did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TickReport {
    /// The clock's instant the tick ran at.
    pub now: jiff::Timestamp,
    /// True when the clock is simulated (time travel).
    pub simulated: bool,
    /// One report per job that exists (the rebalancer when set up, every trading runner).
    pub jobs: Vec<JobReport>,
}

impl TickReport {
    /// True when every job ran without error.
    pub fn ok(&self) -> bool {
        self.jobs.iter().all(|j| j.ok)
    }
}

/// Runs every job due by the clock now. A failing job is reported and does not stop the
/// others; only a store failure before any job fails the tick. `model` is the chat model the
/// scheduled macro prompt runs against (before the rebalancer's 08:30 intake, which then takes
/// its signal; [`crate::prompt::run_scheduled`]); `None` when none is configured.
pub async fn tick<S: Store + Sync, M: ChatModel + Sync>(
    store: &S,
    model: Option<&M>,
) -> Result<TickReport, AppError> {
    let (now, simulated) = crate::rebalance::clock_now(store).await?;
    let mut jobs = Vec::new();
    if let Some(result) = crate::prompt::run_scheduled(store, model).await {
        jobs.push(match result {
            Ok(lines) => JobReport {
                job: "prompt".into(),
                ok: true,
                lines,
            },
            Err(e) => JobReport {
                job: "prompt".into(),
                ok: false,
                lines: vec![e.to_string()],
            },
        });
    }
    if crate::rebalance::is_set_up(store).await? {
        jobs.push(match crate::rebalance::run(store).await {
            Ok(outcome) => JobReport {
                job: "rebalance".into(),
                ok: true,
                lines: if outcome.done.is_empty() {
                    vec![if outcome.trading_day {
                        "nothing due".to_string()
                    } else {
                        "not a trading day".to_string()
                    }]
                } else {
                    outcome.done
                },
            },
            Err(e) => JobReport {
                job: "rebalance".into(),
                ok: false,
                lines: vec![e.to_string()],
            },
        });
    }
    for name in trade::runners(store).await? {
        let job = format!("trade:{name}");
        let meta = match trade::meta(store, &name).await {
            Ok(m) => m,
            Err(e) => {
                jobs.push(JobReport {
                    job,
                    ok: false,
                    lines: vec![e.to_string()],
                });
                continue;
            }
        };
        if meta.status != RunnerStatus::Running {
            jobs.push(JobReport {
                job,
                ok: true,
                lines: vec![format!("not running ({:?})", meta.status)],
            });
            continue;
        }
        if meta.broker != BrokerChoice::Paper {
            jobs.push(JobReport {
                job,
                ok: true,
                lines: vec![format!(
                    "trades through {}: run by `pulse trade run --broker {} --every S`, which holds its keys",
                    meta.broker.as_str(),
                    meta.broker.as_str()
                )],
            });
            continue;
        }
        let request = TradeRequest {
            name: name.clone(),
            broker: BrokerChoice::Paper,
            mode: TradeMode::Paper,
            // The runner's own settings (kept at its start) are used.
            settings: crate::backtest::RunSettings::default(),
            limit_offset_bps: None,
            agents: None,
        };
        let none: Option<&NoBroker> = None;
        jobs.push(
            match Box::pin(trade::run(store, &request, none, |_| {
                ControlFlow::Continue(())
            }))
            .await
            {
                Ok(o) => JobReport {
                    job,
                    ok: true,
                    lines: vec![format!(
                        "{} bar(s) decided, {} order(s) sent, {} fill(s)",
                        o.steps,
                        o.submitted.len(),
                        o.fills.len()
                    )],
                },
                Err(e) => JobReport {
                    job,
                    ok: false,
                    lines: vec![e.to_string()],
                },
            },
        );
    }
    Ok(TickReport {
        now,
        simulated,
        jobs,
    })
}
