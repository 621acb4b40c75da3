//! The risk manager: between a strategy's target weights and sizing, it applies, in this order,
//! the drawdown stop, the per-position stop loss, the correlation filter, risk-based leverage,
//! the position cap, the sector cap and the daily VaR limit, and records every breach with its
//! numbers.

use crate::config::RiskConfig;
use crate::history::{DailyCloses, utc_day};
use crate::sizing::{PositionSizing, SizingMethod};
use jiff::Timestamp;
use pulse_analytics::stats::historical_var_cvar_in_place;
use pulse_core::Bar;
use pulse_core::{Side, Symbol};
use pulse_indicators::{Atr, Hlc, Indicator};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Target weights: fraction of equity per symbol (the strategy crate's `TargetWeights`).
pub type Weights = BTreeMap<Symbol, f64>;

/// What the risk layer did, with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RiskEventKind {
    /// The leverage changed. `risk = var + cvar_weight × cvar` of the target portfolio's daily
    /// returns (loss fractions; `None` while fewer returns than `min_returns` are known).
    Leverage {
        /// New scale on the target weights.
        leverage: f64,
        /// Previous scale.
        previous: f64,
        /// The risk figure that chose it.
        risk: Option<f64>,
        /// Historical VaR (daily loss fraction).
        var: Option<f64>,
        /// Historical CVaR (daily loss fraction).
        cvar: Option<f64>,
    },
    /// A position's weight was cut to the cap.
    PositionCapped {
        /// Security.
        symbol: Symbol,
        /// Weight asked (after leverage).
        wanted: f64,
        /// The cap.
        cap: f64,
    },
    /// A sector's weights were scaled down to the cap.
    SectorCapped {
        /// Sector (or the symbol itself when it has none).
        sector: String,
        /// Total weight asked.
        wanted: f64,
        /// The cap.
        cap: f64,
    },
    /// Every weight was scaled down to meet the daily VaR limit.
    VarScaled {
        /// The target portfolio's daily VaR before scaling (loss fraction).
        var: f64,
        /// The limit.
        limit: f64,
        /// Scale applied (< 1).
        scale: f64,
    },
    /// The drawdown stop fired: everything is sold and trading halts until re-armed.
    DrawdownStop {
        /// Drawdown from the peak (fraction).
        drawdown: f64,
        /// The limit.
        limit: f64,
        /// Peak equity (account currency).
        peak: f64,
        /// Equity when it fired.
        equity: f64,
    },
    /// The strategy's sizing rule (Half Kelly, ATR) allowed less than the strategy asked.
    SizedDown {
        /// Security.
        symbol: Symbol,
        /// Weight asked.
        wanted: f64,
        /// Weight the rule allows.
        allowed: f64,
        /// The rule (`half_kelly`, `atr`).
        method: String,
    },
    /// A new entry was refused: it moves too closely with a held position.
    CorrelationRefused {
        /// The refused security.
        symbol: Symbol,
        /// The held security it correlates with.
        held: Symbol,
        /// Correlation of their daily returns over the window.
        correlation: f64,
        /// The threshold.
        threshold: f64,
    },
    /// The per-position stop loss fired: the symbol's latest close fell to or below its average
    /// entry price × (1 − limit); its target is 0 until the strategy's own target for it resets
    /// (drops to ≤ 0 at a decision).
    StopLoss {
        /// Security.
        symbol: Symbol,
        /// Average entry price (volume-weighted over the buys since the position was last flat,
        /// price per share).
        entry: f64,
        /// The close that fired it (price per share).
        close: f64,
        /// Loss from the entry, `1 − close / entry` (fraction).
        loss: f64,
        /// The limit (fraction).
        limit: f64,
    },
    /// The gate before the broker refused an order ([`crate::approve_orders`]).
    OrderRefused {
        /// Security.
        symbol: Symbol,
        /// The order's client id.
        client_id: String,
        /// Why.
        reason: String,
    },
}

