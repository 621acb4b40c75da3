#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The DQN agent (issue 17 item 1): determinism, save/load, schedules, cancellation, validation,
//! and training on real TSLA closes with a no-look-ahead check of the agent's decisions.

use pulse_agents::{Action, Agent, AgentKind, AgentSignal, AgentView, SymbolView};
use pulse_core::Symbol;
use pulse_deep::dqn::{
    DqnAgent, DqnConfig, DqnError, DqnModel, MODEL_FILE, SellReward, TrainProgress, WEIGHTS_FILE,
    epsilon_after, fill_state, softmax_confidence, train,
};
use std::path::Path;

/// A deterministic synthetic price path: trend, two cycles and a little chop.
fn synthetic(n: usize, phase: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let x = i as f64;
            100.0 * (1.0 + 0.001 * x)
                + 5.0 * (x / 9.0 + phase).sin()
                + 2.0 * (x / 3.1 + 2.0 * phase).cos()
        })
        .collect()
}

fn quick_cfg(seed: u64) -> DqnConfig {
    DqnConfig {
        episodes: 2,
        seed,
        ..DqnConfig::default()
    }
}

fn always(_: &TrainProgress) -> bool {
    true
}

/// (date, adjusted close) of TSLA from the shared data.
fn tsla() -> Vec<(String, f64)> {
    // `$PULSE_SHARED_DATA`, else `<workspace>/../shared/data` (as pulse-testkit, but located from
    // this crate so that a build of the testkit in another checkout cannot point elsewhere).
    let root = std::env::var_os("PULSE_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = root.join("daily-adjclose/TSLA.csv");
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].parse::<f64>().unwrap())
        })
        .collect()
}

#[test]
fn same_seed_gives_identical_weights_other_seed_differs() {
    let series = vec![synthetic(90, 0.0), synthetic(70, 1.0)];
    let (a, ra) = train(&series, &quick_cfg(7), always).unwrap();
    let (b, rb) = train(&series, &quick_cfg(7), always).unwrap();
    let (c, _) = train(&series, &quick_cfg(8), always).unwrap();
    assert_eq!(ra, rb);
    let dir = tempfile::tempdir().unwrap();
    let bytes = |m: &DqnModel, name: &str| {
        let d = dir.path().join(name);
        m.save(&d).unwrap();
        std::fs::read(d.join(WEIGHTS_FILE)).unwrap()
    };
    let (ba, bb, bc) = (bytes(&a, "a"), bytes(&b, "b"), bytes(&c, "c"));
    assert_eq!(ba, bb, "same seed, same data: bit-identical safetensors");
    assert_ne!(ba, bc, "another seed gives other weights");
    assert_eq!(a.weights_flat(), b.weights_flat());
}

#[test]
fn report_follows_the_epsilon_and_target_sync_schedules() {
    let series = vec![synthetic(100, 0.3)];
    let cfg = DqnConfig {
        episodes: 3,
        target_sync: 25,
        ..DqnConfig::default()
    };
    let mut ends = Vec::new();
    let (model, report) = train(&series, &cfg, |p| {
        if p.episode_done {
            ends.push((p.episode, p.replays, p.epsilon));
        }
        true
    })
    .unwrap();
    let steps_per_episode = 100 - cfg.lookback - 1;
    assert_eq!(report.episodes_run, 3);
    assert_eq!(report.steps, 3 * steps_per_episode as u64);
    // One replay per step once the memory holds a batch.
    assert_eq!(report.replays, report.steps - (cfg.batch_size as u64 - 1));
    assert_eq!(report.target_syncs, report.replays / 25);
    assert_eq!(report.final_epsilon, epsilon_after(&cfg, report.replays));
    assert_eq!(
        report.final_epsilon,
        0.995f64.powi(report.replays as i32).max(0.01)
    );
    for &(_, replays, eps) in &ends {
        assert_eq!(eps, 0.995f64.powi(replays as i32).max(0.01));
    }
    assert_eq!(ends.len(), 3);
    assert_eq!(report.mean_loss.len(), 3);
    assert_eq!(report.total_reward.len(), 3);
    assert!(
        report
            .mean_loss
            .iter()
            .all(|l| l.is_some_and(f64::is_finite))
    );
    assert!(!report.cancelled);
    assert_eq!(model.meta().report, report);
    assert_eq!(model.meta().series_lengths, vec![100]);
}

