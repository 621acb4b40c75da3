//! `pulse prompt show|versions|set|run|schedule`: the macro prompt (`pulse_app::prompt`) from the
//! terminal; `run` needs the chat model of PULSE_LLM_BASE_URL / PULSE_LLM_MODEL /
//! PULSE_LLM_API_KEY.

use crate::app::{App, usage};
use crate::cli::{PromptCommand, ScheduleSwitch};
use crate::output::{outln, print_json};
use pulse_app::prompt;

/// Runs `pulse prompt …`.
pub async fn run(app: &App, cmd: PromptCommand) -> anyhow::Result<()> {
    let store = app.store().await?;
    match cmd {
        PromptCommand::Show { number } => {
            let p = prompt::version(&store, number).await?;
            if app.json {
                return print_json(&p);
            }
            Ok(outln!("{}", p.text)?)
        }
        PromptCommand::Versions => {
            let all = prompt::versions(&store).await?;
            if app.json {
                return print_json(&all);
            }
            for p in &all {
                outln!(
                    "{:>4}  {}  {}",
                    p.version,
                    p.saved_at,
                    p.text.lines().next().unwrap_or("")
                )?;
            }
            Ok(())
        }
        PromptCommand::Set { file } => {
            let text = pulse_app::data::read_text_file(&file)?;
            let p = prompt::save(&store, &text).await?;
            if app.json {
                return print_json(&p);
            }
            Ok(outln!("Saved as version {}.", p.version)?)
        }
        PromptCommand::Run { number, submit } => {
            let Some(config) = llm_openai::LlmConfig::from_env()? else {
                return Err(usage(
                    "no chat model configured: set PULSE_LLM_BASE_URL and PULSE_LLM_MODEL (and PULSE_LLM_API_KEY)",
                ));
            };
            let model = llm_openai::OpenAiChat::new(config)?;
            let run = prompt::run(&store, &model, number).await?;
            let stored = match (&run.signal, submit) {
                (Some(signal), true) => Some(prompt::submit(&store, signal.clone()).await?),
                _ => None,
            };
            if app.json {
                return print_json(&serde_json::json!({"run": run, "submitted": stored}));
            }
            outln!("Version {} answered:\n{}", run.version, run.raw)?;
            match (&run.signal, &stored) {
                (Some(_), Some(_)) => outln!("A valid signal: submitted as today's view.")?,
                (Some(_), None) => outln!("A valid signal (not submitted: add --submit).")?,
                (None, _) => outln!("Not a valid signal: {}", run.errors.join("; "))?,
            }
            if run.signal.is_none() && submit {
                anyhow::bail!("nothing submitted: the answer is not a valid signal");
            }
            Ok(())
        }
        PromptCommand::Schedule { switch, number } => {
            let s = match switch {
                ScheduleSwitch::Show if number.is_some() => {
                    return Err(usage(
                        "--version goes with `on`: pulse prompt schedule on --version N",
                    ));
                }
                ScheduleSwitch::Show => prompt::schedule(&store).await?,
                ScheduleSwitch::On => prompt::set_schedule(&store, true, number).await?,
                ScheduleSwitch::Off => prompt::set_schedule(&store, false, None).await?,
            };
            if app.json {
                return print_json(&s);
            }
            let which = s
                .version
                .map_or("the latest version".to_string(), |v| format!("version {v}"));
            if s.enabled {
                outln!(
                    "The scheduler runs {which} at 08:30 on trading days and submits a valid answer."
                )?;
            } else {
                outln!("The prompt is not scheduled.")?;
            }
            if let Some(day) = s.last_day {
                outln!("Last scheduled run: {day}.")?;
            }
            Ok(())
        }
    }
}
