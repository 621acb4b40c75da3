//! Behaviour of parameter spaces and the search driver: parsing, constrained grid counts, a lazy
//! 10⁹-point grid, cancellation, resumption, TPE reproducibility and efficiency vs random search.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pulse_search::{
    ParamSpace, ParamSpec, SearchError, Strategy, TpeConfig, Trial, TrialRecord, parse_param,
    run_search,
};

#[test]
fn parses_cli_params_and_constraints() {
    let p = parse_param("rsi_high=60:85:1").unwrap();
    assert_eq!(p.name, "rsi_high");
    assert_eq!(
        p.spec,
        ParamSpec::Int {
            lo: 60,
            hi: 85,
            step: 1
        }
    );
    assert_eq!(p.spec.grid_len(), Some(26));
    let k = parse_param("bbands_k=1.5:2.5:0.25").unwrap();
    assert_eq!(
        k.spec,
        ParamSpec::Float {
            lo: 1.5,
            hi: 2.5,
            step: 0.25
        }
    );
    assert_eq!(k.spec.grid_len(), Some(5));
    let vals: Vec<f64> = k.spec.values().collect();
    assert_eq!(vals, vec![1.5, 1.75, 2.0, 2.25, 2.5]);
    // 0.1 steps are not exact in binary: 0.1..1.0 still has 10 values.
    assert_eq!(
        parse_param("x=0.1:1.0:0.1").unwrap().spec.grid_len(),
        Some(10)
    );
    let tenths: Vec<f64> = parse_param("x=0.1:1.0:0.1")
        .unwrap()
        .spec
        .values()
        .collect();
    assert_eq!(
        tenths,
        vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    );
    assert_eq!(parse_param("w=0:1").unwrap().spec.grid_len(), None);
    // A fixed value is a one-point range.
    assert_eq!(
        parse_param("rsi_period=14").unwrap().spec,
        ParamSpec::Int {
            lo: 14,
            hi: 14,
            step: 1
        }
    );
    let fixed = parse_param("k=2.0").unwrap().spec;
    assert_eq!(fixed.values().collect::<Vec<_>>(), vec![2.0]);

    for bad in [
        "rsi_high",
        "=1:2:1",
        "a=85:60:1",
        "a=1:5:0",
        "a=x:5:1",
        "a=1:2:3:4",
        "a=0.0:1:-0.1",
        "w=2:2",
    ] {
        let e = parse_param(bad);
        assert!(e.is_err(), "{bad} should fail");
    }
    let msg = parse_param("rsi_high=60:85:0").unwrap_err().to_string();
    assert!(msg.contains("rsi_high") && msg.contains("step"), "{msg}");

    let space = ParamSpace::parse(
        &["rsi_low=15:40:1", "rsi_high=60:85:1"],
        &["rsi_low < rsi_high"],
    )
    .unwrap();
    assert_eq!(space.constraints()[0].to_string(), "rsi_low < rsi_high");
    let swapped = ParamSpace::parse(&["a=0:3:1", "b=0:3:1"], &["a >= b"]).unwrap();
    assert_eq!(swapped.constraints()[0].to_string(), "b <= a");
    let e = ParamSpace::parse(&["a=0:3:1"], &["a < zz"]).unwrap_err();
    assert!(
        matches!(e, SearchError::UnknownParam { ref name, .. } if name == "zz"),
        "{e}"
    );
    assert!(ParamSpace::parse(&["a=0:3:1", "a=0:4:1"], &[] as &[&str]).is_err());
    assert!(ParamSpace::parse(&["a=0:3:1", "b=0:3:1"], &["a = b"]).is_err());
}

