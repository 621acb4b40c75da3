//! The dashboard overview's numbers (issue 14 item 1): for every trading runner its daily
//! equity curve against a benchmark, total return with the day's change, Sharpe, maximum
//! drawdown and win rate (pulse-analytics, as in every report), the composition of its account;
//! the most recent trades of all runners; and the feed of alerts and decisions from the audit
//! log. Everything is read from the store; nothing here decides or trades.

use crate::AppError;
use crate::trade::{self, EquityPoint, RunnerMeta};
use jiff::Timestamp;
use pulse_analytics::{Metrics, PerformanceInput, RiskFree};
use pulse_core::ports::Store;
use pulse_core::{Fill, Periodicity, Symbol};
use serde::Serialize;

/// How many audit entries are read to find the feed's most recent alerts.
const FEED_SCAN: u32 = 2_000;

/// One slice of a runner's account: a position at its last close, or the cash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    /// The symbol, or `cash`.
    pub name: String,
    /// Value in the account currency (shares × last close; the cash balance).
    pub value: f64,
    /// Fraction of equity (negative for borrowed cash).
    pub weight: f64,
}

/// A runner's headline figures (fractions, never percent; `None` where undefined: fewer than
/// two equity points, no closed trade).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerFigures {
    /// Equity now (account currency, marked at the last processed close).
    pub equity: f64,
    /// Equity now over the first point (the start) minus 1.
    pub total_return: Option<f64>,
    /// Equity now over the previous point (the last day's end, or the start) minus 1.
    pub daily_change: Option<f64>,
    /// Annualised Sharpe ratio of the daily equity returns (252 days a year, risk-free 0).
    pub sharpe: Option<f64>,
    /// Largest fall from a peak of the curve (fraction).
    pub max_drawdown: Option<f64>,
    /// Share of closed trades (FIFO-matched fills) with a positive P&L.
    pub win_rate: Option<f64>,
    /// Closed trades behind the win rate.
    pub closed_trades: usize,
}

/// The benchmark drawn with a runner's curve: the buy-and-hold of its strategy's base symbol,
/// scaled to start at the runner's first equity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benchmark {
    /// The symbol held.
    pub symbol: Symbol,
    /// One value per point of the runner's curve (`None` before the symbol's first close).
    pub values: Vec<Option<f64>>,
}

/// One runner on the overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerOverview {
    /// Progress, status and settings.
    pub meta: RunnerMeta,
    /// The daily equity curve, with a last point at the latest processed close when it is
    /// later than the last day's end.
    pub curve: Vec<EquityPoint>,
    /// The benchmark's curve on the same points.
    pub benchmark: Option<Benchmark>,
    /// Headline figures.
    pub figures: RunnerFigures,
    /// Positions and cash, largest value first.
    pub composition: Vec<Slice>,
    /// Fills booked in all.
    pub fills: usize,
}

/// A trade of some runner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentTrade {
    /// The runner that booked it.
    pub runner: String,
    /// The fill.
    pub fill: Fill,
}

/// One line of the feed: an alert or a decision, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedItem {
    /// When it was recorded.
    pub ts: Timestamp,
    /// Who: a runner's name, or the subsystem (`rebalance`, `risk`, `clock`, `prompt`).
    pub source: String,
    /// What kind (`risk`, `alert`, `order`, `summary`, `stop`…: the entry's first key).
    pub kind: String,
    /// The message.
    pub message: String,
}

/// Everything the overview shows besides the recorded runs and the rebalancer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// Every trading runner, in start order.
    pub runners: Vec<RunnerOverview>,
    /// The most recent fills of all runners, newest first.
    pub recent_trades: Vec<RecentTrade>,
    /// The most recent alerts and decisions, newest first.
    pub feed: Vec<FeedItem>,
}

/// The overview: every runner with its figures, the `trades` most recent fills and the `feed`
/// most recent feed items.
pub async fn overview<S: Store>(
    store: &S,
    trades: usize,
    feed: usize,
) -> Result<Overview, AppError> {
    let mut runners = Vec::new();
    let mut recent = Vec::new();
    for name in trade::runners(store).await? {
        let view = trade::view(store, &name).await?;
        recent.extend(view.fills.iter().map(|f| RecentTrade {
            runner: name.clone(),
            fill: f.clone(),
        }));
        runners.push(runner_overview(view));
    }
    recent.sort_by_key(|t| std::cmp::Reverse(t.fill.ts));
    recent.truncate(trades);
    Ok(Overview {
        runners,
        recent_trades: recent,
        feed: feed_items(store, feed).await?,
    })
}

