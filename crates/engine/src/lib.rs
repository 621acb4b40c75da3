//! `pulse-engine` owns the decision loop shared by backtests and live trading:
//! [`Engine::process`] takes one [`Event`] (a bar close, a fill, a dividend) and returns an
//! [`Output`] (orders to submit, an alert, the new target). It is synchronous, deterministic and
//! does no I/O: the backtest runner feeds it replayed events, the live runner feeds it the same
//! events from the market and the broker.

pub mod costs;
pub mod sizing;

pub use costs::CostModel;
pub use sizing::{PlanAsset, SizingConfig, plan_orders, plan_orders_dense, within_drift_band};

use jiff::Timestamp;
use pulse_core::{
    BookingError, Fill, OrderRequest, Portfolio, Side, Symbol, money::price_to_money,
};
use pulse_risk::{
    GateLimits, RiskApproved, RiskConfig, RiskEvent, RiskEventKind, RiskManager, approve_orders,
};
use pulse_strategy::{MarketSnapshot, Strategy, TargetWeights};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A marketable limit `bps` basis points through `close`: a buy above it rounded up to the
/// cent, a sell below it rounded down to the cent (never below one cent).
pub fn limit_price(close: Decimal, side: pulse_core::Side, bps: u32) -> Decimal {
    let offset = close * Decimal::from(bps) / Decimal::from(10_000);
    let cent = Decimal::new(1, 2);
    match side {
        pulse_core::Side::Buy => (close + offset)
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToPositiveInfinity),
        pulse_core::Side::Sell => (close - offset)
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToNegativeInfinity)
            .max(cent),
    }
}

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// How target weights become orders (whole shares, drift band, minimum trade).
    pub sizing: SizingConfig,
    /// Costs assumed when sizing buys (the broker charges the real ones).
    pub costs: CostModel,
    /// A change of any target weight by more than this (fraction of equity) raises an alert.
    pub alert_threshold: f64,
    /// Let cash go negative (margin). Off by default.
    pub allow_negative_cash: bool,
    /// The risk layer between the strategy's targets and sizing (`None`: targets go to sizing as
    /// issued). With it, every bar close re-assesses the target in force (the drawdown stop and
    /// the leverage move with the market even when the strategy issues nothing new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskConfig>,
    /// Sector of each symbol for the risk layer's sector cap (a symbol without one is its own
    /// sector).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sectors: BTreeMap<Symbol, String>,
    /// What client order ids start with (`None`: the strategy's name). A trading runner sets
    /// its own name, so that two runners of one strategy never share an id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_prefix: Option<String>,
    /// Send marketable limit orders instead of market orders: priced this many basis points
    /// through the latest close (buys above it, rounded up to the cent; sells below it, rounded
    /// down), sized as if bought at that limit. For brokers that take no market orders (KIS
    /// on US stocks). `None`: market orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_offset_bps: Option<u32>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            sizing: SizingConfig::default(),
            costs: CostModel::default(),
            alert_threshold: 0.05,
            allow_negative_cash: false,
            risk: None,
            sectors: BTreeMap::new(),
            client_id_prefix: None,
            limit_offset_bps: None,
        }
    }
}

/// Something that happened, in time order.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A bar closed for the traded symbols (and context series): decide.
    BarClose(MarketSnapshot<'a>),
    /// The broker executed (part of) an order: book it.
    Fill(&'a Fill),
    /// A cash dividend went ex: credit `cash_per_share` × shares held before the ex-date.
    Dividend {
        /// Security.
        symbol: &'a Symbol,
        /// Cash per share (account currency).
        cash_per_share: Decimal,
        /// Ex-date instant (for the record).
        ts: Timestamp,
    },
}

/// A notable change of target weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// When the decision was made.
    pub ts: Timestamp,
    /// Strategy name.
    pub strategy: String,
    /// Previous target (fractions); at the first close of an evaluated window, the weights the
    /// account held (see [`Engine::open_window`]).
    pub old: TargetWeights,
    /// New target (fractions).
    pub new: TargetWeights,
    /// Human-readable summary, e.g. "TSLL 50.0% → 0.0%".
    pub message: String,
}

