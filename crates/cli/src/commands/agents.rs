//! `pulse agents …` (issue 17): in progress.

use clap::Subcommand;

use crate::app::{App, usage};

/// `pulse agents …`
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Not built yet.
    Placeholder,
}

/// Runs `pulse agents …`.
pub async fn run(_app: &App, cmd: AgentsCommand) -> anyhow::Result<()> {
    match cmd {
        AgentsCommand::Placeholder => Err(usage("not built yet")),
    }
}
