//! The replay loop: the same engine as live trading, fed history bar by bar.

use crate::broker::{FillPrice, Rejection, SimBroker};
use crate::data::AlignedData;
use jiff::Timestamp;
use pulse_core::{Fill, OrderRequest, Portfolio, Symbol};
use pulse_engine::{Alert, Engine, EngineConfig, EngineError, Event};
use pulse_risk::{RiskApproved, RiskEvent};
use pulse_strategy::{MarketSnapshot, Strategy, TargetWeights};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings of one replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestConfig {
    /// Engine settings (sizing, costs, alerts, leverage).
    pub engine: EngineConfig,
    /// Which price of the next bar orders fill at.
    pub fill_price: FillPrice,
    /// Decimals bar prices are rounded to before filling (2 for US equities).
    pub price_dp: u32,
    /// First step that trades and is recorded (earlier steps only warm the strategy up).
    pub start: Option<Timestamp>,
    /// Last step (inclusive).
    pub end: Option<Timestamp>,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            engine: EngineConfig::default(),
            fill_price: FillPrice::NextOpen,
            price_dp: 2,
            start: None,
            end: None,
        }
    }
}

impl BacktestConfig {
    /// The simulated broker these settings describe (costs, fill price, rounding, sizing),
    /// shared by the general runner and the sweep kernel.
    pub(crate) fn sim_broker(&self) -> SimBroker {
        let e = &self.engine;
        SimBroker::new(
            e.costs.clone(),
            self.fill_price,
            self.price_dp,
            e.sizing.whole_shares,
            e.sizing.fractional_dp,
            e.allow_negative_cash,
        )
    }
}

/// Replay errors.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The engine refused a fill (a broker/engine disagreement: a bug, reported loudly).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Nothing to replay.
    #[error("no bars between the start and end of the backtest")]
    Empty,
}

/// What happened at one recorded step, for live-like printing (`pulse simulate`).
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport<'a> {
    /// Bar close time.
    pub ts: Timestamp,
    /// Fills executed at this step (decided at the previous close).
    pub fills: &'a [Fill],
    /// A new target issued at this close.
    pub target: Option<&'a TargetWeights>,
    /// Orders decided at this close (to fill at the next step).
    pub orders: &'a [RiskApproved<OrderRequest>],
    /// An alert raised at this close.
    pub alert: Option<&'a Alert>,
    /// Orders of the previous close that filled only in part or not at all at this step, with
    /// the reason (cash, holding, no bar).
    pub rejections: &'a [Rejection],
    /// Equity at this close.
    pub equity: f64,
    /// What the risk layer did at this close (breaches that began, leverage changes).
    pub risk_events: &'a [RiskEvent],
}

/// Everything a replay produced, one entry per recorded step where per-step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestResult {
    /// Strategy name.
    pub strategy: String,
    /// Recorded steps (bar closes).
    pub timestamps: Vec<Timestamp>,
    /// Equity at each close (cash + positions at their closes), account currency.
    pub equity: Vec<f64>,
    /// Cash at each close.
    pub cash: Vec<f64>,
    /// Gross exposure (positions value / equity) at each close, fraction.
    pub gross_exposure: Vec<f64>,
    /// The traded symbols, in the column order of the weight matrices.
    pub symbols: Vec<Symbol>,
    /// Target weights in force at each close (fractions), row-major: step `i`, symbol `j` at
    /// `[i * symbols.len() + j]` (see [`BacktestResult::target_at`]).
    pub target_weights: Vec<f64>,
    /// Actual weights at each close (fractions), same layout.
    pub actual_weights: Vec<f64>,
    /// Every order decided.
    pub orders: Vec<OrderRequest>,
    /// Every fill, in time order.
    pub fills: Vec<Fill>,
    /// Orders the broker could not (fully) fill.
    pub rejections: Vec<Rejection>,
    /// Target-change alerts.
    pub alerts: Vec<Alert>,
    /// Everything the risk layer did (empty without one), in time order.
    pub risk_events: Vec<RiskEvent>,
    /// The risk layer's leverage at each recorded close (empty without a risk layer; 0 while
    /// its drawdown stop halts trading).
    pub leverage: Vec<f64>,
    /// Sum of fees (exact).
    pub fees_paid: Decimal,
    /// Sum of |quantity × price| of all fills (exact).
    pub traded_notional: Decimal,
    /// Dividend cash credited (exact).
    pub dividends_received: Decimal,
    /// Interest charged on negative cash under a margin-enabled risk layer (exact).
    pub borrow_cost: Decimal,
    /// The account at the end.
    pub final_portfolio: Portfolio,
}

impl BacktestResult {
    /// Target weights at recorded step `i`, one per symbol of [`BacktestResult::symbols`].
    pub fn target_at(&self, i: usize) -> &[f64] {
        let n = self.symbols.len();
        self.target_weights.get(i * n..(i + 1) * n).unwrap_or(&[])
    }

    /// Actual weights at recorded step `i`, one per symbol of [`BacktestResult::symbols`].
    pub fn actual_at(&self, i: usize) -> &[f64] {
        let n = self.symbols.len();
        self.actual_weights.get(i * n..(i + 1) * n).unwrap_or(&[])
    }
}