/// What the engine decided in response to one event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// Orders to submit now (fill at the next opportunity, never at the decision bar), each
    /// passed by the risk layer's gate.
    pub orders: Vec<RiskApproved<OrderRequest>>,
    /// A target-change alert.
    pub alert: Option<Alert>,
    /// True when the strategy issued a target at this event (read it with [`Engine::target`]).
    pub target_changed: bool,
    /// Dividend cash credited by this event.
    pub dividend: Option<Decimal>,
    /// What the risk layer did at this bar close (breaches that began, leverage changes).
    pub risk_events: Vec<RiskEvent>,
    /// Interest charged on negative cash (margin) for the days since the previous close,
    /// account currency (zero without margin).
    pub borrow_cost: Decimal,
}

/// A fraction as a percentage with one decimal ("12.5%"), formatted from integer tenths: the
/// alert path runs on every target change and `{:.1}` float formatting is comparatively slow.
fn percent_1dp(w: f64) -> String {
    let tenths = (w * 1000.0).round() as i64;
    let sign = if tenths < 0 { "-" } else { "" };
    format!("{sign}{}.{}%", tenths.abs() / 10, tenths.abs() % 10)
}

/// The client id of the order a strategy decides at `ts` for `symbol`:
/// `<strategy>-<unix seconds>-<SYMBOL>`, e.g. `pulse-1704240000-TSLA`. It depends only on the
/// decision, never on a counter in memory, so a runner restarted after a crash re-derives the
/// same id for the same decision and the broker's de-duplication by client id holds (one plan
/// has at most one order per symbol).
pub fn client_order_id(
    strategy: &str,
    ts: Timestamp,
    symbol: &Symbol,
) -> pulse_core::ClientOrderId {
    pulse_core::ClientOrderId(format!(
        "{}-{}-{symbol}",
        strategy.to_ascii_lowercase().replace(' ', "_"),
        ts.as_second()
    ))
}

/// Engine errors.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A fill could not be booked (the broker and the engine disagree).
    #[error("cannot book fill: {0}")]
    Booking(#[from] BookingError),
}

/// The risk layer for `strategy` under `config`, applying the strategy's own `[sizing]` when
/// it asks for one.
fn risk_manager<S: Strategy>(
    strategy: &S,
    config: RiskConfig,
    sectors: &BTreeMap<Symbol, String>,
) -> RiskManager {
    let sizing = strategy
        .position_sizing()
        .filter(|s| s.is_active())
        .unwrap_or_default();
    RiskManager::new(config, sectors.clone()).with_sizing(sizing)
}

/// The decision engine around one strategy and one account.
///
/// The whole engine (strategy state with its indicators, account, current target, last prices)
/// serializes, so a live runner persists it after each step and restores it after a restart
/// instead of replaying the warm-up; a restored engine decides exactly as the one it was saved
/// from would have (`tests/restore.rs`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Engine<S> {
    strategy: S,
    config: EngineConfig,
    portfolio: Portfolio,
    target: TargetWeights,
    last_prices: BTreeMap<Symbol, f64>,
    /// f64 views of the booked cash and positions, refreshed whenever a fill or dividend changes
    /// them (analysis only: equity marks, weights, the drift pre-check).
    cash_f64: f64,
    quantities_f64: BTreeMap<Symbol, f64>,
    /// True until the first bar close of the evaluated window has been handled
    /// (see [`Engine::open_window`]).
    opening_window: bool,
    /// The risk layer's state (with `config.risk`).
    #[serde(default)]
    risk: Option<RiskManager>,
    /// The strategy's own target before the risk layer (with `config.risk`; `target` is what
    /// the risk layer approved).
    #[serde(default)]
    strategy_target: TargetWeights,
    /// The UTC day (days since 1970-01-01) of the previous bar close and the cash balance left
    /// at it: the balance borrowed until the next close (fills happen in between, at the open).
    #[serde(default)]
    borrowing: Option<(i64, Decimal)>,
}

impl<S: Strategy> Engine<S> {
    /// A new engine with a starting account.
    pub fn new(strategy: S, config: EngineConfig, portfolio: Portfolio) -> Self {
        // The risk layer runs with a risk configuration, or for a strategy whose own `[sizing]`
        // asks for Half Kelly, ATR sizing or the correlation filter (then with every other rule
        // off).
        let sizing = strategy.position_sizing().filter(|s| s.is_active());
        let risk = match (config.risk.clone(), sizing) {
            (None, None) => None,
            (risk, _) => Some(risk_manager(
                &strategy,
                risk.unwrap_or_else(RiskConfig::sizing_only),
                &config.sectors,
            )),
        };
        Engine {
            strategy,
            config,
            risk,
            strategy_target: TargetWeights::new(),
            portfolio,
            target: TargetWeights::new(),
            last_prices: BTreeMap::new(),
            cash_f64: 0.0,
            quantities_f64: BTreeMap::new(),
            opening_window: false,
            borrowing: None,
        }
        .with_mirrors()
    }

