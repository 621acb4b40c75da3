//! `evaluate`: the trained models traded **out of sample only** (the test period of the split
//! they were trained with), after costs, by [`pulse_ml::eval`]'s rule: entry when the predicted
//! expected net return is above the threshold (and the 5 % quantile above a floor, if given),
//! held to the row's triple-barrier exit, one position per symbol at a time.
//!
//! [`evaluate_part`] evaluates the predictions of any predictor (no LightGBM needed);
//! [`evaluate`] loads the models (cargo feature `ml`), records the run and writes the report.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pulse_ml::eval::{
    EntryRule, EquityPoint, EvalMetrics, Trade, equity_curve, metrics, select_trades,
};
use pulse_ml::split::Part;
use serde::Serialize;

use super::features::SymbolEntry;
use super::ml_error;
use super::train::Dataset;
use crate::AppError;

/// A symbol's predictions: expected net return a row, and the quantile model's (when asked).
pub type Predictions = (Vec<f64>, Option<Vec<f64>>);

/// The figures of one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartEvaluation {
    /// The period evaluated.
    pub part: Part,
    /// All symbols together.
    pub metrics: EvalMetrics,
    /// Per symbol.
    pub per_symbol: BTreeMap<String, EvalMetrics>,
    /// Every trade, in exit order.
    pub trades: Vec<Trade>,
    /// `1 + Σ` net returns after each trade.
    pub equity: Vec<EquityPoint>,
}

/// Trades `predict`'s predictions on the rows of `part` (one symbol at a time).
pub fn evaluate_part(
    dataset: &Dataset,
    part: Part,
    rule: &EntryRule,
    mut predict: impl FnMut(&Dataset, &SymbolEntry) -> Result<Predictions, AppError>,
) -> Result<PartEvaluation, AppError> {
    let mut trades = Vec::new();
    let mut per_symbol = BTreeMap::new();
    for e in &dataset.symbols {
        let l = dataset.labels(&e.symbol)?;
        let parts = dataset.parts(&l);
        let (er, q) = predict(dataset, e)?;
        let t = select_trades(
            &e.symbol,
            &l.ts,
            &l.labels,
            &er,
            q.as_deref(),
            |i| parts[i] == Some(part),
            rule,
        )
        .map_err(|err| ml_error(&e.symbol, err))?;
        per_symbol.insert(e.symbol.clone(), metrics(&t));
        trades.extend(t);
    }
    trades.sort_by(|a, b| {
        (a.exit_ts, a.decision_ts, &a.symbol).cmp(&(b.exit_ts, b.decision_ts, &b.symbol))
    });
    Ok(PartEvaluation {
        part,
        metrics: metrics(&trades),
        per_symbol,
        equity: equity_curve(&trades),
        trades,
    })
}

/// Which models to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// A recorded training run (`pulse ml runs`).
    Run(u64),
    /// A model directory (with its `train.json`).
    Dir(PathBuf),
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvaluateRequest {
    /// The models.
    pub models: ModelSource,
    /// Entry rule (threshold 0.001 by default; cost 0.1 % a side).
    pub rule: EntryRule,
    /// Write the HTML report here.
    pub report: Option<PathBuf>,
}

/// The evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluateOutcome {
    /// This evaluation's run record.
    pub run: super::runs::MlRun,
    /// The model directory.
    pub models_dir: PathBuf,
    /// The test period's figures and trades.
    pub test: PartEvaluation,
    /// The rule used.
    pub rule: EntryRule,
    /// The test period.
    pub period: pulse_ml::split::Period,
}

#[cfg(feature = "ml")]
pub use with_lightgbm::{evaluate, lgbm_predictor};

#[cfg(feature = "ml")]
mod with_lightgbm {
    use std::path::PathBuf;

    use pulse_core::ports::{Clock, Store};
    use pulse_ml::lgbm::LgbmModel;
    use pulse_ml::split::Part;
    use pulse_ml::store::RowReader;

    use super::super::runs::{self, Artifacts, DataWindow, MlRunKind, MlRunStatus};
    use super::super::train::{Dataset, TrainedModels};
    use super::super::{TRAIN_FILE, features_path, ml_error, open, read_json, write_atomic};
    use super::{EvaluateOutcome, EvaluateRequest, ModelSource, Predictions, evaluate_part};
    use crate::AppError;
    use crate::ml::features::SymbolEntry;

