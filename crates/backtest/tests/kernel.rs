//! The sweep kernel against the general runner on the real TSLA/TSLL history: for many rule sets,
//! cost models, fill prices, starting accounts and step windows, the same fills (time, symbol,
//! side, quantity, price, fee), bit-identical equity and exposure curves, and the same exact
//! account figures.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{cash, market, sym};
use pulse_backtest::{AlignedData, BacktestConfig, FillPrice, KernelScratch, PulseMarket, run};
use pulse_core::{Portfolio, Symbol};
use pulse_strategy::Strategy;
use pulse_strategy::pulse::{PulseConfig, PulseStrategy};
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn data() -> AlignedData {
    let (traded, context, actions) = market();
    AlignedData::new(traded, context, &actions)
}

/// First step with every indicator of `cfg` warm on both legs (as `pulse backtest` starts).
fn first_eval(data: &AlignedData, cfg: &PulseConfig) -> usize {
    data.first_common_index() + PulseStrategy::try_new(cfg.clone()).unwrap().warmup_bars()
}

fn rule_sets() -> Vec<PulseConfig> {
    let base = PulseConfig::default_config().unwrap();
    let mut out = vec![base.clone()];
    for (rsi_high, rsi_low, rsi_fast, k) in [
        (60.0, 34.0, 25.0, 1.6),
        (84.0, 15.0, 10.0, 2.4),
        (72.0, 28.0, 15.0, 2.2),
        (65.0, 40.0, 30.0, 1.8),
    ] {
        let mut c = base.clone();
        c.overbought.rsi = rsi_high;
        c.oversold.rsi = rsi_low;
        c.oversold.rsi_fast = rsi_fast;
        c.indicators.bbands_k = k;
        out.push(c);
    }
    let mut c = base.clone();
    c.indicators.sma_fast = 3;
    c.indicators.sma_slow = 30;
    c.indicators.rsi_period = 9;
    c.indicators.vwap_window = 5;
    c.mood.vix_high = 20.0;
    c.mood.greed_extreme = 60.0;
    out.push(c);
    let mut c = base;
    c.overbought.use_upper_band = false;
    c.oversold.use_lower_band = false;
    c.limits.max_gross = 0.7;
    out.push(c);
    out
}

#[allow(clippy::too_many_arguments)]
fn assert_same(
    data: &AlignedData,
    market: &PulseMarket,
    cfg: &PulseConfig,
    account: &Portfolio,
    config: &BacktestConfig,
    range: std::ops::Range<usize>,
    scratch: &mut KernelScratch,
    what: &str,
) {
    let general = run(
        data,
        PulseStrategy::try_new(cfg.clone()).unwrap(),
        account.clone(),
        &BacktestConfig {
            start: Some(data.timeline[range.start]),
            end: Some(data.timeline[range.end - 1]),
            ..config.clone()
        },
        |_| {},
    )
    .unwrap();
    let fast = market
        .run(cfg, account, config, range.clone(), scratch)
        .unwrap();
    assert!(!general.fills.is_empty(), "{what}: no fills at all");
    assert_eq!(
        scratch.fills.len(),
        general.fills.len(),
        "{what}: fill count"
    );
    let symbols = market.symbols();
    for (k, g) in scratch.fills.iter().zip(&general.fills) {
        let got = (
            data.timeline[k.step],
            symbols[k.leg].clone(),
            k.side,
            k.quantity,
            k.price,
            k.fee,
        );
        let want = (g.ts, g.symbol.clone(), g.side, g.quantity, g.price, g.fee);
        assert_eq!(got, want, "{what}: fill");
    }
    assert_eq!(scratch.equity.len(), general.equity.len(), "{what}: steps");
    for (i, (a, b)) in scratch.equity.iter().zip(&general.equity).enumerate() {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{what}: equity at step {i}: {a} vs {b}"
        );
    }
    for (a, b) in scratch.gross_exposure.iter().zip(&general.gross_exposure) {
        assert_eq!(a.to_bits(), b.to_bits(), "{what}: gross exposure");
    }
    assert_eq!(
        fast.final_cash, general.final_portfolio.cash,
        "{what}: cash"
    );
    for (j, s) in symbols.iter().enumerate() {
        assert_eq!(
            fast.positions[j],
            general.final_portfolio.quantity(s),
            "{what}: {s} held"
        );
    }
    assert_eq!(fast.fees_paid, general.fees_paid, "{what}: fees");
    assert_eq!(
        fast.traded_notional, general.traded_notional,
        "{what}: notional"
    );
    assert_eq!(
        fast.dividends_received, general.dividends_received,
        "{what}: dividends"
    );
}

