//! Builds a report from the REAL shared data (TSLA and TSLL daily adj_close): buy-and-hold curves,
//! and a small, clearly labelled demo strategy (a 50/50 TSLA/TSLL mix rebalanced monthly in whole
//! shares with 0.1 % fees, cut to 30 % TSLA / 70 % cash while TSLA closes below its 100-day mean)
//! so that every section of the page has real content. Shared by the tests, the example and the
//! benchmark (`#[path]`-included). The Pulse strategy itself lives in the engine crates.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use pulse_report::*;

/// (dates, adj_close) of a `daily-ohlcv` CSV.
pub fn load_adj_close(symbol: &str) -> (Vec<String>, Vec<f64>) {
    let path = pulse_testkit::shared_file(&format!("daily-ohlcv/{symbol}.csv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let di = header.iter().position(|h| *h == "date").unwrap();
    let ai = header.iter().position(|h| *h == "adj_close").unwrap();
    let (mut d, mut v) = (Vec::new(), Vec::new());
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        d.push(f[di].to_string());
        v.push(
            f[ai]
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("{symbol} {line}: {e}")),
        );
    }
    (d, v)
}

/// TSLA and TSLL adj_close aligned on TSLL's dates (TSLL starts 2022-08-09).
pub fn aligned() -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let (ad, av) = load_adj_close("TSLA");
    let (ld, lv) = load_adj_close("TSLL");
    let tsla: BTreeMap<&str, f64> = ad
        .iter()
        .map(String::as_str)
        .zip(av.iter().copied())
        .collect();
    let mut dates = Vec::new();
    let (mut a, mut l) = (Vec::new(), Vec::new());
    for (d, v) in ld.iter().zip(&lv) {
        if let Some(x) = tsla.get(d.as_str()) {
            dates.push(d.clone());
            a.push(*x);
            l.push(*v);
        }
    }
    (dates, a, l)
}

/// Equity of buying `cash` worth at the first close (fractional shares, no costs).
pub fn buy_and_hold(cash: f64, prices: &[f64]) -> Vec<f64> {
    prices.iter().map(|p| cash * p / prices[0]).collect()
}

pub struct Demo {
    pub equity: Vec<f64>,
    pub target: Vec<Vec<f64>>,
    pub actual: Vec<Vec<f64>>,
    pub trades: Vec<TradeRow>,
    pub alerts: Vec<AlertRow>,
    pub markers: [Vec<TradeMarker>; 2],
}

/// The demo strategy described in the module doc; fills at the close of the first day of a month.
pub fn demo(cash0: f64, dates: &[String], px: [&[f64]; 2], fee_rate: f64) -> Demo {
    let syms = ["TSLA", "TSLL"];
    let mut cash = cash0;
    let mut qty = [0.0f64; 2];
    let mut target = [0.0f64; 2];
    let mut out = Demo {
        equity: vec![],
        target: vec![],
        actual: vec![],
        trades: vec![],
        alerts: vec![],
        markers: [vec![], vec![]],
    };
    for t in 0..dates.len() {
        let month_start = t == 0 || dates[t][..7] != dates[t - 1][..7];
        if month_start {
            let sma = if t >= 100 {
                px[0][t - 100..t].iter().sum::<f64>() / 100.0
            } else {
                f64::NAN
            };
            let new = if sma.is_finite() && px[0][t] < sma {
                [0.3, 0.0]
            } else {
                [0.5, 0.5]
            };
            if new != target {
                let w = |w: [f64; 2]| {
                    let mut m: BTreeMap<String, f64> =
                        syms.iter().map(|s| s.to_string()).zip(w).collect();
                    m.insert("cash".into(), 1.0 - w[0] - w[1]);
                    m
                };
                if t > 0 {
                    out.alerts.push(AlertRow {
                        date: dates[t].clone(),
                        message: if new[1] == 0.0 {
                            "TSLA below its 100-day mean: cut TSLL, TSLA to 30 %".into()
                        } else {
                            "TSLA back above its 100-day mean: 50/50 TSLA/TSLL".into()
                        },
                        old_weights: w(target),
                        new_weights: w(new),
                    });
                }
                target = new;
            }
            let equity = cash + qty[0] * px[0][t] + qty[1] * px[1][t];
            // sells first, then buys, whole shares
            let mut order: Vec<usize> = (0..2).collect();
            order.sort_by_key(|&j| (equity * target[j] / px[j][t]).floor() > qty[j]);
            for j in order {
                let want = (equity * target[j] / px[j][t]).floor();
                let delta = want - qty[j];
                if delta == 0.0 {
                    continue;
                }
                let notional = delta.abs() * px[j][t];
                let fee = notional * fee_rate;
                let side = if delta > 0.0 { Side::Buy } else { Side::Sell };
                cash -= delta * px[j][t] + fee;
                qty[j] = want;
                out.trades.push(TradeRow {
                    date: dates[t].clone(),
                    symbol: syms[j].into(),
                    side,
                    quantity: delta.abs(),
                    price: px[j][t],
                    fee,
                    notional,
                });
                out.markers[j].push(TradeMarker {
                    date: dates[t].clone(),
                    side,
                    price: px[j][t],
                    quantity: delta.abs(),
                });
            }
        }
        let equity = cash + qty[0] * px[0][t] + qty[1] * px[1][t];
        out.equity.push(equity);
        out.target.push(target.to_vec());
        out.actual
            .push(vec![qty[0] * px[0][t] / equity, qty[1] * px[1][t] / equity]);
    }
    out
}

