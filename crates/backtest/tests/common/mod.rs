//! Shared by the integration tests: the bundled TSLA/TSLL history (with VIX and Fear & Greed as
//! context and the dividends as corporate actions), read independently of the importer.
#![allow(dead_code)]

use pulse_core::{Bar, CorporateAction, CorporateActionKind, Portfolio, Symbol};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

pub fn sym(s: &str) -> Symbol {
    Symbol::try_new(s).unwrap()
}

/// Reads a `date,open,high,low,close[,adj_close,volume,dividends]` file independently of the
/// importer: bars and dividend actions.
pub fn load(path: &std::path::Path, symbol: &str) -> (Vec<Bar>, Vec<CorporateAction>) {
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
pub type Market = (
    BTreeMap<Symbol, Vec<Bar>>,
    BTreeMap<Symbol, Vec<Bar>>,
    Vec<CorporateAction>,
);

pub fn market() -> Market {
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

pub fn cash() -> Portfolio {
    Portfolio::with_cash(Decimal::from(100_000))
}
