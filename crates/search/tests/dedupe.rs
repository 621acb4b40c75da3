//! Issue #12 item 8: a trial is a distinct point. Random and TPE never evaluate (or count) a point
//! twice; a grid far larger than the budget is sampled uniformly instead of walked from its first
//! corner; a search cut into steps runs the same trials as one run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pulse_search::{
    ParamSpace, Point, Search, Strategy, TpeConfig, Trial, TrialRecord, run_search,
};

fn bits(p: &Point) -> Vec<u64> {
    p.values().iter().map(|v| v.to_bits()).collect()
}

fn score(p: &Point) -> Trial {
    let v = p.values();
    Trial::new(-(v[0] - 2.0).powi(2) - (v[1] - 1.0).powi(2))
}

/// Runs a search, returning its records by number and how often the objective ran.
fn collect(
    space: &ParamSpace,
    strategy: &Strategy,
    budget: u64,
    done: &[TrialRecord],
) -> (Vec<TrialRecord>, usize, pulse_search::SearchOutcome) {
    let calls = AtomicUsize::new(0);
    let recs = Mutex::new(Vec::new());
    let out = run_search(
        space,
        strategy,
        budget,
        done,
        |p| {
            calls.fetch_add(1, Ordering::Relaxed);
            score(p)
        },
        |r| recs.lock().unwrap().push(r.clone()),
        &AtomicBool::new(false),
    )
    .unwrap();
    let mut recs = recs.into_inner().unwrap();
    recs.sort_by_key(|r| r.number);
    (recs, calls.into_inner(), out)
}

#[test]
fn random_and_tpe_never_count_a_repeated_point_as_a_new_trial() {
    // 16 points and a budget of 50: before, 50 "trials" with 34 repeats (which also inflated the
    // deflated Sharpe ratio's number of trials); now the 16 distinct points, then exhausted.
    let space = ParamSpace::parse(&["a=0:3:1", "b=0:3:1"], &[] as &[&str]).unwrap();
    for strategy in [
        Strategy::Random { seed: 1 },
        Strategy::Tpe(TpeConfig::seeded(2)),
    ] {
        let (recs, calls, out) = collect(&space, &strategy, 50, &[]);
        assert_eq!(calls, 16, "{strategy:?}");
        assert_eq!(out.new_trials, 16, "{strategy:?}");
        assert_eq!(out.total_trials, 16, "{strategy:?}");
        assert!(out.exhausted && !out.cancelled, "{strategy:?}");
        assert!(out.redrawn > 0, "{strategy:?}");
        let distinct: HashSet<Vec<u64>> = recs.iter().map(|r| bits(&r.point)).collect();
        assert_eq!(distinct.len(), 16, "{strategy:?}");
        // Numbers stay a sequence without gaps.
        let numbers: Vec<u64> = recs.iter().map(|r| r.number).collect();
        assert_eq!(numbers, (0..16).collect::<Vec<_>>(), "{strategy:?}");
        // Resuming from the stored trials finds nothing new and redoes nothing.
        let (again, calls, out) = collect(&space, &strategy, 50, &recs);
        assert!(again.is_empty() && calls == 0, "{strategy:?}");
        assert_eq!(out.total_trials, 16);
        assert!(out.exhausted);
    }
}

#[test]
fn tpe_on_a_small_discrete_space_draws_new_points_instead_of_repeats() {
    // 100 points, 60 trials: TPE converges and re-suggests its best points; each repeat is drawn
    // again, so the budget buys 60 distinct points.
    let space = ParamSpace::parse(&["a=0:9:1", "b=0:9:1"], &[] as &[&str]).unwrap();
    let strategy = Strategy::Tpe(TpeConfig::seeded(3));
    let (recs, calls, out) = collect(&space, &strategy, 60, &[]);
    assert_eq!((calls, out.total_trials), (60, 60));
    assert!(!out.exhausted);
    let distinct: HashSet<Vec<u64>> = recs.iter().map(|r| bits(&r.point)).collect();
    assert_eq!(distinct.len(), 60);
    // Still reproducible.
    let (again, _, _) = collect(&space, &strategy, 60, &[]);
    assert_eq!(recs, again);
}

