#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The economic-cycle model on the real data (FRED-MD 2026-08, CBOE VIX, NBER dates): parse
//! errors, the GDP publication lag, training-only standardization, labels checked by hand, no
//! look-ahead, determinism, the save/load round trip, the split's gaps. Tiny networks and few
//! epochs keep it quick in debug builds.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pulse_deep::cycle::features::GDP_PUBLICATION_LAG_MONTHS;
use pulse_deep::cycle::train::Metrics;
use pulse_deep::cycle::{
    CycleConfig, CycleError, CycleModel, DataSummaryInput, FredMd, LabelRule, MacroPanel, Month,
    NberDates, Regime, Standardizer, VixMonthly,
};

fn fred_path() -> PathBuf {
    pulse_testkit::shared_file("macro/FRED_MD_2026-08.csv")
}

fn vix_path() -> PathBuf {
    pulse_testkit::shared_file("daily-ohlcv/VIX.csv")
}

fn data() -> &'static (FredMd, VixMonthly, MacroPanel) {
    static DATA: OnceLock<(FredMd, VixMonthly, MacroPanel)> = OnceLock::new();
    DATA.get_or_init(|| {
        let fred = FredMd::read(&fred_path()).unwrap();
        let vix = VixMonthly::read(&vix_path()).unwrap();
        let panel = MacroPanel::build(&fred, &vix, &LabelRule::default()).unwrap();
        (fred, vix, panel)
    })
}

fn m(s: &str) -> Month {
    s.parse().unwrap()
}

fn tiny() -> CycleConfig {
    CycleConfig {
        d_model: 8,
        heads: 2,
        layers: 1,
        ff: 16,
        epochs: 2,
        patience: 5,
        seed: 7,
        ..CycleConfig::default()
    }
}

fn train(panel: &MacroPanel, cfg: &CycleConfig) -> CycleModel {
    CycleModel::train(
        panel,
        cfg,
        DataSummaryInput::default(),
        None,
        &mut |_| {},
        &|| false,
    )
    .unwrap()
    .unwrap()
}

fn tiny_model() -> &'static CycleModel {
    static MODEL: OnceLock<CycleModel> = OnceLock::new();
    MODEL.get_or_init(|| train(&data().2, &tiny()))
}

fn parse_err(text: &str, name: &str, f: fn(&[u8], &Path) -> Result<(), CycleError>) -> String {
    let err = f(text.as_bytes(), Path::new(name)).unwrap_err();
    assert!(matches!(err, CycleError::Parse { .. }), "{err:?}");
    err.to_string()
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let fred = |t: &[u8], p: &Path| FredMd::from_reader(t, p).map(|_| ());
    let vix = |t: &[u8], p: &Path| VixMonthly::from_reader(t, p).map(|_| ());
    let nber = |t: &[u8], p: &Path| NberDates::from_reader(t, p).map(|_| ());
    let e = parse_err(
        "period,INDPRO,CPIAUCSL\n1990-01,1,2\n1990-02,x1,2\n",
        "fred.csv",
        fred,
    );
    assert_eq!(
        e,
        "fred.csv:3: column 2 (INDPRO): not a finite number: \"x1\""
    );
    let e = parse_err("period,INDPRO\n1990-01,1\n1990-03,2\n", "fred.csv", fred);
    assert!(
        e.starts_with("fred.csv:3: column 1 (period): 1990-03 does not follow 1990-01"),
        "{e}"
    );
    let e = parse_err("period,INDPRO\n1990-13,1\n", "fred.csv", fred);
    assert!(
        e.starts_with("fred.csv:2: column 1 (period): not a month"),
        "{e}"
    );
    let e = parse_err("period,INDPRO\n1990-01,1,3\n", "fred.csv", fred);
    assert!(e.starts_with("fred.csv:2: 3 fields"), "{e}");
    let e = parse_err(
        "date,open,high,low,close\n1990-01-02,1,1,1,17.2\n1990-01-03,1,1,1,-3\n",
        "vix.csv",
        vix,
    );
    assert_eq!(
        e,
        "vix.csv:3: column 5 (close): not a positive number: \"-3\""
    );
    let e = parse_err("date,close\n1990-02-30,17\n", "vix.csv", vix);
    assert!(
        e.starts_with("vix.csv:2: column 1 (date): not a date"),
        "{e}"
    );
    let e = parse_err("peak,trough\n2001-03-01,2001-13-01\n", "nber.csv", nber);
    assert!(e.starts_with("nber.csv:2: column 2 (trough)"), "{e}");
    // A series the model needs but the file lacks names the file's header.
    let f = FredMd::from_reader(&b"period,INDPRO\n1990-01,1\n"[..], Path::new("f.csv")).unwrap();
    let vix =
        VixMonthly::from_reader(&b"date,close\n1990-01-02,17\n"[..], Path::new("v.csv")).unwrap();
    let e = MacroPanel::build(&f, &vix, &LabelRule::default())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("f.csv:1: no column"), "{e}");
    // The real files parse.
    let (fred, vix, _) = data();
    assert_eq!(fred.first, m("1959-01"));
    assert_eq!(fred.last(), m("2026-07"));
    assert_eq!(fred.series.len(), 118);
    assert!(vix.mean(m("1990-01")).is_some());
    // 2026-07 has 5 closes in the file: too few for a monthly mean.
    assert_eq!(vix.months[&m("2026-07")].1, 5);
    assert!(vix.mean(m("2026-07")).is_none());
}

