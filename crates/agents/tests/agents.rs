#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The agents and the ensemble on real data, checked against batch indicators, hand-computed
//! ranks and scores, and perturbed futures.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use pulse_agents::ensemble::{Ensemble, EnsembleConfig, floored_weights};
use pulse_agents::factor::{
    Factor, FactorAgent, FactorWeights, FundamentalsTable, percentile_ranks, signal_of_score,
};
use pulse_agents::strategy::AgentStrategy;
use pulse_agents::technical::{TechnicalAgent, TechnicalConfig};
use pulse_agents::{Action, Agent, AgentKind, AgentSignal, AgentView, SymbolView};
use pulse_core::{Bar, Symbol};
use pulse_strategy::{MarketSnapshot, Strategy, TargetWeights};
use std::collections::BTreeMap;

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

/// `(date, adj_close)` of a `daily-adjclose` file between two dates.
fn closes(ticker: &str, from: &str, to: &str) -> Vec<(Timestamp, f64)> {
    let path = pulse_testkit::shared_file(&format!("daily-adjclose/{ticker}.csv"));
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let (d, v) = l.split_once(',')?;
            (d >= from && d <= to).then(|| {
                let date: Date = d.parse().unwrap();
                let ts = date.to_zoned(TimeZone::UTC).unwrap().timestamp();
                (ts, v.parse::<f64>().unwrap())
            })
        })
        .collect()
}

fn bar(ts: Timestamp, close: f64) -> Bar {
    Bar {
        ts,
        open: close,
        high: close,
        low: close,
        close,
        adj_close: None,
        volume: None,
    }
}

#[test]
fn technical_votes_follow_the_rules_on_batch_indicators() {
    let data = closes("TSLA", "2018-01-01", "2020-12-31");
    let c: Vec<f64> = data.iter().map(|x| x.1).collect();
    let fast = pulse_indicators::sma(&c, 20).unwrap();
    let slow = pulse_indicators::sma(&c, 60).unwrap();
    let rsi = pulse_indicators::rsi(&c, 14).unwrap();
    let macd = pulse_indicators::macd(&c, 12, 26, 9).unwrap();
    let bb = pulse_indicators::bbands(&c, 20, 2.0).unwrap();
    let mut agent = TechnicalAgent::try_new(TechnicalConfig::default()).unwrap();
    let s = sym("TSLA");
    let (mut buys, mut sells, mut holds) = (0, 0, 0);
    for i in 0..c.len() {
        let votes = agent.update(&s, c[i]);
        if i < 59 {
            assert!(votes.is_none(), "no signal before SMA(60) at bar {i}");
            continue;
        }
        let votes = votes.unwrap();
        let mut buy = 0.0;
        let mut sell = 0.0;
        if fast[i] > slow[i] {
            buy += 0.3;
        }
        if rsi[i] < 30.0 {
            buy += 0.4;
        } else if rsi[i] > 70.0 {
            sell += 0.4;
        }
        if macd.0[i] > macd.1[i] {
            buy += 0.3;
        }
        if c[i] < bb[2][i] {
            buy += 0.5;
        }
        assert!((votes.buy - buy).abs() < 1e-12, "bar {i}");
        assert!((votes.sell - sell).abs() < 1e-12, "bar {i}");
        let signal = votes.signal();
        let expected = if buy > sell {
            AgentSignal {
                action: Action::Buy,
                confidence: buy.min(1.0),
            }
        } else if sell > buy {
            AgentSignal {
                action: Action::Sell,
                confidence: sell.min(1.0),
            }
        } else {
            AgentSignal {
                action: Action::Hold,
                confidence: 0.0,
            }
        };
        assert_eq!(signal, expected, "bar {i}");
        match signal.action {
            Action::Buy => buys += 1,
            Action::Sell => sells += 1,
            Action::Hold => holds += 1,
        }
    }
    // The real series exercises every branch (the rules lean to buying: one sell rule of 0.4
    // against four buy rules, so a sell needs RSI > 70 with no buy rule firing).
    assert!(
        buys > 100 && sells >= 1 && holds > 5,
        "{buys} {sells} {holds}"
    );
}