/// The figures of one runner's view.
fn runner_overview(view: trade::RunnerView) -> RunnerOverview {
    let mut curve = view.history;
    if let Some(last) = view.meta.last_close
        && curve.last().is_none_or(|p| p.at < last)
    {
        curve.push(EquityPoint::at(view.meta.exchange, last, view.equity));
    }
    let figures = figures(&curve, &view.fills, view.equity);
    let benchmark = view.benchmark.map(|(symbol, closes)| Benchmark {
        values: benchmark_values(&curve, &closes),
        symbol,
    });
    let mut composition: Vec<Slice> = view
        .account
        .positions
        .iter()
        .filter(|(_, q)| !q.is_zero())
        .map(|(s, q)| {
            let price = view.prices.get(s).copied().unwrap_or(f64::NAN);
            let value = pulse_core::money::money_to_f64(*q) * price;
            Slice {
                name: s.to_string(),
                value,
                weight: value / view.equity,
            }
        })
        .collect();
    let cash = pulse_core::money::money_to_f64(view.account.cash);
    composition.push(Slice {
        name: "cash".into(),
        value: cash,
        weight: cash / view.equity,
    });
    composition.sort_by(|a, b| b.value.total_cmp(&a.value));
    RunnerOverview {
        meta: view.meta,
        curve,
        benchmark,
        figures,
        composition,
        fills: view.fills.len(),
    }
}

/// Headline figures of a curve and its fills (the analytics of every report).
fn figures(curve: &[EquityPoint], fills: &[Fill], equity: f64) -> RunnerFigures {
    let values: Vec<f64> = curve.iter().map(|p| p.equity).collect();
    let first = values.first().copied().filter(|v| *v > 0.0);
    let previous = (values.len() >= 2)
        .then(|| values[values.len() - 2])
        .filter(|v| *v > 0.0);
    let timestamps: Vec<Timestamp> = curve.iter().map(|p| p.at).collect();
    let records: Vec<_> = fills
        .iter()
        .map(|f| crate::backtest::fill_record(f.ts, &f.symbol, f.side, f.quantity, f.price, f.fee))
        .collect();
    let metrics = (values.len() >= 2)
        .then(|| {
            Metrics::compute(&PerformanceInput {
                timestamps: &timestamps,
                equity: &values,
                periodicity: Periodicity::Daily,
                risk_free: RiskFree::Zero,
                fills: &records,
                gross_exposure: None,
            })
            .ok()
        })
        .flatten();
    let stats = pulse_analytics::TradeStats::from_trades(
        &pulse_analytics::closed_trades(&records).unwrap_or_default(),
    );
    RunnerFigures {
        equity,
        total_return: first.map(|f| values.last().copied().unwrap_or(f) / f - 1.0),
        daily_change: previous.map(|p| values.last().copied().unwrap_or(p) / p - 1.0),
        sharpe: metrics.as_ref().and_then(|m| m.sharpe),
        max_drawdown: metrics.as_ref().and_then(|m| m.max_drawdown),
        win_rate: stats.win_rate,
        closed_trades: stats.closed_trades,
    }
}

/// The buy-and-hold of `closes` (close instant, price; chronological) on the curve's points:
/// at each point the last close at or before it (never a later one), scaled so that the
/// first point with a close equals the curve's equity there.
fn benchmark_values(curve: &[EquityPoint], closes: &[(Timestamp, f64)]) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(curve.len());
    let mut scale: Option<f64> = None;
    let mut next = 0;
    let mut last: Option<f64> = None;
    for p in curve {
        while next < closes.len() && closes[next].0 <= p.at {
            last = Some(closes[next].1).filter(|c| c.is_finite() && *c > 0.0);
            next += 1;
        }
        let value = last.map(|c| {
            let s = *scale.get_or_insert(p.equity / c);
            c * s
        });
        out.push(value);
    }
    out
}

/// The `limit` most recent feed items of the audit log, newest first.
async fn feed_items<S: Store>(store: &S, limit: usize) -> Result<Vec<FeedItem>, AppError> {
    let entries = crate::rebalance::history(store, FEED_SCAN).await?;
    Ok(entries
        .into_iter()
        .rev()
        .take(limit)
        .map(|e| feed_item(e.ts, &e.subsystem, &e.entry))
        .collect())
}

/// Actions on a runner, recorded as `{"<action>": "<runner>", …}`.
const RUNNER_ACTIONS: [&str; 6] = [
    "start",
    "stop",
    "resume",
    "halted",
    "flatten",
    "risk_applied",
];