#[test]
fn save_load_round_trip_gives_identical_q_values() {
    let series = vec![synthetic(80, 0.5)];
    let cfg = DqnConfig {
        sell_reward: SellReward::Negated,
        ..quick_cfg(3)
    };
    let (mut model, _) = train(&series, &cfg, always).unwrap();
    model.set_symbols(vec!["SYN".into()]).unwrap();
    assert!(model.set_symbols(vec![]).is_err());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("models").join("dqn-syn");
    model.save(&dir).unwrap();
    // Saving again replaces the directory as a whole and leaves no temporary sibling behind.
    model.save(&dir).unwrap();
    let siblings: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(siblings, vec!["dqn-syn".to_string()]);
    let loaded = DqnModel::load(&dir).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(DqnAgent::load(&dir).unwrap().model(), &model);
    assert_eq!(loaded.meta().symbols, vec!["SYN".to_string()]);
    assert_eq!(loaded.config().sell_reward, SellReward::Negated);
    let closes = synthetic(31, 2.0);
    let mut state = vec![0.0f32; 31];
    for long in [false, true] {
        assert!(fill_state(&closes, long, &mut state));
        assert_eq!(
            model.q_values(&state).unwrap(),
            loaded.q_values(&state).unwrap()
        );
    }
    assert!(matches!(
        model.q_values(&state[..30]),
        Err(DqnError::Input(_))
    ));
    let json = std::fs::read_to_string(dir.join(MODEL_FILE)).unwrap();
    assert!(json.contains("\"seed\": 3"), "{json}");
    assert!(json.contains("\"series_lengths\""), "{json}");
}

fn expect_model_error(dir: &Path, file: &str, also: &str) {
    let err = DqnModel::load(dir).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(file), "{msg} should name {file}");
    assert!(msg.contains(also), "{msg} should say {also}");
}

#[test]
fn load_errors_name_the_file() {
    let series = vec![synthetic(40, 0.0)];
    let cfg = DqnConfig {
        episodes: 1,
        hidden: vec![8],
        ..DqnConfig::default()
    };
    let (model, _) = train(&series, &cfg, always).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");

    expect_model_error(&dir, MODEL_FILE, "");

    model.save(&dir).unwrap();
    let json_path = dir.join(MODEL_FILE);
    let json = std::fs::read_to_string(&json_path).unwrap();

    std::fs::write(&json_path, "{ not json").unwrap();
    expect_model_error(&dir, MODEL_FILE, "malformed");

    std::fs::write(
        &json_path,
        json.replace("\"gamma\": 0.95", "\"gamma\": 2.0"),
    )
    .unwrap();
    expect_model_error(&dir, MODEL_FILE, "gamma");

    std::fs::write(&json_path, json.replace("\"format\": 1", "\"format\": 9")).unwrap();
    expect_model_error(&dir, MODEL_FILE, "format");

    // A config describing another network than the weights.
    let wider = json.replacen(
        "\"hidden\": [\n      8\n    ]",
        "\"hidden\": [\n      9\n    ]",
        1,
    );
    assert_ne!(wider, json, "the test edits the hidden width");
    std::fs::write(&json_path, wider).unwrap();
    expect_model_error(&dir, WEIGHTS_FILE, "shape");

    std::fs::write(&json_path, &json).unwrap();
    std::fs::write(dir.join(WEIGHTS_FILE), b"garbage").unwrap();
    expect_model_error(&dir, WEIGHTS_FILE, "safetensors");

    std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap();
    expect_model_error(&dir, WEIGHTS_FILE, "");
}

#[test]
fn cancelling_stops_early_and_says_so() {
    let series = vec![synthetic(400, 0.0)];
    let cfg = quick_cfg(1);
    let mut calls = 0;
    let (model, report) = train(&series, &cfg, |p| {
        calls += 1;
        assert_eq!(p.episode, 0);
        assert_eq!(p.step, 100);
        false
    })
    .unwrap();
    assert_eq!(calls, 1);
    assert!(report.cancelled);
    assert_eq!(report.episodes_run, 1);
    assert_eq!(report.steps, 100);
    assert_eq!(report.mean_loss.len(), 1);
    assert!(model.meta().report.cancelled);
}

