#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Renders reports built from the real shared data and checks the page.

mod common;

use pulse_report::*;
use serde_json::Value;

const SECTIONS: [&str; 10] = [
    "summary", "metrics", "equity", "drawdown", "weights", "prices", "monthly", "trades", "alerts",
    "config",
];

fn island(page: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = page.find(open).expect("data island") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("island parses as JSON")
}

fn chart<'a>(island: &'a Value, id: &str) -> &'a Value {
    island["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("chart {id}"))
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// No attribute or CSS url pointing at the network.
fn assert_self_contained(page: &str) {
    let lower = page.to_ascii_lowercase();
    for needle in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
        "url(\"http",
        "url('http",
        "@import",
        "<link",
        "<iframe",
    ] {
        assert!(
            !lower.contains(needle),
            "page references the network: {needle}"
        );
    }
    // Only two scripts: the data island and the inline code, neither with a src.
    assert_eq!(lower.matches("<script").count(), 2);
    assert!(!lower.contains("<script src"));
}

#[test]
fn real_report_is_complete_and_self_contained() {
    let report = common::real_report();
    let page = render_html(&report).unwrap();
    assert_self_contained(&page);
    // The real report's own strings contain no URL at all.
    assert!(!page.contains("http://") && !page.contains("https://"));
    for id in SECTIONS {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    assert!(page.contains("class=\"logtoggle\""), "log toggle");
    assert!(page.contains("class=\"mode-log\""), "log-scale drawing");
    assert!(page.contains("FULL HISTORY"));
    assert!(page.contains(
        "TSLA+TSLL daily 2022-08-09..2025-09-29 · initial cash $100,000.00 · currency USD"
    ));
    assert!(page.len() < 2_000_000, "page is {} bytes", page.len());
    // One price chart per symbol with buy and sell triangles; one weight panel per symbol + cash.
    assert!(page.contains("id=\"chart-price-0\"") && page.contains("id=\"chart-price-1\""));
    assert!(page.contains("<polygon class=\"buy\"") && page.contains("<polygon class=\"sell\""));
    assert!(page.contains("id=\"chart-weights-2\""));
    // Every trade and alert is listed.
    assert_eq!(
        page.matches("<td class=\"buy\">").count() + page.matches("<td class=\"sell\">").count(),
        report.trades.len()
    );
    for a in &report.alerts {
        assert!(page.contains(&a.message.replace('\'', "&#39;")));
    }
    // Metric cells are formatted by unit: the CAGR as percent with 2 decimals.
    let cagr = report.metrics[0]
        .values
        .iter()
        .find(|c| c.key == "cagr")
        .unwrap()
        .value
        .unwrap();
    assert!(page.contains(&format!("{:.2}%", cagr * 100.0)));
}

#[test]
fn sample_label_badge_is_clear() {
    let mut report = common::real_report();
    for (label, text, class) in [
        (SampleLabel::InSample, "IN-SAMPLE", "badge in-sample"),
        (
            SampleLabel::OutOfSample,
            "OUT-OF-SAMPLE",
            "badge out-of-sample",
        ),
        (
            SampleLabel::FullHistory,
            "FULL HISTORY",
            "badge full-history",
        ),
    ] {
        report.sample_label = label;
        let page = render_html(&report).unwrap();
        assert!(page.contains(&format!("<span class=\"{class}\"")), "{text}");
        assert!(page.contains(&format!(">{text}</span>")), "{text}");
        let json: Value = serde_json::from_str(&to_json(&report).unwrap()).unwrap();
        assert_eq!(
            json["sample_label"],
            text.to_ascii_lowercase().replace(' ', "-")
        );
    }
}

#[test]
fn data_island_holds_the_exact_values() {
    let report = common::real_report();
    let page = render_html(&report).unwrap();
    let isl = island(&page);
    assert_eq!(isl["currency"], "USD");
    let eq = chart(&isl, "equity");
    assert!(eq["log"].is_array(), "equity chart has a log domain");
    let series = eq["series"].as_array().unwrap();
    assert_eq!(series.len(), report.series.len());
    for (s, json) in report.series.iter().zip(series) {
        assert_eq!(json["name"], s.name.as_str());
        assert_eq!(json["exact"], true);
        assert_eq!(f64s(&json["v"]), s.equity, "{}", s.name);
        let axis = &isl["axes"][json["axis"].as_u64().unwrap() as usize];
        assert_eq!(strings(&axis["dates"]), s.dates);
    }
    // Drawdown values equal the documented formula on the exact equity.
    let dd = chart(&isl, "drawdown");
    for (s, json) in report.series.iter().zip(dd["series"].as_array().unwrap()) {
        let v = f64s(&json["v"]);
        let mut peak = f64::MIN;
        for (e, d) in s.equity.iter().zip(&v) {
            peak = peak.max(*e);
            assert_eq!(*d, e / peak - 1.0);
        }
    }
    // Prices and weights too.
    let p = chart(&isl, "price-1");
    assert_eq!(f64s(&p["series"][0]["v"]), report.prices[1].close);
    let w = chart(&isl, "weights-0");
    let target0: Vec<f64> = report.weights.target.iter().map(|r| r[0]).collect();
    let actual0: Vec<f64> = report.weights.actual.iter().map(|r| r[0]).collect();
    assert_eq!(f64s(&w["series"][0]["v"]), target0);
    assert_eq!(f64s(&w["series"][1]["v"]), actual0);
    // All series share one date axis (deduplicated).
    assert_eq!(isl["axes"].as_array().unwrap().len(), 1);
}

#[test]
fn hostile_strings_are_escaped() {
    let evil = "<script>alert(1)</script>";
    let mut report = common::real_report();
    report.title = format!("T {evil}");
    report.generated_for = evil.into();
    report.notes.push(format!("note \"{evil}\" & 'x'"));
    report.config_toml = format!("name = \"{evil}\"\n");
    report.currency = evil.into();
    report.series[0].name = evil.into();
    report.metrics[0].name = evil.into();
    report.metrics[0].values.push(MetricCell::text(evil, evil));
    report
        .metric_catalogue
        .push(MetricDef::new("other", evil, MetricUnit::Money));
    report.weights.symbols[0] = evil.into();
    report.prices[0].symbol = evil.into();
    report.trades[0].symbol = evil.into();
    report.trades[0].date = format!("{} {evil}", report.trades[0].date);
    report.alerts[0].message = evil.into();
    report.alerts[0].new_weights.insert(evil.into(), 0.5);
    let page = render_html(&report).unwrap();
    assert!(!page.contains(evil), "raw hostile string in the page");
    assert!(!page.contains("<script>alert"));
    assert_eq!(page.to_ascii_lowercase().matches("<script").count(), 2);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The island still carries the original text (escaped as \u003c in JSON).
    let isl = island(&page);
    assert_eq!(chart(&isl, "equity")["series"][0]["name"], evil);
    assert_eq!(isl["currency"], evil);
}

#[test]
fn empty_inputs_render() {
    let page = render_html(&BacktestReport::default()).unwrap();
    for id in SECTIONS {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    for empty in [
        "No equity data.",
        "No weight data.",
        "No price data.",
        "No monthly returns.",
        "No trades.",
        "No alerts.",
        "No configuration recorded.",
        "No metrics.",
    ] {
        assert!(page.contains(empty), "{empty}");
    }
    let isl = island(&page);
    assert!(isl["charts"].as_array().unwrap().is_empty());

    // Real curves but no trades and no alerts.
    let mut report = common::real_report();
    report.trades.clear();
    report.alerts.clear();
    for p in &mut report.prices {
        p.markers.clear();
    }
    report.series.push(EquitySeries {
        name: "empty".into(),
        dates: vec![],
        equity: vec![],
    });
    let page = render_html(&report).unwrap();
    assert!(page.contains("No trades.") && page.contains("No alerts."));
    assert!(!page.contains("<polygon class=\"buy\" points=\"6,0"));
    // A single-point series renders too.
    let one = BacktestReport {
        series: vec![EquitySeries {
            name: "one".into(),
            dates: vec!["2024-01-02".into()],
            equity: vec![100.0],
        }],
        ..BacktestReport::default()
    };
    assert!(render_html(&one).unwrap().contains("id=\"chart-equity\""));
}

#[test]
fn invalid_models_are_errors_naming_the_field() {
    let base = common::real_report();

    let mut r = base.clone();
    r.series[1].dates[5] = "2023-02-30".into();
    let e = render_html(&r).unwrap_err().to_string();
    assert!(
        e.contains("series[1] (Buy & hold TSLA).dates[5]") && e.contains("2023-02-30"),
        "{e}"
    );

    let mut r = base.clone();
    r.series[0].equity.pop();
    let e = render_html(&r).unwrap_err().to_string();
    assert!(e.contains("series[0]") && e.contains("equity"), "{e}");

    let mut r = base.clone();
    r.prices[0].dates.swap(3, 4);
    let e = render_html(&r).unwrap_err().to_string();
    assert!(e.contains("prices[0] (TSLA).dates[4]"), "{e}");

    let mut r = base.clone();
    r.weights.actual[7][1] = f64::NAN;
    let e = render_html(&r).unwrap_err().to_string();
    assert!(e.contains("weights.actual[7]") && e.contains("[1]"), "{e}");

    let mut r = base.clone();
    r.weights.target[2].push(0.1);
    assert!(
        render_html(&r)
            .unwrap_err()
            .to_string()
            .contains("weights.target[2]")
    );

    let mut r = base.clone();
    r.monthly_returns[0].month = 13;
    assert!(matches!(
        render_html(&r),
        Err(ReportError::BadMonth {
            index: 0,
            month: 13
        })
    ));

    let mut r = base.clone();
    r.prices[1].markers[0].date = "yesterday".into();
    assert!(
        to_json(&r)
            .unwrap_err()
            .to_string()
            .contains("prices[1] (TSLL).markers[0]")
    );
}

#[test]
fn json_roundtrip_is_lossless() {
    let report = common::real_report();
    let json = to_json(&report).unwrap();
    let back = from_json(&json).unwrap();
    assert_eq!(back, report);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["sample_label"], "full-history");
    assert_eq!(v["trades"][0]["side"], "buy");
    assert_eq!(v["metric_catalogue"][0]["unit"], "percent");
    assert!(from_json("{\"title\": 3}").is_err());
}

#[test]
fn monthly_returns_compound_to_the_total() {
    let report = common::real_report();
    let s = &report.series[0];
    let m = common::monthly_returns(&s.dates, &s.equity);
    // 2022-08 .. 2025-09 inclusive.
    assert_eq!(m.len(), 5 + 12 + 12 + 9);
    assert_eq!((m[0].year, m[0].month), (2022, 8));
    let compounded: f64 = m.iter().map(|r| 1.0 + r.ret).product();
    let total = s.equity.last().unwrap() / s.equity[0];
    assert!((compounded - total).abs() < 1e-9, "{compounded} vs {total}");
    // The heatmap shows each month as a percentage with one decimal.
    let page = render_html(&report).unwrap();
    assert!(page.contains(&format!(">{:.1}%</td>", m[3].ret * 100.0)));
}

#[test]
fn write_html_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    std::fs::write(&path, "old").unwrap();
    let report = common::real_report();
    write_html(&path, &report).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, render_html(&report).unwrap());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    let missing = dir.path().join("no/such/dir/report.html");
    let e = write_html(&missing, &report).unwrap_err().to_string();
    assert!(e.contains("no/such/dir"), "{e}");
}