/// Simple metrics from an equity curve (daily, √252, rf = 0): the analytics crate owns the real ones.
pub fn metrics(name: &str, dates: &[String], e: &[f64], trades: Option<&[TradeRow]>) -> MetricsRow {
    let rets: Vec<f64> = e.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    let n = rets.len() as f64;
    let mean = rets.iter().sum::<f64>() / n;
    let sd = (rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let dd = drawdown(e);
    let (mut trough, mut peak) = (0, 0);
    for i in 0..dd.len() {
        if dd[i] < dd[trough] {
            trough = i;
        }
    }
    for i in 0..=trough {
        if e[i] >= e[peak] {
            peak = i;
        }
    }
    let years = n / 252.0;
    let total = e[e.len() - 1] / e[0] - 1.0;
    let cagr = (1.0 + total).powf(1.0 / years) - 1.0;
    let mut values = vec![
        MetricCell::number("total_return", Some(total)),
        MetricCell::number("cagr", Some(cagr)),
        MetricCell::number("volatility", Some(sd * 252f64.sqrt())),
        MetricCell::number("sharpe", Some(mean / sd * 252f64.sqrt())),
        MetricCell::number("max_drawdown", Some(dd[trough])),
        MetricCell::text(
            "max_drawdown_period",
            &format!("{} → {}", dates[peak], dates[trough]),
        ),
        MetricCell::number("calmar", Some(cagr / -dd[trough])),
        MetricCell::number("best_day", rets.iter().copied().reduce(f64::max)),
        MetricCell::number("worst_day", rets.iter().copied().reduce(f64::min)),
        MetricCell::number("final_equity", Some(e[e.len() - 1])),
    ];
    match trades {
        Some(t) => {
            values.push(MetricCell::number("trades", Some(t.len() as f64)));
            values.push(MetricCell::number(
                "fees",
                Some(t.iter().map(|t| t.fee).sum()),
            ));
        }
        None => {
            values.push(MetricCell::number("trades", Some(1.0)));
            values.push(MetricCell::number("profit_factor", None));
        }
    }
    MetricsRow {
        name: name.into(),
        values,
    }
}

pub const CONFIG: &str = r#"# Demo strategy used to exercise the report (NOT the Pulse rules)
[strategy]
name = "demo-50-50-trend"
rebalance = "monthly"          # first trading day of each month, at the close
trend_filter_days = 100        # TSLA below its 100-day mean => defensive mix

[weights.normal]
TSLA = 0.50
TSLL = 0.50

[weights.defensive]
TSLA = 0.30
TSLL = 0.00                    # the leveraged leg is cut first

[costs]
commission = 0.001            # 0.1 % of notional per side
whole_shares = true
"#;

/// The full report from the real data.
pub fn real_report() -> BacktestReport {
    let cash = 100_000.0;
    let (dates, tsla, tsll) = aligned();
    let d = demo(cash, &dates, [&tsla, &tsll], 0.001);
    let bh_a = buy_and_hold(cash, &tsla);
    let bh_l = buy_and_hold(cash, &tsll);
    let monthly = monthly_returns(&dates, &d.equity);
    let span = format!("{}..{}", dates[0], dates[dates.len() - 1]);
    BacktestReport {
        title: "Demo backtest — TSLA / TSLL".into(),
        generated_for: format!("TSLA+TSLL daily {span}"),
        sample_label: SampleLabel::FullHistory,
        notes: vec![
            "Demo strategy built in the report crate's tests from real adj_close data; the Pulse strategy is produced by the backtest engine.".into(),
            "Buy-and-hold curves use fractional shares and no costs.".into(),
        ],
        config_toml: CONFIG.into(),
        initial_cash: cash,
        currency: "USD".into(),
        series: vec![
            EquitySeries { name: "Demo 50/50 trend".into(), dates: dates.clone(), equity: d.equity.clone() },
            EquitySeries { name: "Buy & hold TSLA".into(), dates: dates.clone(), equity: bh_a.clone() },
            EquitySeries { name: "Buy & hold TSLL".into(), dates: dates.clone(), equity: bh_l.clone() },
        ],
        metrics: vec![
            metrics("Demo 50/50 trend", &dates, &d.equity, Some(&d.trades)),
            metrics("Buy & hold TSLA", &dates, &bh_a, None),
            metrics("Buy & hold TSLL", &dates, &bh_l, None),
        ],
        metric_catalogue: default_metric_catalogue(),
        weights: WeightsSeries { strategy: String::new(), dates: dates.clone(), symbols: vec!["TSLA".into(), "TSLL".into()], target: d.target, actual: d.actual },
        prices: vec![
            PriceSeries { symbol: "TSLA".into(), dates: dates.clone(), close: tsla, markers: d.markers[0].clone() },
            PriceSeries { symbol: "TSLL".into(), dates: dates.clone(), close: tsll, markers: d.markers[1].clone() },
        ],
        monthly_returns: monthly,
        trades: d.trades,
        alerts: d.alerts,
        frontier: None,
        sweep: None,
        risk: None,
        shaded: Vec::new(),
    }
}

/// Monthly returns of a daily curve by the analytics (what the app puts in a report).
pub fn monthly_returns(dates: &[String], equity: &[f64]) -> Vec<MonthlyReturn> {
    let ts: Vec<pulse_core::jiff::Timestamp> = dates
        .iter()
        .map(|d| format!("{d}T00:00:00Z").parse().unwrap())
        .collect();
    pulse_analytics::monthly_returns(&ts, equity)
}
