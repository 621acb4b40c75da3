#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The per-position stop loss: the entry price averaged over the buys since flat, the trigger
//! exactly at the threshold, the latch until the strategy's target resets, the setting in TOML,
//! and a manager stored before the stop loss existed still loading.

use pulse_core::jiff::{Timestamp, ToSpan};
use pulse_core::{Side, Symbol};
use pulse_risk::{LimitsConfig, RiskConfig, RiskEventKind, RiskManager, Weights};
use std::collections::BTreeMap;

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

fn day(i: i64) -> Timestamp {
    "2024-01-01T21:00:00Z".parse::<Timestamp>().unwrap() + (i * 24).hours()
}

/// A manager with only the stop loss (every other rule off).
fn manager(stop_loss: Option<f64>) -> RiskManager {
    let mut config = RiskConfig::sizing_only();
    config.limits = LimitsConfig {
        stop_loss,
        ..config.limits
    };
    config.validate().unwrap();
    RiskManager::new(config, BTreeMap::new())
}

fn kinds(a: &pulse_risk::Assessment) -> Vec<&RiskEventKind> {
    a.events.iter().map(|e| &e.kind).collect()
}

/// One close of A at day `i`, then the assessment of `target` for A.
fn step(m: &mut RiskManager, i: i64, close: f64, target: f64) -> pulse_risk::Assessment {
    m.observe(day(i), [(&sym("A"), close)], 1e5);
    m.assess(
        day(i),
        &Weights::from([(sym("A"), target)]),
        &Weights::from([(sym("A"), 0.5)]),
        1e5,
    )
}

#[test]
fn the_entry_is_volume_weighted_over_the_buys_since_flat() {
    let mut m = manager(Some(0.05));
    let a = sym("A");
    assert_eq!(m.entry(&a), None);
    m.observe_fill(&a, Side::Buy, 10.0, 100.0, 10.0);
    assert_eq!(m.entry(&a).unwrap().price, 100.0);
    // (10 × 100 + 30 × 120) / 40 = 115.
    m.observe_fill(&a, Side::Buy, 30.0, 120.0, 40.0);
    let e = m.entry(&a).unwrap();
    assert_eq!((e.price, e.bought), (115.0, 40.0));
    // A sell leaves it; a buy after it still averages over every buy since flat:
    // (40 × 115 + 20 × 85) / 60 = 105.
    m.observe_fill(&a, Side::Sell, 20.0, 130.0, 20.0);
    assert_eq!(m.entry(&a).unwrap().price, 115.0);
    m.observe_fill(&a, Side::Buy, 20.0, 85.0, 40.0);
    assert_eq!(m.entry(&a).unwrap().price, 105.0);
    // Flat: forgotten; the next buy starts afresh.
    m.observe_fill(&a, Side::Sell, 40.0, 90.0, 0.0);
    assert_eq!(m.entry(&a), None);
    m.observe_fill(&a, Side::Buy, 5.0, 50.0, 5.0);
    assert_eq!(m.entry(&a).unwrap().price, 50.0);
    // A buy onto a position held from before fills were tracked starts no entry.
    m.observe_fill(&sym("B"), Side::Buy, 10.0, 100.0, 25.0);
    assert_eq!(m.entry(&sym("B")), None);
    // Nonsense is ignored.
    m.observe_fill(&a, Side::Buy, f64::NAN, 100.0, 5.0);
    m.observe_fill(&a, Side::Buy, 1.0, -3.0, 6.0);
    assert_eq!(m.entry(&a).unwrap().price, 50.0);
}

#[test]
fn the_stop_fires_exactly_at_the_threshold_and_not_a_cent_above() {
    let mut m = manager(Some(0.05));
    m.observe_fill(&sym("A"), Side::Buy, 100.0, 100.0, 100.0);
    let above = step(&mut m, 0, 95.01, 0.5);
    assert_eq!(above.target[&sym("A")], 0.5);
    assert!(above.events.is_empty());
    // 100 × (1 − 0.05) = 95: at the threshold fires.
    let at = step(&mut m, 1, 95.0, 0.5);
    assert_eq!(at.target[&sym("A")], 0.0);
    let [
        RiskEventKind::StopLoss {
            symbol,
            entry,
            close,
            loss,
            limit,
        },
    ] = kinds(&at)[..]
    else {
        panic!("one stop-loss event: {:?}", at.events);
    };
    assert_eq!(symbol, &sym("A"));
    assert_eq!((*entry, *close, *limit), (100.0, 95.0, 0.05));
    assert!((loss - 0.05).abs() < 1e-12);
    assert_eq!(at.events[0].kind.name(), "stop_loss");
    assert!(
        at.events[0].message.contains("A stop loss") && at.events[0].message.contains("5.0%"),
        "{}",
        at.events[0].message
    );
    assert!(m.is_stopped(&sym("A")));
    // Without a known entry (nothing bought since tracking began) nothing fires.
    let mut fresh = manager(Some(0.05));
    let a = step(&mut fresh, 0, 1.0, 0.5);
    assert_eq!(a.target[&sym("A")], 0.5);
}