    fn with_mirrors(mut self) -> Self {
        self.refresh_mirrors();
        self
    }

    /// Recomputes the f64 views of the account from the exact decimals.
    fn refresh_mirrors(&mut self) {
        self.cash_f64 = pulse_core::money::money_to_f64(self.portfolio.cash);
        self.quantities_f64 = self
            .portfolio
            .positions
            .iter()
            .map(|(s, q)| (s.clone(), pulse_core::money::money_to_f64(*q)))
            .collect();
    }

    /// Shares held of `symbol`, as f64 (analysis view of the exact position).
    pub fn quantity_f64(&self, symbol: &Symbol) -> f64 {
        self.quantities_f64.get(symbol).copied().unwrap_or(0.0)
    }

    /// Cash as f64 (analysis view of the exact balance).
    pub fn cash_f64(&self) -> f64 {
        self.cash_f64
    }

    /// Market value of the positions at the latest closes (f64).
    pub fn positions_value(&self) -> f64 {
        self.quantities_f64
            .iter()
            .map(|(s, q)| q * self.last_prices.get(s).copied().unwrap_or(0.0))
            .sum()
    }

    /// Equity (cash + positions) at the latest closes (f64).
    pub fn equity(&self) -> f64 {
        self.cash_f64 + self.positions_value()
    }

    /// The account as booked so far.
    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    /// The strategy (for inspection, e.g. its last decision's reasons).
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The target weights currently in force.
    pub fn target(&self) -> &TargetWeights {
        &self.target
    }

    /// The risk layer's state, when configured.
    pub fn risk(&self) -> Option<&RiskManager> {
        self.risk.as_ref()
    }

    /// A person re-arms trading after the risk layer's drawdown stop (the peak restarts from the
    /// equity now). No effect without a risk layer.
    pub fn rearm_risk(&mut self) {
        let equity = self.equity();
        if let Some(r) = self.risk.as_mut() {
            r.rearm(equity);
        }
    }

    /// Latest close seen per traded symbol (marks the portfolio).
    pub fn last_prices(&self) -> &BTreeMap<Symbol, f64> {
        &self.last_prices
    }

    /// Handles one event.
    pub fn process(&mut self, event: Event<'_>) -> Result<Output, EngineError> {
        match event {
            Event::Fill(fill) => {
                self.portfolio
                    .apply_fill(fill, self.config.allow_negative_cash)?;
                self.refresh_mirrors();
                // The risk layer's stop loss judges positions by their average entry price.
                let held_after = self.quantity_f64(&fill.symbol);
                if let Some(risk) = self.risk.as_mut() {
                    risk.observe_fill(
                        &fill.symbol,
                        fill.side,
                        pulse_core::money::money_to_f64(fill.quantity),
                        pulse_core::money::money_to_f64(fill.price),
                        held_after,
                    );
                }
                Ok(Output::default())
            }
            Event::Dividend {
                symbol,
                cash_per_share,
                ..
            } => {
                let cash = self.portfolio.quantity(symbol) * cash_per_share;
                self.portfolio.cash += cash;
                self.refresh_mirrors();
                Ok(Output {
                    dividend: Some(cash),
                    ..Output::default()
                })
            }
            Event::BarClose(snapshot) => Ok(self.on_bar_close(&snapshot)),
        }
    }

    /// Marks the next bar close as the first of the evaluated window (a backtest's first
    /// evaluated bar after warm-up, a runner's first bar after it starts). Warm-up may have left
    /// a target the account never reached, so at that close the account is moved to the target
    /// in force even when the strategy issues none, and the alert compares the new target with
    /// the weights the account actually holds (not with a warm-up target it never traded).
    pub fn open_window(&mut self) {
        self.opening_window = true;
    }

    /// The margin terms of the risk layer: `Some(annual borrowing rate)` when it allows a
    /// leverage above 1.
    fn margin_rate(&self) -> Option<f64> {
        let risk = self.risk.as_ref()?;
        let leverage = &risk.config().leverage;
        leverage.margin.then_some(leverage.borrow_rate)
    }

