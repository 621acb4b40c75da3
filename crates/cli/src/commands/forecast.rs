//! `pulse forecast …` (issue 17): in progress.

use clap::Subcommand;

use crate::app::{App, usage};

/// `pulse forecast …`
#[derive(Debug, Subcommand)]
pub enum ForecastCommand {
    /// Not built yet.
    Placeholder,
}

/// Runs `pulse forecast …`.
pub async fn run(_app: &App, cmd: ForecastCommand) -> anyhow::Result<()> {
    match cmd {
        ForecastCommand::Placeholder => Err(usage("not built yet")),
    }
}
