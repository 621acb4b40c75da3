//! Backtests on the real TSLA/TSLL history: exact fee accounting, fills strictly after
//! decisions, dividends, cash never negative, and no look-ahead (perturbing the future never
//! changes a past decision).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use pulse_backtest::{AlignedData, BacktestConfig, run};
use pulse_core::{Bar, CorporateAction, CorporateActionKind, Portfolio, Side, Symbol};
use pulse_strategy::fixed::{FixedWeights, Rebalance};
use pulse_strategy::pulse::{PulseConfig, PulseStrategy};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

/// Reads a `date,open,high,low,close[,adj_close,volume,dividends]` file independently of the
/// importer: bars and dividend actions.
fn load(path: &std::path::Path, symbol: &str) -> (Vec<Bar>, Vec<CorporateAction>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut bars = Vec::new();
    let mut actions = Vec::new();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let ts = format!("{}T00:00:00Z", c[0]).parse().unwrap();
        let f = |i: usize| {
            c.get(i)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<f64>().unwrap())
        };
        bars.push(Bar {
            ts,
            open: f(1).unwrap(),
            high: f(2).unwrap(),
            low: f(3).unwrap(),
            close: f(4).unwrap(),
            adj_close: f(5),
            volume: f(6),
        });
        if let Some(d) = c.get(7).filter(|s| !s.is_empty()) {
            let cash = Decimal::from_str(d).unwrap();
            if cash > Decimal::ZERO {
                actions.push(CorporateAction {
                    symbol: sym(symbol),
                    ex_date: c[0].parse().unwrap(),
                    kind: CorporateActionKind::Dividend {
                        cash_per_share: cash,
                    },
                });
            }
        }
    }
    (bars, actions)
}

/// The bundled data (TSLA's split ratios already removed from its dividend column).
/// Traded bars, context bars and corporate actions of a replay.
type Market = (
    BTreeMap<Symbol, Vec<Bar>>,
    BTreeMap<Symbol, Vec<Bar>>,
    Vec<CorporateAction>,
);

fn market() -> Market {
    let b = pulse_testkit::bundle_dir();
    let (tsla, a1) = load(&b.join("TSLA.csv"), "TSLA");
    let (tsll, a2) = load(&b.join("TSLL.csv"), "TSLL");
    let (vix, _) = load(&b.join("VIX.csv"), "VIX");
    let fg: Vec<Bar> = std::fs::read_to_string(b.join("FEAR_GREED.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (d, v) = l.split_once(',').unwrap();
            Bar::from_value(
                format!("{d}T00:00:00Z").parse().unwrap(),
                v.parse().unwrap(),
                None,
            )
        })
        .collect();
    let start = tsll[0].ts;
    let traded = BTreeMap::from([
        (
            sym("TSLA"),
            tsla.into_iter().filter(|b| b.ts >= start).collect(),
        ),
        (sym("TSLL"), tsll),
    ]);
    let context = BTreeMap::from([(sym("VIX"), vix), (sym("FEAR_GREED"), fg)]);
    (traded, context, [a1, a2].concat())
}

fn cash() -> Portfolio {
    Portfolio::with_cash(Decimal::from(100_000))
}

#[test]
fn pulse_on_real_data_books_fees_exactly_and_never_trades_on_the_decision_bar() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strategy = PulseStrategy::try_new(PulseConfig::default_config().unwrap()).unwrap();
    let r = run(&data, strategy, cash(), &BacktestConfig::default(), |_| {}).unwrap();
    assert!(
        r.fills.len() > 20,
        "Pulse should trade on 3 years of data: {} fills",
        r.fills.len()
    );
    // Fees are exactly 0.1 % of traded notional, to the last decimal.
    assert_eq!(r.fees_paid, r.traded_notional * Decimal::new(1, 3));
    let fee_sum: Decimal = r.fills.iter().map(|f| f.fee).sum();
    assert_eq!(fee_sum, r.fees_paid);
    // Cash never negative; equity = cash + positions.
    assert!(r.cash.iter().all(|c| *c >= 0.0), "negative cash");
    // Every fill happens strictly after the close its order was decided at.
    let decided: BTreeMap<_, _> = r
        .orders
        .iter()
        .map(|o| (o.client_id.clone(), o.decided_at))
        .collect();
    for f in &r.fills {
        assert!(
            f.ts > decided[&f.client_id],
            "{f:?} filled at or before its decision"
        );
    }
    // The exact cash identity: start − buys − fees + sells + dividends = final cash.
    let flow: Decimal = r.fills.iter().map(|f| f.cash_delta()).sum();
    assert_eq!(
        r.final_portfolio.cash,
        Decimal::from(100_000) + flow + r.dividends_received
    );
    assert_eq!(r.timestamps.len(), 788);
}

