//! Recorded runs (backtests, simulations): listing them with their headline figures, showing
//! one with every setting, comparing two, deleting one.

use crate::error::AppError;
use pulse_analytics::Metrics;
use pulse_core::ports::{RunHeader, RunRecord, Store};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One recorded run, as lists show it (its alerts counted, not read), with the headline metrics
/// of its main strategy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The run as recorded, without its alerts (`show_run` reads them).
    pub record: RunHeader,
    /// The main strategy's metrics, when the record carries them.
    pub headline: Option<Metrics>,
}

/// A headline metric: its label, its key in a run's metrics JSON (`pulse_analytics::Metrics`),
/// and whether it is a fraction shown in percent.
pub type HeadlineMetric = (&'static str, &'static str, bool);

/// The headline metrics of a recorded run, as every front end lists them (`pulse runs show`,
/// `runs compare`, the dashboard's run pages).
pub const HEADLINE: [HeadlineMetric; 6] = [
    ("total return", "total_return", true),
    ("CAGR", "cagr", true),
    ("Sharpe", "sharpe", false),
    ("max drawdown", "max_drawdown", true),
    ("win rate", "win_rate", true),
    ("fills", "fills", false),
];

/// The most recent runs (newest first, at most `limit`) as recorded, without their alerts
/// (counted) and without parsing their metrics: what the JSON list (`GET /api/runs`,
/// `pulse runs --json`) returns.
pub async fn run_headers<S: Store>(store: &S, limit: u32) -> Result<Vec<RunHeader>, AppError> {
    store.runs(limit).await.map_err(AppError::port)
}

/// The most recent runs (newest first, at most `limit`) with their headline metrics.
pub async fn list_runs<S: Store>(store: &S, limit: u32) -> Result<Vec<RunSummary>, AppError> {
    let records = run_headers(store, limit).await?;
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

/// One recorded run in full: the record, every strategy's metrics and the settings it ran with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDetail {
    /// The run as recorded.
    pub record: RunRecord,
    /// Metrics per strategy (Pulse and the benchmarks), as recorded.
    pub metrics: BTreeMap<String, Value>,
    /// The recorded configuration: the settings, window and rule set of runs recorded since
    /// settings are kept (JSON), or the rule set's TOML text of older runs.
    pub config: Value,
}

fn detail(record: RunRecord) -> RunDetail {
    let metrics = serde_json::from_str(&record.metrics_json).unwrap_or_default();
    let config = serde_json::from_str(&record.config)
        .unwrap_or_else(|_| Value::String(record.config.clone()));
    RunDetail {
        record,
        metrics,
        config,
    }
}

/// One run in full, or [`AppError::Usage`] naming the id when there is none.
pub async fn show_run<S: Store>(store: &S, id: i64) -> Result<RunDetail, AppError> {
    match store.run(id).await.map_err(AppError::port)? {
        Some(record) => Ok(detail(record)),
        None => Err(AppError::NotFound(format!(
            "no run #{id} (`pulse runs` lists the recorded runs)"
        ))),
    }
}

/// Deletes a run and its alerts, or [`AppError::Usage`] naming the id when there is none.
pub async fn delete_run<S: Store>(store: &S, id: i64) -> Result<(), AppError> {
    if store.delete_run(id).await.map_err(AppError::port)? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no run #{id} to delete")))
    }
}

/// Two runs side by side: their details and every setting that differs (dotted JSON paths with
/// the two values; `null` where one run has no such setting).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunComparison {
    /// The first run.
    pub a: RunDetail,
    /// The second run.
    pub b: RunDetail,
    /// `(path, value in a, value in b)` for every configuration leaf that differs.
    pub differences: Vec<(String, Value, Value)>,
}

/// Compares two recorded runs.
pub async fn compare_runs<S: Store>(store: &S, a: i64, b: i64) -> Result<RunComparison, AppError> {
    let a = show_run(store, a).await?;
    let b = show_run(store, b).await?;
    let mut differences = Vec::new();
    diff_values("", &a.config, &b.config, &mut differences);
    Ok(RunComparison { a, b, differences })
}

/// Collects the leaves where `a` and `b` differ, by dotted path.
fn diff_values(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, Value, Value)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_values(
                    &sub,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push((path.to_string(), a.clone(), b.clone())),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::diff_values;
    use serde_json::json;

    #[test]
    fn differences_are_the_leaves_that_differ_by_dotted_path() {
        let a = json!({"settings": {"costs": {"slippage_bps": "0", "commission_rate": "0.001"}, "fill_price": "next_open"}, "to": null});
        let b = json!({"settings": {"costs": {"slippage_bps": "5", "commission_rate": "0.001"}, "fill_price": "next_close"}, "to": "2024-06-28T00:00:00Z"});
        let mut out = Vec::new();
        diff_values("", &a, &b, &mut out);
        let paths: Vec<&str> = out.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["settings.costs.slippage_bps", "settings.fill_price", "to"]
        );
    }
}
