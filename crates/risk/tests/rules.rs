#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Each risk rule at its edges: exactly at the limit, just over, and with no data.

use pulse_core::Symbol;
use pulse_core::jiff::{Timestamp, ToSpan};
use pulse_risk::{
    CorrelationConfig, LeverageConfig, LimitsConfig, RiskConfig, RiskEventKind, RiskManager,
    Weights,
};
use std::collections::BTreeMap;

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

fn day(i: i64) -> Timestamp {
    "2024-01-01T21:00:00Z".parse::<Timestamp>().unwrap() + (i * 24).hours()
}

fn no_limits() -> LimitsConfig {
    LimitsConfig {
        max_position: None,
        max_sector: None,
        max_drawdown: None,
        max_daily_var: None,
        stop_loss: None,
    }
}

fn manager(limits: LimitsConfig, leverage: bool) -> RiskManager {
    let config = RiskConfig {
        limits,
        leverage: LeverageConfig {
            enabled: leverage,
            ..LeverageConfig::default()
        },
        ..RiskConfig::default()
    };
    config.validate().unwrap();
    RiskManager::new(
        config,
        BTreeMap::from([(sym("A"), "Tech".into()), (sym("B"), "Tech".into())]),
    )
}

fn kinds(a: &pulse_risk::Assessment) -> Vec<&RiskEventKind> {
    a.events.iter().map(|e| &e.kind).collect()
}

#[test]
fn position_cap_exactly_at_the_limit_and_just_over() {
    let mut m = manager(
        LimitsConfig {
            max_position: Some(0.10),
            ..no_limits()
        },
        false,
    );
    let at = m.assess(
        day(0),
        &Weights::from([(sym("A"), 0.10)]),
        &Weights::new(),
        1e5,
    );
    assert_eq!(at.target[&sym("A")], 0.10);
    assert!(at.events.is_empty());
    let over = m.assess(
        day(1),
        &Weights::from([(sym("A"), 0.1000001)]),
        &Weights::new(),
        1e5,
    );
    assert_eq!(over.target[&sym("A")], 0.10);
    assert!(
        matches!(kinds(&over)[..], [RiskEventKind::PositionCapped { cap, .. }] if *cap == 0.10)
    );
    // The same breach on the next decision is not recorded again; after it ends, it is again.
    let again = m.assess(
        day(2),
        &Weights::from([(sym("A"), 0.5)]),
        &Weights::new(),
        1e5,
    );
    assert!(again.events.is_empty());
    m.assess(
        day(3),
        &Weights::from([(sym("A"), 0.05)]),
        &Weights::new(),
        1e5,
    );
    let back = m.assess(
        day(4),
        &Weights::from([(sym("A"), 0.5)]),
        &Weights::new(),
        1e5,
    );
    assert_eq!(back.events.len(), 1);
}

#[test]
fn sector_cap_scales_the_sector_pro_rata_and_an_unknown_symbol_is_its_own_sector() {
    let mut m = manager(
        LimitsConfig {
            max_sector: Some(0.30),
            ..no_limits()
        },
        false,
    );
    let target = Weights::from([(sym("A"), 0.2), (sym("B"), 0.4), (sym("C"), 0.3)]);
    let a = m.assess(day(0), &target, &Weights::new(), 1e5);
    assert!((a.target[&sym("A")] - 0.1).abs() < 1e-15);
    assert!((a.target[&sym("B")] - 0.2).abs() < 1e-15);
    assert_eq!(a.target[&sym("C")], 0.3, "C alone is exactly at the cap");
    assert!(
        matches!(kinds(&a)[..], [RiskEventKind::SectorCapped { sector, .. }] if sector == "Tech")
    );
    assert_eq!(m.sector_of(&sym("C")), "C");
}

#[test]
fn drawdown_stop_fires_at_the_limit_halts_and_rearms() {
    let mut m = manager(
        LimitsConfig {
            max_drawdown: Some(0.15),
            ..no_limits()
        },
        false,
    );
    let t = Weights::from([(sym("A"), 0.5)]);
    m.observe(day(0), [], 100.0);
    m.observe(day(1), [], 85.01);
    let ok = m.assess(day(1), &t, &Weights::new(), 85.01);
    assert_eq!(ok.target[&sym("A")], 0.5);
    m.observe(day(2), [], 85.0);
    let stop = m.assess(day(2), &t, &Weights::new(), 85.0);
    assert!(stop.target.is_empty(), "flatten");
    assert!(
        matches!(kinds(&stop)[..], [RiskEventKind::DrawdownStop { drawdown, .. }] if (*drawdown - 0.15).abs() < 1e-12)
    );
    assert!(m.halt().is_some());
    // Halted, whatever the equity does, until a person re-arms.
    m.observe(day(3), [], 120.0);
    let halted = m.assess(day(3), &t, &Weights::new(), 120.0);
    assert!(halted.target.is_empty() && halted.events.is_empty());
    assert_eq!(m.leverage(), 0.0);
    m.rearm(120.0);
    let resumed = m.assess(day(4), &t, &Weights::new(), 110.0);
    assert_eq!(resumed.target[&sym("A")], 0.5);
}