#[test]
fn buy_and_hold_tsll_collects_its_distributions() {
    let (traded, context, actions) = market();
    let data = AlignedData::new(traded, context, &actions);
    let strat = FixedWeights::new(
        "Buy & hold TSLL",
        BTreeMap::from([(sym("TSLL"), 1.0)]),
        Rebalance::Never,
    );
    let r = run(&data, strat, cash(), &BacktestConfig::default(), |_| {}).unwrap();
    assert_eq!(r.fills.len(), 1);
    let fill = &r.fills[0];
    assert_eq!(fill.side, Side::Buy);
    // Shares bought on day 2 at its open receive every distribution going ex afterwards.
    let expected: Decimal = actions
        .iter()
        .filter(|a| a.symbol == sym("TSLL"))
        .filter(|a| {
            a.ex_date
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                > fill.ts
        })
        .map(|a| a.value() * fill.quantity)
        .sum();
    assert!(expected > Decimal::ZERO);
    assert_eq!(r.dividends_received, expected);
    // Final equity = cash + shares × last close.
    let last_close = data.bars[&sym("TSLL")].last().unwrap().unwrap().close;
    let eq = pulse_core::money::money_to_f64(r.final_portfolio.cash)
        + pulse_core::money::money_to_f64(fill.quantity) * last_close;
    assert!(
        (r.equity.last().unwrap() - eq).abs() < 1e-6,
        "{} vs {eq}",
        r.equity.last().unwrap()
    );
}

fn perturb_after(
    mut traded: BTreeMap<Symbol, Vec<Bar>>,
    after: jiff::Timestamp,
    seed: u64,
) -> BTreeMap<Symbol, Vec<Bar>> {
    let mut state = seed | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        0.7 + 0.6 * ((state % 10_000) as f64 / 10_000.0)
    };
    for bars in traded.values_mut() {
        for b in bars.iter_mut().filter(|b| b.ts > after) {
            let k = next();
            b.open *= k;
            b.high *= k * 1.01;
            b.low *= k * 0.99;
            b.close *= next();
            b.volume = b.volume.map(|v| v * next());
        }
    }
    traded
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn perturbing_the_future_never_changes_past_decisions(cut in 40usize..760, seed in any::<u64>()) {
        let (traded, context, actions) = market();
        let data = AlignedData::new(traded.clone(), context.clone(), &actions);
        let cut_ts = data.timeline[cut];
        let strategy = || PulseStrategy::try_new(PulseConfig::default_config().unwrap()).unwrap();
        let base = run(&data, strategy(), cash(), &BacktestConfig::default(), |_| {}).unwrap();
        let other = AlignedData::new(perturb_after(traded, cut_ts, seed), context, &actions);
        let moved = run(&other, strategy(), cash(), &BacktestConfig::default(), |_| {}).unwrap();
        let past = |r: &pulse_backtest::BacktestResult| {
            let orders: Vec<_> = r.orders.iter().filter(|o| o.decided_at <= cut_ts).cloned().collect();
            let fills: Vec<_> = r.fills.iter().filter(|f| f.ts <= cut_ts).cloned().collect();
            let n = r.timestamps.partition_point(|t| *t <= cut_ts);
            let k = r.symbols.len();
            (orders, fills, r.equity[..n].to_vec(), r.target_weights[..n * k].to_vec())
        };
        prop_assert_eq!(past(&base), past(&moved));
    }
}