#[test]
fn kernel_equals_the_general_runner() {
    let data = data();
    let base = PulseConfig::default_config().unwrap();
    let market = PulseMarket::new(&data, &base).unwrap();
    let mut scratch = KernelScratch::default();
    let n = data.timeline.len();
    let config = BacktestConfig::default();
    for (k, cfg) in rule_sets().iter().enumerate() {
        let start = first_eval(&data, cfg);
        assert_same(
            &data,
            &market,
            cfg,
            &cash(),
            &config,
            start..n,
            &mut scratch,
            &format!("rule set {k}, full history"),
        );
        // A walk-forward test window in the middle: warm-up runs before it, nothing after it.
        assert_same(
            &data,
            &market,
            cfg,
            &cash(),
            &config,
            400..526,
            &mut scratch,
            &format!("rule set {k}, steps 400..526"),
        );
    }
    // Each distinct indicator parameter is computed once per leg: the default 7 series, four
    // more Bollinger widths, and rule set 5's RSI 9, SMA 3, SMA 30 and VWAP 5.
    assert_eq!(market.cached_series(), 2 * (7 + 4 + 4));
}

#[test]
fn kernel_equals_the_general_runner_under_other_costs_fills_and_accounts() {
    let data = data();
    let cfg = PulseConfig::default_config().unwrap();
    let market = PulseMarket::new(&data, &cfg).unwrap();
    let mut scratch = KernelScratch::default();
    let n = data.timeline.len();
    let start = first_eval(&data, &cfg);
    let mut variants = Vec::new();
    for fill_price in [
        FillPrice::NextOpen,
        FillPrice::NextClose,
        FillPrice::NextTypical,
    ] {
        let mut c = BacktestConfig {
            fill_price,
            ..BacktestConfig::default()
        };
        c.engine.costs.slippage_bps = d("5");
        c.engine.costs.min_fee = d("1.5");
        variants.push((format!("{fill_price:?}, slippage, min fee"), c));
    }
    let mut fractional = BacktestConfig::default();
    fractional.engine.sizing.whole_shares = false;
    fractional.engine.sizing.fractional_dp = 4;
    fractional.engine.sizing.drift_band = 0.005;
    fractional.engine.sizing.min_trade_value = d("10");
    variants.push(("fractional shares, tight band".into(), fractional));
    let mut small = BacktestConfig::default();
    small.engine.costs.commission_rate = d("0.0025");
    variants.push(("0.25 % commission".into(), small));
    for (what, config) in &variants {
        assert_same(
            &data,
            &market,
            &cfg,
            &cash(),
            config,
            start..n,
            &mut scratch,
            what,
        );
    }
    // A starting account holding both legs (as rebuilt from a trade history), and a small one
    // whose buys are capped by cash.
    let mut held = Portfolio::with_cash(d("20000"));
    held.positions.insert(sym("TSLA"), d("120"));
    held.positions.insert(sym("TSLL"), d("900"));
    let small = Portfolio::with_cash(d("2500"));
    for (what, account) in [("holding both legs", held), ("$2,500", small)] {
        assert_same(
            &data,
            &market,
            &cfg,
            &account,
            &BacktestConfig::default(),
            start..n,
            &mut scratch,
            what,
        );
    }
}

#[test]
fn kernel_refuses_what_it_does_not_model() {
    let (mut traded, context, actions) = market();
    let cfg = PulseConfig::default_config().unwrap();
    let spy: Vec<_> = traded[&sym("TSLA")].clone();
    traded.insert(sym("SPY"), spy);
    let three = AlignedData::new(traded, context.clone(), &actions);
    let err = PulseMarket::new(&three, &cfg).unwrap_err().to_string();
    assert!(err.contains("exactly TSLA and TSLL"), "{err}");

    let data = data();
    let market = PulseMarket::new(&data, &cfg).unwrap();
    let mut other = cash();
    other
        .positions
        .insert(Symbol::try_new("AAPL").unwrap(), d("3"));
    let err = market
        .run(
            &cfg,
            &other,
            &BacktestConfig::default(),
            300..400,
            &mut KernelScratch::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("AAPL"), "{err}");
    let err = market
        .run(
            &cfg,
            &cash(),
            &BacktestConfig::default(),
            400..400,
            &mut KernelScratch::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("no steps"), "{err}");
}