    /// Charges interest on negative cash for the UTC days elapsed since the previous close
    /// (act/365 at the configured annual rate, on the cash balance left at the previous close,
    /// rounded to 6 decimals). Returns the charge (zero without margin).
    fn charge_borrowing(&mut self, ts: Timestamp) -> Decimal {
        let Some(rate) = self.margin_rate() else {
            return Decimal::ZERO;
        };
        let day = pulse_risk::utc_day(ts);
        let Some((since, balance)) = self.borrowing else {
            return Decimal::ZERO;
        };
        let days = day - since;
        if days <= 0 || rate <= 0.0 || balance >= Decimal::ZERO {
            return Decimal::ZERO;
        }
        let Ok(rate) = Decimal::try_from(rate) else {
            return Decimal::ZERO;
        };
        let borrowed = -balance;
        let charge = (borrowed * rate * Decimal::from(days) / Decimal::from(365)).round_dp(6);
        self.portfolio.cash -= charge;
        self.refresh_mirrors();
        charge
    }

    /// Buying power beyond the cash the approved target needs (margin): the equity times the
    /// target's gross weight above 1, zero without margin.
    fn margin_credit(&self) -> Decimal {
        if self.margin_rate().is_none() {
            return Decimal::ZERO;
        }
        let gross: f64 = self.target.values().map(|w| w.max(0.0)).sum();
        let credit = self.equity() * (gross - 1.0);
        if credit.is_finite() && credit > 0.0 {
            price_to_money(credit, 2).unwrap_or(Decimal::ZERO)
        } else {
            Decimal::ZERO
        }
    }

    fn on_bar_close(&mut self, snapshot: &MarketSnapshot<'_>) -> Output {
        let borrow_cost = self.charge_borrowing(snapshot.ts);
        let mut out = self.decide(snapshot);
        out.borrow_cost = borrow_cost;
        if self.margin_rate().is_some() {
            self.borrowing = Some((pulse_risk::utc_day(snapshot.ts), self.portfolio.cash));
        }
        out
    }

    /// The decision at a bar close (the strategy, the risk layer, the plan).
    fn decide(&mut self, snapshot: &MarketSnapshot<'_>) -> Output {
        for (symbol, bar) in snapshot.bars {
            match self.last_prices.get_mut(symbol) {
                Some(p) => *p = bar.close,
                None => {
                    self.last_prices.insert(symbol.clone(), bar.close);
                }
            }
        }
        let mut out = Output::default();
        // Orders are planned only when the strategy issues a target: `None` means "hold" (a
        // buy-and-hold benchmark issues once, a monthly mix once a month, Pulse every bar, the
        // drift band and minimum trade then keep it from churning). With a risk layer, the
        // target in force is re-assessed at every close.
        let mut issued = self.strategy.on_bar_close(snapshot);
        if self.risk.is_some() {
            // A target the strategy issues is planned as without a risk layer (so the drift band
            // rebalances alike); between issues, a changed approval (leverage, limits, the stop)
            // or holdings over a limit plan too.
            let strategy_issued = issued.is_some();
            if let Some(t) = issued.take() {
                self.strategy_target = t;
            }
            let equity = self.equity();
            let held = self.held_weights();
            if let Some(risk) = self.risk.as_mut() {
                risk.observe_bars(snapshot.ts, snapshot.bars.iter(), equity);
                let assessed = risk.assess(snapshot.ts, &self.strategy_target, &held, equity);
                out.risk_events = assessed.events;
                if strategy_issued
                    || assessed.target != self.target
                    || self.opening_window
                    || risk.holdings_over_limits(&held)
                {
                    issued = Some(assessed.target);
                }
            }
        }
        if std::mem::take(&mut self.opening_window) {
            let held = self.held_weights();
            let new_target = issued.as_ref().unwrap_or(&self.target);
            out.alert = self.alert_for(snapshot.ts, &held, new_target);
            if let Some(new_target) = issued {
                self.target = new_target;
                out.target_changed = true;
            }
            let (orders, refused) = self.plan(snapshot.ts);
            out.orders = orders;
            out.risk_events.extend(refused);
            return out;
        }
        let Some(new_target) = issued else {
            return out;
        };
        out.alert = self.alert_for(snapshot.ts, &self.target, &new_target);
        self.target = new_target;
        out.target_changed = true;
        let (orders, refused) = self.plan(snapshot.ts);
        out.orders = orders;
        out.risk_events.extend(refused);
        out
    }

