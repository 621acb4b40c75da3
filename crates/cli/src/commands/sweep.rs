//! `pulse sweep`: the Pulse thresholds searched on all cores, with walk-forward validation and
//! overfitting statistics. Every trial is a full backtest through the same engine as `pulse
//! backtest` (same data, costs and starting account); parameters are TOML paths of the rule set.

use crate::app::{App, usage};
use crate::cli::SweepArgs;
use crate::commands::backtest::{fmt_opt, prepare};
use crate::output::outln;
use crate::output::{bar, print_json, print_table};
use anyhow::{Context, bail};
use pulse_app::backtest::{Prepared, build_report, date_of, run_all};
use pulse_app::sweep::{CACHE_BYTES, Evaluation, Need, TrialCache, apply, evaluate, path_of};
use pulse_backtest::PulseMarket;
use pulse_core::ports::{Store, StoredTrial};
use pulse_report::{
    SampleLabel, SweepHeatmap, SweepSection, SweepStatistic, SweepTrialRow, WalkForwardFold,
};
use pulse_search::{
    Aggregate, BlockMoments, ParamSpace, PboMetric, Point, TopTrials, Trial, TrialRecord,
    WalkForwardSpec,
};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// `pulse sweep`
pub async fn sweep(app: &App, args: SweepArgs) -> anyhow::Result<()> {
    if args.strategy != "pulse" {
        return Err(usage(format!(
            "--strategy {:?}: only pulse declares a parameter space yet",
            args.strategy
        )));
    }
    if args.budget == 0 {
        return Err(usage("--budget must be at least 1 trial"));
    }
    let space =
        ParamSpace::parse(&args.params, &args.constraints).map_err(|e| usage(e.to_string()))?;
    let names: Vec<String> = args
        .params
        .iter()
        .map(|p| p.split('=').next().unwrap_or("").trim().to_string())
        .collect();
    let method = args.method.strategy(args.seed);
    let store = app.store().await?;
    let p = prepare(&store, &args.run).await?;
    let base = toml::Value::try_from(&p.cfg).context("rule set")?;
    // Every name must lead to a number of the rule set before any CPU is spent.
    for name in &names {
        let mut slot = &base;
        for key in path_of(name).split('.') {
            slot = match slot {
                toml::Value::Table(t) => t.get(key),
                toml::Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            }
            .ok_or_else(|| {
                usage(format!(
                    "--param {name}: no {:?} in the rule set (see `pulse strategy show pulse`)",
                    path_of(name)
                ))
            })?;
        }
        if !matches!(slot, toml::Value::Integer(_) | toml::Value::Float(_)) {
            return Err(usage(format!(
                "--param {name}: {:?} is not a number",
                path_of(name)
            )));
        }
    }
    for param in space.params() {
        let (lo, _) = param.spec.bounds();
        let hi = param.spec.grid_max();
        if let Some(reason) = pulse_app::sweep::range_outside_domain(&base, &param.name, lo, hi) {
            return Err(usage(format!(
                "--param {}: the range {lo}..{hi} lies outside what the rule set accepts ({reason})",
                param.name
            )));
        }
    }
    let n = p.market.data.timeline.len();
    let window = p.first_eval..n;
    if window.len() < 60 {
        bail!("only {} evaluable bars: too few to search", window.len());
    }
    // A stored study: same settings, then its finished trials (with their PBO inputs) as `done`.
    let mut done: Vec<TrialRecord> = Vec::new();
    let mut stored_moments: HashMap<u64, BlockMoments> = HashMap::new();
    if let Some(study) = &args.study {
        let t = &p.market.data.timeline;
        let settings = serde_json::json!({
            "params": args.params, "constraints": args.constraints, "objective": args.objective,
            "method": args.method, "seed": args.seed, "strategy": p.cfg_text,
            "window": [t.get(window.start).map(|x| x.to_string()), t.last().map(|x| x.to_string())],
            "pbo_blocks": args.pbo_blocks,
        });
        let key = format!("sweep.study.{study}");
        match store.document(&key).await? {
            Some(prev) if serde_json::from_str::<serde_json::Value>(&prev)? != settings => {
                bail!(
                    "study {study:?} was run with other settings (parameters, objective, method, seed, rule set or data); use another --study name"
                );
            }
            Some(_) => {}
            None => {
                store
                    .save_documents(&[(key.as_str(), settings.to_string())], &[])
                    .await?
            }
        }
        for t in store.trials(study).await? {
            let params: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&t.params_json)?;
            let pairs: Vec<(String, f64)> = params
                .iter()
                .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(f64::NAN)))
                .collect();
            let details: serde_json::Value = serde_json::from_str(&t.details_json)?;
            let metrics: Vec<(String, f64)> =
                serde_json::from_value(details["metrics"].clone()).unwrap_or_default();
            if let Ok(m) = serde_json::from_value::<BlockMoments>(details["moments"].clone()) {
                stored_moments.insert(t.number, m);
            }
            done.push(TrialRecord {
                number: t.number,
                point: space.point_from_pairs(&pairs)?,
                trial: Trial {
                    score: t.score.unwrap_or(f64::NAN),
                    metrics,
                },
            });
        }
    }
    // Ctrl-C stops the search cleanly: running trials finish, finished trials are reported.
    let cancel: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.store(true, Ordering::Relaxed);
        }
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()?;
    let objective = args.objective;
    // The kernel lays the market out once (dense columns, indicator cache shared by all trials);
    // markets it does not model fall back to the general runner.
    let kernel = PulseMarket::new(&p.market.data, &p.cfg).ok();
    let cache = TrialCache::new(CACHE_BYTES);
    let eval = |point: &Point, range: Range<usize>, need: Need| -> Evaluation {
        match apply(&base, &names, point) {
            Ok(cfg) => evaluate(
                &p,
                kernel.as_ref().map(|k| (k, &cache)),
                cfg,
                range,
                objective,
                need,
            )
            .unwrap_or_else(|_| Evaluation::failed()),
            Err(_) => Evaluation::failed(),
        }
    };
    let folds = match &args.walk_forward {
        Some(spec) => Some(
            WalkForwardSpec::parse(spec)
                .map_err(|e| usage(e.to_string()))?
                .folds(window.len())
                .map_err(|e| usage(e.to_string()))?,
        ),
        None => None,
    };
    let total = args.budget * folds.as_ref().map_or(1, |f| f.len() as u64);
    let pb = bar(app.progress(), total, "trials");
    // Trials are stored from rayon workers through the runtime's handle (captured here, on a
    // runtime thread).
    let handle = tokio::runtime::Handle::current();
    let (mut result, heatmaps, best_point) = tokio::task::block_in_place(
        || -> anyhow::Result<(serde_json::Value, Vec<SweepHeatmap>, Option<Point>)> {
            pool.install(|| {
            // Full-window search: every trial, its block moments for PBO.
            let top = Mutex::new(TopTrials::new(args.top.max(1)));
            let moments: Mutex<HashMap<Vec<u64>, BlockMoments>> = Mutex::new(HashMap::new());
            let key_of = |pt: &Point| pt.values().iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
            let pending: Mutex<Vec<StoredTrial>> = Mutex::new(Vec::new());
            let flush = |batch: Vec<StoredTrial>| -> anyhow::Result<()> {
                if !batch.is_empty() {
                    handle.block_on(store.save_trials(&batch))?;
                }
                Ok(())
            };
            let store_failed = Mutex::new(None::<String>);
            let records: Mutex<Vec<TrialRecord>> = Mutex::new(Vec::new());
            let blocks = args.pbo_blocks;
            let search_started = std::time::Instant::now();
            let outcome = pulse_search::run_search(
                &space,
                &method,
                args.budget,
                &done,
                |point| {
                    let e = eval(point, window.clone(), Need::Moments(blocks));
                    if let Some(bm) = e.moments {
                        moments.lock().unwrap_or_else(|e| e.into_inner()).insert(key_of(point), bm);
                    }
                    e.trial
                },
                |rec| {
                    pb.inc(1);
                    top.lock().unwrap_or_else(|e| e.into_inner()).offer(rec);
                    records.lock().unwrap_or_else(|e| e.into_inner()).push(rec.clone());
                    if let Some(study) = &args.study {
                        let bm = moments.lock().unwrap_or_else(|e| e.into_inner()).get(&key_of(&rec.point)).cloned();
                        let stored = StoredTrial {
                            study: study.clone(),
                            number: rec.number,
                            params_json: serde_json::to_string(&rec.point).unwrap_or_default(),
                            score: Some(rec.trial.score).filter(|s| s.is_finite()),
                            details_json: serde_json::json!({"metrics": rec.trial.metrics, "moments": bm}).to_string(),
                        };
                        let batch = {
                            let mut q = pending.lock().unwrap_or_else(|e| e.into_inner());
                            q.push(stored);
                            if q.len() >= 256 { std::mem::take(&mut *q) } else { Vec::new() }
                        };
                        if let Err(e) = flush(batch) {
                            *store_failed.lock().unwrap_or_else(|x| x.into_inner()) = Some(e.to_string());
                        }
                    }
                },
                cancel,
            )?;
            let search_seconds = search_started.elapsed().as_secs_f64();
            let statistics_started = std::time::Instant::now();
            flush(std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner())))?;
            if let Some(e) = store_failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
                bail!("storing trials failed: {e}");
            }
            let mut records = records.into_inner().unwrap_or_else(|e| e.into_inner());
            records.extend(done.iter().cloned());
            // Trial-number order: deterministic statistics whatever order the workers finished in
            // (CSCV also breaks ties by position).
            records.sort_by_key(|r| r.number);
            let top = top.into_inner().unwrap_or_else(|e| e.into_inner()).into_sorted();
            let importance = pulse_search::param_importance(&space, &records);
            // Heatmaps (report only): every pair of the first three parameters, best over the rest.
            let mut heatmaps = Vec::new();
            if args.report.is_some() {
                let first: Vec<&String> = names.iter().take(3).collect();
                for (a, x) in first.iter().enumerate() {
                    for y in &first[a + 1..] {
                        heatmaps.push(to_report_heatmap(pulse_search::heatmap(&space, &records, x, y, Aggregate::Max)?));
                    }
                }
            }
            // Overfitting statistics over every trial of the full-window search.
            // Stored and new trials alike.
            let new_moments = moments.into_inner().unwrap_or_else(|e| e.into_inner());
            let moments: Vec<BlockMoments> = records
                .iter()
                .filter_map(|r| stored_moments.get(&r.number).or_else(|| new_moments.get(&key_of(&r.point))).cloned())
                .collect();
            let pbo = pulse_search::pbo_cscv_blocks(&moments, PboMetric::Sharpe).ok();
            let trial_sharpes: Vec<f64> = moments.iter().map(|m| m.sharpe()).filter(|s| s.is_finite()).collect();
            let dsr = outcome.best.as_ref().and_then(|best| {
                let returns = eval(&best.point, window.clone(), Need::Returns).returns.unwrap_or_default();
                pulse_search::deflated_sharpe_ratio(&returns, &trial_sharpes).ok()
            });
            let statistics_seconds = statistics_started.elapsed().as_secs_f64();
            // Walk-forward: best on each train window, traded on the next test window.
            let wf_started = std::time::Instant::now();
            let wf = match &folds {
                None => None,
                Some(folds) => {
                    let shifted: Vec<pulse_search::Fold> = folds
                        .iter()
                        .map(|f| pulse_search::Fold { index: f.index, train: (f.train.start + window.start)..(f.train.end + window.start), test: (f.test.start + window.start)..(f.test.end + window.start) })
                        .collect();
                    let out = pulse_search::walk_forward(&space, &method, args.budget, &shifted, |pt, r| eval(pt, r, Need::Score).trial, |_, _| pb.inc(1), cancel)?;
                    let mut stitched = Vec::new();
                    for f in &out.folds {
                        if let Some(r) = eval(&f.params, f.fold.test.clone(), Need::Returns).returns {
                            stitched.extend(r.iter().copied());
                        }
                    }
                    let sd = pulse_search::return_stats(&stitched).ok();
                    Some((out, sd))
                }
            };
            pb.finish_and_clear();
            let wf_seconds = wf.is_some().then(|| wf_started.elapsed().as_secs_f64());
            let t = &p.market.data.timeline;
            let day = |i: usize| t.get(i).map(|x| date_of(*x, p.timeframe)).unwrap_or_default();
            let point_json = |pt: &Point| -> serde_json::Value {
                names.iter().zip(pt.values()).map(|(n, v)| (n.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>().into()
            };
            let json = serde_json::json!({
                "objective": objective,
                "method": args.method,
                "window": {"from": day(window.start), "to": day(window.end - 1), "bars": window.len(), "sample": "in-sample"},
                "trials": outcome.total_trials,
                "new_trials": outcome.new_trials,
                "study": args.study,
                "cancelled": outcome.cancelled || cancel.load(Ordering::Relaxed),
                "exhausted": outcome.exhausted,
                "best": outcome.best.as_ref().map(|b| serde_json::json!({"number": b.number, "params": point_json(&b.point), "score": b.trial.score, "metrics": b.trial.metrics})),
                "top": top.iter().map(|b| serde_json::json!({"number": b.number, "params": point_json(&b.point), "score": b.trial.score, "metrics": b.trial.metrics})).collect::<Vec<_>>(),
                "importance": importance,
                "deflated_sharpe": dsr,
                "pbo": pbo.as_ref().map(|x| serde_json::json!({"pbo": x.pbo, "prob_oos_loss": x.prob_oos_loss, "combinations": x.n_combinations, "blocks": blocks})),
                "timing": {
                    "engine": if kernel.is_some() { "kernel" } else { "general runner" },
                    "threads": pool.current_num_threads(),
                    "search_seconds": search_seconds,
                    "trials_per_second": outcome.new_trials as f64 / search_seconds.max(1e-9),
                    "statistics_seconds": statistics_seconds,
                    "reused_runs": cache.hits(),
                    "walk_forward_seconds": wf_seconds,
                },
                "walk_forward": wf.as_ref().map(|(o, sd)| {
                    let (is_mean, oos_mean) = o.mean_scores();
                    serde_json::json!({
                        "folds": o.folds.iter().map(|f| serde_json::json!({
                            "train": [day(f.fold.train.start), day(f.fold.train.end - 1)],
                            "test": [day(f.fold.test.start), day(f.fold.test.end - 1)],
                            "params": point_json(&f.params),
                            "in_sample": f.in_sample.score,
                            "out_of_sample": f.out_of_sample.score,
                        })).collect::<Vec<_>>(),
                        "in_sample_mean": is_mean,
                        "out_of_sample_mean": oos_mean,
                        "stitched_oos_sharpe_annualized": sd.as_ref().map(|s| s.sharpe * (252f64).sqrt()),
                        "stitched_oos_bars": sd.as_ref().map(|s| s.n),
                    })
                }),
            });
            Ok((json, heatmaps, outcome.best.as_ref().map(|b| b.point.clone())))
        })
        },
    )?;
    let mut report_path = None;
    if let (Some(path), Some(point)) = (&args.report, &best_point) {
        write_report(p, &base, &names, point, &result, heatmaps, path)?;
        report_path = Some(path.display().to_string());
        result["report"] = serde_json::json!(report_path);
    } else if let Some(path) = &args.report {
        bail!(
            "no trial finished with a defined {objective}: no report written to {}",
            path.display()
        );
    }
    if app.json {
        return print_json(&result);
    }
    print_summary(&result, &names)?;
    if let Some(path) = report_path {
        outln!("Report: {path}   (best parameters, IN-SAMPLE)")?;
    }
    Ok(())
}