#[test]
fn a_stopped_symbol_stays_out_until_the_strategy_target_resets() {
    let mut m = manager(Some(0.10));
    m.observe_fill(&sym("A"), Side::Buy, 10.0, 200.0, 10.0);
    let stop = step(&mut m, 0, 170.0, 0.5);
    assert_eq!(stop.target[&sym("A")], 0.0);
    assert_eq!(stop.events.len(), 1);
    // The sell fills; the price recovers; the strategy still wants A: it stays out, silently.
    m.observe_fill(&sym("A"), Side::Sell, 10.0, 171.0, 0.0);
    for (i, close) in [(1, 180.0), (2, 250.0)] {
        let latched = step(&mut m, i, close, 0.5);
        assert_eq!(latched.target[&sym("A")], 0.0, "day {i}");
        assert!(latched.events.is_empty(), "one record per stop");
    }
    // The signal resets (target 0, or no target at all): released.
    let reset = step(&mut m, 3, 240.0, 0.0);
    assert_eq!(reset.target[&sym("A")], 0.0);
    assert!(!m.is_stopped(&sym("A")));
    let again = step(&mut m, 4, 240.0, 0.5);
    assert_eq!(again.target[&sym("A")], 0.5, "entered again");
    // A new position at 240 is stopped again at 216, as a new episode.
    m.observe_fill(&sym("A"), Side::Buy, 5.0, 240.0, 5.0);
    let second = step(&mut m, 5, 216.0, 0.5);
    assert_eq!(second.target[&sym("A")], 0.0);
    assert!(matches!(
        kinds(&second)[..],
        [RiskEventKind::StopLoss { entry, .. }] if *entry == 240.0
    ));
    // A target absent from the strategy's weights also resets it.
    m.observe(day(6), [(&sym("A"), 300.0)], 1e5);
    m.assess(day(6), &Weights::new(), &Weights::new(), 1e5);
    assert!(!m.is_stopped(&sym("A")));
}

#[test]
fn turning_the_stop_off_releases_and_judges_nothing() {
    let mut m = manager(Some(0.05));
    m.observe_fill(&sym("A"), Side::Buy, 10.0, 100.0, 10.0);
    assert_eq!(step(&mut m, 0, 90.0, 0.5).target[&sym("A")], 0.0);
    m.set_config(RiskConfig::sizing_only());
    let off = step(&mut m, 1, 80.0, 0.5);
    assert_eq!(off.target[&sym("A")], 0.5);
    assert!(off.events.is_empty());
    assert!(!m.is_stopped(&sym("A")));
    // The default configuration has no stop loss: every existing run is unchanged.
    assert_eq!(RiskConfig::default().limits.stop_loss, None);
    let mut d = RiskManager::new(RiskConfig::sizing_only(), BTreeMap::new());
    d.observe_fill(&sym("A"), Side::Buy, 10.0, 100.0, 10.0);
    assert_eq!(step(&mut d, 0, 1.0, 0.5).target[&sym("A")], 0.5);
}

