//! The portfolio use cases on real ETF closes (../shared/data/daily-adjclose) in a real SQLite
//! store: settings are refused naming the setting, optimize/allocate agree with themselves, and the
//! walk-forward report model carries the first strategy's prices, trades and labelled weights and
//! a frontier measured with the optimizer's own performance function.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use data_csv::ImportOptions;
use pulse_app::AppError;
use pulse_app::portfolio::{
    AllocateRequest, GroupCap, Method, OptimizeRequest, Preset, RebalancePeriod,
    WalkForwardRequest, allocate, optimize, parse_current_weights, rebalance_days, walk_forward,
    walk_forward_report,
};
use pulse_core::ports::Store;
use pulse_core::{Periodicity, Symbol};
use rust_decimal::Decimal;
use store_sqlite::SqliteStore;

const ETFS: [&str; 5] = ["SPY", "TLT", "GLD", "IEF", "QQQ"];

async fn etf_store(dir: &tempfile::TempDir) -> SqliteStore {
    let store = SqliteStore::open(&dir.path().join("p.db")).await.unwrap();
    let mut batches = Vec::new();
    for t in ETFS {
        let path = pulse_testkit::shared_file(&format!("daily-adjclose/{t}.csv"));
        let bytes = std::fs::read(&path).unwrap();
        let parsed = data_csv::parse_reader(
            &path.display().to_string(),
            &bytes[..],
            &ImportOptions::default(),
        )
        .unwrap();
        batches.extend(parsed.into_batches().unwrap());
    }
    store.import(&batches).await.unwrap();
    store
}

fn symbols(names: &[&str]) -> Vec<Symbol> {
    names.iter().map(|s| Symbol::try_new(*s).unwrap()).collect()
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn setting_of(e: &AppError) -> Option<&'static str> {
    match e {
        AppError::InvalidSetting { setting, .. } => Some(setting),
        _ => None,
    }
}

fn base() -> OptimizeRequest {
    OptimizeRequest {
        symbols: symbols(&ETFS),
        from: Some(ts("2015-01-01T00:00:00Z")),
        to: Some(ts("2024-12-31T23:59:59Z")),
        ..OptimizeRequest::default()
    }
}

#[test]
fn bad_optimize_settings_are_refused_naming_the_setting() {
    base().validate().unwrap();
    let with = |f: &dyn Fn(&mut OptimizeRequest)| {
        let mut r = base();
        f(&mut r);
        r
    };
    let group = |s: &str| s.parse::<GroupCap>().unwrap();
    let cases: Vec<(&str, OptimizeRequest)> = vec![
        (
            "symbols",
            with(&|r| r.symbols = symbols(&["SPY", "TLT", "SPY"])),
        ),
        ("symbols", with(&|r| r.symbols = symbols(&["SPY"]))),
        ("target", with(&|r| r.method = Method::EfficientRisk)),
        ("min_weight", with(&|r| r.min_weight = Some(0.3))),
        ("max_weight", with(&|r| r.max_weight = Some(0.1))),
        (
            "min_weight",
            with(&|r| {
                r.min_weight = Some(0.15);
                r.max_weight = Some(0.1);
            }),
        ),
        (
            "group",
            with(&|r| r.groups = vec![group("eq=SPY+NOPE:0.3")]),
        ),
        ("group", with(&|r| r.groups = vec![group("eq=SPY+QQQ:1.5")])),
        (
            "group",
            with(&|r| {
                r.method = Method::Hrp;
                r.groups = vec![group("eq=SPY+QQQ:0.3")];
            }),
        ),
        ("l2", with(&|r| r.l2 = Some(-1.0))),
        ("current_weights", with(&|r| r.turnover_limit = Some(0.2))),
        (
            "turnover_limit",
            with(&|r| {
                r.current_weights = Some(vec![("SPY".into(), 0.5)]);
            }),
        ),
        (
            "current_weights",
            with(&|r| {
                r.turnover_limit = Some(0.2);
                r.current_weights = Some(vec![("SPY".into(), 1.5)]);
            }),
        ),
        (
            "alpha",
            with(&|r| {
                r.method = Method::Blend;
                r.alpha = 1.5;
            }),
        ),
        (
            "risk_aversion",
            with(&|r| {
                r.method = Method::MaxUtility;
                r.risk_aversion = 0.0;
            }),
        ),
        ("rf", with(&|r| r.rf = f64::NAN)),
        ("span", with(&|r| r.span = 0)),
    ];
    for (setting, r) in cases {
        let e = r
            .validate()
            .expect_err(&format!("{setting}: accepted {r:?}"));
        assert_eq!(setting_of(&e), Some(setting), "{e}");
        assert!(e.is_usage());
    }
    // The text forms parse, and their mistakes name the setting too.
    assert_eq!(
        group("equity = SPY+qqq : 0.3"),
        GroupCap {
            name: "equity".into(),
            members: vec!["SPY".into(), "qqq".into()],
            cap: 0.3
        }
    );
    for bad in ["equity=SPY+QQQ", "=SPY:0.3", "eq=SPY:x", "eq=:0.3"] {
        let e = bad.parse::<GroupCap>().unwrap_err();
        assert_eq!(setting_of(&e), Some("group"), "{bad}: {e}");
    }
    assert_eq!(
        parse_current_weights("SPY=0.4, TLT=0.6,").unwrap(),
        vec![("SPY".to_string(), 0.4), ("TLT".to_string(), 0.6)]
    );
    let e = parse_current_weights("SPY:0.4").unwrap_err();
    assert_eq!(setting_of(&e), Some("current_weights"));
}

