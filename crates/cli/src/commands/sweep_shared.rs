//! `pulse sweep --storage postgres://… --study NAME`: the study storage a shared sweep's workers
//! use (Optuna's schema on PostgreSQL, the `study-optuna` adapter) and its heartbeat settings.

use anyhow::{Context, bail};
use pulse_app::sweep_study::SharedStudy;
use std::time::Duration;
use study_optuna::OptunaStudies;

/// Connects to the study storage at `url` (its errors name `host:port/db`, never a password):
/// one connection per worker thread plus the heartbeat's.
pub async fn connect(url: &str, jobs: Option<usize>) -> anyhow::Result<OptunaStudies> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("--storage: expected a postgres://… URL");
    }
    let threads = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let connections = u32::try_from(threads).unwrap_or(64).saturating_add(2);
    OptunaStudies::connect(url, connections)
        .await
        .context("--storage")
}

/// The shared study of `studies` with the heartbeat every `heartbeat` seconds and stale trials
/// failed after `grace` seconds.
pub fn shared(
    studies: &OptunaStudies,
    heartbeat: f64,
    grace: f64,
) -> anyhow::Result<SharedStudy<'_, OptunaStudies>> {
    let seconds = |name: &str, x: f64| -> anyhow::Result<Duration> {
        if !(x.is_finite() && x > 0.0 && x <= 86_400.0) {
            bail!("--{name}: expected seconds in (0, 86400], got {x}");
        }
        Ok(Duration::from_secs_f64(x))
    };
    let (heartbeat, grace) = (seconds("heartbeat", heartbeat)?, seconds("grace", grace)?);
    if grace <= heartbeat {
        bail!("--grace must be longer than --heartbeat (a live worker's trial would be failed)");
    }
    Ok(SharedStudy {
        storage: studies,
        heartbeat,
        grace,
    })
}