impl RiskEventKind {
    /// The kind's name, as serialized (`position_capped`, `drawdown_stop`…).
    pub fn name(&self) -> &'static str {
        match self {
            RiskEventKind::Leverage { .. } => "leverage",
            RiskEventKind::PositionCapped { .. } => "position_capped",
            RiskEventKind::SectorCapped { .. } => "sector_capped",
            RiskEventKind::VarScaled { .. } => "var_scaled",
            RiskEventKind::DrawdownStop { .. } => "drawdown_stop",
            RiskEventKind::CorrelationRefused { .. } => "correlation_refused",
            RiskEventKind::SizedDown { .. } => "sized_down",
            RiskEventKind::StopLoss { .. } => "stop_loss",
            RiskEventKind::OrderRefused { .. } => "order_refused",
        }
    }

    /// A key that stays the same while the same breach persists (one record per episode).
    fn key(&self) -> String {
        match self {
            RiskEventKind::Leverage { .. } => "leverage".to_string(),
            RiskEventKind::PositionCapped { symbol, .. } => format!("position:{symbol}"),
            RiskEventKind::SectorCapped { sector, .. } => format!("sector:{sector}"),
            RiskEventKind::VarScaled { .. } => "var".to_string(),
            RiskEventKind::DrawdownStop { .. } => "drawdown".to_string(),
            RiskEventKind::CorrelationRefused { symbol, .. } => format!("correlation:{symbol}"),
            RiskEventKind::SizedDown { symbol, .. } => format!("sized:{symbol}"),
            RiskEventKind::StopLoss { symbol, .. } => format!("stop_loss:{symbol}"),
            RiskEventKind::OrderRefused { client_id, .. } => format!("refused:{client_id}"),
        }
    }

    /// One line for people ("TSLA capped at 10.0% (wanted 50.0%)").
    pub fn message(&self) -> String {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        let opt =
            |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |v| format!("{:.2}%", v * 100.0));
        match self {
            RiskEventKind::Leverage {
                leverage,
                previous,
                risk,
                var,
                cvar,
            } => format!(
                "leverage {previous:.2} → {leverage:.2} (risk {}, VaR {}, CVaR {})",
                opt(*risk),
                opt(*var),
                opt(*cvar)
            ),
            RiskEventKind::PositionCapped {
                symbol,
                wanted,
                cap,
            } => format!("{symbol} capped at {} (wanted {})", pct(*cap), pct(*wanted)),
            RiskEventKind::SectorCapped {
                sector,
                wanted,
                cap,
            } => format!(
                "sector {sector} scaled to {} (wanted {})",
                pct(*cap),
                pct(*wanted)
            ),
            RiskEventKind::VarScaled { var, limit, scale } => format!(
                "daily VaR {:.2}% over the {:.2}% limit: weights × {scale:.3}",
                var * 100.0,
                limit * 100.0
            ),
            RiskEventKind::DrawdownStop {
                drawdown,
                limit,
                peak,
                equity,
            } => format!(
                "drawdown stop: {} from the peak {peak:.2} (equity {equity:.2}, limit {}): everything sold, trading halted until re-armed",
                pct(*drawdown),
                pct(*limit)
            ),
            RiskEventKind::SizedDown {
                symbol,
                wanted,
                allowed,
                method,
            } => format!(
                "{symbol} sized by {method} to {} (strategy asked {})",
                pct(*allowed),
                pct(*wanted)
            ),
            RiskEventKind::CorrelationRefused {
                symbol,
                held,
                correlation,
                threshold,
            } => format!(
                "{symbol} entry refused: correlation {correlation:.3} with held {held} is above {threshold}"
            ),
            RiskEventKind::StopLoss {
                symbol,
                entry,
                close,
                loss,
                limit,
            } => format!(
                "{symbol} stop loss: close {close:.2} is {} below the entry {entry:.2} (limit {}): sold, no re-entry until the strategy's target resets",
                pct(*loss),
                pct(*limit)
            ),
            RiskEventKind::OrderRefused {
                client_id, reason, ..
            } => format!("order {client_id} refused: {reason}"),
        }
    }
}

/// One recorded risk event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskEvent {
    /// Decision time.
    pub ts: Timestamp,
    /// What happened, with its numbers.
    #[serde(flatten)]
    pub kind: RiskEventKind,
    /// The same, for people.
    pub message: String,
}