    /// Predictions of `er` (and `q`) for every row of a symbol's feature file, streamed.
    pub fn lgbm_predictor<'a>(
        er: &'a LgbmModel,
        q: Option<&'a LgbmModel>,
    ) -> impl FnMut(&Dataset, &SymbolEntry) -> Result<Predictions, AppError> + 'a {
        move |dataset, e| {
            let path = features_path(&dataset.dir, &e.symbol);
            let run = |m: &LgbmModel| -> Result<Vec<f64>, AppError> {
                let mut reader =
                    RowReader::new(open(&path)?).map_err(|err| ml_error(path.display(), err))?;
                m.predict_reader(&mut reader, 8192)
                    .map_err(|err| ml_error(path.display(), err))
            };
            Ok((run(er)?, q.map(run).transpose()?))
        }
    }

    /// Evaluates the models on their test period, records the run and writes the report.
    pub async fn evaluate<S: Store, C: Clock>(
        store: &S,
        clock: &C,
        req: &EvaluateRequest,
    ) -> Result<EvaluateOutcome, AppError> {
        req.rule
            .validate()
            .map_err(|e| AppError::Usage(e.to_string()))?;
        let dir: PathBuf = match &req.models {
            ModelSource::Dir(d) => d.clone(),
            ModelSource::Run(id) => {
                let run = runs::get(store, *id).await?;
                if run.kind != MlRunKind::Train || run.status != MlRunStatus::Finished {
                    return Err(AppError::Usage(format!(
                        "ML run {id} is not a finished training run"
                    )));
                }
                run.artifacts
                    .models_dir
                    .map(PathBuf::from)
                    .ok_or_else(|| AppError::State(format!("ML run {id} has no model directory")))?
            }
        };
        let trained: TrainedModels = read_json(&dir.join(TRAIN_FILE))?;
        let symbols: Vec<pulse_core::Symbol> = trained
            .symbols
            .iter()
            .map(pulse_core::Symbol::try_new)
            .collect::<Result<_, _>>()?;
        let dataset = Dataset::open(&trained.features_dir, Some(&symbols), &trained.split_config)?;
        if dataset.split != trained.split {
            return Err(AppError::Data(format!(
                "the feature directory {} changed since the training (its split differs)",
                trained.features_dir.display()
            )));
        }
        let load = |f: &str| {
            let p = dir.join(f);
            LgbmModel::load(&p).map_err(|e| ml_error(p.display(), e))
        };
        let er = load(&trained.expected_return.file)?;
        let q = match req.rule.quantile_floor {
            Some(_) => Some(load(&trained.quantile.file)?),
            None => None,
        };
        let params = serde_json::json!({
            "models_dir": dir,
            "rule": req.rule,
        });
        let mut run = runs::begin(
            store,
            clock,
            MlRunKind::Evaluate,
            params,
            Some(trained.run_id),
        )
        .await?;
        let result = evaluate_part(
            &dataset,
            Part::Test,
            &req.rule,
            lgbm_predictor(&er, q.as_ref()),
        );
        let test = match result {
            Ok(t) => t,
            Err(e) => {
                runs::end(
                    store,
                    clock,
                    &mut run,
                    MlRunStatus::Failed,
                    Some(e.to_string()),
                )
                .await?;
                return Err(e);
            }
        };
        run.symbols = trained.symbols.clone();
        run.features = trained.expected_return.features.clone();
        run.window = Some(DataWindow {
            from: trained.split.test.start,
            to: trained.split.test.end,
            split: Some(trained.split),
        });
        run.metrics = serde_json::json!({ "test": test.metrics, "per_symbol": test.per_symbol });
        let abs = |p: &std::path::Path| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.to_path_buf())
                .display()
                .to_string()
        };
        let mut outcome = EvaluateOutcome {
            run: run.clone(),
            models_dir: dir.clone(),
            test,
            rule: req.rule,
            period: trained.split.test,
        };
        if let Some(path) = &req.report {
            let html = super::super::report::render(&outcome)?;
            if let Err(e) = write_atomic(path, html.as_bytes()) {
                runs::end(
                    store,
                    clock,
                    &mut run,
                    MlRunStatus::Failed,
                    Some(e.to_string()),
                )
                .await?;
                return Err(e);
            }
        }
        run.artifacts = Artifacts {
            features_dir: Some(abs(&trained.features_dir)),
            models_dir: Some(abs(&dir)),
            models: vec![abs(&dir.join(&trained.expected_return.file))]
                .into_iter()
                .chain(q.as_ref().map(|_| abs(&dir.join(&trained.quantile.file))))
                .collect(),
            importances: Some(abs(&dir.join("importances.json"))),
            report: req.report.as_deref().map(abs),
        };
        runs::end(store, clock, &mut run, MlRunStatus::Finished, None).await?;
        outcome.run = run;
        Ok(outcome)
    }
}
