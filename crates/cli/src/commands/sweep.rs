//! `pulse sweep`: flags → [`SweepRequest`] → `pulse_app::sweep_run::sweep` → printed outcome (or
//! `--json`) and the HTML report of the best parameters. The search itself (Pulse thresholds on
//! all cores, stored studies, walk-forward, overfitting statistics) is the application layer's.

use crate::app::App;
use crate::cli::SweepArgs;
use crate::commands::backtest::run_settings;
use crate::output::fmt_opt;
use crate::output::{bar, outln, print_json, print_table};
use anyhow::{Context, bail};
use pulse_app::sweep_run::{SweepOutcome, SweepRequest, SweepTiming, SweepWindow, sweep_report};
use pulse_search::DeflatedSharpe;

/// `pulse sweep`
pub async fn sweep(app: &App, args: SweepArgs) -> anyhow::Result<()> {
    let request = SweepRequest {
        settings: run_settings(&args.run)?,
        strategy: args.strategy,
        params: args.params,
        constraints: args.constraints,
        objective: args.objective,
        method: args.method,
        seed: args.seed,
        budget: args.budget,
        top: args.top,
        jobs: args.jobs,
        study: args.study,
        walk_forward: args.walk_forward,
        pbo_blocks: args.pbo_blocks,
        heatmaps: args.report.is_some(),
    };
    // Usage errors before the store is opened (and seeded on a first run).
    request.validate()?;
    let store = app.store().await?;
    // Ctrl-C stops the search cleanly: running trials finish, finished trials are reported (and
    // stored with --study).
    let (cancel, ctrl_c) = crate::app::ctrl_c_flag();
    let pb = bar(app.progress(), 0, "trials");
    let progress = |finished: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(finished);
    };
    // The search blocks this thread on rayon's pool; the runtime keeps serving Ctrl-C meanwhile.
    let handle = tokio::runtime::Handle::current();
    let outcome = match &args.storage {
        None => tokio::task::block_in_place(|| {
            handle.block_on(pulse_app::sweep_run::sweep(
                &store, &request, &progress, &cancel,
            ))
        }),
        Some(url) => {
            let studies = crate::commands::sweep_shared::connect(url, request.jobs).await?;
            let shared =
                crate::commands::sweep_shared::shared(&studies, args.heartbeat, args.grace)?;
            tokio::task::block_in_place(|| {
                handle.block_on(pulse_app::sweep_run::sweep_shared(
                    &store, &shared, &request, &progress, &cancel,
                ))
            })
        }
    };
    pb.finish_and_clear();
    ctrl_c.abort();
    let outcome = outcome?;
    let report = match &args.report {
        None => None,
        Some(path) if outcome.best.is_none() => bail!(
            "no trial finished with a defined {}: no report written to {}",
            outcome.objective,
            path.display()
        ),
        Some(path) => {
            pulse_report::write_html(path, &sweep_report(&outcome)?)
                .with_context(|| format!("cannot write the report {}", path.display()))?;
            Some(path.display().to_string())
        }
    };
    if app.json {
        let mut json = serde_json::to_value(&outcome)?;
        if let Some(path) = report {
            json["report"] = path.into();
        }
        return print_json(&json);
    }
    print_summary(&outcome)?;
    if let Some(path) = report {
        outln!("Report: {path}   (best parameters, IN-SAMPLE)")?;
    }
    Ok(())
}

fn print_summary(o: &SweepOutcome) -> anyhow::Result<()> {
    let SweepWindow { from, to, bars, .. } = &o.window;
    let (trials, new, method, objective) = (o.trials, o.new_trials, o.method, o.objective);
    let interrupted = match o.cancelled {
        true => " — interrupted, finished trials kept",
        false => "",
    };
    outln!(
        "{trials} trials ({method}) maximizing {objective} over {from}..{to} ({bars} bars, IN-SAMPLE){interrupted}"
    )?;
    if let Some(study) = &o.study {
        outln!("study {study}: {} stored trials, {new} new", trials - new)?;
    }
    if o.sampled {
        outln!(
            "the grid has more points than the budget: its trials were drawn uniformly at random (--seed)"
        )?;
    }
    let SweepTiming {
        search_seconds: search,
        threads,
        engine,
        statistics_seconds: stats,
        ..
    } = &o.timing;
    let speed = o
        .timing
        .trials_per_second
        .map(|r| format!("{r:.0} trials/s"));
    let speed = speed.unwrap_or_else(|| "no new trials".to_string());
    outln!(
        "Searched in {search:.2} s: {speed} on {threads} threads ({engine}); statistics {stats:.2} s"
    )?;
    let names = &o.parameters;
    let mut header: Vec<&str> = vec!["#", "trial"];
    header.extend(names.iter().map(String::as_str));
    header.extend(["score", "sharpe", "cagr", "max dd", "fills"]);
    let rows: Vec<Vec<String>> = o
        .top
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let params = names
                .iter()
                .map(|n| t.params.get(n).map(|v| format!("{v}")));
            let fills = t.metric("fills").map(|f| format!("{f:.0}"));
            [(i + 1).to_string(), t.number.to_string()]
                .into_iter()
                .chain(params.map(Option::unwrap_or_default))
                .chain([
                    format!("{:.3}", t.score),
                    fmt_opt(t.metric("sharpe"), false),
                ])
                .chain([
                    fmt_opt(t.metric("cagr"), true),
                    fmt_opt(t.metric("max_drawdown"), true),
                ])
                .chain([fills.unwrap_or_default()])
                .collect()
        })
        .collect();
    print_table(&header, &rows)?;
    let importance: Vec<String> = o
        .importance
        .iter()
        .map(|(n, v)| format!("{n} {:.2}", if v.is_finite() { *v } else { 0.0 }))
        .collect();
    outln!("parameter importance (η²): {}", importance.join(", "))?;
    if let Some(DeflatedSharpe { dsr, n_trials, .. }) = &o.deflated_sharpe {
        outln!(
            "deflated Sharpe ratio of the best trial: {dsr:.3} (probability that its Sharpe is above what the best of {n_trials} luck-only trials would show)"
        )?;
    }
    if let Some(p) = &o.pbo {
        let (pbo, combinations, blocks) = (p.pbo, p.combinations, p.blocks);
        outln!(
            "probability of backtest overfitting (CSCV, {blocks} blocks, {combinations} combinations): {pbo:.2}"
        )?;
    }
    if let Some(wf) = &o.walk_forward {
        outln!(
            "walk-forward (best params on each train window, traded on the next test window = OUT-OF-SAMPLE):"
        )?;
        let rows: Vec<Vec<String>> = wf
            .folds
            .iter()
            .map(|f| {
                vec![
                    format!("{}..{}", f.train[0], f.train[1]),
                    format!("{}..{}", f.test[0], f.test[1]),
                    format!("{:.3}", f.in_sample),
                    format!("{:.3}", f.out_of_sample),
                ]
            })
            .collect();
        print_table(&["train", "test", "in-sample", "out-of-sample"], &rows)?;
        let (is, oos) = (wf.in_sample_mean, wf.out_of_sample_mean);
        let stitched = fmt_opt(wf.stitched_oos_sharpe_annualized, false);
        outln!(
            "mean in-sample {is:.3} vs out-of-sample {oos:.3}; stitched out-of-sample Sharpe (annualized) {stitched}"
        )?;
    }
    Ok(())
}