/// What the risk layer made of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The weights sizing may use (fractions of equity; empty when halted).
    pub target: Weights,
    /// The leverage applied (0 while halted).
    pub leverage: f64,
    /// Events that started at this decision (a breach that persists is recorded once).
    pub events: Vec<RiskEvent>,
}

/// Why trading is halted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Halt {
    /// When the drawdown stop fired.
    pub ts: Timestamp,
    /// The drawdown then (fraction).
    pub drawdown: f64,
}

/// The average entry price of a held position: volume-weighted over the buys since the position
/// was last flat (sells do not change it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Average price paid per share (instrument currency).
    pub price: f64,
    /// Shares bought since the position was last flat (the weight of `price`).
    pub bought: f64,
}

/// Shares within this of zero are flat (f64 views of exact decimal quantities).
const FLAT: f64 = 1e-9;

/// The risk layer's state: the configuration, the sector of each symbol, the recent daily closes,
/// the equity peak and whether the drawdown stop has halted trading, and for the stop loss the
/// entry price of each held position, the last close of each symbol and the symbols it stopped.
/// Serializable, so a live runner persists it with the engine (fields added later default, so a
/// stored manager still loads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RiskManager {
    config: RiskConfig,
    sectors: BTreeMap<Symbol, String>,
    closes: DailyCloses,
    peak_equity: f64,
    halt: Option<Halt>,
    leverage: f64,
    /// Keys of the breaches in force at the last assessment.
    active: BTreeSet<String>,
    /// Reused buffer of portfolio returns (no allocation per decision).
    #[serde(skip)]
    scratch: Scratch,
    /// The strategy's own sizing rule and filter choice.
    #[serde(default)]
    sizing: PositionSizing,
    /// Per symbol: the ATR of the traded bars and the last close (ATR sizing only).
    #[serde(default)]
    atr: BTreeMap<Symbol, (Atr, Option<f64>, f64)>,
    /// Per held symbol: the average entry price ([`RiskManager::observe_fill`]).
    #[serde(default)]
    entries: BTreeMap<Symbol, Entry>,
    /// Per symbol: the latest close observed (price per share).
    #[serde(default)]
    last_close: BTreeMap<Symbol, f64>,
    /// Symbols the stop loss sold, blocked until the strategy's target for them resets.
    #[serde(default)]
    stopped: BTreeSet<Symbol>,
}

/// A reusable buffer: not state (never persisted).
#[derive(Debug, Clone, Default)]
struct Scratch(std::cell::RefCell<Vec<f64>>);

/// The entry of a position after one fill (the rule of [`RiskManager::observe_fill`]): `None`
/// when the position is left flat or its entry is unknown (a buy onto shares held from before).
fn next_entry(
    entry: Option<Entry>,
    side: Side,
    quantity: f64,
    price: f64,
    held_after: f64,
) -> Option<Entry> {
    if !held_after.is_finite() || held_after <= FLAT {
        return None;
    }
    if side != Side::Buy
        || !(quantity.is_finite() && quantity > 0.0)
        || !(price.is_finite() && price > 0.0)
    {
        return entry;
    }
    match entry {
        Some(e) => {
            let bought = e.bought + quantity;
            Some(Entry {
                price: (e.price * e.bought + price * quantity) / bought,
                bought,
            })
        }
        None if held_after - quantity <= FLAT => Some(Entry {
            price,
            bought: quantity,
        }),
        None => None,
    }
}

impl RiskManager {
    /// A manager for a validated `config`, grouping symbols by `sectors` (a symbol without one is
    /// its own sector).
    pub fn new(config: RiskConfig, sectors: BTreeMap<Symbol, String>) -> Self {
        let closes = DailyCloses::new(config.history_days());
        RiskManager {
            leverage: config.leverage.base,
            config,
            sectors,
            closes,
            peak_equity: 0.0,
            halt: None,
            active: BTreeSet::new(),
            scratch: Scratch::default(),
            sizing: PositionSizing::default(),
            atr: BTreeMap::new(),
            entries: BTreeMap::new(),
            last_close: BTreeMap::new(),
            stopped: BTreeSet::new(),
        }
    }