/// One audit entry as a feed line: a trading runner's risk events, alerts, orders, daily
/// summaries and actions in words; a rebalancer event by its kind and reason; any other entry
/// as its compact JSON (cut at 300 bytes).
fn feed_item(ts: Timestamp, subsystem: &str, entry: &serde_json::Value) -> FeedItem {
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
    let action = RUNNER_ACTIONS
        .iter()
        .find_map(|a| Some((*a, entry.get(*a)?.as_str()?)));
    let runner = text(entry.get("runner")).or_else(|| action.map(|(_, r)| r.to_string()));
    let kind = match (action, text(entry.get("event"))) {
        (Some((a, _)), _) => a.to_string(),
        (None, Some(event)) => event,
        (None, None) => entry
            .as_object()
            .and_then(|o| o.keys().find(|k| k.as_str() != "runner").cloned())
            .unwrap_or_else(|| "entry".into()),
    };
    let body = entry.get(&kind);
    let message = match (subsystem, kind.as_str()) {
        ("trade", "risk") => text(body.and_then(|b| b.get("message"))).map(|m| format!("RISK {m}")),
        ("trade", "alert") => text(body.and_then(|b| b.get("message"))),
        ("trade", "order") => body.and_then(|o| {
            Some(format!(
                "SENT {} {} {} ({})",
                o.get("side")?.as_str()?,
                o.get("quantity")?.as_str()?,
                o.get("symbol")?.as_str()?,
                o.get("client_id")?.as_str()?
            ))
        }),
        ("trade", "summary") => body
            .cloned()
            .and_then(|b| serde_json::from_value::<trade::DaySummary>(b).ok())
            .map(|d| trade::summary_message(runner.as_deref().unwrap_or("?"), &d)),
        ("trade", "halted") => text(entry.get("reason")).map(|r| format!("HALTED {r}")),
        _ => text(entry.get("reason")),
    };
    let message = message.unwrap_or_else(|| {
        let mut s = entry.to_string();
        if s.len() > 300 {
            let cut = (0..=300)
                .rev()
                .find(|i| s.is_char_boundary(*i))
                .unwrap_or(0);
            s.truncate(cut);
            s.push('…');
        }
        s
    });
    FeedItem {
        ts,
        source: runner.unwrap_or_else(|| subsystem.to_string()),
        kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn point(at: &str, equity: f64) -> EquityPoint {
        EquityPoint::at(pulse_core::Exchange::Nyse, at.parse().unwrap(), equity)
    }

    #[test]
    fn the_benchmark_takes_the_last_close_at_or_before_each_point_and_starts_at_the_equity() {
        let curve = [
            point("2024-01-02T21:00:00Z", 1000.0),
            point("2024-01-03T21:00:00Z", 1010.0),
            point("2024-01-04T21:00:00Z", 990.0),
        ];
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let closes = [
            (t("2024-01-03T21:00:00Z"), 50.0),
            // A close after the last point is never used.
            (t("2024-01-05T21:00:00Z"), 80.0),
        ];
        let v = benchmark_values(&curve, &closes);
        assert_eq!(v, vec![None, Some(1010.0), Some(1010.0)]);
    }

    #[test]
    fn figures_follow_the_textbook_definitions() {
        let curve = [
            point("2024-01-02T21:00:00Z", 100.0),
            point("2024-01-03T21:00:00Z", 110.0),
            point("2024-01-04T21:00:00Z", 99.0),
            point("2024-01-05T21:00:00Z", 104.5),
        ];
        let f = figures(&curve, &[], 104.5);
        assert!((f.total_return.unwrap() - 0.045).abs() < 1e-12);
        assert!((f.daily_change.unwrap() - (104.5 / 99.0 - 1.0)).abs() < 1e-12);
        // Peak 110, trough 99: a 10 % drawdown.
        assert!((f.max_drawdown.unwrap() - 0.1).abs() < 1e-12);
        // Sharpe: mean / sample std of the daily returns × √252.
        let r = [0.1, 99.0 / 110.0 - 1.0, 104.5 / 99.0 - 1.0];
        let mean = r.iter().sum::<f64>() / 3.0;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((f.sharpe.unwrap() - mean / sd * 252f64.sqrt()).abs() < 1e-9);
        assert_eq!((f.win_rate, f.closed_trades), (None, 0));
        let one = figures(&curve[..1], &[], 100.0);
        assert_eq!(
            (one.total_return, one.daily_change, one.sharpe),
            (Some(0.0), None, None)
        );
    }

    #[test]
    fn trading_entries_read_as_words_and_others_as_json() {
        let ts: Timestamp = "2024-01-02T21:00:00Z".parse().unwrap();
        let risk = serde_json::json!({"runner": "p", "risk": {"message": "position capped"}});
        let item = feed_item(ts, "trade", &risk);
        assert_eq!(
            (
                item.source.as_str(),
                item.kind.as_str(),
                item.message.as_str()
            ),
            ("p", "risk", "RISK position capped")
        );
        let stop = serde_json::json!({"stop": "p", "cancelled": []});
        let item = feed_item(ts, "trade", &stop);
        assert_eq!((item.source.as_str(), item.kind.as_str()), ("p", "stop"));
        let pending = serde_json::json!({"date": "2024-01-02", "event": "pending", "reason": "changed MP seen on day 1 of 3"});
        let item = feed_item(ts, "rebalance", &pending);
        assert_eq!(
            (
                item.source.as_str(),
                item.kind.as_str(),
                item.message.as_str()
            ),
            ("rebalance", "pending", "changed MP seen on day 1 of 3")
        );
        let other = serde_json::json!({"set": "2024-01-02T13:30:00Z"});
        let item = feed_item(ts, "clock", &other);
        assert_eq!((item.source.as_str(), item.kind.as_str()), ("clock", "set"));
        assert!(item.message.contains("2024-01-02T13:30:00Z"));
    }
}