#[test]
fn long_intraday_series_is_bucketed_for_drawing_but_exact_for_hover() {
    // 43,200 real 1-minute BTCUSDT closes with RFC 3339 timestamps.
    let path = pulse_testkit::shared_file("intraday-1m/BTCUSDT.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let (mut dates, mut close) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        dates.push(f[0].to_string());
        close.push(f[4].parse::<f64>().unwrap());
    }
    assert!(close.len() > 40_000);
    let report = BacktestReport {
        title: "BTCUSDT 1m".into(),
        currency: "USD".into(),
        series: vec![EquitySeries {
            name: "BTCUSDT".into(),
            dates: dates.clone(),
            equity: close.clone(),
        }],
        ..BacktestReport::default()
    };
    let page = render_html(&report).unwrap();
    let isl = island(&page);
    let eq = chart(&isl, "equity");
    assert_eq!(f64s(&eq["series"][0]["v"]), close);
    assert_eq!(eq["series"][0]["exact"], true);
    // The drawn path of the linear view has at most MAX_DRAWN_POINTS vertices.
    let lin = &page[page.find("class=\"mode-lin\"").unwrap()..];
    let d_start = lin.find("class=\"s0\" d=\"").unwrap() + "class=\"s0\" d=\"".len();
    let d = &lin[d_start..d_start + lin[d_start..].find('"').unwrap()];
    let vertices = d.matches(['M', 'L']).count();
    assert!(
        vertices <= pulse_report::chart::MAX_DRAWN_POINTS && vertices > 4_000,
        "{vertices}"
    );
    // Intraday ticks are labelled with dates, not all the same year.
    assert!(
        page.contains(">Jun 2025<") || page.contains("06-0"),
        "intraday x ticks"
    );
    // Exact hover data for 43,200 minutes (equity + drawdown) stays a few MB.
    assert!(page.len() < 4_000_000, "{}", page.len());
}