#[test]
fn constrained_grid_count_and_order() {
    let space = ParamSpace::parse(
        &["rsi_low=15:45:1", "rsi_high=40:85:1", "k=1.5:2.5:0.25"],
        &["rsi_low < rsi_high", "rsi_high <= 80"]
            .iter()
            .take(1)
            .copied()
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(space.grid_size().unwrap(), 31 * 46 * 5);
    // Independent count: nested loops over the declared ranges.
    let mut want = 0u64;
    for lo in 15..=45 {
        for hi in 40..=85 {
            if lo < hi {
                want += 5;
            }
        }
    }
    let points: Vec<_> = space.grid().unwrap().collect();
    assert_eq!(points.len() as u64, want);
    // Deterministic order: indices strictly increasing, last parameter fastest.
    assert!(points.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(points[0].1.values(), &[15.0, 40.0, 1.5]);
    assert_eq!(points[1].1.values(), &[15.0, 40.0, 1.75]);
    assert_eq!(points[5].1.values(), &[15.0, 41.0, 1.5]);
    for (i, p) in points.iter().step_by(97) {
        assert_eq!(space.grid_index(p), Some(*i));
        assert_eq!(space.grid_point(*i).as_ref(), Some(p));
        assert!(p.get("rsi_low").unwrap() < p.get("rsi_high").unwrap());
    }

    // run_search over the whole grid: exactly the feasible points, once each.
    let calls = AtomicUsize::new(0);
    let seen = Mutex::new(Vec::new());
    let out = run_search(
        &space,
        &Strategy::Grid,
        u64::MAX,
        &[],
        |p| {
            calls.fetch_add(1, Ordering::Relaxed);
            Trial::new(p.get("rsi_high").unwrap() - p.get("rsi_low").unwrap() + p.get("k").unwrap())
        },
        |r| seen.lock().unwrap().push(r.number),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(out.exhausted && !out.cancelled);
    assert_eq!(out.new_trials, want);
    assert_eq!(calls.load(Ordering::Relaxed) as u64, want);
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    let grid_idx: Vec<u64> = points.iter().map(|(i, _)| *i).collect();
    assert_eq!(seen, grid_idx);
    let best = out.best.unwrap();
    assert_eq!(best.point.values(), &[15.0, 85.0, 2.5]);
    assert_eq!(best.trial.score, 72.5);
}

#[test]
fn billion_point_grid_is_lazy() {
    // 10^9 points: nine parameters of ten values each, plus a constraint.
    let params: Vec<String> = (0..9).map(|i| format!("p{i}=0:9:1")).collect();
    let space = ParamSpace::parse(&params, &["p7 <= p8"]).unwrap();
    assert_eq!(space.grid_size().unwrap(), 1_000_000_000);
    let last = space.grid_point(999_999_999).unwrap();
    assert_eq!(last.values(), &[9.0; 9]);
    assert_eq!(space.grid_point(1_000_000_000), None);
    let mid = space.grid_point(123_456_789).unwrap();
    assert_eq!(mid.values(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    // Iterating from far into the grid takes no memory proportional to the grid.
    let from: Vec<u64> = space
        .grid_from(999_999_990)
        .unwrap()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(from, vec![999_999_999]); // p7=9 needs p8=9
    // A budgeted grid search over it evaluates only the budget, in grid order.
    let max_seen = Mutex::new(0u64);
    let out = run_search(
        &space,
        &Strategy::Grid,
        20_000,
        &[],
        |p| Trial::new(p.values().iter().sum()),
        |r| {
            let mut m = max_seen.lock().unwrap();
            *m = (*m).max(r.number);
        },
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(out.new_trials, 20_000);
    assert!(!out.exhausted);
    // 20,000 feasible points: p7 <= p8 keeps 55 of every 100 index values.
    let want_last = space.grid().unwrap().nth(19_999).unwrap().0;
    assert_eq!(*max_seen.lock().unwrap(), want_last);
}

fn bowl_space() -> ParamSpace {
    ParamSpace::new()
        .with_param(
            "x",
            ParamSpec::Float {
                lo: -5.0,
                hi: 5.0,
                step: 0.0,
            },
        )
        .unwrap()
        .with_param(
            "y",
            ParamSpec::Float {
                lo: -5.0,
                hi: 5.0,
                step: 0.0,
            },
        )
        .unwrap()
        .with_param(
            "n",
            ParamSpec::Int {
                lo: 1,
                hi: 60,
                step: 1,
            },
        )
        .unwrap()
}

/// Maximum 0 at x = 1.3, y = −0.7, n = 42.
fn bowl(p: &pulse_search::Point) -> Trial {
    let (x, y, n) = (
        p.get("x").unwrap(),
        p.get("y").unwrap(),
        p.get("n").unwrap(),
    );
    Trial::new(-((x - 1.3).powi(2) + (y + 0.7).powi(2) + ((n - 42.0) / 6.0).powi(2)))
}

fn run_collect(
    space: &ParamSpace,
    strategy: &Strategy,
    budget: u64,
    done: &[TrialRecord],
) -> (Vec<TrialRecord>, f64) {
    let recs = Mutex::new(Vec::new());
    let out = run_search(
        space,
        strategy,
        budget,
        done,
        bowl,
        |r| recs.lock().unwrap().push(r.clone()),
        &AtomicBool::new(false),
    )
    .unwrap();
    let mut recs = recs.into_inner().unwrap();
    recs.sort_by_key(|r| r.number);
    (recs, out.best.map_or(f64::NEG_INFINITY, |b| b.trial.score))
}

#[test]
fn tpe_is_reproducible_and_independent_of_thread_count() {
    let space = bowl_space();
    let strat = Strategy::Tpe(TpeConfig {
        batch: 4,
        ..TpeConfig::seeded(7)
    });
    let (a, best_a) = run_collect(&space, &strat, 60, &[]);
    let pool1 = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (b, best_b) = pool1.install(|| run_collect(&space, &strat, 60, &[]));
    assert_eq!(a.len(), 60);
    assert_eq!(a, b);
    assert_eq!(best_a, best_b);
    let (c, _) = run_collect(
        &space,
        &Strategy::Tpe(TpeConfig {
            batch: 4,
            ..TpeConfig::seeded(8)
        }),
        60,
        &[],
    );
    assert_ne!(a, c);
    // Integer parameters stay on their grid; floats in range.
    for r in &a {
        let n = r.point.get("n").unwrap();
        assert_eq!(n, n.round());
        assert!((1.0..=60.0).contains(&n));
        assert!(r.point.get("x").unwrap().abs() <= 5.0);
    }
    // Random search is reproducible too.
    let (r1, _) = run_collect(&space, &Strategy::Random { seed: 3 }, 50, &[]);
    let (r2, _) = run_collect(&space, &Strategy::Random { seed: 3 }, 50, &[]);
    assert_eq!(r1, r2);
}

#[test]
fn tpe_beats_random_search_on_a_bowl() {
    // Over 10 seeds (sequential TPE, as Optuna with n_jobs=1): mean best-found regret after 80 trials,
    // and mean number of trials until a point within 0.25 of the optimum is found (capped at 250).
    let space = bowl_space();
    let (mut tpe, mut rnd) = (0.0, 0.0);
    let mut tpe_trials_to_target = 0.0;
    let mut rnd_trials_to_target = 0.0;
    let target = -0.25;
    let cap = 250u64;
    let seeds = 10u64;
    for seed in 0..seeds {
        let (tr, _) = run_collect(
            &space,
            &Strategy::Tpe(TpeConfig {
                batch: 1,
                ..TpeConfig::seeded(seed)
            }),
            cap,
            &[],
        );
        let (rr, _) = run_collect(&space, &Strategy::Random { seed }, cap, &[]);
        let best80 = |v: &[TrialRecord]| {
            v[..80]
                .iter()
                .map(|r| r.trial.score)
                .fold(f64::NEG_INFINITY, f64::max)
        };
        tpe -= best80(&tr);
        rnd -= best80(&rr);
        let first = |v: &[TrialRecord]| {
            v.iter()
                .position(|r| r.trial.score >= target)
                .map_or(cap as f64, |i| i as f64 + 1.0)
        };
        tpe_trials_to_target += first(&tr);
        rnd_trials_to_target += first(&rr);
    }
    let (tpe, rnd) = (tpe / seeds as f64, rnd / seeds as f64);
    eprintln!(
        "mean regret after 80 trials: TPE {tpe:.4}, random {rnd:.4}; trials to reach {target}: TPE {:.1}, random {:.1} (capped at {cap})",
        tpe_trials_to_target / seeds as f64,
        rnd_trials_to_target / seeds as f64
    );
    assert!(tpe < 0.25 * rnd, "TPE regret {tpe} vs random {rnd}");
    assert!(2.0 * tpe_trials_to_target < rnd_trials_to_target);

    // Parallel batches of 8: the constant liar keeps a batch spread out.
    let (mut liar, mut no_liar) = (0.0, 0.0);
    for seed in 0..seeds {
        for (on, acc) in [(true, &mut liar), (false, &mut no_liar)] {
            let cfg = TpeConfig {
                batch: 8,
                constant_liar: on,
                ..TpeConfig::seeded(seed)
            };
            let (_, best) = run_collect(&space, &Strategy::Tpe(cfg), 80, &[]);
            *acc -= best / seeds as f64;
        }
    }
    eprintln!(
        "batch 8, mean regret after 80 trials: constant liar {liar:.4}, without {no_liar:.4}"
    );
    assert!(liar < no_liar, "liar {liar} vs {no_liar}");
    assert!(liar < 0.5 * rnd, "batched TPE {liar} vs random {rnd}");
}

#[test]
fn cancellation_keeps_finished_trials_and_resume_skips_them() {
    let space = ParamSpace::parse(&["a=0:49:1", "b=0:49:1"], &["a < b"]).unwrap();
    for strategy in [
        Strategy::Grid,
        Strategy::Random { seed: 11 },
        Strategy::Tpe(TpeConfig::seeded(5)),
    ] {
        let cancel = AtomicBool::new(false);
        let first = Mutex::new(Vec::new());
        let out = run_search(
            &space,
            &strategy,
            300,
            &[],
            |p| Trial::new(p.get("b").unwrap() - p.get("a").unwrap()),
            |r| {
                let mut v = first.lock().unwrap();
                v.push(r.clone());
                if v.len() >= 40 {
                    cancel.store(true, Ordering::SeqCst);
                }
            },
            &cancel,
        )
        .unwrap();
        let first = first.into_inner().unwrap();
        assert!(out.cancelled, "{strategy:?}");
        assert_eq!(out.new_trials as usize, first.len());
        assert!(
            first.len() >= 40 && first.len() < 300,
            "{strategy:?}: {}",
            first.len()
        );
        // Every reported trial is complete and its score is the objective's.
        for r in &first {
            assert_eq!(
                r.trial.score,
                r.point.get("b").unwrap() - r.point.get("a").unwrap()
            );
        }
        // Resume from "the store": a fresh point built from (name, value) pairs, as a store would.
        let stored: Vec<TrialRecord> = first
            .iter()
            .map(|r| {
                let pairs: Vec<(String, f64)> =
                    r.point.pairs().map(|(n, v)| (n.to_string(), v)).collect();
                TrialRecord {
                    number: r.number,
                    point: space.point_from_pairs(&pairs).unwrap(),
                    trial: r.trial.clone(),
                }
            })
            .collect();
        let calls = AtomicUsize::new(0);
        let second = Mutex::new(Vec::new());
        let out2 = run_search(
            &space,
            &strategy,
            300,
            &stored,
            |p| {
                calls.fetch_add(1, Ordering::Relaxed);
                Trial::new(p.get("b").unwrap() - p.get("a").unwrap())
            },
            |r| second.lock().unwrap().push(r.number),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert!(!out2.cancelled);
        assert_eq!(out2.total_trials, 300, "{strategy:?}");
        assert_eq!(calls.load(Ordering::Relaxed), 300 - first.len());
        let done: std::collections::HashSet<u64> = first.iter().map(|r| r.number).collect();
        let second = second.into_inner().unwrap();
        assert!(
            second.iter().all(|n| !done.contains(n)),
            "{strategy:?}: a finished trial was redone"
        );
        if strategy == Strategy::Grid {
            // Together: exactly the first 300 feasible grid points.
            let mut all: Vec<u64> = done.iter().copied().chain(second).collect();
            all.sort_unstable();
            let want: Vec<u64> = space.grid().unwrap().take(300).map(|(i, _)| i).collect();
            assert_eq!(all, want);
            assert_eq!(out2.best.as_ref().unwrap().trial.score, 49.0);
        }
        let best_first = first
            .iter()
            .map(|r| r.trial.score)
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(
            out2.best.unwrap().trial.score >= best_first,
            "the best of the resumed study includes stored trials"
        );
    }
}

#[test]
fn tpe_respects_constraints_and_failed_trials_never_win() {
    let space = ParamSpace::parse(
        &["lo=10:50:1", "hi=30:90:1", "k=1.5:2.5:0.25"],
        &["lo < hi"],
    )
    .unwrap();
    let by_number = Mutex::new(BTreeMap::new());
    let out = run_search(
        &space,
        &Strategy::Tpe(TpeConfig::seeded(1)),
        120,
        &[],
        |p| {
            let (lo, hi, k) = (
                p.get("lo").unwrap(),
                p.get("hi").unwrap(),
                p.get("k").unwrap(),
            );
            // Fails (NaN) on a third of the space; optimum at lo=29, hi=31, k=2.
            if k > 2.2 {
                Trial::new(f64::NAN)
            } else {
                Trial::new(-(lo - 29.0).abs() - (hi - 31.0).abs() - (k - 2.0).abs())
                    .with_metric("k", k)
            }
        },
        |r| {
            by_number.lock().unwrap().insert(r.number, r.clone());
        },
        &AtomicBool::new(false),
    )
    .unwrap();
    let all = by_number.into_inner().unwrap();
    assert_eq!(all.len(), 120);
    assert_eq!(
        all.keys().copied().collect::<Vec<_>>(),
        (0..120).collect::<Vec<_>>()
    );
    for r in all.values() {
        assert!(r.point.get("lo").unwrap() < r.point.get("hi").unwrap());
        assert!(
            space.grid_index(&r.point).is_some(),
            "off-grid point {}",
            r.point
        );
    }
    let best = out.best.unwrap();
    assert!(!best.trial.score.is_nan());
    assert_eq!(best.trial.metric("k"), best.point.get("k"));
    assert!(best.trial.score > -6.0, "TPE best {}", best.trial.score);
}
