#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! pulse-risk against the numpy/pandas reference (scripts/reference/risk/make_fixtures.py): the
//! historical VaR/CVaR of a 50 % TSLA + 30 % TSLL portfolio over rolling 60-day windows of the
//! real daily closes, the risk figure and the SPEC §4 leverage.

use pulse_core::Symbol;
use pulse_core::jiff::Timestamp;
use pulse_risk::{LimitsConfig, RiskConfig, RiskManager, Weights};
use std::collections::BTreeMap;

fn bundle_closes(symbol: &str) -> BTreeMap<String, f64> {
    let path = format!(
        "{}/../../data/bundle/{symbol}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let close = header.iter().position(|h| *h == "close").unwrap();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[close].parse::<f64>().unwrap())
        })
        .collect()
}

fn ts(date: &str) -> Timestamp {
    format!("{date}T21:00:00Z").parse().unwrap()
}

#[test]
fn var_cvar_and_leverage_match_numpy_on_real_tsla_tsll() {
    let fixture = std::fs::read_to_string(format!(
        "{}/tests/fixtures/var_tsla_tsll.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let expected: BTreeMap<String, [f64; 4]> = fixture
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("date"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let v: Vec<f64> = f[1..].iter().map(|x| x.parse().unwrap()).collect();
            (f[0].to_string(), [v[0], v[1], v[2], v[3]])
        })
        .collect();
    assert!(expected.len() > 700);
    let (tsla, tsll) = (
        Symbol::try_new("TSLA").unwrap(),
        Symbol::try_new("TSLL").unwrap(),
    );
    let a = bundle_closes("TSLA");
    let b = bundle_closes("TSLL");
    let config = RiskConfig {
        limits: LimitsConfig {
            max_position: None,
            max_sector: None,
            max_drawdown: None,
            max_daily_var: None,
            stop_loss: None,
        },
        ..RiskConfig::default()
    };
    let mut risk = RiskManager::new(config, BTreeMap::new());
    let weights = Weights::from([(tsla.clone(), 0.5), (tsll.clone(), 0.3)]);
    let mut checked = 0;
    let rel = |x: f64, y: f64| (x - y).abs() / y.abs().max(1e-300);
    for (date, close_a) in &a {
        let mut closes = vec![(&tsla, *close_a)];
        if let Some(close_b) = b.get(date) {
            closes.push((&tsll, *close_b));
        }
        risk.observe(ts(date), closes, 100_000.0);
        let Some([var, cvar, risk_figure, leverage]) = expected.get(date).copied() else {
            continue;
        };
        let (v, c) = risk.var_cvar(&weights).unwrap();
        assert!(rel(v, var) < 1e-12, "{date}: VaR {v} vs numpy {var}");
        assert!(rel(c, cvar) < 1e-12, "{date}: CVaR {c} vs numpy {cvar}");
        assert!(rel(v + 0.5 * c, risk_figure) < 1e-12, "{date}: risk");
        let assessed = risk.assess(ts(date), &weights, &Weights::new(), 100_000.0);
        assert_eq!(assessed.leverage, leverage, "{date}: leverage");
        assert!((assessed.target[&tsla] - 0.5 * leverage).abs() < 1e-15);
        checked += 1;
    }
    assert_eq!(checked, expected.len(), "every fixture date was checked");
}