#[test]
fn vix_monthly_mean_by_hand() {
    let v = VixMonthly::from_reader(
        &b"date,open,high,low,close,adj_close,volume,dividends\n1990-01-02,1,1,1,10,,,\n1990-01-03,1,1,1,20,,,\n1990-02-01,1,1,1,,,,\n"[..],
        Path::new("v.csv"),
    )
    .unwrap();
    assert_eq!(v.months[&m("1990-01")], (15.0, 2));
    assert!(!v.months.contains_key(&m("1990-02")));
}

#[test]
fn gdp_growth_is_used_only_from_the_month_after_its_quarter() {
    assert_eq!(GDP_PUBLICATION_LAG_MONTHS, 1);
    let (fred, vix, panel) = data();
    let gdp = fred.series["GDPC1"].clone();
    let at = |month: &str| gdp[m(month).since(fred.first) as usize].unwrap();
    let growth = |q: &str, q4: &str| 100.0 * (at(q) / at(q4)).ln();
    let feature = |p: &MacroPanel, month: &str| p.features_at(m(month)).unwrap()[3];
    // In 2020-06 (the quarter's own month) the latest published quarter is 2020-Q1.
    assert!((feature(panel, "2020-06") - growth("2020-03", "2019-03")).abs() < 1e-9);
    assert!((feature(panel, "2020-04") - growth("2020-03", "2019-03")).abs() < 1e-9);
    // Q2 arrives in 2020-07.
    assert!((feature(panel, "2020-07") - growth("2020-06", "2019-06")).abs() < 1e-9);
    // Changing 2020-Q2's GDP moves nothing before 2020-07.
    let mut f2 = fred.clone();
    let i = m("2020-06").since(fred.first) as usize;
    f2.series.get_mut("GDPC1").unwrap()[i] = Some(at("2020-06") * 1.5);
    let p2 = MacroPanel::build(&f2, vix, &LabelRule::default()).unwrap();
    for month in ["2020-03", "2020-04", "2020-05", "2020-06"] {
        assert_eq!(feature(panel, month), feature(&p2, month), "{month}");
    }
    assert_ne!(feature(panel, "2020-07"), feature(&p2, "2020-07"));
}

#[test]
fn labels_by_hand_on_known_months() {
    let (_, _, panel) = data();
    // (month, regime, growth gap, inflation gap, growth momentum), the gaps computed by hand
    // (a spreadsheet over INDPRO and CPIAUCSL) with the rule of the module docs.
    let cases = [
        ("2009-03", Regime::Recession, -16.75, -3.18, -3.41),
        ("2009-09", Regime::Recovery, -7.03, -3.95, 9.94),
        ("2010-06", Regime::Expansion, 8.47, -1.36, 4.03),
        ("2020-04", Regime::Recession, -20.32, -1.42, -16.39),
        ("2021-06", Regime::Overheat, 8.14, 3.42, 7.33),
        ("2022-06", Regime::Overheat, 0.79, 6.46, -1.75),
    ];
    for (month, regime, g, p, dg) in cases {
        let gaps = panel.gaps_at(m(month)).unwrap();
        assert_eq!(panel.label(m(month)), Some(regime), "{month}");
        assert!((gaps.growth_gap - g).abs() < 0.006, "{month} {gaps:?}");
        assert!((gaps.inflation_gap - p).abs() < 0.006, "{month} {gaps:?}");
        assert!(
            (gaps.growth_momentum - dg).abs() < 0.006,
            "{month} {gaps:?}"
        );
    }
    // The first label needs 12 + 120 + 3 months of INDPRO.
    assert!(panel.label(m("1970-02")).is_none());
    assert!(panel.label(m("1970-03")).is_some());
    // CPIAUCSL and UNRATE were not published for 2025-10: carried forward, and reported.
    let filled: Vec<(String, Month)> = panel
        .filled
        .iter()
        .map(|c| (c.series.clone(), c.month))
        .collect();
    assert!(
        filled.contains(&("CPIAUCSL".into(), m("2025-10"))),
        "{filled:?}"
    );
    assert!(
        filled.contains(&("UNRATE".into(), m("2025-10"))),
        "{filled:?}"
    );
}