#[test]
fn a_grid_larger_than_the_budget_is_sampled_uniformly_not_walked_from_its_corner() {
    // 10¹² points, 200 trials: the walk in index order would vary only the last two parameters.
    let params: Vec<String> = (0..6).map(|i| format!("p{i}=0:99:1")).collect();
    let space = ParamSpace::parse(&params, &[] as &[&str]).unwrap();
    assert_eq!(space.grid_size().unwrap(), 1_000_000_000_000);
    let strategy = Strategy::SampledGrid { seed: 42 };
    let (recs, _, out) = collect(&space, &strategy, 200, &[]);
    assert!(out.sampled && !out.exhausted);
    assert_eq!(out.total_trials, 200);
    for j in 0..6 {
        let mean = recs.iter().map(|r| r.point.values()[j]).sum::<f64>() / 200.0;
        assert!((35.0..65.0).contains(&mean), "p{j} mean {mean}");
    }
    // Numbers are grid indices, all distinct.
    for r in &recs {
        assert_eq!(space.grid_index(&r.point), Some(r.number));
    }
    let numbers: BTreeSet<u64> = recs.iter().map(|r| r.number).collect();
    assert_eq!(numbers.len(), 200);
    // Seeded: the same seed draws the same sample, another seed another one.
    assert_eq!(collect(&space, &strategy, 200, &[]).0, recs);
    assert_ne!(
        collect(&space, &Strategy::SampledGrid { seed: 43 }, 200, &[]).0,
        recs
    );
    // A study resumed with a larger budget (still below the grid) extends the same sample.
    let (first, _, _) = collect(&space, &strategy, 80, &[]);
    let (rest, calls, out) = collect(&space, &strategy, 200, &first);
    assert_eq!((calls, out.total_trials), (120, 200));
    let mut joined: Vec<TrialRecord> = first.into_iter().chain(rest).collect();
    joined.sort_by_key(|r| r.number);
    assert_eq!(joined, recs);
}

#[test]
fn a_grid_within_the_budget_is_walked_in_index_order() {
    let space = ParamSpace::parse(&["a=0:3:1", "b=0:3:1"], &["a < b"]).unwrap();
    let (sampled, _, out) = collect(&space, &Strategy::SampledGrid { seed: 1 }, 16, &[]);
    assert!(!out.sampled);
    let (walked, _, _) = collect(&space, &Strategy::Grid, 16, &[]);
    assert_eq!(sampled, walked);
    // Constraints with a grid larger than the budget: the sample holds feasible points only and
    // ends exhausted when fewer feasible points exist than the budget.
    let (recs, _, out) = collect(&space, &Strategy::SampledGrid { seed: 1 }, 10, &[]);
    assert!(out.sampled && out.exhausted);
    assert_eq!(recs.len(), 6);
    assert!(
        recs.iter()
            .all(|r| r.point.values()[0] < r.point.values()[1])
    );
}

#[test]
fn a_search_run_in_steps_runs_the_same_trials_as_one_run() {
    let space = ParamSpace::parse(&["a=0:20:1", "b=0:20:1", "c=0:1"], &["a < b"]).unwrap();
    let grid_space = ParamSpace::parse(&["a=0:20:1", "b=0:20:1"], &["a < b"]).unwrap();
    for (space, strategy) in [
        (&space, Strategy::Random { seed: 5 }),
        (
            &space,
            Strategy::Tpe(TpeConfig {
                batch: 4,
                ..TpeConfig::seeded(5)
            }),
        ),
        (&grid_space, Strategy::SampledGrid { seed: 5 }),
    ] {
        let (whole, _, _) = collect(space, &strategy, 90, &[]);
        let cancel = AtomicBool::new(false);
        let recs = Mutex::new(Vec::new());
        let mut search = Search::new(space, &strategy, 90, &[]).unwrap();
        let mut steps = 0;
        while !search.is_finished() {
            search
                .run(7, score, |r| recs.lock().unwrap().push(r.clone()), &cancel)
                .unwrap();
            steps += 1;
        }
        assert!(steps >= 90 / 8, "{strategy:?}: {steps} steps");
        let mut stepped = recs.into_inner().unwrap();
        stepped.sort_by_key(|r| r.number);
        assert_eq!(stepped, whole, "{strategy:?}");
        assert_eq!(search.outcome(&cancel).total_trials, 90);
    }
}
