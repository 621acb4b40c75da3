//! `pulse risk show|set|reset`: flags → `pulse_app::risk` → printed settings (TOML, or
//! `{"stored": …, "config": …}` with `--json`).

use crate::app::App;
use crate::cli::RiskCommand;
use crate::output::{out, outln, print_json};
use pulse_app::backtest::RiskSource;
use pulse_risk::RiskConfig;
use serde::Serialize;

/// What `--json` prints: whether the settings are the stored ones, and the settings.
#[derive(Serialize)]
struct Shown<'a> {
    stored: bool,
    config: &'a RiskConfig,
}

/// Runs `pulse risk …`.
pub async fn run(app: &App, cmd: RiskCommand) -> anyhow::Result<()> {
    match cmd {
        RiskCommand::Show { risk_config } => match risk_config {
            Some(path) => {
                let config = RiskSource::File(path.clone()).load()?;
                show(app, &config, false, &format!("# from {}", path.display()))
            }
            None => {
                let s = pulse_app::risk::settings(&app.store().await?).await?;
                let first = if s.stored {
                    "# stored settings (pulse risk set FILE; runs apply them with --risk)"
                } else {
                    "# defaults (SPEC §4): no settings are stored"
                };
                show(app, &s.config, s.stored, first)
            }
        },
        RiskCommand::Set { file } => {
            let config = pulse_app::risk::save_settings_file(&app.store().await?, &file).await?;
            if app.json {
                return print_json(&Shown {
                    stored: true,
                    config: &config,
                });
            }
            if !app.quiet {
                outln!(
                    "Stored the risk settings of {}: runs apply them with --risk, the dashboard's backtests with \"apply the risk settings\".",
                    file.display()
                )?;
            }
            Ok(())
        }
        RiskCommand::Reset => {
            let store = app.store().await?;
            pulse_app::risk::reset_settings(&store).await?;
            if app.json {
                let s = pulse_app::risk::settings(&store).await?;
                return print_json(&Shown {
                    stored: s.stored,
                    config: &s.config,
                });
            }
            if !app.quiet {
                outln!("Risk settings reset: the defaults apply (pulse risk show prints them).")?;
            }
            Ok(())
        }
    }
}

/// Prints settings as TOML after a comment line saying whose they are (or as JSON).
fn show(app: &App, config: &RiskConfig, stored: bool, first: &str) -> anyhow::Result<()> {
    if app.json {
        return print_json(&Shown { stored, config });
    }
    outln!("{first}")?;
    out!("{}", config.to_toml())?;
    Ok(())
}