#[test]
fn nber_cross_check() {
    let (_, _, panel) = data();
    let nber = NberDates::read(&pulse_testkit::shared_file("macro/NBER_recessions.csv")).unwrap();
    assert_eq!(nber.open_peaks, vec![m("2020-02")]);
    assert!(nber.in_recession(m("2008-12")));
    assert!(
        !nber.in_recession(m("2007-12")),
        "the peak month is not a recession month"
    );
    assert!(nber.in_recession(m("2009-06")), "the trough month is");
    let c = panel.nber_check(&nber);
    assert_eq!(c.nber_recession_months, 81);
    assert_eq!(c.labels_in_nber_recessions["recession"], 71);
    let share = c.share_labelled_recession.unwrap();
    assert!((share - 71.0 / 81.0).abs() < 1e-12);
}

#[test]
fn metrics_by_hand() {
    use Regime::*;
    let pairs = [
        (Expansion, Some(Expansion)),
        (Expansion, Some(Recession)),
        (Recession, Some(Recession)),
        (Recovery, None),
    ];
    let mt = Metrics::of(&pairs);
    assert_eq!(mt.samples, 4);
    assert!((mt.accuracy - 0.5).abs() < 1e-12);
    assert_eq!(mt.confusion[0], vec![1, 0, 1, 0]);
    assert_eq!(mt.confusion[3], vec![0, 0, 0, 0]);
    assert_eq!(mt.per_class["recession"].precision, Some(0.5));
    assert_eq!(mt.per_class["expansion"].recall, Some(0.5));
    assert_eq!(mt.per_class["overheat"].recall, None);
    // Mean recall over expansion (0.5), recession (1), recovery (0).
    assert!((mt.balanced_accuracy - 0.5).abs() < 1e-12);
    assert_eq!(Expansion.allocation().stocks, 0.7);
    assert_eq!(Overheat.allocation().bonds, 0.4);
    assert_eq!(Recession.allocation().bonds, 0.6);
    assert_eq!(Recovery.allocation().stocks, 0.6);
}

#[test]
fn split_has_horizon_gaps_and_standardization_reads_training_months_only() {
    let (fred, vix, panel) = data();
    let model = tiny_model();
    let c = &model.card;
    let s = c.split;
    let h = c.config.horizon as i64;
    assert_eq!(s.gap_months, 3);
    assert!(s.train.last_target < s.validation.first);
    assert!(s.validation.last_target < s.test.first);
    assert_eq!(s.train.last_target, s.train.last.offset(h));
    assert_eq!(s.test.samples, 144);
    assert_eq!(s.validation.samples, 60);
    assert_eq!(s.test.last_target, m("2026-07"));
    assert_eq!(s.train.first, m("1994-12"), "VIX starts 1990-01: 60 months");
    // The statistics cover exactly the training windows' months.
    let st = &c.standardizer;
    assert_eq!(st.last, s.train.last);
    assert_eq!(st.first, s.train.first.offset(-59));
    assert_eq!(st, &Standardizer::fit(panel, st.first, st.last).unwrap());
    // Perturbing every value after the last training month leaves them unchanged.
    let after = st.last.since(fred.first) as usize + 1;
    let mut f2 = fred.clone();
    for col in f2.series.values_mut() {
        for v in col.iter_mut().skip(after).flatten() {
            *v *= 1.7;
        }
    }
    let mut v2 = vix.clone();
    for (month, (mean, _)) in v2.months.iter_mut() {
        if *month > st.last {
            *mean += 25.0;
        }
    }
    let p2 = MacroPanel::build(&f2, &v2, &LabelRule::default()).unwrap();
    let m2 = train(&p2, &tiny());
    assert_eq!(&m2.card.standardizer, st);
    // The inputs' scale is the training months': their standardized mean is 0.
    let w = st.window(panel, st.last, 60).unwrap();
    assert!(w.iter().all(|x| x.is_finite()));
}