#[test]
fn the_risk_section_draws_the_leverage_and_lists_the_events() {
    let mut r = common::real_report();
    let page = render_html(&r).unwrap();
    assert!(
        !page.contains("id=\"risk\""),
        "no section without a risk layer"
    );
    let dates = r.weights.dates.clone();
    let leverage: Vec<f64> = (0..dates.len())
        .map(|i| if i < dates.len() / 2 { 1.0 } else { 0.5 })
        .collect();
    r.risk = Some(RiskSection {
        config_toml: "[limits]\nmax_position = 0.1\n".into(),
        dates: dates.clone(),
        leverage: leverage.clone(),
        events: vec![RiskEventRow {
            date: dates[dates.len() / 2].clone(),
            kind: "leverage".into(),
            message: "leverage 1.00 → 0.50 <risk>".into(),
        }],
    });
    let page = render_html(&r).unwrap();
    assert!(page.contains("id=\"risk\"") && page.contains("href=\"#risk\""));
    assert!(
        page.contains("leverage 1.00 → 0.50 &lt;risk&gt;"),
        "escaped"
    );
    assert!(page.contains("max_position = 0.1"));
    let data = island(&page);
    assert_eq!(
        f64s(&chart(&data, "risk-leverage")["series"][0]["v"]),
        leverage
    );
    // A bad event date names the field.
    let mut bad = r.clone();
    if let Some(risk) = bad.risk.as_mut() {
        risk.events[0].date = "2023-13-01".into();
    }
    let e = render_html(&bad).unwrap_err().to_string();
    assert!(e.contains("risk.events"), "{e}");
    let mut short = r;
    if let Some(risk) = short.risk.as_mut() {
        risk.leverage.pop();
    }
    assert!(
        render_html(&short)
            .unwrap_err()
            .to_string()
            .contains("risk.leverage")
    );
}