/// Replays `data` through an engine around `strategy`, starting from `initial`.
///
/// Per step `t` (in this order): dividends going ex on `t`'s date are credited to the shares held
/// at the previous close (once, at the date's first step); orders decided at the previous close fill at `t`'s open (or close /
/// typical price); equity is marked at `t`'s close; the strategy decides at `t`'s close and its
/// orders wait for `t + 1`. A decision therefore never sees a price it trades at.
pub fn run<S: Strategy>(
    data: &AlignedData,
    strategy: S,
    initial: Portfolio,
    config: &BacktestConfig,
    mut on_step: impl FnMut(&StepReport<'_>),
) -> Result<BacktestResult, BacktestError> {
    let start_idx = config.start.map_or(0, |t| data.index_at_or_after(t));
    let end_idx = config.end.map_or(data.timeline.len(), |t| {
        data.timeline.partition_point(|x| *x <= t)
    });
    if start_idx >= end_idx {
        return Err(BacktestError::Empty);
    }
    let e = &config.engine;
    let broker = config.sim_broker();
    let name = strategy.name().to_string();
    let mut engine = Engine::new(strategy, e.clone(), initial);
    let n = end_idx - start_idx;
    let mut r = BacktestResult {
        strategy: name,
        timestamps: Vec::with_capacity(n),
        equity: Vec::with_capacity(n),
        cash: Vec::with_capacity(n),
        gross_exposure: Vec::with_capacity(n),
        symbols: data.bars.keys().cloned().collect(),
        target_weights: Vec::with_capacity(n * data.bars.len()),
        actual_weights: Vec::with_capacity(n * data.bars.len()),
        orders: Vec::new(),
        fills: Vec::new(),
        rejections: Vec::new(),
        alerts: Vec::new(),
        risk_events: Vec::new(),
        leverage: Vec::new(),
        fees_paid: Decimal::ZERO,
        traded_notional: Decimal::ZERO,
        dividends_received: Decimal::ZERO,
        borrow_cost: Decimal::ZERO,
        final_portfolio: Portfolio::default(),
    };
    let mut pending: Vec<RiskApproved<OrderRequest>> = Vec::new();
    let mut bars = BTreeMap::new();
    let mut context = BTreeMap::new();
    for i in 0..end_idx {
        let ts = data.timeline[i];
        data.fill_bars_at(i, &mut bars);
        data.fill_context_at(i, &mut context);
        let recording = i >= start_idx;
        let mut step_fills = Vec::new();
        let mut step_rejections = Vec::new();
        if recording {
            for (symbol, cash_per_share) in data.dividends_at(i, i == start_idx) {
                let out = engine.process(Event::Dividend {
                    symbol,
                    cash_per_share: *cash_per_share,
                    ts,
                })?;
                r.dividends_received += out.dividend.unwrap_or(Decimal::ZERO);
            }
            if !pending.is_empty() {
                let (fills, rejections) = broker.execute(
                    &pending,
                    &bars,
                    &engine.portfolio().positions,
                    engine.portfolio().cash,
                );
                for fill in &fills {
                    engine.process(Event::Fill(fill))?;
                    r.fees_paid += fill.fee;
                    r.traded_notional += fill.notional();
                }
                step_rejections = rejections;
                step_fills = fills;
                pending.clear();
            }
        }
        let snapshot = MarketSnapshot {
            ts,
            bars: &bars,
            context: &context,
        };
        if i == start_idx {
            // A target issued during warm-up (buy-and-hold, say) is acted on at the first
            // evaluated close, and its alert compares with what the account holds.
            engine.open_window();
        }
        let out = engine.process(Event::BarClose(snapshot))?;
        r.borrow_cost += out.borrow_cost;
        if !recording {
            continue;
        }
        let prices = engine.last_prices();
        let positions_value = engine.positions_value();
        let cash = engine.cash_f64();
        let equity = cash + positions_value;
        on_step(&StepReport {
            ts,
            fills: &step_fills,
            target: out.target_changed.then(|| engine.target()),
            orders: &out.orders,
            alert: out.alert.as_ref(),
            rejections: &step_rejections,
            equity,
            risk_events: &out.risk_events,
        });
        if let Some(risk) = engine.risk() {
            r.leverage.push(risk.leverage());
        }
        r.risk_events.extend(out.risk_events.iter().cloned());
        r.rejections.extend(step_rejections);
        r.timestamps.push(ts);
        r.equity.push(equity);
        r.cash.push(cash);
        r.gross_exposure.push(if equity > 0.0 {
            positions_value / equity
        } else {
            0.0
        });
        for symbol in &r.symbols {
            r.target_weights
                .push(engine.target().get(symbol).copied().unwrap_or(0.0));
            let value = engine.quantity_f64(symbol) * prices.get(symbol).copied().unwrap_or(0.0);
            r.actual_weights
                .push(if equity > 0.0 { value / equity } else { 0.0 });
        }
        r.fills.extend(step_fills);
        r.orders.extend(out.orders.iter().map(|o| o.get().clone()));
        pending = out.orders;
        if let Some(alert) = out.alert {
            r.alerts.push(alert);
        }
    }
    r.final_portfolio = engine.portfolio().clone();
    Ok(r)
}