#[test]
fn invalid_config_and_data_are_named() {
    let series = vec![synthetic(60, 0.0)];
    let cfg = DqnConfig {
        gamma: -0.5,
        ..DqnConfig::default()
    };
    match train(&series, &cfg, always) {
        Err(DqnError::Config { field, .. }) => assert_eq!(field, "gamma"),
        other => panic!("expected a config error, got {other:?}"),
    }
    let cfg = DqnConfig {
        batch_size: 0,
        ..DqnConfig::default()
    };
    let msg = train(&series, &cfg, always).unwrap_err().to_string();
    assert!(msg.contains("batch_size"), "{msg}");

    let cfg = quick_cfg(1);
    assert!(matches!(train(&[], &cfg, always), Err(DqnError::Input(_))));
    let short = vec![synthetic(60, 0.0), synthetic(31, 0.0)];
    match train(&short, &cfg, always) {
        Err(DqnError::Data { series, index, .. }) => assert_eq!((series, index), (1, None)),
        other => panic!("expected a data error, got {other:?}"),
    }
    let mut bad = synthetic(60, 0.0);
    bad[17] = f64::NAN;
    match train(&[bad], &cfg, always) {
        Err(e @ DqnError::Data { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("series 0") && msg.contains("close 17"),
                "{msg}"
            );
        }
        other => panic!("expected a data error, got {other:?}"),
    }
}

#[test]
fn agent_contract() {
    let series = vec![synthetic(60, 0.0)];
    let (model, _) = train(&series, &quick_cfg(5), always).unwrap();
    let mut agent = DqnAgent::new(model.clone());
    assert_eq!(agent.kind(), AgentKind::Dqn);
    assert_eq!(agent.name(), "DQN");
    assert_eq!(agent.history_bars(), 31);

    let a = Symbol::try_new("AAA").unwrap();
    let b = Symbol::try_new("BBB").unwrap();
    let c = Symbol::try_new("CCC").unwrap();
    let long_hist = synthetic(45, 1.0);
    let short_hist = synthetic(30, 1.0);
    let mut bad_hist = synthetic(31, 1.0);
    bad_hist[30] = -1.0;
    let symbols = [
        SymbolView {
            symbol: &a,
            closes: &long_hist,
            long: true,
        },
        SymbolView {
            symbol: &b,
            closes: &short_hist,
            long: false,
        },
        SymbolView {
            symbol: &c,
            closes: &bad_hist,
            long: false,
        },
    ];
    let view = AgentView {
        ts: jiff::Timestamp::UNIX_EPOCH,
        symbols: &symbols,
    };
    let mut out = Vec::new();
    agent.decide(&view, &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[1], AgentSignal::NONE);
    assert_eq!(out[2], AgentSignal::NONE);

    // The first signal: argmax of the Q-values of the last 31 closes, softmax confidence.
    let mut state = vec![0.0f32; 31];
    assert!(fill_state(&long_hist[45 - 31..], true, &mut state));
    let q = model.q_values(&state).unwrap();
    let best = (0..3).fold(0, |m, i| if q[i] > q[m] { i } else { m });
    assert_eq!(out[0].action, Action::ALL[best]);
    let conf = softmax_confidence(&q, out[0].action);
    assert!((out[0].confidence - conf).abs() < 1e-12);
    assert!((1.0 / 3.0..=1.0).contains(&out[0].confidence));
}