/// Closes of A and B over `n` days: A alternates ±`amp`, B = A's moves times `beta` (plus a
/// phase-shifted wiggle when `beta` is 0).
fn feed(m: &mut RiskManager, n: i64, amp: f64, beta: f64) {
    let (mut a, mut b) = (100.0, 100.0);
    for i in 0..n {
        let ra = if i % 3 == 0 { -amp } else { amp * 0.4 };
        let rb = if beta == 0.0 {
            if i % 2 == 0 { 0.01 } else { -0.01 }
        } else {
            beta * ra
        };
        a *= 1.0 + ra;
        b *= 1.0 + rb;
        m.observe(day(i), [(&sym("A"), a), (&sym("B"), b)], 1e5);
    }
}

#[test]
fn leverage_needs_min_returns_then_follows_the_table() {
    let mut m = manager(no_limits(), true);
    let t = Weights::from([(sym("A"), 1.0)]);
    feed(&mut m, 20, 0.08, 1.0); // 19 returns: fewer than min_returns (20)
    let warm = m.assess(day(20), &t, &Weights::new(), 1e5);
    assert_eq!(warm.leverage, 1.0);
    assert!(warm.events.is_empty());
    feed(&mut m, 61, 0.08, 1.0);
    let high = m.assess(day(61), &t, &Weights::new(), 1e5);
    assert_eq!(high.leverage, 0.5, "8 % daily losses: risk far above 0.05");
    assert_eq!(high.target[&sym("A")], 0.5);
    assert!(
        matches!(kinds(&high)[..], [RiskEventKind::Leverage { leverage, previous, .. }] if *leverage == 0.5 && *previous == 1.0)
    );
}

#[test]
fn the_var_limit_scales_the_weights_until_it_is_met_exactly() {
    let mut m = manager(
        LimitsConfig {
            max_daily_var: Some(0.02),
            ..no_limits()
        },
        false,
    );
    feed(&mut m, 61, 0.05, 1.0);
    let t = Weights::from([(sym("A"), 0.6)]);
    let (var, _) = m.var_cvar(&t).unwrap();
    assert!(var > 0.02);
    let a = m.assess(day(61), &t, &Weights::new(), 1e5);
    let (after, _) = m.var_cvar(&a.target).unwrap();
    assert!((after - 0.02).abs() < 1e-12, "VaR after scaling {after}");
    assert!(matches!(kinds(&a)[..], [RiskEventKind::VarScaled { .. }]));
    // No data: nothing to scale by.
    let mut empty = manager(
        LimitsConfig {
            max_daily_var: Some(0.02),
            ..no_limits()
        },
        false,
    );
    let a = empty.assess(day(0), &t, &Weights::new(), 1e5);
    assert_eq!(a.target[&sym("A")], 0.6);
    assert!(a.events.is_empty());
}

#[test]
fn the_correlation_filter_refuses_only_correlated_new_entries() {
    let config = RiskConfig {
        limits: no_limits(),
        leverage: LeverageConfig {
            enabled: false,
            ..LeverageConfig::default()
        },
        correlation: CorrelationConfig {
            enabled: true,
            ..CorrelationConfig::default()
        },
    };
    let held = Weights::from([(sym("A"), 0.5)]);
    let target = Weights::from([(sym("A"), 0.5), (sym("B"), 0.3)]);
    let mut m = RiskManager::new(config.clone(), BTreeMap::new());
    feed(&mut m, 61, 0.03, 2.0);
    let a = m.assess(day(61), &target, &held, 1e5);
    assert_eq!(a.target[&sym("B")], 0.0);
    assert!(
        matches!(kinds(&a)[..], [RiskEventKind::CorrelationRefused { correlation, .. }] if *correlation > 0.99)
    );
    // Already held: not a new entry, never refused.
    let both = Weights::from([(sym("A"), 0.5), (sym("B"), 0.1)]);
    assert_eq!(
        m.assess(day(62), &target, &both, 1e5).target[&sym("B")],
        0.3
    );
    // Uncorrelated: allowed.
    let mut m = RiskManager::new(config, BTreeMap::new());
    feed(&mut m, 61, 0.03, 0.0);
    assert_eq!(
        m.assess(day(61), &target, &held, 1e5).target[&sym("B")],
        0.3
    );
}

#[test]
fn nan_targets_are_dropped_and_the_state_round_trips_through_json() {
    let mut m = manager(RiskConfig::default().limits, true);
    feed(&mut m, 30, 0.02, 1.0);
    let a = m.assess(
        day(30),
        &Weights::from([(sym("A"), f64::NAN), (sym("B"), 0.05)]),
        &Weights::new(),
        1e5,
    );
    assert!(!a.target.contains_key(&sym("A")));
    let json = serde_json::to_string(&m).unwrap();
    let back: RiskManager = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}