    /// The weights the account holds at the latest closes (fractions of equity; empty when
    /// equity is not positive).
    pub fn held_weights(&self) -> TargetWeights {
        let equity = self.equity();
        if equity <= 0.0 || !equity.is_finite() {
            return TargetWeights::new();
        }
        self.quantities_f64
            .iter()
            .filter_map(|(s, q)| {
                let p = self.last_prices.get(s)?;
                Some((s.clone(), q * p / equity))
            })
            .collect()
    }

    /// Orders that move the account to the target in force, at the latest closes, stamped as
    /// decided at `ts`, through the risk layer's gate: the approved orders and a risk event for
    /// each refused one.
    pub fn plan(&mut self, ts: Timestamp) -> (Vec<RiskApproved<OrderRequest>>, Vec<RiskEvent>) {
        if self.target.is_empty() && self.portfolio.positions.is_empty() {
            return (Vec::new(), Vec::new());
        }
        // Holdings above a risk limit are brought to the approved target whatever the drift
        // band says (the band must not leave a position above its cap).
        let over_limits = self
            .risk
            .as_ref()
            .is_some_and(|r| r.holdings_over_limits(&self.held_weights()));
        if !over_limits && self.within_band() {
            return (Vec::new(), Vec::new());
        }
        let mut sizing = self.config.sizing.clone();
        sizing.credit = self.margin_credit();
        if over_limits {
            sizing.drift_band = 0.0;
        }
        let closes = self.decimal_prices();
        // With limit orders, buys are sized (and checked by the gate) at their limit.
        let prices = match self.config.limit_offset_bps {
            Some(bps) => closes
                .iter()
                .map(|(s, p)| (s.clone(), limit_price(*p, pulse_core::Side::Buy, bps)))
                .collect(),
            None => closes.clone(),
        };
        let mut planned = plan_orders(
            &self.portfolio,
            &self.target,
            &prices,
            &sizing,
            &self.config.costs,
        );
        // Nor may it leave the holdings *after* the plan above a limit (a sector whose members
        // the band skipped while another member is bought): then every asset goes to its target.
        if sizing.drift_band > 0.0
            && let Some(risk) = &self.risk
            && risk.holdings_over_limits(&self.weights_after(&planned))
        {
            sizing.drift_band = 0.0;
            planned = plan_orders(
                &self.portfolio,
                &self.target,
                &prices,
                &sizing,
                &self.config.costs,
            );
        }
        let mut orders = Vec::with_capacity(planned.len());
        for (symbol, side, quantity) in planned {
            let kind = match (self.config.limit_offset_bps, closes.get(&symbol)) {
                (Some(bps), Some(close)) => pulse_core::OrderKind::Limit {
                    price: limit_price(*close, side, bps),
                },
                _ => pulse_core::OrderKind::Market,
            };
            orders.push(OrderRequest {
                kind,
                time_in_force: pulse_core::TimeInForce::Day,
                client_id: client_order_id(
                    self.config
                        .client_id_prefix
                        .as_deref()
                        .unwrap_or(self.strategy.name()),
                    ts,
                    &symbol,
                ),
                symbol,
                side,
                quantity,
                decided_at: ts,
            });
        }
        self.gate(orders, &prices, sizing.credit)
    }

    /// Gives the risk layer the entry prices it does not know of the positions held (a runner
    /// stored before entries were kept, a risk layer added while positions are held), from the
    /// account's booked `fills`, oldest first ([`pulse_risk::RiskManager::learn_entries`]).
    pub fn learn_entries(&mut self, fills: &[pulse_core::Fill]) {
        if let Some(risk) = self.risk.as_mut() {
            risk.learn_entries(
                fills.iter().map(|f| {
                    (
                        &f.symbol,
                        f.side,
                        pulse_core::money::money_to_f64(f.quantity),
                        pulse_core::money::money_to_f64(f.price),
                    )
                }),
                &self.quantities_f64,
            );
        }
    }

    /// Applies new risk settings from the next bar close on (a running trader's team changed
    /// them): the risk layer keeps its history, peak and halt (and the entry prices the stop
    /// loss judges by); an engine without a risk layer gets one, which knows no entry price of
    /// the positions already held (the stop loss judges a position once it has been flat).
    pub fn set_risk_config(&mut self, config: RiskConfig) {
        self.config.risk = Some(config.clone());
        match self.risk.as_mut() {
            Some(r) => r.set_config(config),
            None => {
                self.risk = Some(risk_manager(&self.strategy, config, &self.config.sectors));
            }
        }
    }

