//! `pulse cycle …` (issue 17): in progress.

use clap::Subcommand;

use crate::app::{App, usage};

/// `pulse cycle …`
#[derive(Debug, Subcommand)]
pub enum CycleCommand {
    /// Not built yet.
    Placeholder,
}

/// Runs `pulse cycle …`.
pub async fn run(_app: &App, cmd: CycleCommand) -> anyhow::Result<()> {
    match cmd {
        CycleCommand::Placeholder => Err(usage("not built yet")),
    }
}