#[test]
fn tsla_training_runs_and_decisions_use_only_past_closes() {
    let data = tsla();
    // 2015–2019 as five yearly series; episode e walks year 2015 + e (kept short for debug
    // builds: about 1,100 steps in all).
    let years: Vec<Vec<f64>> = (2015..2020)
        .map(|y| {
            let (from, to) = (format!("{y}-01-01"), format!("{}-01-01", y + 1));
            data.iter()
                .filter(|(d, _)| *d >= from && *d < to)
                .map(|&(_, c)| c)
                .collect()
        })
        .collect();
    assert!(years.iter().all(|y| y.len() > 240), "a year of TSLA bars");
    let cfg = DqnConfig {
        episodes: 5,
        seed: 2015,
        ..DqnConfig::default()
    };
    let mut episodes_seen = Vec::new();
    let (mut model, report) = train(&years, &cfg, |p| {
        if p.episode_done {
            episodes_seen.push((p.episode, p.steps_in_episode));
        }
        true
    })
    .unwrap();
    model.set_symbols(vec!["TSLA".into(); 5]).unwrap();
    assert_eq!(report.episodes_run, 5);
    let want: Vec<(usize, usize)> = years
        .iter()
        .enumerate()
        .map(|(e, y)| (e, y.len() - 31))
        .collect();
    assert_eq!(episodes_seen, want, "episodes cycle through the series");
    assert_eq!(
        report.steps,
        years.iter().map(|y| (y.len() - 31) as u64).sum::<u64>()
    );
    for loss in &report.mean_loss {
        assert!(loss.is_some_and(|l| l.is_finite() && l >= 0.0), "{loss:?}");
    }
    assert!(report.total_reward.iter().all(|r| r.is_finite()));
    assert!(report.final_epsilon < 0.1);

    // Walk 2020 bar by bar, as a strategy would: each view holds every close up to the bar (more
    // than the agent needs) and the position its own past signals built.
    let first_2020 = data
        .iter()
        .position(|(d, _)| d.as_str() >= "2020-01-01")
        .unwrap();
    let last_2020 = data
        .iter()
        .rposition(|(d, _)| d.as_str() < "2021-01-01")
        .unwrap();
    let closes: Vec<f64> = data[..=last_2020].iter().map(|&(_, c)| c).collect();
    let sym = Symbol::try_new("TSLA").unwrap();
    let run = |closes: &[f64]| -> Vec<AgentSignal> {
        let mut agent = DqnAgent::new(model.clone());
        let mut long = false;
        let mut out = Vec::new();
        for t in first_2020..closes.len() {
            let views = [SymbolView {
                symbol: &sym,
                closes: &closes[..=t],
                long,
            }];
            let view = AgentView {
                ts: jiff::Timestamp::UNIX_EPOCH,
                symbols: &views,
            };
            let before = out.len();
            agent.decide(&view, &mut out);
            assert_eq!(out.len(), before + 1);
            long = pulse_deep::dqn::next_position(out[before].action, long);
        }
        out
    };
    let base = run(&closes);
    assert_eq!(base.len(), last_2020 + 1 - first_2020);
    assert!(
        base.iter()
            .all(|s| (1.0 / 3.0..=1.0).contains(&s.confidence))
    );

    let cut = first_2020 + 120;
    let mut perturbed = closes.clone();
    for (k, c) in perturbed.iter_mut().enumerate().skip(cut + 1) {
        *c *= 1.5 + 0.3 * ((k as f64) * 0.7).sin();
    }
    let moved = run(&perturbed);
    let upto = cut - first_2020;
    assert_eq!(
        base[..=upto],
        moved[..=upto],
        "decisions at or before the cut"
    );
    assert_ne!(
        base[upto + 1..],
        moved[upto + 1..],
        "later closes do matter"
    );
}

#[test]
fn agent_reads_only_the_last_window_and_confidence_is_a_softmax() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let (model, _) = train(&[synthetic(70, 0.2)], &quick_cfg(11), always).unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let closes = prop::collection::vec(1.0f64..500.0, 31..80);
    runner
        .run(
            &(closes, any::<bool>(), 0.5f64..2.0),
            |(closes, long, k)| {
                let mut agent = DqnAgent::new(model.clone());
                let full = agent.signal(&closes, long);
                let tail = agent.signal(&closes[closes.len() - 31..], long);
                prop_assert_eq!(full, tail);
                // Closes before the window do not matter, whatever they are.
                let mut other = closes.clone();
                for c in other.iter_mut().rev().skip(31) {
                    *c *= k;
                }
                prop_assert_eq!(agent.signal(&other, long), full);
                prop_assert!((1.0 / 3.0..=1.0).contains(&full.confidence));
                // Fewer than 31 closes: no opinion.
                prop_assert_eq!(
                    agent.signal(&closes[closes.len() - 30..], long),
                    AgentSignal::NONE
                );
                Ok(())
            },
        )
        .unwrap();
}