    /// Passes orders through the risk layer's gate against the account, the latest closes and
    /// the risk state (halted or not, the margin credit): what a restarted runner does with the
    /// orders it had decided but not yet sent (a stored order is never approved by itself).
    /// Returns the approved orders and a risk event for each refused one.
    pub fn approve(
        &self,
        orders: Vec<OrderRequest>,
    ) -> (Vec<RiskApproved<OrderRequest>>, Vec<RiskEvent>) {
        self.approve_with(orders, &[])
    }

    /// [`Engine::approve`], counting the proceeds of `working_sells` (sells of the same
    /// decision already at the broker, not yet filled: their cash is on its way) at the latest
    /// closes.
    pub fn approve_with(
        &self,
        orders: Vec<OrderRequest>,
        working_sells: &[(Symbol, Decimal)],
    ) -> (Vec<RiskApproved<OrderRequest>>, Vec<RiskEvent>) {
        let prices = self.decimal_prices();
        let proceeds: Decimal = working_sells
            .iter()
            .filter_map(|(s, q)| prices.get(s).map(|p| *q * p))
            .sum();
        self.gate(orders, &prices, self.margin_credit() + proceeds)
    }

    /// The gate before the broker: no short sale, buys within the cash (and the margin credit),
    /// only sells while the drawdown stop halts trading.
    fn gate(
        &self,
        orders: Vec<OrderRequest>,
        prices: &BTreeMap<Symbol, Decimal>,
        credit: Decimal,
    ) -> (Vec<RiskApproved<OrderRequest>>, Vec<RiskEvent>) {
        let limits = GateLimits {
            halted: self.risk.as_ref().is_some_and(|r| r.halt().is_some()),
            credit,
        };
        let approval = approve_orders(orders, &self.portfolio, prices, limits);
        let refused = approval
            .refused
            .into_iter()
            .map(|r| {
                let ts = r.order.decided_at;
                let kind = RiskEventKind::OrderRefused {
                    symbol: r.order.symbol,
                    client_id: r.order.client_id.0,
                    reason: r.reason,
                };
                RiskEvent {
                    ts,
                    message: kind.message(),
                    kind,
                }
            })
            .collect();
        (approval.approved, refused)
    }

    /// The latest closes as exact money (6 decimals), the prices orders are sized and checked at.
    fn decimal_prices(&self) -> BTreeMap<Symbol, Decimal> {
        self.last_prices
            .iter()
            .filter_map(|(s, p)| price_to_money(*p, 6).map(|d| (s.clone(), d)))
            .collect()
    }

    /// The weights the account would hold at the latest closes once `planned` orders filled
    /// there (fractions of the equity now; fees ignored).
    fn weights_after(&self, planned: &[(Symbol, Side, Decimal)]) -> TargetWeights {
        let equity = self.equity();
        let mut quantities = self.quantities_f64.clone();
        for (symbol, side, quantity) in planned {
            let q = pulse_core::money::money_to_f64(*quantity);
            let held = quantities.entry(symbol.clone()).or_default();
            match side {
                Side::Buy => *held += q,
                Side::Sell => *held -= q,
            }
        }
        if equity <= 0.0 || !equity.is_finite() {
            return TargetWeights::new();
        }
        quantities
            .iter()
            .filter_map(|(s, q)| Some((s.clone(), q * self.last_prices.get(s)? / equity)))
            .collect()
    }

    /// Cheap f64 pre-check of [`plan_orders`]'s skip rules: true when no position needs closing
    /// and every weight is comfortably inside the drift band, so no order can result (the exact
    /// decimal sizing then need not run). Borderline cases (within 1e-9 of the band) fall through
    /// to the exact path.
    fn within_band(&self) -> bool {
        let equity = self.equity();
        let price = |s: &Symbol| self.last_prices.get(s).copied();
        let targets = self
            .target
            .iter()
            .filter_map(|(s, w)| price(s).map(|p| (*w, self.quantity_f64(s) * p / equity)));
        // Held symbols without a target are closed.
        let untargeted = self
            .portfolio
            .positions
            .keys()
            .any(|s| !self.target.contains_key(s) && price(s).is_some());
        within_drift_band(equity, self.config.sizing.drift_band, targets, untargeted)
    }

