//! Render time of a 10-year daily report: 4 equity curves (buy & hold of TSLA, SPY, QQQ, AAPL from
//! the real `daily-adjclose` data), 2 price charts with monthly rebalancing markers, weights,
//! monthly heatmap, trades and alerts. Prints a markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use pulse_report::*;

const DAYS: usize = 2_520;

fn load(symbol: &str) -> BTreeMap<String, f64> {
    let path = pulse_testkit::shared_file(&format!("daily-adjclose/{symbol}.csv"));
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .filter_map(|(d, v)| v.parse::<f64>().ok().map(|v| (d.to_string(), v)))
        .collect()
}

fn build() -> BacktestReport {
    let syms = ["TSLA", "SPY", "QQQ", "AAPL"];
    let data: Vec<_> = syms.iter().map(|s| load(s)).collect();
    let mut dates: Vec<String> = data[0]
        .keys()
        .filter(|d| data.iter().all(|m| m.contains_key(*d)))
        .cloned()
        .collect();
    dates.drain(..dates.len() - DAYS);
    let px: Vec<Vec<f64>> = data
        .iter()
        .map(|m| dates.iter().map(|d| m[d]).collect())
        .collect();
    let series = syms
        .iter()
        .zip(&px)
        .map(|(s, p)| EquitySeries {
            name: format!("Buy & hold {s}"),
            dates: dates.clone(),
            equity: p.iter().map(|v| 100_000.0 * v / p[0]).collect(),
        })
        .collect::<Vec<_>>();
    let mut trades = Vec::new();
    let mut markers = [Vec::new(), Vec::new()];
    let mut alerts = Vec::new();
    for t in 1..DAYS {
        if dates[t][..7] != dates[t - 1][..7] {
            for j in 0..2 {
                let side = if px[j][t] > px[j][t.saturating_sub(21)] {
                    Side::Sell
                } else {
                    Side::Buy
                };
                let q = (1_000.0 / px[j][t]).floor().max(1.0);
                trades.push(TradeRow {
                    date: dates[t].clone(),
                    symbol: syms[j].into(),
                    side,
                    quantity: q,
                    price: px[j][t],
                    fee: q * px[j][t] * 0.001,
                    notional: q * px[j][t],
                });
                markers[j].push(TradeMarker {
                    date: dates[t].clone(),
                    side,
                    price: px[j][t],
                    quantity: q,
                });
            }
            let w: BTreeMap<String, f64> =
                [("TSLA".to_string(), 0.5), ("SPY".to_string(), 0.5)].into();
            alerts.push(AlertRow {
                date: dates[t].clone(),
                message: "monthly rebalance".into(),
                old_weights: w.clone(),
                new_weights: w,
            });
        }
    }
    let w: Vec<Vec<f64>> = (0..DAYS)
        .map(|t| {
            let a = px[0][t] / px[0][0];
            let b = px[1][t] / px[1][0];
            vec![a / (a + b), b / (a + b)]
        })
        .collect();
    BacktestReport {
        title: "bench".into(),
        generated_for: format!("{}..{}", dates[0], dates[DAYS - 1]),
        config_toml: "[bench]\n".into(),
        initial_cash: 100_000.0,
        currency: "USD".into(),
        monthly_returns: {
            let ts: Vec<pulse_core::jiff::Timestamp> = dates
                .iter()
                .map(|d| format!("{d}T00:00:00Z").parse().unwrap())
                .collect();
            pulse_analytics::monthly_returns(&ts, &series[0].equity)
        },
        metrics: series
            .iter()
            .map(|s| MetricsRow {
                name: s.name.clone(),
                values: vec![MetricCell::number(
                    "total_return",
                    Some(s.equity[DAYS - 1] / s.equity[0] - 1.0),
                )],
            })
            .collect(),
        metric_catalogue: default_metric_catalogue(),
        weights: WeightsSeries {
            strategy: String::new(),
            dates: dates.clone(),
            symbols: vec!["TSLA".into(), "SPY".into()],
            target: vec![vec![0.5, 0.5]; DAYS],
            actual: w,
        },
        prices: (0..2)
            .map(|j| PriceSeries {
                symbol: syms[j].into(),
                dates: dates.clone(),
                close: px[j].clone(),
                markers: std::mem::take(&mut markers[j]),
            })
            .collect(),
        series,
        trades,
        alerts,
        ..BacktestReport::default()
    }
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut v: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let report = build();
    let page = render_html(&report).unwrap();
    let json = to_json(&report).unwrap();
    let render_ms = time(30, || render_html(black_box(&report)).unwrap());
    let json_ms = time(30, || to_json(black_box(&report)).unwrap());
    let dir = std::env::temp_dir().join(format!("pulse-report-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.html");
    let write_ms = time(10, || write_html(&path, black_box(&report)).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
    println!(
        "| case ({} days × {} equity series, {} trades) | median | output |",
        DAYS,
        report.series.len(),
        report.trades.len()
    );
    println!("|---|---:|---:|");
    println!(
        "| render_html | {render_ms:.2} ms | {:.0} KB HTML |",
        page.len() as f64 / 1024.0
    );
    println!("| write_html (render + temp file + fsync + rename) | {write_ms:.2} ms | |");
    println!(
        "| to_json (validate + pretty JSON) | {json_ms:.2} ms | {:.0} KB JSON |",
        json.len() as f64 / 1024.0
    );
}
