//! `pulse schedule`: the scheduler's loop in the foreground (`pulse_app::schedule::tick` every
//! `--every` seconds until Ctrl-C or `--ticks`), each tick's jobs printed (or JSON lines).

use crate::app::App;
use crate::cli::ScheduleArgs;
use crate::output::outln;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Runs `pulse schedule`.
pub async fn schedule(app: &App, args: ScheduleArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    // The scheduled macro prompt's chat model, when PULSE_LLM_BASE_URL and PULSE_LLM_MODEL are set.
    let model = match llm_openai::LlmConfig::from_env()? {
        Some(config) => Some(llm_openai::OpenAiChat::new(config)?),
        None => None,
    };
    let pipeline = crate::commands::pipeline::schedule_of(&app.config.pipeline)?;
    let (stop, ctrl_c) = crate::app::ctrl_c_flag();
    let mut ticks = 0u64;
    let mut failed = false;
    while !stop.load(Ordering::SeqCst) {
        let mut report = pulse_app::schedule::tick(&store, model.as_ref()).await?;
        if let Some(p) = &pipeline
            && let Some(job) = crate::commands::pipeline::scheduled_job(p, &store).await
        {
            report.jobs.push(job);
        }
        ticks += 1;
        failed |= !report.ok();
        if app.json {
            outln!("{}", serde_json::to_string(&report)?)?;
        } else {
            for job in &report.jobs {
                for line in &job.lines {
                    outln!(
                        "{} {}{} {line}",
                        report.now,
                        job.job,
                        if job.ok { ":" } else { " FAILED:" }
                    )?;
                }
            }
            if report.jobs.is_empty() {
                outln!(
                    "{} nothing to schedule (no rebalancer, no runner)",
                    report.now
                )?;
            }
        }
        if args.ticks.is_some_and(|n| ticks >= n) {
            break;
        }
        for _ in 0..args.every * 10 {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    ctrl_c.abort();
    if failed {
        anyhow::bail!("a scheduled job failed (see above)");
    }
    Ok(())
}