#[tokio::test]
async fn optimize_and_allocate_on_real_etfs() {
    let dir = tempfile::tempdir().unwrap();
    let store = etf_store(&dir).await;
    let mut request = base();
    request.method = Method::MinVol;
    request.max_weight = Some(0.5);
    let out = optimize(&store, &request).await.unwrap();
    let w = &out.portfolio.weights;
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-8);
    assert!(w.iter().all(|x| (-1e-9..=0.5 + 1e-9).contains(x)), "{w:?}");
    // Daily NYSE closes: annualized with 252 periods, from the data's instruments.
    assert_eq!(out.window.periodicity, Periodicity::Daily);
    assert_eq!(out.window.first, ts("2015-01-02T00:00:00Z"));
    assert!(out.window.rows > 2_400);
    assert_eq!(out.window.last_prices.len(), ETFS.len());
    // Min-vol over bonds and equities: the least volatile asset class dominates.
    let ief = w[3];
    assert!(ief >= 0.3, "{w:?}");
    assert!(out.portfolio.volatility > 0.0 && out.portfolio.volatility < 0.1);

    // Allocation: shares at the last closes never spend more than the cash.
    let cash = 250_000.0;
    let alloc = allocate(
        &store,
        &AllocateRequest {
            optimize: request.clone(),
            cash,
            exact: false,
        },
    )
    .await
    .unwrap();
    let spent: f64 = alloc
        .allocation
        .shares
        .iter()
        .zip(&alloc.optimized.window.last_prices)
        .map(|(q, p)| *q as f64 * p)
        .sum();
    assert!((spent + alloc.allocation.leftover - cash).abs() < 1e-6);
    assert!(alloc.allocation.leftover >= 0.0 && alloc.allocation.leftover < 1_000.0);
    assert_eq!(alloc.optimized, out);

    // Cash is bounded by MAX_MONEY and checked before any data is read.
    for bad in [0.0, -5.0, f64::INFINITY, 1e16] {
        let e = allocate(
            &store,
            &AllocateRequest {
                optimize: request.clone(),
                cash: bad,
                exact: true,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(setting_of(&e), Some("cash"), "{bad}: {e}");
    }

    // An unknown symbol is a data error (exit 1), not a usage error.
    let mut missing = base();
    missing.symbols = symbols(&["SPY", "EEM"]);
    let e = optimize(&store, &missing).await.unwrap_err();
    assert!(matches!(e, AppError::Data(_)), "{e}");
    assert!(e.to_string().contains("EEM"), "{e}");
    // An infeasible target is the optimizer's error, naming the minimum volatility.
    let mut infeasible = base();
    infeasible.method = Method::EfficientRisk;
    infeasible.target = Some(0.001);
    let e = optimize(&store, &infeasible).await.unwrap_err();
    assert!(matches!(e, AppError::Optimize(_)), "{e}");
    assert!(e.to_string().contains("minimum volatility"), "{e}");
}

fn walk_request() -> WalkForwardRequest {
    WalkForwardRequest {
        symbols: symbols(&ETFS),
        strategies: vec![
            Preset::MinVol,
            Preset::MaxSharpe,
            Preset::Hrp,
            Preset::HrpForecast,
            Preset::Equal,
        ],
        rebalance: RebalancePeriod::Monthly,
        lookback: 126,
        from: Some(ts("2023-01-01T00:00:00Z")),
        to: Some(ts("2024-12-31T23:59:59Z")),
        ..WalkForwardRequest::default()
    }
}

#[test]
fn walk_forward_settings_are_refused_naming_the_setting() {
    walk_request().validate().unwrap();
    let with = |f: &dyn Fn(&mut WalkForwardRequest)| {
        let mut r = walk_request();
        f(&mut r);
        r
    };
    for (setting, r) in [
        ("strategies", with(&|r| r.strategies.clear())),
        (
            "strategies",
            with(&|r| r.strategies = vec![Preset::Hrp, Preset::Hrp]),
        ),
        ("lookback", with(&|r| r.lookback = 19)),
        ("cash", with(&|r| r.cash = Decimal::ZERO)),
        ("cash", with(&|r| r.cash = Decimal::MAX)),
        ("commission", with(&|r| r.commission = Decimal::ONE)),
        (
            "commission",
            with(&|r| r.commission = Decimal::NEGATIVE_ONE),
        ),
        ("rf", with(&|r| r.rf = 1.0)),
        ("to", with(&|r| r.to = Some(ts("2022-01-01T00:00:00Z")))),
        ("symbols", with(&|r| r.symbols = symbols(&["SPY", "SPY"]))),
    ] {
        let e = r.validate().unwrap_err();
        assert_eq!(setting_of(&e), Some(setting), "{e}");
    }
    // The preset list: `all` is the eight of SPEC §5; names are the kebab-case spellings.
    assert_eq!(Preset::parse_list("all").unwrap(), Preset::SPEC.to_vec());
    assert_eq!(
        Preset::parse_list(" hrp, equal ,").unwrap(),
        vec![Preset::Hrp, Preset::Equal]
    );
    for p in Preset::ALL {
        assert_eq!(p.as_str().parse::<Preset>().unwrap(), p);
    }
    let e = Preset::parse_list("hrp,nope").unwrap_err();
    assert_eq!(setting_of(&e), Some("strategies"));
    assert!(e.to_string().contains("\"nope\""), "{e}");
}

#[tokio::test]
async fn walk_forward_report_model_shows_prices_trades_labelled_weights_and_frontier() {
    let dir = tempfile::tempdir().unwrap();
    let store = etf_store(&dir).await;
    let request = walk_request();
    let out = walk_forward(&store, &request).await.unwrap();
    assert_eq!(out.runs.len(), 5);
    assert_eq!(out.periodicity, Periodicity::Daily);
    for e in &out.runs {
        assert_eq!(e.result.equity[0], 100_000.0, "{}", e.result.strategy);
        let r = rebalance_days(&e.result);
        assert!((6..=25).contains(&r), "{}: {r}", e.result.strategy);
    }
    // HRP ignores expected returns: its forecast variant trades exactly like it.
    assert_eq!(out.runs[2].result.equity, out.runs[3].result.equity);

    let report = walk_forward_report(&request, &out).unwrap();
    let lead = &out.runs[0].result;
    assert_eq!(lead.strategy, "min-vol");
    // Weights: labelled with the strategy they belong to.
    assert_eq!(report.weights.strategy, "min-vol");
    assert_eq!(report.weights.dates.len(), lead.timestamps.len());
    // Trades: every fill of that strategy, in the list and on its symbol's price chart.
    assert!(lead.fills.len() > 20, "{} fills", lead.fills.len());
    assert_eq!(report.trades.len(), lead.fills.len());
    assert_eq!(report.prices.len(), ETFS.len());
    let markers: usize = report.prices.iter().map(|p| p.markers.len()).sum();
    assert_eq!(markers, lead.fills.len());
    for p in &report.prices {
        assert_eq!(p.dates.len(), lead.timestamps.len(), "{}", p.symbol);
        assert_eq!(p.dates.first(), report.weights.dates.first());
    }
    assert_eq!(report.currency, "USD");
    assert!(report.notes.iter().any(|n| n.contains("those of min-vol")));
    assert_eq!(report.series.len(), 5);

    // Frontier: measured with pulse_optimize::portfolio_performance under the same μ/Σ; min-vol
    // optimized on exactly that window is its left end, and no strategy beats it.
    let f = report.frontier.as_ref().unwrap();
    assert!(f.points.len() >= 10);
    assert!(f.points.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(f.portfolios.len(), 5);
    let mv = &f.portfolios[0];
    assert_eq!(mv.name, "min-vol");
    assert!((mv.volatility - f.points[0].0).abs() < 1e-6 * f.points[0].0);
    for p in &f.portfolios {
        assert!(p.volatility >= mv.volatility - 1e-9, "{}", p.name);
        if let Some(q) = f.points.iter().find(|q| q.0 >= p.volatility - 1e-9) {
            assert!(p.expected_return <= q.1 + 1e-6, "{} beats {q:?}", p.name);
        }
    }
    let eq = f.portfolios.iter().find(|p| p.name == "equal").unwrap();
    assert!(eq.volatility > mv.volatility);

    // The written page: no empty price or trade sections, the weights heading names min-vol.
    let html = pulse_report::render_html(&report).unwrap();
    assert!(!html.contains("No price data") && !html.contains("No trades"));
    assert!(html.contains("<h2>Target vs actual weights: min-vol</h2>"));
    assert!(html.contains("hrp, hrp-forecast"));

    // A start before the first full lookback window is refused naming `from`.
    let mut early = walk_request();
    early.from = Some(ts("2004-01-01T00:00:00Z"));
    let e = walk_forward(&store, &early).await.unwrap_err();
    assert_eq!(setting_of(&e), Some("from"), "{e}");
}