/// `pulse_search`'s flat heatmap as the report's rows (`cells[iy][ix]`).
fn to_report_heatmap(h: pulse_search::Heatmap) -> SweepHeatmap {
    let nx = h.x.values.len().max(1);
    SweepHeatmap {
        cells: h
            .cells
            .chunks(nx)
            .map(|row| row.iter().map(|c| c.filter(|v| v.is_finite())).collect())
            .collect(),
        x_name: h.x.name,
        y_name: h.y.name,
        x_values: h.x.values,
        y_values: h.y.values,
    }
}

/// Name → value of a JSON object of numbers (missing or null values are skipped).
fn params_map(v: &serde_json::Value) -> std::collections::BTreeMap<String, f64> {
    v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, x)| x.as_f64().map(|x| (k.clone(), x)))
                .collect()
        })
        .unwrap_or_default()
}

/// The report's search section, from the same JSON `--json` prints.
fn sweep_section(
    r: &serde_json::Value,
    names: &[String],
    heatmaps: Vec<SweepHeatmap>,
) -> SweepSection {
    let num = |v: &serde_json::Value| v.as_f64().filter(|x| x.is_finite());
    let metric = |t: &serde_json::Value, k: &str| {
        t["metrics"]
            .as_array()
            .and_then(|a| a.iter().find(|m| m[0] == k))
            .and_then(|m| num(&m[1]))
    };
    let top = r["top"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| SweepTrialRow {
                    number: t["number"].as_u64().unwrap_or(0),
                    params: params_map(&t["params"]),
                    score: num(&t["score"]),
                    sharpe: metric(t, "sharpe"),
                    cagr: metric(t, "cagr"),
                    max_drawdown: metric(t, "max_drawdown"),
                    fills: metric(t, "fills"),
                })
                .collect()
        })
        .unwrap_or_default();
    let importance = r["importance"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| Some((x[0].as_str()?.to_string(), num(&x[1])?)))
                .collect()
        })
        .unwrap_or_default();
    let deflated_sharpe = r["deflated_sharpe"].as_object().map(|d| SweepStatistic {
        value: d.get("dsr").and_then(num),
        explanation: format!(
            "Probability that the best trial's true Sharpe ratio is above what the best of {} luck-only trials would show (near 100 % = convincing; low = the winner may be a fluke of the search).",
            d.get("n_trials").cloned().unwrap_or_default()
        ),
    });
    let pbo = r["pbo"].as_object().map(|d| SweepStatistic {
        value: d.get("pbo").and_then(num),
        explanation: format!(
            "Share of the {} CSCV splits ({} blocks) where the in-sample winner ranks at or below the median out of sample (near 0 % = good; 50 % or more = the search is overfitting).",
            d.get("combinations").cloned().unwrap_or_default(),
            d.get("blocks").cloned().unwrap_or_default()
        ),
    });
    let day = |v: &serde_json::Value, i: usize| v[i].as_str().unwrap_or("").to_string();
    let walk_forward = r["walk_forward"]["folds"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| WalkForwardFold {
                    train_from: day(&f["train"], 0),
                    train_to: day(&f["train"], 1),
                    test_from: day(&f["test"], 0),
                    test_to: day(&f["test"], 1),
                    in_sample: num(&f["in_sample"]),
                    out_of_sample: num(&f["out_of_sample"]),
                    params: params_map(&f["params"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let w = &r["window"];
    SweepSection {
        objective: r["objective"].as_str().unwrap_or("").to_string(),
        method: r["method"].as_str().unwrap_or("").to_string(),
        trials: r["trials"].as_u64().unwrap_or(0),
        window: format!(
            "{}..{} ({} bars)",
            w["from"].as_str().unwrap_or(""),
            w["to"].as_str().unwrap_or(""),
            w["bars"]
        ),
        parameters: names.to_vec(),
        top,
        importance,
        deflated_sharpe,
        pbo,
        walk_forward,
        heatmaps,
    }
}

/// Runs the best parameters through the `pulse backtest` path (strategy and the three benchmarks)
/// and writes the IN-SAMPLE report with the search section.
fn write_report(
    mut p: Prepared,
    base: &toml::Value,
    names: &[String],
    point: &Point,
    result: &serde_json::Value,
    heatmaps: Vec<SweepHeatmap>,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    p.cfg = apply(base, names, point).map_err(|e| anyhow::anyhow!("best parameters: {e}"))?;
    let chosen: Vec<String> = names
        .iter()
        .zip(point.values())
        .map(|(n, v)| format!("{n} = {v}"))
        .collect();
    p.cfg_text = format!(
        "# Best trial of `pulse sweep` ({}) written into the rule set\n{}",
        chosen.join(", "),
        toml::to_string(&p.cfg).context("rule set")?
    );
    let runs = run_all(&p, |_| {})?;
    let mut report = build_report(&p, &runs, SampleLabel::InSample)?;
    report.title = format!(
        "Pulse sweep: {} + {} (best of {} trials)",
        p.cfg.symbols.base, p.cfg.symbols.leveraged, result["trials"]
    );
    report.notes.insert(
        0,
        format!(
            "IN-SAMPLE: parameters ({}) were chosen as the best {} of {} trials on this same data, so the curve and metrics below are optimistic; see the walk-forward table for out-of-sample scores.",
            chosen.join(", "),
            result["objective"].as_str().unwrap_or(""),
            result["trials"]
        ),
    );
    report.sweep = Some(sweep_section(result, names, heatmaps));
    pulse_report::write_html(path, &report)
        .with_context(|| format!("cannot write the report {}", path.display()))
}

fn print_summary(r: &serde_json::Value, names: &[String]) -> anyhow::Result<()> {
    outln!(
        "{} trials ({}) maximizing {} over {}..{} ({} bars, IN-SAMPLE){}",
        r["trials"],
        r["method"].as_str().unwrap_or(""),
        r["objective"].as_str().unwrap_or(""),
        r["window"]["from"].as_str().unwrap_or(""),
        r["window"]["to"].as_str().unwrap_or(""),
        r["window"]["bars"],
        if r["cancelled"] == true {
            " — interrupted, finished trials kept"
        } else {
            ""
        }
    )?;
    let timing = &r["timing"];
    outln!(
        "Searched in {:.2} s: {:.0} trials/s on {} threads ({}); statistics {:.2} s",
        timing["search_seconds"].as_f64().unwrap_or(f64::NAN),
        timing["trials_per_second"].as_f64().unwrap_or(f64::NAN),
        timing["threads"],
        timing["engine"].as_str().unwrap_or(""),
        timing["statistics_seconds"].as_f64().unwrap_or(f64::NAN),
    )?;
    let mut header: Vec<&str> = vec!["#", "trial"];
    header.extend(names.iter().map(String::as_str));
    header.extend(["score", "sharpe", "cagr", "max dd", "fills"]);
    let metric = |t: &serde_json::Value, k: &str| {
        t["metrics"]
            .as_array()
            .and_then(|a| a.iter().find(|m| m[0] == k))
            .and_then(|m| m[1].as_f64())
    };
    let rows: Vec<Vec<String>> = r["top"]
        .as_array()
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, t)| {
                    let mut row = vec![(i + 1).to_string(), t["number"].to_string()];
                    row.extend(names.iter().map(|n| {
                        t["params"][n]
                            .as_f64()
                            .map(|v| format!("{v}"))
                            .unwrap_or_default()
                    }));
                    row.push(format!("{:.3}", t["score"].as_f64().unwrap_or(f64::NAN)));
                    row.push(fmt_opt(metric(t, "sharpe"), false));
                    row.push(fmt_opt(metric(t, "cagr"), true));
                    row.push(fmt_opt(metric(t, "max_drawdown"), true));
                    row.push(
                        metric(t, "fills")
                            .map(|f| format!("{f:.0}"))
                            .unwrap_or_default(),
                    );
                    row
                })
                .collect()
        })
        .unwrap_or_default();
    print_table(&header, &rows)?;
    if let Some(imp) = r["importance"].as_array() {
        let s: Vec<String> = imp
            .iter()
            .map(|x| {
                format!(
                    "{} {:.2}",
                    x[0].as_str().unwrap_or(""),
                    x[1].as_f64().unwrap_or(0.0)
                )
            })
            .collect();
        outln!("parameter importance (η²): {}", s.join(", "))?;
    }
    if let Some(d) = r["deflated_sharpe"].as_object() {
        outln!(
            "deflated Sharpe ratio of the best trial: {:.3} (probability that its Sharpe is above what the best of {} luck-only trials would show)",
            d.get("dsr").and_then(|v| v.as_f64()).unwrap_or(f64::NAN),
            d.get("n_trials").cloned().unwrap_or_default()
        )?;
    }
    if let Some(pbo) = r["pbo"].as_object() {
        outln!(
            "probability of backtest overfitting (CSCV, {} blocks, {} combinations): {:.2}",
            pbo.get("blocks").cloned().unwrap_or_default(),
            pbo.get("combinations").cloned().unwrap_or_default(),
            pbo.get("pbo").and_then(|v| v.as_f64()).unwrap_or(f64::NAN)
        )?;
    }
    if let Some(wf) = r["walk_forward"].as_object() {
        outln!(
            "walk-forward (best params on each train window, traded on the next test window = OUT-OF-SAMPLE):"
        )?;
        let rows: Vec<Vec<String>> = wf["folds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        vec![
                            format!(
                                "{}..{}",
                                f["train"][0].as_str().unwrap_or(""),
                                f["train"][1].as_str().unwrap_or("")
                            ),
                            format!(
                                "{}..{}",
                                f["test"][0].as_str().unwrap_or(""),
                                f["test"][1].as_str().unwrap_or("")
                            ),
                            format!("{:.3}", f["in_sample"].as_f64().unwrap_or(f64::NAN)),
                            format!("{:.3}", f["out_of_sample"].as_f64().unwrap_or(f64::NAN)),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        print_table(&["train", "test", "in-sample", "out-of-sample"], &rows)?;
        outln!(
            "mean in-sample {:.3} vs out-of-sample {:.3}; stitched out-of-sample Sharpe (annualized) {}",
            wf["in_sample_mean"].as_f64().unwrap_or(f64::NAN),
            wf["out_of_sample_mean"].as_f64().unwrap_or(f64::NAN),
            fmt_opt(wf["stitched_oos_sharpe_annualized"].as_f64(), false)
        )?;
    }
    Ok(())
}