    /// Applies new settings to a running manager (a person changed the team's settings): the
    /// history, the equity peak and a drawdown halt are kept; the window is resized; the
    /// breaches are judged by the new limits from the next assessment on.
    pub fn set_config(&mut self, config: RiskConfig) {
        self.closes.set_capacity(config.history_days());
        self.config = config;
    }

    /// The same manager applying a strategy's `[sizing]` section (validated by the strategy).
    pub fn with_sizing(mut self, sizing: PositionSizing) -> Self {
        self.sizing = sizing;
        self
    }

    /// The strategy's sizing in force.
    pub fn sizing(&self) -> &PositionSizing {
        &self.sizing
    }

    /// Records one bar close from the bars themselves: [`RiskManager::observe`] on their closes,
    /// plus the ATR of each symbol when the strategy sizes by ATR.
    pub fn observe_bars<'a>(
        &mut self,
        ts: Timestamp,
        bars: impl IntoIterator<Item = (&'a Symbol, &'a Bar)> + Clone,
        equity: f64,
    ) {
        if self.sizing.method == SizingMethod::Atr {
            let period = self.sizing.atr.period;
            for (symbol, bar) in bars.clone() {
                if !self.atr.contains_key(symbol) {
                    let Ok(atr) = Atr::try_new(period) else {
                        continue;
                    };
                    self.atr.insert(symbol.clone(), (atr, None, 0.0));
                }
                if let Some((atr, last, close)) = self.atr.get_mut(symbol) {
                    let value = atr.update(Hlc {
                        high: bar.high,
                        low: bar.low,
                        close: bar.close,
                    });
                    if value.is_some() {
                        *last = value;
                    }
                    *close = bar.close;
                }
            }
        }
        self.observe(ts, bars.into_iter().map(|(s, b)| (s, b.close)), equity);
    }

    /// The configuration in force.
    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// The leverage applied at the last assessment (0 while halted).
    pub fn leverage(&self) -> f64 {
        if self.halt.is_some() {
            0.0
        } else {
            self.leverage
        }
    }

    /// Why trading is halted, if it is.
    pub fn halt(&self) -> Option<&Halt> {
        self.halt.as_ref()
    }

    /// A person re-arms trading after a drawdown stop: the peak restarts from `equity`.
    pub fn rearm(&mut self, equity: f64) {
        self.halt = None;
        self.peak_equity = if equity.is_finite() { equity } else { 0.0 };
        self.active.remove("drawdown");
    }

    /// Records one booked fill: `quantity` shares of `symbol` bought or sold at `price` (per
    /// share), leaving `held_after` shares. A buy averages its price into the entry
    /// (volume-weighted over the buys since the position was last flat); a sell leaves the entry
    /// as it is; a position left flat forgets it. A buy onto a position held from before the
    /// manager tracked fills (no entry known) starts no entry: the stop loss does not judge that
    /// position until it has been flat. Non-finite or non-positive quantities and prices are
    /// ignored.
    pub fn observe_fill(
        &mut self,
        symbol: &Symbol,
        side: Side,
        quantity: f64,
        price: f64,
        held_after: f64,
    ) {
        match next_entry(
            self.entries.get(symbol).copied(),
            side,
            quantity,
            price,
            held_after,
        ) {
            Some(e) => {
                self.entries.insert(symbol.clone(), e);
            }
            None => {
                self.entries.remove(symbol);
            }
        }
    }

    /// Learns the entry price of held positions it does not know yet (a runner stored before
    /// entries were kept, a risk layer added to a running account) from the account's booked
    /// `fills` (oldest first: symbol, side, shares, price per share), replayed from flat by the
    /// rule of [`RiskManager::observe_fill`]. A position's entry is taken only when the replayed
    /// quantity equals the shares `held` now; a position the fills do not explain (held before
    /// the first of them) stays unknown, and the stop loss does not judge it.
    pub fn learn_entries<'a>(
        &mut self,
        fills: impl IntoIterator<Item = (&'a Symbol, Side, f64, f64)>,
        held: &BTreeMap<Symbol, f64>,
    ) {
        let unknown: BTreeSet<&Symbol> = held
            .iter()
            .filter(|(s, q)| **q > FLAT && !self.entries.contains_key(*s))
            .map(|(s, _)| s)
            .collect();
        if unknown.is_empty() {
            return;
        }
        let mut replay: BTreeMap<&Symbol, (f64, Option<Entry>)> = BTreeMap::new();
        for (symbol, side, quantity, price) in fills {
            if !unknown.contains(symbol) || !quantity.is_finite() {
                continue;
            }
            let (shares, entry) = replay.entry(symbol).or_insert((0.0, None));
            *shares += if side == Side::Buy {
                quantity
            } else {
                -quantity
            };
            *entry = next_entry(*entry, side, quantity, price, *shares);
        }
        for (symbol, (shares, entry)) in replay {
            let now = held.get(symbol).copied().unwrap_or(0.0);
            if let Some(e) = entry
                && (shares - now).abs() <= FLAT * now.abs().max(1.0)
            {
                self.entries.insert(symbol.clone(), e);
            }
        }
    }

    /// The average entry price of a held position (per share), when known.
    pub fn entry(&self, symbol: &Symbol) -> Option<Entry> {
        self.entries.get(symbol).copied()
    }

    /// The latest close observed for `symbol` (per share).
    pub fn last_close(&self, symbol: &Symbol) -> Option<f64> {
        self.last_close.get(symbol).copied()
    }

    /// True while the stop loss keeps `symbol` out (until the strategy's target for it resets).
    pub fn is_stopped(&self, symbol: &Symbol) -> bool {
        self.stopped.contains(symbol)
    }

    /// The sector a symbol is grouped by: its own, or the symbol itself.
    pub fn sector_of<'a>(&'a self, symbol: &'a Symbol) -> &'a str {
        self.sectors
            .get(symbol)
            .map_or(symbol.as_str(), |s| s.as_str())
    }

    /// Records one bar close: `closes` of the traded symbols at `ts` and the account's `equity`
    /// marked at them (for the drawdown peak).
    pub fn observe<'a>(
        &mut self,
        ts: Timestamp,
        closes: impl IntoIterator<Item = (&'a Symbol, f64)>,
        equity: f64,
    ) {
        let day = utc_day(ts);
        for (symbol, close) in closes {
            self.closes.observe(day, symbol, close);
            if close.is_finite() && close > 0.0 {
                match self.last_close.get_mut(symbol) {
                    Some(c) => *c = close,
                    None => {
                        self.last_close.insert(symbol.clone(), close);
                    }
                }
            }
        }
        if equity.is_finite() && equity > self.peak_equity {
            self.peak_equity = equity;
        }
    }

    /// True when the weights `held` now break the position or sector cap: the holdings must
    /// then be brought to the approved target whatever the drift band says.
    pub fn holdings_over_limits(&self, held: &Weights) -> bool {
        let limits = &self.config.limits;
        if let Some(cap) = limits.max_position
            && held.values().any(|w| *w > cap + 1e-9)
        {
            return true;
        }
        if let Some(cap) = limits.max_sector {
            let mut totals: BTreeMap<&str, f64> = BTreeMap::new();
            for (s, w) in held {
                if *w > 0.0 {
                    *totals.entry(self.sector_of(s)).or_default() += w;
                }
            }
            if totals.values().any(|t| *t > cap + 1e-9) {
                return true;
            }
        }
        false
    }

    /// Historical (VaR, CVaR) of `weights`' daily returns over the leverage window, when at
    /// least `min_returns` returns are known.
    pub fn var_cvar(&self, weights: &Weights) -> Option<(f64, f64)> {
        let l = &self.config.leverage;
        let mut returns = self.scratch.0.borrow_mut();
        self.closes
            .portfolio_returns_into(weights, l.window_days, &mut returns);
        if returns.len() < l.min_returns {
            return None;
        }
        historical_var_cvar_in_place(&mut returns, l.tail)
    }

    /// Applies the rules to the strategy's `target` at decision time `ts`, given the weights
    /// `held` now and the account's `equity` (marked at `ts`'s closes).
    pub fn assess(
        &mut self,
        ts: Timestamp,
        target: &Weights,
        held: &Weights,
        equity: f64,
    ) -> Assessment {
        let mut found: Vec<RiskEventKind> = Vec::new();
        let mut events = Vec::new();
        if self.halt.is_some() {
            return Assessment {
                target: Weights::new(),
                leverage: 0.0,
                events,
            };
        }
        if let Some(limit) = self.config.limits.max_drawdown
            && self.peak_equity > 0.0
            && equity.is_finite()
        {
            let drawdown = 1.0 - equity / self.peak_equity;
            if drawdown >= limit {
                self.halt = Some(Halt { ts, drawdown });
                let kind = RiskEventKind::DrawdownStop {
                    drawdown,
                    limit,
                    peak: self.peak_equity,
                    equity,
                };
                self.active.insert(kind.key());
                events.push(RiskEvent {
                    ts,
                    message: kind.message(),
                    kind,
                });
                return Assessment {
                    target: Weights::new(),
                    leverage: 0.0,
                    events,
                };
            }
        }
        let mut w: Weights = target
            .iter()
            .filter(|(_, w)| w.is_finite())
            .map(|(s, w)| (s.clone(), *w))
            .collect();
        self.stop_losses(&mut w, &mut found);
        self.filter_correlated(&mut w, held, &mut found);
        self.size_positions(&mut w, &mut found);
        let previous = self.leverage;
        // The target's VaR after leverage, while only a uniform scale has touched the weights
        // (a historical quantile scales with them): the VaR limit then needs no second pass.
        let mut var_now: Option<Option<f64>> = None;
        if self.config.leverage.enabled {
            let vc = self.var_cvar(&w);
            let risk = vc.map(|(v, c)| v + self.config.leverage.cvar_weight * c);
            self.leverage = risk.map_or(self.config.leverage.base, |r| self.config.leverage_for(r));
            if self.leverage != previous {
                found.push(RiskEventKind::Leverage {
                    leverage: self.leverage,
                    previous,
                    risk,
                    var: vc.map(|x| x.0),
                    cvar: vc.map(|x| x.1),
                });
            }
            for v in w.values_mut() {
                *v *= self.leverage;
            }
            var_now = Some(vc.map(|(v, _)| v * self.leverage));
        }
        if let Some(cap) = self.config.limits.max_position {
            for (s, v) in w.iter_mut() {
                if *v > cap {
                    var_now = None;
                    found.push(RiskEventKind::PositionCapped {
                        symbol: s.clone(),
                        wanted: *v,
                        cap,
                    });
                    *v = cap;
                }
            }
        }
        if let Some(cap) = self.config.limits.max_sector {
            let mut totals: BTreeMap<&str, f64> = BTreeMap::new();
            for (s, v) in &w {
                if *v > 0.0 {
                    *totals.entry(self.sector_of(s)).or_default() += v;
                }
            }
            let over: BTreeMap<String, f64> = totals
                .into_iter()
                .filter(|(_, t)| *t > cap)
                .map(|(k, t)| (k.to_string(), t))
                .collect();
            if !over.is_empty() {
                var_now = None;
            }
            for (sector, total) in &over {
                let scale = cap / total;
                for (s, v) in w.iter_mut() {
                    let in_sector =
                        self.sectors.get(s).map_or(s.as_str(), |x| x.as_str()) == sector;
                    if in_sector && *v > 0.0 {
                        *v *= scale;
                    }
                }
                found.push(RiskEventKind::SectorCapped {
                    sector: sector.clone(),
                    wanted: *total,
                    cap,
                });
            }
        }
        let var_after = || match var_now {
            Some(v) => v,
            None => self.var_cvar(&w).map(|(v, _)| v),
        };
        if let Some(limit) = self.config.limits.max_daily_var
            && let Some(var) = var_after()
            && var > limit
        {
            // A historical quantile scales with the weights (cash earns nothing), so one scale
            // meets the limit exactly.
            let scale = limit / var;
            for v in w.values_mut() {
                *v *= scale;
            }
            found.push(RiskEventKind::VarScaled { var, limit, scale });
        }
        // Record what started now; a breach that persists was recorded when it began.
        let keys: BTreeSet<String> = found.iter().map(RiskEventKind::key).collect();
        for kind in found {
            let key = kind.key();
            if key == "leverage" || !self.active.contains(&key) {
                events.push(RiskEvent {
                    ts,
                    message: kind.message(),
                    kind,
                });
            }
        }
        self.active = keys.into_iter().filter(|k| k != "leverage").collect();
        Assessment {
            target: w,
            leverage: self.leverage,
            events,
        }
    }

    /// The per-position stop loss, on the strategy's target `w`: a stopped symbol is released
    /// once its target is ≤ 0 (the signal reset) and otherwise kept at 0; a held symbol with a
    /// positive target whose latest close is at or below entry × (1 − limit) is stopped (target
    /// 0, a [`RiskEventKind::StopLoss`]). Turning the limit off releases every stopped symbol.
    fn stop_losses(&mut self, w: &mut Weights, found: &mut Vec<RiskEventKind>) {
        let Some(limit) = self.config.limits.stop_loss else {
            self.stopped.clear();
            return;
        };
        self.stopped.retain(|s| w.get(s).is_some_and(|v| *v > 0.0));
        for (s, v) in w.iter_mut() {
            if *v <= 0.0 {
                continue;
            }
            if self.stopped.contains(s) {
                *v = 0.0;
                continue;
            }
            let (Some(entry), Some(close)) = (self.entries.get(s), self.last_close.get(s)) else {
                continue;
            };
            // At the threshold counts, within float rounding of `entry × (1 − limit)`.
            let threshold = entry.price * (1.0 - limit);
            if *close <= threshold * (1.0 + 1e-12) {
                found.push(RiskEventKind::StopLoss {
                    symbol: s.clone(),
                    entry: entry.price,
                    close: *close,
                    loss: 1.0 - close / entry.price,
                    limit,
                });
                self.stopped.insert(s.clone());
                *v = 0.0;
            }
        }
    }

    /// The strategy's sizing rule: every positive weight at most what the rule allows.
    fn size_positions(&self, w: &mut Weights, found: &mut Vec<RiskEventKind>) {
        let method = self.sizing.method;
        if method == SizingMethod::Weights {
            return;
        }
        let kelly = self.sizing.kelly.half_kelly();
        for (s, v) in w.iter_mut() {
            if *v <= 0.0 {
                continue;
            }
            let allowed = match method {
                SizingMethod::Weights => None,
                SizingMethod::HalfKelly => Some(kelly),
                SizingMethod::Atr => self.atr.get(s).and_then(|(_, atr, close)| {
                    atr.and_then(|a| self.sizing.atr.weight(*close, a))
                }),
            };
            if let Some(allowed) = allowed
                && *v > allowed
            {
                found.push(RiskEventKind::SizedDown {
                    symbol: s.clone(),
                    wanted: *v,
                    allowed,
                    method: match method {
                        SizingMethod::HalfKelly => "half_kelly".into(),
                        _ => "atr".into(),
                    },
                });
                *v = allowed;
            }
        }
    }

    /// The correlation filter: a positive target on a symbol not held, whose daily returns
    /// correlate above the threshold with a held symbol's, is set to 0.
    fn filter_correlated(&self, w: &mut Weights, held: &Weights, found: &mut Vec<RiskEventKind>) {
        let c = &self.config.correlation;
        if !(c.enabled || self.sizing.correlation_filter) {
            return;
        }
        let held_symbols: Vec<&Symbol> = held
            .iter()
            .filter(|(_, v)| **v > 0.0)
            .map(|(s, _)| s)
            .collect();
        for (s, v) in w.iter_mut() {
            if *v <= 0.0 || held_symbols.contains(&s) {
                continue;
            }
            for h in &held_symbols {
                let (a, b) = self.closes.pair_returns(s, h, c.window_days);
                if a.len() < c.min_returns {
                    continue;
                }
                let corr = pulse_indicators::stats::correlation(&a, &b, a.len())
                    .ok()
                    .and_then(|x| x.last().copied())
                    .filter(|x| x.is_finite());
                if let Some(corr) = corr
                    && corr > c.threshold
                {
                    found.push(RiskEventKind::CorrelationRefused {
                        symbol: s.clone(),
                        held: (*h).clone(),
                        correlation: corr,
                        threshold: c.threshold,
                    });
                    *v = 0.0;
                    break;
                }
            }
        }
    }
}