#[test]
fn no_look_ahead_features_labels_and_prediction_at_t() {
    let (fred, vix, panel) = data();
    let model = tiny_model();
    for t in [m("2016-06"), m("2020-03"), m("2024-01")] {
        let after = t.since(fred.first) as usize + 1;
        let mut f2 = fred.clone();
        for col in f2.series.values_mut() {
            for v in col.iter_mut().skip(after).flatten() {
                *v = *v * 3.0 + 11.0;
            }
        }
        let mut v2 = vix.clone();
        for (month, (mean, _)) in v2.months.iter_mut() {
            if *month > t {
                *mean *= 4.0;
            }
        }
        let p2 = MacroPanel::build(&f2, &v2, &LabelRule::default()).unwrap();
        for k in 0..=t.since(panel.first) as usize {
            let month = panel.month(k);
            assert_eq!(panel.features_at(month), p2.features_at(month), "{month}");
            assert_eq!(panel.gaps_at(month), p2.gaps_at(month), "{month}");
        }
        assert_ne!(
            panel.features_at(t.offset(1)),
            p2.features_at(t.offset(1)),
            "the perturbation reaches t + 1"
        );
        let a = model.predict_at(panel, t).unwrap();
        let b = model.predict_at(&p2, t).unwrap();
        assert_eq!(a.probabilities, b.probabilities, "{t}");
        assert_eq!(a.regime, b.regime);
        assert_eq!(a.target_month, t.offset(3));
    }
}

#[test]
fn same_seed_same_bytes_and_save_load_round_trip() {
    let (_, _, panel) = data();
    let a = tiny_model();
    let b = train(panel, &tiny());
    assert_eq!(a.safetensors().unwrap(), b.safetensors().unwrap());
    assert_eq!(a.card_json().unwrap(), b.card_json().unwrap());
    let other = train(panel, &CycleConfig { seed: 8, ..tiny() });
    assert_ne!(a.safetensors().unwrap(), other.safetensors().unwrap());
    // Round trip through the two files' bytes.
    let loaded =
        CycleModel::from_bytes(&a.safetensors().unwrap(), &a.card_json().unwrap()).unwrap();
    let months: Vec<Month> = (0..24).map(|k| m("2024-01").offset(k)).collect();
    assert_eq!(
        a.probabilities(panel, &months).unwrap(),
        loaded.probabilities(panel, &months).unwrap()
    );
    assert_eq!(loaded.safetensors().unwrap(), a.safetensors().unwrap());
    let p = loaded.predict_latest(panel).unwrap();
    assert_eq!(p.month, m("2026-06"), "2026-07 has 5 VIX closes only");
    assert_eq!(p.target_month, m("2026-09"));
    let sum: f64 = p.probabilities.values().sum();
    assert!((sum - 1.0).abs() < 1e-5);
    assert_eq!(p.allocation, p.regime.allocation());
    // Corrupt files are refused.
    assert!(CycleModel::from_bytes(b"junk", &a.card_json().unwrap()).is_err());
    assert!(CycleModel::from_bytes(&a.safetensors().unwrap(), b"{}").is_err());
}

#[test]
fn cancel_returns_none_and_bad_settings_are_refused() {
    let (_, _, panel) = data();
    let out = CycleModel::train(
        panel,
        &tiny(),
        DataSummaryInput::default(),
        None,
        &mut |_| {},
        &|| true,
    )
    .unwrap();
    assert!(out.is_none());
    for (cfg, setting) in [
        (
            CycleConfig {
                horizon: 0,
                ..tiny()
            },
            "horizon",
        ),
        (CycleConfig { heads: 3, ..tiny() }, "heads"),
        (
            CycleConfig {
                lookback: 1,
                ..tiny()
            },
            "lookback",
        ),
    ] {
        match CycleModel::train(
            panel,
            &cfg,
            DataSummaryInput::default(),
            None,
            &mut |_| {},
            &|| false,
        ) {
            Err(CycleError::Config { setting: s, .. }) => assert_eq!(s, setting),
            other => panic!("{setting}: {other:?}"),
        }
    }
    // Too many test months leave too few training samples.
    let cfg = CycleConfig {
        test_months: 300,
        ..tiny()
    };
    assert!(matches!(
        CycleModel::train(
            panel,
            &cfg,
            DataSummaryInput::default(),
            None,
            &mut |_| {},
            &|| false
        ),
        Err(CycleError::Data(_))
    ));
}