    /// An alert when some weight moves from `old` to `new` by more than the threshold.
    fn alert_for(&self, ts: Timestamp, old: &TargetWeights, new: &TargetWeights) -> Option<Alert> {
        let mut changes = Vec::new();
        let only_old = old.keys().filter(|s| !new.contains_key(*s));
        for s in new.keys().chain(only_old) {
            let old_w = old.get(s).copied().unwrap_or(0.0);
            let new_w = new.get(s).copied().unwrap_or(0.0);
            if (new_w - old_w).abs() > self.config.alert_threshold {
                changes.push(format!(
                    "{s} {} → {}",
                    percent_1dp(old_w),
                    percent_1dp(new_w)
                ));
            }
        }
        if changes.is_empty() {
            return None;
        }
        Some(Alert {
            ts,
            strategy: self.strategy.name().to_string(),
            old: old.clone(),
            new: new.clone(),
            message: changes.join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Engine, EngineConfig, Event, client_order_id, percent_1dp};
    use pulse_core::{Bar, Portfolio, Symbol};
    use pulse_strategy::{MarketSnapshot, Strategy, TargetWeights};
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;

    /// Issues the scripted targets in order, then holds.
    struct Scripted(std::collections::VecDeque<Option<TargetWeights>>);

    impl Strategy for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        fn on_bar_close(&mut self, _: &MarketSnapshot<'_>) -> Option<TargetWeights> {
            self.0.pop_front().flatten()
        }
    }

    fn close(engine: &mut Engine<Scripted>, day: i64, price: f64) -> super::Output {
        let ts = jiff::Timestamp::from_second(1_704_067_200 + day * 86_400).unwrap();
        let tsla = Symbol::try_new("TSLA").unwrap();
        let bars = BTreeMap::from([(tsla, Bar::from_value(ts, price, None))]);
        let context = BTreeMap::new();
        engine
            .process(Event::BarClose(MarketSnapshot {
                ts,
                bars: &bars,
                context: &context,
            }))
            .unwrap()
    }

    fn weights(w: f64) -> TargetWeights {
        BTreeMap::from([(Symbol::try_new("TSLA").unwrap(), w)])
    }

    #[test]
    fn limit_prices_go_through_the_close_by_the_offset_rounded_away_to_the_cent() {
        use pulse_core::Side;
        let close = Decimal::new(18_123, 2); // 181.23
        // 50 bp: 181.23 × 1.005 = 182.13615 → 182.14 (up); × 0.995 = 180.32385 → 180.32 (down).
        assert_eq!(
            super::limit_price(close, Side::Buy, 50),
            Decimal::new(18_214, 2)
        );
        assert_eq!(
            super::limit_price(close, Side::Sell, 50),
            Decimal::new(18_032, 2)
        );
        assert_eq!(
            super::limit_price(Decimal::new(1, 3), Side::Sell, 2_000),
            Decimal::new(1, 2)
        );
    }

    #[test]
    fn with_a_limit_offset_the_plan_sends_marketable_limits_sized_at_the_limit() {
        // All in at 100: a market plan buys 999 shares (0.1 % commission), a 50 bp limit plan
        // only what the cash buys at 100.50, and prices the order at it.
        let cash = Portfolio::with_cash(Decimal::new(100_000, 0));
        let config = EngineConfig {
            limit_offset_bps: Some(50),
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(
            Scripted([Some(weights(1.0))].into_iter().collect()),
            config,
            cash,
        );
        let out = close(&mut engine, 0, 100.0);
        let order = out.orders[0].get();
        assert_eq!(
            order.kind,
            pulse_core::OrderKind::Limit {
                price: Decimal::new(10_050, 2)
            }
        );
        assert!(order.quantity * Decimal::new(10_050, 2) <= Decimal::new(100_000, 0));
        let mut market = Engine::new(
            Scripted([Some(weights(1.0))].into_iter().collect()),
            EngineConfig::default(),
            Portfolio::with_cash(Decimal::new(100_000, 0)),
        );
        let plain = close(&mut market, 0, 100.0);
        assert_eq!(plain.orders[0].get().kind, pulse_core::OrderKind::Market);
        assert!(order.quantity < plain.orders[0].get().quantity);
    }

    #[test]
    fn stored_orders_are_approved_again_against_the_account_now() {
        // The engine decides a 50 % buy; the stored order is approved again after a restart
        // while the account still has the cash, and refused (an order_refused event) once a
        // price jump makes it cost more than the cash.
        let script = [Some(weights(0.5))];
        let cash = Portfolio::with_cash(Decimal::new(100_000, 0));
        let mut engine = Engine::new(
            Scripted(script.into_iter().collect()),
            EngineConfig::default(),
            cash,
        );
        let out = close(&mut engine, 0, 100.0);
        let stored: Vec<pulse_core::OrderRequest> =
            out.orders.iter().map(|o| o.get().clone()).collect();
        assert_eq!(stored.len(), 1);
        let (approved, refused) = engine.approve(stored.clone());
        assert_eq!(approved.len(), 1);
        assert!(refused.is_empty());
        close(&mut engine, 1, 300.0);
        let (approved, refused) = engine.approve(stored);
        assert!(approved.is_empty());
        assert_eq!(refused[0].kind.name(), "order_refused");
        assert!(
            refused[0].message.contains("available"),
            "{}",
            refused[0].message
        );
    }

    #[test]
    fn the_first_evaluated_alert_compares_with_the_weights_held_not_the_warm_up_target() {
        // Warm-up issued 40 %, the window's first close issues 20 % while the account is all
        // cash: the account moves 0 % → 20 %, not 40 % → 20 %.
        let script = [Some(weights(0.4)), Some(weights(0.2))];
        let cash = Portfolio::with_cash(Decimal::new(100_000, 0));
        let mut engine = Engine::new(
            Scripted(script.into_iter().collect()),
            EngineConfig::default(),
            cash,
        );
        let warm_up = close(&mut engine, 0, 100.0);
        assert!(
            warm_up.alert.is_some(),
            "a warm-up target change alerts as before"
        );
        engine.open_window();
        let first = close(&mut engine, 1, 100.0);
        let alert = first.alert.expect("0 % → 20 % is above the 5 % threshold");
        assert_eq!(alert.message, "TSLA 0.0% → 20.0%");
        assert!(!first.orders.is_empty());
    }

    #[test]
    fn a_warm_up_target_the_account_never_reached_alerts_and_trades_at_the_first_evaluated_close() {
        // The target (50 %) was issued during warm-up; the first evaluated close issues none.
        let script = [Some(weights(0.5)), None];
        let cash = Portfolio::with_cash(Decimal::new(100_000, 0));
        let mut engine = Engine::new(
            Scripted(script.into_iter().collect()),
            EngineConfig::default(),
            cash,
        );
        close(&mut engine, 0, 100.0);
        engine.open_window();
        let first = close(&mut engine, 1, 100.0);
        assert_eq!(
            first.alert.map(|a| a.message).as_deref(),
            Some("TSLA 0.0% → 50.0%")
        );
        assert!(!first.target_changed);
        assert_eq!(first.orders.len(), 1);
        // Later closes without a new target neither alert nor trade.
        let later = close(&mut engine, 2, 100.0);
        assert!(later.alert.is_none() && later.orders.is_empty());
    }

    #[test]
    fn client_order_ids_are_derived_from_the_decision_not_a_counter() {
        let ts: jiff::Timestamp = "2024-01-02T21:00:00Z".parse().unwrap();
        let tsla = Symbol::try_new("TSLA").unwrap();
        let id = client_order_id("Buy & hold TSLA", ts, &tsla);
        assert_eq!(id.0, "buy_&_hold_tsla-1704229200-TSLA");
        // Same decision → same id (a restarted runner re-derives it); another symbol or time → another.
        assert_eq!(client_order_id("Buy & hold TSLA", ts, &tsla), id);
        let tsll = Symbol::try_new("TSLL").unwrap();
        assert_ne!(client_order_id("Buy & hold TSLA", ts, &tsll), id);
        assert_ne!(client_order_id("Pulse", ts, &tsla), id);
    }

    #[test]
    fn percentages_format_like_one_decimal_place() {
        for (w, want) in [
            (0.5, "50.0%"),
            (0.0, "0.0%"),
            (0.123, "12.3%"),
            (1.0, "100.0%"),
            (-0.051, "-5.1%"),
            (0.3333, "33.3%"),
        ] {
            assert_eq!(percent_1dp(w), want);
            assert_eq!(format!("{:.1}%", w * 100.0), want);
        }
    }
}
