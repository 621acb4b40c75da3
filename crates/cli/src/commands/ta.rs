//! `pulse ta` (wired once pulse-indicators lands).
use crate::app::App;
use crate::cli::TaArgs;
/// Runs `pulse ta`.
pub async fn run(_app: &App, _args: TaArgs) -> anyhow::Result<()> {
    anyhow::bail!("pulse ta: not wired yet")
}