#[test]
fn technical_config_errors_name_the_field() {
    let e = TechnicalAgent::try_new(TechnicalConfig {
        rsi_vote: -0.1,
        ..TechnicalConfig::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("rsi_vote"), "{e}");
    let e = TechnicalAgent::try_new(TechnicalConfig {
        sma_fast: 60,
        ..TechnicalConfig::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("sma_fast"), "{e}");
}

#[test]
fn percentile_ranks_by_hand() {
    let v = [Some(3.0), None, Some(1.0), Some(2.0), Some(2.0)];
    // Sorted ascending: 1.0 (rank 1), 2.0 2.0 (ranks 2,3 → 2.5), 3.0 (rank 4); n = 4.
    let r = percentile_ranks(&v, true);
    assert_eq!(r, vec![Some(1.0), None, Some(0.0), Some(0.5), Some(0.5)]);
    let r = percentile_ranks(&v, false);
    assert_eq!(r, vec![Some(0.0), None, Some(1.0), Some(0.5), Some(0.5)]);
    assert_eq!(percentile_ranks(&[Some(1.0), None], true), vec![None, None]);
}

fn as_of() -> Timestamp {
    "2024-12-08T00:00:00Z".parse().unwrap()
}

fn snapshot() -> FundamentalsTable {
    let path =
        pulse_testkit::shared_file("fundamentals/sp500_yfinance_fundamentals_snapshot_2024-12.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    FundamentalsTable::parse_csv(&path.display().to_string(), &text, as_of()).unwrap()
}

#[test]
fn fundamentals_parse_the_real_snapshot() {
    let t = snapshot();
    assert_eq!(t.rows.len(), 503);
    let aapl = t.rows[&sym("AAPL")];
    assert_eq!(aapl.pe, Some(40.65074));
    assert_eq!(aapl.pb, Some(65.50305));
    assert_eq!(aapl.roe, Some(1.5741299));
    assert_eq!(aapl.debt_to_equity, Some(209.059));
    assert_eq!(aapl.revenue_growth, Some(0.061));
    assert_eq!(aapl.eps_growth, Some(-0.341));
    // P/CF = market cap / operating cash flow.
    let pcf = 3_729_823_629_312.0 / 118_254_002_176.0;
    assert!((aapl.pcf.unwrap() - pcf).abs() < 1e-9);
    // The snapshot has no interest coverage or FCF growth; BRK.B is empty.
    assert!(t.rows.values().all(|f| f.interest_coverage.is_none()));
    assert!(t.rows.values().all(|f| f.fcf_growth.is_none()));
    assert_eq!(t.rows[&sym("BRK.B")], Default::default());
}

#[test]
fn fundamentals_errors_name_line_and_column() {
    let text = "symbol,trailingPE\nAAA,12.5\nBBB,twelve\n";
    let e = FundamentalsTable::parse_csv("f.csv", text, as_of()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "f.csv: line 3: column trailingPE: \"twelve\" is not a number"
    );
    let e = FundamentalsTable::parse_csv("f.csv", "name,pe\nx,1\n", as_of()).unwrap_err();
    assert!(e.to_string().contains("line 1") && e.to_string().contains("symbol"));
    let e = FundamentalsTable::parse_csv("f.csv", "symbol,pe\nA,1\nA,2\n", as_of()).unwrap_err();
    assert!(e.to_string().contains("line 3") && e.to_string().contains("twice"));
}

fn view_of<'a>(ts: Timestamp, symbols: &'a [SymbolView<'a>]) -> AgentView<'a> {
    AgentView { ts, symbols }
}

#[test]
fn factor_scores_by_hand_and_only_after_the_snapshot() {
    // Three symbols with made-up fundamentals (plain column names) and closes.
    let text = "symbol,pe,pb,ps,pcf,roe,roa,debt_to_equity,eps_growth,revenue_growth\n\
                A,10,1,1,5,0.20,0.10,50,0.10,0.05\n\
                B,20,2,2,10,0.10,0.05,100,0.20,0.10\n\
                C,-5,3,3,20,0.30,0.02,10,0.30,0.00\n";
    let table = FundamentalsTable::parse_csv("t.csv", text, as_of()).unwrap();
    let mut agent = FactorAgent::try_new(FactorWeights::default(), Some(table)).unwrap();
    let (a, b, c) = (sym("A"), sym("B"), sym("C"));
    // 127 closes each: A rises 1 %/bar, B flat, C falls.
    let ca: Vec<f64> = (0..127).map(|i| 100.0 * 1.01f64.powi(i)).collect();
    let cb: Vec<f64> = vec![100.0; 127];
    let cc: Vec<f64> = (0..127).map(|i| 100.0 * 0.99f64.powi(i)).collect();
    let views = [
        SymbolView {
            symbol: &a,
            closes: &ca,
            long: false,
        },
        SymbolView {
            symbol: &b,
            closes: &cb,
            long: false,
        },
        SymbolView {
            symbol: &c,
            closes: &cc,
            long: false,
        },
    ];
    // Before the snapshot: momentum only. A best (1), B (0.5), C worst (0).
    let before: Timestamp = "2024-12-06T00:00:00Z".parse().unwrap();
    let s = agent.scores(&view_of(before, &views));
    assert_eq!(s, vec![Some(1.0), Some(0.5), Some(0.0)]);
    assert!(agent.coverage().fundamentals_first_used.is_none());
    // After: value (lower better, C's negative P/E worst):
    //   pe: A 1, B 0.5, C 0; pb: A 1, B .5, C 0; ps: same; pcf: same → A 1, B .5, C 0.
    // quality: roe A .5 B 0 C 1; roa A 1 B .5 C 0; d/e (lower) A .5 B 0 C 1 → A 2/3, B 1/6, C 2/3.
    // momentum: A 1, B .5, C 0. growth: eps A 0 B .5 C 1; rev A .5 B 1 C 0 → A .25, B .75, C .5.
    let after: Timestamp = "2024-12-09T00:00:00Z".parse().unwrap();
    let s = agent.scores(&view_of(after, &views));
    let composite = |v: f64, q: f64, m: f64, g: f64| 0.4 * v + 0.3 * q + 0.2 * m + 0.1 * g;
    let expected = [
        composite(1.0, 2.0 / 3.0, 1.0, 0.25),
        composite(0.5, 1.0 / 6.0, 0.5, 0.75),
        composite(0.0, 2.0 / 3.0, 0.0, 0.5),
    ];
    for (got, want) in s.iter().zip(expected) {
        assert!((got.unwrap() - want).abs() < 1e-12, "{got:?} vs {want}");
    }
    assert_eq!(agent.coverage().fundamentals_first_used, Some(after));
    assert_eq!(agent.coverage().scored[&Factor::Value].len(), 3);
    // Signals: A 0.875 → buy 0.75; B ≈ 0.4 → sell; C 0.25 → sell 0.5.
    assert_eq!(signal_of_score(s[0]).action, Action::Buy);
    assert!((signal_of_score(s[0]).confidence - 2.0 * (expected[0] - 0.5)).abs() < 1e-12);
    assert_eq!(signal_of_score(s[2]).action, Action::Sell);
    assert_eq!(signal_of_score(None), AgentSignal::NONE);
    assert_eq!(signal_of_score(Some(0.5)).action, Action::Hold);
}

#[test]
fn ensemble_combines_by_hand() {
    let e = Ensemble::try_new(
        &[AgentKind::Dqn, AgentKind::Factor, AgentKind::Technical],
        EnsembleConfig::default(),
    )
    .unwrap();
    assert_eq!(e.weights(), vec![0.4, 0.3, 0.3]);
    let sig = |action, confidence| AgentSignal { action, confidence };
    // 0.4·0.9 + 0.3·1.0 + 0.3·0.5 = 0.81 > 0.7: buy.
    let d = e.combine(&[
        sig(Action::Buy, 0.9),
        sig(Action::Buy, 1.0),
        sig(Action::Buy, 0.5),
    ]);
    assert!((d.score - 0.81).abs() < 1e-12);
    assert_eq!(d.action, Action::Buy);
    // 0.4·1 − 0.3·1 + 0 = 0.1: hold.
    let d = e.combine(&[
        sig(Action::Buy, 1.0),
        sig(Action::Sell, 1.0),
        sig(Action::Hold, 0.7),
    ]);
    assert!((d.score - 0.1).abs() < 1e-12);
    assert_eq!(d.action, Action::Hold);
    // −(0.4 + 0.3 + 0.3·0.4) = −0.82: sell.
    let d = e.combine(&[
        sig(Action::Sell, 1.0),
        sig(Action::Sell, 1.0),
        sig(Action::Sell, 0.4),
    ]);
    assert_eq!(d.action, Action::Sell);
    assert!((d.confidence - 0.82).abs() < 1e-12);
    // Without the DQN the initial weights are renormalised: 0.5 / 0.5.
    let two = Ensemble::try_new(
        &[AgentKind::Factor, AgentKind::Technical],
        EnsembleConfig::default(),
    )
    .unwrap();
    assert_eq!(two.weights(), vec![0.5, 0.5]);
}

#[test]
fn ensemble_weights_follow_hit_rates_and_keep_the_floor() {
    let config = EnsembleConfig {
        window: 20,
        min_signals: 10,
        floor: 0.1,
        ..EnsembleConfig::default()
    };
    let mut e = Ensemble::try_new(
        &[AgentKind::Dqn, AgentKind::Factor, AgentKind::Technical],
        config,
    )
    .unwrap();
    // Equal hit rates: the initial weights.
    for _ in 0..10 {
        for seat in 0..3 {
            e.book(seat, true);
        }
    }
    e.adapt();
    for (w, want) in e.weights().iter().zip([0.4, 0.3, 0.3]) {
        assert!((w - want).abs() < 1e-12);
    }
    // The DQN misses everything over the window: it falls to the floor, the others share
    // the rest in proportion 0.3·1 : 0.3·1.
    for _ in 0..20 {
        e.book(0, false);
        e.book(1, true);
        e.book(2, true);
    }
    e.adapt();
    let w = e.weights();
    assert!((w[0] - 0.1).abs() < 1e-12, "{w:?}");
    assert!(
        (w[1] - 0.45).abs() < 1e-12 && (w[2] - 0.45).abs() < 1e-12,
        "{w:?}"
    );
    // Hit rates measured over the rolling window only.
    assert_eq!(e.seats()[0].scored(), 20);
    assert_eq!(e.seats()[0].hit_rate(10), Some(0.0));
}

#[test]
fn ensemble_config_errors_name_the_field() {
    let kinds = [AgentKind::Factor, AgentKind::Technical];
    for (config, field) in [
        (
            EnsembleConfig {
                threshold: 1.0,
                ..EnsembleConfig::default()
            },
            "threshold",
        ),
        (
            EnsembleConfig {
                floor: 0.6,
                ..EnsembleConfig::default()
            },
            "floor",
        ),
        (
            EnsembleConfig {
                window: 0,
                ..EnsembleConfig::default()
            },
            "window",
        ),
        (
            EnsembleConfig {
                min_signals: 100,
                ..EnsembleConfig::default()
            },
            "min_signals",
        ),
    ] {
        let e = Ensemble::try_new(&kinds, config).unwrap_err();
        assert!(e.to_string().contains(field), "{e}");
    }
}

proptest! {
    #[test]
    fn floored_weights_keep_the_floor_and_sum_to_one(
        raw in proptest::collection::vec(0.0f64..10.0, 1..6),
        floor_frac in 0.0f64..=1.0,
    ) {
        let n = raw.len();
        let floor = floor_frac / n as f64;
        let w = floored_weights(&raw, floor);
        let sum: f64 = w.iter().sum();
        prop_assert!((sum - 1.0).abs() < 1e-9, "sum {sum} of {w:?}");
        for x in &w {
            prop_assert!(*x >= floor - 1e-12, "{x} < {floor} in {w:?}");
        }
    }
}

/// The ensemble strategy of the technical and factor agents on real closes of three symbols.
fn strategy(symbols: &[Symbol]) -> AgentStrategy {
    let agents: Vec<Box<dyn Agent + Send>> = vec![
        Box::new(FactorAgent::try_new(FactorWeights::default(), Some(snapshot())).unwrap()),
        Box::new(TechnicalAgent::try_new(TechnicalConfig::default()).unwrap()),
    ];
    AgentStrategy::try_new(
        "Ensemble",
        symbols.to_vec(),
        agents,
        EnsembleConfig {
            threshold: 0.3,
            ..EnsembleConfig::default()
        },
    )
    .unwrap()
}

fn drive(
    s: &mut AgentStrategy,
    data: &[(Symbol, Vec<(Timestamp, f64)>)],
) -> Vec<(Timestamp, Option<TargetWeights>, Vec<f64>)> {
    let n = data[0].1.len();
    let context = BTreeMap::new();
    let mut out = Vec::new();
    for i in 0..n {
        let ts = data[0].1[i].0;
        let bars: BTreeMap<Symbol, Bar> = data
            .iter()
            .map(|(sym, series)| (sym.clone(), bar(ts, series[i].1)))
            .collect();
        let t = s.on_bar_close(&MarketSnapshot {
            ts,
            bars: &bars,
            context: &context,
        });
        out.push((ts, t, s.ensemble().weights()));
    }
    out
}

#[test]
fn each_decision_keeps_the_weights_it_was_scored_with() {
    // MSFT's closes stop a year early: its last decision was scored with the weights then.
    let symbols = [sym("AAPL"), sym("MSFT")];
    let mut data: Vec<(Symbol, Vec<(Timestamp, f64)>)> = symbols
        .iter()
        .map(|s| (s.clone(), closes(s.as_str(), "2022-06-01", "2025-06-30")))
        .collect();
    let n = data[0].1.len();
    let context = BTreeMap::new();
    let mut s = strategy(&symbols);
    let mut at_msft_end = Vec::new();
    for i in 0..n {
        let ts = data[0].1[i].0;
        let bars: BTreeMap<Symbol, Bar> = data
            .iter_mut()
            .filter(|(sym, _)| sym.as_str() == "AAPL" || i < n - 250)
            .map(|(sym, series)| (sym.clone(), bar(ts, series[i].1)))
            .collect();
        s.on_bar_close(&MarketSnapshot {
            ts,
            bars: &bars,
            context: &context,
        });
        if i == n - 251 {
            at_msft_end = s.ensemble().weights();
        }
    }
    let now = s.ensemble().weights();
    assert!(
        now.iter()
            .zip(&at_msft_end)
            .any(|(a, b)| (a - b).abs() > 1e-6),
        "the weights moved in the last year: {now:?} {at_msft_end:?}"
    );
    for (symbol, d) in s.last_decisions() {
        let d = d.unwrap();
        let expected = if symbol.as_str() == "MSFT" {
            &at_msft_end
        } else {
            &now
        };
        assert_eq!(&d.weights, expected, "{symbol}");
        let score: f64 = d
            .weights
            .iter()
            .zip(&d.signals)
            .map(|(w, sig)| w * sig.confidence * sig.action.direction())
            .sum();
        assert!((score - d.decision.score).abs() < 1e-12, "{symbol}");
    }
}

#[test]
fn the_strategy_never_looks_ahead() {
    let symbols = [sym("AAPL"), sym("MSFT"), sym("JPM")];
    let data: Vec<(Symbol, Vec<(Timestamp, f64)>)> = symbols
        .iter()
        .map(|s| (s.clone(), closes(s.as_str(), "2023-06-01", "2025-06-30")))
        .collect();
    assert!(data.iter().all(|d| d.1.len() == data[0].1.len()));
    let base = drive(&mut strategy(&symbols), &data);
    // It trades, and its weights adapt.
    assert!(base.iter().filter(|x| x.1.is_some()).count() >= 4);
    assert!(base.iter().any(|x| (x.2[0] - 0.5).abs() > 1e-6));
    for cut in [200, 380, 450] {
        let mut perturbed = data.clone();
        for (_, series) in perturbed.iter_mut() {
            for (k, x) in series.iter_mut().enumerate().skip(cut + 1) {
                x.1 *= 1.0 + 0.2 * ((k % 7) as f64 - 3.0) / 3.0;
            }
        }
        let other = drive(&mut strategy(&symbols), &perturbed);
        assert_eq!(
            base[..=cut],
            other[..=cut],
            "decisions up to bar {cut} changed"
        );
        assert_ne!(base, other, "the perturbation changed nothing at all");
    }
}

#[test]
fn the_strategy_targets_equal_weights_of_its_holdings() {
    let symbols = [sym("AAPL"), sym("MSFT"), sym("JPM")];
    let data: Vec<(Symbol, Vec<(Timestamp, f64)>)> = symbols
        .iter()
        .map(|s| (s.clone(), closes(s.as_str(), "2023-06-01", "2025-06-30")))
        .collect();
    let mut s = strategy(&symbols);
    let out = drive(&mut s, &data);
    let last = out.iter().rev().find_map(|x| x.1.clone()).unwrap();
    for (symbol, w) in &last {
        assert!(*w == 0.0 || (*w - 1.0 / 3.0).abs() < 1e-15, "{symbol}: {w}");
    }
    let held: Vec<Symbol> = last
        .iter()
        .filter(|(_, w)| **w > 0.0)
        .map(|(s, _)| s.clone())
        .collect();
    let mut holdings = s.holdings();
    holdings.sort();
    assert_eq!(held, holdings);
    assert_eq!(s.warmup_bars(), 60);
    let stats = s.stats();
    assert_eq!(stats.decisions, data[0].1.len());
    assert!(stats.entries >= stats.exits && stats.entries > 0);
}

#[test]
fn the_ensemble_learns_from_the_evaluation_only() {
    let symbols = [sym("AAPL"), sym("MSFT"), sym("JPM")];
    let data: Vec<(Symbol, Vec<(Timestamp, f64)>)> = symbols
        .iter()
        .map(|s| (s.clone(), closes(s.as_str(), "2023-06-01", "2025-06-30")))
        .collect();
    let start = data[0].1[300].0;
    let mut s = strategy(&symbols).count_from(start);
    let out = drive(&mut s, &data);
    // Before the start the weights adapt; at the start they are the initial ones again.
    assert!(out[..300].iter().any(|x| (x.2[0] - 0.5).abs() > 1e-6));
    assert_eq!(out[300].2, vec![0.5, 0.5]);
    assert_eq!(s.stats().decisions, data[0].1.len() - 300);
}
