//! Recorded runs (backtests, simulations): listing them with their headline figures.

use crate::error::AppError;
use pulse_analytics::Metrics;
use pulse_core::ports::{RunRecord, Store};
use serde::Serialize;
use std::collections::BTreeMap;

/// One recorded run with the headline metrics of its main strategy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The run as recorded.
    pub record: RunRecord,
    /// The main strategy's metrics, when the record carries them.
    pub headline: Option<Metrics>,
}

/// The most recent runs (newest first, at most `limit`).
pub async fn list_runs<S: Store>(store: &S, limit: u32) -> Result<Vec<RunSummary>, AppError> {
    let records = store.runs(limit).await.map_err(AppError::port)?;
    Ok(records
        .into_iter()
        .map(|record| {
            let headline = serde_json::from_str::<BTreeMap<String, Metrics>>(&record.metrics_json)
                .ok()
                .and_then(|mut m| m.remove(&record.strategy));
            RunSummary { record, headline }
        })
        .collect())
}