#[test]
fn the_setting_reads_from_toml_and_out_of_range_values_name_it() {
    let c = RiskConfig::from_toml("[limits]\nstop_loss = 0.05\n").unwrap();
    assert_eq!(c.limits.stop_loss, Some(0.05));
    assert_eq!(RiskConfig::from_toml(&c.to_toml()).unwrap(), c);
    assert!(c.to_toml().contains("stop_loss = 0.05"));
    let off = RiskConfig::from_toml("[limits]\nstop_loss = false\n").unwrap();
    assert_eq!(off.limits.stop_loss, None);
    assert!(
        RiskConfig::default()
            .to_toml()
            .contains("stop_loss = false")
    );
    assert_eq!(RiskConfig::from_toml("").unwrap().limits.stop_loss, None);
    for bad in ["0", "0.0", "1", "1.0", "1.5", "-0.05", "nan"] {
        let e = RiskConfig::from_toml(&format!("[limits]\nstop_loss = {bad}\n")).unwrap_err();
        assert!(e.to_string().contains("limits.stop_loss"), "{bad}: {e}");
    }
    let e = RiskConfig::from_toml("[limits]\nstop_loss = true\n").unwrap_err();
    assert!(e.to_string().contains("limits.stop_loss"), "{e}");
    // JSON settings stored before the field existed read as off.
    let old: LimitsConfig = serde_json::from_str(
        r#"{"max_position": 0.1, "max_sector": 0.3, "max_drawdown": 0.15, "max_daily_var": 0.02}"#,
    )
    .unwrap();
    assert_eq!(old.stop_loss, None);
}

#[test]
fn a_manager_stored_before_the_stop_loss_loads_and_round_trips() {
    let mut m = manager(Some(0.05));
    m.observe_fill(&sym("A"), Side::Buy, 10.0, 100.0, 10.0);
    step(&mut m, 0, 90.0, 0.5);
    let mut value = serde_json::to_value(&m).unwrap();
    // The state as a runner stored it before: no stop-loss fields, no `stop_loss` key.
    let object = value.as_object_mut().unwrap();
    for key in ["entries", "last_close", "stopped"] {
        assert!(object.remove(key).is_some(), "{key} is stored");
    }
    object["config"]["limits"]
        .as_object_mut()
        .unwrap()
        .remove("stop_loss");
    let old: RiskManager = serde_json::from_value(value).unwrap();
    assert_eq!(old.config().limits.stop_loss, None);
    assert_eq!(old.entry(&sym("A")), None);
    assert!(!old.is_stopped(&sym("A")));
    // The new state round-trips with its entries, closes and latch.
    let json = serde_json::to_string(&m).unwrap();
    let back: RiskManager = serde_json::from_str(&json).unwrap();
    assert_eq!(back.entry(&sym("A")).unwrap().price, 100.0);
    assert_eq!(back.last_close(&sym("A")), Some(90.0));
    assert!(back.is_stopped(&sym("A")));
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}

#[test]
fn entries_unknown_to_the_manager_are_learned_from_the_booked_fills_that_explain_the_holding() {
    let (a, b, c) = (sym("A"), sym("B"), sym("C"));
    // The fills of the account, oldest first. A: flat, then a round trip, then 10 @ 100 and
    // 30 @ 120 → 40 shares at 115 (the first round trip ended flat and is forgotten).
    let fills = [
        (&a, Side::Buy, 5.0, 50.0),
        (&a, Side::Sell, 5.0, 60.0),
        (&a, Side::Buy, 10.0, 100.0),
        (&b, Side::Buy, 7.0, 20.0),
        (&a, Side::Buy, 30.0, 120.0),
        (&c, Side::Buy, 3.0, 10.0),
    ];
    // B is held 9 shares, but the fills explain only 7: it was held before them → unknown.
    // C is already known to the manager: kept as it is.
    let held = BTreeMap::from([(a.clone(), 40.0), (b.clone(), 9.0), (c.clone(), 3.0)]);
    let mut m = manager(Some(0.05));
    m.observe_fill(&c, Side::Buy, 3.0, 12.0, 3.0);
    m.learn_entries(fills.iter().copied(), &held);
    let e = m.entry(&a).unwrap();
    assert_eq!((e.price, e.bought), (115.0, 40.0));
    assert_eq!(m.entry(&b), None);
    assert_eq!(m.entry(&c).unwrap().price, 12.0);
    // The learned entry is judged like an observed one: 115 × 0.95 = 109.25.
    let mut m2 = manager(Some(0.05));
    m2.learn_entries(fills.iter().copied(), &BTreeMap::from([(a.clone(), 40.0)]));
    m2.observe(day(1), [(&a, 109.25)], 1e5);
    let out = m2.assess(
        day(1),
        &Weights::from([(a.clone(), 0.5)]),
        &Weights::from([(a.clone(), 0.5)]),
        1e5,
    );
    assert_eq!(out.target.get(&a).copied(), Some(0.0));
    assert!(matches!(kinds(&out)[..], [RiskEventKind::StopLoss { .. }]));
}
